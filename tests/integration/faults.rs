//! Faults between the wizard and AWS: the wizard and the kops stand-in reach moto through
//! the fault proxy (support/faults.rs), whose rules throttle, fail, slow down or drop chosen
//! requests. Transient faults must be survived with exactly one of everything afterwards; a
//! persistent one must end the run in exit 1, in bounded time, naming the operation and the
//! endpoint, with a journal that claims nothing AWS does not hold. AWS is judged directly on
//! moto (support/judge.rs), never through the proxy or the wizard's helpers.

use std::time::{Duration, Instant};

use crate::support::faults::{Fault, FaultProxy, Rule};
use crate::support::judge::{Judge, journal_disagreements};
use crate::support::{Moto, TestEnv};
use kops_wizard::engine::aws::error::TIMEOUT_VAR;

const CLUSTER: &str = "faults.example.com";
const BUCKET: &str = "faults-kops-state";

const ANSWERS: &str = r#"
[state_store]
bucket = "faults-kops-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "faults.example.com"
[validate]
wait = "1m"
interval = "100ms"
"#;

/// What the generous bound on a run is: far beyond the SDK's retries (3 attempts, backoff of
/// a few seconds) and the 60 s operation timeout, so only a run that does not end fails it.
const BOUND: Duration = Duration::from_secs(150);

const SLOW: Duration = Duration::from_millis(1500);

/// A test environment whose AWS endpoint is the proxy, with the stand-in installed.
fn env_through(moto: &Moto, proxy: &FaultProxy) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    env
}

struct Ran {
    code: i32,
    out: String,
    err: String,
    took: Duration,
}

/// Runs the wizard; a run still going after `limit` is killed and fails the test.
fn wizard(env: &TestEnv, args: &[&str], limit: Duration) -> Ran {
    let file = env.answers(ANSWERS);
    let started = Instant::now();
    let (code, out, err) =
        crate::support::run_within(env.wizard().args(args).arg("-c").arg(file), limit);
    assert!(code != -9, "the wizard was still running after {limit:?}:\n{out}\n{err}");
    Ran { code, out, err, took: started.elapsed() }
}

/// Exactly one group, user, key (the saved one), bucket and cluster, set up as asked.
async fn exactly_one_of_everything(j: &Judge, env: &TestEnv) {
    assert_eq!(j.groups().await, ["kops"]);
    assert_eq!(j.users().await, ["kops"]);
    assert_eq!(j.groups_of("kops").await, ["kops"]);
    assert_eq!(j.group_policies("kops").await.len(), 7, "{:?}", j.group_policies("kops").await);
    let keys = j.key_ids("kops").await;
    let saved = std::fs::read_to_string(env.home().join(".aws/credentials")).unwrap_or_default();
    assert_eq!(keys.len(), 1, "exactly one access key: {keys:?}");
    assert!(saved.contains(&keys[0]), "the one key is the saved one");
    assert_eq!(j.buckets().await, [BUCKET]);
    let facts = j.bucket_facts(BUCKET);
    assert_eq!(facts.versioning.as_deref(), Some("Enabled"));
    assert_eq!(facts.sse_algorithms, ["AES256"]);
    assert_eq!(facts.public_access_block, [true; 4]);
    assert!(j.object_exists(BUCKET, &format!("{CLUSTER}/config")).await);
    let cloud = env.cloud();
    let clusters: serde_json::Value = serde_json::from_str(&cloud).unwrap_or_default();
    let names: Vec<&String> = clusters.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(names, [CLUSTER], "exactly one cluster in the stand-in's cloud");
}

async fn nothing_left(j: &Judge, env: &TestEnv) {
    assert!(j.users().await.is_empty(), "{:?}", j.users().await);
    assert!(j.groups().await.is_empty(), "{:?}", j.groups().await);
    assert!(j.buckets().await.is_empty(), "{:?}", j.buckets().await);
    let cloud = env.cloud();
    assert!(!cloud.contains(CLUSTER), "{cloud}");
    let creds = std::fs::read_to_string(env.home().join(".aws/credentials")).unwrap_or_default();
    assert!(!creds.contains("[kops]"), "{creds}");
}

async fn journal_agrees(j: &Judge, env: &TestEnv) {
    let wrong = journal_disagreements(j, env, CLUSTER).await;
    assert!(wrong.is_empty(), "the journal claims what AWS does not hold:\n{}", wrong.join("\n"));
}

/// Every rule's faults were injected, as many as the rules asked for.
fn injected(proxy: &FaultProxy, expected: usize, what: &str, ran: &Ran) {
    let n = proxy.injected().len();
    eprintln!(
        "{what}: {n} faults injected, run took {:.1}s\n{}",
        ran.took.as_secs_f64(),
        proxy.report()
    );
    assert_eq!(n, expected, "faults injected:\n{}", proxy.report());
}

