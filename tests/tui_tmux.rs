//! End to end: the real binary's full-screen wizard in tmux (send-keys, capture-pane) against a
//! moto server and the kops stand-in, judged by the screen, the summary on standard output, the
//! terminal's modes afterwards and AWS's state (boto3). Needs tmux, moto's server and boto3
//! (`scripts/test` installs moto and boto3); without them it says so and passes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A moto server on a free port; its request log (one line per request) goes to `log`.
fn moto(log: &Path) -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-p", &port.to_string()])
        .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).ok()?)
        .spawn()
        .ok()?;
    let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(moto);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// One tmux server of our own (`-L`), so the test never touches the user's sessions.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }
    fn start(&self, shell: &str) {
        let ok = self
            .cmd()
            .args(["new-session", "-d", "-s", "w", "-x", "100", "-y", "30", shell])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    fn keys(&self, keys: &[&str]) {
        let mut c = self.cmd();
        c.args(["send-keys", "-t", "w"]).args(keys);
        assert!(c.status().unwrap().success());
    }
    fn screen(&self) -> String {
        let out = self.cmd().args(["capture-pane", "-p", "-t", "w"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Waits until the screen shows `text` on two captures in a row, so a frame being drawn
    /// is not judged half-way (a spinner means two frames are rarely identical).
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut last = String::new();
        while Instant::now() < deadline {
            let screen = self.screen();
            if screen.contains(text) && last.contains(text) {
                return screen;
            }
            last = screen;
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!("{text:?} not on screen after {secs}s:\n{last}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

fn wait_file(path: &Path, text: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Ok(body) = std::fs::read_to_string(path)
            && body.contains(text)
        {
            return body;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    panic!("{text:?} not in {} after {secs}s", path.display());
}

fn boto3(moto: &Moto, code: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", &format!("import boto3\n{code}")])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn the_wizard_walks_an_answers_file_to_a_validated_cluster_and_quit_resumes() {
    if !have("tmux", "-V") || !have("python3", "-c") {
        eprintln!("skipped: tmux or python3 missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let Some(moto) = moto(&home.join("moto.log")) else {
        eprintln!("skipped: moto's server does not start (scripts/test installs it)");
        return;
    };
    let kops = prepare_home(home);
    let answers = home.join("answers.toml");
    std::fs::write(
        &answers,
        "[state_store]\nbucket = \"acme-tui-e2e\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [validate]\nwait = \"10m\"\ninterval = \"1s\"\n",
    )
    .unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let run = |tmux: &Tmux, validate: &str, out: &PathBuf| {
        let shell = format!(
            "env -i HOME={home} PATH={path} TERM=xterm-256color AWS_EC2_METADATA_DISABLED=true \
             AWS_ENDPOINT_URL={url} FAKE_KOPS_HOME={home}/fk {validate} {bin} --config {answers} \
             --kops {kops} --state-dir {home}/state > {out}; echo EXIT=$? >> {out}; \
             stty -a > {out}.stty; sleep 600",
            home = sh_quote(&home.display().to_string()),
            path = sh_quote(&path),
            url = moto.url,
            bin = sh_quote(env!("CARGO_BIN_EXE_kops-wizard")),
            answers = sh_quote(&answers.display().to_string()),
            kops = sh_quote(&kops.display().to_string()),
            out = sh_quote(&out.display().to_string()),
        );
        tmux.start(&shell);
    };

    // First run: through every step to Review, start, and quit while validation waits.
    let tmux = Tmux { socket: format!("kw-test-{}", std::process::id()) };
    let out = home.join("first.txt");
    run(&tmux, "FAKE_KOPS_VALIDATE=never-ready", &out);
    tmux.wait_for("moto @ 123456789012", 30);
    for _ in 0..40 {
        if tmux.screen().contains("Review: what setup will do") {
            break;
        }
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(120));
    }
    tmux.wait_for("Review: what setup will do", 10);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("Validate: nodes joining", 90);
    assert!(screen.contains("until "), "the deadline in clock time:\n{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("Quit kops-wizard?", 10);
    tmux.keys(&["y"]);
    let first = wait_file(&out, "EXIT=", 30);
    assert!(first.contains("EXIT=130"), "{first}");
    assert!(first.contains("Run `kops-wizard` again to resume"), "{first}");
    let stty = wait_file(&PathBuf::from(format!("{}.stty", out.display())), "speed", 10);
    assert!(stty.contains(" icanon") && stty.contains(" echo "), "terminal not restored: {stty}");
    drop(tmux);

    // Second run: the journal is on the first screen; Enter to the end reaches Done.
    let tmux = Tmux { socket: format!("kw-test2-{}", std::process::id()) };
    let out = home.join("second.txt");
    run(&tmux, "", &out);
    tmux.wait_for("An earlier setup of kops.k8s.local", 30);
    for _ in 0..40 {
        if tmux.screen().contains("Review: what setup will do") {
            break;
        }
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(120));
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("is set up and validated", 120);
    tmux.keys(&["Enter"]);
    let second = wait_file(&out, "EXIT=", 30);
    assert!(second.contains("EXIT=0"), "{second}");
    assert!(second.contains("export KOPS_STATE_STORE=s3://acme-tui-e2e"), "{second}");
    assert!(second.contains("export AWS_PROFILE=kops"), "{second}");

    let keys = boto3(
        &moto,
        "print(len(boto3.client('iam').list_access_keys(UserName='kops')['AccessKeyMetadata']))",
    );
    assert_eq!(keys, "1", "a rerun must not create a second access key");
    let versioning = boto3(
        &moto,
        "print(boto3.client('s3').get_bucket_versioning(Bucket='acme-tui-e2e').get('Status'))",
    );
    assert_eq!(versioning, "Enabled");
    let credentials = std::fs::read_to_string(home.join(".aws/credentials")).unwrap();
    assert!(credentials.contains("[kops]"), "the kops profile is saved");
    assert!(!second.contains("aws_secret_access_key"), "no secret in the summary");
}

/// The home directory every run shares: admin credentials and the kops stand-in behind a
/// wrapper script.
fn prepare_home(home: &Path) -> PathBuf {
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        "[default]\naws_access_key_id = AKIAADMINEXAMPLE1234\naws_secret_access_key = admin\n",
    )
    .unwrap();
    let stand_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_kops.py");
    let kops = home.join("kops");
    std::fs::write(&kops, format!("#!/bin/sh\nexec python3 {} \"$@\"\n", stand_in.display()))
        .unwrap();
    Command::new("chmod").args(["755", &kops.display().to_string()]).status().unwrap();
    kops
}

fn estimate(screen: &str) -> String {
    let at = screen.find("≈ $").unwrap_or_else(|| panic!("no estimate on screen:\n{screen}"));
    screen[at..].split('/').next().unwrap_or_default().to_string()
}

#[test]
fn with_no_answers_file_the_rules_checks_estimate_and_save_work_and_the_file_runs_with_yes() {
    if !have("tmux", "-V") || !have("python3", "-c") {
        eprintln!("skipped: tmux or python3 missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let Some(moto) = moto(&home.join("moto.log")) else {
        eprintln!("skipped: moto's server does not start (scripts/test installs it)");
        return;
    };
    let kops = prepare_home(home);
    let path = std::env::var("PATH").unwrap_or_default();
    let out = home.join("out.txt");
    let tmux = Tmux { socket: format!("kw-test3-{}", std::process::id()) };
    tmux.start(&format!(
        "env -i HOME={home} PATH={path} TERM=xterm-256color AWS_EC2_METADATA_DISABLED=true \
         AWS_ENDPOINT_URL={url} FAKE_KOPS_HOME={home}/fk {bin} --kops {kops} \
         --state-dir {home}/state > {out}; echo EXIT=$? >> {out}; sleep 600",
        home = sh_quote(&home.display().to_string()),
        path = sh_quote(&path),
        url = moto.url,
        bin = sh_quote(env!("CARGO_BIN_EXE_kops-wizard")),
        kops = sh_quote(&kops.display().to_string()),
        out = sh_quote(&out.display().to_string()),
    ));
    tmux.wait_for("1/4 Credentials", 30);
    // The account is known: the bucket name is suggested.
    tmux.wait_for("moto @ 123456789012", 30);
    for _ in 0..6 {
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.wait_for("kops-state-123456789012-us-east-1", 10);

    tmux.keys(&["C-u", "Bad_Bucket"]);
    tmux.wait_for("may contain only lower-case", 10);
    tmux.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(tmux.screen().contains("2/4 State store"), "a broken rule blocks Enter");
    tmux.keys(&["C-u", "acme-fileless-e2e"]);
    tmux.wait_for("✔ free", 20);
    let requests = std::fs::read_to_string(home.join("moto.log")).unwrap_or_default();
    assert!(!requests.contains("Bad_Bucket"), "a name the rules refuse reached AWS:\n{requests}");
    assert!(requests.contains("acme-fileless-e2e"), "the good name was checked:\n{requests}");

    // SSH key: ed25519 (fast to generate), then on to the cluster.
    for _ in 0..4 {
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux.wait_for("3/4 SSH key", 10);
    tmux.keys(&["Down", "Down", "Right"]);
    tmux.wait_for("‹ ed25519 ›", 10);
    tmux.keys(&["Enter", "Enter"]);
    tmux.wait_for("4/4 Cluster", 10);
    let before = estimate(&tmux.screen());
    for _ in 0..5 {
        tmux.keys(&["Down"]);
    }
    tmux.wait_for("▶ Node size", 10);
    tmux.keys(&["Right"]);
    std::thread::sleep(Duration::from_millis(500));
    let after = estimate(&tmux.wait_for("≈ $", 10));
    assert_ne!(before, after, "the estimate follows the node size");

    tmux.keys(&["s"]);
    tmux.wait_for("answers saved to", 10);
    let saved = home.join(".config/kops-wizard/config.toml");
    let text = std::fs::read_to_string(&saved).unwrap();
    assert!(text.contains("bucket = \"acme-fileless-e2e\""), "{text}");
    assert!(text.contains("key_type = \"ed25519\""), "{text}");
    assert!(!text.contains("aws_secret") && !text.contains("AKIA"), "no secret in {text}");

    for _ in 0..40 {
        if tmux.screen().contains("Review: what setup will do") {
            break;
        }
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(120));
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("is set up and validated", 120);
    tmux.keys(&["Enter"]);
    let summary = wait_file(&out, "EXIT=", 30);
    assert!(summary.contains("EXIT=0"), "{summary}");
    drop(tmux);

    // The saved file is a complete answers file: `setup --yes` with it finds everything done.
    let yes = Command::new(env!("CARGO_BIN_EXE_kops-wizard"))
        .args(["setup", "--yes", "--config"])
        .arg(&saved)
        .arg("--kops")
        .arg(&kops)
        .arg("--state-dir")
        .arg(home.join("state"))
        .env_clear()
        .env("HOME", home)
        .env("PATH", &path)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("FAKE_KOPS_HOME", home.join("fk"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let yes_out = String::from_utf8_lossy(&yes.stdout);
    assert!(yes.status.success(), "{yes_out}\n{}", String::from_utf8_lossy(&yes.stderr));
    assert!(yes_out.contains("setup done"), "{yes_out}");
    let keys = boto3(
        &moto,
        "print(len(boto3.client('iam').list_access_keys(UserName='kops')['AccessKeyMetadata']))",
    );
    assert_eq!(keys, "1");
}

#[test]
fn a_panic_inside_the_loop_leaves_the_terminal_restored_and_names_the_log() {
    if !have("tmux", "-V") || !cfg!(debug_assertions) {
        eprintln!("skipped: needs tmux and a debug build (the test panic key)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = home.join("out.txt");
    let tmux = Tmux { socket: format!("kw-test4-{}", std::process::id()) };
    tmux.start(&format!(
        "env -i HOME={home} PATH=/usr/bin:/bin TERM=xterm-256color AWS_EC2_METADATA_DISABLED=true \
         KOPS_WIZARD_TEST_PANIC=1 {bin} --state-dir {home}/state > {out}; \
         echo EXIT=$? >> {out}; stty -a > {out}.stty; sleep 600",
        home = sh_quote(&home.display().to_string()),
        bin = sh_quote(env!("CARGO_BIN_EXE_kops-wizard")),
        out = sh_quote(&out.display().to_string()),
    ));
    tmux.wait_for("1/4 Credentials", 30);
    tmux.keys(&["F12"]);
    let code = wait_file(&out, "EXIT=", 30);
    assert!(!code.contains("EXIT=0"), "a panic is not success: {code}");
    let stty = wait_file(&PathBuf::from(format!("{}.stty", out.display())), "speed", 10);
    assert!(stty.contains(" icanon") && stty.contains(" echo "), "terminal not restored: {stty}");
    // The UI and the panic message are on standard error: the terminal, back on its normal
    // screen.
    let err = tmux.wait_for("the log is", 10);
    assert!(err.contains("kops-wizard.log"), "{err}");
    assert!(err.contains("test panic inside the loop"), "the previous hook still prints: {err}");
}
