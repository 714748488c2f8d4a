//! The log: tracing events go to a file in the state dir through a non-blocking writer, never
//! to the terminal (a full-screen UI would be torn by stray lines). `KOPS_WIZARD_LOG` sets the
//! filter (default `info`) for the wizard's own lines; the SDK's crates are capped at `info`
//! whatever it says, because their debug and trace lines carry request headers and canonical
//! requests, session tokens included.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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
    // Never through a symlink planted at the log's path.
    let log = crate::fsutil::open_private_nofollow(file, true)
        .with_context(|| format!("cannot open the log file {}", file.display()))?;
    // `mode` applies only when the file is created: an older log may be 0644.
    log.set_permissions(fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot make the log file {} private", file.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(log);
    let wanted = std::env::var("KOPS_WIZARD_LOG").unwrap_or_else(|_| "info".into());
    let filter = filter(&wanted);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(guard)
}

/// The crates whose verbose lines can hold credentials (signing, HTTP, the SDK's runtime).
const NOISY: [&str; 12] = [
    "aws_sigv4",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_config",
    "aws_runtime",
    "aws_sdk_iam",
    "aws_sdk_s3",
    "aws_sdk_sts",
    "hyper",
    "h2",
];

/// The filter for `KOPS_WIZARD_LOG`. A plain level (`debug`, `trace`) applies to the wizard's
/// own lines (and kops's output, target `kops`), everything else stays at `info`; a directive
/// list is taken as given, less any directive for a credential-bearing crate, which stay capped
/// at `info`. A bad filter falls back to `info` rather than stopping the run over its log.
fn filter(wanted: &str) -> EnvFilter {
    let caps: Vec<String> = NOISY.iter().map(|c| format!("{c}=info")).collect();
    let text = match wanted.trim().parse::<tracing_subscriber::filter::LevelFilter>() {
        Ok(level) => format!("info,kops_wizard={level},kops={level}"),
        Err(_) => {
            let kept: Vec<&str> = wanted
                .split(',')
                .filter(|d| !NOISY.iter().any(|c| d.trim().starts_with(c)))
                .collect();
            format!("{},{}", kept.join(","), caps.join(","))
        }
    };
    EnvFilter::try_new(&text).unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_is_the_wizards_own_and_the_sdk_crates_are_capped() {
        let text = filter("trace").to_string();
        assert!(text.contains("kops_wizard=trace") && text.contains("kops=trace"), "{text}");
        assert!(!text.contains("aws_sigv4=trace"), "{text}");
        let text = filter("aws_sigv4=trace,kops_wizard=debug").to_string();
        assert!(text.contains("aws_sigv4=info") && !text.contains("aws_sigv4=trace"), "{text}");
        assert!(text.contains("kops_wizard=debug"), "{text}");
        assert_eq!(filter("=[").to_string(), "info");
    }
}
