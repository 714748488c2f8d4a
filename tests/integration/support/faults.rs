//! A fault-injecting HTTP proxy between the wizard (and the kops stand-in) and moto, on
//! loopback only. Pointed at it with `AWS_ENDPOINT_URL`, every request passes through
//! unchanged, byte for byte (so signatures, `Host` included, still match), except those a
//! test's rules choose: they get what AWS sends when it throttles or fails, a slow answer, or
//! a connection that drops before the request reaches AWS, after it did, or halfway through
//! the answer. Each request is answered on its own connection (`Connection: close`), so a
//! fault never leaks into the next request. Everything seen and injected is counted.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::Moto;

/// What a chosen request gets instead of (or on top of) moto's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// IAM and STS: HTTP 400 `Throttling` ("Rate exceeded"); S3: HTTP 503 `SlowDown`; EC2:
    /// HTTP 503 `RequestLimitExceeded`.
    Throttle,
    /// HTTP 500: S3 `InternalError`, IAM `ServiceFailure`, STS `InternalFailure`.
    ServerError,
    /// HTTP 503 `ServiceUnavailable`.
    Unavailable,
    /// moto's answer, this much later (the request is forwarded after the pause, as a slow
    /// AWS would still carry it out).
    Slow(Duration),
    /// The connection closes with no answer; the request never reached moto.
    DropBeforeForward,
    /// moto carried the request out; the connection closes before its answer.
    DropAfterForward,
    /// moto carried the request out; its answer stops halfway through the body.
    DropMidBody,
    /// HTTP 400 with this "no such thing" code (`TargetGroupNotFound`): what AWS answers when
    /// a controller deleted the thing while the request was on its way. moto never sees it.
    Gone(&'static str),
}

impl Fault {
    pub fn label(self) -> &'static str {
        match self {
            Fault::Throttle => "throttling",
            Fault::ServerError => "500",
            Fault::Unavailable => "503",
            Fault::Slow(_) => "slow answer",
            Fault::DropBeforeForward => "dropped before AWS",
            Fault::DropAfterForward => "dropped after AWS",
            Fault::DropMidBody => "dropped mid-body",
            Fault::Gone(_) => "gone",
        }
    }
}

/// Who sent a request, from its User-Agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// The wizard (the AWS SDK for Rust).
    Wizard,
    /// The kops stand-in (boto3).
    StandIn,
    Other,
}

/// Which requests a rule faults, among those it selects (counted from 1).
#[derive(Debug, Clone)]
enum Which {
    Nth(Vec<usize>),
    Every,
}

/// Selects requests by service and operation (and, optionally, who sent them) and says
/// which of them get the fault.
#[derive(Debug, Clone)]
pub struct Rule {
    service: &'static str,
    operation: &'static str,
    agent: Option<Agent>,
    which: Which,
    fault: Fault,
    selected: usize,
}

impl Rule {
    /// The first `service` (`iam`, `s3`, `sts`) `operation` (`CreateBucket`) request gets
    /// `fault`.
    pub fn new(service: &'static str, operation: &'static str, fault: Fault) -> Rule {
        Rule { service, operation, agent: None, which: Which::Nth(vec![1]), fault, selected: 0 }
    }

    /// Those of the selected requests, counted from 1: `&[1, 3]` is the 1st and the 3rd.
    pub fn nth(mut self, n: &[usize]) -> Rule {
        self.which = Which::Nth(n.to_vec());
        self
    }

    /// Every selected request: a persistent fault.
    pub fn every(mut self) -> Rule {
        self.which = Which::Every;
        self
    }

    /// Only the wizard's requests (not the kops stand-in's, which has retries of its own).
    pub fn wizard_only(mut self) -> Rule {
        self.agent = Some(Agent::Wizard);
        self
    }

