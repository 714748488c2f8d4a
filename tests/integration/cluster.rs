//! Whole setup with `--yes`: moto for AWS, the kops stand-in for the cluster. What exists
//! afterwards is read from AWS, the disk and the stand-in's call log.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

use crate::support::judge::Judge;
use crate::support::{Moto, TestEnv, admin_clients, run};

/// ed25519 keeps key generation instant; RSA 4096 (the default) has its own test.
fn answers(extra: &str) -> String {
    format!(
        r#"
[state_store]
bucket = "cluster-kops-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "dev.example.com"
zones = ["us-east-1a", "us-east-1b"]
[validate]
wait = "1m"
interval = "100ms"
{extra}
"#
    )
}

fn setup(env: &TestEnv, toml: &str) -> (i32, String, String) {
    let file = env.answers(toml);
    run(env.wizard().args(["setup", "--yes", "-c"]).arg(file))
}

use crate::support::verbs;

fn journal(env: &TestEnv) -> Value {
    let text =
        fs::read_to_string(env.path("state/kops-wizard/journal/dev.example.com.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn saved_key_id(env: &TestEnv) -> String {
    let text = fs::read_to_string(env.home().join(".aws/credentials")).unwrap();
    text.lines()
        .find_map(|l| {
            l.split_once('=')
                .filter(|(k, _)| k.trim() == "aws_access_key_id")
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap()
}

#[tokio::test]
async fn from_nothing_to_a_validated_cluster() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let (code, out, err) = setup(&env, &answers(""));
    assert_eq!(code, 0, "{out}\n{err}");

    // AWS: the kops user, its one key, the bucket; the cluster's objects in the bucket.
    let c = admin_clients(&moto).await;
    assert_eq!(Judge::new(&moto).await.key_ids("kops").await.len(), 1);
    let objects =
        c.s3.list_objects_v2()
            .bucket("cluster-kops-state")
            .prefix("dev.example.com/")
            .send()
            .await
            .unwrap();
    let keys: Vec<&str> = objects.contents().iter().filter_map(|o| o.key()).collect();
    for expected in [
        "dev.example.com/config",
        "dev.example.com/cluster-completed.spec",
        "dev.example.com/instancegroup/nodes-us-east-1a",
    ] {
        assert!(keys.contains(&expected), "{expected} missing from {keys:?}");
    }

    // The key pair, with the right modes.
    let ssh = env.home().join(".ssh");
    assert_eq!(fs::metadata(ssh.join("kops")).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(fs::metadata(ssh.join("kops.pub")).unwrap().permissions().mode() & 0o777, 0o644);
    assert_eq!(fs::metadata(&ssh).unwrap().permissions().mode() & 0o777, 0o700);

    // kops ran as the kops user every time, with today's flags.
    let calls = env.kops_calls();
    let key = saved_key_id(&env);
    for call in &calls {
        if call["argv"][0] == "version" {
            continue;
        }
        assert_eq!(call["access_key_id"], key.as_str(), "kops ran with another key: {call}");
        assert_eq!(call["aws_profile"], "kops");
    }
    let verbs = verbs(&calls);
    assert_eq!(verbs.iter().filter(|v| *v == "create cluster").count(), 1);
    assert_eq!(verbs.iter().filter(|v| *v == "update cluster").count(), 1);
    assert!(verbs.iter().filter(|v| *v == "validate cluster").count() >= 4, "{verbs:?}");
    let create = calls.iter().find(|c| c["argv"][0] == "create").unwrap().to_string();
    assert!(create.contains("--control-plane-size") && !create.contains("master"), "{create}");
    assert!(
        create.contains(&ssh.join("kops.pub").display().to_string()),
        "the key path is expanded: {create}"
    );
    let update = calls.iter().find(|c| c["argv"][0] == "update").unwrap().to_string();
    assert!(update.contains("\"--yes\"") && update.contains("\"--admin\""), "{update}");

    // The journal knows everything, including the last validation.
    let j = journal(&env);
    let state = |kind: &str| {
        j["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == kind)
            .map(|e| e["state"].clone())
    };
    for kind in ["ssh-key", "cluster", "cluster-deployed", "bucket", "access-key"] {
        assert_eq!(state(kind), Some("created".into()), "{kind}: {j:#}");
    }
    assert_eq!(j["last_validation"]["phase"], "ready");
    assert_eq!(j["last_validation"]["ready_nodes"], j["last_validation"]["expected_nodes"]);

    // Headless progress: one line per phase, and how to use the cluster.
    for phase in ["API not reachable yet", "DNS not updated yet", "nodes joining", "ready"] {
        assert_eq!(out.matches(&format!("validate: {phase},")).count(), 1, "{phase}:\n{out}");
    }
    for line in [
        "export KOPS_STATE_STORE=s3://cluster-kops-state",
        "export KOPS_CLUSTER_NAME=dev.example.com",
        "export AWS_PROFILE=kops",
        "kubectl get nodes",
        "Journal: ",
        "Log: ",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    let (_, status, _) = run(env.wizard().arg("status"));
    assert!(status.contains("validation   ready"), "{status}");
}

#[tokio::test]
async fn a_rerun_after_success_only_validates() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    assert_eq!(setup(&env, &answers("")).0, 0);
    let before = env.kops_calls().len();
    let (code, out, err) = setup(&env, &answers(""));
    assert_eq!(code, 0, "{out}\n{err}");
    let again = verbs(&env.kops_calls()[before..]);
    assert!(!again.iter().any(|v| v == "create cluster" || v == "update cluster"), "{again:?}");
    assert!(again.iter().any(|v| v == "validate cluster"), "{again:?}");
    assert_eq!(Judge::new(&moto).await.key_ids("kops").await.len(), 1, "no new access key");
}

#[tokio::test]
async fn a_rerun_after_a_failed_update_continues_from_update() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    env.set("FAKE_KOPS_FAIL_ONCE", "update");
    let (code, out, err) = setup(&env, &answers(""));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("`kops update cluster` failed"), "{err}");
    assert!(out.contains("[✘]") && out.contains("deploy: failed"), "{out}");
    let first = env.kops_calls().len();

    let (code, out, err) = setup(&env, &answers(""));
    assert_eq!(code, 0, "{out}\n{err}");
    let again = verbs(&env.kops_calls()[first..]);
    assert!(!again.contains(&"create cluster".to_string()), "{again:?}");
    assert_eq!(again.iter().filter(|v| *v == "update cluster").count(), 1, "{again:?}");
    assert!(out.contains("cluster dev.example.com exists"), "{out}");
}

#[test]
fn a_cluster_that_never_validates_fails_naming_the_failures() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    env.set("FAKE_KOPS_VALIDATE", "never-ready");
    // Long enough for two attempts even when each kops start is slow on a loaded machine.
    let (code, out, err) = setup(&env, &answers("").replace("wait = \"1m\"", "wait = \"8s\""));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("did not validate within 8s"), "{err}");
    assert!(
        err.contains("failures of the last attempt:\n  - Node: node \"i-"),
        "the failures are named: {err}"
    );
    assert!(err.contains("Run `kops-wizard setup` again"), "{err}");
    let attempts = verbs(&env.kops_calls()).iter().filter(|v| *v == "validate cluster").count();
    let lines = out.matches("validate: nodes joining").count();
    assert!(attempts >= 2 && lines == 1, "{attempts} attempts, {lines} lines:\n{out}");
}

#[test]
fn a_missing_or_old_kops_stops_before_any_change() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    let (code, _, err) = setup(&env, &answers(""));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kops was not found on PATH"), "{err}");

    env.install_fake_kops();
    env.set("FAKE_KOPS_VERSION", "1.27.3");
    let (code, _, err) = setup(&env, &answers(""));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kops 1.27.3") && err.contains("too old"), "{err}");
    assert_eq!(moto.requests(), Vec::<String>::new(), "nothing reached AWS");
    assert!(!env.path("state/kops-wizard/journal").exists());
}

