//! The journal: per cluster, what the wizard is about to create (intent), what it created,
//! what it found already there, and what it deleted. Written atomically before and after each
//! change, so a rerun continues where a run stopped and teardown deletes only the wizard's own.
//! It never holds a secret: access keys are recorded by their id.

use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::fsutil;

/// Bumped when the format changes incompatibly; an unknown version is refused, not guessed.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    IamGroup,
    /// id: `group` + `policy_arn` in `detail`.
    IamPolicyAttachment,
    IamUser,
    /// id: user, `detail`: group.
    IamGroupMembership,
    /// id: user, `detail`: the access key id once known.
    AccessKey,
    Profile,
    Bucket,
    BucketVersioning,
    BucketEncryption,
    BucketPublicAccessBlock,
    SshKey,
    /// The cluster's configuration in the state store (`kops create cluster`).
    Cluster,
    /// `kops update cluster --yes` has run for the cluster: its cloud resources exist.
    ClusterDeployed,
}

impl Kind {
    /// Whether teardown deletes (or keeps) it as a thing of its own; bucket settings go with
    /// the bucket, the deployment with the cluster.
    pub fn torn_down(self) -> bool {
        match self {
            Kind::BucketVersioning
            | Kind::BucketEncryption
            | Kind::BucketPublicAccessBlock
            | Kind::ClusterDeployed => false,
            Kind::IamGroup
            | Kind::IamPolicyAttachment
            | Kind::IamUser
            | Kind::IamGroupMembership
            | Kind::AccessKey
            | Kind::Profile
            | Kind::Bucket
            | Kind::SshKey
            | Kind::Cluster => true,
        }
    }

    /// What lives on one machine (a profile in its AWS files, a key pair in its `~/.ssh`):
    /// kept in that machine's copy of the record only, never in the team's.
    pub fn is_local(self) -> bool {
        match self {
            Kind::Profile | Kind::SshKey => true,
            Kind::IamGroup
            | Kind::IamPolicyAttachment
            | Kind::IamUser
            | Kind::IamGroupMembership
            | Kind::AccessKey
            | Kind::Bucket
            | Kind::BucketVersioning
            | Kind::BucketEncryption
            | Kind::BucketPublicAccessBlock
            | Kind::Cluster
            | Kind::ClusterDeployed => false,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::IamGroup => "IAM group",
            Kind::IamPolicyAttachment => "policy attachment",
            Kind::IamUser => "IAM user",
            Kind::IamGroupMembership => "group membership",
            Kind::AccessKey => "access key",
            Kind::Profile => "AWS profile",
            Kind::Bucket => "S3 bucket",
            Kind::BucketVersioning => "bucket versioning",
            Kind::BucketEncryption => "bucket encryption",
            Kind::BucketPublicAccessBlock => "public access block",
            Kind::SshKey => "SSH key",
            Kind::Cluster => "cluster",
            Kind::ClusterDeployed => "cluster deployment",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// About to be created; if the run died, a rerun looks it up and counts it as the wizard's.
    Intent,
    /// Created (or changed) by the wizard: teardown deletes (or reverts) it.
    Created,
    /// Already there before the wizard: teardown keeps it.
    Found,
    /// Deleted by teardown.
    Deleted,
    /// An intent that was settled as never made (AWS refused the change, or it is not there
    /// with the wizard's mark): nothing to delete.
    Failed,
    /// Made by this cluster's setup, kept at its teardown because another cluster still uses
    /// it; the teardown of the last cluster that uses it deletes it.
    Released,
    /// There before this cluster's setup; this cluster no longer uses it (torn down).
    Left,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: Kind,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub state: State,
    /// When the entry last changed (RFC 3339, UTC).
    pub at: String,
    /// An access-key intent: the ids of the user's keys just before CreateAccessKey, so a
    /// rerun can tell the interrupted run's key from every other one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_keys: Option<Vec<String>>,
    /// An SSH key the wizard generated: its fingerprint, so teardown deletes that pair only,
    /// not one the user put at the same path since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Who recorded it: the record is shared by the team's machines through the state store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Author>,
    /// Made by a run on this machine, as this local copy remembers: never part of the stored
    /// record, so nobody can claim it by writing the bucket (machine ids in the record are
    /// public and prove nothing). Settling an intent keeps it: an intent another machine
    /// recorded stays that machine's. What carries no mark of its own (an attachment to a
    /// group of an older version, a cluster) may be deleted on this word.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub here: bool,
}

/// Who made a change: the AWS caller, the machine, and the versions that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Author {
    /// The admin caller's ARN (`sts:GetCallerIdentity`).
    pub arn: String,
    pub host: String,
    /// One id per state dir: which machine's files (profile, SSH key) an entry names.
    pub machine: String,
    pub wizard: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kops: Option<String>,
}

impl Author {
    /// `arn on host`, for messages: the record is anyone's to write, so each is shown on one
    /// line and bounded.
    pub fn describe(&self) -> String {
        format!("{} on {}", crate::text::one_line(&self.arn), crate::text::one_line(&self.host))
    }
}

impl Entry {
    /// Whether the wizard made it: created, or intended and then found there.
    pub fn by_wizard(&self) -> bool {
        matches!(self.state, State::Intent | State::Created | State::Deleted | State::Released)
    }

