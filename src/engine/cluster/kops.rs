//! kops: finding the binary, reading its version, and building argv from typed options
//! (never a shell string). The same argv feeds the child process and the plan script.

use crate::answers::Answers;
pub use crate::plan::kops_args::{
    CREDENTIAL_VARS, create_cluster_args, delete_cluster_args, export_kubeconfig_args,
    update_cluster_args, validate_once_args, validate_wait_args,
};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::engine::aws::credentials;
use crate::engine::store::lease;

/// The oldest kops the wizard drives: weave's removal (1.28) is the last change it does not
/// handle with a version branch.
pub const MIN_VERSION: Version = Version { major: 1, minor: 28, patch: 0 };

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Version {
    /// Reads `kops version` output: `Client version: 1.36.2 (git-v1.36.2)`, the `--short` form
    /// `1.36.2`, or the pre-1.24 `Version 1.21.0 (git-...)`. Pre-release tags are ignored.
    pub fn parse(output: &str) -> Option<Version> {
        output.split_whitespace().find_map(|word| {
            let word = word.strip_prefix('v').unwrap_or(word);
            let core = word.split(['-', '+']).next()?;
            let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
            let (major, minor) = (parts.next()??, parts.next()??);
            let patch = parts.next().unwrap_or(Some(0))?;
            parts.next().is_none().then_some(Version { major, minor, patch })
        })
    }

    pub fn is_supported(&self) -> bool {
        *self >= MIN_VERSION
    }

    /// Since 1.29 a new cluster without a DNS zone gets no DNS ("Gossip is deprecated").
    pub fn gossip_is_none_dns(&self) -> bool {
        *self >= (Version { major: 1, minor: 29, patch: 0 })
    }
}

/// The kops binary: `--kops` if given, else the first `kops` on PATH.
pub fn find_binary(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        // Executable, as on PATH: a plain file would pass here and fail to start later.
        Some(path) => is_executable(path).then(|| path.to_path_buf()),
        None => find_on_path("kops"),
    }
}

/// Looks a program up on PATH the way a shell would (first executable match).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How many of the child's last stderr lines an error carries.
const ERROR_LINES: usize = 8;

/// util-linux's `setpriv`, found once: it starts kops with a parent-death signal.
fn setpriv() -> Option<&'static Path> {
    static SETPRIV: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    SETPRIV
        .get_or_init(|| {
            let found = find_on_path("setpriv")
                .or_else(|| Some(PathBuf::from("/usr/bin/setpriv")).filter(|p| is_executable(p)));
            if found.is_none() {
                tracing::warn!(
                    "setpriv (util-linux) not found: a kops the wizard starts outlives a wizard \
                     that is killed outright (kill -9)"
                );
            }
            found
        })
        .as_deref()
}

/// A command that runs `program` and dies with the wizard, however the wizard dies: kill -9
/// included, where `kill_on_drop` never runs and a `kops update --yes` would go on alone while
/// the team's lock runs out. `setpriv --pdeathsig KILL` sets the parent-death signal and execs
/// kops in the same process (so the child's pid is kops's own, and `kill_on_drop` still
/// works); the signal survives the exec. Setting it ourselves would take `unsafe` (`pre_exec`
/// + prctl), which this crate forbids.
///
/// The signal fires when the *thread* that started the child ends, not the process: kops is
/// started from the async tasks of the multi-threaded runtime, whose worker threads live as
/// long as the wizard, never from `spawn_blocking`, whose idle threads end.
pub fn tied_to_wizard(program: &Path) -> Command {
    match setpriv() {
        Some(setpriv) => {
            let mut cmd = Command::new(setpriv);
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Removes every credential source from a child's environment; the caller then sets the one
/// it means (`AWS_PROFILE` = the kops profile), or none for commands that need no AWS.
pub fn without_credentials(cmd: &mut Command) -> &mut Command {
    for var in CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    cmd
}

#[derive(Debug, thiserror::Error)]
pub enum KopsError {
    #[error(
        "kops was not found on PATH: install kops {MIN_VERSION} or later \
         (https://kops.sigs.k8s.io/getting_started/install/) or pass --kops PATH"
    )]
    NotFound,
    #[error("{} does not exist or is not an executable file (--kops)", .0.display())]
    NotAFile(PathBuf),
    #[error("{}: cannot read a version from `kops version` ({output:?})", path.display())]
    NoVersion { path: PathBuf, output: String },
    #[error("kops {version} at {} is too old: kops-wizard needs {MIN_VERSION} or later", path.display())]
    TooOld { path: PathBuf, version: Version },
    #[error("cannot run {}: {error}", path.display())]
    Spawn { path: PathBuf, error: std::io::Error },
    #[error("`kops {command}` failed ({status}){}", stderr_tail(.stderr))]
    Failed { command: String, status: ExitStatus, stderr: Vec<String> },
    #[error(
        "`kops {command}` did not finish within {}: the wizard stopped it. Run it by hand to see \
         where it hangs (network, credentials prompt, a wrapper waiting on input), or set \
         {TIMEOUT_VAR} to allow longer{}",
        crate::rules::format_duration(*.after),
        stderr_tail(.stderr)
    )]
    TimedOut { command: String, after: Duration, stderr: Vec<String> },
    /// The run lost the team's lock: `kops {command}` was not started, or was stopped.
    #[error("`kops {command}`: {fenced}")]
    Fenced { command: String, fenced: lease::Fenced },
}

