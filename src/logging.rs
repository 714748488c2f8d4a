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
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

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
    tracing_subscriber::registry()
        .with(layer(writer, &wanted))
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))?;
    Ok(guard)
}

/// The log's one layer: the user's filter, and under it a gate no filter can open. A span
/// directive (`[x]=trace`) enables events of every crate inside such spans, the SDK's signing
/// and HTTP lines included, whatever the per-crate caps say; the gate lets only the wizard's
/// own lines (and kops's output) below `info`, so no filter can make the log hold a secret.
fn layer<S, W>(writer: W, wanted: &str) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{FilterExt as _, LevelFilter, Targets};
    let gate = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("kops_wizard", LevelFilter::TRACE)
        .with_target("kops", LevelFilter::TRACE);
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter(wanted).and(gate))
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

    /// A writer into a shared buffer, to read what the layer wrote.
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_filter_opens_the_sdk_crates_below_info_span_directives_included() {
        for wanted in ["[x]=trace", "[]=trace", "[x]=trace,aws_sigv4=trace", "trace", "{}=trace"] {
            let buffer = Buffer::default();
            let out = buffer.clone();
            let subscriber =
                tracing_subscriber::registry().with(layer(move || out.clone(), wanted));
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!("x");
                let _in = span.enter();
                tracing::trace!(target: "aws_sigv4::http_request", "canonical request: SECRET-SIG");
                tracing::debug!(target: "aws_smithy_runtime", "x-amz-security-token: SECRET-TOK");
                tracing::trace!(target: "kube_client", "Authorization: Bearer SECRET-BEARER");
                tracing::info!(target: "kops_wizard::engine", "own line");
            });
            let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
            assert!(!text.contains("SECRET"), "{wanted}: {text}");
            if wanted != "[]=trace" && wanted != "{}=trace" {
                assert!(text.contains("own line"), "{wanted}: {text}");
            }
        }
    }
}
