//! The full-screen teardown end to end: the real binary in tmux after a real setup (moto + the
//! kops stand-in), judged by what AWS (plain SDK calls written here), the credentials file,
//! the SSH key files and the stand-in's cloud hold afterwards, not by the wizard's words.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::judge::Judge;
use crate::support::tmux::{Tmux, cooked};
use crate::support::{Moto, TestEnv, run};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const CLUSTER: &str = "tuitd.k8s.local";

fn bin() -> String {
    env!("CARGO_BIN_EXE_kops-wizard").to_string()
}

/// A finished setup (headless, the quick way there) and the answers file it used.
fn set_up(moto: &Moto, bucket: &str) -> (TestEnv, PathBuf) {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    let answers = env.answers(&format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [cluster]\nname = \"{CLUSTER}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    ));
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    (env, answers)
}

/// What exists now, read with the admin keys through plain SDK calls.
#[derive(Debug, PartialEq, Eq)]
struct Aws {
    buckets: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
    /// Access keys of user `kops` (empty when the user is gone).
    keys: Vec<String>,
    /// Object versions plus delete markers in the bucket (0 when it is gone), but the wizard's
    /// own record and lock under `kops-wizard/`, which every teardown writes by design.
    versions: usize,
}

async fn aws(moto: &Moto, bucket: &str) -> Aws {
    let j = Judge::new(moto).await;
    let buckets = j.buckets().await;
    let versions = match buckets.iter().any(|b| b == bucket) {
        true => {
            let v = j.s3.list_object_versions().bucket(bucket).send().await.unwrap();
            let keys = v
                .versions()
                .iter()
                .map(|x| x.key())
                .chain(v.delete_markers().iter().map(|m| m.key()));
            keys.filter(|k| !k.unwrap_or_default().starts_with("kops-wizard/")).count()
        }
        false => 0,
    };
    Aws {
        users: j.users().await,
        groups: j.groups().await,
        keys: j.key_ids("kops").await,
        buckets,
        versions,
    }
}

fn read(path: &std::path::Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn profile_saved(env: &TestEnv) -> bool {
    read(&env.home().join(".aws/credentials")).contains("[kops]")
}

/// `kops-wizard teardown` in a terminal, with the flags given, on the inventory.
fn open_teardown(env: &TestEnv, answers: &std::path::Path, flags: &[&str], out: &str) -> Tmux {
    let mut argv = vec![bin(), "teardown".to_string()];
    argv.extend(flags.iter().map(|f| f.to_string()));
    argv.extend(["-c".to_string(), answers.display().to_string()]);
    let term = Tmux::start_to(env, &argv, 100, 32, Some(&env.path(out)));
    term.wait_for(&format!("Type {CLUSTER} to delete it"), SECS(60));
    // The inventory has arrived: its summary names kops's count of cloud resources.
    term.wait_for("cloud resources (kops delete cluster)", SECS(10));
    term
}

#[tokio::test]
async fn a_wrong_name_deletes_nothing_and_the_right_one_leaves_nothing() {
    let moto = Moto::start();
    let bucket = "acme-tui-teardown";
    let (env, answers) = set_up(&moto, bucket);
    let before = aws(&moto, bucket).await;
    assert_eq!((before.users.len(), before.groups.len(), before.keys.len()), (1, 1, 1));
    assert!(before.versions > 0, "setup left the cluster's state in the bucket");

    let term = open_teardown(&env, &answers, &[], "out.txt");
    // The rest of the inventory is PgDn away: the bucket's contents, IAM, what is kept.
    let seen = scrolled(&term, &["object versions and", "IAM user kops"]);
    assert!(seen.contains("object versions and"), "{seen}");
    let screen = term.wait_for("IAM user kops", SECS(10));
    assert!(screen.contains("lines above: PgUp"), "{screen}");
    term.type_text("tuitd.k8s.loca");
    term.keys(&["Enter"]);
    term.wait_for("is not the cluster's name", SECS(10));
    // Judged once the program has ended: a teardown started by mistake cannot still be
    // deleting in the background while AWS is looked at.
    term.keys(&["C-c"]);
    let (code, stty) = term.finished(SECS(30));
    assert_ne!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "the terminal was not restored: {stty}");
    drop(term);
    assert_eq!(aws(&moto, bucket).await, before, "a wrong name changed AWS");
    assert!(env.cloud().contains(CLUSTER), "a wrong name deleted cloud resources");
    assert!(profile_saved(&env));

    let term = open_teardown(&env, &answers, &[], "out.txt");
    term.type_text(CLUSTER);
    term.keys(&["Enter"]);
    let screen = term.wait_for(&format!("Nothing left of {CLUSTER}"), SECS(120));
    assert!(screen.contains("✔ Delete"), "{screen}");
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "the terminal was not restored: {stty}");
    let summary = read(&env.path("out.txt"));
    assert!(summary.contains("teardown done: nothing left"), "{summary}");

    let after = aws(&moto, bucket).await;
    assert_eq!(
        after,
        Aws { buckets: vec![], users: vec![], groups: vec![], keys: vec![], versions: 0 }
    );
    assert!(!env.cloud().contains(CLUSTER), "the stand-in still has the cluster: {}", env.cloud());
    assert!(!profile_saved(&env), "the profile is still saved");
    assert!(env.home().join(".ssh/kops").exists(), "the SSH key goes only when asked");
}

