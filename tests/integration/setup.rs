//! `setup --yes --only credentials,state-store` against moto: what exists afterwards is read
//! back through the SDK, not from the wizard's own output.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::judge::{Judge, arn_of};
use crate::support::{ADMIN_KEY_ID, ADMIN_SECRET, Moto, TestEnv, admin_clients, run};

const ANSWERS: &str = r#"
[state_store]
bucket = "acme-kops-state"
[cluster]
name = "dev.example.com"
"#;

const POLICIES: [&str; 7] = [
    "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
    "arn:aws:iam::aws:policy/AmazonRoute53FullAccess",
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
    "arn:aws:iam::aws:policy/AmazonVPCFullAccess",
    "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
    "arn:aws:iam::aws:policy/AmazonEventBridgeFullAccess",
];

fn setup(env: &TestEnv) -> (i32, String, String) {
    let answers = env.answers(ANSWERS);
    run(env
        .wizard()
        .args(["setup", "--yes", "--only", "credentials,state-store", "-c"])
        .arg(answers))
}

fn journal_path(env: &TestEnv) -> std::path::PathBuf {
    env.path("state/kops-wizard/journal/dev.example.com.json")
}

/// The [kops] profile's key id and secret, read from the credentials file like the aws CLI would.
fn saved_key(env: &TestEnv) -> (String, String) {
    let text = fs::read_to_string(env.home().join(".aws/credentials")).expect("credentials file");
    let value = |name: &str| {
        text.lines()
            .skip_while(|l| l.trim() != "[kops]")
            .find_map(|l| {
                l.split_once('=')
                    .filter(|(k, _)| k.trim() == name)
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name} in [kops]:\n{text}"))
    };
    (value("aws_access_key_id"), value("aws_secret_access_key"))
}

#[tokio::test]
async fn a_fresh_run_creates_exactly_what_the_procedure_needs() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");

    // Judged with plain SDK calls and boto3, not the wizard's own read-backs.
    let j = Judge::new(&moto).await;
    let mut expected = POLICIES.map(String::from).to_vec();
    expected.sort();
    assert_eq!(j.group_policies("kops").await, expected, "exactly the seven policies");
    assert_eq!(j.groups_of("kops").await, ["kops"]);
    assert!(j.own_policies("kops").await.is_empty(), "the user holds no policy of its own");
    // The marks name the cluster, key and value: the path of both, and the user's tag.
    assert_eq!(j.group_path("kops").await, "/kops-wizard/dev.example.com/");
    let mark = ("kops-wizard:cluster".to_string(), "dev.example.com".to_string());
    assert_eq!(
        j.user_mark("kops").await,
        ("/kops-wizard/dev.example.com/".to_string(), vec![mark.clone()])
    );
    let keys = j.key_ids("kops").await;
    assert_eq!(keys.len(), 1, "exactly one access key");

    let (key_id, secret) = saved_key(&env);
    assert_eq!(keys[0], key_id, "the saved key is the user's key");
    assert_ne!(key_id, ADMIN_KEY_ID, "the admin's key variables must not leak into the profile");
    let who = arn_of(&moto, &key_id, &secret).await;
    assert!(who.ends_with(":user/kops-wizard/dev.example.com/kops"), "{who}");

    let creds = env.home().join(".aws/credentials");
    assert_eq!(fs::metadata(&creds).unwrap().permissions().mode() & 0o777, 0o600);
    let config = fs::read_to_string(env.home().join(".aws/config")).expect("config file");
    assert!(config.contains("[profile kops]") && config.contains("region = us-east-1"), "{config}");

    assert_eq!(j.buckets().await, ["acme-kops-state"]);
    let facts = j.bucket_facts("acme-kops-state");
    assert_eq!(facts.versioning.as_deref(), Some("Enabled"));
    assert_eq!(facts.sse_algorithms, ["AES256"], "SSE-S3");
    assert_eq!(facts.public_access_block, [true; 4], "all four public-access blocks");
    assert_eq!(facts.region, "us-east-1");
    assert_eq!(j.bucket_tags("acme-kops-state").await, [mark]);

    let journal: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(journal_path(&env)).unwrap()).unwrap();
    assert_eq!(journal["state_store"], "s3://acme-kops-state");
    let created =
        journal["entries"].as_array().unwrap().iter().filter(|e| e["state"] == "created").count();
    // group, 7 attachments, user, membership, key, profile, bucket and its 3 settings
    assert_eq!(created, 16, "{journal:#}");

    assert!(out.contains("iam: group kops created"), "{out}");
    assert!(out.contains("state-store: bucket acme-kops-state created in us-east-1"), "{out}");
    assert!(out.contains("export KOPS_STATE_STORE=s3://acme-kops-state"), "{out}");

    // The secrets appear nowhere the wizard writes.
    // Absent would pass for clean: the log must be there to be judged.
    let log = fs::read_to_string(env.path("state/kops-wizard/kops-wizard.log"))
        .expect("setup writes its log");
    let journal_text = fs::read_to_string(journal_path(&env)).unwrap();
    for (name, text) in
        [("stdout", &out), ("stderr", &err), ("log", &log), ("journal", &journal_text)]
    {
        assert!(!text.contains(&secret), "the kops secret is in the {name}");
        assert!(!text.contains(ADMIN_SECRET), "the admin secret is in the {name}");
    }
}

