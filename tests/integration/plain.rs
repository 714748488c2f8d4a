//! The line mode end to end: the real binary in tmux (send-keys, capture-pane) with `--plain`
//! (or `TERM=dumb`) against a moto server and the kops stand-in. Each prompt is answered only
//! once it is on screen; the result is judged by AWS's state (SDK and boto3 calls), the
//! credentials file, the stand-in's cloud, the exit code and `stty -a` afterwards.

use std::time::{Duration, Instant};

use kops_wizard::questions::QUESTIONS;

use crate::support::tmux::{Tmux, cooked};
use crate::support::{Moto, admin_clients, foreign_bucket, read, ready_env, run};

const SECS: fn(u64) -> Duration = Duration::from_secs;

use crate::support::bin;

/// Whether the live prompt asks `label`: inquire draws it last, as `? Label ...` with its
/// `[help]` line below (options in between for a list); an answered prompt keeps its
/// `? Label answer` line but loses the help, so an old line of the same label never counts.
/// (No question's label is part of another's.)
fn asking(screen: &str, label: &str) -> bool {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(at) = lines.iter().rposition(|l| l.starts_with("? ")) else {
        return false;
    };
    let help = |l: &&str| l.starts_with('[') && l.trim_end().ends_with(']');
    lines[at].contains(label) && lines[at + 1..].iter().any(help)
}

