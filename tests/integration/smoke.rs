//! The seed's architecture end to end: setup ends with two pods answering through a Network
//! Load Balancer (the fake Kubernetes API in tests/support plays the cluster and its AWS cloud
//! controller; the NLB, its target group and targets are real in moto), and teardown deletes
//! the Service's NLB before kops's delete, then names what AWS itself still has. Every verdict
//! comes from AWS through the SDK, not from the wizard's words.

use std::collections::BTreeSet;

use crate::support::{Moto, TestEnv, admin_clients, ready_env, run};

const CLUSTER: &str = "smoke.k8s.local";

fn answers(bucket: &str) -> String {
    format!(
        r#"
[state_store]
bucket = "{bucket}"
[ssh]
key_type = "ed25519"
[cluster]
name = "{CLUSTER}"
node_count = 2
[validate]
interval = "1s"
"#
    )
}

fn wizard(env: &TestEnv, bucket: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(&answers(bucket));
    run(env.wizard().args(args).arg("-c").arg(file))
}

struct Aws {
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    ec2: aws_sdk_ec2::Client,
    autoscaling: aws_sdk_autoscaling::Client,
}

async fn aws(moto: &Moto) -> Aws {
    let c = admin_clients(moto).await;
    Aws {
        elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&c.config),
        ec2: aws_sdk_ec2::Client::new(&c.config),
        autoscaling: aws_sdk_autoscaling::Client::new(&c.config),
    }
}

/// A load balancer as ELBv2 has it: name, DNS name, type, state, and its tags.
#[derive(Debug)]
struct Balancer {
    arn: String,
    name: String,
    dns: String,
    kind: String,
    state: String,
    tags: Vec<(String, String)>,
}

async fn balancers(aws: &Aws) -> Vec<Balancer> {
    let out = aws.elbv2.describe_load_balancers().send().await.expect("describe load balancers");
    let mut all = Vec::new();
    for lb in out.load_balancers() {
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let tags = aws
            .elbv2
            .describe_tags()
            .resource_arns(&arn)
            .send()
            .await
            .expect("describe tags")
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .map(|t| (t.key().unwrap_or_default().into(), t.value().unwrap_or_default().into()))
            .collect();
        all.push(Balancer {
            name: lb.load_balancer_name().unwrap_or_default().into(),
            dns: lb.dns_name().unwrap_or_default().into(),
            kind: lb.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
            state: lb
                .state()
                .and_then(|s| s.code())
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            arn,
            tags,
        });
    }
    all
}

/// The load balancers the cluster's Services made (the cloud controller's tag).
async fn service_balancers(aws: &Aws) -> Vec<Balancer> {
    let owned = format!("kubernetes.io/cluster/{CLUSTER}");
    balancers(aws)
        .await
        .into_iter()
        .filter(|b| b.tags.iter().any(|(k, _)| k == "kubernetes.io/service-name"))
        .filter(|b| b.tags.iter().any(|(k, _)| *k == owned))
        .collect()
}

/// What AWS has that carries the cluster's tags, asked by this test itself: instances not
/// terminated, volumes, VPCs, subnets, security groups, Auto Scaling groups, load balancers.
async fn tagged_for_cluster(aws: &Aws) -> Vec<String> {
    use aws_sdk_ec2::types::Filter;
    let filter = || {
        Filter::builder().name("tag-key").values(format!("kubernetes.io/cluster/{CLUSTER}")).build()
    };
    let mut found = Vec::new();
    let instances = aws.ec2.describe_instances().filters(filter()).send().await.expect("instances");
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string());
        if state.as_deref() != Some("terminated") {
            found.push(format!("instance {}", i.instance_id().unwrap_or_default()));
        }
    }
    let volumes = aws.ec2.describe_volumes().filters(filter()).send().await.expect("volumes");
    found.extend(
        volumes.volumes().iter().map(|v| format!("volume {}", v.volume_id().unwrap_or_default())),
    );
    let vpcs = aws.ec2.describe_vpcs().filters(filter()).send().await.expect("vpcs");
    found.extend(vpcs.vpcs().iter().map(|v| format!("vpc {}", v.vpc_id().unwrap_or_default())));
    let subnets = aws.ec2.describe_subnets().filters(filter()).send().await.expect("subnets");
    found.extend(
        subnets.subnets().iter().map(|s| format!("subnet {}", s.subnet_id().unwrap_or_default())),
    );
    let groups =
        aws.ec2.describe_security_groups().filters(filter()).send().await.expect("security groups");
    found.extend(
        groups
            .security_groups()
            .iter()
            .map(|g| format!("security group {}", g.group_id().unwrap_or_default())),
    );
    let asgs = aws.autoscaling.describe_auto_scaling_groups().send().await.expect("asgs");
    for g in asgs.auto_scaling_groups() {
        if g.tags().iter().any(|t| t.key() == Some(&format!("kubernetes.io/cluster/{CLUSTER}"))) {
            found.push(format!("asg {}", g.auto_scaling_group_name().unwrap_or_default()));
        }
    }
    let owned = format!("kubernetes.io/cluster/{CLUSTER}");
    for b in balancers(aws).await {
        if b.tags.iter().any(|(k, _)| *k == owned) {
            found.push(format!("load balancer {}", b.name));
        }
    }
    found
}

