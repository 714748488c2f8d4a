//! The plan: answers (and later the journal) turned into ordered Steps of Actions, as data.
//! The engine executes a Plan; `script` renders the same Plan as a bash script, so what
//! `kops-wizard plan` prints is what setup does.

pub mod kops_args;
pub mod script;
pub mod shell;
pub mod smoke;

use clap::ValueEnum;

use self::kops_args as kops;
use crate::answers::{Answers, KeyType};
use crate::journal::{Entry, Journal, Kind, State};
use crate::text::departs;

/// Stands in for the bucket name when the answers do not give one (only the plan uses it).
pub const BUCKET_PLACEHOLDER: &str = "<state_store.bucket>";

/// The setup steps, in the order they run; `--only` selects among them. The state bucket comes
/// first: the team's lock lives in it, and everything after it (IAM included, which the team
/// shares) changes under that lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum SetupStep {
    StateStore,
    Credentials,
    SshKey,
    Cluster,
    Deploy,
    /// Joining a cluster that exists: `kops export kubeconfig --admin` for this engineer. Not
    /// an `--only` choice: a join is decided by what the state store holds.
    #[value(skip)]
    Kubeconfig,
    Validate,
    /// Two pods must answer through a Network Load Balancer (`cluster.smoke_test`).
    SmokeTest,
}

/// The teardown steps, in the order they run. The state bucket goes last: the team's lock
/// lives in it, and every other change is made under that lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeardownStep {
    /// The Services of type LoadBalancer, so their load balancers go before the cluster.
    DeleteServices,
    DeleteCluster,
    DeleteIam,
    RemoveProfile,
    DeleteSshKey,
    DeleteStateStore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepId {
    Setup(SetupStep),
    Teardown(TeardownStep),
}

impl StepId {
    /// The short name progress lines use.
    pub fn short(self) -> &'static str {
        match self {
            StepId::Setup(s) => match s {
                SetupStep::Credentials => "iam",
                SetupStep::StateStore => "state-store",
                SetupStep::SshKey => "ssh-key",
                SetupStep::Cluster => "cluster",
                SetupStep::Deploy => "deploy",
                SetupStep::Kubeconfig => "kubeconfig",
                SetupStep::Validate => "validate",
                SetupStep::SmokeTest => "smoke-test",
            },
            StepId::Teardown(t) => match t {
                TeardownStep::DeleteServices => "delete-services",
                TeardownStep::DeleteCluster => "delete-cluster",
                TeardownStep::DeleteStateStore => "delete-bucket",
                TeardownStep::DeleteIam => "delete-iam",
                TeardownStep::RemoveProfile => "remove-profile",
                TeardownStep::DeleteSshKey => "delete-ssh-key",
            },
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            StepId::Setup(s) => match s {
                SetupStep::Credentials => {
                    "IAM: the kops group, its policies, the kops user and its access key"
                }
                SetupStep::StateStore => "State store: a versioned S3 bucket for kops's state",
                SetupStep::SshKey => "SSH key for the cluster's instances",
                SetupStep::Cluster => "Cluster: kops create cluster",
                SetupStep::Deploy => "Deploy: kops update cluster --yes --admin",
                SetupStep::Kubeconfig => "Kubeconfig: kops export kubeconfig --admin",
                SetupStep::Validate => "Validate: wait until the cluster is ready",
                SetupStep::SmokeTest => {
                    "Smoke test: two pods answer through a Network Load Balancer"
                }
            },
            StepId::Teardown(t) => match t {
                TeardownStep::DeleteServices => "Kubernetes: Services' load balancers first",
                TeardownStep::DeleteCluster => "Cluster: kops delete cluster",
                TeardownStep::DeleteStateStore => {
                    "State store: every object version, every delete marker, then the bucket"
                }
                TeardownStep::DeleteIam => {
                    "IAM: access keys, group membership, user, policy attachments, group"
                }
                TeardownStep::RemoveProfile => "The saved AWS profile",
                TeardownStep::DeleteSshKey => "The SSH key pair",
            },
        }
    }
}

