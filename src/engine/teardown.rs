//! Teardown: from the journal, delete exactly what setup created, in an order AWS allows, and
//! prove at the end that it is gone. `prepare` builds the plan (with kops's own preview) and
//! changes nothing; the front end shows it and asks; `execute` deletes, journaling each
//! deletion, so a rerun continues where a run stopped.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use super::aws::clients::Clients;
use super::aws::cloud::{Cloud, Found, ServiceBalancer};
use super::aws::credentials::{CredentialsError, SharedFiles};
use super::aws::error::AwsError;
use super::aws::iam::Presence;
use super::cluster::kops::{self, CloudResource, DeleteLine, Kops, KopsError};
use super::cluster::kubeconfig::SmokeError;
use super::cluster::smoke::{self, KubeCloud};
use super::events::{Change, Event, Sink};
use super::store::bucket::{BucketAccess, Contents, EmptyError};
use super::store::objects::bucket_of;
use super::team::join::Team;
use super::team::kinds::LookupError;
use super::team::ownership::{self, OwnershipError};
use crate::answers::Answers;
use crate::fsutil::expand_home;
use crate::journal::{Journal, JournalError, Kind, State, TeardownRecord};
use crate::lock::ClusterLock;
use crate::plan::{Holds, StepId, TeardownAction, TeardownOptions, TeardownPlan};

#[derive(Debug, thiserror::Error)]
pub enum TeardownError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Kops(#[from] KopsError),
    #[error(
        "no record of cluster {cluster}: none in {} and none in the state store{}, so the \
         wizard deletes nothing (check cluster.name, state_store.bucket and --state-dir)",
        dir.display(),
        bucket.as_ref().map(|b| format!(" s3://{b}")).unwrap_or_default()
    )]
    NoJournal { cluster: String, dir: std::path::PathBuf, bucket: Option<String> },
    #[error(
        "kops could not delete cluster {cluster}: {error}\nThe state bucket and IAM are left \
         as they are: the bucket still holds the cluster's state. Run `kops-wizard teardown` \
         again to continue."
    )]
    ClusterDelete { cluster: String, error: KopsError },
    #[error("{0}")]
    Blocked(String),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(transparent)]
    Team(#[from] super::team::join::TeamError),
    #[error(transparent)]
    Record(#[from] super::store::record::RecordError),
    #[error(transparent)]
    Kubernetes(#[from] SmokeError),
    #[error(transparent)]
    Fenced(#[from] super::store::lease::Fenced),
    #[error(transparent)]
    Lease(#[from] super::store::lease::LeaseError),
}

impl From<EmptyError> for TeardownError {
    fn from(e: EmptyError) -> Self {
        match e {
            EmptyError::Aws(e) => TeardownError::Aws(e),
            EmptyError::Fenced(e) => TeardownError::Fenced(e),
        }
    }
}

impl From<OwnershipError> for TeardownError {
    fn from(e: OwnershipError) -> Self {
        match e {
            OwnershipError::Aws(e) => TeardownError::Aws(e),
            OwnershipError::Credentials(e) => TeardownError::Credentials(e),
            OwnershipError::Journal(e) => TeardownError::Journal(e),
        }
    }
}

impl From<LookupError> for TeardownError {
    fn from(e: LookupError) -> Self {
        OwnershipError::from(e).into()
    }
}

/// How long the cluster's cloud controller gets to remove a deleted Service's load balancer
/// before teardown deletes it directly (`KOPS_WIZARD_CONTROLLER_WAIT`, a duration).
pub fn controller_wait() -> Duration {
    crate::rules::env_duration("KOPS_WIZARD_CONTROLLER_WAIT").unwrap_or(CONTROLLER_WAIT)
}

/// [`controller_wait`]'s default: a healthy controller removes an NLB in well under a minute.
pub const CONTROLLER_WAIT: Duration = Duration::from_secs(180);

pub struct Request<'a> {
    pub answers: &'a Answers,
    pub state_dir: &'a Path,
    pub kops: Option<&'a Path>,
    pub opts: TeardownOptions,
    /// `--dry-run`: plan and show, change nothing (not even the journal).
    pub dry_run: bool,
}

/// What teardown will do, ready to show and confirm: the plan, kops's list of the cluster's
/// cloud resources, and what stays.
pub struct Prepared {
    pub plan: TeardownPlan,
    pub cloud: Vec<CloudResource>,
    pub journal: Journal,
    pub holds: Holds,
    pub opts: TeardownOptions,
    /// What each of the journal's buckets holds now, for the inventory.
    pub buckets: Vec<BucketContents>,
    answers: Answers,
    clients: Clients,
    kops: Option<Kops>,
    files: SharedFiles,
    /// Held from prepare to the end of execute; none in a dry run.
    _lock: Option<ClusterLock>,
    /// The team's lock on the state bucket and its record; none in a dry run.
    team: Option<Team>,
    /// Who set the cluster up, and when, for the confirmation.
    pub made_by: Option<String>,
    /// What the cluster made in the cloud, as its API says (or, without an API, as AWS's
    /// tags say); none when the cluster is not deleted.
    pub kubernetes: Option<KubeFound>,
}

/// The cloud resources Kubernetes made for the cluster, which kops's delete does not wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeFound {
    /// The API answered: its Services of type LoadBalancer and PersistentVolumes.
    Api(KubeCloud),
    /// It did not: the load balancers AWS has tagged for the cluster's Services are deleted
    /// directly.
    NoApi { reason: String, balancers: Vec<ServiceBalancer> },
}

/// A state bucket's object versions and delete markers: all of them, and the part under this
/// cluster's `<name>/` (what is deleted when the bucket is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketContents {
    pub bucket: String,
    pub all: Contents,
    pub cluster: Contents,
}

/// The plan in words, for every front end: each step's actions as lines (indexes match the
/// plan's, for progress rows), kops's list of cloud resources, the buckets' contents and what
/// is kept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub cluster: String,
    /// Who set the cluster up and when, from the record (for the confirmation).
    pub made_by: Option<String>,
    pub journal: std::path::PathBuf,
    pub steps: Vec<InventoryStep>,
    pub cloud: Vec<CloudResource>,
    pub buckets: Vec<BucketContents>,
    pub kept: Vec<String>,
    pub opts: TeardownOptions,
    /// What Kubernetes made in the cloud (Services' load balancers, PersistentVolumes).
    pub kubernetes: Option<KubeFound>,
    /// The journal still uses things it deletes nothing of (another cluster's bucket or user,
    /// found by this cluster's setup): the run must still happen, to let go of them, or the
    /// other cluster's teardown would keep them for this one forever.
    pub lets_go: bool,
    /// How long the cloud controller gets to remove a deleted Service's load balancer before
    /// teardown deletes it directly ([`controller_wait`]).
    pub controller_wait: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryStep {
    pub id: StepId,
    /// One per action of the plan step, in order; `None` for an action that deletes nothing
    /// by itself (kops's preview).
    pub actions: Vec<Option<Item>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub what: ItemKind,
    pub text: String,
}

/// What an action deletes, for the rows that show more than a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// `kops delete cluster --yes`: the cloud resources.
    Cluster,
    /// The bucket's versions and delete markers (a gauge while they go).
    Versions {
        bucket: String,
        count: Option<Contents>,
    },
    /// A policy detached from a group (seven of them: front ends may count them as one).
    Policy {
        group: String,
    },
    Other,
}

