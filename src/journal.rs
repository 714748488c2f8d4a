//! The journal: per cluster, what the wizard is about to create (intent), what it created,
//! what it found already there, and what it deleted. Written atomically before and after each
//! change, so a rerun continues where a run stopped and teardown deletes only the wizard's own.
//! It never holds a secret: access keys are recorded by their id.

use std::fs;
use std::path::{Path, PathBuf};

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
        !matches!(
            self,
            Kind::BucketVersioning
                | Kind::BucketEncryption
                | Kind::BucketPublicAccessBlock
                | Kind::ClusterDeployed
        )
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

    pub fn describe(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{} {} ({detail})", self.kind.label(), self.id),
            None => format!("{} {}", self.kind.label(), self.id),
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
    /// The cluster as `kops create cluster` made it, to tell a changed answer from a rerun.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_settings: Option<ClusterSettings>,
    /// The latest teardown: when it started and how it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<TeardownRecord>,
    #[serde(skip)]
    path: PathBuf,
    /// A dry run reads and plans but never writes the journal.
    #[serde(skip)]
    read_only: bool,
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
            cluster_settings: None,
            teardown: None,
            path: PathBuf::new(),
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
    pub fn record(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        state: State,
    ) -> Result<(), JournalError> {
        self.record_with(kind, id, detail, state, None)
    }

    /// [`Journal::record`] with the access keys that existed before an access-key intent.
    pub fn record_with(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        state: State,
        known_keys: Option<Vec<String>>,
    ) -> Result<(), JournalError> {
        if cfg!(debug_assertions) {
            crate::test_hooks::kill_point(&format!("{}:{}", serde_name(&state), serde_name(&kind)));
        }
        let entry = Entry {
            kind,
            id: id.into(),
            detail: detail.map(str::to_string),
            state,
            at: now(),
            known_keys,
            fingerprint: None,
        };
        match self
            .entries
            .iter_mut()
            .find(|e| e.kind == kind && e.id == id && e.detail.as_deref() == detail)
        {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
        self.save()
    }

    /// Records an SSH key pair the wizard generated, with its fingerprint, and saves.
    pub fn record_ssh_key(&mut self, id: &str, fingerprint: &str) -> Result<(), JournalError> {
        self.record(Kind::SshKey, id, None, State::Created)?;
        if let Some(e) = self.entries.iter_mut().find(|e| e.kind == Kind::SshKey && e.id == id) {
            e.fingerprint = Some(fingerprint.to_string());
        }
        self.save()
    }

    /// Drops entries (e.g. an access-key intent once the key's own entry exists) and saves.
    pub fn forget(&mut self, keep: impl Fn(&Entry) -> bool) -> Result<(), JournalError> {
        self.entries.retain(keep);
        self.save()
    }

    pub fn set_last_validation(&mut self, result: LastValidation) -> Result<(), JournalError> {
        self.last_validation = Some(result);
        self.save()
    }

    pub fn set_state_store(&mut self, url: &str) -> Result<(), JournalError> {
        self.state_store = Some(url.into());
        self.save()
    }

    pub fn set_cluster_settings(&mut self, settings: ClusterSettings) -> Result<(), JournalError> {
        self.cluster_settings = Some(settings);
        self.save()
    }

    pub fn set_teardown(&mut self, record: TeardownRecord) -> Result<(), JournalError> {
        self.teardown = Some(record);
        self.save()
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

    pub fn save(&self) -> Result<(), JournalError> {
        if self.read_only {
            return Ok(());
        }
        let write = |error| JournalError::Write { path: self.path.clone(), error };
        if let Some(dir) = self.path.parent() {
            fsutil::private_dir(dir).map_err(write)?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| write(std::io::Error::other(e.to_string())))?;
        fsutil::write_atomic(&self.path, text.as_bytes()).map_err(write)
    }
}

/// The name serde gives a unit variant (`access-key`, `created`), as the journal file spells it.
fn serde_name(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reload_and_replace_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "dev.example.com", "us-east-1").unwrap();
        assert!(!j.path().exists(), "a new journal is not written before the first record");
        j.record(Kind::IamGroup, "kops", None, State::Intent).unwrap();
        j.record(Kind::IamGroup, "kops", None, State::Created).unwrap();
        j.record(Kind::IamPolicyAttachment, "kops", Some("arn:a"), State::Created).unwrap();
        j.record(Kind::IamPolicyAttachment, "kops", Some("arn:b"), State::Found).unwrap();
        j.set_state_store("s3://b").unwrap();

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

    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), "a.b", "us-east-1").unwrap();
        j.record(Kind::Bucket, "b", None, State::Created).unwrap();
        let mode = fs::metadata(j.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
