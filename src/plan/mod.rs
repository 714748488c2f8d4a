//! The plan: answers (and later the journal) turned into ordered Steps of Actions, as data.
//! The engine executes a Plan; `script` renders the same Plan as a bash script, so what
//! `kops-wizard plan` prints is what setup does.

pub mod script;
pub mod shell;

use clap::ValueEnum;

use crate::answers::{Answers, KeyType};
use crate::engine::kops;
use crate::journal::{Journal, Kind, State};
use crate::text::departs;

/// Stands in for the bucket name when the answers do not give one (only the plan uses it).
pub const BUCKET_PLACEHOLDER: &str = "<state_store.bucket>";

/// The setup steps, in the order they run; `--only` selects among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum SetupStep {
    Credentials,
    StateStore,
    SshKey,
    Cluster,
    Deploy,
    Validate,
}

/// The teardown steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeardownStep {
    DeleteCluster,
    DeleteStateStore,
    DeleteIam,
    RemoveProfile,
    DeleteSshKey,
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
                SetupStep::Validate => "validate",
            },
            StepId::Teardown(t) => match t {
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
                SetupStep::Validate => "Validate: wait until the cluster is ready",
            },
            StepId::Teardown(t) => match t {
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

/// One change (or check) the wizard makes, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
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
    EmptyBucket {
        bucket: String,
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

/// What a kops call is for: the engine makes each idempotent in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KopsPurpose {
    CreateCluster,
    UpdateCluster,
    PreviewDelete,
    DeleteCluster,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: StepId,
    pub actions: Vec<Action>,
    /// Where this step departs from the team's old procedure, and why.
    pub departs: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    Setup,
    Teardown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub kind: PlanKind,
    pub steps: Vec<Step>,
    /// Answers the plan had to fill with a placeholder, by key.
    pub placeholders: Vec<&'static str>,
    /// Teardown: what stays, and why (there before the wizard, or a --keep flag).
    pub kept: Vec<String>,
}

fn is_iam(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::IamGroup
            | Kind::IamUser
            | Kind::IamGroupMembership
            | Kind::IamPolicyAttachment
            | Kind::AccessKey
            | Kind::Profile
    )
}

/// What teardown keeps (the `teardown` flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TeardownOptions {
    pub keep_bucket: bool,
    pub keep_iam: bool,
    pub delete_ssh_key: bool,
}

fn bucket_or_placeholder(a: &Answers) -> (String, Vec<&'static str>) {
    match &a.state_store.bucket {
        Some(bucket) => (bucket.clone(), Vec::new()),
        None => (BUCKET_PLACEHOLDER.to_string(), vec!["state_store.bucket"]),
    }
}

impl Plan {
    /// Every setup step for these answers, or only those in `only` when it is not empty.
    pub fn setup(a: &Answers, only: &[SetupStep]) -> Plan {
        let (bucket, placeholders) = bucket_or_placeholder(a);
        let state_store = format!("s3://{bucket}");
        let profile = a.aws.kops_profile.clone();
        let (group, user) = (a.iam.group.clone(), a.iam.user.clone());

        let mut credentials = vec![Action::CreateGroup { group: group.clone() }];
        credentials.extend(a.iam.policies.iter().map(|arn| Action::AttachGroupPolicy {
            group: group.clone(),
            policy_arn: arn.clone(),
        }));
        credentials.extend([
            Action::CreateUser { user: user.clone() },
            Action::AddUserToGroup { user: user.clone(), group: group.clone() },
            Action::CreateAccessKey {
                user,
                profile: profile.clone(),
                region: a.aws.region.clone(),
            },
        ]);

        let mut state =
            vec![Action::CreateBucket { bucket: bucket.clone(), region: a.aws.region.clone() }];
        let s = &a.state_store;
        let bucket_settings = [
            (s.versioning, Action::EnableVersioning { bucket: bucket.clone() }),
            (s.encryption, Action::EnableEncryption { bucket: bucket.clone() }),
            (s.block_public_access, Action::BlockPublicAccess { bucket: bucket.clone() }),
        ];
        state.extend(bucket_settings.into_iter().filter_map(|(on, action)| on.then_some(action)));

        let ssh = if a.ssh.generate {
            Action::GenerateSshKey { private_key: a.ssh.private_key(), key_type: a.ssh.key_type }
        } else {
            Action::UseSshKey { public_key: a.ssh.public_key.clone() }
        };

        let name = a.cluster.name.clone();
        let kops = |purpose, args| Action::Kops { purpose, args };
        let steps = vec![
            (SetupStep::Credentials, credentials, vec![departs::POLICIES, departs::ACCESS_KEY]),
            (SetupStep::StateStore, state, vec![departs::ENCRYPTION]),
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
            (
                SetupStep::Validate,
                vec![Action::Validate {
                    cluster: name.clone(),
                    state_store: state_store.clone(),
                    wait: a.validate.wait.clone(),
                    interval: a.validate.interval.clone(),
                }],
                vec![departs::VALIDATE],
            ),
        ];
        let steps = steps
            .into_iter()
            .filter(|(id, _, _)| only.is_empty() || only.contains(id))
            .map(|(id, actions, departs)| Step { id: StepId::Setup(id), actions, departs })
            .collect();
        Plan { kind: PlanKind::Setup, steps, placeholders, kept: Vec::new() }
    }

