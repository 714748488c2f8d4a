//! Reading one `kops validate cluster -o json` attempt into what the wizard shows while the
//! cluster boots: a [`Phase`], per-instance-group node counts and kops's own failure list.
//! No I/O here: the caller runs kops, hands over the exit status and both streams, and parses
//! `kops get instancegroups -o json` once with [`parse_instance_groups`].

use serde::{Deserialize, Deserializer};

/// The address kops writes into the API DNS record until dns-controller publishes the real one;
/// seeing it means the cluster is still booting, not that it is broken.
const PLACEHOLDER_IP: &str = "203.0.113.123";

/// stderr fragments (lower case) of the errors kops prints while the API cannot be reached yet:
/// normal for the first minutes after `kops update cluster --yes`, while the API record, load
/// balancer or apiserver is still coming up. kops then prints no JSON at all.
const UNREACHABLE: [&str; 6] = [
    "unable to resolve kubernetes cluster api url",
    "dial tcp",
    "no such host",
    "connection refused",
    "i/o timeout",
    "unexpected error during validation",
];

/// Errors that waiting does not fix, found in kops's stderr (lower case), with what to do.
/// Checked before [`UNREACHABLE`]: kops wraps them too in "unexpected error during validation".
const FATAL: [(&[&str], &str); 7] = [
    (
        &["expiredtoken", "token included in the request is expired", "token has expired"],
        "the kops profile's credentials have expired: refresh them (for SSO: aws sso login \
         --profile <profile>) and run setup again",
    ),
    (
        &["invalidaccesskeyid", "invalidclienttokenid", "signaturedoesnotmatch"],
        "AWS does not accept the kops profile's access key (deleted, or a wrong secret in the \
         credentials file): run `kops-wizard setup --only credentials`, then setup again",
    ),
    (
        &["accessdenied", "access denied", "is not authorized to perform"],
        "AWS refused the kops user a permission: check that its group has the seven policies \
         (`kops-wizard doctor`), then run setup again",
    ),
    (
        &["unauthorized", "you must be logged in to the server"],
        "the cluster's API refused the kubeconfig's credentials (the admin credentials \
         `kops update cluster --admin` exported expire after 18h): run `kops export kubeconfig \
         --admin` for this cluster, then setup again",
    ),
    (
        &["nosuchbucket", "the specified bucket does not exist"],
        "the state bucket does not exist (deleted, or another region): check state_store.bucket \
         and aws.region; setup creates it when it is free",
    ),
    (
        &["cluster.kops.k8s.io", "cluster not found"],
        "the state store holds no such cluster (deleted with kops, or another state store or \
         name): check cluster.name and state_store.bucket; setup creates it again",
    ),
    (
        &["please set the --state flag", "state store: required value"],
        "kops got no state store: check state_store.bucket",
    ),
];

/// How many stderr lines a kops error keeps: kops ends with one `Error:` line, and the klog
/// warnings just before it usually say why.
const STDERR_TAIL: usize = 5;

/// Bytes quoted on each side of the point where unreadable output went wrong: enough to
/// recognise it, short enough for one line of the UI.
const EXCERPT_RADIUS: usize = 30;

/// One `kops validate cluster -o json` result. kops tags every field `omitempty` (a healthy
/// cluster has no `failures` key), and fields a later kops adds must not break the wizard, so
/// every field is optional and unknown ones are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ValidateOutput {
    pub failures: Vec<Failure>,
    pub nodes: Vec<Node>,
}

/// One reason the cluster is not valid yet, e.g. `machine "i-0abc" has not yet joined cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Failure {
    /// `dns`, `Pod`, `Node`, `Machine`, `InstanceGroup`, ...; kops's JSON key is `type`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub message: String,
    /// The group the failure belongs to. kops embeds the whole InstanceGroup; its name is all
    /// the wizard needs, and the rest of that object changes between kops versions.
    #[serde(rename = "instanceGroup", deserialize_with = "embedded_group_name")]
    pub instance_group: Option<String>,
}

impl Failure {
    /// The failure on one line: kops's messages carry blank lines ("Validation Failed\n\nThe
    /// ..."), and most already name what failed (`node "i-0abc" of role "node" is not
    /// ready`), so the kind and name go first only when the message leaves them out: at 80
    /// columns the repeated id pushed the line onto a second row the dashboard lacks.
    pub fn summary(&self) -> String {
        let message = self.message.split_whitespace().collect::<Vec<_>>().join(" ");
        match self.name.is_empty() || message.contains(&self.name) {
            true => message,
            false => format!("{} {}: {message}", self.kind, self.name),
        }
    }
}

/// One Kubernetes node as kops reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(from = "RawNode")]
pub struct Node {
    pub name: String,
    pub zone: String,
    /// `control-plane`, `node`, `apiserver` (before kops 1.26: `master`).
    pub role: String,
    pub hostname: String,
    /// The node's Ready condition is `True`; `False` and `Unknown` both mean not ready yet.
    pub ready: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RawNode {
    name: String,
    zone: String,
    role: String,
    hostname: String,
    status: String,
}

impl From<RawNode> for Node {
    fn from(raw: RawNode) -> Node {
        Node {
            name: raw.name,
            zone: raw.zone,
            role: raw.role,
            hostname: raw.hostname,
            ready: raw.status == "True",
        }
    }
}

/// `metadata.name` of an embedded InstanceGroup; an object without a name says nothing useful.
fn embedded_group_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Meta {
        name: String,
    }
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct Embedded {
        metadata: Meta,
    }
    let group = Option::<Embedded>::deserialize(d)?;
    Ok(group.map(|g| g.metadata.name).filter(|name| !name.is_empty()))
}

/// An instance group from `kops get instancegroups -o json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceGroup {
    pub name: String,
    pub role: Role,
    pub machine_type: String,
    pub min: u32,
    pub max: u32,
    /// `spec.subnets`: subnet names, which kops names after their zone (`us-east-1a`) for
    /// control-plane and node groups, so they match a node's zone; bastions sit in
    /// `utility-<zone>`.
    pub zones: Vec<String>,
}

/// An instance group's role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// `ControlPlane`, or `Master` as kops wrote it before 1.26.
    ControlPlane,
    Node,
    Bastion,
    /// Anything else, e.g. `APIServer` (a group running only the API server).
    Other(String),
}

impl Role {
    fn from_kops(role: &str) -> Role {
        match role {
            "ControlPlane" | "Master" => Role::ControlPlane,
            "Node" => Role::Node,
            "Bastion" => Role::Bastion,
            other => Role::Other(other.to_string()),
        }
    }

    fn is_api_server(&self) -> bool {
        matches!(self, Role::Other(role) if role == "APIServer")
    }
}

#[derive(Deserialize)]
struct RawGroup {
    #[serde(default)]
    kind: Option<String>,
    metadata: RawGroupMeta,
    #[serde(default)]
    spec: RawGroupSpec,
}

