//! The background checks, off the UI task: STS identity, bucket availability and the SSH key
//! files, each a read-only call of the engine. A new request of a kind cancels the one before
//! it and waits `DEBOUNCE` first, so typing a bucket name sends one HeadBucket after the last
//! key, not one per key; the answer carries the request id so `update` can drop stale ones.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::state::{CheckResult, FoundKey, SshFound};
use super::update::{Command, Msg};
use crate::engine::aws::{Clients, Credentials};
use crate::engine::credentials::SharedFiles;
use crate::engine::ssh::{self, KeyState};
use crate::paths::expand_home;
use crate::questions::{Context, mask_key};

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
        let (kind, work): (Kind, std::pin::Pin<Box<dyn Future<Output = Msg> + Send>>) = match cmd
            .clone()
        {
            Command::CheckIdentity { id, profile, region } => (
                Kind::Identity,
                Box::pin(async move {
                    let clients = Clients::from_env(&Credentials { profile, region }).await;
                    let result = clients.whoami().await.map_err(|e| e.to_string());
                    Msg::Checked { id, result: CheckResult::Identity(result) }
                }),
            ),
            Command::CheckBucket { id, bucket, profile, region } => (
                Kind::Bucket,
                Box::pin(async move {
                    let clients = Clients::from_env(&Credentials { profile, region }).await;
                    let result = clients.bucket_access(&bucket).await.map_err(|e| e.to_string());
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

/// What is at the key path, in the words the SSH field shows.
pub fn ssh_found(public: &Path) -> Result<SshFound, String> {
    let describe = |k: &ssh::KeyInfo| format!("{} {} {}", k.algorithm, k.bits, k.fingerprint);
    let found = match ssh::inspect(public).map_err(|e| e.to_string())? {
        KeyState::Missing => SshFound {
            usable: true,
            summary: "no key there yet: setup generates it (if \"Generate\" is on)".into(),
        },
        KeyState::Pair(k) => {
            SshFound { usable: true, summary: format!("pair found: {}", describe(&k)) }
        }
        KeyState::PublicOnly(k) => SshFound {
            usable: true,
            summary: format!(
                "public key only ({}): kops can use it, but nobody can SSH in",
                describe(&k)
            ),
        },
        KeyState::PrivateOnly => SshFound {
            usable: false,
            summary: "a private key without its .pub: choose another path or recreate the .pub"
                .into(),
        },
        KeyState::Mismatch { public } => SshFound {
            usable: false,
            summary: format!("the .pub ({}) does not belong to the private key", describe(&public)),
        },
    };
    Ok(found)
}

/// The `.pub` files of `dir` (`~/.ssh`), each usable (RSA or ed25519) or not, with why. Local
/// files only, so it runs before the first frame. `shown` turns a path into what the user types.
pub fn scan_ssh_dir(dir: &Path, shown: impl Fn(&Path) -> String) -> Vec<FoundKey> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pub") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| match ssh::read_public(&path) {
            Ok(k) => FoundKey {
                path: shown(&path),
                usable: true,
                note: format!("{} {} {}", k.algorithm, k.bits, k.fingerprint),
            },
            // The engine's message names the file; the list already does.
            Err(e) => FoundKey {
                path: shown(&path),
                usable: false,
                note: e.to_string().lines().next().unwrap_or_default().to_string(),
            },
        })
        .collect()
}

/// `~/.ssh/…` for paths under the home directory, as the answers write them.
pub fn tilde(path: &Path) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    match home.as_deref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

/// Profiles of the shared files and the environment's key (masked): local files only, so it
/// runs before the first frame.
pub fn context() -> Context {
    let profiles = SharedFiles::from_env().and_then(|f| f.profiles()).unwrap_or_default();
    let env_key =
        std::env::var("AWS_ACCESS_KEY_ID").ok().filter(|k| !k.is_empty()).map(|k| mask_key(&k));
    Context { profiles, env_key }
}
