//! The AWS shared credentials and config files (`~/.aws/credentials`, `~/.aws/config`), edited
//! the way `aws configure` writes them, for the profile that holds the kops IAM user's key.
//!
//! These files belong to the user and usually hold other accounts' keys, so an edit touches only
//! the target profile's lines: other profiles, comments, blank lines, key order, unknown keys,
//! line endings (CRLF stays CRLF) and a missing final newline all survive byte for byte. Every
//! write goes through a 0600 temp file that is fsynced and renamed over the target, so a crash
//! leaves either the old file or the new one, and the secret is never world-readable.
//!
//! Choices for the odd cases:
//! - A profile that appears in several sections (the SDKs merge them, later keys winning) is
//!   edited in its first section; the keys being set are deleted from the later ones so that
//!   they cannot override the new values. `remove` deletes every one of its sections.
//! - Key names match case-insensitively (botocore lowercases them); profile names match exactly,
//!   after trimming the spaces inside the brackets (`[ kops ]` is `kops`).
//! - In the config file only `[default]` and `[profile NAME]` are profiles (`[profile default]`
//!   counts as `default`); `[sso-session ..]`, `[services ..]` and bare `[name]` are not.
//! - A section ends at its last key (or indented continuation) line: comments and blank lines
//!   after it are left to whatever follows, so new keys go right after the last key and removing
//!   a section keeps the comment that introduces the next one.
//! - The secret is never formatted: [`Secret`] redacts its `Debug`, the parsed file has no
//!   `Debug`, and no error carries a value read from or written to the files.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fsutil;

/// A secret that never prints: `Debug` shows `Secret(***)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must write it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An IAM access key; `Debug` is safe because [`Secret`] redacts itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: Secret,
}

/// Where the two shared files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedFiles {
    pub credentials: PathBuf,
    pub config: PathBuf,
}

/// What went wrong with the shared files. No variant holds a value read from or written to them,
/// so none can leak a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "cannot find the home directory for the AWS credentials files; set HOME, or set both \
         AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE"
    )]
    NoHome,
    #[error("cannot read {}: {error}; check that it is a readable file", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error(
        "{} is not UTF-8 text, so the AWS tools cannot read it either; fix it or move it aside",
        path.display()
    )]
    NotUtf8 { path: PathBuf },
    #[error(
        "cannot write {}: {error}; check the permissions of the file and its directory and the \
         free space, then try again",
        path.display()
    )]
    Write { path: PathBuf, error: io::Error },
    /// A file the user made read-only is theirs to protect: never replaced behind their back.
    #[error(
        "{} is read-only: kops-wizard does not replace a file you protected. Make it writable \
         (chmod u+w), or point AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE at another file",
        .0.display()
    )]
    ReadOnly(PathBuf),
    #[error("invalid AWS profile name {name:?}: use only letters, digits and - _ . / % @ : +")]
    InvalidProfile { name: String },
    /// Names the field only: the value may be the secret.
    #[error(
        "the {field} is empty or has spaces, line breaks or other unexpected characters; copy \
         it again"
    )]
    InvalidValue { field: &'static str },
}

const ACCESS_KEY_ID: &str = "aws_access_key_id";
const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
const REGION: &str = "region";
/// A session token left over from temporary credentials would be sent with the new long-term
/// key and make every call fail; `aws_security_token` is botocore's old name for it.
const STALE_KEYS: [&str; 2] = ["aws_session_token", "aws_security_token"];

impl SharedFiles {
    /// `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` when set (read through `var` so tests
    /// need not mutate the process environment), else `~/.aws/credentials` and `~/.aws/config`
    /// under `home`. A leading `~` in a variable is expanded, as the AWS SDKs do.
    pub fn locate(home: &Path, var: impl Fn(&str) -> Option<String>) -> SharedFiles {
        let pick = |name: &str, default: &str| match var(name).filter(|v| !v.is_empty()) {
            Some(value) => expand_tilde(&value, home),
            None => home.join(".aws").join(default),
        };
        SharedFiles {
            credentials: pick("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            config: pick("AWS_CONFIG_FILE", "config"),
        }
    }

    /// The same, from the real environment and the home directory.
    pub fn from_env() -> Result<SharedFiles, CredentialsError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(home) = home_dir() {
            return Ok(SharedFiles::locate(&home, var));
        }
        // Without a home directory, explicit absolute paths still work.
        match (var("AWS_SHARED_CREDENTIALS_FILE"), var("AWS_CONFIG_FILE")) {
            (Some(credentials), Some(config))
                if !credentials.starts_with('~') && !config.starts_with('~') =>
            {
                Ok(SharedFiles { credentials: credentials.into(), config: config.into() })
            }
            _ => Err(CredentialsError::NoHome),
        }
    }