#[derive(Deserialize)]
struct RawGroupMeta {
    name: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawGroupSpec {
    role: String,
    machine_type: String,
    min_size: Option<u32>,
    max_size: Option<u32>,
    subnets: Vec<String>,
}

impl RawGroup {
    fn into_group(self) -> Result<InstanceGroup, ParseError> {
        // Output of the wrong command (e.g. `kops get clusters -o json`) would otherwise turn
        // into instance groups with empty specs.
        if let Some(kind) = self.kind.filter(|kind| kind != "InstanceGroup") {
            return Err(ParseError::InstanceGroups {
                reason: format!("found a {kind} object where an InstanceGroup was expected"),
                excerpt: self.metadata.name,
            });
        }
        let spec = self.spec;
        // kops writes both sizes for every group it creates; a hand-edited group without them
        // is shown as expecting nothing rather than guessing kops's cloud-side defaults.
        let min = spec.min_size.unwrap_or(0);
        Ok(InstanceGroup {
            name: self.metadata.name,
            role: Role::from_kops(&spec.role),
            machine_type: spec.machine_type,
            min,
            max: spec.max_size.unwrap_or(min),
            zones: spec.subnets,
        })
    }
}

/// Reads `kops get instancegroups -o json`: a bare object when one group is selected, otherwise
/// an array, which kops prints as `[obj\n,obj\n]`. No groups at all is an error, because every
/// kops cluster has at least one and validation cannot be judged without them.
pub fn parse_instance_groups(stdout: &str) -> Result<Vec<InstanceGroup>, ParseError> {
    let parsed = match stdout.trim_start().chars().next() {
        None => return Err(ParseError::NoInstanceGroups),
        Some('[') => serde_json::from_str::<Vec<RawGroup>>(stdout),
        Some(_) => serde_json::from_str::<RawGroup>(stdout).map(|group| vec![group]),
    };
    let raw = parsed.map_err(|err| ParseError::InstanceGroups {
        reason: err.to_string(),
        excerpt: excerpt(stdout, &err),
    })?;
    if raw.is_empty() {
        return Err(ParseError::NoInstanceGroups);
    }
    raw.into_iter().map(RawGroup::into_group).collect()
}

/// Reads stdout of `kops validate cluster -o json`. With `--wait` kops prints one object per
/// attempt, back to back with no separator and no final newline; only the last one describes
/// the cluster now. Empty output is `None`: kops prints no JSON when it cannot reach the API.
pub fn parse_stream(stdout: &str) -> Result<Option<ValidateOutput>, ParseError> {
    let mut last = None;
    for item in serde_json::Deserializer::from_str(stdout).into_iter::<ValidateOutput>() {
        let output = item.map_err(|err| ParseError::ValidateOutput {
            reason: err.to_string(),
            excerpt: excerpt(stdout, &err),
        })?;
        last = Some(output);
    }
    Ok(last)
}

/// Where the cluster is on its way to validating. Everything but `Ready` is normal while a new
/// cluster boots; only the time spent in it tells the wizard something is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// kops cannot reach the API server yet (no DNS record, load balancer or apiserver yet).
    ApiUnreachable,
    /// The API DNS record still holds kops's placeholder address.
    DnsNotUpdated,
    /// The API answers; machines are still joining or system pods are not ready.
    NodesJoining,
    Ready,
}

impl Phase {
    pub fn describe(self) -> &'static str {
        match self {
            Phase::ApiUnreachable => "API not reachable yet",
            Phase::DnsNotUpdated => "DNS not updated yet",
            Phase::NodesJoining => "nodes joining",
            Phase::Ready => "ready",
        }
    }
}

/// Node counts for one instance group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupStatus {
    pub name: String,
    pub role: Role,
    /// The group's minimum size: what kops waits for.
    pub expected: u32,
    pub ready: u32,
    /// Nodes of this group that have registered, ready or not.
    pub total: u32,
}

/// One validation attempt, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub phase: Phase,
    /// One entry per instance group except bastions, which never join the cluster; in the
    /// order of `kops get instancegroups`.
    pub groups: Vec<GroupStatus>,
    /// Every node kops reported, including any that belong to no known group.
    pub nodes: Vec<Node>,
    pub failures: Vec<Failure>,
    pub ready_nodes: u32,
    /// The sum of the groups' minimum sizes, bastions excluded.
    pub expected_nodes: u32,
    /// When kops printed no result: the stderr line that says why (for `ApiUnreachable`, and
    /// for `DnsNotUpdated` reached through a connection error to the placeholder address).
    pub detail: Option<String>,
}

/// Turns one `kops validate cluster --name N -o json` run into an [`Attempt`]. `groups` comes
/// from [`parse_instance_groups`]. A run that printed no JSON and no sign of an unreachable API
/// is a real kops error (bad state store, missing credentials, ...) and comes back as
/// [`ParseError::NoResult`] with kops's last stderr lines.
pub fn classify(
    success: bool,
    stdout: &str,
    stderr: &str,
    groups: &[InstanceGroup],
) -> Result<Attempt, ParseError> {
    let Some(output) = parse_stream(stdout)? else {
        return without_result(success, stderr, groups);
    };
    let phase = if output.failures.iter().any(is_dns_failure) {
        Phase::DnsNotUpdated
    } else if output.failures.is_empty() && success {
        Phase::Ready
    } else {
        // A clean result with a failing exit status means kops itself did not accept the
        // cluster yet; the wizard never declares it ready before kops does.
        Phase::NodesJoining
    };
    Ok(tally(phase, output, groups, None))
}

fn is_dns_failure(failure: &Failure) -> bool {
    failure.kind.eq_ignore_ascii_case("dns") || failure.message.contains(PLACEHOLDER_IP)
}

fn without_result(
    success: bool,
    stderr: &str,
    groups: &[InstanceGroup],
) -> Result<Attempt, ParseError> {
    // Checked first: "dial tcp 203.0.113.123:443: i/o timeout" is the DNS phase seen from a
    // connection attempt, and more precise than "unreachable".
    for (needles, advice) in FATAL {
        if let Some(line) = last_line_with(stderr, needles) {
            return Err(ParseError::Fatal { line: line.to_string(), advice });
        }
    }
    let phase = if let Some(line) = last_line_with(stderr, &[PLACEHOLDER_IP]) {
        Some((Phase::DnsNotUpdated, line))
    } else {
        last_line_with(stderr, &UNREACHABLE).map(|line| (Phase::ApiUnreachable, line))
    };
    match phase {
        Some((phase, line)) => {
            Ok(tally(phase, ValidateOutput::default(), groups, Some(line.to_string())))
        }
        None => Err(ParseError::NoResult { exited_ok: success, stderr_tail: stderr_tail(stderr) }),
    }
}

/// The last stderr line containing one of `needles` (lower case), compared case-insensitively.
/// The last one, because with `--wait` kops repeats its reason once per attempt.
fn last_line_with<'a>(stderr: &'a str, needles: &[&str]) -> Option<&'a str> {
    stderr.lines().rev().map(str::trim).find(|line| {
        let line = line.to_ascii_lowercase();
        needles.iter().any(|needle| line.contains(needle))
    })
}

fn stderr_tail(stderr: &str) -> Vec<String> {
    let lines: Vec<&str> =
        stderr.lines().map(str::trim_end).filter(|line| !line.trim().is_empty()).collect();
    let skip = lines.len().saturating_sub(STDERR_TAIL);
    lines.into_iter().skip(skip).map(str::to_string).collect()
}

