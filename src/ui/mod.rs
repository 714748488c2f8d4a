//! The front ends. Each drives the engine and only presents: `headless` prints lines for
//! `--yes` and the commands that ask nothing; `plain` asks line by line (`--plain`,
//! `TERM=dumb`); `tui` is the full-screen wizard. `checks` and `review` are what the two
//! interactive ones share.

pub mod checks;
pub mod headless;
pub mod plain;
pub mod review;
pub mod tui;
