//! The front ends. Each drives the engine and only presents: `headless` prints lines for
//! `--yes` and the commands that ask nothing.

pub mod headless;
pub mod plain;
