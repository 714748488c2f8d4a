//! IAM through the SDK: small idempotent building blocks (look up, create, attach, list) that
//! the setup and teardown steps combine with the journal.

pub use crate::marks::MARK_TAG;
use crate::marks::{PathMark, path_mark, wizard_path};
use aws_sdk_sts::config::Credentials as StaticCredentials;

use super::clients::{Clients, Identity, call};
use super::credentials::{AccessKey, Secret};
use super::error::AwsError;

/// IAM's limit of access keys per user.
pub const MAX_ACCESS_KEYS: usize = 2;

/// Whether a resource exists, and whether it carries the wizard's mark for the cluster asked
/// about (setup's question: is this the wizard's own, or something found?).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Absent,
    /// There, with the wizard's mark for this cluster (or an older version's mark, which names
    /// no cluster: the journal decides then).
    Marked,
    /// There without that mark: made by someone else, by hand, or for another cluster.
    Unmarked,
}

impl Presence {
    pub fn exists(self) -> bool {
        self != Presence::Absent
    }
}

/// What a group's or user's own mark says, read from IAM (teardown's question: may this be
/// deleted for this cluster?). Only IAM-privileged principals can set it: a path is fixed at
/// creation (or by UpdateGroup/UpdateUser), a tag needs iam:TagUser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Absent,
    /// Neither the wizard's path nor its tag, or a path and a tag that disagree.
    None,
    /// An older version's path, `/kops-wizard/`, without a tag naming a cluster.
    Legacy,
    /// The cluster whose setup made it.
    Cluster(String),
}

impl Mark {
    /// Whether the mark names `cluster`, key and value.
    pub fn names(&self, cluster: &str) -> bool {
        matches!(self, Mark::Cluster(c) if c == cluster)
    }

    pub fn presence_for(&self, cluster: &str) -> Presence {
        match self {
            Mark::Absent => Presence::Absent,
            Mark::Cluster(c) if c == cluster => Presence::Marked,
            Mark::Legacy => Presence::Marked,
            Mark::Cluster(_) | Mark::None => Presence::Unmarked,
        }
    }

    /// In words, for why something is kept: "its mark names cluster X".
    pub fn describe(&self) -> String {
        match self {
            Mark::Absent => "it does not exist".into(),
            Mark::None => "it does not carry kops-wizard's mark".into(),
            Mark::Legacy => {
                "it carries an older kops-wizard's mark (the path /kops-wizard/), which names no \
                 cluster"
                    .into()
            }
            Mark::Cluster(c) => format!("its mark names cluster \"{}\"", crate::text::one_line(c)),
        }
    }
}

