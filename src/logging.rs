//! The log: tracing events go to a file in the state dir through a non-blocking writer, never
//! to the terminal (a full-screen UI would be torn by stray lines). `KOPS_WIZARD_LOG` sets the
//! filter (default `info`).

use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use anyhow::Context as _;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts logging to `file`; keep the guard alive until exit so the last lines are flushed.
pub fn init(file: &Path) -> anyhow::Result<WorkerGuard> {
    let dir = file.parent().context("the log file has no directory")?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("cannot open the log file {}", file.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(log);
    let filter =
        EnvFilter::try_from_env("KOPS_WIZARD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(guard)
}
