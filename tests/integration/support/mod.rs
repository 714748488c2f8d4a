//! The test bed: a real moto server on a free loopback port, an isolated environment for each
//! test (HOME, XDG dirs, AWS_* variables), and the kops stand-in installed as `kops`.
#![allow(dead_code)] // Each test module uses a different part of the bed.

pub mod evidence;
pub mod faults;
pub mod judge;
pub mod proxy;
pub mod tmux;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (for the stand-in and the fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Python that has moto's server: `KW_TEST_PYTHON`, else the virtualenv `scripts/test`
/// makes under target/, else `python3` if it has moto. Never skips: without moto every test
/// that needs it fails and says how to get it.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        // An absolute KW_TEST_PYTHON is taken as it is: scripts/test found it with moto
        // (scripts/python-env). Asking it again costs an import of moto's server, over a second
        // of CPU, in each of the suite's test processes (nextest runs every test in its own).
        if let Some(given) = std::env::var_os("KW_TEST_PYTHON").map(PathBuf::from)
            && given.is_absolute()
            && given.is_file()
        {
            return given;
        }
        let candidates = std::env::var_os("KW_TEST_PYTHON")
            .map(PathBuf::from)
            .into_iter()
            .chain([repo().join("target/test-venv/bin/python"), PathBuf::from("python3")]);
        for candidate in candidates {
            // The absolute interpreter, so the tests' own PATH (and pyenv shims) do not matter.
            let found = Command::new(&candidate)
                .args(["-c", "import moto.server, flask_cors, boto3, sys; print(sys.executable)"])
                .stderr(Stdio::null())
                .output()
                .ok()
                .filter(|out| out.status.success())
                .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
            if let Some(python) = found {
                return python;
            }
        }
        panic!(
            "no Python with moto's server found: run `scripts/test` (it installs moto into \
             target/test-venv), or set KW_TEST_PYTHON to a python that has `moto[server]`"
        );
    })
}

/// A moto server of our own, stopped when dropped. Its request log tells which AWS requests
/// reached it.
pub struct Moto {
    server: Server,
    pub port: u16,
    log: PathBuf,
    /// The admin key of a server in auth mode (see [`Moto::start_with_auth`]).
    admin: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

/// The requests moto answers without checking them in auth mode: exactly the bootstrap's
/// CreateUser, PutUserPolicy and CreateAccessKey. moto counts them over the whole server
/// (every service, every caller), so nothing else may reach it first.
pub const AUTH_BOOTSTRAP_REQUESTS: u32 = 3;

impl Moto {
    /// moto as the tests usually have it: any key and any secret are accepted.
    pub fn start() -> Moto {
        Moto::launch(None)
    }

    /// moto checking every request as AWS does: after the first [`AUTH_BOOTSTRAP_REQUESTS`]
    /// (`INITIAL_NO_AUTH_ACTION_COUNT`), each signature is checked against the key's secret
    /// (a wrong one is `SignatureDoesNotMatch`, an unknown key `InvalidClientTokenId`) and
    /// each action against the caller's IAM policies. Those first requests make an admin user
    /// with an allow-everything policy and its key: [`Moto::admin_key`].
    pub fn start_with_auth() -> Moto {
        let mut moto = Moto::launch(Some(AUTH_BOOTSTRAP_REQUESTS));
        moto.admin = Some(moto.bootstrap_admin());
        moto
    }

