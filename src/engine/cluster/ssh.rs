//! The SSH key kops gives the cluster's nodes: reading and checking an existing pair, and
//! generating a new one (step 3 of setup).
//!
//! Keys are read and written with the `ssh-key` crate (RustCrypto) because it encodes and
//! decodes the real OpenSSH formats, so the files are byte-for-byte what `ssh-keygen` would
//! accept, without shelling out to `ssh-keygen` and depending on its version or presence.
//!
//! Everything here is blocking file and CPU work (an RSA-4096 key takes a moment to generate);
//! async callers should run it on a blocking thread.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ssh_key::private::{Ed25519Keypair, KeypairData, RsaKeypair};
use ssh_key::public::KeyData;
use ssh_key::rand_core::OsRng;
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey};

use crate::answers::{KeyType, Ssh};
use crate::fsutil::expand_home;
use crate::fsutil::private_dir;

/// Real key files are a few kilobytes (an RSA-16384 private key is about 12 KiB); anything
/// much bigger is the wrong file, and reading all of it would only delay saying so.
const MAX_KEY_FILE: u64 = 64 * 1024;

const RSA_BITS: usize = 4096;

/// A usable public key, described the way `ssh-keygen -l` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key family; any RSA key reports `Rsa4096`, its actual size is in `bits`.
    pub algorithm: KeyType,
    /// Key size in bits, as the first column of `ssh-keygen -l` (256 for ed25519).
    pub bits: u32,
    /// `SHA256:…`, exactly as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The comment stored with the public key (often `user@host`); may be empty.
    pub comment: String,
    /// The one-line public key text (`ssh-ed25519 AAAA… comment`), without a newline.
    pub openssh: String,
}

/// What is on disk at a public key path and the private key next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// Neither file exists.
    Missing,
    /// Both exist and the private key's public half matches the `.pub` file.
    Pair(KeyInfo),
    /// The `.pub` file exists but the private key does not. kops only needs the public key,
    /// but nobody will be able to SSH to the nodes with it.
    PublicOnly(KeyInfo),
    /// The private key exists without its `.pub`. Not repaired automatically: deriving a
    /// public key silently would hide that the user may have meant another file.
    PrivateOnly,
    /// Both exist but do not belong together.
    Mismatch { public: KeyInfo },
}

#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("could not read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },
    #[error(
        "{} is empty: a public key file holds one line such as `ssh-ed25519 AAAA… you@host`. \
         Delete it and let kops-wizard generate a key, or choose another .pub file",
        path.display()
    )]
    EmptyPublic { path: PathBuf },
    #[error("{} is not an OpenSSH public key: it holds {found}. {hint}", path.display())]
    NotPublicKey { path: PathBuf, found: String, hint: String },
    #[error(
        "{} holds {found}, which kops on AWS cannot use: it takes RSA or ed25519 keys. \
         Choose another key, or let kops-wizard generate one at a new path",
        path.display()
    )]
    UnsupportedKey { path: PathBuf, found: String },
    #[error("{} is not a private key kops-wizard can check: it holds {found}. {hint}", path.display())]
    UnreadablePrivate { path: PathBuf, found: String, hint: String },
    #[error(
        "{} does not end in .pub: give the public key's path (the private key is the same path \
         without .pub)",
        path.display()
    )]
    NotPubPath { path: PathBuf },
    #[error(
        "{} ends in .pub: give the private key's path; the public key is written next to it \
         with .pub added",
        path.display()
    )]
    NotPrivatePath { path: PathBuf },
    #[error(
        "{} already exists and kops-wizard never overwrites a key: use the existing key, move it \
         aside, or choose another path",
        path.display()
    )]
    Exists { path: PathBuf },
    #[error("the key comment {comment:?} must be one line of printable text")]
    BadComment { comment: String },
    #[error("could not generate the {key_type} key: {error}")]
    Generate { key_type: KeyType, error: ssh_key::Error },
    #[error("could not write {}: {error}", path.display())]
    Write { path: PathBuf, error: io::Error },
}

