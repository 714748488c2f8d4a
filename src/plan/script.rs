//! Renders a Plan as a bash script with today's commands (aws CLI, ssh-keygen, kops): every
//! value quoted, a comment for each step and for each place it departs from the old procedure.

use std::fmt::Write as _;

use super::shell::{comment, quote, word};
use super::{BUCKET_PLACEHOLDER, Plan, PlanAction, PlanKind, SetupAction, TeardownAction};
use crate::answers::{Answers, KeyType, Source};
use crate::marks::{MARK_TAG, owned_tag, wizard_path};
use crate::rules::Report;
use crate::text;

const WIDTH: usize = 100;

/// What the script needs besides the plan: where the answers came from and what the rules said.
pub struct Context<'a> {
    pub answers: &'a Answers,
    pub source: &'a Source,
    pub report: &'a Report,
}

/// What an action is in the script: its lines, and the shell functions they call.
pub trait Scripted: PlanAction {
    fn command(&self, vars: &[(&str, &str)], cluster: &str) -> String;
    fn needs(&self) -> Needs;
}

/// The shell functions a plan's commands call (only those are written).
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    kops: bool,
    empty_bucket: bool,
    remove_profile: bool,
    save_key: bool,
}

impl Needs {
    fn or(self, other: Needs) -> Needs {
        Needs {
            kops: self.kops || other.kops,
            empty_bucket: self.empty_bucket || other.empty_bucket,
            remove_profile: self.remove_profile || other.remove_profile,
            save_key: self.save_key || other.save_key,
        }
    }
}

pub fn render<A: Scripted>(plan: &Plan<A>, ctx: &Context<'_>) -> String {
    let a = ctx.answers;
    let bucket = a.state_store.bucket.as_deref().unwrap_or(BUCKET_PLACEHOLDER);
    let vars = [(bucket, "BUCKET")];
    let mut out = String::new();

    let what = match plan.kind() {
        PlanKind::Setup => "setup",
        PlanKind::Teardown => "teardown",
    };
    out.push_str("#!/usr/bin/env bash\n");
    out.push_str(&comment(
        &format!(
            "kops-wizard plan: what `kops-wizard {what}` does, as a bash script. Answers: {}. \
             Printing it changed nothing. Unlike the wizard, the script keeps no journal: a rerun \
             after a failure repeats the steps that already worked.",
            ctx.source
        ),
        WIDTH,
    ));
    if plan.kind() == PlanKind::Teardown {
        out.push_str(&comment(
            "The wizard deletes only what its journal says it created; this script deletes \
             what the answers name, so check each resource is yours before running it.",
            WIDTH,
        ));
    }
    out.push_str("set -euo pipefail\n\n");

    for warning in &ctx.report.warnings {
        out.push_str(&comment(&format!("Warning: {warning}"), WIDTH));
    }
    if !ctx.report.warnings.is_empty() {
        out.push('\n');
    }

    if plan.placeholders.contains(&"state_store.bucket") {
        out.push_str(&comment(&format!("Placeholder: {}.", text::BUCKET_PLACEHOLDER), WIDTH));
        out.push_str(
            "BUCKET=\"${KOPS_WIZARD_BUCKET:?state_store.bucket is not set: export KOPS_WIZARD_BUCKET=<a globally unique bucket name>}\"\n",
        );
    } else {
        let _ = writeln!(out, "BUCKET={}", quote(bucket));
    }
    match &a.aws.admin_profile {
        Some(profile) => {
            out.push_str("# IAM and S3 changes are made with the administrator's profile.\n");
            let _ = writeln!(out, "export AWS_PROFILE={}", quote(profile));
        }
        None => out.push_str(&comment(
            "IAM and S3 changes are made with the administrator's credentials from the default \
             chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO).",
            WIDTH,
        )),
    }
    let _ = writeln!(out, "KOPS_PROFILE={}", quote(&a.aws.kops_profile));
    out.push_str(&helpers(plan));

    for kept in &plan.kept {
        out.push_str(&comment(&format!("Kept: {kept}."), WIDTH));
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "\n# --- {}. {} ---", i + 1, step.id.title());
        for note in &step.departs {
            out.push_str(&comment(&format!("Departs from the old procedure: {note}"), WIDTH));
        }
        for action in &step.actions {
            // Before the key is made: what it can do, where it is kept, who takes it back.
            if action.needs().save_key {
                let names: Vec<&str> =
                    a.iam.policies.iter().map(|p| p.rsplit('/').next().unwrap_or(p)).collect();
                if let Some(line) = text::admin_disclosure(&names, "the AWS CLI's credentials file")
                {
                    out.push_str(&comment(&line, WIDTH));
                }
            }
            out.push_str(&action.command(&vars, &a.cluster.name));
        }
    }

    if plan.kind() == PlanKind::Setup {
        out.push_str("\n# --- Done: use the cluster ---\n");
        let _ = writeln!(out, "echo 'export KOPS_STATE_STORE=s3://'\"${{BUCKET}}\"");
        let _ = writeln!(
            out,
            "echo {}",
            quote(&format!("export KOPS_CLUSTER_NAME={}", a.cluster.name))
        );
        let _ =
            writeln!(out, "echo {}", quote(&format!("export AWS_PROFILE={}", a.aws.kops_profile)));
        out.push_str("echo 'kubectl get nodes'\n");
    }
    out
}