/// One change (or check) setup makes, as data. Setup's actions and teardown's are types of
/// their own: a step of one cannot reach the other's engine, and every match over either is
/// exhaustive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupAction {
    CreateGroup {
        group: String,
    },
    AttachGroupPolicy {
        group: String,
        policy_arn: String,
    },
    CreateUser {
        user: String,
    },
    AddUserToGroup {
        user: String,
        group: String,
    },
    /// Create an access key for `user` and save it as `profile` (with `region`).
    CreateAccessKey {
        user: String,
        profile: String,
        region: String,
    },
    CreateBucket {
        bucket: String,
        region: String,
    },
    EnableVersioning {
        bucket: String,
    },
    EnableEncryption {
        bucket: String,
    },
    BlockPublicAccess {
        bucket: String,
    },
    /// Generate the pair unless the private key exists (never overwrite).
    GenerateSshKey {
        private_key: String,
        key_type: KeyType,
    },
    /// Use an existing public key; fails when it is missing.
    UseSshKey {
        public_key: String,
    },
    /// Run kops as the kops user (`AWS_PROFILE` = the kops profile, key variables cleared).
    Kops {
        purpose: KopsPurpose,
        args: Vec<String>,
    },
    /// Poll `kops validate cluster -o json` until ready or `wait` runs out.
    Validate {
        cluster: String,
        state_store: String,
        wait: String,
        interval: String,
    },
    /// The smoke test: a namespace of the wizard's with two pods of `image` behind a Service
    /// of type LoadBalancer (an NLB), waited for until both pods answer through it.
    SmokeTest {
        cluster: String,
        image: String,
    },
}

/// One deletion (or look) teardown makes, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeardownAction {
    /// Every Service of type LoadBalancer in the cluster (the smoke test's namespace first),
    /// waiting until their load balancers are gone; without an API, the load balancers and
    /// target groups tagged for the cluster's Services directly.
    DeleteServices {
        cluster: String,
    },
    /// `kops delete cluster` without `--yes`: kops's list of the cluster's cloud resources
    /// (read in prepare; nothing to do when the plan runs).
    PreviewDelete {
        args: Vec<String>,
    },
    /// `kops delete cluster --yes`, as the kops user.
    DeleteCluster {
        args: Vec<String>,
    },
    /// `--delete-volumes`: the EBS volumes PersistentVolumes made, tagged for the cluster.
    DeleteVolumes {
        cluster: String,
    },
    EmptyBucket {
        bucket: String,
    },
    /// Every version and delete marker under `<cluster>/` of a bucket that stays.
    PurgeClusterState {
        bucket: String,
        cluster: String,
    },
    DeleteBucket {
        bucket: String,
    },
    /// Every access key of a user the wizard created (the user cannot go while one is left).
    DeleteAccessKeys {
        user: String,
    },
    /// One access key the wizard created for a user it found.
    DeleteAccessKey {
        user: String,
        key_id: String,
    },
    RemoveUserFromGroup {
        user: String,
        group: String,
    },
    DeleteUser {
        user: String,
    },
    DetachGroupPolicy {
        group: String,
        policy_arn: String,
    },
    DeleteGroup {
        group: String,
    },
    RemoveProfile {
        profile: String,
    },
    DeleteSshKey {
        private_key: String,
    },
}

/// What a setup kops call is for: the engine makes each idempotent in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KopsPurpose {
    CreateCluster,
    UpdateCluster,
    /// `kops export kubeconfig --admin`: access to a cluster that exists, changing nothing.
    ExportKubeconfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<A> {
    pub id: StepId,
    pub actions: Vec<A>,
    /// Where this step departs from the team's old procedure, and why.
    pub departs: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    Setup,
    Teardown,
}

/// The actions a plan is made of: setup's or teardown's.
pub trait PlanAction: Clone + std::fmt::Debug + PartialEq + Eq {
    const KIND: PlanKind;
}

impl PlanAction for SetupAction {
    const KIND: PlanKind = PlanKind::Setup;
}

impl PlanAction for TeardownAction {
    const KIND: PlanKind = PlanKind::Teardown;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<A> {
    pub steps: Vec<Step<A>>,
    /// Answers the plan had to fill with a placeholder, by key.
    pub placeholders: Vec<&'static str>,
    /// Teardown: what stays, and why (there before the wizard, or a --keep flag).
    pub kept: Vec<String>,
}

pub type SetupPlan = Plan<SetupAction>;
pub type TeardownPlan = Plan<TeardownAction>;

impl<A: PlanAction> Plan<A> {
    pub fn kind(&self) -> PlanKind {
        A::KIND
    }

    /// A plan that does nothing.
    pub fn empty() -> Plan<A> {
        Plan { steps: Vec::new(), placeholders: Vec::new(), kept: Vec::new() }
    }

