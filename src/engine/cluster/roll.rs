//! A roll of the cluster's instances as kops reports it: the lines `kops rolling-update
//! cluster` prints (klog messages on stderr, evictions on stdout) and `kops get instances -o
//! json`, read into one board of rows, one per instance, with the roll's progress and an ETA
//! measured from the nodes already done. Pure: fed lines and instants, it never waits or asks.
//!
//! kops's messages are matched on their text, never on the klog prefix or file:line (those move
//! between releases); the texts are those of kops 1.30 to 1.36 (../shared/day-two.md).

use std::time::{Duration, Instant};

use serde::Deserialize;

/// One instance, as `kops get instances -o json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    #[serde(default)]
    pub node_name: String,
    /// `UpToDate`, `NeedsUpdate` or `Detached`.
    pub status: String,
    #[serde(default)]
    pub roles: Vec<String>,
    pub instance_group: String,
    #[serde(default)]
    pub machine_type: String,
}

/// `kops get instances -o json`.
pub fn parse_instances(stdout: &str) -> Result<Vec<Instance>, serde_json::Error> {
    serde_json::from_str(stdout)
}

/// What one line of the roll says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Validating,
    Validated,
    /// Validation failed for now; kops retries until its timeout.
    NotValidated(String),
    Tainting {
        group: String,
        count: u32,
    },
    Detaching {
        instance: String,
        node: String,
        group: String,
    },
    Draining {
        node: String,
    },
    Evicting {
        pod: String,
    },
    /// An eviction refused by a PodDisruptionBudget: kops retries every 5 s until its drain
    /// timeout.
    EvictionBlocked {
        pod: String,
    },
    Stopping {
        instance: String,
        node: String,
        group: String,
    },
    GroupFailed {
        group: String,
        why: String,
    },
    /// kops's end line, printed even when the roll failed: only the exit code says which.
    Completed,
}

/// Reads one line of `kops rolling-update cluster` output; `None` for the lines that say
/// nothing the board shows.
pub fn read_line(line: &str) -> Option<Said> {
    let message = klog_message(line).unwrap_or(line).trim();
    let quoted = quoted_values(message);
    let q = |i: usize| quoted.get(i).cloned().unwrap_or_default();
    if message == "Validating the cluster." {
        return Some(Said::Validating);
    }
    if message.starts_with("Cluster validated") {
        return Some(Said::Validated);
    }
    if let Some(rest) = message.strip_prefix("Cluster did not pass validation") {
        let why = rest.split_once(": ").map(|(_, w)| w).unwrap_or(rest);
        return Some(Said::NotValidated(why.trim_end_matches('.').to_string()));
    }
    if let Some(rest) = message.strip_prefix("Tainting ") {
        let count = rest.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
        return Some(Said::Tainting { group: q(0), count });
    }
    if message.starts_with("Detaching instance ") {
        return Some(Said::Detaching { instance: q(0), node: q(1), group: q(2) });
    }
    if message.starts_with("Draining the node: ") {
        return Some(Said::Draining { node: q(0) });
    }
    if message.starts_with("Stopping instance ") {
        return Some(Said::Stopping { instance: q(0), node: q(1), group: q(2) });
    }
    if let Some(pod) = message.strip_prefix("evicting pod ") {
        return Some(Said::Evicting { pod: pod.trim().to_string() });
    }
    if message.starts_with("error when evicting pods/") && message.contains("disruption budget") {
        // error when evicting pods/"web-0" -n "default" (will retry after 5s): ...
        return Some(Said::EvictionBlocked { pod: format!("{}/{}", q(1), q(0)) });
    }
    if let Some(rest) = message.strip_prefix("failed to roll InstanceGroup ") {
        let why = rest.split_once(": ").map(|(_, w)| w).unwrap_or_default();
        return Some(Said::GroupFailed { group: q(0), why: why.to_string() });
    }
    if message.starts_with("Completed rolling update for cluster")
        || message.starts_with("Rolling update completed for cluster")
    {
        return Some(Said::Completed);
    }
    None
}

/// The message of a klog line (`I0720 11:31:45.637904  215 file.go:467] message`).
fn klog_message(line: &str) -> Option<&str> {
    let first = line.chars().next()?;
    if !matches!(first, 'I' | 'W' | 'E' | 'F')
        || !line[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    line.split_once("] ").map(|(_, m)| m)
}

/// The Go-quoted values (`%q`) of a message, in order.
fn quoted_values(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Where one instance is in the roll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    UpToDate,
    NeedsUpdate,
    /// Detached from its group (a replacement is launched first), or cordoned.
    Cordoned,
    Draining,
    Terminating,
    /// Gone, and its replacement validated.
    Replaced,
    /// Drained and terminated for good (a scale-down).
    Removed,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::UpToDate => "up to date",
            Phase::NeedsUpdate => "needs update",
            Phase::Cordoned => "cordoned",
            Phase::Draining => "draining",
            Phase::Terminating => "terminating",
            Phase::Replaced => "replaced",
            Phase::Removed => "removed",
        }
    }
}

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub instance: String,
    pub node: String,
    pub group: String,
    pub phase: Phase,
    /// When it entered its phase.
    pub since: Instant,
}

