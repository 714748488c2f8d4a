//! The state bucket's objects, as the lock and the team's record use them: the wizard's keys,
//! reads with their ETag, and S3 conditional writes and deletes (`If-None-Match: *`,
//! `If-Match: <etag>`) that tell a lost race from an error. Below `lease` and `record`, which
//! both write this way.

use aws_sdk_s3::primitives::ByteStream;

use crate::engine::aws::clients::Clients;
use crate::engine::aws::error::AwsError;

/// The bucket of a state store URL: `s3://bucket[/prefix]` -> `bucket`.
pub fn bucket_of(state_store: &str) -> Option<String> {
    let rest = state_store.strip_prefix("s3://")?;
    Some(rest.split('/').next().unwrap_or(rest).to_string()).filter(|b| !b.is_empty())
}

/// The wizard's own top-level prefix in the state bucket.
pub const PREFIX: &str = "kops-wizard/";

/// The record's key for a cluster.
pub fn record_key(cluster: &str) -> String {
    format!("{PREFIX}{cluster}.journal.json")
}

/// Whether a key in the state bucket is the wizard's own (its records and its lock).
pub fn is_wizard_key(key: &str) -> bool {
    key.strip_prefix(PREFIX).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// An object as read, with its ETag for the next conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub body: String,
    pub etag: String,
}

/// How a conditional write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The new version's ETag.
    Ok(String),
    /// Another machine wrote (or deleted) it first.
    Lost,
}

/// `PreconditionFailed` (412) is the usual answer to a lost race; S3 answers 409
/// `ConditionalRequestConflict` when two conditional writes were in flight at once.
fn lost_race(e: &AwsError) -> bool {
    matches!(e.code.as_deref(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
        || e.message.contains("HTTP 412")
        || e.message.contains("HTTP 409")
}

impl Clients {
    /// The object and its ETag, or `None` when there is none (or its newest version is a
    /// delete marker).
    pub async fn get_versioned(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<Versioned>, AwsError> {
        let out = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => return Err(AwsError::from_sdk("s3:GetObject", &e, self.endpoint.as_deref())),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let bytes = out.body.collect().await.map_err(|e| AwsError {
            operation: "s3:GetObject",
            code: None,
            message: format!("the answer was cut off: {e}"),
        })?;
        Ok(Some(Versioned { body: String::from_utf8_lossy(&bytes.into_bytes()).into(), etag }))
    }

    /// Creates the object when it does not exist (`etag` None), or replaces the version
    /// `etag`; [`Written::Lost`] when another writer got there first.
    pub async fn put_conditional(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        etag: Option<&str>,
    ) -> Result<Written, AwsError> {
        let mut req = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match etag {
            Some(etag) => req.if_match(etag),
            None => req.if_none_match("*"),
        };
        match req.send().await {
            Ok(out) => Ok(Written::Ok(out.e_tag().unwrap_or_default().to_string())),
            Err(e) => {
                let err = AwsError::from_sdk("s3:PutObject", &e, self.endpoint.as_deref());
                let status = e.raw_response().map(|r| r.status().as_u16());
                // A replace (`If-Match`) of an object someone deleted meanwhile is a lost race
                // too: S3 answers 404 NoSuchKey then.
                let deleted = etag.is_some()
                    && err.code.as_deref() != Some("NoSuchBucket")
                    && (status == Some(404) || err.code.as_deref() == Some("NoSuchKey"));
                match matches!(status, Some(412 | 409)) || lost_race(&err) || deleted {
                    true => Ok(Written::Lost),
                    false => Err(err),
                }
            }
        }
    }

    /// The keys under `prefix`. Listed by the part of the prefix before its first `/` and
    /// filtered here: moto's signature check mishandles a `/` in a query value
    /// (moto-notes.md).
    pub async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
        let coarse = prefix.split('/').next().unwrap_or_default();
        let mut keys = Vec::new();
        let mut token = None::<String>;
        loop {
            let req = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(coarse)
                .set_continuation_token(token.take());
            let page = req.send().await.map_err(|e| {
                AwsError::from_sdk("s3:ListObjectsV2", &e, self.endpoint.as_deref())
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| k.starts_with(prefix))
                    .map(str::to_string),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.into()),
                _ => return Ok(keys),
            }
        }
    }

    /// Deletes the object only while its version is still `etag`.
    pub async fn delete_conditional(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> Result<Written, AwsError> {
        match self.s3.delete_object().bucket(bucket).key(key).if_match(etag).send().await {
            Ok(_) => Ok(Written::Ok(String::new())),
            Err(e) => {
                let err = AwsError::from_sdk("s3:DeleteObject", &e, self.endpoint.as_deref());
                let status = e.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(404) => Ok(Written::Ok(String::new())),
                    Some(412 | 409) => Ok(Written::Lost),
                    _ if lost_race(&err) => Ok(Written::Lost),
                    _ => Err(err),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wizards_keys_are_top_level_and_never_a_cluster() {
        assert_eq!(record_key("a.k8s.local"), "kops-wizard/a.k8s.local.journal.json");
        assert!(is_wizard_key(&record_key("a.k8s.local")));
        assert!(is_wizard_key("kops-wizard/lock.json"));
        assert!(!is_wizard_key("kops-wizard/"));
        assert!(!is_wizard_key("kops-wizard/x/config"));
        assert!(!is_wizard_key("a.k8s.local/config"));
        assert!(!record_key("x").ends_with("/config"));
    }
}