impl Inventory {
    /// Nothing to run: nothing to delete and nothing to let go of.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && !self.lets_go
    }

    /// kops's resources counted by type, in kops's order of first appearance.
    pub fn cloud_types(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for r in &self.cloud {
            match counts.iter_mut().find(|(k, _)| *k == r.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((r.kind.clone(), 1)),
            }
        }
        counts
    }
}

impl Prepared {
    /// Lets go of the team's lock without deleting anything (the user said no, or a dry run).
    pub async fn release(mut self) {
        if let Some(team) = self.team.take() {
            team.leave().await;
        }
    }

    /// Nothing to run (see [`Inventory::is_empty`]).
    pub fn is_empty(&self) -> bool {
        self.plan.steps.is_empty() && !lets_go(&self.journal)
    }

    /// Plans again with other options (the toggles of the full-screen inventory). The
    /// journal, the holds and kops's list stay as prepare found them.
    pub fn set_options(&mut self, opts: TeardownOptions) {
        self.opts = opts;
        self.plan = TeardownPlan::teardown(&self.answers, Some(&self.journal), opts, &self.holds);
    }

    pub fn inventory(&self) -> Inventory {
        let mut inventory =
            inventory_of(&self.plan, &self.journal, &self.cloud, &self.buckets, self.opts);
        inventory.made_by = self.made_by.clone();
        inventory.kubernetes = self.kubernetes.clone();
        inventory.controller_wait = controller_wait();
        inventory
    }
}

/// The inventory of a plan: pure, so every front end's view of it can be tested from data.
pub fn inventory_of(
    plan: &TeardownPlan,
    journal: &Journal,
    cloud: &[CloudResource],
    buckets: &[BucketContents],
    opts: TeardownOptions,
) -> Inventory {
    let contents = |bucket: &str, whole: bool| {
        buckets.iter().find(|b| b.bucket == bucket).map(|b| if whole { b.all } else { b.cluster })
    };
    let steps = plan
        .steps
        .iter()
        .map(|step| InventoryStep {
            id: step.id,
            actions: step
                .actions
                .iter()
                .map(|action| {
                    let text = describe_action(action, cloud)?;
                    let what = match action {
                        TeardownAction::DeleteCluster { .. }
                        | TeardownAction::PreviewDelete { .. } => ItemKind::Cluster,
                        TeardownAction::EmptyBucket { bucket } => ItemKind::Versions {
                            bucket: bucket.clone(),
                            count: contents(bucket, true),
                        },
                        TeardownAction::PurgeClusterState { bucket, .. } => ItemKind::Versions {
                            bucket: bucket.clone(),
                            count: contents(bucket, false),
                        },
                        TeardownAction::DetachGroupPolicy { group, .. } => {
                            ItemKind::Policy { group: group.clone() }
                        }
                        TeardownAction::DeleteServices { .. }
                        | TeardownAction::DeleteVolumes { .. }
                        | TeardownAction::DeleteBucket { .. }
                        | TeardownAction::DeleteAccessKeys { .. }
                        | TeardownAction::DeleteAccessKey { .. }
                        | TeardownAction::RemoveUserFromGroup { .. }
                        | TeardownAction::DeleteUser { .. }
                        | TeardownAction::DeleteGroup { .. }
                        | TeardownAction::RemoveProfile { .. }
                        | TeardownAction::DeleteSshKey { .. } => ItemKind::Other,
                    };
                    Some(Item { what, text })
                })
                .collect(),
        })
        .collect();
    Inventory {
        cluster: journal.cluster.clone(),
        made_by: None,
        journal: journal.path().to_path_buf(),
        steps,
        cloud: cloud.to_vec(),
        buckets: buckets.to_vec(),
        kept: plan.kept.clone(),
        opts,
        kubernetes: None,
        lets_go: lets_go(journal),
        controller_wait: CONTROLLER_WAIT,
    }
}

/// Whether finishing a teardown would change what the journal holds: something it keeps
/// using (made and still in use, or found and used) that its run releases or leaves.
fn lets_go(journal: &Journal) -> bool {
    journal.entries.iter().any(|e| e.kind.torn_down() && e.in_use())
}

/// One line for what an action deletes; `None` for kops's preview, which deletes nothing.
fn describe_action(action: &TeardownAction, cloud: &[CloudResource]) -> Option<String> {
    Some(match action {
        TeardownAction::DeleteCluster { .. } => match cloud.len() {
            0 => "the cluster's state (kops lists no cloud resources)".to_string(),
            n => format!("the cluster and its {n} cloud resources (kops delete cluster)"),
        },
        TeardownAction::PreviewDelete { .. } => return None,
        TeardownAction::DeleteServices { .. } => {
            "every Service of type LoadBalancer and its load balancer".to_string()
        }
        TeardownAction::DeleteVolumes { .. } => {
            "the EBS volumes the cluster's PersistentVolumes made (--delete-volumes)".to_string()
        }
        TeardownAction::EmptyBucket { bucket } => {
            format!("every object version and delete marker in {bucket}")
        }
        TeardownAction::PurgeClusterState { bucket, cluster } => {
            format!(
                "every object version and delete marker under {cluster}/ in {bucket} (the bucket stays)"
            )
        }
        TeardownAction::DeleteBucket { bucket } => format!("bucket {bucket}"),
        TeardownAction::DeleteAccessKeys { user } => format!("every access key of user {user}"),
        TeardownAction::DeleteAccessKey { user, key_id } => {
            format!("access key {key_id} of user {user}")
        }
        TeardownAction::RemoveUserFromGroup { user, group } => {
            format!("user {user}'s membership of group {group}")
        }
        TeardownAction::DeleteUser { user } => format!("IAM user {user}"),
        TeardownAction::DetachGroupPolicy { group, policy_arn } => format!(
            "policy {} on group {group}",
            policy_arn.rsplit('/').next().unwrap_or(policy_arn)
        ),
        TeardownAction::DeleteGroup { group } => format!("IAM group {group}"),
        TeardownAction::RemoveProfile { profile } => {
            format!("AWS profile {profile} (credentials and config files)")
        }
        TeardownAction::DeleteSshKey { private_key } => {
            format!("SSH key pair {private_key} and {private_key}.pub")
        }
    })
}

