//! The seed's architecture end to end: setup ends with two pods answering through a Network
//! Load Balancer (the fake Kubernetes API in tests/support plays the cluster and its AWS cloud
//! controller; the NLB, its target group and targets are real in moto), and teardown deletes
//! the Service's NLB before kops's delete, then names what AWS itself still has. Every verdict
//! comes from AWS through boto3, not from the wizard's words.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::judge::Judge;
use crate::support::{Moto, TestEnv, ready_env, run};

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
    wizard_on(env, &answers(bucket), args)
}

fn wizard_on(env: &TestEnv, answers: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(answers);
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// AWS as this test asks it: boto3 on moto with the admin key (never the wizard's code).
struct Aws(Judge);

async fn aws(moto: &Moto) -> Aws {
    Aws(Judge::new(moto).await)
}

impl Aws {
    /// Runs boto3 `code` with `ec2`, `elbv2` and `asg` clients ready; returns its JSON print.
    fn ask(&self, code: &str) -> Value {
        let out = self.0.boto3(&format!(
            "import json\n\
             ec2, elbv2, asg = (boto3.client(s, **kw) for s in ('ec2', 'elbv2', 'autoscaling'))\n\
             {code}"
        ));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

/// A load balancer as ELBv2 has it: name, DNS name, type, state, its tags, and how many
/// targets its target groups have.
#[derive(Debug)]
struct Balancer {
    name: String,
    dns: String,
    kind: String,
    state: String,
    tags: Vec<(String, String)>,
    targets: usize,
}

async fn balancers(aws: &Aws) -> Vec<Balancer> {
    let all = aws.ask(
        r#"
out = []
for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
    arn = lb["LoadBalancerArn"]
    tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    groups = [g for g in elbv2.describe_target_groups()["TargetGroups"]
              if arn in g.get("LoadBalancerArns", [])]
    targets = sum(len(elbv2.describe_target_health(TargetGroupArn=g["TargetGroupArn"])
                      ["TargetHealthDescriptions"]) for g in groups)
    out.append(dict(name=lb["LoadBalancerName"], dns=lb["DNSName"], kind=lb["Type"],
                    state=lb["State"]["Code"], tags=[[t["Key"], t["Value"]] for t in tags],
                    targets=targets))
print(json.dumps(out))
"#,
    );
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    all.as_array()
        .expect("a list")
        .iter()
        .map(|lb| Balancer {
            name: text(&lb["name"]),
            dns: text(&lb["dns"]),
            kind: text(&lb["kind"]),
            state: text(&lb["state"]),
            tags: lb["tags"]
                .as_array()
                .expect("tags")
                .iter()
                .map(|t| (text(&t[0]), text(&t[1])))
                .collect(),
            targets: lb["targets"].as_u64().unwrap_or_default() as usize,
        })
        .collect()
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

/// What AWS has that carries the cluster's tags, asked by this test itself and not by the
/// wizard's list of kinds: the resource groups tagging API (every kind it knows, by either
/// ownership tag), plus what it does not cover here: instances not terminated, volumes, VPCs,
/// subnets, security groups, DHCP option sets, EC2 key pairs, Auto Scaling groups, load
/// balancers. An ARN the named kinds did not find is listed as `arn <ARN>`.
async fn tagged_for_cluster(aws: &Aws) -> Vec<String> {
    let found = aws.ask(&format!(
        r#"
key = "kubernetes.io/cluster/{CLUSTER}"
f = [dict(Name="tag-key", Values=[key])]
found = []
for r in ec2.describe_instances(Filters=f)["Reservations"]:
    found += ["instance " + i["InstanceId"] for i in r["Instances"]
              if i["State"]["Name"] != "terminated"]
found += ["volume " + v["VolumeId"] for v in ec2.describe_volumes(Filters=f)["Volumes"]]
found += ["vpc " + v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]]
found += ["subnet " + s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]]
found += ["security group " + g["GroupId"]
          for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]]
found += ["dhcp options " + d["DhcpOptionsId"] for d in ec2.describe_dhcp_options(Filters=f)["DhcpOptions"]]
found += ["key pair " + k["KeyName"] for k in ec2.describe_key_pairs(Filters=f)["KeyPairs"]]
tagging = boto3.client("resourcegroupstaggingapi", **kw)
for filters in ([dict(Key=key)], [dict(Key="KubernetesCluster", Values=["{CLUSTER}"])]):
    for page in tagging.get_paginator("get_resources").paginate(TagFilters=filters):
        for r in page["ResourceTagMappingList"]:
            arn = r["ResourceARN"]
            # Instances are asked above with their state; load balancers below, by name.
            if ":instance/" in arn or ":loadbalancer/" in arn:
                continue
            if not any(f.split(" ")[-1] in arn for f in found):
                found.append("arn " + arn)
found += ["asg " + g["AutoScalingGroupName"]
          for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]
          if any(t["Key"] == key for t in g.get("Tags", []))]
print(json.dumps(found))
"#
    ));
    let mut found: Vec<String> = serde_json::from_value(found).expect("a list of names");
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
    let id = aws.ask(&format!(
        r#"
tags = [dict(Key="kubernetes.io/cluster/{CLUSTER}", Value="owned"),
        dict(Key="kubernetes.io/created-for/pv/name", Value={pv:?})]
v = ec2.create_volume(AvailabilityZone="us-east-1a", Size=10,
                      TagSpecifications=[dict(ResourceType="volume", Tags=tags)])
print(json.dumps(v["VolumeId"]))
"#
    ));
    id.as_str().expect("the PV's volume id").to_string()
}