#[tokio::test]
async fn keep_bucket_and_delete_ssh_key_toggles_from_the_offer_keep_and_delete_what_they_say() {
    let moto = Moto::start();
    let bucket = "acme-tui-toggles";
    let (env, answers) = set_up(&moto, bucket);
    // The wizard without a command, on a finished setup: the offer, then teardown.
    let argv = [bin(), "-c".to_string(), answers.display().to_string()];
    let term = Tmux::start_to(&env, &argv, 100, 32, Some(&env.path("out.txt")));
    term.wait_for("Found an existing cluster", SECS(30));
    term.keys(&["Down"]);
    term.wait_for("▶ Tear it down", SECS(10));
    term.keys(&["Enter"]);
    term.wait_for(&format!("Type {CLUSTER} to delete it"), SECS(60));
    // The inventory has arrived: its summary names kops's count of cloud resources.
    term.wait_for("cloud resources (kops delete cluster)", SECS(10));
    // Tab: keep bucket; three more: delete SSH key.
    term.keys(&["Tab", "Space"]);
    term.wait_for("[x] keep bucket", SECS(10));
    // The plan changed: the bucket is in the kept list at the end, its versions still go.
    let seen = scrolled(&term, &["--keep-bucket", "(the bucket stays)"]);
    assert!(seen.contains("--keep-bucket") && seen.contains("(the bucket stays)"), "{seen}");
    term.keys(&["Tab", "Tab", "Space"]);
    term.wait_for("[x] delete SSH key", SECS(10));
    term.keys(&["BTab", "BTab", "BTab"]);
    term.type_text(CLUSTER);
    term.keys(&["Enter"]);
    term.wait_for(&format!("Nothing left of {CLUSTER}"), SECS(120));
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");

    let after = aws(&moto, bucket).await;
    assert_eq!(after.buckets, vec![bucket.to_string()], "keep bucket kept it");
    assert_eq!(after.versions, 0, "the deleted cluster's versions went, the bucket stayed");
    assert!(after.users.is_empty() && after.groups.is_empty(), "{after:?}");
    assert!(!env.home().join(".ssh/kops").exists(), "delete SSH key deleted the private key");
    assert!(!env.home().join(".ssh/kops.pub").exists(), "and the public key");
    assert!(!env.cloud().contains(CLUSTER));
}

