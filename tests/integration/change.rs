//! Day 2: `kops-wizard change` against a cluster setup made, on moto and the stand-in. Every
//! verdict comes from AWS (EC2's instances and their types, through boto3), the state store's
//! objects and their versions, the stand-in's list of kops calls and the team's record in the
//! bucket: never from the wizard's words.

use serde_json::Value;

use crate::support::judge::Judge;
use crate::support::{Moto, TestEnv, ready_env, run};

const CLUSTER: &str = "change.k8s.local";

fn answers(bucket: &str, cluster: &str) -> String {
    format!(
        r#"
[state_store]
bucket = "{bucket}"
[ssh]
key_type = "ed25519"
[cluster]
name = "{CLUSTER}"
smoke_test = false
kubernetes_version = "1.35.0"
{cluster}
[validate]
interval = "1s"
"#
    )
}

fn wizard(env: &TestEnv, bucket: &str, cluster: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(&answers(bucket, cluster));
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// AWS and the state store as this test asks them (boto3 with the admin key).
struct Aws(Judge, String);

impl Aws {
    fn ask(&self, code: &str) -> Value {
        let out = self.0.boto3(&format!(
            "import json\nec2, s3 = boto3.client('ec2', **kw), boto3.client('s3', **kw)\n\
             BUCKET = '{}'\n{code}",
            self.1
        ));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }

    /// The running instances of each instance group: `{group: [type, ...]}`.
    fn instances(&self) -> Value {
        self.ask(&format!(
            r#"
f = [dict(Name="tag:KubernetesCluster", Values=["{CLUSTER}"]),
     dict(Name="instance-state-name", Values=["pending", "running"])]
out = {{}}
for r in ec2.describe_instances(Filters=f)["Reservations"]:
    for i in r["Instances"]:
        tags = {{t["Key"]: t["Value"] for t in i.get("Tags", [])}}
        out.setdefault(tags.get("kops.k8s.io/instancegroup", "?"), []).append(i["InstanceType"])
print(json.dumps({{k: sorted(v) for k, v in out.items()}}))
"#
        ))
    }

    /// How many versions each object of the cluster's state has: a change writes new ones.
    fn versions(&self) -> Value {
        self.ask(&format!(
            r#"
out = {{}}
for page in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="{CLUSTER}/"):
    for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
        out[v["Key"]] = out.get(v["Key"], 0) + 1
print(json.dumps(out))
"#
        ))
    }

    fn text(&self, key: &str) -> String {
        self.ask(&format!(
            "print(json.dumps(s3.get_object(Bucket=BUCKET, Key='{key}')['Body'].read().decode()))"
        ))
        .as_str()
        .unwrap()
        .to_string()
    }

    /// The team's record of the cluster, from the bucket.
    fn record(&self) -> Value {
        serde_json::from_str(&self.text(&format!("kops-wizard/{CLUSTER}.journal.json"))).unwrap()
    }
}

/// The kops calls the stand-in saw, as argument lists, from the `skip`th on.
fn calls(env: &TestEnv, skip: usize) -> Vec<Vec<String>> {
    let argv = |c: &Value| -> Vec<String> {
        c["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
    };
    env.kops_calls().iter().skip(skip).map(argv).collect()
}

/// The calls that write: everything but `get`, `version`, `validate` and `export`.
fn writing(calls: &[Vec<String>]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| !matches!(c[0].as_str(), "get" | "version" | "validate" | "export"))
        .map(|c| c[..2].join(" "))
        .collect()
}