    /// Whether it selects the request; if so, whether this one is faulted.
    fn select(&mut self, seen: &Seen) -> Option<bool> {
        let selected = self.service == seen.service
            && self.operation == seen.operation
            && self.agent.is_none_or(|a| a == seen.agent);
        if !selected {
            return None;
        }
        self.selected += 1;
        Some(match &self.which {
            Which::Nth(n) => n.contains(&self.selected),
            Which::Every => true,
        })
    }
}

/// One request through the proxy.
#[derive(Debug, Clone)]
pub struct Seen {
    pub service: String,
    pub operation: String,
    pub agent: Agent,
    pub method: String,
    pub fault: Option<Fault>,
}

#[derive(Default)]
struct Shared {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    /// Forward every request without its `If-Match` and `If-None-Match` headers, as an
    /// S3-compatible store or a proxy that ignores conditional writes would act.
    strip_conditions: bool,
}

/// The proxy: listening on a loopback port until dropped.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(moto: &Moto) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the proxy");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = moto.port;
        let (accept_shared, accept_stop) = (shared.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = accept_shared.clone();
                // A request the client gave up on (a fault, a timeout) ends here quietly.
                thread::spawn(move || {
                    let _ = serve(conn, upstream, &shared);
                });
            }
        });
        FaultProxy { port, shared, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn add(&self, rule: Rule) -> &Self {
        self.lock().rules.push(rule);
        self
    }

    /// From now on every request reaches moto without its conditional headers (`If-Match`,
    /// `If-None-Match`): a store that ignores S3's conditional writes. The signature does not
    /// hold then, which moto outside auth mode does not check.
    pub fn ignore_conditional_writes(&self) -> &Self {
        self.lock().strip_conditions = true;
        self
    }

    /// Removes every rule; what was seen stays counted.
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// The requests that were faulted, in order.
    pub fn injected(&self) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.fault.is_some()).collect()
    }

    /// How many `service` `operation` requests arrived (faulted or not).
    pub fn count(&self, service: &str, operation: &str) -> usize {
        self.seen().iter().filter(|s| s.service == service && s.operation == operation).count()
    }

    /// The faults injected, one line per service, operation and kind, with their count.
    pub fn report(&self) -> String {
        let mut rows: Vec<(String, String, &'static str)> = self
            .injected()
            .iter()
            .filter_map(|s| Some((s.service.clone(), s.operation.clone(), s.fault?.label())))
            .collect();
        rows.sort();
        let mut text = String::new();
        let mut i = 0;
        while i < rows.len() {
            let n = rows[i..].iter().take_while(|r| **r == rows[i]).count();
            let (service, operation, kind) = &rows[i];
            let _ = writeln!(text, "  {service}:{operation} {kind} x{n}");
            i += n;
        }
        text
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A test thread that panicked while holding it leaves the counts as they were.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// A request as read from the client: its head and body exactly as sent, for forwarding.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
    /// The body, de-chunked, for reading the action of a query-protocol request.
    body: Vec<u8>,
}

impl Request {
    /// Drops the `If-Match` and `If-None-Match` lines from the head as it is forwarded.
    fn strip_conditions(&mut self) {
        let end = self.raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(0, |i| i + 4);
        let (head, body) = self.raw.split_at(end);
        let head = String::from_utf8_lossy(head);
        let kept: String = head
            .split_inclusive("\r\n")
            .filter(|line| {
                let name = line.split(':').next().unwrap_or_default().trim();
                !name.eq_ignore_ascii_case("if-match")
                    && !name.eq_ignore_ascii_case("if-none-match")
            })
            .collect();
        let mut raw = kept.into_bytes();
        raw.extend_from_slice(body);
        self.raw = raw;
        self.headers.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("if-match") && !k.eq_ignore_ascii_case("if-none-match")
        });
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn serve(client: TcpStream, upstream: u16, shared: &Mutex<Shared>) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    let Some(mut request) = read_request(&mut reader, &mut writer)? else { return Ok(()) };
    let mut seen = classify(&request);
    let fault = {
        let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
        if shared.strip_conditions {
            request.strip_conditions();
        }
        let mut fault = None;
        for rule in shared.rules.iter_mut() {
            // Every rule that selects the request counts it; the first that fires wins.
            if rule.select(&seen) == Some(true) && fault.is_none() {
                fault = Some(rule.fault);
            }
        }
        seen.fault = fault;
        shared.seen.push(seen.clone());
        fault
    };
    match fault {
        None => relay(&request, upstream, &mut writer),
        Some(Fault::Slow(pause)) => {
            thread::sleep(pause);
            relay(&request, upstream, &mut writer)
        }
        Some(Fault::DropBeforeForward) => writer.shutdown(Shutdown::Both),
        Some(Fault::DropAfterForward) => {
            forward(&request, upstream)?;
            writer.shutdown(Shutdown::Both)
        }
        Some(Fault::DropMidBody) => {
            let (head, body) = forward(&request, upstream)?;
            writer.write_all(&closing(&head))?;
            writer.write_all(&body[..body.len() / 2])?;
            writer.flush()?;
            writer.shutdown(Shutdown::Both)
        }
        Some(
            kind @ (Fault::Throttle | Fault::ServerError | Fault::Unavailable | Fault::Gone(_)),
        ) => {
            writer.write_all(&error_response(&seen, kind))?;
            writer.flush()?;
            writer.shutdown(Shutdown::Write)
        }
    }
}

