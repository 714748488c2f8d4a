//! The AWS calls made without a service crate: the cluster's cloud resources are only ever
//! *asked about* (and a Service's load balancer, or a PersistentVolume's disk, deleted), a
//! dozen read-mostly operations over EC2, Auto Scaling, both load balancer APIs, Route53, SQS
//! and EventBridge. Their SDK crates are generated for every operation those services have:
//! aws-sdk-ec2 alone was three minutes of a clean build's CPU and the build's critical path.
//!
//! Each request is signed with SigV4 by `aws-sigv4` (the SDK's own signer), with credentials
//! from the same chain the SDK clients use, and sent over the hyper client and rustls TLS the
//! SDK already brings. Retries and timeouts follow the SDK clients' configuration
//! (`super::clients::load`): three attempts of a third of the operation budget each, for
//! throttling, 5xx answers and answers that never came, with jittered backoff.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::Mutex;

use super::error::{AwsError, CONNECT_TIMEOUT, operation_timeout};

type Https = hyper_rustls::HttpsConnector<crate::engine::proxy::ProxyConnector>;

/// An AWS API spoken here, with how it is reached and signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Ec2,
    AutoScaling,
    /// The classic load balancers (API version 2012-06-01).
    Elb,
    /// Application and network load balancers (API version 2015-12-01).
    Elbv2,
    Route53,
    Sqs,
    EventBridge,
}

impl Api {
    /// The name requests are signed for (both load balancer APIs share one).
    fn signing_name(self) -> &'static str {
        match self {
            Api::Ec2 => "ec2",
            Api::AutoScaling => "autoscaling",
            Api::Elb | Api::Elbv2 => "elasticloadbalancing",
            Api::Route53 => "route53",
            Api::Sqs => "sqs",
            Api::EventBridge => "events",
        }
    }

    /// The Query protocol's `Version` (the Query APIs only).
    fn version(self) -> &'static str {
        match self {
            Api::Ec2 => "2016-11-15",
            Api::AutoScaling => "2011-01-01",
            Api::Elb => "2012-06-01",
            Api::Elbv2 => "2015-12-01",
            Api::Route53 | Api::Sqs | Api::EventBridge => "",
        }
    }

    /// The JSON protocol's target prefix and content type (the JSON APIs only).
    fn json(self) -> (&'static str, &'static str) {
        match self {
            Api::Sqs => ("AmazonSQS", "application/x-amz-json-1.0"),
            _ => ("AWSEvents", "application/x-amz-json-1.1"),
        }
    }

    /// The variable that points this one service elsewhere, as the SDK reads it
    /// (`AWS_ENDPOINT_URL_<service id>`), before the general `AWS_ENDPOINT_URL`.
    fn endpoint_var(self) -> &'static str {
        match self {
            Api::Ec2 => "AWS_ENDPOINT_URL_EC2",
            Api::AutoScaling => "AWS_ENDPOINT_URL_AUTO_SCALING",
            Api::Elb => "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING",
            Api::Elbv2 => "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
            Api::Route53 => "AWS_ENDPOINT_URL_ROUTE_53",
            Api::Sqs => "AWS_ENDPOINT_URL_SQS",
            Api::EventBridge => "AWS_ENDPOINT_URL_EVENTBRIDGE",
        }
    }
}

/// Signed requests to the APIs above, with one configuration's credentials and region.
#[derive(Clone)]
pub struct AwsHttp {
    credentials: Option<SharedCredentialsProvider>,
    /// Credentials are fetched once and kept until shortly before they expire: a
    /// `credential_process` or an assumed role is not asked again for every request.
    cached: Arc<Mutex<Option<Credentials>>>,
    region: String,
    endpoint: Option<String>,
}

impl std::fmt::Debug for AwsHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The credentials are left out on purpose: a debug print must never show a key.
        f.debug_struct("AwsHttp")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The AWS SDK, kube and this module all use rustls, and more than one of its crypto
