//! The questions of the setup flow, as data: one list that every interactive front end renders
//! (the full-screen wizard now, the `--plain` prompts next). Each question names its answers
//! key, label, one-line help, kind and choices, the background check it wants, and reads its
//! rule's message from `rules::check_answers`, so the rules stay in one place.

pub mod cost;

use std::fmt;

use crate::answers::{Answers, KeyType, Topology};
use crate::catalog;
use crate::rules;
use crate::text;

/// The question steps, in the order the wizard asks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Credentials,
    StateStore,
    SshKey,
    Cluster,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Credentials, Step::StateStore, Step::SshKey, Step::Cluster];

    pub fn title(self) -> &'static str {
        match self {
            Step::Credentials => "Credentials",
            Step::StateStore => "State store",
            Step::SshKey => "SSH key",
            Step::Cluster => "Cluster",
        }
    }

    /// One sentence shown above the step's fields.
    pub fn intro(self) -> &'static str {
        match self {
            Step::Credentials => {
                "Which AWS credentials create the kops IAM user, and what it is called. \
                 No secret is typed here: the new user's key goes straight into the \
                 credentials file."
            }
            Step::StateStore => "The S3 bucket where kops keeps the cluster's state.",
            Step::SshKey => "The SSH key kops puts on the cluster's instances.",
            Step::Cluster => "The cluster's name, zones, networking and sizes.",
        }
    }
}

/// Which read-only check a question wants while it is being answered. The front end runs
/// these off its UI task (they talk to AWS or the disk) and shows the result next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    None,
    /// `sts:GetCallerIdentity` with the chosen admin profile.
    Identity,
    /// HeadBucket on the bucket name: free, yours or taken.
    BucketAvailability,
    /// What is at the public key path and next to it.
    SshKeyFiles,
}

/// Where the values of a choice question come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The profiles of the shared config and credentials files (plus the default chain).
    Profiles,
    Regions,
    /// The zones of the chosen region.
    Zones,
    Networking,
    InstanceTypes,
    KeyTypes,
    Topologies,
    /// The seven policies kops needs, plus any other listed in the answers.
    Policies,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A whole number typed as text.
    Number,
    Toggle,
    /// One value of a list.
    Choice(Source),
    /// Any number of values of a list.
    MultiChoice(Source),
}

/// One value a choice question offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The value stored in the answers ("" for "none" where a question allows it).
    pub value: String,
    /// What the list shows, e.g. `t3.medium`.
    pub label: String,
    /// A few words about it: an instance's vCPU, memory and price; a networking mode's use.
    pub note: String,
    /// Why it cannot be chosen (weave, canal), or `None` when it can.
    pub disabled: Option<&'static str>,
}

impl Choice {
    fn new(value: impl Into<String>, note: impl Into<String>) -> Self {
        let value = value.into();
        Choice { label: value.clone(), value, note: note.into(), disabled: None }
    }
}

/// What the environment offers that the answers alone do not say: found by the front end
/// (profiles from the shared files) and passed in, so this module does no I/O.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub profiles: Vec<String>,
    /// `AWS_ACCESS_KEY_ID` when set, masked to its last four characters.
    pub env_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    /// The answers key, as in the answers file and in the rules' messages.
    pub key: &'static str,
    pub step: Step,
    pub label: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub check: Check,
    /// Empty text means "not set" (an `Option` in the answers).
    pub optional: bool,
}

/// Why a text could not be stored in the answers (the rules then have nothing to say yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError(pub String);

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const fn q(
    key: &'static str,
    step: Step,
    label: &'static str,
    help: &'static str,
    kind: Kind,
) -> Question {
    Question { key, step, label, help, kind, check: Check::None, optional: false }
}

const fn checked(mut question: Question, check: Check) -> Question {
    question.check = check;
    question
}

const fn optional(mut question: Question) -> Question {
    question.optional = true;
    question
}

use Kind::{Choice as One, MultiChoice as Many, Number, Text, Toggle};