    /// The key saved under `profile` in the credentials file, if both `aws_access_key_id` and
    /// `aws_secret_access_key` are there (a later duplicate section wins, as in the SDKs).
    pub fn read_key(&self, profile: &str) -> Result<Option<AccessKey>, CredentialsError> {
        let Some(doc) = load(&self.credentials)? else {
            return Ok(None);
        };
        let (mut id, mut secret) = (None, None);
        for section in sections(&doc, Kind::Credentials) {
            if section.profile.as_deref() != Some(profile) {
                continue;
            }
            for prop in &section.props {
                let value = || property_value(&doc.lines[prop.line].text).to_string();
                if prop.key.eq_ignore_ascii_case(ACCESS_KEY_ID) {
                    id = Some(value());
                } else if prop.key.eq_ignore_ascii_case(SECRET_ACCESS_KEY) {
                    secret = Some(value());
                }
            }
        }
        Ok(match (id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                Some(AccessKey { id, secret: Secret(secret) })
            }
            _ => None,
        })
    }

    /// Refuses files the user made read-only (no owner write bit; a symlink is judged by
    /// what it points at, which is what gets updated). Setup asks this before it creates the
    /// access key, so a refusal changes nothing in AWS either.
    pub fn check_writable(&self) -> Result<(), CredentialsError> {
        use std::os::unix::fs::PermissionsExt;
        for path in [&self.credentials, &self.config] {
            if let Ok(meta) = fs::metadata(path)
                && meta.permissions().mode() & 0o200 == 0
            {
                return Err(CredentialsError::ReadOnly(path.clone()));
            }
        }
        Ok(())
    }

    /// Makes an existing credentials or config file that others may read or write 0600, and
    /// returns each one changed with the mode it had, for the caller to say so. A symlink is
    /// left alone (its target may be shared on purpose); so is a file that is not ours to chmod.
    pub fn tighten(&self) -> Result<Vec<(PathBuf, u32)>, CredentialsError> {
        use std::os::unix::fs::PermissionsExt;
        let mut changed = Vec::new();
        for path in [&self.credentials, &self.config] {
            let Ok(meta) = fs::symlink_metadata(path) else { continue };
            let mode = meta.permissions().mode() & 0o777;
            if !meta.file_type().is_file() || mode & 0o077 == 0 {
                continue;
            }
            fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))
                .map_err(|error| CredentialsError::Write { path: path.clone(), error })?;
            changed.push((path.clone(), mode));
        }
        Ok(changed)
    }

    /// Saves the key as `[profile]` in the credentials file (removing a stale session token
    /// there) and `region` in the config file's section for the profile, creating the files and
    /// a 0700 directory as needed. Both files end up mode 0600.
    pub fn save(
        &self,
        profile: &str,
        key: &AccessKey,
        region: &str,
    ) -> Result<(), CredentialsError> {
        check_profile(profile)?;
        check_value("access key ID", &key.id)?;
        check_value("secret access key", key.secret.expose())?;
        check_value("region", region)?;
        self.check_writable()?;
        // Both files are read before either is written, so a read error changes nothing.
        let mut credentials = load(&self.credentials)?.unwrap_or_default();
        let mut config = load(&self.config)?.unwrap_or_default();
        credentials.set(
            Kind::Credentials,
            profile,
            &[(ACCESS_KEY_ID, &key.id), (SECRET_ACCESS_KEY, key.secret.expose())],
            &STALE_KEYS,
        );
        config.set(Kind::Config, profile, &[(REGION, region)], &[]);
        let before = fs::read(&self.credentials).ok();
        write_atomic(&self.credentials, &credentials.render())?;
        if let Err(e) = write_atomic(&self.config, &config.render()) {
            // Half a profile is worse than none: the caller deletes the key in AWS, so the
            // credentials file goes back to what it was (or away, if it was not there).
            let _ = match before {
                Some(bytes) => fsutil::write_atomic(&self.credentials, &bytes),
                None => fs::remove_file(&self.credentials),
            };
            return Err(e);
        }
        Ok(())
    }

    /// Removes the profile's sections from both files, keeping everything else byte for byte.
    /// Returns whether anything was removed; a file with nothing to remove is not rewritten.
    pub fn remove(&self, profile: &str) -> Result<bool, CredentialsError> {
        self.check_writable()?;
        let mut edits = Vec::new();
        for (path, kind) in [(&self.credentials, Kind::Credentials), (&self.config, Kind::Config)] {
            if let Some(mut doc) = load(path)?
                && doc.remove(kind, profile)
            {
                edits.push((path, doc));
            }
        }
        for (path, doc) in &edits {
            write_atomic(path, &doc.render())?;
        }
        Ok(!edits.is_empty())
    }

    /// Profile names found in either file (the config file's `[profile x]` counted as `x`),
    /// sorted and deduplicated.
    pub fn profiles(&self) -> Result<Vec<String>, CredentialsError> {
        let mut names = BTreeSet::new();
        for (path, kind) in [(&self.credentials, Kind::Credentials), (&self.config, Kind::Config)] {
            if let Some(doc) = load(path)? {
                names.extend(sections(&doc, kind).into_iter().filter_map(|s| s.profile));
            }
        }
        names.remove("");
        Ok(names.into_iter().collect())
    }
}