/// Shell functions the commands below rely on, only those this plan uses.
fn helpers<A: Scripted>(plan: &Plan<A>) -> String {
    let needs = plan.actions().fold(Needs::default(), |n, a| n.or(a.needs()));
    let mut out = String::new();
    if needs.kops {
        out.push('\n');
        out.push_str(&comment(text::departs::KOPS_USER, WIDTH));
        out.push_str(&format!(
            "kops_as_user() {{ env {} AWS_PROFILE=\"$KOPS_PROFILE\" kops \"$@\"; }}\n",
            super::kops_args::CREDENTIAL_VARS.map(|v| format!("-u {v}")).join(" ")
        ));
    }
    if needs.empty_bucket {
        out.push('\n');
        out.push_str(&comment(
            "Deletes every object version and every delete marker (under the prefix PREFIX when \
             given), at most 1000 per request (S3's limit for DeleteObjects), until the listing \
             is empty. The batch goes through a file: 1000 long keys are more than one \
             command-line argument may hold.",
            WIDTH,
        ));
        out.push_str(concat!(
            "empty_versioned_bucket() {\n",
            "  local batch\n",
            "  batch=$(mktemp)\n",
            "  while :; do\n",
            "    aws s3api list-object-versions --bucket \"$1\" --prefix \"${2:-}\" --max-keys 1000 --no-paginate --output json \\\n",
            "      --query '{Objects: [Versions, DeleteMarkers][][].{Key: Key, VersionId: VersionId}, Quiet: `true`}' >\"$batch\"\n",
            "    grep -q '\"Key\"' \"$batch\" || break\n",
            "    aws s3api delete-objects --bucket \"$1\" --delete \"file://$batch\" >/dev/null\n",
            "  done\n",
            "  rm -f \"$batch\"\n",
            "}\n",
        ));
    }
    if needs.save_key || needs.remove_profile {
        out.push('\n');
        out.push_str(&comment(
            "The aws CLI cannot remove a profile: drop its section (FILE, HEADER) and keep the \
             rest. The new file is made by mktemp (0600, a fresh name, no symlink followed) next \
             to the old one, then renamed over it.",
            WIDTH,
        ));
        out.push_str(concat!(
            "remove_profile() {\n",
            "  [ -f \"$1\" ] || return 0\n",
            "  local tmp\n",
            "  tmp=$(mktemp \"$1.XXXXXXXX\") || return 1\n",
            "  awk -v h=\"[$2]\" '{ l = $0; gsub(/^[ \\t]+|[ \\t]+$/, \"\", l) } l ~ /^\\[/ { skip = (l == h) } !skip' \"$1\" >\"$tmp\" \\\n",
            "    && mv \"$tmp\" \"$1\" || { rm -f \"$tmp\"; return 1; }\n",
            "}\n",
        ));
    }
    if needs.save_key {
        out.push('\n');
        out.push_str(&comment(
            "Saves KEY (\"ID SECRET\" as create-access-key prints it) as PROFILE in the \
             credentials file. printf is a bash builtin, so the secret is never on a command \
             line that ps shows (`aws configure set` would put it there).",
            WIDTH,
        ));
        out.push_str(concat!(
            "save_key() {\n",
            "  local file=\"${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}\"\n",
            "  mkdir -p \"$(dirname \"$file\")\" && chmod 700 \"$(dirname \"$file\")\"\n",
            "  remove_profile \"$file\" \"$2\" || return 1\n",
            "  (umask 077 && printf '[%s]\\naws_access_key_id = %s\\naws_secret_access_key = %s\\n' \\\n",
            "    \"$2\" \"${1%%[[:space:]]*}\" \"${1##*[[:space:]]}\" >>\"$file\")\n",
            "  chmod 600 \"$file\"\n",
            "}\n",
        ));
    }
    out
}