/// Every question of the setup flow, in the order they are asked.
pub const QUESTIONS: &[Question] = &[
    optional(checked(
        q(
            "aws.admin_profile",
            Step::Credentials,
            "Admin profile",
            "The credentials that create the kops user; empty means the default chain (env, SSO, default)",
            One(Source::Profiles),
        ),
        Check::Identity,
    )),
    q(
        "aws.region",
        Step::Credentials,
        "Region",
        "Where the bucket and the cluster live",
        One(Source::Regions),
    ),
    q("iam.group", Step::Credentials, "IAM group", "The group that holds kops's policies", Text),
    q("iam.user", Step::Credentials, "IAM user", "The user kops runs as", Text),
    q(
        "aws.kops_profile",
        Step::Credentials,
        "Saved as profile",
        "The new user's access key is saved under this profile (not \"default\")",
        Text,
    ),
    q(
        "iam.policies",
        Step::Credentials,
        "Policies",
        "kops needs all seven; without SQS and EventBridge `kops delete cluster` fails",
        Many(Source::Policies),
    ),
    checked(
        q(
            "state_store.bucket",
            Step::StateStore,
            "Bucket",
            "Bucket names are global: 3-63 lower-case letters, digits, dots and hyphens",
            Text,
        ),
        Check::BucketAvailability,
    ),
    q(
        "state_store.versioning",
        Step::StateStore,
        "Versioning",
        "How a broken cluster spec is recovered; kops strongly recommends it",
        Toggle,
    ),
    q(
        "state_store.encryption",
        Step::StateStore,
        "Encryption",
        "Default encryption (SSE-S3) of the cluster's secrets at rest",
        Toggle,
    ),
    q(
        "state_store.block_public_access",
        Step::StateStore,
        "Block public access",
        "Keeps the bucket private whatever its policies say",
        Toggle,
    ),
    checked(
        q(
            "ssh.public_key",
            Step::SshKey,
            "Public key",
            "An OpenSSH .pub file; the private key is the same path without .pub",
            Text,
        ),
        Check::SshKeyFiles,
    ),
    q(
        "ssh.generate",
        Step::SshKey,
        "Generate if missing",
        "Make a new pair when the files do not exist (never overwrites)",
        Toggle,
    ),
    q(
        "ssh.key_type",
        Step::SshKey,
        "Key type",
        "RSA 4096 as in the old procedure, or ed25519",
        One(Source::KeyTypes),
    ),
    q(
        "ssh.overwrite",
        Step::SshKey,
        "Replace a mismatched key",
        "Move a key of another type or half a pair aside (never deleted) and generate a new one",
        Toggle,
    ),
    q(
        "cluster.name",
        Step::Cluster,
        "Cluster name",
        "A DNS name; with no DNS zone, .k8s.local reaches the API through a load balancer",
        Text,
    ),
    q(
        "cluster.zones",
        Step::Cluster,
        "Zones",
        "Nodes spread over these zones; none chosen means the region's first",
        Many(Source::Zones),
    ),
    q(
        "cluster.networking",
        Step::Cluster,
        "Networking",
        "The pod network (CNI)",
        One(Source::Networking),
    ),
    q(
        "cluster.control_plane_size",
        Step::Cluster,
        "Control-plane size",
        "Less than 4 GiB of memory rarely validates",
        One(Source::InstanceTypes),
    ),
    q(
        "cluster.control_plane_count",
        Step::Cluster,
        "Control planes",
        "An odd number, so etcd keeps a quorum: 1, 3 or 5",
        Number,
    ),
    q(
        "cluster.node_size",
        Step::Cluster,
        "Node size",
        "The workers' instance type",
        One(Source::InstanceTypes),
    ),
    optional(q(
        "cluster.node_count",
        Step::Cluster,
        "Nodes",
        "Empty means one per zone (kops's default)",
        Number,
    )),
    q(
        "cluster.topology",
        Step::Cluster,
        "Topology",
        "public: instances get public addresses; private: behind a NAT gateway per zone",
        One(Source::Topologies),
    ),
    q(
        "cluster.bastion",
        Step::Cluster,
        "Bastion",
        "An SSH jump host (private topology only)",
        Toggle,
    ),
    optional(q(
        "cluster.dns_zone",
        Step::Cluster,
        "DNS zone",
        "A Route 53 zone for the API's name; empty means no DNS (a load balancer)",
        Text,
    )),
    optional(q(
        "cluster.kubernetes_version",
        Step::Cluster,
        "Kubernetes version",
        "Empty means kops's default for its own version",
        Text,
    )),
    q(
        "cluster.smoke_test",
        Step::Cluster,
        "Smoke test",
        "After validation, two pods must answer through a Network Load Balancer (teardown removes it)",
        Toggle,
    ),
];

/// The questions of one step, in order.
pub fn of_step(step: Step) -> impl Iterator<Item = &'static Question> {
    QUESTIONS.iter().filter(move |q| q.step == step)
}

