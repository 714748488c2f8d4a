//! Findings of a security review, each reproduced through the real binary: what the user
//! owns on disk (SSH keys swapped in or moved aside, a read-only or symlinked credentials
//! file) survives, and journal text cannot drive the terminal. Judged by the files and by
//! moto's request log, not by the wizard's words.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::support::tmux::Tmux;
use crate::support::{Moto, TestEnv, ready_env, run};

fn answers(extra: &str) -> String {
    format!(
        "[state_store]\nbucket = \"security-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n{extra}\n\
         [cluster]\nname = \"sec.example.com\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    )
}

fn wizard(env: &TestEnv, toml: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(toml);
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// A key pair made by ssh-keygen at `path` (and `path.pub`).
fn keygen(path: &std::path::Path, kind: &str) {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(path.with_extension("pub"));
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", "users-own", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn delete_ssh_key_keeps_a_pair_the_user_swapped_in_at_the_same_path() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let private = env.home().join(".ssh/kops");
    // The user replaces the wizard's pair with their own, at the same path.
    keygen(&private, "ed25519");
    let theirs = (fs::read(&private).unwrap(), fs::read(private.with_extension("pub")).unwrap());

    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes", "--delete-ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("it is not the pair setup generated"), "{out}");
    let now = (fs::read(&private).unwrap(), fs::read(private.with_extension("pub")).unwrap());
    assert!(now == theirs, "the user's own key pair was changed or deleted");
}

#[tokio::test]
async fn delete_ssh_key_deletes_the_pair_setup_generated() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("");
    assert_eq!(wizard(&env, &a, &["setup", "--yes"]).0, 0);
    let private = env.home().join(".ssh/kops");
    assert!(private.exists());
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes", "--delete-ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!private.exists() && !private.with_extension("pub").exists(), "{out}");
}

/// `--delete-ssh-key` deletes a private key only as the pair of setup's own `.pub`: a private
/// key swapped in beside it, or one whose `.pub` is gone, is kept byte for byte.
#[tokio::test]
async fn delete_ssh_key_keeps_a_private_key_that_is_not_the_pair_of_setups_pub() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("");
    let only_key = ["setup", "--yes", "--only", "ssh-key"];
    let private = env.home().join(".ssh/kops");
    let public = private.with_extension("pub");

    // Setup's .pub stays; the private key beside it is another one.
    let (code, out, err) = wizard(&env, &a, &only_key);
    assert_eq!(code, 0, "{out}\n{err}");
    let other = env.path("other");
    keygen(&other, "ed25519");
    fs::copy(&other, &private).unwrap();
    let before = (fs::read(&private).unwrap(), fs::read(&public).unwrap());
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes", "--delete-ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("kept: it is not the private key of ~/.ssh/kops.pub"), "{out}");
    assert!((fs::read(&private).unwrap(), fs::read(&public).unwrap()) == before, "{out}");

    // A new pair from setup, then its .pub is gone: the private key cannot be told apart.
    fs::remove_file(&private).unwrap();
    fs::remove_file(&public).unwrap();
    let (code, out, err) = wizard(&env, &a, &only_key);
    assert_eq!(code, 0, "{out}\n{err}");
    fs::remove_file(&public).unwrap();
    let before = fs::read(&private).unwrap();
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes", "--delete-ssh-key"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("its ~/.ssh/kops.pub is missing"), "{out}");
    assert_eq!(fs::read(&private).unwrap(), before, "a private key without its .pub was deleted");
}

