//! The team's record in the state store: each cluster's journal is an object in the state
//! bucket, `kops-wizard/<cluster>.journal.json`, that every machine of the team reads and
//! writes, and the local journal file is a copy of it (for `status` when AWS cannot be
//! reached, and for the part of a setup that runs before the bucket exists).
//!
//! Writes are S3 conditional writes: a new record is created with `If-None-Match: *`, an
//! existing one replaced with `If-Match: <etag>` of the version last read, so two machines
//! can never both win; the loser hears 412 (or 409 when both were in flight) and re-reads.
//!
//! The layout keeps out of kops's way: nothing under `<cluster>/` (kops delete refuses unknown
//! files there) and no key ending in `/config` (kops reads it as a cluster).

use std::path::Path;
use std::sync::Arc;

use super::lease::Fence;
use super::objects::{PREFIX, Written, bucket_of, record_key};
use crate::engine::aws::clients::Clients;
use crate::engine::aws::error::AwsError;
use crate::journal::{Author, BoxFuture, Journal, JournalError, RecordStore, State, StoreError};

/// The record of one cluster in one bucket, as the journal's store: every write fenced by the
/// run's lease on the team's lock.
struct S3Record {
    clients: Clients,
    bucket: String,
    key: String,
    fence: Option<Fence>,
}

impl RecordStore for S3Record {
    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn put(
        &self,
        body: Vec<u8>,
        etag: Option<String>,
    ) -> BoxFuture<'_, Result<String, StoreError>> {
        Box::pin(async move {
            if let Some(fence) = &self.fence {
                fence.check().await.map_err(|e| StoreError::Fenced(e.to_string()))?;
            }
            match self.clients.put_conditional(&self.bucket, &self.key, body, etag.as_deref()).await
            {
                Ok(Written::Ok(etag)) => Ok(etag),
                Ok(Written::Lost) => Err(StoreError::Conflict),
                Err(e) => Err(StoreError::Other(e.to_string())),
            }
        })
    }

    fn get(&self) -> BoxFuture<'_, Result<Option<(String, String)>, StoreError>> {
        Box::pin(async move {
            match self.clients.get_versioned(&self.bucket, &self.key).await {
                Ok(found) => Ok(found.map(|v| (v.body, v.etag))),
                Err(e) => Err(StoreError::Other(e.to_string())),
            }
        })
    }

    fn holder(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            match super::lease::current(&self.clients, &self.bucket).await {
                Ok(Some((holder, _))) => Some(format!("held by {}", holder.describe())),
                Ok(None) => Some("not held by anyone".into()),
                Err(_) => None,
            }
        })
    }
}

/// The most a record may weigh: it is read whole, and anyone who can write the bucket can
/// write it.
const MAX_RECORD_BYTES: usize = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(
        "the record {url} is not a kops-wizard record that this version can read ({why}); it is \
         reported, never obeyed: nothing was changed. Look at it (aws s3 cp {url} -) and move \
         it aside if it is damaged"
    )]
    Unreadable { url: String, why: String },
    #[error("the record {url} names cluster {found:?}, not {cluster:?}; nothing was changed")]
    OtherCluster { url: String, cluster: String, found: String },
    #[error(
        "the record {url} kept changing while this run tried to join it; nothing was changed. \
         Run the command again"
    )]
    Busy { url: String },
}

/// The stored record of `cluster` in `bucket`, with its ETag; `None` when there is none.
pub async fn load(
    c: &Clients,
    bucket: &str,
    cluster: &str,
) -> Result<Option<(Journal, String)>, RecordError> {
    let key = record_key(cluster);
    let url = format!("s3://{bucket}/{key}");
    let Some(found) = c.get_versioned(bucket, &key).await? else { return Ok(None) };
    let unreadable = |why: String| RecordError::Unreadable { url: url.clone(), why };
    if found.body.len() > MAX_RECORD_BYTES {
        return Err(unreadable(format!(
            "it is {} bytes, more than a record of the wizard's ever is ({MAX_RECORD_BYTES})",
            found.body.len()
        )));
    }
    let journal =
        Journal::parse_stored(&found.body, &url).map_err(|e| unreadable(e.to_string()))?;
    if journal.cluster != cluster {
        return Err(RecordError::OtherCluster {
            url,
            cluster: crate::text::one_line(cluster),
            found: crate::text::one_line(&journal.cluster),
        });
    }
    // The record of a cluster whose state is in this bucket names this bucket as its state
    // store, or nothing yet; any other bucket would widen what its teardown touches.
    if let Some(store) = &journal.state_store
        && bucket_of(store).as_deref() != Some(bucket)
    {
        return Err(unreadable(format!(
            "it names the state store {}, not the bucket it is in (s3://{bucket})",
            crate::text::one_line(store)
        )));
    }
    Ok(Some((journal, found.etag)))
}

/// Every record in the bucket but `except`'s: what the other clusters of the state store say
/// they use. A record that cannot be read is returned as its cluster's name and why: what it
/// uses is then unknown.
pub async fn others_in_bucket(
    c: &Clients,
    bucket: &str,
    except: &str,
) -> Result<Vec<Result<Journal, (String, String)>>, AwsError> {
    let mut out = Vec::new();
    for key in c.list_keys(bucket, PREFIX).await? {
        let Some(cluster) = key.strip_prefix(PREFIX).and_then(|k| k.strip_suffix(".journal.json"))
        else {
            continue;
        };
        if cluster == except {
            continue;
        }
        match load(c, bucket, cluster).await {
            Ok(Some((journal, _))) => out.push(Ok(journal)),
            Ok(None) => {}
            Err(RecordError::Aws(e)) => return Err(e),
            Err(e) => out.push(Err((cluster.to_string(), e.to_string()))),
        }
    }
    Ok(out)
}

