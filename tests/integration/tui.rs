//! The full-screen wizard end to end: the real binary in tmux (send-keys, capture-pane)
//! against a moto server and the kops stand-in, judged by the screen, the summary on standard
//! output, the terminal's modes afterwards and AWS's state (plain SDK calls).

use std::path::PathBuf;
use std::time::Duration;

use crate::support::tmux::{Tmux, cooked};
use crate::support::{Moto, TestEnv, admin_clients, read, ready_env, run};

const SECS: fn(u64) -> Duration = Duration::from_secs;

use crate::support::bin;

async fn key_count(moto: &Moto, user: &str) -> usize {
    let c = admin_clients(moto).await;
    c.iam.list_access_keys().user_name(user).send().await.unwrap().access_key_metadata().len()
}

/// boto3 on moto as the admin (the shared judge's; `s3`, `iam`, `sts` ready).
fn boto3(moto: &Moto, code: &str) -> String {
    crate::support::judge::boto3_as(&moto.endpoint(), moto.admin_key().0, moto.admin_key().1, code)
}

#[tokio::test]
async fn an_answers_file_walks_to_a_validated_cluster_and_quitting_resumes() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let answers = env.answers(
        "[state_store]\nbucket = \"acme-tui-e2e\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n",
    );
    let argv = [bin(), "--config".into(), answers.display().to_string()];

    // First run: every step to Review, start, and quit while validation waits.
    env.set("FAKE_KOPS_VALIDATE", "never-ready");
    let out = env.path("first.txt");
    let term = Tmux::start_to(&env, &argv, 100, 30, Some(&out));
    term.wait_for("moto @ 123456789012", SECS(30));
    term.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    let screen = term.wait_for("Validate: nodes joining", SECS(120));
    assert!(screen.contains("until "), "the deadline in clock time:\n{screen}");
    term.keys(&["q"]);
    term.wait_for("Quit kops-wizard?", SECS(10));
    term.keys(&["y"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 130, "{}", term.screen());
    assert!(cooked(&stty), "the terminal was not restored: {stty}");
    let first = read(&out);
    assert!(first.contains("Run `kops-wizard` again to resume"), "{first}");
    drop(term);
    // kops was stopped with the wizard: no validate call is still running or starts later.
    crate::support::no_kops_running(&env, "after the wizard quit");

    // Second run: the journal is on the first screen; Enter to the end reaches Done.
    env.unset("FAKE_KOPS_VALIDATE");
    let out = env.path("second.txt");
    let term = Tmux::start_to(&env, &argv, 100, 30, Some(&out));
    term.wait_for("An earlier setup of kops.k8s.local", SECS(30));
    term.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    // The smoke test ran in the full screen: Done names the NLB both pods answered through.
    let done = term.wait_for("is set up and validated", SECS(180));
    assert!(done.contains("Smoke test: both pods answered through load balancer"), "{done}");
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    let second = read(&out);
    // The NLB the summary names is the one AWS has for the Service, active.
    let nlb = boto3(
        &moto,
        "e = boto3.client('elbv2', **kw)\n\
         print(' '.join(lb['DNSName'] for lb in e.describe_load_balancers()['LoadBalancers'] \
         if lb['LoadBalancerName'].startswith('k8s-kops-wiz')))",
    );
    assert!(!nlb.is_empty(), "no NLB for the smoke test's Service in moto");
    assert!(second.contains(&format!("curl http://{nlb}/hostname")), "{second}\n{nlb}");
    assert!(second.contains("export KOPS_STATE_STORE=s3://acme-tui-e2e"), "{second}");
    assert!(second.contains("export AWS_PROFILE=kops"), "{second}");
    assert!(!second.contains("aws_secret_access_key"), "{second}");

    assert_eq!(key_count(&moto, "kops").await, 1, "a rerun must not create a second access key");
    // Through boto3: the Rust SDK refuses moto's GetBucketVersioning body (moto-notes.md).
    let versioning =
        boto3(&moto, "print(s3.get_bucket_versioning(Bucket='acme-tui-e2e').get('Status'))");
    assert_eq!(versioning, "Enabled");
    assert!(env.cloud().contains("kops.k8s.local"));
    assert!(read(&env.home().join(".aws/credentials")).contains("[kops]"));
}

#[tokio::test]
async fn sigterm_during_validation_stops_kops_restores_the_terminal_and_a_rerun_finishes() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let answers = env.answers(
        "[state_store]\nbucket = \"acme-tui-term\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n",
    );
    env.set("FAKE_KOPS_VALIDATE", "never-ready");
    let argv = [bin(), "--config".into(), answers.display().to_string()];
    let term = Tmux::start_to(&env, &argv, 100, 30, Some(&env.path("out.txt")));
    term.wait_for("moto @ 123456789012", SECS(30));
    term.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    term.wait_for("Validate: nodes joining", SECS(120));
    let pid = term.program_pid().expect("the wizard's pid");
    let killed = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    assert!(killed.unwrap().success());
    let (code, stty) = term.finished(SECS(30));
    assert_ne!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "the terminal was not restored after SIGTERM: {stty}");
    drop(term);
    crate::support::no_kops_running(&env, "after SIGTERM");
    // The journal holds no half-done change: only validation was under way.
    let journal = read(&env.path("state/kops-wizard/journal/kops.k8s.local.json"));
    assert!(!journal.contains("\"intent\""), "{journal}");

    env.unset("FAKE_KOPS_VALIDATE");
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(key_count(&moto, "kops").await, 1);
}