/// Reads the journal, settles entries a dead run left as intents, asks AWS and the other
/// journals what is shared or no longer the wizard's, asks kops what the cluster owns, and
/// builds the plan. Changes nothing in AWS.
pub async fn prepare(request: Request<'_>, sink: &Sink) -> Result<Prepared, TeardownError> {
    let a = request.answers;
    // A dry run changes nothing, so it needs no lock and writes no journal.
    let lock = match request.dry_run {
        true => None,
        false => Some(ClusterLock::acquire(request.state_dir, &a.cluster.name, "teardown")?),
    };
    let path = Journal::path_for(request.state_dir, &a.cluster.name);
    let local = Journal::load(&path)?;
    let clients = super::aws::clients::connect_admin(a, sink)
        .await
        .map_err(|e| TeardownError::Blocked(format!("cannot use the admin credentials: {e}")))?;
    let author = super::team::join::author(&clients, request.state_dir, None).await?;
    // The team's record is in the state bucket this machine's copy names, else the answers'.
    let bucket = local
        .as_ref()
        .and_then(|j| j.state_store.as_deref())
        .and_then(bucket_of)
        .or(a.state_store.bucket.clone());
    let mut journal = match local {
        Some(j) => j,
        None => Journal::open(request.state_dir, &a.cluster.name, &a.aws.region)?,
    };
    journal.set_author(author.clone());
    if request.dry_run {
        journal.make_read_only();
    }
    let mut team = None;
    let access = match &bucket {
        Some(b) => Some(clients.bucket_access(b).await?),
        None => None,
    };
    if let (Some(b), Some(BucketAccess::Free), true) = (&bucket, access, journal.copy_of.is_some())
    {
        // The record lived in the bucket and went with it.
        sink.send(Event::Note {
            message: format!(
                "the state bucket s3://{b} no longer exists: the cluster was torn down on another \
                 machine (or by hand), and its record went with the bucket. What this machine's \
                 copy still lists is looked up, and only what is still there is deleted"
            ),
        });
    }
    if let Some(bucket) = &bucket
        && access == Some(BucketAccess::Yours)
    {
        let stored = super::store::record::load(&clients, bucket, &a.cluster.name).await?;
        // Only a bucket that holds the team's record or carries the wizard's mark gets the
        // lock and the record written into it: one recreated by someone else since is not
        // the state store any more, and nothing of the wizard's is written there.
        let team_bucket = stored.is_some() || clients.bucket_marked(bucket).await?;
        if request.dry_run || !team_bucket {
            if let Some((stored, _)) = stored {
                journal.adopt(stored);
            }
        } else {
            let mut t = Team::new(&clients, author, "teardown", &a.cluster.name);
            t.enter(bucket, &mut journal, sink).await?;
            team = Some(t);
        }
    }
    if journal.entries.is_empty() {
        if let Some(t) = team {
            t.leave().await;
        }
        return Err(TeardownError::NoJournal {
            cluster: a.cluster.name.clone(),
            dir: request.state_dir.to_path_buf(),
            bucket,
        });
    }
    if let Some(record) = &journal.teardown
        && record.finished.is_some()
        && !journal.entries.iter().any(|e| e.in_use())
    {
        let by = record.by.as_ref().map(|b| format!(" by {}", b.describe())).unwrap_or_default();
        sink.send(Event::Note {
            message: format!(
                "cluster {} was torn down{by} at {}: nothing of it is left to delete",
                journal.cluster,
                record.finished.clone().unwrap_or_default()
            ),
        });
    }
    let made_by =
        journal.find(Kind::Cluster, &journal.cluster).filter(|e| e.by_wizard()).map(|e| {
            match &e.by {
                Some(by) => format!("set up by {} at {}", by.describe(), e.at),
                None => format!("set up at {}", e.at),
            }
        });
    let files = SharedFiles::from_env()?;
    settle_intents(&clients, &files, &mut journal).await?;
    settle_deleted_cluster(&clients, &mut journal).await?;
    let others = ownership::Others::read(&clients, &journal).await?;
    let policies = ownership::wizard_policies(a);
    let holds = ownership::holds(&clients, &files, &journal, &others, &policies).await?;

    let plan = TeardownPlan::teardown(a, Some(&journal), request.opts, &holds);
    let deletes_cluster = plan.actions().any(|x| matches!(x, TeardownAction::DeleteCluster { .. }));
    let (kops, cloud) = if deletes_cluster {
        // The journal's state store and profile: the answers may have changed since setup.
        let store = journal.state_store.clone().or(a.state_store_url()).unwrap_or_default();
        let profile = journal
            .entries
            .iter()
            .find(|e| e.kind == Kind::Profile && e.in_use())
            .map_or(a.aws.kops_profile.clone(), |e| e.id.clone());
        let mut kops = Kops::detect(request.kops).await?.with_env(
            &profile,
            &store,
            &journal.cluster,
            &journal.region,
        );
        // Another engineer's machine has no kops profile of its own here: kops runs with the
        // admin's credentials, which may do everything the kops user may.
        if files.read_key(&profile)?.is_none() {
            let creds = admin_credentials(&clients).await?;
            kops = kops.with_credentials(
                creds.access_key_id(),
                creds.secret_access_key(),
                creds.session_token(),
            );
            sink.send(Event::Note {
                message: format!(
                    "no profile {profile} on this machine: kops runs with the admin credentials"
                ),
            });
        }
        let preview = kops
            .run_ok(&kops::delete_cluster_args(&journal.cluster, &store, false), |_, _| {})
            .await?;
        (Some(kops), kops::parse_delete_preview(&preview.stdout))
    } else {
        (None, Vec::new())
    };
    let kubernetes = match deletes_cluster {
        true => {
            let store = journal.state_store.clone().or(a.state_store_url()).unwrap_or_default();
            let kops = kops.as_ref().ok_or_else(|| {
                TeardownError::Blocked("kops is needed to reach the cluster's API".into())
            })?;
            Some(kube_found(&clients, kops, &journal.cluster, &store).await?)
        }
        false => None,
    };
    let mut buckets = Vec::new();
    for e in journal.entries.iter().filter(|e| e.kind == Kind::Bucket && e.in_use()) {
        if clients.bucket_access(&e.id).await? == BucketAccess::Yours {
            let (all, cluster) = clients.bucket_contents(&e.id, &journal.cluster).await?;
            buckets.push(BucketContents { bucket: e.id.clone(), all, cluster });
        }
    }
    Ok(Prepared {
        plan,
        cloud,
        journal,
        holds,
        opts: request.opts,
        buckets,
        answers: a.clone(),
        clients,
        kops,
        files,
        _lock: lock,
        team,
        made_by,
        kubernetes,
    })
}

