//! Runs a setup SetupPlan: each Action made idempotent with the journal (intent before a change,
//! the result after it), each result reported as an Event. A rerun reads the journal and AWS,
//! skips what is done, and never creates a second access key.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::aws::clients::Clients;
use super::aws::credentials::{AccessKey, CredentialsError, SharedFiles};
use super::aws::error::AwsError;
use super::aws::iam::{self, MAX_ACCESS_KEYS, Presence};
use super::cluster::kops::{Kops, KopsError};
use super::cluster::ssh::SshError;
use super::cluster::validate::ParseError;
use super::events::{Change, Event, Sink};
use super::store::bucket::BucketAccess;
use super::team::join::{Situation, Team};
use crate::journal::{Journal, JournalError, Kind, State};
use crate::plan::{KopsPurpose, SetupAction, SetupPlan, SetupStep, Step, StepId};

/// Why setup stopped. Every message says what to do next; none holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Kops(#[from] KopsError),
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("cannot read kops's validation result: {0}")]
    Validate(#[from] ParseError),
    /// A state the wizard will not change on the user's behalf.
    #[error("{0}")]
    Blocked(String),
    #[error(
        "cluster {cluster} did not validate within {wait} (last phase: {phase}){}\n\
         Run `kops-wizard setup` again to keep waiting: it resumes with validation.",
        failures_list(.failures)
    )]
    ValidationTimedOut { cluster: String, wait: String, phase: &'static str, failures: Vec<String> },
    #[error("the {0} step is not available in this version of kops-wizard")]
    NotAvailable(&'static str),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    #[error(transparent)]
    Team(#[from] super::team::join::TeamError),
    #[error(
        "the answers differ from what the setup of cluster {cluster} made (journal {}):\n  - {}\n\
         Nothing was changed. kops-wizard does not move or reshape an existing cluster: set \
         these answers back to what exists, or tear the cluster down (`kops-wizard teardown`) \
         and set it up again with the new answers.",
        journal.display(),
        differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    Differs {
        cluster: String,
        journal: std::path::PathBuf,
        differences: Vec<super::cluster::settings::Difference>,
    },
    /// An answer that conflicts with what is on this machine: bad input, nothing changed.
    #[error("{0}")]
    Refused(String),
    #[error(
        "cluster {cluster} in s3://{bucket} was recorded by a kops-wizard older than the team's \
         record: the record says the wizard set it up, but not on which machine, and this setup \
         will not guess (continuing it could replace its SSH key; joining it would leave it \
         nobody's). If this machine set it up, run `kops-wizard setup --claim` once: the record \
         then names you, and every other machine joins it. If another machine set it up, claim \
         it there first. Nothing of the cluster was changed."
    )]
    Unclaimed { cluster: String, bucket: String },
    /// The team's lock was lost while this run held it: see [`super::store::lease::LeaseError::Lost`].
    #[error(transparent)]
    Fenced(#[from] super::store::lease::Fenced),
}

fn failures_list(failures: &[String]) -> String {
    if failures.is_empty() {
        String::new()
    } else {
        format!("; failures of the last attempt:\n  - {}", failures.join("\n  - "))
    }
}

/// How long a new access key may take to start working (IAM is eventually consistent).
pub const KEY_WAIT: Duration = Duration::from_secs(60);

/// How far this machine's clock and AWS's may disagree when a key's CreateDate (AWS's clock)
/// is compared with the journal's intent (this machine's).
const CLOCK_SLACK_SECS: i64 = 120;

/// How many times setup tries CreateAccessKey (the SDK does not retry it, see
/// `Clients::create_access_key`).
const KEY_ATTEMPTS: u32 = 3;

/// How long after its intent a CreateAccessKey request can still take effect: every
/// attempt's operation timeout and the pauses between them. A key created later is not
/// that run's.
const KEY_INTENT_SECS: i64 =
    KEY_ATTEMPTS as i64 * super::aws::error::OPERATION_TIMEOUT.as_secs() as i64 + 10;

/// What a setup run needs besides the events channel.
pub struct Request<'a> {
    pub answers: &'a crate::answers::Answers,
    pub plan: &'a SetupPlan,
    pub state_dir: &'a std::path::Path,
    /// `--kops`, else kops on PATH.
    pub kops: Option<&'a std::path::Path>,
    /// `--claim`: the record names no machine for the cluster (an older version wrote it), and
    /// the user says this machine set it up.
    pub claim: bool,
}

