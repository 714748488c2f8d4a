//! Validation rules: pure functions from a value to "fine" or a violation that names the rule.
//! `check_answers` applies them all and names each field; nothing here does I/O, so every rule
//! runs before anything changes (and before any AWS request).

use std::fmt;
use std::time::Duration;

use crate::answers::{Answers, Topology};
use crate::catalog;
use crate::text;

/// One broken rule: which answer, its value, and the rule in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub value: String,
    pub rule: String,
}

/// Values longer than this are shown by their start and their length: a 5,000-character path
/// would otherwise bury the rule it breaks.
const SHOWN_CHARS: usize = 80;

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:?}` quotes the value and escapes control characters, so a value holding a newline
        // or an escape sequence cannot break the message or the terminal it is printed on.
        let count = self.value.chars().count();
        if count > SHOWN_CHARS {
            let head: String = self.value.chars().take(SHOWN_CHARS).collect();
            write!(f, "{} = {head:?}… ({count} characters): {}", self.field, self.rule)
        } else {
            write!(f, "{} = {:?}: {}", self.field, self.value, self.rule)
        }
    }
}

/// Errors stop the run; warnings are shown and the run goes on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub errors: Vec<Violation>,
    pub warnings: Vec<Violation>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn render_errors(&self) -> String {
        render(&self.errors)
    }

    pub fn render_warnings(&self) -> String {
        render(&self.warnings)
    }

    fn error(&mut self, field: &str, value: &str, result: Result<(), String>) {
        if let Err(rule) = result {
            self.errors.push(violation(field, value, rule));
        }
    }

    fn warning(&mut self, field: &str, value: &str, rule: impl Into<String>) {
        self.warnings.push(violation(field, value, rule.into()));
    }
}

fn violation(field: &str, value: &str, rule: String) -> Violation {
    Violation { field: field.into(), value: value.into(), rule }
}

fn render(list: &[Violation]) -> String {
    list.iter().map(|v| format!("  - {v}\n")).collect::<String>().trim_end().to_string()
}

type Rule = Result<(), String>;

/// AWS's naming rules for general-purpose S3 buckets.
/// Answers that break rules: nothing runs (exit 2), and every broken rule is named.
#[derive(Debug, thiserror::Error)]
#[error("the answers break {} rule(s):\n{}", report.errors.len(), report.render_errors())]
pub struct Broken {
    pub report: Report,
}

pub fn bucket_name(name: &str) -> Rule {
    if !(3..=63).contains(&name.len()) {
        return Err(format!(
            "bucket names are 3 to 63 characters long (this one has {})",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '-')) {
        return Err(format!(
            "bucket names may contain only lower-case letters, digits, dots (.) and hyphens (-), not {c:?}"
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err("bucket names must begin and end with a letter or digit".into());
    }
    if name.contains("..") {
        return Err("bucket names must not contain two adjacent dots (..)".into());
    }
    if looks_like_ipv4(name) {
        return Err("bucket names must not be formatted as an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!("bucket names must not start with the reserved prefix {prefix:?}"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] {
        if name.ends_with(suffix) {
            return Err(format!("bucket names must not end with the reserved suffix {suffix:?}"));
        }
    }
    Ok(())
}

/// Four dot-separated groups of one to three digits. Wider than what parses as an address
/// (`01.2.3.4`, `999.1.1.1` do not): S3 refuses names "formatted as an IP address", and a name
/// refused here costs a rename where one refused by CreateBucket costs a failed run.
fn looks_like_ipv4(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

/// IAM user and group names: letters, digits and `+=,.@_-`, at most `max` characters
/// (64 for users, 128 for groups).
pub fn iam_name(name: &str, max: usize) -> Rule {
    if name.is_empty() || name.len() > max {
        return Err(format!("IAM names are 1 to {max} characters long"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))) {
        return Err(format!("IAM names may contain only letters, digits and +=,.@_- , not {c:?}"));
    }
    Ok(())
}

/// Profile names become `[name]` / `[profile name]` section headers in the AWS shared files.
pub fn profile_name(name: &str) -> Rule {
    if name.is_empty() || name.len() > 64 {
        return Err("profile names are 1 to 64 characters long".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-@+".contains(*c))) {
        return Err(format!(
            "profile names may contain only letters, digits and ._-@+ (they become section headers in ~/.aws/credentials), not {c:?}"
        ));
    }
    Ok(())
}

/// kops cluster names: a DNS-1123 subdomain with at least one dot (kops requires a fully
/// qualified name).
pub fn cluster_name(name: &str) -> Rule {
    dns_subdomain(name).map_err(|rule| format!("cluster names must be DNS names: {rule}"))?;
    if !name.contains('.') {
        return Err("kops needs a fully qualified name with at least one dot, e.g. \
             dev.example.com or dev.k8s.local"
            .into());
    }
    Ok(())
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated labels of lower-case letters,
/// digits and hyphens that begin and end with a letter or digit.
pub fn dns_subdomain(name: &str) -> Rule {
    if name.is_empty() || name.len() > 253 {
        return Err("1 to 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("each dot-separated part is 1 to 63 characters (got {label:?})"));
        }
        if let Some(c) = label.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')) {
            return Err(format!("only lower-case letters, digits, hyphens and dots, not {c:?}"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "each part begins and ends with a letter or digit (got {label:?})"
            ));
        }
    }
    Ok(())
}

/// A DNS zone for the cluster's names: a DNS name, optionally fully qualified with one trailing
/// dot (`example.com.`). More dots than that are empty labels, which Route 53 refuses.
pub fn dns_zone(zone: &str) -> Rule {
    let name = zone.strip_suffix('.').unwrap_or(zone);
    dns_subdomain(name).map_err(|rule| format!("DNS zones are DNS names: {rule}"))
}

/// The first control character of `text`, if any. Every text answer ends up in a file (the
/// journal, the AWS shared files, a .pub path), a kops argument or the plan's shell script,
/// where a newline starts a new line and an escape sequence rewrites the terminal.
fn control_char(text: &str) -> Option<char> {
    text.chars().find(|c| c.is_control())
}

/// Linux's PATH_MAX and NAME_MAX: a longer path cannot be opened, so it is refused up front.
pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// The public key's path (`ssh.public_key`): an OpenSSH `.pub` file whose name without `.pub`
/// is the private key. Whether the file exists and holds a usable key is the preflight's to
/// check (it needs the disk); this is the part that needs none.
pub fn public_key_path(path: &str) -> Rule {
    if path.trim().is_empty() {
        return Err("a path to an OpenSSH public key is needed".into());
    }
    if let Some(c) = control_char(path) {
        return Err(format!("paths must not contain control characters, not {c:?}"));
    }
    if path.starts_with(char::is_whitespace) {
        return Err("the path begins with a space: remove it".into());
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(format!(
            "paths are at most {MAX_PATH_BYTES} bytes (this one has {})",
            path.len()
        ));
    }
    if path.split('/').any(|part| part.len() > MAX_FILE_NAME_BYTES) {
        return Err(format!("each part of a path is at most {MAX_FILE_NAME_BYTES} bytes"));
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if !name.ends_with(".pub") {
        return Err(
            "the public key's file name ends in .pub (the private key is the same path without it)"
                .into(),
        );
    }
    if name == ".pub" {
        return Err(
            "the file name needs a name before .pub: the private key is the path without .pub"
                .into(),
        );
    }
    Ok(())
}

/// Region codes like `us-east-1`. Unknown-but-well-formed regions are a warning, not an error,
/// because AWS adds regions faster than our catalog.
pub fn region_format(region: &str) -> Rule {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1].iter().all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit());
    if ok { Ok(()) } else { Err("region codes look like us-east-1".into()) }
}

/// A zone must be one of the region's zones (its code plus a letter).
pub fn zone_in_region(zone: &str, region: &str) -> Rule {
    let letter_ok = zone
        .strip_prefix(region)
        .is_some_and(|rest| rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()));
    if !letter_ok {
        return Err(format!("zones must be in the region {region} (e.g. {region}a)"));
    }
    match catalog::catalog().region(region) {
        Some(r) if !r.has_zone(zone) => {
            Err(format!("{region} has the zones {}", r.zone_names().join(", ")))
        }
        _ => Ok(()),
    }
}

/// etcd needs a quorum, so kops rejects an even number of control-plane nodes.
pub fn control_plane_count(count: u32) -> Rule {
    if count == 0 || count > 7 || count.is_multiple_of(2) {
        return Err("the control-plane count must be odd, from 1 to 7 (etcd needs a quorum; kops rejects even counts)".into());
    }
    Ok(())
}

pub const MAX_NODES: u32 = 100;

pub fn node_count(count: u32) -> Rule {
    if !(1..=MAX_NODES).contains(&count) {
        return Err(format!("the node count must be from 1 to {MAX_NODES}"));
    }
    Ok(())
}

/// Instance types look like `family.size`; whether the catalog knows one is a separate warning.
pub fn instance_type_format(name: &str) -> Rule {
    let ok = name.split_once('.').is_some_and(|(family, size)| {
        let part = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        part(family) && part(size)
    });
    if ok { Ok(()) } else { Err("instance types look like t3.medium (family.size)".into()) }
}

pub fn networking(mode: &str) -> Rule {
    match mode {
        "weave" => Err(text::WEAVE_REMOVED.into()),
        "canal" => Err(text::CANAL_REMOVED.into()),
        m if text::NETWORKING_MODES.contains(&m) => Ok(()),
        _ => {
            Err(format!("the networking mode must be one of {}", text::NETWORKING_MODES.join(", ")))
        }
    }
}

/// IAM policy ARNs, AWS-managed or customer-managed: `arn:aws:iam::<aws or a 12-digit
/// account>:policy/<path/>name`, with IAM's own rules for the name (1 to 128 letters, digits
/// and `+=,.@_-`) and the path (printable ASCII, at most 512 characters).
pub fn policy_arn(arn: &str) -> Rule {
    const SHAPE: &str = "policies are ARNs like arn:aws:iam::aws:policy/AmazonEC2FullAccess";
    // Checked first so that the message says what is wrong with a pasted value that only looks
    // right: the ARN is attached by name and written into the journal and the plan's script.
    if let Some(c) = control_char(arn) {
        return Err(format!("{SHAPE}, without control characters, not {c:?}"));
    }
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return Err(SHAPE.into());
    };
    let Some((account, resource)) = rest.split_once(":policy/") else {
        return Err(SHAPE.into());
    };
    if !(account == "aws" || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()))) {
        return Err(format!("{SHAPE} (the account is \"aws\" or 12 digits)"));
    }
    let (path, name) = resource.rsplit_once('/').unwrap_or(("", resource));
    if name.is_empty() || name.len() > 128 {
        return Err(format!("{SHAPE} (policy names are 1 to 128 characters)"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "+=,.@_-".contains(*c))) {
        return Err(format!(
            "policy names may contain only letters, digits and +=,.@_- , not {c:?}"
        ));
    }
    if path.len() > 512 || !path.chars().all(|c| c.is_ascii_graphic()) {
        return Err(format!("{SHAPE} (a policy path is at most 512 printable ASCII characters)"));
    }
    Ok(())
}