/// `$HOME`, falling back to the platform's notion of it.
// `home_dir` was deprecated in Rust 1.29 to 1.85 for its Windows
// behaviour; it is only the fallback here.
#[allow(deprecated)]
fn home_dir() -> Option<PathBuf> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home)),
        _ => std::env::home_dir(),
    }
}

fn expand_tilde(value: &str, home: &Path) -> PathBuf {
    if value == "~" {
        return home.to_path_buf();
    }
    match value.strip_prefix("~/").or_else(|| value.strip_prefix("~\\")) {
        Some(rest) => home.join(rest),
        None => PathBuf::from(value),
    }
}

/// The characters the AWS SDKs accept in a profile name; anything else could not be written
/// as a header that every tool reads back the same way.
fn check_profile(name: &str) -> Result<(), CredentialsError> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_./%@:+".contains(c);
    if name.is_empty() || !name.chars().all(ok) {
        return Err(CredentialsError::InvalidProfile { name: name.to_string() });
    }
    Ok(())
}

/// Values are written unquoted on one line: whitespace would end them at an inline comment and
/// a leading `#` or `;` would make them one.
fn check_value(field: &'static str, value: &str) -> Result<(), CredentialsError> {
    let ok = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_graphic())
        && !value.starts_with(['#', ';']);
    if ok { Ok(()) } else { Err(CredentialsError::InvalidValue { field }) }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Credentials,
    Config,
}

impl Kind {
    /// The profile a section header names, if it names one.
    fn profile(self, header: &str) -> Option<String> {
        match self {
            Kind::Credentials => Some(header.to_string()),
            Kind::Config if header == "default" => Some(header.to_string()),
            Kind::Config => {
                let rest = header.strip_prefix("profile")?;
                rest.starts_with(char::is_whitespace).then(|| rest.trim().to_string())
            }
        }
    }

    fn header(self, profile: &str) -> String {
        match self {
            Kind::Config if profile != "default" => format!("[profile {profile}]"),
            _ => format!("[{profile}]"),
        }
    }
}

/// One line and the ending it had: `"\r\n"`, `"\n"`, or `""` for a last line without one.
/// No `Debug`: the text may be the secret.
#[derive(Clone)]
struct Line {
    text: String,
    eol: &'static str,
}

/// A shared file as lines, so that untouched lines are written back exactly as read.
struct Doc {
    bom: bool,
    lines: Vec<Line>,
    /// The ending for new lines: the file's first one, so CRLF files stay CRLF.
    eol: &'static str,
}

impl Default for Doc {
    fn default() -> Self {
        Doc { bom: false, lines: Vec::new(), eol: "\n" }
    }
}

/// A section from its header to the next header (`end`, exclusive); `body_end` is just past its
/// last key, continuation or unknown line, where new keys go.
struct Section {
    profile: Option<String>,
    header: usize,
    body_end: usize,
    end: usize,
    props: Vec<Prop>,
}

/// A `key = value` line at `line`, with its indented continuation lines up to `end`.
struct Prop {
    key: String,
    line: usize,
    end: usize,
}

fn header_name(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix('[')?;
    let close = inner.find(']')?;
    Some(inner[..close].trim())
}

fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

fn is_comment(text: &str) -> bool {
    text.trim_start().starts_with(['#', ';'])
}

