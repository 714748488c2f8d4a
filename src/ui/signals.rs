//! The signals that stop the wizard as Ctrl-C does: SIGTERM (`kill`, a CI job ended) and
//! SIGHUP (the terminal window was closed). Left to their default action they would end the
//! process at once: the terminal left raw, a running kops orphaned, the run's last step
//! unrecorded. Watched, they drop the engine's work (which stops kops) and restore the
//! terminal, like Ctrl-C.

use tokio::signal::unix::{Signal, SignalKind, signal};

pub struct Stops {
    term: Signal,
    hup: Signal,
}

impl Stops {
    /// Starts watching; needs a Tokio runtime with I/O enabled. From here until the value is
    /// dropped, neither signal takes its default action.
    pub fn watch() -> std::io::Result<Stops> {
        Ok(Stops { term: signal(SignalKind::terminate())?, hup: signal(SignalKind::hangup())? })
    }

    /// Waits for the next one; its name, for the message and the log.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}
