//! Who owns what, asked before teardown deletes anything.
//!
//! The record says what this cluster's setup made; it is untrusted input (anyone who can write
//! the state bucket can write it), so it can narrow what teardown deletes, never widen it:
//! - **a proof on the resource itself**: every user, group, bucket, access key, membership and
//!   policy attachment teardown deletes carries a mark naming this cluster, key and value,
//!   that only a principal with IAM (or S3 tagging) rights can set: a user's path and tag, a
//!   group's path, the bucket's tag, a key or a membership of a user so marked, an attachment
//!   to a group so marked of one of the policies the wizard attaches. The cluster itself: its
//!   Auto Scaling groups carry the wizard's cloud label. What this machine made, as its own
//!   copy of the record says (never the bucket's word), is proof too. A record entry that
//!   cannot prove itself is **refused**: kept, named, and the teardown exits 1;
//! - **another cluster may still use it** (a team's one state bucket and one kops user): any
//!   record in the bucket, any journal on this machine, or a cluster in the bucket whose
//!   record cannot be read, says so; then it is kept, named;
//! - **dependencies**: a user with access keys the wizard did not make is someone's, and so is
//!   a group with members or policies the wizard did not add; keeping one keeps what depends
//!   on it.
//!
//! The last cluster to be torn down deletes what an earlier one kept for it ("released"),
//! even though its own setup found it there: the mark names that earlier cluster, whose
//! record says it released it and whose state is gone from the bucket.

use std::collections::BTreeSet;

use ssh_key::{HashAlg, PublicKey};

use super::kinds::LookupError;
use crate::engine::aws::clients::Clients;
use crate::engine::aws::cloud::{Cloud, CloudMark};
use crate::engine::aws::credentials::SharedFiles;
use crate::engine::aws::error::AwsError;
use crate::engine::aws::iam::Mark;
use crate::engine::store::bucket::BucketAccess;
use crate::engine::store::objects::{bucket_of, is_wizard_key};
use crate::engine::store::record;
use crate::journal::{Entry, Journal, Kind, State};
use crate::plan::{Holds, Resource};

/// Whether the cluster in the state store carries the admin SSH key with `fingerprint`: the
/// proof that a cluster found after this machine's unfinished `kops create cluster` is that
/// create's, and not a cluster someone made by hand under the same name since. No
/// fingerprint, no proof. (A fingerprint in the bucket's record proves nothing: anyone who can
/// write the bucket can copy the cluster's key's fingerprint there. Only this machine's own
/// intent is settled this way.)
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
            && fingerprint_of(&found.body).as_deref() == Some(fingerprint)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `SHA256:…` fingerprint of a one-line OpenSSH public key (as kops stores the cluster's
/// admin key), or `None` when it is not one. Here, not with the SSH key step (`cluster::ssh`),
/// because this proof is ownership's and the cluster room sits above this one.
fn fingerprint_of(openssh: &str) -> Option<String> {
    PublicKey::from_openssh(openssh.trim()).ok().map(|k| k.fingerprint(HashAlg::Sha256).to_string())
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
        .filter(|k| !k.starts_with(&prefix) && !is_wizard_key(k))
        .collect())
}

/// "3 objects (backups/db.sql, team-b/prod/config, x)".
pub fn describe_foreign(keys: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> =
        keys.iter().take(SHOWN).map(|k| crate::text::one_line(k)).collect();
    if keys.len() > SHOWN {
        shown.push("…".into());
    }
    let noun = if keys.len() == 1 { "object" } else { "objects" };
    format!("{} {noun} ({})", keys.len(), shown.join(", "))
}

/// What the other clusters say they use, beyond this cluster's record: this machine's journals
/// of other clusters, the records of the other clusters in the state bucket, and the clusters
/// in the bucket whose record is missing or cannot be read (what they use is unknown).
#[derive(Debug, Default)]
pub struct Others {
    pub journals: Vec<Journal>,
    /// `(cluster, why)`: in the bucket, with no record the wizard can read.
    pub unknown: Vec<(String, String)>,
    /// The clusters whose state is in the bucket now (`<name>/config`).
    pub in_bucket: Vec<String>,
}