/// The `SHA256:…` fingerprint of the public half of an OpenSSH private key file (readable
/// without its passphrase), to tell whether it is the private key of a given `.pub`.
pub fn private_fingerprint(path: &Path) -> Result<String, SshError> {
    read_private(path).map(|k| k.public_key().fingerprint(HashAlg::Sha256).to_string())
}

/// Reads and checks a public key file: a valid OpenSSH RSA or ed25519 key; anything else (DSA,
/// ECDSA, garbage) is an error naming the file and what was found.
pub fn read_public(path: &Path) -> Result<KeyInfo, SshError> {
    read_public_key(path).map(|(_, info)| info)
}

/// [`read_public`], also returning the parsed key so that `inspect` can compare key material.
fn read_public_key(path: &Path) -> Result<(PublicKey, KeyInfo), SshError> {
    let not_public = |found: String, hint: &str| SshError::NotPublicKey {
        path: path.to_path_buf(),
        found,
        hint: hint.to_string(),
    };
    let text = match read_capped(path)? {
        Content::Text(text) => text,
        Content::TooLarge => {
            return Err(not_public(
                "more than 64 KiB".into(),
                "A public key is one short line; check the path.",
            ));
        }
        Content::Binary => {
            return Err(not_public(
                "binary data".into(),
                "A public key is one line of text; check the path.",
            ));
        }
    };

    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = match lines.as_slice() {
        [] => return Err(SshError::EmptyPublic { path: path.to_path_buf() }),
        [line] => *line,
        _ if text.contains("PRIVATE KEY-----") => {
            return Err(not_public(
                "a private key".into(),
                "The public key is usually the same path with .pub added.",
            ));
        }
        _ if text.contains("---- BEGIN SSH2 PUBLIC KEY ----") => {
            return Err(not_public(
                "an SSH2 (RFC 4716) public key".into(),
                "Convert it with `ssh-keygen -i -f FILE > FILE-openssh.pub` and use the new file.",
            ));
        }
        many => {
            return Err(not_public(
                format!("{} lines", many.len()),
                "kops takes exactly one key: keep the one line you want in its own .pub file.",
            ));
        }
    };

    let token = line.split_whitespace().next().unwrap_or_default();
    if let Some(kind) = unsupported_kind(token) {
        return Err(SshError::UnsupportedKey {
            path: path.to_path_buf(),
            found: format!("{kind} ({token})"),
        });
    }
    let key = PublicKey::from_openssh(line).map_err(|e| {
        if token == "ssh-rsa" || token == "ssh-ed25519" {
            not_public(
                format!("a damaged {token} key ({e})"),
                "Copy the .pub file again from where the key was made, or generate a new key.",
            )
        } else {
            not_public(
                describe_token(token),
                "Point kops-wizard at a .pub file holding an `ssh-rsa` or `ssh-ed25519` key, \
                 or let it generate one.",
            )
        }
    })?;
    match key_info(&key) {
        Some(info) => Ok((key, info)),
        None => Err(SshError::UnsupportedKey {
            path: path.to_path_buf(),
            found: format!("a {} key", key.algorithm()),
        }),
    }
}

/// Looks at `public_path` and its private key (same path without `.pub`). Encrypted private
/// keys are fine: only their public half is compared (readable without the passphrase).
pub fn inspect(public_path: &Path) -> Result<KeyState, SshError> {
    let private_path = private_path_of(public_path)?;
    let has_public = exists(public_path)?;
    let has_private = exists(&private_path)?;
    match (has_public, has_private) {
        (false, false) => Ok(KeyState::Missing),
        (false, true) => Ok(KeyState::PrivateOnly),
        (true, false) => Ok(KeyState::PublicOnly(read_public(public_path)?)),
        (true, true) => {
            let (public, info) = read_public_key(public_path)?;
            let private = read_private(&private_path)?;
            // Comments are not compared: an encrypted key's comment is inside the ciphertext,
            // and a renamed comment does not make a different key.
            if private.public_key().key_data() == public.key_data() {
                Ok(KeyState::Pair(info))
            } else {
                Ok(KeyState::Mismatch { public: info })
            }
        }
    }
}