/// One fault of every kind in each of IAM, S3 and STS (the kops key's check included),
/// several operations faulted twice: setup retries through all of them and ends with one
/// of everything, and a rerun through more STS faults reuses it all.
#[tokio::test]
async fn setup_finishes_through_transient_faults_of_every_kind() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    let env = env_through(&moto, &proxy);
    let rules = [
        // STS: the admin's identity, then the new key's (requests 3 and on).
        Rule::new("sts", "GetCallerIdentity", Fault::Throttle),
        Rule::new("sts", "GetCallerIdentity", Fault::DropMidBody).nth(&[3]),
        // IAM: every kind.
        Rule::new("iam", "GetGroup", Fault::Unavailable),
        Rule::new("iam", "CreateGroup", Fault::DropAfterForward),
        Rule::new("iam", "AttachGroupPolicy", Fault::ServerError).nth(&[2, 4]),
        Rule::new("iam", "AttachGroupPolicy", Fault::DropBeforeForward).nth(&[6]),
        Rule::new("iam", "CreateUser", Fault::Throttle),
        Rule::new("iam", "CreateUser", Fault::DropAfterForward).nth(&[2]),
        Rule::new("iam", "GetUser", Fault::Slow(SLOW)),
        Rule::new("iam", "ListGroupsForUser", Fault::DropMidBody),
        Rule::new("iam", "AddUserToGroup", Fault::DropAfterForward),
        Rule::new("iam", "ListAccessKeys", Fault::ServerError),
        Rule::new("iam", "CreateAccessKey", Fault::DropAfterForward),
        // S3: every kind, the stand-in's own requests left alone.
        Rule::new("s3", "HeadBucket", Fault::Throttle).wizard_only(),
        Rule::new("s3", "CreateBucket", Fault::DropAfterForward),
        Rule::new("s3", "PutBucketTagging", Fault::ServerError),
        Rule::new("s3", "GetBucketVersioning", Fault::Slow(SLOW)),
        Rule::new("s3", "PutBucketVersioning", Fault::Unavailable),
        Rule::new("s3", "GetBucketEncryption", Fault::DropMidBody).wizard_only(),
        Rule::new("s3", "PutBucketEncryption", Fault::DropBeforeForward),
        Rule::new("s3", "PutPublicAccessBlock", Fault::Throttle),
        Rule::new("s3", "GetPublicAccessBlock", Fault::ServerError).wizard_only().nth(&[2]),
    ];
    let expected = rules.len() + 1; // one rule faults the 2nd and the 4th AttachGroupPolicy
    for rule in rules {
        proxy.add(rule);
    }
    let ran = wizard(&env, &["setup", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}\n{}", ran.out, ran.err, proxy.report());
    injected(&proxy, expected, "setup", &ran);
    let j = Judge::new(&moto).await;
    exactly_one_of_everything(&j, &env).await;
    journal_agrees(&j, &env).await;

    // The rerun asks STS twice (the admin, the saved key): the kinds not met above.
    proxy.clear();
    let before = proxy.injected().len();
    proxy.add(Rule::new("sts", "GetCallerIdentity", Fault::Unavailable));
    proxy.add(Rule::new("sts", "GetCallerIdentity", Fault::DropBeforeForward).nth(&[3]));
    proxy.add(Rule::new("sts", "GetCallerIdentity", Fault::Slow(SLOW)).nth(&[4]));
    let ran = wizard(&env, &["setup", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}\n{}", ran.out, ran.err, proxy.report());
    assert!(ran.out.contains("works: reused"), "{}", ran.out);
    assert_eq!(proxy.injected().len() - before, 3, "{}", proxy.report());
    exactly_one_of_everything(&j, &env).await;
    journal_agrees(&j, &env).await;
}

/// Teardown through faults in every service: the inventory's reads, the deletions (several
/// of whose answers are lost after AWS did them) and the final check. Nothing is left.
#[tokio::test]
async fn teardown_finishes_through_transient_faults() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    let env = env_through(&moto, &proxy);
    let ran = wizard(&env, &["setup", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}", ran.out, ran.err);
    let rules = [
        Rule::new("sts", "GetCallerIdentity", Fault::ServerError),
        Rule::new("sts", "GetCallerIdentity", Fault::DropAfterForward).nth(&[2]),
        Rule::new("s3", "HeadBucket", Fault::Unavailable).wizard_only(),
        Rule::new("s3", "GetBucketTagging", Fault::Slow(SLOW)),
        Rule::new("s3", "ListObjectVersions", Fault::DropMidBody),
        Rule::new("s3", "ListObjectsV2", Fault::Throttle).wizard_only(),
        Rule::new("s3", "DeleteObjects", Fault::DropAfterForward),
        Rule::new("s3", "DeleteBucket", Fault::DropAfterForward),
        Rule::new("iam", "GetUser", Fault::Throttle),
        Rule::new("iam", "GetGroup", Fault::DropMidBody).nth(&[2]),
        Rule::new("iam", "DeleteAccessKey", Fault::DropAfterForward),
        Rule::new("iam", "RemoveUserFromGroup", Fault::ServerError),
        Rule::new("iam", "DeleteUser", Fault::DropAfterForward),
        Rule::new("iam", "DetachGroupPolicy", Fault::DropBeforeForward).nth(&[3]),
        Rule::new("iam", "DetachGroupPolicy", Fault::Unavailable).nth(&[5]),
        Rule::new("iam", "DeleteGroup", Fault::DropAfterForward),
        // The final check's questions (signed by the wizard itself, not by an SDK client).
        Rule::new("ec2", "DescribeVolumes", Fault::Throttle).wizard_only(),
        Rule::new("ec2", "DescribeVpcs", Fault::DropMidBody).wizard_only(),
        Rule::new("elasticloadbalancing", "DescribeLoadBalancers", Fault::ServerError)
            .wizard_only(),
        Rule::new("autoscaling", "DescribeAutoScalingGroups", Fault::DropBeforeForward)
            .wizard_only(),
    ];
    let expected = rules.len();
    for rule in rules {
        proxy.add(rule);
    }
    let before = proxy.injected().len();
    assert_eq!(before, 0);
    let ran = wizard(&env, &["teardown", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}\n{}", ran.out, ran.err, proxy.report());
    assert!(ran.out.contains("nothing left"), "{}", ran.out);
    injected(&proxy, expected, "teardown", &ran);
    let j = Judge::new(&moto).await;
    nothing_left(&j, &env).await;
    journal_agrees(&j, &env).await;
}

/// A moto, the proxy in front of it and an environment through the proxy.
struct Bed {
    moto: Moto,
    proxy: FaultProxy,
    env: TestEnv,
}

/// A persistent fault: every request of one operation fails. The run ends in exit 1 within
/// the bound, the error names the operation and the endpoint, and the journal claims nothing
/// AWS lacks.
async fn persistent(rule: Rule, operation: &str, says: &str) -> Bed {
    persistent_with(rule, operation, says, &[]).await
}

/// [`persistent`] with more variables in the wizard's environment.
async fn persistent_with(rule: Rule, operation: &str, says: &str, vars: &[(&str, &str)]) -> Bed {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    let mut env = env_through(&moto, &proxy);
    for (name, value) in vars {
        env.set(name, *value);
    }
    proxy.add(rule.every());
    let ran = wizard(&env, &["setup", "--yes"], BOUND);
    eprintln!(
        "persistent {operation}: exit {} after {:.1}s, {} faults\n{}",
        ran.code,
        ran.took.as_secs_f64(),
        proxy.injected().len(),
        ran.err.trim()
    );
    assert_eq!(ran.code, 1, "{}\n{}", ran.out, ran.err);
    assert!(ran.err.contains(operation), "the operation is named: {}", ran.err);
    assert!(ran.err.contains(&proxy.endpoint()), "the endpoint is named: {}", ran.err);
    assert!(ran.err.contains(says), "{says:?}: {}", ran.err);
    journal_agrees(&Judge::new(&moto).await, &env).await;
    Bed { moto, proxy, env }
}

impl Bed {
    /// Once the fault is gone, a rerun finishes with one of everything.
    async fn rerun_finishes(self) {
        self.proxy.clear();
        let ran = wizard(&self.env, &["setup", "--yes"], BOUND);
        assert_eq!(ran.code, 0, "the rerun: {}\n{}", ran.out, ran.err);
        let j = Judge::new(&self.moto).await;
        exactly_one_of_everything(&j, &self.env).await;
        journal_agrees(&j, &self.env).await;
    }
}

#[tokio::test]
async fn a_persistent_slowdown_of_put_bucket_versioning_ends_setup() {
    let rule = Rule::new("s3", "PutBucketVersioning", Fault::Throttle);
    persistent(rule, "s3:PutBucketVersioning", "SlowDown").await.rerun_finishes().await;
}

#[tokio::test]
async fn a_persistent_500_of_create_user_ends_setup() {
    let rule = Rule::new("iam", "CreateUser", Fault::ServerError);
    persistent(rule, "iam:CreateUser", "ServiceFailure").await.rerun_finishes().await;
}

#[tokio::test]
async fn a_persistent_throttling_of_attach_group_policy_ends_setup() {
    let rule = Rule::new("iam", "AttachGroupPolicy", Fault::Throttle);
    persistent(rule, "iam:AttachGroupPolicy", "Throttling").await.rerun_finishes().await;
}

#[tokio::test]
async fn sts_dropping_every_connection_ends_setup() {
    let rule = Rule::new("sts", "GetCallerIdentity", Fault::DropBeforeForward);
    persistent(rule, "sts:GetCallerIdentity", "cannot reach").await.rerun_finishes().await;
}

/// Every CreateAccessKey is carried out and its answer lost: each attempt makes a key whose
/// secret nobody will ever see. None of them may stay behind.
#[tokio::test]
async fn every_create_access_key_answer_lost_leaves_no_key_behind() {
    let rule = Rule::new("iam", "CreateAccessKey", Fault::DropAfterForward);
    let bed = persistent(rule, "iam:CreateAccessKey", "cannot reach").await;
    assert_eq!(bed.proxy.count("iam", "CreateAccessKey"), 3, "{}", bed.proxy.report());
    let j = Judge::new(&bed.moto).await;
    assert_eq!(j.key_ids("kops").await, Vec::<String>::new(), "a key whose secret was lost stayed");
    bed.rerun_finishes().await;
}

/// IAM that never answers in time: each attempt's timeout (20 s), the operation's (60 s).
#[tokio::test]
async fn an_iam_that_never_answers_in_time_ends_setup() {
    // Each attempt may take a third of the (shortened) operation timeout: 2 s here.
    let rule = Rule::new("iam", "CreateGroup", Fault::Slow(Duration::from_secs(8)));
    persistent_with(rule, "iam:CreateGroup", "in time", &[(TIMEOUT_VAR, "6s")])
        .await
        .rerun_finishes()
        .await;
}

/// Teardown with every DeleteObjects refused: exit 1 with the bucket and its state kept (the
/// journal says so and AWS agrees; IAM went before it, as the bucket, where the team's lock
/// lives, goes last), and a rerun without the fault finishes.
#[tokio::test]
async fn a_persistent_fault_in_teardown_ends_it_and_a_rerun_finishes() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    let env = env_through(&moto, &proxy);
    let ran = wizard(&env, &["setup", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}", ran.out, ran.err);
    proxy.add(Rule::new("s3", "DeleteObjects", Fault::Unavailable).every());
    let ran = wizard(&env, &["teardown", "--yes"], BOUND);
    eprintln!(
        "persistent s3:DeleteObjects in teardown: exit {} after {:.1}s, {} faults\n{}",
        ran.code,
        ran.took.as_secs_f64(),
        proxy.injected().len(),
        ran.err.trim()
    );
    assert_eq!(ran.code, 1, "{}\n{}", ran.out, ran.err);
    assert!(ran.err.contains("s3:DeleteObjects"), "{}", ran.err);
    assert!(ran.err.contains(&proxy.endpoint()), "{}", ran.err);
    let j = Judge::new(&moto).await;
    journal_agrees(&j, &env).await;
    assert_eq!(j.buckets().await, [BUCKET], "the bucket stays");
    assert!(j.users().await.is_empty(), "IAM goes before the bucket");

    proxy.clear();
    let ran = wizard(&env, &["teardown", "--yes"], BOUND);
    assert_eq!(ran.code, 0, "{}\n{}", ran.out, ran.err);
    nothing_left(&j, &env).await;
    journal_agrees(&j, &env).await;
}

/// The proxy itself: unfaulted requests pass unchanged (a signed SDK call works through
/// it), and a rule fires on exactly the requests it names.
#[tokio::test]
async fn the_proxy_passes_what_it_does_not_fault_and_counts_what_it_does() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    proxy.add(Rule::new("s3", "CreateBucket", Fault::Unavailable).nth(&[1, 3]));
    let (id, secret) = moto.admin_key();
    let py = |code: &str| crate::support::judge::boto3_try(&proxy.endpoint(), id, secret, code);
    let (code, _, err) = py("s3.create_bucket(Bucket='first')");
    assert_ne!(code, 0);
    assert!(err.contains("ServiceUnavailable"), "{err}");
    assert_eq!(py("s3.create_bucket(Bucket='second')").0, 0);
    let (code, _, err) = py("s3.create_bucket(Bucket='third')");
    assert!(code != 0 && err.contains("ServiceUnavailable"), "{err}");
    let (code, out, err) = py("print(sorted(b['Name'] for b in s3.list_buckets()['Buckets']))");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "['second']");
    assert_eq!(proxy.injected().len(), 2);
    assert_eq!(proxy.count("s3", "CreateBucket"), 3);
    assert_eq!(proxy.count("s3", "ListBuckets"), 1);
}