fn tally(
    phase: Phase,
    output: ValidateOutput,
    groups: &[InstanceGroup],
    detail: Option<String>,
) -> Attempt {
    let members: Vec<&InstanceGroup> =
        groups.iter().filter(|group| group.role != Role::Bastion).collect();
    let mut statuses: Vec<GroupStatus> = members
        .iter()
        .map(|group| GroupStatus {
            name: group.name.clone(),
            role: group.role.clone(),
            expected: group.min,
            ready: 0,
            total: 0,
        })
        .collect();
    for node in &output.nodes {
        let index = group_of(node, &output.failures, &members);
        if let Some(status) = index.and_then(|i| statuses.get_mut(i)) {
            status.total = status.total.saturating_add(1);
            status.ready = status.ready.saturating_add(u32::from(node.ready));
        }
    }
    let ready = output.nodes.iter().filter(|node| node.ready).count();
    Attempt {
        phase,
        groups: statuses,
        ready_nodes: u32::try_from(ready).unwrap_or(u32::MAX),
        expected_nodes: members.iter().fold(0, |sum: u32, group| sum.saturating_add(group.min)),
        nodes: output.nodes,
        failures: output.failures,
        detail,
    }
}

/// The index in `groups` of the group `node` belongs to. Nodes carry no group name, except
/// that kops names the group in a failure about a node that is not ready; that settles two
/// groups sharing a role and zone. Otherwise the node's role and zone decide, and a group of
/// exactly the node's role beats one of the same side (control plane vs API server).
fn group_of(node: &Node, failures: &[Failure], groups: &[&InstanceGroup]) -> Option<usize> {
    let named = failures
        .iter()
        .filter(|failure| !node.name.is_empty() && failure.name == node.name)
        .find_map(|failure| failure.instance_group.as_deref());
    if let Some(i) = named.and_then(|name| groups.iter().position(|group| group.name == name)) {
        return Some(i);
    }
    let mut best: Option<(u8, usize)> = None;
    for (i, group) in groups.iter().enumerate() {
        if !group.zones.contains(&node.zone) {
            continue;
        }
        let score = role_match(&node.role, &group.role);
        if score > best.map_or(0, |(best_score, _)| best_score) {
            best = Some((score, i));
        }
    }
    best.map(|(_, i)| i)
}

/// 2: the group has exactly the node's role; 1: same side of the cluster (a control-plane node
/// in an APIServer group, or the reverse); 0: no match.
fn role_match(node_role: &str, group: &Role) -> u8 {
    let is = |role: &str| node_role.eq_ignore_ascii_case(role);
    let control_plane = is("control-plane") || is("master");
    match group {
        Role::ControlPlane if control_plane => 2,
        Role::ControlPlane if is("apiserver") => 1,
        Role::Node if is("node") => 2,
        role if role.is_api_server() && is("apiserver") => 2,
        role if role.is_api_server() && control_plane => 1,
        _ => 0,
    }
}

/// A short piece of `text` around where serde_json stopped, so the user sees the offending
/// output instead of a line/column into text they never saw.
fn excerpt(text: &str, err: &serde_json::Error) -> String {
    let line_start: usize =
        text.split_inclusive('\n').take(err.line().saturating_sub(1)).map(str::len).sum();
    let at = line_start.saturating_add(err.column().saturating_sub(1));
    let start = char_floor(text, at.saturating_sub(EXCERPT_RADIUS));
    let end = char_floor(text, at.saturating_add(EXCERPT_RADIUS));
    let piece = text.get(start..end).unwrap_or_default();
    // Control characters escaped so a newline or tab in kops's output stays visible on one line.
    let mut shown = String::with_capacity(piece.len());
    for c in piece.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// The nearest char boundary at or below `index` (clamped to the text), for slicing safely.
fn char_floor(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Why kops output could not be turned into an [`Attempt`] or instance groups.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// stdout of `kops validate cluster -o json` is not a stream of kops's JSON results.
    #[error(
        "could not read the output of `kops validate cluster -o json`: {reason}, near `{excerpt}`; \
         the wizard needs the JSON that kops prints, so check that --kops points at kops itself \
         (or at a wrapper that prints nothing else on stdout)"
    )]
    ValidateOutput { reason: String, excerpt: String },
    /// stdout of `kops get instancegroups -o json` is not instance groups.
    #[error(
        "could not read the output of `kops get instancegroups -o json`: {reason}, near \
         `{excerpt}`; check that --kops points at kops itself"
    )]
    InstanceGroups { reason: String, excerpt: String },
    #[error(
        "`kops get instancegroups -o json` listed no instance groups, but every kops cluster \
         has some; check the cluster name and the state store (`kops get instancegroups --name N`)"
    )]
    NoInstanceGroups,
    /// kops printed an error that waiting does not fix: stop at once.
    #[error(
        "kops validate cluster failed, and retrying will not help: {line}\nWhat to do: {advice}"
    )]
    Fatal { line: String, advice: &'static str },
    /// kops printed no JSON and nothing that says the API is merely unreachable yet.
    #[error("{}", no_result_message(*.exited_ok, .stderr_tail))]
    NoResult { exited_ok: bool, stderr_tail: Vec<String> },
}

