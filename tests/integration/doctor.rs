//! `kops-wizard doctor` against moto and the kops stand-in: what it finds, read-only.

use crate::support::{Moto, TestEnv, run};

#[test]
fn a_missing_kops_is_reported_clearly() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let (code, out, err) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 1, "a missing kops is a failed check: {out}{err}");
    let line = out.lines().find(|l| l.contains(" kops ")).expect("a kops line");
    assert!(line.starts_with('✘'), "{line}");
    assert!(line.contains("not found on PATH") && line.contains("--kops PATH"), "{line}");
    assert!(out.contains("not ready: 1 problem(s)"), "{out}");
}

#[test]
fn the_kops_on_path_and_the_aws_identity_are_reported() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    let kops = env.install_fake_kops();
    let (code, out, err) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("✔ kops          1.36.2 at {}", kops.display())), "{out}");
    // moto's fixed account: the identity came from the endpoint in AWS_ENDPOINT_URL.
    assert!(out.contains("arn:aws:sts::123456789012:user/moto (account 123456789012)"), "{out}");
    assert!(out.contains("via the default credential chain"), "{out}");
    assert!(out.contains("✔ region        us-east-1"), "{out}");
    assert!(out.contains("! pitfall       cluster.name = \"kops.k8s.local\""), "{out}");
    assert!(out.contains("ready: "), "{out}");
    let calls = env.kops_calls();
    assert_eq!(calls.len(), 1, "doctor only asks kops its version");
    assert_eq!(calls[0]["argv"], serde_json::json!(["version"]));
    let after: Vec<_> = moto.requests();
    assert_eq!(after.len(), 1, "one STS call and nothing else: {after:?}");
}

#[test]
fn an_old_or_explicit_kops() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    let kops = env.install_fake_kops();
    env.set("FAKE_KOPS_VERSION", "1.27.1");
    let (code, out, _) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 1);
    assert!(
        out.contains("1.27.1") && out.contains("too old: kops-wizard needs 1.28.0 or later"),
        "{out}"
    );

    // kops 1.28 still has gossip DNS: the .k8s.local name is no pitfall there.
    env.set("FAKE_KOPS_VERSION", "1.28.3");
    let (code, out, _) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("pitfall"), "{out}");

    env.unset("FAKE_KOPS_VERSION");
    let (code, out, _) = run(env.wizard().arg("--kops").arg(&kops).arg("doctor"));
    assert!(out.contains("pitfall       cluster.name"), "{out}");
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(env.wizard().args(["--kops", "/nonexistent/kops", "doctor"]));
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/kops does not exist"), "{out}");
}

#[test]
fn aws_problems_say_what_to_do() {
    let mut env = TestEnv::new(None);
    env.install_fake_kops();
    let (code, out, _) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 1);
    let line = out.lines().find(|l| l.contains("aws identity")).expect("an identity line");
    assert!(line.starts_with('✘') && line.contains("no AWS credentials found"), "{line}");

    env.set("AWS_ACCESS_KEY_ID", "AKIAX");
    env.set("AWS_SECRET_ACCESS_KEY", "secret-x");
    env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let (code, out, _) = run(env.wizard().arg("doctor"));
    assert_eq!(code, 1);
    let line = out.lines().find(|l| l.contains("aws identity")).expect("an identity line");
    assert!(line.contains("cannot reach http://127.0.0.1:9"), "{line}");
    assert!(!out.contains("secret-x"), "the secret must not be printed");
}

#[test]
fn doctor_logs_to_the_state_dir_and_never_the_secret() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    env.set("KOPS_WIZARD_LOG", "trace");
    let (_, out, err) = run(env.wizard().arg("doctor"));
    let log =
        std::fs::read_to_string(env.path("state/kops-wizard/kops-wizard.log")).expect("a log file");
    assert!(!log.is_empty(), "trace logging writes something");
    for text in [&log, &out, &err] {
        assert!(!text.contains(crate::support::ADMIN_SECRET), "the admin secret leaked");
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(env.path("state/kops-wizard/kops-wizard.log")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn after_setup_doctor_sees_the_bucket_and_the_working_profile() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let answers = env.answers(
        "[state_store]\nbucket = \"doctor-kops-state\"\n[cluster]\nname = \"d.example.com\"\n",
    );
    let (code, out, _) = run(env.wizard().arg("doctor").arg("-c").arg(&answers));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("state bucket  doctor-kops-state is free: setup creates it"), "{out}");
    assert!(out.contains("kops profile  kops is not saved yet"), "{out}");

    let (code, out, err) = run(env
        .wizard()
        .args(["setup", "--yes", "--only", "credentials,state-store", "-c"])
        .arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(env.wizard().arg("doctor").arg("-c").arg(&answers));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("✔ state bucket  doctor-kops-state exists and is reachable"), "{out}");
    assert!(
        out.contains("✔ kops profile  kops works as arn:aws:iam::123456789012:user/kops"),
        "{out}"
    );

    // A broken saved key is found before setup would trip over it.
    let creds = env.home().join(".aws/credentials");
    let text = std::fs::read_to_string(&creds).unwrap();
    let broken: String = text
        .lines()
        .map(|l| {
            if l.starts_with("aws_access_key_id") {
                "aws_access_key_id = AKIANOTAREALKEY00000".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&creds, broken).unwrap();
    let (code, out, _) = run(env.wizard().arg("doctor").arg("-c").arg(&answers));
    assert_eq!(code, 1, "{out}");
    // (moto answers any key id as its default user; real STS would refuse the key outright.)
    assert!(
        out.contains("✘ kops profile  kops holds key AKIANOTAREALKEY00000 which answers as"),
        "{out}"
    );
    assert!(out.contains("not as the IAM user kops"), "{out}");
}