/// The roll as a board: rows, the group being rolled, validation, the failures of the
/// moment, and how long each node took.
#[derive(Debug, Clone)]
pub struct Board {
    pub rows: Vec<Row>,
    pub group: Option<String>,
    pub validating: bool,
    /// The last validation failure, until the next success.
    pub not_validated: Option<String>,
    /// A drain waiting on a disruption budget: the pod.
    pub blocked_on: Option<String>,
    pub failures: Vec<String>,
    pub completed: bool,
    started: Instant,
    /// When the first node began its roll, and how many are done since.
    first_node: Option<Instant>,
    done: u32,
}

impl Board {
    /// The board before the roll: every instance kops lists, as it lists it.
    pub fn new(instances: &[Instance], now: Instant) -> Board {
        let rows = instances
            .iter()
            .map(|i| Row {
                instance: i.id.clone(),
                node: i.node_name.clone(),
                group: i.instance_group.clone(),
                phase: match i.status.as_str() {
                    "UpToDate" => Phase::UpToDate,
                    "Detached" => Phase::Cordoned,
                    _ => Phase::NeedsUpdate,
                },
                since: now,
            })
            .collect();
        Board {
            rows,
            group: None,
            validating: false,
            not_validated: None,
            blocked_on: None,
            failures: Vec::new(),
            completed: false,
            started: now,
            first_node: None,
            done: 0,
        }
    }

    /// Instances that still need replacing.
    pub fn remaining(&self) -> u32 {
        let left = |r: &&Row| {
            matches!(
                r.phase,
                Phase::NeedsUpdate | Phase::Cordoned | Phase::Draining | Phase::Terminating
            )
        };
        self.rows.iter().filter(left).count() as u32
    }

    pub fn replaced(&self) -> u32 {
        self.done
    }

    /// Time left, from the time per node measured so far; `None` before the first node is done.
    pub fn eta(&self, now: Instant) -> Option<Duration> {
        let first = self.first_node?;
        if self.done == 0 {
            return None;
        }
        let per_node = now.saturating_duration_since(first) / self.done;
        Some(per_node * self.remaining())
    }

    pub fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// Takes in one line of the roll; returns what it said, if anything.
    pub fn feed(&mut self, line: &str, now: Instant) -> Option<Said> {
        let said = read_line(line)?;
        match &said {
            Said::Validating => self.validating = true,
            Said::Validated => {
                self.validating = false;
                self.not_validated = None;
                // A node stopped before this validation is now replaced for good.
                for row in &mut self.rows {
                    if row.phase == Phase::Terminating {
                        row.phase = Phase::Replaced;
                        row.since = now;
                        self.done += 1;
                    }
                }
            }
            Said::NotValidated(why) => {
                self.validating = true;
                self.not_validated = Some(why.clone());
            }
            Said::Tainting { group, .. } => self.group = Some(group.clone()),
            Said::Detaching { instance, .. } => {
                self.first_node.get_or_insert(now);
                self.set_where(|r| r.instance == *instance, Phase::Cordoned, now);
            }
            Said::Draining { node } => {
                self.first_node.get_or_insert(now);
                self.blocked_on = None;
                self.set_where(|r| r.node == *node, Phase::Draining, now);
            }
            Said::Evicting { .. } => {}
            Said::EvictionBlocked { pod } => self.blocked_on = Some(pod.clone()),
            Said::Stopping { instance, .. } => {
                self.blocked_on = None;
                self.set_where(|r| r.instance == *instance, Phase::Terminating, now);
            }
            Said::GroupFailed { group, why } => {
                self.failures.push(format!("{group}: {why}"));
            }
            Said::Completed => self.completed = true,
        }
        Some(said)
    }

    /// Moves one instance to `phase` (a drain the wizard runs itself, not kops).
    pub fn set(&mut self, instance: &str, phase: Phase, now: Instant) {
        self.set_where(|r| r.instance == instance, phase, now);
    }

    fn set_where(&mut self, which: impl Fn(&Row) -> bool, phase: Phase, now: Instant) {
        if let Some(row) = self.rows.iter_mut().find(|r| which(r)) {
            row.phase = phase;
            row.since = now;
        }
    }