/// What setup does about the key at the answers' path, from what is on disk and the answers
/// alone. The preflight asks it before anything changes and the SSH step asks it again when it
/// runs, so what the SSH step would refuse after the IAM user and the bucket exist is refused
/// before the first AWS request, and the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Use the key there; `private_missing` when only the `.pub` file exists.
    Use { info: KeyInfo, private_missing: bool },
    /// Generate a new pair, first moving aside the files of this conflict (`ssh.overwrite`).
    Generate { conflict: Option<String> },
    /// Setup cannot go on with these files and answers: why, and which answer to change.
    Refuse(String),
}

/// The decision for `state` (what [`inspect`] found at `ssh.public_key`) and the answers;
/// `private` is the private key's path, for messages.
pub fn decide(state: &KeyState, ssh: &Ssh, private: &Path) -> Decision {
    let shown = &ssh.public_key;
    let wanted = ssh.key_type;
    let conflict = match state {
        KeyState::Missing if ssh.generate => return Decision::Generate { conflict: None },
        KeyState::Missing => {
            return Decision::Refuse(format!(
                "there is no SSH public key at {shown}; set ssh.generate = true to create one, \
                 or point ssh.public_key at your key"
            ));
        }
        // Without generation the key there is used whatever its type: nothing would replace it.
        KeyState::Pair(info) if info.algorithm == wanted || !ssh.generate => {
            return Decision::Use { info: info.clone(), private_missing: false };
        }
        KeyState::PublicOnly(info) => {
            return Decision::Use { info: info.clone(), private_missing: true };
        }
        KeyState::Pair(info) => {
            format!("{shown} is an {} key, the answers ask for {wanted}", info.algorithm)
        }
        KeyState::PrivateOnly => {
            format!("{} exists without its public key {shown}", private.display())
        }
        KeyState::Mismatch { .. } => {
            format!("{shown} and {} are not one pair", private.display())
        }
    };
    if !ssh.overwrite {
        return Decision::Refuse(format!(
            "{conflict}. Set ssh.key_type to the key's type, point ssh.public_key at another \
             path, or set ssh.overwrite = true to move the old files aside (nothing is deleted)"
        ));
    }
    if !ssh.generate {
        // Moving the files aside would only leave no key at all.
        return Decision::Refuse(format!(
            "{conflict}. ssh.overwrite moves the old files aside to generate a new pair, but \
             ssh.generate = false: set ssh.generate = true, or point ssh.public_key at another key"
        ));
    }
    Decision::Generate { conflict: Some(conflict) }
}

/// Looks at the files of `ssh.public_key` and decides: the check setup's preflight and doctor
/// share. `Err` is why setup would stop (an unreadable file, a DSA or ECDSA key, a private key
/// where the public one should be, no key and no generation, a conflict), in words that name
/// the file and what to do.
pub fn preflight(ssh: &Ssh) -> Result<Decision, String> {
    let public = expand_home(&ssh.public_key);
    let private = expand_home(&ssh.private_key());
    match inspect(&public).map(|state| decide(&state, ssh, &private)) {
        Ok(Decision::Refuse(why)) => Err(why),
        Ok(decision) => Ok(decision),
        Err(e) => Err(e.to_string()),
    }
}

/// Generates a new pair at `private_path` and `private_path.pub`: private key mode 0600
/// (OpenSSH format, unencrypted), public 0644, parent dir created 0700 if missing. Refuses
/// (error) if either file exists — never overwrites.
/// An RSA-4096 pair from AWS-LC (native code: about as fast as ssh-keygen, where the pure-Rust
/// path takes seconds), handed to ssh-key through PKCS#8 so that ssh-key writes the OpenSSH
/// files as before.
fn rsa_keypair() -> Result<RsaKeypair, ssh_key::Error> {
    use aws_lc_rs::encoding::AsDer;
    use rsa::pkcs8::DecodePrivateKey;
    let failed = |what: &str| {
        tracing::warn!("RSA key generation: {what}");
        ssh_key::Error::Crypto
    };
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa4096)
        .map_err(|_| failed("AWS-LC could not generate the key"))?;
    let der = pair.as_der().map_err(|_| failed("AWS-LC could not export the key"))?;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der.as_ref())
        .map_err(|_| failed("the exported key is not PKCS#8"))?;
    let pair = RsaKeypair::try_from(key)?;
    debug_assert_eq!(pair.public.n.as_positive_bytes().map(|b| b.len() * 8), Some(RSA_BITS));
    Ok(pair)
}