/// A disk as a PersistentVolume's provisioner leaves it: tagged for the cluster and the PV.
async fn pv_volume(aws: &Aws, pv: &str) -> String {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let out = aws
        .ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(10)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Volume)
                .tags(
                    Tag::builder()
                        .key(format!("kubernetes.io/cluster/{CLUSTER}"))
                        .value("owned")
                        .build(),
                )
                .tags(Tag::builder().key("kubernetes.io/created-for/pv/name").value(pv).build())
                .build(),
        )
        .send()
        .await
        .expect("create the PV's volume");
    out.volume_id().unwrap_or_default().to_string()
}

async fn volume_exists(aws: &Aws, id: &str) -> bool {
    aws.ec2
        .describe_volumes()
        .volume_ids(id)
        .send()
        .await
        .is_ok_and(|out| !out.volumes().is_empty())
}

/// The pods' names as their HTTP server gives them (straight from the fake cluster, not
/// through the wizard): asked until two different names came back.
fn pods_answering(env: &TestEnv) -> BTreeSet<String> {
    let apps = env.kube().expect("the fake Kubernetes API").apps.clone();
    let host = apps.trim_start_matches("http://").to_string();
    let mut names = BTreeSet::new();
    for _ in 0..20 {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(&host) else { continue };
        let _ = write!(s, "GET /hostname HTTP/1.0\r\nHost: {host}\r\n\r\n");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        let ok = answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200");
        if ok && let Some(body) = answer.split("\r\n\r\n").nth(1) {
            names.insert(body.trim().to_string());
        }
        if names.len() >= 2 {
            break;
        }
    }
    names
}

#[tokio::test]
async fn setup_ends_with_both_pods_answering_through_an_nlb_and_teardown_leaves_nothing() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws = aws(&moto).await;
    let bucket = "smoke-nlb-state";

    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // AWS has one NLB for the Service, active, tagged for the cluster, with healthy targets.
    let nlbs = service_balancers(&aws).await;
    assert_eq!(nlbs.len(), 1, "{nlbs:?}");
    let nlb = &nlbs[0];
    assert_eq!(nlb.kind, "network", "{nlb:?}");
    assert_eq!(nlb.state, "active", "{nlb:?}");
    assert!(
        nlb.tags.contains(&("kubernetes.io/service-name".into(), "kops-wizard-smoke/hello".into())),
        "{nlb:?}"
    );
    let groups = aws
        .elbv2
        .describe_target_groups()
        .load_balancer_arn(&nlb.arn)
        .send()
        .await
        .expect("target groups");
    let mut targets = 0;
    for g in groups.target_groups() {
        let health = aws
            .elbv2
            .describe_target_health()
            .target_group_arn(g.target_group_arn().unwrap_or_default())
            .send()
            .await
            .expect("target health");
        targets += health.target_health_descriptions().len();
    }
    assert!(targets >= 2, "the NLB's targets are the nodes: {targets}");

    // The summary gives that NLB's URL and the two pods the cluster has behind it.
    assert!(out.contains(&format!("curl http://{}/hostname", nlb.dns)), "{out}");
    let pods = pods_answering(&env);
    assert_eq!(pods.len(), 2, "{pods:?}");
    let listed = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("pods: "))
        .unwrap_or_else(|| panic!("no pods line:\n{out}"));
    let listed: BTreeSet<String> = listed.split(", ").map(str::to_string).collect();
    assert_eq!(listed, pods, "{out}");
    let (code, status, err) = wizard(&env, bucket, &["status"]);
    assert_eq!(code, 0, "{err}");
    assert!(status.contains("smoke test   passed"), "{status}");
    // status asks AWS the final check's questions: at least what this test itself finds (it
    // asks fewer kinds), and the kinds it saw.
    let tagged = tagged_for_cluster(&aws).await.len();
    let line = status.lines().find_map(|l| l.trim().strip_prefix("in AWS now")).unwrap_or("");
    let count: usize = line.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(count >= tagged && tagged > 0, "{tagged}\n{status}");
    for kind in
        ["EC2 instance", "EBS volume", "security group", "load balancer", "Auto Scaling group"]
    {
        assert!(line.contains(kind), "{kind}: {line}");
    }

    // A disk a PersistentVolume made: kept by default, and named.
    let disk = pv_volume(&aws, "pvc-data").await;

    let (code, out, err) = wizard(&env, bucket, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The stand-in's delete loops on the nodes' security group while a Service's NLB is
    // there (as kops does): its success says the NLB went first. The API saw it go.
    assert!(service_balancers(&aws).await.is_empty());
    let requests =
        std::fs::read_to_string(env.path("fake-kops/k8s/requests.log")).unwrap_or_default();
    assert!(
        requests.contains("DELETE /clusters/smoke.k8s.local/api/v1/namespaces/kops-wizard-smoke"),
        "{requests}"
    );
    let left = tagged_for_cluster(&aws).await;
    assert_eq!(left, vec![format!("volume {disk}")], "only the PV's disk stays");
    assert!(out.contains(&disk) && out.contains("--delete-volumes"), "{out}");
    let (_, status, _) = wizard(&env, bucket, &["status"]);
    assert!(
        status.contains("in AWS now   1 resource(s) tagged for the cluster: EBS volume"),
        "{status}"
    );
}

