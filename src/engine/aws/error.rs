//! AWS errors in words a user can act on: what the SDK and the wizard's own signed requests
//! report, turned into the operation, AWS's error code and advice; and the time budget every
//! AWS call gets.

use std::error::Error as StdError;
use std::time::Duration;

use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// A dead endpoint must fail in seconds, not hang; the operation budget leaves room for the
/// standard mode's retries of throttling and 5xx answers.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest an AWS operation may take, its retries included; each attempt gets a third.
pub(crate) const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Shortens [`OPERATION_TIMEOUT`] (a duration: `6s`); never lengthens it, because how long a
/// CreateAccessKey can still take effect after its intent is reckoned with the default.
pub const TIMEOUT_VAR: &str = "KOPS_WIZARD_AWS_TIMEOUT";

pub(crate) fn operation_timeout() -> Duration {
    crate::rules::env_duration(TIMEOUT_VAR).map_or(OPERATION_TIMEOUT, |d| d.min(OPERATION_TIMEOUT))
}

/// An AWS call that failed, with what went wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`, ...) when AWS answered.
    pub code: Option<String>,
    pub message: String,
}

impl AwsError {
    /// Whether AWS answered "no" to a change, so it was certainly not made. Without an answer
    /// (a timeout, a dropped connection) or with a server error, the change may have been
    /// made all the same: its intent must stay for the next run to look up.
    pub fn is_refusal(&self) -> bool {
        match self.code.as_deref() {
            None => false,
            Some(code) => !matches!(
                code,
                "InternalError" | "InternalFailure" | "ServiceUnavailable" | "RequestTimeout"
            ),
        }
    }

    /// Whether AWS said it is too busy to take the request (throttling): nothing was done,
    /// and the same request may succeed a little later.
    pub fn is_throttling(&self) -> bool {
        self.code.as_deref().is_some_and(|c| THROTTLING.contains(&c))
    }

    pub fn from_sdk<E>(
        operation: &'static str,
        err: &SdkError<E, HttpResponse>,
        endpoint: Option<&str>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let mut code = err.code().map(str::to_string);
        let message = match err {
            SdkError::ServiceError(service) => {
                // An error body the SDK could not read (moto wraps IAM's and STS's in
                // `<Errors>`, as EC2 does, where AWS does not) still names the error.
                let body =
                    String::from_utf8_lossy(service.raw().body().bytes().unwrap_or_default());
                code = code.or_else(|| xml_field(&body, "Code"));
                // Some answers (HEAD requests, odd endpoints) carry no code or message: the
                // HTTP status is then all there is to go on.
                let status = service.raw().status().as_u16();
                let message = err
                    .message()
                    .map(str::to_string)
                    .or_else(|| xml_field(&body, "Message"))
                    .unwrap_or_else(|| format!("HTTP {status}"));
                return AwsError::answered(operation, code, &message, status, endpoint);
            }
            SdkError::TimeoutError(_) => return AwsError::timed_out(operation, endpoint),
            SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_)
            | SdkError::ConstructionFailure(_) => dispatch_advice(&chain(err), endpoint),
            _ => chain(err),
        };
        AwsError { operation, code, message }
    }
}

impl AwsError {
    /// AWS answered with an error (after the retries its kind gets).
    pub(crate) fn answered(
        operation: &'static str,
        code: Option<String>,
        message: &str,
        status: u16,
        endpoint: Option<&str>,
    ) -> Self {
        let text = advice(code.as_deref(), Some(message));
        // The retries are spent; which endpoint keeps failing is what the user needs to
        // know (a local endpoint, a proxy, or AWS itself).
        let message =
            match status >= 500 || code.as_deref().is_some_and(|c| THROTTLING.contains(&c)) {
                true => format!(
                    "{text} (HTTP {status} from {}, after retries: it is busy or failing; \
                 run the same command again later, it continues where it stopped)",
                    endpoint.unwrap_or("AWS")
                ),
                false => text,
            };
        AwsError { operation, code, message }
    }

    /// No answer came in time, retries included.
    pub(crate) fn timed_out(operation: &'static str, endpoint: Option<&str>) -> Self {
        let message = format!(
            "no answer from {} in time; check the network and AWS_ENDPOINT_URL",
            endpoint.unwrap_or("AWS")
        );
        AwsError { operation, code: None, message }
    }

