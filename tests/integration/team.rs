//! Working as a team: two or three "machines" (each its own HOME and state dir) against one
//! moto and one kops stand-in cloud. Judged by AWS (SDK calls written here), the state
//! bucket's objects and the stand-in's call log, never by the wizard's words alone.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use crate::support::judge::Judge;
use crate::support::tmux::{Tmux, cooked};
use crate::support::{
    Moto, TestEnv, admin_clients, alive, another_admin, kops_processes, run, verbs,
};

const BUCKET: &str = "team-kops-state";
const CLUSTER: &str = "team.example.com";

fn answers() -> String {
    format!(
        "[state_store]\nbucket = \"{BUCKET}\"\n[ssh]\nkey_type = \"ed25519\"\n[cluster]\n\
         name = \"{CLUSTER}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    )
}

/// The first machine: the stand-in installed, its cloud the one every machine shares.
fn first_machine(moto: &Moto) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    env
}

/// Another machine of the team: its own HOME and state dir, the same AWS and kops cloud.
fn another_machine(moto: &Moto, first: &TestEnv) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    env.set("FAKE_KOPS_HOME", first.get("FAKE_KOPS_HOME").expect("the stand-in's home"));
    env
}

fn wizard(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(&answers());
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// Every version and delete marker in the bucket, as `key@version`, sorted.
async fn versions(moto: &Moto, prefix: &str) -> Vec<String> {
    let c = admin_clients(moto).await;
    let out = c.s3.list_object_versions().bucket(BUCKET).send().await.expect("list versions");
    let mut all: Vec<String> =
        out.versions()
            .iter()
            .map(|v| format!("{}@{}", v.key().unwrap_or(""), v.version_id().unwrap_or("")))
            .chain(out.delete_markers().iter().map(|m| {
                format!("{}@{}(marker)", m.key().unwrap_or(""), m.version_id().unwrap_or(""))
            }))
            .filter(|k| k.starts_with(prefix))
            .collect();
    all.sort();
    all
}

/// The key id the profile `kops` holds in this machine's credentials file.
fn saved_key(env: &TestEnv) -> Option<String> {
    let creds = fs::read_to_string(env.home().join(".aws/credentials")).ok()?;
    let section = creds.split("[kops]").nth(1)?;
    section
        .lines()
        .find_map(|l| l.trim().strip_prefix("aws_access_key_id"))
        .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
}

/// Who has which keys, for every IAM user.
/// The IAM users but the engineers' own administrators (`*-admin`, made by the test).
async fn wizard_users(j: &Judge) -> Vec<String> {
    j.users().await.into_iter().filter(|u| !u.ends_with("-admin")).collect()
}

async fn keys_by_user(j: &Judge) -> BTreeMap<String, Vec<String>> {
    let mut all = BTreeMap::new();
    for user in j.users().await {
        let keys = j.key_ids(&user).await;
        all.insert(user, keys);
    }
    all
}

/// The calls the stand-in logged from `from` on (the log is shared by every machine).
fn calls_since(env: &TestEnv, from: usize) -> Vec<serde_json::Value> {
    env.kops_calls().into_iter().skip(from).collect()
}

/// The cluster's admin SSH keys in the state store (one object each).
async fn cluster_ssh_keys(moto: &Moto) -> Vec<String> {
    let c = admin_clients(moto).await;
    let out = c.s3.list_objects_v2().bucket(BUCKET).send().await.expect("list objects");
    out.contents()
        .iter()
        .filter_map(|o| o.key())
        .filter(|k| k.starts_with(&format!("{CLUSTER}/pki/ssh/public/admin/")))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_second_and_a_third_engineer_join_without_changing_the_cluster() {
    let moto = Moto::start();
    let mut a = first_machine(&moto);
    // Each engineer is an administrator of their own, so "set up by" can only be right.
    a.as_admin(&another_admin(&moto, "alice-admin").await);
    let (code, out, err) = wizard(&a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let state_before = versions(&moto, &format!("{CLUSTER}/")).await;
    let ssh_before = cluster_ssh_keys(&moto).await;
    let cloud_before = a.cloud();
    assert_eq!(ssh_before.len(), 1, "{ssh_before:?}");
    let a_key = saved_key(&a).expect("machine A's profile");

    let mut engineers = vec![a_key.clone()];
    for name in ["B", "C"] {
        let mut m = another_machine(&moto, &a);
        m.as_admin(&another_admin(&moto, &format!("{}-admin", name.to_lowercase())).await);
        // C's answers ask for other sizes: on a join that is reported, never applied.
        let wizard = |env: &TestEnv, args: &[&str]| {
            let toml = match name {
                "C" => answers().replace("[cluster]\n", "[cluster]\nnode_count = 5\n"),
                _ => answers(),
            };
            let file = env.answers(&toml);
            run(env.wizard().args(args).arg("-c").arg(file))
        };
        // The dry run already shows the join, and its plan creates and deploys nothing.
        let (code, plan, err) = wizard(&m, &["setup", "--yes", "--dry-run"]);
        assert!(plan.contains("The cluster exists: join it."), "{plan}\n{err}");
        assert!(plan.contains("export kubeconfig") && plan.contains("--admin"), "{plan}");
        for absent in ["create cluster", "update cluster", "create-bucket", "create-group"] {
            assert!(!plan.contains(absent), "a join plan with {absent}: {plan}");
        }
        assert!(code == 0 || code == 1, "{code}: {err}");
        let from = a.kops_calls().len();
        let (code, out, err) = wizard(&m, &["setup", "--yes"]);
        assert_eq!(code, 0, "machine {name}: {out}\n{err}");
        // Who made the cluster is named, and what a join does not touch.
        assert!(out.contains("joining it"), "{out}");
        let by = "set up by arn:aws:iam::123456789012:user/alice-admin on ";
        assert!(out.contains(by), "{out}");
        assert!(out.contains("no create, no update, no SSH key"), "{out}");
        if name == "C" {
            assert!(out.contains("not applied (joining changes nothing)"), "{out}");
            assert!(out.contains("node"), "the difference is named: {out}");
        }

        // Nothing of the cluster changed: its state objects (every version), its SSH key,
        // its cloud, and kops was never asked to change anything.
        assert_eq!(versions(&moto, &format!("{CLUSTER}/")).await, state_before, "machine {name}");
        assert_eq!(cluster_ssh_keys(&moto).await, ssh_before, "machine {name}");
        assert_eq!(a.cloud(), cloud_before, "machine {name} changed the cloud");
        let calls = calls_since(&a, from);
        let called = verbs(&calls);
        for verb in
            ["create cluster", "update cluster", "create sshpublickey", "delete sshpublickey"]
        {
            assert!(
                !called.iter().any(|v| v == verb),
                "machine {name} ran kops {verb}: {called:?}"
            );
        }
        assert!(called.iter().any(|v| v == "export kubeconfig"), "{called:?}");

        // Access of their own: a key of their own user in the kops group, saved as the
        // profile, that kops ran with; a kubeconfig context.
        let key = saved_key(&m).expect("the joining machine's profile");
        assert!(!engineers.contains(&key), "machine {name} reuses another engineer's key");
        let j = Judge::new(&moto).await;
        let owner = keys_by_user(&j)
            .await
            .into_iter()
            .find(|(_, keys)| keys.contains(&key))
            .map(|(user, _)| user)
            .expect("the saved key is an IAM user's");
        assert_ne!(owner, "kops", "machine {name} got a key of the shared kops user");
        assert_eq!(j.groups_of(&owner).await, ["kops"], "{owner}");
        assert_eq!(j.key_ids(&owner).await, std::slice::from_ref(&key), "one key for {owner}");
        let export = calls
            .iter()
            .find(|c| verbs(std::slice::from_ref(c))[0] == "export kubeconfig")
            .expect("the export call");
        assert_eq!(export["access_key_id"], key.as_str(), "kops ran with the engineer's key");
        let kubeconfig =
            fs::read_to_string(m.home().join(".kube/config")).expect("a kubeconfig is written");
        assert!(kubeconfig.contains(CLUSTER), "{kubeconfig}");
        engineers.push(key);
    }
    // Three engineers, three users with one key each: nobody meets IAM's limit of two. (The
    // engineers' own administrator users are not the wizard's.)
    let j = Judge::new(&moto).await;
    let mut all = keys_by_user(&j).await;
    all.retain(|user, _| !user.ends_with("-admin"));
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.values().all(|k| k.len() == 1), "{all:?}");
    assert_eq!(all["kops"], [a_key], "the first engineer's key is untouched");
}

#[tokio::test]
async fn teardown_from_another_machine_deletes_what_the_wizard_made_anywhere() {
    let moto = Moto::start();
    let mut a = first_machine(&moto);
    a.as_admin(&another_admin(&moto, "alice-admin").await);
    let (code, out, err) = wizard(&a, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let b = another_machine(&moto, &a);
    let (code, out, err) = wizard(&b, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(wizard_users(&Judge::new(&moto).await).await.len(), 2);
    // status reads the team's record from the bucket; without AWS it says it shows a copy.
    let record = format!("s3://{BUCKET}/kops-wizard/{CLUSTER}.journal.json");
    let (code, status, _) = run(b.wizard().arg("status"));
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(&format!("record       {record} (read from the bucket now)")),
        "{status}"
    );
    let mut offline = b.wizard();
    offline.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9").env("AWS_MAX_ATTEMPTS", "1");
    let (code, status, _) = run(offline.arg("status"));
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("AWS could not be asked: this is this machine's copy"), "{status}");

    // A third machine that never ran setup tears it all down from the record in the bucket.
    let mut c = another_machine(&moto, &a);
    c.as_admin(&another_admin(&moto, "carol-admin").await);
    let (code, out, err) = wizard(&c, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let by = format!("Cluster {CLUSTER}: set up by arn:aws:iam::123456789012:user/alice-admin on ");
    assert!(out.contains(&by), "{out}");
    let j = Judge::new(&moto).await;
    let left = wizard_users(&j).await;
    assert!(left.is_empty(), "users left: {left:?}");
    assert!(j.groups().await.is_empty(), "groups left: {:?}", j.groups().await);
    assert!(j.buckets().await.is_empty(), "buckets left: {:?}", j.buckets().await);
    assert!(!a.cloud().contains(CLUSTER), "the cluster's cloud is left: {}", a.cloud());

    // The machine that set it up: nothing left to delete in AWS; its own profile (whose key
    // is gone) is removed, and it says so without failing.
    let (code, out, err) = wizard(&a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(saved_key(&a), None, "machine A's dead profile is left");
}

#[tokio::test]
async fn two_machines_racing_setup_make_one_cluster_one_deployment_one_ssh_key() {
    let moto = Moto::start();
    let a = first_machine(&moto);
    let b = another_machine(&moto, &a);
    let spawn = |env: &TestEnv| {
        let file = env.answers(&answers());
        env.wizard()
            .args(["setup", "--yes", "-c"])
            .arg(file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the wizard")
    };
    let (first, second) = (spawn(&a), spawn(&b));
    let (first, second) = (crate::support::finish(first), crate::support::finish(second));
    assert_eq!(first.0, 0, "A: {}\n{}", first.1, first.2);
    assert_eq!(second.0, 0, "B: {}\n{}", second.1, second.2);

    let called = a.kops_verbs();
    let count = |verb: &str| called.iter().filter(|v| *v == verb).count();
    assert_eq!(count("create cluster"), 1, "{called:?}");
    assert_eq!(count("update cluster"), 1, "{called:?}");
    assert_eq!(count("create sshpublickey") + count("delete sshpublickey"), 0, "{called:?}");
    assert_eq!(cluster_ssh_keys(&moto).await.len(), 1);
    // One of them joined; both can use the cluster with keys of their own.
    let joined = [&first, &second].iter().filter(|o| o.1.contains("joining it")).count();
    assert_eq!(joined, 1, "A: {}\nB: {}", first.1, second.1);
    let (ka, kb) = (saved_key(&a).unwrap(), saved_key(&b).unwrap());
    assert_ne!(ka, kb);
    let all = keys_by_user(&Judge::new(&moto).await).await;
    assert!(all.values().all(|k| k.len() == 1), "a key nobody holds is left: {all:?}");
    let held: Vec<&String> = all.values().flatten().collect();
    assert_eq!(held.len(), 2, "{all:?}");
}

#[tokio::test]
async fn an_unfinished_create_never_claims_a_cluster_made_by_hand_since() {
    let moto = Moto::start();
    let mut a = first_machine(&moto);
    // kops create fails and writes nothing: the intent is settled at once.
    a.set("FAKE_KOPS_FAIL_ONCE", "create");
    let (code, out, err) = wizard(&a, &["setup", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    a.unset("FAKE_KOPS_FAIL_ONCE");
    // Someone makes a cluster of that name by hand in the same bucket, with their own key.
    let other_key = a.path("their-key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .expect("ssh-keygen");
    assert!(keygen.success());
    let mut kops = Command::new(a.path("bin/kops"));
    a.apply(&mut kops);
    let (code, out, err) = run(kops.args([
        "create",
        "cluster",
        "--name",
        CLUSTER,
        "--state",
        &format!("s3://{BUCKET}"),
        "--zones",
        "us-east-1a",
        "--ssh-public-key",
        &format!("{}.pub", other_key.display()),
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let theirs = versions(&moto, &format!("{CLUSTER}/")).await;
    assert!(!theirs.is_empty());

    let (code, out, err) = wizard(&a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("not known to be the wizard's"), "{out}");
    let called = a.kops_verbs();
    assert!(!called.iter().any(|v| v == "delete cluster"), "{called:?}");
    assert_eq!(versions(&moto, &format!("{CLUSTER}/")).await, theirs, "their cluster was touched");
    assert_eq!(Judge::new(&moto).await.buckets().await, [BUCKET]);
}

#[tokio::test]
async fn objects_the_wizard_never_wrote_keep_the_bucket() {
    let moto = Moto::start();
    let a = first_machine(&moto);
    assert_eq!(wizard(&a, &["setup", "--yes"]).0, 0);
    let c = admin_clients(&moto).await;
    for key in ["backups/db.sql", "team-b/prod.k8s.local/config"] {
        c.s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(b"not the wizard's"))
            .send()
            .await
            .unwrap();
    }
    let (code, out, err) = wizard(&a, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("it also holds 2 objects (backups/db.sql, team-b/prod.k8s.local/config)"),
        "{out}"
    );
    let j = Judge::new(&moto).await;
    assert_eq!(j.buckets().await, [BUCKET]);
    assert!(j.object_exists(BUCKET, "backups/db.sql").await);
    assert!(j.object_exists(BUCKET, "team-b/prod.k8s.local/config").await);
    assert!(
        versions(&moto, &format!("{CLUSTER}/")).await.is_empty(),
        "the cluster's state is left"
    );
    assert!(j.users().await.is_empty() && j.groups().await.is_empty());
    // The record stays as the tombstone: another machine asking later is told who and when.
    let b = another_machine(&moto, &a);
    let (code, out, err) = wizard(&b, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("cluster {CLUSTER} was torn down by arn:aws:sts::")), "{out}");
}

#[tokio::test]
async fn a_planted_record_is_never_obeyed_on_its_own_word() {
    let moto = Moto::start();
    let a = first_machine(&moto);
    assert_eq!(wizard(&a, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let c = admin_clients(&moto).await;
    // Things someone made by hand, without the wizard's marks.
    c.iam.create_user().user_name("victim").send().await.unwrap();
    let victim_key = c.iam.create_access_key().user_name("victim").send().await.unwrap();
    let victim_key = victim_key.access_key().unwrap().access_key_id().to_string();
    // One with the wizard's path and tag key, but a mark that names another cluster.
    c.iam
        .create_user()
        .user_name("impostor")
        .path("/kops-wizard/")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("kops-wizard:cluster")
                .value("other.example.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    c.iam.create_group().group_name("admins").send().await.unwrap();
    c.iam
        .attach_group_policy()
        .group_name("admins")
        .policy_arn("arn:aws:iam::aws:policy/IAMFullAccess")
        .send()
        .await
        .unwrap();
    // Anyone who can write the bucket (the kops user can) claims them for the wizard.
    let key = format!("kops-wizard/{CLUSTER}.journal.json");
    let stored = c.s3.get_object().bucket(BUCKET).key(&key).send().await.unwrap();
    let body = stored.body.collect().await.unwrap().into_bytes();
    let mut record: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let now = jiff::Timestamp::now().to_string();
    let entries = record["entries"].as_array_mut().unwrap();
    entries.push(
        serde_json::json!({"kind": "iam-user", "id": "victim", "state": "created", "at": now}),
    );
    entries.push(serde_json::json!({"kind": "access-key", "id": "victim",
        "detail": victim_key, "state": "created", "at": now}));
    entries.push(
        serde_json::json!({"kind": "iam-user", "id": "impostor", "state": "created", "at": now}),
    );
    entries.push(
        serde_json::json!({"kind": "iam-group", "id": "admins", "state": "released", "at": now}),
    );
    entries.push(serde_json::json!({"kind": "iam-policy-attachment", "id": "admins",
        "detail": "arn:aws:iam::aws:policy/IAMFullAccess", "state": "created", "at": now}));
    c.s3.put_object()
        .bucket(BUCKET)
        .key(&key)
        .body(ByteStream::from(serde_json::to_vec(&record).unwrap()))
        .send()
        .await
        .unwrap();

    let b = another_machine(&moto, &a);
    let (code, out, err) = wizard(&b, &["teardown", "--yes"]);
    // What the record claims and the resources cannot prove is refused, named, and the run
    // ends with exit 1; the rest (the wizard's own, proved by its marks) is torn down.
    assert_eq!(code, 1, "{out}\n{err}");
    for refused in [
        "IAM user victim:",
        "access key victim (",
        "IAM user impostor:",
        "policy attachment admins (",
    ] {
        assert!(
            out.contains(&format!("  - {refused}")),
            "{refused} is not named as refused:\n{out}"
        );
    }
    let j = Judge::new(&moto).await;
    assert!(j.user_exists("victim").await, "a user without the wizard's mark was deleted");
    assert!(j.user_exists("impostor").await, "a mark naming another cluster was obeyed");
    assert_eq!(j.key_ids("victim").await, [victim_key], "an unmarked user's key was deleted");
    assert!(out.contains("its mark names cluster \"other.example.com\""), "{out}");
    assert!(j.group_exists("admins").await, "a group without the wizard's mark was deleted");
    assert_eq!(j.group_policies("admins").await, ["arn:aws:iam::aws:policy/IAMFullAccess"]);

    // A record that does not parse is reported, never obeyed: nothing changes.
    let d = another_machine(&moto, &a);
    let (code, _, _) = wizard(&d, &["setup", "--yes", "--only", "credentials,state-store"]);
    assert_eq!(code, 0);
    c.s3.put_object()
        .bucket(BUCKET)
        .key(&key)
        .body(ByteStream::from_static(b"{ not a record"))
        .send()
        .await
        .unwrap();
    let before = moto.requests().len();
    let iam_before = keys_by_user(&Judge::new(&moto).await).await;
    let (code, out, err) = wizard(&d, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("reported, never obeyed"), "{err}");
    // S3: nothing written or deleted (IAM and STS requests are all POSTs, so IAM is judged
    // by its state instead).
    let changes: Vec<String> = moto.requests()[before..]
        .iter()
        .filter(|r| r.contains("\"PUT ") || r.contains("\"DELETE ") || r.contains("?delete"))
        .cloned()
        .collect();
    assert!(changes.is_empty(), "a damaged record led to changes: {changes:#?}");
    let j = Judge::new(&moto).await;
    assert_eq!(keys_by_user(&j).await, iam_before, "IAM changed");
    assert_eq!(j.buckets().await, [BUCKET]);
}

#[tokio::test]
async fn the_lock_makes_another_machine_wait_names_its_holder_and_is_taken_over_when_it_dies() {
    let moto = Moto::start();
    let mut a = first_machine(&moto);
    a.set("KOPS_WIZARD_LEASE_TTL", "2s");
    a.set("FAKE_KOPS_HANG", "update");
    let file = a.answers(&answers());
    let mut holder = a
        .wizard()
        .args(["setup", "--yes", "-c"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A holds the lock while its `kops update` hangs.
    let started = Instant::now();
    while !a.kops_verbs().iter().any(|v| v == "update cluster") {
        assert!(started.elapsed() < Duration::from_secs(60), "A never reached kops update");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut b = another_machine(&moto, &a);
    b.set("KOPS_WIZARD_LEASE_TTL", "2s");
    b.set("KOPS_WIZARD_LOCK_WAIT", "1s");
    let (code, out, err) = wizard(&b, &["setup", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("is locked by arn:aws:sts::123456789012:user/moto"), "{err}");
    assert!(err.contains(&format!("pid {}", holder.id())), "{err}");
    assert!(err.contains("`kops-wizard setup` of cluster team.example.com"), "{err}");
    assert!(Judge::new(&moto).await.users().await == ["kops"], "B changed IAM while locked out");

    // A dies without a word (SIGKILL): its `kops update --yes` dies with it, and its lease
    // stops being renewed so B takes it over.
    let kops = kops_processes(&a, Some("update"));
    assert_eq!(kops.len(), 1, "A's hung kops update is running: {kops:?}");
    holder.kill().unwrap();
    let holder_pid = holder.id();
    crate::support::finish(holder);
    let started = Instant::now();
    while kops.iter().any(|pid| alive(*pid)) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kops {kops:?} outlived the wizard that started it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    b.set("KOPS_WIZARD_LOCK_WAIT", "30s");
    // A died inside `update --yes`: its cluster never comes up, so B's validation waits briefly.
    let file = b.answers(&answers().replace("wait = \"1m\"", "wait = \"2s\""));
    let (code, out, err) = run(b.wizard().args(["setup", "--yes", "-c"]).arg(file));
    assert!(out.contains("taken over: it was held by"), "{out}\n{err}");
    assert!(out.contains(&format!("pid {}", holder_pid)), "{out}");
    assert!(out.contains("its heartbeat stopped"), "{out}");
    // The cluster is A's: B joins it, gets its own access, and never runs `update --yes`.
    assert!(out.contains("joining it"), "{out}");
    assert!(out.contains("kubectl context team.example.com written"), "{out}");
    assert_eq!(code, 1, "the half-deployed cluster cannot validate: {out}\n{err}");
    assert!(err.contains("did not validate within 2s"), "{err}");
    let updates = a.kops_verbs().iter().filter(|v| *v == "update cluster").count();
    assert_eq!(updates, 1, "only A's (killed) update ran");
}

#[tokio::test]
async fn unlock_breaks_a_stale_lock_after_naming_its_holder() {
    let moto = Moto::start();
    let a = first_machine(&moto);
    assert_eq!(wizard(&a, &["setup", "--yes", "--only", "credentials,state-store"]).0, 0);
    let c = admin_clients(&moto).await;
    let holder = serde_json::json!({
        "id": "0123456789abcdef",
        "by": {"arn": "arn:aws:iam::123456789012:user/alice", "host": "alice-laptop",
               "machine": "feedbeef", "wizard": "0.1.0"},
        "pid": 4242, "command": "teardown", "cluster": CLUSTER,
        "since": "2026-12-01T10:00:00Z", "renewed": "2026-12-01T10:00:30Z", "ttl_secs": 60
    });
    c.s3.put_object()
        .bucket(BUCKET)
        .key("kops-wizard/lock.json")
        .body(ByteStream::from(serde_json::to_vec(&holder).unwrap()))
        .send()
        .await
        .unwrap();
    let (code, out, err) = wizard(&a, &["unlock", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("locked by arn:aws:iam::123456789012:user/alice on alice-laptop"),
        "{out}"
    );
    assert!(out.contains("Lock broken"), "{out}");
    assert!(!Judge::new(&moto).await.object_exists(BUCKET, "kops-wizard/lock.json").await);
    let (code, out, _) = wizard(&a, &["unlock", "--yes"]);
    assert_eq!(code, 0);
    assert!(out.contains("is not locked"), "{out}");
}

/// Two engineers with the same login (`USER=dev`) join through the full screen, each on a
/// machine of their own: the bucket's page tells them the team's cluster is there and who set
/// it up (another admin, so "set up by" names the right person); the join asks no SSH key or
/// sizes; each gets a user of their own, never another's, and a name already taken by someone
/// else's user is passed over, that user left as it was.
#[tokio::test]
async fn two_engineers_with_one_login_join_through_the_full_screen_each_as_themselves() {
    let moto = Moto::start();
    let alice = crate::support::another_admin(&moto, "alice-admin").await;
    let mut a = first_machine(&moto);
    a.as_admin(&alice);
    assert_eq!(wizard(&a, &["setup", "--yes"]).0, 0);
    let state_before = versions(&moto, &format!("{CLUSTER}/")).await;
    // B's machine id is known, and someone has made a user with the name B would take first.
    let mut b = another_machine(&moto, &a);
    fs::create_dir_all(b.path("state/kops-wizard")).unwrap();
    fs::write(b.path("state/kops-wizard/machine-id"), "b0b0b0b0c1c1c1c1").unwrap();
    let c = admin_clients(&moto).await;
    c.iam.create_user().user_name("kops-dev-b0b0b0b0").send().await.unwrap();
    let mut cm = another_machine(&moto, &a);
    for env in [&mut b, &mut cm] {
        env.set("USER", "dev");
    }
    let from = a.kops_calls().len();
    for env in [&b, &cm] {
        let file = env.answers(&answers());
        let argv = [
            env!("CARGO_BIN_EXE_kops-wizard").to_string(),
            "-c".into(),
            file.display().to_string(),
        ];
        let out = env.path("summary.txt");
        let term = Tmux::start_to(env, &argv, 100, 30, Some(&out));
        term.wait_for("moto @ 123456789012", Duration::from_secs(30));
        // The bucket's page says whose cluster is there, and that setup joins it.
        let bucket = term.enter_until("holds cluster team.example.com, set up by", 10);
        assert!(bucket.contains("user/alice-admin"), "{bucket}");
        assert!(bucket.contains("setup joins it"), "{bucket}");
        // No SSH key page: the next one is the cluster's, its sizes read-only.
        let cluster = term.enter_until("Its SSH key and its sizes are its own", 10);
        assert!(!cluster.contains("Generate"), "{cluster}");
        let review = term.enter_until("Review: what setup will do", 10);
        let review = match review.contains("The cluster exists: join it.") {
            true => review,
            false => term.wait_for("The cluster exists: join it.", Duration::from_secs(30)),
        };
        assert!(review.contains("Kubeconfig: kops export kubeconfig --admin"), "{review}");
        assert!(!review.contains("kops create cluster"), "{review}");
        term.keys(&["Enter"]);
        term.wait_for("is set up and validated", Duration::from_secs(120));
        term.keys(&["Enter"]);
        let (code, stty) = term.finished(Duration::from_secs(30));
        assert_eq!(code, 0, "{}", term.screen());
        assert!(cooked(&stty), "{stty}");
        let summary = fs::read_to_string(&out).unwrap_or_default();
        assert!(
            summary.contains(&format!(
                "Joined cluster {CLUSTER}, set up by arn:aws:iam::123456789012:user/alice-admin"
            )),
            "{summary}"
        );
    }
    let called = verbs(&calls_since(&a, from));
    for verb in ["create cluster", "update cluster", "create sshpublickey", "delete sshpublickey"] {
        assert!(!called.iter().any(|v| v == verb), "the full screen ran kops {verb}: {called:?}");
    }
    assert_eq!(versions(&moto, &format!("{CLUSTER}/")).await, state_before);
    // Each engineer's profile holds a key of their own user; the hand-made user is untouched.
    let j = Judge::new(&moto).await;
    let all = keys_by_user(&j).await;
    assert_eq!(all["kops-dev-b0b0b0b0"], Vec::<String>::new(), "someone else's user got a key");
    assert!(j.groups_of("kops-dev-b0b0b0b0").await.is_empty());
    let owner = |env: &TestEnv| {
        let key = saved_key(env).expect("the engineer's profile");
        all.iter().find(|(_, keys)| keys.contains(&key)).map(|(u, _)| u.clone()).unwrap()
    };
    let (ub, uc) = (owner(&b), owner(&cm));
    assert_eq!(ub, "kops-dev-b0b0b0b0-2", "B passes over the name that is taken");
    assert!(uc.starts_with("kops-dev-") && uc != ub && uc.len() > "kops-dev-".len() + 4, "{uc}");
    for user in [&ub, &uc] {
        assert_eq!(all[user].len(), 1, "{user}: {all:?}");
        assert_eq!(j.groups_of(user).await, ["kops"]);
    }
}