/// A container image reference the nodes can pull: no spaces or control characters, and a
/// name before any tag or digest.
pub fn image(image: &str) -> Rule {
    if image.is_empty() {
        return Err("an image is needed, e.g. registry.k8s.io/e2e-test-images/agnhost:2.53".into());
    }
    if image.len() > 255 || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("an image reference is at most 255 characters without spaces".into());
    }
    if image.starts_with([':', '@', '/']) {
        return Err("an image reference starts with its name (registry/name:tag)".into());
    }
    Ok(())
}

pub fn kubernetes_version(version: &str) -> Rule {
    let digits = version.strip_prefix('v').unwrap_or(version);
    let parts: Vec<&str> = digits.split('.').collect();
    // Five digits a part is far beyond any release and keeps a pasted wall of digits out.
    if (2..=3).contains(&parts.len())
        && parts.iter().all(|p| (1..=5).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
    {
        Ok(())
    } else {
        Err("Kubernetes versions look like 1.33.2 or v1.33.2".into())
    }
}

/// A duration set in the environment (`KOPS_WIZARD_*`: `90s`, `10m`); `None` when unset,
/// empty, zero or not a duration, so the caller's default applies.
pub fn env_duration(name: &str) -> Option<std::time::Duration> {
    parse_duration(&std::env::var(name).ok()?).ok().filter(|d| !d.is_zero())
}

/// Parses a Go-style duration as kops takes them (`10m`, `30s`, `1h30m`, `500ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const RULE: &str = "durations are a number and a unit (h, m, s or ms), e.g. 10m, 30s or 1h30m";
    if text.is_empty() {
        return Err(RULE.into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| RULE.to_string())?;
        let unit = after.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let (unit, after) = after.split_at(unit);
        let part = match unit {
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "s" => Duration::from_secs(number),
            "ms" => Duration::from_millis(number),
            _ => return Err(RULE.into()),
        };
        total = total.saturating_add(part);
        rest = after;
    }
    Ok(total)
}

