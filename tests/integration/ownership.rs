//! The engine's two promises, tried as a careful user would (issue 8): it deletes only what
//! this cluster's setup made and nobody else uses, and a rerun continues instead of guessing.
//! Reruns, renames, shared buckets and users, interruptions, dry runs. Every verdict is read
//! from AWS with plain SDK calls written here, the credentials files and the stand-in's log,
//! never from the wizard's own words or helpers.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use crate::support::{ADMIN_SECRET, Moto, TestEnv, admin_clients, ready_env, run};

const BUCKET: &str = "shared-kops-state";

fn answers(cluster: &str, extra: &str) -> String {
    format!(
        r#"
[state_store]
bucket = "{BUCKET}"
[ssh]
key_type = "ed25519"
[cluster]
name = "{cluster}"
# Ownership is not about the smoke test (tests/integration/smoke.rs is); its NLB would also make
# a by-hand `kops delete cluster` loop on the security groups, as real kops does.
smoke_test = false
[validate]
wait = "1m"
interval = "100ms"
{extra}
"#
    )
}

/// Runs the wizard with an answers file of its own (one per cluster, so two can coexist).
fn wizard(env: &TestEnv, toml: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.path(&format!("answers-{:x}.toml", fxhash(toml)));
    fs::write(&file, toml).unwrap();
    run(env.wizard().args(args).arg("-c").arg(file))
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

/// What AWS holds, read with plain SDK calls.
#[derive(Debug, PartialEq, Eq)]
struct Aws {
    users: Vec<String>,
    groups: Vec<String>,
    keys: Vec<String>,
    buckets: Vec<String>,
    /// Every object version and delete marker in the state bucket, as `key@version`.
    versions: Vec<String>,
}

async fn aws(moto: &Moto) -> Aws {
    let c = admin_clients(moto).await;
    let users: Vec<String> = c
        .iam
        .list_users()
        .send()
        .await
        .unwrap()
        .users()
        .iter()
        .map(|u| u.user_name().to_string())
        .collect();
    let mut keys = Vec::new();
    for user in &users {
        let out = c.iam.list_access_keys().user_name(user).send().await.unwrap();
        keys.extend(
            out.access_key_metadata().iter().filter_map(|k| k.access_key_id()).map(String::from),
        );
    }
    keys.sort();
    let groups = c
        .iam
        .list_groups()
        .send()
        .await
        .unwrap()
        .groups()
        .iter()
        .map(|g| g.group_name().to_string())
        .collect();
    let buckets: Vec<String> =
        c.s3.list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(String::from))
            .collect();
    let versions =
        if buckets.iter().any(|b| b == BUCKET) { versions(moto, "").await } else { vec![] };
    Aws { users, groups, keys, buckets, versions }
}

/// Object versions and delete markers of the state bucket whose key starts with `prefix`.
async fn versions(moto: &Moto, prefix: &str) -> Vec<String> {
    let c = admin_clients(moto).await;
    let mut all = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(BUCKET)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .unwrap();
        for v in page.versions() {
            all.push(format!(
                "{}@{}",
                v.key().unwrap_or_default(),
                v.version_id().unwrap_or_default()
            ));
        }
        for m in page.delete_markers() {
            all.push(format!(
                "{}@{}(marker)",
                m.key().unwrap_or_default(),
                m.version_id().unwrap_or_default()
            ));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(String::from);
        version_marker = page.next_version_id_marker().map(String::from);
    }
    all.retain(|k| k.starts_with(prefix));
    all.sort();
    all
}

/// moto's request count once its log has caught up (it writes a line after each answer).
fn settled_requests(moto: &Moto) -> usize {
    let mut last = moto.requests().len();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(150));
        let now = moto.requests().len();
        if now == last {
            return now;
        }
        last = now;
    }
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

fn credentials(env: &TestEnv) -> String {
    read(env.home().join(".aws/credentials"))
}

