//! Integration tests: the real binary and the engine against a real moto server and the kops
//! stand-in, each test in an isolated environment. One test binary keeps linking cheap.

mod auth;
mod aws_client;
mod bad_input;
mod bad_kops;
mod change;
mod cli;
mod cluster;
mod doctor;
mod faults;
mod interrupt;
mod ownership;
mod paths;
mod plain;
mod plan;
mod plan_scripts;
mod properties;
mod screens;
mod secrets_scan;
mod security;
mod setup;
mod smoke;
mod state_dir;
mod support;
mod team;
mod teardown;
mod terminal;
mod testbed;
mod tui;
mod tui_teardown;
mod untrusted;
mod weeks_later;
