//! `doctor`: read-only preflight checks (tools and their versions, the AWS identity, the
//! region, the known pitfalls of the answers). Returns data; the front end prints it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use crate::answers::Answers;
use crate::catalog;
use crate::engine::aws::clients::{Clients, Credentials};
use crate::engine::aws::credentials::SharedFiles;
use crate::engine::cluster::kops::{self, Kops};
use crate::engine::store::bucket::BucketAccess;
use crate::rules::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Check { name, status, detail: detail.into() }
    }
}

/// How long a tool may take to print its version before it counts as broken.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Inputs<'a> {
    pub answers: &'a Answers,
    pub report: &'a Report,
    pub kops: Option<&'a Path>,
}

pub async fn run(inputs: Inputs<'_>) -> Vec<Check> {
    let a = inputs.answers;
    let creds = Credentials { profile: a.aws.admin_profile.clone(), region: a.aws.region.clone() };
    let clients = Clients::from_env(&creds).await;
    let ((kops, version), kubectl, ssh, identity) = tokio::join!(
        check_kops(inputs.kops),
        check_kubectl(),
        check_ssh_keygen(),
        check_identity(&clients, &creds),
    );
    let aws_ok = identity.status == Status::Ok;
    let mut checks = vec![
        kops,
        kubectl,
        ssh,
        check_proxy(),
        identity,
        check_region(&a.aws.region),
        check_ssh_key(a),
    ];
    // Without working admin credentials these would only repeat the identity's failure.
    if aws_ok {
        let (bucket, profile) =
            tokio::join!(check_bucket(&clients, a), check_kops_profile(&clients, a));
        checks.extend(bucket);
        checks.push(profile);
    }
    // The gossip name is only a pitfall where kops turns it into "no DNS" (1.29 and later);
    // with an unknown kops, say it anyway.
    let gossip_applies = version.is_none_or(|v| v.gossip_is_none_dns());
    checks.extend(
        inputs
            .report
            .warnings
            .iter()
            .filter(|w| gossip_applies || w.rule != crate::text::GOSSIP_NAME)
            .map(|w| Check::new("pitfall", Status::Warn, w.to_string())),
    );
    // The log keeps what doctor saw, for a report written after the terminal was closed.
    for c in &checks {
        tracing::info!(check = c.name, status = ?c.status, "{}", c.detail);
    }
    checks
}

/// The proxy every network path of the wizard's takes (AWS, the cluster's API, the smoke test's
/// HTTP through the NLB), as the environment names it: a company network is the first thing
/// to suspect when AWS does not answer.
fn check_proxy() -> Check {
    match crate::engine::proxy::describe() {
        Some(proxy) => Check::new("proxy", Status::Ok, proxy),
        None => Check::new("proxy", Status::Ok, "none: AWS and the cluster are reached directly"),
    }
}

/// The kops check, and the version when kops was found (for version-dependent pitfalls).
async fn check_kops(explicit: Option<&Path>) -> (Check, Option<kops::Version>) {
    match Kops::detect(explicit).await {
        Ok(kops) => (
            Check::new("kops", Status::Ok, format!("{} at {}", kops.version, kops.path.display())),
            Some(kops.version),
        ),
        Err(e) => (Check::new("kops", Status::Fail, e.to_string()), None),
    }
}

async fn check_kubectl() -> Check {
    let Some(path) = kops::find_on_path("kubectl") else {
        return Check::new(
            "kubectl",
            Status::Warn,
            "not found (optional: you need it to use the cluster)",
        );
    };
    match output(&path, &["version", "--client"]).await {
        Ok(out) => {
            let first = out.lines().next().unwrap_or_default().trim().to_string();
            Check::new("kubectl", Status::Ok, format!("{first} at {}", path.display()))
        }
        Err(e) => {
            Check::new("kubectl", Status::Warn, format!("{} does not run: {e}", path.display()))
        }
    }
}

async fn check_ssh_keygen() -> Check {
    match kops::find_on_path("ssh-keygen") {
        Some(path) => Check::new("ssh-keygen", Status::Ok, format!("at {}", path.display())),
        None => Check::new(
            "ssh-keygen",
            Status::Warn,
            "not found (optional: the wizard generates keys itself)",
        ),
    }
}

async fn check_identity(clients: &Clients, creds: &Credentials) -> Check {
    let via = match &creds.profile {
        Some(p) => format!("profile {p}"),
        None => "the default credential chain".to_string(),
    };
    match clients.whoami().await {
        Ok(id) => Check::new(
            "aws identity",
            Status::Ok,
            format!("{} (account {}) via {via}", id.arn, id.account),
        ),
        Err(e) => Check::new("aws identity", Status::Fail, format!("{e} (via {via})")),
    }
}