fn journal(env: &TestEnv, cluster: &str) -> Value {
    let path = env.path(&format!("state/kops-wizard/journal/{cluster}.json"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the journal is JSON")
}

fn kops_verbs(env: &TestEnv) -> Vec<String> {
    env.kops_calls()
        .iter()
        .map(|c| {
            let argv: Vec<&str> =
                c["argv"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            argv.join(" ")
        })
        .collect()
}

#[tokio::test]
async fn dry_run_teardown_changes_nothing_in_either_flag_order() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("dry.example.com", "");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let before = aws(&moto).await;
    assert_eq!(before.users, ["kops"]);
    let (creds, cloud_before, journal_before) = (
        credentials(&env),
        env.cloud(),
        read(env.path("state/kops-wizard/journal/dry.example.com.json")),
    );
    let calls_before = env.kops_calls().len();

    for args in [
        &["teardown", "--yes", "--dry-run"][..],
        &["--dry-run", "teardown", "--yes"],
        &["teardown", "--dry-run"],
    ] {
        let (code, out, err) = wizard(&env, &a, args);
        assert_eq!(code, 0, "{args:?}\n{out}\n{err}");
        assert!(out.contains("Will delete, in this order:"), "{out}");
        assert!(out.contains("dry run: nothing was deleted or changed"), "{out}");
    }
    assert_eq!(aws(&moto).await, before, "AWS changed during a dry run");
    assert_eq!(credentials(&env), creds);
    assert_eq!(env.cloud(), cloud_before, "the cluster's cloud resources changed");
    assert_eq!(read(env.path("state/kops-wizard/journal/dry.example.com.json")), journal_before);
    // kops was only asked for its preview: never `delete cluster --yes`.
    let new_calls = &kops_verbs(&env)[calls_before..];
    assert!(new_calls.iter().all(|c| !c.contains("--yes")), "{new_calls:?}");
    assert!(new_calls.iter().any(|c| c.starts_with("delete cluster")), "{new_calls:?}");
}

/// Two clusters with one state bucket, one IAM group and user and one profile: torn down in
/// the given order, each teardown keeps what the other still uses, and the second leaves
/// nothing at all.
async fn two_clusters_share_bucket_and_iam(first_down: &str, second_down: &str) {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let (a, b) = (answers("a.example.com", ""), answers("b.example.com", ""));
    for toml in [&a, &b] {
        let (code, out, err) = wizard(&env, toml, &["setup", "--yes"]);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let shared = aws(&moto).await;
    assert_eq!(
        (shared.users.len(), shared.groups.len(), shared.keys.len()),
        (1, 1, 1),
        "{shared:?}"
    );
    assert!(!versions(&moto, "a.example.com/").await.is_empty());
    assert!(!versions(&moto, "b.example.com/").await.is_empty());

    let (first, second) = if first_down == "a.example.com" { (&a, &b) } else { (&b, &a) };
    let (code, out, err) = wizard(&env, first, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("still used by cluster {second_down}")), "{out}");
    let after = aws(&moto).await;
    assert_eq!(after.users, shared.users, "the shared user was deleted");
    assert_eq!(after.groups, shared.groups, "the shared group was deleted");
    assert_eq!(after.keys, shared.keys, "the shared key was deleted");
    assert_eq!(after.buckets, [BUCKET], "the shared bucket was deleted");
    assert!(credentials(&env).contains("[kops]"), "the shared profile was removed");
    assert!(
        versions(&moto, &format!("{first_down}/")).await.is_empty(),
        "the first cluster's old versions stay"
    );
    // The second cluster's state is untouched: every version it had is still there.
    let second_versions = versions(&moto, &format!("{second_down}/")).await;
    assert!(
        shared
            .versions
            .iter()
            .filter(|v| v.starts_with(&format!("{second_down}/")))
            .all(|v| second_versions.contains(v))
    );
    let c = admin_clients(&moto).await;
    let policies = c.iam.list_attached_group_policies().group_name("kops").send().await.unwrap();
    assert_eq!(policies.attached_policies().len(), 7, "the shared group lost policies");
    assert!(!env.cloud().contains(&format!("\"{first_down}\"")), "{}", env.cloud());
    assert!(
        env.cloud().contains(&format!("\"{second_down}\"")),
        "the other cluster's resources went"
    );
    // The first cluster's journal says what it kept and for whom: nothing is still "in use".
    let j = journal(&env, first_down);
    let states: Vec<&str> =
        j["entries"].as_array().unwrap().iter().filter_map(|e| e["state"].as_str()).collect();
    assert!(!states.iter().any(|s| ["created", "found", "intent"].contains(s)), "{j:#}");

    let (code, out, err) = wizard(&env, second, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing left"), "{out}");
    let end = aws(&moto).await;
    assert_eq!(
        end,
        Aws { users: vec![], groups: vec![], keys: vec![], buckets: vec![], versions: vec![] }
    );
    assert!(!credentials(&env).contains("[kops]"), "{}", credentials(&env));
    assert!(!read(env.home().join(".aws/config")).contains("[profile kops]"));
    assert!(!env.cloud().contains("example.com\""), "{}", env.cloud());
}

#[tokio::test]
async fn two_clusters_on_one_bucket_and_user_torn_down_first_one_first() {
    two_clusters_share_bucket_and_iam("a.example.com", "b.example.com").await;
}

#[tokio::test]
async fn two_clusters_on_one_bucket_and_user_torn_down_second_one_first() {
    two_clusters_share_bucket_and_iam("b.example.com", "a.example.com").await;
}

#[tokio::test]
async fn a_pre_existing_users_own_key_survives_a_failed_save_a_rerun_and_teardown() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let c = admin_clients(&moto).await;
    // The user was made by hand, with a key of its own, moments before setup.
    c.iam.create_user().user_name("kops").send().await.unwrap();
    let own = c.iam.create_access_key().user_name("kops").send().await.unwrap();
    let own = own.access_key().unwrap().access_key_id().to_string();
    let a = answers("key.example.com", "");

    // The config file cannot be written (not even by root: its directory is a file), so the
    // save fails after the credentials file was written. (A read-only file would be refused
    // before any AWS request, which is another test's.)
    env.set("AWS_CONFIG_FILE", "/proc/version/config");
    let (code, out, err) =
        wizard(&env, &a, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("/proc/version"), "{err}");
    assert_eq!(
        aws(&moto).await.keys,
        std::slice::from_ref(&own),
        "the failed run's key must be gone, the user's own kept"
    );
    assert!(
        !credentials(&env).contains("[kops]"),
        "a profile with a deleted key stayed:\n{}",
        credentials(&env)
    );

    env.unset("AWS_CONFIG_FILE");
    let (code, out, err) =
        wizard(&env, &a, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let keys = aws(&moto).await.keys;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&own), "the user's own key was deleted by the rerun");

    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let end = aws(&moto).await;
    assert_eq!(end.users, ["kops"], "a user that was there before is kept");
    assert_eq!(end.keys, [own], "teardown deletes the wizard's key and only that one");
}

#[tokio::test]
async fn an_interrupted_key_of_a_pre_existing_user_is_reported_not_deleted() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let c = admin_clients(&moto).await;
    c.iam.create_user().user_name("kops").send().await.unwrap();
    let a = answers("intent.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes", "--only", "state-store,credentials"]).0, 0);
    let saved = aws(&moto).await.keys;
    // A run that died between CreateAccessKey and the save: its intent, and a new key.
    let path = env.path("state/kops-wizard/journal/intent.example.com.json");
    let mut j: Value = serde_json::from_str(&read(path.clone())).unwrap();
    let orphan = c.iam.create_access_key().user_name("kops").send().await.unwrap();
    let orphan = orphan.access_key().unwrap().access_key_id().to_string();
    j["entries"].as_array_mut().unwrap().push(serde_json::json!({
        "kind": "access-key", "id": "kops", "state": "intent",
        "at": jiff::Timestamp::now().to_string(), "known_keys": saved,
    }));
    fs::write(&path, j.to_string()).unwrap();
    let (code, out, err) =
        wizard(&env, &a, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "access key {orphan} of user kops was probably created by an interrupted run"
        )),
        "{out}"
    );
    assert!(
        aws(&moto).await.keys.contains(&orphan),
        "a key of a user the wizard did not create was deleted"
    );
}

