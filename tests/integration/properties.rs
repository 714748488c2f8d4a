//! Property tests (proptest): the validators against names generated from their grammars and
//! against reference predicates, any control character refused on every path a typed or a
//! loaded value takes, and the AWS shared files edited for one profile with every other byte
//! kept. `CASES` and `FILE_CASES` say how many inputs each property is tried with.

use std::fs;
use std::path::Path;

use proptest::prelude::*;

use kops_wizard::answers::{self, Answers};
use kops_wizard::engine::aws::credentials::{AccessKey, Secret, SharedFiles};
use kops_wizard::questions;
use kops_wizard::rules;

/// Inputs per validator property: each is a pure function, so many are cheap.
const CASES: u32 = 512;
/// Inputs per file property: each writes and reads two files in a temp dir.
const FILE_CASES: u32 = 256;

fn config(cases: u32) -> ProptestConfig {
    // PROPTEST_CASES runs more (or fewer); PROPTEST_RNG_SEED (read by the default) replays a
    // run. No failure files are persisted in the source tree: a failure prints its minimal
    // input instead.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

// ---- valid values, from each rule's grammar

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,12}[a-z0-9])?"
}

fn dns_name(min_labels: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(label(), min_labels..5).prop_map(|l| l.join("."))
}

fn bucket() -> impl Strategy<Value = String> {
    // Labels joined by single dots, 3 to 63 characters, none of the reserved affixes, and not
    // all digits (which could read as an address).
    "[a-z][a-z0-9-]{1,20}[a-z0-9](\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,2}".prop_filter(
        "reserved affixes",
        |b| {
            !["xn--", "sthree-", "amzn-s3-demo-"].iter().any(|p| b.starts_with(p))
                && !["-s3alias", "--ol-s3", ".mrap", "--x-s3"].iter().any(|s| b.ends_with(s))
        },
    )
}

fn iam_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+=,.@_-]{1,64}"
}

fn profile() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._@+-]{1,64}"
}

fn policy() -> impl Strategy<Value = String> {
    "arn:aws:iam::(aws|[0-9]{12}):policy/([!-.0-~]{1,10}/){0,3}[A-Za-z0-9+=,.@_-]{1,128}"
}

fn key_path() -> impl Strategy<Value = String> {
    // Any printable text but `/` in each part, spaces and non-ASCII included.
    "(~/)?([^/\\p{Cc}\\s][^/\\p{Cc}]{0,15}/){0,4}[^/\\p{Cc}\\s][^/\\p{Cc}]{0,14}\\.pub"
}

fn region() -> impl Strategy<Value = String> {
    "[a-z]{2,5}(-[a-z]{2,9}){1,2}-[0-9]{1,2}"
}

fn instance_type() -> impl Strategy<Value = String> {
    "[a-z0-9-]{1,8}\\.[a-z0-9-]{1,8}"
}

fn k8s_version() -> impl Strategy<Value = String> {
    "v?[0-9]{1,5}\\.[0-9]{1,5}(\\.[0-9]{1,5})?"
}

fn duration() -> impl Strategy<Value = String> {
    "([1-9][0-9]{0,3}(h|m|s|ms)){1,3}"
}

/// Any control character: C0, DEL and C1.
fn control() -> impl Strategy<Value = char> {
    prop_oneof![0u32..0x20, Just(0x7f), 0x80u32..0xa0].prop_map(|c| char::from_u32(c).unwrap())
}

/// `value` with `c` inserted at the `at`-th character boundary (of `len + 1`).
fn insert(value: &str, c: char, at: prop::sample::Index) -> String {
    let bounds: Vec<usize> =
        value.char_indices().map(|(i, _)| i).chain(std::iter::once(value.len())).collect();
    let i = bounds[at.index(bounds.len())];
    format!("{}{c}{}", &value[..i], &value[i..])
}

/// A rule on one text value, as `rules` has them.
type TextRule = fn(&str) -> Result<(), String>;