    /// Teardown. With the journal: only what the wizard created, in the order that AWS allows
    /// (cluster, bucket, access keys, membership, user, policy attachments, group, profile,
    /// SSH key), and a list of what is kept and why. Without one (the plan of a setup that has
    /// not run): everything setup would create for these answers.
    pub fn teardown(a: &Answers, journal: Option<&Journal>, opts: TeardownOptions) -> Plan {
        let (bucket, placeholders) = bucket_or_placeholder(a);
        let state_store = format!("s3://{bucket}");
        let name = &a.cluster.name;
        let (group, user) = (a.iam.group.clone(), a.iam.user.clone());
        let mut kept = Vec::new();
        let lookup = |kind: Kind, id: &str, detail: Option<&str>| match journal {
            None => Some(State::Created),
            Some(j) => match detail {
                Some(d) => j.find_detail(kind, id, d),
                None => j.find(kind, id),
            }
            .map(|e| e.state),
        };
        // Deleted entries are done; intents are resolved by the engine before planning.
        let ours = |kind, id: &str, detail| {
            matches!(lookup(kind, id, detail), Some(State::Created | State::Intent))
        };
        let found = |kind, id: &str, detail| lookup(kind, id, detail) == Some(State::Found);
        let mut steps = Vec::new();
        let mut step = |id, actions: Vec<Action>, departs| {
            if !actions.is_empty() {
                steps.push(Step { id: StepId::Teardown(id), actions, departs });
            }
        };

        let cluster_kept = found(Kind::Cluster, name, None);
        if cluster_kept {
            kept.push(format!("cluster {name}: it was there before the wizard"));
        }
        let mut actions = Vec::new();
        if ours(Kind::Cluster, name, None) {
            actions.push(Action::Kops {
                purpose: KopsPurpose::PreviewDelete,
                args: kops::delete_cluster_args(name, &state_store, false),
            });
            actions.push(Action::Kops {
                purpose: KopsPurpose::DeleteCluster,
                args: kops::delete_cluster_args(name, &state_store, true),
            });
        }
        step(TeardownStep::DeleteCluster, actions, vec![]);

        let mut actions = Vec::new();
        if ours(Kind::Bucket, &bucket, None) && !opts.keep_bucket && !cluster_kept {
            actions.push(Action::EmptyBucket { bucket: bucket.clone() });
            actions.push(Action::DeleteBucket { bucket: bucket.clone() });
        } else if found(Kind::Bucket, &bucket, None) {
            kept.push(format!("bucket {bucket}: it was there before the wizard"));
        } else if ours(Kind::Bucket, &bucket, None) && opts.keep_bucket {
            kept.push(format!("bucket {bucket}: --keep-bucket"));
        } else if ours(Kind::Bucket, &bucket, None) {
            kept.push(format!(
                "bucket {bucket}: it holds the state of cluster {name}, which is kept"
            ));
        }
        step(TeardownStep::DeleteStateStore, actions, vec![departs::VERSIONED_BUCKET]);

        let mut iam = Vec::new();
        let user_ours = ours(Kind::IamUser, &user, None);
        let group_ours = ours(Kind::IamGroup, &group, None);
        if opts.keep_iam {
            if journal.is_none_or(|j| j.entries.iter().any(|e| e.by_wizard() && is_iam(e.kind))) {
                kept.push(format!(
                    "IAM user {user}, group {group} and profile {}: --keep-iam",
                    a.aws.kops_profile
                ));
            }
        } else {
            if user_ours {
                // Deleting the user needs every key gone, including any made by hand.
                iam.push(Action::DeleteAccessKeys { user: user.clone() });
            } else {
                let keys =
                    journal.map(|j| j.entries.as_slice()).unwrap_or_default().iter().filter(|e| {
                        e.kind == Kind::AccessKey
                            && e.id == user
                            && e.detail.is_some()
                            && e.state == State::Created
                    });
                iam.extend(keys.filter_map(|e| {
                    let key_id = e.detail.clone()?;
                    Some(Action::DeleteAccessKey { user: user.clone(), key_id })
                }));
            }
            if ours(Kind::IamGroupMembership, &user, Some(&group)) {
                iam.push(Action::RemoveUserFromGroup { user: user.clone(), group: group.clone() });
            }
            if user_ours {
                iam.push(Action::DeleteUser { user: user.clone() });
            } else if found(Kind::IamUser, &user, None) {
                kept.push(format!("IAM user {user}: it was there before the wizard"));
            }
            iam.extend(
                a.iam
                    .policies
                    .iter()
                    .filter(|arn| ours(Kind::IamPolicyAttachment, &group, Some(arn)))
                    .map(|arn| Action::DetachGroupPolicy {
                        group: group.clone(),
                        policy_arn: arn.clone(),
                    }),
            );
            if group_ours {
                iam.push(Action::DeleteGroup { group: group.clone() });
            } else if found(Kind::IamGroup, &group, None) {
                kept.push(format!("IAM group {group}: it was there before the wizard"));
            }
        }
        step(TeardownStep::DeleteIam, iam, vec![]);

        let profile = &a.aws.kops_profile;
        let mut actions = Vec::new();
        if !opts.keep_iam && ours(Kind::Profile, profile, None) {
            actions.push(Action::RemoveProfile { profile: profile.clone() });
        } else if found(Kind::Profile, profile, None) {
            kept.push(format!("AWS profile {profile}: it was there before the wizard"));
        }
        step(TeardownStep::RemoveProfile, actions, vec![]);

        let key = &a.ssh.public_key;
        let mut actions = Vec::new();
        if opts.delete_ssh_key && ours(Kind::SshKey, key, None) {
            actions.push(Action::DeleteSshKey { private_key: a.ssh.private_key() });
        } else if ours(Kind::SshKey, key, None) && journal.is_some() {
            kept.push(format!("SSH key {key}: pass --delete-ssh-key to delete it"));
        } else if found(Kind::SshKey, key, None) {
            kept.push(format!("SSH key {key}: it was there before the wizard"));
        }
        step(TeardownStep::DeleteSshKey, actions, vec![]);

        Plan { kind: PlanKind::Teardown, steps, placeholders, kept }
    }

    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.steps.iter().flat_map(|s| s.actions.iter())
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
    fn setup_runs_the_steps_in_the_flows_order() {
        let plan = Plan::setup(&answers(), &[]);
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        let expected: Vec<_> =
            SetupStep::value_variants().iter().map(|s| StepId::Setup(*s)).collect();
        assert_eq!(ids, expected);
        assert!(plan.placeholders.is_empty());
        let attach =
            plan.actions().filter(|a| matches!(a, Action::AttachGroupPolicy { .. })).count();
        assert_eq!(attach, 7);
    }