#[tokio::test]
async fn a_stale_journal_never_deletes_what_now_carries_the_name() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("stale.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let c = admin_clients(&moto).await;
    // By hand: the bucket deleted, and someone recreates it with their data.
    for v in versions(&moto, "").await {
        let (key, id) = v.split_once('@').unwrap();
        c.s3.delete_object()
            .bucket(BUCKET)
            .key(key)
            .version_id(id.trim_end_matches("(marker)"))
            .send()
            .await
            .unwrap();
    }
    c.s3.delete_bucket().bucket(BUCKET).send().await.unwrap();
    c.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    // moto keeps a deleted bucket's tags for a new bucket of the same name (moto 5.x; AWS
    // deletes them with the bucket): clear them, so the bucket is as AWS would have it.
    c.s3.delete_bucket_tagging().bucket(BUCKET).send().await.unwrap();
    c.s3.put_object()
        .bucket(BUCKET)
        .key("their-data.txt")
        .body(ByteStream::from_static(b"precious"))
        .send()
        .await
        .unwrap();
    // And a user created later under a name whose creation this machine's journal records as
    // attempted (its own intent: `here`).
    let path = env.path("state/kops-wizard/journal/stale.example.com.json");
    let mut j: Value = serde_json::from_str(&read(path.clone())).unwrap();
    j["entries"].as_array_mut().unwrap().push(serde_json::json!({
        "kind": "iam-user", "id": "ghost", "state": "intent", "here": true,
        "at": jiff::Timestamp::now().to_string(),
    }));
    fs::write(&path, j.to_string()).unwrap();
    c.iam.create_user().user_name("ghost").send().await.unwrap();

    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("no longer carries kops-wizard's mark"), "{out}");
    let end = aws(&moto).await;
    assert_eq!(end.buckets, [BUCKET], "the recreated bucket was deleted");
    assert_eq!(end.versions.len(), 1, "its data was touched: {:?}", end.versions);
    assert_eq!(end.users, ["ghost"], "the wizard's user goes, the later one stays");
}