/// An independent statement of S3's naming rules, to hold `rules::bucket_name` to.
fn reference_bucket(name: &str) -> bool {
    let b = name.as_bytes();
    let ip = name.split('.').count() == 4
        && name
            .split('.')
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|c| c.is_ascii_digit()));
    (3..=63).contains(&b.len())
        && b.iter().all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !name.contains("..")
        && !ip
        && !name.starts_with("xn--")
        && !name.starts_with("sthree-")
        && !name.starts_with("amzn-s3-demo-")
        && !name.ends_with("-s3alias")
        && !name.ends_with("--ol-s3")
        && !name.ends_with(".mrap")
        && !name.ends_with("--x-s3")
}

/// Mostly near-valid names: S3's alphabet with some capitals, underscores and spaces, digit
/// groups that may look like addresses, and the reserved affixes.
fn bucket_like() -> impl Strategy<Value = String> {
    let body = prop_oneof![
        4 => "[a-z0-9.-]{0,66}",
        2 => "[a-z0-9.A-Z_ -]{1,20}",
        2 => "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}",
    ];
    let affix = prop_oneof![Just(""), Just("xn--"), Just("sthree-"), Just("amzn-s3-demo-")];
    let suffix =
        prop_oneof![Just(""), Just("-s3alias"), Just("--ol-s3"), Just(".mrap"), Just("--x-s3")];
    (affix, body, suffix).prop_map(|(a, b, s)| format!("{a}{b}{s}"))
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn valid_values_from_each_grammar_are_accepted(
        bucket in bucket(),
        cluster in dns_name(2),
        zone in dns_name(1),
        fqdn in any::<bool>(),
        user in iam_name(),
        group in "[A-Za-z0-9+=,.@_-]{1,128}",
        profile in profile(),
        policy in policy(),
        key in key_path(),
        region in region(),
        size in instance_type(),
        version in k8s_version(),
        wait in duration(),
    ) {
        prop_assert_eq!(rules::bucket_name(&bucket), Ok(()), "{}", bucket);
        prop_assert_eq!(rules::cluster_name(&cluster), Ok(()), "{}", cluster);
        let zone = if fqdn { format!("{zone}.") } else { zone };
        prop_assert_eq!(rules::dns_zone(&zone), Ok(()), "{}", zone);
        prop_assert_eq!(rules::iam_name(&user, 64), Ok(()));
        prop_assert_eq!(rules::iam_name(&group, 128), Ok(()));
        prop_assert_eq!(rules::profile_name(&profile), Ok(()));
        prop_assert_eq!(rules::policy_arn(&policy), Ok(()), "{}", policy);
        prop_assert_eq!(rules::public_key_path(&key), Ok(()), "{:?}", key);
        prop_assert_eq!(rules::region_format(&region), Ok(()));
        prop_assert_eq!(rules::instance_type_format(&size), Ok(()));
        prop_assert_eq!(rules::kubernetes_version(&version), Ok(()));
        prop_assert!(rules::parse_duration(&wait).is_ok_and(|d| !d.is_zero()), "{}", wait);
    }

    #[test]
    fn bucket_names_agree_with_a_reference_predicate(name in bucket_like()) {
        prop_assert_eq!(rules::bucket_name(&name).is_ok(), reference_bucket(&name), "{:?}", name);
    }

    #[test]
    fn durations_print_and_parse_back(wait in duration()) {
        let d = rules::parse_duration(&wait).unwrap();
        prop_assert_eq!(rules::parse_duration(&rules::format_duration(d)), Ok(d));
    }

    /// A control character anywhere in an otherwise valid value is refused by the value's rule.
    #[test]
    fn any_control_character_is_refused_by_every_text_rule(
        bucket in bucket(),
        cluster in dns_name(2),
        user in iam_name(),
        profile in profile(),
        policy in policy(),
        key in key_path(),
        region in region(),
        size in instance_type(),
        version in k8s_version(),
        wait in duration(),
        c in control(),
        at in any::<prop::sample::Index>(),
    ) {
        let cases: [(&str, String, TextRule); 14] = [
            ("bucket_name", bucket, rules::bucket_name),
            ("cluster_name", cluster.clone(), rules::cluster_name),
            ("dns_subdomain", cluster.clone(), rules::dns_subdomain),
            ("dns_zone", cluster, rules::dns_zone),
            ("iam_name", user, |v| rules::iam_name(v, 128)),
            ("profile_name", profile, rules::profile_name),
            ("policy_arn", policy, rules::policy_arn),
            ("public_key_path", key, rules::public_key_path),
            ("region_format", region, rules::region_format),
            ("zone_in_region", "us-east-1a".into(), |v| rules::zone_in_region(v, "us-east-1")),
            ("instance_type_format", size, rules::instance_type_format),
            ("networking", "cilium".into(), rules::networking),
            ("kubernetes_version", version, rules::kubernetes_version),
            ("parse_duration", wait, |v| rules::parse_duration(v).map(|_| ())),
        ];
        for (rule, valid, check) in cases {
            prop_assert_eq!(check(&valid), Ok(()), "{} {:?} should pass", rule, valid);
            let bad = insert(&valid, c, at);
            prop_assert!(check(&bad).is_err(), "{} accepted {:?}", rule, bad);
        }
    }

    /// The same through the questions both front ends use: typed into any text or number
    /// field, a value with a control character inside is refused on that field.
    #[test]
    fn a_typed_control_character_is_refused_by_every_typed_question(
        c in control(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut start = Answers::default();
        start.state_store.bucket = Some("props-kops-state".into());
        for q in questions::QUESTIONS.iter().filter(|q| q.is_typed()) {
            let mut a = start.clone();
            let valid = match q.get(&a) {
                v if v.is_empty() => match q.key {
                    "cluster.node_count" => "13".to_string(),
                    "cluster.dns_zone" => "example.com".to_string(),
                    "cluster.kubernetes_version" => "1.33.2".to_string(),
                    other => panic!("{other} has no value to start from"),
                },
                v => v,
            };
            let bad = insert(&valid, c, at);
            // A newline or tab at either end is trimmed by the front ends: that is by design.
            if bad.trim() == valid {
                continue;
            }
            let refused = q.set(&mut a, &bad).is_err() || q.error(&a, &kops_wizard::rules::check_answers(&a)).is_some();
            prop_assert!(refused, "{} took {:?}", q.key, bad);
        }
    }

    /// And through the answers file: any string value holding a control character (written as
    /// a TOML escape) fails to parse or breaks a rule named by its key.
    #[test]
    fn a_loaded_control_character_is_refused_naming_its_key(
        c in control(),
        at in any::<prop::sample::Index>(),
        which in 0usize..STRING_KEYS.len(),
    ) {
        let (section, key, valid) = STRING_KEYS[which];
        let bad = insert(valid, c, at);
        let escaped: String = bad.chars().flat_map(|ch| match ch {
            '"' | '\\' => vec!['\\', ch],
            ch if ch.is_control() => format!("\\u{:04X}", ch as u32).chars().collect(),
            ch => vec![ch],
        }).collect();
        let value = match key {
            "zones" | "policies" => format!("[\"{escaped}\"]"),
            _ => format!("\"{escaped}\""),
        };
        let text = if section == "state_store" {
            format!("[state_store]\n{key} = {value}\n")
        } else {
            format!("[state_store]\nbucket = \"props-kops-state\"\n[{section}]\n{key} = {value}\n")
        };
        match answers::parse(&text, Path::new("props.toml")) {
            Err(_) => {}
            Ok(a) => {
                let field = format!("{section}.{key}");
                let report = kops_wizard::rules::check_answers(&a);
                prop_assert!(
                    report.errors.iter().any(|v| v.field.starts_with(&field)),
                    "{:?} accepted: {}", bad, report.render_errors()
                );
            }
        }
    }
}

/// Every string answer (and the string lists), with a valid value to break.
const STRING_KEYS: &[(&str, &str, &str)] = &[
    ("aws", "region", "us-east-1"),
    ("aws", "admin_profile", "admin"),
    ("aws", "kops_profile", "kops"),
    ("iam", "group", "kops"),
    ("iam", "user", "kops"),
    ("iam", "policies", "arn:aws:iam::aws:policy/AmazonEC2FullAccess"),
    ("state_store", "bucket", "props-kops-state"),
    ("ssh", "public_key", "~/.ssh/kops.pub"),
    ("cluster", "name", "dev.example.com"),
    ("cluster", "zones", "us-east-1a"),
    ("cluster", "networking", "cilium"),
    ("cluster", "control_plane_size", "t3.medium"),
    ("cluster", "node_size", "t3.medium"),
    ("cluster", "dns_zone", "example.com"),
    ("cluster", "kubernetes_version", "1.33.2"),
    ("validate", "wait", "10m"),
    ("validate", "interval", "10s"),
];

// ---- the AWS shared files

#[derive(Debug, Clone, Copy, PartialEq)]
enum FileKind {
    Credentials,
    Config,
}

/// A generated shared file: lines before the first header, then sections, each with the
/// profile its header names in this kind of file (`None` for a section that is not a profile,
/// such as `[sso-session kops]` in the config file), its header and its lines; the line ending,
/// a final newline or not, a byte-order mark or not.
#[derive(Debug, Clone)]
struct File {
    preamble: Vec<String>,
    sections: Vec<(Option<String>, Vec<String>)>,
    eol: &'static str,
    final_newline: bool,
    bom: bool,
}

impl File {
    /// Every line, with the profile whose section holds it.
    fn lines(&self) -> Vec<(Option<&str>, &str)> {
        let mut out: Vec<(Option<&str>, &str)> =
            self.preamble.iter().map(|t| (None, t.as_str())).collect();
        for (profile, lines) in &self.sections {
            out.extend(lines.iter().map(|l| (profile.as_deref(), l.as_str())));
        }
        out
    }

    /// The text without the byte-order mark (`render` adds it).
    fn body(&self) -> String {
        let lines = self.lines();
        let mut text = String::new();
        for (i, (_, line)) in lines.iter().enumerate() {
            text.push_str(line);
            if i + 1 < lines.len() || self.final_newline {
                text.push_str(self.eol);
            }
        }
        text
    }

    fn render(&self) -> String {
        if self.bom { format!("\u{feff}{}", self.body()) } else { self.body() }
    }

    fn has(&self, profile: &str) -> bool {
        self.sections.iter().any(|(p, _)| p.as_deref() == Some(profile))
    }
}

/// The profiles the generated files use; `kops` is the one the properties edit.
const NAMES: &[&str] = &["kops", "default", "dev", "prod", "team-a", "ops@acme", "x.y"];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(String::from),
        1 => "[a-z][a-z0-9-]{0,8}",
    ]
}