    /// Whether this cluster still uses it (so another cluster's teardown must keep it).
    pub fn in_use(&self) -> bool {
        matches!(self.state, State::Intent | State::Created | State::Found)
    }

    /// Whether it names the same resource as `other` (kind, id and detail).
    pub fn same_resource(&self, other: &Entry) -> bool {
        self.kind == other.kind && self.id == other.id && self.detail == other.detail
    }

    /// Whether a run on this machine made it, as this machine's own copy says.
    pub fn made_here(&self) -> bool {
        self.here
    }

    /// Whether the record says nothing of who made it: written by a version before the team's
    /// record, and then shared. Such an entry is made on no machine until one claims it.
    pub fn authorless(&self) -> bool {
        self.by.is_none()
    }

    /// The entry in words, its names shown on one line (the record is anyone's to write).
    pub fn describe(&self) -> String {
        let id = crate::text::one_line(&self.id);
        match &self.detail {
            Some(detail) => {
                format!("{} {id} ({})", self.kind.label(), crate::text::one_line(detail))
            }
            None => format!("{} {id}", self.kind.label()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    pub format: u32,
    pub cluster: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_store: Option<String>,
    #[serde(default)]
    pub entries: Vec<Entry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_validation: Option<LastValidation>,
    /// The latest smoke test: where both pods answered, or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_smoke_test: Option<LastSmokeTest>,
    /// The cluster as `kops create cluster` made it, to tell a changed answer from a rerun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_settings: Option<ClusterSettings>,
    /// The latest teardown: when it started and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<TeardownRecord>,
    /// Day-2 changes of the running cluster (`kops-wizard change`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeRecord>,
    /// The local file is a copy of the record in the state store: which one, and whether this
    /// copy holds a change the store has not taken yet. Never part of the stored record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<CopyOf>,
    #[serde(skip)]
    path: PathBuf,
    /// Stamped on every entry this run records.
    #[serde(skip)]
    author: Option<Author>,
    /// The state store's copy of the record, written after the local file on each save.
    #[serde(skip)]
    store: Option<Store>,
    /// A dry run reads and plans but never writes the journal.
    #[serde(skip)]
    read_only: bool,
}

/// Where the record lives in the state store, and the version this local copy follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyOf {
    /// `s3://<bucket>/kops-wizard/<cluster>.journal.json`.
    pub url: String,
    /// The stored record's ETag this copy was read from or written as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// A save reached this file but not (yet) the store: the next run sends it first.
    #[serde(default)]
    pub pending: bool,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the shared record is kept (the state bucket): a write that creates it only if it is
/// absent, or replaces it only while it is still the version last read, so two machines
/// can never both win. Every write is fenced: it is made only while the run's lease on the
/// team's lock is still its own.
pub trait RecordStore: Send + Sync {
    fn url(&self) -> String;
    /// Creates the record (`etag` None) or replaces version `etag`; returns the new ETag.
    fn put(&self, body: Vec<u8>, etag: Option<String>)
    -> BoxFuture<'_, Result<String, StoreError>>;
    /// The record as stored now, and its ETag (`None` when there is none).
    fn get(&self) -> BoxFuture<'_, Result<Option<(String, String)>, StoreError>>;
    /// Who holds the team's lock now, in words, for a write that kept losing.
    fn holder(&self) -> BoxFuture<'_, Option<String>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// Another machine wrote the record since this one read it.
    Conflict,
    /// The run's lease on the team's lock is no longer its own: nothing was written.
    Fenced(String),
    Other(String),
}

/// How long a record write that keeps losing its race re-reads, merges and tries again
/// before it stops.
const RACE_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// A handle on the store; two journals compare equal whatever their stores.
#[derive(Clone)]
struct Store(Arc<dyn RecordStore>);

impl PartialEq for Store {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.0.url())
    }
}

/// The cluster's shape as the wizard created it (what `kops create cluster` was given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    pub zones: Vec<String>,
    pub networking: String,
    pub control_plane_size: String,
    pub control_plane_count: u32,
    pub node_size: String,
    pub node_count: u32,
    pub topology: String,
    pub bastion: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
}

/// One `kops-wizard change`: who, when, from what to what, and how it ended. Written before
/// the first kops call that writes (`result` "started"), and again at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRecord {
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// `answers key: from -> to`, one per changed field.
    pub changes: Vec<String>,
    /// `started`, `done`, or why it stopped.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Author>,
    /// The state store's versions of the cluster's spec objects before the change (key,
    /// version id): what `change --undo` puts back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<(String, String)>,
    /// This record is an undo (of the change that started at this time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// What the smoke test's NLB answered during the change (requests, failed, slow, when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<String>,
}