fn sections(doc: &Doc, kind: Kind) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    // Whether an indented line continues the previous key (botocore's nested values).
    let mut in_prop = false;
    for (i, line) in doc.lines.iter().enumerate() {
        let text = line.text.as_str();
        if let Some(name) = header_name(text) {
            if let Some(last) = out.last_mut() {
                last.end = i;
            }
            out.push(Section {
                profile: kind.profile(name),
                header: i,
                body_end: i + 1,
                end: doc.lines.len(),
                props: Vec::new(),
            });
            in_prop = false;
            continue;
        }
        // Lines before the first header belong to no profile.
        let Some(section) = out.last_mut() else { continue };
        if is_blank(text) || is_comment(text) {
            in_prop = false;
            continue;
        }
        section.body_end = i + 1;
        if in_prop && text.starts_with([' ', '\t']) {
            if let Some(prop) = section.props.last_mut() {
                prop.end = i + 1;
            }
            continue;
        }
        in_prop = match text.split_once('=') {
            Some((key, _)) => {
                section.props.push(Prop { key: key.trim().to_string(), line: i, end: i + 1 });
                true
            }
            None => false,
        };
    }
    out
}

/// Where an inline comment starts in a value: a `#` or `;` after whitespace, as the AWS SDKs
/// read it. Returns the index of that whitespace.
fn inline_comment(value: &str) -> Option<usize> {
    let bytes = value.as_bytes();
    let mark = (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'#' | b';') && bytes[i - 1].is_ascii_whitespace())?;
    Some(value[..mark].trim_end().len())
}

fn property_value(text: &str) -> &str {
    let value = text.split_once('=').map_or("", |(_, v)| v);
    let end = inline_comment(value).unwrap_or(value.len());
    value[..end].trim()
}

/// The line with its value replaced, keeping the spacing around `=` and any inline comment.
fn with_value(text: &str, value: &str) -> String {
    let Some((key, old)) = text.split_once('=') else {
        return format!("{} = {value}", text.trim());
    };
    let spaces = &old[..old.len() - old.trim_start().len()];
    let old = old.trim_start();
    let comment = inline_comment(old).map_or("", |i| &old[i..]);
    if old[..old.len() - comment.len()].trim().is_empty() {
        // `key =` with no value: write it the `aws configure` way.
        return format!("{} = {value}{comment}", key.trim_end());
    }
    format!("{key}={spaces}{value}{comment}")
}

impl Doc {
    fn parse(text: &str) -> Doc {
        let (bom, mut rest) = match text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut lines = Vec::new();
        while !rest.is_empty() {
            let (line, eol, next) = match rest.find('\n') {
                Some(i) => match rest[..i].strip_suffix('\r') {
                    Some(line) => (line, "\r\n", &rest[i + 1..]),
                    None => (&rest[..i], "\n", &rest[i + 1..]),
                },
                None => (rest, "", ""),
            };
            lines.push(Line { text: line.to_string(), eol });
            rest = next;
        }
        let eol = lines.iter().map(|l| l.eol).find(|e| !e.is_empty()).unwrap_or("\n");
        Doc { bom, lines, eol }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for line in &self.lines {
            out.push_str(&line.text);
            out.push_str(line.eol);
        }
        out
    }

    fn new_line(&self, text: String) -> Line {
        Line { text, eol: self.eol }
    }

    /// Sets `set` in the profile's first section (in place where the key exists, else after
    /// its last key), deletes `unset` and the keys being set from its later sections, or
    /// appends a new section when the profile has none.
    fn set(&mut self, kind: Kind, profile: &str, set: &[(&str, &str)], unset: &[&str]) {
        let all = sections(self, kind);
        let matching: Vec<&Section> =
            all.iter().filter(|s| s.profile.as_deref() == Some(profile)).collect();
        let Some(first) = matching.first() else {
            self.append_section(kind.header(profile), set);
            return;
        };
        let n = self.lines.len();
        let mut delete = vec![false; n];
        let mut replace: Vec<Option<String>> = vec![None; n];
        let mut missing = Vec::new();
        for &(key, value) in set {
            let mut done = false;
            for (nth, section) in matching.iter().enumerate() {
                for prop in section.props.iter().filter(|p| p.key.eq_ignore_ascii_case(key)) {
                    // A continuation would become part of the new value, so it goes too.
                    let from = if nth == 0 && !done { prop.line + 1 } else { prop.line };
                    if from > prop.line {
                        replace[prop.line] = Some(with_value(&self.lines[prop.line].text, value));
                        done = true;
                    }
                    delete[from..prop.end].fill(true);
                }
            }
            if !done {
                missing.push(self.new_line(format!("{key} = {value}")));
            }
        }
        for key in unset {
            for prop in matching.iter().flat_map(|s| &s.props) {
                if prop.key.eq_ignore_ascii_case(key) {
                    delete[prop.line..prop.end].fill(true);
                }
            }
        }

        let insert_at = first.body_end;
        let old = std::mem::take(&mut self.lines);
        let mut lines = Vec::with_capacity(n + missing.len());
        for (i, (line, new_text)) in old.into_iter().zip(replace).enumerate() {
            if i == insert_at {
                lines.append(&mut missing);
            }
            if delete[i] {
                continue;
            }
            lines.push(match new_text {
                Some(text) => Line { text, eol: line.eol },
                None => line,
            });
        }
        if !missing.is_empty() {
            // Appending after a last line that had no newline needs one first.
            if let Some(last) = lines.last_mut().filter(|l| l.eol.is_empty()) {
                last.eol = self.eol;
            }
            lines.append(&mut missing);
        }
        self.lines = lines;
    }

