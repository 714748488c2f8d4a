//! kops's command lines, built from typed answers (never a shell string): the plan's script
//! prints them and the engine runs them, so what `plan` shows is what setup does.

use crate::answers::{Answers, Topology};

/// The global flags every cluster command gets, so the child does not depend on the
/// environment alone (and the plan script reads the same as what runs).
fn global(verb: &[&str], name: &str, state_store: &str) -> Vec<String> {
    let mut args: Vec<String> = verb.iter().map(|s| s.to_string()).collect();
    args.extend(["--name".into(), name.into(), "--state".into(), state_store.into()]);
    args
}

/// `kops create cluster` with today's flag names (`--control-plane-*`, not `--master-*`).
pub fn create_cluster_args(a: &Answers, state_store: &str, ssh_public_key: &str) -> Vec<String> {
    let c = &a.cluster;
    let mut args = global(&["create", "cluster"], &c.name, state_store);
    let mut flag = |name: &str, value: String| {
        args.push(format!("--{name}"));
        args.push(value);
    };
    flag("cloud", "aws".into());
    flag("zones", a.zones().join(","));
    flag("networking", c.networking.clone());
    flag("control-plane-count", c.control_plane_count.to_string());
    flag("control-plane-size", c.control_plane_size.clone());
    flag("node-count", a.node_count().to_string());
    flag("node-size", c.node_size.clone());
    flag("topology", c.topology.to_string());
    if let Some(zone) = &c.dns_zone {
        flag("dns-zone", zone.clone());
    }
    if let Some(version) = &c.kubernetes_version {
        flag("kubernetes-version", version.clone());
    }
    flag("ssh-public-key", ssh_public_key.into());
    // The wizard's mark on the cluster's cloud: kops tags every Auto Scaling group (and what
    // it launches) with its cloud labels. Only someone with EC2 rights can set such a tag, so
    // a teardown on another machine can prove the cluster the wizard's (engine::team::ownership).
    flag("cloud-labels", format!("{}={}", crate::marks::MARK_TAG, c.name));
    // A boolean flag is written bare: `--bastion true` would make `true` a positional argument.
    if c.bastion && c.topology == Topology::Private {
        args.push("--bastion".into());
    }
    args
}

/// `kops update cluster --yes --admin`: without `--admin` the kubeconfig has no credentials.
/// `--admin` is a duration flag, so a value must be attached with `=`, never a separate word.
pub fn update_cluster_args(name: &str, state_store: &str) -> Vec<String> {
    let mut args = global(&["update", "cluster"], name, state_store);
    args.extend(["--yes".into(), "--admin".into()]);
    args
}

/// One validation attempt as JSON; the wizard keeps its own timer instead of `--wait`.
/// `kops export kubeconfig --admin`: a kubeconfig context for the cluster with an admin
/// certificate (kops's default lifetime, 18h), changing nothing of the cluster.
pub fn export_kubeconfig_args(name: &str, state_store: &str) -> Vec<String> {
    let mut args = global(&["export", "kubeconfig"], name, state_store);
    args.push("--admin".into());
    args
}

/// `kops export kubeconfig --admin=<ttl> --kubeconfig <path>`: an admin certificate of its own
/// for one run of the wizard, written to a file of the wizard's (not the user's kubeconfig).
pub fn export_admin_args(
    name: &str,
    state_store: &str,
    ttl: std::time::Duration,
    path: &std::path::Path,
) -> Vec<String> {
    let mut args = global(&["export", "kubeconfig"], name, state_store);
    args.push(format!("--admin={}s", ttl.as_secs().max(60)));
    args.extend(["--kubeconfig".into(), path.display().to_string()]);
    args
}

pub fn validate_once_args(name: &str, state_store: &str) -> Vec<String> {
    let mut args = global(&["validate", "cluster"], name, state_store);
    args.extend(["-o".into(), "json".into()]);
    args
}

/// `kops validate cluster --wait`, for scripts that have no timer of their own.
pub fn validate_wait_args(name: &str, state_store: &str, wait: &str) -> Vec<String> {
    let mut args = global(&["validate", "cluster"], name, state_store);
    args.extend(["--wait".into(), wait.into()]);
    args
}

/// `kops delete cluster`: without `yes` a preview table, with it the deletion.
pub fn delete_cluster_args(name: &str, state_store: &str, yes: bool) -> Vec<String> {
    let mut args = global(&["delete", "cluster"], name, state_store);
    if yes {
        args.push("--yes".into());
    }
    args
}

/// Every variable through which the AWS SDKs (kops's Go SDK, the Python and Rust ones) pick up
/// credentials ahead of, or instead of, a profile: static keys (with the legacy names the Go
/// SDK still reads), session tokens, web identity (OIDC in CI), an assumed role, and the
/// container credential endpoints. Any one of them would make kops run as the admin.
pub const CREDENTIAL_VARS: [&str; 17] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SDK_LOAD_CONFIG",
];