pub fn generate(
    private_path: &Path,
    key_type: KeyType,
    comment: &str,
) -> Result<KeyInfo, SshError> {
    if private_path.extension().is_some_and(|ext| ext == "pub") {
        return Err(SshError::NotPrivatePath { path: private_path.to_path_buf() });
    }
    // A newline would split the .pub file into two lines that no tool reads as one key.
    if comment.chars().any(char::is_control) {
        return Err(SshError::BadComment { comment: comment.to_string() });
    }
    let public_path = public_path_of(private_path);
    // Checked up front so a refusal is immediate, not after seconds of RSA generation; the
    // exclusive create below is what actually guarantees nothing is overwritten.
    for path in [private_path, public_path.as_path()] {
        if exists(path)? {
            return Err(SshError::Exists { path: path.to_path_buf() });
        }
    }
    let dir = private_path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        private_dir(dir).map_err(|error| SshError::Write { path: dir.to_path_buf(), error })?;
    }

    let generate_err = |error| SshError::Generate { key_type, error };
    let keypair = match key_type {
        KeyType::Ed25519 => KeypairData::from(Ed25519Keypair::random(&mut OsRng)),
        KeyType::Rsa4096 => KeypairData::from(rsa_keypair().map_err(generate_err)?),
    };
    let private = PrivateKey::new(keypair, comment).map_err(generate_err)?;
    let private_text = private.to_openssh(LineEnding::LF).map_err(generate_err)?;
    let public = private.public_key();
    let info = key_info(public)
        .ok_or(SshError::Generate { key_type, error: ssh_key::Error::AlgorithmUnknown })?;

    write_new(private_path, private_text.as_bytes(), 0o600)?;
    let public_text = format!("{}\n", info.openssh);
    if let Err(e) = write_new(&public_path, public_text.as_bytes(), 0o644) {
        // Without its .pub the new private key would block the next attempt (generate never
        // overwrites), and nothing else knows about it yet.
        let _ = fs::remove_file(private_path);
        return Err(e);
    }
    if let Some(dir) = dir {
        // Best effort: the files are complete either way; this only makes the new names
        // survive a crash before kops uploads the key.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(info)
}

/// Key families kops on AWS can't use, recognised by the first word of the line so that the
/// error says what the key is even when the rest of the line is damaged.
fn unsupported_kind(token: &str) -> Option<&'static str> {
    if token.contains("-cert-v01@openssh.com") {
        Some("an SSH certificate")
    } else if token == "ssh-dss" {
        Some("a DSA key")
    } else if token.starts_with("ecdsa-sha2-") {
        Some("an ECDSA key")
    } else if token.starts_with("sk-") {
        Some("a security-key (FIDO) key")
    } else {
        None
    }
}

/// Quotes the first word only when it looks like an algorithm name: a user pointing at the
/// wrong file should not see a password or token from it echoed into the log.
fn describe_token(token: &str) -> String {
    let name_like =
        token.len() <= 40 && token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
    if token.starts_with("-----BEGIN") {
        "a PEM block, not a public key line".into()
    } else if name_like {
        format!("text starting with `{token}`")
    } else {
        "text that is not an SSH key".into()
    }
}

fn key_info(key: &PublicKey) -> Option<KeyInfo> {
    let (algorithm, bits) = match key.key_data() {
        KeyData::Ed25519(_) => (KeyType::Ed25519, 256),
        KeyData::Rsa(rsa) => (KeyType::Rsa4096, mpint_bits(rsa.n.as_positive_bytes()?)),
        _ => return None,
    };
    Some(KeyInfo {
        algorithm,
        bits,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        comment: key.comment().to_string(),
        openssh: key.to_openssh().ok()?,
    })
}