fn blank_or_comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ \t]{1,3}",
        "[#;][ -~]{0,20}",
        "[ \t]{1,3}[#;][ -~]{0,12}[ \t]{0,2}",
    ]
}

/// A `key = value` line with odd spacing and maybe an inline comment, or a nested block (`s3 =`
/// and indented lines that continue it).
fn property() -> impl Strategy<Value = Vec<String>> {
    let key = prop::sample::select(
        &[
            "aws_access_key_id",
            "aws_secret_access_key",
            "AWS_Secret_Access_Key",
            "region",
            "output",
            "aws_session_token",
            "role_arn",
            "x-unknown_key",
        ][..],
    );
    let spacing = prop::sample::select(
        &[("", "="), (" ", "= "), (" ", "="), ("\t", "=\t"), ("  ", "  =  ")][..],
    );
    let comment = prop_oneof![3 => Just(String::new()), 1 => "[ \t]{1,2}[#;][ -~]{0,10}"];
    let nested = prop::collection::vec("  [a-z_]{1,8} = [a-z0-9]{1,6}", 0..3);
    (key, "[A-Za-z0-9/+:._-]{1,24}", spacing, comment, nested, "[ ]{0,2}").prop_map(
        |(key, value, (before, eq), comment, nested, indent)| {
            if nested.is_empty() {
                vec![format!("{indent}{key}{before}{eq}{value}{comment}")]
            } else {
                let mut lines = vec!["s3 =".to_string()];
                lines.extend(nested);
                lines
            }
        },
    )
}

