//! What every test showed the user, kept for the secrets scan that runs after the whole suite
//! (`secrets_scan.rs`, run last by scripts/test): each wizard run's stdout and stderr, each
//! tmux screen capture, and when an environment is dropped its journals, log, answers files
//! and the stand-in's call log; plus every secret key issued (read from the credentials files
//! after each run, before a teardown can remove them) and the modes of the files that must be
//! private. One directory per test process under `target/tmp/evidence/`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where all tests' evidence goes; scripts/test empties it before the suite.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("evidence")
}

/// This test process's directory (nextest runs each test in its own process).
fn dir() -> PathBuf {
    let dir = root().join(format!("{}-{}", std::process::id(), test_name()));
    let _ = fs::create_dir_all(&dir);
    dir
}

fn test_name() -> String {
    std::thread::current().name().unwrap_or("test").replace("::", "-")
}

fn next_file(prefix: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    dir().join(format!("{prefix}-{:04}.txt", N.fetch_add(1, Ordering::Relaxed)))
}

/// Keeps text the user saw (an output, a screen).
pub fn shown(kind: &str, text: &str) {
    let _ = fs::write(next_file(kind), text);
}

/// Keeps a copy of a file the wizard wrote for the user or itself (journal, log, answers).
fn keep_file(path: &Path) {
    if let Ok(bytes) = fs::read(path) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = fs::write(next_file(&format!("file-{name}")), bytes);
    }
}

/// Records the secret keys in the credentials files under `home` (and the one the variable
/// names), so the scan knows every secret issued even after a teardown removed its profile.
pub fn secrets_under(home: &Path, extra: Option<&Path>) {
    let mut found = Vec::new();
    let files = [Some(home.join(".aws/credentials")), extra.map(Path::to_path_buf)];
    for file in files.into_iter().flatten() {
        let Ok(text) = fs::read_to_string(&file) else { continue };
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=')
                && matches!(key.trim(), "aws_secret_access_key" | "aws_session_token")
                && !value.trim().is_empty()
            {
                found.push(value.trim().to_string());
            }
        }
    }
    if !found.is_empty() {
        let _ = fs::write(next_file("secrets"), found.join("\n"));
    }
}

/// Records a secret the test itself issued (another admin's key), for the scan to look for.
pub fn secret(value: &str) {
    let _ = fs::write(next_file("secrets"), value);
}

/// When a test environment goes: its journals, log, answers files and kops call log, and the
/// modes of the files that must be private (credentials, config, private keys, journal, log).
pub fn environment(root_dir: &Path, home: &Path) {
    secrets_under(home, None);
    let mut keep = Vec::new();
    let state = root_dir.join("state/kops-wizard");
    // The AWS files count only where a journal says the wizard saved a profile: a test's own
    // file, or a read-only one the wizard refused to touch, keeps the test's mode.
    let mut private: Vec<PathBuf> = if wizard_saved_a_profile(&state.join("journal")) {
        vec![home.join(".aws/credentials"), home.join(".aws/config")]
    } else {
        Vec::new()
    };
    if let Ok(entries) = fs::read_dir(state.join("journal")) {
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "json") {
                keep.push(path.clone());
                private.push(path);
            }
        }
    }
    keep.push(state.join("kops-wizard.log"));
    private.push(state.join("kops-wizard.log"));
    keep.push(root_dir.join("fake-kops/calls.jsonl"));
    if let Ok(entries) = fs::read_dir(root_dir) {
        keep.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml")),
        );
    }
    // What tests sent a program's standard output into (the full-screen summaries).
    if let Ok(entries) = fs::read_dir(root_dir) {
        keep.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt")),
        );
    }
    let config = root_dir.join("config/kops-wizard/config.toml");
    keep.push(config);
    if let Ok(entries) = fs::read_dir(home.join(".ssh")) {
        for e in entries.flatten() {
            let path = e.path();
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // Private keys: no extension (kops, id_ed25519), not a moved-aside copy.
            if path.extension().is_none() && !name.contains(".replaced-") && is_private_key(&path) {
                private.push(path);
            }
        }
    }
    for path in keep.iter().filter(|p| p.exists()) {
        keep_file(path);
    }
    let modes: Vec<String> = private
        .iter()
        .filter_map(|p| {
            // A symlinked file is judged by what it points at (what the wizard writes).
            let meta = fs::metadata(p).ok()?;
            Some(format!("{:o} {}", meta.permissions().mode() & 0o777, p.display()))
        })
        .collect();
    if !modes.is_empty() {
        let _ = fs::write(next_file("modes"), modes.join("\n"));
    }
}

fn wizard_saved_a_profile(journals: &Path) -> bool {
    let Ok(entries) = fs::read_dir(journals) else { return false };
    entries.flatten().any(|e| {
        let text = fs::read_to_string(e.path()).unwrap_or_default();
        let journal: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        journal["entries"].as_array().is_some_and(|entries| {
            entries.iter().any(|x| {
                x["kind"] == "profile"
                    && matches!(x["state"].as_str(), Some("created" | "deleted" | "released"))
            })
        })
    })
}

fn is_private_key(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|t| t.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
}
