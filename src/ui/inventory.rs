//! The teardown inventory's words that every front end shows alike.

use crate::engine::teardown::{Inventory, KubeFound};
use crate::plan::{StepId, TeardownStep};

/// The inventory in a few lines, one per step, for the top of every front end's inventory:
/// what goes, how many, and the names that matter (the cluster, the bucket and how many object
/// versions it holds, the IAM users and group, the profile); then what is kept. Each line is
/// `(label, words)`; the details (kops's resource types, each item) follow below it.
pub fn summary(inventory: &Inventory) -> Vec<(String, String)> {
    let mut lines = Vec::new();
    for (n, step) in inventory.steps.iter().enumerate() {
        let StepId::Teardown(id) = step.id else { continue };
        let texts: Vec<&str> = step.actions.iter().flatten().map(|i| i.text.as_str()).collect();
        let (label, words) = match id {
            TeardownStep::DeleteServices => ("Kubernetes", services(inventory)),
            TeardownStep::DeleteCluster => ("Cluster", cluster(inventory)),
            TeardownStep::DeleteIam => ("IAM", iam(step)),
            TeardownStep::RemoveProfile => ("Profile", joined(&texts)),
            TeardownStep::DeleteSshKey => ("SSH key", joined(&texts)),
            TeardownStep::DeleteStateStore => ("State store", bucket(step)),
        };
        lines.push((format!("{}. {label}", n + 1), words));
    }
    if !inventory.kept.is_empty() {
        // Each kept entry is `<what>: <why>`; the why is in the details.
        let what: Vec<&str> = inventory
            .kept
            .iter()
            .map(|k| k.split_once(": ").map_or(k.as_str(), |(w, _)| w))
            .collect();
        lines.push(("Keeps".into(), what.join("; ")));
    }
    lines
}

/// The summary as text lines, the labels in a column (the headless and line modes).
pub fn summary_text(inventory: &Inventory) -> String {
    summary(inventory).into_iter().map(|(label, words)| format!("  {label:<15}{words}\n")).collect()
}

fn joined(texts: &[&str]) -> String {
    texts.join("; ")
}

/// The Services' load balancers: how many, and which way they go (through the API, with a
/// bounded wait for the cloud controller, or directly) and why.
fn services(inventory: &Inventory) -> String {
    let wait = crate::rules::format_duration(inventory.controller_wait);
    match &inventory.kubernetes {
        Some(KubeFound::Api(made)) => {
            let kept = match (made.volumes.len(), inventory.opts.delete_volumes) {
                (0, _) => String::new(),
                (n, false) => format!("; {n} PersistentVolume disk(s) kept"),
                (n, true) => format!("; {n} PersistentVolume disk(s) deleted"),
            };
            format!(
                "{} Service load balancer(s) via the API; directly after {wait}{kept}",
                made.services.len()
            )
        }
        Some(KubeFound::NoApi { balancers, .. }) => format!(
            "{} load balancer(s) deleted directly: the cluster's API did not answer",
            balancers.len()
        ),
        None => format!("Services' load balancers via the API; directly after {wait}"),
    }
}

fn cluster(inventory: &Inventory) -> String {
    match inventory.cloud.len() {
        0 => format!("{}: its state only (kops lists no cloud resources)", inventory.cluster),
        n => format!("{}: {n} cloud resources (kops delete cluster)", inventory.cluster),
    }
}

