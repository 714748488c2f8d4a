//! kops-wizard as a library: the engine and the front ends, so that the integration tests can
//! drive the same code the binary runs. `main.rs` only wires the command line to these.
#![forbid(unsafe_code)]
// A panic in front of a user is a bug: outside tests every failure is an error that says what to
// do. (Tests unwrap freely: a panic there is the failure report.)
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod answers;
pub mod catalog;
pub mod cli;
pub mod doctor;
pub mod engine;
pub mod exit;
pub mod fsutil;
pub mod journal;
pub mod lock;
pub mod logging;
pub mod marks;
pub mod paths;
pub mod plan;
pub mod questions;
pub mod rules;
pub mod test_hooks;
pub mod text;
pub mod ui;