#[tokio::test]
async fn a_renamed_user_or_profile_stops_setup_and_teardown_follows_the_journal() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("rename.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let before = aws(&moto).await;
    let renamed_user = answers("rename.example.com", "[iam]\nuser = \"kops2\"");
    let renamed_profile = answers("rename.example.com", "[aws]\nkops_profile = \"kops-two\"");
    for (toml, key) in [(&renamed_user, "iam.user"), (&renamed_profile, "aws.kops_profile")] {
        let (code, out, err) =
            wizard(&env, toml, &["setup", "--yes", "--only", "credentials,state-store"]);
        assert_eq!(code, 1, "{out}\n{err}");
        assert!(err.contains(key) && err.contains("Nothing was changed"), "{err}");
        assert_eq!(aws(&moto).await, before, "setup changed AWS with renamed answers");
    }
    assert!(!credentials(&env).contains("[kops-two]"));

    // Teardown with the renamed answers still deletes what the journal recorded.
    let (code, out, err) = wizard(&env, &renamed_user, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing left"), "{out}");
    assert_eq!(
        aws(&moto).await,
        Aws { users: vec![], groups: vec![], keys: vec![], buckets: vec![], versions: vec![] }
    );
    assert!(!credentials(&env).contains("[kops]"), "{}", credentials(&env));
}

#[tokio::test]
async fn one_run_per_cluster_at_a_time() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("lock.example.com", "");
    // Another run holds the lock: this one says who, and sends nothing to AWS.
    let lock = kops_wizard::lock::ClusterLock::acquire(
        &env.path("state/kops-wizard"),
        "lock.example.com",
        "setup",
    )
    .unwrap();
    let (code, out, err) =
        wizard(&env, &a, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("is busy") && err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    assert!(moto.requests().is_empty(), "{:?}", moto.requests());
    let (code, _, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is busy"), "{err}");
    drop(lock);

    // Two real runs at once, several times: never a second key.
    let file = env.path("answers-lock.toml");
    fs::write(&file, &a).unwrap();
    for _ in 0..3 {
        let children: Vec<_> = (0..2)
            .map(|_| {
                env.wizard()
                    .args(["setup", "--yes", "--only", "state-store,credentials"])
                    .arg("-c")
                    .arg(&file)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let codes: Vec<i32> = children.into_iter().map(|c| crate::support::finish(c).0).collect();
        assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{codes:?}");
        assert!(codes.contains(&0), "{codes:?}");
    }
    assert_eq!(aws(&moto).await.keys.len(), 1, "two runs at once made two keys");
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let end = aws(&moto).await;
    assert!(end.users.is_empty() && end.groups.is_empty() && end.keys.is_empty(), "{end:?}");
}

#[tokio::test]
async fn a_cluster_deleted_by_hand_is_created_and_deployed_again() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("hand.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes"]).0, 0);
    // `kops delete cluster --yes` by hand, as the kops user.
    let kops = env.path("bin/kops");
    let mut cmd = std::process::Command::new(&kops);
    env.apply(&mut cmd);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "kops");
    let (code, out, err) = run(cmd.args([
        "delete",
        "cluster",
        "--name",
        "hand.example.com",
        "--state",
        &format!("s3://{BUCKET}"),
        "--yes",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!env.cloud().contains("\"hand.example.com\""));
    let calls = env.kops_calls().len();

    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let again = &kops_verbs(&env)[calls..];
    assert!(again.iter().any(|c| c.starts_with("create cluster")), "{again:?}");
    assert!(
        again.iter().any(|c| c.starts_with("update cluster") && c.contains("--yes")),
        "{again:?}"
    );
    assert!(env.cloud().contains("\"hand.example.com\""), "the cluster was not deployed again");
    assert!(out.contains("is ready"), "{out}");
}

#[tokio::test]
async fn changed_bucket_region_or_sizes_stop_before_any_change() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let a = answers("change.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes"]).0, 0);
    let before = aws(&moto).await;
    let calls = env.kops_calls().len();
    let requests = settled_requests(&moto);
    let changed = [
        (a.replace(BUCKET, "another-kops-state"), "state_store.bucket"),
        (a.replace("[state_store]", "[aws]\nregion = \"eu-west-1\"\n[state_store]"), "aws.region"),
        (
            a.replace(
                "name = \"change.example.com\"",
                "name = \"change.example.com\"\nnode_count = 3",
            ),
            "cluster.node_count",
        ),
        (
            a.replace(
                "name = \"change.example.com\"",
                "name = \"change.example.com\"\nnode_size = \"t3.large\"",
            ),
            "cluster.node_size",
        ),
        (
            a.replace(
                "name = \"change.example.com\"",
                "name = \"change.example.com\"\nnetworking = \"calico\"",
            ),
            "cluster.networking",
        ),
    ];
    for (toml, key) in &changed {
        let (code, out, err) = wizard(&env, toml, &["setup", "--yes"]);
        assert_eq!(code, 1, "{key}\n{out}\n{err}");
        assert!(err.contains(key) && err.contains("Nothing was changed"), "{key}: {err}");
    }
    // The wizard sent nothing (counted before this test's own look at AWS below).
    assert_eq!(
        settled_requests(&moto),
        requests,
        "a request reached AWS: {:?}",
        &moto.requests()[requests..]
    );
    assert_eq!(aws(&moto).await, before, "AWS changed");
    let new_calls = &kops_verbs(&env)[calls..];
    assert!(
        new_calls.iter().all(|c| c.starts_with("version")),
        "kops did more than report its version: {new_calls:?}"
    );
}

