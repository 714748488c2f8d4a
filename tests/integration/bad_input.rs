//! The bad-input corpus: every answers file under `tests/fixtures/bad/`, a table of flag values
//! and a table of typed field values. Each must be refused, naming the field: the real binary
//! with exit 2, a typed value by its question (as both interactive front ends show it). None
//! may reach AWS: one moto server's request log is read before and after every case, the state
//! dir gets no journal and the home dir is left as it was.
//!
//! A fixture's first comment lines say what it checks:
//! - `# expect: TEXT`: standard error contains TEXT (`{file}` is the fixture's file name);
//! - `# rule: NAME`: the rule it breaks, for the coverage test (the functions of `src/rules.rs`
//!   by name, the rules written inside `check_answers` by a name of their own);
//! - `# given: PATH < FILE` copies `FILE` (under the fixtures) to `PATH` (under the test's
//!   HOME) first; `# given: PATH = KIND` makes a `dir`, an `empty` file, a `dangling` symlink,
//!   a `big` file, a `private-key`, an `ed25519-pair` or `pem-pair` (PATH is the private key),
//!   or `removed` deletes what is there.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kops_wizard::answers::{Answers, KeyType};
use kops_wizard::questions;

use crate::support::{Moto, TestEnv, repo, run_within};

/// A case that got past every check would go on to AWS and kops: the request log says so,
/// and this stops it rather than wait for a validation that takes minutes.
const CASE_LIMIT: Duration = Duration::from_secs(30);

/// The issue asks for at least 80 bad inputs; the corpus must not shrink below it unnoticed.
const MIN_CASES: usize = 80;

fn fixtures_dir() -> PathBuf {
    repo().join("tests/fixtures/bad")
}

struct Fixture {
    name: String,
    path: PathBuf,
    expects: Vec<String>,
    rules: Vec<String>,
    given: Vec<String>,
}