/// Asks the cluster's API (with fresh admin credentials from the state store) what it made in
/// the cloud; when it cannot be used (gone, down, or refusing), asks AWS for the load balancers
/// tagged for its Services, which are then deleted directly.
async fn kube_found(
    clients: &Clients,
    kops: &Kops,
    cluster: &str,
    store: &str,
) -> Result<KubeFound, TeardownError> {
    let asked = async {
        let (client, server, _admin) =
            super::cluster::kubeconfig::fresh_client(kops, cluster, store).await?;
        smoke::cloud_made_by(&client, &server).await
    };
    match asked.await {
        Ok(made) => Ok(KubeFound::Api(made)),
        Err(e) => {
            tracing::info!(target: "teardown", "the cluster's API cannot be used: {e}");
            let balancers = Cloud::new(clients).service_balancers(cluster).await?;
            Ok(KubeFound::NoApi { reason: e.to_string(), balancers })
        }
    }
}

/// An intent whose result was never recorded: if the resource exists (with the wizard's mark,
/// where it carries one), the wizard made it; if not, it was never made. Either way the
/// journal then says so.
async fn settle_intents(
    c: &Clients,
    files: &SharedFiles,
    journal: &mut Journal,
) -> Result<(), TeardownError> {
    let intents: Vec<_> =
        journal.entries.iter().filter(|e| e.state == State::Intent).cloned().collect();
    let bucket = journal.state_store.as_deref().and_then(bucket_of);
    let cluster = journal.cluster.clone();
    for e in intents {
        let detail = e.detail.as_deref();
        // Something of that name there without the mark: someone else made it since this
        // machine's intent (never made); for another machine's intent (or a forged one), it
        // stays an intent, which teardown refuses by name.
        let marked = |presence: Presence| match presence {
            Presence::Marked => Some(true),
            Presence::Absent => Some(false),
            Presence::Unmarked => e.made_here().then_some(false),
        };
        let exists = match e.kind {
            Kind::IamGroup => match marked(c.group_presence(&e.id, &cluster).await?) {
                Some(exists) => exists,
                None => continue,
            },
            Kind::IamUser => match marked(c.user_presence(&e.id, &cluster).await?) {
                Some(exists) => exists,
                None => continue,
            },
            // No mark of their own: there means the intent's change was made.
            Kind::IamPolicyAttachment | Kind::IamGroupMembership => {
                let r = crate::plan::Resource::of(&e);
                super::team::kinds::exists_now(c, files, journal, &r).await? == Some(true)
            }
            Kind::Bucket => {
                c.bucket_access(&e.id).await? == BucketAccess::Yours
                    && (c.bucket_marked(&e.id).await? || c.bucket_is_empty(&e.id).await?)
            }
            // An intent is not ownership: a cluster of that name is the unfinished create's
            // only if its admin SSH key is the one that create gave kops; one made by hand
            // since is someone else's, kept and never deleted. Only this machine's own intent
            // is settled so: a fingerprint in the bucket's record is anyone's to copy. Another
            // machine's stays an intent, which teardown refuses while the cluster exists.
            Kind::Cluster => match &bucket {
                Some(b) if c.bucket_access(b).await? == BucketAccess::Yours => {
                    let there = c.object_exists(b, &format!("{}/config", e.id)).await?;
                    if there && !e.made_here() {
                        continue;
                    }
                    there
                        && ownership::cluster_has_key(c, b, &e.id, e.fingerprint.as_deref()).await?
                }
                _ => false,
            },
            Kind::ClusterDeployed => match &bucket {
                Some(b) if c.bucket_access(b).await? == BucketAccess::Yours => {
                    journal.find(Kind::Cluster, &e.id).is_some_and(|c| c.state == State::Created)
                        && c.object_exists(b, &format!("{}/config", e.id)).await?
                }
                _ => false,
            },
            Kind::Profile => files.read_key(&e.id)?.is_some(),
            Kind::SshKey => expand_home(&e.id).exists(),
            Kind::AccessKey if detail.is_none() => {
                settle_key_intent(c, journal, &e).await?;
                continue;
            }
            // Bucket settings go with the bucket; nothing to look up on their own.
            Kind::AccessKey
            | Kind::BucketVersioning
            | Kind::BucketEncryption
            | Kind::BucketPublicAccessBlock => false,
        };
        let state = if exists { State::Created } else { State::Failed };
        journal.record(e.kind, &e.id, detail, state).await?;
    }
    Ok(())
}

/// A teardown killed after `kops delete cluster` finished and before the journal said so:
/// the state store no longer holds the cluster (kops removes the state last, after every cloud
/// resource), so the journal now says it is deleted instead of asking kops about a cluster
/// that is not there.
async fn settle_deleted_cluster(c: &Clients, journal: &mut Journal) -> Result<(), TeardownError> {
    let cluster = journal.cluster.clone();
    let ours = journal.find(Kind::Cluster, &cluster).is_some_and(|e| e.state == State::Created);
    let bucket = journal.state_store.as_deref().and_then(bucket_of);
    let (true, Some(bucket)) = (ours, bucket) else { return Ok(()) };
    let gone = match c.bucket_access(&bucket).await? {
        BucketAccess::Free => true,
        BucketAccess::Yours => !c.object_exists(&bucket, &format!("{cluster}/config")).await?,
        BucketAccess::Taken | BucketAccess::ElsewhereRegion => false,
    };
    if gone {
        journal.record(Kind::ClusterDeployed, &cluster, None, State::Deleted).await?;
        journal.record(Kind::Cluster, &cluster, None, State::Deleted).await?;
    }
    Ok(())
}

/// The admin's credentials as the SDK resolved them (profile, SSO, variables), for a kops
/// that must run as the admin.
async fn admin_credentials(c: &Clients) -> Result<aws_sdk_s3::config::Credentials, TeardownError> {
    use aws_sdk_s3::config::ProvideCredentials;
    let provider = c
        .config
        .credentials_provider()
        .ok_or_else(|| TeardownError::Blocked("no admin credentials to run kops with".into()))?;
    provider.provide_credentials().await.map_err(|e| {
        TeardownError::Blocked(format!("cannot read the admin credentials to run kops with: {e}"))
    })
}

/// An access-key intent without an id: the key an interrupted run made (not there before,
/// created in the intent's window) becomes a recorded key of the wizard's, if the user is the
/// wizard's too. A pre-existing user's keys are never taken for it.
async fn settle_key_intent(
    c: &Clients,
    journal: &mut Journal,
    intent: &crate::journal::Entry,
) -> Result<(), TeardownError> {
    let user = &intent.id;
    let user_ours = journal.find(Kind::IamUser, user).is_some_and(|e| e.state == State::Created);
    // The user's own mark, or this machine's intent: the record's word that the user is the
    // wizard's takes nobody's keys.
    let proved = intent.made_here() || c.user_mark(user).await?.names(&journal.cluster);
    if user_ours && proved && c.user_exists(user).await? {
        let keys = c.access_keys(user).await?;
        for orphan in super::setup::orphan_keys(intent, &keys, None) {
            journal.record(Kind::AccessKey, user, Some(&orphan), State::Created).await?;
        }
    }
    journal.record(Kind::AccessKey, user, None, State::Failed).await?;
    Ok(())
}