/// Sets one limit (a duration: `90s`, `20m`) for every kops command, instead of the defaults of
/// [`timeout_for`].
pub const TIMEOUT_VAR: &str = "KOPS_WIZARD_KOPS_TIMEOUT";

/// How long one kops command may run before the wizard stops it. Far beyond what each takes
/// against AWS, so that only a kops that hangs meets it; `delete cluster` waits up to kops's
/// own `--wait` (10m) for dependencies first.
pub fn timeout_for(args: &[String]) -> Duration {
    if let Some(limit) = crate::rules::env_duration(TIMEOUT_VAR) {
        return limit;
    }
    let minutes = match verb(args).as_str() {
        "update cluster" => 30,
        "delete cluster" => 20,
        "create cluster" => 10,
        _ => 5,
    };
    Duration::from_secs(60 * minutes)
}

impl KopsError {
    /// Whether the problem is the machine's setup (no kops, an old one), not a failed step:
    /// such errors come before any change, so they are bad-input exits (2).
    pub fn is_setup_problem(&self) -> bool {
        matches!(
            self,
            KopsError::NotFound
                | KopsError::NotAFile(_)
                | KopsError::NoVersion { .. }
                | KopsError::TooOld { .. }
        )
    }
}

fn stderr_tail(lines: &[String]) -> String {
    let tail = &lines[lines.len().saturating_sub(ERROR_LINES)..];
    if tail.is_empty() { String::new() } else { format!(":\n  {}", tail.join("\n  ")) }
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// What a finished kops run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: Vec<String>,
}

/// A kops binary of a supported version, and the environment it runs in.
#[derive(Debug, Clone)]
pub struct Kops {
    pub path: PathBuf,
    pub version: Version,
    env: Vec<(String, String)>,
    /// The admin's key when kops runs as the admin (another engineer's machine): kept apart
    /// from `env`, in types whose `Debug` prints no secret.
    keys: Option<AdminKeys>,
    /// The team's lock: a call that writes is made only while it is this run's, and is stopped
    /// when it is lost.
    fence: Option<lease::Fence>,
}

/// Credentials handed to kops through its environment only.
#[derive(Debug, Clone)]
struct AdminKeys {
    key_id: String,
    secret: credentials::Secret,
    token: Option<credentials::Secret>,
}

