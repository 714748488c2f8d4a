//! Whether what a journal entry names is there now: one answer per kind of resource, asked of
//! AWS and this machine's files, read-only. `status` shows it and teardown's final check
//! trusts it, so the two cannot disagree. (Settling an interrupted run's intent asks another
//! question, whether the wizard made it, which needs its mark: `teardown::settle_intents`.)

use crate::engine::aws::clients::Clients;
use crate::engine::aws::credentials::{CredentialsError, SharedFiles};
use crate::engine::aws::error::AwsError;
use crate::engine::store::bucket::BucketAccess;
use crate::engine::store::objects::bucket_of;
use crate::journal::{Journal, Kind};
use crate::plan::Resource;

/// Why a look-up could not say: AWS, or this machine's credentials files. Its own error, not
/// ownership's, so that ownership (which asks it) stays the only one of the two using the
/// other; both its callers' errors take it as the variant it wraps.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// `Some(true)` when it is there, `Some(false)` when it is gone, `None` for what has nothing
/// to look up on its own (a bucket's settings go with the bucket, the deployment with the
/// cluster, and a key the record names by no id is nobody's to look for).
pub async fn exists_now(
    c: &Clients,
    files: &SharedFiles,
    journal: &Journal,
    r: &Resource,
) -> Result<Option<bool>, LookupError> {
    let detail = r.detail.as_deref();
    Ok(Some(match r.kind {
        Kind::IamGroup => c.group_exists(&r.id).await?,
        Kind::IamUser => c.user_exists(&r.id).await?,
        Kind::IamPolicyAttachment => {
            c.group_exists(&r.id).await?
                && c.attached_group_policies(&r.id)
                    .await?
                    .iter()
                    .any(|p| Some(p.as_str()) == detail)
        }
        Kind::IamGroupMembership => {
            c.user_exists(&r.id).await?
                && c.user_groups(&r.id).await?.iter().any(|g| Some(g.as_str()) == detail)
        }
        Kind::AccessKey => match detail {
            Some(key_id) => {
                c.user_exists(&r.id).await?
                    && c.access_keys(&r.id).await?.iter().any(|k| k.id == key_id)
            }
            None => return Ok(None),
        },
        Kind::Profile => files.read_key(&r.id)?.is_some(),
        // A bucket of that name, whoever's it is now: the name is not free.
        Kind::Bucket => c.bucket_access(&r.id).await? != BucketAccess::Free,
        Kind::SshKey => crate::fsutil::expand_home(&r.id).exists(),
        Kind::Cluster => match journal.state_store.as_deref().and_then(bucket_of) {
            Some(bucket) => {
                c.bucket_access(&bucket).await? == BucketAccess::Yours
                    && c.object_exists(&bucket, &format!("{}/config", r.id)).await?
            }
            None => false,
        },
        Kind::BucketVersioning
        | Kind::BucketEncryption
        | Kind::BucketPublicAccessBlock
        | Kind::ClusterDeployed => return Ok(None),
    }))
}