/// A teardown run: `finished` stays empty while it is unfinished (stopped or failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeardownRecord {
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Why the last run stopped, when it did not finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// What the final check found still there.
    #[serde(default)]
    pub leftovers: Vec<String>,
    /// What the record claimed and the resources could not prove: kept, not deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// Who ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Author>,
}

/// The outcome of the latest `kops validate cluster` attempt, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastValidation {
    pub at: String,
    /// The phase in words ("nodes joining", "ready", ...).
    pub phase: String,
    pub ready_nodes: u32,
    pub expected_nodes: u32,
    #[serde(default)]
    pub failures: Vec<String>,
}

/// The outcome of the latest smoke test, for the Done screen, the summary and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastSmokeTest {
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<SmokePassed>,
    /// Why it failed, and what to look at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// A passed smoke test: the URL at which both pods answered through the NLB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokePassed {
    /// `http://<the NLB's DNS name>/hostname`.
    pub url: String,
    pub load_balancer: String,
    /// The pods that answered through it, sorted.
    pub pods: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    // The cause is part of the message, so it is not also a `source` (that would print twice).
    #[error("cannot read the journal {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error(
        "the journal {} is damaged ({message}); move it aside to start over, but then the wizard \
         no longer knows what it created",
        path.display()
    )]
    Damaged { path: PathBuf, message: String },
    #[error("cannot write the journal {}: {error}; nothing further was changed", path.display())]
    Write { path: PathBuf, error: std::io::Error },
    #[error(
        "the record {url} kept changing while this run held the team's lock (was the lock \
         broken by hand, or is something writing the bucket without it?); the lock is {holder}. \
         This run stops here, nothing further was changed. Run the command again: it reads the \
         record as it is now"
    )]
    Conflict { url: String, holder: String },
    #[error("{0}")]
    Fenced(String),
    #[error(
        "cannot write the record {url}: {message}; the local copy {} has the change and the \
         next run sends it. Nothing further was changed",
        path.display()
    )]
    Remote { url: String, path: PathBuf, message: String },
}

pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default()
}

impl Journal {
    /// `<state dir>/journal/<cluster>.json`; cluster names are DNS names, safe as file names.
    pub fn path_for(state_dir: &Path, cluster: &str) -> PathBuf {
        state_dir.join("journal").join(format!("{cluster}.json"))
    }

    /// The cluster's journal, or a new empty one (not written until the first record).
    pub fn open(state_dir: &Path, cluster: &str, region: &str) -> Result<Journal, JournalError> {
        let path = Self::path_for(state_dir, cluster);
        match Self::load(&path)? {
            Some(journal) => Ok(journal),
            None => Ok(Journal { path, read_only: false, ..Self::detached(cluster, region) }),
        }
    }

    /// A journal that is never written (the plan's idea of what a setup would record).
    pub fn detached(cluster: &str, region: &str) -> Journal {
        Journal {
            format: FORMAT,
            cluster: cluster.into(),
            region: region.into(),
            state_store: None,
            entries: Vec::new(),
            last_validation: None,
            last_smoke_test: None,
            cluster_settings: None,
            teardown: None,
            changes: Vec::new(),
            copy_of: None,
            path: PathBuf::new(),
            author: None,
            store: None,
            read_only: true,
        }
    }

    /// Adds an entry in memory only (for a detached journal).
    pub fn push(&mut self, kind: Kind, id: &str, detail: Option<&str>, state: State) {
        self.entries.push(Entry {
            kind,
            id: id.into(),
            detail: detail.map(str::to_string),
            state,
            at: now(),
            known_keys: None,
            fingerprint: None,
            by: None,
            here: true,
        });
    }