const CREDENTIALS_FILE: &str = "\"${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}\"";
const CONFIG_FILE: &str = "\"${AWS_CONFIG_FILE:-$HOME/.aws/config}\"";

impl Scripted for SetupAction {
    fn needs(&self) -> Needs {
        match self {
            SetupAction::Kops { .. } | SetupAction::Validate { .. } => {
                Needs { kops: true, ..Needs::default() }
            }
            SetupAction::CreateAccessKey { .. } => {
                Needs { save_key: true, remove_profile: true, ..Needs::default() }
            }
            SetupAction::CreateGroup { .. }
            | SetupAction::AttachGroupPolicy { .. }
            | SetupAction::CreateUser { .. }
            | SetupAction::AddUserToGroup { .. }
            | SetupAction::CreateBucket { .. }
            | SetupAction::EnableVersioning { .. }
            | SetupAction::EnableEncryption { .. }
            | SetupAction::BlockPublicAccess { .. }
            | SetupAction::GenerateSshKey { .. }
            | SetupAction::UseSshKey { .. }
            | SetupAction::SmokeTest { .. } => Needs::default(),
        }
    }

    /// The shell lines of one action.
    fn command(&self, vars: &[(&str, &str)], cluster: &str) -> String {
        let w = |s: &str| word(s, vars);
        let q = |s: &str| quote(s);
        // The wizard's mark: its IAM path, and a tag naming the cluster (see engine::team::ownership).
        let mark = format!("Key={MARK_TAG},Value={cluster}");
        let path = q(&wizard_path(cluster));
        match self {
            SetupAction::CreateGroup { group } => {
                format!("aws iam create-group --group-name {} --path {path}\n", q(group))
            }
            SetupAction::AttachGroupPolicy { group, policy_arn } => {
                format!(
                    "aws iam attach-group-policy --group-name {} --policy-arn {}\n",
                    q(group),
                    q(policy_arn)
                )
            }
            SetupAction::CreateUser { user } => format!(
                "aws iam create-user --user-name {} --path {path} --tags {}\n",
                q(user),
                q(&mark)
            ),
            SetupAction::AddUserToGroup { user, group } => {
                format!(
                    "aws iam add-user-to-group --user-name {} --group-name {}\n",
                    q(user),
                    q(group)
                )
            }
            SetupAction::CreateAccessKey { user, profile, region } => {
                let p = q(profile);
                let mut s = String::new();
                let _ = writeln!(
                    s,
                    "key=$(aws iam create-access-key --user-name {} --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)",
                    q(user)
                );
                let _ = writeln!(s, "save_key \"$key\" {p}");
                s.push_str("unset key\n");
                let _ = writeln!(s, "aws configure set region {} --profile {p}", q(region));
                s.push_str(
                    "# A new key takes a few seconds to work (IAM is eventually consistent).\n",
                );
                let _ = writeln!(
                    s,
                    "for _ in $(seq 30); do aws sts get-caller-identity --profile {p} >/dev/null 2>&1 && break; sleep 2; done"
                );
                s
            }
            SetupAction::CreateBucket { bucket, region } => {
                let mut s = format!(
                    "aws s3api create-bucket --bucket {} --region {}",
                    w(bucket),
                    q(region)
                );
                // us-east-1 is S3's default location and rejects an explicit constraint for itself.
                if region != "us-east-1" {
                    let _ = write!(
                        s,
                        " --create-bucket-configuration LocationConstraint={}",
                        q(region)
                    );
                }
                let _ = write!(
                    s,
                    "\naws s3api put-bucket-tagging --bucket {} --tagging {}",
                    w(bucket),
                    q(&format!("TagSet=[{{{mark}}}]"))
                );
                s + "\n"
            }
            SetupAction::EnableVersioning { bucket } => format!(
                "aws s3api put-bucket-versioning --bucket {} --versioning-configuration Status=Enabled\n",
                w(bucket)
            ),
            SetupAction::EnableEncryption { bucket } => format!(
                "aws s3api put-bucket-encryption --bucket {} \\\n  --server-side-encryption-configuration {}\n",
                w(bucket),
                q(
                    r#"{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}"#
                )
            ),
            SetupAction::BlockPublicAccess { bucket } => format!(
                "aws s3api put-public-access-block --bucket {} \\\n  --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true\n",
                w(bucket)
            ),
            SetupAction::GenerateSshKey { private_key, key_type } => {
                let kind = match key_type {
                    KeyType::Rsa4096 => "-t rsa -b 4096",
                    KeyType::Ed25519 => "-t ed25519",
                };
                let k = w(private_key);
                format!(
                    "# An existing key is never overwritten.\nif [ ! -e {k} ]; then\n  mkdir -p -m 700 \"$(dirname {k})\"\n  ssh-keygen {kind} -N '' -C kops-wizard -f {k}\nfi\n"
                )
            }
            SetupAction::UseSshKey { public_key } => {
                let k = w(public_key);
                format!("test -r {k} || {{ echo \"missing SSH public key: \"{k} >&2; exit 1; }}\n")
            }
            SetupAction::Kops { args, .. } => kops_command(args, vars),
            SetupAction::Validate { cluster, state_store, wait, .. } => {
                let args = super::kops_args::validate_wait_args(cluster, state_store, wait);
                kops_command(&args, vars)
            }
            SetupAction::SmokeTest { cluster, image } => smoke_test(cluster, image),
        }
    }
}

