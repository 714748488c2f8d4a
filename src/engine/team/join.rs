//! Working as a team: what a setup finds in the state store before it changes anything, and
//! the lock and record it holds while it runs.
//!
//! A cluster that is already in the state store and was not made by the wizard on this machine
//! (made on another machine of the team, or by hand) is joined, never taken over: this engineer
//! gets an IAM user of their own in the kops group (IAM allows two access keys per user, so a
//! shared user fails the third engineer), its key saved as the profile, and a kubeconfig from
//! `kops export kubeconfig --admin`; the cluster itself (its spec, SSH key, instances) is not
//! touched.

use std::path::Path;

use crate::answers::Answers;
use crate::engine::aws::clients::{Clients, Credentials};
use crate::engine::aws::error::AwsError;
use crate::engine::events::Sink;
use crate::engine::store::bucket::BucketAccess;
use crate::engine::store::lease::{self, Fence, Lease, LeaseError};
use crate::engine::store::record::{self, RecordError};
use crate::journal::{Author, Journal, Kind, State};
use crate::plan::{SetupPlan, SetupStep};

/// What setup will find for these answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Situation {
    /// No cluster of that name in the state store (or no state store yet): set it up.
    New,
    /// The wizard made it on this machine, as this machine's own copy says: a rerun continues
    /// it.
    Ours,
    /// Someone else's, or the team's from another machine: join it (or, when the record names
    /// no machine for it, ask: see [`Join::unclaimed`]).
    Join(Join),
}

/// A cluster to join, and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// The record's author of the cluster, when the wizard made it; `None` when it was made
    /// by hand (no record, or a record that does not say it made the cluster).
    pub made_by: Option<Author>,
    pub made_at: Option<String>,
    /// This engineer's own IAM user in the kops group.
    pub member_user: String,
    /// The record says the wizard made the cluster but names no machine (written by a version
    /// before the team's record): made on no machine until one claims it (`setup --claim`).
    /// Joining would be safe, but the machine that made it would then lose it: setup asks (or,
    /// with `--yes`, stops and says how to claim it) instead of guessing.
    pub unclaimed: bool,
}

impl Join {
    /// "the team's cluster, set up by ARN on HOST at T", or "made without kops-wizard".
    pub fn whose(&self) -> String {
        if self.unclaimed {
            return "set up with an older kops-wizard, whose record names no machine".into();
        }
        match (&self.made_by, &self.made_at) {
            (Some(by), Some(at)) => {
                format!("set up by {} at {}", by.describe(), crate::text::one_line(at))
            }
            (Some(by), None) => format!("set up by {}", by.describe()),
            _ => "made without kops-wizard (or its record is gone)".into(),
        }
    }
}

/// How many other names a joining engineer's user may take when the first is someone else's.
const MEMBER_NAME_TRIES: usize = 9;

/// The first choice of the IAM user of this engineer on this machine:
/// `<iam.user>-<login>-<machine>`, within IAM's 64 characters and its name alphabet, with room
/// for a `-N` should the name be taken.
pub fn member_user(a: &Answers, machine: &str) -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "engineer".into());
    let login: String = login
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))
        .take(20)
        .collect();
    let short: String = machine.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    let short = if short.is_empty() { "machine".to_string() } else { short };
    let login = if login.is_empty() { "engineer".to_string() } else { login };
    let room = 64 - 2 - login.len() - short.len() - 2;
    let user: String = a.iam.user.chars().take(room).collect();
    format!("{user}-{login}-{short}")
}

/// This engineer's user for a join: the first choice, or, when a user of that name exists and
/// this machine did not make it (another engineer's, perhaps with the same login), the next of
/// `-2`, `-3`...: never another engineer's user, whose key would then be this machine's to
/// replace. Read-only.
pub async fn member_user_for(
    c: &Clients,
    a: &Answers,
    machine: &str,
    local: Option<&Journal>,
) -> Result<String, AwsError> {
    let first = member_user(a, machine);
    let mine = |name: &str| {
        local.is_some_and(|j| {
            j.entries.iter().any(|e| e.kind == Kind::IamUser && e.id == name && e.made_here())
        })
    };
    for n in 1..=MEMBER_NAME_TRIES + 1 {
        let name = match n {
            1 => first.clone(),
            n => format!("{first}-{n}"),
        };
        if mine(&name) || !c.user_exists(&name).await? {
            return Ok(name);
        }
    }
    Err(AwsError {
        operation: "iam:GetUser",
        code: None,
        message: format!(
            "the IAM user names {first} to {first}-{} are all taken by users this machine did \
             not make; set USER to another login name and run setup again",
            MEMBER_NAME_TRIES + 1
        ),
    })
}