fn header(kind: FileKind, name: String) -> BoxedStrategy<(Option<String>, String)> {
    let inside = prop::sample::select(&[("", ""), (" ", " "), ("", "  "), ("  ", "")][..]);
    let outside = prop::sample::select(&[("", ""), ("  ", ""), ("", "   "), ("", " # note")][..]);
    match kind {
        FileKind::Credentials => (inside, outside)
            .prop_map(move |((a, b), (o, t))| (Some(name.clone()), format!("{o}[{a}{name}{b}]{t}")))
            .boxed(),
        FileKind::Config => (inside, outside, 0..5u8)
            .prop_map(move |((a, b), (o, t), form)| match form {
                0 | 1 if name == "default" => {
                    (Some(name.clone()), format!("{o}[{a}default{b}]{t}"))
                }
                0 | 1 => (Some(name.clone()), format!("{o}[{a}profile {name}{b}]{t}")),
                2 => (Some(name.clone()), format!("{o}[profile  {name} ]{t}")),
                // Sections of the config file that are not profiles, even with a profile's
                // name: a save or remove of that profile must not touch them.
                3 => (None, format!("[sso-session {name}]")),
                _ if name == "default" => (Some(name.clone()), format!("[{a}{name}{b}]")),
                _ => (None, format!("[{a}{name}{b}]")),
            })
            .boxed(),
    }
}

