//! Who owns what, asked before teardown deletes anything. The journal says what this cluster's
//! setup made; that is necessary, not enough:
//! - another cluster may still use it (a team's one state bucket and one kops user): its
//!   journal on this machine, or its state in the bucket, says so; then it is kept, named;
//! - what carries a mark (group and user: the wizard's IAM path; user and bucket: its tag)
//!   must still carry it: a bucket deleted and recreated by someone else is theirs now;
//! - a user with access keys the wizard did not make is someone's, and so is a group with
//!   members the wizard did not add; keeping one keeps what depends on it.
//!
//! The last cluster to be torn down deletes what an earlier one kept for it ("released"),
//! even though its own setup found it there: a kops-wizard setup on this machine made it.

use std::collections::BTreeSet;

use super::aws::{AwsError, Clients};
use super::credentials::SharedFiles;
use super::iam::Presence;
use super::s3::BucketAccess;
use crate::journal::{Entry, Journal, Kind, State};
use crate::plan::{Holds, Resource};

/// A mark compares key and value: its value names the cluster whose setup made the
/// resource, and that must be a cluster whose record says the wizard made it. A mark copied
/// onto something else (or a record that claims another cluster's resource) is not proof.
fn foreign_mark(
    value: Option<String>,
    e: &Entry,
    journal: &Journal,
    others: &[Journal],
) -> Option<String> {
    let value = value?;
    let owners: Vec<&str> = std::iter::once(journal)
        .chain(others.iter())
        .filter(|j| j.entries.iter().any(|x| x.same_resource(e) && x.by_wizard()))
        .map(|j| j.cluster.as_str())
        .collect();
    (!owners.contains(&value.as_str())).then(|| {
        format!(
            "its mark names cluster {value:?}, and no record of the wizard's says that cluster's \
             setup made it; not deleted"
        )
    })
}

