//! The names and tags that say whose a thing in AWS is: the wizard's own mark, and the
//! ownership tags kops and the Kubernetes cloud controller put on a cluster's resources. The
//! plan's script and the engine both use them; they depend on nothing.
//!
//! The wizard's mark names the cluster whose setup made the thing, key and value, and only a
//! principal with IAM (or, for a bucket, S3 tagging) rights can set it. The team's record in
//! the state bucket can be written by anyone who may write the bucket, so teardown believes a
//! record entry only when the resource itself carries the mark naming the cluster.

/// The tag the wizard puts on what it creates (users, the bucket, the cluster's cloud through
/// kops's cloud labels); its value is the cluster whose setup created it.
pub const MARK_TAG: &str = "kops-wizard:cluster";

/// The IAM path older versions created the group and user under: it says "kops-wizard", but
/// not for which cluster, so on its own it proves nothing about a cluster.
pub const LEGACY_PATH: &str = "/kops-wizard/";

/// The IAM path the wizard creates a group or user under for `cluster`: IAM groups take no
/// tags, so the path is the one mark both groups and users carry. kops does not care about the
/// path. (IAM allows 512 characters of `!`..`~`; a cluster name is a DNS name of at most 253.)
pub fn wizard_path(cluster: &str) -> String {
    format!("{LEGACY_PATH}{cluster}/")
}

/// What an IAM path says: `/kops-wizard/<cluster>/` names the cluster; the legacy
/// `/kops-wizard/` is the wizard's but names none; anything else is not the wizard's.
pub fn path_mark(path: &str) -> PathMark<'_> {
    match path.strip_prefix(LEGACY_PATH) {
        Some("") => PathMark::Legacy,
        Some(rest) => match rest.strip_suffix('/') {
            Some(cluster) if !cluster.is_empty() && !cluster.contains('/') => {
                PathMark::Cluster(cluster)
            }
            _ => PathMark::None,
        },
        None => PathMark::None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMark<'a> {
    Cluster(&'a str),
    Legacy,
    None,
}

/// The tag the AWS cloud controller and kops both put on what belongs to a cluster.
pub fn owned_tag(cluster: &str) -> String {
    format!("kubernetes.io/cluster/{cluster}")
}

/// kops's older tag (still written): `KubernetesCluster=<name>`.
pub const LEGACY_TAG: &str = "KubernetesCluster";

/// The cloud controller's tag on a load balancer it made for a Service: `<namespace>/<name>`.
pub const SERVICE_TAG: &str = "kubernetes.io/service-name";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_a_cluster_or_only_the_wizard_or_nothing() {
        assert_eq!(wizard_path("dev.k8s.local"), "/kops-wizard/dev.k8s.local/");
        assert_eq!(path_mark(&wizard_path("dev.k8s.local")), PathMark::Cluster("dev.k8s.local"));
        assert_eq!(path_mark("/kops-wizard/"), PathMark::Legacy);
        for other in ["/", "/kops-wizard", "/kops-wizard//", "/kops-wizard/a/b/", "/x/a/"] {
            assert_eq!(path_mark(other), PathMark::None, "{other}");
        }
    }
}