    /// The board's rows as lines for a log or the line mode: instance, group, phase, age.
    pub fn lines(&self, now: Instant) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| {
                format!(
                    "{:<20} {:<26} {:<13} {}",
                    r.instance,
                    r.group,
                    r.phase.label(),
                    crate::rules::format_duration(now.saturating_duration_since(r.since))
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KLOG: &str = "I0720 11:31:45.637904  215 instancegroups.go:467] ";

    fn instances() -> Vec<Instance> {
        parse_instances(
            r#"[{"id":"i-01","nodeName":"i-01.ec2.internal","status":"NeedsUpdate","roles":["node"],
                 "instanceGroup":"nodes-us-east-1a","machineType":"t3.medium"},
                {"id":"i-02","nodeName":"i-02.ec2.internal","status":"NeedsUpdate","roles":["node"],
                 "instanceGroup":"nodes-us-east-1a","machineType":"t3.medium"},
                {"id":"i-cp","nodeName":"i-cp.ec2.internal","status":"UpToDate",
                 "roles":["control-plane"],"instanceGroup":"control-plane-us-east-1a"}]"#,
        )
        .unwrap()
    }

    #[test]
    fn kops_lines_are_read_by_their_message_whatever_the_klog_prefix() {
        assert_eq!(read_line(&format!("{KLOG}Validating the cluster.")), Some(Said::Validating));
        assert_eq!(
            read_line(&format!(
                "{KLOG}Detaching instance \"i-01\", node \"i-01.ec2.internal\", in group \"nodes\"."
            )),
            Some(Said::Detaching {
                instance: "i-01".into(),
                node: "i-01.ec2.internal".into(),
                group: "nodes".into()
            })
        );
        assert_eq!(
            read_line(
                "error when evicting pods/\"web-0\" -n \"default\" (will retry after 5s): Cannot \
                 evict pod as it would violate the pod's disruption budget."
            ),
            Some(Said::EvictionBlocked { pod: "default/web-0".into() })
        );
        for end in [
            "I0101 00:00:00.000000 1 rollingupdate.go:241] Completed rolling update for cluster \"c\" instance groups [a]",
            "I0101 00:00:00.000000 1 rollingupdate.go:241] Rolling update completed for cluster \"c\"!",
        ] {
            assert_eq!(read_line(end), Some(Said::Completed), "{end}");
        }
        assert_eq!(
            read_line(&format!(
                "{KLOG}Cluster did not pass validation, will retry in \"30s\": node \"x\" is not ready."
            )),
            Some(Said::NotValidated("node \"x\" is not ready".into()))
        );
        assert_eq!(read_line("W1201 10:00:00.000000 1 x.go:1] something else"), None);
    }

    #[test]
    fn each_node_moves_through_its_phases_and_the_eta_comes_from_the_first() {
        let t0 = Instant::now();
        let mut b = Board::new(&instances(), t0);
        assert_eq!(b.remaining(), 2);
        assert_eq!(b.eta(t0), None);
        let s = |n: u64| t0 + Duration::from_secs(n);
        b.feed(&format!("{KLOG}Tainting 2 node(s) in \"nodes-us-east-1a\" instancegroup."), s(1));
        b.feed(
            &format!("{KLOG}Detaching instance \"i-01\", node \"i-01.ec2.internal\", in group \"nodes-us-east-1a\"."),
            s(10),
        );
        assert_eq!(b.rows[0].phase, Phase::Cordoned);
        b.feed(&format!("{KLOG}Draining the node: \"i-01.ec2.internal\"."), s(20));
        assert_eq!(b.rows[0].phase, Phase::Draining);
        b.feed(
            &format!("{KLOG}Stopping instance \"i-01\", node \"i-01.ec2.internal\", in group \"nodes-us-east-1a\" (this may take a while)."),
            s(40),
        );
        assert_eq!(b.rows[0].phase, Phase::Terminating);
        b.feed(&format!("{KLOG}Cluster validated."), s(70));
        assert_eq!(b.rows[0].phase, Phase::Replaced);
        assert_eq!((b.replaced(), b.remaining()), (1, 1));
        // 60 s for the first node since it was detached: 60 s more for the one left.
        assert_eq!(b.eta(s(70)), Some(Duration::from_secs(60)));
        assert_eq!(b.group.as_deref(), Some("nodes-us-east-1a"));
        assert_eq!(b.rows[2].phase, Phase::UpToDate, "the control plane was not touched");
    }

    #[test]
    fn a_blocked_drain_names_the_pod_and_a_failed_group_is_kept() {
        let t0 = Instant::now();
        let mut b = Board::new(&instances(), t0);
        b.feed(&format!("{KLOG}Draining the node: \"i-01.ec2.internal\"."), t0);
        b.feed(
            "error when evicting pods/\"web-0\" -n \"shop\" (will retry after 5s): Cannot evict pod \
             as it would violate the pod's disruption budget.",
            t0,
        );
        assert_eq!(b.blocked_on.as_deref(), Some("shop/web-0"));
        b.feed(
            "E0101 00:00:00.000000 1 rollingupdate.go:214] failed to roll InstanceGroup \"nodes\": failed to drain node",
            t0,
        );
        b.feed("I0101 00:00:00.000000 1 r.go:1] Completed rolling update for cluster \"c\" instance groups [nodes]", t0);
        assert!(b.completed);
        assert_eq!(b.failures, vec!["nodes: failed to drain node".to_string()]);
    }
}
