//! `teardown` after a real setup (moto + the kops stand-in): what is left is read from AWS,
//! the credentials files and the stand-in's cloud, not from the wizard's output.

use std::fs;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use crate::support::judge::Judge;
use crate::support::tmux::{confirm_teardown, cooked};
use crate::support::{Moto, TestEnv, admin_clients, ready_env, run};

const ANSWERS: &str = r#"
[state_store]
bucket = "teardown-kops-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "td.example.com"
[validate]
wait = "1m"
interval = "100ms"
"#;

fn wizard(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(ANSWERS);
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// Judged with plain SDK calls (support/judge.rs), not the wizard's own look-ups.
async fn nothing_left(moto: &Moto, env: &TestEnv) {
    let j = Judge::new(moto).await;
    assert!(j.users().await.is_empty(), "the IAM user is left");
    assert!(j.groups().await.is_empty(), "the IAM group is left");
    assert!(j.buckets().await.is_empty(), "a bucket is left");
    assert!(!env.cloud().contains("td.example.com"), "cloud resources are left: {}", env.cloud());
    let creds = fs::read_to_string(env.home().join(".aws/credentials")).unwrap_or_default();
    assert!(!creds.contains("[kops]"), "{creds}");
    let config = fs::read_to_string(env.home().join(".aws/config")).unwrap_or_default();
    assert!(!config.contains("[profile kops]"), "{config}");
}

#[tokio::test]
async fn setup_then_teardown_leaves_nothing() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let (code, out, err) = wizard(&env, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(env.cloud().contains("td.example.com"));

    // The plan shows the journal's resources only.
    let (_, plan, _) = wizard(&env, &["plan", "--teardown"]);
    assert!(
        plan.contains("kops_as_user delete cluster") && plan.contains("aws iam delete-group"),
        "{plan}"
    );
    assert!(plan.contains("Kept: SSH key ~/.ssh/kops.pub: pass --delete-ssh-key"), "{plan}");

    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Will delete, in this order:"), "{out}");
    assert!(out.contains("cloud resources (kops delete cluster)"), "kops's inventory: {out}");
    assert!(out.contains("1 × vpc"), "kops's resources by type: {out}");
    assert!(out.contains("object versions and") && out.contains("delete markers"), "{out}");
    assert!(out.contains("nothing left that the wizard created"), "{out}");
    nothing_left(&moto, &env).await;
    assert!(env.home().join(".ssh/kops").exists(), "the SSH key is kept without --delete-ssh-key");

    let (code, status, _) = run(env.wizard().arg("status"));
    assert_eq!(code, 0);
    assert!(
        status.contains("S3 bucket teardown-kops-state") && status.contains("deleted"),
        "{status}"
    );

    // --yes never falls back to the default cluster name: with the only cluster torn down,
    // no answers file names nothing to act on.
    let (code, _, err) = run(env.wizard().args(["teardown", "--yes"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("know no cluster with anything to tear down; pass --config FILE"),
        "{err}"
    );

    // A second teardown has nothing to do and says so.
    let (code, out, _) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Nothing to delete"), "{out}");
}

#[tokio::test]
async fn a_bucket_with_thousands_of_versions_and_markers_is_emptied_and_deleted() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    assert_eq!(wizard(&env, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let c = admin_clients(&moto).await;
    // 1500 keys written twice (two versions each), then 500 of them deleted (delete markers).
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..30 {
        let s3 = c.s3.clone();
        tasks.spawn(async move {
            for i in chunk * 50..(chunk + 1) * 50 {
                // The cluster's own state, as kops rewrites it: anything outside the cluster's
                // prefix and the wizard's own would keep the bucket.
                let key = format!("td.example.com/extra/{i:05}");
                for body in [&b"one"[..], &b"two"[..]] {
                    s3.put_object()
                        .bucket("teardown-kops-state")
                        .key(&key)
                        .body(ByteStream::from_static(body))
                        .send()
                        .await
                        .unwrap();
                }
                if i % 3 == 0 {
                    s3.delete_object()
                        .bucket("teardown-kops-state")
                        .key(&key)
                        .send()
                        .await
                        .unwrap();
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let listed =
        c.s3.list_object_versions()
            .bucket("teardown-kops-state")
            .max_keys(1000)
            .send()
            .await
            .unwrap();
    assert_eq!(listed.is_truncated(), Some(true), "more than one page of versions");

    let before = moto.requests().len();
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The wizard's record is an object in the bucket too: each write of it is a version.
    // Counted from the server's log, up to the first DeleteObjects (the record is this
    // machine's file only from there on). The team's lease is not emptied with the rest: it
    // is this run's to the end, and its versions are the last objects deleted.
    let requests = moto.requests();
    let emptying = requests
        .iter()
        .position(|r| r.contains("POST /teardown-kops-state/?delete "))
        .expect("the bucket was emptied with DeleteObjects");
    let record = "/teardown-kops-state/kops-wizard/td.example.com.journal.json";
    let own = requests[..emptying]
        .iter()
        .filter(|r| {
            (r.contains(&format!("\"PUT {record}")) || r.contains(&format!("\"DELETE {record}")))
                && (r.contains("\" 200 ") || r.contains("\" 204 "))
        })
        .count();
    assert!(own > 0, "the record is in the bucket: {requests:#?}");
    let total = 3500 + own;
    // After the emptying: the lease's versions, one by one, and then the bucket, last.
    let after: Vec<&String> = requests[emptying..]
        .iter()
        .filter(|r| r.contains("\"DELETE /teardown-kops-state"))
        .collect();
    assert!(
        after.last().is_some_and(|r| r.contains("\"DELETE /teardown-kops-state ")
            || r.contains("\"DELETE /teardown-kops-state/ ")),
        "the bucket is the last thing deleted: {after:#?}"
    );
    assert!(
        after.iter().any(|r| r.contains("kops-wizard/lock.json")),
        "the lease is deleted after the rest, with the bucket: {after:#?}"
    );
    let wizards: Vec<_> =
        requests[..emptying].iter().filter(|r| r.contains("kops-wizard/")).collect();
    assert!(
        out.contains(&format!("{total} object versions and delete markers deleted")),
        "{out}\n{wizards:#?}"
    );
    // Counted by the server, not the wizard: 3500 versions (plus the wizard's own) go in
    // batches of at most 1000, so four DeleteObjects requests.
    let deletes = moto.requests()[before..]
        .iter()
        .filter(|r| r.contains("POST /teardown-kops-state/?delete "))
        .count();
    assert_eq!(deletes, 4, "DeleteObjects requests: {:#?}", &moto.requests()[before..]);
    assert!(c.s3.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn a_stuck_cluster_delete_stops_before_the_bucket_and_a_rerun_finishes() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    assert_eq!(wizard(&env, &["setup", "--yes"]).0, 0);
    env.set("FAKE_KOPS_DELETE", "stuck");
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("kops could not delete cluster td.example.com"), "{err}");
    assert!(err.contains("Run `kops-wizard teardown` again"), "{err}");
    let blocked: Vec<&str> =
        out.lines().filter(|l| l.contains("blocked by dependencies")).collect();
    // The stuck stand-in retries three rounds; the volumes go after the first, then the set
    // stays the same: two lines, one per change, none per retry.
    assert_eq!(blocked.len(), 2, "one line per change of the blocked set, not per retry:\n{out}");
    assert!(blocked[0].contains("volume:") && !blocked[1].contains("volume:"), "{blocked:?}");
    assert!(blocked[1].contains("vpc:vpc-"), "the blocked resources are named: {}", blocked[1]);
    let j = Judge::new(&moto).await;
    assert_eq!(j.users().await, ["kops"], "IAM is untouched");
    assert_eq!(j.key_ids("kops").await.len(), 1, "IAM is untouched");
    assert_eq!(j.buckets().await, ["teardown-kops-state"]);
    assert!(j.object_exists("teardown-kops-state", "td.example.com/config").await);

    env.unset("FAKE_KOPS_DELETE");
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    nothing_left(&moto, &env).await;
}

#[tokio::test]
async fn what_existed_before_is_kept_and_reported() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let c = admin_clients(&moto).await;
    c.create_bucket("teardown-kops-state", "us-east-1").await.unwrap();
    // Made by hand: no kops-wizard path or tag.
    c.iam.create_group().group_name("kops").send().await.unwrap();
    c.iam.create_user().user_name("kops").send().await.unwrap();
    assert_eq!(wizard(&env, &["setup", "--yes"]).0, 0);

    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    for kept in [
        "bucket teardown-kops-state: it was there before",
        "IAM user kops: it was there before",
        "IAM group kops: it was there before",
    ] {
        assert!(out.contains(kept), "{kept}:\n{out}");
    }
    let j = Judge::new(&moto).await;
    assert_eq!((j.users().await, j.groups().await), (vec!["kops".into()], vec!["kops".into()]));
    assert_eq!(j.buckets().await, ["teardown-kops-state"]);
    // What the wizard added to them is gone: its key, the membership, the policies, the cluster.
    assert!(j.key_ids("kops").await.is_empty());
    assert!(j.groups_of("kops").await.is_empty());
    assert!(j.group_policies("kops").await.is_empty());
    assert!(!env.cloud().contains("td.example.com"));
    assert!(!j.object_exists("teardown-kops-state", "td.example.com/config").await);
}

#[tokio::test]
async fn after_a_setup_that_died_halfway_only_its_work_is_deleted() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    env.set("FAKE_KOPS_FAIL_ONCE", "create");
    assert_eq!(wizard(&env, &["setup", "--yes"]).0, 1);
    env.unset("FAKE_KOPS_FAIL_ONCE");
    let calls_before = env.kops_calls().len();

    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let calls: Vec<Value> = env.kops_calls()[calls_before..].to_vec();
    assert!(
        calls.iter().all(|c| c["argv"][0] != "delete"),
        "no cluster was made, so kops deletes nothing: {calls:?}"
    );
    nothing_left(&moto, &env).await;
}

/// tmux drives the real binary on a terminal, after a setup that stopped before the cluster:
/// a wrong name aborts and deletes nothing, the right one deletes the user and the bucket.
#[tokio::test]
async fn the_typed_confirmation_guards_the_deletion() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    assert_eq!(wizard(&env, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let file = env.answers(ANSWERS);
    let argv: Vec<String> = [env!("CARGO_BIN_EXE_kops-wizard"), "teardown", "--plain", "-c"]
        .into_iter()
        .map(String::from)
        .chain([file.display().to_string()])
        .collect();
    let j = Judge::new(&moto).await;

    let (code, screen, stty) = confirm_teardown(&env, &argv, (150, 50), "prod.example.com");
    assert!(code == 1 && screen.contains("Nothing was deleted"), "{screen}");
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    assert!(j.user_exists("kops").await, "a wrong name deletes nothing");
    assert!(
        j.buckets().await.contains(&"teardown-kops-state".to_string()),
        "a wrong name deletes nothing"
    );

    let (code, screen, stty) = confirm_teardown(&env, &argv, (150, 50), "td.example.com");
    assert_eq!(code, 0, "{screen}");
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    assert!(!j.user_exists("kops").await);
    assert!(!j.buckets().await.contains(&"teardown-kops-state".to_string()));
}

/// `teardown --yes` with no answers file acts on the one cluster this machine knows; with two,
/// it lists them, deletes nothing, and `--cluster` picks one. Judged by what AWS still has.
#[tokio::test]
async fn teardown_yes_without_an_answers_file_acts_on_the_one_known_cluster() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let j = Judge::new(&moto).await;
    let second = ANSWERS.replace("td.example.com", "second.example.com");
    let second_file = env.path("second.toml");
    fs::write(&second_file, second).unwrap();
    let only = ["setup", "--yes", "--only", "credentials,state-store"];
    assert_eq!(wizard(&env, &only).0, 0);
    let (code, out, err) = run(env.wizard().args(only).arg("-c").arg(&second_file));
    assert_eq!(code, 0, "{out}\n{err}");

    let (code, out, err) = run(env.wizard().args(["teardown", "--yes"]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("know 2 clusters; name one with --cluster NAME"), "{err}");
    assert!(err.contains("\n  second.example.com (us-east-1, s3://teardown-kops-state)"), "{err}");
    assert!(err.contains("\n  td.example.com (us-east-1, s3://teardown-kops-state)"), "{err}");
    assert_eq!(j.users().await, ["kops"], "nothing is deleted when the cluster is not clear");
    assert_eq!(j.buckets().await, ["teardown-kops-state"]);

    let (code, _, err) = run(env.wizard().args(["teardown", "--yes", "--cluster", "nope"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--cluster nope: ") && err.contains("td.example.com"), "{err}");

    // The picked one goes; what the other still uses (the shared bucket and user) stays.
    let (code, out, err) =
        run(env.wizard().args(["teardown", "--yes", "--cluster", "second.example.com"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("acting on second.example.com (us-east-1, s3://teardown-kops-state)"));
    assert_eq!(j.users().await, ["kops"], "the other cluster's user is kept");
    assert_eq!(j.buckets().await, ["teardown-kops-state"], "the other cluster's bucket is kept");

    // One left: no name needed, and then nothing is left.
    let (code, out, err) = run(env.wizard().args(["teardown", "--yes"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("acting on td.example.com"), "{err}");
    nothing_left(&moto, &env).await;
}