/// A user's mark from its path and its tag: the path `/kops-wizard/<c>/` and the tag must
/// agree; the legacy path takes the tag's word alone (older versions tagged their users).
fn user_mark_of(path: &str, tag: Option<&str>) -> Mark {
    match (path_mark(path), tag) {
        (PathMark::Cluster(c), Some(t)) if c == t => Mark::Cluster(c.to_string()),
        (PathMark::Legacy, Some(t)) if !t.is_empty() => Mark::Cluster(t.to_string()),
        (PathMark::Legacy, None) => Mark::Legacy,
        _ => Mark::None,
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

    /// Creates the group under the wizard's path for `cluster`. "Already exists" is an error
    /// here: the caller looked first, so someone else made it meanwhile, and it is not the
    /// wizard's; unless it carries this cluster's mark, when it is this call's own lost first
    /// attempt.
    pub async fn create_group(&self, group: &str, cluster: &str) -> Result<(), AwsError> {
        let created = call!(
            self,
            "iam:CreateGroup",
            self.iam.create_group().group_name(group).path(wizard_path(cluster))
        )
        .map(|_| ());
        made_by_a_lost_attempt(created, self.group_presence(group, cluster)).await
    }

    /// The group's mark: its path (IAM groups take no tags).
    pub async fn group_mark(&self, group: &str) -> Result<Mark, AwsError> {
        match call!(self, "iam:GetGroup", self.iam.get_group().group_name(group).max_items(1)) {
            Ok(out) => Ok(match out.group().map(|g| path_mark(g.path())) {
                Some(PathMark::Cluster(c)) => Mark::Cluster(c.to_string()),
                Some(PathMark::Legacy) => Mark::Legacy,
                Some(PathMark::None) | None => Mark::None,
            }),
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => Ok(Mark::Absent),
            Err(e) => Err(e),
        }
    }

    /// Whether the group exists, and with the wizard's mark for `cluster`.
    pub async fn group_presence(&self, group: &str, cluster: &str) -> Result<Presence, AwsError> {
        Ok(self.group_mark(group).await?.presence_for(cluster))
    }

    /// The user's mark: its path and its tag, which must agree.
    pub async fn user_mark(&self, user: &str) -> Result<Mark, AwsError> {
        let out = match call!(self, "iam:GetUser", self.iam.get_user().user_name(user)) {
            Ok(out) => out,
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => return Ok(Mark::Absent),
            Err(e) => return Err(e),
        };
        let path = out.user().map(|u| u.path().to_string()).unwrap_or_default();
        if path_mark(&path) == PathMark::None {
            return Ok(Mark::None);
        }
        let tags = match call!(self, "iam:ListUserTags", self.iam.list_user_tags().user_name(user))
        {
            Ok(tags) => tags,
            Err(e) if e.code.as_deref() == Some("NoSuchEntity") => return Ok(Mark::Absent),
            Err(e) => return Err(e),
        };
        let tag = tags.tags().iter().find(|t| t.key() == MARK_TAG).map(|t| t.value());
        Ok(user_mark_of(&path, tag))
    }

    /// Whether the user exists, and with the wizard's mark for `cluster`.
    pub async fn user_presence(&self, user: &str, cluster: &str) -> Result<Presence, AwsError> {
        Ok(self.user_mark(user).await?.presence_for(cluster))
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

    /// Creates the user under the wizard's path for `cluster` with its tag, in one call, so no
    /// user of the wizard's exists without its mark.
    pub async fn create_user(&self, user: &str, cluster: &str) -> Result<(), AwsError> {
        let tag = aws_sdk_iam::types::Tag::builder().key(MARK_TAG).value(cluster).build().map_err(
            |e| AwsError { operation: "iam:CreateUser", code: None, message: e.to_string() },
        )?;
        let created = call!(
            self,
            "iam:CreateUser",
            self.iam.create_user().user_name(user).path(wizard_path(cluster)).tags(tag)
        )
        .map(|_| ());
        made_by_a_lost_attempt(created, self.user_presence(user, cluster)).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_mark_is_its_path_and_tag_agreeing() {
        let mark = |path, tag| user_mark_of(path, tag);
        assert_eq!(
            mark("/kops-wizard/a.k8s.local/", Some("a.k8s.local")),
            Mark::Cluster("a.k8s.local".into())
        );
        assert_eq!(mark("/kops-wizard/a.k8s.local/", Some("b.k8s.local")), Mark::None);
        assert_eq!(mark("/kops-wizard/a.k8s.local/", None), Mark::None);
        assert_eq!(mark("/kops-wizard/", Some("a.k8s.local")), Mark::Cluster("a.k8s.local".into()));
        assert_eq!(mark("/kops-wizard/", None), Mark::Legacy);
        assert_eq!(mark("/", Some("a.k8s.local")), Mark::None);
        assert!(Mark::Cluster("a".into()).names("a") && !Mark::Cluster("a".into()).names("b"));
        assert!(!Mark::Legacy.names("a"));
        assert_eq!(Mark::Legacy.presence_for("a"), Presence::Marked);
        assert_eq!(Mark::Cluster("b".into()).presence_for("a"), Presence::Unmarked);
    }
}