impl Others {
    /// Reads them: the local journals, and, when the state bucket is there and yours, every
    /// record and cluster in it. Read-only.
    pub async fn read(c: &Clients, journal: &Journal) -> Result<Others, OwnershipError> {
        let mut others = Others { journals: journal.others()?, ..Others::default() };
        let Some(bucket) = journal.state_store.as_deref().and_then(bucket_of) else {
            return Ok(others);
        };
        if c.bucket_access(&bucket).await? != BucketAccess::Yours {
            return Ok(others);
        }
        let mut recorded = BTreeSet::new();
        for found in record::others_in_bucket(c, &bucket, &journal.cluster).await? {
            match found {
                Ok(mut j) => {
                    recorded.insert(j.cluster.clone());
                    // The bucket's record is the team's: it stands for this machine's copy,
                    // but for this machine's own files (a profile, an SSH key), which only
                    // the copy names.
                    if let Some(at) = others.journals.iter().position(|l| l.cluster == j.cluster) {
                        let local = others.journals.remove(at);
                        j.entries.extend(local.entries.into_iter().filter(|e| e.kind.is_local()));
                    }
                    others.journals.push(j);
                }
                Err((cluster, why)) => {
                    recorded.insert(cluster.clone());
                    others.unknown.push((cluster, why));
                }
            }
        }
        others.in_bucket = c.clusters_in_bucket(&bucket).await?;
        for cluster in &others.in_bucket {
            if *cluster != journal.cluster && !recorded.contains(cluster) {
                others.unknown.push((cluster.clone(), "it has no record of kops-wizard's".into()));
            }
        }
        Ok(others)
    }
}