    pub fn actions(&self) -> impl Iterator<Item = &A> {
        self.steps.iter().flat_map(|s| s.actions.iter())
    }
}

fn is_iam(kind: Kind) -> bool {
    match kind {
        Kind::IamGroup
        | Kind::IamUser
        | Kind::IamGroupMembership
        | Kind::IamPolicyAttachment
        | Kind::AccessKey
        | Kind::Profile => true,
        Kind::Bucket
        | Kind::BucketVersioning
        | Kind::BucketEncryption
        | Kind::BucketPublicAccessBlock
        | Kind::SshKey
        | Kind::Cluster
        | Kind::ClusterDeployed => false,
    }
}

/// A resource as the journal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: Kind,
    pub id: String,
    pub detail: Option<String>,
}

impl Resource {
    pub fn of(e: &Entry) -> Resource {
        Resource { kind: e.kind, id: e.id.clone(), detail: e.detail.clone() }
    }

    fn is(&self, e: &Entry) -> bool {
        self.kind == e.kind && self.id == e.id && self.detail == e.detail
    }

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

impl TeardownAction {
    /// The resource this action deletes, as the journal names it: what teardown's final check
    /// looks for. `None` for what deletes nothing of its own (a preview), goes with something
    /// else (a bucket's contents), or is looked for another way (the cluster's tagged cloud).
    pub fn deletes(&self, cluster: &str) -> Option<Resource> {
        let r = |kind, id: &str, detail: Option<&str>| {
            Some(Resource { kind, id: id.to_string(), detail: detail.map(str::to_string) })
        };
        match self {
            TeardownAction::DeleteCluster { .. } => r(Kind::Cluster, cluster, None),
            TeardownAction::DeleteBucket { bucket } => r(Kind::Bucket, bucket, None),
            TeardownAction::DeleteUser { user } => r(Kind::IamUser, user, None),
            TeardownAction::DeleteAccessKey { user, key_id } => {
                r(Kind::AccessKey, user, Some(key_id))
            }
            TeardownAction::DeleteGroup { group } => r(Kind::IamGroup, group, None),
            TeardownAction::RemoveProfile { profile } => r(Kind::Profile, profile, None),
            // A key pair that is not the one setup generated is kept with a warning, so the
            // pair's presence says nothing; a plan with no key id deletes nothing; a membership
            // or an attachment goes with its user or group.
            TeardownAction::DeleteServices { .. }
            | TeardownAction::DeleteVolumes { .. }
            | TeardownAction::PreviewDelete { .. }
            | TeardownAction::EmptyBucket { .. }
            | TeardownAction::PurgeClusterState { .. }
            | TeardownAction::DeleteAccessKeys { .. }
            | TeardownAction::RemoveUserFromGroup { .. }
            | TeardownAction::DetachGroupPolicy { .. }
            | TeardownAction::DeleteSshKey { .. } => None,
        }
    }
}

/// What the engine found before planning a teardown, beyond this cluster's journal: what must
/// stay although this cluster's setup made it (another cluster still uses it, or it no longer
/// carries the wizard's mark), and what this teardown inherits (found by this setup, made by
/// the wizard for a cluster since torn down, and used by nobody else).
///
/// A refusal is a hold of its own kind: the record names the resource as the wizard's, and the
/// resource cannot prove it (no mark naming the cluster, a policy the wizard never attaches, a
/// cluster made elsewhere without the wizard's tag). It is kept like any hold, and a teardown
/// that refused something says so and ends with exit 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holds {
    pub keep: Vec<(Resource, String)>,
    pub inherit: Vec<Resource>,
    pub refused: Vec<(Resource, String)>,
}

impl Holds {
    pub fn keep(&mut self, e: &Entry, why: impl Into<String>) {
        if self.reason(e).is_none() {
            self.keep.push((Resource::of(e), why.into()));
        }
    }

    /// Keeps it, and says the record claimed what the resource cannot prove.
    pub fn refuse(&mut self, e: &Entry, why: impl Into<String>) {
        if self.reason(e).is_none() {
            self.refused.push((Resource::of(e), why.into()));
        }
    }

    pub fn reason(&self, e: &Entry) -> Option<&str> {
        self.keep
            .iter()
            .chain(self.refused.iter())
            .find(|(r, _)| r.is(e))
            .map(|(_, why)| why.as_str())
    }

    /// Each refusal in words: "IAM user alice: its mark names cluster \"prod\"; refused".
    pub fn refusals(&self) -> Vec<String> {
        self.refused.iter().map(|(r, why)| format!("{}: {why}", r.describe())).collect()
    }

    pub fn inherited(&self, e: &Entry) -> bool {
        self.inherit.iter().any(|r| r.is(e))
    }

    /// Whether teardown deletes it: this cluster's setup made it (or inherited it), and
    /// nothing holds it.
    pub fn deletable(&self, e: &Entry) -> bool {
        let ours = matches!(e.state, State::Created | State::Intent)
            || (e.state == State::Found && self.inherited(e));
        ours && self.reason(e).is_none()
    }
}

