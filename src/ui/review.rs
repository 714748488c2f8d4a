//! What Review says in every interactive front end: the plan's actions in words, the warnings
//! (the rules', and what the checks found that setup reuses rather than creates), and what an
//! earlier setup of the cluster left in the journal (or that it finished).

use crate::answers::{Answers, Source};
use crate::engine::store::bucket::BucketAccess;
use crate::journal::{Journal, State as Entry};
use crate::plan::{KopsPurpose, SetupAction};
use crate::questions::short_policy;
use crate::rules::{self, Report};
use crate::ui::checks::SshFound;

/// Where Review's answers came from, and whether this session's changes are saved.
pub fn answers_from(source: &Source, unsaved: bool) -> String {
    match (source, unsaved) {
        (Source::File(path), false) => format!("Answers from {}", path.display()),
        (Source::File(path), true) => {
            format!("Answers from {}, changed in this session and not saved", path.display())
        }
        (Source::Defaults, false) => "Answers from the defaults and this session".to_string(),
        (Source::Defaults, true) => "Answers from the defaults and this session, not saved".into(),
    }
}

/// The actions of a step in words, the policy attachments folded into one line.
pub fn describe(actions: &[SetupAction]) -> Vec<String> {
    let mut out = Vec::new();
    let policies: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            SetupAction::AttachGroupPolicy { policy_arn, .. } => Some(short_policy(policy_arn)),
            _ => None,
        })
        .collect();
    for action in actions {
        let line = match action {
            SetupAction::CreateGroup { group } => format!("IAM group {group}"),
            SetupAction::AttachGroupPolicy { group, .. } => {
                if out.iter().any(|l: &String| l.starts_with("attach ")) {
                    continue;
                }
                let attach = format!(
                    "attach {} policies to {group}: {}",
                    policies.len(),
                    policies.join(", ")
                );
                let names: Vec<&str> = actions
                    .iter()
                    .filter_map(|a| match a {
                        SetupAction::AttachGroupPolicy { policy_arn, .. } => {
                            policy_arn.rsplit('/').next()
                        }
                        _ => None,
                    })
                    .collect();
                if let Some(line) = crate::text::admin_disclosure(&names, &credentials_file()) {
                    out.push(attach);
                    line
                } else {
                    attach
                }
            }
            SetupAction::CreateUser { user } => format!("IAM user {user}"),
            SetupAction::AddUserToGroup { user, group } => format!("{user} joins group {group}"),
            SetupAction::CreateAccessKey { user, profile, .. } => {
                format!(
                    "an access key for {user}, saved as profile {profile} in {} (0600, never \
                     shown)",
                    credentials_file()
                )
            }
            SetupAction::CreateBucket { bucket, region } => {
                format!("S3 bucket {bucket} in {region}")
            }
            SetupAction::EnableVersioning { bucket } => format!("versioning on {bucket}"),
            SetupAction::EnableEncryption { bucket } => format!("default encryption on {bucket}"),
            SetupAction::BlockPublicAccess { bucket } => format!("public access block on {bucket}"),
            SetupAction::GenerateSshKey { private_key, key_type } => {
                format!("a {key_type} key pair {private_key} (unless it exists)")
            }
            SetupAction::UseSshKey { public_key } => format!("use the key {public_key}"),
            SetupAction::Kops { purpose: KopsPurpose::CreateCluster, args } => {
                format!("kops {}", args.join(" "))
            }
            SetupAction::Kops { args, .. } => format!("kops {}", args.join(" ")),
            SetupAction::Validate { wait, interval, .. } => {
                format!("kops validate cluster every {interval} until ready (up to {wait})")
            }
            SetupAction::SmokeTest { image, .. } => format!(
                "namespace {}: 2 pods of {image} behind a Service of type LoadBalancer (an NLB), \
                 until both answer through it",
                crate::plan::smoke::NAMESPACE
            ),
        };
        out.push(line);
    }
    out
}

/// Where the access key is saved, as the user would type it.
fn credentials_file() -> String {
    match crate::engine::aws::credentials::SharedFiles::from_env() {
        Ok(files) => crate::ui::checks::tilde(&files.credentials),
        Err(_) => "the AWS credentials file".into(),
    }
}

/// The rules' warnings, and what the checks found that setup will reuse rather than create:
/// `bucket` and `ssh` are the checks' answers, when they came.
pub fn warnings(
    report: &Report,
    answers: &Answers,
    bucket: Option<BucketAccess>,
    ssh: Option<&SshFound>,
) -> Vec<String> {
    let mut list: Vec<String> = report.warnings.iter().map(rules::Violation::to_string).collect();
    list.dedup();
    if let (Some(BucketAccess::Yours), Some(bucket)) = (bucket, &answers.state_store.bucket) {
        list.push(format!(
            "state_store.bucket = {bucket:?}: it exists and is yours, so setup reuses it (and \
             teardown keeps a bucket it did not create)"
        ));
    }
    if let Some(found) = ssh
        && found.summary.starts_with("pair found")
    {
        list.push(format!(
            "ssh.public_key = {:?}: the existing key pair is used, nothing is generated",
            answers.ssh.public_key
        ));
    }
    list
}

/// What the journal of an earlier setup of the same cluster says, for the first screen.
pub fn resume_note(journal: &Journal) -> Option<String> {
    // Counted by kind ("7 policy attachments"): the list of every entry would fill the screen.
    let mut kinds: Vec<(&'static str, usize)> = Vec::new();
    for e in journal.entries.iter().filter(|e| matches!(e.state, Entry::Created | Entry::Found)) {
        match kinds.iter_mut().find(|(k, _)| *k == e.kind.label()) {
            Some((_, n)) => *n += 1,
            None => kinds.push((e.kind.label(), 1)),
        }
    }
    let unsure = journal.entries.iter().filter(|e| e.state == Entry::Intent).count();
    if kinds.is_empty() && unsure == 0 {
        return None;
    }
    let done: usize = kinds.iter().map(|(_, n)| n).sum();
    let list: Vec<String> = kinds
        .iter()
        .map(|(k, n)| if *n == 1 { (*k).to_string() } else { format!("{n} × {k}") })
        .collect();
    let mut note = format!(
        "An earlier setup of {} is in the journal: {done} done ({})",
        journal.cluster,
        list.join(", ")
    );
    if unsure > 0 {
        note.push_str(&format!("; {unsure} under way when it stopped"));
    }
    if let Some(v) = &journal.last_validation {
        note.push_str(&format!("; last validation: {}", v.phase));
    }
    note.push_str(". The run continues from there and creates nothing twice.");
    Some(note)
}

/// The `Existing` page's text when the journal shows this cluster set up, validated, and not
/// torn down since.
pub fn existing_note(journal: &Journal) -> Option<String> {
    let deployed = journal
        .entries
        .iter()
        .any(|e| e.kind == crate::journal::Kind::ClusterDeployed && e.in_use());
    let validation = journal.last_validation.as_ref().filter(|v| v.phase == "ready")?;
    deployed.then(|| {
        format!(
            "Cluster {} is set up: the journal says it validated at {} with {}/{} nodes ready \
             (state store {}).",
            journal.cluster,
            validation.at,
            validation.ready_nodes,
            validation.expected_nodes,
            journal.state_store.as_deref().unwrap_or("unknown"),
        )
    })
}