#[tokio::test]
async fn moving_a_key_aside_never_overwrites_an_older_moved_aside_key() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let ssh = env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    // An RSA pair where the answers want ed25519: ssh.overwrite moves it aside.
    keygen(&ssh.join("kops"), "rsa");
    let old = fs::read(ssh.join("kops.pub")).unwrap();
    // Earlier moved-aside files for every second this run could pick.
    let now = jiff::Timestamp::now().as_second();
    for second in now..now + 120 {
        fs::write(ssh.join(format!("kops.pub.replaced-{second}")), format!("older {second}\n"))
            .unwrap();
    }
    let (code, out, err) = wizard(&env, &answers("overwrite = true"), &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    for second in now..now + 120 {
        let kept = fs::read_to_string(ssh.join(format!("kops.pub.replaced-{second}"))).unwrap();
        assert_eq!(kept, format!("older {second}\n"), "an older moved-aside key was overwritten");
    }
    let moved: Vec<String> = fs::read_dir(&ssh)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with("kops.pub.replaced-") && n.ends_with("-2"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(fs::read(ssh.join(&moved[0])).unwrap(), old, "the moved key is the old one");
}

#[tokio::test]
async fn overwrite_without_generate_moves_nothing_and_keeps_the_key() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let ssh = env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    // Half of one pair and half of another: a conflict only a new pair would resolve.
    keygen(&ssh.join("kops"), "ed25519");
    keygen(&ssh.join("other"), "ed25519");
    fs::copy(ssh.join("other.pub"), ssh.join("kops.pub")).unwrap();
    let before = fs::read(ssh.join("kops.pub")).unwrap();
    let (code, out, err) =
        wizard(&env, &answers("overwrite = true\ngenerate = false"), &["setup", "--yes"]);
    // Refused before anything runs (exit 2, not a word to AWS), not after moving the pair.
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("but ssh.generate = false"), "{err}");
    assert_eq!(moto.requests(), Vec::<String>::new(), "requests reached AWS");
    assert_eq!(fs::read(ssh.join("kops.pub")).unwrap(), before, "the key is gone or changed");
    assert!(ssh.join("kops").exists());
    let moved = fs::read_dir(&ssh)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".replaced-"))
        .count();
    assert_eq!(moved, 0, "a key was moved aside although no new one would replace it");
}

#[tokio::test]
async fn a_read_only_credentials_file_is_refused_before_any_aws_request() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws = env.home().join(".aws");
    fs::create_dir_all(&aws).unwrap();
    let credentials = aws.join("credentials");
    let mine = "[mine]\naws_access_key_id = AKIAMINE\naws_secret_access_key = x\n";
    fs::write(&credentials, mine).unwrap();
    fs::set_permissions(&credentials, fs::Permissions::from_mode(0o400)).unwrap();
    let (code, out, err) = wizard(&env, &answers(""), &["setup", "--yes"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(&format!("{} is read-only", credentials.display())), "{err}");
    assert_eq!(moto.requests(), Vec::<String>::new(), "requests reached AWS");
    assert_eq!(fs::read_to_string(&credentials).unwrap(), mine);
    let mode = fs::metadata(&credentials).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o400, "the file's protection was changed");
}

