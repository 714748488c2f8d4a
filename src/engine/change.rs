//! `kops-wizard change`: the answers are the desired state, the cluster in the state store is
//! the current one, and the change brings one to the other. Sizes and counts of the instance
//! groups and the Kubernetes version are applied; other differences are reported, not applied.
//!
//! The plan is pure ([`plan`]): it reads the current cluster and the answers and either refuses
//! (bad input, before any change: a downgrade, a skipped minor version, a version kops does not
//! support, a scale-down, which kops does without draining) or lists the kops calls, in order,
//! with the cost before and after. [`run`] carries them out under the team's lock, recorded in
//! the team's record, and reads the roll into a [`Board`].

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::aws::clients::{Clients, call, connect_admin};
use super::aws::error::AwsError;
use super::cluster::drain;
use super::cluster::kops::{Kops, KopsError, Stream, Version};
use super::cluster::kubeconfig::{FreshAdmin, connect, connect_for_drain};
use super::cluster::preflight::{self, Finding};
use super::cluster::probe::{self, Probe};
use super::cluster::roll::{self, Board};
use super::events::Sink;
use super::store::bucket::BucketAccess;
use super::team::join::{Team, TeamError};
use crate::answers::Answers;
use crate::catalog::{Estimate, estimate_monthly};
use crate::journal::{ChangeRecord, Journal, JournalError};

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Bad input, refused before any change (exit 2).
    #[error("{0}\nNothing was changed.")]
    Refused(String),
    #[error("cannot read the cluster from the state store: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Kops(#[from] KopsError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Team(#[from] TeamError),
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    /// A drain of a node to remove did not finish: nothing was terminated.
    #[error("the scale-down stopped: {0}")]
    Drain(String),
    /// The team's lock was lost: nothing more was changed.
    #[error(transparent)]
    Fenced(#[from] super::store::lease::Fenced),
    /// kops's roll failed (its exit code, whatever its last line said).
    #[error(
        "the roll stopped: {why}\n{where_}\nRun `kops-wizard change` again with the same answers: \
         kops picks up the instances still marked NeedsUpdate (and detached ones) and goes on."
    )]
    RollFailed { why: String, where_: String },
}

/// The role of an instance group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Node,
    Other,
}

/// One instance group as the state store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub role: Role,
    pub machine_type: String,
    pub min: u32,
    pub max: u32,
}

/// The cluster as the state store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub kubernetes_version: String,
    pub groups: Vec<Group>,
    /// Instances kops lists as NeedsUpdate or Detached, per group: an earlier roll that did
    /// not finish (or a change made outside the wizard), which a change resumes.
    pub stale: Vec<(String, u32)>,
}

#[derive(Deserialize)]
struct Object<S> {
    spec: S,
    #[serde(default)]
    metadata: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterSpec {
    #[serde(default)]
    kubernetes_version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupSpec {
    role: String,
    #[serde(default)]
    machine_type: String,
    #[serde(default)]
    min_size: Option<u32>,
    #[serde(default)]
    max_size: Option<u32>,
}

/// kops prints one object alone and several as a list.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    Many(Vec<T>),
    One(T),
}

impl Current {
    /// From `kops get cluster NAME -o json` and `kops get ig -o json`.
    pub fn parse(cluster: &str, groups: &str) -> Result<Current, ChangeError> {
        let bad = |what: &str, e: serde_json::Error| {
            ChangeError::Unreadable(format!("kops's {what} is not the JSON it prints: {e}"))
        };
        let cluster: Object<ClusterSpec> =
            serde_json::from_str(cluster).map_err(|e| bad("cluster", e))?;
        let groups: OneOrMany<Object<GroupSpec>> =
            serde_json::from_str(groups).map_err(|e| bad("instance groups", e))?;
        let groups = match groups {
            OneOrMany::Many(v) => v,
            OneOrMany::One(g) => vec![g],
        };
        let mut groups: Vec<Group> = groups
            .into_iter()
            .map(|g| Group {
                name: g.metadata.name,
                role: match g.spec.role.as_str() {
                    "ControlPlane" | "Master" => Role::ControlPlane,
                    "Node" => Role::Node,
                    _ => Role::Other,
                },
                machine_type: g.spec.machine_type,
                min: g.spec.min_size.unwrap_or(0),
                max: g.spec.max_size.unwrap_or(0),
            })
            .collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Current {
            kubernetes_version: cluster.spec.kubernetes_version,
            groups,
            stale: Vec::new(),
        })
    }

    fn of(&self, role: Role) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(move |g| g.role == role)
    }

    pub fn node_count(&self) -> u32 {
        self.of(Role::Node).map(|g| g.min).sum()
    }

    pub fn control_plane_count(&self) -> u32 {
        self.of(Role::ControlPlane).map(|g| g.min.max(1)).sum()
    }

    /// The machine type of a role's groups (the first group's: the wizard makes them alike).
    pub fn size(&self, role: Role) -> String {
        self.of(role).next().map(|g| g.machine_type.clone()).unwrap_or_default()
    }

    /// The monthly cost of the cluster's instances, from the catalog the Review uses.
    pub fn cost(&self) -> Estimate {
        let items: Vec<(&str, u32)> =
            self.groups.iter().map(|g| (g.machine_type.as_str(), g.min)).collect();
        estimate_monthly(&items)
    }
}

/// One answer that differs from the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub key: &'static str,
    pub from: String,
    pub to: String,
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} -> {}", self.key, self.from, self.to)
    }
}

