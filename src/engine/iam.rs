//! IAM through the SDK: small idempotent building blocks (look up, create, attach, list) that
//! the setup and teardown steps combine with the journal.

pub use crate::marks::{MARK_TAG, WIZARD_PATH};
use aws_sdk_sts::config::Credentials as StaticCredentials;

use super::aws::{AwsError, Clients, Identity, call};
use super::credentials::{AccessKey, Secret};

/// IAM's limit of access keys per user.
pub const MAX_ACCESS_KEYS: usize = 2;

/// Whether a resource exists, and whether it carries the wizard's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    /// There, with the wizard's mark: made by a kops-wizard setup.
    Marked,
    /// There without the mark: made by someone else (or by hand, or before this version).
    Unmarked,
}

impl Presence {
    pub fn exists(self) -> bool {
        self != Presence::Absent
    }
}

/// An access key as IAM lists it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    /// Seconds since the Unix epoch.
    pub created: Option<i64>,
    pub active: bool,
}

/// A create the SDK retried because the first attempt's answer was lost (a dropped
/// connection, a timeout) hears EntityAlreadyExists when that attempt took effect. The
/// caller looked just before and found nothing, so a resource that now carries the wizard's
/// mark is that attempt's: the create succeeded. Anything else keeps the error.
async fn made_by_a_lost_attempt(
    created: Result<(), AwsError>,
    presence: impl Future<Output = Result<Presence, AwsError>>,
) -> Result<(), AwsError> {
    match created {
        Err(e) if e.code.as_deref() == Some("EntityAlreadyExists") => match presence.await? {
            Presence::Marked => Ok(()),
            Presence::Absent | Presence::Unmarked => Err(e),
        },
        other => other,
    }
}

/// `Ok(false)` for IAM's NoSuchEntity, so "absent" is an answer, not an error.
fn absent<T>(result: Result<T, AwsError>) -> Result<bool, AwsError> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(false),
        Err(e) => Err(e),
    }
}

impl Clients {
    pub async fn group_exists(&self, group: &str) -> Result<bool, AwsError> {
        absent(call!(self, "iam:GetGroup", self.iam.get_group().group_name(group)))
    }

    /// Creates the group under the wizard's path. "Already exists" is an error here: the
    /// caller looked first, so someone else made it meanwhile, and it is not the wizard's;
    /// unless it carries the wizard's mark, when it is this call's own lost first attempt.
    pub async fn create_group(&self, group: &str) -> Result<(), AwsError> {
        let created = call!(
            self,
            "iam:CreateGroup",
            self.iam.create_group().group_name(group).path(WIZARD_PATH)
        )
        .map(|_| ());
        made_by_a_lost_attempt(created, self.group_presence(group)).await
    }

    /// Whether the group exists and is under the wizard's path.
    pub async fn group_presence(&self, group: &str) -> Result<Presence, AwsError> {
        match call!(self, "iam:GetGroup", self.iam.get_group().group_name(group).max_items(1)) {
            Ok(out) => Ok(match out.group().map(|g| g.path()) {
                Some(WIZARD_PATH) => Presence::Marked,
                _ => Presence::Unmarked,
            }),
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(Presence::Absent),
            Err(e) => Err(e),
        }
    }

    /// Whether the user exists, under the wizard's path and with its tag.
    pub async fn user_presence(&self, user: &str) -> Result<Presence, AwsError> {
        let out = match call!(self, "iam:GetUser", self.iam.get_user().user_name(user)) {
            Ok(out) => out,
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => return Ok(Presence::Absent),
            Err(e) => return Err(e),
        };
        if out.user().map(|u| u.path()) != Some(WIZARD_PATH) {
            return Ok(Presence::Unmarked);
        }
        let tags = call!(self, "iam:ListUserTags", self.iam.list_user_tags().user_name(user))?;
        Ok(match tags.tags().iter().any(|t| t.key() == MARK_TAG) {
            true => Presence::Marked,
            false => Presence::Unmarked,
        })
    }