/// Whether the cluster in the state store carries the admin SSH key with `fingerprint`: the
/// proof that a cluster found after an unfinished `kops create cluster` is that create's, and
/// not a cluster someone made by hand under the same name since. No fingerprint, no proof.
pub async fn cluster_has_key(
    c: &Clients,
    bucket: &str,
    cluster: &str,
    fingerprint: Option<&str>,
) -> Result<bool, AwsError> {
    let Some(fingerprint) = fingerprint else { return Ok(false) };
    if !c.object_exists(bucket, &format!("{cluster}/config")).await? {
        return Ok(false);
    }
    for key in c.list_keys(bucket, &format!("{cluster}/pki/ssh/public/admin/")).await? {
        if let Some(found) = c.get_versioned(bucket, &key).await?
            && super::ssh::fingerprint_of(&found.body).as_deref() == Some(fingerprint)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every object in the bucket that is neither under the cluster's `<name>/` nor one of the
/// wizard's own (its records and its lock), at any depth: another team's backups, another
/// cluster's state, anything someone put there. Any of them keeps the bucket.
pub async fn foreign_objects(
    c: &Clients,
    bucket: &str,
    cluster: &str,
) -> Result<Vec<String>, AwsError> {
    let prefix = format!("{cluster}/");
    Ok(c.list_keys(bucket, "")
        .await?
        .into_iter()
        .filter(|k| !k.starts_with(&prefix) && !super::record::is_wizard_key(k))
        .collect())
}

/// "3 objects (backups/db.sql, team-b/prod/config, x)".
pub fn describe_foreign(keys: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<&str> = keys.iter().take(SHOWN).map(String::as_str).collect();
    if keys.len() > SHOWN {
        shown.push("…");
    }
    let noun = if keys.len() == 1 { "object" } else { "objects" };
    format!("{} {noun} ({})", keys.len(), shown.join(", "))
}

/// Decides what teardown keeps. Reads AWS and the journals; changes nothing.
pub async fn holds(
    c: &Clients,
    files: &SharedFiles,
    journal: &Journal,
    others: &[Journal],
) -> Result<Holds, OwnershipError> {
    let mut holds = from_journals(journal, others);
    let candidates: Vec<&Entry> =
        journal.entries.iter().filter(|e| e.kind.torn_down() && e.in_use()).collect();

    let deletable = |holds: &Holds, e: &Entry| holds.deletable(e);

    // 3. The marks, and another cluster's state in the bucket.
    for e in &candidates {
        if !deletable(&holds, e) {
            continue;
        }
        match e.kind {
            Kind::Bucket => match c.bucket_access(&e.id).await? {
                BucketAccess::Yours => {
                    let mut clusters = c.clusters_in_bucket(&e.id).await?;
                    clusters.retain(|n| *n != journal.cluster);
                    let foreign = foreign_objects(c, &e.id, &journal.cluster).await?;
                    let name = &journal.cluster;
                    let cluster_ours = journal
                        .entries
                        .iter()
                        .any(|x| x.kind == Kind::Cluster && x.id == *name && deletable(&holds, x));
                    if !clusters.is_empty() {
                        holds.keep(
                            e,
                            format!("it also holds the state of cluster {}", clusters.join(", ")),
                        );
                    } else if !cluster_ours
                        && c.object_exists(&e.id, &format!("{name}/config")).await?
                    {
                        holds.keep(
                            e,
                            format!(
                                "it holds the state of a cluster named {name} that is not known \
                                 to be the wizard's (made by hand, or by a create the wizard \
                                 cannot prove was its own)"
                            ),
                        );
                    } else if !c.bucket_marked(&e.id).await? {
                        // Empty or not: without the mark it is not known to be the wizard's.
                        holds.keep(e, NO_MARK);
                    } else if let Some(why) =
                        foreign_mark(c.bucket_mark(&e.id).await?, e, journal, others)
                    {
                        holds.keep(e, why);
                    } else if !foreign.is_empty() {
                        holds.keep(
                            e,
                            format!(
                                "it also holds {} that the wizard did not write",
                                describe_foreign(&foreign)
                            ),
                        );
                    }
                }
                BucketAccess::Taken | BucketAccess::ElsewhereRegion => {
                    holds.keep(e, "the name now belongs to a bucket the wizard cannot use");
                }
                BucketAccess::Free => {}
            },
            Kind::IamUser => match c.user_presence(&e.id).await? {
                Presence::Unmarked => holds.keep(e, NO_MARK),
                Presence::Marked => {
                    if let Some(why) = foreign_mark(c.user_mark(&e.id).await?, e, journal, others) {
                        holds.keep(e, why);
                    }
                }
                Presence::Absent => {}
            },
            Kind::IamGroup if c.group_presence(&e.id).await? == Presence::Unmarked => {
                holds.keep(e, NO_MARK);
            }
            // An attachment or a membership carries no mark of its own: the record's word
            // (which anyone who can write the bucket can change) is not enough. Either this
            // machine recorded it itself, or the group it is on (or the user, for a
            // membership) carries the wizard's mark.
            Kind::IamPolicyAttachment
                if !e.here && c.group_presence(&e.id).await? == Presence::Unmarked =>
            {
                holds.keep(e, format!("group {} does not carry kops-wizard's mark", e.id));
            }
            // A key is deleted by the id the record names; a key of a user the wizard did
            // not make is someone's own unless this machine recorded making it.
            Kind::AccessKey
                if !e.here
                    && e.detail.is_some()
                    && c.user_presence(&e.id).await? == Presence::Unmarked =>
            {
                holds.keep(
                    e,
                    format!(
                        "user {} does not carry kops-wizard's mark and this machine did not \
                         record making the key",
                        e.id
                    ),
                );
            }
            Kind::IamGroupMembership if !e.here => {
                let group = e.detail.as_deref().unwrap_or_default();
                let marked = c.user_presence(&e.id).await? == Presence::Marked
                    || c.group_presence(group).await? == Presence::Marked;
                if !marked && c.user_exists(&e.id).await? {
                    holds.keep(
                        e,
                        format!(
                            "neither user {} nor group {group} carries kops-wizard's mark",
                            e.id
                        ),
                    );
                }
            }
            Kind::Profile => {
                let ours: BTreeSet<&str> = journal
                    .entries
                    .iter()
                    .filter(|k| k.kind == Kind::AccessKey)
                    .filter_map(|k| k.detail.as_deref())
                    .collect();
                match files.read_key(&e.id)? {
                    Some(key) if !ours.contains(key.id.as_str()) => holds.keep(
                        e,
                        format!("it now holds access key {}, not the one the wizard saved", key.id),
                    ),
                    None if files.profiles()?.contains(&e.id) => {
                        holds.keep(e, "it no longer holds the access key the wizard saved")
                    }
                    _ => {}
                }
            }
            // No mark of their own, or their guard above did not hold: nothing to keep here.
            Kind::IamGroup
            | Kind::IamPolicyAttachment
            | Kind::AccessKey
            | Kind::IamGroupMembership
            | Kind::BucketVersioning
            | Kind::BucketEncryption
            | Kind::BucketPublicAccessBlock
            | Kind::SshKey
            | Kind::Cluster
            | Kind::ClusterDeployed => {}
        }
    }

    // 4. What depends on what: a user with keys of others, a group with other members.
    let journal_keys: BTreeSet<(String, String)> = candidates
        .iter()
        .filter(|e| e.kind == Kind::AccessKey && deletable(&holds, e))
        .filter_map(|e| Some((e.id.clone(), e.detail.clone()?)))
        .collect();
    for e in &candidates {
        if e.kind != Kind::IamUser || !deletable(&holds, e) || !c.user_exists(&e.id).await? {
            continue;
        }
        let foreign: Vec<String> = c
            .access_keys(&e.id)
            .await?
            .into_iter()
            .map(|k| k.id)
            .filter(|id| !journal_keys.contains(&(e.id.clone(), id.clone())))
            .collect();
        if !foreign.is_empty() {
            holds.keep(
                e,
                format!(
                    "it has access key {} that this teardown does not delete (not made by this \
                     cluster's setup, or still used)",
                    foreign.join(", ")
                ),
            );
        }
    }
    // A kept user stays in its groups; a group with a member that stays, stays; a group that
    // stays keeps its policies. Repeated until nothing changes, as each hold can cause another.
    loop {
        let before = holds.keep.len();
        for e in &candidates {
            if !deletable(&holds, e) {
                continue;
            }
            match e.kind {
                Kind::IamGroupMembership => {
                    // Held, not merely found: a user that was there before setup loses the
                    // membership setup gave it.
                    let user_kept = candidates.iter().any(|u| {
                        u.kind == Kind::IamUser && u.id == e.id && holds.reason(u).is_some()
                    });
                    if user_kept {
                        holds.keep(e, format!("user {} is kept", e.id));
                    }
                }
                Kind::IamGroup => {
                    let leaving: BTreeSet<&str> = candidates
                        .iter()
                        .filter(|m| {
                            (m.kind == Kind::IamGroupMembership
                                && m.detail.as_deref() == Some(e.id.as_str())
                                && deletable(&holds, m))
                                || (m.kind == Kind::IamUser && deletable(&holds, m))
                        })
                        .map(|m| m.id.as_str())
                        .collect();
                    let staying: Vec<String> = c
                        .group_members(&e.id)
                        .await?
                        .into_iter()
                        .filter(|m| !leaving.contains(m.as_str()))
                        .collect();
                    if !staying.is_empty() {
                        holds.keep(e, format!("user {} is still a member", staying.join(", ")));
                    }
                }
                Kind::IamPolicyAttachment => {
                    let group_kept = candidates.iter().any(|g| {
                        g.kind == Kind::IamGroup && g.id == e.id && holds.reason(g).is_some()
                    });
                    if group_kept {
                        holds.keep(e, format!("group {} is kept", e.id));
                    }
                }
                // Nothing else depends on another entry's hold.
                Kind::IamUser
                | Kind::AccessKey
                | Kind::Profile
                | Kind::Bucket
                | Kind::BucketVersioning
                | Kind::BucketEncryption
                | Kind::BucketPublicAccessBlock
                | Kind::SshKey
                | Kind::Cluster
                | Kind::ClusterDeployed => {}
            }
        }
        if holds.keep.len() == before {
            break;
        }
    }
    Ok(holds)
}

/// What the journals of this machine alone decide (the plan command asks no AWS): kept
/// because another cluster uses it, or inherited from a cluster since torn down.
pub fn from_journals(journal: &Journal, others: &[Journal]) -> Holds {
    let mut holds = Holds::default();
    let candidates = journal
        .entries
        .iter()
        .filter(|e| e.kind.torn_down() && e.in_use() && e.kind != Kind::Cluster);
    // 1. Still used by another cluster of this machine.
    for e in candidates.clone() {
        let users: Vec<&str> = others
            .iter()
            .filter(|o| o.entries.iter().any(|x| x.same_resource(e) && x.in_use()))
            .map(|o| o.cluster.as_str())
            .collect();
        if !users.is_empty() {
            holds.keep(e, format!("still used by cluster {}", users.join(", ")));
        }
    }
    // 2. Found by this setup, released by the cluster whose setup made it: inherited.
    for e in candidates.filter(|e| e.state == State::Found) {
        if holds.reason(e).is_some() {
            continue;
        }
        let released = others
            .iter()
            .any(|o| o.entries.iter().any(|x| x.same_resource(e) && x.state == State::Released));
        if released {
            holds.inherit.push(Resource::of(e));
        }
    }
    holds
}

const NO_MARK: &str = "it no longer carries kops-wizard's mark, so someone else made it after the \
                       wizard's setup; not deleted";

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Credentials(#[from] super::credentials::CredentialsError),
}

/// Whether each resource a journal names as in use (or deleted, or released) is in AWS now,
/// for `status`: read-only. Entries with nothing to look up on their own are left out.
pub async fn look_up(
    c: &Clients,
    files: &SharedFiles,
    journal: &Journal,
) -> Result<Vec<(Resource, bool)>, OwnershipError> {
    let mut found = Vec::new();
    for e in journal.entries.iter().filter(|e| e.state != State::Failed) {
        let r = Resource::of(e);
        if let Some(exists) = super::kinds::exists_now(c, files, journal, &r).await? {
            found.push((r, exists));
        }
    }
    Ok(found)
}