/// The clusters whose mark proves an entry this cluster's: this cluster for what its setup
/// made; for what it found and inherited, the cluster that made it and released it (gone from
/// the bucket since).
fn owners(e: &Entry, journal: &Journal, others: &Others, holds: &Holds) -> Vec<String> {
    match e.state {
        State::Created | State::Intent => vec![journal.cluster.clone()],
        State::Found if holds.inherited(e) => others
            .journals
            .iter()
            .filter(|o| !others.in_bucket.contains(&o.cluster))
            .filter(|o| o.entries.iter().any(|x| x.same_resource(e) && x.state == State::Released))
            .map(|o| o.cluster.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a mark names one of `owners`.
fn names_one(mark: &Mark, owners: &[String]) -> bool {
    owners.iter().any(|o| mark.names(o))
}

/// The policies the wizard attaches: the answers' and kops's seven. An attachment of any other
/// policy is not the wizard's to detach, whatever the record says.
pub fn wizard_policies(a: &crate::answers::Answers) -> BTreeSet<String> {
    let defaults = crate::answers::Answers::default().iam.policies;
    defaults.into_iter().chain(a.iam.policies.iter().cloned()).collect()
}

/// Decides what teardown keeps and refuses. Reads AWS and the records; changes nothing.
pub async fn holds(
    c: &Clients,
    files: &SharedFiles,
    journal: &Journal,
    others: &Others,
    policies: &BTreeSet<String>,
) -> Result<Holds, OwnershipError> {
    let mut holds = from_journals(journal, &others.journals);
    let mut candidates: Vec<&Entry> =
        journal.entries.iter().filter(|e| e.kind.torn_down() && e.in_use()).collect();
    // The cluster first: whether the bucket may go depends on whether its cluster is ours.
    candidates.sort_by_key(|e| e.kind != Kind::Cluster);

    // Clusters in the bucket whose record cannot be read may use the team's IAM.
    if let Some((cluster, why)) = others.unknown.first() {
        let names: Vec<&str> = others.unknown.iter().map(|(c, _)| c.as_str()).collect();
        for e in candidates.iter().filter(|e| is_shared_iam(e.kind)) {
            holds.keep(
                e,
                format!(
                    "cluster {} is in the same state store and {}, so what it uses is not \
                     known{}",
                    crate::text::one_line(cluster),
                    crate::text::one_line(why),
                    match names.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    }
                ),
            );
        }
    }

    for e in &candidates {
        if !holds.deletable(e) {
            continue;
        }
        let owners = owners(e, journal, others, &holds);
        let owner_words = || match owners.as_slice() {
            [one] => format!("cluster {}", crate::text::one_line(one)),
            _ => "the cluster that made it".into(),
        };
        // This machine's own copy says it made it, and the mark is gone: someone else made a
        // thing of that name since (kept, as before). The team's record says so, and the
        // resource cannot prove it: refused.
        let no_proof = |mark: &Mark| match (e.made_here(), mark) {
            (true, Mark::None) => NO_MARK.to_string(),
            (true, _) => format!("{}, not {}; not deleted", mark.describe(), owner_words()),
            (false, _) => format!(
                "{}, not {}: the record's word alone proves nothing, so it is not deleted",
                mark.describe(),
                owner_words()
            ),
        };
        match e.kind {
            Kind::Cluster => {
                if let Some(why) = cluster_refusal(c, journal, e).await? {
                    holds.refuse(e, why);
                }
            }
            Kind::Bucket => bucket_holds(c, journal, others, &owners, e, &mut holds).await?,
            Kind::IamUser => {
                let mark = c.user_mark(&e.id).await?;
                if mark != Mark::Absent && !names_one(&mark, &owners) {
                    unproved(&mut holds, e, no_proof(&mark));
                }
            }
            Kind::IamGroup => {
                let mark = c.group_mark(&e.id).await?;
                let legacy_here = mark == Mark::Legacy && e.made_here();
                if mark != Mark::Absent && !names_one(&mark, &owners) && !legacy_here {
                    unproved(&mut holds, e, no_proof(&mark));
                }
            }
            Kind::IamPolicyAttachment => {
                let arn = e.detail.as_deref().unwrap_or_default();
                if !policies.contains(arn) && !e.made_here() {
                    holds.refuse(
                        e,
                        format!(
                            "policy {} is not one the wizard attaches (kops's seven and the \
                             answers' iam.policies); not detached",
                            crate::text::one_line(arn)
                        ),
                    );
                    continue;
                }
                let mark = c.group_mark(&e.id).await?;
                if mark != Mark::Absent && !names_one(&mark, &owners) && !e.made_here() {
                    holds.refuse(
                        e,
                        format!("group {}: {}", crate::text::one_line(&e.id), no_proof(&mark)),
                    );
                }
            }
            // A key is deleted by the id the record names, only of a user whose mark names
            // the cluster (or that this machine made the key for).
            Kind::AccessKey if e.detail.is_some() => {
                let mark = c.user_mark(&e.id).await?;
                if mark != Mark::Absent && !names_one(&mark, &owners) && !e.made_here() {
                    holds.refuse(
                        e,
                        format!("user {}: {}", crate::text::one_line(&e.id), no_proof(&mark)),
                    );
                }
            }
            // A membership is removed only for a user whose mark names the cluster (one of
            // the wizard's own users), or that this machine added.
            Kind::IamGroupMembership => {
                let mark = c.user_mark(&e.id).await?;
                if mark != Mark::Absent && !names_one(&mark, &owners) && !e.made_here() {
                    holds.refuse(
                        e,
                        format!("user {}: {}", crate::text::one_line(&e.id), no_proof(&mark)),
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
            // A key the record names by no id is nobody's to look for (only the plan of a
            // setup that never ran has one); the SSH key is judged when it is deleted; the
            // rest go with their bucket or cluster.
            Kind::AccessKey
            | Kind::SshKey
            | Kind::BucketVersioning
            | Kind::BucketEncryption
            | Kind::BucketPublicAccessBlock
            | Kind::ClusterDeployed => {}
        }
    }

    // A cluster that stays (refused, or not this teardown's to delete) keeps what manages it:
    // the kops group and the users that run kops against it.
    if let Some(cluster) = candidates
        .iter()
        .find(|e| e.kind == Kind::Cluster && e.state != State::Found && holds.reason(e).is_some())
    {
        for e in candidates.iter().filter(|e| is_shared_iam(e.kind)) {
            holds.keep(
                e,
                format!(
                    "cluster {} is kept, and this is what runs kops against it",
                    crate::text::one_line(&cluster.id)
                ),
            );
        }
    }
    dependencies(c, &candidates, &mut holds).await?;
    Ok(holds)
}

/// A resource that cannot prove the record's word: refused when only the team's record says
/// the wizard made it; kept (as something made by someone else since) when this machine's own
/// copy says so, which is the one word nobody else can write.
fn unproved(holds: &mut Holds, e: &Entry, why: String) {
    match e.made_here() {
        true => holds.keep(e, why),
        false => holds.refuse(e, why),
    }
}

const NO_MARK: &str = "it no longer carries kops-wizard's mark, so someone else made it after the \
                       wizard's setup; not deleted";

/// The kinds a team shares between its clusters: the kops group and its policies, users, their
/// keys and memberships.
fn is_shared_iam(kind: Kind) -> bool {
    match kind {
        Kind::IamGroup
        | Kind::IamPolicyAttachment
        | Kind::IamUser
        | Kind::IamGroupMembership
        | Kind::AccessKey => true,
        Kind::Profile
        | Kind::Bucket
        | Kind::BucketVersioning
        | Kind::BucketEncryption
        | Kind::BucketPublicAccessBlock
        | Kind::SshKey
        | Kind::Cluster
        | Kind::ClusterDeployed => false,
    }
}

/// Why `kops delete cluster` may not run on the record's word: the entry names another
/// cluster, or it was not made on this machine and the cluster's cloud does not carry the
/// wizard's mark. `None` when the cluster is proved the wizard's (or has no cloud).
async fn cluster_refusal(
    c: &Clients,
    journal: &Journal,
    e: &Entry,
) -> Result<Option<String>, OwnershipError> {
    if e.id != journal.cluster {
        return Ok(Some(format!(
            "the record of cluster {} names another cluster; not deleted",
            crate::text::one_line(&journal.cluster)
        )));
    }
    if e.made_here() {
        return Ok(None);
    }
    if e.state == State::Intent {
        return Ok(Some(
            "an unfinished `kops create cluster` recorded on another machine: this machine \
             cannot prove the cluster is that create's. Run teardown on the machine that began \
             the setup, or delete the cluster with kops yourself"
                .into(),
        ));
    }
    let zone = journal.cluster_settings.as_ref().and_then(|s| s.dns_zone.clone());
    Ok(match Cloud::new(c).cluster_mark(&e.id, zone.as_deref()).await? {
        CloudMark::Marked | CloudMark::Nothing => None,
        CloudMark::Unmarked(what) => Some(format!(
            "its cloud ({}{}) does not carry kops-wizard's tag {}={}, and this machine did not \
             set it up, so the record's word alone does not make it the wizard's. Tag one of \
             its Auto Scaling groups so (an act that needs EC2 rights) and run teardown again, \
             or delete it with kops yourself",
            what.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if what.len() > 3 { ", …" } else { "" },
            crate::marks::MARK_TAG,
            e.id
        )),
    })
}

/// What keeps (or refuses) the state bucket: it must be the record's own state store and carry
/// the mark naming the cluster; and it stays when it holds anything but this cluster's state
/// and the wizard's own objects.
async fn bucket_holds(
    c: &Clients,
    journal: &Journal,
    others: &Others,
    owners: &[String],
    e: &Entry,
    holds: &mut Holds,
) -> Result<(), OwnershipError> {
    let name = &journal.cluster;
    let store = journal.state_store.as_deref().and_then(bucket_of);
    if store.as_deref() != Some(e.id.as_str()) && !e.made_here() {
        holds.refuse(
            e,
            format!(
                "the record's state store is {}, not this bucket: a record only ever deletes \
                 the bucket it lives in",
                journal.state_store.as_deref().map_or("not set".into(), crate::text::one_line)
            ),
        );
        return Ok(());
    }
    match c.bucket_access(&e.id).await? {
        BucketAccess::Yours => {}
        BucketAccess::Taken | BucketAccess::ElsewhereRegion => {
            holds.keep(e, "the name now belongs to a bucket the wizard cannot use");
            return Ok(());
        }
        BucketAccess::Free => return Ok(()),
    }
    let mut clusters = c.clusters_in_bucket(&e.id).await?;
    clusters.retain(|n| n != name);
    let cluster_ours = journal
        .entries
        .iter()
        .any(|x| x.kind == Kind::Cluster && x.id == *name && holds.deletable(x));
    if !clusters.is_empty() {
        let shown: Vec<String> = clusters.iter().map(|c| crate::text::one_line(c)).collect();
        holds.keep(e, format!("it also holds the state of cluster {}", shown.join(", ")));
        return Ok(());
    }
    if !cluster_ours && c.object_exists(&e.id, &format!("{name}/config")).await? {
        holds.keep(
            e,
            format!(
                "it holds the state of a cluster named {name} that is not known to be the \
                 wizard's (made by hand, or by a create the wizard cannot prove was its own)"
            ),
        );
        return Ok(());
    }
    let mark = match c.bucket_mark(&e.id).await? {
        Some(value) => Mark::Cluster(value),
        None => Mark::None,
    };
    if !names_one(&mark, owners) {
        let why = match (e.made_here(), &mark) {
            (true, Mark::None) => NO_MARK.to_string(),
            _ => format!(
                "{}, not cluster {}: the record's word alone proves nothing, so it is not \
                 deleted",
                mark.describe(),
                crate::text::one_line(name)
            ),
        };
        unproved(holds, e, why);
        return Ok(());
    }
    let foreign = foreign_objects(c, &e.id, name).await?;
    if !foreign.is_empty() {
        holds.keep(
            e,
            format!("it also holds {} that the wizard did not write", describe_foreign(&foreign)),
        );
    }
    // The other records in the bucket are the wizard's own objects, but their clusters are
    // gone only if their records say nothing is in use.
    let live: Vec<&str> = others
        .journals
        .iter()
        .filter(|o| o.state_store.as_deref().and_then(bucket_of).as_deref() == Some(&e.id))
        .filter(|o| o.entries.iter().any(Entry::in_use))
        .map(|o| o.cluster.as_str())
        .collect();
    if !live.is_empty() && holds.reason(e).is_none() {
        let shown: Vec<String> = live.iter().map(|c| crate::text::one_line(c)).collect();
        holds.keep(
            e,
            format!("the record of cluster {} in it still names things in use", shown.join(", ")),
        );
    }
    Ok(())
}

/// What depends on what: a user with keys of others, a group with other members or policies.
async fn dependencies(
    c: &Clients,
    candidates: &[&Entry],
    holds: &mut Holds,
) -> Result<(), OwnershipError> {
    let journal_keys: BTreeSet<(String, String)> = candidates
        .iter()
        .filter(|e| e.kind == Kind::AccessKey && holds.deletable(e))
        .filter_map(|e| Some((e.id.clone(), e.detail.clone()?)))
        .collect();
    for e in candidates {
        if e.kind != Kind::IamUser || !holds.deletable(e) || !c.user_exists(&e.id).await? {
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
    // A kept user stays in its groups; a group with a member or a policy that stays, stays; a
    // group that stays keeps its policies. Repeated until nothing changes, as each hold can
    // cause another.
    loop {
        let before = holds.keep.len() + holds.refused.len();
        for e in candidates {
            if !holds.deletable(e) {
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
                        holds.keep(e, format!("user {} is kept", crate::text::one_line(&e.id)));
                    }
                }
                Kind::IamGroup => {
                    let leaving: BTreeSet<&str> = candidates
                        .iter()
                        .filter(|m| {
                            (m.kind == Kind::IamGroupMembership
                                && m.detail.as_deref() == Some(e.id.as_str())
                                && holds.deletable(m))
                                || (m.kind == Kind::IamUser && holds.deletable(m))
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
                        continue;
                    }
                    let detached: BTreeSet<&str> = candidates
                        .iter()
                        .filter(|p| {
                            p.kind == Kind::IamPolicyAttachment
                                && p.id == e.id
                                && holds.deletable(p)
                        })
                        .filter_map(|p| p.detail.as_deref())
                        .collect();
                    let attached = match c.group_mark(&e.id).await? {
                        Mark::Absent => Vec::new(),
                        _ => c.attached_group_policies(&e.id).await?,
                    };
                    let kept: Vec<String> = attached
                        .into_iter()
                        .filter(|p| !detached.contains(p.as_str()))
                        .map(|p| p.rsplit('/').next().unwrap_or(&p).to_string())
                        .collect();
                    if !kept.is_empty() {
                        holds.keep(
                            e,
                            format!(
                                "policy {} stays attached to it (the wizard did not attach it, \
                                 or keeps it)",
                                kept.join(", ")
                            ),
                        );
                    }
                }
                Kind::IamPolicyAttachment => {
                    let group_kept = candidates.iter().any(|g| {
                        g.kind == Kind::IamGroup && g.id == e.id && holds.reason(g).is_some()
                    });
                    if group_kept {
                        holds.keep(e, format!("group {} is kept", crate::text::one_line(&e.id)));
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
        if holds.keep.len() + holds.refused.len() == before {
            return Ok(());
        }
    }
}

/// What the journals alone decide (the plan command asks no AWS): kept because another cluster
/// uses it, or inherited from a cluster since torn down.
pub fn from_journals(journal: &Journal, others: &[Journal]) -> Holds {
    let mut holds = Holds::default();
    let candidates = journal
        .entries
        .iter()
        .filter(|e| e.kind.torn_down() && e.in_use() && e.kind != Kind::Cluster);
    // 1. Still used by another cluster.
    for e in candidates.clone() {
        let users: Vec<String> = others
            .iter()
            .filter(|o| o.entries.iter().any(|x| x.same_resource(e) && x.in_use()))
            .map(|o| crate::text::one_line(&o.cluster))
            .collect();
        if !users.is_empty() {
            holds.keep(e, format!("still used by cluster {}", users.join(", ")));
        }
    }
    // 2. Found by this setup, released by the cluster whose setup made it: inherited (the
    // resource's mark must still name that cluster: `holds`).
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

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Credentials(#[from] crate::engine::aws::credentials::CredentialsError),
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

/// A look-up's error is the same AWS or credentials error here: matched and worded as before.
impl From<LookupError> for OwnershipError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Aws(e) => OwnershipError::Aws(e),
            LookupError::Credentials(e) => OwnershipError::Credentials(e),
        }
    }
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