/// Moves the journal into the state bucket, or joins it with the one there: from here on
/// every save writes the stored record (conditionally) and then the local copy.
///
/// - No stored record: this machine's journal becomes it (created with `If-None-Match`).
/// - The local copy follows the stored version and holds a change that never reached it
///   (the run stopped between the two writes): the change is sent now.
/// - Otherwise the stored record wins: entries this machine recorded before the bucket
///   existed (the IAM part of a setup) are added to it where it does not name them.
pub async fn attach(
    c: &Clients,
    bucket: &str,
    journal: &mut Journal,
    fence: Option<Fence>,
) -> Result<(), RecordError> {
    let cluster = journal.cluster.clone();
    let store: Arc<dyn RecordStore> = Arc::new(S3Record {
        clients: c.clone(),
        bucket: bucket.into(),
        key: record_key(&cluster),
        fence,
    });
    let url = store.url();
    // A lost race re-reads and tries again; the lock makes more than one retry unlikely.
    for _ in 0..5 {
        let stored = load(c, bucket, &cluster).await?;
        let local = journal.clone();
        let (etag, changed) = match stored {
            None => (None, true),
            Some((remote, etag)) => {
                let follows = local
                    .copy_of
                    .as_ref()
                    .is_some_and(|copy| copy.url == url && copy.etag.as_deref() == Some(&etag));
                let pending = local.copy_of.as_ref().is_some_and(|copy| copy.pending);
                if follows && pending {
                    (Some(etag), true)
                } else if follows {
                    // This copy is the stored version: nothing to take, nothing to write.
                    journal.attach(store.clone(), Some(etag));
                    return Ok(());
                } else {
                    let merged = merge(remote.clone(), &local);
                    let mut stored = remote.clone();
                    stored.entries.retain(|e| !e.kind.is_local());
                    let changed = merged.entries != stored.entries
                        || merged.state_store != stored.state_store;
                    journal.adopt(merged);
                    (Some(etag), changed)
                }
            }
        };
        journal.attach(store.clone(), etag);
        if !changed {
            journal.write_local()?;
            return Ok(());
        }
        match journal.save().await {
            Ok(()) => return Ok(()),
            Err(JournalError::Conflict { .. }) => {
                // Start again from this machine's own entries, against the record as it is now.
                *journal = local;
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(RecordError::Busy { url })
}

/// The stored record, with what only this machine's copy names added; and where the record
/// says "found" (there before) of what this machine made (two machines racing to make the
/// bucket before the lock: the one that lost the race found it), this machine's word: it was
/// not there before. What teardown then deletes is still proved by its mark.
fn merge(mut remote: Journal, local: &Journal) -> Journal {
    for e in local.entries.iter().filter(|e| !e.kind.is_local()) {
        match remote.entries.iter_mut().find(|r| r.same_resource(e)) {
            None => remote.entries.push(e.clone()),
            Some(r)
                if r.state == State::Found
                    && e.made_here()
                    && matches!(e.state, State::Created | State::Intent) =>
            {
                *r = e.clone();
            }
            Some(_) => {}
        }
    }
    remote.state_store = remote.state_store.or_else(|| local.state_store.clone());
    remote
}

/// This machine's id: made once per state dir, so two state dirs on one host (two engineers,
/// or the tests' "machines") are two machines.
pub fn machine_id(state_dir: &Path) -> std::io::Result<String> {
    let path = state_dir.join("machine-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| std::io::Error::other("no randomness"))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    crate::fsutil::write_private_nofollow(&path, id.as_bytes())?;
    Ok(id)
}

/// The host's name, for "who" in the record and the lock.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Who this run is, for the record and the lock.
pub fn author(arn: &str, state_dir: &Path, kops: Option<String>) -> std::io::Result<Author> {
    Ok(Author {
        arn: arn.into(),
        host: host_name(),
        machine: machine_id(state_dir)?,
        wizard: env!("CARGO_PKG_VERSION").into(),
        kops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Kind, State};

    #[test]
    fn a_merge_keeps_the_stored_entries_and_adds_only_what_they_do_not_name() {
        let mut remote = Journal::detached("c.k8s.local", "us-east-1");
        remote.push(Kind::IamGroup, "kops", None, State::Created);
        remote.push(Kind::Bucket, "b", None, State::Created);
        let mut local = Journal::detached("c.k8s.local", "us-east-1");
        local.push(Kind::IamGroup, "kops", None, State::Found);
        local.push(Kind::IamUser, "kops-alice", None, State::Created);
        local.state_store = Some("s3://b".into());
        let merged = merge(remote, &local);
        let states: Vec<_> =
            merged.entries.iter().map(|e| (e.kind, e.id.as_str(), e.state)).collect();
        assert_eq!(
            states,
            vec![
                (Kind::IamGroup, "kops", State::Created),
                (Kind::Bucket, "b", State::Created),
                (Kind::IamUser, "kops-alice", State::Created),
            ]
        );
        assert_eq!(merged.state_store.as_deref(), Some("s3://b"));
    }

    #[test]
    fn a_bucket_this_machine_made_is_not_found_because_a_racing_machine_wrote_first() {
        let mut remote = Journal::detached("c.k8s.local", "us-east-1");
        remote.push(Kind::Bucket, "b", None, State::Found);
        remote.entries[0].here = false;
        let mut local = Journal::detached("c.k8s.local", "us-east-1");
        local.push(Kind::Bucket, "b", None, State::Created);
        let merged = merge(remote.clone(), &local);
        assert_eq!(merged.entries[0].state, State::Created);
        // Only this machine's own word: a copy's "created" that it did not make changes nothing.
        local.entries[0].here = false;
        assert_eq!(merge(remote, &local).entries[0].state, State::Found);
    }
}