/// What the change will do.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePlan {
    pub cluster: String,
    /// What is applied.
    pub changes: Vec<FieldChange>,
    /// What differs and is not applied by `change` (zones, networking, control-plane count...).
    pub reported: Vec<FieldChange>,
    /// The kops calls in order (arguments after `kops`).
    pub calls: Vec<Vec<String>>,
    /// Groups that roll, and how many of their instances are replaced, in kops's order.
    pub rolls: Vec<(String, u32)>,
    pub cost_before: Estimate,
    pub cost_after: Estimate,
    /// A rough duration: about 5 minutes per replaced instance on AWS (day-two.md).
    pub estimate: Duration,
    /// Worth knowing, not blocking (a single control plane: the API is down while it rolls).
    pub warnings: Vec<String>,
    /// The sizes and version once it is done.
    pub after: After,
    /// Node groups that shrink, and by how many nodes: those are cordoned, drained and
    /// terminated by the wizard before kops is told the new size.
    pub drains: Vec<(String, u32)>,
}

/// The cluster's sizes and version after the change, as the journal keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub node_count: u32,
    pub node_size: String,
    pub control_plane_size: String,
    /// `None` when the answers leave the version to kops (then it is not changed).
    pub kubernetes_version: Option<String>,
}

impl ChangePlan {
    /// Nothing to change and nothing to resume: no kops call that writes.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The equivalent shell script: what `change` runs, as a reader would type it.
    pub fn script(&self) -> String {
        let mut out = String::from("#!/usr/bin/env bash\nset -euo pipefail\n");
        out.push_str(&format!("# kops-wizard change of {}\n", self.cluster));
        for c in &self.changes {
            out.push_str(&format!("#   {c}\n"));
        }
        for (group, n) in &self.drains {
            out.push_str(&format!(
                "# First, for each of {n} node(s) of {group} (kops-wizard picks them): \
                 kubectl cordon NODE; kubectl drain NODE --ignore-daemonsets; then\n\
                 # aws autoscaling terminate-instance-in-auto-scaling-group --instance-id ID \
                 --should-decrement-desired-capacity\n"
            ));
        }
        for call in &self.calls {
            out.push_str("kops ");
            out.push_str(
                &call.iter().map(|a| crate::plan::shell::quote(a)).collect::<Vec<_>>().join(" "),
            );
            out.push('\n');
        }
        out
    }
}

/// About what a node's roll takes on AWS: drain, terminate, a new instance's boot and join,
/// validation (day-two.md: a 1 + 2 cluster takes about a quarter of an hour).
const PER_NODE: Duration = Duration::from_secs(5 * 60);