/// The journal a setup of these answers would write, for the plan of a teardown before any
/// setup ran.
fn assumed_journal(a: &Answers, bucket: &str) -> Journal {
    let mut j = Journal::detached(&a.cluster.name, &a.aws.region);
    j.state_store = Some(format!("s3://{bucket}"));
    let (group, user) = (&a.iam.group, &a.iam.user);
    let mut add = |kind, id: &str, detail: Option<&str>| j.push(kind, id, detail, State::Created);
    add(Kind::Cluster, &a.cluster.name, None);
    add(Kind::Bucket, bucket, None);
    add(Kind::IamGroup, group, None);
    for arn in &a.iam.policies {
        add(Kind::IamPolicyAttachment, group, Some(arn));
    }
    add(Kind::IamUser, user, None);
    add(Kind::IamGroupMembership, user, Some(group));
    add(Kind::AccessKey, user, None);
    add(Kind::Profile, &a.aws.kops_profile, None);
    add(Kind::SshKey, &a.ssh.public_key, None);
    j
}

/// What teardown keeps (the `teardown` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeardownOptions {
    pub keep_bucket: bool,
    pub keep_iam: bool,
    pub delete_ssh_key: bool,
    /// Delete the EBS volumes PersistentVolumes made (kept and named otherwise).
    pub delete_volumes: bool,
}

/// Waiting for the cluster to validate, as the answers say.
fn validate(a: &Answers, state_store: &str) -> SetupAction {
    SetupAction::Validate {
        cluster: a.cluster.name.clone(),
        state_store: state_store.to_string(),
        wait: a.validate.wait.clone(),
        interval: a.validate.interval.clone(),
    }
}

fn bucket_or_placeholder(a: &Answers) -> (String, Vec<&'static str>) {
    match &a.state_store.bucket {
        Some(bucket) => (bucket.clone(), Vec::new()),
        None => (BUCKET_PLACEHOLDER.to_string(), vec!["state_store.bucket"]),
    }
}

impl Plan<SetupAction> {
    /// Every setup step for these answers, or only those in `only` when it is not empty.
    pub fn setup(a: &Answers, only: &[SetupStep]) -> Self {
        let (bucket, placeholders) = bucket_or_placeholder(a);
        let state_store = format!("s3://{bucket}");
        let profile = a.aws.kops_profile.clone();
        let (group, user) = (a.iam.group.clone(), a.iam.user.clone());

        let mut credentials = vec![SetupAction::CreateGroup { group: group.clone() }];
        credentials.extend(a.iam.policies.iter().map(|arn| SetupAction::AttachGroupPolicy {
            group: group.clone(),
            policy_arn: arn.clone(),
        }));
        credentials.extend([
            SetupAction::CreateUser { user: user.clone() },
            SetupAction::AddUserToGroup { user: user.clone(), group: group.clone() },
            SetupAction::CreateAccessKey {
                user,
                profile: profile.clone(),
                region: a.aws.region.clone(),
            },
        ]);

        let mut state = vec![SetupAction::CreateBucket {
            bucket: bucket.clone(),
            region: a.aws.region.clone(),
        }];
        let s = &a.state_store;
        let bucket_settings = [
            (s.versioning, SetupAction::EnableVersioning { bucket: bucket.clone() }),
            (s.encryption, SetupAction::EnableEncryption { bucket: bucket.clone() }),
            (s.block_public_access, SetupAction::BlockPublicAccess { bucket: bucket.clone() }),
        ];
        state.extend(bucket_settings.into_iter().filter_map(|(on, action)| on.then_some(action)));

        let ssh = if a.ssh.generate {
            SetupAction::GenerateSshKey {
                private_key: a.ssh.private_key(),
                key_type: a.ssh.key_type,
            }
        } else {
            SetupAction::UseSshKey { public_key: a.ssh.public_key.clone() }
        };

        let name = a.cluster.name.clone();
        let kops = |purpose, args| SetupAction::Kops { purpose, args };
        let steps = vec![
            (SetupStep::StateStore, state, vec![departs::ENCRYPTION, departs::BUCKET_FIRST]),
            (SetupStep::Credentials, credentials, vec![departs::POLICIES, departs::ACCESS_KEY]),
            (SetupStep::SshKey, vec![ssh], vec![departs::SSH_KEY]),
            (
                SetupStep::Cluster,
                vec![kops(
                    KopsPurpose::CreateCluster,
                    kops::create_cluster_args(a, &state_store, &a.ssh.public_key),
                )],
                vec![departs::CREATE_CLUSTER],
            ),
            (
                SetupStep::Deploy,
                vec![kops(
                    KopsPurpose::UpdateCluster,
                    kops::update_cluster_args(&name, &state_store),
                )],
                vec![departs::UPDATE],
            ),
            (SetupStep::Validate, vec![validate(a, &state_store)], vec![departs::VALIDATE]),
            (
                SetupStep::SmokeTest,
                match a.cluster.smoke_test {
                    true => vec![SetupAction::SmokeTest {
                        cluster: name.clone(),
                        image: a.cluster.smoke_image.clone(),
                    }],
                    false => Vec::new(),
                },
                vec![departs::SMOKE_TEST],
            ),
        ];
        let steps = steps
            .into_iter()
            .filter(|(id, actions, _)| {
                !actions.is_empty() && (only.is_empty() || only.contains(id))
            })
            .map(|(id, actions, departs)| Step { id: StepId::Setup(id), actions, departs })
            .collect();
        Plan { steps, placeholders, kept: Vec::new() }
    }