/// The question with this answers key.
pub fn find(key: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.key == key)
}

/// `arn:aws:iam::aws:policy/AmazonEC2FullAccess` -> `EC2`, for lists too narrow for ARNs.
pub fn short_policy(arn: &str) -> &str {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let name = name.strip_prefix("Amazon").unwrap_or(name);
    name.strip_suffix("FullAccess").unwrap_or(name)
}

/// One line about each networking mode, for the choice list.
fn networking_note(mode: &str) -> &'static str {
    match mode {
        "cilium" => "eBPF networking and policies; kops's default",
        "calico" => "BGP routing and network policies",
        "flannel" => "a simple VXLAN overlay, no policies",
        "amazonvpc" => "pods get VPC addresses (AWS VPC CNI)",
        "kindnet" => "minimal, from kind; for small clusters",
        "kube-router" => "routing, policies and service proxy in one",
        "kubenet" => "routes in the VPC route table; public topology only",
        _ => "",
    }
}

impl Question {
    /// Whether the value is typed (a text field) rather than picked.
    pub fn is_typed(&self) -> bool {
        matches!(self.kind, Kind::Text | Kind::Number)
    }

    /// The values a choice question offers, for these answers (zones follow the region).
    pub fn choices(&self, a: &Answers, ctx: &Context) -> Vec<Choice> {
        let source = match self.kind {
            Kind::Choice(s) | Kind::MultiChoice(s) => s,
            Kind::Text | Kind::Number | Kind::Toggle => return Vec::new(),
        };
        let cat = catalog::catalog();
        match source {
            Source::Profiles => {
                let note = match &ctx.env_key {
                    Some(masked) => format!("environment key {masked}, else SSO or [default]"),
                    None => "env, SSO or the [default] profile".to_string(),
                };
                let mut list = vec![Choice {
                    value: String::new(),
                    label: "(default chain)".into(),
                    note,
                    disabled: None,
                }];
                let mut names = ctx.profiles.clone();
                // A profile named in the answers file stays choosable even if no file has it:
                // the identity check then says what is wrong with it.
                if let Some(p) = &a.aws.admin_profile
                    && !names.contains(p)
                {
                    names.push(p.clone());
                }
                list.extend(names.into_iter().map(|p| Choice::new(p, "profile")));
                list
            }
            Source::Regions => {
                let mut list: Vec<Choice> =
                    cat.regions.iter().map(|r| Choice::new(&r.code, &r.name)).collect();
                if cat.region(&a.aws.region).is_none() {
                    list.push(Choice::new(&a.aws.region, "not in the wizard's catalog"));
                }
                list
            }
            Source::Zones => {
                let mut list: Vec<Choice> = cat
                    .region(&a.aws.region)
                    .map(|r| r.zone_names().into_iter().map(|z| Choice::new(z, "")).collect())
                    .unwrap_or_default();
                for zone in &a.cluster.zones {
                    if !list.iter().any(|c| &c.value == zone) {
                        list.push(Choice::new(zone, "not a zone of the region"));
                    }
                }
                list
            }
            Source::Networking => {
                let mut list: Vec<Choice> = text::NETWORKING_MODES
                    .iter()
                    .map(|m| Choice::new(*m, networking_note(m)))
                    .collect();
                for (mode, why) in [("weave", text::WEAVE_REMOVED), ("canal", text::CANAL_REMOVED)]
                {
                    list.push(Choice { disabled: Some(why), ..Choice::new(mode, "removed") });
                }
                list
            }
            Source::InstanceTypes => {
                let current = match self.key {
                    "cluster.control_plane_size" => &a.cluster.control_plane_size,
                    _ => &a.cluster.node_size,
                };
                let mut list: Vec<Choice> = cat
                    .instances
                    .iter()
                    .map(|t| {
                        Choice::new(
                            &t.name,
                            format!(
                                "{} vCPU, {} GiB, ${:.2}/month",
                                t.vcpu,
                                t.memory_gib,
                                t.monthly_usd()
                            ),
                        )
                    })
                    .collect();
                if cat.instance(current).is_none() {
                    list.push(Choice::new(current, "not in the catalog: no estimate"));
                }
                list
            }
            Source::KeyTypes => vec![
                Choice::new(KeyType::Rsa4096.to_string(), "as in the old procedure"),
                Choice::new(KeyType::Ed25519.to_string(), "shorter and faster"),
            ],
            Source::Topologies => vec![
                Choice::new(Topology::Public.to_string(), "instances with public addresses"),
                Choice::new(Topology::Private.to_string(), "private subnets, NAT gateways"),
            ],
            Source::Policies => {
                let mut list: Vec<Choice> = text::KOPS_POLICIES
                    .iter()
                    .map(|p| Choice { label: short_policy(p).into(), ..Choice::new(*p, "") })
                    .collect();
                for p in &a.iam.policies {
                    if !list.iter().any(|c| &c.value == p) {
                        list.push(Choice { label: short_policy(p).into(), ..Choice::new(p, "") });
                    }
                }
                list
            }
        }
    }