impl Kops {
    /// Finds kops (`--kops`, else PATH), reads its version once and refuses unsupported ones.
    pub async fn detect(explicit: Option<&Path>) -> Result<Kops, KopsError> {
        let path = match (explicit, find_binary(explicit)) {
            (_, Some(path)) => path,
            (Some(p), None) => return Err(KopsError::NotAFile(p.to_path_buf())),
            (None, None) => return Err(KopsError::NotFound),
        };
        // `kops version` needs no AWS: it gets no credentials at all.
        let version_args = ["version".to_string()];
        let limit = timeout_for(&version_args);
        let run = without_credentials(&mut tied_to_wizard(&path))
            .args(&version_args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(limit, run)
            .await
            .map_err(|_| KopsError::TimedOut {
                command: "version".into(),
                after: limit,
                stderr: Vec::new(),
            })?
            .map_err(|error| KopsError::Spawn { path: path.clone(), error })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let version = Version::parse(&text).ok_or_else(|| KopsError::NoVersion {
            path: path.clone(),
            output: text.trim().into(),
        })?;
        if !version.is_supported() {
            return Err(KopsError::TooOld { path, version });
        }
        Ok(Kops { path, version, env: Vec::new(), keys: None, fence: None })
    }

    /// kops for the cluster the answers describe: found, version-checked, and set to run as
    /// the kops user against the answers' state store.
    pub async fn for_cluster(explicit: Option<&Path>, a: &Answers) -> Result<Kops, KopsError> {
        let store = a.state_store_url().unwrap_or_default();
        Ok(Self::detect(explicit).await?.with_env(
            &a.aws.kops_profile,
            &store,
            &a.cluster.name,
            &a.aws.region,
        ))
    }

    /// Runs kops as the kops user: `AWS_PROFILE` = its profile, the admin's key variables
    /// removed, and the state store, cluster name and region set for every command.
    pub fn with_env(
        mut self,
        profile: &str,
        state_store: &str,
        cluster: &str,
        region: &str,
    ) -> Kops {
        self.env = vec![
            ("AWS_PROFILE".into(), profile.into()),
            ("KOPS_STATE_STORE".into(), state_store.into()),
            ("KOPS_CLUSTER_NAME".into(), cluster.into()),
            ("AWS_REGION".into(), region.into()),
        ];
        self
    }

    /// Runs kops with these credentials instead of a profile: a teardown on a machine that
    /// never saved the kops user's profile (another engineer's) uses the admin's. The secret
    /// goes to the child's environment only, never to an argument, the log or the screen.
    pub fn with_credentials(mut self, key_id: &str, secret: &str, token: Option<&str>) -> Kops {
        self.env.retain(|(k, _)| k != "AWS_PROFILE");
        self.keys = Some(AdminKeys {
            key_id: key_id.into(),
            secret: credentials::Secret::new(secret),
            token: token.map(credentials::Secret::new),
        });
        self
    }

    /// The same kops, its calls that write fenced by the team's lock (when the run holds it).
    /// The team's lock this kops checks before each call that writes.
    pub fn fence(&self) -> Option<&lease::Fence> {
        self.fence.as_ref()
    }

    pub fn fenced(mut self, fence: Option<lease::Fence>) -> Kops {
        self.fence = fence;
        self
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = tied_to_wizard(&self.path);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A wizard that is interrupted or fails must not leave kops running on its own.
            .kill_on_drop(true);
        without_credentials(&mut cmd);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(keys) = &self.keys {
            cmd.env("AWS_ACCESS_KEY_ID", &keys.key_id);
            cmd.env("AWS_SECRET_ACCESS_KEY", keys.secret.expose());
            if let Some(token) = &keys.token {
                cmd.env("AWS_SESSION_TOKEN", token.expose());
            }
        }
        cmd
    }

    /// Runs kops, handing each output line to `on_line` as it arrives. stdout and stderr are
    /// read concurrently, so a chatty stream cannot fill its pipe and stall the child.
    /// A kops that runs past [`timeout_for`] is killed and is `TimedOut`, with what it printed
    /// on stderr so far.
    pub async fn run(
        &self,
        args: &[String],
        mut on_line: impl FnMut(Stream, &str),
    ) -> Result<Output, KopsError> {
        let limit = timeout_for(args);
        let fence = self.fence.as_ref().filter(|_| writes(args));
        if let Some(fence) = fence {
            fence
                .check()
                .await
                .map_err(|fenced| KopsError::Fenced { command: verb(args), fenced })?;
        }
        let mut stderr_seen = Vec::new();
        let run = self.run_to_end(args, |stream, line| {
            if stream == Stream::Stderr {
                stderr_seen.push(line.to_string());
            }
            on_line(stream, line)
        });
        // Dropping the future (on timeout, or when the lock is lost) drops the child, which
        // `kill_on_drop` kills.
        let lost = async {
            match fence {
                Some(fence) => fence.lost().await,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            result = tokio::time::timeout(limit, run) => result,
            why = lost => {
                tracing::warn!(command = %verb(args), "kops stopped: the team's lock was lost");
                let fenced = fence.map(|f| f.error(why)).unwrap_or_else(|| lease::Fenced {
                    bucket: String::new(),
                    why: "lost".into(),
                });
                return Err(KopsError::Fenced { command: verb(args), fenced });
            }
        };
        match result {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(command = %verb(args), ?limit, "kops timed out and was stopped");
                Err(KopsError::TimedOut { command: verb(args), after: limit, stderr: stderr_seen })
            }
        }
    }

    async fn run_to_end(
        &self,
        args: &[String],
        mut on_line: impl FnMut(Stream, &str),
    ) -> Result<Output, KopsError> {
        let spawn = |error| KopsError::Spawn { path: self.path.clone(), error };
        let mut child = self.command(args).spawn().map_err(spawn)?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(spawn(std::io::Error::other("no pipes to the child")));
        };
        let (mut out, mut err) = (BufReader::new(stdout).lines(), BufReader::new(stderr).lines());
        let (mut out_open, mut err_open) = (true, true);
        let (mut stdout_text, mut stderr_lines) = (String::new(), Vec::new());
        while out_open || err_open {
            tokio::select! {
                line = out.next_line(), if out_open => match line.map_err(spawn)? {
                    Some(line) => {
                        on_line(Stream::Stdout, &line);
                        stdout_text.push_str(&line);
                        stdout_text.push('\n');
                    }
                    None => out_open = false,
                },
                line = err.next_line(), if err_open => match line.map_err(spawn)? {
                    Some(line) => {
                        on_line(Stream::Stderr, &line);
                        stderr_lines.push(line);
                    }
                    None => err_open = false,
                },
            }
        }
        let status = child.wait().await.map_err(spawn)?;
        Ok(Output { status, stdout: stdout_text, stderr: stderr_lines })
    }

