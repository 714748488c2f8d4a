//! The names and tags that say whose a thing in AWS is: the wizard's own mark, and the
//! ownership tags kops and the Kubernetes cloud controller put on a cluster's resources. The
//! plan's script and the engine both use them; they depend on nothing.

/// The tag the wizard puts on what it creates (the user, the bucket); its value is the cluster
/// whose setup created it.
pub const MARK_TAG: &str = "kops-wizard:cluster";

/// The IAM path the wizard creates its group and user under: IAM groups take no tags, and a
/// path is the one mark both groups and users carry. kops does not care about the path.
pub const WIZARD_PATH: &str = "/kops-wizard/";

/// The tag the AWS cloud controller and kops both put on what belongs to a cluster.
pub fn owned_tag(cluster: &str) -> String {
    format!("kubernetes.io/cluster/{cluster}")
}

/// kops's older tag (still written): `KubernetesCluster=<name>`.
pub const LEGACY_TAG: &str = "KubernetesCluster";

/// The cloud controller's tag on a load balancer it made for a Service: `<namespace>/<name>`.
pub const SERVICE_TAG: &str = "kubernetes.io/service-name";