#[tokio::test]
async fn the_keep_iam_flag_starts_the_toggle_on_and_keeps_user_group_key_and_profile() {
    let moto = Moto::start();
    let bucket = "acme-tui-keepiam";
    let (env, answers) = set_up(&moto, bucket);
    let before = aws(&moto, bucket).await;
    let term = open_teardown(&env, &answers, &["--keep-iam"], "out.txt");
    term.wait_for("[x] keep IAM", SECS(10));
    term.type_text(CLUSTER);
    term.keys(&["Enter"]);
    term.wait_for(&format!("Nothing left of {CLUSTER}"), SECS(120));
    term.keys(&["Enter"]);
    let (code, _) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());

    let after = aws(&moto, bucket).await;
    assert!(after.buckets.is_empty(), "the bucket went: {after:?}");
    assert_eq!((after.users, after.groups), (before.users, before.groups), "IAM was kept");
    assert_eq!(after.keys, before.keys, "the access key was kept");
    assert!(profile_saved(&env), "the profile was kept with --keep-iam");
    assert!(env.home().join(".ssh/kops").exists(), "the SSH key was kept");
}

#[tokio::test]
async fn a_stuck_kops_delete_is_exit_1_leaves_bucket_and_iam_whole_and_a_rerun_finishes() {
    let moto = Moto::start();
    let bucket = "acme-tui-stuck";
    let (mut env, answers) = set_up(&moto, bucket);
    let before = aws(&moto, bucket).await;
    env.set("FAKE_KOPS_DELETE", "stuck");
    let term = open_teardown(&env, &answers, &[], "out.txt");
    term.type_text(CLUSTER);
    term.keys(&["Enter"]);
    let screen = term.wait_for("Teardown stopped", SECS(120));
    assert!(screen.contains("Still there"), "{screen}");
    assert!(screen.contains("blocked") || term.joined().contains("wait time exceeded"), "{screen}");
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 1, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    let summary = read(&env.path("out.txt"));
    assert!(summary.contains("Run `kops-wizard teardown` again to continue"), "{summary}");

    let after = aws(&moto, bucket).await;
    assert_eq!(after, before, "a failed kops delete must leave the bucket and IAM as they were");
    assert!(profile_saved(&env), "the profile is still saved");
    assert!(env.cloud().contains(CLUSTER), "the stuck resources are still in the cloud");

    env.unset("FAKE_KOPS_DELETE");
    let (code, out, err) = run(env.wizard().args(["teardown", "--yes", "-c"]).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    let after = aws(&moto, bucket).await;
    assert_eq!(
        after,
        Aws { buckets: vec![], users: vec![], groups: vec![], keys: vec![], versions: 0 }
    );
    assert!(!env.cloud().contains(CLUSTER));
    assert!(!profile_saved(&env));
}

#[tokio::test]
async fn the_offer_validates_a_finished_cluster_again_without_changing_it() {
    let moto = Moto::start();
    let bucket = "acme-tui-revalidate";
    let (env, answers) = set_up(&moto, bucket);
    let before = aws(&moto, bucket).await;
    let calls = env.kops_calls().len();
    let argv = [bin(), "-c".to_string(), answers.display().to_string()];
    let term = Tmux::start_to(&env, &argv, 100, 32, Some(&env.path("out.txt")));
    term.wait_for("Found an existing cluster", SECS(30));
    term.wait_for("▶ Validate it again", SECS(10));
    term.keys(&["Enter"]);
    term.wait_for("is set up and validated", SECS(120));
    term.keys(&["Enter"]);
    let (code, _) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    let verbs: Vec<String> = env.kops_calls()[calls..]
        .iter()
        .filter_map(|c| c["argv"].as_array()?.first()?.as_str().map(String::from))
        .collect();
    assert!(verbs.contains(&"validate".to_string()), "{verbs:?}");
    assert!(!verbs.iter().any(|v| v == "create" || v == "update" || v == "delete"), "{verbs:?}");
    assert_eq!(aws(&moto, bucket).await.keys, before.keys, "no new access key");
}

/// Every screen from here down, one PgDn at a time, until each of `wanted` has been on one (or
/// the inventory ends): the inventory is longer than a screen, and how much longer depends on
/// what kops and the cluster's API list.
fn scrolled(term: &Tmux, wanted: &[&str]) -> String {
    let mut seen = String::new();
    for _ in 0..12 {
        seen.push_str(&term.screen());
        if wanted.iter().all(|w| seen.contains(w)) || !term.page_down() {
            break;
        }
    }
    seen
}