impl Scripted for TeardownAction {
    fn needs(&self) -> Needs {
        match self {
            TeardownAction::PreviewDelete { .. } | TeardownAction::DeleteCluster { .. } => {
                Needs { kops: true, ..Needs::default() }
            }
            TeardownAction::EmptyBucket { .. } | TeardownAction::PurgeClusterState { .. } => {
                Needs { empty_bucket: true, ..Needs::default() }
            }
            TeardownAction::RemoveProfile { .. } => {
                Needs { remove_profile: true, ..Needs::default() }
            }
            TeardownAction::DeleteServices { .. }
            | TeardownAction::DeleteVolumes { .. }
            | TeardownAction::DeleteBucket { .. }
            | TeardownAction::DeleteAccessKeys { .. }
            | TeardownAction::DeleteAccessKey { .. }
            | TeardownAction::RemoveUserFromGroup { .. }
            | TeardownAction::DeleteUser { .. }
            | TeardownAction::DetachGroupPolicy { .. }
            | TeardownAction::DeleteGroup { .. }
            | TeardownAction::DeleteSshKey { .. } => Needs::default(),
        }
    }

    /// The shell lines of one action.
    fn command(&self, vars: &[(&str, &str)], _cluster: &str) -> String {
        let w = |s: &str| word(s, vars);
        let q = |s: &str| quote(s);
        match self {
            TeardownAction::PreviewDelete { args } | TeardownAction::DeleteCluster { args } => {
                kops_command(args, vars)
            }
            TeardownAction::DeleteServices { cluster } => delete_services(cluster),
            TeardownAction::DeleteVolumes { cluster } => format!(
                "# The EBS volumes PersistentVolumes made (--delete-volumes).\n\
                 for vol in $(aws ec2 describe-volumes --filters Name=tag-key,Values={} \\\n\
                 \x20   --query 'Volumes[?Tags[?Key==`kubernetes.io/created-for/pv/name`]].VolumeId' --output text); do\n\
                 \x20 aws ec2 delete-volume --volume-id \"$vol\"\n\
                 done\n",
                q(&owned_tag(cluster))
            ),
            TeardownAction::EmptyBucket { bucket } => {
                format!("empty_versioned_bucket {}\n", w(bucket))
            }
            TeardownAction::PurgeClusterState { bucket, cluster } => {
                format!("empty_versioned_bucket {} {}\n", w(bucket), q(&format!("{cluster}/")))
            }
            TeardownAction::DeleteBucket { bucket } => {
                format!("aws s3api delete-bucket --bucket {}\n", w(bucket))
            }
            TeardownAction::DeleteAccessKeys { user } => format!(
                "for key_id in $(aws iam list-access-keys --user-name {u} --query 'AccessKeyMetadata[].AccessKeyId' --output text); do\n  aws iam delete-access-key --user-name {u} --access-key-id \"$key_id\"\ndone\n",
                u = q(user)
            ),
            TeardownAction::DeleteAccessKey { user, key_id } => {
                format!(
                    "aws iam delete-access-key --user-name {} --access-key-id {}\n",
                    q(user),
                    q(key_id)
                )
            }
            TeardownAction::RemoveUserFromGroup { user, group } => {
                format!(
                    "aws iam remove-user-from-group --user-name {} --group-name {}\n",
                    q(user),
                    q(group)
                )
            }
            TeardownAction::DeleteUser { user } => {
                format!("aws iam delete-user --user-name {}\n", q(user))
            }
            TeardownAction::DetachGroupPolicy { group, policy_arn } => {
                format!(
                    "aws iam detach-group-policy --group-name {} --policy-arn {}\n",
                    q(group),
                    q(policy_arn)
                )
            }
            TeardownAction::DeleteGroup { group } => {
                format!("aws iam delete-group --group-name {}\n", q(group))
            }
            TeardownAction::RemoveProfile { profile } => format!(
                "remove_profile {CREDENTIALS_FILE} {}\nremove_profile {CONFIG_FILE} {}\n",
                q(profile),
                q(&format!("profile {profile}"))
            ),
            TeardownAction::DeleteSshKey { private_key } => {
                let k = w(private_key);
                format!("rm -f -- {k} {}\n", w(&format!("{private_key}.pub")))
            }
        }
    }
}