    /// The value of the user's mark (the cluster whose setup made it), when it has one.
    pub async fn user_mark(&self, user: &str) -> Result<Option<String>, AwsError> {
        match call!(self, "iam:ListUserTags", self.iam.list_user_tags().user_name(user)) {
            Ok(tags) => {
                Ok(tags.tags().iter().find(|t| t.key() == MARK_TAG).map(|t| t.value().to_string()))
            }
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn attached_group_policies(&self, group: &str) -> Result<Vec<String>, AwsError> {
        let out = call!(
            self,
            "iam:ListAttachedGroupPolicies",
            self.iam.list_attached_group_policies().group_name(group).max_items(1000)
        )?;
        Ok(out
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect())
    }

    pub async fn attach_group_policy(&self, group: &str, arn: &str) -> Result<(), AwsError> {
        call!(
            self,
            "iam:AttachGroupPolicy",
            self.iam.attach_group_policy().group_name(group).policy_arn(arn)
        )
        .map(|_| ())
    }

    pub async fn user_exists(&self, user: &str) -> Result<bool, AwsError> {
        absent(call!(self, "iam:GetUser", self.iam.get_user().user_name(user)))
    }

    /// Creates the user under the wizard's path with its tag, in one call, so no user of the
    /// wizard's exists without its mark.
    pub async fn create_user(&self, user: &str, cluster: &str) -> Result<(), AwsError> {
        let tag = aws_sdk_iam::types::Tag::builder().key(MARK_TAG).value(cluster).build().map_err(
            |e| AwsError { operation: "iam:CreateUser", code: None, message: e.to_string() },
        )?;
        let created = call!(
            self,
            "iam:CreateUser",
            self.iam.create_user().user_name(user).path(WIZARD_PATH).tags(tag)
        )
        .map(|_| ());
        made_by_a_lost_attempt(created, self.user_presence(user)).await
    }

    pub async fn user_groups(&self, user: &str) -> Result<Vec<String>, AwsError> {
        let out = call!(
            self,
            "iam:ListGroupsForUser",
            self.iam.list_groups_for_user().user_name(user).max_items(1000)
        )?;
        Ok(out.groups().iter().map(|g| g.group_name().to_string()).collect())
    }

    pub async fn add_user_to_group(&self, user: &str, group: &str) -> Result<(), AwsError> {
        call!(
            self,
            "iam:AddUserToGroup",
            self.iam.add_user_to_group().user_name(user).group_name(group)
        )
        .map(|_| ())
    }

    pub async fn access_keys(&self, user: &str) -> Result<Vec<KeyInfo>, AwsError> {
        let out = call!(self, "iam:ListAccessKeys", self.iam.list_access_keys().user_name(user))?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|k| {
                Some(KeyInfo {
                    id: k.access_key_id()?.to_string(),
                    created: k.create_date().map(|d| d.secs()),
                    active: k.status().is_none_or(|s| s.as_str() == "Active"),
                })
            })
            .collect())
    }

    /// Creates an access key, in a single attempt. The secret is only in the returned value:
    /// the caller saves it to the credentials file at once and never prints it. IAM has no
    /// idempotency token for this call, so the SDK must not retry it: an attempt whose answer
    /// was lost may have made a key, and a retry would make a second. The caller looks at the
    /// user's keys before trying again (setup's `create_key`).
    pub async fn create_access_key(&self, user: &str) -> Result<AccessKey, AwsError> {
        let once = self.iam.create_access_key().user_name(user).customize().config_override(
            aws_sdk_iam::config::Builder::default()
                .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()),
        );
        let out = call!(self, "iam:CreateAccessKey", once)?;
        let key = out.access_key().ok_or_else(|| AwsError {
            operation: "iam:CreateAccessKey",
            code: None,
            message: "AWS answered without a key".into(),
        })?;
        Ok(AccessKey {
            id: key.access_key_id().to_string(),
            secret: Secret::new(key.secret_access_key()),
        })
    }

    pub async fn delete_access_key(&self, user: &str, id: &str) -> Result<(), AwsError> {
        tolerate_missing(
            call!(
                self,
                "iam:DeleteAccessKey",
                self.iam.delete_access_key().user_name(user).access_key_id(id)
            )
            .map(|_| ()),
        )
    }

    /// Who a given access key is, asked with that key alone (not the admin's credentials).
    pub async fn identity_of(&self, key: &AccessKey) -> Result<Identity, AwsError> {
        let creds = StaticCredentials::new(&key.id, key.secret.expose(), None, None, "kops-wizard");
        let config =
            aws_sdk_sts::config::Builder::from(&self.config).credentials_provider(creds).build();
        self.caller_identity(&aws_sdk_sts::Client::from_conf(config)).await
    }
}

/// A delete call whose "no such entity" answer means the work is done.
fn tolerate_missing(result: Result<(), AwsError>) -> Result<(), AwsError> {
    match result {
        Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(()),
        other => other,
    }
}

impl Clients {
    pub async fn remove_user_from_group(&self, user: &str, group: &str) -> Result<(), AwsError> {
        tolerate_missing(
            call!(
                self,
                "iam:RemoveUserFromGroup",
                self.iam.remove_user_from_group().user_name(user).group_name(group)
            )
            .map(|_| ()),
        )
    }

    pub async fn delete_user(&self, user: &str) -> Result<(), AwsError> {
        tolerate_missing(
            call!(self, "iam:DeleteUser", self.iam.delete_user().user_name(user)).map(|_| ()),
        )
    }

    pub async fn detach_group_policy(&self, group: &str, arn: &str) -> Result<(), AwsError> {
        tolerate_missing(
            call!(
                self,
                "iam:DetachGroupPolicy",
                self.iam.detach_group_policy().group_name(group).policy_arn(arn)
            )
            .map(|_| ()),
        )
    }

    pub async fn delete_group(&self, group: &str) -> Result<(), AwsError> {
        tolerate_missing(
            call!(self, "iam:DeleteGroup", self.iam.delete_group().group_name(group)).map(|_| ()),
        )
    }

    pub async fn group_members(&self, group: &str) -> Result<Vec<String>, AwsError> {
        match call!(self, "iam:GetGroup", self.iam.get_group().group_name(group).max_items(1000)) {
            Ok(out) => Ok(out.users().iter().map(|u| u.user_name().to_string()).collect()),
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

/// Whether an error means "this key is not (yet) valid", as opposed to a network problem.
pub fn is_invalid_key(err: &AwsError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("InvalidClientTokenId") | Some("SignatureDoesNotMatch") | Some("AccessDenied")
    )
}