    fn append_section(&mut self, header: String, set: &[(&str, &str)]) {
        let eol = self.eol;
        if let Some(last) = self.lines.last_mut() {
            if last.eol.is_empty() {
                last.eol = eol;
            }
            if !is_blank(&last.text) {
                self.lines.push(self.new_line(String::new()));
            }
        }
        self.lines.push(self.new_line(header));
        for (key, value) in set {
            self.lines.push(self.new_line(format!("{key} = {value}")));
        }
    }

    /// Deletes every section of the profile with the blank lines after it. When that empties
    /// the end of the file, the blank line that separated it goes too, so `save` then `remove`
    /// gives back the original file.
    fn remove(&mut self, kind: Kind, profile: &str) -> bool {
        let n = self.lines.len();
        let mut delete = vec![false; n];
        for section in sections(self, kind) {
            if section.profile.as_deref() != Some(profile) {
                continue;
            }
            let mut end = section.body_end;
            while end < section.end && is_blank(&self.lines[end].text) {
                end += 1;
            }
            delete[section.header..end].fill(true);
        }
        if !delete.contains(&true) {
            return false;
        }
        let kept = (0..n).rev().find(|&i| !delete[i] && !is_blank(&self.lines[i].text));
        let tail = kept.map_or(0, |i| i + 1);
        if delete[tail..].contains(&true) {
            delete[tail..].fill(true);
        }
        let old = std::mem::take(&mut self.lines);
        self.lines = old.into_iter().zip(delete).filter(|(_, d)| !d).map(|(l, _)| l).collect();
        true
    }
}

/// The file's text, or `None` when it does not exist yet.
fn load(path: &Path) -> Result<Option<Doc>, CredentialsError> {
    match fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(Doc::parse(&text))),
            Err(_) => Err(CredentialsError::NotUtf8 { path: path.to_path_buf() }),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(CredentialsError::Read { path: path.to_path_buf(), error }),
    }
}

