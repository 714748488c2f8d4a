//! `kops-wizard plan`: snapshots of the scripts, and proof that bash accepts them and that a
//! placeholder stops the script before it changes anything.

use std::path::Path;
use std::process::Command;

use crate::support::{TestEnv, repo, run};

fn plan(env: &TestEnv, args: &[&str]) -> String {
    // Run from the checkout with relative paths: the header names the answers file, and an
    // absolute path (different per checkout) would change how its comment wraps.
    let (code, out, err) = run(env.wizard().current_dir(repo()).arg("plan").args(args));
    assert_eq!(code, 0, "plan {args:?} failed: {err}");
    out
}

fn bash_accepts(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.sh");
    std::fs::write(&file, script).unwrap();
    let (code, _, err) = run(Command::new("bash").arg("-n").arg(&file));
    assert_eq!(code, 0, "bash -n rejects the plan: {err}\n{script}");
}

fn fixture(name: &str) -> String {
    format!("tests/fixtures/{name}")
}

#[test]
fn defaults() {
    let env = TestEnv::new(None);
    let script = plan(&env, &[]);
    bash_accepts(&script);
    insta::assert_snapshot!("plan_defaults", script);
}

#[test]
fn example_answers() {
    let env = TestEnv::new(None);
    let example = "config/example.toml".to_string();
    let script = plan(&env, &["-c", &example]);
    bash_accepts(&script);
    assert!(script.contains("BUCKET=example-team-kops-state-store"), "{script}");
    assert!(script.contains("--node-count 2"), "{script}");
}

#[test]
fn private_topology_with_bastion() {
    let env = TestEnv::new(None);
    let script = plan(&env, &["-c", &fixture("private-bastion.toml")]);
    bash_accepts(&script);
    assert!(
        script.contains("LocationConstraint=eu-west-1"),
        "outside us-east-1 the bucket needs a location"
    );
    assert!(
        script.contains("\"$HOME\"/'keys/acme kops.pub'"),
        "a path with a space stays one word"
    );
    insta::assert_snapshot!("plan_private_bastion", script);
}

#[test]
fn teardown() {
    let env = TestEnv::new(None);
    let example = "config/example.toml".to_string();
    let script = plan(&env, &["--teardown", "-c", &example]);
    bash_accepts(&script);
    let empty = script.find("empty_versioned_bucket \"${BUCKET}\"").expect("the bucket is emptied");
    let delete = script.find("aws s3api delete-bucket").expect("the bucket is deleted");
    let kops = script.find("kops_as_user delete cluster").expect("the cluster is deleted");
    assert!(kops < empty && empty < delete, "cluster, then every version, then the bucket");
    insta::assert_snapshot!("plan_teardown", script);
}

/// Installs a fake `aws` that records its arguments, so a test can see whether the script
/// would have changed anything.
fn recording_aws(env: &TestEnv) -> std::path::PathBuf {
    let log = env.path("aws-calls.log");
    let aws = env.path("bin/aws");
    std::fs::write(&aws, format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display())).unwrap();
    std::fs::set_permissions(&aws, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    log
}

#[test]
fn a_placeholder_stops_the_script_before_any_change() {
    let env = TestEnv::new(None);
    let script = plan(&env, &[]);
    let file = env.path("plan.sh");
    std::fs::write(&file, &script).unwrap();
    let log = recording_aws(&env);

    let (code, _, err) = run(env.apply(&mut Command::new("bash")).arg(&file));
    assert_ne!(code, 0);
    assert!(err.contains("state_store.bucket is not set"), "{err}");
    assert!(!Path::new(&log).exists(), "aws ran before the placeholder check");
}