#[tokio::test]
async fn dry_run_checks_and_prints_the_plan_but_changes_nothing() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let file = env.answers(&answers(""));
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "--dry-run", "-c"]).arg(file));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("✔ kops") && out.contains("kops_as_user create cluster"), "{out}");
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.is_empty());
    assert!(!j.user_exists("kops").await);
    assert!(!env.path("state/kops-wizard/journal").exists());
    assert!(!env.home().join(".ssh").exists());
    assert_eq!(verbs(&env.kops_calls()), ["version"]);
}

#[test]
fn an_existing_key_of_another_type_is_reported_and_kept() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let ssh = env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let (code, _, err) = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-C", "mine", "-f"])
        .arg(ssh.join("kops")));
    assert_eq!(code, 0, "{err}");
    let before = fs::read(ssh.join("kops")).unwrap();

    // Refused before anything is created (it used to stop at the SSH step, after IAM and S3).
    let (code, _, err) = setup(&env, &answers(""));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the answers ask for ed25519") && err.contains("ssh.overwrite"), "{err}");
    assert!(err.contains("ssh.public_key"), "{err}");
    assert_eq!(fs::read(ssh.join("kops")).unwrap(), before, "the key was not touched");
    assert_eq!(moto.requests(), Vec::<String>::new(), "nothing reached AWS");

    // With overwrite the old pair is moved aside, never deleted.
    let (code, out, err) = setup(
        &env,
        &answers("").replace("key_type = \"ed25519\"", "key_type = \"ed25519\"\noverwrite = true"),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let aside: Vec<_> = fs::read_dir(&ssh)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("kops.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "the old private key is kept aside");
    assert_eq!(fs::read(aside[0].path()).unwrap(), before);
}

#[test]
fn the_default_rsa_key_is_generated_and_a_cluster_with_another_key_gets_ours() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let rsa = answers("").replace("key_type = \"ed25519\"", "key_type = \"rsa-4096\"");
    let (code, out, err) = setup(&env, &rsa);
    assert_eq!(code, 0, "{out}\n{err}");
    let public = fs::read_to_string(env.home().join(".ssh/kops.pub")).unwrap();
    assert!(public.starts_with("ssh-rsa "), "{public}");
    let (code, bits, _) =
        run(Command::new("ssh-keygen").arg("-l").arg("-f").arg(env.home().join(".ssh/kops.pub")));
    assert_eq!(code, 0);
    assert!(bits.starts_with("4096 "), "{bits}");

    // Someone replaced the cluster's key: the next run puts ours back.
    let other = env.path("other");
    run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&other));
    let mut cmd = Command::new(env.path("bin/kops"));
    env.apply(&mut cmd).args([
        "delete",
        "sshpublickey",
        "--name",
        "dev.example.com",
        "--state",
        "s3://cluster-kops-state",
    ]);
    assert_eq!(run(&mut cmd).0, 0);
    let mut cmd = Command::new(env.path("bin/kops"));
    env.apply(&mut cmd)
        .args([
            "create",
            "sshpublickey",
            "--name",
            "dev.example.com",
            "--state",
            "s3://cluster-kops-state",
            "-i",
        ])
        .arg(other.with_extension("pub"));
    assert_eq!(run(&mut cmd).0, 0);

    let (code, out, err) = setup(&env, &rsa);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("the cluster's SSH key replaced"), "{out}");
    let mut cmd = Command::new(env.path("bin/kops"));
    env.apply(&mut cmd).args([
        "get",
        "sshpublickey",
        "--name",
        "dev.example.com",
        "--state",
        "s3://cluster-kops-state",
        "-o",
        "json",
    ]);
    let (_, listed, _) = run(&mut cmd);
    let ours = public.split_whitespace().nth(1).unwrap();
    assert!(listed.contains(ours), "{listed}");
}

#[test]
fn ctrl_c_exits_130_and_a_rerun_continues() {
    use std::io::{BufRead, BufReader};
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    env.set("FAKE_KOPS_VALIDATE", "never-ready");
    let file = env.answers(&answers(""));
    let mut child = env
        .wizard()
        .args(["setup", "--yes", "-c"])
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("validate: ") {
            break;
        }
    }
    crate::support::evidence::shown("output", &seen.join("\n"));
    let (code, _, _) = run(Command::new("kill").args(["-INT", &child.id().to_string()]));
    assert_eq!(code, 0);
    let (code, _, err) = crate::support::finish(child);
    assert_eq!(code, 130, "{err}");
    assert!(err.contains("interrupted"), "{err}");

    env.unset("FAKE_KOPS_VALIDATE");
    let before = env.kops_calls().len();
    let (code, out, err) = setup(&env, &answers(""));
    assert_eq!(code, 0, "{out}\n{err}");
    let again = verbs(&env.kops_calls()[before..]);
    assert!(!again.iter().any(|v| v == "create cluster" || v == "update cluster"), "{again:?}");
}