/// Forwards the request and passes moto's answer back, closing afterwards.
fn relay(request: &Request, upstream: u16, writer: &mut TcpStream) -> io::Result<()> {
    let (head, body) = forward(request, upstream)?;
    writer.write_all(&closing(&head))?;
    writer.write_all(&body)?;
    writer.flush()?;
    writer.shutdown(Shutdown::Write)
}

/// Sends the request to moto unchanged and reads one whole answer: (head, body as framed).
fn forward(request: &Request, upstream: u16) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut moto = TcpStream::connect(("127.0.0.1", upstream))?;
    moto.set_read_timeout(Some(Duration::from_secs(120)))?;
    moto.write_all(&request.raw)?;
    moto.flush()?;
    let mut reader = BufReader::new(moto);
    loop {
        let head = read_head(&mut reader)?;
        let text = String::from_utf8_lossy(&head).to_string();
        let status: u16 =
            text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_default();
        // An interim answer (100 Continue to an Expect header) is moto's business, not the
        // client's: the proxy already said 100 Continue itself.
        if (100..200).contains(&status) {
            continue;
        }
        let headers = parse_headers(&text);
        let no_body = request.method == "HEAD" || status == 204 || status == 304;
        let body = if no_body { Vec::new() } else { read_body(&mut reader, &headers, true)?.0 };
        return Ok((head, body));
    }
}

/// The answer's head with `Connection: close` in place of any connection header.
fn closing(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// Reads one request; `None` when the client closed without sending one.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let head = read_head(reader)?;
    if head.is_empty() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut words = text.split_whitespace();
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let headers = parse_headers(&text);
    let has = |name: &str, value: &str| {
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case(name) && v.eq_ignore_ascii_case(value))
    };
    // boto3 waits for this before sending a body; moto's own interim answer is dropped.
    if has("expect", "100-continue") {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let (raw_body, body) = read_body(reader, &headers, false)?;
    let mut raw = head;
    raw.extend_from_slice(&raw_body);
    Ok(Some(Request { method: method.to_string(), target: target.to_string(), headers, raw, body }))
}