    pub fn load(path: &Path) -> Result<Option<Journal>, JournalError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(JournalError::Read { path: path.into(), error }),
        };
        let damaged = |message: String| JournalError::Damaged { path: path.into(), message };
        let mut journal: Journal =
            serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if journal.format != FORMAT {
            return Err(damaged(format!(
                "format {} is not {FORMAT}: written by another version of kops-wizard",
                journal.format
            )));
        }
        if journal.copy_of.is_none() {
            // Never a copy of a shared record: everything in this file was written on this
            // machine, by this version or one from before the team's record (no author, no
            // `here`).
            for e in &mut journal.entries {
                e.here |= e.by.is_none();
            }
        }
        journal.path = path.to_path_buf();
        Ok(Some(journal))
    }

    /// Every journal in the state dir, sorted by cluster name.
    pub fn list(state_dir: &Path) -> Result<Vec<Journal>, JournalError> {
        let dir = state_dir.join("journal");
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(JournalError::Read { path: dir, error }),
        };
        let mut journals = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                journals.extend(Self::load(&path)?);
            }
        }
        journals.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        Ok(journals)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn find(&self, kind: Kind, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.kind == kind && e.id == id)
    }

    pub fn find_detail(&self, kind: Kind, id: &str, detail: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.id == id && e.detail.as_deref() == Some(detail))
    }

    /// Records an entry (replacing the one with the same kind, id and detail) and saves.
    pub async fn record(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        state: State,
    ) -> Result<(), JournalError> {
        self.record_with(kind, id, detail, state, None).await
    }

    /// [`Journal::record`] with the access keys that existed before an access-key intent.
    pub async fn record_with(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        state: State,
        known_keys: Option<Vec<String>>,
    ) -> Result<(), JournalError> {
        let entry = self.entry(kind, id, detail, state);
        self.put(Entry { known_keys, ..entry }).await
    }

    /// A new entry by this run, on this machine, now.
    fn entry(&self, kind: Kind, id: &str, detail: Option<&str>, state: State) -> Entry {
        Entry {
            kind,
            id: id.into(),
            detail: detail.map(str::to_string),
            state,
            at: now(),
            known_keys: None,
            fingerprint: None,
            by: self.author.clone(),
            here: true,
        }
    }

    /// Records `entry` (replacing the one that names the same resource) and saves; a kill
    /// point of the tests comes first, where a run could die before the record.
    ///
    /// Settling an intent (its result, made or not) keeps who made the intent: an intent in
    /// the team's record that another machine (or anyone who can write the bucket) put there
    /// does not become this machine's by being looked up here.
    async fn put(&mut self, mut entry: Entry) -> Result<(), JournalError> {
        if cfg!(debug_assertions) {
            let point = format!("{}:{}", serde_name(&entry.state), serde_name(&entry.kind));
            crate::test_hooks::point(&point);
        }
        match self.entries.iter_mut().find(|e| e.same_resource(&entry)) {
            Some(existing) => {
                let settles = existing.state == State::Intent
                    && matches!(entry.state, State::Created | State::Failed);
                if settles {
                    entry.here = existing.here;
                    entry.by = existing.by.clone();
                    entry.known_keys = entry.known_keys.or(existing.known_keys.take());
                    entry.fingerprint = entry.fingerprint.or(existing.fingerprint.take());
                }
                *existing = entry;
            }
            None => self.entries.push(entry),
        }
        self.save().await
    }

    /// Claims every entry the record names no author for (written before the team's record
    /// existed) as this machine's: the user says this machine made them (`setup --claim`).
    /// The record then names this run's author for them, so other machines join.
    pub async fn claim_authorless(&mut self) -> Result<usize, JournalError> {
        let author = self.author.clone();
        let mut claimed = 0;
        for e in self.entries.iter_mut().filter(|e| e.by.is_none()) {
            e.here = true;
            e.by = author.clone();
            claimed += 1;
        }
        if claimed > 0 {
            self.save().await?;
        }
        Ok(claimed)
    }

    /// Whether this machine's copy made `current` (an entry of the stored record, or of this
    /// copy): it names the same resource, in the same state, recorded at the same time, here.
    pub fn made_here(&self, current: &Entry) -> bool {
        self.entries.iter().any(|mine| {
            mine.here
                && mine.same_resource(current)
                && mine.state == current.state
                && mine.at == current.at
        })
    }

    /// Records an SSH key pair the wizard generated, with its fingerprint, and saves.
    pub async fn record_ssh_key(
        &mut self,
        id: &str,
        fingerprint: &str,
    ) -> Result<(), JournalError> {
        self.record_fingerprinted(Kind::SshKey, id, State::Created, fingerprint).await
    }

    /// Records an entry with the fingerprint of the SSH key it goes with (a key pair the
    /// wizard generated, the key a cluster was created with), and saves.
    pub async fn record_fingerprinted(
        &mut self,
        kind: Kind,
        id: &str,
        state: State,
        fingerprint: &str,
    ) -> Result<(), JournalError> {
        let entry = self.entry(kind, id, None, state);
        self.put(Entry { fingerprint: Some(fingerprint.to_string()), ..entry }).await
    }

    /// Drops entries (e.g. an access-key intent once the key's own entry exists) and saves.
    pub async fn forget(&mut self, keep: impl Fn(&Entry) -> bool) -> Result<(), JournalError> {
        self.entries.retain(keep);
        self.save().await
    }

    pub async fn set_last_validation(
        &mut self,
        result: LastValidation,
    ) -> Result<(), JournalError> {
        self.last_validation = Some(result);
        self.save().await
    }

    pub async fn set_last_smoke_test(&mut self, result: LastSmokeTest) -> Result<(), JournalError> {
        self.last_smoke_test = Some(result);
        self.save().await
    }

    pub async fn set_state_store(&mut self, url: &str) -> Result<(), JournalError> {
        self.state_store = Some(url.into());
        self.save().await
    }

    pub async fn set_cluster_settings(
        &mut self,
        settings: ClusterSettings,
    ) -> Result<(), JournalError> {
        self.cluster_settings = Some(settings);
        self.save().await
    }

    pub async fn set_teardown(&mut self, record: TeardownRecord) -> Result<(), JournalError> {
        self.teardown = Some(TeardownRecord { by: self.author.clone(), ..record });
        self.save().await
    }

    /// Records a change as started, or updates the last one (the same `started`) as it ends.
    pub async fn set_change(&mut self, record: ChangeRecord) -> Result<(), JournalError> {
        let record = ChangeRecord { by: self.author.clone(), ..record };
        match self.changes.last_mut() {
            Some(last) if last.started == record.started => *last = record,
            _ => self.changes.push(record),
        }
        self.save().await
    }

    /// From now on, changes stay in memory: `--dry-run` plans with the journal it would write.
    pub fn make_read_only(&mut self) {
        self.read_only = true;
    }

    /// Every other cluster's journal in the same state dir (for what they still use).
    pub fn others(&self) -> Result<Vec<Journal>, JournalError> {
        let Some(dir) = self.path.parent().and_then(Path::parent) else {
            return Ok(Vec::new());
        };
        Ok(Self::list(dir)?.into_iter().filter(|j| j.cluster != self.cluster).collect())
    }

    /// Saves the local file, then the state store's record when there is one: an intent is
    /// in the store before the change it announces, where every machine of the team sees it.
    pub async fn save(&mut self) -> Result<(), JournalError> {
        if self.read_only {
            return Ok(());
        }
        let Some(store) = self.store.clone() else { return self.write_local() };
        let url = store.0.url();
        let copy = self.copy_of.get_or_insert(CopyOf { url, etag: None, pending: false });
        copy.pending = true;
        let mut etag = copy.etag.clone();
        self.write_local()?;
        let started = std::time::Instant::now();
        let (url, path) = (store.0.url(), self.path.clone());
        let remote = move |message| JournalError::Remote { url, path, message };
        loop {
            match store.0.put(self.stored_text().into_bytes(), etag.clone()).await {
                Ok(etag) => {
                    if let Some(copy) = &mut self.copy_of {
                        copy.etag = Some(etag);
                        copy.pending = false;
                    }
                    return self.write_local();
                }
                Err(StoreError::Conflict) if started.elapsed() < RACE_RETRY => {
                    // Someone wrote the record without the lock: what they wrote is kept
                    // where it names something this copy does not, and this copy wins the
                    // rest. (What teardown deletes is proved on each resource, not here.)
                    match store.0.get().await {
                        Ok(current) => {
                            etag = current.as_ref().map(|(_, etag)| etag.clone());
                            if let Some((text, _)) = current
                                && let Ok(theirs) = Self::parse_stored(&text, &store.0.url())
                                && theirs.cluster == self.cluster
                            {
                                self.take_missing(&theirs);
                            }
                        }
                        Err(StoreError::Fenced(message)) => {
                            return Err(JournalError::Fenced(message));
                        }
                        Err(StoreError::Conflict | StoreError::Other(_)) => {}
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(StoreError::Conflict) => {
                    let holder = store.0.holder().await.unwrap_or_else(|| "not held".into());
                    return Err(JournalError::Conflict { url: store.0.url(), holder });
                }
                Err(StoreError::Fenced(message)) => return Err(JournalError::Fenced(message)),
                Err(StoreError::Other(message)) => return Err(remote(message)),
            }
        }
    }

    /// Adds the entries of `theirs` that name something this copy does not.
    fn take_missing(&mut self, theirs: &Journal) {
        for e in &theirs.entries {
            if !e.kind.is_local() && !self.entries.iter().any(|mine| mine.same_resource(e)) {
                self.entries.push(Entry { here: false, ..e.clone() });
            }
        }
    }

    /// The record as the state store keeps it: without the local copy's bookkeeping and
    /// without this machine's own files (profile, SSH key), which no other machine can use.
    pub fn stored_text(&self) -> String {
        let mut stored = Journal { copy_of: None, ..self.clone() };
        stored.entries.retain(|e| !e.kind.is_local());
        for e in &mut stored.entries {
            e.here = false;
        }
        serde_json::to_string_pretty(&stored).unwrap_or_default()
    }

    /// Reads a record as the state store returned it (`url` names it in errors).
    pub fn parse_stored(text: &str, url: &str) -> Result<Journal, JournalError> {
        let damaged = |message: String| JournalError::Damaged { path: PathBuf::from(url), message };
        let journal: Journal = serde_json::from_str(text).map_err(|e| damaged(e.to_string()))?;
        if journal.format != FORMAT {
            return Err(damaged(format!(
                "format {} is not {FORMAT}: written by another version of kops-wizard",
                journal.format
            )));
        }
        Ok(journal)
    }

    /// From now on each save also writes the store's record, following version `etag`.
    pub fn attach(&mut self, store: Arc<dyn RecordStore>, etag: Option<String>) {
        self.copy_of = Some(CopyOf { url: store.url(), etag, pending: false });
        self.store = Some(Store(store));
    }

    /// From now on saves write the local file only (the bucket that held the record is being
    /// deleted with it).
    pub fn detach(&mut self) {
        self.store = None;
        self.copy_of = None;
    }

    /// Whether saves reach the state store.
    pub fn is_attached(&self) -> bool {
        self.store.is_some()
    }

    /// Becomes `other` (the store's record), keeping this copy's file, author and store, and
    /// this machine's own entries (profile, SSH key), which the store never holds.
    pub fn adopt(&mut self, mut other: Journal) {
        other.entries.retain(|e| !e.kind.is_local());
        // An entry this machine recorded keeps that word only while the record still says
        // exactly what it recorded.
        for e in &mut other.entries {
            e.here = self.entries.iter().any(|mine| {
                mine.here && mine.same_resource(e) && mine.state == e.state && mine.at == e.at
            });
        }
        other.entries.extend(self.entries.iter().filter(|e| e.kind.is_local()).cloned());
        let (path, author, store, read_only, copy_of) = (
            std::mem::take(&mut self.path),
            self.author.take(),
            self.store.take(),
            self.read_only,
            self.copy_of.take(),
        );
        *self = Journal { path, author, store, read_only, copy_of, ..other };
    }

    /// Entries from now on say who recorded them.
    pub fn set_author(&mut self, author: Author) {
        self.author = Some(author);
    }

    pub fn author(&self) -> Option<&Author> {
        self.author.as_ref()
    }

    /// Writes the local file (or copy) only.
    pub fn write_local(&self) -> Result<(), JournalError> {
        if self.read_only {
            return Ok(());
        }
        let write = |error| JournalError::Write { path: self.path.clone(), error };
        if let Some(dir) = self.path.parent() {
            fsutil::private_dir(dir).map_err(write)?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| write(std::io::Error::other(e.to_string())))?;
        fsutil::write_private_nofollow(&self.path, text.as_bytes()).map_err(write)
    }
}

/// Runs a journal's future to its end, for tests that build journals without a runtime (a
/// journal without a store only writes its local file).
#[cfg(test)]
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
        .block_on(future)
}