/// Outside us-east-1 the bucket is made in the answers' region (a LocationConstraint), as
/// GetBucketLocation reads it.
#[tokio::test]
async fn the_bucket_is_made_in_the_answers_region() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let answers = env.answers(&format!("{ANSWERS}\n[aws]\nregion = \"eu-west-1\"\n"));
    let (code, out, err) =
        run(env.wizard().args(["setup", "--yes", "--only", "state-store", "-c"]).arg(answers));
    assert_eq!(code, 0, "{out}\n{err}");
    let facts = Judge::new(&moto).await.bucket_facts("acme-kops-state");
    assert_eq!(facts.region, "eu-west-1");
    assert_eq!(facts.versioning.as_deref(), Some("Enabled"));
}

#[tokio::test]
async fn a_second_run_changes_nothing() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    assert_eq!(setup(&env).0, 0);
    let j = Judge::new(&moto).await;
    let keys_before = j.key_ids("kops").await;
    let journal_before = fs::read(journal_path(&env)).unwrap();
    let creds_before = fs::read(env.home().join(".aws/credentials")).unwrap();

    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(j.key_ids("kops").await, keys_before, "no new access key");
    assert_eq!(fs::read(journal_path(&env)).unwrap(), journal_before, "the journal is unchanged");
    assert_eq!(fs::read(env.home().join(".aws/credentials")).unwrap(), creds_before);
    assert!(out.contains("works: reused"), "{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("[✔]") && !l.contains(": done (")),
        "something was created again:\n{out}"
    );
}

#[tokio::test]
async fn a_run_continues_after_an_interrupted_one() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let c = admin_clients(&moto).await;
    // A run that died after CreateBucket but before recording it, and after CreateAccessKey
    // but before saving the secret: the journal holds only the intents.
    c.create_bucket("acme-kops-state", "us-east-1").await.unwrap();
    // The user as the wizard creates it: its path and tag mark it as the wizard's.
    c.create_user("kops", "dev.example.com").await.unwrap();
    let orphan = c.create_access_key("kops").await.unwrap();
    let path = journal_path(&env);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let now = jiff::Timestamp::now().to_string();
    let journal = serde_json::json!({
        "format": 1, "cluster": "dev.example.com", "region": "us-east-1",
        "entries": [
            {"kind": "iam-user", "id": "kops", "state": "created", "at": now},
            {"kind": "access-key", "id": "kops", "state": "intent", "at": now, "known_keys": []},
            {"kind": "bucket", "id": "acme-kops-state", "state": "intent", "at": now},
        ]
    });
    fs::write(&path, serde_json::to_string(&journal).unwrap()).unwrap();

    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    let keys = Judge::new(&moto).await.key_ids("kops").await;
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], orphan.id, "the orphan key (secret lost) is replaced, not kept");
    assert_eq!(saved_key(&env).0, keys[0]);
    assert!(out.contains(&format!("access key {} deleted", orphan.id)), "{out}");

    let j: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let bucket = j["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "bucket").unwrap();
    assert_eq!(bucket["state"], "created", "an intended bucket found in AWS is the wizard's");
    assert!(!j["entries"].as_array().unwrap().iter().any(|e| e["state"] == "intent"), "{j:#}");
}

#[tokio::test]
async fn a_user_with_two_keys_is_a_clear_error_and_nothing_is_deleted() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let c = admin_clients(&moto).await;
    c.iam.create_user().user_name("kops").send().await.unwrap();
    let a = c.create_access_key("kops").await.unwrap();
    let b = c.create_access_key("kops").await.unwrap();

    let (code, out, err) = setup(&env);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains(&a.id) && err.contains(&b.id), "{err}");
    assert!(err.contains("aws iam delete-access-key --user-name kops"), "{err}");
    assert!(out.contains("[✘]") && out.contains("iam: failed"), "{out}");
    assert_eq!(Judge::new(&moto).await.key_ids("kops").await.len(), 2, "no key was deleted");
    assert!(!env.home().join(".aws/credentials").exists());
}

#[tokio::test]
async fn pre_existing_resources_are_reused_and_marked_found() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let c = admin_clients(&moto).await;
    c.create_bucket("acme-kops-state", "us-east-1").await.unwrap();
    c.iam.create_group().group_name("kops").send().await.unwrap();

    let (code, out, err) = setup(&env);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("bucket acme-kops-state exists (was there before: teardown keeps it)"),
        "{out}"
    );
    assert!(out.contains("group kops exists (was there before"), "{out}");

    let (code, status, _) = run(env.wizard().arg("status"));
    assert_eq!(code, 0);
    let line = |what: &str| {
        status
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("{what}: {status}"))
            .to_string()
    };
    assert!(line("S3 bucket acme-kops-state").contains("found (kept at teardown)"), "{status}");
    assert!(line("IAM group kops").contains("found (kept at teardown)"), "{status}");
    assert!(line("IAM user kops").contains("created by the wizard"), "{status}");
    assert!(status.contains("state store  s3://acme-kops-state"), "{status}");
}

