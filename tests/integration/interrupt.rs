//! SIGKILL at every step boundary and inside each step of setup and teardown (the request
//! committed by AWS, the journal not yet written: `KOPS_WIZARD_TEST_KILL`, debug builds), in
//! headless, `--plain` and full-screen runs; then reruns. Judged by AWS's state through plain
//! SDK calls, the credentials file and the stand-in's cloud: exactly one group, user, access
//! key, bucket and cluster after setup, and nothing after teardown.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::judge::Judge;
use crate::support::tmux::Tmux;
use crate::support::{Moto, TestEnv, dies_within, hung_kops, run};

/// In the order setup reaches them, so each killed run gets one point further than the last.
const SETUP_POINTS: [&str; 24] = [
    "intent:bucket",
    "created:bucket",
    "created:bucket-versioning",
    "created:bucket-encryption",
    "created:bucket-public-access-block",
    "after-step:state-store",
    "created:iam-group",
    "intent:iam-policy-attachment",
    "created:iam-policy-attachment",
    "created:iam-user",
    "created:iam-group-membership",
    "intent:access-key",
    "created:access-key",
    "created:profile",
    "after-step:iam",
    "intent:ssh-key",
    "created:ssh-key",
    "after-step:ssh-key",
    "intent:cluster",
    "created:cluster",
    "after-step:cluster",
    "intent:cluster-deployed",
    "created:cluster-deployed",
    "after-step:deploy",
];

/// Inside teardown's steps, in the order it reaches them: AWS (or kops, or the credentials
/// file) has deleted it, the journal does not know yet.
const TEARDOWN_INSIDE: [&str; 8] = [
    "deleted:cluster-deployed",
    "deleted:access-key",
    "deleted:iam-group-membership",
    "deleted:iam-user",
    "deleted:iam-policy-attachment",
    "deleted:iam-group",
    "deleted:profile",
    "deleted:bucket",
];

/// Between teardown's steps (a second setup and teardown: a step a killed run finished is
/// not in the next run's plan, so one chain cannot reach both kinds of point).
const TEARDOWN_BOUNDARIES: [&str; 3] =
    ["after-step:delete-cluster", "after-step:delete-iam", "after-step:delete-bucket"];

const CLUSTER: &str = "kill.example.com";