    #[test]
    fn only_selects_steps_and_a_missing_bucket_is_a_placeholder() {
        let plan =
            Plan::setup(&Answers::default(), &[SetupStep::StateStore, SetupStep::Credentials]);
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            vec![StepId::Setup(SetupStep::Credentials), StepId::Setup(SetupStep::StateStore)]
        );
        assert_eq!(plan.placeholders, vec!["state_store.bucket"]);
        assert!(plan.actions().any(|a| *a
            == Action::CreateBucket {
                bucket: BUCKET_PLACEHOLDER.into(),
                region: "us-east-1".into()
            }));
    }

    #[test]
    fn bucket_settings_that_are_off_are_not_planned() {
        let mut a = answers();
        a.state_store.encryption = false;
        let plan = Plan::setup(&a, &[SetupStep::StateStore]);
        assert!(!plan.actions().any(|a| matches!(a, Action::EnableEncryption { .. })));
        assert!(plan.actions().any(|a| matches!(a, Action::EnableVersioning { .. })));
    }

    #[test]
    fn teardown_order_and_what_it_keeps() {
        let plan = Plan::teardown(&answers(), None, TeardownOptions::default());
        let ids: Vec<_> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                TeardownStep::DeleteCluster,
                TeardownStep::DeleteStateStore,
                TeardownStep::DeleteIam,
                TeardownStep::RemoveProfile
            ]
            .map(StepId::Teardown)
        );
        let iam: Vec<_> = plan.steps[2].actions.iter().collect();
        assert!(matches!(iam[0], Action::DeleteAccessKeys { .. }));
        assert!(matches!(iam.last(), Some(Action::DeleteGroup { .. })));

        let opts = TeardownOptions { keep_bucket: true, keep_iam: true, delete_ssh_key: true };
        let ids: Vec<_> =
            Plan::teardown(&answers(), None, opts).steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [TeardownStep::DeleteCluster, TeardownStep::DeleteSshKey].map(StepId::Teardown)
        );
    }
}