/// Waits until the prompt for `label` is live (lines the terminal wrapped joined again) and
/// returns the screen; panics with the screen after `limit`.
pub(crate) fn prompt(term: &Tmux, label: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let screen = term.joined();
        if asking(&screen, label) {
            return screen;
        }
        if start.elapsed() > limit {
            panic!("waited {limit:?} for the prompt {label:?}; the screen:\n{screen}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Answers the prompt for `label` with `keys` once it is on screen.
pub(crate) fn answer(term: &Tmux, label: &str, keys: &[&str]) -> String {
    let screen = prompt(term, label, SECS(60));
    term.keys(keys);
    screen
}

/// Types `text` into the prompt for `label` and presses Enter.
fn type_answer(term: &Tmux, label: &str, text: &str) -> String {
    let screen = prompt(term, label, SECS(60));
    term.type_text(text);
    term.keys(&["Enter"]);
    screen
}

/// The label of the question with this answers key.
fn label(key: &str) -> &'static str {
    QUESTIONS.iter().find(|q| q.key == key).map(|q| q.label).expect("a question with that key")
}

/// boto3 on moto as the admin (the shared judge's; `s3`, `iam`, `sts` ready).
fn boto3(moto: &Moto, code: &str) -> String {
    crate::support::judge::boto3_as(&moto.endpoint(), moto.admin_key().0, moto.admin_key().1, code)
}

async fn bucket_names(moto: &Moto) -> Vec<String> {
    let c = admin_clients(moto).await;
    let out = c.s3.list_buckets().send().await.expect("list buckets");
    out.buckets().iter().filter_map(|b| b.name().map(String::from)).collect()
}

async fn user_count(moto: &Moto) -> usize {
    admin_clients(moto).await.iam.list_users().send().await.expect("list users").users().len()
}

/// The access key ids of `user`.
async fn key_ids(moto: &Moto, user: &str) -> Vec<String> {
    let c = admin_clients(moto).await;
    let keys = c.iam.list_access_keys().user_name(user).send().await.expect("list keys");
    keys.access_key_metadata().iter().filter_map(|k| k.access_key_id().map(String::from)).collect()
}

#[tokio::test]
async fn plain_setup_typed_through_its_prompts_reaches_a_validated_cluster() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    foreign_bucket(&moto, "plain-taken-state").await;
    let file =
        env.answers("[cluster]\nname = \"plain.k8s.local\"\n[validate]\ninterval = \"1s\"\n");
    let out = env.path("out.txt");
    let argv = [bin(), "--plain".into(), "-c".into(), file.display().to_string()];
    let started = Instant::now();
    let term = Tmux::start_to(&env, &argv, 160, 60, Some(&out));

    // Credentials: one admin choice (the environment's key), so it is given, and checked.
    term.wait_for("✔ arn:aws:sts::123456789012:user/moto (account 123456789012)", SECS(60));
    assert!(term.screen().contains("Admin profile: (default chain)"), "{}", term.screen());
    for key in ["aws.region", "iam.group", "iam.user", "aws.kops_profile", "iam.policies"] {
        answer(&term, label(key), &["Enter"]);
    }

    // The bucket: suggested from the account; a name the rules refuse is refused with the
    // rule's message and never reaches AWS; a name another account owns is asked again.
    let screen = type_answer(&term, "Bucket", "Bad_Bucket");
    assert!(screen.contains("(kops-state-123456789012-us-east-1)"), "suggested:\n{screen}");
    term.wait_for(
        "# state_store.bucket: bucket names may contain only lower-case letters",
        SECS(20),
    );
    let screen = prompt(&term, "Bucket", SECS(20));
    assert!(screen.contains("Bad_Bucket"), "the refused text stays to be edited:\n{screen}");
    term.keys(&["BSpace"; 10]);
    term.type_text("plain-taken-state");
    term.keys(&["Enter"]);
    term.wait_for("✘ taken: another account owns it: choose another name", SECS(30));
    type_answer(&term, "Bucket", "plain-e2e-state");
    term.wait_for("✔ free: nobody has this name: setup creates it", SECS(30));
    let requests = moto.requests().join("\n");
    assert!(!requests.contains("Bad_Bucket"), "a name the rules refuse reached AWS:\n{requests}");
    assert!(requests.contains("plain-e2e-state"), "the good name was checked:\n{requests}");

    for key in
        ["state_store.versioning", "state_store.encryption", "state_store.block_public_access"]
    {
        answer(&term, label(key), &["Enter"]);
    }
    // SSH key: the default path (nothing there yet), generated as ed25519 (fast).
    answer(&term, label("ssh.public_key"), &["Enter"]);
    term.wait_for("✔ no key there yet: setup generates it", SECS(20));
    answer(&term, label("ssh.generate"), &["Enter"]);
    answer(&term, label("ssh.key_type"), &["Down", "Enter"]);
    answer(&term, label("ssh.overwrite"), &["Enter"]);

    // Cluster: the name comes from the answers file; the removed CNIs are shown, not offered.
    let screen = answer(&term, label("cluster.name"), &["Enter"]);
    assert!(screen.contains("? Cluster name (plain.k8s.local)"), "the file's value:\n{screen}");
    answer(&term, label("cluster.zones"), &["Enter"]);
    let screen = answer(&term, label("cluster.networking"), &["Enter"]);
    assert!(screen.contains("✘ not offered: weave: weave was removed from kops in 1.28"));
    assert!(!screen.contains("> weave") && !screen.contains("  weave "), "{screen}");
    for key in [
        "cluster.control_plane_size",
        "cluster.control_plane_count",
        "cluster.node_size",
        "cluster.node_count",
        "cluster.topology",
    ] {
        answer(&term, label(key), &["Enter"]);
    }
    // The bastion is for the private topology only: not asked after "public".
    answer(&term, label("cluster.dns_zone"), &["Enter"]);
    answer(&term, label("cluster.kubernetes_version"), &["Enter"]);
    answer(&term, label("cluster.smoke_test"), &["Enter"]);

    // The review, then saving over the answers file (asked twice), then the one confirmation.
    let screen = answer(&term, "Save these answers to", &["y", "Enter"]);
    assert!(screen.contains("Bastion: off (a bastion needs the private topology)"), "{screen}");
    assert!(screen.contains("Review: what setup will do"), "{screen}");
    assert!(screen.contains("   - S3 bucket plain-e2e-state in us-east-1"), "{screen}");
    assert!(screen.contains("--networking cilium"), "{screen}");
    assert!(screen.contains("\nWarnings\n ! cluster.name = \"plain.k8s.local\""), "{screen}");
    assert!(screen.contains("Estimated monthly cost"), "{screen}");
    assert!(screen.contains("  Total "), "{screen}");
    answer(&term, "answers.toml exists: overwrite it?", &["y", "Enter"]);
    term.wait_for("✔ answers saved to", SECS(10));
    assert!(bucket_names(&moto).await.is_empty(), "nothing is created before the confirmation");
    // The key's power is disclosed before the question that starts anything, and the question
    // shows its choices (it has no default, so inquire would show none by itself).
    assert!(
        screen.contains(
            "IAMFullAccess is among them: the kops user's key can do anything an admin can"
        ),
        "{screen}"
    );
    let screen = answer(&term, "Start setup now?", &["y", "Enter"]);
    let asked = screen.lines().find(|l| l.contains("Start setup now?")).unwrap_or_default();
    assert!(asked.contains("y/n"), "the confirm shows its choices: {asked:?}\n{screen}");

    let (code, stty) = term.finished(SECS(300));
    let took = started.elapsed();
    assert_eq!(code, 0, "{}\n{}", term.joined(), read(&out));
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    let printed = read(&out);
    assert!(
        printed.contains(" validate: cluster plain.k8s.local is ready: 2/2 nodes"),
        "{printed}"
    );
    assert!(printed.contains("\nsetup done.\n"), "{printed}");
    assert!(printed.contains("export KOPS_STATE_STORE=s3://plain-e2e-state"), "{printed}");
    eprintln!("plain setup, typed end to end: {took:.1?}");

    // What AWS says.
    let versioning =
        boto3(&moto, "print(s3.get_bucket_versioning(Bucket='plain-e2e-state').get('Status'))");
    assert_eq!(versioning, "Enabled");
    assert_eq!(bucket_names(&moto).await, ["plain-e2e-state"], "the taken name was not used");
    let c = admin_clients(&moto).await;
    let attached = c.iam.list_attached_group_policies().group_name("kops").send().await.unwrap();
    let mut arns: Vec<&str> =
        attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    arns.sort();
    let mut wanted = kops_wizard::text::KOPS_POLICIES.to_vec();
    wanted.sort();
    assert_eq!(arns, wanted, "the group kops has the seven policies");
    let keys = key_ids(&moto, "kops").await;
    assert_eq!(keys.len(), 1, "exactly one access key: {keys:?}");
    let credentials = read(&env.home().join(".aws/credentials"));
    let profile = credentials.split("[kops]").nth(1).unwrap_or_default();
    assert!(profile.contains(&keys[0]), "the key is saved as profile kops:\n{credentials}");
    assert!(env.cloud().contains("plain.k8s.local"));
    // The saved answers run with --yes; they hold no secret.
    let saved = read(&file);
    assert!(saved.contains("bucket = \"plain-e2e-state\""), "{saved}");
    assert!(saved.contains("key_type = \"ed25519\""), "{saved}");
    assert!(!saved.contains(&keys[0]) && !saved.contains("aws_secret"), "{saved}");
    let screen = term.joined();
    assert!(!screen.contains(crate::support::ADMIN_SECRET), "a secret on screen:\n{screen}");
}

const TEARDOWN_ANSWERS: &str = r#"
[state_store]
bucket = "plain-down-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "plain-down.example.com"
[validate]
wait = "1m"
interval = "100ms"
"#;

#[tokio::test]
async fn plain_teardown_shows_the_inventory_and_deletes_only_after_the_right_name() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let file = env.answers(TEARDOWN_ANSWERS);
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    let c = admin_clients(&moto).await;
    let cloud = || env.cloud();
    let credentials = || read(&env.home().join(".aws/credentials"));
    assert!(cloud().contains("plain-down.example.com"));
    let argv =
        [bin(), "teardown".into(), "--plain".into(), "-c".into(), file.display().to_string()];

    // A wrong name: exit 1, and every resource is still there.
    let term = Tmux::start(&env, &argv, 160, 80);
    let screen = term.wait_for("Type the cluster name (plain-down.example.com)", SECS(90));
    assert!(screen.contains("Will delete, in this order:"), "{screen}");
    // Next to the question, the whole of it, a line a step, with the names that matter.
    assert!(screen.contains("In short:"), "{screen}");
    for (label, words) in [
        ("Cluster", "plain-down.example.com: "),
        ("IAM", "user(s) kops, group kops, 7 policy attachment(s)"),
        ("State store", "plain-down-state and its "),
    ] {
        let line = screen.lines().find(|l| l.contains(words)).unwrap_or_default();
        assert!(line.contains(&format!("{label} ")), "{label} {words}:\n{screen}");
    }
    assert!(
        screen.contains("cloud resources (kops delete cluster)"),
        "kops's inventory:\n{screen}"
    );
    assert!(screen.contains("1 × vpc"), "by resource type:\n{screen}");
    assert!(screen.contains("object versions and"), "the bucket's contents:\n{screen}");
    assert!(screen.contains("- bucket plain-down-state"), "{screen}");
    assert!(screen.contains("- IAM user kops"), "{screen}");
    term.type_text("plain-down.example.org");
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 1, "{}", term.joined());
    assert!(term.joined().contains("Nothing was deleted"), "{}", term.joined());
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    drop(term);
    assert_eq!(bucket_names(&moto).await, ["plain-down-state"], "a wrong name deleted the bucket");
    let objects = boto3(
        &moto,
        "print(len(s3.list_object_versions(Bucket='plain-down-state').get('Versions', [])))",
    );
    assert_ne!(objects, "0", "the cluster's state is still in the bucket");
    assert!(c.group_exists("kops").await.unwrap(), "a wrong name deleted the group");
    assert!(c.user_exists("kops").await.unwrap(), "a wrong name deleted the user");
    assert_eq!(key_ids(&moto, "kops").await.len(), 1, "a wrong name deleted the key");
    assert!(credentials().contains("[kops]"), "a wrong name removed the profile");
    assert!(cloud().contains("plain-down.example.com"), "a wrong name deleted the cluster");

    // The right name: everything the setup made is gone.
    let term = Tmux::start(&env, &argv, 160, 50);
    term.wait_for("Type the cluster name (plain-down.example.com)", SECS(90));
    term.type_text("plain-down.example.com");
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(180));
    assert_eq!(code, 0, "{}", term.joined());
    assert!(cooked(&stty), "{stty}");
    assert!(term.joined().contains("teardown done: nothing left"), "{}", term.joined());
    assert!(!cloud().contains("plain-down.example.com"), "cloud resources are left: {}", cloud());
    assert!(bucket_names(&moto).await.is_empty(), "the bucket is left");
    assert!(!c.group_exists("kops").await.unwrap(), "the IAM group is left");
    assert!(!c.user_exists("kops").await.unwrap(), "the IAM user is left");
    // The user's key, by its id, under no user of the account.
    let judge = crate::support::judge::Judge::new(&moto).await;
    let users = judge.users().await;
    assert!(users.is_empty(), "users are left: {users:?}");
    assert!(!credentials().contains("[kops]"), "the profile is left:\n{}", credentials());
}

