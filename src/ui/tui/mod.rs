//! The full-screen wizard (ratatui + crossterm): questions with live checks, Review, the run
//! and the validation dashboard, Done. State is data (`state`), changed only by `update`;
//! `keys` maps terminal events to messages; `view` draws; `checks` and `run` do the I/O.

pub mod change;
pub mod checks;
pub mod command;
pub mod keys;
pub mod run;
pub mod state;
pub mod status;
pub mod teardown;
pub mod terminal;
pub mod update;
pub mod view;

#[cfg(test)]
mod tests;