#[tokio::test]
async fn a_lost_kubeconfig_context_on_kops_1_28_is_exported_again() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    env.set("FAKE_KOPS_VERSION", "1.28.4");
    let a = answers("ctx.example.com", "");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    fs::remove_file(env.home().join(".kube/config")).unwrap();
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("kubeconfig context ctx.example.com was missing"), "{out}");
    assert!(
        kops_verbs(&env)
            .iter()
            .any(|c| c.starts_with("export kubeconfig") && c.contains("--admin"))
    );
    assert!(read(env.home().join(".kube/config")).contains("ctx.example.com"));
}

#[tokio::test]
async fn kops_never_sees_an_admin_credential() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    // Every way an admin's identity can reach a child: session token, legacy key names,
    // web identity (OIDC in CI), a role, container credentials.
    let token_file = env.path("oidc-token");
    fs::write(&token_file, "oidc-token-value").unwrap();
    for (k, v) in [
        ("AWS_SESSION_TOKEN", "admin-session-token-0001"),
        ("AWS_ACCESS_KEY", "AKIALEGACYADMIN00001"),
        ("AWS_SECRET_KEY", "legacy-admin-secret"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
        ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/admin"),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"),
    ] {
        env.set(k, v);
    }
    let a = answers("env.example.com", "");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let calls = env.kops_calls();
    assert!(calls.len() >= 5, "{calls:?}");
    let allowed = [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_EC2_METADATA_DISABLED",
    ];
    for call in &calls {
        let names: Vec<&str> =
            call["aws_env"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
        let extra: Vec<&&str> = names.iter().filter(|n| !allowed.contains(n)).collect();
        assert!(extra.is_empty(), "kops got {extra:?}: {call}");
        if call["argv"][0] == "version" {
            assert!(!names.contains(&"AWS_PROFILE"), "kops version needs no AWS: {call}");
        } else {
            assert_eq!(call["aws_profile"], "kops", "{call}");
            assert_ne!(call["access_key_id"], "AKIAADMINTESTKEY0001", "{call}");
        }
    }
}