#[tokio::test]
async fn ctrl_c_at_a_prompt_exits_130_with_the_terminal_cooked_and_nothing_created() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let term = Tmux::start(&env, &[bin(), "--plain".into()], 160, 50);
    // Past the identity check (which listens for Ctrl-C while it waits), at a text prompt.
    term.wait_for("✔ arn:aws:sts::123456789012:user/moto", SECS(60));
    for key in ["aws.region", "iam.group", "iam.user", "aws.kops_profile", "iam.policies"] {
        answer(&term, label(key), &["Enter"]);
    }
    answer(&term, "Bucket", &["C-c"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 130, "{}", term.joined());
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    assert!(term.joined().contains("quit before changing anything"), "{}", term.joined());
    assert!(bucket_names(&moto).await.is_empty(), "a bucket was created");
    assert_eq!(user_count(&moto).await, 0, "a user was created");
    assert!(!env.home().join(".aws/credentials").exists(), "a profile was saved");
}

#[tokio::test]
async fn term_dumb_gets_the_line_mode_and_esc_quits() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    // No --plain: TERM=dumb alone chooses the line mode over the full-screen wizard.
    let argv = ["env".into(), "TERM=dumb".into(), bin()];
    let term = Tmux::start(&env, &argv, 120, 40);
    let screen = prompt(&term, label("aws.region"), SECS(60));
    assert!(screen.contains("kops-wizard setup, line by line."), "{screen}");
    assert!(screen.contains("> us-east-1 "), "the region list, cursor on the default:\n{screen}");
    assert!(!screen.contains("┌") && !screen.contains("Steps"), "the full-screen UI:\n{screen}");
    term.keys(&["Escape"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 130, "{}", term.joined());
    assert!(cooked(&stty), "{stty}");
    assert_eq!(user_count(&moto).await, 0);
}