/// Replaces `path` atomically with `contents`, mode 0600, creating its directory 0700.
fn write_atomic(path: &Path, contents: &str) -> Result<(), CredentialsError> {
    fsutil::write_atomic(path, contents.as_bytes())
        .map_err(|error| CredentialsError::Write { path: path.to_path_buf(), error })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn key(id: &str, secret: &str) -> AccessKey {
        AccessKey { id: id.to_string(), secret: Secret::new(secret) }
    }

    /// Files under `<tmp>/.aws`, as for a user whose home is the temp dir.
    fn setup() -> (tempfile::TempDir, SharedFiles) {
        let home = tempfile::tempdir().unwrap();
        let files = SharedFiles::locate(home.path(), |_| None);
        (home, files)
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    fn new_section(name: &str) -> String {
        format!("[{name}]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n")
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn round_trip_into_new_files() {
        let (_home, files) = setup();
        assert_eq!(files.read_key("kops").unwrap(), None);
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(files.read_key("kops").unwrap(), Some(key(ID, SECRET)));
        assert_eq!(read(&files.credentials), new_section("kops"));
        assert_eq!(read(&files.config), "[profile kops]\nregion = eu-west-1\n");
        assert_eq!(files.read_key("default").unwrap(), None);
    }

    const OTHERS: &str = "# personal account\n\
        [default]\n\
        aws_access_key_id=AKIAOTHER\n\
        aws_secret_access_key = other/secret ; rotated in May\n\
        \n\
        ;old work profile\n\
        [work]\n\
        aws_access_key_id = AKIAWORK\n\
        \n\
        aws_secret_access_key = worksecret\n\
        custom_key = kept\n";

    #[test]
    fn save_appends_and_keeps_everything_else_byte_for_byte() {
        let (_home, files) = setup();
        write(&files.credentials, OTHERS);
        let config = "[default]\nregion = us-east-1\noutput = json\n\n[sso-session corp]\nsso_region = us-east-1\n";
        write(&files.config, config);
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(read(&files.credentials), format!("{OTHERS}\n{}", new_section("kops")));
        assert_eq!(read(&files.config), format!("{config}\n[profile kops]\nregion = eu-west-1\n"));
        assert_eq!(files.read_key("default").unwrap(), Some(key("AKIAOTHER", "other/secret")));
        assert_eq!(files.profiles().unwrap(), ["default", "kops", "work"]);
    }

    #[test]
    fn save_in_the_middle_touches_only_that_section() {
        let (_home, files) = setup();
        let before = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n";
        let after = "\n# the next one\n[z]\naws_access_key_id = C\n";
        write(
            &files.credentials,
            &format!("{before}[ kops ]\nmfa_serial = arn:aws:iam::1:mfa/me\n{after}"),
        );
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        let expected = format!(
            "{before}[ kops ]\nmfa_serial = arn:aws:iam::1:mfa/me\naws_access_key_id = {ID}\n\
             aws_secret_access_key = {SECRET}\n{after}"
        );
        assert_eq!(read(&files.credentials), expected);
    }

    #[test]
    fn replaces_an_existing_key_in_place() {
        let (_home, files) = setup();
        write(
            &files.credentials,
            "[kops]\n\
             aws_access_key_id=AKIAOLD\n\
             # why this key exists\n\
             aws_secret_access_key = oldsecret   # rotated\n\
             extra = 1\n\
             \n\
             [kops2]\n\
             aws_access_key_id = AKIAKEEP\n",
        );
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!(
                "[kops]\n\
                 aws_access_key_id={ID}\n\
                 # why this key exists\n\
                 aws_secret_access_key = {SECRET}   # rotated\n\
                 extra = 1\n\
                 \n\
                 [kops2]\n\
                 aws_access_key_id = AKIAKEEP\n"
            )
        );
        assert_eq!(files.read_key("kops").unwrap(), Some(key(ID, SECRET)));
    }

    #[test]
    fn stale_session_token_is_removed_from_that_profile_only() {
        let (_home, files) = setup();
        write(
            &files.credentials,
            "[kops]\n\
             aws_access_key_id = AKIAOLD\n\
             aws_session_token = FQoGZXIvYXdz\n\
             aws_secret_access_key = old\n\
             \n\
             [other]\n\
             aws_session_token = keepme\n",
        );
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!(
                "[kops]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n\n\
                 [other]\naws_session_token = keepme\n"
            )
        );
    }

    #[test]
    fn config_section_names() {
        let (_home, files) = setup();
        write(&files.config, "[profile   kops]\noutput = json\nregion = us-east-1\n");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(read(&files.config), "[profile   kops]\noutput = json\nregion = eu-west-1\n");

        files.save("default", &key(ID, SECRET), "us-west-2").unwrap();
        assert_eq!(
            read(&files.config),
            "[profile   kops]\noutput = json\nregion = eu-west-1\n\n[default]\nregion = us-west-2\n"
        );
        assert_eq!(
            read(&files.credentials),
            format!("{}\n{}", new_section("kops"), new_section("default"))
        );

        // A bare `[kops]` in the config file is not a profile for the AWS tools.
        let (_home, files) = setup();
        write(&files.config, "[kops]\nregion = x\n");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.config),
            "[kops]\nregion = x\n\n[profile kops]\nregion = eu-west-1\n"
        );
    }

    #[test]
    fn remove_keeps_the_rest_byte_identical() {
        let (_home, files) = setup();
        let config = "[default]\nregion = us-east-1\n";
        write(&files.credentials, OTHERS);
        write(&files.config, config);
        assert!(!files.remove("kops").unwrap());

        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert!(files.remove("kops").unwrap());
        assert_eq!(read(&files.credentials), OTHERS);
        assert_eq!(read(&files.config), config);
        assert!(!files.remove("kops").unwrap());

        // A section in the middle, with a comment that introduces the next one.
        let head = "[a]\nk = 1\n\n";
        let tail = "# about b\n[b]\nk = 2\n";
        write(&files.credentials, &format!("{head}[kops]\n# mine\nk = 3\n\n{tail}"));
        assert!(files.remove("kops").unwrap());
        assert_eq!(read(&files.credentials), format!("{head}{tail}"));
    }

    #[test]
    fn remove_with_missing_files_returns_false() {
        let (_home, files) = setup();
        assert!(!files.remove("kops").unwrap());
        assert!(!files.credentials.exists());
        assert_eq!(files.profiles().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn profile_names_compare_exactly() {
        let (_home, files) = setup();
        let text = "[Kops]\nk = 1\n\n[kops2]\nk = 2\n";
        write(&files.credentials, text);
        assert!(!files.remove("kops").unwrap());
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(read(&files.credentials), format!("{text}\n{}", new_section("kops")));
        assert_eq!(files.profiles().unwrap(), ["Kops", "kops", "kops2"]);
    }

    #[test]
    fn duplicate_sections_edit_the_first_and_clear_the_later_ones() {
        let (_home, files) = setup();
        write(
            &files.credentials,
            "[kops]\naws_access_key_id = A1\n\n[x]\nk = v\n\n[kops]\naws_secret_access_key = S2\nnote = kept\n",
        );
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!(
                "[kops]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n\n\
                 [x]\nk = v\n\n[kops]\nnote = kept\n"
            )
        );
        assert_eq!(files.read_key("kops").unwrap(), Some(key(ID, SECRET)));
        assert!(files.remove("kops").unwrap());
        assert_eq!(read(&files.credentials), "[x]\nk = v\n");
    }

    #[test]
    fn no_trailing_newline_and_continuations() {
        let (_home, files) = setup();
        write(&files.credentials, "[kops]\naws_access_key_id = A\n  nested = x\nother = 1");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!(
                "[kops]\naws_access_key_id = {ID}\nother = 1\naws_secret_access_key = {SECRET}\n"
            )
        );

        write(&files.credentials, "[a]\nk = 1");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(read(&files.credentials), format!("[a]\nk = 1\n\n{}", new_section("kops")));

        // A replaced last line keeps having no newline.
        write(&files.credentials, "[kops]\naws_secret_access_key = x\naws_access_key_id = y");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!("[kops]\naws_secret_access_key = {SECRET}\naws_access_key_id = {ID}")
        );
    }

    #[test]
    fn crlf_is_preserved() {
        let (_home, files) = setup();
        let text = "[default]\r\naws_access_key_id = A\r\naws_secret_access_key = B\r\n";
        write(&files.credentials, text);
        write(&files.config, "[profile kops]\r\noutput = json\r\n");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!(
                "{text}\r\n[kops]\r\naws_access_key_id = {ID}\r\naws_secret_access_key = {SECRET}\r\n"
            )
        );
        assert_eq!(
            read(&files.config),
            "[profile kops]\r\noutput = json\r\nregion = eu-west-1\r\n"
        );
        assert_eq!(files.read_key("kops").unwrap(), Some(key(ID, SECRET)));
        assert!(files.remove("kops").unwrap());
        assert_eq!(read(&files.credentials), text);
    }

    #[test]
    fn byte_order_mark_is_kept() {
        let (_home, files) = setup();
        write(&files.credentials, "\u{feff}[kops]\naws_access_key_id = A\n");
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(
            read(&files.credentials),
            format!("\u{feff}[kops]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n")
        );
    }

    #[cfg(unix)]
    #[test]
    fn tighten_makes_loose_files_private_and_says_which_and_what_they_were() {
        use std::os::unix::fs::PermissionsExt;
        let (_home, files) = setup();
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert!(files.tighten().unwrap().is_empty(), "0600 files are left as they are");
        fs::set_permissions(&files.credentials, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&files.config, fs::Permissions::from_mode(0o660)).unwrap();
        let changed = files.tighten().unwrap();
        assert_eq!(
            changed,
            [(files.credentials.clone(), 0o644), (files.config.clone(), 0o660)],
            "each loose file, with the mode it had"
        );
        assert_eq!(mode(&files.credentials), 0o600);
        assert_eq!(mode(&files.config), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn files_end_up_0600_and_new_directory_0700() {
        use std::os::unix::fs::PermissionsExt;
        let (home, files) = setup();
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(mode(&home.path().join(".aws")), 0o700);
        assert_eq!(mode(&files.credentials), 0o600);
        assert_eq!(mode(&files.config), 0o600);

        for path in [&files.credentials, &files.config] {
            fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert_eq!(mode(&files.credentials), 0o600);
        assert_eq!(mode(&files.config), 0o600);

        // No temp file is left next to them.
        let names: Vec<_> = fs::read_dir(home.path().join(".aws"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_updated_where_it_lives() {
        let (home, files) = setup();
        let real = home.path().join("dotfiles").join("credentials");
        write(&real, "[a]\nk = 1\n");
        fs::create_dir_all(files.credentials.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&real, &files.credentials).unwrap();
        files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap();
        assert!(fs::symlink_metadata(&files.credentials).unwrap().file_type().is_symlink());
        assert_eq!(read(&real), format!("[a]\nk = 1\n\n{}", new_section("kops")));
        assert_eq!(mode(&real), 0o600);
    }

    #[test]
    fn the_secret_never_prints() {
        let k = key(ID, SECRET);
        let debug = format!("{k:?} {:?}", k.secret);
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("Secret(***)") && debug.contains(ID));

        let (home, files) = setup();
        let bad = [
            key("AKIA ID", SECRET),
            key(ID, &format!("{SECRET}\n[evil]")),
            key(ID, &format!("{SECRET} x")),
            key(ID, ""),
        ];
        for k in bad {
            let err = files.save("kops", &k, "eu-west-1").unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(matches!(err, CredentialsError::InvalidValue { .. }));
            assert!(!shown.contains(SECRET), "{shown}");
        }
        assert!(!files.credentials.exists());

        // A write error names the file, not what was being written.
        fs::create_dir_all(&files.credentials).unwrap();
        let err = files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains(&home.path().display().to_string()), "{shown}");
    }

    #[test]
    fn invalid_profile_names_are_refused() {
        let (_home, files) = setup();
        for name in ["", "a b", "x]", "[x", "a\nb", "#x"] {
            let err = files.save(name, &key(ID, SECRET), "eu-west-1").unwrap_err();
            assert!(matches!(err, CredentialsError::InvalidProfile { .. }), "{name:?}");
        }
        files.save("kops-1_a.b@c:d+e/f%", &key(ID, SECRET), "eu-west-1").unwrap();
    }

    #[test]
    fn non_utf8_file_is_an_error_and_left_alone() {
        let (_home, files) = setup();
        fs::create_dir_all(files.credentials.parent().unwrap()).unwrap();
        fs::write(&files.credentials, b"[a]\nk = \xff\n").unwrap();
        let err = files.save("kops", &key(ID, SECRET), "eu-west-1").unwrap_err();
        assert!(matches!(err, CredentialsError::NotUtf8 { .. }));
        assert_eq!(fs::read(&files.credentials).unwrap(), b"[a]\nk = \xff\n");
        assert!(!files.config.exists());
    }

    #[test]
    fn profiles_from_both_files() {
        let (_home, files) = setup();
        write(&files.credentials, "[b]\nk=1\n[ a ]\n");
        write(
            &files.config,
            "[default]\n[profile c]\n[profile b]\n[sso-session s]\n[services t]\n[profile default]\n",
        );
        assert_eq!(files.profiles().unwrap(), ["a", "b", "c", "default"]);
    }

    #[test]
    fn locate_honours_the_variables() {
        let home = Path::new("/home/me");
        let files = SharedFiles::locate(home, |_| None);
        assert_eq!(files.credentials, Path::new("/home/me/.aws/credentials"));
        assert_eq!(files.config, Path::new("/home/me/.aws/config"));

        let files = SharedFiles::locate(home, |name| match name {
            "AWS_SHARED_CREDENTIALS_FILE" => Some("/etc/creds".to_string()),
            "AWS_CONFIG_FILE" => Some("~/cfg/aws".to_string()),
            _ => None,
        });
        assert_eq!(files.credentials, Path::new("/etc/creds"));
        assert_eq!(files.config, Path::new("/home/me/cfg/aws"));

        // An empty variable is unset, as for the AWS CLI.
        let files = SharedFiles::locate(home, |_| Some(String::new()));
        assert_eq!(files.credentials, Path::new("/home/me/.aws/credentials"));
    }

    #[test]
    fn read_key_needs_both_parts() {
        let (_home, files) = setup();
        write(&files.credentials, "[kops]\naws_access_key_id = A\naws_secret_access_key =\n");
        assert_eq!(files.read_key("kops").unwrap(), None);
        write(&files.credentials, "[kops]\nAWS_ACCESS_KEY_ID=A ; c\naws_secret_access_key= S#x\n");
        assert_eq!(files.read_key("kops").unwrap(), Some(key("A", "S#x")));
    }
}
