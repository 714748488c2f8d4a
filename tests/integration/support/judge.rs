//! AWS state as the tests judge it: plain SDK calls and boto3 written here, straight to moto
//! with the admin key, never through the wizard's own helpers (a bug in a read-back would
//! otherwise be shared by the wizard and the test that judges it).

use aws_sdk_s3::config::{Credentials, Region};
use serde_json::Value;

use super::Moto;

/// Raw SDK clients on moto with the admin key, built here rather than by the wizard.
pub struct Judge {
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    endpoint: String,
    admin: (String, String),
}

impl Judge {
    pub async fn new(moto: &Moto) -> Judge {
        let (id, secret) = moto.admin_key();
        let config = sdk_config(&moto.endpoint(), id, secret).await;
        Judge {
            iam: aws_sdk_iam::Client::new(&config),
            s3: s3_client(&config),
            sts: aws_sdk_sts::Client::new(&config),
            endpoint: moto.endpoint(),
            admin: (id.to_string(), secret.to_string()),
        }
    }

    pub async fn users(&self) -> Vec<String> {
        let out = self.iam.list_users().send().await.expect("iam:ListUsers");
        out.users().iter().map(|u| u.user_name().to_string()).collect()
    }

    pub async fn groups(&self) -> Vec<String> {
        let out = self.iam.list_groups().send().await.expect("iam:ListGroups");
        out.groups().iter().map(|g| g.group_name().to_string()).collect()
    }

    pub async fn user_exists(&self, user: &str) -> bool {
        self.users().await.iter().any(|u| u == user)
    }

    pub async fn group_exists(&self, group: &str) -> bool {
        self.groups().await.iter().any(|g| g == group)
    }

    /// The user's access key ids, sorted (none for a user that does not exist).
    pub async fn key_ids(&self, user: &str) -> Vec<String> {
        if !self.user_exists(user).await {
            return Vec::new();
        }
        let out = self.iam.list_access_keys().user_name(user).send().await.expect("keys");
        let mut ids: Vec<String> = out
            .access_key_metadata()
            .iter()
            .filter_map(|k| k.access_key_id().map(String::from))
            .collect();
        ids.sort();
        ids
    }

    /// The groups the user is in, sorted.
    pub async fn groups_of(&self, user: &str) -> Vec<String> {
        if !self.user_exists(user).await {
            return Vec::new();
        }
        let out = self.iam.list_groups_for_user().user_name(user).send().await.expect("groups");
        let mut names: Vec<String> =
            out.groups().iter().map(|g| g.group_name().to_string()).collect();
        names.sort();
        names
    }

    /// The ARNs of the managed policies attached to the group, sorted.
    pub async fn group_policies(&self, group: &str) -> Vec<String> {
        if !self.group_exists(group).await {
            return Vec::new();
        }
        let out = self
            .iam
            .list_attached_group_policies()
            .group_name(group)
            .send()
            .await
            .expect("iam:ListAttachedGroupPolicies");
        let mut arns: Vec<String> = out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(String::from))
            .collect();
        arns.sort();
        arns
    }

    /// Every policy the user holds other than through its groups: inline and attached.
    pub async fn own_policies(&self, user: &str) -> Vec<String> {
        let inline = self.iam.list_user_policies().user_name(user).send().await.expect("inline");
        let attached =
            self.iam.list_attached_user_policies().user_name(user).send().await.expect("attached");
        let mut all: Vec<String> = inline.policy_names().to_vec();
        all.extend(
            attached.attached_policies().iter().filter_map(|p| p.policy_arn()).map(String::from),
        );
        all
    }

    pub async fn buckets(&self) -> Vec<String> {
        let out = self.s3.list_buckets().send().await.expect("s3:ListBuckets");
        out.buckets().iter().filter_map(|b| b.name().map(String::from)).collect()
    }

    /// Whether the object is there: 404 is no; any other answer fails the test (an error is
    /// not evidence that something is gone).
    pub async fn object_exists(&self, bucket: &str, key: &str) -> bool {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => panic!("s3:HeadObject s3://{bucket}/{key}: {e:?}"),
        }
    }

    /// The bucket's settings as boto3 reads them (the Rust SDK refuses moto's
    /// GetBucketVersioning body, moto-notes.md).
    pub fn bucket_facts(&self, bucket: &str) -> BucketFacts {
        let out = self.boto3(&format!(
            r#"
import json
b = {bucket:?}
def get(f, key, missing):
    try:
        return f(Bucket=b)[key]
    except s3.exceptions.ClientError as e:
        if e.response["Error"]["Code"] == missing:
            return None
        raise
print(json.dumps({{
    "versioning": s3.get_bucket_versioning(Bucket=b).get("Status"),
    "encryption": get(s3.get_bucket_encryption, "ServerSideEncryptionConfiguration",
                      "ServerSideEncryptionConfigurationNotFoundError"),
    "public_access_block": get(s3.get_public_access_block, "PublicAccessBlockConfiguration",
                               "NoSuchPublicAccessBlockConfiguration"),
    "location": s3.get_bucket_location(Bucket=b).get("LocationConstraint"),
}}))
"#
        ));
        let v: Value = serde_json::from_str(&out).expect("bucket facts as JSON");
        let algorithms = v["encryption"]["Rules"]
            .as_array()
            .map(|rules| {
                rules
                    .iter()
                    .filter_map(|r| {
                        r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str()
                    })
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let pab = &v["public_access_block"];
        BucketFacts {
            versioning: v["versioning"].as_str().map(String::from),
            sse_algorithms: algorithms,
            public_access_block: [
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            ]
            .map(|flag| pab[flag].as_bool() == Some(true)),
            // S3 answers no LocationConstraint for us-east-1, its default location.
            region: v["location"].as_str().unwrap_or("us-east-1").to_string(),
        }
    }

    /// Runs `code` with boto3 on moto as the admin (`s3`, `iam` and `sts` clients ready);
    /// returns what it prints.
    pub fn boto3(&self, code: &str) -> String {
        boto3_as(&self.endpoint, &self.admin.0, &self.admin.1, code)
    }
}

/// What a state bucket's settings are, read by boto3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFacts {
    /// `Enabled`, `Suspended`, or none for a bucket that never had versioning.
    pub versioning: Option<String>,
    /// The default encryption rules' algorithms (`AES256` for SSE-S3).
    pub sse_algorithms: Vec<String>,
    /// BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets.
    pub public_access_block: [bool; 4],
    pub region: String,
}