    /// Like [`Kops::run`], but a non-zero exit is an error carrying the last stderr lines.
    pub async fn run_ok(
        &self,
        args: &[String],
        on_line: impl FnMut(Stream, &str),
    ) -> Result<Output, KopsError> {
        let out = self.run(args, on_line).await?;
        if out.status.success() {
            return Ok(out);
        }
        Err(KopsError::Failed { command: verb(args), status: out.status, stderr: out.stderr })
    }
}

/// Whether a kops call changes the cluster, its state or its cloud: everything but what only
/// reads (`version`, `validate`, `get`, `export kubeconfig`, `toolbox dump`) and the previews
/// of `update`, `delete` and `rolling-update` without `--yes`.
pub fn writes(args: &[String]) -> bool {
    let first = args.first().map(String::as_str).unwrap_or_default();
    let yes = args.iter().any(|a| a == "--yes" || a == "-y" || a == "--yes=true");
    match first {
        "version" | "validate" | "get" | "export" | "toolbox" | "help" | "completion" => false,
        "update" | "delete" | "rolling-update" | "upgrade" | "reconcile" => yes,
        _ => true,
    }
}

/// `create cluster` from `["create", "cluster", "--name", ...]`.
fn verb(args: &[String]) -> String {
    args.iter().take_while(|a| !a.starts_with('-')).cloned().collect::<Vec<_>>().join(" ")
}

/// A cloud resource as `kops delete cluster` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudResource {
    pub kind: String,
    pub name: String,
    pub id: String,
}

/// The `TYPE NAME ID` table `kops delete cluster` prints without `--yes` (and before deleting
/// with it). Columns are tabwriter-aligned; names have no spaces, but a blank one is possible,
/// so the type is the first word and the id the last.
pub fn parse_delete_preview(stdout: &str) -> Vec<CloudResource> {
    stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("TYPE"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (kind, id) = (words.first()?, words.last()?);
            let name =
                if words.len() > 2 { words[1..words.len() - 1].join(" ") } else { String::new() };
            Some(CloudResource { kind: kind.to_string(), name, id: id.to_string() })
        })
        .collect()
}

/// One progress line of `kops delete cluster --yes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteLine {
    /// `type:id<TAB>ok`
    Deleted(String),
    /// `type:id<TAB>still has dependencies, will retry`
    Blocked(String),
    /// `type:id<TAB>error deleting resources, will retry: <err>`
    Retrying {
        resource: String,
        error: String,
    },
    /// `Not all resources deleted; waiting before reattempting deletion`
    Waiting,
    /// `<TAB>type:id` after `Waiting`: still to be deleted.
    Pending(String),
    /// `Deleted cluster: "N"`
    Done,
    Other,
}