/// How every front end introduces what teardown refused.
pub const REFUSED_HEADING: &str = "refused: the team's record names these as the wizard's, and \
they cannot prove it (anyone who can write the state bucket can write the record), so they were \
kept:";

/// What is still there after teardown, each named; empty means nothing is left.
pub struct Outcome {
    /// What AWS still has that the teardown should have removed, one line each.
    pub leftovers: Vec<String>,
    /// What the record claimed and the resource could not prove: kept, one line each. A
    /// teardown that refused something has not finished (exit 1).
    pub refused: Vec<String>,
    /// The disks of PersistentVolumes, kept (`--delete-volumes` deletes them) and named.
    pub kept_volumes: Vec<String>,
    pub journal: Journal,
}

/// Deletes what the plan lists, in order, journaling each deletion; then checks through AWS
/// what is left. A failed `kops delete cluster` stops everything after it.
pub async fn execute(
    mut p: Prepared,
    answers: &Answers,
    sink: &Sink,
) -> Result<Outcome, TeardownError> {
    let plan = std::mem::replace(&mut p.plan, TeardownPlan::empty());
    let started_at = crate::journal::now();
    p.journal
        .set_teardown(TeardownRecord {
            started: started_at.clone(),
            finished: None,
            stopped: Some("interrupted".into()),
            leftovers: Vec::new(),
            refused: Vec::new(),
            by: None,
        })
        .await?;
    for step in &plan.steps {
        crate::test_hooks::point(&format!("before-step:{}", step.id.short()));
        let started = Instant::now();
        sink.send(Event::StepStarted { step: step.id });
        for (index, action) in step.actions.iter().enumerate() {
            let action_started = Instant::now();
            sink.send(Event::ActionStarted { step: step.id, index });
            if let Err(e) = p.delete(step.id, index, action, answers, sink).await {
                let error = e.to_string();
                sink.send(Event::StepFailed {
                    step: step.id,
                    error: error.clone(),
                    elapsed: started.elapsed(),
                });
                // Best effort: the journal write that could fail here is what just failed.
                let _ = p
                    .journal
                    .set_teardown(TeardownRecord {
                        started: started_at.clone(),
                        finished: None,
                        stopped: Some(format!("{}: {error}", step.id.short())),
                        leftovers: Vec::new(),
                        refused: Vec::new(),
                        by: None,
                    })
                    .await;
                if let Some(team) = p.team.take() {
                    team.leave().await;
                }
                return Err(e);
            }
            sink.send(Event::ActionFinished {
                step: step.id,
                index,
                elapsed: action_started.elapsed(),
            });
        }
        sink.send(Event::StepFinished { step: step.id, elapsed: started.elapsed() });
        crate::test_hooks::point(&format!("after-step:{}", step.id.short()));
    }
    let mut leftovers = p.leftovers(&plan).await?;
    let (cloud_left, kept_volumes) = p.cloud_left(&plan).await;
    leftovers.extend(cloud_left);
    p.finish(started_at, &leftovers).await?;
    if let Some(team) = p.team.take() {
        team.leave().await;
    }
    let refused = p.holds.refusals();
    Ok(Outcome { leftovers, refused, kept_volumes, journal: p.journal })
}