/// The head up to and including the blank line; empty at a clean end of stream.
fn read_head(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            if head.is_empty() {
                return Ok(head);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "head cut short"));
        }
        if &head[start..] == b"\r\n" || &head[start..] == b"\n" {
            return Ok(head);
        }
    }
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A body as framed by its headers: (the bytes as sent, the decoded body). An answer with
/// neither length nor chunks runs to the end of the stream; a request then has no body.
fn read_body(
    reader: &mut impl BufRead,
    headers: &[(String, String)],
    to_eof: bool,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let get = |name: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    };
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let (mut raw, mut body) = (Vec::new(), Vec::new());
        loop {
            let mut line = Vec::new();
            reader.read_until(b'\n', &mut line)?;
            raw.extend_from_slice(&line);
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.trim().split(';').next().unwrap_or_default().to_string();
            let size = usize::from_str_radix(&size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the blank line.
                raw.extend_from_slice(&read_head(reader)?);
                return Ok((raw, body));
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            raw.extend_from_slice(&chunk);
            body.extend_from_slice(&chunk[..size]);
        }
    }
    if let Some(length) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        return Ok((body.clone(), body));
    }
    let mut body = Vec::new();
    if to_eof {
        reader.read_to_end(&mut body)?;
    }
    Ok((body.clone(), body))
}

/// Service (from the signature's credential scope), operation and sender of a request.
fn classify(request: &Request) -> Seen {
    let service = request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown")
        .to_string();
    let (path, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
    let operation = match service.as_str() {
        "s3" => s3_operation(&request.method, path, query, request.header("x-amz-copy-source")),
        // The query protocol (IAM, STS): the action is a form field of the body, or of the
        // query string for a GET.
        _ => form_value(&String::from_utf8_lossy(&request.body), "Action")
            .or_else(|| form_value(query, "Action"))
            .unwrap_or_else(|| "unknown".into()),
    };
    let agent = match request.header("user-agent").unwrap_or_default() {
        // The SDK's clients, and the wizard's own signed requests (engine/aws/http.rs).
        ua if ua.contains("aws-sdk-rust") || ua.starts_with("kops-wizard/") => Agent::Wizard,
        ua if ua.contains("Boto3") || ua.contains("Botocore") => Agent::StandIn,
        _ => Agent::Other,
    };
    Seen { service, operation, agent, method: request.method.clone(), fault: None }
}

fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| match pair.split_once('=') {
        Some((k, v)) if k == name => Some(v.to_string()),
        _ => None,
    })
}

/// The S3 operation a path-style request is (the REST API has no action field).
pub fn s3_operation(method: &str, path: &str, query: &str, copy_source: Option<&str>) -> String {
    let path = path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b, Some(k)),
        Some((b, _)) => (b, None),
        None => (path, None),
    };
    let params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or(p))
        .collect();
    let has = |p: &str| params.contains(&p);
    if bucket.is_empty() {
        return "ListBuckets".into();
    }
    let verb = match method {
        "GET" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "HEAD" => "Head",
        _ => "Post",
    };
    if let Some(_key) = key {
        return match method {
            "PUT" if copy_source.is_some() => "CopyObject".into(),
            _ => format!("{verb}Object"),
        };
    }
    // Bucket subresources the wizard and kops use; `publicAccessBlock` has no "Bucket" in
    // its operation names.
    for (sub, name) in [
        ("versioning", "BucketVersioning"),
        ("encryption", "BucketEncryption"),
        ("tagging", "BucketTagging"),
        ("policy", "BucketPolicy"),
        ("acl", "BucketAcl"),
        ("publicAccessBlock", "PublicAccessBlock"),
    ] {
        if has(sub) {
            return format!("{verb}{name}");
        }
    }
    if has("location") {
        return "GetBucketLocation".into();
    }
    if has("versions") {
        return "ListObjectVersions".into();
    }
    if has("delete") {
        return "DeleteObjects".into();
    }
    match method {
        "PUT" => "CreateBucket".into(),
        "HEAD" => "HeadBucket".into(),
        "DELETE" => "DeleteBucket".into(),
        "GET" if has("list-type") => "ListObjectsV2".into(),
        "GET" => "ListObjects".into(),
        _ => format!("{method} bucket"),
    }
}

