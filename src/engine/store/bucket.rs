//! S3 through the SDK: the state bucket's building blocks (who owns it, create it, its
//! versioning, encryption and public access block), each readable back to verify a change.

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};

use tokio::task::JoinSet;

use super::lease::{Fence, Fenced};
use crate::engine::aws::clients::{Clients, call};
use crate::engine::aws::error::AwsError;
use crate::engine::aws::iam::MARK_TAG;

/// Why emptying a bucket stopped: AWS, or the team's lock lost before a batch.
#[derive(Debug, thiserror::Error)]
pub enum EmptyError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Fenced(#[from] Fenced),
}

/// S3's limit of keys per DeleteObjects request.
const DELETE_BATCH: usize = 1000;
/// DeleteObjects requests in flight at once while the listing goes on.
const DELETES_IN_FLIGHT: usize = 4;

/// How many object versions and delete markers a bucket (or a cluster's part of it) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contents {
    pub versions: usize,
    pub delete_markers: usize,
}

impl Contents {
    pub fn total(self) -> usize {
        self.versions + self.delete_markers
    }
}

/// Told after each DeleteObjects batch: how many are deleted so far, of how many listed.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

/// What HeadBucket says about a bucket name, from these credentials' point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketAccess {
    /// No bucket by that name anywhere.
    Free,
    /// It exists and these credentials can use it.
    Yours,
    /// It exists and belongs to someone else: HeadBucket says 403, or it answers but the
    /// bucket is not among these credentials' own (ListBuckets).
    Taken,
    /// It exists in another region than the one asked for (301).
    ElsewhereRegion,
}

fn other_error(operation: &'static str, message: impl Into<String>) -> AwsError {
    AwsError { operation, code: None, message: message.into() }
}