/// The change the answers ask of the cluster, or the refusal, before anything changes.
pub fn plan(a: &Answers, current: &Current, kops: &Version) -> Result<ChangePlan, ChangeError> {
    let c = &a.cluster;
    let name = c.name.clone();
    let mut changes = Vec::new();
    let mut reported = Vec::new();
    let mut warnings = Vec::new();
    let mut edits: Vec<Vec<String>> = Vec::new();
    let mut rolls: Vec<(String, u32)> = Vec::new();
    let nodes: Vec<&Group> = current.of(Role::Node).collect();
    let planes: Vec<&Group> = current.of(Role::ControlPlane).collect();
    if nodes.is_empty() || planes.is_empty() {
        return Err(ChangeError::Unreadable(format!(
            "cluster {name} has {} node group(s) and {} control-plane group(s) in its state \
             store; `change` needs at least one of each",
            nodes.len(),
            planes.len()
        )));
    }

    // The Kubernetes version: one minor version at a time, never down, within kops's range.
    let mut upgrade = false;
    if let Some(want) = &c.kubernetes_version {
        let have = &current.kubernetes_version;
        let (w, h) = (Version::parse(want), Version::parse(have));
        if let (Some(w), Some(h)) = (w, h)
            && w != h
        {
            if w < h {
                return Err(ChangeError::Refused(format!(
                    "cluster.kubernetes_version: {want} is older than the cluster's {have}; kops \
                     cannot downgrade a running cluster (its etcd and API objects move forward \
                     only). Set it to {have} or newer."
                )));
            }
            if w.major != h.major || w.minor > h.minor + 1 {
                return Err(ChangeError::Refused(format!(
                    "cluster.kubernetes_version: {want} skips a minor version from {have}; \
                     Kubernetes upgrades one minor version at a time (version skew). Set it to \
                     1.{}.x first, run `change`, then {want}.",
                    h.minor + 1
                )));
            }
            if w.minor > kops.minor {
                return Err(ChangeError::Refused(format!(
                    "cluster.kubernetes_version: {want} is newer than kops {kops} supports \
                     (Kubernetes up to 1.{}); install kops 1.{} or newer first.",
                    kops.minor, w.minor
                )));
            }
            changes.push(FieldChange {
                key: "cluster.kubernetes_version",
                from: have.clone(),
                to: want.clone(),
            });
            edits.push(args(&[
                "edit",
                "cluster",
                "--name",
                &name,
                "--set",
                &format!("spec.kubernetesVersion={want}"),
            ]));
            upgrade = true;
        }
    }

    // Sizes: a new machine type replaces each instance of the group.
    for (role, key, want) in [
        (Role::ControlPlane, "cluster.control_plane_size", &c.control_plane_size),
        (Role::Node, "cluster.node_size", &c.node_size),
    ] {
        let have = current.size(role);
        if *want != have {
            changes.push(FieldChange { key, from: have, to: want.clone() });
            for g in current.of(role).filter(|g| g.machine_type != *want) {
                edits.push(args(&[
                    "edit",
                    "ig",
                    &g.name,
                    "--name",
                    &name,
                    "--set",
                    &format!("spec.machineType={want}"),
                ]));
            }
        }
    }

    // The node count, spread over the node groups as kops spreads it (the first groups take
    // the remainder). Down gracefully: kops would terminate instances at once, undrained
    // (kops #5646), so the nodes to remove are drained and terminated by the wizard first.
    let want_nodes = a.node_count();
    let have_nodes = current.node_count();
    let mut sizes: Vec<(String, u32)> = nodes.iter().map(|g| (g.name.clone(), g.min)).collect();
    let mut drains = Vec::new();
    if want_nodes != have_nodes {
        if want_nodes < 1 {
            return Err(ChangeError::Refused(
                "cluster.node_count: 0 would leave the cluster no node for its pods; keep at \
                 least 1"
                    .into(),
            ));
        }
        changes.push(FieldChange {
            key: "cluster.node_count",
            from: have_nodes.to_string(),
            to: want_nodes.to_string(),
        });
        let n = sizes.len() as u32;
        for (i, (group, size)) in sizes.iter_mut().enumerate() {
            let new = want_nodes / n + u32::from((i as u32) < want_nodes % n);
            if new < *size {
                drains.push((group.clone(), *size - new));
            }
            if new != *size {
                edits.push(args(&[
                    "edit",
                    "ig",
                    group,
                    "--name",
                    &name,
                    "--set",
                    &format!("spec.minSize={new}"),
                    "--set",
                    &format!("spec.maxSize={new}"),
                ]));
                *size = new;
            }
        }
    }

    if c.control_plane_count != current.control_plane_count() {
        reported.push(FieldChange {
            key: "cluster.control_plane_count",
            from: current.control_plane_count().to_string(),
            to: c.control_plane_count.to_string(),
        });
    }

    // What rolls, in kops's order: control plane first, then node groups by name. The new
    // instances a scale-up adds start from the new spec and need no roll.
    for g in planes.iter().chain(nodes.iter()) {
        let want = if g.role == Role::ControlPlane { &c.control_plane_size } else { &c.node_size };
        if upgrade || g.machine_type != *want {
            rolls.push((g.name.clone(), g.min.max(1)));
        }
    }
    if rolls.iter().any(|(g, _)| planes.iter().any(|p| p.name == *g)) && planes.len() == 1 {
        warnings.push(
            "a single control plane: the Kubernetes API is down while it is replaced (a few \
             minutes); the pods keep running"
                .into(),
        );
    }

    // Instances an unfinished roll left behind roll too, whatever else changes.
    for (group, n) in &current.stale {
        if !rolls.iter().any(|(g, _)| g == group) {
            rolls.push((group.clone(), *n));
        }
    }
    let mut calls = edits;
    if changes.is_empty() && !current.stale.is_empty() {
        calls.push(args(&["rolling-update", "cluster", "--name", &name, "--yes"]));
    }
    if !changes.is_empty() {
        let update = |extra: &[&str]| {
            let mut v = args(&[
                "update",
                "cluster",
                "--name",
                &name,
                "--yes",
                "--create-kube-config=false",
            ]);
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let roll = |extra: &[&str]| {
            let mut v = args(&["rolling-update", "cluster", "--name", &name, "--yes"]);
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        let roles = "--instance-group-roles=control-plane,apiserver";
        if upgrade && *kops >= (Version { major: 1, minor: 31, patch: 0 }) {
            // The order `kops reconcile cluster` follows, as its steps, so that the roll's
            // timeouts stay settable: the control plane first, then the nodes (kubelet skew).
            calls.push(update(&[roles]));
            calls.push(roll(&[roles]));
            calls.push(update(&[]));
            calls.push(roll(&[]));
        } else {
            calls.push(update(&[]));
            if !rolls.is_empty() {
                calls.push(roll(&[]));
            }
        }
    }

    let mut after = current.clone();
    for g in &mut after.groups {
        match g.role {
            Role::ControlPlane => g.machine_type = c.control_plane_size.clone(),
            Role::Node => {
                g.machine_type = c.node_size.clone();
                if let Some((_, n)) = sizes.iter().find(|(name, _)| *name == g.name) {
                    g.min = *n;
                    g.max = *n;
                }
            }
            Role::Other => {}
        }
    }
    let replaced: u32 = rolls.iter().map(|(_, n)| n).sum();
    Ok(ChangePlan {
        cluster: name,
        changes,
        reported,
        calls,
        rolls,
        cost_before: current.cost(),
        cost_after: after.cost(),
        estimate: PER_NODE * replaced,
        warnings,
        after: After {
            node_count: want_nodes.max(have_nodes),
            node_size: c.node_size.clone(),
            control_plane_size: c.control_plane_size.clone(),
            kubernetes_version: c.kubernetes_version.clone(),
        },
        drains,
    })
}

/// `change --undo`: the last finished change of the team's record, reversed. Its spec objects
/// are put back as they were (see [`run`]), then kops applies them and rolls what the change
/// rolled. An upgrade is not undone (kops does not downgrade), nor a scale-up (kops would
/// remove the nodes without draining them).
pub fn undo_plan(journal: &Journal, current: &Current) -> Result<ChangePlan, ChangeError> {
    let last = last_undoable(journal)?;
    let name = journal.cluster.clone();
    let mut changes = Vec::new();
    let mut after = current.clone();
    let mut rolls = Vec::new();
    for said in &last.changes {
        let parsed = said.split_once(": ").and_then(|(k, v)| Some((k, v.split_once(" -> ")?)));
        let Some((key, (from, to))) = parsed else { continue };
        let role = match key {
            "cluster.node_size" => Role::Node,
            "cluster.control_plane_size" => Role::ControlPlane,
            _ => {
                return Err(ChangeError::Refused(format!(
                    "--undo: the last change ({said}) cannot be undone: kops does not take a \
                     cluster back to an older Kubernetes version"
                )));
            }
        };
        let key =
            if role == Role::Node { "cluster.node_size" } else { "cluster.control_plane_size" };
        changes.push(FieldChange { key, from: to.to_string(), to: from.to_string() });
        for g in after.groups.iter_mut().filter(|g| g.role == role) {
            g.machine_type = from.to_string();
            rolls.push((g.name.clone(), g.min.max(1)));
        }
    }
    let update =
        args(&["update", "cluster", "--name", &name, "--yes", "--create-kube-config=false"]);
    let roll = args(&["rolling-update", "cluster", "--name", &name, "--yes"]);
    let replaced: u32 = rolls.iter().map(|(_, n)| n).sum();
    Ok(ChangePlan {
        cluster: name,
        changes,
        reported: Vec::new(),
        calls: vec![update, roll],
        rolls,
        cost_before: current.cost(),
        cost_after: after.cost(),
        estimate: PER_NODE * replaced,
        warnings: vec![format!(
            "undoes the change of {} by {}: its spec objects are put back from the state \
             store's earlier versions, then rolled; set the answers back too, or the next \
             `change` does it again",
            last.started,
            last.by.as_ref().map(|b| b.describe()).unwrap_or_else(|| "an unknown author".into())
        )],
        after: After {
            node_count: after.node_count(),
            node_size: after.size(Role::Node),
            control_plane_size: after.size(Role::ControlPlane),
            kubernetes_version: None,
        },
        drains: Vec::new(),
    })
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The pre-flight, read-only: the etcd backup's age in the state bucket, and (when instances
/// roll) what in the cluster would hold the roll up or suffer from it. A question that cannot
/// be asked is a finding too: the user decides with what is known.
pub async fn preflight(a: &Answers, kops: &Kops, plan: &ChangePlan) -> Vec<Finding> {
    let mut out = Vec::new();
    let cluster = &a.cluster.name;
    let not_asked = |what: &str, e: String| Finding {
        what: format!("{what} could not be checked"),
        why: crate::text::one_line(&e),
        todo: "The change can go on; look before you apply it.".into(),
    };
    if let Some(bucket) = &a.state_store.bucket {
        let creds = super::aws::clients::Credentials {
            profile: a.aws.admin_profile.clone(),
            region: a.aws.region.clone(),
        };
        let clients = Clients::from_env(&creds).await;
        match preflight::etcd_backup(&clients, bucket, cluster, std::time::SystemTime::now()).await
        {
            Ok(found) => out.extend(found),
            Err(e) => out.push(not_asked("the etcd backup", e.to_string())),
        }
    }
    if plan.rolls.is_empty() {
        return out;
    }
    let store = a.state_store_url().unwrap_or_default();
    let asked = async {
        let admin = FreshAdmin::export(kops, cluster, &store).await.map_err(|e| e.to_string())?;
        let (client, _) = connect(&admin.path(), cluster).await.map_err(|e| e.to_string())?;
        preflight::workloads(&client).await.map_err(|e| e.to_string())
    };
    match asked.await {
        Ok(found) => out.extend(found),
        Err(e) => out.push(not_asked("the cluster's workloads", e)),
    }
    out
}

/// Reads the cluster from the state store through kops (read-only calls).
pub async fn read_current(kops: &Kops, cluster: &str) -> Result<Current, ChangeError> {
    let quiet = |_: Stream, _: &str| {};
    // The name by flag: a positional one beside KOPS_CLUSTER_NAME (which the wizard sets for
    // every call) is an error to kops.
    let c = kops.run_ok(&args(&["get", "cluster", "--name", cluster, "-o", "json"]), quiet).await?;
    let g = kops.run_ok(&args(&["get", "ig", "--name", cluster, "-o", "json"]), quiet).await?;
    let mut current = Current::parse(&c.stdout, &g.stdout)?;
    for i in list_instances(kops, cluster).await? {
        if i.status == "UpToDate" {
            continue;
        }
        match current.stale.iter_mut().find(|(g, _)| *g == i.instance_group) {
            Some((_, n)) => *n += 1,
            None => current.stale.push((i.instance_group, 1)),
        }
    }
    Ok(current)
}

/// What the front end is told while the change runs.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A kops call begins.
    Call(Vec<String>),
    /// A step of the wizard's own begins (a scale-down's drains): its words.
    Step(String),
    /// A line it printed.
    Line(String),
    /// The roll's board after a line that moved it.
    Board(Box<Board>),
    /// The NLB's tally so far (the smoke test's URL, asked all the time the change runs).
    Probe(probe::Seen),
}

/// How a change ended.
#[derive(Debug, Clone)]
pub struct Summary {
    pub elapsed: Duration,
    pub replaced: u32,
    /// What the NLB answered during the change, when the smoke test had passed before.
    pub probe: Option<probe::Seen>,
    /// Nodes up to date that still had kops's roll taint (an interrupted roll's), taken off.
    pub untainted: Vec<String>,
    /// Why the stray taints could not be looked for, when they could not.
    pub taint_check: Option<String>,
    /// Instances still marked NeedsUpdate after the roll (none when it went well).
    pub left: Vec<String>,
}

/// What a change run needs.
pub struct Request<'a> {
    pub answers: &'a Answers,
    pub plan: &'a ChangePlan,
    pub kops: &'a Kops,
    pub state_dir: &'a std::path::Path,
    /// `--undo`: put the last change's spec objects back first (the plan is then the roll).
    pub undo: bool,
}

/// Carries out the plan under the team's lock, recording it in the team's record before the
/// first call that writes and again at the end.
pub async fn run(
    request: Request<'_>,
    sink: &Sink,
    on: &mut (dyn FnMut(Progress) + Send),
) -> Result<Summary, ChangeError> {
    let a = request.answers;
    let started = Instant::now();
    let _lock = crate::lock::ClusterLock::acquire(request.state_dir, &a.cluster.name, "change")?;
    let mut journal = Journal::open(request.state_dir, &a.cluster.name, &a.aws.region)?;
    let clients = connect_admin(a, sink).await?;
    let author = super::team::join::author(
        &clients,
        request.state_dir,
        Some(request.kops.version.to_string()),
    )
    .await?;
    journal.set_author(author.clone());
    let Some(bucket) = a.state_store.bucket.clone() else {
        return Err(ChangeError::Refused("state_store.bucket is not set".into()));
    };
    if clients.bucket_access(&bucket).await? != BucketAccess::Yours {
        return Err(ChangeError::Refused(format!(
            "state_store.bucket: s3://{bucket} is not a bucket these admin credentials can use; \
             `change` changes a cluster whose state store is there"
        )));
    }
    let mut team = Team::new(&clients, author, "change", &a.cluster.name);
    team.enter(&bucket, &mut journal, sink).await?;
    let kops = request.kops.clone().fenced(team.fence());
    let result = async {
        // An undo puts back what the record's last finished change replaced: read under the
        // lock, from the team's record as it is now.
        let undo = match request.undo {
            false => None,
            true => Some(last_undoable(&journal)?.clone()),
        };
        let x = Applying {
            kops: &kops,
            clients: &clients,
            bucket: &bucket,
            plan: request.plan,
            undo: undo.as_ref(),
        };
        apply(x, &mut journal, on, started).await
    }
    .await;
    team.leave().await;
    result
}

/// The team's record of the cluster as the state bucket has it now (read-only), for the plan
/// of `--undo`: the change may have been made on another machine.
pub async fn team_record(a: &Answers) -> Result<Journal, ChangeError> {
    let Some(bucket) = &a.state_store.bucket else {
        return Err(ChangeError::Refused("state_store.bucket is not set".into()));
    };
    let creds = super::aws::clients::Credentials {
        profile: a.aws.admin_profile.clone(),
        region: a.aws.region.clone(),
    };
    let clients = Clients::from_env(&creds).await;
    match super::store::record::load(&clients, bucket, &a.cluster.name).await {
        Ok(Some((journal, _))) => Ok(journal),
        Ok(None) => Err(ChangeError::Refused(format!(
            "--undo: s3://{bucket} holds no record of cluster {}",
            a.cluster.name
        ))),
        Err(e) => Err(ChangeError::Unreadable(e.to_string())),
    }
}

/// The change `--undo` undoes: the last one that finished and is not itself an undo, or
/// refused with why.
pub fn last_undoable(journal: &Journal) -> Result<&ChangeRecord, ChangeError> {
    let last = journal.changes.iter().rev().find(|c| c.undoes.is_none()).ok_or_else(|| {
        ChangeError::Refused(format!(
            "--undo: the team's record of {} holds no change to undo",
            journal.cluster
        ))
    })?;
    if journal.changes.iter().any(|c| c.undoes.as_deref() == Some(&last.started)) {
        return Err(ChangeError::Refused(format!(
            "--undo: the last change ({}, {}) was undone already",
            last.changes.join("; "),
            last.started
        )));
    }
    if last.result != "done" || last.before.is_empty() {
        return Err(ChangeError::Refused(format!(
            "--undo: the last change ({}, {}) did not finish ({}); run `kops-wizard change` to \
             finish it first",
            last.changes.join("; "),
            last.started,
            last.result
        )));
    }
    if last.changes.iter().any(|c| c.starts_with("cluster.node_count")) {
        return Err(ChangeError::Refused(format!(
            "--undo: the last change ({}) added nodes; undoing it would remove them, which kops \
             does without draining them and this version of kops-wizard will not do",
            last.changes.join("; ")
        )));
    }
    Ok(last)
}

/// The current version of each of the cluster's spec objects (its config and instance
/// groups): what an undo of this change puts back.
async fn spec_versions(
    c: &Clients,
    bucket: &str,
    cluster: &str,
) -> Result<Vec<(String, String)>, ChangeError> {
    let mut out = Vec::new();
    for prefix in [format!("{cluster}/config"), format!("{cluster}/instancegroup/")] {
        // Every page: a cluster changed often has more than a page of spec versions.
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let listed = call!(
                c,
                "ListObjectVersions",
                c.s3.list_object_versions()
                    .bucket(bucket)
                    .prefix(&prefix)
                    .set_key_marker(key_marker.take())
                    .set_version_id_marker(version_marker.take())
            )?;
            for v in listed.versions() {
                let (Some(key), Some(id)) = (v.key(), v.version_id()) else { continue };
                let exact = prefix.ends_with('/') || key == prefix;
                if v.is_latest() == Some(true) && exact {
                    out.push((key.to_string(), id.to_string()));
                }
            }
            if listed.is_truncated() != Some(true) {
                break;
            }
            key_marker = listed.next_key_marker().map(str::to_string);
            version_marker = listed.next_version_id_marker().map(str::to_string);
        }
    }
    out.sort();
    Ok(out)
}