pub fn parse_delete_line(line: &str) -> DeleteLine {
    if let Some(pending) = line.strip_prefix('\t') {
        return DeleteLine::Pending(pending.trim().to_string());
    }
    if line.starts_with("Not all resources deleted") {
        return DeleteLine::Waiting;
    }
    if line.starts_with("Deleted cluster:") {
        return DeleteLine::Done;
    }
    let Some((resource, status)) = line.split_once('\t') else { return DeleteLine::Other };
    let resource = resource.trim().to_string();
    let status = status.trim();
    if status == "ok" {
        DeleteLine::Deleted(resource)
    } else if status.starts_with("still has dependencies") {
        DeleteLine::Blocked(resource)
    } else if let Some(error) = status.strip_prefix("error deleting resources, will retry") {
        DeleteLine::Retrying { resource, error: error.trim_start_matches(':').trim().to_string() }
    } else {
        DeleteLine::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u32, minor: u32, patch: u32) -> Version {
        Version { major, minor, patch }
    }

    #[test]
    fn versions_in_every_format_kops_prints() {
        assert_eq!(Version::parse("Client version: 1.36.2 (git-v1.36.2)"), Some(v(1, 36, 2)));
        assert_eq!(Version::parse("1.36.2\n"), Some(v(1, 36, 2)));
        assert_eq!(Version::parse("Version 1.21.0 (git-abc)"), Some(v(1, 21, 0)));
        assert_eq!(Version::parse("Client version: 1.37.0-beta.1"), Some(v(1, 37, 0)));
        assert_eq!(Version::parse("Client version: v1.30"), Some(v(1, 30, 0)));
        assert_eq!(Version::parse("command not found"), None);
        assert_eq!(Version::parse(""), None);
    }

    #[test]
    fn support_and_behaviour_branches() {
        assert!(v(1, 28, 0).is_supported());
        assert!(v(1, 36, 2).is_supported());
        assert!(!v(1, 27, 9).is_supported());
        assert!(!v(1, 28, 5).gossip_is_none_dns());
        assert!(v(1, 29, 0).gossip_is_none_dns());
    }

    #[test]
    fn create_cluster_uses_todays_flags_and_bare_booleans() {
        let mut a = Answers::default();
        a.cluster.name = "dev.example.com".into();
        a.cluster.zones = vec!["us-east-1a".into(), "us-east-1b".into()];
        a.cluster.topology = crate::answers::Topology::Private;
        a.cluster.bastion = true;
        let args = create_cluster_args(&a, "s3://b", "/k.pub");
        let joined = args.join(" ");
        assert!(
            joined.starts_with("create cluster --name dev.example.com --state s3://b"),
            "{joined}"
        );
        assert!(joined.contains("--zones us-east-1a,us-east-1b"), "{joined}");
        assert!(joined.contains("--control-plane-size t3.medium"), "{joined}");
        assert!(joined.contains("--node-count 2"), "{joined}");
        assert!(joined.contains("--topology private"), "{joined}");
        assert!(!joined.contains("master"), "{joined}");
        assert_eq!(args.last().map(String::as_str), Some("--bastion"));
        assert!(!args.iter().any(|a| a == "true"), "{joined}");
    }

    #[test]
    fn delete_preview_and_progress() {
        let preview = "TYPE\t\t\tNAME\t\t\t\tID\nautoscaling-group\tnodes-us-east-1a.dev.example.com\tnodes-us-east-1a.dev.example.com\ninstance\t\tnodes.dev.example.com\t\ti-0abc\nvpc\t\t\tdev.example.com\t\t\tvpc-1\n\nMust specify --yes to delete cluster\n";
        let resources = parse_delete_preview(preview);
        assert_eq!(resources.len(), 3);
        assert_eq!(
            resources[1],
            CloudResource {
                kind: "instance".into(),
                name: "nodes.dev.example.com".into(),
                id: "i-0abc".into()
            }
        );
        assert!(parse_delete_preview("No cloud resources to delete\n").is_empty());

        assert_eq!(
            parse_delete_line("instance:i-0abc\tok"),
            DeleteLine::Deleted("instance:i-0abc".into())
        );
        assert_eq!(
            parse_delete_line("vpc:vpc-1\tstill has dependencies, will retry"),
            DeleteLine::Blocked("vpc:vpc-1".into())
        );
        assert_eq!(
            parse_delete_line(
                "subnet:subnet-1\terror deleting resources, will retry: DependencyViolation"
            ),
            DeleteLine::Retrying {
                resource: "subnet:subnet-1".into(),
                error: "DependencyViolation".into()
            }
        );
        assert_eq!(
            parse_delete_line("Not all resources deleted; waiting before reattempting deletion"),
            DeleteLine::Waiting
        );
        assert_eq!(parse_delete_line("\tvpc:vpc-1"), DeleteLine::Pending("vpc:vpc-1".into()));
        assert_eq!(parse_delete_line("Deleted cluster: \"dev.example.com\""), DeleteLine::Done);
        assert_eq!(
            parse_delete_line("I1125 10:00:00.000000  123 delete_cluster.go:143] Looking"),
            DeleteLine::Other
        );
    }

    #[test]
    fn update_passes_admin_as_a_bare_flag() {
        let args = update_cluster_args("n.k8s.local", "s3://b");
        assert_eq!(args[args.len() - 2..], ["--yes", "--admin"]);
        assert_eq!(validate_once_args("n.k8s.local", "s3://b")[6..], ["-o", "json"]);
        assert!(!delete_cluster_args("n", "s", false).contains(&"--yes".to_string()));
        assert!(delete_cluster_args("n", "s", true).contains(&"--yes".to_string()));
    }
}