async fn volume_exists(aws: &Aws, id: &str) -> bool {
    let there = aws.ask(&format!(
        r#"
ids = [v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]]
print(json.dumps({id:?} in ids))
"#
    ));
    there.as_bool().expect("true or false")
}

/// The pods' names as their HTTP server gives them (straight from the fake cluster, not
/// through the wizard): asked until two different names came back.
/// The pods' names answering `GET http://<dns>/hostname` through the environment's proxy, as
/// a browser behind it would ask: `requests` requests on each of `connections` connections.
fn pods_answering(env: &TestEnv, dns: &str, connections: usize, requests: usize) -> Vec<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let proxy = env.proxy().expect("the environment's proxy").port;
    let mut names = Vec::new();
    for _ in 0..connections {
        let s = std::net::TcpStream::connect(("127.0.0.1", proxy)).expect("the proxy");
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut s = s;
        for _ in 0..requests {
            write!(s, "GET http://{dns}/hostname HTTP/1.1\r\nHost: {dns}\r\n\r\n").unwrap();
            let mut status = String::new();
            reader.read_line(&mut status).unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h == "\r\n" {
                    break;
                }
                if let Some(n) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = n.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            names.push(String::from_utf8_lossy(&body).trim().to_string());
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
    let targets = nlb.targets;
    assert!(targets >= 2, "the NLB's targets are the nodes: {targets}");

    // The summary gives that NLB's URL and the two pods the cluster has behind it.
    assert!(out.contains(&format!("curl http://{}/hostname", nlb.dns)), "{out}");
    // The wizard asked through the proxy (the only way to the NLB's name here).
    let through = env.proxy().unwrap().requests();
    let asked = format!("GET http://{}/hostname", nlb.dns);
    assert!(through.iter().filter(|r| **r == asked).count() >= 2, "{through:?}");
    // Two connections reach the two pods; one connection keeps to one pod, as an NLB does.
    let pods: BTreeSet<String> = pods_answering(&env, &nlb.dns, 2, 1).into_iter().collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
    let one = pods_answering(&env, &nlb.dns, 1, 3);
    assert!(one.iter().all(|p| *p == one[0]), "one connection, one pod: {one:?}");
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

/// Every kind the stand-in makes, forgotten by its delete, plus the two it never makes (a
/// network interface and a classic load balancer, made here with boto3 as the cluster's
/// own): each is found by the final check, and named by the id boto3 has for it (the check's
/// questions per kind are the wizard's own signed requests, so this is what proves each
/// kind's reading of AWS's answer).
#[tokio::test]
async fn a_delete_that_forgets_every_kind_leaves_each_one_named_by_its_id() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let aws = aws(&moto).await;
    // Private subnets, so that there are NAT gateways and their Elastic IPs too.
    let private = answers("smoke-forget-all-state")
        .replace("node_count = 2", "node_count = 2\ntopology = \"private\"");
    let (code, out, err) = wizard_on(&env, &private, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // What a real cluster can also leave: an ENI (the VPC CNI's, say) and kops's classic API
    // balancer, tagged as the cluster's own.
    aws.ask(&format!(
        r#"
tag = dict(Key="kubernetes.io/cluster/{CLUSTER}", Value="owned")
f = [dict(Name="tag-key", Values=[tag["Key"]])]
subnet = ec2.describe_subnets(Filters=f)["Subnets"][0]["SubnetId"]
ec2.create_network_interface(SubnetId=subnet, TagSpecifications=[
    dict(ResourceType="network-interface", Tags=[tag])])
boto3.client("elb", **kw).create_load_balancer(LoadBalancerName="api-left-classic", Subnets=[subnet],
    Listeners=[dict(Protocol="TCP", LoadBalancerPort=443, InstancePort=443)], Tags=[tag])
print("null")
"#
    ));
    env.set(
        "FAKE_KOPS_FORGET",
        "autoscaling-group,launch-template,instance,load-balancer,target-group,nat-gateway,\
         elastic-ip,volume,keypair,internet-gateway,subnet,route-table,security-group,vpc,\
         dhcp-options,iam-instance-profile,iam-role,sqs,eventbridge-rule",
    );
    let (code, out, err) = wizard_on(&env, &private, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let left = aws.ask(&format!(
        r#"
iam, sqs, events, elb = (boto3.client(s, **kw) for s in ("iam", "sqs", "events", "elb"))
key, name = "kubernetes.io/cluster/{CLUSTER}", "{CLUSTER}"
f = [dict(Name="tag-key", Values=[key])]
left = []
def add(noun, ids): left.extend([noun, i] for i in ids)
add("EC2 instance", [i["InstanceId"] for r in ec2.describe_instances(Filters=f)["Reservations"]
                     for i in r["Instances"] if i["State"]["Name"] != "terminated"])
add("Auto Scaling group", [g["AutoScalingGroupName"]
                           for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]
                           if any(t["Key"] == key for t in g.get("Tags", []))])
add("launch template", [t["LaunchTemplateId"]
                        for t in ec2.describe_launch_templates(Filters=f)["LaunchTemplates"]])
add("EBS volume", [v["VolumeId"] for v in ec2.describe_volumes(Filters=f)["Volumes"]])
add("network interface", [n["NetworkInterfaceId"] for n in
                          ec2.describe_network_interfaces(Filters=f)["NetworkInterfaces"]])
add("Elastic IP", [a["AllocationId"] for a in ec2.describe_addresses(Filters=f)["Addresses"]])
add("NAT gateway", [n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filters=f)["NatGateways"]
                    if n["State"] not in ("deleted", "deleting")])
add("internet gateway", [g["InternetGatewayId"] for g in
                         ec2.describe_internet_gateways(Filters=f)["InternetGateways"]])
add("subnet", [s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]])
add("route table", [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=f)["RouteTables"]])
add("VPC", [v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]])
add("security group", [g["GroupId"] for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]])
add("DHCP options set", [d["DhcpOptionsId"] for d in ec2.describe_dhcp_options(Filters=f)["DhcpOptions"]])
add("EC2 key pair", [k["KeyName"] for k in ec2.describe_key_pairs(Filters=f)["KeyPairs"]])
lbs = elbv2.describe_load_balancers()["LoadBalancers"]
tgs = elbv2.describe_target_groups()["TargetGroups"]
def tagged(arn):
    tags = elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]
    return any(t["Key"] == key for t in tags)