/// The name serde gives a unit variant (`access-key`, `created`), as the journal file spells it.
fn serde_name(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_survive_a_reload_and_replace_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "dev.example.com", "us-east-1").unwrap();
        assert!(!j.path().exists(), "a new journal is not written before the first record");
        j.record(Kind::IamGroup, "kops", None, State::Intent).await.unwrap();
        j.record(Kind::IamGroup, "kops", None, State::Created).await.unwrap();
        j.record(Kind::IamPolicyAttachment, "kops", Some("arn:a"), State::Created).await.unwrap();
        j.record(Kind::IamPolicyAttachment, "kops", Some("arn:b"), State::Found).await.unwrap();
        j.set_state_store("s3://b").await.unwrap();

        let again = Journal::open(dir.path(), "dev.example.com", "us-east-1").unwrap();
        assert_eq!(again.entries.len(), 3);
        assert_eq!(again.find(Kind::IamGroup, "kops").unwrap().state, State::Created);
        assert!(again.find_detail(Kind::IamPolicyAttachment, "kops", "arn:a").unwrap().by_wizard());
        assert!(
            !again.find_detail(Kind::IamPolicyAttachment, "kops", "arn:b").unwrap().by_wizard()
        );
        assert_eq!(again.state_store.as_deref(), Some("s3://b"));
        assert_eq!(Journal::list(dir.path()).unwrap(), vec![again]);
    }

    #[test]
    fn a_damaged_or_foreign_journal_is_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = Journal::path_for(dir.path(), "x.example.com");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{ not json").unwrap();
        let err = Journal::open(dir.path(), "x.example.com", "us-east-1").unwrap_err().to_string();
        assert!(err.contains("x.example.com.json") && err.contains("damaged"), "{err}");

        fs::write(&path, r#"{"format": 99, "cluster": "x", "region": "r"}"#).unwrap();
        let err = Journal::open(dir.path(), "x.example.com", "us-east-1").unwrap_err().to_string();
        assert!(err.contains("format 99"), "{err}");
    }

    #[tokio::test]
    async fn settling_an_intent_keeps_who_made_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "a.b", "us-east-1").unwrap();
        j.set_author(Author {
            arn: "arn:aws:iam::1:user/me".into(),
            host: "here".into(),
            machine: "m-here".into(),
            wizard: "0".into(),
            kops: None,
        });
        // An intent the team's record brought from another machine (or from anyone who can
        // write the bucket): not this machine's, and settling it here does not make it so.
        let theirs = Author { machine: "m-there".into(), ..j.author().unwrap().clone() };
        j.entries.push(Entry {
            kind: Kind::IamUser,
            id: "u".into(),
            detail: None,
            state: State::Intent,
            at: now(),
            known_keys: None,
            fingerprint: None,
            by: Some(theirs.clone()),
            here: false,
        });
        j.record(Kind::IamUser, "u", None, State::Created).await.unwrap();
        let e = j.find(Kind::IamUser, "u").unwrap();
        assert!(!e.made_here() && e.by.as_ref() == Some(&theirs), "{e:?}");
        // This machine's own intent, settled, stays its own.
        j.record(Kind::IamGroup, "g", None, State::Intent).await.unwrap();
        j.record(Kind::IamGroup, "g", None, State::Created).await.unwrap();
        assert!(j.find(Kind::IamGroup, "g").unwrap().made_here());
    }

    #[test]
    fn a_journal_never_shared_is_this_machines_and_a_shared_one_names_no_machine() {
        let dir = tempfile::tempdir().unwrap();
        let path = Journal::path_for(dir.path(), "a.b");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let entry = r#"{"kind": "cluster", "id": "a.b", "state": "created", "at": "t"}"#;
        // Written by a version before the team's record: no author, never a copy.
        let local =
            format!(r#"{{"format": 1, "cluster": "a.b", "region": "r", "entries": [{entry}]}}"#);
        fs::write(&path, &local).unwrap();
        let j = Journal::load(&path).unwrap().unwrap();
        assert!(j.find(Kind::Cluster, "a.b").unwrap().made_here());
        // The same entry in a copy of the team's record: nobody's until claimed.
        let copy = format!(
            r#"{{"format": 1, "cluster": "a.b", "region": "r", "entries": [{entry}],
                "copy_of": {{"url": "s3://b/kops-wizard/a.b.journal.json"}}}}"#
        );
        fs::write(&path, copy).unwrap();
        let j = Journal::load(&path).unwrap().unwrap();
        let e = j.find(Kind::Cluster, "a.b").unwrap();
        assert!(!e.made_here() && e.authorless());
    }

    #[tokio::test]
    async fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "a.b", "us-east-1").unwrap();
        j.record(Kind::Bucket, "b", None, State::Created).await.unwrap();
        let mode = fs::metadata(j.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