fn section(kind: FileKind) -> impl Strategy<Value = (Option<String>, Vec<String>)> {
    name().prop_flat_map(move |n| {
        let body = prop::collection::vec(
            prop_oneof![3 => property(), 1 => blank_or_comment().prop_map(|l| vec![l])],
            0..5,
        );
        (header(kind, n), body).prop_map(|((profile, head), body)| {
            let mut lines = vec![head];
            lines.extend(body.into_iter().flatten());
            (profile, lines)
        })
    })
}

fn file(kind: FileKind) -> impl Strategy<Value = File> {
    (
        prop::collection::vec(blank_or_comment(), 0..3),
        prop::collection::vec(section(kind), 0..6),
        prop::sample::select(&["\n", "\r\n"][..]),
        any::<bool>(),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(preamble, sections, eol, final_newline, bom)| File {
            preamble,
            sections,
            eol,
            final_newline,
            bom,
        })
}

/// The two files in a temp home, written from the generated ones.
fn write(credentials: &File, config: &File) -> (tempfile::TempDir, SharedFiles) {
    let home = tempfile::tempdir().unwrap();
    let files = SharedFiles::locate(home.path(), |_| None);
    fs::create_dir_all(files.credentials.parent().unwrap()).unwrap();
    fs::write(&files.credentials, credentials.render()).unwrap();
    fs::write(&files.config, config.render()).unwrap();
    (home, files)
}

/// A file's text after an edit, split from its byte-order mark (whether it is still there).
fn read_back(path: &Path) -> (bool, String) {
    let text = fs::read_to_string(path).unwrap_or_default();
    match text.strip_prefix('\u{feff}') {
        Some(rest) => (true, rest.to_string()),
        None => (false, text),
    }
}

