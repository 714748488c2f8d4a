//! The team's record as untrusted input, tried the way the findings were made: as someone who
//! can write the state bucket (every kops user, any CI role with S3 rights), and as a team whose
//! laptops pause and race. Judged by what exists in IAM, S3 and EC2 afterwards (plain SDK calls
//! written here), never by the wizard's words alone; the words are checked on top.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};

use crate::support::faults::FaultProxy;
use crate::support::judge::Judge;
use crate::support::{Moto, TestEnv, admin_clients, another_admin, finish, run};

const BUCKET: &str = "trust-kops-state";
const CLUSTER: &str = "trust.example.com";

fn answers(cluster: &str, bucket: &str) -> String {
    format!(
        "[state_store]\nbucket = \"{bucket}\"\n[ssh]\nkey_type = \"ed25519\"\n[cluster]\n\
         name = \"{cluster}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    )
}

/// A machine of the team: its own HOME and state dir; the kops stand-in's cloud is the first
/// machine's, so every machine sees one AWS.
fn machine(moto: &Moto, first: Option<&TestEnv>) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    if let Some(first) = first {
        env.set("FAKE_KOPS_HOME", first.get("FAKE_KOPS_HOME").expect("the stand-in's home"));
    }
    env
}

/// A machine for runs that never reach kops (`--only state-store,credentials`, and the
/// teardown of what those made): no stand-in, no fake cluster API to start.
fn bare_machine(moto: &Moto) -> TestEnv {
    TestEnv::new(Some(moto))
}

fn wizard(env: &TestEnv, toml: &str, args: &[&str]) -> (i32, String, String) {
    let file = env.answers(toml);
    run(env.wizard().args(args).arg("-c").arg(file))
}

fn spawn(env: &TestEnv, toml: &str, args: &[&str], vars: &[(&str, &str)]) -> Child {
    let file = env.answers(toml);
    let mut cmd = env.wizard();
    cmd.args(args).arg("-c").arg(file).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the wizard")
}

/// The state of a process from /proc (`T` stopped, `S` sleeping...).
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(sig: &str, pid: u32) {
    let ok = Command::new("kill").args([sig, &pid.to_string()]).status().expect("kill");
    assert!(ok.success(), "kill {sig} {pid}");
}

/// The record of `cluster` in `bucket`, as anyone who can read the bucket reads it.
async fn read_record(moto: &Moto, bucket: &str, cluster: &str) -> Value {
    let c = admin_clients(moto).await;
    let key = format!("kops-wizard/{cluster}.journal.json");
    let got = c.s3.get_object().bucket(bucket).key(&key).send().await.expect("the record");
    let body = got.body.collect().await.expect("its body").into_bytes();
    serde_json::from_slice(&body).expect("a record")
}

/// Writes the record as anyone with s3:PutObject on the bucket can (no IAM rights needed).
async fn write_record(moto: &Moto, bucket: &str, cluster: &str, record: &Value) {
    let c = admin_clients(moto).await;
    let key = format!("kops-wizard/{cluster}.journal.json");
    let body = ByteStream::from(serde_json::to_vec_pretty(record).unwrap());
    c.s3.put_object().bucket(bucket).key(&key).body(body).send().await.expect("write the record");
}

/// Who has which keys, for every IAM user.
async fn keys_by_user(j: &Judge) -> BTreeMap<String, Vec<String>> {
    let mut all = BTreeMap::new();
    for user in j.users().await {
        let keys = j.key_ids(&user).await;
        all.insert(user, keys);
    }
    all
}

