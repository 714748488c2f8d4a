//! The test bed itself: the moto helper and the environment isolation it gives every test.

use std::net::TcpStream;

use crate::support::{Moto, TestEnv, run};

#[test]
fn moto_answers_loads_managed_policies_and_stops_when_dropped() {
    let moto = Moto::start();
    let port = moto.port;
    let env = TestEnv::new(Some(&moto));
    let mut cmd = std::process::Command::new(crate::support::python());
    env.apply(&mut cmd).args([
        "-c",
        "import boto3; iam = boto3.client('iam');\
         print(iam.get_policy(PolicyArn='arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess')['Policy']['PolicyName'])",
    ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "AmazonEventBridgeFullAccess");
    assert_eq!(moto.requests().len(), 1, "{:?}", moto.requests());

    drop(moto);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after drop"
    );
}

#[test]
fn two_servers_do_not_share_state() {
    let (a, b) = (Moto::start(), Moto::start());
    assert_ne!(a.port, b.port);
    let py = |moto: &Moto, code: &str| {
        let env = TestEnv::new(Some(moto));
        let mut cmd = std::process::Command::new(crate::support::python());
        env.apply(&mut cmd).args(["-c", code]);
        run(&mut cmd)
    };
    let (code, _, err) =
        py(&a, "import boto3; boto3.client('s3').create_bucket(Bucket='only-in-a')");
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = py(
        &b,
        "import boto3; print([b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']])",
    );
    assert_eq!(out.trim(), "[]");
}

#[test]
fn the_environment_is_isolated() {
    let env = TestEnv::new(None);
    let mut cmd = std::process::Command::new("env");
    let (_, out, _) = run(env.apply(&mut cmd));
    let home = env.home().display().to_string();
    assert!(out.lines().any(|l| l == format!("HOME={home}")), "{out}");
    for var in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "KOPS_STATE_STORE",
    ] {
        assert!(
            !out.lines().any(|l| l.starts_with(&format!("{var}="))),
            "{var} leaked into the test: {out}"
        );
    }
    assert!(out.contains(&format!("XDG_CONFIG_HOME={}", env.path("config").display())), "{out}");
}