/// boto3 with a given key on `endpoint`; `s3`, `iam` and `sts` clients are ready in `code`.
pub fn boto3_as(endpoint: &str, id: &str, secret: &str, code: &str) -> String {
    let (code, out, err) = boto3_try(endpoint, id, secret, code);
    assert_eq!(code, 0, "boto3 failed:\n{err}");
    out.trim().to_string()
}

/// Like [`boto3_as`], returning (exit code, stdout, stderr) for a script that may fail.
pub fn boto3_try(endpoint: &str, id: &str, secret: &str, code: &str) -> (i32, String, String) {
    let script = format!(
        r#"
import boto3
from botocore.config import Config
kw = dict(endpoint_url={endpoint:?}, region_name="us-east-1", aws_access_key_id={id:?},
          aws_secret_access_key={secret:?},
          config=Config(s3={{"addressing_style": "path"}}, retries={{"total_max_attempts": 1}}))
s3, iam, sts = boto3.client("s3", **kw), boto3.client("iam", **kw), boto3.client("sts", **kw)
{code}
"#
    );
    // Only what boto3 is given here: no profile or key of the developer's.
    super::python_c(&[("AWS_EC2_METADATA_DISABLED".into(), "true".into())], &script)
}

async fn sdk_config(endpoint: &str, id: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(id, secret, None, None, "judge"))
        .endpoint_url(endpoint)
        .load()
        .await
}

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    // moto on 127.0.0.1 has no virtual-hosted bucket names.
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config).force_path_style(true).build(),
    )
}