    /// Joining a cluster that is already in the state store and is not this machine's: this
    /// engineer's own IAM user in the kops group (its key saved as the profile), a kubeconfig,
    /// and a validation, which only reads. Nothing of the cluster, the bucket or the group
    /// changes.
    pub fn join(a: &Answers, member_user: &str, only: &[SetupStep]) -> Self {
        let (bucket, placeholders) = bucket_or_placeholder(a);
        let state_store = format!("s3://{bucket}");
        let (group, user) = (a.iam.group.clone(), member_user.to_string());
        let name = a.cluster.name.clone();
        let credentials = vec![
            SetupAction::CreateUser { user: user.clone() },
            SetupAction::AddUserToGroup { user: user.clone(), group },
            SetupAction::CreateAccessKey {
                user,
                profile: a.aws.kops_profile.clone(),
                region: a.aws.region.clone(),
            },
        ];
        let steps = vec![
            (SetupStep::Credentials, credentials),
            (
                SetupStep::Kubeconfig,
                vec![SetupAction::Kops {
                    purpose: KopsPurpose::ExportKubeconfig,
                    args: kops::export_kubeconfig_args(&name, &state_store),
                }],
            ),
            (SetupStep::Validate, vec![validate(a, &state_store)]),
        ];
        let steps = steps
            .into_iter()
            .filter(|(id, _)| only.is_empty() || only.contains(id))
            .map(|(id, actions)| Step { id: StepId::Setup(id), actions, departs: Vec::new() })
            .collect();
        Plan { steps, placeholders, kept: Vec::new() }
    }

    /// Whether this is a join: a setup plan that creates no cluster and exports a kubeconfig.
    pub fn is_join(&self) -> bool {
        self.actions()
            .any(|x| matches!(x, SetupAction::Kops { purpose: KopsPurpose::ExportKubeconfig, .. }))
    }
}