/// providers is in the tree: one process-wide provider (aws-lc-rs, the SDK's) is picked before
/// any of them builds a TLS configuration.
pub(crate) fn pick_tls_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// One HTTP client for the process: loading the system's root certificates is done once.
fn client() -> &'static Client<Https, Full<Bytes>> {
    static CLIENT: OnceLock<Client<Https, Full<Bytes>>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        pick_tls_provider();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        // Without readable system roots, HTTPS fails with a clear error at the first request
        // rather than the process failing here; plain HTTP (a local endpoint) still works.
        let tls = match builder.with_native_roots() {
            Ok(b) => b,
            Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            ),
        };
        // Through the environment's proxy, where it names one for the endpoint.
        let connector = crate::engine::proxy::ProxyConnector::new(http);
        let https = tls.https_or_http().enable_http1().wrap_connector(connector);
        Client::builder(hyper_util::rt::TokioExecutor::new()).build(https)
    })
}

/// Text from an XML answer, read by element names (namespaces ignored).
pub mod xml {
    pub use roxmltree::{Document, Node};

    /// The elements reached from `node` by the path of element names.
    pub fn at<'a, 'i>(node: Node<'a, 'i>, path: &[&str]) -> Vec<Node<'a, 'i>> {
        let mut level = vec![node];
        for name in path {
            level =
                level.iter().flat_map(|n| n.children().filter(|c| c.has_tag_name(*name))).collect();
        }
        level
    }

    /// The elements at `path`, its first element found anywhere in the document
    /// (`["instancesSet", "item"]`: every instance of every reservation).
    pub fn all<'a, 'i>(doc: &'a Document<'i>, path: &[&str]) -> Vec<Node<'a, 'i>> {
        let Some((first, rest)) = path.split_first() else { return Vec::new() };
        doc.descendants().filter(|n| n.has_tag_name(*first)).flat_map(|n| at(n, rest)).collect()
    }

    /// The text of the element at `path` below `node` (the first, if several).
    pub fn text<'a>(node: Node<'a, '_>, path: &[&str]) -> Option<&'a str> {
        at(node, path).first().and_then(|n| n.text()).map(str::trim).filter(|t| !t.is_empty())
    }

    /// A tag list as (key, value) pairs: `set` holds elements each with `key` and `value`
    /// (EC2: `tagSet`/`item`/`key`, `value`; the others: `Tags`/`member`/`Key`, `Value`).
    pub fn tags<'a>(node: Node<'a, '_>, set: [&str; 2], kv: [&str; 2]) -> Vec<(&'a str, &'a str)> {
        at(node, &set)
            .into_iter()
            .map(|t| (text(t, &[kv[0]]).unwrap_or_default(), text(t, &[kv[1]]).unwrap_or_default()))
            .collect()
    }
}

/// One request, before it is signed (again for each attempt: a signature is dated).
struct Call<'a> {
    api: Api,
    operation: &'static str,
    method: &'static str,
    /// Path and query, already encoded.
    path: &'a str,
    headers: &'a [(&'a str, &'a str)],
    body: String,
}

/// One answer's body, or why there was none worth retrying for.
enum Attempt {
    Answer(String),
    /// AWS answered with an error: HTTP status, code and message.
    Refused(u16, Option<String>, String),
    /// No (whole) answer: a connection refused or dropped, a body cut short.
    NoAnswer(String),
    TimedOut,
}

impl AwsHttp {
    pub fn new(config: &SdkConfig) -> Self {
        AwsHttp {
            credentials: config.credentials_provider(),
            cached: Arc::new(Mutex::new(None)),
            region: config.region().map(|r| r.to_string()).unwrap_or_default(),
            endpoint: config.endpoint_url().map(str::to_string),
        }
    }