/// What AWS answers when it throttles or fails, per service: the status, the error XML its
/// SDKs parse (S3's `<Error>`, the query protocol's `<ErrorResponse>`), no body for a HEAD.
fn error_response(seen: &Seen, fault: Fault) -> Vec<u8> {
    let id = format!("FAULT{:012}", rand_id());
    let (status, reason, code, message) = match (seen.service.as_str(), fault) {
        ("s3", Fault::Throttle) => {
            (503, "Slow Down", "SlowDown", "Please reduce your request rate.")
        }
        ("s3", Fault::ServerError) => (
            500,
            "Internal Server Error",
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        ("s3", _) => {
            (503, "Service Unavailable", "ServiceUnavailable", "Please reduce your request rate.")
        }
        ("ec2", Fault::Throttle) => {
            (503, "Service Unavailable", "RequestLimitExceeded", "Request limit exceeded.")
        }
        (_, Fault::Throttle) => (400, "Bad Request", "Throttling", "Rate exceeded"),
        (_, Fault::Gone(code)) => {
            (400, "Bad Request", code, "One or more resources were not found")
        }
        ("iam", Fault::ServerError) => (
            500,
            "Internal Server Error",
            "ServiceFailure",
            "Request processing has failed due to some unknown error, exception or failure.",
        ),
        (_, Fault::ServerError) => (
            500,
            "Internal Server Error",
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
        _ => (
            503,
            "Service Unavailable",
            "ServiceUnavailable",
            "Service is unable to handle request.",
        ),
    };
    let body = match seen.service.as_str() {
        _ if seen.method == "HEAD" => String::new(),
        "s3" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
             <RequestId>{id}</RequestId><HostId>{id}</HostId></Error>"
        ),
        // EC2's own error shape.
        "ec2" => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
             <Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
        ),
        service => {
            let xmlns = match service {
                "sts" => "https://sts.amazonaws.com/doc/2011-06-15/",
                "elasticloadbalancing" => {
                    "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
                }
                _ => "https://iam.amazonaws.com/doc/2010-05-08/",
            };
            let kind = if status < 500 { "Sender" } else { "Receiver" };
            format!(
                "<ErrorResponse xmlns=\"{xmlns}\">\n  <Error>\n    <Type>{kind}</Type>\n    \
                 <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  \
                 <RequestId>{id}</RequestId>\n</ErrorResponse>\n"
            )
        }
    };
    let content_type = if seen.service == "s3" { "application/xml" } else { "text/xml" };
    let id_header = if seen.service == "s3" { "x-amz-request-id" } else { "x-amzn-RequestId" };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{id_header}: {id}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A request id that differs between answers (no randomness needed beyond that).
fn rand_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::s3_operation;

    #[test]
    fn s3_operations_are_told_from_method_path_and_query() {
        let op = |m, p, q| s3_operation(m, p, q, None);
        assert_eq!(op("GET", "/", ""), "ListBuckets");
        assert_eq!(op("GET", "/", "prefix=b"), "ListBuckets");
        assert_eq!(op("PUT", "/b", ""), "CreateBucket");
        assert_eq!(op("HEAD", "/b", ""), "HeadBucket");
        assert_eq!(op("PUT", "/b", "versioning"), "PutBucketVersioning");
        assert_eq!(op("GET", "/b", "versioning"), "GetBucketVersioning");
        assert_eq!(op("PUT", "/b", "publicAccessBlock"), "PutPublicAccessBlock");
        assert_eq!(op("GET", "/b", "encryption"), "GetBucketEncryption");
        assert_eq!(op("GET", "/b", "versions&max-keys=1000"), "ListObjectVersions");
        assert_eq!(op("POST", "/b", "delete"), "DeleteObjects");
        assert_eq!(op("GET", "/b", "list-type=2&prefix=c"), "ListObjectsV2");
        assert_eq!(op("GET", "/b", "location"), "GetBucketLocation");
        assert_eq!(op("DELETE", "/b", ""), "DeleteBucket");
        assert_eq!(op("HEAD", "/b/c/config", ""), "HeadObject");
        assert_eq!(op("PUT", "/b/c/config", "x-id=PutObject"), "PutObject");
        assert_eq!(op("GET", "/b/c/config", "x-id=GetObject"), "GetObject");
    }
}