impl Plan<TeardownAction> {
    /// Teardown, from the journal: what this cluster's setup created (whatever the answers
    /// say now), less what `holds` keeps, in the order that AWS allows (cluster, bucket,
    /// access keys, memberships, users, policy attachments, groups, profiles, SSH key), and a
    /// list of what is kept and why. Without a journal (the plan of a setup that has not
    /// run): everything setup would create for these answers.
    pub fn teardown(
        a: &Answers,
        journal: Option<&Journal>,
        opts: TeardownOptions,
        holds: &Holds,
    ) -> Self {
        let (bucket, placeholders) = bucket_or_placeholder(a);
        let assumed;
        let journal = match journal {
            Some(j) => j,
            None => {
                assumed = assumed_journal(a, &bucket);
                &assumed
            }
        };
        let name = &journal.cluster;
        let state_store = journal.state_store.clone().unwrap_or(format!("s3://{bucket}"));
        let mut kept = Vec::new();
        let held = |e: &Entry| holds.reason(e);
        let deletable = |e: &Entry| holds.deletable(e);
        // What stays, and why: refused (the record claims what the resource cannot prove),
        // held by the engine's checks, or there before this setup.
        for e in journal.entries.iter().filter(|e| e.kind.torn_down()) {
            if holds.refused.iter().any(|(r, _)| r.is(e)) {
                let why = held(e).unwrap_or_default();
                kept.push(format!("refused: {}: {why}", Resource::of(e).describe()));
            } else if let Some(why) = held(e) {
                kept.push(format!("{}: {why}", Resource::of(e).describe()));
            } else if e.state == State::Found && !holds.inherited(e) {
                kept.push(format!("{}: it was there before this cluster's setup", e.describe()));
            }
        }
        let of = |kind: Kind| journal.entries.iter().filter(move |e| e.kind == kind);
        let mut steps = Vec::new();
        let mut step = |id, actions: Vec<TeardownAction>, departs| {
            if !actions.is_empty() {
                steps.push(Step { id: StepId::Teardown(id), actions, departs });
            }
        };

        let cluster_deleted = of(Kind::Cluster).any(deletable);
        let cluster_kept = of(Kind::Cluster).any(|e| e.in_use() && !deletable(e));
        if cluster_deleted {
            step(
                TeardownStep::DeleteServices,
                vec![TeardownAction::DeleteServices { cluster: name.clone() }],
                vec![],
            );
        }
        let mut actions = Vec::new();
        if cluster_deleted {
            actions.push(TeardownAction::PreviewDelete {
                args: kops::delete_cluster_args(name, &state_store, false),
            });
            actions.push(TeardownAction::DeleteCluster {
                args: kops::delete_cluster_args(name, &state_store, true),
            });
            if opts.delete_volumes {
                actions.push(TeardownAction::DeleteVolumes { cluster: name.clone() });
            }
        }
        step(TeardownStep::DeleteCluster, actions, vec![]);

        let mut iam = Vec::new();
        if opts.keep_iam {
            if journal.entries.iter().any(|e| is_iam(e.kind) && deletable(e)) {
                kept.push("IAM group, user, access key and profile: --keep-iam".into());
            }
        } else {
            let users: Vec<&str> =
                of(Kind::IamUser).filter(|e| deletable(e)).map(|e| e.id.as_str()).collect();
            for e in of(Kind::AccessKey).filter(|e| deletable(e)) {
                match &e.detail {
                    Some(key_id) => iam.push(TeardownAction::DeleteAccessKey {
                        user: e.id.clone(),
                        key_id: key_id.clone(),
                    }),
                    // Only the plan of a setup that has not run: the key's id is not known.
                    None => iam.push(TeardownAction::DeleteAccessKeys { user: e.id.clone() }),
                }
            }
            for e in of(Kind::IamGroupMembership).filter(|e| deletable(e)) {
                if let Some(group) = &e.detail {
                    iam.push(TeardownAction::RemoveUserFromGroup {
                        user: e.id.clone(),
                        group: group.clone(),
                    });
                }
            }
            iam.extend(
                users.iter().map(|user| TeardownAction::DeleteUser { user: user.to_string() }),
            );
            for e in of(Kind::IamPolicyAttachment).filter(|e| deletable(e)) {
                if let Some(arn) = &e.detail {
                    iam.push(TeardownAction::DetachGroupPolicy {
                        group: e.id.clone(),
                        policy_arn: arn.clone(),
                    });
                }
            }
            iam.extend(
                of(Kind::IamGroup)
                    .filter(|e| deletable(e))
                    .map(|e| TeardownAction::DeleteGroup { group: e.id.clone() }),
            );
        }
        step(TeardownStep::DeleteIam, iam, vec![]);

        let mut actions = Vec::new();
        if !opts.keep_iam {
            actions.extend(
                of(Kind::Profile)
                    .filter(|e| deletable(e))
                    .map(|e| TeardownAction::RemoveProfile { profile: e.id.clone() }),
            );
        }
        step(TeardownStep::RemoveProfile, actions, vec![]);

        let mut actions = Vec::new();
        for e in of(Kind::SshKey).filter(|e| deletable(e)) {
            if opts.delete_ssh_key {
                let private_key = e.id.strip_suffix(".pub").unwrap_or(&e.id).to_string();
                actions.push(TeardownAction::DeleteSshKey { private_key });
            } else {
                kept.push(format!("SSH key {}: pass --delete-ssh-key to delete it", e.id));
            }
        }
        step(TeardownStep::DeleteSshKey, actions, vec![]);

        let mut actions = Vec::new();
        for e in of(Kind::Bucket).filter(|e| e.in_use()) {
            let bucket = e.id.clone();
            if deletable(e) && !opts.keep_bucket && !cluster_kept {
                actions.push(TeardownAction::EmptyBucket { bucket: bucket.clone() });
                actions.push(TeardownAction::DeleteBucket { bucket });
                continue;
            }
            if deletable(e) && opts.keep_bucket {
                kept.push(format!("{}: --keep-bucket", e.describe()));
            } else if deletable(e) {
                kept.push(format!(
                    "{}: it holds the state of cluster {name}, which is kept",
                    e.describe()
                ));
            }
            // The bucket stays, but the deleted cluster's old object versions (its secrets
            // among them) would stay with it: they go.
            if cluster_deleted {
                actions.push(TeardownAction::PurgeClusterState { bucket, cluster: name.clone() });
            }
        }
        step(TeardownStep::DeleteStateStore, actions, vec![departs::VERSIONED_BUCKET]);

        Plan { steps, placeholders, kept }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers() -> Answers {
        let mut a = Answers::default();
        a.state_store.bucket = Some("acme-kops-state".into());
        a
    }

    #[test]
    fn a_join_changes_nothing_of_the_cluster() {
        let plan = Plan::join(&answers(), "kops-alice-1a2b3c", &[]);
        assert!(plan.is_join());
        assert!(!Plan::setup(&answers(), &[]).is_join());
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id.short()).collect();
        assert_eq!(ids, ["iam", "kubeconfig", "validate"]);
        // No create, update, SSH key, bucket or group change: only this engineer's user.
        for action in plan.actions() {
            match action {
                SetupAction::CreateUser { user } | SetupAction::CreateAccessKey { user, .. } => {
                    assert_eq!(user, "kops-alice-1a2b3c")
                }
                SetupAction::AddUserToGroup { user, group } => {
                    assert_eq!((user.as_str(), group.as_str()), ("kops-alice-1a2b3c", "kops"))
                }
                SetupAction::Kops { purpose, args } => {
                    assert_eq!(*purpose, KopsPurpose::ExportKubeconfig);
                    assert_eq!(args[..2], ["export", "kubeconfig"]);
                    assert!(args.contains(&"--admin".to_string()));
                }
                SetupAction::Validate { .. } => {}
                other => panic!("a join must not {other:?}"),
            }
        }
    }