add("load balancer", [b["LoadBalancerName"] for b in lbs if tagged(b["LoadBalancerArn"])])
add("target group", [g["TargetGroupName"] for g in tgs if tagged(g["TargetGroupArn"])])
classic = [b["LoadBalancerName"] for b in elb.describe_load_balancers()["LoadBalancerDescriptions"]]
add("classic load balancer", [d["LoadBalancerName"] for d in
    (elb.describe_tags(LoadBalancerNames=classic)["TagDescriptions"] if classic else [])
    if any(t["Key"] == key for t in d["Tags"])])
add("IAM role", [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].endswith("." + name)])
add("IAM instance profile", [p["InstanceProfileName"] for p in
                             iam.list_instance_profiles()["InstanceProfiles"]
                             if p["InstanceProfileName"].endswith("." + name)])
add("SQS queue", sqs.list_queues().get("QueueUrls", []))
add("EventBridge rule", [r["Name"] for r in events.list_rules()["Rules"]
                         if r["Name"].startswith(name + "-")])
print(json.dumps(left))
"#
    ));
    let left: Vec<(String, String)> = serde_json::from_value(left).expect("(kind, id) pairs");
    let kinds: BTreeSet<&str> = left.iter().map(|(k, _)| k.as_str()).collect();
    // What the stand-in makes for a private cluster, all of it left behind, and the two above.
    for kind in [
        "EC2 instance",
        "Auto Scaling group",
        "launch template",
        "EBS volume",
        "network interface",
        "classic load balancer",
        "Elastic IP",
        "NAT gateway",
        "internet gateway",
        "subnet",
        "route table",
        "VPC",
        "DHCP options set",
        "security group",
        "EC2 key pair",
        "load balancer",
        "target group",
        "IAM role",
        "IAM instance profile",
        "SQS queue",
        "EventBridge rule",
    ] {
        assert!(kinds.contains(kind), "the stand-in left no {kind}: {left:?}");
    }
    for (kind, id) in &left {
        let named = out.lines().any(|l| l.contains(kind.as_str()) && l.contains(id.as_str()));
        assert!(named, "{kind} {id} is in AWS but not named:\n{out}");
    }
}