#[tokio::test]
async fn a_profile_the_wizard_did_not_save_is_refused_before_any_change() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    let aws_dir = env.home().join(".aws");
    fs::create_dir_all(&aws_dir).unwrap();
    let config = "[default]\nregion = us-east-1\n\n[profile kops]\nrole_arn = arn:aws:iam::123456789012:role/kops\nsource_profile = default\n";
    fs::write(aws_dir.join("config"), config).unwrap();
    let a = answers("role.example.com", "");
    let (code, out, err) = wizard(&env, &a, &["setup", "--yes"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("aws.kops_profile") && err.contains("not saved by kops-wizard"), "{err}");
    assert!(err.contains("existing profiles: default, kops"), "{err}");
    assert_eq!(read(aws_dir.join("config")), config, "the role profile was changed");
    assert!(!aws_dir.join("credentials").exists());
    assert!(moto.requests().is_empty(), "{:?}", moto.requests());
}

#[tokio::test]
async fn a_trace_log_holds_no_token_or_secret_and_is_private() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    env.set("KOPS_WIZARD_LOG", "trace");
    env.set("AWS_SESSION_TOKEN", "admin-session-token-0001");
    let log = env.path("state/kops-wizard/kops-wizard.log");
    fs::create_dir_all(log.parent().unwrap()).unwrap();
    fs::write(&log, "an older log\n").unwrap();
    fs::set_permissions(&log, fs::Permissions::from_mode(0o644)).unwrap();
    let a = answers("trace.example.com", "");
    let (code, out, err) =
        wizard(&env, &a, &["setup", "--yes", "--only", "credentials,state-store"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let text = read(log.clone());
    assert!(text.starts_with("an older log\n") && text.contains("setup started"), "{text}");
    let kops_secret = credentials(&env)
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = ").map(String::from))
        .unwrap();
    for secret in ["admin-session-token-0001", ADMIN_SECRET, &kops_secret] {
        assert!(!text.contains(secret), "the log holds a secret");
    }
    assert_eq!(fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn status_tells_what_exists_what_was_deleted_and_what_is_unfinished() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    let a = answers("status.example.com", "");
    assert_eq!(wizard(&env, &a, &["setup", "--yes"]).0, 0);
    let (_, status, _) = wizard(&env, &a, &["status"]);
    assert!(status.contains("validation   ready"), "{status}");
    assert!(status.contains("exists now"), "{status}");

    env.set("FAKE_KOPS_DELETE", "stuck");
    let (code, _, _) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 1);
    let (_, status, _) = wizard(&env, &a, &["status"]);
    assert!(status.contains("teardown     UNFINISHED"), "{status}");

    env.unset("FAKE_KOPS_DELETE");
    let (code, out, err) = wizard(&env, &a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, status, _) = wizard(&env, &a, &["status"]);
    assert!(status.contains("teardown     finished"), "{status}");
    assert!(!status.contains("validation"), "a deleted cluster's validation is shown: {status}");
    let line = status.lines().find(|l| l.contains(&format!("S3 bucket {BUCKET}"))).unwrap();
    assert!(line.contains("deleted by teardown") && line.contains("NOT in AWS now"), "{line}");
    assert!(!status.contains("created by the wizard  exists"), "{status}");
}

#[test]
fn an_error_prints_its_cause_once() {
    let env = TestEnv::new(None);
    let dir = env.path("a-directory.toml");
    fs::create_dir_all(&dir).unwrap();
    let (code, _, err) = run(env.wizard().args(["plan", "-c"]).arg(&dir));
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("Is a directory").count(), 1, "{err}");
}