/// The bit length of a big-endian unsigned integer, as `ssh-keygen -l` reports RSA sizes.
fn mpint_bits(bytes: &[u8]) -> u32 {
    let bytes = match bytes.iter().position(|&b| b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX / 8);
    len * 8 - bytes.first().map_or(0, |b| b.leading_zeros())
}

fn read_private(path: &Path) -> Result<PrivateKey, SshError> {
    let unreadable = |found: &str, hint: String| SshError::UnreadablePrivate {
        path: path.to_path_buf(),
        found: found.to_string(),
        hint,
    };
    let wrong_file = || "Check that it is the private key of the .pub file next to it.".to_string();
    let text = match read_capped(path)? {
        Content::Text(text) => text,
        Content::TooLarge => return Err(unreadable("more than 64 KiB", wrong_file())),
        Content::Binary => return Err(unreadable("binary data", wrong_file())),
    };
    if !text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        // Keys made by ssh-keygen before OpenSSH 7.8, or with `-m PEM`, are still common.
        if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
            return Err(unreadable(
                "a key in the old PEM format",
                format!(
                    "Rewrite it in OpenSSH format (same key, same passphrase prompt) with \
                     `ssh-keygen -p -f {}`",
                    path.display()
                ),
            ));
        }
        return Err(unreadable("no OpenSSH private key", wrong_file()));
    }
    PrivateKey::from_openssh(&text).map_err(|e| {
        unreadable(
            &format!("a damaged OpenSSH private key ({e})"),
            "Restore it from a backup, or move the pair aside and generate a new one.".into(),
        )
    })
}

enum Content {
    Text(String),
    TooLarge,
    Binary,
}

fn read_capped(path: &Path) -> Result<Content, SshError> {
    let read_err = |error| SshError::Read { path: path.to_path_buf(), error };
    let file = File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Ok(Content::TooLarge);
    }
    Ok(String::from_utf8(bytes).map_or(Content::Binary, Content::Text))
}

/// Whether anything, even a dangling symlink, occupies the path: such a link would otherwise
/// look free and then be written through.
fn exists(path: &Path) -> Result<bool, SshError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(SshError::Read { path: path.to_path_buf(), error }),
    }
}

fn private_path_of(public_path: &Path) -> Result<PathBuf, SshError> {
    match public_path.extension() {
        Some(ext) if ext == "pub" => Ok(public_path.with_extension("")),
        _ => Err(SshError::NotPubPath { path: public_path.to_path_buf() }),
    }
}

fn public_path_of(private_path: &Path) -> PathBuf {
    // Appended, not `with_extension`: `id.rsa` must become `id.rsa.pub`, not `id.pub`.
    let mut name = private_path.as_os_str().to_os_string();
    name.push(".pub");
    PathBuf::from(name)
}

