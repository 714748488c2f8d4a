//! The teardown inventory's words that every front end shows alike.

/// What the cluster made in the cloud through Kubernetes, which goes before kops's delete.
pub fn kubernetes(inventory: &crate::engine::teardown::Inventory) -> String {
    use crate::engine::teardown::KubeFound;
    let mut out = String::new();
    match &inventory.kubernetes {
        None => {}
        Some(KubeFound::Api(made)) => {
            out.push_str(&format!(
                "The cluster's API lists {} Service(s) of type LoadBalancer and {} PersistentVolume(s):\n",
                made.services.len(),
                made.volumes.len()
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