impl Prepared {
    async fn delete(
        &mut self,
        step: StepId,
        index: usize,
        action: &TeardownAction,
        a: &Answers,
        sink: &Sink,
    ) -> Result<(), TeardownError> {
        let started = Instant::now();
        // Every deletion is made only while this run's lease is its own (kops's preview
        // deletes nothing).
        if !matches!(action, TeardownAction::PreviewDelete { .. })
            && let Some(fence) = self.fence()
        {
            fence.check().await?;
        }
        // A cheap handle (the SDK clients share their connections), so `self` stays free for
        // the journal.
        let c = &self.clients.clone();
        let done = |what: String| sink.item(step, Change::Created, what, started.elapsed());
        let progress = move |done: usize, total: usize| {
            sink.send(Event::Progress { step, index, done, total });
        };
        match action {
            TeardownAction::PreviewDelete { .. } => {}
            TeardownAction::DeleteServices { cluster } => {
                self.delete_services(step, cluster, sink).await?;
            }
            TeardownAction::DeleteVolumes { cluster } => {
                let cloud = Cloud::new(c);
                for v in cloud.of_kind(super::aws::cloud::CloudKind::Volume, cluster).await? {
                    if v.is_volume_of_pv() {
                        cloud.delete_volume(&v.id).await?;
                        done(format!("{} deleted", v.describe()));
                    }
                }
            }
            TeardownAction::DeleteCluster { args } => {
                self.delete_cluster(step, args, a, sink).await?;
            }
            TeardownAction::EmptyBucket { bucket } => {
                if c.bucket_access(bucket).await? == BucketAccess::Yours {
                    // Checked again right before the data goes: since prepare, someone may
                    // have written another cluster's state into it.
                    let mut others = c.clusters_in_bucket(bucket).await?;
                    others.retain(|n| *n != self.journal.cluster);
                    if !others.is_empty() {
                        return Err(TeardownError::Blocked(format!(
                            "bucket {bucket} now also holds the state of cluster {}: not emptied. \
                             Run teardown again to keep the bucket and remove only this cluster's state",
                            others.join(", ")
                        )));
                    }
                    let foreign =
                        ownership::foreign_objects(c, bucket, &self.journal.cluster).await?;
                    if !foreign.is_empty() {
                        return Err(TeardownError::Blocked(format!(
                            "bucket {bucket} now also holds {} that the wizard did not write: \
                             not emptied. Run teardown again to keep the bucket and remove only \
                             this cluster's state",
                            ownership::describe_foreign(&foreign)
                        )));
                    }
                    // Waiters are told the bucket is going, and stop; the lease stays this run's
                    // to the end, and goes last, with the bucket. The record goes with the
                    // bucket: from here on the journal is this machine's file only.
                    if let Some(lease) = self.team.as_mut().and_then(|t| t.lease_mut()) {
                        lease.mark_deleting_bucket().await?;
                    }
                    crate::test_hooks::point("deleting-bucket");
                    self.journal.detach();
                    let keep = [super::store::lease::lock_key()];
                    let fence = self.fence();
                    let n = c.empty_bucket(bucket, &keep, fence.as_ref(), &progress).await?;
                    done(format!(
                        "bucket {bucket} emptied: {n} object versions and delete markers deleted"
                    ));
                }
            }
            TeardownAction::PurgeClusterState { bucket, cluster } => {
                if c.bucket_access(bucket).await? == BucketAccess::Yours {
                    let fence = self.fence();
                    let n =
                        c.purge_cluster_state(bucket, cluster, fence.as_ref(), &progress).await?;
                    done(format!(
                        "bucket {bucket} kept; the {n} object versions and delete markers under {cluster}/ deleted"
                    ));
                }
            }
            TeardownAction::DeleteBucket { bucket } => {
                // The team's lease is the bucket's last object; a run that lost it deletes
                // nothing (the fence).
                if let Some(lease) = self.team.as_mut().and_then(|t| t.lease_mut()) {
                    lease.delete_with_bucket().await?;
                }
                if let Err(e) = c.delete_bucket(bucket).await {
                    if e.code.as_deref() != Some("BucketNotEmpty") {
                        return Err(e.into());
                    }
                    let left = c.list_keys(bucket, "").await.unwrap_or_default();
                    return Err(TeardownError::Blocked(format!(
                        "bucket {bucket} was written to while it was being deleted (it holds {}): \
                         it is kept. Another machine (or a program without the team's lock) uses \
                         it; run teardown again once it is done",
                        ownership::describe_foreign(&left)
                    )));
                }
                self.journal.record(Kind::Bucket, bucket, None, State::Deleted).await?;
                done(format!("bucket {bucket} deleted"));
            }
            TeardownAction::DeleteAccessKeys { user } => {
                // Only the plan of a setup that never ran has this action: without a key id
                // there is nothing the wizard knows to be its own.
                return Err(TeardownError::Blocked(format!(
                    "the journal names no access key of user {user} by id: nothing deleted"
                )));
            }
            TeardownAction::DeleteAccessKey { user, key_id } => {
                c.delete_access_key(user, key_id).await?;
                self.mark_key_deleted(user, key_id).await?;
                done(format!("access key {key_id} of user {user} deleted"));
            }
            TeardownAction::RemoveUserFromGroup { user, group } => {
                c.remove_user_from_group(user, group).await?;
                self.journal
                    .record(Kind::IamGroupMembership, user, Some(group), State::Deleted)
                    .await?;
                done(format!("user {user} removed from group {group}"));
            }
            TeardownAction::DeleteUser { user } => {
                // The user cannot go while it is in a group, even one the wizard did not make.
                for group in
                    if c.user_exists(user).await? { c.user_groups(user).await? } else { vec![] }
                {
                    c.remove_user_from_group(user, &group).await?;
                    done(format!("user {user} removed from group {group}"));
                }
                c.delete_user(user).await?;
                self.journal.record(Kind::IamUser, user, None, State::Deleted).await?;
                done(format!("user {user} deleted"));
            }
            TeardownAction::DetachGroupPolicy { group, policy_arn } => {
                c.detach_group_policy(group, policy_arn).await?;
                self.journal
                    .record(Kind::IamPolicyAttachment, group, Some(policy_arn), State::Deleted)
                    .await?;
                done(format!(
                    "policy {} detached from group {group}",
                    policy_arn.rsplit('/').next().unwrap_or(policy_arn)
                ));
            }
            TeardownAction::DeleteGroup { group } => {
                let members = c.group_members(group).await?;
                let left = c.attached_group_policies(group).await.unwrap_or_default();
                if !members.is_empty() || !left.is_empty() {
                    return Err(TeardownError::Blocked(format!(
                        "group {group} still has members ({}) or policies ({}) the wizard did not add; \
                         remove them, or run teardown with --keep-iam",
                        members.join(", "),
                        left.join(", ")
                    )));
                }
                c.delete_group(group).await?;
                self.journal.record(Kind::IamGroup, group, None, State::Deleted).await?;
                done(format!("group {group} deleted"));
            }
            TeardownAction::RemoveProfile { profile } => {
                // The profile may have been pointed at another key since prepare.
                let recorded = |id: &str| {
                    self.journal
                        .entries
                        .iter()
                        .any(|e| e.kind == Kind::AccessKey && e.detail.as_deref() == Some(id))
                };
                if let Some(key) = self.files.read_key(profile)?
                    && !recorded(&key.id)
                {
                    return Err(TeardownError::Blocked(format!(
                        "profile {profile} now holds access key {}, which the wizard did not save: not removed",
                        key.id
                    )));
                }
                if self.files.remove(profile)? {
                    done(format!(
                        "profile {profile} removed from {}",
                        self.files.credentials.display()
                    ));
                }
                self.journal.record(Kind::Profile, profile, None, State::Deleted).await?;
            }
            TeardownAction::DeleteSshKey { private_key } => {
                let private = expand_home(private_key);
                let public = expand_home(&format!("{private_key}.pub"));
                if let Some(why) = self.not_the_generated_key(private_key, &public)? {
                    sink.item(step, Change::Warning, why, started.elapsed());
                    self.journal
                        .record(Kind::SshKey, &format!("{private_key}.pub"), None, State::Left)
                        .await?;
                    return Ok(());
                }
                for path in [&private, &public] {
                    match std::fs::remove_file(path) {
                        Ok(()) => done(format!("{} deleted", path.display())),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(TeardownError::Blocked(format!(
                                "cannot delete {}: {e}",
                                path.display()
                            )));
                        }
                    }
                }
                self.journal
                    .record(Kind::SshKey, &format!("{private_key}.pub"), None, State::Deleted)
                    .await?;
            }
        }
        Ok(())
    }

    /// Why the pair at the path is not the one setup generated (a key the user put there
    /// since, same path, another fingerprint, is theirs and stays), or `None` when it is.
    fn not_the_generated_key(
        &self,
        private_key: &str,
        public: &Path,
    ) -> Result<Option<String>, TeardownError> {
        let id = format!("{private_key}.pub");
        let recorded = self
            .journal
            .entries
            .iter()
            .find(|e| e.kind == Kind::SshKey && e.id == id)
            .and_then(|e| e.fingerprint.clone());
        let Some(recorded) = recorded else {
            return Ok(Some(format!(
                "SSH key {id} kept: the journal has no fingerprint for it (made by an older \
                 kops-wizard, or its generation was interrupted), so it cannot tell it from a key \
                 put there since; delete it by hand if it is the cluster's"
            )));
        };
        let private = expand_home(private_key);
        if !public.exists() {
            // Without its .pub, a private key at that path cannot be told from one put there
            // since: it is never deleted on the record's word alone.
            return Ok(private.exists().then(|| {
                format!(
                    "SSH key {private_key} kept: its {id} is missing, so it cannot be told from a \
                     key put there since; delete it by hand if it is the cluster's"
                )
            }));
        }
        let now = super::cluster::ssh::read_public(public).map(|k| k.fingerprint).map_err(|e| {
            TeardownError::Blocked(format!("cannot read {}: {e}: not deleted", public.display()))
        })?;
        if now != recorded {
            return Ok(Some(format!(
                "SSH key {id} kept: it is not the pair setup generated (it is {now}, setup made \
                 {recorded}), so it was put there since"
            )));
        }
        // The .pub is setup's; the private key beside it must be its pair too.
        if !private.exists() {
            return Ok(None);
        }
        Ok(match super::cluster::ssh::private_fingerprint(&private) {
            Ok(fp) if fp == recorded => None,
            Ok(fp) => Some(format!(
                "SSH key {private_key} kept: it is not the private key of {id} (it is {fp}, setup \
                 made {recorded}), so it was put there since"
            )),
            Err(e) => Some(format!(
                "SSH key {private_key} kept: it cannot be read as the private key of {id} ({e})"
            )),
        })
    }

    /// A client for the cluster's API on fresh admin credentials (the file goes with the third
    /// value).
    async fn kube(
        &self,
    ) -> Result<(kube::Client, String, super::cluster::kubeconfig::FreshAdmin), SmokeError> {
        let store =
            self.journal.state_store.clone().or(self.answers.state_store_url()).unwrap_or_default();
        let kops = self.kops.as_ref().ok_or_else(|| {
            SmokeError::Kubeconfig("kops is needed to reach the cluster's API".into())
        })?;
        super::cluster::kubeconfig::fresh_client(kops, &self.journal.cluster, &store).await
    }

    /// The fence of the team's lock this run holds (none on a machine whose record is its own
    /// file: no bucket, no lock).
    fn fence(&self) -> Option<super::store::lease::Fence> {
        self.team.as_ref().and_then(Team::fence)
    }

    async fn mark_key_deleted(&mut self, user: &str, key_id: &str) -> Result<(), JournalError> {
        if self.journal.find_detail(Kind::AccessKey, user, key_id).is_some() {
            self.journal.record(Kind::AccessKey, user, Some(key_id), State::Deleted).await?;
        }
        Ok(())
    }

    /// `kops delete cluster --yes`, streamed: each deleted resource is an event, and the set
    /// of resources blocked by dependencies is reported when it changes, not on every retry.
    async fn delete_cluster(
        &mut self,
        step: StepId,
        args: &[String],
        a: &Answers,
        sink: &Sink,
    ) -> Result<(), TeardownError> {
        let started = Instant::now();
        let name = a.cluster.name.clone();
        let kops = self
            .kops
            .clone()
            .ok_or_else(|| TeardownError::Blocked("kops is needed to delete the cluster".into()))?
            .fenced(self.fence());
        // The resources of the current round that wait on others, and the set last reported.
        let mut blocked: BTreeSet<String> = BTreeSet::new();
        let mut reported: BTreeSet<String> = BTreeSet::new();
        let events = sink.clone();
        let result = kops
            .run_ok(args, |_, line| {
                tracing::info!(target: "kops", "{line}");
                events.send(Event::Output { step, line: line.to_string() });
                match kops::parse_delete_line(line) {
                    DeleteLine::Deleted(r) => {
                        events.send(Event::CloudDeleted {
                            step,
                            resource: r.clone(),
                            elapsed: started.elapsed(),
                        });
                        events.item(
                            step,
                            Change::Created,
                            format!("{r} deleted"),
                            started.elapsed(),
                        );
                    }
                    DeleteLine::Blocked(r) => {
                        blocked.insert(r);
                    }
                    DeleteLine::Retrying { resource, error } => {
                        events.item(
                            step,
                            Change::Warning,
                            format!("{resource}: {error}; kops retries"),
                            started.elapsed(),
                        );
                        blocked.insert(resource);
                    }
                    // Pending lines repeat what is left, blocked or merely not reached yet.
                    DeleteLine::Pending(_)
                    | DeleteLine::Waiting
                    | DeleteLine::Done
                    | DeleteLine::Other => {}
                }
                if matches!(kops::parse_delete_line(line), DeleteLine::Waiting) {
                    if blocked != reported {
                        events.send(Event::CloudBlocked {
                            step,
                            resources: blocked.iter().cloned().collect(),
                        });
                        let list: Vec<&str> = blocked.iter().map(String::as_str).collect();
                        events.item(
                            step,
                            Change::Warning,
                            format!("blocked by dependencies, kops retries: {}", list.join(", ")),
                            started.elapsed(),
                        );
                        reported = blocked.clone();
                    }
                    blocked.clear();
                }
            })
            .await;
        match result {
            Ok(_) => {
                self.journal.record(Kind::ClusterDeployed, &name, None, State::Deleted).await?;
                self.journal.record(Kind::Cluster, &name, None, State::Deleted).await?;
                sink.item(
                    step,
                    Change::Created,
                    format!("cluster {name} deleted"),
                    started.elapsed(),
                );
                Ok(())
            }
            Err(error) => Err(TeardownError::ClusterDelete { cluster: name, error }),
        }
    }

    /// Deletes the cluster's Services of type LoadBalancer while its cloud controller still
    /// runs, so their load balancers go before kops deletes the subnets and security groups
    /// they hold (kops's delete otherwise loops on the dependency). The controller gets a
    /// bounded wait ([`controller_wait`]) to remove them; what it has not removed by then (it
    /// crash-loops, the nodes are gone) is deleted directly, with its listeners and target
    /// groups, and so is everything tagged for a Service when the API does not answer. Either
    /// way one run goes on to `kops delete cluster`: a broken cluster can always be torn down.
    async fn delete_services(
        &mut self,
        step: StepId,
        cluster: &str,
        sink: &Sink,
    ) -> Result<(), TeardownError> {
        let started = Instant::now();
        let cloud = Cloud::new(&self.clients);
        let said = |what: String| sink.item(step, Change::Created, what, started.elapsed());
        let warn = |what: String| sink.item(step, Change::Warning, what, started.elapsed());
        let before = cloud.service_balancers(cluster).await?;
        // Asked again with fresh admin credentials: prepare's answer may be minutes old.
        let api = async {
            let (client, server, _admin) = self.kube().await?;
            let made = smoke::cloud_made_by(&client, &server).await?;
            Ok::<_, SmokeError>((client, server, made))
        };
        let direct = match api.await {
            Ok((client, server, made)) => {
                smoke::delete_services(&client, &server, &made.services).await?;
                for (name, _) in &made.services {
                    said(format!("Service {name} deleted"));
                }
                let arns: Vec<String> = before.iter().map(|lb| lb.arn.clone()).collect();
                let wait = controller_wait();
                let left = cloud.wait_balancers_gone(cluster, &arns, wait).await?;
                if !left.is_empty() {
                    let names: Vec<&str> = left.iter().map(|lb| lb.name.as_str()).collect();
                    warn(format!(
                        "the cluster's cloud controller did not remove {} within {} of its \
                         Service's deletion (crash-looping, or its nodes are gone): deleted \
                         directly, with its listeners and target groups",
                        names.join(", "),
                        crate::rules::format_duration(wait)
                    ));
                }
                left
            }
            Err(e) => {
                warn(format!(
                    "the cluster's API cannot be used ({e}): the load balancers tagged for its \
                     Services are deleted directly"
                ));
                before.clone()
            }
        };
        for lb in &direct {
            cloud.delete_service_balancer(cluster, lb).await?;
            said(format!("load balancer {} and its target groups deleted", lb.name));
        }
        // Gone from ELBv2, as AWS says (a deletion takes a moment to show).
        let arns: Vec<String> = before.iter().map(|lb| lb.arn.clone()).collect();
        let left = cloud.wait_balancers_gone(cluster, &arns, Duration::from_secs(60)).await?;
        if !left.is_empty() {
            let names: Vec<&str> = left.iter().map(|lb| lb.name.as_str()).collect();
            return Err(TeardownError::Blocked(format!(
                "the load balancers of the cluster's Services were still there a minute after \
                 they were deleted: {}. Nothing else was deleted; run teardown again",
                names.join(", ")
            )));
        }
        if !before.is_empty() {
            said(format!("{} load balancer(s) of the cluster's Services gone", before.len()));
        }
        Ok(())
    }

    /// What AWS itself still has for the cluster, after kops's delete: every kind asked at
    /// once. The disks of PersistentVolumes are kept (and named) unless `--delete-volumes`; a
    /// kind AWS would not answer for is named too, as nothing is proved about it.
    ///
    /// Asked whenever the cluster was the wizard's (and not refused), also when its state in
    /// the bucket is already gone (deleted by hand, a lifecycle rule): a cluster whose state is
    /// gone can still have instances running.
    pub async fn cloud_left(&self, plan: &TeardownPlan) -> (Vec<String>, Vec<String>) {
        let name = &self.journal.cluster;
        let wizards = self
            .journal
            .find(Kind::Cluster, name)
            .is_some_and(|e| e.by_wizard() && self.holds.reason(e).is_none());
        let deletes = plan.actions().any(|x| matches!(x, TeardownAction::DeleteCluster { .. }));
        if !deletes && !wizards {
            return (Vec::new(), Vec::new());
        }
        let zone = self.journal.cluster_settings.as_ref().and_then(|s| s.dns_zone.clone()).or(self
            .answers
            .cluster
            .dns_zone
            .clone());
        let started = Instant::now();
        let (found, unasked) =
            Cloud::new(&self.clients).left(&self.journal.cluster, zone.as_deref()).await;
        tracing::info!(
            target: "teardown",
            took_ms = started.elapsed().as_millis() as u64,
            found = found.len(),
            unasked = unasked.len(),
            "cloud check"
        );
        let keep_volumes = !self.opts.delete_volumes;
        let (kept, left): (Vec<Found>, Vec<Found>) =
            found.into_iter().partition(|f| keep_volumes && f.is_volume_of_pv());
        let mut lines: Vec<String> =
            left.iter().map(|f| format!("{} (tagged for the cluster)", f.describe())).collect();
        lines.extend(
            unasked.iter().map(|(kind, e)| {
                format!("{}s: not checked, AWS did not answer ({e})", kind.noun())
            }),
        );
        (lines, kept.iter().map(Found::describe).collect())
    }

    /// Looks in AWS (and the state store) for everything the plan deleted.
    async fn leftovers(&self, plan: &TeardownPlan) -> Result<Vec<String>, TeardownError> {
        let c = &self.clients;
        let name = &self.journal.cluster;
        let mut left = Vec::new();
        for action in plan.actions() {
            // A kept bucket's part for this cluster: its own question.
            if let TeardownAction::PurgeClusterState { bucket, cluster } = action
                && c.bucket_access(bucket).await? == BucketAccess::Yours
                && c.purge_cluster_state_count(bucket, cluster).await? > 0
            {
                left.push(format!("object versions under {cluster}/ in bucket {bucket}"));
            }
            let Some(r) = action.deletes(name) else { continue };
            if super::team::kinds::exists_now(c, &self.files, &self.journal, &r).await?
                != Some(true)
            {
                continue;
            }
            left.push(match r.kind {
                Kind::Cluster => {
                    let store = self.journal.state_store.clone().unwrap_or_default();
                    format!("cluster {name} is still in {store}")
                }
                Kind::Bucket => format!("bucket {}", r.id),
                Kind::AccessKey => {
                    format!("access key {} of user {}", r.detail.unwrap_or_default(), r.id)
                }
                Kind::IamGroup
                | Kind::IamUser
                | Kind::IamPolicyAttachment
                | Kind::IamGroupMembership
                | Kind::Profile
                | Kind::SshKey
                | Kind::BucketVersioning
                | Kind::BucketEncryption
                | Kind::BucketPublicAccessBlock
                | Kind::ClusterDeployed => format!("{} {}", r.kind.label(), r.id),
            });
        }
        Ok(left)
    }

    /// After the last step: what this cluster kept is released (made here, used elsewhere)
    /// or left (there before); the cluster's validation result no longer describes anything;
    /// the teardown record says how it ended.
    ///
    /// What was refused stays in use in the record: the record claims it, the resource cannot
    /// prove it, and nothing about it changed. The machine that made it (whose own copy is the
    /// proof) can still tear it down; every other teardown says so again.
    async fn finish(&mut self, started: String, leftovers: &[String]) -> Result<(), TeardownError> {
        let refused = self.holds.refusals();
        let held = |e: &crate::journal::Entry| {
            let parent = match e.kind {
                Kind::ClusterDeployed => Kind::Cluster,
                Kind::BucketVersioning | Kind::BucketEncryption | Kind::BucketPublicAccessBlock => {
                    Kind::Bucket
                }
                other => other,
            };
            self.holds.refused.iter().any(|(r, _)| r.kind == parent && r.id == e.id)
        };
        if leftovers.is_empty() {
            let settled: Vec<_> = self
                .journal
                .entries
                .iter()
                .filter(|e| e.kind.torn_down() && e.in_use() && !held(e))
                .map(|e| {
                    let state = if e.state == State::Found && !self.holds.inherited(e) {
                        State::Left
                    } else {
                        State::Released
                    };
                    (e.kind, e.id.clone(), e.detail.clone(), state)
                })
                .collect();
            for (kind, id, detail, state) in settled {
                self.journal.record(kind, &id, detail.as_deref(), state).await?;
            }
            let deployed: Vec<_> = self
                .journal
                .entries
                .iter()
                .filter(|e| !e.kind.torn_down() && e.in_use() && !held(e))
                .map(|e| (e.kind, e.id.clone(), e.detail.clone()))
                .collect();
            for (kind, id, detail) in deployed {
                // Bucket settings and the deployment went with their bucket and cluster, or
                // stay with a bucket that is no longer this cluster's.
                self.journal.record(kind, &id, detail.as_deref(), State::Left).await?;
            }
        }
        self.journal.last_validation = None;
        self.journal
            .set_teardown(TeardownRecord {
                started,
                finished: (leftovers.is_empty() && refused.is_empty()).then(crate::journal::now),
                stopped: match (leftovers.is_empty(), refused.is_empty()) {
                    (false, _) => Some("leftovers found by the final check".into()),
                    (true, false) => {
                        Some("refused what the record claims and the resources cannot prove".into())
                    }
                    (true, true) => None,
                },
                leftovers: leftovers.to_vec(),
                refused,
                by: None,
            })
            .await?;
        Ok(())
    }
}