    /// The question's value in the answers, as text: a toggle is `true`/`false`, a list is
    /// comma-separated, an unset optional value is empty.
    pub fn get(&self, a: &Answers) -> String {
        let flag = |b: bool| b.to_string();
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        match self.key {
            "aws.admin_profile" => opt(&a.aws.admin_profile),
            "aws.region" => a.aws.region.clone(),
            "aws.kops_profile" => a.aws.kops_profile.clone(),
            "iam.group" => a.iam.group.clone(),
            "iam.user" => a.iam.user.clone(),
            "iam.policies" => a.iam.policies.join(","),
            "state_store.bucket" => opt(&a.state_store.bucket),
            "state_store.versioning" => flag(a.state_store.versioning),
            "state_store.encryption" => flag(a.state_store.encryption),
            "state_store.block_public_access" => flag(a.state_store.block_public_access),
            "ssh.public_key" => a.ssh.public_key.clone(),
            "ssh.generate" => flag(a.ssh.generate),
            "ssh.key_type" => a.ssh.key_type.to_string(),
            "ssh.overwrite" => flag(a.ssh.overwrite),
            "cluster.name" => a.cluster.name.clone(),
            "cluster.zones" => a.cluster.zones.join(","),
            "cluster.networking" => a.cluster.networking.clone(),
            "cluster.control_plane_size" => a.cluster.control_plane_size.clone(),
            "cluster.control_plane_count" => a.cluster.control_plane_count.to_string(),
            "cluster.node_size" => a.cluster.node_size.clone(),
            "cluster.node_count" => a.cluster.node_count.map(|n| n.to_string()).unwrap_or_default(),
            "cluster.topology" => a.cluster.topology.to_string(),
            "cluster.bastion" => flag(a.cluster.bastion),
            "cluster.dns_zone" => opt(&a.cluster.dns_zone),
            "cluster.kubernetes_version" => opt(&a.cluster.kubernetes_version),
            "cluster.smoke_test" => flag(a.cluster.smoke_test),
            _ => String::new(),
        }
    }