/// A whole setup run: the admin identity, the journal, then every step of the plan. Returns
/// the journal as it stands at the end.
pub async fn setup(request: Request<'_>, sink: &Sink) -> Result<Journal, SetupError> {
    let a = request.answers;
    // The files first: they need neither kops nor AWS, and a key setup cannot use must stop
    // it before the IAM user and the bucket exist, not at the SSH step after them.
    preflight_files(a, request.plan)?;
    // kops is found and its version checked before anything changes: a missing or old kops
    // must not leave a half-built setup behind.
    let needs_kops = request.plan.actions().any(|x| {
        // The smoke test asks kops for the admin certificate it reaches the API with.
        matches!(
            x,
            SetupAction::Kops { .. } | SetupAction::Validate { .. } | SetupAction::SmokeTest { .. }
        )
    });
    let kops = match needs_kops {
        true => {
            let kops = Kops::for_cluster(request.kops, a).await?;
            sink.send(Event::Note {
                message: format!("kops: {} at {}", kops.version, kops.path.display()),
            });
            Some(kops)
        }
        false => None,
    };
    // One run per cluster on this machine: taken before the journal is read, held until the
    // run ends. The team's lock, in the state bucket, is taken once the bucket exists.
    let _lock = crate::lock::ClusterLock::acquire(request.state_dir, &a.cluster.name, "setup")?;
    let mut journal = Journal::open(request.state_dir, &a.cluster.name, &a.aws.region)?;
    let files = SharedFiles::from_env()?;
    preflight(a, request.plan, &mut journal, &files)?;
    let clients = super::aws::clients::connect_admin(a, sink)
        .await
        .map_err(|e| SetupError::Blocked(format!("cannot use the admin credentials: {e}")))?;
    let author = super::team::join::author(
        &clients,
        request.state_dir,
        kops.as_ref().map(|k| k.version.to_string()),
    )
    .await?;
    journal.set_author(author.clone());
    let mut team = Team::new(&clients, author, "setup", &a.cluster.name);
    let result = async {
        // The team's bucket is there already: its lock and its record come before anything
        // else, so that whether this run sets the cluster up or joins it is decided under
        // the lock, with the team's record in hand.
        if let Some(bucket) = &a.state_store.bucket
            && clients.bucket_access(bucket).await? == BucketAccess::Yours
        {
            team.enter(bucket, &mut journal, sink).await?;
        }
        let mut setup = Setup {
            answers: a,
            kops: kops.as_ref(),
            clients: &clients,
            files: &files,
            journal: &mut journal,
            sink,
            team: &mut team,
            claim: request.claim,
        };
        let plan = setup.decide(request.plan).await?;
        if plan != *request.plan {
            sink.send(Event::PlanChanged {
                steps: plan.steps.iter().map(|s| s.id).collect(),
                why: "the cluster exists and is not this machine's: joining it".into(),
            });
        }
        setup.run(&plan).await
    }
    .await;
    team.leave().await;
    result?;
    Ok(journal)
}

/// The local files the plan will use, checked before anything else (kops, the lock, the
/// journal, AWS): the SSH key at `ssh.public_key`, when the plan has the SSH step or creates
/// the cluster with that key. What the SSH step would refuse is refused here, as bad input
/// (exit 2) with the answers key named; with `ssh.generate` and no key there, generation is
/// what the answers ask for and passes.
pub fn preflight_files(a: &crate::answers::Answers, plan: &SetupPlan) -> Result<(), SetupError> {
    let shown = &a.ssh.public_key;
    let refuse = |why: String| {
        SetupError::Refused(format!(
            "ssh.public_key = {shown:?}: {}. Nothing was changed.",
            why.trim_end_matches('.')
        ))
    };
    let key_step = plan.actions().find_map(|x| match x {
        SetupAction::GenerateSshKey { .. } => Some(true),
        SetupAction::UseSshKey { .. } => Some(false),
        _ => None,
    });
    let creates_cluster = plan
        .actions()
        .any(|x| matches!(x, SetupAction::Kops { purpose: KopsPurpose::CreateCluster, .. }));
    match key_step {
        Some(generate) => {
            let ssh = crate::answers::Ssh { generate, ..a.ssh.clone() };
            super::cluster::ssh::preflight(&ssh).map_err(refuse)?;
        }
        // `--only cluster`: nothing generates the key, and kops is handed the file as it is.
        None if creates_cluster => {
            super::cluster::ssh::read_public(&crate::fsutil::expand_home(shown))
                .map_err(|e| refuse(e.to_string()))?;
        }
        None => {}
    }
    Ok(())
}

/// What setup checks on this machine before it asks AWS anything: the answers against what
/// this cluster's setup already made, and a profile name that belongs to someone else.
fn preflight(
    a: &crate::answers::Answers,
    plan: &SetupPlan,
    journal: &mut Journal,
    files: &SharedFiles,
) -> Result<(), SetupError> {
    // Against what this machine's setup made; a cluster made elsewhere is judged once the
    // team's record is read (a join only reports the differences).
    let made_here = journal.find(Kind::Cluster, &a.cluster.name).is_none_or(|e| e.made_here());
    let differences =
        if made_here { super::cluster::settings::differences(a, journal) } else { Vec::new() };
    if !differences.is_empty() {
        return Err(SetupError::Differs {
            cluster: a.cluster.name.clone(),
            journal: journal.path().to_path_buf(),
            differences,
        });
    }
    if !journal.entries.iter().any(|e| e.in_use()) {
        // Nothing of an earlier setup is in use (none, or torn down): this run starts afresh.
        journal.region = a.aws.region.clone();
        journal.cluster_settings = None;
    }
    let saves_key = plan.actions().any(|x| matches!(x, SetupAction::CreateAccessKey { .. }));
    if saves_key {
        // Before the key exists in AWS: a file the user protected is bad input, exit 2.
        files.check_writable().map_err(|e| SetupError::Refused(e.to_string()))?;
    }
    let profile = &a.aws.kops_profile;
    let existing = if saves_key { files.profiles()? } else { Vec::new() };
    if existing.iter().any(|p| p == profile) {
        let others = journal.others()?;
        // Saved by a wizard run on this machine, and not removed since.
        let saved_by_wizard = std::iter::once(&*journal).chain(others.iter()).any(|j| {
            j.entries.iter().any(|e| {
                e.kind == Kind::Profile
                    && e.id == *profile
                    && e.by_wizard()
                    && e.state != State::Deleted
            })
        });
        if !saved_by_wizard {
            let choices = &existing;
            return Err(SetupError::Refused(format!(
                "aws.kops_profile: the profile {profile:?} already exists in {} or {} and was not \
                 saved by kops-wizard, so the wizard will not write the kops user's key into it. \
                 Choose a name that is not taken (existing profiles: {}), or remove that profile \
                 yourself if you no longer need it. Nothing was changed.",
                files.credentials.display(),
                files.config.display(),
                choices.join(", ")
            )));
        }
    }
    Ok(())
}