/// Reads AWS (and the record in the bucket) to tell whether setup makes the cluster, continues
/// it, or joins it. Read-only. Whether this machine made it comes from `local`, this machine's
/// own copy of the record, never from a machine id in the bucket.
pub async fn probe(
    c: &Clients,
    a: &Answers,
    local: Option<&Journal>,
    machine: &str,
) -> Result<Situation, RecordError> {
    let Some(bucket) = &a.state_store.bucket else { return Ok(Situation::New) };
    if c.bucket_access(bucket).await? != BucketAccess::Yours {
        return Ok(Situation::New);
    }
    let name = &a.cluster.name;
    if !c.object_exists(bucket, &format!("{name}/config")).await? {
        return Ok(Situation::New);
    }
    let stored = record::load(c, bucket, name).await?.map(|(j, _)| j);
    let record = stored.as_ref().or(local);
    let entry = record.and_then(|j| j.find(Kind::Cluster, name));
    let here = |e: &crate::journal::Entry| local.is_some_and(|l| l.made_here(e));
    let made = entry.filter(|e| e.state == State::Created);
    if made.is_some_and(here) {
        return Ok(Situation::Ours);
    }
    // This machine's create that did not get to record its end: the cluster is its own if
    // it carries the SSH key that create gave kops (setup then settles the intent).
    if let Some(intent) = entry.filter(|e| e.state == State::Intent && here(e))
        && super::ownership::cluster_has_key(c, bucket, name, intent.fingerprint.as_deref()).await?
    {
        return Ok(Situation::Ours);
    }
    Ok(Situation::Join(Join {
        made_by: made.and_then(|e| e.by.clone()),
        made_at: made.map(|e| e.at.clone()),
        member_user: member_user_for(c, a, machine, local).await?,
        unclaimed: made.is_some_and(|e| e.authorless()),
    }))
}

/// A cluster whose state is in a bucket, as a newcomer's check of the bucket shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InBucket {
    pub name: String,
    /// "set up by ARN on HOST at T", or that no record of the wizard's names its maker.
    pub whose: String,
    /// The shape its record says setup made (for showing a join's sizes, read-only; the
    /// record is anyone's to write, so this is only ever shown, never acted on).
    pub settings: Option<crate::journal::ClusterSettings>,
    /// This machine made it, as its own copy says: setup continues it, no join.
    pub ours: bool,
}

/// The clusters in `bucket` (every `<name>/config`), each with who set it up, from the team's
/// records, and whether this machine's own copy says it made it. Read-only.
pub async fn clusters_in(
    c: &Clients,
    bucket: &str,
    state_dir: &Path,
) -> Result<Vec<InBucket>, AwsError> {
    let mut found = Vec::new();
    for name in c.clusters_in_bucket(bucket).await? {
        let stored = record::load(c, bucket, &name).await.ok().flatten().map(|(j, _)| j);
        let made = stored
            .as_ref()
            .and_then(|j| j.find(Kind::Cluster, &name))
            .filter(|e| e.state == State::Created)
            .cloned();
        let local = Journal::load(&Journal::path_for(state_dir, &name)).ok().flatten();
        let ours = made.as_ref().is_some_and(|e| local.as_ref().is_some_and(|l| l.made_here(e)));
        let whose = Join {
            made_by: made.as_ref().and_then(|e| e.by.clone()),
            made_at: made.as_ref().map(|e| e.at.clone()),
            member_user: String::new(),
            unclaimed: made.as_ref().is_some_and(|e| e.authorless()),
        }
        .whose();
        let settings = stored.and_then(|j| j.cluster_settings);
        found.push(InBucket { name: crate::text::one_line(&name), whose, settings, ours });
    }
    Ok(found)
}

/// The setup plan for these answers as the state store stands now: a join when the cluster
/// is there and is not this machine's, else the plan of `only`. Read-only, so front ends can
/// show the right plan in their review; when AWS cannot be asked, the plain setup plan (the
/// engine decides again under the lock before it changes anything).
pub async fn setup_plan(
    a: &Answers,
    only: &[SetupStep],
    state_dir: &Path,
) -> (SetupPlan, Option<Join>) {
    let plain = || (SetupPlan::setup(a, only), None);
    if a.state_store.bucket.is_none() {
        return plain();
    }
    let creds = Credentials { profile: a.aws.admin_profile.clone(), region: a.aws.region.clone() };
    let clients = Clients::from_env(&creds).await;
    // The machine's id exists before any plan: a join's user is named after it.
    let machine = match record::machine_id(state_dir) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!("cannot make this machine's id: {e}");
            return plain();
        }
    };
    let local = Journal::load(&Journal::path_for(state_dir, &a.cluster.name)).ok().flatten();
    match probe(&clients, a, local.as_ref(), &machine).await {
        Ok(Situation::Join(join)) => {
            (SetupPlan::join(a, &join.member_user, &join_steps(only)), Some(join))
        }
        Ok(_) => plain(),
        Err(e) => {
            tracing::warn!("cannot tell whether the cluster exists: {e}");
            plain()
        }
    }
}

