//! What the engine tells a front end while it runs: events over a channel, as data. Front ends
//! decide how to show them; the engine never prints.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::engine::cluster::validate::Attempt;
use crate::plan::StepId;

/// What happened to one resource or setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The wizard created or changed it.
    Created,
    /// It was already as wanted (made by an earlier run, or there before the wizard).
    Unchanged,
    /// For information only (an identity, a decision).
    Info,
    /// Worth the user's attention, but the run goes on.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Something outside any step (who the admin credentials are).
    Note {
        message: String,
    },
    /// The run carries out other steps than the plan the front end showed: the cluster turned
    /// out to be someone else's, and setup joins it. The steps still to run, in order.
    PlanChanged {
        steps: Vec<StepId>,
        why: String,
    },
    StepStarted {
        step: StepId,
    },
    /// One resource or setting handled within a step.
    Item {
        step: StepId,
        change: Change,
        message: String,
        elapsed: Duration,
    },
    /// A line kops printed (for a log pane; the headless front end leaves these to the log).
    Output {
        step: StepId,
        line: String,
    },
    /// One `kops validate cluster` attempt.
    Validation(Box<Validation>),
    /// The smoke test moved on (pods ready, the NLB's state, its targets, the pods that
    /// answered through it).
    Smoke {
        step: StepId,
        phase: SmokePhase,
    },
    /// Teardown: one action of a step (its index in the plan step's actions) begins.
    ActionStarted {
        step: StepId,
        index: usize,
    },
    /// Teardown: that action is done.
    ActionFinished {
        step: StepId,
        index: usize,
        elapsed: Duration,
    },
    /// A long action counted: `done` of `total` (the bucket's versions and delete markers).
    Progress {
        step: StepId,
        index: usize,
        done: usize,
        total: usize,
    },
    /// kops deleted one of the cluster's cloud resources (`type:id`).
    CloudDeleted {
        step: StepId,
        resource: String,
        elapsed: Duration,
    },
    /// The cloud resources kops could not delete in its last round because others still
    /// depend on them (`type:id`), sent when the set changes.
    CloudBlocked {
        step: StepId,
        resources: Vec<String>,
    },
    StepFinished {
        step: StepId,
        elapsed: Duration,
    },
    StepFailed {
        step: StepId,
        error: String,
        elapsed: Duration,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// 1 for the first attempt of this run.
    pub number: u32,
    /// Since the validate step started, and how long it may take in all.
    pub elapsed: Duration,
    pub wait: Duration,
    pub attempt: Attempt,
}

/// The engine's end of the channel. Sending never fails the run: a front end that has gone
/// away (the user closed the UI) must not turn a finished AWS change into an error.
#[derive(Debug, Clone)]
pub struct Sink(mpsc::UnboundedSender<Event>);

impl Sink {
    pub fn channel() -> (Sink, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Sink(tx), rx)
    }

    /// Every event's text reaches the front ends terminal-safe: kops's lines, AWS's messages
    /// and names from outside lose their control sequences here, once, for all three.
    pub fn send(&self, event: Event) {
        let _ = self.0.send(event.printable());
    }

    pub fn item(
        &self,
        step: StepId,
        change: Change,
        message: impl Into<String>,
        elapsed: Duration,
    ) {
        self.send(Event::Item { step, change, message: message.into(), elapsed });
    }
}

/// Where a smoke test is, as data: the front ends word it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokePhase {
    /// The namespace, Deployment and Service are being made (or found).
    Applying,
    Pods {
        ready: i32,
        wanted: i32,
    },
    /// The Service is waiting for its load balancer's address.
    Address,
    Balancer {
        name: String,
        state: String,
    },
    Targets {
        healthy: usize,
        total: usize,
    },
    /// HTTP through the NLB: the pods that have answered so far.
    Answers {
        pods: Vec<String>,
        wanted: usize,
    },
}