/// Presses `key` `times` times, a moment apart (as a person would: each key is one frame).
fn press(term: &Tmux, key: &str, times: usize) {
    for _ in 0..times {
        term.keys(&[key]);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn estimate(screen: &str) -> String {
    let at = screen.find("≈ $").unwrap_or_else(|| panic!("no estimate on screen:\n{screen}"));
    screen[at..].split('/').next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn with_no_answers_file_rules_checks_estimate_and_save_work_and_the_file_runs_with_yes() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let out = env.path("out.txt");
    let term = Tmux::start_to(&env, &[bin()], 100, 30, Some(&out));
    term.wait_for("1/4 Credentials", SECS(30));
    // Once the account is known the bucket name is suggested.
    term.wait_for("moto @ 123456789012", SECS(30));
    press(&term, "Enter", 6);
    term.wait_for("kops-state-123456789012-us-east-1", SECS(10));

    term.keys(&["C-u"]);
    term.type_text("Bad_Bucket");
    term.wait_for("may contain only lower-case", SECS(10));
    term.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(term.screen().contains("2/4 State store"), "a broken rule blocks Enter");
    term.keys(&["C-u"]);
    term.type_text("acme-fileless-e2e");
    term.wait_for("✔ free", SECS(20));
    let requests = moto.requests().join("\n");
    assert!(!requests.contains("Bad_Bucket"), "a name the rules refuse reached AWS:\n{requests}");
    assert!(requests.contains("acme-fileless-e2e"), "the good name was checked:\n{requests}");

    // SSH key: ed25519 (fast to generate), then on to the cluster.
    press(&term, "Enter", 4);
    term.wait_for("3/4 SSH key", SECS(10));
    term.keys(&["Down", "Down", "Right"]);
    term.wait_for("‹ ed25519 ›", SECS(10));
    term.keys(&["Enter", "Enter"]);
    term.wait_for("4/4 Cluster", SECS(10));
    let before = estimate(&term.screen());
    press(&term, "Down", 5);
    term.wait_for("▶ Node size", SECS(10));
    term.keys(&["Right"]);
    // Polled: the estimate follows the node size (an unchanged one fails after the limit).
    let after = term.wait_until(SECS(10), "the estimate to follow the node size", |s| {
        s.contains("≈ $") && estimate(s) != before
    });
    assert_ne!(before, estimate(&after), "the estimate follows the node size");

    term.keys(&["s"]);
    term.wait_for("answers saved to", SECS(10));
    let saved: PathBuf = env.path("config/kops-wizard/config.toml");
    let text = read(&saved);
    assert!(text.contains("bucket = \"acme-fileless-e2e\""), "{text}");
    assert!(text.contains("key_type = \"ed25519\""), "{text}");
    assert!(!text.contains("aws_secret") && !text.contains("AKIA"), "a secret in {text}");

    term.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    term.wait_for("is set up and validated", SECS(180));
    term.keys(&["Enter"]);
    let (code, stty) = term.finished(SECS(30));
    assert_eq!(code, 0, "{}", term.screen());
    assert!(cooked(&stty), "{stty}");
    drop(term);

    // The saved file is a complete answers file: `setup --yes` with it finds everything done.
    let (code, yes_out, yes_err) =
        run(env.wizard().args(["setup", "--yes", "--config"]).arg(&saved));
    assert_eq!(code, 0, "{yes_out}\n{yes_err}");
    assert!(yes_out.contains("setup done"), "{yes_out}");
    assert_eq!(key_count(&moto, "kops").await, 1);
}

// The panic key exists in debug builds of the wizard only, which the suite builds.
#[cfg(debug_assertions)]
#[test]
fn a_panic_inside_the_loop_leaves_the_terminal_restored_and_names_the_log() {
    let mut env = TestEnv::new(None);
    env.set("KOPS_WIZARD_TEST_PANIC", "1");
    let term = Tmux::start(&env, &[bin()], 100, 30);
    term.wait_for("1/4 Credentials", SECS(30));
    term.keys(&["F12"]);
    let (code, stty) = term.finished(SECS(30));
    assert_ne!(code, 0, "a panic is not success");
    assert!(cooked(&stty), "the terminal was not restored: {stty}");
    // The panic message is on standard error: the terminal, back on its normal screen, and
    // not overwritten by a second restore.
    let screen = term.joined();
    assert!(screen.contains("kops-wizard.log"), "{screen}");
    assert!(
        screen.contains("test panic inside the loop"),
        "the previous hook still prints: {screen}"
    );
}