#[tokio::test]
async fn plain_dry_run_asks_everything_changes_nothing_and_prints_the_plan() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let file = env.answers(
        "[state_store]\nbucket = \"plain-dry-state\"\n[cluster]\nname = \"dry.k8s.local\"\n",
    );
    let out = env.path("plan.sh");
    let argv =
        [bin(), "--plain".into(), "--dry-run".into(), "-c".into(), file.display().to_string()];
    // Tall enough for the whole review (with the key's disclosure) after the questions.
    let term = Tmux::start_to(&env, &argv, 160, 70, Some(&out));
    // Every question but the given ones (the only admin choice; the bastion of a public
    // cluster), each with the file's value or the default kept.
    for q in QUESTIONS.iter().filter(|q| !matches!(q.key, "aws.admin_profile" | "cluster.bastion"))
    {
        answer(&term, q.label, &["Enter"]);
    }
    let (code, stty) = term.finished(SECS(60));
    assert_eq!(code, 0, "{}", term.joined());
    assert!(cooked(&stty), "{stty}");
    let screen = term.joined();
    assert!(screen.contains("Review: what setup will do"), "{screen}");
    assert!(screen.contains("dry run: nothing was created or changed."), "{screen}");
    assert!(!screen.contains("Save these answers"), "unchanged answers are not offered: {screen}");
    let plan = read(&out);
    assert!(plan.starts_with("#!/usr/bin/env bash\n"), "{plan}");
    assert!(plan.contains("plain-dry-state") && plan.contains("dry.k8s.local"), "{plan}");
    // Only the read-only checks reached AWS.
    assert!(bucket_names(&moto).await.is_empty());
    assert_eq!(user_count(&moto).await, 0);
    assert!(env.kops_calls().is_empty(), "kops ran: {:?}", env.kops_calls());
    assert!(!env.home().join(".ssh/kops").exists(), "a key was generated");
}