impl SmokePhase {
    /// The phase in words, for progress lines and the log.
    pub fn describe(&self) -> String {
        match self {
            SmokePhase::Applying => format!(
                "namespace {}: a Deployment of 2 pods and a Service of type LoadBalancer (NLB)",
                crate::plan::smoke::NAMESPACE
            ),
            SmokePhase::Pods { ready, wanted } => format!("pods ready: {ready} of {wanted}"),
            SmokePhase::Address => "waiting for the Service's load balancer address".into(),
            SmokePhase::Balancer { name, state } => format!("load balancer {name}: {state}"),
            SmokePhase::Targets { healthy, total } => {
                format!("targets healthy: {healthy} of {total}")
            }
            SmokePhase::Answers { pods, wanted } => {
                format!(
                    "answered through the NLB: {} of {wanted} pods ({})",
                    pods.len(),
                    pods.join(", ")
                )
            }
        }
    }
}

/// Drops control sequences from text in place ([`crate::text::printable`]).
fn clean(text: &mut String) {
    if let std::borrow::Cow::Owned(safe) = crate::text::printable(text) {
        *text = safe;
    }
}

impl Event {
    /// The event with every string in it terminal-safe. Destructured whole, so a new field of
    /// text cannot slip past.
    fn printable(mut self) -> Event {
        match &mut self {
            Event::Note { message } => clean(message),
            Event::PlanChanged { steps: _, why } => clean(why),
            Event::Item { step: _, change: _, message, elapsed: _ } => clean(message),
            Event::Output { step: _, line } => clean(line),
            Event::Validation(v) => {
                let Attempt {
                    phase: _,
                    groups,
                    nodes,
                    failures,
                    ready_nodes: _,
                    expected_nodes: _,
                    detail,
                } = &mut v.attempt;
                for g in groups {
                    clean(&mut g.name);
                }
                for n in nodes {
                    let crate::engine::cluster::validate::Node {
                        name,
                        zone,
                        role,
                        hostname,
                        ready: _,
                    } = n;
                    [name, zone, role, hostname].into_iter().for_each(clean);
                }
                for f in failures {
                    let crate::engine::cluster::validate::Failure {
                        kind,
                        name,
                        message,
                        instance_group,
                    } = f;
                    [kind, name, message].into_iter().for_each(clean);
                    instance_group.iter_mut().for_each(clean);
                }
                detail.iter_mut().for_each(clean);
            }
            Event::Smoke { step: _, phase } => match phase {
                SmokePhase::Balancer { name, state } => [name, state].into_iter().for_each(clean),
                SmokePhase::Answers { pods, wanted: _ } => pods.iter_mut().for_each(clean),
                SmokePhase::Applying
                | SmokePhase::Pods { .. }
                | SmokePhase::Address
                | SmokePhase::Targets { .. } => {}
            },
            Event::CloudDeleted { step: _, resource, elapsed: _ } => clean(resource),
            Event::CloudBlocked { step: _, resources } => resources.iter_mut().for_each(clean),
            Event::StepFailed { step: _, error, elapsed: _ } => clean(error),
            Event::StepStarted { .. }
            | Event::ActionStarted { .. }
            | Event::ActionFinished { .. }
            | Event::Progress { .. }
            | Event::StepFinished { .. } => {}
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_sink_sends_carries_no_control_sequence() {
        let (sink, mut rx) = Sink::channel();
        let step = StepId::Setup(crate::plan::SetupStep::Cluster);
        sink.send(Event::Output { step, line: "I1204 \u{1b}]0;owned\u{7}done\u{1b}[2J".into() });
        sink.send(Event::StepFailed {
            step,
            error: "AccessDenied: \u{9b}31mno".into(),
            elapsed: Duration::ZERO,
        });
        let Some(Event::Output { line, .. }) = rx.try_recv().ok() else { panic!("no output") };
        assert_eq!(line, "I1204 done");
        let Some(Event::StepFailed { error, .. }) = rx.try_recv().ok() else { panic!("no error") };
        assert_eq!(error, "AccessDenied: no");
    }
}
