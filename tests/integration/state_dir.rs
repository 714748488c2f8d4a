//! A local state dir that cannot be turned against the user: a symlinked, world-writable or
//! foreign state dir, and a symlink planted where the journal or the log goes, are refused
//! (exit 2, naming the path) before anything happens: no request reaches AWS, and the file a
//! planted link points to keeps its bytes and its mode.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::support::{Moto, TestEnv, run};

const ANSWERS: &str = "[state_store]\nbucket = \"statedir-kops-state\"\n[ssh]\n\
                       key_type = \"ed25519\"\n[cluster]\nname = \"sd.example.com\"\n";

fn setup(env: &TestEnv) -> (i32, String, String) {
    let file = env.answers(ANSWERS);
    run(env.wizard().args(["setup", "--yes", "--only", "credentials,state-store", "-c"]).arg(file))
}

/// The default state dir of the environment (`$XDG_STATE_HOME/kops-wizard`).
fn state_dir(env: &TestEnv) -> PathBuf {
    env.path("state/kops-wizard")
}

/// A file somewhere else that a planted link points to, with its bytes and mode.
fn victim(env: &TestEnv) -> (PathBuf, Vec<u8>, u32) {
    let path = env.path("victim.txt");
    fs::write(&path, b"someone's precious file\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    (path.clone(), fs::read(&path).unwrap(), 0o644)
}

fn unchanged(path: &Path, bytes: &[u8], mode: u32) {
    assert_eq!(fs::read(path).unwrap(), bytes, "{} was written through a link", path.display());
    let now = fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(now, mode, "{} was chmod'ed through a link", path.display());
}

fn refused(moto: &Moto, (code, out, err): (i32, String, String), path: &Path, rule: &str) {
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(&path.display().to_string()), "the path is named: {err}");
    assert!(err.contains(rule), "the rule ({rule}) is named: {err}");
    assert!(err.contains("Nothing was changed"), "{err}");
    assert_eq!(moto.requests(), Vec::<String>::new(), "a refused state dir reached AWS");
}

#[test]
fn a_normal_run_makes_the_state_dir_private() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    let mode = |p: PathBuf| fs::metadata(&p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(state_dir(&env)), 0o700);
    assert_eq!(mode(state_dir(&env).join("journal")), 0o700);
    for file in ["kops-wizard.log", "machine-id", "journal/sd.example.com.json"] {
        assert_eq!(mode(state_dir(&env).join(file)), 0o600, "{file}");
    }
}

#[test]
fn a_symlinked_or_world_writable_state_dir_is_refused() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    // A link where the state dir goes, to a dir that is otherwise fine.
    let elsewhere = env.path("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&elsewhere, state_dir(&env)).unwrap();
    refused(&moto, setup(&env), &state_dir(&env), "is a symbolic link");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0, "something was written through it");

    // A real dir that anyone may write to.
    fs::remove_file(state_dir(&env)).unwrap();
    fs::create_dir(state_dir(&env)).unwrap();
    fs::set_permissions(state_dir(&env), fs::Permissions::from_mode(0o777)).unwrap();
    refused(&moto, setup(&env), &state_dir(&env), "chmod 700");
    // `status` too: every command reads the state dir.
    let (code, _, err) = run(env.wizard().arg("status"));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_state_dir_of_another_user_is_refused() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    fs::create_dir(state_dir(&env)).unwrap();
    fs::set_permissions(state_dir(&env), fs::Permissions::from_mode(0o700)).unwrap();
    // 65534 is `nobody`: the tests run as root (scripts/test installs as root), which may chown.
    let chown = std::process::Command::new("chown").arg("65534").arg(state_dir(&env)).status();
    if !chown.is_ok_and(|s| s.success()) {
        panic!("chown to nobody failed: these tests run as root on this kind of machine");
    }
    refused(&moto, setup(&env), &state_dir(&env), "not to you");
}

#[test]
fn a_symlink_planted_at_the_journal_or_the_log_is_refused_and_its_target_untouched() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let (path, bytes, mode) = victim(&env);
    let journal = state_dir(&env).join("journal/sd.example.com.json");
    fs::create_dir_all(journal.parent().unwrap()).unwrap();
    fs::set_permissions(state_dir(&env), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(journal.parent().unwrap(), fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&path, &journal).unwrap();
    refused(&moto, setup(&env), &journal, "is a symbolic link");
    unchanged(&path, &bytes, mode);

    fs::remove_file(&journal).unwrap();
    let log = state_dir(&env).join("kops-wizard.log");
    symlink(&path, &log).unwrap();
    refused(&moto, setup(&env), &log, "is a symbolic link");
    unchanged(&path, &bytes, mode);

    // A journal another user can write is not trusted either.
    fs::remove_file(&log).unwrap();
    fs::write(&journal, "{}").unwrap();
    fs::set_permissions(&journal, fs::Permissions::from_mode(0o666)).unwrap();
    refused(&moto, setup(&env), &journal, "chmod 600");
    // The planted file is the test's, not the wizard's: gone before the secrets scan looks at
    // what the wizard left (which must all be 0600).
    fs::remove_file(&journal).unwrap();
}
