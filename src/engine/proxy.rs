//! Proxies as the environment names them: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (each also in lower case), for every network path of the wizard's own: the
//! signed-request client of the cloud check, the Kubernetes client, and the smoke test's HTTP
//! through the NLB. (The AWS SDK's own clients read the same variables; kops does too.)
//!
//! kube-client reads `HTTPS_PROXY` but checks `NO_PROXY` against the proxy's own address, not
//! the API server's, so the wizard decides for it ([`for_uri`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The environment's proxy rules, read once per process.
fn matcher() -> &'static Matcher {
    static MATCHER: OnceLock<Matcher> = OnceLock::new();
    MATCHER.get_or_init(Matcher::from_env)
}

/// The proxy to reach `uri` through, if the environment names one and `NO_PROXY` does not
/// exempt the host.
pub fn for_uri(uri: &Uri) -> Option<Uri> {
    matcher().intercept(uri).map(|i| i.uri().clone())
}

/// The proxy settings in words, for `doctor` (no password: a proxy's credentials are cut).
pub fn describe() -> Option<String> {
    let var = |names: &[&str]| {
        names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let shown = |v: String| match v.parse::<Uri>() {
        // `user:password@host` becomes `host`.
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(s), Some(a)) => format!("{s}://{}", a.as_str().rsplit('@').next().unwrap_or("")),
            _ => crate::text::one_line(&v),
        },
        Err(_) => crate::text::one_line(&v),
    };
    let https = var(&["HTTPS_PROXY", "https_proxy"]).map(shown);
    let http = var(&["HTTP_PROXY", "http_proxy"]).map(shown);
    let all = var(&["ALL_PROXY", "all_proxy"]).map(shown);
    let no = var(&["NO_PROXY", "no_proxy"]);
    let mut parts = Vec::new();
    if let Some(p) = https {
        parts.push(format!("HTTPS_PROXY {p}"));
    }
    if let Some(p) = http {
        parts.push(format!("HTTP_PROXY {p}"));
    }
    if let Some(p) = all {
        parts.push(format!("ALL_PROXY {p}"));
    }
    if parts.is_empty() {
        return None;
    }
    if let Some(no) = no {
        parts.push(format!("NO_PROXY {}", crate::text::one_line(&no)));
    }
    Some(parts.join("; "))
}

/// A connection made for a request: straight to the destination (or through a tunnel the
/// proxy opened with CONNECT, for https), or to an HTTP proxy that is sent the request itself
/// (plain http: the request line then carries the whole URL).
pub enum Stream {
    Direct(TokioIo<TcpStream>),
    ToProxy(TokioIo<TcpStream>),
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Direct(s) => s.connected(),
            Stream::ToProxy(s) => s.connected().proxy(true),
        }
    }
}

impl Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(s) | Stream::ToProxy(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Direct(s) | Stream::ToProxy(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(s) | Stream::ToProxy(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Direct(s) | Stream::ToProxy(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// A connector that honours the environment's proxies: https through a CONNECT tunnel (TLS
/// then runs end to end, over it), plain http by sending the request to the proxy.
#[derive(Clone)]
pub struct ProxyConnector {
    http: HttpConnector,
    rules: &'static Matcher,
}

impl ProxyConnector {
    /// The environment's rules over `http` (which must not enforce the http scheme: TLS is
    /// layered on top by the caller).
    pub fn new(http: HttpConnector) -> Self {
        ProxyConnector { http, rules: matcher() }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let proxy = self.rules.intercept(&dst).map(|i| i.uri().clone());
        Box::pin(async move {
            match proxy {
                None => Ok(Stream::Direct(http.call(dst).await?)),
                Some(proxy) if dst.scheme_str() == Some("https") => {
                    let mut tunnel = Tunnel::new(proxy, http);
                    Ok(Stream::Direct(tunnel.call(dst).await?))
                }
                Some(proxy) => Ok(Stream::ToProxy(http.call(proxy).await?)),
            }
        })
    }
}
