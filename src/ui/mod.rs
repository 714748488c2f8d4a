//! The front ends. Each drives the engine and only presents: `headless` prints lines for
//! `--yes` and the commands that ask nothing; `plain` asks line by line (`--plain`,
//! `TERM=dumb`); `tui` is the full-screen wizard. `checks` and `review` are what the two
//! interactive ones share.

pub mod checks;
pub mod confirm;
pub mod headless;
pub mod inventory;
pub mod plain;
pub mod review;
pub mod tui;

/// A panic in front of a user: `restore` puts the terminal back first (raw mode off, the
/// alternate screen left), then the message names the log, then the previous hook prints the
/// panic itself.
pub fn install_panic_hook(log: &std::path::Path, restore: fn()) {
    let log = log.display().to_string();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        eprintln!("kops-wizard stopped on an internal error; the log is {log}");
        previous(info);
    }));
}
