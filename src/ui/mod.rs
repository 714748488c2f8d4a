//! The front ends. Each drives the engine and only presents: `headless` prints lines for
//! `--yes` and the commands that ask nothing; `tui` is the full-screen wizard.

pub mod headless;
pub mod plain;
pub mod tui;
