//! The smoke test of the seed's architecture: two pods of a small HTTP server behind a Service
//! of type LoadBalancer (a Network Load Balancer), checked from both ends. The Kubernetes API
//! (through the kubeconfig kops exported) says the pods are ready and gives the balancer's
//! name; AWS says the NLB is active and its targets healthy; HTTP through the NLB must reach
//! both pods. Each wait is bounded and says, when it runs out, what it saw and where to look.
//!
//! The same module reads the cluster for teardown: the Services of type LoadBalancer and the
//! PersistentVolumes, which make cloud resources kops does not know about.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Namespace, PersistentVolume, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde::Serialize;
use tokio::time::Instant;

use super::kubeconfig::SmokeError;
use crate::engine::aws::cloud::Cloud;
use crate::engine::aws::error::chain;
use crate::journal::SmokePassed as Passed;
pub use crate::plan::smoke::{APP, NAMESPACE, REPLICAS};

/// How long each wait may take: an NLB takes about three minutes to become active.
const WAIT: Duration = Duration::from_secs(600);
/// Overrides how long each of the smoke test's waits may take.
pub const WAIT_VAR: &str = "KOPS_WIZARD_SMOKE_WAIT";

pub use crate::engine::events::SmokePhase as Phase;

/// An API error in words: credentials it refuses (401) are said so, never "no answer"; a
/// refusal names the operation; anything else is "no answer".
fn api_error(op: &str, server: &str, e: kube::Error) -> SmokeError {
    match e {
        kube::Error::Api(status) if status.code == 401 => {
            SmokeError::Unauthorized { server: server.to_string(), message: status.message.clone() }
        }
        kube::Error::Api(status) => {
            SmokeError::Refused { op: op.to_string(), message: status.message.clone() }
        }
        other => SmokeError::Unreachable { server: server.to_string(), reason: chain(&other) },
    }
}

/// Creates `obj` unless it exists (a rerun finds what the last run made).
async fn ensure<K>(api: &Api<K>, obj: &K, op: &str, server: &str) -> Result<(), SmokeError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(()),
        Err(e) => Err(api_error(op, server, e)),
    }
}

/// A Kubernetes object of type `K` from the plan's JSON.
fn typed<K: serde::de::DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> Result<K, SmokeError> {
    serde_json::from_value(v).map_err(|e| SmokeError::Refused {
        op: format!("build the {what}"),
        message: e.to_string(),
    })
}

/// A bounded wait: the pause between looks grows from a quarter second to five seconds, so a
/// quick answer is seen quickly and a slow one is not hammered.
struct Waiter {
    deadline: Instant,
    pause: Duration,
}

impl Waiter {
    fn new(limit: Duration) -> Waiter {
        Waiter { deadline: Instant::now() + limit, pause: Duration::from_millis(250) }
    }

    /// Sleeps before the next look; false once the time is up.
    async fn again(&mut self) -> bool {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tokio::time::sleep(self.pause.min(left)).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(5));
        true
    }
}

/// Runs the smoke test against the cluster; `phase` hears each change of where it is.
pub async fn run(
    kubeconfig: &std::path::Path,
    cluster: &str,
    image: &str,
    cloud: &Cloud,
    mut phase: impl FnMut(Phase) + Send,
) -> Result<Passed, SmokeError> {
    run_with(kubeconfig, cluster, image, cloud, wait(), &mut phase).await
}

/// Each wait's bound: `KOPS_WIZARD_SMOKE_WAIT` (a duration like 90s or 10m), else ten minutes.
fn wait() -> Duration {
    crate::rules::env_duration(WAIT_VAR).unwrap_or(WAIT)
}