#[tokio::test]
async fn admin_credentials_from_a_profile_work_too() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.unset("AWS_ACCESS_KEY_ID");
    env.unset("AWS_SECRET_ACCESS_KEY");
    let aws = env.home().join(".aws");
    fs::create_dir_all(&aws).unwrap();
    let other = "[admin]\naws_access_key_id = AKIAADMINPROFILE0001\naws_secret_access_key = admin-profile-secret\n\n# keep me\n[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other-secret\n";
    fs::write(aws.join("credentials"), other).unwrap();
    // Left readable by everyone, as `echo >` makes it: tightened, and said.
    fs::set_permissions(aws.join("credentials"), fs::Permissions::from_mode(0o644)).unwrap();
    let answers = env.answers(&format!("{ANSWERS}\n[aws]\nadmin_profile = \"admin\"\n"));
    let (code, out, err) = run(env
        .wizard()
        .args(["setup", "--yes", "--only", "state-store,credentials", "-c"])
        .arg(answers));
    assert_eq!(code, 0, "{out}\n{err}");
    let text = fs::read_to_string(aws.join("credentials")).unwrap();
    assert!(text.starts_with(other), "other profiles and comments are kept byte for byte:\n{text}");
    assert!(text.contains("[kops]"), "{text}");
    let mode = fs::metadata(aws.join("credentials")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{out}");
    assert!(
        out.contains(&format!(
            "{} was 644 (others could read the keys in it): it is 600 now",
            aws.join("credentials").display()
        )),
        "{out}"
    );
}

#[test]
fn missing_answers_bad_answers_and_no_kops_exit_2_before_any_request() {
    let moto = Moto::start();
    let env = TestEnv::new(Some(&moto));
    let (code, _, err) = run(env.wizard().args(["setup", "--yes", "--only", "credentials"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("state_store.bucket"), "{err}");

    let answers = env.answers(ANSWERS);
    let (code, _, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&answers));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kops was not found on PATH"), "checked before any change: {err}");

    let bad = env.answers("[state_store]\nbucket = \"Bad_Bucket\"\n");
    let (code, _, err) =
        run(env.wizard().args(["setup", "--yes", "--only", "credentials", "-c"]).arg(&bad));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("state_store.bucket = \"Bad_Bucket\""), "{err}");
    assert_eq!(moto.requests(), Vec::<String>::new());
}

#[test]
fn a_dead_endpoint_fails_fast_naming_it() {
    let mut env = TestEnv::new(None);
    env.set("AWS_ACCESS_KEY_ID", "AKIAX");
    env.set("AWS_SECRET_ACCESS_KEY", "x");
    env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let (code, _, err) = setup(&env);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach http://127.0.0.1:9"), "{err}");
}

/// A terminal whose locale is not UTF-8 gets ASCII symbols, every byte of them; a UTF-8 one
/// gets the symbols. Judged by the bytes printed, and by AWS for the run itself.
#[tokio::test]
async fn a_locale_that_is_not_utf8_gets_plain_ascii() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    let answers = env.answers(ANSWERS);
    let only = ["setup", "--yes", "--only", "credentials,state-store", "-c"];
    env.set("LANG", "C");
    let (code, out, err) = run(env.wizard().args(only).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.is_ascii() && err.is_ascii(), "{out}\n{err}");
    assert!(out.contains("[+]") && out.contains("iam: group kops created"), "{out}");
    assert_eq!(Judge::new(&moto).await.users().await, ["kops"]);

    env.set("LANG", "en_US.UTF-8");
    let (code, out, err) = run(env.wizard().args(only).arg(&answers));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("[=]") || out.contains("[✔]"), "{out}");
    assert!(!out.is_ascii(), "a UTF-8 terminal keeps its symbols: {out}");

    // The full screen too. tmux itself stays UTF-8 (only the wizard is given LANG=C), so a
    // symbol the wizard drew would show, not be hidden by the terminal.
    env.unset("LANG");
    for (lang, ascii) in [("LANG=C", true), ("LANG=en_US.UTF-8", false)] {
        let argv = [
            "env".to_string(),
            lang.into(),
            crate::support::bin(),
            "-c".into(),
            answers.display().to_string(),
        ];
        let term = crate::support::tmux::Tmux::start(&env, &argv, 80, 24);
        let screen = term.wait_for("moto @ 123456789012", std::time::Duration::from_secs(30));
        assert_eq!(screen.is_ascii(), ascii, "{lang}:\n{screen}");
        // Nothing has changed yet, so q quits without asking.
        term.keys(&["q"]);
        let (code, _) = term.finished(std::time::Duration::from_secs(30));
        assert_eq!(code, 130, "{lang}");
    }
}