/// The smoke test with kubectl and curl: the same objects the wizard makes (created only
/// when missing, so a rerun is safe), then the same waits, polled.
fn smoke_test(cluster: &str, image: &str) -> String {
    use super::smoke::{APP, NAMESPACE, manifests};
    let mut s = String::new();
    let _ = writeln!(s, "kubectl config use-context {}", quote(cluster));
    for (what, json) in manifests(image) {
        let get = match what {
            "namespace" => format!("kubectl get namespace {NAMESPACE}"),
            other => format!("kubectl -n {NAMESPACE} get {other} {APP}"),
        };
        let _ = writeln!(
            s,
            "{get} >/dev/null 2>&1 || kubectl create --validate=false -f - <<'MANIFEST'\n{json}\nMANIFEST"
        );
    }
    let _ = writeln!(
        s,
        "until [ \"$(kubectl -n {NAMESPACE} get deployment {APP} -o jsonpath='{{.status.readyReplicas}}')\" = 2 ]; do sleep 2; done"
    );
    s.push_str("# The NLB takes a few minutes; its DNS name a few more.\n");
    let _ = writeln!(
        s,
        "until host=$(kubectl -n {NAMESPACE} get service {APP} -o jsonpath='{{.status.loadBalancer.ingress[0].hostname}}') && [ -n \"$host\" ]; do sleep 2; done"
    );
    s.push_str("url=\"http://$host/hostname\"\n");
    s.push_str(
        "seen=\"\"\nfor _ in $(seq 300); do\n  pod=$(curl -fsS \"$url\" 2>/dev/null) || { sleep 2; continue; }\n  case \" $seen \" in *\" $pod \"*) ;; *) seen=\"$seen $pod\" ;; esac\n  [ \"$(echo $seen | wc -w)\" -ge 2 ] && break\ndone\n",
    );
    s.push_str("echo \"answered through http://$host/hostname:$seen\"\n");
    s
}