async fn run_with(
    kubeconfig: &std::path::Path,
    cluster: &str,
    image: &str,
    cloud: &Cloud,
    wait: Duration,
    phase: &mut (dyn FnMut(Phase) + Send),
) -> Result<Passed, SmokeError> {
    let (client, server) = super::kubeconfig::connect(kubeconfig, cluster).await?;
    phase(Phase::Applying);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = typed("namespace", crate::plan::smoke::namespace())?;
    ensure(&namespaces, &namespace, "create namespace", &server).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let deployment: Deployment = typed("deployment", crate::plan::smoke::deployment(image))?;
    ensure(&deployments, &deployment, "create the deployment", &server).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), NAMESPACE);
    let service: Service = typed("service", crate::plan::smoke::service())?;
    ensure(&services, &service, "create the service", &server).await?;

    // The pods.
    let mut last = -1;
    let mut waiter = Waiter::new(wait);
    let ready = loop {
        let d =
            deployments.get(APP).await.map_err(|e| api_error("read the deployment", &server, e))?;
        let ready = d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
        if ready != last {
            last = ready;
            phase(Phase::Pods { ready, wanted: REPLICAS });
        }
        if ready >= REPLICAS {
            break true;
        }
        if !waiter.again().await {
            break false;
        }
    };
    if !ready {
        return Err(SmokeError::TimedOut {
            what: "the pods were not ready",
            waited: wait.as_secs(),
            saw: format!("{} of {REPLICAS} ready", last.max(0)),
            look: format!(
                "Look at `kubectl -n {NAMESPACE} get pods` and `kubectl -n {NAMESPACE} describe pods` \
                 (image {image}: can the nodes pull it?)"
            ),
        });
    }

    // The Service's load balancer address, from the cloud controller.
    phase(Phase::Address);
    let mut waiter = Waiter::new(wait);
    let address = loop {
        let s = services.get(APP).await.map_err(|e| api_error("read the service", &server, e))?;
        let host = s
            .status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .and_then(|i| i.into_iter().find_map(|i| i.hostname));
        if host.is_some() || !waiter.again().await {
            break host;
        }
    };
    let Some(dns) = address else {
        let events: Api<KubeEvent> = Api::namespaced(client.clone(), NAMESPACE);
        let warnings = events
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .filter(|e| e.type_.as_deref() == Some("Warning"))
                    .filter_map(|e| Some(format!("{}: {}", e.reason?, e.message?)))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        return Err(SmokeError::TimedOut {
            what: "the Service got no load balancer",
            waited: wait.as_secs(),
            saw: match warnings.last() {
                Some(w) => format!("the cloud controller says {w}"),
                None => "no address and no event from the cloud controller".into(),
            },
            look: "Subnets need the tag kubernetes.io/role/elb=1 (kops adds it), and the account \
                   needs room under its load balancer quota; \
                   `kubectl -n kops-wizard-smoke describe service hello` shows the controller's events"
                .into(),
        });
    };

    // The NLB in AWS.
    let mut seen_state = String::new();
    let mut waiter = Waiter::new(wait);
    let balancer = loop {
        let lb = cloud.balancer_by_dns(&dns).await?;
        if let Some(lb) = &lb
            && lb.state != seen_state
        {
            seen_state = lb.state.clone();
            phase(Phase::Balancer { name: lb.name.clone(), state: lb.state.clone() });
        }
        let active = lb.filter(|lb| lb.state == "active");
        if active.is_some() || !waiter.again().await {
            break active;
        }
    };
    let Some(balancer) = balancer else {
        return Err(SmokeError::TimedOut {
            what: "the load balancer did not become active",
            waited: wait.as_secs(),
            saw: match seen_state.as_str() {
                "" => format!("ELBv2 has no load balancer named {dns}"),
                state => format!("its state is {state}"),
            },
            look: "Look at the load balancer in the EC2 console (Load Balancers)".into(),
        });
    };

    // Its targets.
    let mut seen = (usize::MAX, 0, Vec::new());
    let mut waiter = Waiter::new(wait);
    let healthy = loop {
        let (healthy, total, reasons) = cloud.target_health(&balancer.arn).await?;
        if (healthy, total) != (seen.0, seen.1) {
            phase(Phase::Targets { healthy, total });
        }
        seen = (healthy, total, reasons);
        if total > 0 && healthy == total {
            break true;
        }
        if !waiter.again().await {
            break false;
        }
    };
    if !healthy {
        return Err(SmokeError::TimedOut {
            what: "the load balancer's targets were not healthy",
            waited: wait.as_secs(),
            saw: match seen.2.is_empty() {
                true => format!("{} of {} healthy", seen.0.min(seen.1), seen.1),
                false => seen.2.join("; "),
            },
            look: format!(
                "The nodes' security group must let the NLB reach the Service's node port; \
                 look at the target group of {} in the EC2 console",
                balancer.name
            ),
        });
    }

    // HTTP through it, until every pod has answered.
    let target = format!("http://{dns}/hostname");
    let mut pods = BTreeSet::new();
    let mut last_error = String::from("no answer yet");
    let mut waiter = Waiter::new(wait);
    let answered = loop {
        // Each request is a new connection, which the NLB may send to either pod.
        match get(&target).await {
            Ok(name) if pods.insert(name.clone()) => {
                phase(Phase::Answers {
                    pods: pods.iter().cloned().collect(),
                    wanted: REPLICAS as usize,
                });
            }
            Ok(_) => {}
            Err(e) => last_error = e,
        }
        if pods.len() >= REPLICAS as usize {
            break true;
        }
        if !waiter.again().await {
            break false;
        }
    };
    if !answered {
        return Err(SmokeError::TimedOut {
            what: "the pods did not both answer through the load balancer",
            waited: wait.as_secs(),
            saw: format!(
                "{} answered; the last failure: {last_error}",
                match pods.len() {
                    0 => "none".to_string(),
                    _ => pods.iter().cloned().collect::<Vec<_>>().join(", "),
                }
            ),
            look: format!(
                "DNS for a new NLB can take a few minutes; try `curl {target}` and run \
                 `kops-wizard smoke-test` again"
            ),
        });
    }
    Ok(Passed { url: target, load_balancer: balancer.name, pods: pods.into_iter().collect() })
}