/// Puts back the spec objects' versions from before `undone` as the current ones (a copy of
/// each old version: the versions in between stay, the bucket keeps its history).
async fn restore(x: &Applying<'_>, undone: &ChangeRecord) -> Result<(), ChangeError> {
    let (c, bucket, kops, cluster) = (x.clients, x.bucket, x.kops, &x.plan.cluster);
    // The record is anyone's to write (issue 23): only the cluster's own spec objects are put
    // back, each from its own history (the copy's source is the same key).
    for (key, version) in &undone.before {
        let spec = *key == format!("{cluster}/config")
            || key
                .strip_prefix(&format!("{cluster}/instancegroup/"))
                .is_some_and(|ig| !ig.is_empty() && !ig.contains('/') && !ig.contains(".."));
        if !spec {
            return Err(ChangeError::Refused(format!(
                "--undo: the record names {key}, which is not a spec object of cluster {cluster}; \
                 nothing was put back"
            )));
        }
        if let Some(fence) = kops.fence() {
            fence.check().await?;
        }
        let source = format!("{bucket}/{key}?versionId={version}");
        call!(c, "CopyObject", c.s3.copy_object().bucket(bucket).key(key).copy_source(source))?;
    }
    Ok(())
}

struct Applying<'a> {
    kops: &'a Kops,
    clients: &'a Clients,
    bucket: &'a str,
    plan: &'a ChangePlan,
    undo: Option<&'a ChangeRecord>,
}