/// Creates the file exclusively rather than with `fsutil::write_atomic`, which renames over
/// whatever is there: an existing key must never be replaced, even one created a moment ago.
/// The mode is given at creation so the private key is never readable by others, even briefly.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SshError> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(
        |e| match e.kind() {
            io::ErrorKind::AlreadyExists => SshError::Exists { path: path.to_path_buf() },
            _ => SshError::Write { path: path.to_path_buf(), error: e },
        },
    )?;
    // The umask may have taken bits away (a 0600 .pub is harmless but not what ssh-keygen does).
    let result = file
        .set_permissions(Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(error) = result {
        // Only this call created the file, so removing a half-written key is safe.
        let _ = fs::remove_file(path);
        return Err(SshError::Write { path: path.to_path_buf(), error });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn ssh_keygen(args: &[&str]) -> String {
        let out = Command::new("ssh-keygen").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "ssh-keygen {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path_str(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    /// Generates into a directory that does not exist yet and checks the result with
    /// OpenSSH's own tool.
    fn generates_a_real_openssh_pair(key_type: KeyType, expected_bits: u32) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home/.ssh");
        let private = dir.join("kops");
        let public = dir.join("kops.pub");

        let started = Instant::now();
        let info = generate(&private, key_type, "kops-wizard test").unwrap();
        eprintln!("generate({key_type}) took {:?}", started.elapsed());

        assert_eq!(info.algorithm, key_type);
        assert_eq!(info.bits, expected_bits);
        assert_eq!(info.comment, "kops-wizard test");
        assert!(info.fingerprint.starts_with("SHA256:"));
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&public), 0o644);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(fs::read_to_string(&public).unwrap(), format!("{}\n", info.openssh));
        assert!(
            fs::read_to_string(&private)
                .unwrap()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n")
        );

        assert_eq!(inspect(&public).unwrap(), KeyState::Pair(info.clone()));

        // `256 SHA256:… kops-wizard test (ED25519)`
        let listed = ssh_keygen(&["-l", "-f", path_str(&public)]);
        let fields: Vec<&str> = listed.split_whitespace().collect();
        assert_eq!(fields[0], expected_bits.to_string(), "{listed}");
        assert_eq!(fields[1], info.fingerprint, "{listed}");

        // ssh-keygen can only derive the public key if it parses our private key file.
        let derived = ssh_keygen(&["-y", "-f", path_str(&private)]);
        let ours: Vec<&str> = info.openssh.split_whitespace().take(2).collect();
        let theirs: Vec<&str> = derived.split_whitespace().take(2).collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn generates_ed25519() {
        generates_a_real_openssh_pair(KeyType::Ed25519, 256);
    }

    #[test]
    fn generates_rsa_4096() {
        generates_a_real_openssh_pair(KeyType::Rsa4096, 4096);
    }

    #[test]
    fn generate_never_overwrites() {
        let tmp = tempfile::tempdir().unwrap();
        for existing in ["kops", "kops.pub"] {
            let dir = tmp.path().join(existing.replace('.', "-"));
            fs::create_dir(&dir).unwrap();
            let private = dir.join("kops");
            fs::write(dir.join(existing), "keep me").unwrap();

            let err = generate(&private, KeyType::Ed25519, "c").unwrap_err();
            assert!(matches!(&err, SshError::Exists { path } if path == &dir.join(existing)));
            assert!(err.to_string().contains("never overwrites"), "{err}");
            assert_eq!(fs::read_to_string(dir.join(existing)).unwrap(), "keep me");
            // Neither half of a new pair was left behind.
            assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        }
    }

    #[test]
    fn generate_refuses_a_dangling_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        std::os::unix::fs::symlink(tmp.path().join("elsewhere"), &private).unwrap();
        let err = generate(&private, KeyType::Ed25519, "c").unwrap_err();
        assert!(matches!(err, SshError::Exists { .. }), "{err}");
        assert!(!tmp.path().join("elsewhere").exists());
    }

    #[test]
    fn generate_rejects_bad_paths_and_comments() {
        let tmp = tempfile::tempdir().unwrap();
        let err = generate(&tmp.path().join("kops.pub"), KeyType::Ed25519, "c").unwrap_err();
        assert!(matches!(err, SshError::NotPrivatePath { .. }), "{err}");
        let err = generate(&tmp.path().join("kops"), KeyType::Ed25519, "a\nb").unwrap_err();
        assert!(matches!(err, SshError::BadComment { .. }), "{err}");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn reads_keys_made_by_ssh_keygen() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("id_rsa");
        ssh_keygen(&[
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-N",
            "",
            "-C",
            "me@laptop",
            "-f",
            path_str(&private),
        ]);
        let public = tmp.path().join("id_rsa.pub");
        let info = read_public(&public).unwrap();
        assert_eq!((info.algorithm, info.bits), (KeyType::Rsa4096, 2048));
        assert_eq!(info.comment, "me@laptop");
        let listed = ssh_keygen(&["-l", "-f", path_str(&public)]);
        assert_eq!(listed.split_whitespace().nth(1), Some(info.fingerprint.as_str()));
        assert_eq!(inspect(&public).unwrap(), KeyState::Pair(info));
    }

    #[test]
    fn an_encrypted_private_key_is_compared_without_its_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        ssh_keygen(&["-q", "-t", "ed25519", "-N", "secret passphrase", "-f", path_str(&private)]);
        let public = tmp.path().join("kops.pub");
        let info = read_public(&public).unwrap();
        assert_eq!(inspect(&public).unwrap(), KeyState::Pair(info));
    }

    #[test]
    fn an_old_pem_private_key_is_reported_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        ssh_keygen(&[
            "-q",
            "-t",
            "rsa",
            "-b",
            "2048",
            "-m",
            "PEM",
            "-N",
            "",
            "-f",
            path_str(&private),
        ]);
        let err = inspect(&tmp.path().join("kops.pub")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SshError::UnreadablePrivate { .. }), "{msg}");
        assert!(msg.contains("old PEM format") && msg.contains("ssh-keygen -p -f"), "{msg}");
        assert!(msg.contains(path_str(&private)), "{msg}");
    }

    #[test]
    fn read_public_rejects_ecdsa() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("ec");
        ssh_keygen(&["-q", "-t", "ecdsa", "-N", "", "-f", path_str(&private)]);
        let public = tmp.path().join("ec.pub");
        let err = read_public(&public).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, SshError::UnsupportedKey { .. }), "{msg}");
        assert!(msg.contains(path_str(&public)), "{msg}");
        assert!(msg.contains("ECDSA key (ecdsa-sha2-nistp256)"), "{msg}");
        assert!(msg.contains("RSA or ed25519"), "{msg}");
    }

    fn read_public_text(text: &str) -> (PathBuf, SshError, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("k.pub");
        fs::write(&path, text).unwrap();
        let err = read_public(&path).unwrap_err();
        (path, err, tmp)
    }

    #[test]
    fn read_public_rejects_dsa_garbage_and_empty_files() {
        let (path, err, _tmp) = read_public_text("ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4Ed old@box\n");
        let msg = err.to_string();
        assert!(matches!(err, SshError::UnsupportedKey { .. }), "{msg}");
        assert!(msg.contains(path_str(&path)) && msg.contains("DSA key (ssh-dss)"), "{msg}");

        let (path, err, _tmp) = read_public_text("hello world\n");
        let msg = err.to_string();
        assert!(matches!(err, SshError::NotPublicKey { .. }), "{msg}");
        assert!(msg.contains(path_str(&path)) && msg.contains("`hello`"), "{msg}");
        assert!(msg.contains("`ssh-rsa` or `ssh-ed25519`"), "{msg}");

        let (_, err, _tmp) = read_public_text("ssh-ed25519 AAAAnotbase64!! me\n");
        assert!(err.to_string().contains("damaged ssh-ed25519 key"), "{err}");

        let (_, err, _tmp) = read_public_text("aws_secret_access_key=abc/def+ghi\n");
        assert!(err.to_string().contains("text that is not an SSH key"), "{err}");
        assert!(!err.to_string().contains("abc/def"), "{err}");

        for empty in ["", "\n  \n"] {
            let (path, err, _tmp) = read_public_text(empty);
            let msg = err.to_string();
            assert!(matches!(err, SshError::EmptyPublic { .. }), "{msg}");
            assert!(msg.contains(path_str(&path)) && msg.contains("is empty"), "{msg}");
        }
    }

    #[test]
    fn read_public_points_out_a_private_key() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        generate(&private, KeyType::Ed25519, "c").unwrap();
        let err = read_public(&private).unwrap_err();
        assert!(err.to_string().contains("a private key"), "{err}");
        assert!(err.to_string().contains("with .pub added"), "{err}");
    }

    #[test]
    fn read_public_names_a_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nope.pub");
        let err = read_public(&path).unwrap_err();
        assert!(matches!(err, SshError::Read { .. }));
        assert!(err.to_string().contains(path_str(&path)), "{err}");
    }

    #[test]
    fn inspect_reports_each_state() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        let public = tmp.path().join("kops.pub");
        assert_eq!(inspect(&public).unwrap(), KeyState::Missing);

        let info = generate(&private, KeyType::Ed25519, "a").unwrap();
        fs::rename(&private, tmp.path().join("kops.away")).unwrap();
        assert_eq!(inspect(&public).unwrap(), KeyState::PublicOnly(info.clone()));

        fs::rename(tmp.path().join("kops.away"), &private).unwrap();
        fs::remove_file(&public).unwrap();
        assert_eq!(inspect(&public).unwrap(), KeyState::PrivateOnly);

        let other = generate(&tmp.path().join("other"), KeyType::Ed25519, "b").unwrap();
        fs::copy(tmp.path().join("other.pub"), &public).unwrap();
        assert_eq!(inspect(&public).unwrap(), KeyState::Mismatch { public: other });
    }

    #[test]
    fn decisions_follow_the_files_and_the_answers() {
        let tmp = tempfile::tempdir().unwrap();
        let private = tmp.path().join("kops");
        let public = tmp.path().join("kops.pub");
        let answers = |generate, overwrite, key_type| Ssh {
            public_key: public.display().to_string(),
            generate,
            key_type,
            overwrite,
        };
        let refused = |d: Decision, needle: &str| match d {
            Decision::Refuse(why) => assert!(why.contains(needle), "{why}"),
            other => panic!("{other:?} is not a refusal"),
        };
        let ed = KeyType::Ed25519;

        // Nothing there: generation is what the answers asked for, else there is no key.
        let missing = KeyState::Missing;
        assert_eq!(
            decide(&missing, &answers(true, false, ed), &private),
            Decision::Generate { conflict: None }
        );
        refused(decide(&missing, &answers(false, false, ed), &private), "ssh.generate = true");

        let info = generate(&private, ed, "c").unwrap();
        let pair = inspect(&public).unwrap();
        let used = Decision::Use { info: info.clone(), private_missing: false };
        assert_eq!(decide(&pair, &answers(true, false, ed), &private), used);
        // Another type than asked: kept without generation, a conflict with it.
        let rsa = KeyType::Rsa4096;
        assert_eq!(decide(&pair, &answers(false, false, rsa), &private), used);
        refused(decide(&pair, &answers(true, false, rsa), &private), "ssh.overwrite = true");
        assert!(matches!(
            decide(&pair, &answers(true, true, rsa), &private),
            Decision::Generate { conflict: Some(_) }
        ));

        let half = KeyState::PrivateOnly;
        refused(decide(&half, &answers(true, false, ed), &private), "without its public key");
        refused(decide(&half, &answers(false, true, ed), &private), "ssh.generate = false");

        let only = KeyState::PublicOnly(info.clone());
        assert_eq!(
            decide(&only, &answers(false, false, ed), &private),
            Decision::Use { info, private_missing: true }
        );
    }

    #[test]
    fn the_preflight_refuses_unusable_files_and_allows_generation() {
        let tmp = tempfile::tempdir().unwrap();
        let public = tmp.path().join("kops.pub");
        let answers = |generate| Ssh {
            public_key: public.display().to_string(),
            generate,
            key_type: KeyType::Ed25519,
            overwrite: false,
        };
        assert_eq!(preflight(&answers(true)), Ok(Decision::Generate { conflict: None }));
        assert!(preflight(&answers(false)).unwrap_err().contains("no SSH public key"));

        fs::write(&public, "ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4Ed old@box\n").unwrap();
        let why = preflight(&answers(true)).unwrap_err();
        assert!(why.contains("DSA key") && why.contains(path_str(&public)), "{why}");

        fs::remove_file(&public).unwrap();
        generate(&tmp.path().join("other"), KeyType::Ed25519, "c").unwrap();
        fs::copy(tmp.path().join("other"), &public).unwrap();
        let why = preflight(&answers(false)).unwrap_err();
        assert!(why.contains("a private key"), "{why}");
    }

    #[test]
    fn inspect_wants_the_pub_path() {
        let err = inspect(Path::new("/tmp/kops")).unwrap_err();
        assert!(matches!(err, SshError::NotPubPath { .. }), "{err}");
    }

    #[test]
    fn public_path_appends_pub() {
        assert_eq!(public_path_of(Path::new("/a/id.rsa")), PathBuf::from("/a/id.rsa.pub"));
        assert_eq!(
            private_path_of(Path::new("/a/id.rsa.pub")).unwrap(),
            PathBuf::from("/a/id.rsa")
        );
    }

    #[test]
    fn counts_bits_like_ssh_keygen() {
        assert_eq!(mpint_bits(&[0x01, 0x00]), 9);
        assert_eq!(mpint_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(mpint_bits(&[]), 0);
    }
}
