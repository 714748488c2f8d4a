//! The terminal as a resource with one owner: raw mode, the alternate screen and bracketed
//! paste are turned on by `Guard::enter` and off by its `Drop`, and by a panic hook that
//! restores the screen before the previous hook prints the panic (naming the log file). The
//! mouse is never captured, so the terminal's own text selection keeps working.

use std::io::{self, Stderr, Write};
use std::path::Path;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The UI draws on standard error, like gum: standard output stays free for the summary
/// printed after the wizard exits, which the user may copy or pipe.
pub type Tui = Terminal<CrosstermBackend<Stderr>>;

pub struct Guard {
    pub terminal: Tui,
}

/// Whether the wizard has the terminal (raw mode, alternate screen). The panic hook and the
/// guard's Drop both restore it, and only the first may act: leaving the alternate screen a
/// second time moves the cursor back to where it was when the wizard started (xterm's
/// `?1049l` restores the saved cursor), and the panic message just printed is overwritten.
static ACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Puts the terminal back as it was, once: later calls do nothing.
pub fn restore() {
    if !ACTIVE.swap(false, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(io::stderr(), DisableBracketedPaste, LeaveAlternateScreen, cursor::Show);
    let _ = io::stderr().flush();
}

impl Guard {
    pub fn enter(log: &Path) -> io::Result<Guard> {
        install_panic_hook(log);
        ACTIVE.store(true, std::sync::atomic::Ordering::SeqCst);
        enable_raw_mode()?;
        // Cleared with an escape code rather than `Terminal::clear`, which asks the terminal
        // for the cursor position on standard output and so hangs when stdout is redirected.
        let entered = execute!(
            io::stderr(),
            EnterAlternateScreen,
            EnableBracketedPaste,
            Clear(ClearType::All)
        )
        .and_then(|()| Terminal::new(CrosstermBackend::new(io::stderr())));
        match entered {
            Ok(terminal) => Ok(Guard { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook(log: &Path) {
    crate::ui::install_panic_hook(log, restore);
}