impl Clients {
    pub async fn bucket_access(&self, bucket: &str) -> Result<BucketAccess, AwsError> {
        match self.s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => self.owned_or_taken(bucket).await,
            Err(err) => {
                // HeadBucket has no body, so the status code is all S3 says.
                let status = err.raw_response().map(|r| r.status().as_u16());
                match status {
                    Some(404) => Ok(BucketAccess::Free),
                    Some(403) => Ok(BucketAccess::Taken),
                    Some(301) => Ok(BucketAccess::ElsewhereRegion),
                    _ => Err(AwsError::from_sdk("s3:HeadBucket", &err, self.endpoint.as_deref())),
                }
            }
        }
    }

    /// HeadBucket answers 200 for any bucket these credentials may read, which includes
    /// another account's bucket shared through its policy (and, on moto, any other account's
    /// bucket at all, moto-notes.md). CreateBucket would then fail with BucketAlreadyExists,
    /// and teardown must never treat it as ours: only a bucket in our own ListBuckets is
    /// yours. Without s3:ListAllMyBuckets the 200 is all there is to go on.
    async fn owned_or_taken(&self, bucket: &str) -> Result<BucketAccess, AwsError> {
        let mut token = None::<String>;
        loop {
            // The prefix keeps the answer short on AWS; the name is compared exactly anyway.
            let req = self.s3.list_buckets().prefix(bucket).set_continuation_token(token.take());
            let page = match call!(self, "s3:ListBuckets", req) {
                Ok(page) => page,
                Err(e) if e.code.as_deref() == Some("AccessDenied") => {
                    return Ok(BucketAccess::Yours);
                }
                Err(e) => return Err(e),
            };
            if page.buckets().iter().any(|b| b.name() == Some(bucket)) {
                return Ok(BucketAccess::Yours);
            }
            match page.continuation_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => return Ok(BucketAccess::Taken),
            }
        }
    }

    /// Tags the bucket with the wizard's mark (the cluster whose setup created it).
    pub async fn mark_bucket(&self, bucket: &str, cluster: &str) -> Result<(), AwsError> {
        let build =
            |e: aws_sdk_s3::error::BuildError| other_error("s3:PutBucketTagging", e.to_string());
        let tag = Tag::builder().key(MARK_TAG).value(cluster).build().map_err(build)?;
        let tagging = Tagging::builder().tag_set(tag).build().map_err(build)?;
        call!(
            self,
            "s3:PutBucketTagging",
            self.s3.put_bucket_tagging().bucket(bucket).tagging(tagging)
        )
        .map(|_| ())
    }

    /// The value of the bucket's mark (the cluster whose setup made it), when it has one.
    pub async fn bucket_mark(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        match call!(self, "s3:GetBucketTagging", self.s3.get_bucket_tagging().bucket(bucket)) {
            Ok(out) => Ok(out
                .tag_set()
                .iter()
                .find(|t| t.key() == MARK_TAG)
                .map(|t| t.value().to_string())),
            Err(e)
                if matches!(
                    e.code.as_deref(),
                    Some("NoSuchTagSet") | Some("NoSuchTagSetError")
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the bucket carries the wizard's mark (an untagged bucket answers NoSuchTagSet).
    pub async fn bucket_marked(&self, bucket: &str) -> Result<bool, AwsError> {
        Ok(self.bucket_mark(bucket).await?.is_some())
    }

    /// Whether the bucket holds nothing but the wizard's own record and lock: no other
    /// object, old version or delete marker.
    pub async fn bucket_is_empty(&self, bucket: &str) -> Result<bool, AwsError> {
        let page = call!(
            self,
            "s3:ListObjectVersions",
            self.s3.list_object_versions().bucket(bucket).max_keys(100)
        )?;
        let keys = page
            .versions()
            .iter()
            .filter_map(|v| v.key())
            .chain(page.delete_markers().iter().filter_map(|m| m.key()));
        let only_ours = keys.into_iter().all(super::objects::is_wizard_key);
        Ok(only_ours && page.is_truncated() != Some(true))
    }

    /// The clusters whose state is in the bucket: every `<name>/config` at its top level.
    /// Listed without a delimiter or a prefix holding `/`, which moto's signature check
    /// mishandles (moto-notes.md), and filtered here.
    pub async fn clusters_in_bucket(&self, bucket: &str) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut token = None::<String>;
        loop {
            let page = call!(
                self,
                "s3:ListObjectsV2",
                self.s3.list_objects_v2().bucket(bucket).set_continuation_token(token.take())
            )?;
            for object in page.contents() {
                if let Some((name, "config")) = object.key().and_then(|k| k.split_once('/')) {
                    names.push(name.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.into()),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Whether an object exists (HeadObject; 404 means no).
    pub async fn object_exists(&self, bucket: &str, key: &str) -> Result<bool, AwsError> {
        match self.s3.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(AwsError::from_sdk("s3:HeadObject", &e, self.endpoint.as_deref())),
        }
    }

    /// Creates the bucket in `region`. Returns `false` when S3 says it is already yours.
    pub async fn create_bucket(&self, bucket: &str, region: &str) -> Result<bool, AwsError> {
        let mut req = self.s3.create_bucket().bucket(bucket);
        // us-east-1 is S3's default location and rejects a constraint naming itself.
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match call!(self, "s3:CreateBucket", req) {
            Ok(_) => Ok(true),
            Err(e) if e.code.as_deref() == Some("BucketAlreadyOwnedByYou") => Ok(false),
            Err(e) if e.code.as_deref() == Some("BucketAlreadyExists") => Err(taken(bucket)),
            Err(e) => Err(e),
        }
    }

    pub async fn versioning_enabled(&self, bucket: &str) -> Result<bool, AwsError> {
        match self.s3.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => Ok(out.status() == Some(&BucketVersioningStatus::Enabled)),
            // Some S3-compatible servers (moto among them) wrap the answer in another root
            // element than <VersioningConfiguration>, which the SDK refuses to parse although
            // the request succeeded. The status element is the same: read it from the body.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => {
                let body = e.raw_response().and_then(|r| r.body().bytes()).unwrap_or_default();
                Ok(String::from_utf8_lossy(body).contains("<Status>Enabled</Status>"))
            }
            Err(e) => {
                Err(AwsError::from_sdk("s3:GetBucketVersioning", &e, self.endpoint.as_deref()))
            }
        }
    }

    pub async fn enable_versioning(&self, bucket: &str) -> Result<(), AwsError> {
        let config =
            VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        call!(
            self,
            "s3:PutBucketVersioning",
            self.s3.put_bucket_versioning().bucket(bucket).versioning_configuration(config)
        )
        .map(|_| ())
    }

    /// Whether the bucket has a default encryption rule.
    pub async fn encryption_enabled(&self, bucket: &str) -> Result<bool, AwsError> {
        match call!(self, "s3:GetBucketEncryption", self.s3.get_bucket_encryption().bucket(bucket))
        {
            Ok(out) => Ok(out
                .server_side_encryption_configuration()
                .is_some_and(|c| !c.rules().is_empty())),
            Err(e)
                if e.code.as_deref() == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Default encryption with S3-managed keys (SSE-S3), which kops uses as it finds it.
    pub async fn enable_encryption(&self, bucket: &str) -> Result<(), AwsError> {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::Aes256)
            .build()
            .map_err(|e| other_error("s3:PutBucketEncryption", e.to_string()))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .build();
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| other_error("s3:PutBucketEncryption", e.to_string()))?;
        call!(
            self,
            "s3:PutBucketEncryption",
            self.s3
                .put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(config)
        )
        .map(|_| ())
    }

    /// Whether all four public-access settings are on.
    pub async fn public_access_blocked(&self, bucket: &str) -> Result<bool, AwsError> {
        match call!(
            self,
            "s3:GetPublicAccessBlock",
            self.s3.get_public_access_block().bucket(bucket)
        ) {
            Ok(out) => Ok(out.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            })),
            Err(e) if e.code.as_deref() == Some("NoSuchPublicAccessBlockConfiguration") => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn block_public_access(&self, bucket: &str) -> Result<(), AwsError> {
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        call!(
            self,
            "s3:PutPublicAccessBlock",
            self.s3
                .put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(config)
        )
        .map(|_| ())
    }
}

impl Clients {
    /// Deletes every object version and every delete marker but those of the keys in `keep`
    /// (the team's lease, deleted last by its holder), so that a versioned bucket can be
    /// deleted. Pages of ListObjectVersions feed DeleteObjects batches of 1000, several in
    /// flight; the fence is checked before each batch. Returns how many versions and markers
    /// were deleted; keys S3 refused are an error that names them.
    pub async fn empty_bucket(
        &self,
        bucket: &str,
        keep: &[String],
        fence: Option<&Fence>,
        progress: Progress<'_>,
    ) -> Result<usize, EmptyError> {
        self.delete_versions(bucket, None, keep, fence, progress).await
    }

    /// Deletes every version and delete marker under `<cluster>/` only: what one cluster left
    /// in a bucket that others still use (kops deletes the current objects; a versioned bucket
    /// keeps their old versions, `pki/private` among them).
    pub async fn purge_cluster_state(
        &self,
        bucket: &str,
        cluster: &str,
        fence: Option<&Fence>,
        progress: Progress<'_>,
    ) -> Result<usize, EmptyError> {
        self.delete_versions(bucket, Some(cluster), &[], fence, progress).await
    }

    /// How many versions and delete markers are left under `<cluster>/` (the final check).
    pub async fn purge_cluster_state_count(
        &self,
        bucket: &str,
        cluster: &str,
    ) -> Result<usize, AwsError> {
        Ok(self.list_versions(bucket, Some(cluster)).await?.objects.len())
    }

    /// What the whole bucket holds, and what of it is under `<cluster>/`: one listing, for the
    /// teardown inventory.
    pub async fn bucket_contents(
        &self,
        bucket: &str,
        cluster: &str,
    ) -> Result<(Contents, Contents), AwsError> {
        let listing = self.list_versions(bucket, None).await?;
        let under = format!("{cluster}/");
        let (mut all, mut ours) = (Contents::default(), Contents::default());
        for (object, marker) in listing.objects.iter().zip(&listing.is_marker) {
            let count = |c: &mut Contents| match marker {
                true => c.delete_markers += 1,
                false => c.versions += 1,
            };
            count(&mut all);
            if object.key().starts_with(&under) {
                count(&mut ours);
            }
        }
        Ok((all, ours))
    }

    async fn delete_versions(
        &self,
        bucket: &str,
        cluster: Option<&str>,
        keep: &[String],
        fence: Option<&Fence>,
        progress: Progress<'_>,
    ) -> Result<usize, EmptyError> {
        let mut deleted = 0;
        // A second pass catches what was written while the first ran (kops is gone by now,
        // so normally the second listing is empty).
        for _ in 0..3 {
            let found = self.empty_pass(bucket, cluster, keep, fence, deleted, progress).await?;
            deleted += found;
            if found == 0 {
                break;
            }
        }
        Ok(deleted)
    }

    /// One pass: list every version and delete marker, then delete them in batches, several
    /// in flight. Listing finishes before deleting starts, because a listing's markers are
    /// only guaranteed against a bucket that does not change under them (moto, for one,
    /// loses its place when the marker's own version is deleted meanwhile). `before` is what
    /// earlier passes deleted, so progress counts over the whole emptying.
    async fn empty_pass(
        &self,
        bucket: &str,
        cluster: Option<&str>,
        keep: &[String],
        fence: Option<&Fence>,
        before: usize,
        progress: Progress<'_>,
    ) -> Result<usize, EmptyError> {
        let mut all = self.list_versions(bucket, cluster).await?.objects;
        all.retain(|o| !keep.iter().any(|k| k == o.key()));
        let total = all.len();
        if total > 0 {
            progress(before, before + total);
        }
        let mut done = before;
        let mut tasks: JoinSet<Result<usize, AwsError>> = JoinSet::new();
        while !all.is_empty() {
            if let Some(fence) = fence {
                fence.check().await?;
            }
            let batch: Vec<_> = all.drain(..all.len().min(DELETE_BATCH)).collect();
            if let Some(n) = self.spawn_delete(&mut tasks, bucket, batch).await? {
                done += n;
                progress(done, before + total);
            }
        }
        while let Some(finished) = tasks.join_next().await {
            done += flatten(finished)?;
            progress(done, before + total);
        }
        Ok(total)
    }

    /// Every version and delete marker (under `<cluster>/` when given), listed to the end.
    async fn list_versions(
        &self,
        bucket: &str,
        cluster: Option<&str>,
    ) -> Result<Listing, AwsError> {
        // The prefix is the bare cluster name (no `/`, see clusters_in_bucket); keys of a
        // cluster whose name merely starts the same are filtered out below.
        let under = cluster.map(|c| format!("{c}/"));
        let mut all = Listing::default();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = call!(
                self,
                "s3:ListObjectVersions",
                self.s3
                    .list_object_versions()
                    .bucket(bucket)
                    .set_prefix(cluster.map(str::to_string))
                    .max_keys(DELETE_BATCH as i32)
                    .set_key_marker(key_marker.take())
                    .set_version_id_marker(version_marker.take())
            )?;
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id(), false));
            let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id(), true));
            for (key, version, marker) in versions.chain(markers) {
                let Some(key) = key else { continue };
                if under.as_ref().is_some_and(|u| !key.starts_with(u.as_str())) {
                    continue;
                }
                let id = ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .map_err(|e| AwsError {
                        operation: "s3:DeleteObjects",
                        code: None,
                        message: e.to_string(),
                    })?;
                all.objects.push(id);
                all.is_marker.push(marker);
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        }
        Ok(all)
    }

    /// Starts one DeleteObjects request, first waiting for a slot when enough are in flight;
    /// returns how many the batch it waited for deleted.
    async fn spawn_delete(
        &self,
        tasks: &mut JoinSet<Result<usize, AwsError>>,
        bucket: &str,
        objects: Vec<ObjectIdentifier>,
    ) -> Result<Option<usize>, AwsError> {
        let mut finished = None;
        while tasks.len() >= DELETES_IN_FLIGHT {
            if let Some(done) = tasks.join_next().await {
                *finished.get_or_insert(0) += flatten(done)?;
            }
        }
        let (clients, bucket) = (self.clone(), bucket.to_string());
        tasks.spawn(async move { clients.delete_batch(&bucket, objects).await });
        Ok(finished)
    }

    async fn delete_batch(
        &self,
        bucket: &str,
        objects: Vec<ObjectIdentifier>,
    ) -> Result<usize, AwsError> {
        let count = objects.len();
        let delete =
            Delete::builder().set_objects(Some(objects)).quiet(true).build().map_err(|e| {
                AwsError { operation: "s3:DeleteObjects", code: None, message: e.to_string() }
            })?;
        let out = call!(
            self,
            "s3:DeleteObjects",
            self.s3.delete_objects().bucket(bucket).delete(delete)
        )?;
        let refused: Vec<String> = out
            .errors()
            .iter()
            .take(10)
            .map(|e| format!("{} ({})", e.key().unwrap_or("?"), e.code().unwrap_or("error")))
            .collect();
        if !refused.is_empty() {
            return Err(AwsError {
                operation: "s3:DeleteObjects",
                code: None,
                message: format!(
                    "S3 refused to delete {} object version(s): {}",
                    out.errors().len(),
                    refused.join(", ")
                ),
            });
        }
        Ok(count)
    }

    /// Every version and delete marker of one key (the lease, the probe), deleted by version:
    /// nothing of it is left, not even a delete marker. Listed by the part of the key before
    /// its first `/` (moto-notes.md) and filtered here.
    pub async fn delete_every_version(&self, bucket: &str, key: &str) -> Result<(), AwsError> {
        let coarse = key.split('/').next().unwrap_or(key).to_string();
        let listing = self.list_versions(bucket, Some(&coarse)).await?;
        // One DeleteObject each: a handful of versions, and no DeleteObjects batch that a
        // log reader could take for the bucket's emptying.
        for o in listing.objects.into_iter().filter(|o| o.key() == key) {
            let req = self.s3.delete_object().bucket(bucket).key(key).set_version_id(o.version_id);
            match call!(self, "s3:DeleteObject", req) {
                Ok(_) => {}
                Err(e) if e.code.as_deref() == Some("NoSuchKey") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        match call!(self, "s3:DeleteBucket", self.s3.delete_bucket().bucket(bucket)) {
            Err(e) if e.code.as_deref() == Some("NoSuchBucket") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

fn flatten(
    done: Result<Result<usize, AwsError>, tokio::task::JoinError>,
) -> Result<usize, AwsError> {
    done.map_err(|e| AwsError {
        operation: "s3:DeleteObjects",
        code: None,
        message: e.to_string(),
    })?
}

/// A bucket's versions and delete markers, as DeleteObjects takes them; `is_marker` runs
/// alongside `objects`, for the counts of the inventory.
#[derive(Debug, Default)]
struct Listing {
    objects: Vec<ObjectIdentifier>,
    is_marker: Vec<bool>,
}

/// The bucket name belongs to another AWS account: names are global.
pub fn taken(bucket: &str) -> AwsError {
    AwsError {
        operation: "s3:CreateBucket",
        code: Some("BucketAlreadyExists".into()),
        message: format!(
            "the bucket name {bucket:?} belongs to another AWS account (bucket names are global); \
             choose another state_store.bucket, e.g. with your team or account name in it"
        ),
    }
}