async fn apply(
    x: Applying<'_>,
    journal: &mut Journal,
    on: &mut (dyn FnMut(Progress) + Send),
    started: Instant,
) -> Result<Summary, ChangeError> {
    let (kops, plan) = (x.kops, x.plan);
    let mut record = ChangeRecord {
        started: crate::journal::now(),
        finished: None,
        changes: plan.changes.iter().map(ToString::to_string).collect(),
        result: "started".into(),
        by: None,
        before: spec_versions(x.clients, x.bucket, &plan.cluster).await?,
        undoes: x.undo.map(|u| u.started.clone()),
        availability: None,
    };
    journal.set_change(record.clone()).await?;
    if let Some(undone) = x.undo {
        restore(&x, undone).await?;
    }
    // The smoke test's NLB, asked all the while, when it answered before: the proof that the
    // pods stayed reachable (or when they did not).
    let url =
        journal.last_smoke_test.as_ref().and_then(|t| t.passed.as_ref()).map(|p| p.url.clone());
    let (tally, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let probe = url.map(|url| {
        Probe::start(url, move |seen| {
            let _ = tally.send(seen.clone());
        })
    });
    let outcome = {
        let mut on_too = |p: Progress| {
            while let Ok(seen) = heard.try_recv() {
                on(Progress::Probe(seen));
            }
            on(p);
        };
        match scale_down(&x, &mut on_too).await {
            Ok(()) => calls(kops, plan, &mut on_too).await,
            Err(e) => Err(e),
        }
    };
    let seen = match probe {
        Some(p) => Some(p.stop().await),
        None => None,
    };
    if let Some(seen) = &seen {
        on(Progress::Probe(seen.clone()));
    }
    record.finished = Some(crate::journal::now());
    record.result = match &outcome {
        Ok(_) => "done".into(),
        Err(e) => crate::text::one_line(&e.to_string()),
    };
    record.availability = seen.as_ref().map(probe::Seen::words);
    journal.set_change(record).await?;
    let (replaced, now) = outcome?;
    let left: Vec<String> = now
        .iter()
        .filter(|i| i.status != "UpToDate")
        .map(|i| format!("{} ({}, {})", i.id, i.instance_group, i.status))
        .collect();
    let up_to_date: Vec<String> = now
        .iter()
        .filter(|i| i.status == "UpToDate" && !i.node_name.is_empty())
        .map(|i| i.node_name.clone())
        .collect();
    // What the cluster is now, for `status` and for a rerun of setup with these answers (which
    // compares them with it).
    if let Some(settings) = &mut journal.cluster_settings {
        settings.node_count = plan.after.node_count;
        settings.node_size = plan.after.node_size.clone();
        settings.control_plane_size = plan.after.control_plane_size.clone();
        if plan.after.kubernetes_version.is_some() {
            settings.kubernetes_version = plan.after.kubernetes_version.clone();
        }
        let settings = settings.clone();
        journal.set_cluster_settings(settings).await?;
    }
    // After a roll, the nodes it never reached (an earlier roll's, interrupted) may still carry
    // kops's taint: taken off those that are up to date. A warning at worst.
    let (untainted, taint_check) = match plan.rolls.is_empty() {
        true => (Vec::new(), None),
        false => match stray_taints(x.kops, x.bucket, &plan.cluster, &up_to_date).await {
            Ok(nodes) => (nodes, None),
            Err(why) => (Vec::new(), Some(why)),
        },
    };
    Ok(Summary { elapsed: started.elapsed(), replaced, left, probe: seen, untainted, taint_check })
}

async fn stray_taints(
    kops: &Kops,
    bucket: &str,
    cluster: &str,
    up_to_date: &[String],
) -> Result<Vec<String>, String> {
    let store = format!("s3://{bucket}");
    let admin = FreshAdmin::export(kops, cluster, &store).await.map_err(|e| e.to_string())?;
    let (client, _) = connect_for_drain(&admin.path(), cluster).await.map_err(|e| e.to_string())?;
    drain::remove_roll_taint(&client, up_to_date).await.map_err(|e| e.to_string())
}

/// The graceful scale-down: the nodes to remove (the last instances of each shrinking group,
/// by id) cordoned, then drained (evictions honour disruption budgets), and only when every
/// drain finished, their instances terminated through their Auto Scaling group with its
/// desired capacity one less each. A drain that cannot finish stops the change before any
/// instance is ended.
async fn scale_down(
    x: &Applying<'_>,
    on: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), ChangeError> {
    let plan = x.plan;
    if plan.drains.is_empty() {
        return Ok(());
    }
    let instances = list_instances(x.kops, &plan.cluster).await?;
    let mut chosen: Vec<roll::Instance> = Vec::new();
    for (group, n) in &plan.drains {
        let mut members: Vec<&roll::Instance> =
            instances.iter().filter(|i| i.instance_group == *group).collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        chosen.extend(members.into_iter().rev().take(*n as usize).cloned());
    }
    let mut board = Board::new(&chosen, Instant::now());
    on(Progress::Step(format!(
        "cordon, drain and terminate {} node(s): {}",
        chosen.len(),
        chosen.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
    )));
    let store = format!("s3://{}", x.bucket);
    let admin = FreshAdmin::export(x.kops, &plan.cluster, &store)
        .await
        .map_err(|e| ChangeError::Drain(format!("cannot reach the cluster's API: {e}")))?;
    let (client, _) = connect_for_drain(&admin.path(), &plan.cluster)
        .await
        .map_err(|e| ChangeError::Drain(format!("cannot reach the cluster's API: {e}")))?;
    let limits = drain::Limits::from_env();
    for i in &chosen {
        fence(x.kops).await?;
        drain::cordon(&client, &i.node_name).await.map_err(drain_stopped)?;
        board.set(&i.id, roll::Phase::Cordoned, Instant::now());
        on(Progress::Line(format!("cordoned node {}", i.node_name)));
        on(Progress::Board(Box::new(board.clone())));
    }
    for i in &chosen {
        board.set(&i.id, roll::Phase::Draining, Instant::now());
        on(Progress::Board(Box::new(board.clone())));
        let mut step = |s: drain::Step| {
            let line = match &s {
                drain::Step::Cordoned => format!("cordoned node {}", i.node_name),
                drain::Step::Evicted(pod) => format!("evicted pod {pod} from {}", i.node_name),
                drain::Step::Blocked(pod) => {
                    format!("eviction of pod {pod} refused by its disruption budget; retrying")
                }
            };
            on(Progress::Line(line));
        };
        drain::drain(&client, &i.node_name, limits, &mut step).await.map_err(drain_stopped)?;
    }
    for i in &chosen {
        fence(x.kops).await?;
        board.set(&i.id, roll::Phase::Terminating, Instant::now());
        on(Progress::Board(Box::new(board.clone())));
        let op = "autoscaling:TerminateInstanceInAutoScalingGroup";
        let params = [
            ("InstanceId".to_string(), i.id.clone()),
            ("ShouldDecrementDesiredCapacity".to_string(), "true".to_string()),
        ];
        x.clients.http.query(super::aws::http::Api::AutoScaling, op, &params).await?;
        board.set(&i.id, roll::Phase::Removed, Instant::now());
        on(Progress::Line(format!("terminated instance {} ({})", i.id, i.instance_group)));
        on(Progress::Board(Box::new(board.clone())));
    }
    Ok(())
}

fn drain_stopped(e: drain::DrainError) -> ChangeError {
    ChangeError::Drain(format!(
        "{e}. Nothing was terminated and kops was not told the new size; the nodes stay \
         cordoned (`kubectl uncordon NODE` puts one back in use). Relax the budget, or wait \
         for it, and run `kops-wizard change` again"
    ))
}

async fn fence(kops: &Kops) -> Result<(), ChangeError> {
    match kops.fence() {
        Some(f) => Ok(f.check().await?),
        None => Ok(()),
    }
}

async fn calls(
    kops: &Kops,
    plan: &ChangePlan,
    on: &mut (dyn FnMut(Progress) + Send),
) -> Result<(u32, Vec<roll::Instance>), ChangeError> {
    let mut replaced = 0;
    for call in &plan.calls {
        on(Progress::Call(call.clone()));
        if call.first().map(String::as_str) != Some("rolling-update") {
            kops.run_ok(call, |_, line| on(Progress::Line(line.to_string()))).await?;
            continue;
        }
        let instances = list_instances(kops, &plan.cluster).await?;
        let mut board = Board::new(&instances, Instant::now());
        let out = kops
            .run(call, |_, line| {
                on(Progress::Line(line.to_string()));
                if board.feed(line, Instant::now()).is_some() {
                    on(Progress::Board(Box::new(board.clone())));
                }
            })
            .await?;
        replaced += board.replaced();
        // kops prints its end line even when the roll failed: its exit code decides.
        if !out.status.success() {
            let why = board
                .failures
                .last()
                .cloned()
                .or_else(|| out.stderr.last().cloned())
                .unwrap_or_else(|| format!("kops exited with {}", out.status));
            let where_ = match (&board.group, &board.blocked_on) {
                (Some(g), Some(pod)) => format!(
                    "It stopped in instance group {g}, its drain waiting on pod {pod} (a \
                     PodDisruptionBudget allows no disruption)."
                ),
                (Some(g), None) => format!("It stopped in instance group {g}."),
                _ => String::new(),
            };
            return Err(ChangeError::RollFailed { why, where_ });
        }
    }
    // After a roll, the instances as kops lists them now (none looked at otherwise).
    let now = match plan.rolls.is_empty() {
        true => Vec::new(),
        false => list_instances(kops, &plan.cluster).await?,
    };
    Ok((replaced, now))
}

async fn list_instances(kops: &Kops, cluster: &str) -> Result<Vec<roll::Instance>, ChangeError> {
    let out = kops
        .run_ok(&args(&["get", "instances", "--name", cluster, "-o", "json"]), |_, _| {})
        .await?;
    roll::parse_instances(&out.stdout)
        .map_err(|e| ChangeError::Unreadable(format!("`kops get instances -o json`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(version: &str, node_type: &str, nodes: &[u32]) -> Current {
        let mut groups = vec![Group {
            name: "control-plane-us-east-1a".into(),
            role: Role::ControlPlane,
            machine_type: "t3.medium".into(),
            min: 1,
            max: 1,
        }];
        for (i, n) in nodes.iter().enumerate() {
            groups.push(Group {
                name: format!("nodes-us-east-1{}", (b'a' + i as u8) as char),
                role: Role::Node,
                machine_type: node_type.into(),
                min: *n,
                max: *n,
            });
        }
        Current { kubernetes_version: version.into(), groups, stale: Vec::new() }
    }

    fn answers(edit: impl FnOnce(&mut Answers)) -> Answers {
        let mut a = Answers::default();
        a.cluster.name = "demo.k8s.local".into();
        a.cluster.node_count = Some(2);
        a.cluster.kubernetes_version = Some("1.35.0".into());
        edit(&mut a);
        a
    }

    const KOPS: Version = Version { major: 1, minor: 36, patch: 2 };

    #[test]
    fn the_same_cluster_is_nothing_to_change() {
        let p = plan(&answers(|_| {}), &current("1.35.0", "t3.medium", &[2]), &KOPS).unwrap();
        assert!(p.is_empty() && p.calls.is_empty() && p.rolls.is_empty(), "{p:?}");
        assert_eq!(p.cost_before, p.cost_after);
    }

    #[test]
    fn a_scale_up_sets_the_sizes_and_needs_no_roll() {
        let a = answers(|a| {
            a.cluster.node_count = Some(5);
            a.cluster.zones = vec!["us-east-1a".into(), "us-east-1b".into()];
        });
        let p = plan(&a, &current("1.35.0", "t3.medium", &[1, 1]), &KOPS).unwrap();
        assert_eq!(p.changes[0].to_string(), "cluster.node_count: 2 -> 5");
        assert!(p.rolls.is_empty());
        let script = p.script();
        assert!(script.contains("kops edit ig nodes-us-east-1a --name demo.k8s.local --set spec.minSize=3 --set spec.maxSize=3"), "{script}");
        assert!(script.contains("spec.minSize=2 --set spec.maxSize=2"), "{script}");
        assert!(
            script.ends_with(
                "kops update cluster --name demo.k8s.local --yes --create-kube-config=false\n"
            ),
            "{script}"
        );
        assert!(p.cost_after.total_usd > p.cost_before.total_usd);
    }

    #[test]
    fn a_new_node_size_rolls_the_nodes_only() {
        let a = answers(|a| a.cluster.node_size = "t3.large".into());
        let p = plan(&a, &current("1.35.0", "t3.medium", &[2]), &KOPS).unwrap();
        assert_eq!(p.rolls, vec![("nodes-us-east-1a".to_string(), 2)]);
        assert_eq!(p.calls.last().unwrap()[..2], ["rolling-update", "cluster"]);
        assert!(p.warnings.is_empty(), "the control plane does not roll: {:?}", p.warnings);
    }

    #[test]
    fn an_upgrade_goes_control_plane_first_on_kops_1_31_and_later() {
        let a = answers(|a| a.cluster.kubernetes_version = Some("1.36.1".into()));
        let p = plan(&a, &current("1.35.0", "t3.medium", &[2]), &KOPS).unwrap();
        let verbs: Vec<String> = p.calls.iter().map(|c| c[..2].join(" ")).collect();
        assert_eq!(
            verbs,
            [
                "edit cluster",
                "update cluster",
                "rolling-update cluster",
                "update cluster",
                "rolling-update cluster"
            ]
        );
        assert!(p.calls[1].contains(&"--instance-group-roles=control-plane,apiserver".to_string()));
        assert_eq!(p.rolls.len(), 2);
        assert!(p.warnings[0].contains("single control plane"));
        let old = Version { major: 1, minor: 30, patch: 0 };
        let a = answers(|a| a.cluster.kubernetes_version = Some("1.30.2".into()));
        let p = plan(&a, &current("1.29.0", "t3.medium", &[2]), &old).unwrap();
        let verbs: Vec<String> = p.calls.iter().map(|c| c[..2].join(" ")).collect();
        assert_eq!(verbs, ["edit cluster", "update cluster", "rolling-update cluster"]);
    }

    #[test]
    fn a_downgrade_a_skip_a_version_kops_lacks_and_a_scale_down_are_refused_by_key() {
        for (version, nodes, rule) in [
            ("1.34.0", 2, "cannot downgrade"),
            ("1.37.0", 2, "skips a minor version"),
            ("1.35.0", 0, "no node for its pods"),
        ] {
            let a = answers(|a| {
                a.cluster.kubernetes_version = Some(version.into());
                a.cluster.node_count = Some(nodes);
            });
            let err = plan(&a, &current("1.35.0", "t3.medium", &[2]), &KOPS).unwrap_err();
            assert!(matches!(err, ChangeError::Refused(_)), "{err}");
            assert!(err.to_string().contains(rule), "{err}");
            assert!(err.to_string().contains("cluster."), "names the key: {err}");
        }
        let a = answers(|a| a.cluster.kubernetes_version = Some("1.37.0".into()));
        let err = plan(&a, &current("1.36.0", "t3.medium", &[2]), &KOPS).unwrap_err();
        assert!(err.to_string().contains("newer than kops 1.36.2 supports"), "{err}");
    }

    #[test]
    fn a_scale_down_drains_the_nodes_it_removes_before_kops_is_told() {
        let a = answers(|a| {
            a.cluster.node_count = Some(3);
            a.cluster.zones = vec!["us-east-1a".into(), "us-east-1b".into()];
        });
        let p = plan(&a, &current("1.35.0", "t3.medium", &[3, 2]), &KOPS).unwrap();
        assert_eq!(
            p.drains,
            vec![("nodes-us-east-1a".to_string(), 1), ("nodes-us-east-1b".to_string(), 1)]
        );
        assert!(p.rolls.is_empty());
        let script = p.script();
        assert!(script.contains("kubectl drain NODE --ignore-daemonsets"), "{script}");
        assert!(script.contains("--should-decrement-desired-capacity"), "{script}");
        assert!(p.cost_after.total_usd < p.cost_before.total_usd);
    }

    #[test]
    fn an_unfinished_roll_is_resumed_when_nothing_else_changes() {
        let mut c = current("1.35.0", "t3.large", &[2]);
        c.stale = vec![("nodes-us-east-1a".into(), 1)];
        let a = answers(|a| a.cluster.node_size = "t3.large".into());
        let p = plan(&a, &c, &KOPS).unwrap();
        assert!(p.changes.is_empty() && !p.is_empty());
        assert_eq!(
            p.calls,
            vec![args(&["rolling-update", "cluster", "--name", "demo.k8s.local", "--yes"])]
        );
        assert_eq!(p.rolls, vec![("nodes-us-east-1a".to_string(), 1)]);
    }

    #[test]
    fn kops_json_of_one_group_or_several_reads_the_same() {
        let cluster =
            r#"{"kind":"Cluster","metadata":{"name":"c"},"spec":{"kubernetesVersion":"1.35.0"}}"#;
        let one = r#"{"metadata":{"name":"nodes-a"},"spec":{"role":"Node","machineType":"t3.medium","minSize":2,"maxSize":2}}"#;
        let many = format!(
            "[{one}\n,{}\n]",
            r#"{"metadata":{"name":"control-plane-a"},"spec":{"role":"ControlPlane","machineType":"t3.large","minSize":1,"maxSize":1}}"#
        );
        assert_eq!(Current::parse(cluster, one).unwrap().node_count(), 2);
        let c = Current::parse(cluster, &many).unwrap();
        assert_eq!((c.node_count(), c.size(Role::ControlPlane).as_str()), (2, "t3.large"));
        assert!(Current::parse("not json", one).is_err());
    }
}