/// One `GET` on a new connection: the body, trimmed (the pod's name), or why it failed.
pub(crate) async fn get(url: &str) -> Result<String, String> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
    // No idle connections kept: every request reaches the balancer anew; through the
    // environment's proxy, where it names one for the address.
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build::<_, Empty<bytes::Bytes>>(crate::engine::proxy::ProxyConnector::new(http));
    let answer = tokio::time::timeout(Duration::from_secs(10), client.get(uri))
        .await
        .map_err(|_| format!("{url}: no answer in 10s"))?
        .map_err(|e| format!("{url}: {}", chain(&e)))?;
    let status = answer.status();
    let body = answer.into_body().collect().await.map_err(|e| format!("{url}: {e}"))?.to_bytes();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    match status.is_success() && !text.is_empty() {
        true => Ok(text),
        false => Err(format!("{url}: HTTP {}", status.as_u16())),
    }
}

/// What the cluster has made in the cloud, as its API tells it (for teardown's inventory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeCloud {
    /// Services of type LoadBalancer: `<namespace>/<name>` and the balancer's address.
    pub services: Vec<(String, Option<String>)>,
    /// PersistentVolumes: name, the claim (`<namespace>/<name>`) and the AWS volume id.
    pub volumes: Vec<(String, Option<String>, Option<String>)>,
}

/// Lists the Services of type LoadBalancer (every namespace) and the PersistentVolumes.
pub async fn cloud_made_by(client: &kube::Client, server: &str) -> Result<KubeCloud, SmokeError> {
    let services: Api<Service> = Api::all(client.clone());
    let list = services
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error("list services", server, e))?;
    let services = list
        .items
        .into_iter()
        .filter(|s| s.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer"))
        .map(|s| {
            let address = s
                .status
                .and_then(|st| st.load_balancer)
                .and_then(|lb| lb.ingress)
                .and_then(|i| i.into_iter().find_map(|i| i.hostname));
            let name = format!(
                "{}/{}",
                s.metadata.namespace.unwrap_or_default(),
                s.metadata.name.unwrap_or_default()
            );
            (name, address)
        })
        .collect();
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let list = volumes
        .list(&ListParams::default())
        .await
        .map_err(|e| api_error("list persistent volumes", server, e))?;
    let volumes = list
        .items
        .into_iter()
        .map(|pv| {
            let spec = pv.spec.unwrap_or_default();
            let claim = spec.claim_ref.as_ref().map(|c| {
                format!(
                    "{}/{}",
                    c.namespace.clone().unwrap_or_default(),
                    c.name.clone().unwrap_or_default()
                )
            });
            let volume = spec
                .aws_elastic_block_store
                .map(|v| v.volume_id)
                .or(spec.csi.map(|c| c.volume_handle));
            (pv.metadata.name.unwrap_or_default(), claim, volume)
        })
        .collect();
    Ok(KubeCloud { services, volumes })
}

/// Deletes the Services of type LoadBalancer, the smoke test's namespace first (its Service
/// goes with it), so the cloud controller deletes their load balancers while it still runs.
pub async fn delete_services(
    client: &kube::Client,
    server: &str,
    services: &[(String, Option<String>)],
) -> Result<(), SmokeError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces.delete(NAMESPACE, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_not_found() => {}
        Err(e) => return Err(api_error("delete namespace kops-wizard-smoke", server, e)),
    }
    for (name, _) in services {
        let Some((ns, svc)) = name.split_once('/') else { continue };
        if ns == NAMESPACE {
            continue;
        }
        let api: Api<Service> = Api::namespaced(client.clone(), ns);
        match api.delete(svc, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => return Err(api_error(&format!("delete service {name}"), server, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::DEFAULT_SMOKE_IMAGE;

    #[test]
    fn the_plans_objects_are_kubernetes_objects_that_ask_for_an_nlb() {
        let s: Service = typed("service", crate::plan::smoke::service()).unwrap();
        let annotations = s.metadata.annotations.unwrap();
        assert_eq!(annotations["service.beta.kubernetes.io/aws-load-balancer-type"], "nlb");
        assert_eq!(s.spec.unwrap().type_.as_deref(), Some("LoadBalancer"));
        let d: Deployment =
            typed("deployment", crate::plan::smoke::deployment(DEFAULT_SMOKE_IMAGE)).unwrap();
        let spec = d.spec.unwrap();
        assert_eq!(spec.replicas, Some(2));
        let container = &spec.template.spec.unwrap().containers[0];
        assert_eq!(container.image.as_deref(), Some(DEFAULT_SMOKE_IMAGE));
        assert_eq!(
            container.args.as_deref(),
            Some(&["netexec".into(), "--http-port=8080".into()][..])
        );
        let n: Namespace = typed("namespace", crate::plan::smoke::namespace()).unwrap();
        assert_eq!(n.metadata.labels.unwrap()["app.kubernetes.io/managed-by"], "kops-wizard");
    }
}
