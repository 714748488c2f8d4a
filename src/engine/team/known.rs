//! The clusters there is something to tear down of: what `teardown --yes` acts on when no
//! answers file names a cluster. This machine's journals, and with `KOPS_STATE_STORE` the
//! records in that state store (a teardown from a machine that never ran setup).

use std::path::Path;

use crate::engine::aws::clients::Clients;
use crate::engine::aws::error::AwsError;
use crate::engine::store::objects::{PREFIX, bucket_of};
use crate::engine::store::record;
use crate::journal::{Journal, JournalError};

/// A cluster with something of the wizard's still in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub cluster: String,
    pub region: String,
    /// `s3://bucket`, once setup made (or found) the state store.
    pub state_store: Option<String>,
}

impl Known {
    fn of(j: &Journal) -> Known {
        Known {
            cluster: j.cluster.clone(),
            region: j.region.clone(),
            state_store: j.state_store.clone(),
        }
    }

    /// `name (region, s3://bucket)`, for the list a choice is asked from.
    pub fn describe(&self) -> String {
        match &self.state_store {
            Some(store) => format!("{} ({}, {store})", self.cluster, self.region),
            None => format!("{} ({})", self.cluster, self.region),
        }
    }
}

/// Whether a journal still holds something: made by the wizard and not deleted, or found and
/// used (another cluster's bucket, say, which its teardown lets go of). A journal whose
/// teardown finished holds nothing and is nothing to act on.
pub fn still_up(j: &Journal) -> bool {
    j.entries.iter().any(|e| e.in_use())
}

#[derive(Debug, thiserror::Error)]
pub enum KnownError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot list the clusters in {store}: {source}")]
    Store { store: String, source: AwsError },
    #[error("cannot read a record in {store}: {source}")]
    Record { store: String, source: record::RecordError },
}

/// This machine's clusters with something still up, keeping only those of `store`'s bucket
/// when one is given. The state store's records are not read: [`in_store`] does that.
pub fn on_this_machine(state_dir: &Path, store: Option<&str>) -> Result<Vec<Known>, JournalError> {
    let bucket = store.and_then(bucket_of);
    Ok(Journal::list(state_dir)?
        .iter()
        .filter(|j| still_up(j))
        .filter(|j| bucket.is_none() || j.state_store.as_deref().and_then(bucket_of) == bucket)
        .map(Known::of)
        .collect())
}

/// The clusters whose record in `store` (`s3://bucket`) still names something up, read with
/// the admin credentials, read-only.
pub async fn in_store(c: &Clients, store: &str) -> Result<Vec<Known>, KnownError> {
    let Some(bucket) = bucket_of(store) else { return Ok(Vec::new()) };
    let keys = c
        .list_keys(&bucket, PREFIX)
        .await
        .map_err(|source| KnownError::Store { store: store.into(), source })?;
    let mut out = Vec::new();
    for key in keys {
        let Some(cluster) = key.strip_prefix(PREFIX).and_then(|k| k.strip_suffix(".journal.json"))
        else {
            continue;
        };
        match record::load(c, &bucket, cluster).await {
            Ok(Some((journal, _))) if still_up(&journal) => out.push(Known::of(&journal)),
            Ok(_) => {}
            Err(source) => return Err(KnownError::Record { store: store.into(), source }),
        }
    }
    Ok(out)
}

/// Both lists as one, by cluster name (the store's record wins: it is the team's).
pub fn merged(mut store: Vec<Known>, local: Vec<Known>) -> Vec<Known> {
    for k in local {
        if !store.iter().any(|s| s.cluster == k.cluster) {
            store.push(k);
        }
    }
    store.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    store
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Kind, State};

    #[test]
    fn only_journals_that_still_hold_something_are_known() {
        let mut up = Journal::detached("a.k8s.local", "us-east-1");
        up.push(Kind::IamGroup, "kops", None, State::Created);
        let mut gone = Journal::detached("b.k8s.local", "us-east-1");
        gone.push(Kind::IamGroup, "kops", None, State::Deleted);
        let mut found = Journal::detached("c.k8s.local", "us-east-1");
        found.push(Kind::Bucket, "shared", None, State::Found);
        assert!(still_up(&up));
        assert!(!still_up(&gone), "a finished teardown leaves nothing to act on");
        assert!(still_up(&found), "a cluster that uses another's bucket lets go of it");
    }

    #[test]
    fn the_stores_record_wins_and_the_list_is_by_name() {
        let k = |c: &str, r: &str| Known { cluster: c.into(), region: r.into(), state_store: None };
        let all =
            merged(vec![k("b", "eu-west-1")], vec![k("c", "x"), k("b", "us-east-1"), k("a", "y")]);
        let names: Vec<_> = all.iter().map(|k| (k.cluster.as_str(), k.region.as_str())).collect();
        assert_eq!(names, [("a", "y"), ("b", "eu-west-1"), ("c", "x")]);
    }
}
