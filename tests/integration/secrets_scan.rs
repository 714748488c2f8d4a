//! After the whole suite (scripts/test runs this ignored test last): every stdout and stderr
//! of a wizard run, every tmux screen, log file, journal, answers file and kops call log the
//! suite produced is searched for every secret key issued during it. Zero hits, and the files
//! that must be private are 0600. It fails when there is nothing to scan, so a broken capture
//! cannot pass for a clean suite.

use std::collections::BTreeSet;
use std::fs;

use crate::support::{ADMIN_SECRET, evidence};

/// Secrets AWS issues are 40 characters; the tests' own placeholders (`x`, `fake-secret`) are
/// not secrets and would match everywhere.
const SECRET_MIN_LEN: usize = 20;

#[test]
#[ignore = "run by scripts/test after the whole suite"]
fn no_secret_in_any_output_screen_log_journal_or_answers_file_and_private_files_are_0600() {
    let root = evidence::root();
    let dirs: Vec<_> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("no evidence at {} ({e}): run the suite first", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    let mut secrets: BTreeSet<String> = BTreeSet::from([ADMIN_SECRET.to_string()]);
    let mut scanned = Vec::new();
    let mut modes = Vec::new();
    for dir in &dirs {
        for file in fs::read_dir(dir).unwrap().flatten().map(|e| e.path()) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let text = String::from_utf8_lossy(&fs::read(&file).unwrap()).into_owned();
            if name.starts_with("secrets-") {
                secrets
                    .extend(text.lines().filter(|s| s.len() >= SECRET_MIN_LEN).map(String::from));
            } else if name.starts_with("modes-") {
                modes.extend(text.lines().map(String::from));
            } else {
                scanned.push((file, text));
            }
        }
    }
    let issued = secrets.len() - 1;
    let bytes: usize = scanned.iter().map(|(_, t)| t.len()).sum();
    let count = |prefix: &str| {
        scanned
            .iter()
            .filter(|(f, _)| f.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .count()
    };
    println!(
        "secrets scan: {} tests, {issued} secret keys issued (+ the admin's), {} outputs, {} \
         screens, {} files (journals, logs, answers, kops calls), {bytes} bytes; {} private \
         files' modes",
        dirs.len(),
        count("output-"),
        count("screen-"),
        count("file-"),
        modes.len()
    );
    assert!(dirs.len() >= 50, "only {} tests left evidence: is the capture broken?", dirs.len());
    assert!(issued >= 20, "only {issued} secrets issued: the suite creates many more keys");
    assert!(count("screen-") > 0 && count("output-") > 0 && count("file-") > 0);

    let mut hits = Vec::new();
    for (file, text) in &scanned {
        for secret in &secrets {
            if text.contains(secret.as_str()) {
                hits.push(format!(
                    "{} holds a secret ending …{}",
                    file.display(),
                    &secret[secret.len() - 4..]
                ));
            }
        }
    }
    assert!(hits.is_empty(), "secrets found: {}\n{}", hits.len(), hits.join("\n"));

    let loose: Vec<&String> = modes.iter().filter(|m| !m.starts_with("600 ")).collect();
    assert!(loose.is_empty(), "files that must be private are not 0600:\n{loose:#?}");
}