    /// Where `api` is reached: its own override, the general one, or AWS's regional address.
    fn endpoint(&self, api: Api) -> String {
        if let Some(url) = std::env::var(api.endpoint_var()).ok().filter(|u| !u.is_empty()) {
            return url;
        }
        if let Some(url) = &self.endpoint {
            return url.clone();
        }
        let suffix = match self.region.starts_with("cn-") {
            true => "amazonaws.com.cn",
            false => "amazonaws.com",
        };
        match api {
            // Route53 is global: one address per partition.
            Api::Route53 => format!("https://route53.{suffix}"),
            _ => format!("https://{}.{}.{suffix}", api.signing_name(), self.region),
        }
    }

    /// Route53 is signed for the partition's home region.
    fn signing_region(&self, api: Api) -> &str {
        match (api, self.region.starts_with("cn-")) {
            (Api::Route53, true) => "cn-northwest-1",
            (Api::Route53, false) => "us-east-1",
            _ => &self.region,
        }
    }

    async fn credentials(&self, operation: &'static str) -> Result<Credentials, AwsError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry().is_none_or(|t| t > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let provider = self.credentials.as_ref().ok_or_else(|| AwsError {
            operation,
            code: None,
            message: super::error::no_credentials("no credentials provider is configured"),
        })?;
        let creds = provider.provide_credentials().await.map_err(|e| AwsError {
            operation,
            code: None,
            message: super::error::no_credentials(&super::error::chain(&e)),
        })?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// A Query-protocol action (`ec2:DescribeVolumes`): `params` are its form fields. Returns
    /// the answer's XML.
    pub async fn query(
        &self,
        api: Api,
        operation: &'static str,
        params: &[(String, String)],
    ) -> Result<String, AwsError> {
        let action = operation.split_once(':').map_or(operation, |(_, a)| a);
        // The serializer is not `Send`: it must be gone before the request is awaited.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", action).append_pair("Version", api.version());
            form.extend_pairs(params).finish()
        };
        let content = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        self.send(Call { api, operation, method: "POST", path: "/", headers: &[content], body })
            .await
    }

    /// Every page of a Query-protocol listing: the answer's `next` element (`nextToken`,
    /// `NextMarker`) goes back as the `param` field (`NextToken`, `Marker`) until it is absent.
    pub async fn query_pages(
        &self,
        api: Api,
        operation: &'static str,
        params: &[(String, String)],
        (next, param): (&str, &str),
    ) -> Result<Vec<String>, AwsError> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut fields = params.to_vec();
            fields.extend(token.take().map(|t| (param.to_string(), t)));
            let page = self.query(api, operation, &fields).await?;
            let doc = parse(operation, &page)?;
            token = doc
                .descendants()
                .find(|n| n.has_tag_name(next))
                .and_then(|n| n.text())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            drop(doc);
            pages.push(page);
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    /// A JSON-protocol action (`sqs:ListQueues`) with its request object; returns the answer.
    pub async fn json(
        &self,
        api: Api,
        operation: &'static str,
        request: serde_json::Value,
    ) -> Result<serde_json::Value, AwsError> {
        let action = operation.split_once(':').map_or(operation, |(_, a)| a);
        let (prefix, content_type) = api.json();
        let target = format!("{prefix}.{action}");
        let headers = [("content-type", content_type), ("x-amz-target", target.as_str())];
        let body = request.to_string();
        let call = Call { api, operation, method: "POST", path: "/", headers: &headers, body };
        let body = self.send(call).await?;
        serde_json::from_str(&body).map_err(|e| unreadable(operation, &e))
    }

    /// A REST GET (Route53): `path_and_query` already encoded. Returns the answer's XML.
    pub async fn get(
        &self,
        api: Api,
        operation: &'static str,
        path_and_query: &str,
    ) -> Result<String, AwsError> {
        let body = String::new();
        self.send(Call { api, operation, method: "GET", path: path_and_query, headers: &[], body })
            .await
    }

    /// Sends one operation with the SDK clients' retry rules.
    async fn send(&self, call: Call<'_>) -> Result<String, AwsError> {
        let operation = call.operation;
        let endpoint = self.endpoint(call.api);
        let budget = operation_timeout();
        let deadline = tokio::time::Instant::now() + budget;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let creds = self.credentials(operation).await?;
            let request = self.signed(&call, &endpoint, creds);
            let request = request.map_err(|e| AwsError {
                operation,
                code: None,
                message: format!("could not sign the request: {e}"),
            })?;
            let outcome = match tokio::time::timeout(budget / 3, once(request)).await {
                Ok(outcome) => outcome,
                Err(_) => Attempt::TimedOut,
            };
            let retry = match &outcome {
                Attempt::Answer(_) => false,
                Attempt::Refused(status, code, _) => {
                    *status >= 500 || *status == 429 || code.as_deref().is_some_and(transient)
                }
                Attempt::NoAnswer(_) | Attempt::TimedOut => true,
            };
            // The SDK's standard mode: full jitter over an exponential base of 1 s, at most
            // 20 s, three attempts in all, and never past the operation's budget.
            let pause = Duration::from_secs_f64(fastrand::f64() * 2f64.powi(attempt - 1).min(20.0));
            if retry && attempt < 3 && tokio::time::Instant::now() + pause < deadline {
                tracing::debug!(operation, attempt, "retrying an AWS request");
                tokio::time::sleep(pause).await;
                continue;
            }
            let shown = Some(endpoint.as_str()).filter(|_| self.endpoint.is_some());
            return match outcome {
                Attempt::Answer(text) => Ok(text),
                Attempt::Refused(status, code, message) => {
                    Err(AwsError::answered(operation, code, &message, status, shown))
                }
                Attempt::NoAnswer(why) => Err(AwsError::unreached(operation, &why, shown)),
                Attempt::TimedOut => Err(AwsError::timed_out(operation, shown)),
            };
        }
    }

    fn signed(
        &self,
        call: &Call<'_>,
        endpoint: &str,
        creds: Credentials,
    ) -> Result<http::Request<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let Call { api, method, path, headers, body, .. } = call;
        let uri = format!("{}{path}", endpoint.trim_end_matches('/'));
        let parsed: http::Uri = uri.parse()?;
        let host = parsed.authority().ok_or("the endpoint has no host")?.to_string();
        let agent = concat!("kops-wizard/", env!("CARGO_PKG_VERSION"), " (aws-sigv4)");
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.push(("host", &host));
        all.push(("user-agent", agent));
        let identity = creds.into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(self.signing_region(*api))
            .name(api.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            method,
            uri.as_str(),
            all.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut request = http::Request::builder().method(*method).uri(parsed);
        for (k, v) in &all {
            request = request.header(*k, *v);
        }
        let mut request = request.body(Full::new(Bytes::from(body.to_string())))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

/// One attempt: the request sent, the whole answer read.
async fn once(request: http::Request<Full<Bytes>>) -> Attempt {
    let response = match client().request(request).await {
        Ok(r) => r,
        Err(e) => return Attempt::NoAnswer(super::error::chain(&e)),
    };
    let status = response.status().as_u16();
    let body = match response.into_body().collect().await {
        Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
        Err(e) => return Attempt::NoAnswer(super::error::chain(&e)),
    };
    if (200..300).contains(&status) {
        return Attempt::Answer(body);
    }
    let (code, message) = error_of(&body);
    Attempt::Refused(status, code, message.unwrap_or_else(|| format!("HTTP {status}")))
}

/// The code and message of an error answer: XML (`<Error><Code>`) or JSON (`__type`).
fn error_of(body: &str) -> (Option<String>, Option<String>) {
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).map(str::to_string);
        // `__type` may be `prefix#Code`.
        let code = field("__type").or_else(|| field("code"));
        let code = code.map(|c| c.rsplit('#').next().unwrap_or(&c).to_string());
        return (code, field("message").or_else(|| field("Message")));
    }
    match roxmltree::Document::parse(body) {
        Ok(doc) => {
            let find = |name: &str| {
                doc.descendants()
                    .find(|n| n.has_tag_name(name))
                    .and_then(|n| n.text())
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
            };
            (find("Code"), find("Message"))
        }
        Err(_) => (None, None),
    }
}

