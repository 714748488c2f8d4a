//! User-facing text that explains kops and AWS pitfalls, kept in one place so that the
//! validation rules, the plan script, `doctor` and the front ends all say the same thing.

pub const AFTER_HELP: &str = "\
Exit codes: 0 done; 1 a step failed (AWS or kops error, validation timed out); \
2 bad input or usage (nothing was changed); 130 interrupted.

Examples:
  kops-wizard                                   guided setup in the full-screen UI
  kops-wizard plan -c config.toml               the shell script setup would run, changes nothing
  kops-wizard setup --yes -c config.toml        setup without questions (CI, scripts)
  kops-wizard teardown                          delete what setup created";

/// Why `weave` is refused.
pub const WEAVE_REMOVED: &str = "weave was removed from kops in 1.28 (kops fails with `unknown \
networking mode \"weave\"`); use cilium, the default, or calico";

/// Why `canal` is refused.
pub const CANAL_REMOVED: &str =
    "canal was removed from kops in 1.34; use cilium, the default, or calico";

/// The networking modes today's kops offers on AWS, default first.
pub const NETWORKING_MODES: &[&str] =
    &["cilium", "calico", "flannel", "amazonvpc", "kindnet", "kube-router", "kubenet"];

/// The seven policies kops needs. The seed procedure attached five; without SQS and EventBridge
/// `kops delete cluster` fails with AccessDenied.
pub const KOPS_POLICIES: &[&str] = &[
    "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
    "arn:aws:iam::aws:policy/AmazonRoute53FullAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AmazonVPCFullAccess",
    "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
    "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess",
];

pub const MISSING_POLICY: &str = "kops's documentation lists seven policies; without \
AmazonSQSFullAccess and AmazonEventBridgeFullAccess `kops delete cluster` fails with AccessDenied";

pub const SMALL_CONTROL_PLANE: &str = "a control plane with less than 4 GiB of memory typically \
never validates; kops's default is t3.medium (4 GiB)";

pub const GOSSIP_NAME: &str = "a name ending in .k8s.local used to mean gossip DNS; since kops \
1.29 a new cluster without a DNS zone uses no DNS at all (kops warns `Gossip is deprecated, using \
None DNS instead`) and reaches the API through a load balancer; gossip is removed in 1.37. Set \
cluster.dns_zone to use a Route 53 zone instead";

/// Comments the plan script carries where it departs from the team's old procedure.
pub mod departs {
    pub const POLICIES: &str = "The old procedure attached 5 policies; kops now needs 7: without \
SQS and EventBridge access `kops delete cluster` fails with AccessDenied.";
    pub const ACCESS_KEY: &str = "The old procedure printed the secret and exported it by hand; \
here it goes straight into the credentials file (mode 0600) and is never shown.";
    pub const ENCRYPTION: &str = "The old procedure only turned on versioning; default encryption \
and the public access block keep the cluster's secrets in the bucket private.";
    pub const SSH_KEY: &str = "The old procedure generated the key after creating the cluster and \
swapped it in with `kops create secret ... sshpublickey` (a hidden alias today); passing \
--ssh-public-key to `kops create cluster` does it in one step.";
    pub const CREATE_CLUSTER: &str = "The old procedure used --networking weave (removed in kops \
1.28), --master-size (now --control-plane-size) and t2.micro (control planes under 4 GiB rarely \
validate).";
    pub const KOPS_USER: &str = "kops runs as the kops user: AWS_PROFILE selects it, and every \
credential variable is cleared (keys, tokens, web identity, roles): any of them would win over AWS_PROFILE.";
    pub const UPDATE: &str = "Without --admin the exported kubeconfig has no credentials and \
kubectl gets Unauthorized.";
    pub const VALIDATE: &str = "\"API DNS not ready yet\" during the first minutes is normal.";
    pub const SMOKE_TEST: &str = "The old procedure ended at a validated cluster; its diagram puts \
a Network Load Balancer in front of the pods, so two pods must answer through one. Teardown \
deletes it first: kops's delete does not wait for a Service's load balancer.";
    pub const VERSIONED_BUCKET: &str = "A versioned bucket can only be deleted once every object \
version and delete marker is gone; kops delete cluster leaves them behind.";
}

/// Where a value in the plan is a placeholder because the answers do not give it.
pub const BUCKET_PLACEHOLDER: &str = "state_store.bucket is not set: bucket names are global, \
so there is no default. Set it in the answers file, or export KOPS_WIZARD_BUCKET before running \
this script";

/// How long something took, the one way every front end shows it: `12.3s`, or `2m05s` from a
/// minute on.
pub fn elapsed(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 60 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{:.1}s", d.as_secs_f64()) }
}
