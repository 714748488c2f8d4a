//! A forward proxy on loopback, as a company network has one: plain HTTP requests in absolute
//! form (`GET http://host/path`) and `CONNECT host:port` tunnels (for HTTPS).
//!
//! It is the tests' way to names no resolver knows: `<anything>.kw-test:<port>` is the test's
//! own server on 127.0.0.1:<port>, and an NLB's DNS name (`*.elb.amazonaws.com`) is the fake
//! cluster's pods (fake_k8s.py routes by the Host header as the NLB would). A client that
//! ignores the proxy cannot reach either. Every request is logged, each answer it could not
//! route too (`REFUSED host`).
//!
//! Each client connection is given its own connection upstream, so a client that keeps one
//! connection for several requests reaches one pod, as through a real NLB.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a host name leads.
#[derive(Debug, Clone)]
enum Target {
    /// 127.0.0.1 on the port the client asked for.
    Loopback,
    /// A fixed address, whatever the port.
    Fixed(SocketAddr),
}

#[derive(Default)]
struct Shared {
    /// Host-name suffixes and where they lead; the first match wins.
    routes: Mutex<Vec<(String, Target)>>,
    /// `CONNECT host:port` or `METHOD http://host/path`, in order; `REFUSED host` for a name
    /// with no route.
    log: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn resolve(&self, host: &str, port: u16) -> Option<SocketAddr> {
        let routes = self.routes.lock().unwrap();
        let (_, target) = routes.iter().find(|(suffix, _)| host.ends_with(suffix.as_str()))?;
        Some(match target {
            Target::Loopback => SocketAddr::from(([127, 0, 0, 1], port)),
            Target::Fixed(addr) => *addr,
        })
    }

    fn note(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

/// The suffix of the names the tests give their servers.
pub const TEST_DOMAIN: &str = ".kw-test";

impl Proxy {
    /// A proxy that routes `*.kw-test` to loopback and nothing else (yet).
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the proxy's port");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        shared.routes.lock().unwrap().push((TEST_DOMAIN.into(), Target::Loopback));
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let shared = accepting.clone();
                std::thread::spawn(move || {
                    let _ = serve(client, &shared);
                });
            }
        });
        Proxy { port, shared }
    }

    /// `http://127.0.0.1:<port>`, for the proxy variables.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Names ending in `suffix` lead to `addr` (`host:port`), whatever port is asked.
    pub fn route(&self, suffix: &str, addr: &str) {
        let addr = addr.trim_start_matches("http://").parse().expect("an address host:port");
        self.shared.routes.lock().unwrap().insert(0, (suffix.into(), Target::Fixed(addr)));
    }

    /// What went through, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
    }
}

/// One request's head: its first line's parts and the whole head's bytes.
struct Head {
    method: String,
    target: String,
    version: String,
    /// The header lines, each with its CRLF.
    headers: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<String> {
        String::from_utf8_lossy(&self.headers).lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Reads a request head; `None` at a clean end of the connection.
fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::other(format!("not a request line: {line:?}")));
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if h == "\r\n" || h == "\n" {
            break;
        }
        headers.extend_from_slice(h.as_bytes());
    }
    Ok(Some(Head {
        method: method.into(),
        target: target.into(),
        version: version.into(),
        headers,
    }))
}

/// `host` and `port` of `host:port` (`default` when there is no port).
fn host_port(authority: &str, default: u16) -> (String, u16) {
    match authority.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() => (h.to_string(), p.parse().unwrap()),
        _ => (authority.to_string(), default),
    }
}

fn refuse(client: &mut TcpStream, shared: &Shared, host: &str) -> io::Result<()> {
    shared.note(format!("REFUSED {host}"));
    let body = format!("kw-test proxy: no route to {host}\n");
    write!(
        client,
        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn serve(mut client: TcpStream, shared: &Shared) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(head) = read_head(&mut reader)? else { return Ok(()) };
    if head.method == "CONNECT" {
        let (host, port) = host_port(&head.target, 443);
        shared.note(format!("CONNECT {}", head.target));
        let Some(addr) = shared.resolve(&host, port) else {
            return refuse(&mut client, shared, &host);
        };
        let mut upstream = TcpStream::connect(addr)?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        // Whatever the client sent after the head is the tunnel's first bytes.
        upstream.write_all(reader.buffer())?;
        let down = (upstream.try_clone()?, client.try_clone()?);
        let t = std::thread::spawn(move || pipe(down.0, down.1));
        pipe(client, upstream);
        let _ = t.join();
        return Ok(());
    }
    // Absolute form: `GET http://host[:port]/path HTTP/1.1`.
    let Some(rest) = head.target.strip_prefix("http://") else {
        return refuse(&mut client, shared, &head.target);
    };
    let authority = rest.split('/').next().unwrap_or_default().to_string();
    let (host, port) = host_port(&authority, 80);
    let Some(addr) = shared.resolve(&host, port) else {
        shared.note(format!("{} {}", head.method, head.target));
        return refuse(&mut client, shared, &host);
    };
    let mut upstream = TcpStream::connect(addr)?;
    let answers = (upstream.try_clone()?, client.try_clone()?);
    let t = std::thread::spawn(move || pipe(answers.0, answers.1));
    let mut next = Some(head);
    while let Some(head) = next {
        shared.note(format!("{} {}", head.method, head.target));
        let Some(path) = head.target.strip_prefix(&format!("http://{authority}")) else {
            // The client reused the connection for another host: not what a pooled client
            // does; end it rather than send the request to the wrong server.
            shared.note(format!("REFUSED {} (on a connection to {authority})", head.target));
            break;
        };
        let path = if path.is_empty() { "/" } else { path };
        upstream.write_all(format!("{} {path} {}\r\n", head.method, head.version).as_bytes())?;
        upstream.write_all(&head.headers)?;
        upstream.write_all(b"\r\n")?;
        copy_body(&head, &mut reader, &mut upstream)?;
        next = read_head(&mut reader)?;
    }
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = t.join();
    Ok(())
}

/// The request's body, as its headers frame it.
fn copy_body(head: &Head, from: &mut impl BufRead, to: &mut impl Write) -> io::Result<()> {
    if head.header("Transfer-Encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            from.read_line(&mut size)?;
            to.write_all(size.as_bytes())?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(io::Error::other)?;
            if n == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut t = String::new();
                    from.read_line(&mut t)?;
                    to.write_all(t.as_bytes())?;
                    if t == "\r\n" || t.is_empty() {
                        return Ok(());
                    }
                }
            }
            io::copy(&mut from.take(n as u64 + 2), to)?;
        }
    }
    let n: u64 = head.header("Content-Length").and_then(|n| n.parse().ok()).unwrap_or(0);
    io::copy(&mut from.take(n), to)?;
    Ok(())
}

/// Copies until either side ends, then ends the other's writing.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}