fn key() -> AccessKey {
    AccessKey { id: "AKIAPROPERTYTEST0001".into(), secret: Secret::new("props/secret+KEY0001") }
}

/// Lines with their endings, as written.
fn raw_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The profile each line's section names, found by reading headers as the AWS tools do (a
/// line whose trimmed text starts with `[` and has a `]`): for the edited file, where the
/// generator's own record no longer applies.
fn owners(text: &str, kind: FileKind) -> Vec<Option<String>> {
    let mut current = None;
    raw_lines(text)
        .iter()
        .map(|line| {
            let t = line.trim();
            if let Some(inner) =
                t.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(i, _)| i.trim())
            {
                current = match kind {
                    FileKind::Credentials => Some(inner.to_string()),
                    FileKind::Config if inner == "default" => Some(inner.to_string()),
                    FileKind::Config => inner
                        .strip_prefix("profile")
                        .filter(|r| r.starts_with(char::is_whitespace))
                        .map(|r| r.trim().to_string()),
                };
            }
            current.clone()
        })
        .collect()
}

/// Whether `after` is `before` with only lines that `deletable` allows removed (in order, each
/// kept line byte for byte with its ending), by dynamic programming so that equal lines (blank
/// ones) cannot mislead a greedy match.
fn kept_in_order(before: &[&str], after: &[&str], deletable: &[bool]) -> bool {
    let (n, m) = (before.len(), after.len());
    // ok[i][j]: before[i..] can become after[j..].
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            let skip = deletable[i] && ok[i + 1][j];
            let keep = j < m && before[i] == after[j] && ok[i + 1][j + 1];
            ok[i][j] = skip || keep;
        }
    }
    ok[0][0]
}

/// What `read_key` gives for each profile of the credentials file but `kops`.
fn other_keys(files: &SharedFiles, file: &File) -> Vec<(String, Option<AccessKey>)> {
    let names: std::collections::BTreeSet<String> =
        file.sections.iter().filter_map(|(p, _)| p.clone()).filter(|p| p != "kops").collect();
    names.into_iter().map(|n| (n.clone(), files.read_key(&n).unwrap())).collect()
}

