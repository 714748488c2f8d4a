//! The plan scripts run for real: the setup script with the aws CLI, ssh-keygen and the kops
//! stand-in against moto, then the teardown script; AWS's state is checked through the SDK.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::judge::Judge;
use crate::support::{Moto, TestEnv, admin_clients, pool, python, repo, run};

const ANSWERS: &str = r#"
[state_store]
bucket = "script-kops-state"
[cluster]
name = "script.example.com"
"#;

/// Puts the aws CLI (from the test Python) on the environment's PATH.
fn install_aws_cli(env: &TestEnv) {
    let ok =
        Command::new(python()).args(["-c", "import awscli"]).status().is_ok_and(|s| s.success());
    assert!(ok, "the test Python lacks the aws CLI: run scripts/test, which installs it");
    // Every command line the scripts give the aws CLI is logged, as `ps` would show it. The
    // call itself runs in a fork of the suite's fork server, which has the CLI imported (half
    // a second of CPU saved per call), or in a Python of its own without one.
    let aws = env.path("bin/aws");
    let log = env.path("aws-argv.log");
    let run_it = match pool() {
        Some(pool) => format!(
            "exec '{}' -S '{}' --aws '{}' \"$@\"",
            python().display(),
            repo().join("tests/support/kops_shim.py").display(),
            pool.display()
        ),
        None => format!("exec '{}' -m awscli \"$@\"", python().display()),
    };
    fs::write(&aws, format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >>'{}'\n{run_it}\n", log.display()))
        .unwrap();
    fs::set_permissions(&aws, fs::Permissions::from_mode(0o755)).unwrap();
}

fn script(env: &TestEnv, args: &[&str]) -> std::path::PathBuf {
    let answers = env.answers(ANSWERS);
    let (code, out, err) = run(env.wizard().arg("plan").args(args).arg("-c").arg(&answers));
    assert_eq!(code, 0, "{err}");
    let name = if args.is_empty() { "setup.sh" } else { "teardown.sh" };
    let path = env.path(name);
    fs::write(&path, out).unwrap();
    path
}

#[tokio::test]
async fn the_setup_and_teardown_scripts_work_against_aws() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    install_aws_cli(&env);
    let keep = "# a profile of the user's own\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n";
    fs::create_dir_all(env.home().join(".aws")).unwrap();
    fs::write(env.home().join(".aws/credentials"), keep).unwrap();

    let setup = script(&env, &[]);
    let (code, out, err) =
        run(env.apply(&mut Command::new("bash")).arg(&setup).current_dir(repo()));
    assert_eq!(code, 0, "the setup script failed:\n{out}\n{err}");
    // The script's smoke test (kubectl against the fake API): both pods answered through the
    // NLB the cloud controller made in moto for the Service.
    let answered = out.lines().find(|l| l.starts_with("answered through http://")).unwrap_or("");
    assert_eq!(answered.split_whitespace().count(), 5, "two pods:\n{out}");
    let judge = Judge::new(&moto).await;
    let service_nlbs = || async {
        let names = judge.boto3(
            "elbv2 = boto3.client('elbv2', **kw)\n\
             for lb in elbv2.describe_load_balancers()['LoadBalancers']:\n\
             \x20   if lb['LoadBalancerName'].startswith('k8s-kops-wiz'): print(lb['DNSName'])",
        );
        names.lines().map(str::to_string).collect::<Vec<_>>()
    };
    let nlbs = service_nlbs().await;
    assert_eq!(nlbs.len(), 1, "{nlbs:?}");
    assert!(answered.contains(&format!("http://{}/hostname", nlbs[0])), "{answered}");

    let c = admin_clients(&moto).await;
    assert_eq!(c.attached_group_policies("kops").await.unwrap().len(), 7);
    let keys = c.access_keys("kops").await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(c.versioning_enabled("script-kops-state").await.unwrap());
    assert!(c.encryption_enabled("script-kops-state").await.unwrap());
    // The new secret is in the credentials file (0600) and on no command line.
    let creds = fs::read_to_string(env.home().join(".aws/credentials")).unwrap();
    let secret = creds
        .split("[kops]")
        .nth(1)
        .and_then(|section| section.lines().find(|l| l.starts_with("aws_secret_access_key")))
        .and_then(|l| l.split('=').nth(1))
        .map(str::trim)
        .expect("the kops profile's secret is saved");
    assert!(secret.len() >= 20, "{secret}");
    let argv = fs::read_to_string(env.path("aws-argv.log")).unwrap();
    assert!(argv.contains("create-access-key"), "the log works: {argv}");
    assert!(!argv.contains(secret), "the secret was on a command line:\n{argv}");
    let mode = fs::metadata(env.home().join(".aws/credentials")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(creds.starts_with(keep), "the user's own profile comes first, unchanged:\n{creds}");
    let private = env.home().join(".ssh/kops");
    assert_eq!(fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
    // kops ran as the kops user, not with the admin's key variables.
    let calls = env.kops_calls();
    let create = calls.iter().find(|c| c["argv"][0] == "create").expect("kops create ran");
    assert_eq!(create["access_key_id"], keys[0].id.as_str(), "{create}");
    assert!(calls.iter().any(|c| c["argv"][0] == "validate"), "{calls:?}");

    // kops-like long keys: a page of 1000 of them is more than one command-line argument may
    // hold, which the emptying loop must survive.
    let mut fill = Command::new(python());
    env.apply(&mut fill).args([
        "-c",
        "import boto3\ns3 = boto3.client('s3')\nfor i in range(1100):\n    \
         s3.put_object(Bucket='script-kops-state', Key='script.example.com/backups/etcd/main/control/%s-%05d' % ('x' * 60, i), Body=b'v')",
    ]);
    let (code, _, err) = run(&mut fill);
    assert_eq!(code, 0, "{err}");

    // A planted symlink at the old predictable temp name must not receive the other
    // profiles' secrets.
    let planted = env.path("planted");
    std::os::unix::fs::symlink(&planted, env.home().join(".aws/credentials.tmp")).unwrap();
    let teardown = script(&env, &["--teardown"]);
    let (code, out, err) =
        run(env.apply(&mut Command::new("bash")).arg(&teardown).current_dir(repo()));
    assert_eq!(code, 0, "the teardown script failed:\n{out}\n{err}");
    assert!(service_nlbs().await.is_empty(), "the Service's NLB went with the teardown script");

    assert!(!c.user_exists("kops").await.unwrap());
    assert!(!c.group_exists("kops").await.unwrap());
    let buckets = c.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty(), "the versioned bucket was emptied and deleted");
    let cloud = fs::read_to_string(env.path("fake-kops/cloud.json")).expect("the cloud file");
    assert!(!cloud.contains("script.example.com"), "{cloud}");
    let creds = fs::read_to_string(env.home().join(".aws/credentials")).unwrap();
    assert_eq!(creds.trim_end(), keep.trim_end(), "only the kops profile is removed");
    assert!(!planted.exists(), "the profile removal wrote through a planted symlink");
    let mode = fs::metadata(env.home().join(".aws/credentials")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the rewritten credentials file is private");
    let strays: Vec<_> = fs::read_dir(env.home().join(".aws"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("credentials.") && n != "credentials.tmp")
        .collect();
    assert!(strays.is_empty(), "temp files left behind: {strays:?}");
    let config = fs::read_to_string(env.home().join(".aws/config")).unwrap_or_default();
    assert!(!config.contains("[profile kops]"), "{config}");
}
