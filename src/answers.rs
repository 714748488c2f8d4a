//! The answers: every setting of the setup flow, their defaults (today's kops, not the seed
//! procedure), and loading them from the TOML answers file. Validation lives in `rules`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::text;

/// The smoke test's default HTTP server: the Kubernetes e2e image, whose `netexec` answers
/// `GET /hostname` with the pod's name.
pub const DEFAULT_SMOKE_IMAGE: &str = "registry.k8s.io/e2e-test-images/agnhost:2.53";

/// Everything the wizard asks. Each section falls back to its defaults key by key, so an
/// answers file only needs the values that differ. Unknown keys are rejected by name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Answers {
    pub aws: Aws,
    pub iam: Iam,
    pub state_store: StateStore,
    pub ssh: Ssh,
    pub cluster: Cluster,
    pub validate: Validate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Aws {
    pub region: String,
    /// The profile whose credentials create the kops user; `None` means the default chain.
    pub admin_profile: Option<String>,
    /// The profile the kops user's access key is saved as.
    pub kops_profile: String,
}

impl Default for Aws {
    fn default() -> Self {
        Self { region: "us-east-1".into(), admin_profile: None, kops_profile: "kops".into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Iam {
    pub group: String,
    pub user: String,
    pub policies: Vec<String>,
}

impl Default for Iam {
    fn default() -> Self {
        Self {
            group: "kops".into(),
            user: "kops".into(),
            policies: text::KOPS_POLICIES.iter().map(|p| (*p).into()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateStore {
    /// No default: bucket names are global, so any default would belong to someone else.
    pub bucket: Option<String>,
    pub versioning: bool,
    pub encryption: bool,
    pub block_public_access: bool,
}

impl Default for StateStore {
    fn default() -> Self {
        Self { bucket: None, versioning: true, encryption: true, block_public_access: true }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum KeyType {
    #[default]
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    #[serde(rename = "ed25519")]
    Ed25519,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Ed25519 => "ed25519",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ssh {
    /// The public key given to kops; `~/` means the home directory. The private key is the
    /// same path without `.pub`.
    pub public_key: String,
    /// Generate the pair when the public key does not exist.
    pub generate: bool,
    pub key_type: KeyType,
    /// When the key at `public_key` is of another type, or half of a pair is missing: move the
    /// old files aside (never delete them) and generate a new pair.
    pub overwrite: bool,
}

impl Default for Ssh {
    fn default() -> Self {
        Self {
            public_key: "~/.ssh/kops.pub".into(),
            generate: true,
            key_type: KeyType::Rsa4096,
            overwrite: false,
        }
    }
}

impl Ssh {
    /// The private key's path: the public key's without `.pub`.
    pub fn private_key(&self) -> String {
        self.public_key.strip_suffix(".pub").unwrap_or(&self.public_key).to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    #[default]
    Public,
    Private,
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Topology::Public => "public",
            Topology::Private => "private",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    /// Empty means the region's first zone: the key left out of the file (an empty list there
    /// is refused, and an empty list is never written), or no zone picked in a front end.
    #[serde(deserialize_with = "non_empty_zones", skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub networking: String,
    pub control_plane_size: String,
    pub control_plane_count: u32,
    pub node_size: String,
    /// `None` means kops's default: one node per zone.
    pub node_count: Option<u32>,
    pub topology: Topology,
    pub bastion: bool,
    pub dns_zone: Option<String>,
    pub kubernetes_version: Option<String>,
    /// After validation: two pods behind a Service of type LoadBalancer (an NLB) must both
    /// answer through it (the seed's architecture).
    pub smoke_test: bool,
    /// The smoke test's HTTP server: an image whose `netexec` answers `GET /hostname`.
    pub smoke_image: String,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            name: "kops.k8s.local".into(),
            zones: Vec::new(),
            networking: "cilium".into(),
            control_plane_size: "t3.medium".into(),
            control_plane_count: 1,
            node_size: "t3.medium".into(),
            node_count: None,
            topology: Topology::Public,
            bastion: false,
            dns_zone: None,
            kubernetes_version: None,
            smoke_test: true,
            smoke_image: DEFAULT_SMOKE_IMAGE.into(),
        }
    }
}

/// `zones = []` in a file reads as "no zones", which kops cannot build a cluster in; taking it
/// for the default zone would silently do something the file did not say.
fn non_empty_zones<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let zones = Vec::<String>::deserialize(d)?;
    if zones.is_empty() {
        return Err(serde::de::Error::custom(
            "cluster.zones = []: list at least one zone of aws.region, or leave the key out for \
             the region's first zone",
        ));
    }
    Ok(zones)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Validate {
    /// How long to wait for the cluster to validate, as a duration like `10m`.
    pub wait: String,
    /// Time between two validation attempts.
    pub interval: String,
}

impl Default for Validate {
    fn default() -> Self {
        Self { wait: "10m".into(), interval: "10s".into() }
    }
}

impl Answers {
    /// The zones the cluster uses: the configured ones, else the region's first zone.
    pub fn zones(&self) -> Vec<String> {
        if self.cluster.zones.is_empty() {
            vec![format!("{}a", self.aws.region)]
        } else {
            self.cluster.zones.clone()
        }
    }

    /// The node count passed to kops: the configured one, else kops's default of one per zone.
    pub fn node_count(&self) -> u32 {
        self.cluster
            .node_count
            .unwrap_or_else(|| u32::try_from(self.zones().len()).unwrap_or(u32::MAX))
    }

    /// `s3://bucket`, the value of KOPS_STATE_STORE, when the bucket is known.
    pub fn state_store_url(&self) -> Option<String> {
        self.state_store.bucket.as_ref().map(|b| format!("s3://{b}"))
    }

    /// Answers that have no default and were not given, by their key.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.state_store.bucket.is_none() {
            missing.push("state_store.bucket");
        }
        missing
    }
}

/// Where the answers came from, for messages and for the plan's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Defaults,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Defaults => f.write_str("the defaults (no answers file)"),
        }
    }
}

/// Why the answers could not be used. Every variant is bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum AnswersError {
    #[error("cannot read the answers file {}{given}: {error}", path.display())]
    Read {
        path: PathBuf,
        /// ` (--config)` when the path came from the command line, so the message names the flag.
        given: &'static str,
        error: std::io::Error,
    },
    /// The TOML parser's message already names the line, the column and the key.
    #[error("the answers file {} is not valid: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error(
        "--yes needs every answer that has no default; missing from {from}: {}\n\
         Add them to the answers file (see config/example.toml).",
        keys.join(", ")
    )]
    Missing { from: Source, keys: Vec<String> },
}

/// Parses answers from TOML text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Answers, AnswersError> {
    toml::from_str(text).map_err(|e| AnswersError::Parse {
        path: path.to_path_buf(),
        // The parser quotes the offending line; a control character in it (TOML refuses them
        // raw, which is why the line is quoted) is shown escaped, never sent to the terminal.
        message: crate::text::escaped(e.to_string().trim_end()),
    })
}

