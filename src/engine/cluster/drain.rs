//! A graceful node removal's Kubernetes half: cordon the node, then evict its pods through the
//! Eviction API, which honours PodDisruptionBudgets (a refused eviction is retried until the
//! drain's timeout, as `kubectl drain` and kops do). DaemonSet pods and mirror pods stay: they
//! go with the node. Nothing here touches AWS: the instance is ended only after every drain
//! finished (engine/change.rs).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, ListParams};

/// How long a drain may take, and the pause between two refused evictions.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub retry: Duration,
}

/// `KOPS_WIZARD_DRAIN_TIMEOUT` sets the drain's timeout (kops's default: 15m).
pub const TIMEOUT_VAR: &str = "KOPS_WIZARD_DRAIN_TIMEOUT";

impl Limits {
    pub fn from_env() -> Limits {
        Limits {
            timeout: crate::rules::env_duration(TIMEOUT_VAR)
                .unwrap_or(Duration::from_secs(15 * 60)),
            retry: Duration::from_secs(5),
        }
    }
}

/// What a drain tells while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Cordoned,
    Evicted(String),
    /// The eviction was refused by a disruption budget; it is retried.
    Blocked(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error(
        "node {node} could not be drained within {}: pod {pod} may not be evicted ({why})",
        crate::rules::format_duration(*.timeout)
    )]
    Blocked { node: String, pod: String, why: String, timeout: Duration },
    #[error("the Kubernetes API refused the drain of node {node}: {error}")]
    Api { node: String, error: kube::Error },
}

pub async fn cordon(client: &kube::Client, node: &str) -> Result<(), DrainError> {
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .cordon(node)
        .await
        .map(|_| ())
        .map_err(|error| DrainError::Api { node: node.to_string(), error })
}

/// Evicts every pod of `node` that can go (not a DaemonSet's, not a mirror pod), retrying
/// those a budget holds, until none is left or the timeout.
pub async fn drain(
    client: &kube::Client,
    node: &str,
    limits: Limits,
    on: &mut (dyn FnMut(Step) + Send),
) -> Result<(), DrainError> {
    let api_error = |error| DrainError::Api { node: node.to_string(), error };
    let pods: Api<Pod> = Api::all(client.clone());
    let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let deadline = tokio::time::Instant::now() + limits.timeout;
    loop {
        let left: Vec<Pod> = pods
            .list(&on_node)
            .await
            .map_err(api_error)?
            .items
            .into_iter()
            .filter(evictable)
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        let mut blocked = None;
        for pod in &left {
            let (ns, name) = (
                pod.metadata.namespace.clone().unwrap_or_default(),
                pod.metadata.name.clone().unwrap_or_default(),
            );
            let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
            match api.evict(&name, &EvictParams::default()).await {
                Ok(_) => on(Step::Evicted(format!("{ns}/{name}"))),
                Err(kube::Error::Api(e)) if e.code == 429 => {
                    on(Step::Blocked(format!("{ns}/{name}")));
                    blocked = Some((format!("{ns}/{name}"), e.message.clone()));
                }
                // Gone meanwhile: what a drain wants.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(error) => return Err(api_error(error)),
            }
        }
        if let Some((pod, why)) = blocked {
            // The next attempt would come after the deadline: say it now.
            if tokio::time::Instant::now() + limits.retry > deadline {
                return Err(DrainError::Blocked {
                    node: node.to_string(),
                    pod,
                    why,
                    timeout: limits.timeout,
                });
            }
            tokio::time::sleep(limits.retry).await;
        }
    }
}

/// The taint kops puts on the nodes it is about to roll (PreferNoSchedule).
pub const ROLL_TAINT: &str = "kops.k8s.io/scheduled-for-update";

/// Takes kops's roll taint off `nodes` where it is still on: an interrupted roll leaves it on
/// nodes it never rolled (kops #12383), and new pods then avoid them for good. Returns the
/// nodes it was taken off.
pub async fn remove_roll_taint(
    client: &kube::Client,
    nodes: &[String],
) -> Result<Vec<String>, kube::Error> {
    use kube::api::{Patch, PatchParams};
    let api: Api<Node> = Api::all(client.clone());
    let mut cleaned = Vec::new();
    for name in nodes {
        let node = match api.get(name).await {
            Ok(node) => node,
            Err(kube::Error::Api(e)) if e.code == 404 => continue,
            Err(e) => return Err(e),
        };
        let taints = node.spec.and_then(|s| s.taints).unwrap_or_default();
        if !taints.iter().any(|t| t.key == ROLL_TAINT) {
            continue;
        }
        let kept: Vec<_> = taints.into_iter().filter(|t| t.key != ROLL_TAINT).collect();
        let patch = serde_json::json!({ "spec": { "taints": kept } });
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        cleaned.push(name.clone());
    }
    Ok(cleaned)
}

/// A pod a drain evicts: not a DaemonSet's (it would come back on the node at once), not a
/// mirror pod (the kubelet's own), not finished.
fn evictable(pod: &Pod) -> bool {
    let daemon = pod
        .metadata
        .owner_references
        .as_ref()
        .is_some_and(|o| o.iter().any(|o| o.kind == "DaemonSet"));
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    let done = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed");
    !daemon && !mirror && !done
}