    #[test]
    fn setup_runs_the_steps_in_the_flows_order() {
        let plan = Plan::setup(&answers(), &[]);
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        let expected: Vec<_> =
            SetupStep::value_variants().iter().map(|s| StepId::Setup(*s)).collect();
        assert_eq!(ids, expected);
        assert!(plan.placeholders.is_empty());
        let attach =
            plan.actions().filter(|a| matches!(a, SetupAction::AttachGroupPolicy { .. })).count();
        assert_eq!(attach, 7);
    }

    #[test]
    fn only_selects_steps_and_a_missing_bucket_is_a_placeholder() {
        let plan =
            Plan::setup(&Answers::default(), &[SetupStep::StateStore, SetupStep::Credentials]);
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            vec![StepId::Setup(SetupStep::StateStore), StepId::Setup(SetupStep::Credentials)]
        );
        assert_eq!(plan.placeholders, vec!["state_store.bucket"]);
        assert!(plan.actions().any(|a| *a
            == SetupAction::CreateBucket {
                bucket: BUCKET_PLACEHOLDER.into(),
                region: "us-east-1".into()
            }));
    }

    #[test]
    fn bucket_settings_that_are_off_are_not_planned() {
        let mut a = answers();
        a.state_store.encryption = false;
        let plan = Plan::setup(&a, &[SetupStep::StateStore]);
        assert!(!plan.actions().any(|a| matches!(a, SetupAction::EnableEncryption { .. })));
        assert!(plan.actions().any(|a| matches!(a, SetupAction::EnableVersioning { .. })));
    }

    #[test]
    fn teardown_order_and_what_it_keeps() {
        let plan = Plan::teardown(&answers(), None, TeardownOptions::default(), &Holds::default());
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                TeardownStep::DeleteServices,
                TeardownStep::DeleteCluster,
                TeardownStep::DeleteIam,
                TeardownStep::RemoveProfile,
                TeardownStep::DeleteStateStore,
            ]
            .map(StepId::Teardown)
        );
        // The Services' load balancers go before kops's delete; the disks of
        // PersistentVolumes only with --delete-volumes.
        assert_eq!(
            plan.steps[0].actions,
            [TeardownAction::DeleteServices { cluster: "kops.k8s.local".into() }]
        );
        assert!(!plan.actions().any(|a| matches!(a, TeardownAction::DeleteVolumes { .. })));
        let iam: Vec<_> = plan.steps[2].actions.iter().collect();
        assert!(matches!(iam[0], TeardownAction::DeleteAccessKeys { .. }));
        assert!(matches!(iam.last(), Some(TeardownAction::DeleteGroup { .. })));

        let opts = TeardownOptions {
            keep_bucket: true,
            keep_iam: true,
            delete_ssh_key: true,
            delete_volumes: true,
        };
        let plan = Plan::teardown(&answers(), None, opts, &Holds::default());
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                TeardownStep::DeleteServices,
                TeardownStep::DeleteCluster,
                TeardownStep::DeleteSshKey,
                TeardownStep::DeleteStateStore,
            ]
            .map(StepId::Teardown)
        );
        assert_eq!(
            plan.steps[1].actions.last(),
            Some(&TeardownAction::DeleteVolumes { cluster: "kops.k8s.local".into() }),
            "after kops's delete"
        );
        // A kept bucket loses only the deleted cluster's old versions, never the bucket.
        assert_eq!(
            plan.steps[3].actions,
            [TeardownAction::PurgeClusterState {
                bucket: "acme-kops-state".into(),
                cluster: "kops.k8s.local".into()
            }]
        );
        assert!(plan.kept.iter().any(|k| k.contains("--keep-bucket")), "{:?}", plan.kept);
    }

    fn journal_of(
        dir: &std::path::Path,
        cluster: &str,
        entries: &[(Kind, &str, Option<&str>, State)],
    ) -> Journal {
        let mut j = Journal::open(dir, cluster, "us-east-1").unwrap();
        crate::journal::block_on(j.set_state_store("s3://acme-kops-state")).unwrap();
        for (kind, id, detail, state) in entries {
            crate::journal::block_on(j.record(*kind, id, *detail, *state)).unwrap();
        }
        j
    }

    #[test]
    fn teardown_follows_the_journal_whatever_the_answers_say_now() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal_of(
            dir.path(),
            "dev.example.com",
            &[
                (Kind::IamUser, "old-user", None, State::Created),
                (Kind::AccessKey, "old-user", Some("AKIAOLD"), State::Created),
                (Kind::Profile, "old-profile", None, State::Created),
                (Kind::Bucket, "acme-kops-state", None, State::Created),
            ],
        );
        let mut a = answers();
        a.iam.user = "new-user".into();
        a.aws.kops_profile = "new-profile".into();
        a.state_store.bucket = Some("another-bucket".into());
        let plan = Plan::teardown(&a, Some(&j), TeardownOptions::default(), &Holds::default());
        let actions: Vec<_> = plan.actions().cloned().collect();
        assert!(actions.contains(&TeardownAction::DeleteAccessKey {
            user: "old-user".into(),
            key_id: "AKIAOLD".into()
        }));
        assert!(actions.contains(&TeardownAction::DeleteUser { user: "old-user".into() }));
        assert!(actions.contains(&TeardownAction::RemoveProfile { profile: "old-profile".into() }));
        assert!(
            actions.contains(&TeardownAction::DeleteBucket { bucket: "acme-kops-state".into() })
        );
        assert!(
            !actions.iter().any(|x| format!("{x:?}").contains("new-")
                || format!("{x:?}").contains("another-bucket"))
        );
        // No key without its id: never "every key of the user".
        assert!(!actions.iter().any(|x| matches!(x, TeardownAction::DeleteAccessKeys { .. })));
    }

    #[test]
    fn held_resources_stay_and_inherited_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal_of(
            dir.path(),
            "b.example.com",
            &[
                (Kind::Cluster, "b.example.com", None, State::Created),
                (Kind::Bucket, "acme-kops-state", None, State::Found),
                (Kind::IamUser, "kops", None, State::Found),
                (Kind::IamGroup, "kops", None, State::Created),
            ],
        );
        let mut holds = Holds::default();
        holds.keep(j.find(Kind::IamGroup, "kops").unwrap(), "still used by cluster c.example.com");
        holds.inherit.push(Resource::of(j.find(Kind::IamUser, "kops").unwrap()));
        let plan = Plan::teardown(&answers(), Some(&j), TeardownOptions::default(), &holds);
        let actions: Vec<_> = plan.actions().cloned().collect();
        assert!(
            actions.contains(&TeardownAction::DeleteUser { user: "kops".into() }),
            "{actions:?}"
        );
        assert!(
            !actions.contains(&TeardownAction::DeleteGroup { group: "kops".into() }),
            "{actions:?}"
        );
        assert!(
            !actions.iter().any(|x| matches!(x, TeardownAction::DeleteBucket { .. })),
            "{actions:?}"
        );
        assert!(actions.contains(&TeardownAction::PurgeClusterState {
            bucket: "acme-kops-state".into(),
            cluster: "b.example.com".into()
        }));
        assert!(
            plan.kept.iter().any(|k| k == "IAM group kops: still used by cluster c.example.com"),
            "{:?}",
            plan.kept
        );
        assert!(
            plan.kept.iter().any(|k| k.contains("S3 bucket acme-kops-state: it was there before")),
            "{:?}",
            plan.kept
        );
    }
}
