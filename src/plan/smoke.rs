//! The smoke test's objects, as data: the namespace the wizard owns, a Deployment of two pods
//! of a small HTTP server, and a Service of type LoadBalancer annotated for an NLB. The engine
//! creates these through the Kubernetes API; the plan's script hands the same JSON to kubectl.

use serde_json::{Value, json};

/// The namespace the smoke test owns (made by it, deleted by teardown).
pub const NAMESPACE: &str = "kops-wizard-smoke";
/// The Deployment and the Service in it.
pub const APP: &str = "hello";
pub const REPLICAS: i32 = 2;
fn labels() -> Value {
    json!({ "app": APP, "app.kubernetes.io/managed-by": "kops-wizard" })
}

pub fn namespace() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": NAMESPACE, "labels": { "app.kubernetes.io/managed-by": "kops-wizard" } }
    })
}

/// Two pods of `image`; `netexec` answers `GET /hostname` with the pod's name.
pub fn deployment(image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": APP, "namespace": NAMESPACE, "labels": labels() },
        "spec": {
            "replicas": REPLICAS,
            "selector": { "matchLabels": { "app": APP } },
            "template": {
                "metadata": { "labels": labels() },
                "spec": { "containers": [{
                    "name": APP,
                    "image": image,
                    "args": ["netexec", "--http-port=8080"],
                    "ports": [{ "containerPort": 8080 }],
                    "readinessProbe": { "httpGet": { "path": "/hostname", "port": 8080 } }
                }] }
            }
        }
    })
}

/// Port 80 of an NLB to the pods' 8080.
pub fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": APP,
            "namespace": NAMESPACE,
            "labels": labels(),
            "annotations": { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" }
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": { "app": APP },
            "ports": [{ "port": 80, "targetPort": 8080, "protocol": "TCP" }]
        }
    })
}

/// The three objects, named by what kubectl calls them, as pretty JSON.
pub fn manifests(image: &str) -> [(&'static str, String); 3] {
    let text = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    [
        ("namespace", text(namespace())),
        ("deployment", text(deployment(image))),
        ("service", text(service())),
    ]
}