proptest! {
    #![proptest_config(config(FILE_CASES))]

    /// Saving the kops profile changes only the kops profile's sections of either file: every
    /// other line (other profiles, sections that are not profiles, comments, blank lines, odd
    /// spacing, CRLF, a missing final newline, a byte-order mark) stays byte for byte and in
    /// order, every other profile's key reads back the same, and the kops key as saved.
    #[test]
    fn saving_one_profile_keeps_every_other_byte(
        credentials in file(FileKind::Credentials),
        config in file(FileKind::Config),
    ) {
        let (_home, files) = write(&credentials, &config);
        let others = other_keys(&files, &credentials);
        files.save("kops", &key(), "eu-west-1").unwrap();
        for (file, path, kind) in [
            (&credentials, &files.credentials, FileKind::Credentials),
            (&config, &files.config, FileKind::Config),
        ] {
            let before = file.body();
            let (bom, after) = read_back(path);
            prop_assert_eq!(bom, file.bom, "the byte-order mark is kept");
            if file.has("kops") {
                let outside = |text: &str, owners: Vec<Option<String>>| -> Vec<String> {
                    raw_lines(text)
                        .iter()
                        .zip(owners)
                        .filter(|(_, o)| o.as_deref() != Some("kops"))
                        .map(|(l, _)| l.to_string())
                        .collect()
                };
                let mine: Vec<Option<String>> =
                    file.lines().iter().map(|(p, _)| p.map(String::from)).collect();
                prop_assert_eq!(
                    outside(&before, mine),
                    outside(&after, owners(&after, kind)),
                    "lines outside the kops sections changed:\n{:?}\n---\n{:?}", before, after
                );
            } else {
                // A new section goes at the end: the old file is a prefix of the new one.
                prop_assert!(after.starts_with(&before), "{:?}\n---\n{:?}", before, after);
            }
        }
        prop_assert_eq!(files.read_key("kops").unwrap(), Some(key()));
        prop_assert_eq!(other_keys(&files, &credentials), others);
    }

    /// Removing the kops profile deletes only lines of its sections (and, when a removed
    /// section ended the file, the blank lines before it): every other line is kept byte for
    /// byte and in order, and a file without the profile is not rewritten.
    #[test]
    fn removing_one_profile_keeps_every_other_byte(
        credentials in file(FileKind::Credentials),
        config in file(FileKind::Config),
    ) {
        let (_home, files) = write(&credentials, &config);
        let others = other_keys(&files, &credentials);
        let removed = files.remove("kops").unwrap();
        prop_assert_eq!(removed, credentials.has("kops") || config.has("kops"));
        for (file, path) in [(&credentials, &files.credentials), (&config, &files.config)] {
            let before = file.body();
            let (bom, after) = read_back(path);
            prop_assert_eq!(bom, file.bom, "the byte-order mark is kept");
            let lines = raw_lines(&before);
            let mut deletable: Vec<bool> =
                file.lines().iter().map(|(p, _)| *p == Some("kops")).collect();
            let last_kept = (0..lines.len())
                .rev()
                .find(|&i| !deletable[i] && !lines[i].trim().is_empty());
            let tail = last_kept.map_or(0, |k| k + 1);
            if deletable[tail..].contains(&true) {
                for i in tail..lines.len() {
                    deletable[i] = deletable[i] || lines[i].trim().is_empty();
                }
            }
            prop_assert!(
                kept_in_order(&lines, &raw_lines(&after), &deletable),
                "{:?}\n---\n{:?}", before, after
            );
            if !file.has("kops") {
                prop_assert_eq!(&after, &before, "a file without the profile is left alone");
            }
        }
        prop_assert!(!files.profiles().unwrap().contains(&"kops".to_string()));
        prop_assert_eq!(files.read_key("kops").unwrap(), None);
        prop_assert_eq!(other_keys(&files, &credentials), others);
    }

    /// Saving a profile the files do not have and removing it again gives back both files byte
    /// for byte when they end with a non-blank line and its line ending. Otherwise only their
    /// end differs: the new section needed a line ending first, and the blank lines before it
    /// went with it.
    #[test]
    fn save_then_remove_gives_back_the_files(
        credentials in file(FileKind::Credentials),
        config in file(FileKind::Config),
    ) {
        let without = |f: &File| File {
            sections: f
                .sections
                .iter()
                .filter(|(p, _)| p.as_deref() != Some("kops"))
                .cloned()
                .collect(),
            ..f.clone()
        };
        let (credentials, config) = (without(&credentials), without(&config));
        let (_home, files) = write(&credentials, &config);
        files.save("kops", &key(), "eu-west-1").unwrap();
        prop_assert!(files.remove("kops").unwrap());
        for (file, path) in [(&credentials, &files.credentials), (&config, &files.config)] {
            let before = file.body();
            let (bom, after) = read_back(path);
            prop_assert_eq!(bom, file.bom);
            let mut expected: Vec<String> =
                raw_lines(&before).iter().map(|l| l.to_string()).collect();
            while expected.last().is_some_and(|l| l.trim().is_empty()) {
                expected.pop();
            }
            // A file with no line ending at all gets the default one.
            let eol = if before.contains('\n') { file.eol } else { "\n" };
            if let Some(last) = expected.last_mut().filter(|l| !l.ends_with('\n')) {
                last.push_str(eol);
            }
            let expected = expected.concat();
            if file.final_newline && expected.len() == before.len() {
                prop_assert_eq!(&after, &before, "byte for byte");
            }
            prop_assert_eq!(after, expected, "from {:?}", before);
        }
    }
}
