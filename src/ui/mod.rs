//! The front ends. Each drives the engine and only presents: `headless` prints lines for
//! `--yes` and the commands that ask nothing; `plain` asks line by line (`--plain`,
//! `TERM=dumb`); `tui` is the full-screen wizard. `checks` and `review` are what the two
//! interactive ones share.

pub mod change;
pub mod checks;
pub mod confirm;
pub mod headless;
pub mod inventory;
pub mod plain;
pub mod review;
pub mod signals;
pub mod tui;

use std::io::Write;

/// Writes text that may carry words from outside (kops, AWS, file and object names) to a
/// terminal-facing stream, through [`crate::text::printable`] (and [`crate::text::ascii`] in a
/// locale that is not UTF-8): the line-mode front ends and
/// the summaries after the full screen print with these, never with `print!` directly.
pub fn write_safe(mut to: impl Write, text: std::fmt::Arguments<'_>) {
    static ASCII: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ascii = *ASCII.get_or_init(|| crate::text::ascii_locale(|name| std::env::var(name).ok()));
    let text = text.to_string();
    let text = crate::text::printable(&text);
    // In a locale that is not UTF-8 the symbols are ASCII (`[+]` for `[✔]`).
    let text = if ascii { crate::text::ascii(&text).into_owned().into() } else { text };
    // A closed pipe (`| head`) is no reason to fail a run that changed AWS.
    let _ = to.write_all(text.as_bytes());
    let _ = to.flush();
}

/// `print!` through [`write_safe`].
#[macro_export]
macro_rules! safe_print {
    ($($arg:tt)*) => { $crate::ui::write_safe(std::io::stdout().lock(), format_args!($($arg)*)) };
}

/// `println!` through [`write_safe`].
#[macro_export]
macro_rules! safe_println {
    () => { $crate::safe_print!("\n") };
    ($($arg:tt)*) => {
        $crate::ui::write_safe(std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`write_safe`].
#[macro_export]
macro_rules! safe_eprint {
    ($($arg:tt)*) => { $crate::ui::write_safe(std::io::stderr().lock(), format_args!($($arg)*)) };
}

/// `eprintln!` through [`write_safe`].
#[macro_export]
macro_rules! safe_eprintln {
    () => { $crate::safe_eprint!("\n") };
    ($($arg:tt)*) => {
        $crate::ui::write_safe(std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*)))
    };
}

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