fn answers(env: &TestEnv, bucket: &str) -> std::path::PathBuf {
    env.answers(&format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n[cluster]\n\
         name = \"{CLUSTER}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    ))
}

/// Runs the wizard with the kill point set; it must die by SIGKILL (which also proves the
/// point was reached).
fn killed_at(env: &TestEnv, point: &str, args: &[&str], file: &Path) {
    let mut cmd = env.wizard();
    let out = crate::support::output(
        cmd.env("KOPS_WIZARD_TEST_KILL", point).args(args).arg("-c").arg(file),
    );
    assert_eq!(
        out.status.signal(),
        Some(9),
        "{point}: the wizard was not killed there ({:?}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What exists, through plain SDK calls with the admin keys.
struct Aws {
    groups: Vec<String>,
    users: Vec<String>,
    keys: Vec<String>,
    buckets: Vec<String>,
    policies: usize,
}

async fn aws(moto: &Moto) -> Aws {
    let j = Judge::new(moto).await;
    let (groups, users) = (j.groups().await, j.users().await);
    let mut keys = Vec::new();
    for user in &users {
        keys.extend(j.key_ids(user).await);
    }
    let policies = match groups.first() {
        Some(g) => j.group_policies(g).await.len(),
        None => 0,
    };
    Aws { groups, users, keys, buckets: j.buckets().await, policies }
}

fn cloud(env: &TestEnv) -> Value {
    let text = env.cloud();
    serde_json::from_str(if text.is_empty() { "{}" } else { &text }).unwrap()
}

fn saved_key_id(env: &TestEnv) -> Option<String> {
    let creds = fs::read_to_string(env.home().join(".aws/credentials")).ok()?;
    let section = creds.split("[kops]").nth(1)?;
    let line = section.lines().find(|l| l.starts_with("aws_access_key_id"))?;
    Some(line.split('=').nth(1)?.trim().to_string())
}

/// Exactly one of everything setup makes, and the profile holds that one key.
async fn exactly_one_of_each(moto: &Moto, env: &TestEnv, bucket: &str) {
    let now = aws(moto).await;
    assert_eq!(now.groups, ["kops"]);
    assert_eq!(now.users, ["kops"]);
    assert_eq!(now.keys.len(), 1, "access keys: {:?}", now.keys);
    assert_eq!(now.policies, 7);
    assert_eq!(now.buckets, [bucket]);
    assert_eq!(
        saved_key_id(env).as_deref(),
        Some(now.keys[0].as_str()),
        "the profile holds another key"
    );
    let cloud = cloud(env);
    let clusters: Vec<&String> = cloud.as_object().unwrap().keys().collect();
    assert_eq!(clusters, [CLUSTER]);
    let groups = cloud[CLUSTER]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "autoscaling-group")
        .count();
    assert_eq!(groups, 2, "the cluster was deployed twice over: {cloud}");
    let creates = env.kops_verbs().iter().filter(|v| *v == "create cluster").count();
    assert_eq!(creates, 1, "kops create cluster ran again after its run was killed");
}

async fn nothing_left(moto: &Moto, env: &TestEnv) {
    let now = aws(moto).await;
    assert!(now.groups.is_empty() && now.users.is_empty() && now.keys.is_empty(), "IAM is left");
    assert!(now.buckets.is_empty(), "buckets are left: {:?}", now.buckets);
    assert!(cloud(env).as_object().unwrap().is_empty(), "cloud resources are left: {}", cloud(env));
    assert_eq!(saved_key_id(env), None, "the profile is left");
}

#[tokio::test]
async fn sigkill_at_every_setup_and_teardown_point_then_reruns_leave_one_of_each_then_nothing() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let bucket = "kill-kops-state";
    let file = answers(&env, bucket);
    for point in SETUP_POINTS {
        killed_at(&env, point, &["setup", "--yes"], &file);
        let now = aws(&moto).await;
        assert!(
            now.keys.len() <= 1 && now.buckets.len() <= 1,
            "{point}: {:?} {:?}",
            now.keys,
            now.buckets
        );
    }
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    exactly_one_of_each(&moto, &env, bucket).await;
    // Once more from the top: a finished setup changes nothing.
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    exactly_one_of_each(&moto, &env, bucket).await;

    for (chain, points) in [&TEARDOWN_INSIDE[..], &TEARDOWN_BOUNDARIES[..]].into_iter().enumerate()
    {
        for point in points {
            killed_at(&env, point, &["teardown", "--yes"], &file);
        }
        let (code, out, err) = run(env.wizard().args(["teardown", "--yes", "-c"]).arg(&file));
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("nothing left"), "{out}");
        nothing_left(&moto, &env).await;
        if chain == 0 {
            // Set up again for the next chain (which also shows a torn-down cluster comes back).
            let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
            assert_eq!(code, 0, "{out}\n{err}");
        }
    }
    println!(
        "kill points tried and rerun clean: {} in setup, {} in teardown",
        SETUP_POINTS.len(),
        TEARDOWN_INSIDE.len() + TEARDOWN_BOUNDARIES.len()
    );
}

use crate::support::bin;

/// The tmux pane's program died by SIGKILL (the shell reports 128 + 9). A killed full-screen
/// UI cannot restore the terminal, so the shell's report lands wherever its cursor was: look
/// for it anywhere on the screen.
fn pane_killed(term: &Tmux) {
    let _ = term.finished(Duration::from_secs(120));
    let screen = term.joined();
    assert!(screen.contains("EXIT=137"), "not killed by the hook:\n{screen}");
}