#[tokio::test]
async fn a_symlinked_credentials_file_is_updated_where_it_lives() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws = env.home().join(".aws");
    let dotfiles = env.home().join("dotfiles");
    fs::create_dir_all(&aws).unwrap();
    fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("aws-credentials");
    let mine = "# mine\n[mine]\naws_access_key_id = AKIAMINE\naws_secret_access_key = x\n";
    fs::write(&target, mine).unwrap();
    std::os::unix::fs::symlink(&target, aws.join("credentials")).unwrap();

    let (code, out, err) = wizard(&env, &answers(""), &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let link = fs::symlink_metadata(aws.join("credentials")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced by a file");
    let text = fs::read_to_string(&target).unwrap();
    assert!(text.starts_with(mine) && text.contains("[kops]"), "{text}");
    assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o600);

    let (code, out, err) = wizard(&env, &answers(""), &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(fs::symlink_metadata(aws.join("credentials")).unwrap().file_type().is_symlink());
    assert_eq!(fs::read_to_string(&target).unwrap().trim_end(), mine.trim_end());
}

#[test]
fn status_shows_escape_sequences_in_a_journal_instead_of_obeying_them() {
    let env = TestEnv::new(None);
    let dir = env.path("state/kops-wizard/journal");
    fs::create_dir_all(&dir).unwrap();
    // A hand-edited journal: an entry id and a validation failure carrying terminal escapes.
    let journal = serde_json::json!({
        "format": 1,
        "cluster": "esc.example.com",
        "region": "us-east-1",
        "entries": [{
            "kind": "iam-user", "id": "kops\u{1b}]0;owned\u{7}\u{1b}[2J", "state": "created",
            "at": "2026-12-01T10:00:00Z"
        }],
        "last_validation": {
            "at": "2026-12-01T10:00:00Z", "phase": "ready", "ready_nodes": 1, "expected_nodes": 1,
            "failures": ["\u{1b}[31mred\u{1b}[0m"]
        }
    });
    let path = dir.join("esc.example.com.json");
    fs::write(&path, journal.to_string()).unwrap();
    // As the wizard keeps its journals (the mode is not what this test is about).
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let (code, out, err) = run(env.wizard().arg("status"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("esc.example.com"), "the journal was read: {out}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{7}'),
        "escapes reached the terminal: {out:?}"
    );
    // Dropped whole, the title's text included; the words around it stay.
    assert!(!out.contains("owned") && !out.contains("[2J"), "{out}");
    assert!(out.contains("kops"), "{out}");
}

/// No control character but newline and tab in `text`.
fn terminal_safe(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// kops's words from outside (a title change, a screen clear, a cursor move, an 8-bit CSI) in
/// a failing `create cluster`: headless prints the words and no control sequence, the full
/// screen and `--plain` leave the terminal's title alone, and the log keeps the text escaped.
#[tokio::test]
async fn control_sequences_from_kops_never_reach_the_terminal_in_any_mode() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    env.set("FAKE_KOPS_SAY", "from the cloud \u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[H\u{9b}31mred");
    // kops's only output: that line on stderr, then exit 1; its stderr is in the error.
    env.set("FAKE_KOPS_VALIDATE", "silent-failure");
    let a = answers("");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(terminal_safe(&out) && terminal_safe(&err), "{out:?}\n{err:?}");
    assert!(err.contains("from the cloud red"), "kops's words stay, stripped: {err}");
    let log = fs::read_to_string(env.path("state/kops-wizard/kops-wizard.log")).unwrap();
    assert!(!log.contains('\u{1b}') && log.contains("from the cloud"), "{log}");

    let file = env.answers(&a);
    for mode in [None, Some("--plain")] {
        let mut argv = vec![crate::support::bin()];
        argv.extend(mode.map(String::from));
        argv.extend(["-c".to_string(), file.display().to_string()]);
        let term = Tmux::start(&env, &argv, 160, 50);
        let title = term.title();
        match mode {
            None => {
                term.wait_for("moto @ 123456789012", std::time::Duration::from_secs(30));
                term.enter_until("Review: what setup will do", 40);
                term.keys(&["Enter"]);
            }
            Some(_) => {
                for q in kops_wizard::questions::QUESTIONS {
                    if q.key != "cluster.bastion" {
                        crate::plain::answer(&term, q.label, &["Enter"]);
                    }
                }
                crate::plain::answer(&term, "Start setup now?", &["y", "Enter"]);
            }
        }
        let shown = match mode {
            None => "Setup stopped",
            Some(_) => "from the cloud red",
        };
        term.wait_for(shown, std::time::Duration::from_secs(120));
        assert_eq!(term.title(), title, "{mode:?}: kops's words retitled the terminal");
        assert!(!term.joined().contains("pwned"), "{mode:?}: {}", term.joined());
        if mode.is_none() {
            term.keys(&["q"]);
        }
        let (code, _) = term.finished(std::time::Duration::from_secs(30));
        assert_eq!(code, 1, "{mode:?}: {}", term.joined());
    }
}
