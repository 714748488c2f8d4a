//! The pure parts of the read-only checks, shared by the interactive front ends: what is at an
//! SSH key path, the public keys in `~/.ssh`, the profiles of the shared files, and the words
//! for a bucket's availability. The full-screen wizard runs them off its UI task
//! (`tui::checks`); the line mode runs them right after the answer they check.

use std::path::Path;

use crate::engine::aws::credentials::SharedFiles;
use crate::engine::cluster::ssh::{self, KeyState};
use crate::engine::store::bucket::BucketAccess;
use crate::engine::team::join::InBucket;
use crate::questions::{Check, Context, mask_key};

/// What the SSH check found at the key path, in words the field shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshFound {
    /// `true` when the key is there and usable as it is.
    pub usable: bool,
    pub summary: String,
}

/// A `.pub` file found in `~/.ssh`, for the SSH step's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundKey {
    /// As the answers write it (`~/.ssh/id_ed25519.pub`).
    pub path: String,
    pub usable: bool,
    /// `ed25519 256 SHA256:…`, or why kops cannot use it.
    pub note: String,
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

/// The words for a bucket check's answer: the three the issue names, and what each means.
/// What a check is doing while its answer is awaited.
pub fn checking(check: Check) -> Option<&'static str> {
    match check {
        Check::None => None,
        Check::Identity => Some("asking STS who these credentials are"),
        Check::BucketAvailability => Some("is the name free"),
        Check::SshKeyFiles => Some("looking at the key files"),
    }
}

/// Above the SSH key question: `~/.ssh` has no public key.
pub const NO_KEYS: &str = "No public keys in ~/.ssh: setup generates one.";
/// Above the SSH key question: the public keys of `~/.ssh` follow.
pub const FOUND_KEYS: &str = "Found in ~/.ssh";

/// What a bucket check found: whose the name is, and the clusters in the bucket (asked only
/// of a bucket these credentials can use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFound {
    pub access: BucketAccess,
    pub clusters: Vec<InBucket>,
}

impl From<BucketAccess> for BucketFound {
    fn from(access: BucketAccess) -> Self {
        BucketFound { access, clusters: Vec::new() }
    }
}

impl BucketFound {
    /// The cluster these answers name, when it is in the bucket and this machine did not make
    /// it: setup joins it, so its SSH key and sizes are not asked.
    pub fn joins(&self, cluster: &str) -> Option<&InBucket> {
        self.clusters.iter().find(|c| c.name == cluster && !c.ours)
    }
}

/// The bucket's clusters in words, under the bucket's field: each one and whose it is; and,
/// when the answers' cluster is one of them, what that means for this setup.
pub fn bucket_clusters(found: &BucketFound, cluster: &str) -> Vec<String> {
    const SHOWN: usize = 3;
    let mut lines: Vec<String> = found
        .clusters
        .iter()
        .take(SHOWN)
        .map(|c| format!("holds cluster {}, {}", c.name, c.whose))
        .collect();
    if found.clusters.len() > SHOWN {
        lines.push(format!("and {} more clusters", found.clusters.len() - SHOWN));
    }
    match found.clusters.iter().find(|c| c.name == cluster) {
        Some(c) if c.ours => lines.push(format!(
            "cluster {cluster} is this machine's: setup continues it where it stopped"
        )),
        Some(_) => lines.push(format!(
            "cluster {cluster} is there: setup joins it (your own IAM user and a kubeconfig); \
             its SSH key and its sizes are its own, so they are not asked"
        )),
        None if !found.clusters.is_empty() => lines.push(format!(
            "to join one of them, name it on the Cluster page; {cluster} would be a new cluster"
        )),
        None => {}
    }
    lines
}

/// A joined cluster's shape, read-only, as its record gives it.
pub fn join_sizes(c: &InBucket) -> Vec<String> {
    let Some(s) = &c.settings else {
        return vec![format!(
            "cluster {} was made without kops-wizard: its sizes are in kops (kops get \
             instancegroups), and this setup changes none of them",
            c.name
        )];
    };
    let mut lines = vec![
        format!("zones          {}", s.zones.join(", ")),
        format!("networking     {}", s.networking),
        format!("control plane  {} × {}", s.control_plane_count, s.control_plane_size),
        format!("nodes          {} × {}", s.node_count, s.node_size),
        format!("topology       {}{}", s.topology, if s.bastion { ", with a bastion" } else { "" }),
    ];
    if let Some(v) = &s.kubernetes_version {
        lines.push(format!("Kubernetes     {v}"));
    }
    lines.iter_mut().for_each(|l| *l = crate::text::one_line(l));
    lines
}

pub fn bucket_words(access: BucketAccess) -> (&'static str, &'static str, bool) {
    match access {
        BucketAccess::Free => ("free", "nobody has this name: setup creates it", true),
        BucketAccess::Yours => ("yours", "it exists and these credentials can use it", true),
        BucketAccess::Taken => ("taken", "another account owns it: choose another name", false),
        BucketAccess::ElsewhereRegion => {
            ("taken", "it exists in another region: choose another name or region", false)
        }
    }
}