/// The state bucket, when the answers name one: free, yours, or someone else's.
async fn check_bucket(clients: &Clients, a: &Answers) -> Option<Check> {
    let bucket = a.state_store.bucket.as_deref()?;
    let check = match clients.bucket_access(bucket).await {
        Ok(BucketAccess::Yours) => {
            Check::new("state bucket", Status::Ok, format!("{bucket} exists and is reachable"))
        }
        Ok(BucketAccess::Free) => {
            Check::new("state bucket", Status::Ok, format!("{bucket} is free: setup creates it"))
        }
        Ok(BucketAccess::Taken) => Check::new(
            "state bucket",
            Status::Fail,
            crate::engine::store::bucket::taken(bucket).message,
        ),
        Ok(BucketAccess::ElsewhereRegion) => Check::new(
            "state bucket",
            Status::Fail,
            format!("{bucket} exists in another region than {}", a.aws.region),
        ),
        Err(e) => Check::new("state bucket", Status::Fail, e.to_string()),
    };
    Some(check)
}

/// The kops user's saved profile: absent before the first setup, else it must work.
async fn check_kops_profile(clients: &Clients, a: &Answers) -> Check {
    let profile = &a.aws.kops_profile;
    let saved = SharedFiles::from_env().and_then(|files| files.read_key(profile));
    match saved {
        Err(e) => Check::new("kops profile", Status::Fail, e.to_string()),
        Ok(None) => Check::new(
            "kops profile",
            Status::Ok,
            format!("{profile} is not saved yet: setup creates it"),
        ),
        Ok(Some(key)) => match clients.identity_of(&key).await {
            Ok(id) if id.is_user(&a.iam.user) => {
                Check::new("kops profile", Status::Ok, format!("{profile} works as {}", id.arn))
            }
            Ok(id) => Check::new(
                "kops profile",
                Status::Fail,
                format!(
                    "{profile} holds key {} which answers as {}, not as the IAM user {}",
                    key.id, id.arn, a.iam.user
                ),
            ),
            Err(e) => Check::new(
                "kops profile",
                Status::Fail,
                format!("{profile} holds key {} which does not work: {e}", key.id),
            ),
        },
    }
}

/// The key files at `ssh.public_key`, judged as setup's preflight judges them (the same
/// function), so what doctor passes the SSH step does not refuse.
fn check_ssh_key(a: &Answers) -> Check {
    use crate::engine::cluster::ssh::{self, Decision};
    let shown = &a.ssh.public_key;
    match ssh::preflight(&a.ssh) {
        Ok(Decision::Use { info, private_missing }) => Check::new(
            "ssh key",
            if private_missing { Status::Warn } else { Status::Ok },
            format!(
                "{shown} ({}, {}){}",
                info.algorithm,
                info.fingerprint,
                if private_missing { ": its private key is missing" } else { "" }
            ),
        ),
        Ok(Decision::Generate { conflict: None }) => Check::new(
            "ssh key",
            Status::Ok,
            format!("{shown} does not exist: setup generates a {} pair", a.ssh.key_type),
        ),
        Ok(Decision::Generate { conflict: Some(conflict) }) => Check::new(
            "ssh key",
            Status::Warn,
            format!("{conflict}: setup moves the old files aside (ssh.overwrite) and generates"),
        ),
        Ok(Decision::Refuse(why)) | Err(why) => {
            Check::new("ssh key", Status::Fail, format!("ssh.public_key: {why}"))
        }
    }
}

fn check_region(region: &str) -> Check {
    match catalog::catalog().region(region) {
        Some(r) => Check::new(
            "region",
            Status::Ok,
            format!("{region} ({}), zones {}", r.name, r.zone_names().join(", ")),
        ),
        None => {
            Check::new("region", Status::Warn, format!("{region} is not in the wizard's catalog"))
        }
    }
}

/// Runs a tool and returns what it printed (stdout, else stderr), or why it could not run.
async fn output(program: &PathBuf, args: &[&str]) -> Result<String, String> {
    // A version check needs no AWS: the tools get none of the admin's credentials.
    let run = crate::engine::cluster::kops::without_credentials(&mut Command::new(program))
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(TOOL_TIMEOUT, run)
        .await
        .map_err(|_| format!("no answer in {}s", TOOL_TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    let text = if out.stdout.is_empty() { out.stderr } else { out.stdout };
    let text = String::from_utf8_lossy(&text).into_owned();
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{} ({})", out.status, text.lines().last().unwrap_or_default().trim()))
    }
}
