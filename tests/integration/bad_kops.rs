//! kops misbehaving (the stand-in's FAKE_KOPS_VALIDATE error and output modes, FAKE_KOPS_HANG):
//! setup stops at once with kops's words and what to do, kills a kops that hangs after its own
//! timeout, never panics, and leaves a journal with no half-done change. Judged by the exit
//! code, the stand-in's call log, the journal on disk and the process table.

use std::fs;

use serde_json::Value;

use crate::support::{Moto, TestEnv, dies_within, run};

/// A long validation wait: a setup that retried an error that waiting does not fix would run
/// into it, and the call count shows it.
const ANSWERS: &str = r#"
[state_store]
bucket = "bad-kops-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "bad.example.com"
[validate]
wait = "10m"
interval = "200ms"
"#;

fn env(moto: &Moto) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    env
}

fn setup(env: &TestEnv) -> (i32, String, String) {
    let file = env.answers(ANSWERS);
    run(env.wizard().args(["setup", "--yes", "-c"]).arg(file))
}

fn validate_calls(env: &TestEnv) -> usize {
    let log = env.path("fake-kops/calls.jsonl");
    assert!(log.exists(), "the stand-in was never called");
    env.kops_calls()
        .iter()
        .filter(|c| {
            let argv: Vec<&str> =
                c["argv"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            argv.starts_with(&["validate", "cluster"])
        })
        .count()
}

/// The journal exists and records no change that was begun and not settled.
fn journal_settled(env: &TestEnv) {
    journal_settled_but(env, None);
}

/// The same, except for an intent of `kind`: the change kops was making when it was stopped,
/// whose outcome only AWS and the state store know (the next run settles it).
fn journal_settled_but(env: &TestEnv, kind: Option<&str>) {
    let path = env.path("state/kops-wizard/journal/bad.example.com.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let journal: Value = serde_json::from_str(&text).expect("the journal is JSON");
    let intents: Vec<&Value> = journal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["state"] == "intent" && Some(e["kind"].as_str().unwrap_or("")) != kind)
        .collect();
    assert!(intents.is_empty(), "half-done changes in the journal: {intents:?}");
}

fn no_panic(err: &str) {
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
}

#[test]
fn errors_that_waiting_does_not_fix_stop_validation_at_once_with_what_to_do() {
    let moto = Moto::start();
    let cases = [
        ("unauthorized", "Unauthorized", "kops export kubeconfig"),
        ("expired-token", "ExpiredToken", "credentials have expired"),
        ("access-denied", "AccessDenied: Access Denied", "seven policies"),
        ("no-cluster", "Cluster.kops.k8s.io \"bad.example.com\" not found", "cluster.name"),
        ("no-bucket", "NoSuchBucket", "state bucket does not exist"),
    ];
    let mut env = env(&moto);
    for (mode, kops_said, advice) in cases {
        env.set("FAKE_KOPS_VALIDATE", mode);
        let before =
            if env.path("fake-kops/calls.jsonl").exists() { validate_calls(&env) } else { 0 };
        let (code, out, err) = setup(&env);
        assert_eq!(code, 1, "{mode}: {out}\n{err}");
        assert!(err.contains("retrying will not help"), "{mode}: {err}");
        assert!(err.contains(kops_said), "{mode}: kops's words are kept: {err}");
        assert!(err.contains(advice), "{mode}: what to do: {err}");
        assert_eq!(validate_calls(&env) - before, 1, "{mode}: retried instead of stopping");
        no_panic(&err);
        journal_settled(&env);
    }
}

#[test]
fn output_that_is_not_kops_json_stops_with_a_clear_error() {
    let moto = Moto::start();
    let cases = [
        ("garbage", "could not read the output of `kops validate cluster -o json`"),
        ("truncated-json", "could not read the output of `kops validate cluster -o json`"),
        ("empty", "exited successfully but printed no JSON result"),
        ("silent-failure", "failed without a result and without an error message"),
    ];
    let mut env = env(&moto);
    for (mode, says) in cases {
        env.set("FAKE_KOPS_VALIDATE", mode);
        let (code, out, err) = setup(&env);
        assert_eq!(code, 1, "{mode}: {out}\n{err}");
        assert!(err.contains(says), "{mode}: {err}");
        no_panic(&err);
        journal_settled(&env);
    }
    // And once kops behaves, the same setup finishes.
    env.unset("FAKE_KOPS_VALIDATE");
    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn a_kops_that_hangs_is_stopped_after_the_wizards_timeout_and_a_rerun_finishes() {
    let moto = Moto::start();
    let mut env = env(&moto);
    // Long enough for a kops that works to start on a loaded machine, short for one that hangs.
    env.set("KOPS_WIZARD_KOPS_TIMEOUT", "8s");
    for (verb, unsettled) in
        [("create", Some("cluster")), ("update", Some("cluster-deployed")), ("validate", None)]
    {
        env.set("FAKE_KOPS_HANG", verb);
        let _ = fs::remove_file(env.path("fake-kops/hang.pid"));
        let (code, out, err) = setup(&env);
        assert_eq!(code, 1, "{verb}: {out}\n{err}");
        assert!(
            err.contains(&format!("`kops {verb} cluster` did not finish within 8s")),
            "{verb}: {err}"
        );
        assert!(err.contains("KOPS_WIZARD_KOPS_TIMEOUT"), "{err}");
        let pid = fs::read_to_string(env.path("fake-kops/hang.pid")).expect("the stand-in hung");
        let pid: u32 = pid.trim().parse().expect("a pid");
        assert!(
            dies_within(pid, std::time::Duration::from_secs(5)),
            "{verb}: the hung kops (pid {pid}) is still running"
        );
        no_panic(&err);
        journal_settled_but(&env, unsettled);
    }
    env.unset("FAKE_KOPS_HANG");
    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    // One cluster, made once: the hung create left nothing a rerun trips over.
    let cloud: Value = serde_json::from_str(
        &fs::read_to_string(env.path("fake-kops/cloud.json")).expect("the cloud file"),
    )
    .expect("the cloud is JSON");
    let clusters: Vec<&String> = cloud.as_object().unwrap().keys().collect();
    assert_eq!(clusters, ["bad.example.com"], "{cloud}");
    let groups = cloud["bad.example.com"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "autoscaling-group")
        .count();
    assert_eq!(groups, 2, "one control-plane and one node group, not two of each: {cloud}");
}