/// Loads the answers: an explicit file must be readable and valid; the default file is used
/// when it exists; otherwise the defaults.
pub fn load(
    explicit: Option<&Path>,
    default_path: Option<&Path>,
) -> Result<(Answers, Source), AnswersError> {
    let (path, given) = match (explicit, default_path) {
        (Some(path), _) => (path, " (--config)"),
        (None, Some(path)) if path.is_file() => (path, ""),
        (None, _) => return Ok((Answers::default(), Source::Defaults)),
    };
    let text = std::fs::read_to_string(path).map_err(|error| AnswersError::Read {
        path: path.to_path_buf(),
        given,
        error,
    })?;
    Ok((parse(&text, path)?, Source::File(path.to_path_buf())))
}

/// Writes the answers as an answers file at `path` (atomically, mode 0600), with a header that
/// says how to use it. The answers hold no secrets, so neither does the file. Both interactive
/// front ends save through here, so their files are the same.
pub fn save(answers: &Answers, path: &Path) -> Result<(), String> {
    let body = toml::to_string(answers).map_err(|e| e.to_string())?;
    let text = format!(
        "# kops-wizard answers, saved from the wizard. No secrets: credentials stay in the AWS\n\
         # files. Use with `kops-wizard setup --yes --config {}`.\n\n{body}",
        path.display()
    );
    crate::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Answers, AnswersError> {
        parse(text, Path::new("answers.toml"))
    }

    #[test]
    fn defaults_follow_todays_kops() {
        let a = Answers::default();
        assert_eq!(a.iam.policies.len(), 7);
        assert!(a.iam.policies.iter().any(|p| p.ends_with("AmazonSQSFullAccess")));
        assert!(a.iam.policies.iter().any(|p| p.ends_with("AmazonEventBridgeFullAccess")));
        assert_eq!(a.cluster.networking, "cilium");
        assert_eq!(a.cluster.control_plane_size, "t3.medium");
        assert_eq!(a.cluster.node_size, "t3.medium");
        assert_eq!(a.cluster.control_plane_count, 1);
        assert!(a.state_store.versioning && a.state_store.encryption);
        assert!(a.state_store.block_public_access);
        assert_eq!(a.ssh.key_type, KeyType::Rsa4096);
        assert_eq!(a.ssh.public_key, "~/.ssh/kops.pub");
        assert_eq!(a.ssh.private_key(), "~/.ssh/kops");
        assert_eq!(a.zones(), vec!["us-east-1a"]);
        assert_eq!(a.node_count(), 1);
        assert_eq!(a.missing(), vec!["state_store.bucket"]);
    }

    #[test]
    fn saved_answers_load_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kops-wizard/config.toml");
        let mut a = Answers::default();
        a.state_store.bucket = Some("acme-saved".into());
        a.cluster.node_count = Some(3);
        save(&a, &path).unwrap();
        let (back, source) = load(Some(&path), None).unwrap();
        assert_eq!(back, a);
        assert_eq!(source, Source::File(path.clone()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# kops-wizard answers"), "{text}");
        assert!(!text.contains("aws_secret") && !text.contains("AKIA"), "{text}");
    }

    #[test]
    fn a_partial_file_keeps_the_other_defaults() {
        let a = parse_str(
            "[state_store]\nbucket = \"acme-kops-state\"\n[cluster]\nzones = [\"us-east-1a\", \"us-east-1b\"]\n",
        )
        .unwrap();
        assert_eq!(a.state_store.bucket.as_deref(), Some("acme-kops-state"));
        assert!(a.state_store.versioning);
        assert_eq!(a.node_count(), 2, "one node per zone by default");
        assert_eq!(a.cluster.name, "kops.k8s.local");
        assert_eq!(a.state_store_url().as_deref(), Some("s3://acme-kops-state"));
        assert!(a.missing().is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected_by_name_with_the_line() {
        let err = parse_str("[cluster]\nname = \"a.example.com\"\nmaster_size = \"t2.micro\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("answers.toml"), "{err}");
        assert!(err.contains("master_size"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn wrong_types_and_enum_values_name_the_key() {
        let err =
            parse_str("[cluster]\ncontrol_plane_count = \"three\"\n").unwrap_err().to_string();
        assert!(err.contains("control_plane_count") && err.contains("line 2"), "{err}");

        let err = parse_str("[ssh]\nkey_type = \"dsa\"\n").unwrap_err().to_string();
        assert!(err.contains("key_type") && err.contains("rsa-4096"), "{err}");

        let err = parse_str("[cluster]\ntopology = \"hybrid\"\n").unwrap_err().to_string();
        assert!(err.contains("topology") && err.contains("private"), "{err}");
    }

    #[test]
    fn an_explicit_file_must_exist_but_the_default_may_not() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let err = load(Some(&missing), None).unwrap_err();
        assert!(matches!(err, AnswersError::Read { .. }));
        assert!(err.to_string().contains("nope.toml"));

        let (answers, source) = load(None, Some(&missing)).unwrap();
        assert_eq!(answers, Answers::default());
        assert_eq!(source, Source::Defaults);

        let present = dir.path().join("config.toml");
        std::fs::write(&present, "[aws]\nregion = \"eu-west-1\"\n").unwrap();
        let (answers, source) = load(None, Some(&present)).unwrap();
        assert_eq!(answers.aws.region, "eu-west-1");
        assert_eq!(answers.zones(), vec!["eu-west-1a"]);
        assert_eq!(source, Source::File(present));
    }

    #[test]
    fn an_empty_zone_list_is_refused_and_never_written() {
        let err = parse_str("[cluster]\nzones = []\n").unwrap_err().to_string();
        assert!(err.contains("cluster.zones = []") && err.contains("line 2"), "{err}");
        let text = toml::to_string(&Answers::default()).unwrap();
        assert!(!text.contains("zones"), "{text}");
        assert_eq!(parse_str(&text).unwrap(), Answers::default());
    }

    #[test]
    fn control_characters_in_a_parse_error_are_escaped() {
        let err = parse_str("[cluster]\nname = \"a\u{1b}[2Jb\"\n").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "{err:?}");
        assert!(err.contains("\\u{1b}"), "{err}");
    }

    #[test]
    fn answers_round_trip_through_toml() {
        let mut a = Answers::default();
        a.state_store.bucket = Some("acme-kops-state".into());
        a.cluster.dns_zone = Some("example.com".into());
        let text = toml::to_string(&a).unwrap();
        assert_eq!(parse_str(&text).unwrap(), a);
    }
}
