//! The command-line contract: help, version, completions, exit codes, answers-file errors.

use crate::support::{Moto, TestEnv, run};

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let env = TestEnv::new(None);
    let (code, out, _) = run(env.wizard().arg("--help"));
    assert_eq!(code, 0);
    for command in ["setup", "teardown", "plan", "doctor", "status", "completions"] {
        assert!(out.contains(command), "help lacks {command}:\n{out}");
    }
    for option in ["--config", "--plain", "--yes", "--dry-run", "--kops", "--state-dir"] {
        assert!(out.contains(option), "help lacks {option}:\n{out}");
    }
    assert!(out.contains("2 bad input or usage"), "{out}");

    let (code, out, _) = run(env.wizard().args(["teardown", "--help"]));
    assert_eq!(code, 0);
    for option in ["--keep-bucket", "--keep-iam", "--delete-ssh-key"] {
        assert!(out.contains(option), "teardown help lacks {option}:\n{out}");
    }
    let (_, out, _) = run(env.wizard().args(["setup", "--help"]));
    for step in ["credentials", "state-store", "ssh-key", "cluster", "deploy", "validate"] {
        assert!(out.contains(step), "setup help lacks the step {step}:\n{out}");
    }
}

#[test]
fn version_and_completions() {
    let env = TestEnv::new(None);
    let (code, out, _) = run(env.wizard().arg("--version"));
    assert_eq!((code, out.trim()), (0, concat!("kops-wizard ", env!("CARGO_PKG_VERSION"))));
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef kops-wizard"),
        ("fish", "complete -c kops-wizard"),
    ] {
        let (code, out, err) = run(env.wizard().args(["completions", shell]));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(marker), "{shell} completions lack {marker:?}");
        assert!(out.contains("teardown"), "{shell} completions lack the commands");
    }
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new(None);
    let (code, _, err) = run(env.wizard().args(["setup", "--only", "iam"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid value 'iam'"), "{err}");
    let (code, _, err) = run(env.wizard().arg("frobnicate"));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn setup_without_a_terminal_or_yes_says_what_to_use() {
    let env = TestEnv::new(None);
    for command in [vec![], vec!["setup"], vec!["teardown"]] {
        let (code, out, err) = run(env.wizard().args(&command));
        assert_eq!(code, 2, "{command:?}: {err}");
        assert!(err.contains("--yes") && err.contains("--plain"), "{err}");
        assert!(out.is_empty());
    }
}

#[test]
fn plain_setup_without_a_terminal_asks_for_yes() {
    // The line mode asks too, so it needs a terminal on standard input as the full-screen
    // wizard does; a script should use --yes.
    let env = TestEnv::new(None);
    let (code, out, err) = run(env.wizard().args(["setup", "--plain"]));
    assert_eq!(code, 2);
    assert!(err.contains("--yes"), "{err}");
    assert!(out.is_empty(), "{out}");
}

#[test]
fn an_unknown_key_is_exit_2_naming_file_line_and_key() {
    let env = TestEnv::new(None);
    let file = crate::support::repo().join("tests/fixtures/unknown-key.toml");
    let (code, out, err) = run(env.wizard().args(["plan", "-c"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "no plan is printed: {out}");
    assert!(err.contains("unknown-key.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("master_size"), "{err}");
}

#[test]
fn a_missing_explicit_file_is_exit_2_but_a_missing_default_is_fine() {
    let env = TestEnv::new(None);
    let (code, _, err) = run(env.wizard().args(["plan", "-c", "nowhere.toml"]));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read the answers file nowhere.toml"), "{err}");

    let (code, out, err) = run(env.wizard().arg("plan"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Answers: the defaults"), "{out}");
}

#[test]
fn the_default_answers_file_is_used_when_present() {
    let env = TestEnv::new(None);
    let dir = env.path("config/kops-wizard");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "[state_store]\nbucket = \"from-default-file\"\n")
        .unwrap();
    let (code, out, err) = run(env.wizard().arg("plan"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("BUCKET=from-default-file"), "{out}");
    assert!(out.contains("config/kops-wizard/config.toml"), "{out}");
}

#[test]
fn broken_rules_are_all_listed_and_nothing_reaches_aws() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let file = crate::support::repo().join("tests/fixtures/invalid-values.toml");
    for command in ["plan", "doctor"] {
        let (code, out, err) = run(env.wizard().arg(command).arg("-c").arg(&file));
        assert_eq!(code, 2, "{command}: {err}");
        assert!(out.is_empty(), "{command}: {out}");
        for needle in [
            r#"state_store.bucket = "Team_Bucket""#,
            r#"cluster.name = "dev""#,
            r#"cluster.networking = "weave": weave was removed from kops in 1.28"#,
            r#"cluster.control_plane_count = "2""#,
            r#"cluster.bastion = "true""#,
        ] {
            assert!(err.contains(needle), "{command}: missing {needle:?} in\n{err}");
        }
        assert!(err.contains("5 rule(s)"), "{err}");
    }
    assert_eq!(moto.requests(), Vec::<String>::new(), "bad answers must not reach AWS");
    assert!(!env.path("state/kops-wizard").exists(), "bad answers must not create the state dir");
}