    fn launch(auth_after: Option<u32>) -> Moto {
        // A port picked by binding to 0 can be taken by someone else before moto binds it:
        // try a few times rather than fail the test on a race.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let log = dir.path().join("moto.log");
            let out = fs::File::create(&log).expect("moto log");
            let err = out.try_clone().expect("moto log");
            let port = free_port();
            let pooled = match auth_after {
                None => from_pool(port, &log),
                // Auth mode's settings are read when moto is imported: never a pool's fork.
                Some(_) => None,
            };
            if let Some(pid) = pooled {
                drop((out, err));
                let mut moto =
                    Moto { server: Server::Forked(pid), port, log, admin: None, _dir: dir };
                if moto.wait_ready(Duration::from_secs(30)) {
                    return moto;
                }
                continue;
            }
            let mut cmd = Command::new(python());
            cmd.arg(repo().join("tests/support/moto_server.py"))
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
            if let Some(n) = auth_after {
                cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("start the moto server");
            let mut moto = Moto { server: Server::Child(child), port, log, admin: None, _dir: dir };
            // The readiness probe is a /moto-api/ call, which moto does not count.
            if moto.wait_ready(Duration::from_secs(30)) {
                return moto;
            }
            // Dropping `moto` kills the failed server before the next try.
        }
        panic!("the moto server did not start in 5 tries");
    }