/// Every `*.toml` under the fixtures, with its header. Read as bytes: one is not UTF-8.
fn fixtures() -> Vec<Fixture> {
    let mut list: Vec<Fixture> = fs::read_dir(fixtures_dir())
        .expect("the bad fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|path| {
            let text = String::from_utf8_lossy(&fs::read(&path).expect("a fixture")).into_owned();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let header = |tag: &str| -> Vec<String> {
                text.lines()
                    .take_while(|l| l.starts_with('#'))
                    .filter_map(|l| l.strip_prefix(tag).map(|v| v.trim().replace("{file}", &name)))
                    .collect()
            };
            Fixture {
                expects: header("# expect:"),
                rules: header("# rule:"),
                given: header("# given:"),
                name,
                path,
            }
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// The fixture's category, from its name: what the RELIABILITY table counts.
fn category(name: &str) -> &'static str {
    match name.split('-').next().unwrap_or_default() {
        "syntax" | "not" => "TOML syntax and encoding",
        "empty" | "only" | "bucket" => "empty or missing answers",
        "type" => "wrong types",
        "unknown" => "unknown keys",
        "rule" => "rules",
        "long" => "very long values",
        "nonascii" => "non-ASCII",
        "control" => "control characters",
        "key" => "SSH key files",
        other => panic!("fixture {name}: unknown category {other}"),
    }
}

/// Makes what a fixture's `given` lines say under `home`.
fn prepare(home: &Path, given: &[String]) {
    for line in given {
        let (target, how) = match (line.split_once(" < "), line.split_once(" = ")) {
            (Some((t, file)), _) => (t, format!("< {file}")),
            (None, Some((t, kind))) => (t, kind.to_string()),
            _ => panic!("a given line is `PATH < FILE` or `PATH = KIND`: {line}"),
        };
        let path = home.join(target.trim());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        match how.trim() {
            copy if copy.starts_with("< ") => {
                fs::copy(fixtures_dir().join(copy[2..].trim()), &path).unwrap();
            }
            "dir" => fs::create_dir_all(&path).unwrap(),
            "empty" => fs::write(&path, "").unwrap(),
            "dangling" => std::os::unix::fs::symlink(home.join("nowhere"), &path).unwrap(),
            "big" => fs::write(&path, "ssh-ed25519 ".repeat(400_000)).unwrap(),
            "removed" => fs::remove_file(&path).unwrap(),
            "ed25519-pair" => {
                kops_wizard::engine::cluster::ssh::generate(&path, KeyType::Ed25519, "corpus")
                    .unwrap();
            }
            "private-key" => {
                let tmp = tempfile::tempdir().unwrap();
                let private = tmp.path().join("k");
                kops_wizard::engine::cluster::ssh::generate(&private, KeyType::Ed25519, "corpus")
                    .unwrap();
                fs::copy(&private, &path).unwrap();
            }
            "pem-pair" => {
                let out = Command::new("ssh-keygen")
                    .args(["-q", "-t", "rsa", "-b", "1024", "-m", "PEM", "-N", "", "-f"])
                    .arg(&path)
                    .output()
                    .expect("ssh-keygen");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
            other => panic!("unknown given kind {other:?} in {line}"),
        }
    }
}

/// Every file under `dir` with its bytes (symlinks by their target), to prove nothing changed.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(path.clone(), b"<dir>".to_vec());
                todo.push(path);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(path, target.into_os_string().into_encoded_bytes());
            } else {
                out.insert(path.clone(), fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// One case's outcome against the contract: exit 2, every needle in stderr and no raw control
/// character there, no AWS request, no journal, the home dir untouched. `Err` says what broke.
struct Outcome {
    code: i32,
    err: String,
    requests: usize,
    journal: bool,
    home_changed: bool,
}

impl Outcome {
    fn check(&self, needles: &[String]) -> Result<(), String> {
        let mut broken = Vec::new();
        if self.code != 2 {
            broken.push(format!("exit {} (not 2)", self.code));
        }
        for needle in needles {
            if !self.err.contains(needle.as_str()) {
                broken.push(format!("stderr lacks {needle:?}"));
            }
        }
        // A value with a newline or an escape sequence is quoted in the message, never replayed.
        if let Some(c) = self.err.chars().find(|c| c.is_control() && *c != '\n') {
            broken.push(format!("stderr holds the raw control character {c:?}"));
        }
        if self.requests > 0 {
            broken.push(format!("{} request(s) reached AWS", self.requests));
        }
        if self.journal {
            broken.push("a journal was written".into());
        }
        if self.home_changed {
            broken.push("the home dir changed".into());
        }
        if broken.is_empty() {
            Ok(())
        } else {
            let tail: String = self.err.chars().take(600).collect();
            Err(format!("{}\n    stderr: {tail}", broken.join("; ")))
        }
    }
}

/// Runs the arguments `build` makes in a fresh environment (after setting up its home), with
/// the kops stand-in installed: a user who has kops, so a case that passed the checks would go
/// on to AWS.
fn run_case(moto: &Moto, build: impl FnOnce(&TestEnv) -> Vec<OsString>) -> Outcome {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops_bare();
    let args = build(&env);
    let before_home = tree(&env.home());
    let before = moto.requests().len();
    let (code, _, err) = run_within(env.wizard().args(&args), CASE_LIMIT);
    Outcome {
        code,
        err,
        requests: moto.requests().len() - before,
        journal: env.path("state/kops-wizard/journal").exists(),
        home_changed: tree(&env.home()) != before_home,
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Prints the counts, so the RELIABILITY table can be copied from the test's output.
fn report(title: &str, how: &str, counts: &BTreeMap<&str, usize>, failures: &[String]) {
    let total: usize = counts.values().sum();
    println!("{title}: {total} case(s), {} {how}", total - failures.len());
    for (what, n) in counts {
        println!("  {what}: {n}");
    }
    assert!(
        failures.is_empty(),
        "{} case(s) broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_bad_answers_file_is_refused_before_any_aws_request() {
    let mut moto = Moto::start();
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    for f in fixtures() {
        assert!(!f.expects.is_empty(), "{}: no `# expect:` line", f.name);
        *counts.entry(category(&f.name)).or_default() += 1;
        let outcome = run_case(&moto, |env| {
            prepare(&env.home(), &f.given);
            let mut args = os(&["setup", "--yes", "-c"]);
            args.push(f.path.clone().into_os_string());
            args
        });
        if let Err(why) = outcome.check(&f.expects) {
            failures.push(format!("- {}: {why}", f.name));
        }
        if outcome.requests > 0 {
            // What that case created (an IAM user, keys) would change what the next one
            // meets: a fresh AWS keeps each case's count its own.
            moto = Moto::start();
        }
    }
    report(
        "bad answers files (setup --yes -c FILE)",
        "refused (exit 2, field named) with zero AWS requests",
        &counts,
        &failures,
    );
    assert_eq!(moto.requests(), Vec::<String>::new(), "no bad answers file reaches AWS");
}

/// A flag case: its name, how to build its arguments in its environment, what stderr names.
type FlagCase = (&'static str, fn(&TestEnv) -> Vec<OsString>, &'static str);

/// A valid answers file in the environment, for cases where only the flag is bad.
fn base(env: &TestEnv) -> OsString {
    env.answers("[state_store]\nbucket = \"corpus-kops-state\"\n").into_os_string()
}

/// `-c BASE` (a global flag, so it may come first), then `args`, then `values`.
fn with_base(env: &TestEnv, args: &[&str], values: &[OsString]) -> Vec<OsString> {
    let mut all = vec!["-c".into(), base(env)];
    all.extend(os(args));
    all.extend(values.iter().cloned());
    all
}

/// A file under the environment, made with `contents` and `mode`.
fn file(env: &TestEnv, name: &str, contents: &[u8], mode: u32) -> OsString {
    let path = env.path(name);
    fs::write(&path, contents).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path.into_os_string()
}

const FLAG_CASES: &[FlagCase] = &[
    (
        "--only with an unknown step",
        |e| with_base(e, &["setup", "--yes", "--only", "iam"], &[]),
        "--only",
    ),
    ("--only empty", |e| with_base(e, &["setup", "--yes", "--only", ""], &[]), "--only"),
    (
        "--only with an empty item",
        |e| with_base(e, &["setup", "--yes", "--only", "credentials,,deploy"], &[]),
        "--only",
    ),
    (
        "--only in capitals",
        |e| with_base(e, &["setup", "--yes", "--only", "Credentials"], &[]),
        "--only",
    ),
    (
        "--only with a newline",
        |e| with_base(e, &["setup", "--yes", "--only", "credentials\n"], &[]),
        "--only",
    ),
    (
        "--only with a good and a bad step",
        |e| with_base(e, &["setup", "--yes", "--only", "credentials,iam"], &[]),
        "--only",
    ),
    (
        "--kops that does not exist",
        |e| with_base(e, &["setup", "--yes", "--kops", "/nonexistent/kops"], &[]),
        "--kops",
    ),
    ("--kops empty", |e| with_base(e, &["setup", "--yes", "--kops", ""], &[]), "--kops"),
    (
        "--kops a directory",
        |e| with_base(e, &["setup", "--yes", "--kops"], &[e.path("bin").into_os_string()]),
        "--kops",
    ),
    (
        "--kops not executable",
        |e| {
            let kops = file(e, "kops-plain", b"#!/bin/sh\necho 'Client version: 1.36.2'\n", 0o644);
            with_base(e, &["setup", "--yes", "--kops"], &[kops])
        },
        "--kops",
    ),
    (
        "--kops that prints no version",
        |e| {
            let kops = file(e, "kops-mute", b"#!/bin/sh\necho hello\n", 0o755);
            with_base(e, &["setup", "--yes", "--kops"], &[kops])
        },
        "cannot read a version",
    ),
    (
        "--kops too old",
        |e| {
            let kops = file(
                e,
                "kops-old",
                b"#!/bin/sh\necho 'Client version: 1.27.3 (git-v1.27.3)'\n",
                0o755,
            );
            with_base(e, &["setup", "--yes", "--kops"], &[kops])
        },
        "too old",
    ),
    (
        "--state-dir a file",
        |e| {
            let f = file(e, "state-file", b"", 0o644);
            with_base(e, &["setup", "--yes", "--state-dir"], &[f])
        },
        "--state-dir",
    ),
    (
        "--state-dir under a file",
        |e| {
            let mut f = file(e, "state-file", b"", 0o644);
            f.push("/sub");
            with_base(e, &["setup", "--yes", "--state-dir"], &[f])
        },
        "--state-dir",
    ),
    (
        "--state-dir empty",
        |e| with_base(e, &["setup", "--yes", "--state-dir", ""], &[]),
        "--state-dir",
    ),
    (
        "--config that does not exist",
        |_| os(&["setup", "--yes", "-c", "/nonexistent/answers.toml"]),
        "--config",
    ),
    ("--config empty", |_| os(&["setup", "--yes", "-c", ""]), "--config"),
    (
        "--config a directory",
        |e| {
            let mut args = os(&["setup", "--yes", "-c"]);
            args.push(e.path("home").into_os_string());
            args
        },
        "--config",
    ),
    ("--config without a value", |_| os(&["setup", "--yes", "-c"]), "--config"),
    (
        "--config with a newline in the name",
        |_| os(&["setup", "--yes", "-c", "answers\n.toml"]),
        "--config",
    ),
    (
        "--config binary",
        |e| {
            let f = file(e, "answers.bin", &[0xff, 0xfe, 0x00, 0x5b, 0x80], 0o644);
            let mut args = os(&["setup", "--yes", "-c"]);
            args.push(f);
            args
        },
        "--config",
    ),
    ("an unknown flag", |e| with_base(e, &["setup", "--yes", "--bogus"], &[]), "--bogus"),
    ("--yes with a value", |e| with_base(e, &["setup", "--yes=maybe"], &[]), "--yes"),
    (
        "--dry-run with a value",
        |e| with_base(e, &["setup", "--yes", "--dry-run=1"], &[]),
        "--dry-run",
    ),
    ("an unexpected argument", |e| with_base(e, &["setup", "--yes"], &os(&["extra"])), "extra"),
    ("an unknown command", |_| os(&["frobnicate", "--yes"]), "frobnicate"),
    ("completions for an unknown shell", |_| os(&["completions", "powershell"]), "powershell"),
    (
        "teardown --keep-bucket with a value",
        |e| with_base(e, &["teardown", "--yes", "--keep-bucket=no"], &[]),
        "--keep-bucket",
    ),
    ("teardown --yes without --config", |_| os(&["teardown", "--yes"]), "--config"),
    (
        "plan --teardown with a value",
        |e| with_base(e, &["plan", "--teardown=yes"], &[]),
        "--teardown",
    ),
];

#[test]
fn bad_flag_values_exit_2_before_any_aws_request() {
    let mut moto = Moto::start();
    let mut failures = Vec::new();
    for (name, args, needle) in FLAG_CASES {
        let outcome = run_case(&moto, args);
        if let Err(why) = outcome.check(&[needle.to_string()]) {
            failures.push(format!("- {name}: {why}"));
        }
        if outcome.requests > 0 {
            moto = Moto::start();
        }
    }
    let counts = BTreeMap::from([("flag values", FLAG_CASES.len())]);
    report(
        "bad flag values",
        "refused (exit 2, flag named) with zero AWS requests",
        &counts,
        &failures,
    );
    assert_eq!(moto.requests(), Vec::<String>::new(), "no bad flag reaches AWS");
}

/// A typed value: answers set first (`pre`), the question's key, the text typed, the rule.
struct Typed {
    pre: &'static [(&'static str, &'static str)],
    key: &'static str,
    value: String,
    rule: &'static str,
}

fn typed(key: &'static str, value: impl Into<String>, rule: &'static str) -> Typed {
    Typed { pre: &[], key, value: value.into(), rule }
}

fn typed_cases() -> Vec<Typed> {
    let mut cases = vec![
        typed("state_store.bucket", "Bad_Bucket", "bucket_name"),
        typed("state_store.bucket", "ab", "bucket_name"),
        typed("state_store.bucket", "10.0.0.1", "bucket_name"),
        typed("state_store.bucket", "my bucket", "bucket_name"),
        typed("state_store.bucket", "b\u{fc}cket-state", "bucket_name"),
        typed("state_store.bucket", "kops\u{7}state", "bucket_name"),
        typed("state_store.bucket", "b".repeat(10_000), "bucket_name"),
        typed("iam.user", "kops user", "iam_name"),
        typed("iam.user", "k\u{f6}ps", "iam_name"),
        typed("iam.user", "k\u{0}ps", "iam_name"),
        typed("iam.user", "u".repeat(65), "iam_name"),
        typed("iam.group", "kops/admins", "iam_name"),
        typed("iam.group", "g".repeat(129), "iam_name"),
        typed("aws.kops_profile", "default", "kops_profile_not_default"),
        typed("aws.kops_profile", "kops]", "profile_name"),
        typed("aws.kops_profile", "ko\nps", "profile_name"),
        typed("aws.admin_profile", "my admin", "profile_name"),
        typed("aws.region", "US-EAST-1", "region_format"),
        typed("aws.region", "us-east", "region_format"),
        typed("iam.policies", "AmazonEC2FullAccess", "policy_arn"),
        typed(
            "iam.policies",
            "arn:aws:iam::aws:policy/AmazonEC2FullAccess\nrm -rf ~",
            "policy_arn",
        ),
        typed("iam.policies", "arn:aws:iam::aws:policy/Amazon\u{1b}[2JEC2", "policy_arn"),
        typed("iam.policies", "", "policies_not_empty"),
        typed("ssh.public_key", "~/.ssh/kops", "public_key_path"),
        typed("ssh.public_key", "~/.ssh/ko\u{1b}ps.pub", "public_key_path"),
        typed("ssh.public_key", "~/.ssh/.pub", "public_key_path"),
        typed("ssh.public_key", "", "public_key_path"),
        typed("ssh.key_type", "dsa", "key_type"),
        typed("ssh.key_type", "ecdsa", "key_type"),
        typed("ssh.generate", "yes", "toggle"),
        typed("cluster.name", "dev", "cluster_name"),
        typed("cluster.name", "Dev.example.com", "cluster_name"),
        typed("cluster.name", "dev..example.com", "dns_subdomain"),
        typed("cluster.name", "d\u{e9}v.example.com", "cluster_name"),
        typed("cluster.name", "dev.exa\tmple.com", "cluster_name"),
        typed("cluster.name", format!("{}.com", "a".repeat(300)), "dns_subdomain"),
        typed("cluster.dns_zone", "example.com..", "dns_zone"),
        typed("cluster.dns_zone", "exa mple.com", "dns_zone"),
        typed("cluster.dns_zone", ".", "dns_zone"),
        typed("cluster.zones", "eu-west-1a", "zone_in_region"),
        typed("cluster.zones", "us-east-1z", "zone_in_region"),
        typed("cluster.zones", "us-east-1a,us-east-1a", "zones_unique"),
        typed("cluster.networking", "weave", "networking"),
        typed("cluster.networking", "canal", "networking"),
        typed("cluster.networking", "foo", "networking"),
        typed("cluster.control_plane_count", "2", "control_plane_count"),
        typed("cluster.control_plane_count", "0", "control_plane_count"),
        typed("cluster.control_plane_count", "three", "number"),
        typed("cluster.control_plane_count", "-1", "number"),
        typed("cluster.control_plane_count", "99999999999", "number"),
        typed("cluster.node_count", "0", "node_count"),
        typed("cluster.node_count", "101", "node_count"),
        typed("cluster.node_count", "lots", "number"),
        typed("cluster.control_plane_size", "t3", "instance_type_format"),
        typed("cluster.node_size", "T3.MEDIUM", "instance_type_format"),
        typed("cluster.topology", "hybrid", "topology"),
        typed("cluster.bastion", "true", "bastion_needs_private"),
        typed("cluster.kubernetes_version", "latest", "kubernetes_version"),
        typed("cluster.kubernetes_version", "1.33.x", "kubernetes_version"),
    ];
    cases.push(Typed {
        pre: &[("cluster.networking", "kubenet")],
        key: "cluster.topology",
        value: "private".into(),
        rule: "kubenet_not_private",
    });
    cases.push(Typed {
        pre: &[("aws.kops_profile", "ops")],
        key: "aws.admin_profile",
        value: "ops".into(),
        // Named on the profile it would overwrite, which is where the front ends show it.
        rule: "kops_profile_differs_from_admin",
    });
    cases
}

/// What the rule a typed case names says of its value: the rule function itself, called here,
/// where there is one; otherwise the words of the check in `check_answers` or of the
/// question's parser. A refusal by any other rule fails the case.
fn rule_says(case: &Typed) -> String {
    use kops_wizard::rules;
    let v = case.value.trim();
    let first_bad = |f: &dyn Fn(&str) -> Result<(), String>| -> String {
        v.split(',').map(str::trim).find_map(|x| f(x).err()).unwrap_or_default()
    };
    let count = |f: fn(u32) -> Result<(), String>| f(v.parse().unwrap()).unwrap_err();
    match case.rule {
        "bucket_name" => first_bad(&rules::bucket_name),
        "iam_name" => {
            let max = if case.key == "iam.user" { 64 } else { 128 };
            first_bad(&|x| rules::iam_name(x, max))
        }
        "profile_name" => first_bad(&rules::profile_name),
        "region_format" => first_bad(&rules::region_format),
        "policy_arn" => rules::policy_arn(&case.value).unwrap_err(),
        "public_key_path" => rules::public_key_path(v).unwrap_err(),
        "cluster_name" => first_bad(&rules::cluster_name),
        "dns_subdomain" => first_bad(&rules::dns_subdomain),
        "dns_zone" => first_bad(&rules::dns_zone),
        "zone_in_region" => first_bad(&|z| rules::zone_in_region(z, "us-east-1")),
        "networking" => first_bad(&rules::networking),
        "control_plane_count" => count(rules::control_plane_count),
        "node_count" => count(rules::node_count),
        "instance_type_format" => first_bad(&rules::instance_type_format),
        "kubernetes_version" => first_bad(&rules::kubernetes_version),
        "kops_profile_not_default" => "must not be \"default\"".into(),
        "kops_profile_differs_from_admin" => "must differ from aws.admin_profile".into(),
        "policies_not_empty" => "kops needs policies".into(),
        "zones_unique" => "each zone may be listed once".into(),
        "bastion_needs_private" => "a bastion needs topology = \"private\"".into(),
        "kubenet_not_private" => "kubenet cannot be used with a private topology".into(),
        "key_type" => "is not rsa-4096 or ed25519".into(),
        "toggle" => "is neither true nor false".into(),
        "number" => "is not a whole number".into(),
        "topology" => "is not public or private".into(),
        other => panic!("typed case names a rule this test does not know: {other}"),
    }
}

/// The key whose field a typed case's refusal is shown on: the typed key, except where the
/// rule is about another answer the value clashes with.
fn shown_on(case: &Typed) -> &'static str {
    match case.rule {
        "kops_profile_differs_from_admin" => "aws.kops_profile",
        _ => case.key,
    }
}

#[test]
fn typed_values_are_refused_by_their_question() {
    let mut start = Answers::default();
    start.state_store.bucket = Some("corpus-kops-state".into());
    assert!(
        kops_wizard::rules::check_answers(&start).is_ok(),
        "the typed cases start from good answers"
    );
    let cases = typed_cases();
    let mut failures = Vec::new();
    for case in &cases {
        let mut a = start.clone();
        for (key, value) in case.pre {
            questions::find(key).unwrap().set(&mut a, value).unwrap();
        }
        let question = questions::find(case.key).unwrap();
        // The question list is what both front ends render: a value its `set` refuses stays in
        // the field with that message, a stored value is judged by the rules by field.
        let refusal = match question.set(&mut a, &case.value) {
            Err(e) => Some(format!("{}: {e}", case.key)),
            Ok(()) => {
                let shown = questions::find(shown_on(case)).unwrap();
                shown
                    .error(&a, &kops_wizard::rules::check_answers(&a))
                    .map(|rule| format!("{}: {rule}", shown.key))
            }
        };
        // Refused on its field, and by the rule the case names: its own words in the message.
        let says = rule_says(case);
        assert!(!says.is_empty(), "{} = {:?}: {} accepts it", case.key, case.value, case.rule);
        match refusal {
            Some(message) if message.starts_with(shown_on(case)) && message.contains(&says) => {}
            Some(message) => failures.push(format!(
                "- {} = {:?}: {message} (expected the field and {:?}: {says:?})",
                case.key, case.value, case.rule
            )),
            None => failures.push(format!("- {} = {:?}: accepted", case.key, case.value)),
        }
    }
    let counts = BTreeMap::from([("typed field values", cases.len())]);
    report(
        "bad typed values (questions::find(key).set + the rules)",
        "refused on their field",
        &counts,
        &failures,
    );
}

/// The rules of `src/rules.rs`, read from its source so that a new rule without a case fails
/// here: the functions that return a rule's result, and the fields `check_answers` names.
fn rules_in_source() -> (BTreeSet<String>, BTreeSet<String>) {
    let source = fs::read_to_string(repo().join("src/rules.rs")).unwrap();
    let body = source.split("#[cfg(test)]").next().unwrap();
    let functions = body
        .lines()
        .filter(|l| l.starts_with("pub fn ") || l.starts_with("fn "))
        .filter(|l| l.contains("-> Rule") || l.contains("-> Result<Duration, String>"))
        .filter_map(|l| {
            let name = l.trim_start_matches("pub ").trim_start_matches("fn ");
            name.split('(').next().map(str::to_string)
        })
        .collect();
    let mut fields = BTreeSet::new();
    for piece in body.split("r.error(").skip(1) {
        let piece = piece.trim_start().trim_start_matches("&format!(");
        if let Some(rest) = piece.strip_prefix('"') {
            let field: String = rest.chars().take_while(|c| *c != '"' && *c != '[').collect();
            fields.insert(field);
        }
    }
    (functions, fields)
}

#[test]
fn the_corpus_covers_every_rule_and_has_enough_cases() {
    let fixtures = fixtures();
    let typed = typed_cases();
    let (functions, fields) = rules_in_source();
    assert!(functions.len() >= 15, "the rules were read: {functions:?}");
    assert!(fields.len() >= 15, "the fields were read: {fields:?}");

    let named: BTreeSet<String> = fixtures
        .iter()
        .flat_map(|f| f.rules.iter().cloned())
        .chain(typed.iter().map(|t| t.rule.to_string()))
        .collect();
    let missing: Vec<&String> = functions.iter().filter(|f| !named.contains(*f)).collect();
    assert!(missing.is_empty(), "rules of src/rules.rs without a bad-input case: {missing:?}");

    let expected: Vec<String> = fixtures
        .iter()
        .flat_map(|f| f.expects.iter().cloned())
        .chain(typed.iter().map(|t| t.key.to_string()))
        .collect();
    let uncovered: Vec<&String> =
        fields.iter().filter(|f| !expected.iter().any(|e| e.starts_with(f.as_str()))).collect();
    assert!(uncovered.is_empty(), "fields check_answers names without a case: {uncovered:?}");

    let total = fixtures.len() + FLAG_CASES.len() + typed.len();
    println!(
        "bad-input corpus: {} answers files + {} flag values + {} typed values = {total}; \
         {} rule functions and {} fields covered",
        fixtures.len(),
        FLAG_CASES.len(),
        typed.len(),
        functions.len(),
        fields.len()
    );
    assert!(total >= MIN_CASES, "{total} cases, fewer than {MIN_CASES}");
}