/// The steps of a join for the steps a setup was asked for: all of them when the cluster steps
/// were asked for (or nothing in particular), else those asked (`--only validate`).
pub fn join_steps(only: &[SetupStep]) -> Vec<SetupStep> {
    use clap::ValueEnum;
    let all = only.is_empty() || only.len() == SetupStep::value_variants().len();
    let cluster = only
        .iter()
        .any(|s| matches!(s, SetupStep::Cluster | SetupStep::Deploy | SetupStep::SshKey));
    if all || cluster { Vec::new() } else { only.to_vec() }
}

/// The review's words when the record names no machine for the cluster (see
/// [`Join::unclaimed`]): what claiming it means, and what happens without.
pub fn unclaimed_note(a: &Answers, claimed: bool) -> String {
    let head = format!(
        "The record of cluster {} says kops-wizard set it up, but not on which machine (an older \
         version wrote it).",
        a.cluster.name
    );
    match claimed {
        true => format!(
            "{head} Claimed: this machine set it up, so setup continues it, and the record names \
             you from now on; other machines then join it."
        ),
        false => format!(
            "{head} If this machine set it up, claim it; otherwise setup joins it as another \
             engineer's, changing nothing of it."
        ),
    }
}

/// The review's words for a join.
pub fn join_note(a: &Answers, join: &Join) -> String {
    format!(
        "The cluster exists: join it. Cluster {} is in s3://{}, {}. This setup gives you \
         access of your own (IAM user {} in group {}, its key as profile {}, a kubeconfig) \
         and changes nothing of the cluster: no create, no update, no SSH key change.",
        a.cluster.name,
        a.state_store.bucket.as_deref().unwrap_or_default(),
        join.whose(),
        join.member_user,
        a.iam.group,
        a.aws.kops_profile
    )
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The lock and the record of one run: taken once the state bucket exists, released at the
/// end of the run.
pub struct Team {
    clients: Clients,
    author: Author,
    command: &'static str,
    cluster: String,
    lease: Option<Lease>,
}

impl Team {
    pub fn new(clients: &Clients, author: Author, command: &'static str, cluster: &str) -> Team {
        Team { clients: clients.clone(), author, command, cluster: cluster.into(), lease: None }
    }

    pub fn author(&self) -> &Author {
        &self.author
    }

    /// Takes the bucket's lock (waiting for another machine's run to end) and moves the
    /// journal into the bucket, or joins it with the record there. Once per run.
    pub async fn enter(
        &mut self,
        bucket: &str,
        journal: &mut Journal,
        sink: &Sink,
    ) -> Result<(), TeamError> {
        if self.lease.is_some() {
            return Ok(());
        }
        let request = lease::Request {
            bucket,
            by: &self.author,
            command: self.command,
            cluster: &self.cluster,
        };
        let lease = lease::acquire(&self.clients, request, lease::max_wait(), sink).await?;
        let fence = lease.fence();
        self.lease = Some(lease);
        record::attach(&self.clients, bucket, journal, Some(fence)).await?;
        Ok(())
    }

    pub fn holds_lock(&self) -> bool {
        self.lease.is_some()
    }

    /// What every change checks first, while the run holds the lock.
    pub fn fence(&self) -> Option<Fence> {
        self.lease.as_ref().map(Lease::fence)
    }

    /// The held lease, for the teardown that deletes the bucket with it.
    pub fn lease_mut(&mut self) -> Option<&mut Lease> {
        self.lease.as_mut()
    }

    /// Releases the lock; a lock that cannot be deleted runs out by itself.
    pub async fn leave(self) {
        if let Some(lease) = self.lease
            && let Err(e) = lease.release().await
        {
            tracing::warn!(error = %e, "could not release the lock; it runs out by itself");
        }
    }
}

/// This run's author: the admin caller, this machine, the versions.
pub async fn author(
    c: &Clients,
    state_dir: &Path,
    kops: Option<String>,
) -> Result<Author, AwsError> {
    let arn = c.whoami().await?.arn;
    record::author(&arn, state_dir, kops).map_err(|e| AwsError {
        operation: "machine id",
        code: None,
        message: format!("cannot write {}: {e}", state_dir.join("machine-id").display()),
    })
}