/// Error codes after which the same request is tried again: throttling, and AWS's own
/// request timeouts.
fn transient(code: &str) -> bool {
    super::error::THROTTLING.contains(&code)
        || matches!(code, "RequestTimeout" | "RequestTimeoutException" | "PriorRequestNotComplete")
}

/// Parses an answer's XML, naming the operation if it is not XML.
pub fn parse<'i>(operation: &'static str, text: &'i str) -> Result<xml::Document<'i>, AwsError> {
    roxmltree::Document::parse(text).map_err(|e| unreadable(operation, &e))
}

fn unreadable(operation: &'static str, e: &dyn std::fmt::Display) -> AwsError {
    AwsError { operation, code: None, message: format!("AWS's answer could not be read: {e}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_name_their_code_in_xml_and_json() {
        let ec2 = "<Response><Errors><Error><Code>InvalidVolume.NotFound</Code>\
                   <Message>The volume 'vol-1' does not exist.</Message></Error></Errors></Response>";
        assert_eq!(
            error_of(ec2),
            (
                Some("InvalidVolume.NotFound".into()),
                Some("The volume 'vol-1' does not exist.".into())
            )
        );
        let json =
            r#"{"__type":"com.amazon.coral.service#ThrottlingException","message":"slow down"}"#;
        assert_eq!(error_of(json), (Some("ThrottlingException".into()), Some("slow down".into())));
        assert_eq!(error_of("<html>bad gateway</html>"), (None, None));
        assert_eq!(error_of("not xml"), (None, None));
    }

    #[test]
    fn throttling_and_timeouts_are_retried_refusals_are_not() {
        assert!(transient("Throttling") && transient("RequestLimitExceeded"));
        assert!(transient("RequestTimeout"));
        assert!(!transient("AccessDenied") && !transient("InvalidVolume.NotFound"));
    }

    #[test]
    fn xml_is_read_by_local_names_whatever_the_namespace() {
        let text = r#"<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <volumeSet><item><volumeId>vol-1</volumeId><tagSet>
              <item><key>KubernetesCluster</key><value>c.example.com</value></item>
            </tagSet></item><item><volumeId>vol-2</volumeId></item></volumeSet>
            <nextToken>  </nextToken></DescribeVolumesResponse>"#;
        let doc = xml::Document::parse(text).unwrap();
        let items = xml::at(doc.root_element(), &["volumeSet", "item"]);
        assert_eq!(items.len(), 2);
        assert_eq!(xml::text(items[0], &["volumeId"]), Some("vol-1"));
        assert_eq!(
            xml::tags(items[0], ["tagSet", "item"], ["key", "value"]),
            vec![("KubernetesCluster", "c.example.com")]
        );
        assert!(xml::tags(items[1], ["tagSet", "item"], ["key", "value"]).is_empty());
        assert_eq!(xml::text(doc.root_element(), &["nextToken"]), None);
    }

    #[test]
    fn each_api_is_reached_at_its_regional_address_unless_pointed_elsewhere() {
        let http = AwsHttp {
            credentials: None,
            cached: Arc::default(),
            region: "eu-west-1".into(),
            endpoint: None,
        };
        assert_eq!(http.endpoint(Api::Ec2), "https://ec2.eu-west-1.amazonaws.com");
        assert_eq!(
            http.endpoint(Api::Elbv2),
            "https://elasticloadbalancing.eu-west-1.amazonaws.com"
        );
        assert_eq!(http.endpoint(Api::Route53), "https://route53.amazonaws.com");
        assert_eq!(http.signing_region(Api::Route53), "us-east-1");
        assert_eq!(http.signing_region(Api::Sqs), "eu-west-1");
        let local = AwsHttp { endpoint: Some("http://127.0.0.1:5000".into()), ..http };
        assert_eq!(local.endpoint(Api::AutoScaling), "http://127.0.0.1:5000");
    }
}