/// The users and the group by name, the keys and policies counted.
fn iam(step: &crate::engine::teardown::InventoryStep) -> String {
    use crate::engine::teardown::ItemKind;
    let texts = || step.actions.iter().flatten();
    let named = |prefix: &str| -> Vec<String> {
        texts().filter_map(|i| i.text.strip_prefix(prefix).map(str::to_string)).collect()
    };
    let (users, groups) = (named("IAM user "), named("IAM group "));
    let keys = texts()
        .filter(|i| i.text.starts_with("access key ") || i.text.starts_with("every access key"))
        .count();
    let policies = texts().filter(|i| matches!(i.what, ItemKind::Policy { .. })).count();
    let mut parts = Vec::new();
    if !users.is_empty() {
        parts.push(format!("user(s) {}", users.join(", ")));
    }
    if !groups.is_empty() {
        parts.push(format!("group {}", groups.join(", ")));
    }
    if policies > 0 {
        parts.push(format!("{policies} policy attachment(s)"));
    }
    if users.is_empty() && keys > 0 {
        parts.push(format!("{keys} access key(s)"));
    }
    match parts.is_empty() {
        true => texts().map(|i| i.text.clone()).collect::<Vec<_>>().join("; "),
        false => parts.join(", "),
    }
}

/// The bucket, with how many object versions and delete markers go.
fn bucket(step: &crate::engine::teardown::InventoryStep) -> String {
    use crate::engine::teardown::ItemKind;
    let deleted = step.actions.iter().flatten().any(|i| i.text.starts_with("bucket "));
    let versions = step.actions.iter().flatten().find_map(|i| match &i.what {
        ItemKind::Versions { bucket, count } => Some((bucket.clone(), *count)),
        _ => None,
    });
    let Some((name, count)) = versions else {
        return step
            .actions
            .iter()
            .flatten()
            .map(|i| i.text.clone())
            .collect::<Vec<_>>()
            .join("; ");
    };
    let count = match count {
        Some(c) => {
            let s = |n: usize| if n == 1 { "" } else { "s" };
            format!(
                "{} version{}, {} delete marker{}",
                c.versions,
                s(c.versions),
                c.delete_markers,
                s(c.delete_markers)
            )
        }
        None => "every object version".into(),
    };
    match deleted {
        true => format!("{name} and its {count}"),
        false => format!("{name}: the cluster's {count} (the bucket stays)"),
    }
}

/// What the cluster made in the cloud through Kubernetes, which goes before kops's delete.
pub fn kubernetes(inventory: &Inventory) -> String {
    let mut out = String::new();
    match &inventory.kubernetes {
        None => {}
        Some(KubeFound::Api(made)) => {
            out.push_str(&format!(
                "The cluster's API lists {} Service(s) of type LoadBalancer and {} PersistentVolume(s). \
                 The Services are deleted through the API; a load balancer their cloud controller \
                 has not removed within {} (a broken cluster's may never) is then deleted \
                 directly:\n",
                made.services.len(),
                made.volumes.len(),
                crate::rules::format_duration(inventory.controller_wait)
            ));
            for (name, address) in &made.services {
                match address {
                    Some(a) => out.push_str(&format!(
                        "  - Service {name} (load balancer {a}): deleted first\n"
                    )),
                    None => out.push_str(&format!("  - Service {name}: deleted first\n")),
                }
            }
            let keep = !inventory.opts.delete_volumes;
            for (name, claim, volume) in &made.volumes {
                out.push_str(&format!(
                    "  - PersistentVolume {name}{}{}: {}\n",
                    claim.as_ref().map(|c| format!(" (claim {c})")).unwrap_or_default(),
                    volume.as_ref().map(|v| format!(", disk {v}")).unwrap_or_default(),
                    match keep {
                        true => "its disk is kept (--delete-volumes deletes it)",
                        false => "its disk is deleted (--delete-volumes)",
                    }
                ));
            }
        }
        Some(KubeFound::NoApi { reason, balancers }) => {
            out.push_str(&format!(
                "The cluster's API did not answer ({reason}); AWS has {} load balancer(s) tagged for its Services, deleted directly:\n",
                balancers.len()
            ));
            for lb in balancers {
                out.push_str(&format!(
                    "  - load balancer {}{}\n",
                    lb.name,
                    lb.service.as_ref().map(|s| format!(" (Service {s})")).unwrap_or_default()
                ));
            }
        }
    }
    out
}