/// Formats a duration the way Go and kops print them (`1h30m`, `10m`, `45s`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    // Without it 1001ms would print as 1s, which parses back as something else.
    let ms = d.subsec_millis();
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

fn positive_duration(text: &str) -> Rule {
    match parse_duration(text)? {
        d if d.is_zero() => Err("the duration must be longer than zero".into()),
        _ => Ok(()),
    }
}

/// Every rule, applied to every answer, in the order of the flow.
pub fn check_answers(a: &Answers) -> Report {
    let mut r = Report::default();

    r.error("aws.region", &a.aws.region, region_format(&a.aws.region));
    let known_region = catalog::catalog().region(&a.aws.region).is_some();
    if r.is_ok() && !known_region {
        r.warning(
            "aws.region",
            &a.aws.region,
            "not in the wizard's region catalog; zones are not checked",
        );
    }
    if let Some(p) = &a.aws.admin_profile {
        r.error("aws.admin_profile", p, profile_name(p));
    }
    r.error("aws.kops_profile", &a.aws.kops_profile, profile_name(&a.aws.kops_profile));
    if a.aws.kops_profile == "default" {
        r.error(
            "aws.kops_profile",
            "default",
            Err("must not be \"default\": saving the kops user's key there would replace your default credentials".into()),
        );
    } else if a.aws.admin_profile.as_deref() == Some(a.aws.kops_profile.as_str()) {
        r.error(
            "aws.kops_profile",
            &a.aws.kops_profile,
            Err("must differ from aws.admin_profile: saving the kops user's key would replace the admin credentials".into()),
        );
    }

    r.error("iam.group", &a.iam.group, iam_name(&a.iam.group, 128));
    r.error("iam.user", &a.iam.user, iam_name(&a.iam.user, 64));
    if a.iam.policies.is_empty() {
        r.error(
            "iam.policies",
            "[]",
            Err("kops needs policies; leave the key out to get the seven it needs".into()),
        );
    }
    for (i, arn) in a.iam.policies.iter().enumerate() {
        r.error(&format!("iam.policies[{i}]"), arn, policy_arn(arn));
    }
    for needed in text::KOPS_POLICIES {
        if !a.iam.policies.iter().any(|p| p == needed) {
            r.warning("iam.policies", needed, format!("not in the list: {}", text::MISSING_POLICY));
        }
    }

    if let Some(bucket) = &a.state_store.bucket {
        r.error("state_store.bucket", bucket, bucket_name(bucket));
    }
    if !a.state_store.versioning {
        r.warning(
            "state_store.versioning",
            "false",
            "kops strongly recommends versioning: it is how a broken cluster spec is recovered",
        );
    }

    r.error("ssh.public_key", &a.ssh.public_key, public_key_path(&a.ssh.public_key));

    let c = &a.cluster;
    r.error("cluster.name", &c.name, cluster_name(&c.name));
    if c.name.ends_with(".k8s.local") && c.dns_zone.is_none() {
        r.warning("cluster.name", &c.name, text::GOSSIP_NAME);
    }
    if let Some(zone) = &c.dns_zone {
        r.error("cluster.dns_zone", zone, dns_zone(zone));
    }
    for (i, zone) in a.zones().iter().enumerate() {
        r.error(&format!("cluster.zones[{i}]"), zone, zone_in_region(zone, &a.aws.region));
    }
    let zones = a.zones();
    if let Some(dup) = zones.iter().enumerate().find(|(i, z)| zones[..*i].contains(z)) {
        r.error("cluster.zones", dup.1, Err("each zone may be listed once".into()));
    }
    r.error("cluster.networking", &c.networking, networking(&c.networking));
    r.error(
        "cluster.control_plane_count",
        &c.control_plane_count.to_string(),
        control_plane_count(c.control_plane_count),
    );
    r.error("cluster.node_count", &a.node_count().to_string(), node_count(a.node_count()));
    for (field, size) in
        [("cluster.control_plane_size", &c.control_plane_size), ("cluster.node_size", &c.node_size)]
    {
        r.error(field, size, instance_type_format(size));
        if instance_type_format(size).is_ok() && catalog::catalog().instance(size).is_none() {
            r.warning(
                field,
                size,
                "not in the wizard's instance catalog: no cost estimate, and AWS may not offer it",
            );
        }
    }
    if let Some(t) = catalog::catalog().instance(&c.control_plane_size)
        && t.memory_gib < 4.0
    {
        r.warning("cluster.control_plane_size", &c.control_plane_size, text::SMALL_CONTROL_PLANE);
    }
    if c.bastion && c.topology != Topology::Private {
        r.error("cluster.bastion", "true", Err("a bastion needs topology = \"private\" (kops: bastion supports --topology='private' only)".into()));
    }
    if c.networking == "kubenet" && c.topology == Topology::Private {
        r.error(
            "cluster.topology",
            "private",
            Err("kubenet cannot be used with a private topology; choose cilium or calico".into()),
        );
    }
    if let Some(v) = &c.kubernetes_version {
        r.error("cluster.kubernetes_version", v, kubernetes_version(v));
    }
    if c.smoke_test {
        r.error("cluster.smoke_image", &c.smoke_image, image(&c.smoke_image));
    }

    r.error("validate.wait", &a.validate.wait, positive_duration(&a.validate.wait));
    r.error("validate.interval", &a.validate.interval, positive_duration(&a.validate.interval));
    if let (Ok(wait), Ok(interval)) =
        (parse_duration(&a.validate.wait), parse_duration(&a.validate.interval))
        && interval > wait
    {
        r.error(
            "validate.interval",
            &a.validate.interval,
            Err(format!("must not be longer than validate.wait ({})", a.validate.wait)),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ok(rule: impl Fn(&str) -> Rule, values: &[&str]) {
        for v in values {
            assert_eq!(rule(v), Ok(()), "{v:?} should pass");
        }
    }

    fn all_bad(rule: impl Fn(&str) -> Rule, cases: &[(&str, &str)]) {
        for (v, needle) in cases {
            let err = rule(v).expect_err(v);
            assert!(err.contains(needle), "{v:?}: {err:?} should mention {needle:?}");
        }
    }

    #[test]
    fn bucket_names() {
        all_ok(
            bucket_name,
            &["abc", "acme-kops-state", "kops.state.store", "a1b2", &"a".repeat(63), "1bucket"],
        );
        all_bad(
            bucket_name,
            &[
                ("ab", "3 to 63"),
                (&"a".repeat(64), "3 to 63"),
                ("Acme-State", "lower-case"),
                ("acme_state", "'_'"),
                ("-acme", "begin and end"),
                ("acme.", "begin and end"),
                ("acme..state", "two adjacent dots"),
                ("192.168.5.4", "IP address"),
                ("01.2.3.4", "IP address"),
                ("999.1.1.1", "IP address"),
                ("xn--acme", "xn--"),
                ("sthree-acme", "sthree-"),
                ("amzn-s3-demo-acme", "amzn-s3-demo-"),
                ("acme-s3alias", "-s3alias"),
                ("acme--ol-s3", "--ol-s3"),
                ("acme.mrap", ".mrap"),
                ("acme--x-s3", "--x-s3"),
            ],
        );
    }

    #[test]
    fn iam_names() {
        all_ok(|n| iam_name(n, 64), &["kops", "kops-admin", "a+b=c,d.e@f_g-h", &"u".repeat(64)]);
        all_bad(
            |n| iam_name(n, 64),
            &[
                ("", "1 to 64"),
                (&"u".repeat(65), "1 to 64"),
                ("kops user", "' '"),
                ("kops/1", "'/'"),
            ],
        );
        assert!(iam_name(&"g".repeat(128), 128).is_ok());
    }

    #[test]
    fn profile_names() {
        all_ok(profile_name, &["kops", "kops-prod", "team.kops_1"]);
        all_bad(
            profile_name,
            &[("", "1 to 64"), ("kops]", "section headers"), ("my profile", "' '")],
        );
    }

    #[test]
    fn cluster_names() {
        all_ok(cluster_name, &["kops.k8s.local", "dev.example.com", "a-1.b"]);
        all_bad(
            cluster_name,
            &[
                ("kops", "at least one dot"),
                ("Kops.example.com", "'K'"),
                ("kops_1.example.com", "'_'"),
                ("-kops.example.com", "begins and ends"),
                ("kops..example.com", "1 to 63"),
                (&format!("{}.com", "a".repeat(64)), "1 to 63"),
                ("", "1 to 253"),
            ],
        );
    }

    #[test]
    fn regions_and_zones() {
        all_ok(region_format, &["us-east-1", "eu-central-2", "us-gov-west-1"]);
        all_bad(
            region_format,
            &[("us-east", "us-east-1"), ("US-EAST-1", "us-east-1"), ("useast1", "us-east-1")],
        );
        assert_eq!(zone_in_region("us-east-1a", "us-east-1"), Ok(()));
        assert_eq!(zone_in_region("us-east-1f", "us-east-1"), Ok(()));
        let err = zone_in_region("us-east-1g", "us-east-1").unwrap_err();
        assert!(err.contains("us-east-1a"), "{err}");
        assert!(
            zone_in_region("eu-west-1a", "us-east-1")
                .unwrap_err()
                .contains("in the region us-east-1")
        );
        assert!(zone_in_region("us-east-1", "us-east-1").is_err());
        assert!(zone_in_region("us-east-1ab", "us-east-1").is_err());
    }

    #[test]
    fn counts() {
        for ok in [1, 3, 5, 7] {
            assert_eq!(control_plane_count(ok), Ok(()));
        }
        for bad in [0, 2, 4, 9] {
            assert!(control_plane_count(bad).unwrap_err().contains("odd"));
        }
        assert_eq!(node_count(1), Ok(()));
        assert_eq!(node_count(MAX_NODES), Ok(()));
        assert!(node_count(0).is_err());
        assert!(node_count(MAX_NODES + 1).unwrap_err().contains("1 to 100"));
    }

    #[test]
    fn instance_types_and_networking() {
        all_ok(instance_type_format, &["t3.medium", "m6i.2xlarge", "c7gn.metal-48xl"]);
        all_bad(
            instance_type_format,
            &[("t3", "family.size"), ("T3.medium", "family.size"), ("t3.", "family.size")],
        );
        all_ok(
            networking,
            &["cilium", "calico", "flannel", "amazonvpc", "kindnet", "kube-router", "kubenet"],
        );
        all_bad(
            networking,
            &[
                ("weave", "removed from kops in 1.28"),
                ("canal", "removed from kops in 1.34"),
                ("foo", "one of cilium"),
            ],
        );
    }

    #[test]
    fn policies_and_versions() {
        all_ok(
            policy_arn,
            &[
                "arn:aws:iam::aws:policy/AmazonEC2FullAccess",
                "arn:aws:iam::123456789012:policy/team/KopsExtra",
            ],
        );
        all_bad(
            policy_arn,
            &[
                ("AmazonEC2FullAccess", "ARNs"),
                ("arn:aws:iam::12:policy/X", "ARNs"),
                ("arn:aws:iam::aws:policy/", "ARNs"),
            ],
        );
        all_ok(kubernetes_version, &["1.33", "1.33.2", "v1.33.2"]);
        all_bad(
            kubernetes_version,
            &[("latest", "1.33.2"), ("1", "1.33.2"), ("1.33.x", "1.33.2"), ("1.333333", "1.33.2")],
        );
    }

    #[test]
    fn dns_zones_take_one_trailing_dot_and_no_empty_label() {
        all_ok(dns_zone, &["example.com", "example.com.", "k8s.acme.example.com", "internal"]);
        all_bad(
            dns_zone,
            &[
                ("example.com..", "1 to 63"),
                ("example..com", "1 to 63"),
                (".", "1 to 253"),
                ("", "1 to 253"),
                ("exa mple.com", "' '"),
                ("example.com\n", "'\\n'"),
                ("Example.com", "'E'"),
                ("ex\u{e4}mple.com", "'\u{e4}'"),
            ],
        );
    }

    #[test]
    fn public_key_paths() {
        all_ok(
            public_key_path,
            &["~/.ssh/kops.pub", "~/keys/acme kops.pub", "/tmp/cl\u{e9}s/kops.pub", "kops.pub"],
        );
        let long = format!("~/{}.pub", "k/".repeat(2100));
        let long_name = format!("~/{}.pub", "k".repeat(300));
        all_bad(
            public_key_path,
            &[
                ("", "is needed"),
                ("   ", "is needed"),
                ("~/.ssh/kops", "ends in .pub"),
                ("~/.ssh/kops.pub/", "ends in .pub"),
                ("~/.ssh/.pub", "a name before .pub"),
                ("~/.ssh/ko\nps.pub", "control characters, not '\\n'"),
                ("~/.ssh/kops.pub\n", "control characters"),
                ("~/.ssh/kops\u{0}.pub", "control characters"),
                ("\t~/.ssh/kops.pub", "control characters"),
                (" ~/.ssh/kops.pub", "begins with a space"),
                (&long, "at most 4096 bytes"),
                (&long_name, "at most 255 bytes"),
            ],
        );
    }

    #[test]
    fn policy_arns_follow_iams_naming() {
        all_ok(
            policy_arn,
            &[
                "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM",
                "arn:aws:iam::123456789012:policy/a/b/c/Kops+Extra=1,2.3@x_y-z",
            ],
        );
        let long = format!("arn:aws:iam::aws:policy/{}", "P".repeat(129));
        all_bad(
            policy_arn,
            &[
                ("arn:aws:iam::aws:policy/AmazonEC2FullAccess\nrm -rf ~", "not '\\n'"),
                ("arn:aws:iam::aws:policy/AmazonEC2\u{1b}[2J", "control characters"),
                ("arn:aws:iam::aws:policy/Amazon EC2", "not ' '"),
                ("arn:aws:iam::aws:policy/Amazon\u{c9}C2", "letters, digits"),
                ("arn:aws:iam::aws:policy/team\u{e9}/X", "printable ASCII"),
                ("arn:aws:iam::aws:policy/team/", "1 to 128"),
                (&long, "1 to 128"),
                ("arn:aws:iam::abc:policy/X", "12 digits"),
                ("arn:aws:iam::aws:role/X", "ARNs like"),
            ],
        );
    }

    #[test]
    fn long_values_are_shown_by_their_start_and_length() {
        let v = violation("ssh.public_key", &"k".repeat(5000), "too long".into());
        let text = v.to_string();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains("(5000 characters): too long"), "{text}");
        let v = violation("iam.user", "ko\nps", "bad".into());
        assert_eq!(v.to_string(), r#"iam.user = "ko\nps": bad"#);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "10", "m", "10 m", "ten minutes", "10d", "-5s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(75)), "1m15s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(61_001)), "1m1s1ms");
        assert!(positive_duration("0s").unwrap_err().contains("longer than zero"));
    }

    fn answers(toml_text: &str) -> Answers {
        crate::answers::parse(toml_text, std::path::Path::new("t.toml")).unwrap()
    }

    fn fields(list: &[Violation]) -> Vec<&str> {
        list.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn the_defaults_pass_with_only_the_gossip_warning() {
        let report = check_answers(&Answers::default());
        assert!(report.is_ok(), "{}", report.render_errors());
        assert_eq!(fields(&report.warnings), vec!["cluster.name"]);
    }

    #[test]
    fn answers_name_the_field_the_value_and_the_rule() {
        let report = check_answers(&answers(
            r#"
            [state_store]
            bucket = "Bad_Bucket"
            [cluster]
            name = "dev.example.com"
            networking = "weave"
            control_plane_count = 2
            zones = ["us-east-1a", "eu-west-1b"]
            bastion = true
            [validate]
            wait = "10 minutes"
            "#,
        ));
        assert_eq!(
            fields(&report.errors),
            vec![
                "state_store.bucket",
                "cluster.zones[1]",
                "cluster.networking",
                "cluster.control_plane_count",
                "cluster.bastion",
                "validate.wait",
            ]
        );
        let text = report.render_errors();
        assert!(
            text.contains(
                r#"state_store.bucket = "Bad_Bucket": bucket names may contain only lower-case"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"cluster.networking = "weave": weave was removed"#), "{text}");
    }

    #[test]
    fn cross_field_rules() {
        let report = check_answers(&answers(
            "[cluster]\nname = \"a.example.com\"\nnetworking = \"kubenet\"\ntopology = \"private\"\n",
        ));
        assert_eq!(fields(&report.errors), vec!["cluster.topology"]);

        let report = check_answers(&answers("[aws]\nadmin_profile = \"kops\"\n"));
        assert_eq!(fields(&report.errors), vec!["aws.kops_profile"]);

        let report = check_answers(&answers("[aws]\nkops_profile = \"default\"\n"));
        assert_eq!(fields(&report.errors), vec!["aws.kops_profile"]);

        let report = check_answers(&answers("[validate]\nwait = \"1m\"\ninterval = \"2m\"\n"));
        assert_eq!(fields(&report.errors), vec!["validate.interval"]);

        let report =
            check_answers(&answers("[cluster]\nzones = [\"us-east-1a\", \"us-east-1a\"]\n"));
        assert_eq!(fields(&report.errors), vec!["cluster.zones"]);

        let report = check_answers(&answers("[cluster]\ndns_zone = \"example.com..\"\n"));
        assert_eq!(fields(&report.errors), vec!["cluster.dns_zone"]);

        let report = check_answers(&answers("[ssh]\npublic_key = \"~/.ssh/ko\\nps.pub\"\n"));
        assert_eq!(fields(&report.errors), vec!["ssh.public_key"]);
    }

    #[test]
    fn warnings_do_not_stop_the_run() {
        let report = check_answers(&answers(
            r#"
            [iam]
            policies = ["arn:aws:iam::aws:policy/AmazonEC2FullAccess"]
            [cluster]
            name = "dev.example.com"
            control_plane_size = "t3.micro"
            node_size = "x9.huge"
            "#,
        ));
        assert!(report.is_ok(), "{}", report.render_errors());
        let warned = fields(&report.warnings);
        assert_eq!(warned.iter().filter(|f| **f == "iam.policies").count(), 6);
        assert!(warned.contains(&"cluster.control_plane_size"), "{warned:?}");
        assert!(warned.contains(&"cluster.node_size"), "{warned:?}");
        assert!(report.render_warnings().contains("4 GiB"));
    }
}