#[tokio::test]
async fn sigkill_inside_the_full_screen_and_plain_runs_then_a_rerun_finishes_with_one_of_each() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let bucket = "kill-ui-state";
    let file = answers(&env, bucket);
    let path = file.display().to_string();

    // Line mode: the bucket exists (setup's first step), the journal does not know it yet.
    env.set("KOPS_WIZARD_TEST_KILL", "created:bucket");
    let term = Tmux::start(&env, &[bin(), "--plain".into(), "-c".into(), path.clone()], 160, 50);
    // Enter keeps every answer of the file. Not asked: the admin profile (no profile is saved
    // yet: the default chain is the only choice) and the bastion of a public cluster.
    let asked = |q: &&kops_wizard::questions::Question| {
        q.key != "cluster.bastion" && q.key != "aws.admin_profile"
    };
    for q in kops_wizard::questions::QUESTIONS.iter().filter(asked) {
        crate::plain::answer(&term, q.label, &["Enter"]);
    }
    crate::plain::answer(&term, "Start setup now?", &["y", "Enter"]);
    pane_killed(&term);
    drop(term);

    // Full screen: AWS made the key, the journal does not know it yet.
    env.set("KOPS_WIZARD_TEST_KILL", "created:access-key");
    let term = Tmux::start(&env, &[bin(), "-c".into(), path.clone()], 100, 30);
    term.wait_for("moto @ 123456789012", Duration::from_secs(30));
    term.enter_until("Review: what setup will do", 40);
    term.keys(&["Enter"]);
    pane_killed(&term);
    drop(term);

    env.unset("KOPS_WIZARD_TEST_KILL");
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    exactly_one_of_each(&moto, &env, bucket).await;

    // Full-screen teardown killed after the bucket went, then finished headless.
    env.set("KOPS_WIZARD_TEST_KILL", "deleted:bucket");
    let term = Tmux::start(&env, &[bin(), "teardown".into(), "-c".into(), path.clone()], 100, 30);
    term.wait_for(&format!("Type {CLUSTER} to delete it"), Duration::from_secs(60));
    term.wait_for("cloud resources (kops delete cluster)", Duration::from_secs(10));
    term.type_text(CLUSTER);
    term.keys(&["Enter"]);
    pane_killed(&term);
    drop(term);
    env.unset("KOPS_WIZARD_TEST_KILL");
    let (code, out, err) = run(env.wizard().args(["teardown", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    nothing_left(&moto, &env).await;
}

/// Sends `signal` (`TERM`, `HUP`) to `pid`.
fn kill(signal: &str, pid: u32) {
    let sent =
        std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
}

/// The hung kops `pid` (a real process when the signal came) is gone: the wizard stopped it.
fn kops_gone(pid: u32, when: &str) {
    assert!(dies_within(pid, Duration::from_secs(10)), "{when}: kops (pid {pid}) kept running");
}

fn journal_has_no_intent(env: &TestEnv) {
    let path = env.path(&format!("state/kops-wizard/journal/{CLUSTER}.json"));
    let journal = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!journal.contains("\"intent\""), "a change was left half done: {journal}");
}

/// SIGTERM, SIGHUP (a closed terminal window) and Ctrl-C while a kops is really running (the
/// stand-in hangs in `validate`): in every mode the wizard ends with 130, the kops process is
/// gone, the terminal is back in its normal mode and the journal holds no half-done change; a
/// rerun finishes with one of each.
#[tokio::test]
async fn sigterm_sighup_and_ctrl_c_stop_a_running_kops_keep_the_journal_and_restore_the_terminal() {
    use std::io::BufRead;
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let bucket = "term-kops-state";
    let file = env.answers(&format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n[cluster]\n\
         name = \"{CLUSTER}\"\n[validate]\nwait = \"10m\"\ninterval = \"1s\"\n"
    ));
    let path = file.display().to_string();
    env.set("FAKE_KOPS_HANG", "validate");
    env.set("KOPS_WIZARD_KOPS_TIMEOUT", "10m");

    // Headless: SIGTERM, then SIGHUP, while `kops validate` runs.
    for signal in ["TERM", "HUP"] {
        let _ = fs::remove_file(env.path("fake-kops/hang.pid"));
        let mut child = env
            .wizard()
            .args(["setup", "--yes", "-c"])
            .arg(&file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the wizard");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            std::io::BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>()
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut text);
            text
        });
        let kops = hung_kops(&env, Duration::from_secs(120));
        kill(signal, child.id());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{signal}: {status:?}");
        kops_gone(kops, &format!("headless SIG{signal}"));
        journal_has_no_intent(&env);
        let lines = reader.join().unwrap();
        crate::support::evidence::shown(
            "output",
            &format!("{}\n{}", lines.join("\n"), errors.join().unwrap()),
        );
        // Stopped inside validation: the steps before it finished, nothing after it ran.
        assert!(lines.iter().any(|l| l.contains("deploy: done")), "SIG{signal}: {lines:?}");
        assert!(!lines.iter().any(|l| l.contains("validate: done")), "SIG{signal}: {lines:?}");
    }

    // Full screen: Ctrl-C twice (the second answers "quit?"), then SIGHUP, while kops runs.
    for stop in ["C-c", "HUP"] {
        let term = Tmux::start(&env, &[bin(), "-c".into(), path.clone()], 100, 30);
        term.wait_for("moto @ 123456789012", Duration::from_secs(30));
        term.enter_until("Review: what setup will do", 40);
        let _ = fs::remove_file(env.path("fake-kops/hang.pid"));
        term.keys(&["Enter"]);
        let kops = hung_kops(&env, Duration::from_secs(120));
        if stop == "C-c" {
            term.keys(&["C-c"]);
            term.wait_for("Quit kops-wizard?", Duration::from_secs(10));
            term.keys(&["C-c"]);
        } else {
            kill(stop, term.program_pid().expect("the wizard's pid"));
        }
        let (code, stty) = term.finished(Duration::from_secs(30));
        assert_eq!(code, 130, "{stop}: {}", term.screen());
        assert!(crate::support::tmux::cooked(&stty), "{stop} left the terminal raw: {stty}");
        drop(term);
        kops_gone(kops, &format!("full screen {stop}"));
        journal_has_no_intent(&env);
    }

    // Line mode: SIGTERM and SIGHUP at a prompt (inquire has the terminal raw).
    let plain = [bin(), "--plain".into(), "-c".into(), path.clone()];
    for signal in ["TERM", "HUP"] {
        let term = Tmux::start(&env, &plain, 160, 50);
        crate::plain::prompt(&term, "Admin profile", Duration::from_secs(60));
        kill(signal, term.program_pid().expect("the wizard's pid"));
        let (code, stty) = term.finished(Duration::from_secs(30));
        assert_eq!(code, 130, "{}", term.joined());
        assert!(crate::support::tmux::cooked(&stty), "SIG{signal} at a prompt left it raw: {stty}");
        assert!(term.joined().contains(&format!("stopped (SIG{signal}) before changing anything")));
    }

    // Line mode during the run: SIGTERM; then the terminal window itself is closed (tmux
    // kills the pane: the kernel sends SIGHUP), which leaves no terminal to look at, so the
    // wizard and kops being gone and the journal are what is judged.
    for closed in [false, true] {
        let term = Tmux::start(&env, &plain, 160, 50);
        for q in kops_wizard::questions::QUESTIONS.iter().filter(|q| q.key != "cluster.bastion") {
            crate::plain::answer(&term, q.label, &["Enter"]);
        }
        let _ = fs::remove_file(env.path("fake-kops/hang.pid"));
        crate::plain::answer(&term, "Start setup now?", &["y", "Enter"]);
        let kops = hung_kops(&env, Duration::from_secs(120));
        let wizard = term.program_pid().expect("the wizard's pid");
        if closed {
            term.close_window();
            assert!(dies_within(wizard, Duration::from_secs(10)), "the wizard outlived its window");
        } else {
            kill("TERM", wizard);
            let (code, stty) = term.finished(Duration::from_secs(30));
            assert_eq!(code, 130, "{}", term.joined());
            assert!(crate::support::tmux::cooked(&stty), "{stty}");
        }
        drop(term);
        kops_gone(kops, if closed { "line mode, window closed" } else { "line mode SIGTERM" });
        journal_has_no_intent(&env);
    }

    // And a rerun finishes with one of each.
    env.unset("FAKE_KOPS_HANG");
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    exactly_one_of_each(&moto, &env, bucket).await;
}