#[tokio::test]
async fn ctrl_c_during_the_run_stops_kops_and_a_rerun_finishes_with_one_key() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let file = env.answers(
        "[state_store]\nbucket = \"plain-stop-state\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n",
    );
    env.set("FAKE_KOPS_VALIDATE", "never-ready");
    let argv = [bin(), "--plain".into(), "-c".into(), file.display().to_string()];
    let term = Tmux::start(&env, &argv, 160, 50);
    for q in QUESTIONS.iter().filter(|q| !matches!(q.key, "aws.admin_profile" | "cluster.bastion"))
    {
        answer(&term, q.label, &["Enter"]);
    }
    answer(&term, "Start setup now?", &["y", "Enter"]);
    term.wait_for("validate: nodes joining", SECS(120));
    // As a person would: Ctrl-C on the terminal, which is in its normal mode during the run.
    term.keys(&["C-c"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 130, "{}", term.joined());
    assert!(cooked(&stty), "{stty}");
    assert!(term.joined().contains("interrupted"), "{}", term.joined());
    drop(term);
    crate::support::no_kops_running(&env, "after Ctrl-C");
    let journal = read(&env.path("state/kops-wizard/journal/kops.k8s.local.json"));
    assert!(!journal.contains("\"intent\""), "a change was left half done: {journal}");

    env.unset("FAKE_KOPS_VALIDATE");
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(key_ids(&moto, "kops").await.len(), 1, "the rerun made no second key");
}
