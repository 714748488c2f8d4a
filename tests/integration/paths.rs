//! Paths the other tests never took, end to end against moto and the stand-in: another region,
//! the oldest and newest kops versions the wizard drives, a custom profile, the user's own SSH
//! key at a custom path with `--state-dir`, `--only` one step at a time, and a kops delete that
//! fails for another reason than a timeout. Judged by boto3 / plain SDK calls, the files and
//! the stand-in's call log.

use std::fs;
use std::process::Command;

use serde_json::Value;

use crate::support::{Moto, TestEnv, admin_clients, python_c, ready_env, run};

fn wizard(env: &TestEnv, toml: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(toml);
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// A boto3 expression's value against moto with the admin keys (`s3`, `iam` ready).
fn boto3(env: &TestEnv, region: &str, code: &str) -> String {
    let script = format!(
        "import boto3, json\ns3 = boto3.client('s3', region_name={region:?})\n\
         iam = boto3.client('iam', region_name={region:?})\nprint(json.dumps({code}))\n"
    );
    let (code, out, err) = python_c(&env.vars_without(&[]), &script);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

fn verbs_with_args(env: &TestEnv) -> Vec<Vec<String>> {
    env.kops_calls()
        .iter()
        .map(|c| {
            c["argv"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn another_region_end_to_end_location_zones_and_the_profiles_region() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let toml = "[aws]\nregion = \"eu-west-1\"\n[state_store]\nbucket = \"eu-kops-state\"\n\
                [ssh]\nkey_type = \"ed25519\"\n[cluster]\nname = \"eu.example.com\"\n\
                [validate]\nwait = \"1m\"\ninterval = \"100ms\"\n";
    let (code, out, err) = wizard(&env, toml, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let location = boto3(
        &env,
        "eu-west-1",
        "s3.get_bucket_location(Bucket='eu-kops-state')['LocationConstraint']",
    );
    assert_eq!(location, "\"eu-west-1\"", "the bucket is not in eu-west-1");
    let config = fs::read_to_string(env.home().join(".aws/config")).expect("the config file");
    let section = config.split("[profile kops]").nth(1).expect("the kops profile's section");
    assert!(section.lines().any(|l| l.replace(' ', "") == "region=eu-west-1"), "{config}");
    let create = verbs_with_args(&env)
        .into_iter()
        .find(|a| a.starts_with(&["create".to_string(), "cluster".to_string()]))
        .unwrap();
    let zones = create.iter().position(|a| a == "--zones").map(|i| create[i + 1].clone());
    assert_eq!(zones.as_deref(), Some("eu-west-1a"), "{create:?}");
    assert!(env.cloud().contains("eu.example.com"));

    let (code, out, err) = wizard(&env, toml, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(boto3(&env, "eu-west-1", "[b['Name'] for b in s3.list_buckets()['Buckets']]"), "[]");
    assert!(!env.cloud().contains("eu.example.com"));
}

#[tokio::test]
async fn kops_1_28_1_30_and_1_31_each_set_up_validate_and_tear_down() {
    let moto = Moto::start();
    for (version, name) in [("1.28.5", "k128"), ("1.30.4", "k130"), ("1.31.0", "k131")] {
        let mut env = ready_env(&moto);
        env.set("FAKE_KOPS_VERSION", version);
        let toml = format!(
            "[state_store]\nbucket = \"{name}-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n\
             [cluster]\nname = \"{name}.example.com\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
        );
        let (code, out, err) = wizard(&env, &toml, &["setup", "--yes"]);
        assert_eq!(code, 0, "kops {version}: {out}\n{err}");
        assert!(out.contains("is ready"), "kops {version} never validated: {out}");
        // Before 1.31 validate talks to the API through the context `--admin` exported.
        let kubeconfig = fs::read_to_string(env.home().join(".kube/config")).expect("kubeconfig");
        assert!(
            kubeconfig.contains(&format!("{name}.example.com")),
            "kops {version}: {kubeconfig}"
        );
        let (code, out, err) = wizard(&env, &toml, &["teardown", "--yes"]);
        assert_eq!(code, 0, "kops {version}: {out}\n{err}");
        assert!(!env.cloud().contains(&format!("{name}.example.com")), "kops {version}");
        // Each user went with its own teardown; the next version starts from a clean account.
        let c = admin_clients(&moto).await;
        assert!(c.iam.list_users().send().await.unwrap().users().is_empty(), "kops {version}");
    }
}

#[tokio::test]
async fn a_custom_profile_the_users_own_key_at_a_custom_path_and_a_state_dir() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let keys = env.home().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "team", "-f"])
        .arg(keys.join("team"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let public_before = fs::read(keys.join("team.pub")).unwrap();
    let state_dir = env.path("elsewhere/state");
    let toml = "[aws]\nkops_profile = \"team-kops\"\n[state_store]\nbucket = \"team-kops-state\"\n\
                [ssh]\npublic_key = \"~/keys/team.pub\"\ngenerate = false\n\
                [cluster]\nname = \"team.example.com\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n";
    let dir = state_dir.display().to_string();
    let (code, stdout, err) = wizard(&env, toml, &["--state-dir", &dir, "setup", "--yes"]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let credentials = fs::read_to_string(env.home().join(".aws/credentials")).unwrap();
    assert!(
        credentials.contains("[team-kops]") && !credentials.contains("[kops]"),
        "{credentials}"
    );
    assert!(
        state_dir.join("journal/team.example.com.json").exists(),
        "the journal is not in --state-dir"
    );
    assert!(!env.path("state/kops-wizard/journal").exists(), "the default state dir was used");
    let create = verbs_with_args(&env)
        .into_iter()
        .find(|a| a.starts_with(&["create".to_string(), "cluster".to_string()]))
        .unwrap();
    let key = create.iter().position(|a| a == "--ssh-public-key").map(|i| create[i + 1].clone());
    assert_eq!(key, Some(keys.join("team.pub").display().to_string()), "{create:?}");
    // kops ran as the custom profile.
    let calls = env.kops_calls();
    assert!(
        calls.iter().filter(|c| c["argv"][0] == "create").all(|c| c["aws_profile"] == "team-kops"),
        "{calls:?}"
    );

    let (code, out, err) =
        wizard(&env, toml, &["--state-dir", &dir, "teardown", "--yes", "--delete-ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The user's own key was there before setup: even --delete-ssh-key keeps it.
    assert_eq!(fs::read(keys.join("team.pub")).unwrap(), public_before);
    assert!(keys.join("team").exists());
    let credentials = fs::read_to_string(env.home().join(".aws/credentials")).unwrap();
    assert!(!credentials.contains("[team-kops]"), "{credentials}");
}

#[tokio::test]
async fn half_a_key_pair_stops_setup_and_names_the_file() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let ssh = env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(ssh.join("kops"))
        .output()
        .unwrap();
    assert!(out.status.success());
    fs::remove_file(ssh.join("kops.pub")).unwrap();
    let private = fs::read(ssh.join("kops")).unwrap();
    let toml = "[state_store]\nbucket = \"half-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n";
    let (code, out, err) = wizard(&env, toml, &["setup", "--yes"]);
    assert_ne!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&ssh.join("kops").display().to_string())
            && err.contains("without its public key"),
        "{err}"
    );
    assert_eq!(fs::read(ssh.join("kops")).unwrap(), private, "the private key was touched");
    assert!(!ssh.join("kops.pub").exists(), "a public key was made up");
}

#[tokio::test]
async fn only_one_step_at_a_time_does_that_step_and_nothing_after_it() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let toml = "[state_store]\nbucket = \"only-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n\
                [cluster]\nname = \"only.example.com\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n";
    let c = admin_clients(&moto).await;
    let buckets = || async { c.s3.list_buckets().send().await.unwrap().buckets().len() };
    let kops_verbs = |env: &TestEnv| -> Vec<String> {
        verbs_with_args(env)
            .iter()
            .map(|a| a.iter().take(2).cloned().collect::<Vec<_>>().join(" "))
            .collect()
    };

    // IAM changes only under the team's lock, which lives in the bucket: before the bucket
    // exists, `--only credentials` is refused with nothing changed.
    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "credentials"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("--only state-store,credentials"), "{err}");
    assert_eq!(c.iam.list_users().send().await.unwrap().users().len(), 0);
    assert_eq!(c.iam.list_groups().send().await.unwrap().groups().len(), 0);
    assert_eq!(buckets().await, 0, "--only credentials made a bucket");

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "state-store"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(buckets().await, 1);
    assert_eq!(
        c.iam.list_users().send().await.unwrap().users().len(),
        0,
        "--only state-store made IAM"
    );
    assert!(!env.home().join(".ssh/kops").exists(), "--only state-store made a key");

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(c.iam.list_users().send().await.unwrap().users().len(), 1);

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(env.home().join(".ssh/kops").exists());
    assert!(
        !kops_verbs(&env).contains(&"create cluster".to_string()),
        "--only ssh-key ran kops create"
    );

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "cluster"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(kops_verbs(&env).contains(&"create cluster".to_string()));
    assert!(
        !kops_verbs(&env).contains(&"update cluster".to_string()),
        "--only cluster deployed it"
    );

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "deploy"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(env.cloud().contains("only.example.com"));
    assert!(!kops_verbs(&env).contains(&"validate cluster".to_string()), "--only deploy validated");

    let (code, out, err) = wizard(&env, toml, &["setup", "--yes", "--only", "validate"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("is ready"), "{out}");
    // Still one of each after six partial runs.
    let keys = c.iam.list_access_keys().user_name("kops").send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);
    assert_eq!(buckets().await, 1);
    assert_eq!(kops_verbs(&env).iter().filter(|v| *v == "create cluster").count(), 1);
}

#[tokio::test]
async fn a_kops_delete_refused_by_aws_deletes_nothing_and_a_rerun_finishes() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let toml = "[state_store]\nbucket = \"denied-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n\
                [cluster]\nname = \"denied.example.com\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n";
    let (code, out, err) = wizard(&env, toml, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let c = admin_clients(&moto).await;
    // Every version and delete marker but the wizard's own record and lock (which it writes
    // in the bucket by design): the cluster's state must stay exactly as it was.
    let versions = || async {
        let v = c.s3.list_object_versions().bucket("denied-kops-state").send().await.unwrap();
        let mut all: Vec<String> = v
            .versions()
            .iter()
            .map(|x| (x.key(), x.version_id()))
            .chain(v.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            .filter(|(k, _)| !k.unwrap_or_default().starts_with("kops-wizard/"))
            .map(|(k, id)| format!("{}@{}", k.unwrap_or_default(), id.unwrap_or_default()))
            .collect();
        all.sort();
        all
    };
    let before = versions().await;
    env.set("FAKE_KOPS_FAIL_ONCE", "delete");
    let (code, out, err) = wizard(&env, toml, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    // kops lists the SQS queues in its preview too, so it fails before anything is deleted.
    assert!(err.contains("AccessDenied") && err.contains("sqs:listqueues"), "kops's reason: {err}");
    assert!(env.cloud().contains("denied.example.com"), "cloud resources went");
    assert_eq!(versions().await, before, "the bucket was touched after kops failed");
    let keys = c.iam.list_access_keys().user_name("kops").send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1, "IAM was touched after kops failed");

    env.unset("FAKE_KOPS_FAIL_ONCE");
    let (code, out, err) = wizard(&env, toml, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(c.s3.list_buckets().send().await.unwrap().buckets().is_empty());
    assert!(c.iam.list_users().send().await.unwrap().users().is_empty());
}