#[tokio::test]
async fn what_kops_delete_missed_is_found_in_aws_named_by_id_and_the_exit_is_1() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let aws = aws(&moto).await;
    let bucket = "smoke-forget-state";
    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");

    env.set("FAKE_KOPS_FORGET", "volume,security-group");
    let (code, out, err) = wizard(&env, bucket, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let left = tagged_for_cluster(&aws).await;
    let volumes: Vec<&String> = left.iter().filter(|l| l.starts_with("volume ")).collect();
    let groups: Vec<&String> = left.iter().filter(|l| l.starts_with("security group ")).collect();
    assert!(!volumes.is_empty() && !groups.is_empty(), "the stand-in forgot nothing: {left:?}");
    for thing in volumes.iter().chain(&groups) {
        let id = thing.rsplit(' ').next().unwrap();
        assert!(out.contains(id), "{id} is not named:\n{out}");
    }
    assert!(out.contains("EBS volume") && out.contains("security group"), "{out}");
}

#[tokio::test]
async fn delete_volumes_deletes_the_disks_persistent_volumes_made() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws = aws(&moto).await;
    let bucket = "smoke-volumes-state";
    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let disk = pv_volume(&aws, "pvc-logs").await;

    let (code, out, err) = wizard(&env, bucket, &["teardown", "--yes", "--delete-volumes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!volume_exists(&aws, &disk).await, "{out}");
    assert_eq!(tagged_for_cluster(&aws).await, Vec::<String>::new());
}

#[tokio::test]
async fn without_an_api_teardown_deletes_the_services_nlb_directly() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let aws = aws(&moto).await;
    let bucket = "smoke-noapi-state";
    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(service_balancers(&aws).await.len(), 1);

    env.stop_kube();
    let (code, out, err) = wizard(&env, bucket, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("did not answer"), "{out}");
    assert!(service_balancers(&aws).await.is_empty());
    assert_eq!(tagged_for_cluster(&aws).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_service_without_a_load_balancer_is_a_warning_with_the_reason_and_smoke_test_is_exit_1() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    // The cloud controller never gives the Service an address (as with no subnet tagged for
    // load balancers), and each wait is short.
    env.set("FAKE_K8S_LB", "pending");
    env.set("KOPS_WIZARD_SMOKE_WAIT", "3s");
    env.install_fake_kops();
    let bucket = "smoke-pending-state";
    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "a failed smoke test is not a lost cluster:\n{out}\n{err}");
    assert!(out.contains("Warning: the smoke test failed"), "{out}");
    assert!(out.contains("the Service got no load balancer"), "{out}");
    assert!(out.contains("suitable subnets"), "the controller's reason:\n{out}");
    assert!(out.contains("kops-wizard smoke-test"), "{out}");

    let (code, out, err) = wizard(&env, bucket, &["smoke-test"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("the Service got no load balancer"), "{out}");
}
