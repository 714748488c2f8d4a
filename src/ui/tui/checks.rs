//! The background checks, off the UI task: STS identity, bucket availability and the SSH key
//! files, each a read-only call of the engine. A new request of a kind cancels the one before
//! it and waits `DEBOUNCE` first, so typing a bucket name sends one HeadBucket after the last
//! key, not one per key; the answer carries the request id so `update` can drop stale ones.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::state::CheckResult;
use super::update::{Command, Msg};
use crate::engine::aws::clients::{Clients, Credentials};
use crate::engine::store::bucket::BucketAccess;
use crate::engine::team::join;
use crate::paths::expand_home;
use crate::ui::checks::BucketFound;
// The pure parts are shared with the line mode; their old paths stay valid.
pub use crate::ui::checks::{context, scan_ssh_dir, ssh_found, tilde};

/// Quiet time after the last request of a kind before it is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Identity,
    Bucket,
    Ssh,
}

/// Runs checks on the runtime and sends their answers to the loop.
pub struct Checker {
    tx: UnboundedSender<Msg>,
    pending: HashMap<Kind, JoinHandle<()>>,
}

impl Checker {
    pub fn new(tx: UnboundedSender<Msg>) -> Self {
        Checker { tx, pending: HashMap::new() }
    }

    /// Starts the check a command asks for; other commands are not checks and are ignored.
    pub fn request(&mut self, cmd: &Command) {
        let (kind, work): (Kind, std::pin::Pin<Box<dyn Future<Output = Msg> + Send>>) =
            match cmd.clone() {
                Command::CheckIdentity { id, profile, region } => (
                    Kind::Identity,
                    Box::pin(async move {
                        let clients = Clients::from_env(&Credentials { profile, region }).await;
                        let result = clients.whoami().await.map_err(|e| e.to_string());
                        Msg::Checked { id, result: CheckResult::Identity(result) }
                    }),
                ),
                Command::CheckBucket { id, bucket, profile, region, state_dir } => (
                    Kind::Bucket,
                    Box::pin(async move {
                        let clients = Clients::from_env(&Credentials { profile, region }).await;
                        let result = async {
                            let access = clients.bucket_access(&bucket).await?;
                            let clusters = match access {
                                BucketAccess::Yours => {
                                    join::clusters_in(&clients, &bucket, &state_dir).await?
                                }
                                _ => Vec::new(),
                            };
                            Ok::<_, crate::engine::aws::error::AwsError>(BucketFound {
                                access,
                                clusters,
                            })
                        };
                        let result = result.await.map_err(|e| e.to_string());
                        Msg::Checked { id, result: CheckResult::Bucket(result) }
                    }),
                ),
                Command::CheckSsh { id, public_key } => (
                    Kind::Ssh,
                    Box::pin(async move {
                        let path = expand_home(&public_key);
                        let result = tokio::task::spawn_blocking(move || ssh_found(&path))
                            .await
                            .unwrap_or_else(|e| Err(format!("the key check stopped: {e}")));
                        Msg::Checked { id, result: CheckResult::Ssh(result) }
                    }),
                ),
                _ => return,
            };
        if let Some(previous) = self.pending.remove(&kind) {
            previous.abort();
        }
        let tx = self.tx.clone();
        self.pending.insert(
            kind,
            tokio::spawn(async move {
                tokio::time::sleep(DEBOUNCE).await;
                // The loop may be gone (the user quit): nothing to tell then.
                let _ = tx.send(work.await);
            }),
        );
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        for (_, task) in self.pending.drain() {
            task.abort();
        }
    }
}