    /// Stores `value` (text as [`Question::get`] gives it) in the answers. Text that cannot be
    /// the field's type (a number field holding letters) is refused and the answers are kept;
    /// whether a stored value is *good* is for the rules to say.
    pub fn set(&self, a: &mut Answers, value: &str) -> Result<(), SetError> {
        let value = if self.is_typed() { value.trim() } else { value };
        let flag = |v: &str| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(SetError(format!("{other:?} is neither true nor false"))),
        };
        let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let list = |v: &str| -> Vec<String> {
            v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
        };
        let number = |v: &str| {
            v.parse::<u32>().map_err(|_| SetError(format!("{v:?} is not a whole number")))
        };
        match self.key {
            "aws.admin_profile" => a.aws.admin_profile = opt(value),
            "aws.region" => a.aws.region = value.into(),
            "aws.kops_profile" => a.aws.kops_profile = value.into(),
            "iam.group" => a.iam.group = value.into(),
            "iam.user" => a.iam.user = value.into(),
            "iam.policies" => a.iam.policies = list(value),
            "state_store.bucket" => a.state_store.bucket = opt(value),
            "state_store.versioning" => a.state_store.versioning = flag(value)?,
            "state_store.encryption" => a.state_store.encryption = flag(value)?,
            "state_store.block_public_access" => a.state_store.block_public_access = flag(value)?,
            "ssh.public_key" => a.ssh.public_key = value.into(),
            "ssh.generate" => a.ssh.generate = flag(value)?,
            "ssh.key_type" => {
                a.ssh.key_type = match value {
                    "rsa-4096" => KeyType::Rsa4096,
                    "ed25519" => KeyType::Ed25519,
                    other => return Err(SetError(format!("{other:?} is not rsa-4096 or ed25519"))),
                }
            }
            "ssh.overwrite" => a.ssh.overwrite = flag(value)?,
            "cluster.name" => a.cluster.name = value.into(),
            "cluster.zones" => a.cluster.zones = list(value),
            "cluster.networking" => a.cluster.networking = value.into(),
            "cluster.control_plane_size" => a.cluster.control_plane_size = value.into(),
            "cluster.control_plane_count" => a.cluster.control_plane_count = number(value)?,
            "cluster.node_size" => a.cluster.node_size = value.into(),
            "cluster.node_count" => {
                a.cluster.node_count = if value.is_empty() { None } else { Some(number(value)?) }
            }
            "cluster.topology" => {
                a.cluster.topology = match value {
                    "public" => Topology::Public,
                    "private" => Topology::Private,
                    other => return Err(SetError(format!("{other:?} is not public or private"))),
                }
            }
            "cluster.bastion" => a.cluster.bastion = flag(value)?,
            "cluster.dns_zone" => a.cluster.dns_zone = opt(value),
            "cluster.kubernetes_version" => a.cluster.kubernetes_version = opt(value),
            "cluster.smoke_test" => a.cluster.smoke_test = flag(value)?,
            other => return Err(SetError(format!("no question has the key {other}"))),
        }
        Ok(())
    }

    /// Whether a report's field belongs to this question (`cluster.zones[1]` to `cluster.zones`).
    fn owns(&self, field: &str) -> bool {
        field == self.key || field.strip_prefix(self.key).is_some_and(|rest| rest.starts_with('['))
    }

    /// The message of the first rule this question's value breaks, from `report` (the result
    /// of `rules::check_answers` on the answers being edited), or a required value missing.
    pub fn error(&self, a: &Answers, report: &rules::Report) -> Option<String> {
        if let Some(v) = report.errors.iter().find(|v| self.owns(&v.field)) {
            return Some(v.rule.clone());
        }
        (self.key == "state_store.bucket" && a.state_store.bucket.is_none())
            .then(|| "a bucket name is needed: names are global, so there is no default".into())
    }

    /// Warnings about this question's value (the run goes on).
    pub fn warnings<'r>(&self, report: &'r rules::Report) -> Vec<&'r str> {
        report.warnings.iter().filter(|v| self.owns(&v.field)).map(|v| v.rule.as_str()).collect()
    }
}

/// The first question (in flow order) whose value breaks a rule, for opening the wizard on it.
pub fn first_error(a: &Answers) -> Option<&'static Question> {
    let report = crate::rules::check_answers(a);
    QUESTIONS.iter().find(|q| q.error(a, &report).is_some())
}