/// Where the journal and AWS disagree: an entry that says the wizard created or found
/// something AWS (or the disk, or the stand-in's cloud) does not hold, or says it deleted
/// something that is still there. Intents and failed entries claim nothing. Empty when they
/// agree.
pub async fn journal_disagreements(
    judge: &Judge,
    env: &super::TestEnv,
    cluster: &str,
) -> Vec<String> {
    let path = env.path(&format!("state/kops-wizard/journal/{cluster}.json"));
    // No journal agrees only with nothing made: a run that made something has one.
    let Ok(text) = std::fs::read_to_string(&path) else {
        let (users, groups, buckets) =
            (judge.users().await, judge.groups().await, judge.buckets().await);
        if users.is_empty() && groups.is_empty() && buckets.is_empty() {
            return Vec::new();
        }
        return vec![format!(
            "no journal at {}, but AWS holds users {users:?}, groups {groups:?}, buckets {buckets:?}",
            path.display()
        )];
    };
    let journal: Value = serde_json::from_str(&text).expect("the journal is JSON");
    let store = journal["state_store"].as_str().unwrap_or_default();
    let bucket = store.trim_start_matches("s3://").split('/').next().unwrap_or_default();
    let credentials =
        std::fs::read_to_string(env.home().join(".aws/credentials")).unwrap_or_default();
    let cloud = env.cloud();
    let mut wrong = Vec::new();
    for e in journal["entries"].as_array().into_iter().flatten() {
        let (kind, id) =
            (e["kind"].as_str().unwrap_or_default(), e["id"].as_str().unwrap_or_default());
        let detail = e["detail"].as_str();
        let state = e["state"].as_str().unwrap_or_default();
        let claims_there = matches!(state, "created" | "found");
        if !claims_there && state != "deleted" {
            continue;
        }
        let there = match kind {
            "iam-group" => judge.group_exists(id).await,
            "iam-user" => judge.user_exists(id).await,
            "iam-policy-attachment" => {
                judge.group_policies(id).await.iter().any(|p| Some(p.as_str()) == detail)
            }
            "iam-group-membership" => {
                judge.groups_of(id).await.iter().any(|g| Some(g.as_str()) == detail)
            }
            "access-key" => match detail {
                Some(key) => judge.key_ids(id).await.iter().any(|k| k == key),
                None => continue,
            },
            "profile" => credentials.lines().any(|l| l.trim() == format!("[{id}]")),
            "bucket" => judge.buckets().await.iter().any(|b| b == id),
            "bucket-versioning" | "bucket-encryption" | "bucket-public-access-block" => {
                if !judge.buckets().await.iter().any(|b| b == id) {
                    false
                } else {
                    let facts = judge.bucket_facts(id);
                    match kind {
                        "bucket-versioning" => facts.versioning.as_deref() == Some("Enabled"),
                        "bucket-encryption" => facts.sse_algorithms == ["AES256"],
                        _ => facts.public_access_block == [true; 4],
                    }
                }
            }
            "ssh-key" => env.home().join(id.trim_start_matches("~/")).exists(),
            "cluster" => {
                judge.buckets().await.iter().any(|b| b == bucket)
                    && judge.object_exists(bucket, &format!("{id}/config")).await
            }
            "cluster-deployed" => cloud.contains(&format!("\"{id}\"")),
            other => panic!("a journal entry of an unknown kind: {other}"),
        };
        if claims_there && !there {
            wrong.push(format!("{kind} {id} {detail:?} is {state} in the journal, not there"));
        }
        if state == "deleted" && there {
            wrong.push(format!("{kind} {id} {detail:?} is deleted in the journal, still there"));
        }
    }
    wrong
}

/// What AWS answers to each of `calls` (Python expressions on the ready `s3`, `iam`, `sts`
/// clients, or on `c("service")`), made with boto3 and the given key in one process: "ok",
/// or the error code. Where botocore cannot read moto's error body (an XML error to a JSON
/// service, Route53's in auth mode) the code is read from the body itself.
pub fn outcomes(endpoint: &str, id: &str, secret: &str, calls: &[&str]) -> Vec<String> {
    let calls = serde_json::to_string(calls).expect("calls as JSON");
    let code = format!(
        r#"
import json, re
last = {{}}
def c(name):
    client = boto3.client(name, **kw)
    client.meta.events.register("after-call", lambda http_response, **_: last.update(
        body=http_response.content.decode(errors="replace")))
    return client
s3, iam, sts = c("s3"), c("iam"), c("sts")
out = []
for call in json.loads({calls:?}):
    last.clear()
    try:
        eval(call)
        out.append("ok")
    except Exception as e:
        code = getattr(e, "response", {{}}).get("Error", {{}}).get("Code") or ""
        if not code or code.isdigit():
            found = re.search(r"<Code>([^<]+)</Code>", last.get("body", "") or str(e))
            code = found.group(1) if found else (code or type(e).__name__)
        out.append(code)
print(json.dumps(out))
"#
    );
    let out = boto3_as(endpoint, id, secret, &code);
    serde_json::from_str(&out).expect("outcomes as JSON")
}

/// Who a key is, asked with that key alone (plain STS): its ARN.
pub async fn arn_of(moto: &Moto, id: &str, secret: &str) -> String {
    let config = sdk_config(&moto.endpoint(), id, secret).await;
    let out = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("sts:GetCallerIdentity with the key");
    out.arn().unwrap_or_default().to_string()
}

impl Judge {
    /// The user's IAM path and its tags as (key, value).
    pub async fn user_mark(&self, user: &str) -> (String, Vec<(String, String)>) {
        let out = self.iam.get_user().user_name(user).send().await.expect("iam:GetUser");
        let path = out.user().map(|u| u.path().to_string()).unwrap_or_default();
        let tags = self.iam.list_user_tags().user_name(user).send().await.expect("tags");
        let tags =
            tags.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
        (path, tags)
    }

    /// The group's IAM path.
    pub async fn group_path(&self, group: &str) -> String {
        let out = self.iam.get_group().group_name(group).send().await.expect("iam:GetGroup");
        out.group().map(|g| g.path().to_string()).unwrap_or_default()
    }

    /// The bucket's tags as (key, value); none for an untagged bucket.
    pub async fn bucket_tags(&self, bucket: &str) -> Vec<(String, String)> {
        match self.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => {
                out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
            }
            Err(_) => Vec::new(),
        }
    }
}