    /// The admin user, its policy and its key, in exactly the unchecked requests (boto3 with
    /// retries off, so none is sent twice).
    fn bootstrap_admin(&self) -> (String, String) {
        let script = format!(
            r#"
import json, boto3
from botocore.config import Config
iam = boto3.client("iam", endpoint_url={url:?}, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
                   config=Config(retries={{"total_max_attempts": 1}}))
iam.create_user(UserName="admin")
iam.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=json.dumps(
    {{"Version": "2012-10-17",
      "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}}))
key = iam.create_access_key(UserName="admin")["AccessKey"]
print(key["AccessKeyId"], key["SecretAccessKey"])
"#,
            url = self.endpoint()
        );
        let quiet = [("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string())];
        let (code, text, err) = python_c(&quiet, &script);
        assert_eq!(code, 0, "bootstrapping the admin in moto's unchecked requests failed: {err}");
        let (id, secret) = text.trim().split_once(' ').expect("the admin key id and secret");
        (id.to_string(), secret.to_string())
    }

    /// The admin's key id and secret: the bootstrapped key in auth mode, else the fixed
    /// pair (which moto accepts like any other then).
    pub fn admin_key(&self) -> (&str, &str) {
        match &self.admin {
            Some((id, secret)) => (id, secret),
            None => (ADMIN_KEY_ID, ADMIN_SECRET),
        }
    }

    pub fn is_auth(&self) -> bool {
        self.admin.is_some()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            let exited = match &mut self.server {
                Server::Child(child) => matches!(child.try_wait(), Ok(Some(_))),
                Server::Forked(pid) => !alive(*pid),
            };
            if exited {
                return false; // the port was taken, or moto is broken
            }
            if http_get(self.port, "/moto-api/").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The AWS requests moto has answered (its own `/moto-api/` calls left out), as logged.
    pub fn requests(&self) -> Vec<String> {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("\" ") && l.contains(" HTTP/1.1\""))
            .filter(|l| !l.contains("/moto-api/"))
            .map(str::to_string)
            .collect()
    }
}

/// A moto server: a child of this test, or a fork of the suite's moto pool
/// (tests/support/moto_pool.py, started by scripts/test, named by `KW_MOTO_POOL`).
enum Server {
    Child(Child),
    Forked(u32),
}

impl Drop for Moto {
    fn drop(&mut self) {
        match &mut self.server {
            Server::Child(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::Forked(pid) => {
                // Not our child to wait for: gone means gone from /proc (the pool's kernel
                // reaps it), so its port is closed when drop returns, as with a child.
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                dies_within(*pid, Duration::from_secs(10));
            }
        }
    }
}

/// The suite's fork server (moto_pool.py), when scripts/test started one.
pub fn pool() -> Option<PathBuf> {
    let socket = PathBuf::from(std::env::var_os("KW_MOTO_POOL")?);
    socket.exists().then_some(socket)
}

/// A server forked by the moto pool, serving on `port` with its output in `log`: its pid, or
/// `None` without a pool (the caller then starts moto itself).
fn from_pool(port: u16, log: &Path) -> Option<u32> {
    let mut conn = std::os::unix::net::UnixStream::connect(pool()?).ok()?;
    let request = serde_json::json!({ "port": port, "log": log });
    writeln!(conn, "{request}").ok()?;
    let mut answer = String::new();
    BufReader::new(conn).read_line(&mut answer).ok()?;
    serde_json::from_str::<serde_json::Value>(&answer).ok()?["pid"].as_u64()?.try_into().ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A minimal HTTP GET, enough to see that the server answers.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// The admin credentials the tests hand the wizard (moto accepts any unless in auth mode).
pub const ADMIN_KEY_ID: &str = "AKIAADMINTESTKEY0001";
pub const ADMIN_SECRET: &str = "admin-secret-never-printed-0001";

/// An isolated environment: its own HOME and XDG dirs, only the AWS_* variables it sets, and
/// a PATH of its own `bin` dir plus the system's (so no kops of the developer's is found).
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
    /// The fake Kubernetes API of the cluster the stand-in brings up, when one runs.
    kube: Option<FakeKube>,
    /// The stand-in's fork server, once installed.
    zygote: Option<Zygote>,
    /// The forward proxy the environment's proxy variables name, once there is one.
    proxy: Option<proxy::Proxy>,
    /// The fake cluster API's host name in the kubeconfig (else 127.0.0.1).
    api_host: Option<String>,
}

/// tests/support/kops_zygote.py: runs each kops call in a fork of a process that imported the
/// stand-in once. Its children are kops processes as much as the shims that wait for them.
struct Zygote {
    child: Child,
}

impl Drop for Zygote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tests/support/fake_k8s.py: the cluster's API server and its AWS cloud controller, over TLS
/// with the client certificate the stand-in's kubeconfig carries. It exits when its stdin
/// closes, and is killed with the environment.
pub struct FakeKube {
    child: Child,
    /// `https://127.0.0.1:<port>` (a cluster's API is `<api>/clusters/<name>`).
    pub api: String,
    /// The pods' HTTP (`GET /hostname`), where the environment's proxy sends an NLB's name.
    pub apps: String,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        evidence::environment(self.dir.path(), &self.home());
    }
}

impl TestEnv {
    /// An environment whose AWS calls go to `moto` with admin credentials in the key variables.
    pub fn new(moto: Option<&Moto>) -> TestEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for sub in ["home", "config", "state", "data", "cache", "bin"] {
            fs::create_dir_all(root.join(sub)).expect("test dirs");
        }
        let p = |sub: &str| root.join(sub).display().to_string();
        let mut vars = vec![
            ("HOME".to_string(), p("home")),
            ("XDG_CONFIG_HOME".into(), p("config")),
            ("XDG_STATE_HOME".into(), p("state")),
            ("XDG_DATA_HOME".into(), p("data")),
            ("XDG_CACHE_HOME".into(), p("cache")),
            ("PATH".into(), format!("{}:/usr/local/bin:/usr/bin:/bin", p("bin"))),
            ("AWS_REGION".into(), "us-east-1".into()),
            // boto3 (the stand-in, the tests' own checks) reads only the older name.
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            // Without this the SDK's chain would probe the EC2 metadata endpoint and wait.
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("NO_COLOR".into(), "1".into()),
            // A smoke test that cannot pass says so in seconds, not the product's ten minutes.
            ("KOPS_WIZARD_SMOKE_WAIT".into(), "30s".into()),
        ];
        if let Some(moto) = moto {
            let (id, secret) = moto.admin_key();
            vars.push(("AWS_ENDPOINT_URL".into(), moto.endpoint()));
            vars.push(("AWS_ACCESS_KEY_ID".into(), id.into()));
            vars.push(("AWS_SECRET_ACCESS_KEY".into(), secret.into()));
        }
        TestEnv { dir, vars, kube: None, zygote: None, proxy: None, api_host: None }
    }

    /// An environment on a company network: its servers have names no resolver knows (moto is
    /// `moto.kw-test`, the cluster's API `k8s.kw-test`), which only the proxy its proxy
    /// variables name can reach, and no `NO_PROXY`. A client that ignores the proxy reaches
    /// nothing.
    pub fn behind_proxy(moto: &Moto) -> TestEnv {
        let mut env = TestEnv::new(Some(moto));
        env.set("AWS_ENDPOINT_URL", format!("http://moto{}:{}", proxy::TEST_DOMAIN, moto.port));
        env.use_proxy(None);
        env.api_host = Some(format!("k8s{}", proxy::TEST_DOMAIN));
        env
    }

    /// Starts the environment's forward proxy and names it in the proxy variables (both
    /// cases: curl reads only the lower-case `http_proxy`), with `no_proxy` as `NO_PROXY`.
    fn use_proxy(&mut self, no_proxy: Option<&str>) {
        let proxy = proxy::Proxy::start();
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
            self.set(var, proxy.url());
        }
        for var in ["NO_PROXY", "no_proxy"] {
            match no_proxy {
                Some(list) => self.set(var, list),
                None => self.unset(var),
            }
        }
        self.proxy = Some(proxy);
    }

    /// The environment's forward proxy, when it has one.
    pub fn proxy(&self) -> Option<&proxy::Proxy> {
        self.proxy.as_ref()
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// The environment's variables, but for those named in `without`.
    pub fn vars_without(&self, without: &[&str]) -> Vec<(String, String)> {
        self.vars.iter().filter(|(k, _)| !without.contains(&k.as_str())).cloned().collect()
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.unset(key);
        self.vars.push((key.into(), value.into()));
    }

    pub fn unset(&mut self, key: &str) {
        self.vars.retain(|(k, _)| k != key);
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `cmd` with the environment cleared and replaced by this one.
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env_clear().envs(self.vars.iter().map(|(k, v)| (k, v)))
    }

    /// The wizard binary, in this environment.
    pub fn wizard(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kops-wizard"));
        self.apply(&mut cmd);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        cmd
    }

    /// Installs the kops stand-in as `bin/kops` and gives it a home for its call log and
    /// fake cloud. Returns its path.
    pub fn install_fake_kops(&mut self) -> PathBuf {
        self.install_kops(false)
    }

    /// The stand-in alone, without its fork server or the cluster's API: for runs that must
    /// stop before kops does anything (bad input), where starting those would be most of the
    /// test's time.
    pub fn install_fake_kops_bare(&mut self) -> PathBuf {
        self.install_kops(true)
    }

    fn install_kops(&mut self, bare: bool) -> PathBuf {
        let home = self.path("fake-kops");
        fs::create_dir_all(&home).expect("fake kops home");
        // The shim hands each call to this environment's fork server (kops_zygote.py), which
        // has the stand-in imported already; without one it runs fake_kops.py itself.
        let shim = repo().join("tests/support/kops_shim.py");
        let kops = self.path("bin/kops");
        fs::write(
            &kops,
            format!("#!/bin/sh\nexec '{}' -S '{}' \"$@\"\n", python().display(), shim.display()),
        )
        .expect("write the kops wrapper");
        fs::set_permissions(&kops, fs::Permissions::from_mode(0o755)).expect("chmod kops");
        self.set("FAKE_KOPS_HOME", home.display().to_string());
        if !bare && self.proxy.is_none() && self.get("AWS_ENDPOINT_URL").is_some() {
            // A cluster's Service is reached by its NLB's DNS name, which only the proxy
            // resolves (to the fake's pods); everything on loopback is reached directly.
            self.use_proxy(Some("127.0.0.1,localhost"));
        }
        match pool() {
            // The suite's fork server runs kops calls too, with boto3 and the stand-in already
            // imported: no fork server of this environment's own to start.
            Some(pool) if !bare => std::os::unix::fs::symlink(pool, home.join("zygote.sock"))
                .expect("link the kops stand-in to the suite's fork server"),
            _ if !bare => self.start_zygote(&home),
            _ => {}
        }
        if !bare
            && self.get("AWS_ENDPOINT_URL").is_some()
            && repo().join("tests/support/fake_k8s.py").exists()
        {
            self.start_kube(&home);
        }
        kops
    }

    /// Starts the stand-in's fork server for this environment; it ends when the environment
    /// is dropped (its stdin closes).
    fn start_zygote(&mut self, home: &Path) {
        let log = fs::File::create(home.join("zygote.log")).expect("zygote log");
        let mut cmd = Command::new(python());
        self.apply(&mut cmd)
            .arg(repo().join("tests/support/kops_zygote.py"))
            .arg("--socket")
            .arg(home.join("zygote.sock"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let mut child = cmd.spawn().expect("start the kops stand-in's fork server");
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        assert_eq!(line.trim(), "READY", "the kops fork server did not start: {line:?}");
        self.zygote = Some(Zygote { child });
    }

    /// Starts the fake Kubernetes API for the stand-in's clusters (it writes its CA and client
    /// certificate under the stand-in's home, where the stand-in's kubeconfig takes them from)
    /// and has the proxy send an NLB's DNS name to its pods.
    fn start_kube(&mut self, home: &Path) {
        let log = fs::File::create(home.join("fake-k8s.log")).expect("fake k8s log");
        let mut cmd = Command::new(python());
        self.apply(&mut cmd);
        match pool() {
            // A fork of the suite's fork server, which has boto3, cryptography and botocore's
            // models loaded (a new Python spends most of a second on them), through the
            // stand-in's shim: it stays this child, and its end (killed or stdin closed) ends
            // the fork.
            Some(pool) => cmd
                .arg("-S")
                .arg(repo().join("tests/support/kops_shim.py"))
                .arg("--fake-k8s")
                .arg(pool),
            None => cmd.arg(repo().join("tests/support/fake_k8s.py")),
        };
        cmd.arg("--home").arg(home);
        if let Some(host) = &self.api_host {
            cmd.arg("--api-host").arg(host);
        }
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(log);
        let mut child = cmd.spawn().expect("start the fake Kubernetes API");
        let stdout = child.stdout.take().expect("its stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let mut words = line.split_whitespace();
        let (Some("READY"), Some(api), Some(apps)) = (words.next(), words.next(), words.next())
        else {
            let _ = child.kill();
            let log = fs::read_to_string(home.join("fake-k8s.log")).unwrap_or_default();
            panic!("the fake Kubernetes API did not start (said {line:?}):\n{log}");
        };
        let (api, apps) = (api.to_string(), apps.to_string());
        if let Some(proxy) = &self.proxy {
            proxy.route(".elb.amazonaws.com", &apps);
        }
        self.kube = Some(FakeKube { child, api, apps });
    }

    /// The pid of the stand-in's fork server, when one runs.
    pub fn zygote_pid(&self) -> Option<u32> {
        self.zygote.as_ref().map(|z| z.child.id())
    }

    /// The fake Kubernetes API, when the stand-in runs with one.
    pub fn kube(&self) -> Option<&FakeKube> {
        self.kube.as_ref()
    }

    /// Stops the fake Kubernetes API: the cluster's API no longer answers.
    pub fn stop_kube(&mut self) {
        self.kube = None;
    }

    /// The stand-in's call log: one JSON object per kops invocation.
    /// No log yet means no call, but only where the stand-in is installed: otherwise "kops was
    /// not called" would pass for a stand-in that could never have been.
    pub fn kops_calls(&self) -> Vec<serde_json::Value> {
        assert!(self.path("fake-kops").is_dir(), "the kops stand-in is not installed here");
        let log = fs::read_to_string(self.path("fake-kops/calls.jsonl")).unwrap_or_default();
        log.lines().map(|l| serde_json::from_str(l).expect("a JSON call record")).collect()
    }

    /// The stand-in's cloud file (cluster name → the resources `update cluster --yes` made).
    /// A missing file would pass every "nothing left" check, so it is accepted only where
    /// kops never deployed anything (`update cluster` writes it): then it reads as empty.
    pub fn cloud(&self) -> String {
        let path = self.path("fake-kops/cloud.json");
        let deployed = self.kops_calls().iter().any(|c| c["argv"][0] == "update");
        match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if deployed => panic!("kops deployed, but {}: {e}", path.display()),
            Err(_) => String::new(),
        }
    }

    /// The verbs of the stand-in's calls (`create cluster`, `validate cluster`).
    pub fn kops_verbs(&self) -> Vec<String> {
        verbs(&self.kops_calls())
    }

    /// Writes an answers file into the environment and returns its path.
    pub fn answers(&self, toml: &str) -> PathBuf {
        let path = self.path("answers.toml");
        fs::write(&path, toml).expect("write answers");
        path
    }
}

/// Runs a command and returns (exit code, stdout, stderr).
/// Runs a command and returns (exit code, stdout, stderr). Both streams, and the secrets of
/// the credentials file it may have written, are kept for the secrets scan.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run the command");
    let (stdout, stderr) = record(
        cmd,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// `cmd.output()`, kept for the secrets scan as [`run`]'s is (for a caller that wants the
/// exit status itself: a signal, say).
pub fn output(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run the command");
    record(cmd, text(&out.stdout), text(&out.stderr));
    out
}

/// A spawned child's end: (exit code, stdout, stderr), kept for the secrets scan. What the
/// caller read from its pipes before is its own to keep (see [`evidence::shown`]).
pub fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().expect("the child's end");
    evidence::shown("output", &format!("{}\n{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// Runs `cmd`, killed if it runs past `limit`: (exit code, or -9 when it was killed, stdout,
/// stderr), kept for the secrets scan. Both pipes are read while it runs, so a chatty run
/// cannot fill one and stall.
pub fn run_within(cmd: &mut Command, limit: Duration) -> (i32, String, String) {
    let mut child =
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start the command");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text(&bytes)
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("its stdout")));
    let err = drain(Box::new(child.stderr.take().expect("its stderr")));
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for the command") {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -9;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    let (out, err) = record(cmd, out, err);
    (code, out, err)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Keeps what a command printed, and the secrets its environment's home holds, for the
/// secrets scan (support `evidence`).
fn record(cmd: &Command, stdout: String, stderr: String) -> (String, String) {
    evidence::shown("output", &format!("{stdout}\n{stderr}"));
    let var = |name: &str| {
        cmd.get_envs().find(|(k, _)| *k == name).and_then(|(_, v)| v).map(PathBuf::from)
    };
    if let Some(home) = var("HOME") {
        evidence::secrets_under(&home, var("AWS_SHARED_CREDENTIALS_FILE").as_deref());
    }
    (stdout, stderr)
}

/// `python -c script` with exactly `vars` as its environment: (exit code, stdout, stderr).
/// It runs in a fork of the suite's fork server (moto_pool.py) when there is one: boto3 is
/// imported there and botocore's models are read, which a new Python spends half a second
/// on; else in a new Python.
pub fn python_c(vars: &[(String, String)], script: &str) -> (i32, String, String) {
    let mut cmd = Command::new(python());
    cmd.env_clear().envs(vars.iter().map(|(k, v)| (k, v))).args(["-c", script]);
    let Some(mut conn) = pool().and_then(|p| std::os::unix::net::UnixStream::connect(p).ok())
    else {
        return run(&mut cmd);
    };
    let env: serde_json::Map<_, _> =
        vars.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
    let cwd = std::env::current_dir().expect("the test's directory");
    let request = serde_json::json!({ "script": script, "env": env, "cwd": cwd });
    writeln!(conn, "{request}").expect("send the script to the fork server");
    let mut answer = String::new();
    let _ = BufReader::new(conn).read_line(&mut answer);
    let answer: serde_json::Value = serde_json::from_str(&answer)
        .unwrap_or_else(|_| panic!("the fork server's script child died: {answer:?}"));
    let text = |k: &str| answer[k].as_str().unwrap_or_default().to_string();
    let code = answer["exit"].as_i64().map_or(-1, |c| c as i32);
    let (stdout, stderr) = record(&cmd, text("stdout"), text("stderr"));
    (code, stdout, stderr)
}

/// SDK clients on `moto` with the admin credentials, for checking AWS's state directly.
pub async fn admin_clients(moto: &Moto) -> kops_wizard::engine::aws::clients::Clients {
    use aws_sdk_s3::config::{Credentials, Region};
    let (id, secret) = moto.admin_key();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(id, secret, None, None, "test"))
        .endpoint_url(moto.endpoint())
        .load()
        .await;
    kops_wizard::engine::aws::clients::Clients::new(&config)
}

/// Another administrator of the same account: an IAM user `name` with AdministratorAccess and
/// a key of its own. moto answers `sts:GetCallerIdentity` with the user a key belongs to, so
/// two machines with two admins are told apart in "set up by" (the shared test key answers as
/// `user/moto` whoever uses it).
pub async fn another_admin(moto: &Moto, name: &str) -> (String, String) {
    let c = admin_clients(moto).await;
    c.iam.create_user().user_name(name).send().await.expect("the admin user");
    c.iam
        .attach_user_policy()
        .user_name(name)
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .expect("its policy");
    let key = c.iam.create_access_key().user_name(name).send().await.expect("its key");
    let key = key.access_key().expect("the key");
    (key.access_key_id().to_string(), key.secret_access_key().to_string())
}

impl TestEnv {
    /// This machine's admin is `key` (see [`another_admin`]).
    pub fn as_admin(&mut self, key: &(String, String)) {
        self.set("AWS_ACCESS_KEY_ID", key.0.clone());
        self.set("AWS_SECRET_ACCESS_KEY", key.1.clone());
        evidence::secret(&key.1);
    }
}

/// Makes `bucket` on `moto` as another AWS account's (222222222222, reached with
/// sts:AssumeRole): the name is then taken for the tests' admin. moto answers that admin's
/// HeadBucket with 200 (S3 itself says 403), CreateBucket with BucketAlreadyExists, and leaves
/// the bucket out of its ListBuckets (moto-notes.md).
pub async fn foreign_bucket(moto: &Moto, bucket: &str) {
    use aws_sdk_s3::config::{Credentials, Region};
    let admin = admin_clients(moto).await;
    let role = admin
        .sts
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/other-team")
        .role_session_name("other-team")
        .send()
        .await
        .expect("assume a role in the other account");
    let creds = role.credentials().expect("the role's credentials");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "other-account",
        ))
        .endpoint_url(moto.endpoint())
        .load()
        .await;
    let other = kops_wizard::engine::aws::clients::Clients::new(&config);
    let id = other.whoami().await.expect("the other account's identity");
    assert_eq!(id.account, "222222222222", "the role is in another account");
    other.s3.create_bucket().bucket(bucket).send().await.expect("the other account's bucket");
}

/// The verbs of the stand-in's calls: argv up to the first flag.
pub fn verbs(calls: &[serde_json::Value]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let argv = c["argv"].as_array().map(Vec::as_slice).unwrap_or_default();
            let words: Vec<&str> = argv.iter().filter_map(|a| a.as_str()).collect();
            words.iter().take_while(|a| !a.starts_with('-')).copied().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// A process that exists and is not a zombie (a killed child nobody reaped yet is gone).
pub fn alive(pid: u32) -> bool {
    // The state follows the command name in parentheses: `123 (python3) Z ...`.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit(')').next().map(|rest| rest.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// Whether `pid` is gone within `limit`, polled.
pub fn dies_within(pid: u32, limit: Duration) -> bool {
    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The pid of the stand-in kops that is hanging now (`FAKE_KOPS_HANG`), once it has started:
/// the signal tests send theirs while a real kops process runs. Remove `hang.pid` first.
pub fn hung_kops(env: &TestEnv, limit: Duration) -> u32 {
    let path = env.path("fake-kops/hang.pid");
    let started = Instant::now();
    loop {
        if let Some(pid) = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok())
            && alive(pid)
        {
            return pid;
        }
        assert!(started.elapsed() < limit, "no kops hung within {limit:?} ({})", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stand-in kops processes of this environment (its `FAKE_KOPS_HOME`: other tests run the
/// stand-in at the same time) that are alive now, running `verb` when one is given; found in
/// /proc by their argv and environment.
pub fn kops_processes(env: &TestEnv, verb: Option<&str>) -> Vec<u32> {
    let home = format!("FAKE_KOPS_HOME={}", env.get("FAKE_KOPS_HOME").expect("the stand-in"));
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else { continue };
        let argv: Vec<String> =
            cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        let ours = environ.split(|b| *b == 0).any(|v| v == home.as_bytes());
        // The shim (or fake_kops.py run directly) carries the call's argv; the zygote's
        // child running the call shows the zygote's, so it is found by its parent.
        // The shim also runs the fake cluster API (`--fake-k8s`), which is no kops call.
        let shim = argv.iter().any(|a| a.ends_with("fake_kops.py") || a.ends_with("kops_shim.py"))
            && !argv.iter().any(|a| a == "--fake-k8s")
            && verb.is_none_or(|verb| argv.iter().any(|a| a == verb));
        let forked = verb.is_none() && env.zygote_pid().is_some_and(|z| parent(pid) == Some(z));
        if (shim && ours || forked) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

/// The parent of `pid`, from /proc.
fn parent(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
}

/// After the wizard stopped: no kops of this environment is alive (polled briefly, for a
/// child being reaped), judged by the processes, not by a quiet call log.
pub fn no_kops_running(env: &TestEnv, when: &str) {
    let started = Instant::now();
    loop {
        let left = kops_processes(env, None);
        if left.is_empty() {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{when}: kops {left:?} kept running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The wizard's binary, for a terminal's command line.
pub fn bin() -> String {
    env!("CARGO_BIN_EXE_kops-wizard").to_string()
}

/// An environment on `moto` with the kops stand-in installed, as most end-to-end tests want it.
pub fn ready_env(moto: &Moto) -> TestEnv {
    let mut env = TestEnv::new(Some(moto));
    env.install_fake_kops();
    env
}

/// A file's text, or empty when it is not there (what a run printed to it, say).
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

/// Runs `body` (Python) against the fake cluster API of `env`'s cluster `cluster`, as a client
/// with the admin certificate: `base` is the cluster's API URL, `ctx` its TLS context, and
/// `post(path, obj)` and `delete(path)` are at hand. Panics when the script fails.
pub fn fake_api(env: &TestEnv, cluster: &str, body: &str) {
    let api = &env.kube().expect("the fake Kubernetes API").api;
    let k8s = env.path("fake-kops/k8s");
    let script = format!(
        r#"
import json, ssl, sys, time, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile={ca:?})
ctx.load_cert_chain({crt:?}, {key:?})
base = {api:?} + "/clusters/{cluster}"
def post(path, obj):
    req = urllib.request.Request(base + path, data=json.dumps(obj).encode(), method="POST",
                                 headers={{"Content-Type": "application/json"}})
    urllib.request.urlopen(req, context=ctx)
def delete(path):
    urllib.request.urlopen(urllib.request.Request(base + path, method="DELETE"), context=ctx)
{body}
"#,
        ca = k8s.join("ca.crt"),
        crt = k8s.join("client.crt"),
        key = k8s.join("client.key"),
    );
    let (code, out, err) = python_c(&[], &script);
    assert_eq!(code, 0, "{out}\n{err}");
}