    /// No answer at all (a refused or dropped connection), retries included.
    pub(crate) fn unreached(operation: &'static str, detail: &str, endpoint: Option<&str>) -> Self {
        AwsError { operation, code: None, message: dispatch_advice(detail, endpoint) }
    }
}

/// The error codes with which AWS services say they are throttling the caller (the SDK's
/// own list of throttling errors, the ones IAM, STS and S3 send among them).
pub(crate) const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
];

/// The text of the first `<tag>` element of an XML error body.
fn xml_field(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + body[start..].find(&format!("</{tag}>"))?;
    Some(body[start..end].trim().to_string()).filter(|s| !s.is_empty())
}

/// Advice for the service errors a new user meets first.
fn advice(code: Option<&str>, message: Option<&str>) -> String {
    let said = message.unwrap_or("no message");
    let hint = match code {
        Some("InvalidClientTokenId") | Some("UnrecognizedClientException") => {
            "the access key id is not known to AWS: check the profile's aws_access_key_id, or run `aws configure`"
        }
        Some("SignatureDoesNotMatch") => {
            "the secret access key does not match the key id: check the profile"
        }
        Some("ExpiredToken") | Some("ExpiredTokenException") | Some("RequestExpired") => {
            "the session has expired: run `aws sso login` (or refresh the temporary credentials)"
        }
        Some("AccessDenied") | Some("AccessDeniedException") => {
            "these credentials are not allowed to do this: use an administrator's profile (aws.admin_profile)"
        }
        _ => "",
    };
    match (code, hint) {
        (Some(code), "") => format!("{code}: {said}"),
        (Some(code), hint) => format!("{code}: {said} ({hint})"),
        (None, _) => said.to_string(),
    }
}

/// Advice when no answer came back at all: usually no credentials, no region or no network.
fn dispatch_advice(detail: &str, endpoint: Option<&str>) -> String {
    let lower = detail.to_lowercase();
    if lower.contains("credential") {
        return no_credentials(detail);
    }
    if lower.contains("region") {
        return format!("no AWS region ({detail}); set aws.region in the answers or AWS_REGION");
    }
    let target = endpoint.unwrap_or("AWS");
    format!("cannot reach {target} ({detail}); check the network, proxies and AWS_ENDPOINT_URL")
}

/// No credentials could be loaded, and where they come from.
pub(crate) fn no_credentials(detail: &str) -> String {
    format!(
        "no AWS credentials found ({detail}); set aws.admin_profile, export AWS_PROFILE, run `aws configure` or `aws sso login`"
    )
}

/// The error and its sources on one line: the SDK's top-level messages alone say little.
pub(crate) fn chain(err: &dyn StdError) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_carry_the_code_and_what_to_do() {
        let text = advice(
            Some("ExpiredToken"),
            Some("The security token included in the request is expired"),
        );
        assert!(text.starts_with("ExpiredToken: The security token"), "{text}");
        assert!(text.contains("aws sso login"), "{text}");
        assert_eq!(advice(Some("NoSuchBucket"), Some("gone")), "NoSuchBucket: gone");
    }

    #[test]
    fn an_error_body_the_sdk_cannot_read_still_names_the_error() {
        let body = "<?xml version=\"1.0\"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch\
                    </Code><Message>The request signature we calculated does not match</Message>\
                    </Error></Errors></ErrorResponse>";
        assert_eq!(xml_field(body, "Code").as_deref(), Some("SignatureDoesNotMatch"));
        assert!(xml_field(body, "Message").is_some_and(|m| m.starts_with("The request")));
        assert_eq!(xml_field("<Error><Code></Code></Error>", "Code"), None);
        assert_eq!(xml_field("not xml", "Code"), None);
    }

    #[test]
    fn no_answer_is_explained_by_its_cause() {
        assert!(
            dispatch_advice("the credential provider was not enabled: no credentials", None)
                .contains("aws configure")
        );
        assert!(
            dispatch_advice("connection refused", Some("http://127.0.0.1:1"))
                .contains("cannot reach http://127.0.0.1:1")
        );
    }
}