/// Every version and delete marker under `prefix` in `bucket`, as `key@version`.
async fn versions(moto: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    let c = admin_clients(moto).await;
    let out = c.s3.list_object_versions().bucket(bucket).send().await.expect("versions");
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

/// A finding of the audit: four lines appended to the record made the next teardown, from any
/// machine, remove alice from Admins, detach AdministratorAccess and delete bob's key. Now every
/// kind of forged entry (a membership, an attachment, a key, a user, a group, a bucket; intents
/// and results, each stamped with the real author's machine, which is public) is refused by
/// name, and the wizard's own things, proved by their marks, are still torn down.
#[tokio::test]
async fn forged_entries_of_every_kind_are_refused_by_name_and_change_nothing() {
    let moto = Moto::start();
    let a = bare_machine(&moto);
    let toml = answers(CLUSTER, BUCKET);
    let (code, out, err) =
        wizard(&a, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // What other people made, with IAM rights the attacker does not have.
    let c = admin_clients(&moto).await;
    c.iam.create_group().group_name("Admins").send().await.unwrap();
    let admin_policy = "arn:aws:iam::aws:policy/AdministratorAccess";
    c.iam.attach_group_policy().group_name("Admins").policy_arn(admin_policy).send().await.unwrap();
    c.iam.create_user().user_name("alice").send().await.unwrap();
    c.iam.add_user_to_group().user_name("alice").group_name("Admins").send().await.unwrap();
    c.iam.create_user().user_name("bob").send().await.unwrap();
    let bob_key = c.iam.create_access_key().user_name("bob").send().await.unwrap();
    let bob_key = bob_key.access_key().unwrap().access_key_id().to_string();
    c.iam.create_user().user_name("ci-user").send().await.unwrap();
    c.iam.create_group().group_name("ci").send().await.unwrap();
    c.s3.create_bucket().bucket("other-data").send().await.unwrap();
    c.s3.put_object()
        .bucket("other-data")
        .key("ledger.csv")
        .body(ByteStream::from_static(b"not the wizard's"))
        .send()
        .await
        .unwrap();

    // The attacker appends to the record, copying the real author (machine ids are public).
    let mut record = read_record(&moto, BUCKET, CLUSTER).await;
    let by = record["entries"][0]["by"].clone();
    let now = jiff::Timestamp::now().to_string();
    let forged = [
        json!({"kind": "iam-group-membership", "id": "alice", "detail": "Admins", "state": "intent"}),
        json!({"kind": "iam-policy-attachment", "id": "Admins", "detail": admin_policy, "state": "intent"}),
        json!({"kind": "access-key", "id": "bob", "detail": bob_key, "state": "created"}),
        json!({"kind": "iam-user", "id": "ci-user", "state": "intent"}),
        json!({"kind": "iam-group", "id": "ci", "state": "created"}),
        json!({"kind": "bucket", "id": "other-data", "state": "created"}),
    ];
    let entries = record["entries"].as_array_mut().unwrap();
    for mut e in forged {
        e["at"] = now.clone().into();
        e["by"] = by.clone();
        entries.push(e);
    }
    write_record(&moto, BUCKET, CLUSTER, &record).await;

    // Another machine tears the cluster down from the record.
    let b = bare_machine(&moto);
    let (code, out, err) = wizard(&b, &toml, &["teardown", "--yes"]);
    assert_eq!(code, 1, "a teardown that refused something ends with 1:\n{out}\n{err}");
    for refused in [
        "group membership alice (Admins)",
        "policy attachment Admins (arn:aws:iam::aws:policy/AdministratorAccess)",
        &format!("access key bob ({bob_key})"),
        "IAM user ci-user",
        "IAM group ci",
        "S3 bucket other-data",
    ] {
        let refusals = out.split("refused: the team's record").nth(1).unwrap_or_default();
        assert!(refusals.contains(&format!("  - {refused}")), "{refused} not refused:\n{out}");
    }

    // Judged by IAM and S3: everything forged is as it was...
    let j = Judge::new(&moto).await;
    assert_eq!(j.groups_of("alice").await, ["Admins"], "alice was removed from Admins");
    assert_eq!(
        j.group_policies("Admins").await,
        [admin_policy],
        "AdministratorAccess was detached"
    );
    assert_eq!(j.key_ids("bob").await, std::slice::from_ref(&bob_key), "bob's key was deleted");
    assert!(j.user_exists("ci-user").await && j.group_exists("ci").await);
    assert!(j.object_exists("other-data", "ledger.csv").await, "other-data was emptied");
    // ...and the wizard's own things, proved by their marks, are gone.
    assert!(!j.group_exists("kops").await && !j.user_exists("kops").await);
    assert!(!j.buckets().await.contains(&BUCKET.to_string()));
}

/// A cluster named in the record that this machine did not make and whose cloud does not carry
/// the wizard's mark (made by hand, here under the record's own name) is refused: no
/// `kops delete cluster`, its cloud and state untouched, and with it the bucket and what runs
/// kops against it.
#[tokio::test]
async fn a_cluster_the_record_claims_without_the_wizards_mark_is_never_deleted() {
    let moto = Moto::start();
    let a = machine(&moto, None);
    let toml = answers(CLUSTER, BUCKET);
    let (code, out, err) =
        wizard(&a, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    // Someone makes and deploys a cluster of that name by hand in the state store.
    let key = a.path("their-key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(keygen.success());
    let store = format!("s3://{BUCKET}");
    let pub_key = format!("{}.pub", key.display());
    for args in [
        vec![
            "create",
            "cluster",
            "--name",
            CLUSTER,
            "--state",
            &store,
            "--zones",
            "us-east-1a",
            "--ssh-public-key",
            &pub_key,
        ],
        vec!["update", "cluster", "--name", CLUSTER, "--state", &store, "--yes"],
    ] {
        let mut kops = Command::new(a.path("bin/kops"));
        a.apply(&mut kops);
        let (code, out, err) = run(kops.args(&args));
        assert_eq!(code, 0, "{out}{err}");
    }
    let state_before = versions(&moto, BUCKET, &format!("{CLUSTER}/")).await;
    let asgs = || async {
        let j = Judge::new(&moto).await;
        j.boto3(
            "import json\nprint(json.dumps(sorted(g['AutoScalingGroupName'] for g in \
             boto3.client('autoscaling', **kw).describe_auto_scaling_groups()['AutoScalingGroups'])))",
        )
    };
    let asgs_before = asgs().await;
    assert!(asgs_before.contains(CLUSTER), "{asgs_before}");
    // The record claims it.
    let mut record = read_record(&moto, BUCKET, CLUSTER).await;
    let now = jiff::Timestamp::now().to_string();
    let by = record["entries"][0]["by"].clone();
    for kind in ["cluster", "cluster-deployed"] {
        record["entries"].as_array_mut().unwrap().push(json!({
            "kind": kind, "id": CLUSTER, "state": "created", "at": now, "by": by,
        }));
    }
    write_record(&moto, BUCKET, CLUSTER, &record).await;

    let b = machine(&moto, Some(&a));
    let from = a.kops_calls().len();
    let (code, out, err) = wizard(&b, &toml, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains(&format!("  - cluster {CLUSTER}: its cloud (")), "{out}");
    assert!(out.contains("does not carry kops-wizard's tag kops-wizard:cluster="), "{out}");
    let verbs = crate::support::verbs(&a.kops_calls()[from..]);
    assert!(!verbs.iter().any(|v| v == "delete cluster"), "kops delete ran: {verbs:?}");
    assert_eq!(versions(&moto, BUCKET, &format!("{CLUSTER}/")).await, state_before);
    assert_eq!(asgs().await, asgs_before, "the hand-made cluster's cloud was touched");
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.contains(&BUCKET.to_string()), "the bucket holding it went");
    assert!(j.group_exists("kops").await, "what runs kops against the kept cluster went");
}

/// A record copied from another cluster (prod's record, renamed into dev's bucket) names
/// prod's group, user, key and bucket: each carries prod's mark, so nothing of prod changes.
#[tokio::test]
async fn a_record_copied_from_another_cluster_touches_nothing_of_it() {
    let moto = Moto::start();
    let prod = bare_machine(&moto);
    let prod_toml = answers("prod.example.com", "prod-kops-state");
    let (code, out, err) =
        wizard(&prod, &prod_toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let dev = bare_machine(&moto);
    let dev_toml = answers("dev.example.com", "dev-kops-state");
    let (code, out, err) = wizard(&dev, &dev_toml, &["setup", "--yes", "--only", "state-store"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let j = Judge::new(&moto).await;
    let before = (keys_by_user(&j).await, j.group_policies("kops").await);

    // Someone with write access to dev's bucket copies prod's record over dev's, renamed.
    let mut record = read_record(&moto, "prod-kops-state", "prod.example.com").await;
    record["cluster"] = "dev.example.com".into();
    record["state_store"] = "s3://dev-kops-state".into();
    write_record(&moto, "dev-kops-state", "dev.example.com", &record).await;

    let other = bare_machine(&moto);
    let (code, out, err) = wizard(&other, &dev_toml, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("  - IAM group kops: its mark names cluster \"prod.example.com\""),
        "{out}"
    );
    assert!(
        out.contains("  - IAM user kops: its mark names cluster \"prod.example.com\""),
        "{out}"
    );
    let j = Judge::new(&moto).await;
    assert_eq!(
        (keys_by_user(&j).await, j.group_policies("kops").await),
        before,
        "prod's IAM changed"
    );
    assert!(j.buckets().await.contains(&"prod-kops-state".to_string()), "prod's bucket went");
    assert!(j.object_exists("prod-kops-state", "kops-wizard/prod.example.com.journal.json").await);
}

/// A record whose entries name no author (written by a version before the team's record, or
/// stripped by someone) is made on no machine: the second engineer's setup stops before
/// anything changes and says how to claim it; the machine that set it up claims it once; then
/// the second engineer joins it, told by whom it was set up. Two admins, two identities.
#[tokio::test]
async fn a_record_without_authors_is_claimed_once_and_then_joined() {
    let moto = Moto::start();
    let alice = another_admin(&moto, "alice-admin").await;
    let bob = another_admin(&moto, "bob-admin").await;
    let mut a = machine(&moto, None);
    a.as_admin(&alice);
    let toml = answers(CLUSTER, BUCKET);
    // The cluster made (not deployed: what matters here is whose it is, not its cloud).
    let made = ["setup", "--yes", "--only", "state-store,credentials,ssh-key,cluster"];
    let (code, out, err) = wizard(&a, &toml, &made);
    assert_eq!(code, 0, "{out}\n{err}");
    // As the upgrade from a journal written before the team's record leaves it: no author in
    // the record, and nothing in A's copy that says which machine made what.
    let mut record = read_record(&moto, BUCKET, CLUSTER).await;
    for e in record["entries"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("by");
    }
    write_record(&moto, BUCKET, CLUSTER, &record).await;
    let copy = a.path(&format!("state/kops-wizard/journal/{CLUSTER}.json"));
    let mut local: Value = serde_json::from_str(&fs::read_to_string(&copy).unwrap()).unwrap();
    for e in local["entries"].as_array_mut().unwrap() {
        let e = e.as_object_mut().unwrap();
        e.remove("by");
        e.remove("here");
    }
    fs::write(&copy, local.to_string()).unwrap();

    let c = admin_clients(&moto).await;
    let ssh_keys =
        || async { versions(&moto, BUCKET, &format!("{CLUSTER}/pki/ssh/public/admin/")).await };
    let (keys_before, ssh_before) =
        (keys_by_user(&Judge::new(&moto).await).await, ssh_keys().await);
    let mut b = machine(&moto, Some(&a));
    b.as_admin(&bob);
    for (who, env) in [("B", &b), ("A", &a)] {
        let from = a.kops_calls().len();
        let (code, out, err) = wizard(env, &toml, &made);
        assert_eq!(code, 2, "{who}: {out}\n{err}");
        assert!(err.contains("kops-wizard setup --claim"), "{who}: {err}");
        let called = crate::support::verbs(&a.kops_calls()[from..]);
        for verb in
            ["create cluster", "update cluster", "create sshpublickey", "delete sshpublickey"]
        {
            assert!(!called.iter().any(|v| v == verb), "{who} ran kops {verb}: {called:?}");
        }
    }
    assert_eq!(keys_by_user(&Judge::new(&moto).await).await, keys_before, "IAM changed");
    assert_eq!(ssh_keys().await, ssh_before, "the cluster's SSH key changed");

    // The machine that set it up claims it; the record names alice from then on.
    let claim = [&made[..], &["--claim"]].concat();
    let (code, out, err) = wizard(&a, &toml, &claim);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("now this machine's (--claim)"), "{out}");
    let record = read_record(&moto, BUCKET, CLUSTER).await;
    let cluster = record["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "cluster");
    assert_eq!(cluster.unwrap()["by"]["arn"], "arn:aws:iam::123456789012:user/alice-admin");

    // The second engineer joins it: its own user and key, nothing of the cluster changed.
    let from = a.kops_calls().len();
    let (code, out, err) = wizard(&b, &toml, &["setup", "--yes", "--only", "credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("set up by arn:aws:iam::123456789012:user/alice-admin on "), "{out}");
    let called = crate::support::verbs(&a.kops_calls()[from..]);
    assert!(
        !called.iter().any(|v| v == "update cluster" || v.contains("sshpublickey")),
        "{called:?}"
    );
    assert_eq!(ssh_keys().await, ssh_before);
    let users = c.iam.list_users().send().await.unwrap();
    let joined: Vec<&str> =
        users.users().iter().map(|u| u.user_name()).filter(|u| u.starts_with("kops-")).collect();
    assert_eq!(joined.len(), 1, "B's own user: {joined:?}");
}

/// A holder paused past its lease (SIGSTOP, as a closed lid): another machine takes the lock
/// over and does its run; the paused teardown, resumed, stops at once, deleting nothing.
#[tokio::test]
async fn a_teardown_paused_past_its_lease_stops_at_once_and_deletes_nothing() {
    let moto = Moto::start();
    let mut a = bare_machine(&moto);
    a.set("KOPS_WIZARD_LEASE_TTL", "2s");
    let toml = answers(CLUSTER, BUCKET);
    let (code, out, err) =
        wizard(&a, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let j = Judge::new(&moto).await;
    let before = (keys_by_user(&j).await, j.groups().await, j.group_policies("kops").await);

    let paused = spawn(
        &a,
        &toml,
        &["teardown", "--yes"],
        &[("KOPS_WIZARD_TEST_STOP", "before-step:delete-iam")],
    );
    let pid = paused.id();
    wait_until("the teardown stops itself", Duration::from_secs(60), || {
        proc_state(pid) == Some('T')
    });

    // Another machine waits out the dead heartbeat, takes the lock over, runs, lets go.
    let mut b = bare_machine(&moto);
    b.set("KOPS_WIZARD_LEASE_TTL", "2s");
    b.set("KOPS_WIZARD_LOCK_WAIT", "30s");
    let (code, out, err) = wizard(&b, &toml, &["setup", "--yes", "--only", "state-store"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("taken over") && out.contains("its heartbeat stopped"), "{out}");

    signal("-CONT", pid);
    let (code, out, err) = finish(paused);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("lost the team's lock"), "{err}");
    let j = Judge::new(&moto).await;
    assert_eq!(
        (keys_by_user(&j).await, j.groups().await, j.group_policies("kops").await),
        before,
        "the resumed teardown changed IAM"
    );
    assert!(
        j.buckets().await.contains(&BUCKET.to_string()),
        "the resumed teardown deleted the bucket"
    );
}

/// Two clusters of one state bucket share the team's group and user; tearing one down from a
/// machine that holds neither journal keeps what the other's record says it still uses.
#[tokio::test]
async fn another_clusters_shared_iam_survives_a_teardown_from_another_machine() {
    let moto = Moto::start();
    let alice = another_admin(&moto, "alice-admin").await;
    let mut a = bare_machine(&moto);
    a.as_admin(&alice);
    let (x, y) = (answers("x.example.com", BUCKET), answers("y.example.com", BUCKET));
    for toml in [&x, &y] {
        let (code, out, err) =
            wizard(&a, toml, &["setup", "--yes", "--only", "state-store,credentials"]);
        assert_eq!(code, 0, "{out}\n{err}");
    }
    let j = Judge::new(&moto).await;
    let shared = (keys_by_user(&j).await, j.group_policies("kops").await);
    assert_eq!(shared.0.len(), 2, "alice and the one kops user: {:?}", shared.0);

    let b = bare_machine(&moto);
    let (code, out, err) = wizard(&b, &x, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("still used by cluster y.example.com"), "{out}");
    let j = Judge::new(&moto).await;
    assert_eq!((keys_by_user(&j).await, j.group_policies("kops").await), shared, "y's IAM changed");
    assert!(j.buckets().await.contains(&BUCKET.to_string()), "y's bucket went");

    // The last cluster's teardown, from that machine too, deletes them.
    let (code, out, err) = wizard(&b, &y, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let j = Judge::new(&moto).await;
    assert_eq!(j.users().await, ["alice-admin"]);
    assert!(j.groups().await.is_empty() && j.buckets().await.is_empty());
}

/// A store that ignores S3's conditional writes (a loopback proxy that drops If-Match and
/// If-None-Match) is found before the first lease: team mode is refused, naming the store, and
/// nothing the team shares is made there; the probe leaves nothing behind.
#[tokio::test]
async fn a_store_that_ignores_conditional_writes_is_refused_for_team_use() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    proxy.ignore_conditional_writes();
    let mut env = bare_machine(&moto);
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    let toml = answers(CLUSTER, BUCKET);
    let (code, out, err) =
        wizard(&env, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("does not honour S3's conditional writes"), "{err}");
    assert!(err.contains(&proxy.endpoint()), "the store is named: {err}");
    let j = Judge::new(&moto).await;
    assert!(j.users().await.is_empty() && j.groups().await.is_empty(), "IAM was made unlocked");
    assert!(
        versions(&moto, BUCKET, "kops-wizard/").await.is_empty(),
        "left in the bucket: {:?}",
        versions(&moto, BUCKET, "kops-wizard/").await
    );
}

/// A machine that comes for the lock while a teardown deletes the bucket is told so and
/// stops: it sets nothing up in a bucket about to disappear, and the teardown still leaves
/// nothing.
#[tokio::test]
async fn a_waiter_during_the_buckets_deletion_stops_and_makes_nothing() {
    let moto = Moto::start();
    let a = bare_machine(&moto);
    let toml = answers(CLUSTER, BUCKET);
    let (code, out, err) =
        wizard(&a, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let deleting =
        spawn(&a, &toml, &["teardown", "--yes"], &[("KOPS_WIZARD_TEST_STOP", "deleting-bucket")]);
    let pid = deleting.id();
    wait_until("the teardown reaches the bucket", Duration::from_secs(60), || {
        proc_state(pid) == Some('T')
    });

    let b = bare_machine(&moto);
    let started = Instant::now();
    let (code, out, err) =
        wizard(&b, &toml, &["setup", "--yes", "--only", "state-store,credentials"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("is being deleted by"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "it waited: {:?}", started.elapsed());

    signal("-CONT", pid);
    let (code, out, err) = finish(deleting);
    assert_eq!(code, 0, "{out}\n{err}");
    let j = Judge::new(&moto).await;
    assert!(j.buckets().await.is_empty(), "{:?}", j.buckets().await);
    assert!(j.users().await.is_empty() && j.groups().await.is_empty(), "the waiter made IAM");
}

/// The cluster's state deleted by hand (or by a lifecycle rule) while its instances run: the
/// final check of AWS still runs, names them, and the exit is 1.
#[tokio::test]
async fn state_gone_with_a_tagged_instance_running_is_named_and_exit_1() {
    let moto = Moto::start();
    let a = machine(&moto, None);
    let toml = answers(CLUSTER, BUCKET);
    // Deployed: its instances run (validation and the smoke test are not what this is about).
    let only = "state-store,credentials,ssh-key,cluster,deploy";
    let (code, out, err) = wizard(&a, &toml, &["setup", "--yes", "--only", only]);
    assert_eq!(code, 0, "{out}\n{err}");
    let c = admin_clients(&moto).await;
    for v in versions(&moto, BUCKET, &format!("{CLUSTER}/")).await {
        let (key, id) = v.split_once('@').unwrap();
        let id = id.trim_end_matches("(marker)");
        c.s3.delete_object().bucket(BUCKET).key(key).version_id(id).send().await.unwrap();
    }
    let j = Judge::new(&moto).await;
    let running = || {
        j.boto3(&format!(
            "import json\nr = boto3.client('ec2', **kw).describe_instances(Filters=[{{'Name': \
             'tag-key', 'Values': ['kubernetes.io/cluster/{CLUSTER}']}}, {{'Name': \
             'instance-state-name', 'Values': ['running']}}])\nprint(json.dumps(sorted(i['InstanceId'] \
             for x in r['Reservations'] for i in x['Instances'])))"
        ))
    };
    let ids: Vec<String> = serde_json::from_str(running().trim()).unwrap();
    assert!(!ids.is_empty(), "the cluster's instances run");

    let (code, out, err) = wizard(&a, &toml, &["teardown", "--yes"]);
    assert_eq!(code, 1, "{out}\n{err}");
    for id in &ids {
        assert!(
            out.contains(&format!("EC2 instance {id} (tagged for the cluster)")),
            "{id}:\n{out}"
        );
    }
    assert!(!out.contains("nothing left"), "{out}");
    let still: Vec<String> = serde_json::from_str(running().trim()).unwrap();
    assert_eq!(still, ids, "the instances are still there, as the wizard says");
}

/// Two engineers starting setup together: both past the bucket before either takes the lock
/// (a barrier in the test hook forces the interleaving that lost before), then the plain race
/// three times (each takes the suite's two cores for seconds; the forced one is the one that
/// matters). Every time one teardown leaves nothing: no admin-equivalent user or group kept
/// as "there before".
#[tokio::test]
async fn two_setups_started_together_leave_nothing_after_one_teardown() {
    for race in 0..4 {
        let moto = Moto::start();
        let mut a = bare_machine(&moto);
        let mut b = bare_machine(&moto);
        // A short lease: the waiter asks every half second, not every two.
        for env in [&mut a, &mut b] {
            env.set("KOPS_WIZARD_LEASE_TTL", "4s");
        }
        let toml = answers(CLUSTER, BUCKET);
        let barrier = a.path("barrier");
        let forced = race == 0;
        let hook = format!("after-step:state-store={}", barrier.display());
        let vars: Vec<(&str, &str)> = match forced {
            true => vec![("KOPS_WIZARD_TEST_BARRIER", hook.as_str())],
            false => Vec::new(),
        };
        let args = ["setup", "--yes", "--only", "state-store,credentials"];
        let (first, second) = (spawn(&a, &toml, &args, &vars), spawn(&b, &toml, &args, &vars));
        if forced {
            wait_until("both setups made the bucket", Duration::from_secs(60), || {
                fs::read_dir(&barrier).map(|d| d.count()).unwrap_or(0) >= 2
            });
            fs::write(barrier.join("go"), b"").unwrap();
        }
        let (first, second) = (finish(first), finish(second));
        assert_eq!(first.0, 0, "race {race}, A: {}\n{}", first.1, first.2);
        assert_eq!(second.0, 0, "race {race}, B: {}\n{}", second.1, second.2);
        let j = Judge::new(&moto).await;
        assert_eq!(j.groups().await, ["kops"], "race {race}");
        assert_eq!(j.users().await, ["kops"], "race {race}");

        let (code, out, err) = wizard(&a, &toml, &["teardown", "--yes"]);
        assert_eq!(code, 0, "race {race}: {out}\n{err}");
        let j = Judge::new(&moto).await;
        assert!(j.users().await.is_empty(), "race {race}: users left {:?}\n{out}", j.users().await);
        assert!(
            j.groups().await.is_empty(),
            "race {race}: groups left {:?}\n{out}",
            j.groups().await
        );
        assert!(j.buckets().await.is_empty(), "race {race}: buckets left\n{out}");
    }
}