/// A cluster in a Route53 zone: records under its name that kops's delete left (the stand-in
/// makes none, so they are written here as kops would have) are found by the final check
/// through Route53, every one of them, past the first page of the listing.
#[tokio::test]
async fn records_left_in_the_clusters_dns_zone_are_each_named() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws = aws(&moto).await;
    let zone = aws.ask(
        r#"
r53 = boto3.client("route53", **kw)
z = r53.create_hosted_zone(Name="example.com", CallerReference="kops-wizard-test")
print(json.dumps(z["HostedZone"]["Id"]))
"#,
    );
    let zone = zone.as_str().expect("the zone's id").to_string();
    let answers = answers("smoke-dns-state")
        .replace(
            &format!("name = \"{CLUSTER}\""),
            "name = \"dns.example.com\"\ndns_zone = \"example.com\"",
        )
        .replace("node_count = 2", "node_count = 2\nsmoke_test = false");
    let (code, out, err) = wizard_on(&env, &answers, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // kops's own records, and enough more to need a second page (Route53 lists 300 at most).
    let written = aws.ask(&format!(
        r#"
r53 = boto3.client("route53", **kw)
names = ["api.dns.example.com", "api.internal.dns.example.com",
         "kops-controller.internal.dns.example.com"] + [f"n{{i:03}}.dns.example.com" for i in range(320)]
for at in range(0, len(names), 50):
    r53.change_resource_record_sets(HostedZoneId={zone:?}, ChangeBatch=dict(Changes=[
        dict(Action="CREATE", ResourceRecordSet=dict(Name=n, Type="A", TTL=60,
             ResourceRecords=[dict(Value="203.0.113.10")])) for n in names[at:at + 50]]))
# One that is not the cluster's, which must not be named.
r53.change_resource_record_sets(HostedZoneId={zone:?}, ChangeBatch=dict(Changes=[
    dict(Action="CREATE", ResourceRecordSet=dict(Name="www.example.com", Type="A", TTL=60,
         ResourceRecords=[dict(Value="203.0.113.11")]))]))
first = r53.list_resource_record_sets(HostedZoneId={zone:?})
print(json.dumps(dict(names=names, paged=first["IsTruncated"])))
"#
    ));
    assert_eq!(written["paged"], true, "the listing fits one page: {written}");
    let written: Vec<String> = serde_json::from_value(written["names"].clone()).expect("names");

    let (code, out, err) = wizard_on(&env, &answers, &["teardown", "--yes"]);
    assert_eq!(code, 1, "records are left: {out}\n{err}");
    for name in &written {
        let line = format!("Route53 record {name} A");
        assert!(out.contains(&line), "{line} is not named:\n{out}");
    }
    assert!(!out.contains("www.example.com"), "another name's record was named:\n{out}");
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

/// Deletes the smoke test's namespace through the fake cluster's API (with the client
/// certificate the fake made at its start) and waits until it is gone: its Service's
/// finalizer holds it until the cloud controller has removed the NLB.
fn delete_smoke_namespace(env: &TestEnv) {
    crate::support::fake_api(
        env,
        CLUSTER,
        r#"
path = "/api/v1/namespaces/kops-wizard-smoke"
delete(path)
for _ in range(200):
    try:
        urllib.request.urlopen(base + path, context=ctx)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            sys.exit(0)
    time.sleep(0.05)
sys.exit("the namespace is still there")
"#,
    );
}

/// Every wait of the smoke test waits (the fakes are as slow as AWS and Kubernetes for a
/// moment: pods not Ready yet, the NLB provisioning, its targets in their initial state), and
/// each wait that runs out says what it saw and where to look. One cluster; before each run
/// the smoke test's objects are deleted and one fault is switched on in the fake.
#[test]
fn every_wait_of_the_smoke_test_waits_and_each_one_running_out_says_what_it_saw() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    // As slow as AWS and Kubernetes are (in seconds rather than minutes): the targets still
    // `initial` when the NLB is active, as in AWS.
    env.set("FAKE_K8S_POD_DELAY", "0.6");
    env.set("FAKE_K8S_NLB_PROVISIONING", "0.8");
    env.set("FAKE_K8S_TARGETS_INITIAL", "1.5");
    env.install_fake_kops();
    let bucket = "smoke-waits-state";
    let (code, out, err) = wizard(&env, bucket, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Each wait looked at least twice: once before, once after.
    for (before, after) in [
        ("pods ready: 0 of 2", "pods ready: 2 of 2"),
        (": provisioning", ": active"),
        ("targets healthy: 0 of", "answered through the NLB: 2 of 2 pods"),
    ] {
        let (b, a) = (out.find(before), out.find(after));
        assert!(b.is_some() && a.is_some() && b < a, "{before} then {after}:\n{out}");
    }

    env.set("KOPS_WIZARD_SMOKE_WAIT", "2s");
    let faults = env.path("fake-kops/k8s/faults");
    for (fault, what, saw) in [
        ("pods-never-ready", "the pods were not ready", "0 of 2 ready"),
        (
            "nlb-provisioning",
            "the load balancer did not become active",
            "its state is provisioning",
        ),
        (
            "targets-unhealthy",
            "the load balancer's targets were not healthy",
            "unhealthy (Health checks failed)",
        ),
        (
            "pods-silent",
            "the pods did not both answer through the load balancer",
            "none answered; the last failure: http://",
        ),
    ] {
        delete_smoke_namespace(&env);
        std::fs::write(&faults, fault).unwrap();
        let (code, out, err) = wizard(&env, bucket, &["smoke-test"]);
        assert_eq!(code, 1, "{fault}:\n{out}\n{err}");
        assert!(
            out.contains(&format!("{what} after 2s: ")) && out.contains(saw),
            "{fault}:\n{out}"
        );
    }

    // The fake reads the annotation, as the in-tree controller does: a Service of type
    // LoadBalancer without it gets a Classic ELB, which ELBv2 (and the smoke test) never see.
    crate::support::fake_api(
        &env,
        CLUSTER,
        r#"
post("/api/v1/namespaces", {"metadata": {"name": "plain"}})
post("/api/v1/namespaces/plain/services", {"metadata": {"name": "web"},
     "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
              "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
"#,
    );
    let aws = futures_lite(aws(&moto));
    let started = std::time::Instant::now();
    let classic = loop {
        let found = aws.ask(
            r#"
elb = boto3.client("elb", **kw)
names = [d["LoadBalancerName"] for d in elb.describe_load_balancers()["LoadBalancerDescriptions"]]
tags = elb.describe_tags(LoadBalancerNames=names)["TagDescriptions"] if names else []
print(json.dumps([d["LoadBalancerName"] for d in tags
                  if {"Key": "kubernetes.io/service-name", "Value": "plain/web"} in d["Tags"]]))
"#,
        );
        let found: Vec<String> = serde_json::from_value(found).unwrap();
        if !found.is_empty() || started.elapsed() > std::time::Duration::from_secs(10) {
            break found;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(classic.len(), 1, "no Classic ELB for the Service without the annotation");
    let v2 = futures_lite(service_balancers(&aws));
    assert!(v2.iter().all(|b| !b.tags.iter().any(|(_, v)| v == "plain/web")), "{v2:?}");
}

/// Runs a future to its end on a runtime of its own (this test is a plain `#[test]`).
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}