fn no_result_message(exited_ok: bool, stderr_tail: &[String]) -> String {
    let mut message = if exited_ok {
        "kops validate cluster exited successfully but printed no JSON result".to_string()
    } else {
        "kops validate cluster failed without a result".to_string()
    };
    if stderr_tail.is_empty() {
        message.push_str(" and without an error message; run it by hand to see what it does");
    } else {
        message.push_str("; kops said:");
        for line in stderr_tail {
            message.push_str("\n  ");
            message.push_str(line);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    // Samples. Unless a comment says otherwise, each is verbatim output of the project's kops
    // stand-in (tests/support/fake_kops.py, which reproduces kops 1.36.2's formats) run against
    // a moto S3 server, for a cluster `demo.k8s.local` in us-east-1a with `--node-count 3`.
    // `concat!` only splits long lines; it adds nothing between the pieces.

    /// First object printed by the stand-in for `validate cluster -o json --wait 10m` with
    /// FAKE_KOPS_VALIDATE_STEPS=unreachable=0,dns=1,joining=1: the API DNS record still holds
    /// the placeholder address.
    const DNS_NOT_UPDATED: &str = concat!(
        r#"{"failures":[{"type":"dns","name":"apiserver","message":"Validation Failed\n\nThe "#,
        r#"dns-controller Kubernetes deployment has not updated the Kubernetes cluster's API DNS "#,
        r#"entry to the correct IP address.  The API DNS IP address is the placeholder address "#,
        r#"that kops creates: 203.0.113.123.  Please wait about 5-10 minutes for a control plane "#,
        r#"node to start, dns-controller to launch, and DNS to propagate.  The dns-controller "#,
        r#"deployment logs may contain more diagnostic information.  Etcd and the API DNS "#,
        r#"entries must be updated for a kops Kubernetes cluster to start."}]}"#,
    );

    /// Second object of that run: the control plane is Ready, `nodes-us-east-1a` (min 3) has one
    /// registered node that is not Ready and one machine that has not joined.
    const JOINING: &str = concat!(
        r#"{"failures":[{"type":"InstanceGroup","name":"nodes-us-east-1a","#,
        r#""message":"InstanceGroup \"nodes-us-east-1a\" did not have enough nodes 2 vs 3","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"Node","image":"099720109477/ubuntu/images/"#,
        r#"hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Node","name":"i-0e259533dce8fbede","message":"node \"i-0e259533dce8fbede\" "#,
        r#"of role \"node\" is not ready","instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"Node","image":"099720109477/ubuntu/images/"#,
        r#"hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Machine","name":"i-0fc4e1d5c8a33b339","message":"machine "#,
        r#"\"i-0fc4e1d5c8a33b339\" has not yet joined cluster","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"Node","image":"099720109477/ubuntu/images/"#,
        r#"hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Pod","name":"kube-system/coredns-ab6fdd763b-55a46","#,
        r#""message":"system-cluster-critical pod \"coredns-ab6fdd763b-55a46\" is pending"},"#,
        r#"{"type":"Pod","name":"kube-system/cilium-d636b","message":"system-node-critical pod "#,
        r#"\"cilium-d636b\" is not ready (cilium-agent)","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"Node","image":"099720109477/ubuntu/images/"#,
        r#"hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}}],"#,
        r#""nodes":[{"name":"i-0a204e42836621d28","zone":"us-east-1a","role":"control-plane","#,
        r#""hostname":"i-0a204e42836621d28","status":"True"},{"name":"i-0e259533dce8fbede","#,
        r#""zone":"us-east-1a","role":"node","hostname":"i-0e259533dce8fbede","status":"False"}]}"#,
    );

    /// Third and last object of that run: healthy, so no `failures` key; no trailing newline.
    const HEALTHY: &str = concat!(
        r#"{"nodes":[{"name":"i-0a204e42836621d28","zone":"us-east-1a","role":"control-plane","#,
        r#""hostname":"i-0a204e42836621d28","status":"True"},{"name":"i-0e259533dce8fbede","#,
        r#""zone":"us-east-1a","role":"node","hostname":"i-0e259533dce8fbede","status":"True"},"#,
        r#"{"name":"i-0fc4e1d5c8a33b339","zone":"us-east-1a","role":"node","#,
        r#""hostname":"i-0fc4e1d5c8a33b339","status":"True"},{"name":"i-0ff792530713fd9eb","#,
        r#""zone":"us-east-1a","role":"node","hostname":"i-0ff792530713fd9eb","status":"True"}]}"#,
    );

    /// Assembled from the stand-in's pieces (it never reports a Ready worker while joining):
    /// the HEALTHY nodes with the last one not Ready, plus JOINING's `Node` failure for it.
    const TWO_OF_THREE: &str = concat!(
        r#"{"failures":[{"type":"Node","name":"i-0ff792530713fd9eb","message":"node "#,
        r#"\"i-0ff792530713fd9eb\" of role \"node\" is not ready","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"Node","image":"099720109477/ubuntu/images/"#,
        r#"hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}}],"#,
        r#""nodes":[{"name":"i-0a204e42836621d28","zone":"us-east-1a","role":"control-plane","#,
        r#""hostname":"i-0a204e42836621d28","status":"True"},{"name":"i-0e259533dce8fbede","#,
        r#""zone":"us-east-1a","role":"node","hostname":"i-0e259533dce8fbede","status":"True"},"#,
        r#"{"name":"i-0fc4e1d5c8a33b339","zone":"us-east-1a","role":"node","#,
        r#""hostname":"i-0fc4e1d5c8a33b339","status":"True"},{"name":"i-0ff792530713fd9eb","#,
        r#""zone":"us-east-1a","role":"node","hostname":"i-0ff792530713fd9eb","status":"False"}]}"#,
    );

    /// `validate cluster -o json` (stand-in) for a private 3-AZ cluster with 3 control planes, one
    /// node per zone and a bastion, in the joining phase.
    const MULTI_AZ_JOINING: &str = concat!(
        r#"{"failures":[{"type":"Node","name":"i-061097b28521e7ada","message":"node "#,
        r#"\"i-061097b28521e7ada\" of role \"node\" is not ready","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"Node","image":"099720109477/ubuntu/"#,
        r#"images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Node","name":"i-0a3140220f76e2b9b","message":"node \"i-0a3140220f76e2b9b\" "#,
        r#"of role \"node\" is not ready","instanceGroup":{"metadata":{"name":"nodes-us-east-1b","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"Node","image":"099720109477/ubuntu/"#,
        r#"images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1b"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Node","name":"i-0635ca778117d485d","message":"node \"i-0635ca778117d485d\" "#,
        r#"of role \"node\" is not ready","instanceGroup":{"metadata":{"name":"nodes-us-east-1c","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"Node","image":"099720109477/ubuntu/"#,
        r#"images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1c"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}},"#,
        r#"{"type":"Pod","name":"kube-system/coredns-e8d4dbb33b-deec7","#,
        r#""message":"system-cluster-critical pod \"coredns-e8d4dbb33b-deec7\" is pending"},"#,
        r#"{"type":"Pod","name":"kube-system/cilium-fc663","message":"system-node-critical pod "#,
        r#"\"cilium-fc663\" is not ready (cilium-agent)","#,
        r#""instanceGroup":{"metadata":{"name":"nodes-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"Node","image":"099720109477/ubuntu/"#,
        r#"images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}}],"#,
        r#""nodes":[{"name":"i-0da4528d185d0cae5","zone":"us-east-1a","role":"control-plane","#,
        r#""hostname":"i-0da4528d185d0cae5","status":"True"},{"name":"i-0b277fe54b18be66e","#,
        r#""zone":"us-east-1b","role":"control-plane","hostname":"i-0b277fe54b18be66e","#,
        r#""status":"True"},{"name":"i-0f1d947b3a8c973cc","zone":"us-east-1c","#,
        r#""role":"control-plane","hostname":"i-0f1d947b3a8c973cc","status":"True"},"#,
        r#"{"name":"i-061097b28521e7ada","zone":"us-east-1a","role":"node","#,
        r#""hostname":"i-061097b28521e7ada","status":"False"},{"name":"i-0a3140220f76e2b9b","#,
        r#""zone":"us-east-1b","role":"node","hostname":"i-0a3140220f76e2b9b","status":"False"},"#,
        r#"{"name":"i-0635ca778117d485d","zone":"us-east-1c","role":"node","#,
        r#""hostname":"i-0635ca778117d485d","status":"False"}]}"#,
    );

    /// `get instancegroups -o json` (stand-in) for two groups: kops's `[obj\n,obj\n]` form.
    const IGS_KOPS: &str = concat!(
        r#"[{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"control-plane-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"ControlPlane","image":"099720109477/"#,
        r#"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"#,
        r#""maxSize":1,"machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1a","creationTimestamp":"2026-11-25T20:19:12Z","#,
        r#""labels":{"kops.k8s.io/cluster":"demo.k8s.local"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}"#,
        "\n",
        r#"]"#,
    );

    /// `get instancegroups nodes-us-east-1a -o json` (stand-in): one group prints as a bare object.
    const IG_SINGLE: &str = concat!(
        r#"{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1a","creationTimestamp":"2026-11-25T20:19:12Z","#,
        r#""labels":{"kops.k8s.io/cluster":"demo.k8s.local"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}"#,
        "\n",
    );

    /// `get instancegroups -o json` (stand-in) for the 3-AZ cluster, bastions included.
    const IGS_MULTI_AZ: &str = concat!(
        r#"[{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"bastions","creationTimestamp":"2026-11-25T20:19:41Z","#,
        r#""labels":{"kops.k8s.io/cluster":"multi.example.com"}},"spec":{"role":"Bastion","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.micro","subnets":["utility-us-east-1a","utility-us-east-1b","#,
        r#""utility-us-east-1c"],"instanceMetadata":{"httpPutResponseHopLimit":1,"#,
        r#""httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"control-plane-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"ControlPlane","image":"099720109477/"#,
        r#"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"#,
        r#""maxSize":1,"machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"control-plane-us-east-1b","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"ControlPlane","image":"099720109477/"#,
        r#"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"#,
        r#""maxSize":1,"machineType":"t3.medium","subnets":["us-east-1b"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"control-plane-us-east-1c","#,
        r#""creationTimestamp":"2026-11-25T20:19:41Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"multi.example.com"}},"spec":{"role":"ControlPlane","image":"099720109477/"#,
        r#"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"#,
        r#""maxSize":1,"machineType":"t3.medium","subnets":["us-east-1c"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1a","creationTimestamp":"2026-11-25T20:19:41Z","#,
        r#""labels":{"kops.k8s.io/cluster":"multi.example.com"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1b","creationTimestamp":"2026-11-25T20:19:41Z","#,
        r#""labels":{"kops.k8s.io/cluster":"multi.example.com"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1b"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}"#,
        "\n",
        r#",{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1c","creationTimestamp":"2026-11-25T20:19:41Z","#,
        r#""labels":{"kops.k8s.io/cluster":"multi.example.com"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1c"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}"#,
        "\n",
        r#"]"#,
    );

    /// IGS_KOPS re-encoded as a plain compact array, as `jq -c .` prints it.
    const IGS_PLAIN_ARRAY: &str = concat!(
        r#"[{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"control-plane-us-east-1a","#,
        r#""creationTimestamp":"2026-11-25T20:19:12Z","labels":{"kops.k8s.io/"#,
        r#"cluster":"demo.k8s.local"}},"spec":{"role":"ControlPlane","image":"099720109477/"#,
        r#"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"#,
        r#""maxSize":1,"machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}},"#,
        r#"{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"nodes-us-east-1a","creationTimestamp":"2026-11-25T20:19:12Z","#,
        r#""labels":{"kops.k8s.io/cluster":"demo.k8s.local"}},"spec":{"role":"Node","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":3,"maxSize":3,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":1,"httpTokens":"required"}}}]"#,
    );

    /// The control-plane group as kops before 1.26 stored it: role `Master`, named `master-<zone>`.
    const IG_MASTER: &str = concat!(
        r#"{"apiVersion":"kops.k8s.io/v1alpha2","kind":"InstanceGroup","#,
        r#""metadata":{"name":"master-us-east-1a","creationTimestamp":"2026-11-25T20:19:12Z","#,
        r#""labels":{"kops.k8s.io/cluster":"demo.k8s.local"}},"spec":{"role":"Master","#,
        r#""image":"099720109477/ubuntu/images/hvm-ssd-gp3/"#,
        r#"ubuntu-noble-24.04-amd64-server-20250610","minSize":1,"maxSize":1,"#,
        r#""machineType":"t3.medium","subnets":["us-east-1a"],"#,
        r#""instanceMetadata":{"httpPutResponseHopLimit":3,"httpTokens":"required"}}}"#,
        "\n",
    );

    /// stderr of `validate cluster -o json` right after `update cluster --yes` (stdout empty).
    const UNREACHABLE_STDERR: &str = "Error: validation failed: unexpected error during \
        validation: unable to resolve Kubernetes cluster API URL dns: lookup api.demo.k8s.local \
        on 127.0.0.53:53: no such host\n";

    /// stderr of the stand-in's FAKE_KOPS_FAIL_ONCE=validate failure (stdout empty).
    const TLS_TIMEOUT_STDERR: &str = "Error: validation failed: unexpected error during \
        validation: error listing nodes: Get \"https://api.demo.k8s.local/api/v1/nodes\": \
        net/http: TLS handshake timeout\n";

    /// stderr of `validate cluster -o json --wait 10m` whose first attempt found no API; the
    /// last line matches none of the unreachable patterns.
    const WAIT_STDERR: &str = "W1125 20:19:35.396631   17057 validate_cluster.go:193] (will \
        retry): unexpected error during validation: unable to resolve Kubernetes cluster API \
        URL dns: lookup api.demo.k8s.local on 127.0.0.53:53: no such host\n\
        W1125 20:19:35.400347   17057 validate_cluster.go:241] (will retry): cluster not yet \
        healthy\n";

    /// stderr of any validation with failures (stdout has the JSON).
    const NOT_HEALTHY_STDERR: &str = "Error: validation failed: cluster not yet healthy\n";

    /// stderr of FAKE_KOPS_VERSION=1.30.0 without a kubeconfig context (stdout empty): a real
    /// error, not a phase.
    const NO_CONTEXT_STDERR: &str = "Error: validation failed: getting rest config: cannot load \
        kubecfg settings for \"demo.k8s.local\": context \"demo.k8s.local\" does not exist\n";

    /// The first lines of `validate cluster` without `-o json` (table mode).
    const TABLE_STDOUT: &str = "Validating cluster demo.k8s.local\n\nINSTANCE GROUPS\n\
        NAME\t\t\t\tROLE\t\tMACHINETYPE\tMIN\tMAX\tSUBNETS\n\
        control-plane-us-east-1a\tControlPlane\tt3.medium\t1\t1\tus-east-1a\n";

    fn demo_groups() -> Vec<InstanceGroup> {
        parse_instance_groups(IGS_KOPS).unwrap()
    }

    /// (name, ready, expected, total) per group.
    fn counts(attempt: &Attempt) -> Vec<(&str, u32, u32, u32)> {
        attempt.groups.iter().map(|g| (g.name.as_str(), g.ready, g.expected, g.total)).collect()
    }

    fn group(name: &str, role: Role, zones: &[&str], min: u32) -> InstanceGroup {
        InstanceGroup {
            name: name.into(),
            role,
            machine_type: "t3.medium".into(),
            min,
            max: min,
            zones: zones.iter().map(|z| z.to_string()).collect(),
        }
    }

    #[test]
    fn healthy_result_without_failures_key_is_ready() {
        assert!(!HEALTHY.ends_with('\n') && !HEALTHY.contains("failures"));
        let output = parse_stream(HEALTHY).unwrap().unwrap();
        assert!(output.failures.is_empty());
        assert_eq!(output.nodes.len(), 4);
        assert_eq!(
            output.nodes[0],
            Node {
                name: "i-0a204e42836621d28".into(),
                zone: "us-east-1a".into(),
                role: "control-plane".into(),
                hostname: "i-0a204e42836621d28".into(),
                ready: true,
            }
        );

        let attempt = classify(true, HEALTHY, "", &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::Ready);
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 1, 1, 1), ("nodes-us-east-1a", 3, 3, 3)]
        );
        assert_eq!((attempt.ready_nodes, attempt.expected_nodes), (4, 4));
        assert_eq!(attempt.detail, None);
    }

    #[test]
    fn a_stream_of_two_objects_keeps_the_last() {
        let healthy = parse_stream(HEALTHY).unwrap();
        assert_eq!(parse_stream(&[JOINING, HEALTHY].concat()).unwrap(), healthy);
        let joining = parse_stream(JOINING).unwrap();
        assert_eq!(parse_stream(&[HEALTHY, JOINING].concat()).unwrap(), joining);
        // Whitespace between objects is fine too.
        assert_eq!(parse_stream(&format!("{JOINING}\n{HEALTHY}\n")).unwrap(), healthy);

        // What `--wait` prints when the cluster became ready within the wait.
        let attempt = classify(true, &[JOINING, HEALTHY].concat(), WAIT_STDERR, &demo_groups());
        assert_eq!(attempt.unwrap().phase, Phase::Ready);
    }

    #[test]
    fn a_stream_of_three_objects_keeps_the_last() {
        // Exactly the stand-in's stdout for that `--wait` run.
        let stream = [DNS_NOT_UPDATED, JOINING, HEALTHY].concat();
        assert_eq!(parse_stream(&stream).unwrap(), parse_stream(HEALTHY).unwrap());

        let stream = [HEALTHY, JOINING, DNS_NOT_UPDATED].concat();
        let attempt = classify(false, &stream, NOT_HEALTHY_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::DnsNotUpdated);
    }

    #[test]
    fn the_type_key_is_the_failure_kind() {
        let output = parse_stream(DNS_NOT_UPDATED).unwrap().unwrap();
        assert_eq!(output.failures.len(), 1);
        assert_eq!(output.failures[0].kind, "dns");
        assert_eq!(output.failures[0].name, "apiserver");
        assert!(output.failures[0].message.starts_with("Validation Failed\n\nThe dns-controller"));
        assert_eq!(output.failures[0].instance_group, None);
        assert!(output.nodes.is_empty());
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_ones_default() {
        // Hand-written: the shape of kops's result with fields no kops version prints.
        let text = r#"{"failures":[{"type":"Pod","name":"kube-system/x","message":"m",
            "severity":3}],"nodes":[{"name":"n","zone":"us-east-1a","role":"node","hostname":"h",
            "status":"True","internalIP":"172.20.40.10"}],"summary":{"ready":false}}"#;
        let output = parse_stream(text).unwrap().unwrap();
        assert_eq!(output.failures[0].kind, "Pod");
        assert!(output.nodes[0].ready);

        let output =
            parse_stream(r#"{"nodes":[{"name":"n","status":"Unknown"}]}"#).unwrap().unwrap();
        assert_eq!(output.nodes[0], Node { name: "n".into(), ..Node::default() });
        assert_eq!(parse_stream("{}").unwrap(), Some(ValidateOutput::default()));
    }

    #[test]
    fn a_failure_names_what_failed_once() {
        let node = Failure {
            kind: "Node".into(),
            name: "i-0abc".into(),
            message: "node \"i-0abc\" of role \"node\" is not ready".into(),
            instance_group: None,
        };
        assert_eq!(node.summary(), "node \"i-0abc\" of role \"node\" is not ready");
        let dns = Failure {
            kind: "dns".into(),
            name: "apiserver".into(),
            message: "Validation Failed\n\nThe dns-controller has not updated".into(),
            instance_group: None,
        };
        assert_eq!(
            dns.summary(),
            "dns apiserver: Validation Failed The dns-controller has not updated"
        );
    }

    #[test]
    fn failures_name_the_embedded_instance_group() {
        let output = parse_stream(JOINING).unwrap().unwrap();
        let kinds: Vec<(&str, Option<&str>)> = output
            .failures
            .iter()
            .map(|f| (f.kind.as_str(), f.instance_group.as_deref()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("InstanceGroup", Some("nodes-us-east-1a")),
                ("Node", Some("nodes-us-east-1a")),
                ("Machine", Some("nodes-us-east-1a")),
                ("Pod", None),
                ("Pod", Some("nodes-us-east-1a")),
            ]
        );
        assert_eq!(
            output.failures[2].message,
            r#"machine "i-0fc4e1d5c8a33b339" has not yet joined cluster"#
        );

        for text in
            [r#"{"failures":[{"instanceGroup":null}]}"#, r#"{"failures":[{"instanceGroup":{}}]}"#]
        {
            let output = parse_stream(text).unwrap().unwrap();
            assert_eq!(output.failures[0].instance_group, None, "{text}");
        }
    }

    #[test]
    fn garbage_is_rejected_with_the_reason_and_an_excerpt() {
        let err = parse_stream(TABLE_STDOUT).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("expected value at line 1 column 1"), "{message}");
        assert!(message.contains("near `Validating cluster demo.k8s.lo`"), "{message}");

        let message = parse_stream(&format!("{HEALTHY}Validation Failed")).unwrap_err().to_string();
        assert!(
            message.contains(r#"near `30713fd9eb","status":"True"}]}Validation Failed`"#),
            "{message}"
        );

        let message = parse_stream(&HEALTHY[..40]).unwrap_err().to_string();
        assert!(message.contains("EOF while parsing"), "{message}");

        let message = parse_stream(r#"{"nodes":{}}"#).unwrap_err().to_string();
        assert!(message.contains("invalid type: map, expected a sequence"), "{message}");

        // The excerpt ends inside the two bytes of `é`: it must stop before it, not panic.
        let text = format!("{{}}{}é", "x".repeat(29));
        let message = parse_stream(&text).unwrap_err().to_string();
        assert!(message.contains(&format!("near `{{}}{}`", "x".repeat(29))), "{message}");

        let err = classify(true, TABLE_STDOUT, "", &demo_groups()).unwrap_err();
        assert!(matches!(err, ParseError::ValidateOutput { .. }), "{err:?}");
    }

    #[test]
    fn empty_stdout_is_no_result() {
        assert_eq!(parse_stream("").unwrap(), None);
        assert_eq!(parse_stream(" \n\t\n").unwrap(), None);
    }

    #[test]
    fn an_unreachable_api_is_a_phase_with_the_reason() {
        let attempt = classify(false, "", UNREACHABLE_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::ApiUnreachable);
        assert_eq!(attempt.detail.as_deref(), Some(UNREACHABLE_STDERR.trim_end()));
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 0, 1, 0), ("nodes-us-east-1a", 0, 3, 0)]
        );
        assert_eq!((attempt.ready_nodes, attempt.expected_nodes), (0, 4));
        assert!(attempt.nodes.is_empty() && attempt.failures.is_empty());

        let attempt = classify(false, "", TLS_TIMEOUT_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::ApiUnreachable);
        assert!(attempt.detail.unwrap().ends_with("TLS handshake timeout"));

        // The reason line, not merely the last line.
        let attempt = classify(false, "", WAIT_STDERR, &demo_groups()).unwrap();
        assert!(
            attempt.detail.unwrap().contains("(will retry): unexpected error during validation")
        );

        // Hand-written: Go's wording for the other ways a connection fails.
        for line in [
            r#"Error: Get "https://api.demo.example.com/api/v1/nodes": connection refused"#,
            "Error: dial tcp 54.80.1.2:443: connect: network is unreachable",
            "Error: read tcp 172.20.0.5:51234->54.80.1.2:443: i/o timeout",
            "Error: lookup api.demo.example.com: NO SUCH HOST",
        ] {
            let attempt = classify(false, "", &format!("{line}\n"), &demo_groups()).unwrap();
            assert_eq!(
                (attempt.phase, attempt.detail.as_deref()),
                (Phase::ApiUnreachable, Some(line))
            );
        }
    }

    #[test]
    fn the_placeholder_address_means_dns_is_not_updated() {
        let attempt = classify(false, DNS_NOT_UPDATED, NOT_HEALTHY_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::DnsNotUpdated);
        assert_eq!(attempt.failures.len(), 1);
        assert_eq!(attempt.detail, None);

        // Hand-written: the placeholder in a failure that is not of type `dns`.
        let text = r#"{"failures":[{"type":"Node","name":"n",
            "message":"dial tcp 203.0.113.123:443: i/o timeout"}]}"#;
        let attempt = classify(false, text, NOT_HEALTHY_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::DnsNotUpdated);

        // Hand-written: no JSON, but the connection error names the placeholder.
        let stderr = "Error: validation failed: unexpected error during validation: error listing \
            nodes: Get \"https://api.demo.example.com/api/v1/nodes\": dial tcp 203.0.113.123:443: \
            i/o timeout\n";
        let attempt = classify(false, "", stderr, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::DnsNotUpdated);
        assert_eq!(attempt.detail.as_deref(), Some(stderr.trim_end()));
    }

    #[test]
    fn joining_counts_nodes_per_group() {
        let attempt = classify(false, JOINING, NOT_HEALTHY_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::NodesJoining);
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 1, 1, 1), ("nodes-us-east-1a", 0, 3, 1)]
        );
        assert_eq!((attempt.ready_nodes, attempt.expected_nodes), (1, 4));
        assert_eq!((attempt.nodes.len(), attempt.failures.len()), (2, 5));

        let attempt = classify(false, TWO_OF_THREE, NOT_HEALTHY_STDERR, &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::NodesJoining);
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 1, 1, 1), ("nodes-us-east-1a", 2, 3, 3)]
        );
        assert_eq!((attempt.ready_nodes, attempt.expected_nodes), (3, 4));

        // kops did not accept the cluster although it listed no failures: not ready yet.
        let attempt = classify(false, HEALTHY, "Error: something\n", &demo_groups()).unwrap();
        assert_eq!(attempt.phase, Phase::NodesJoining);
    }

    #[test]
    fn nodes_map_to_groups_by_role_and_zone_across_zones() {
        let groups = parse_instance_groups(IGS_MULTI_AZ).unwrap();
        assert_eq!(groups.len(), 7);
        assert_eq!(groups[0].role, Role::Bastion);
        assert_eq!(
            groups[0].zones,
            ["utility-us-east-1a", "utility-us-east-1b", "utility-us-east-1c"]
        );

        let attempt = classify(false, MULTI_AZ_JOINING, NOT_HEALTHY_STDERR, &groups).unwrap();
        assert_eq!(attempt.phase, Phase::NodesJoining);
        assert_eq!(
            counts(&attempt),
            [
                ("control-plane-us-east-1a", 1, 1, 1),
                ("control-plane-us-east-1b", 1, 1, 1),
                ("control-plane-us-east-1c", 1, 1, 1),
                ("nodes-us-east-1a", 0, 1, 1),
                ("nodes-us-east-1b", 0, 1, 1),
                ("nodes-us-east-1c", 0, 1, 1),
            ]
        );
        assert_eq!((attempt.ready_nodes, attempt.expected_nodes), (3, 6));
    }

    #[test]
    fn a_node_outside_every_group_still_counts_as_a_node() {
        let moved = HEALTHY.replacen(
            r#""zone":"us-east-1a","role":"node""#,
            r#""zone":"us-east-1d","role":"node""#,
            1,
        );
        let attempt = classify(true, &moved, "", &demo_groups()).unwrap();
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 1, 1, 1), ("nodes-us-east-1a", 2, 3, 2)]
        );
        assert_eq!(attempt.nodes.len(), 4);
        assert_eq!(attempt.ready_nodes, 4);
    }

    #[test]
    fn a_failure_naming_the_group_settles_shared_zones() {
        let groups = [
            group("nodes-us-east-1a", Role::Node, &["us-east-1a"], 1),
            group("spot-us-east-1a", Role::Node, &["us-east-1a"], 1),
        ];
        // Hand-written in kops's format.
        let text = r#"{"failures":[{"type":"Node","name":"i-2",
            "message":"node \"i-2\" of role \"node\" is not ready",
            "instanceGroup":{"metadata":{"name":"spot-us-east-1a"}}}],
            "nodes":[{"name":"i-1","zone":"us-east-1a","role":"node","hostname":"i-1",
            "status":"True"},
            {"name":"i-2","zone":"us-east-1a","role":"node","hostname":"i-2","status":"False"}]}"#;
        let attempt = classify(false, text, NOT_HEALTHY_STDERR, &groups).unwrap();
        assert_eq!(counts(&attempt), [("nodes-us-east-1a", 1, 1, 1), ("spot-us-east-1a", 0, 1, 1)]);
    }

    #[test]
    fn api_server_nodes_prefer_api_server_groups() {
        let groups = [
            group("control-plane-us-east-1a", Role::ControlPlane, &["us-east-1a"], 1),
            group("apiserver-us-east-1a", Role::Other("APIServer".into()), &["us-east-1a"], 1),
        ];
        let text = r#"{"nodes":[{"name":"a","zone":"us-east-1a","role":"apiserver","status":"True"},
            {"name":"c","zone":"us-east-1a","role":"control-plane","status":"True"}]}"#;
        let attempt = classify(true, text, "", &groups).unwrap();
        assert_eq!(
            counts(&attempt),
            [("control-plane-us-east-1a", 1, 1, 1), ("apiserver-us-east-1a", 1, 1, 1)]
        );

        // With no APIServer group, an apiserver node belongs with the control plane.
        let attempt = classify(true, text, "", &groups[..1]).unwrap();
        assert_eq!(counts(&attempt), [("control-plane-us-east-1a", 2, 1, 2)]);
    }

    #[test]
    fn a_kops_error_without_result_carries_the_last_stderr_lines() {
        let err = classify(false, "", NO_CONTEXT_STDERR, &demo_groups()).unwrap_err();
        let ParseError::NoResult { exited_ok, stderr_tail } = &err else {
            panic!("expected NoResult, got {err:?}");
        };
        assert!(!exited_ok);
        assert_eq!(stderr_tail, &[NO_CONTEXT_STDERR.trim_end()]);
        assert!(err.to_string().contains(NO_CONTEXT_STDERR.trim_end()), "{err}");

        let stderr: String =
            (1..=8).map(|i| format!("I1125 line {i}\n\n")).collect::<String>() + "Error: boom\n";
        let Err(ParseError::NoResult { stderr_tail, .. }) = classify(false, "", &stderr, &[])
        else {
            panic!("expected NoResult");
        };
        assert_eq!(
            stderr_tail,
            ["I1125 line 5", "I1125 line 6", "I1125 line 7", "I1125 line 8", "Error: boom"]
        );

        let err = classify(true, "", "", &demo_groups()).unwrap_err();
        assert!(matches!(err, ParseError::NoResult { exited_ok: true, .. }), "{err:?}");
        assert!(err.to_string().contains("printed no JSON result"), "{err}");
    }

    #[test]
    fn instance_groups_in_kops_array_form() {
        assert!(
            IGS_KOPS.starts_with("[{") && IGS_KOPS.contains("}\n,{") && IGS_KOPS.ends_with("}\n]")
        );
        let expected = vec![
            InstanceGroup {
                name: "control-plane-us-east-1a".into(),
                role: Role::ControlPlane,
                machine_type: "t3.medium".into(),
                min: 1,
                max: 1,
                zones: vec!["us-east-1a".into()],
            },
            InstanceGroup {
                name: "nodes-us-east-1a".into(),
                role: Role::Node,
                machine_type: "t3.medium".into(),
                min: 3,
                max: 3,
                zones: vec!["us-east-1a".into()],
            },
        ];
        assert_eq!(parse_instance_groups(IGS_KOPS).unwrap(), expected);
        assert_eq!(parse_instance_groups(IGS_PLAIN_ARRAY).unwrap(), expected);
    }

    #[test]
    fn a_single_instance_group_is_a_bare_object() {
        assert!(IG_SINGLE.starts_with('{') && IG_SINGLE.ends_with("}\n"));
        let groups = parse_instance_groups(IG_SINGLE).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].name.as_str(), &groups[0].role, groups[0].min),
            ("nodes-us-east-1a", &Role::Node, 3)
        );
    }

    #[test]
    fn master_is_the_old_name_for_control_plane() {
        let groups = parse_instance_groups(IG_MASTER).unwrap();
        assert_eq!(groups[0].role, Role::ControlPlane);

        // Hand-written: a node as kops before 1.26 reported it.
        let text = r#"{"nodes":[{"name":"ip-172-20-40-10.ec2.internal","zone":"us-east-1a",
            "role":"master","hostname":"ip-172-20-40-10.ec2.internal","status":"True"}]}"#;
        let attempt = classify(true, text, "", &groups).unwrap();
        assert_eq!(counts(&attempt), [("master-us-east-1a", 1, 1, 1)]);
    }

    #[test]
    fn other_roles_are_kept_by_name() {
        let text = IG_SINGLE.replace(r#""role":"Node""#, r#""role":"APIServer""#);
        assert_eq!(parse_instance_groups(&text).unwrap()[0].role, Role::Other("APIServer".into()));
    }

    #[test]
    fn instance_group_output_must_hold_instance_groups() {
        for empty in ["", "\n", "[]", "[\n]"] {
            let err = parse_instance_groups(empty).unwrap_err();
            assert!(matches!(err, ParseError::NoInstanceGroups), "{empty:?}: {err:?}");
        }
        let message = parse_instance_groups("Error: --name is required\n").unwrap_err().to_string();
        assert!(message.contains(r"near `Error: --name is required\n`"), "{message}");

        // Hand-written: `kops get clusters -o json` output in the wrong place.
        let cluster = r#"{"apiVersion":"kops.k8s.io/v1alpha2","kind":"Cluster",
            "metadata":{"name":"demo.k8s.local"},"spec":{}}"#;
        let message = parse_instance_groups(cluster).unwrap_err().to_string();
        assert!(message.contains("found a Cluster object"), "{message}");

        let message =
            parse_instance_groups(r#"[{"spec":{"role":"Node"}}]"#).unwrap_err().to_string();
        assert!(message.contains("missing field `metadata`"), "{message}");
    }

    #[test]
    fn phases_describe_themselves() {
        let described: Vec<&str> =
            [Phase::ApiUnreachable, Phase::DnsNotUpdated, Phase::NodesJoining, Phase::Ready]
                .map(Phase::describe)
                .to_vec();
        assert_eq!(
            described,
            ["API not reachable yet", "DNS not updated yet", "nodes joining", "ready"]
        );
    }

    /// What kops prints for errors that waiting does not fix, as the stand-in reproduces them
    /// (FAKE_KOPS_VALIDATE modes), each wrapped in "unexpected error during validation" where
    /// kops wraps it.
    const FATAL_STDERR: [(&str, &str); 6] = [
        (
            "Error: validation failed: unexpected error during validation: error listing nodes: Unauthorized",
            "kops export kubeconfig",
        ),
        (
            "Error: validation failed: unexpected error during validation: error listing nodes: \
             operation error STS: GetCallerIdentity, https response error StatusCode: 403, \
             RequestID: 1b2c, api error ExpiredToken: The security token included in the request is expired",
            "expired",
        ),
        (
            "Error: validation failed: error reading cluster configuration: error reading \
             s3://acme/dev.k8s.local/config: operation error S3: GetObject, https response error \
             StatusCode: 403, RequestID: 7f3a, HostID: 9e1d, api error AccessDenied: Access Denied",
            "seven policies",
        ),
        (
            "Error: validation failed: error reading cluster configuration: Cluster.kops.k8s.io \
             \"dev.k8s.local\" not found",
            "cluster.name",
        ),
        (
            "Error: validation failed: error reading cluster configuration: error reading \
             s3://acme/dev.k8s.local/config: operation error S3: GetObject, https response error \
             StatusCode: 404, RequestID: 7f3a, HostID: 9e1d, api error NoSuchBucket: The specified \
             bucket does not exist",
            "state bucket does not exist",
        ),
        (
            "Error: validation failed: unexpected error during validation: error listing nodes: \
             operation error EC2: DescribeInstances, https response error StatusCode: 401, \
             RequestID: 5d, api error AuthFailure: AWS was not able to validate the provided \
             access credentials: InvalidClientTokenId",
            "setup --only credentials",
        ),
    ];

    #[test]
    fn errors_that_waiting_does_not_fix_stop_with_what_to_do() {
        for (stderr, advice) in FATAL_STDERR {
            let err = classify(false, "", stderr, &[]).unwrap_err();
            let ParseError::Fatal { .. } = &err else {
                panic!("{stderr}: retried as {err:?}");
            };
            let message = err.to_string();
            assert!(message.contains("retrying will not help"), "{message}");
            assert!(message.contains(advice), "{stderr}\n=> {message}");
            assert!(message.contains(stderr.trim()), "kops's own words are kept: {message}");
        }
        // The API that is not up yet stays a phase to wait through.
        let booting = "Error: validation failed: unexpected error during validation: error \
                       listing nodes: Get \"https://api.dev.k8s.local/api/v1/nodes\": dial tcp: \
                       lookup api.dev.k8s.local: no such host";
        assert_eq!(classify(false, "", booting, &[]).unwrap().phase, Phase::ApiUnreachable);
    }
}
