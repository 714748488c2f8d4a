//! Reconciling the answers with what this cluster's setup already made. A rerun with changed
//! answers must not quietly do nothing (the cluster keeps its old size) nor quietly build a
//! second bucket or user beside the first: each difference is named, and setup stops before
//! any change.

use crate::answers::Answers;
use crate::journal::{ClusterSettings, Journal, Kind};

/// One answer that differs from what exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The answers key (`cluster.node_count`).
    pub key: &'static str,
    pub answer: String,
    pub existing: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the answers say {}, but the cluster's setup made {}",
            self.key, self.answer, self.existing
        )
    }
}

/// The cluster's shape as these answers would create it.
pub fn settings(a: &Answers) -> ClusterSettings {
    let c = &a.cluster;
    ClusterSettings {
        zones: a.zones(),
        networking: c.networking.clone(),
        control_plane_size: c.control_plane_size.clone(),
        control_plane_count: c.control_plane_count,
        node_size: c.node_size.clone(),
        node_count: a.node_count(),
        topology: c.topology.to_string(),
        bastion: c.bastion,
        dns_zone: c.dns_zone.clone(),
        kubernetes_version: c.kubernetes_version.clone(),
    }
}

/// Every answer that differs from what the journal says this cluster's setup made and still
/// uses. Empty for a new cluster, or one whose teardown finished.
pub fn differences(a: &Answers, journal: &Journal) -> Vec<Difference> {
    let mut out = Vec::new();
    let in_use = |kind: Kind| journal.entries.iter().filter(move |e| e.kind == kind && e.in_use());
    if !journal.entries.iter().any(|e| e.in_use()) {
        return out;
    }
    let mut differ = |key, answer: &str, existing: &str| {
        if answer != existing {
            out.push(Difference { key, answer: quote(answer), existing: quote(existing) });
        }
    };
    differ("aws.region", &a.aws.region, &journal.region);
    let cluster_in_use = in_use(Kind::Cluster).next().is_some();
    if let (Some(store), true) = (&journal.state_store, cluster_in_use) {
        let answer = a.state_store_url().unwrap_or_default();
        differ("state_store.bucket", &answer, store);
    }
    for (kind, key, answer) in [
        (Kind::IamGroup, "iam.group", &a.iam.group),
        (Kind::IamUser, "iam.user", &a.iam.user),
        (Kind::Profile, "aws.kops_profile", &a.aws.kops_profile),
    ] {
        for e in in_use(kind) {
            differ(key, answer, &e.id);
        }
    }
    if let (Some(made), true) = (&journal.cluster_settings, cluster_in_use) {
        let want = settings(a);
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        differ("cluster.zones", &want.zones.join(","), &made.zones.join(","));
        differ("cluster.networking", &want.networking, &made.networking);
        differ("cluster.control_plane_size", &want.control_plane_size, &made.control_plane_size);
        differ(
            "cluster.control_plane_count",
            &want.control_plane_count.to_string(),
            &made.control_plane_count.to_string(),
        );
        differ("cluster.node_size", &want.node_size, &made.node_size);
        differ("cluster.node_count", &want.node_count.to_string(), &made.node_count.to_string());
        differ("cluster.topology", &want.topology, &made.topology);
        differ("cluster.bastion", &want.bastion.to_string(), &made.bastion.to_string());
        differ("cluster.dns_zone", &opt(&want.dns_zone), &opt(&made.dns_zone));
        differ(
            "cluster.kubernetes_version",
            &opt(&want.kubernetes_version),
            &opt(&made.kubernetes_version),
        );
    }
    out
}

fn quote(value: &str) -> String {
    format!("{value:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::State;

    fn journal(dir: &std::path::Path, a: &Answers) -> Journal {
        let mut j = Journal::open(dir, &a.cluster.name, &a.aws.region).unwrap();
        crate::journal::block_on(j.record(Kind::IamUser, &a.iam.user, None, State::Created))
            .unwrap();
        crate::journal::block_on(j.record(Kind::Cluster, &a.cluster.name, None, State::Created))
            .unwrap();
        crate::journal::block_on(j.set_state_store("s3://first-bucket")).unwrap();
        crate::journal::block_on(j.set_cluster_settings(settings(a))).unwrap();
        j
    }

    #[test]
    fn each_changed_answer_is_named_with_both_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Answers::default();
        a.state_store.bucket = Some("first-bucket".into());
        let j = journal(dir.path(), &a);
        assert_eq!(differences(&a, &j), vec![]);

        a.state_store.bucket = Some("second-bucket".into());
        a.cluster.node_count = Some(3);
        a.iam.user = "kops2".into();
        a.aws.region = "eu-west-1".into();
        let keys: Vec<_> = differences(&a, &j).iter().map(|d| d.key).collect();
        assert_eq!(
            keys,
            ["aws.region", "state_store.bucket", "iam.user", "cluster.zones", "cluster.node_count"]
        );
        let text = differences(&a, &j)[1].to_string();
        assert!(
            text.contains("\"s3://second-bucket\"") && text.contains("\"s3://first-bucket\""),
            "{text}"
        );
    }

    #[test]
    fn nothing_differs_once_nothing_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Answers::default();
        a.state_store.bucket = Some("first-bucket".into());
        let mut j = journal(dir.path(), &a);
        crate::journal::block_on(j.record(Kind::IamUser, "kops", None, State::Deleted)).unwrap();
        crate::journal::block_on(j.record(Kind::Cluster, &a.cluster.name, None, State::Deleted))
            .unwrap();
        a.iam.user = "other".into();
        assert_eq!(differences(&a, &j), vec![]);
    }
}