/// A key id shown as its last four characters, e.g. `…WXYZ`: enough to tell keys apart,
/// never enough to use one.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_question_round_trips_its_default() {
        let defaults = Answers::default();
        for question in QUESTIONS {
            let mut a = defaults.clone();
            let text = question.get(&a);
            question.set(&mut a, &text).unwrap_or_else(|e| panic!("{}: {e}", question.key));
            assert_eq!(a, defaults, "{}", question.key);
        }
    }

    #[test]
    fn keys_are_unique_and_steps_in_order() {
        let mut seen = std::collections::HashSet::new();
        let mut last = Step::Credentials;
        for question in QUESTIONS {
            assert!(seen.insert(question.key), "{} twice", question.key);
            assert!(question.step >= last, "{} out of step order", question.key);
            last = question.step;
            assert!(!question.help.is_empty() && question.help.len() <= 100, "{}", question.key);
        }
        for step in Step::ALL {
            assert!(of_step(step).count() >= 3, "{step:?}");
        }
    }

    #[test]
    fn every_answers_key_with_a_rule_has_a_question() {
        // Each field check_answers may name (validate.* excepted: it is not asked) is asked.
        let mut a = Answers::default();
        a.cluster.name = "x".into();
        a.state_store.bucket = Some("X".into());
        a.aws.kops_profile = "default".into();
        a.iam.group = String::new();
        a.cluster.control_plane_count = 2;
        let report = crate::rules::check_answers(&a);
        for v in &report.errors {
            assert!(QUESTIONS.iter().any(|q| q.owns(&v.field)), "{} has no question", v.field);
        }
    }

    #[test]
    fn setting_text_changes_the_answers() {
        let mut a = Answers::default();
        find("state_store.bucket").unwrap().set(&mut a, " acme-state ").unwrap();
        assert_eq!(a.state_store.bucket.as_deref(), Some("acme-state"));
        find("state_store.bucket").unwrap().set(&mut a, "").unwrap();
        assert_eq!(a.state_store.bucket, None);
        find("cluster.zones").unwrap().set(&mut a, "us-east-1a, us-east-1b").unwrap();
        assert_eq!(a.cluster.zones, ["us-east-1a", "us-east-1b"]);
        find("cluster.node_count").unwrap().set(&mut a, "3").unwrap();
        assert_eq!(a.cluster.node_count, Some(3));
        find("cluster.node_count").unwrap().set(&mut a, "").unwrap();
        assert_eq!(a.cluster.node_count, None);
        find("cluster.topology").unwrap().set(&mut a, "private").unwrap();
        assert_eq!(a.cluster.topology, Topology::Private);
        find("aws.admin_profile").unwrap().set(&mut a, "admin").unwrap();
        assert_eq!(a.aws.admin_profile.as_deref(), Some("admin"));
    }

    #[test]
    fn text_of_the_wrong_type_is_refused_and_the_answers_kept() {
        let mut a = Answers::default();
        let count = find("cluster.control_plane_count").unwrap();
        let err = count.set(&mut a, "three").unwrap_err();
        assert!(err.0.contains("whole number"), "{err}");
        assert_eq!(a.cluster.control_plane_count, 1);
        assert!(find("ssh.key_type").unwrap().set(&mut a, "dsa").is_err());
        assert!(find("nope").is_none());
    }

    #[test]
    fn errors_come_from_the_rules_by_field() {
        let mut a = Answers::default();
        let bucket = find("state_store.bucket").unwrap();
        assert!(bucket.error(&a, &crate::rules::check_answers(&a)).unwrap().contains("needed"));
        bucket.set(&mut a, "Bad_Bucket").unwrap();
        let msg = bucket.error(&a, &crate::rules::check_answers(&a)).unwrap();
        assert_eq!(Err(msg), rules::bucket_name("Bad_Bucket"));

        let zones = find("cluster.zones").unwrap();
        zones.set(&mut a, "us-east-1a,eu-west-1b").unwrap();
        assert!(zones.error(&a, &crate::rules::check_answers(&a)).unwrap().contains("us-east-1"));

        let name = find("cluster.name").unwrap();
        assert_eq!(name.error(&a, &crate::rules::check_answers(&a)), None);
        assert_eq!(
            name.warnings(&crate::rules::check_answers(&a)).len(),
            1,
            "the gossip-name warning"
        );
        assert_eq!(first_error(&a).map(|q| q.key), Some("state_store.bucket"));
    }

    #[test]
    fn choices_follow_the_answers() {
        let mut a = Answers::default();
        let ctx =
            Context { profiles: vec!["admin".into()], env_key: Some(mask_key("AKIAXYZ1234")) };
        let zones = find("cluster.zones").unwrap();
        assert_eq!(zones.choices(&a, &ctx).len(), 6);
        a.aws.region = "eu-west-2".into();
        let values: Vec<String> = zones.choices(&a, &ctx).into_iter().map(|c| c.value).collect();
        assert_eq!(values, ["eu-west-2a", "eu-west-2b", "eu-west-2c"]);

        let net = find("cluster.networking").unwrap().choices(&a, &ctx);
        assert_eq!(net[0].value, "cilium");
        let weave = net.iter().find(|c| c.value == "weave").unwrap();
        assert!(weave.disabled.unwrap().contains("1.28"));

        let profiles = find("aws.admin_profile").unwrap().choices(&a, &ctx);
        assert_eq!(profiles[0].value, "");
        assert!(profiles[0].note.contains("…1234"));
        assert_eq!(profiles[1].value, "admin");

        let sizes = find("cluster.node_size").unwrap().choices(&a, &ctx);
        let medium = sizes.iter().find(|c| c.value == "t3.medium").unwrap();
        assert_eq!(medium.note, "2 vCPU, 4 GiB, $30.37/month");

        let policies = find("iam.policies").unwrap().choices(&a, &ctx);
        assert_eq!(policies.len(), 7);
        assert_eq!(policies[0].label, "EC2");
    }

    #[test]
    fn masked_keys_show_only_the_last_four() {
        assert_eq!(mask_key("AKIAIOSFODNN7EXAMPLE"), "…MPLE");
        assert_eq!(mask_key("ab"), "…ab");
    }
}