pub struct Setup<'a> {
    pub answers: &'a crate::answers::Answers,
    /// The team's lock and record, entered once the state bucket exists.
    pub team: &'a mut Team,
    /// Present when the plan has kops steps; found and version-checked before any change.
    pub kops: Option<&'a Kops>,
    pub clients: &'a Clients,
    pub files: &'a SharedFiles,
    pub journal: &'a mut Journal,
    pub sink: &'a Sink,
    /// `--claim` (see [`Request::claim`]).
    pub claim: bool,
}

impl Setup<'_> {
    /// The plan this run carries out: the front end's, or, when the cluster is already in
    /// the state store and is not this machine's, the plan that joins it. A join changes
    /// nothing of the cluster, so the answers' differences from it are only reported.
    pub async fn decide(&mut self, plan: &SetupPlan) -> Result<SetupPlan, SetupError> {
        let a = self.answers;
        let machine = self.team.author().machine.clone();
        let situation = super::team::join::probe(self.clients, a, Some(self.journal), &machine)
            .await
            .map_err(super::team::join::TeamError::from)?;
        let only: Vec<SetupStep> = plan
            .steps
            .iter()
            .filter_map(|s| match s.id {
                StepId::Setup(id) => Some(id),
                StepId::Teardown(_) => None,
            })
            .collect();
        match situation {
            Situation::Join(join) if join.unclaimed && self.claim => {
                let n = self.journal.claim_authorless().await?;
                self.sink.send(Event::Note {
                    message: format!(
                        "cluster {}: {n} entries of the record that named no machine are now \
                         this machine's (--claim); other machines join it",
                        a.cluster.name
                    ),
                });
                self.check_differences()?;
                Ok(plan.clone())
            }
            Situation::Join(join) if join.unclaimed => Err(SetupError::Unclaimed {
                cluster: a.cluster.name.clone(),
                bucket: a.state_store.bucket.clone().unwrap_or_default(),
            }),
            Situation::Join(join) => {
                self.sink.send(Event::Note {
                    message: format!(
                        "cluster {} exists in the state store, {}: joining it. This setup gives \
                         you access (IAM user {} in group {}, profile {}, a kubeconfig) and \
                         changes nothing of the cluster: no create, no update, no SSH key",
                        a.cluster.name,
                        join.whose(),
                        join.member_user,
                        a.iam.group,
                        a.aws.kops_profile
                    ),
                });
                for d in super::cluster::settings::differences(a, self.journal) {
                    self.sink.send(Event::Note {
                        message: format!("not applied (joining changes nothing): {d}"),
                    });
                }
                if plan.is_join() {
                    return Ok(plan.clone());
                }
                Ok(SetupPlan::join(a, &join.member_user, &super::team::join::join_steps(&only)))
            }
            Situation::New | Situation::Ours if plan.is_join() => {
                Err(SetupError::Blocked(format!(
                    "cluster {} is no longer in the state store as someone else's: nothing to join. \
                 Run `kops-wizard setup` again to set it up",
                    a.cluster.name
                )))
            }
            Situation::New | Situation::Ours => {
                self.check_differences()?;
                Ok(plan.clone())
            }
        }
    }

    /// The answers against the record (the team's, once it is read): a setup never reshapes a
    /// cluster.
    fn check_differences(&self) -> Result<(), SetupError> {
        let differences = super::cluster::settings::differences(self.answers, self.journal);
        match differences.is_empty() {
            true => Ok(()),
            false => Err(SetupError::Differs {
                cluster: self.answers.cluster.name.clone(),
                journal: self.journal.path().to_path_buf(),
                differences,
            }),
        }
    }

    pub async fn run(&mut self, plan: &SetupPlan) -> Result<(), SetupError> {
        let mut steps: Vec<Step<SetupAction>> = plan.steps.clone();
        let mut i = 0;
        while i < steps.len() {
            let step = steps[i].clone();
            i += 1;
            if step.id == StepId::Setup(SetupStep::Credentials) {
                self.require_lock().await?;
            }
            let started = Instant::now();
            self.sink.send(Event::StepStarted { step: step.id });
            match self.run_step(&step).await {
                Ok(()) => {
                    self.sink
                        .send(Event::StepFinished { step: step.id, elapsed: started.elapsed() });
                    crate::test_hooks::point(&format!("after-step:{}", step.id.short()));
                }
                Err(e) => {
                    let error = e.to_string();
                    self.sink.send(Event::StepFailed {
                        step: step.id,
                        error,
                        elapsed: started.elapsed(),
                    });
                    return Err(e);
                }
            }
            // The state store was made (or found) during this run: with the team's record read
            // under its lock, the cluster may turn out to be another machine's (two engineers
            // set up at once). The rest of the run joins it instead of taking it over.
            if step.id == StepId::Setup(SetupStep::StateStore) && !plan.is_join() {
                // From here on the record lives in the bucket (made, versioned and encrypted
                // by now), under the team's lock.
                if let Some(bucket) = &self.answers.state_store.bucket {
                    self.team.enter(bucket, self.journal, self.sink).await?;
                }
                let decided = self.decide(plan).await?;
                if decided.is_join() {
                    self.sink.send(Event::PlanChanged {
                        steps: decided.steps.iter().map(|s| s.id).collect(),
                        why: "the cluster was set up by another machine meanwhile: joining it"
                            .into(),
                    });
                    steps = decided.steps;
                    i = 0;
                }
            }
        }
        Ok(())
    }

    /// The IAM step changes what the whole team shares (the kops group, its policies, users):
    /// only under the team's lock, which lives in the state bucket. `--only credentials`
    /// before the bucket exists has no lock to take.
    async fn require_lock(&mut self) -> Result<(), SetupError> {
        if self.team.holds_lock() {
            return Ok(());
        }
        let Some(bucket) = self.answers.state_store.bucket.clone() else {
            return Err(SetupError::Blocked("state_store.bucket is not set".into()));
        };
        if self.clients.bucket_access(&bucket).await? == BucketAccess::Yours {
            self.team.enter(&bucket, self.journal, self.sink).await?;
            return Ok(());
        }
        Err(SetupError::Refused(format!(
            "--only credentials: the IAM step changes what the team shares (the kops group, its \
             policies, its users) only under the team's lock, which lives in the state bucket \
             s3://{bucket}, and that bucket does not exist yet. Run `kops-wizard setup --only \
             state-store,credentials` (or the whole setup): the bucket is made first. Nothing \
             was changed"
        )))
    }

    async fn run_step(&mut self, step: &Step<SetupAction>) -> Result<(), SetupError> {
        let mut actions = step.actions.iter().peekable();
        while let Some(action) = actions.next() {
            // Policy attachments are independent of each other: attach them all at once.
            if let SetupAction::AttachGroupPolicy { group, policy_arn } = action {
                let mut arns = vec![policy_arn.as_str()];
                while let Some(SetupAction::AttachGroupPolicy { policy_arn, .. }) =
                    actions.next_if(|a| matches!(a, SetupAction::AttachGroupPolicy { .. }))
                {
                    arns.push(policy_arn);
                }
                self.attach_policies(step.id, group, &arns).await?;
                continue;
            }
            self.execute(step.id, action).await?;
        }
        Ok(())
    }

    async fn execute(&mut self, step: StepId, action: &SetupAction) -> Result<(), SetupError> {
        let c = self.clients;
        match action {
            SetupAction::CreateGroup { group } => {
                let what = format!("group {group}");
                let cluster = &self.answers.cluster.name;
                self.ensure(
                    step,
                    Kind::IamGroup,
                    group,
                    None,
                    what,
                    c.group_presence(group, cluster),
                    c.create_group(group, cluster),
                )
                .await
            }
            SetupAction::CreateUser { user } => {
                let what = format!("user {user}");
                let cluster = &self.answers.cluster.name;
                self.ensure(
                    step,
                    Kind::IamUser,
                    user,
                    None,
                    what,
                    c.user_presence(user, cluster),
                    c.create_user(user, cluster),
                )
                .await
            }
            SetupAction::AddUserToGroup { user, group } => {
                let what = format!("user {user} in group {group}");
                // A membership carries no mark: the journal's intent is all there is.
                let member = async {
                    let member = c.user_groups(user).await?.iter().any(|g| g == group);
                    Ok(if member { Presence::Marked } else { Presence::Absent })
                };
                let add = c.add_user_to_group(user, group);
                self.ensure(step, Kind::IamGroupMembership, user, Some(group), what, member, add)
                    .await
            }
            SetupAction::CreateAccessKey { user, profile, region } => {
                self.ensure_access_key(step, user, profile, region).await
            }
            SetupAction::CreateBucket { bucket, region } => {
                self.ensure_bucket(step, bucket, region).await
            }
            SetupAction::EnableVersioning { bucket } => {
                let what = format!("versioning of {bucket}");
                self.ensure_setting(
                    step,
                    Kind::BucketVersioning,
                    bucket,
                    what,
                    || c.versioning_enabled(bucket),
                    c.enable_versioning(bucket),
                )
                .await
            }
            SetupAction::EnableEncryption { bucket } => {
                let what = format!("default encryption (SSE-S3) of {bucket}");
                self.ensure_setting(
                    step,
                    Kind::BucketEncryption,
                    bucket,
                    what,
                    || c.encryption_enabled(bucket),
                    c.enable_encryption(bucket),
                )
                .await
            }
            SetupAction::BlockPublicAccess { bucket } => {
                let what = format!("public access block of {bucket}");
                self.ensure_setting(
                    step,
                    Kind::BucketPublicAccessBlock,
                    bucket,
                    what,
                    || c.public_access_blocked(bucket),
                    c.block_public_access(bucket),
                )
                .await
            }
            SetupAction::GenerateSshKey { .. } => self.ensure_ssh_key(step, true).await,
            SetupAction::UseSshKey { .. } => self.ensure_ssh_key(step, false).await,
            SetupAction::Kops { purpose: KopsPurpose::CreateCluster, args } => {
                self.create_cluster(step, args).await
            }
            SetupAction::Kops { purpose: KopsPurpose::UpdateCluster, args } => {
                self.update_cluster(step, args).await
            }
            SetupAction::Kops { purpose: KopsPurpose::ExportKubeconfig, args } => {
                self.export_kubeconfig(step, args).await
            }
            SetupAction::Validate { wait, interval, .. } => {
                self.validate_cluster(step, wait, interval).await
            }
            SetupAction::AttachGroupPolicy { group, policy_arn } => {
                self.attach_policies(step, group, &[policy_arn]).await
            }
            SetupAction::SmokeTest { cluster, image } => {
                self.smoke_test(step, cluster, image).await
            }
        }
    }

    /// The user whose key `key_id` is, when this machine's setup created that key for a user
    /// other than `user` and the profile is the wizard's.
    fn replaced_key(&self, user: &str, key_id: &str) -> Option<String> {
        let profile_ours =
            self.journal.entries.iter().any(|e| {
                e.kind == Kind::Profile && matches!(e.state, State::Created | State::Intent)
            });
        self.journal
            .entries
            .iter()
            .find(|e| {
                e.kind == Kind::AccessKey
                    && e.id != user
                    && e.detail.as_deref() == Some(key_id)
                    && e.state == State::Created
                    && e.made_here()
            })
            .filter(|_| profile_ours)
            .map(|e| e.id.clone())
    }

    /// Whether an existing resource is the wizard's: the journal says it created it, or meant
    /// to and the run died before it could record the result.
    pub(super) fn ours(&self, kind: Kind, id: &str, detail: Option<&str>) -> bool {
        let entry = match detail {
            Some(d) => self.journal.find_detail(kind, id, d),
            None => self.journal.find(kind, id),
        };
        entry.is_some_and(|e| matches!(e.state, State::Intent | State::Created))
    }

    /// Records what was found without changing AWS; writes the journal only if it changes.
    /// It is the wizard's only if the journal says so and, for what carries a mark (group,
    /// user, bucket), AWS agrees: a journal entry alone may be stale.
    pub(super) async fn record_existing(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
    ) -> Result<State, JournalError> {
        self.record_existing_marked(kind, id, detail, true).await
    }

    pub(super) async fn record_existing_marked(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        marked: bool,
    ) -> Result<State, JournalError> {
        let state =
            if marked && self.ours(kind, id, detail) { State::Created } else { State::Found };
        let current = match detail {
            Some(d) => self.journal.find_detail(kind, id, d),
            None => self.journal.find(kind, id),
        };
        if current.map(|e| e.state) != Some(state) {
            self.journal.record(kind, id, detail, state).await?;
        }
        Ok(state)
    }

    /// Look it up; if absent, record the intent, create it, record the result.
    #[allow(clippy::too_many_arguments)]
    async fn ensure(
        &mut self,
        step: StepId,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        what: String,
        presence: impl Future<Output = Result<Presence, AwsError>>,
        create: impl Future<Output = Result<(), AwsError>>,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let presence = presence.await?;
        if presence.exists() {
            let marked = presence == Presence::Marked;
            let state = self.record_existing_marked(kind, id, detail, marked).await?;
            self.sink.item(step, Change::Unchanged, existing(&what, state), started.elapsed());
            return Ok(());
        }
        self.journal.record(kind, id, detail, State::Intent).await?;
        if let Err(e) = create.await {
            self.settle_failed(kind, id, detail, &e).await?;
            return Err(e.into());
        }
        self.journal.record(kind, id, detail, State::Created).await?;
        self.sink.item(step, Change::Created, format!("{what} created"), started.elapsed());
        Ok(())
    }

    /// After a failed change: if AWS refused it, nothing was made and the intent is settled as
    /// failed (a later resource of that name is not the wizard's). Without a clear answer the
    /// intent stays, for the next run to look up.
    async fn settle_failed(
        &mut self,
        kind: Kind,
        id: &str,
        detail: Option<&str>,
        e: &AwsError,
    ) -> Result<(), JournalError> {
        if e.is_refusal() {
            self.journal.record(kind, id, detail, State::Failed).await?;
        }
        Ok(())
    }

    /// A bucket setting: read it; if off, turn it on and read it back to verify.
    #[allow(clippy::too_many_arguments)]
    async fn ensure_setting<F, Fut>(
        &mut self,
        step: StepId,
        kind: Kind,
        bucket: &str,
        what: String,
        read: F,
        apply: impl Future<Output = Result<(), AwsError>>,
    ) -> Result<(), SetupError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<bool, AwsError>>,
    {
        let started = Instant::now();
        if read().await? {
            self.record_existing(kind, bucket, None).await?;
            self.sink.item(
                step,
                Change::Unchanged,
                format!("{what}: already on"),
                started.elapsed(),
            );
            return Ok(());
        }
        self.journal.record(kind, bucket, None, State::Intent).await?;
        apply.await?;
        if !read().await? {
            return Err(SetupError::Blocked(format!(
                "{what} was set but reads back as off; check the bucket's policies in the S3 console"
            )));
        }
        self.journal.record(kind, bucket, None, State::Created).await?;
        self.sink.item(
            step,
            Change::Created,
            format!("{what}: turned on (verified)"),
            started.elapsed(),
        );
        Ok(())
    }

    async fn attach_policies(
        &mut self,
        step: StepId,
        group: &str,
        arns: &[&str],
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        let attached = self.clients.attached_group_policies(group).await?;
        let mut missing = Vec::new();
        for arn in arns {
            if attached.iter().any(|a| a == arn) {
                let state =
                    self.record_existing(Kind::IamPolicyAttachment, group, Some(arn)).await?;
                let what = format!("policy {} on group {group}", short_policy(arn));
                self.sink.item(step, Change::Unchanged, existing(&what, state), started.elapsed());
            } else {
                self.journal
                    .record(Kind::IamPolicyAttachment, group, Some(arn), State::Intent)
                    .await?;
                missing.push(arn.to_string());
            }
        }
        let mut tasks = JoinSet::new();
        for arn in missing {
            let (clients, group) = (self.clients.clone(), group.to_string());
            tasks.spawn(async move {
                let result = clients.attach_group_policy(&group, &arn).await;
                (arn, result)
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let Ok((arn, result)) = joined else { continue };
            match result {
                Ok(()) => {
                    self.journal
                        .record(Kind::IamPolicyAttachment, group, Some(&arn), State::Created)
                        .await?;
                    let what = format!("policy {} attached to group {group}", short_policy(&arn));
                    self.sink.item(step, Change::Created, what, started.elapsed());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    async fn ensure_bucket(
        &mut self,
        step: StepId,
        bucket: &str,
        region: &str,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        match self.clients.bucket_access(bucket).await? {
            BucketAccess::Yours => {
                let mut marked = self.clients.bucket_marked(bucket).await?;
                if !marked
                    && self
                        .journal
                        .find(Kind::Bucket, bucket)
                        .is_some_and(|e| e.state == State::Intent)
                    && self.clients.bucket_is_empty(bucket).await?
                {
                    // A run died between CreateBucket and tagging it: an empty bucket
                    // named in the journal's intent is that run's.
                    self.clients.mark_bucket(bucket, &self.answers.cluster.name).await?;
                    marked = true;
                }
                let state = self.record_existing_marked(Kind::Bucket, bucket, None, marked).await?;
                self.sink.item(
                    step,
                    Change::Unchanged,
                    existing(&format!("bucket {bucket}"), state),
                    started.elapsed(),
                );
            }
            BucketAccess::Taken => return Err(super::store::bucket::taken(bucket).into()),
            BucketAccess::ElsewhereRegion => {
                return Err(SetupError::Blocked(format!(
                    "the bucket {bucket} exists in another region than {region}; set aws.region to the \
                     bucket's region or choose another state_store.bucket"
                )));
            }
            BucketAccess::Free => {
                self.journal.record(Kind::Bucket, bucket, None, State::Intent).await?;
                // `false` (already yours) after HeadBucket said free is a race with an earlier
                // attempt of this same run: the intent makes it the wizard's either way.
                if let Err(e) = self.clients.create_bucket(bucket, region).await {
                    self.settle_failed(Kind::Bucket, bucket, None, &e).await?;
                    return Err(e.into());
                }
                self.clients.mark_bucket(bucket, &self.answers.cluster.name).await?;
                self.journal.record(Kind::Bucket, bucket, None, State::Created).await?;
                let what = format!("bucket {bucket} created in {region}");
                self.sink.item(step, Change::Created, what, started.elapsed());
            }
        }
        let url = format!("s3://{bucket}");
        if self.journal.state_store.as_deref() != Some(url.as_str()) {
            self.journal.set_state_store(&url).await?;
        }
        Ok(())
    }

    /// The kops user's access key: reuse the saved one if it is the user's and works; else
    /// clean up keys an interrupted run created but never saved; else create one, save it at
    /// once, and wait until AWS accepts it. Never a second key on a rerun.
    async fn ensure_access_key(
        &mut self,
        step: StepId,
        user: &str,
        profile: &str,
        region: &str,
    ) -> Result<(), SetupError> {
        let started = Instant::now();
        // Keys kept in a file others can read are not private, whichever run wrote them.
        for (path, mode) in self.files.tighten()? {
            self.sink.item(
                step,
                Change::Warning,
                format!(
                    "{} was {mode:o} (others could read the keys in it): it is 600 now",
                    path.display()
                ),
                started.elapsed(),
            );
        }
        let c = self.clients;
        let mut keys = c.access_keys(user).await?;
        let saved = self.files.read_key(profile)?;

        // An intent without a key id: a run died between CreateAccessKey and saving the
        // secret. Its key is one that was not there before the intent and was created in the
        // intent's own window; it is unusable (the secret is gone).
        let intent = self
            .journal
            .entries
            .iter()
            .find(|e| {
                e.kind == Kind::AccessKey
                    && e.id == user
                    && e.detail.is_none()
                    && e.state == State::Intent
            })
            .cloned();
        if let Some(intent) = intent {
            // The interrupted run may have saved its key before the journal heard of it: a
            // saved key that is new since the intent is that run's, so the wizard's.
            if let Some(saved) = &saved
                && orphan_keys(&intent, &keys, None).contains(&saved.id)
            {
                self.journal.record(Kind::AccessKey, user, Some(&saved.id), State::Created).await?;
            }
            let orphans = orphan_keys(&intent, &keys, saved.as_ref().map(|k| k.id.as_str()));
            // Only a user this wizard created: a key of a user someone else made is never
            // deleted, however likely it is to be the interrupted run's.
            let user_ours =
                self.journal.find(Kind::IamUser, user).is_some_and(|e| e.state == State::Created);
            for orphan in &orphans {
                if user_ours {
                    c.delete_access_key(user, orphan).await?;
                    let what = format!(
                        "access key {orphan} deleted: an interrupted run created it and its secret was never saved"
                    );
                    self.sink.item(step, Change::Warning, what, started.elapsed());
                } else {
                    let what = format!(
                        "access key {orphan} of user {user} was probably created by an interrupted run \
                         (its secret was never saved); user {user} was there before the wizard, so \
                         the wizard leaves the key alone: delete it yourself if it is not in use"
                    );
                    self.sink.item(step, Change::Warning, what, started.elapsed());
                }
            }
            self.journal.record(Kind::AccessKey, user, None, State::Failed).await?;
            keys = c.access_keys(user).await?;
        }

        if let Some(saved) = &saved {
            if keys.iter().any(|k| k.id == saved.id) {
                match c.identity_of(saved).await {
                    Ok(id) if id.is_user(user) => {
                        self.record_existing(Kind::AccessKey, user, Some(&saved.id)).await?;
                        self.record_existing(Kind::Profile, profile, None).await?;
                        let what = format!(
                            "access key {} of user {user} in profile {profile} works: reused",
                            saved.id
                        );
                        self.sink.item(step, Change::Unchanged, what, started.elapsed());
                        return Ok(());
                    }
                    Ok(_) => {}
                    // AWS knows the key but not the saved secret: the profile was edited (the
                    // secret cut or changed) since the wizard saved it. A key of the wizard's
                    // that nobody can use any more is deleted, so that its replacement below
                    // is the user's only key (and a rerun never meets IAM's limit of two).
                    Err(e)
                        if e.code.as_deref() == Some("SignatureDoesNotMatch")
                            && self
                                .journal
                                .find_detail(Kind::AccessKey, user, &saved.id)
                                .is_some_and(|e| e.state == State::Created) =>
                    {
                        c.delete_access_key(user, &saved.id).await?;
                        self.journal
                            .record(Kind::AccessKey, user, Some(&saved.id), State::Deleted)
                            .await?;
                        keys.retain(|k| k.id != saved.id);
                        let what = format!(
                            "access key {} of user {user} deleted: the secret in profile {profile} \
                             no longer matches it (SignatureDoesNotMatch); a new key replaces it",
                            saved.id
                        );
                        self.sink.item(step, Change::Warning, what, started.elapsed());
                    }
                    Err(e) if iam::is_invalid_key(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            } else if let Some(other) = self.replaced_key(user, &saved.id) {
                // The profile holds a key this machine made for another of the wizard's users
                // (the team's kops user, before this run learnt it joins a cluster): the new
                // key replaces it in the profile, so nobody holds the old one any more. It is
                // deleted, so it does not count against that user's limit of two.
                let c = self.clients;
                c.delete_access_key(&other, &saved.id).await?;
                self.journal
                    .record(Kind::AccessKey, &other, Some(&saved.id), State::Deleted)
                    .await?;
                let what = format!(
                    "access key {} of user {other} deleted: profile {profile} now holds this \
                     engineer's own user's key",
                    saved.id
                );
                self.sink.item(step, Change::Warning, what, started.elapsed());
            } else if !self.ours(Kind::Profile, profile, None) {
                return Err(SetupError::Blocked(format!(
                    "the profile {profile} in {} holds the access key {}, which is not one of user {user}'s; \
                     the wizard will not overwrite credentials it did not save. Choose another \
                     aws.kops_profile, or remove that profile if you no longer need it",
                    self.files.credentials.display(),
                    saved.id
                )));
            }
        }

        if keys.len() >= MAX_ACCESS_KEYS {
            let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
            return Err(SetupError::Blocked(format!(
                "user {user} already has {} access keys ({}), the most IAM allows, and the profile \
                 {profile} holds no working one of them. Delete a key you no longer use \
                 (aws iam delete-access-key --user-name {user} --access-key-id ID), then run setup \
                 again; the wizard deletes nothing on your behalf",
                keys.len(),
                ids.join(", ")
            )));
        }

        let known: Vec<String> = keys.iter().map(|k| k.id.clone()).collect();
        self.journal
            .record_with(Kind::AccessKey, user, None, State::Intent, Some(known.clone()))
            .await?;
        let key = self.create_key(step, user, &known, started).await?;
        // Before the file changes: a run killed between saving the profile and journaling it
        // must leave a rerun that knows the profile is the wizard's, not someone else's.
        let profile_was_ours = self.ours(Kind::Profile, profile, None);
        if !profile_was_ours {
            self.journal.record(Kind::Profile, profile, None, State::Intent).await?;
        }
        if let Err(e) = self.files.save(profile, &key, region) {
            // Without its secret saved the key is useless and would count against the limit
            // of two: remove it (the wizard has just created it) before reporting. Once it is
            // gone the intent is settled; if the delete fails too, the intent stays and the
            // next run finds the key by its window.
            if c.delete_access_key(user, &key.id).await.is_ok() {
                self.journal.record(Kind::AccessKey, user, None, State::Failed).await?;
            }
            // The files are as they were: the profile was never saved.
            if !profile_was_ours {
                self.journal.record(Kind::Profile, profile, None, State::Failed).await?;
            }
            return Err(e.into());
        }
        self.journal.record(Kind::AccessKey, user, Some(&key.id), State::Created).await?;
        self.journal
            .forget(|e| !(e.kind == Kind::AccessKey && e.id == user && e.detail.is_none()))
            .await?;
        if self.journal.find(Kind::Profile, profile).is_some_and(|e| e.state == State::Intent) {
            self.journal.record(Kind::Profile, profile, None, State::Created).await?;
        }
        let what = format!(
            "access key {} of user {user} created and saved as profile {profile} in {} (mode 0600)",
            key.id,
            self.files.credentials.display()
        );
        self.sink.item(step, Change::Created, what, started.elapsed());

        let waited = Instant::now();
        self.wait_until_key_works(user, &key).await?;
        let what = format!(
            "the new key works (AWS accepted it after {:.1}s)",
            waited.elapsed().as_secs_f64()
        );
        self.sink.item(step, Change::Info, what, started.elapsed());
        Ok(())
    }

    /// CreateAccessKey, up to [`KEY_ATTEMPTS`] times. An attempt without a clear answer (no
    /// answer, a server error) may have made a key whose secret nobody saw: before the next
    /// attempt the user's keys are listed and every key that was not there before the intent
    /// is deleted, so a lost answer never leaves a second key behind. A key of a user the
    /// wizard did not create is not deleted: the run stops with the intent kept, and the
    /// next run reports the key. After an unclear attempt the intent stays even when a later
    /// one is refused: IAM may list a new key late, and the next run looks again.
    async fn create_key(
        &mut self,
        step: StepId,
        user: &str,
        known: &[String],
        started: Instant,
    ) -> Result<AccessKey, SetupError> {
        let c = self.clients;
        let user_ours =
            self.journal.find(Kind::IamUser, user).is_some_and(|e| e.state == State::Created);
        let mut unclear_before = false;
        let (mut attempt, mut pause) = (1, Duration::from_millis(500));
        loop {
            let err = match c.create_access_key(user).await {
                Ok(key) => return Ok(key),
                Err(e) => e,
            };
            if err.is_refusal() && !err.is_throttling() {
                if !unclear_before {
                    self.settle_failed(Kind::AccessKey, user, None, &err).await?;
                }
                return Err(err.into());
            }
            // Throttled: AWS did nothing, so there is nothing to look for.
            if !err.is_throttling() {
                unclear_before = true;
                let made: Vec<String> = c
                    .access_keys(user)
                    .await?
                    .into_iter()
                    .map(|k| k.id)
                    .filter(|id| !known.contains(id))
                    .collect();
                if !made.is_empty() && !user_ours {
                    return Err(err.into());
                }
                for id in &made {
                    c.delete_access_key(user, id).await?;
                    let what = format!(
                        "access key {id} deleted: an attempt whose answer was lost created it \
                         ({err})"
                    );
                    self.sink.item(step, Change::Warning, what, started.elapsed());
                }
            }
            if attempt == KEY_ATTEMPTS {
                if !unclear_before {
                    self.settle_failed(Kind::AccessKey, user, None, &err).await?;
                }
                return Err(err.into());
            }
            tokio::time::sleep(pause).await;
            (attempt, pause) = (attempt + 1, pause * 2);
        }
    }

    async fn wait_until_key_works(&self, user: &str, key: &AccessKey) -> Result<(), SetupError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(250);
        loop {
            match self.clients.identity_of(key).await {
                Ok(id) if id.is_user(user) => return Ok(()),
                Ok(id) => {
                    return Err(SetupError::Blocked(format!(
                        "the new key answers as {} instead of user {user}",
                        id.arn
                    )));
                }
                Err(e) if iam::is_invalid_key(&e) && started.elapsed() < KEY_WAIT => {}
                Err(e) if iam::is_invalid_key(&e) => {
                    return Err(SetupError::Blocked(format!(
                        "the new access key {} did not start working within {}s (IAM is eventually \
                         consistent). It is saved; run setup again in a minute and it will be reused",
                        key.id,
                        KEY_WAIT.as_secs()
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(4));
        }
    }
}

/// The keys an interrupted CreateAccessKey may have made: not known before the intent, created
/// inside the intent's window, and not the saved one.
pub(crate) fn orphan_keys(
    intent: &crate::journal::Entry,
    keys: &[iam::KeyInfo],
    saved: Option<&str>,
) -> Vec<String> {
    let Ok(at) = intent.at.parse::<jiff::Timestamp>() else { return Vec::new() };
    let (from, to) =
        (at.as_second() - CLOCK_SLACK_SECS, at.as_second() + KEY_INTENT_SECS + CLOCK_SLACK_SECS);
    let known = intent.known_keys.as_deref().unwrap_or_default();
    keys.iter()
        .filter(|k| k.created.is_some_and(|t| (from..=to).contains(&t)))
        .filter(|k| !known.contains(&k.id) && Some(k.id.as_str()) != saved)
        // An intent written by an older version has no list of known keys: nothing can be
        // told apart, so nothing is taken for the orphan.
        .filter(|_| intent.known_keys.is_some())
        .map(|k| k.id.clone())
        .collect()
}

/// `arn:aws:iam::aws:policy/AmazonEC2FullAccess` -> `AmazonEC2FullAccess`.
fn short_policy(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn existing(what: &str, state: State) -> String {
    match state {
        State::Found => format!("{what} exists (was there before: teardown keeps it)"),
        _ => format!("{what} exists (made by an earlier run)"),
    }
}
