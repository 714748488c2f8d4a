//! AWS through the SDK: building clients from the standard chain (profiles, SSO, env vars,
//! `AWS_ENDPOINT_URL`); their errors are turned into messages a user can act on in
//! `error.rs`.

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::error::{AwsError, CONNECT_TIMEOUT, operation_timeout};

/// Which credentials to load: a named profile, or the default chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub profile: Option<String>,
    pub region: String,
}

/// Loads the SDK configuration from the standard chain.
pub async fn load(creds: &Credentials) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(creds.region.clone()))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(operation_timeout() / 3)
                .operation_timeout(operation_timeout())
                .build(),
        );
    if let Some(profile) = &creds.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// The admin's clients (`aws.admin_profile`, else the default chain), after proving they work
/// with `sts:GetCallerIdentity`; the identity is reported as a note. Setup and teardown start
/// here, so bad credentials stop them before anything changes.
pub async fn connect_admin(
    answers: &crate::answers::Answers,
    sink: &crate::engine::events::Sink,
) -> Result<Clients, AwsError> {
    let creds = Credentials {
        profile: answers.aws.admin_profile.clone(),
        region: answers.aws.region.clone(),
    };
    let clients = Clients::from_env(&creds).await;
    let id = clients.whoami().await?;
    sink.send(crate::engine::events::Event::Note {
        message: format!("aws: admin credentials are {} (account {})", id.arn, id.account),
    });
    Ok(clients)
}

/// Every client the engine uses, built once from one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub sts: aws_sdk_sts::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
    /// The services without an SDK crate here (the cloud check's): built with the clients,
    /// so that every `Cloud` of a run shares one credential cache.
    pub http: super::http::AwsHttp,
    /// The endpoint override, if any, for messages.
    pub endpoint: Option<String>,
    /// Kept to build clients with other credentials (checking the kops user's new key).
    pub config: SdkConfig,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        // With an endpoint override (moto, MinIO, LocalStack) virtual-hosted bucket names
        // (`bucket.127.0.0.1`) do not resolve, so S3 must use path-style addressing.
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Self {
            sts: aws_sdk_sts::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            http: super::http::AwsHttp::new(config),
            endpoint: config.endpoint_url().map(str::to_string),
            config: config.clone(),
        }
    }

    pub async fn from_env(creds: &Credentials) -> Self {
        Self::new(&load(creds).await)
    }

    /// Who these credentials are (`sts:GetCallerIdentity`).
    pub async fn whoami(&self) -> Result<Identity, AwsError> {
        self.caller_identity(&self.sts).await
    }

    /// `sts:GetCallerIdentity` through a given STS client (the admin's, or one built on
    /// another key).
    pub(crate) async fn caller_identity(
        &self,
        sts: &aws_sdk_sts::Client,
    ) -> Result<Identity, AwsError> {
        let out = call!(self, "sts:GetCallerIdentity", sts.get_caller_identity())?;
        Ok(Identity {
            account: out.account.unwrap_or_default(),
            arn: out.arn.unwrap_or_default(),
            user_id: out.user_id.unwrap_or_default(),
        })
    }
}

/// Sends an SDK request and turns its error into an [`AwsError`] naming the operation.
macro_rules! call {
    ($clients:ident, $op:literal, $req:expr) => {
        $req.send().await.map_err(|e| {
            $crate::engine::aws::error::AwsError::from_sdk($op, &e, $clients.endpoint.as_deref())
        })
    };
}
pub(crate) use call;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

impl Identity {
    /// Whether this is the IAM user `user`, under any path (`user/kops-wizard/kops`).
    pub fn is_user(&self, user: &str) -> bool {
        self.arn.split_once(":user/").is_some_and(|(_, path)| path.rsplit('/').next() == Some(user))
    }
}
