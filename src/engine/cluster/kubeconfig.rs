//! The cluster's API with fresh admin credentials. kops's `--admin` certificate lasts 18 hours,
//! and a cluster is torn down days or weeks after it was set up, often from another machine
//! that never exported one: so whenever the wizard talks to the API (teardown, the smoke test)
//! it asks kops for a short-lived admin kubeconfig from the state store,
//! `kops export kubeconfig --admin=<short> --kubeconfig <a private temp file>`, and removes the
//! file afterwards. The user's own kubeconfig is never read or rewritten for it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::kops::Kops;
use crate::engine::aws::error::AwsError;

/// How long the certificate lives: long enough for a teardown's slowest step, short enough
/// that a copy left behind (a wizard killed outright) is soon worth nothing.
pub const ADMIN_TTL: Duration = Duration::from_secs(3600);

/// What goes wrong talking to the cluster's API, the smoke test's waits included. Defined here,
/// below `smoke`, because connecting already reports it.
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    #[error("kubeconfig: {0}; run `kops export kubeconfig --admin` for the cluster and try again")]
    Kubeconfig(String),
    #[error("the cluster's API at {server} did not answer ({reason}); is the cluster validated?")]
    Unreachable { server: String, reason: String },
    #[error("the Kubernetes API refused to {op}: {message}")]
    Refused { op: String, message: String },
    #[error(
        "the cluster's API at {server} answered but refused the admin credentials (401 \
         Unauthorized: {message}); kops's admin certificate lasts 18 hours, and the wizard asks \
         kops for a fresh one each time it needs the API"
    )]
    Unauthorized { server: String, message: String },
    #[error("{what} after {waited}s: {saw}. {look}")]
    TimedOut { what: &'static str, waited: u64, saw: String, look: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// An admin kubeconfig minted for this run, in a directory of its own (0700, the file 0600),
/// deleted when dropped.
#[derive(Debug)]
pub struct FreshAdmin {
    dir: PathBuf,
}

impl Drop for FreshAdmin {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl FreshAdmin {
    /// Asks kops (as the kops user, or the admin where this machine has no kops profile) for
    /// an admin kubeconfig of `cluster` that lives [`ADMIN_TTL`].
    pub async fn export(kops: &Kops, cluster: &str, state_store: &str) -> Result<Self, SmokeError> {
        let dir = std::env::temp_dir().join(format!(
            "kops-wizard-admin-{}-{}",
            std::process::id(),
            crate::engine::store::lease::random_id()
        ));
        crate::fsutil::private_dir(&dir)
            .map_err(|e| SmokeError::Kubeconfig(format!("{}: {e}", dir.display())))?;
        // From here the directory goes with the value, whatever happens next.
        let admin = FreshAdmin { dir };
        let args = crate::plan::kops_args::export_admin_args(
            cluster,
            state_store,
            ADMIN_TTL,
            &admin.path(),
        );
        kops.run_ok(&args, |_, _| {}).await.map_err(|e| {
            SmokeError::Kubeconfig(format!("kops could not export an admin kubeconfig: {e}"))
        })?;
        Ok(admin)
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
}

/// A client for the cluster's API from the kubeconfig at `path`, through the context kops
/// names after the cluster; the proxy the environment names is used unless `NO_PROXY` exempts
/// the API's host (see [`crate::engine::proxy`]).
pub async fn connect(path: &Path, cluster: &str) -> Result<(kube::Client, String), SmokeError> {
    connect_with(path, cluster, true).await
}

/// The same client without kube's own retries of 429 and 503 (up to 15, with back-off): a
/// drain retries a refused eviction itself, on its own clock, and must see each refusal.
pub async fn connect_for_drain(
    path: &Path,
    cluster: &str,
) -> Result<(kube::Client, String), SmokeError> {
    connect_with(path, cluster, false).await
}

async fn connect_with(
    path: &Path,
    cluster: &str,
    retry: bool,
) -> Result<(kube::Client, String), SmokeError> {
    crate::engine::aws::http::pick_tls_provider();
    let kubeconfig =
        Kubeconfig::read_from(path).map_err(|e| SmokeError::Kubeconfig(e.to_string()))?;
    let options = KubeConfigOptions { context: Some(cluster.to_string()), ..Default::default() };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| SmokeError::Kubeconfig(format!("context {cluster}: {e}")))?;
    // A dead API must be said in seconds: teardown falls back to AWS, setup warns.
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(20));
    config.proxy_url = crate::engine::proxy::for_uri(&config.cluster_url);
    config.default_retry = retry;
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config)
        .map_err(|e| SmokeError::Unreachable { server: server.clone(), reason: e.to_string() })?;
    Ok((client, server))
}

/// Fresh admin credentials and a client on them: what teardown and the smoke test use.
pub async fn fresh_client(
    kops: &Kops,
    cluster: &str,
    state_store: &str,
) -> Result<(kube::Client, String, FreshAdmin), SmokeError> {
    let admin = FreshAdmin::export(kops, cluster, state_store).await?;
    let (client, server) = connect(&admin.path(), cluster).await?;
    Ok((client, server, admin))
}