/// Deletes the cluster's Services of type LoadBalancer, then waits for their NLBs to go.
fn delete_services(cluster: &str) -> String {
    use super::smoke::NAMESPACE;
    let mut s = String::new();
    s.push_str("# While the cluster's API answers; without it the load balancers wait below.\n");
    let _ = writeln!(
        s,
        "if kubectl --context {} version --request-timeout=5s >/dev/null 2>&1; then",
        quote(cluster)
    );
    let _ = writeln!(s, "  kubectl config use-context {}", quote(cluster));
    let _ = writeln!(s, "  kubectl delete namespace {NAMESPACE} --ignore-not-found --wait=false");
    // A Service listed here may be gone by its delete (its namespace's deletion finishing, its
    // controller done): not found is what this line wants.
    s.push_str(
        "  kubectl get services -A -o jsonpath='{range .items[?(@.spec.type==\"LoadBalancer\")]}{.metadata.namespace} {.metadata.name}{\"\\n\"}{end}' \\\n    | while read -r ns name; do kubectl -n \"$ns\" delete service \"$name\" --wait=false --ignore-not-found; done\nfi\n",
    );
    let _ = writeln!(
        s,
        "# kops's delete does not wait for them: wait until no load balancer is tagged for a Service.\n\
         while aws resourcegroupstaggingapi get-resources --resource-type-filters elasticloadbalancing:loadbalancer \\\n\
         \x20   --tag-filters Key={} --query 'ResourceTagMappingList[?Tags[?Key==`kubernetes.io/service-name`]]' \\\n\
         \x20   --output text | grep -q .; do sleep 10; done",
        quote(&owned_tag(cluster))
    );
    s
}

/// `kops_as_user verb noun \` then one flag (and its value) per line.
fn kops_command(args: &[String], vars: &[(&str, &str)]) -> String {
    let verbs = args.iter().take_while(|a| !a.starts_with('-')).count();
    let mut lines = vec![format!("kops_as_user {}", args[..verbs].join(" "))];
    let mut rest = args[verbs..].iter().peekable();
    while let Some(flag) = rest.next() {
        let mut line = format!("  {}", word(flag, vars));
        if let Some(value) = rest.next_if(|v| !v.starts_with('-')) {
            line.push(' ');
            line.push_str(&word(value, vars));
        }
        lines.push(line);
    }
    if lines.len() <= 3 {
        let joined: Vec<&str> = lines.iter().map(|l| l.trim_start()).collect();
        return joined.join(" ") + "\n";
    }
    lines.join(" \\\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kops_commands_keep_flag_and_value_together() {
        let args: Vec<String> = [
            "create",
            "cluster",
            "--name",
            "a.b",
            "--state",
            "s3://x y",
            "--zones",
            "z",
            "--bastion",
        ]
        .map(String::from)
        .to_vec();
        let out = kops_command(&args, &[("x y", "BUCKET")]);
        assert_eq!(
            out,
            "kops_as_user create cluster \\\n  --name a.b \\\n  --state s3://\"${BUCKET}\" \\\n  --zones z \\\n  --bastion\n"
        );
    }
}