fn setup(moto: &Moto, bucket: &str) -> (TestEnv, Aws) {
    let mut env = ready_env(moto);
    env.set("FAKE_KOPS_ROLL_STEP", "0.01");
    let (code, out, err) = wizard(&env, bucket, "node_count = 2", &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let aws = Aws(futures_block(Judge::new(moto)), bucket.to_string());
    (env, aws)
}

fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

#[test]
fn nothing_a_dry_run_a_scale_up_and_a_resize_each_do_what_they_say_and_no_more() {
    let moto = Moto::start();
    let bucket = "change-sizes-state";
    let (env, aws) = setup(&moto, bucket);
    let nodes = "nodes-us-east-1a";
    assert_eq!(aws.instances()[nodes], serde_json::json!(["t3.medium", "t3.medium"]));
    let before = aws.versions();

    // The answers setup ran with: nothing to change, and no kops call that writes.
    let seen = calls(&env, 0).len();
    let (code, out, err) = wizard(&env, bucket, "node_count = 2", &["change", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Nothing to change"), "{out}");
    assert_eq!(writing(&calls(&env, seen)), Vec::<String>::new());

    // A dry run of a scale-up: the plan with its cost, and no object version changes.
    let seen = calls(&env, 0).len();
    let (code, out, err) = wizard(&env, bucket, "node_count = 3", &["change", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("* cluster.node_count") && out.contains("2 -> 3"), "{out}");
    assert!(out.contains("monthly cost of the instances: $"), "{out}");
    assert!(out.contains("--set spec.minSize=3 --set spec.maxSize=3"), "{out}");
    assert_eq!(writing(&calls(&env, seen)), Vec::<String>::new());
    assert_eq!(aws.versions(), before, "a dry run wrote to the state store");

    // The scale-up: three nodes in EC2, none replaced, no roll.
    let seen = calls(&env, 0).len();
    let (code, out, err) = wizard(&env, bucket, "node_count = 3", &["change", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(aws.instances()[nodes], serde_json::json!(["t3.medium", "t3.medium", "t3.medium"]));
    assert_eq!(writing(&calls(&env, seen)), ["edit ig", "update cluster"]);
    assert!(aws.text(&format!("{CLUSTER}/instancegroup/{nodes}")).contains("minSize: 3"));

    // A new node size: every node replaced by the roll, the control plane untouched.
    let seen = calls(&env, 0).len();
    let cluster = "node_count = 3\nnode_size = \"t3.large\"";
    let (code, out, err) = wizard(&env, bucket, cluster, &["change", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let now = aws.instances();
    assert_eq!(now[nodes], serde_json::json!(["t3.large", "t3.large", "t3.large"]), "{now}");
    assert_eq!(now["control-plane-us-east-1a"], serde_json::json!(["t3.medium"]), "{now}");
    assert_eq!(
        writing(&calls(&env, seen)),
        ["edit ig", "update cluster", "rolling-update cluster"]
    );
    assert!(out.contains("3 replaced, 0 to go"), "the roll's progress: {out}");

    // The team's record names both changes, from what to what, and that they finished.
    let record = aws.record();
    let changes = record["changes"].as_array().expect("changes in the record");
    let said: Vec<(&str, &str)> = changes
        .iter()
        .map(|c| (c["changes"][0].as_str().unwrap(), c["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        said,
        [
            ("cluster.node_count: 2 -> 3", "done"),
            ("cluster.node_size: t3.medium -> t3.large", "done")
        ]
    );
    assert!(changes.iter().all(|c| c["by"]["arn"].is_string() && c["finished"].is_string()));

    // Undo: the instance group's spec put back from the bucket's earlier version, then rolled.
    let ig = format!("{CLUSTER}/instancegroup/{nodes}");
    let (code, out, err) = wizard(&env, bucket, cluster, &["change", "--undo", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(aws.text(&ig).contains("machineType: t3.medium"), "{}", aws.text(&ig));
    assert_eq!(aws.instances()[nodes], serde_json::json!(["t3.medium", "t3.medium", "t3.medium"]));
    let record = aws.record();
    let last = record["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["undoes"], changes[1]["started"], "{last}");
    assert_eq!(last["result"], "done", "{last}");
    // Nothing left to undo: the resize was undone, and undoing the scale-up would remove
    // nodes undrained.
    let (code, _, err) = wizard(&env, bucket, cluster, &["change", "--undo", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--undo") && err.contains("undone already"), "{err}");
}

/// The full screen in tmux at both sizes: the plan page marks the change, Enter applies it,
/// the dashboard names each instance, and the end says it is done; EC2 has the new size.
#[test]
fn the_full_screen_plans_rolls_and_ends_at_80x24_and_200x50() {
    use crate::support::bin;
    use crate::support::tmux::{Tmux, cooked};
    let moto = Moto::start();
    let bucket = "change-screen-state";
    let (mut env, aws) = setup(&moto, bucket);
    // Slow enough for the dashboard to be seen.
    env.set("FAKE_KOPS_ROLL_STEP", "0.3");
    let nodes = "nodes-us-east-1a";
    for (size, (w, h)) in [("t3.large", (80, 24)), ("t3.xlarge", (200, 50))] {
        let file =
            env.answers(&answers(bucket, &format!("node_count = 2\nnode_size = \"{size}\"")));
        let argv = [bin(), "change".into(), "-c".into(), file.display().to_string()];
        let out = env.path("out.txt");
        let term = Tmux::start_to(&env, &argv, w, h, Some(&out));
        let plan = term.wait_for("Enter apply", std::time::Duration::from_secs(60));
        assert!(
            plan.contains("* cluster.node_size") && plan.contains(&format!("-> {size}")),
            "{plan}"
        );
        assert!(plan.contains("monthly cost"), "{plan}");
        term.keys(&["Enter"]);
        let board = term.wait_for("Instances (", std::time::Duration::from_secs(60));
        assert!(
            board.contains("replaced")
                || board.contains("draining")
                || board.contains("needs update"),
            "{board}"
        );
        let done = term.wait_for("Done in", std::time::Duration::from_secs(120));
        assert!(done.contains("2 instance(s) replaced"), "{done}");
        term.keys(&["q"]);
        let (code, stty) = term.finished(std::time::Duration::from_secs(30));
        assert_eq!(code, 0, "{}", term.screen());
        assert!(cooked(&stty), "{stty}");
        assert!(crate::support::read(&out).contains("change of change.k8s.local: Done in"));
        assert_eq!(aws.instances()[nodes], serde_json::json!([size, size]), "at {w}x{h}");
    }
}

#[test]
fn refusals_change_nothing_then_an_upgrade_rolls_control_plane_first() {
    let moto = Moto::start();
    let bucket = "change-version-state";
    let (env, aws) = setup(&moto, bucket);
    let before = aws.versions();
    let seen = calls(&env, 0).len();
    for (cluster, key, rule) in [
        (
            "node_count = 2\nkubernetes_version = \"1.34.2\"",
            "cluster.kubernetes_version",
            "downgrade",
        ),
        (
            "node_count = 2\nkubernetes_version = \"1.37.0\"",
            "cluster.kubernetes_version",
            "skips a minor",
        ),
    ] {
        let answers = answers(bucket, cluster).replace("kubernetes_version = \"1.35.0\"\n", "");
        let file = env.answers(&answers);
        let (code, out, err) = run(env.wizard().args(["change", "--yes", "-c"]).arg(file));
        assert_eq!(code, 2, "{cluster}: {out}\n{err}");
        assert!(err.contains(key) && err.contains(rule), "{cluster}: {err}");
    }
    assert_eq!(writing(&calls(&env, seen)), Vec::<String>::new());
    assert_eq!(aws.versions(), before, "a refusal wrote to the state store");

    // The pre-flight asks the cluster: a budget that allows no disruption, a workload of one
    // replica and a system pod not Ready are each named, with what to do; nothing changes.
    seed_workloads(&env);
    let upgrade = answers(bucket, "node_count = 2").replace("1.35.0", "1.36.1");
    let file = env.answers(&upgrade);
    let (code, out, err) = run(env.wizard().args(["change", "--dry-run", "-c"]).arg(file));
    assert_eq!(code, 0, "{out}\n{err}");
    for named in [
        "PodDisruptionBudget shop/web: allows no disruption",
        "Deployment shop/solo: has one replica",
        "Pod kube-system/coredns-broken: is not Ready",
    ] {
        assert!(out.contains(named), "{named}:\n{out}");
    }
    assert!(!out.contains("no etcd backup"), "the apply made one: {out}");
    assert_eq!(aws.versions(), before, "the pre-flight wrote to the state store");

    let seen = calls(&env, 0).len();
    let (code, out, err) =
        run(env.wizard().args(["change", "--yes", "-c"]).arg(env.answers(&upgrade)));
    assert_eq!(code, 0, "{out}\n{err}");
    let made = calls(&env, seen);
    assert_eq!(
        writing(&made),
        [
            "edit cluster",
            "update cluster",
            "rolling-update cluster",
            "update cluster",
            "rolling-update cluster"
        ]
    );
    let roles = "--instance-group-roles=control-plane,apiserver";
    let first_roll = made.iter().find(|c| c[0] == "rolling-update").unwrap();
    assert!(first_roll.iter().any(|a| a == roles), "control plane first: {first_roll:?}");
    assert!(aws.text(&format!("{CLUSTER}/config")).contains("kubernetesVersion: 1.36.1"));
    // The stand-in's cloud: every instance started from the new version, none left over.
    let cloud: Value = serde_json::from_str(&env.cloud()).unwrap();
    let launched: Vec<&str> = cloud[CLUSTER]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "instance")
        .map(|r| r["launch"]["kubernetesVersion"].as_str().unwrap())
        .collect();
    assert_eq!(launched, ["1.36.1"; 3], "{cloud}");
    assert!(out.contains("single control plane"), "the plan warns: {out}");
}

#[test]
fn a_failed_roll_is_exit_1_although_kops_printed_its_end_line_and_a_rerun_resumes_it() {
    let moto = Moto::start();
    let bucket = "change-fail-state";
    let mut env = ready_env(&moto);
    env.set("FAKE_KOPS_ROLL_STEP", "0.01");
    // With the smoke test: its NLB is asked all the while a change runs.
    let smoke =
        answers(bucket, "node_count = 2").replace("smoke_test = false", "smoke_test = true");
    let (code, out, err) =
        run(env.wizard().args(["setup", "--yes", "-c"]).arg(env.answers(&smoke)));
    assert_eq!(code, 0, "{out}\n{err}");
    let aws = Aws(futures_block(Judge::new(&moto)), bucket.to_string());
    let cluster = "node_count = 2\nnode_size = \"t3.large\"";
    env.set("FAKE_KOPS_ROLL_FAIL", "drain");
    let (code, out, err) = wizard(&env, bucket, cluster, &["change", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("the roll stopped") && err.contains("default/web-0"), "{err}");
    assert!(err.contains("Run `kops-wizard change` again"), "{err}");
    let record = aws.record();
    let last = record["changes"].as_array().unwrap().last().unwrap().clone();
    assert_ne!(last["result"], "done", "{last}");
    assert!(aws.instances()["nodes-us-east-1a"].as_array().unwrap().contains(&"t3.medium".into()));

    // The NLB answered every request of the failed roll.
    let probe = last["availability"].as_str().expect("the NLB's tally in the record").to_string();
    assert!(probe.contains(": 0 failed"), "{probe}");
    assert!(!probe.starts_with("0 request"), "{probe}");

    // The rerun resumes the roll, and this time its validation after a node times out; the pods
    // meanwhile stop answering: each failed request is counted.
    env.set("FAKE_KOPS_ROLL_FAIL", "validate");
    let faults = env.path("fake-kops/k8s/faults");
    std::fs::write(&faults, "pods-silent\n").unwrap();
    let (code, out, err) = wizard(&env, bucket, cluster, &["change", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("unfinished"), "{out}");
    assert!(err.contains("did not validate"), "{err}");
    let record = aws.record();
    let last = record["changes"].as_array().unwrap().last().unwrap().clone();
    let probe = last["availability"].as_str().expect("the NLB's tally").to_string();
    let asked: u32 = probe.split(' ').next().unwrap().parse().unwrap();
    assert!(asked >= 1 && probe.contains(&format!(": {asked} failed")), "{probe}");

    // Back to the old size: kops rolls the new instances back and never reaches the old one
    // its stopped roll tainted (kops #12383): that stray taint is taken off.
    let tainted = |env: &TestEnv| -> Vec<String> {
        let taints: Value =
            serde_json::from_str(&crate::support::read(&env.path("fake-kops/k8s/taints.json")))
                .unwrap_or_default();
        let alive: Vec<String> =
            node_ids(env).iter().map(|i| format!("{i}.ec2.internal")).collect();
        alive.into_iter().filter(|n| taints[n].as_array().is_some_and(|t| !t.is_empty())).collect()
    };
    let stray = tainted(&env);
    assert_eq!(stray.len(), 1, "the stopped roll left one node tainted");
    env.unset("FAKE_KOPS_ROLL_FAIL");
    std::fs::remove_file(&faults).unwrap();
    let (code, out, err) = wizard(&env, bucket, "node_count = 2", &["change", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(aws.instances()["nodes-us-east-1a"], serde_json::json!(["t3.medium", "t3.medium"]));
    assert!(out.contains(&format!("taint off node {}", stray[0])), "{out}");
    assert_eq!(tainted(&env), Vec::<String>::new());
    assert!(out.contains(": 0 failed"), "the NLB answered throughout: {out}");
}

/// Objects in the fake cluster API, as a team's workloads would have them.
fn seed_workloads(env: &TestEnv) {
    crate::support::fake_api(
        env,
        CLUSTER,
        r#"
for ns in ("shop", "kube-system"):
    post("/api/v1/namespaces", {"metadata": {"name": ns}})
post("/apis/policy/v1/namespaces/shop/poddisruptionbudgets", {
    "metadata": {"name": "web"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "other"}}},
    "status": {"disruptionsAllowed": 0, "currentHealthy": 2, "desiredHealthy": 2, "expectedPods": 2}})
post("/apis/apps/v1/namespaces/shop/deployments", {
    "metadata": {"name": "solo"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "solo"}},
    "template": {"metadata": {"labels": {"app": "solo"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
post("/api/v1/namespaces/kube-system/pods", {
    "metadata": {"name": "coredns-broken"}, "spec": {"containers": [{"name": "c", "image": "x"}]},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}})
"#,
    );
}

/// The node instances the stand-in's cloud has, by id.
fn node_ids(env: &TestEnv) -> Vec<String> {
    let cloud: Value = serde_json::from_str(&env.cloud()).unwrap();
    let mut ids: Vec<String> = cloud[CLUSTER]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "instance" && r["instanceGroup"] == "nodes-us-east-1a")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// A scale-down: the node to remove is drained (each of its pods evicted while its instance
/// still ran) before its instance is terminated; a drain a budget holds stops the change
/// before anything is terminated or kops is told.
#[test]
fn a_scale_down_drains_before_it_terminates_and_a_blocked_drain_ends_nothing() {
    let moto = Moto::start();
    let bucket = "change-down-state";
    let mut env = ready_env(&moto);
    env.set("FAKE_KOPS_ROLL_STEP", "0.01");
    let (code, out, err) = wizard(&env, bucket, "node_count = 3", &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let aws = Aws(futures_block(Judge::new(&moto)), bucket.to_string());
    let ids = node_ids(&env);
    assert_eq!(ids.len(), 3);
    // A pod on each node; a budget holds the pod of the second node.
    let pods: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                r#"post("/api/v1/namespaces/shop/pods", {{"metadata": {{"name": "web-{i}", "labels": {{"app": "web-{i}"}}}},
    "spec": {{"nodeName": "{id}.ec2.internal", "containers": [{{"name": "c", "image": "x"}}]}},
    "status": {{"phase": "Running", "conditions": [{{"type": "Ready", "status": "True"}}]}}}})"#
            )
        })
        .collect();
    crate::support::fake_api(
        &env,
        CLUSTER,
        &format!(
            "post(\"/api/v1/namespaces\", {{\"metadata\": {{\"name\": \"shop\"}}}})\n{}\n\
             post(\"/apis/policy/v1/namespaces/shop/poddisruptionbudgets\", {{\"metadata\": {{\"name\": \"hold\"}},\
             \"spec\": {{\"selector\": {{\"matchLabels\": {{\"app\": \"web-1\"}}}}}},\
             \"status\": {{\"disruptionsAllowed\": 0, \"currentHealthy\": 1}}}})",
            pods.join("\n")
        ),
    );

    // 3 -> 2: the last node by id (web-2's) is drained, then terminated; kops is told after.
    let seen = calls(&env, 0).len();
    let (code, out, err) = wizard(&env, bucket, "node_count = 2", &["change", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(writing(&calls(&env, seen)), ["edit ig", "update cluster"]);
    assert_eq!(node_ids(&env), ids[..2], "the last node by id was removed");
    assert_eq!(aws.instances()["nodes-us-east-1a"].as_array().unwrap().len(), 2);
    let evictions = crate::support::read(&env.path("fake-kops/k8s/evictions.jsonl"));
    let evicted: Vec<Value> = evictions.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(evicted.len(), 1, "{evictions}");
    assert_eq!(evicted[0]["pod"], "shop/web-2");
    assert_eq!(evicted[0]["instance_running"], true, "drained before the instance ended");
    let gone = aws.ask(&format!(
        "print(json.dumps(ec2.describe_instances(InstanceIds=['{}'])['Reservations'][0]['Instances'][0]['State']['Name']))",
        ids[2]
    ));
    assert_eq!(gone, "terminated");
    assert!(aws.text(&format!("{CLUSTER}/instancegroup/nodes-us-east-1a")).contains("minSize: 2"));

    // 2 -> 1: the second node's pod is held by its budget; the drain gives up, nothing ends.
    env.set("KOPS_WIZARD_DRAIN_TIMEOUT", "1s");
    let before = aws.versions();
    let seen = calls(&env, 0).len();
    let (code, out, err) = wizard(&env, bucket, "node_count = 1", &["change", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("shop/web-1") && err.contains("Nothing was terminated"), "{err}");
    assert_eq!(writing(&calls(&env, seen)), Vec::<String>::new(), "kops was told nothing");
    assert_eq!(aws.instances()["nodes-us-east-1a"].as_array().unwrap().len(), 2);
    let after = aws.versions();
    let spec = format!("{CLUSTER}/instancegroup/nodes-us-east-1a");
    assert_eq!(after[&spec], before[&spec], "the instance group's spec was not written");
}
