//! The pre-flight of a change: read-only questions to the state store and the cluster's API,
//! each finding with why it matters and what to do. Warnings: none of them blocks (the
//! refusals are the plan's, in engine/change.rs).

use std::time::{Duration, SystemTime};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ListParams};

use crate::engine::aws::clients::{Clients, call};
use crate::engine::aws::error::AwsError;

/// One thing worth knowing before the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub why: String,
    pub todo: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.what, self.why, self.todo)
    }
}

/// etcd-manager backs the cluster's etcd up every 15 minutes and before changes; older than
/// this, something is wrong with the backups.
pub const BACKUP_AGE: Duration = Duration::from_secs(60 * 60);

/// The age of the newest etcd backup under `s3://<bucket>/<cluster>/backups/etcd/main/`.
pub async fn etcd_backup(
    c: &Clients,
    bucket: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<Option<Finding>, AwsError> {
    let prefix = format!("{cluster}/backups/etcd/main/");
    let mut newest: Option<SystemTime> = None;
    let mut token = None;
    loop {
        let page = call!(
            c,
            "ListObjectsV2",
            c.s3.list_objects_v2()
                .bucket(bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
        )?;
        for o in page.contents() {
            if let Some(at) = o.last_modified().and_then(|t| SystemTime::try_from(*t).ok()) {
                newest = newest.max(Some(at));
            }
        }
        match page.next_continuation_token() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    let todo = "Check that etcd-manager runs on the control plane (its backups are the way \
                back from a failed upgrade), or go on knowing there is none.";
    Ok(match newest {
        None => Some(Finding {
            what: "no etcd backup".into(),
            why: format!("s3://{bucket}/{prefix} holds none."),
            todo: todo.into(),
        }),
        Some(at) => {
            let age = now.duration_since(at).unwrap_or_default();
            (age > BACKUP_AGE).then(|| Finding {
                what: format!(
                    "the last etcd backup is {} old",
                    crate::rules::format_duration(Duration::from_secs(age.as_secs()))
                ),
                why: "etcd-manager backs up every 15 minutes.".into(),
                todo: todo.into(),
            })
        }
    })
}

/// What in the cluster would hold up or suffer from a roll: budgets that allow no
/// disruption (a drain waits on them until kops's drain timeout, then the roll stops),
/// workloads of one replica (down while their node drains), and system pods already not
/// Ready (the roll's first validation fails on them).
pub async fn workloads(client: &kube::Client) -> Result<Vec<Finding>, kube::Error> {
    let mut out = Vec::new();
    let budgets: Api<PodDisruptionBudget> = Api::all(client.clone());
    for b in budgets.list(&ListParams::default()).await? {
        let status = b.status.as_ref();
        let allowed = status.map(|s| s.disruptions_allowed).unwrap_or(0);
        let healthy = status.map(|s| s.current_healthy).unwrap_or(0);
        if allowed == 0 && healthy > 0 {
            out.push(Finding {
                what: format!("PodDisruptionBudget {}", name(&b.metadata)),
                why: "allows no disruption now: a drain of a node running its pods waits until \
                      the drain timeout (15m), then the roll stops."
                    .into(),
                todo: "Scale its workload up or relax the budget before the change.".into(),
            });
        }
    }
    let deployments: Api<Deployment> = Api::all(client.clone());
    for d in deployments.list(&ListParams::default()).await? {
        let ns = d.metadata.namespace.as_deref().unwrap_or_default();
        if ns == "kube-system" || ns == "kops-wizard-smoke" {
            continue;
        }
        if d.spec.as_ref().and_then(|s| s.replicas) == Some(1) {
            out.push(Finding {
                what: format!("Deployment {}", name(&d.metadata)),
                why: "has one replica: it is down while its node drains.".into(),
                todo: "Give it two replicas (and a budget) if it must stay up.".into(),
            });
        }
    }
    let system: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    for p in system.list(&ListParams::default()).await? {
        let ready = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if !ready {
            out.push(Finding {
                what: format!("Pod {}", name(&p.metadata)),
                why: "is not Ready: the roll's first validation fails on it and the roll does \
                      not start (kops #16848)."
                    .into(),
                todo: "Fix it first, or expect the roll to stop at its first validation.".into(),
            });
        }
    }
    Ok(out)
}

fn name(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    format!(
        "{}/{}",
        m.namespace.as_deref().unwrap_or_default(),
        m.name.as_deref().unwrap_or_default()
    )
}
