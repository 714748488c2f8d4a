//! Small file-system helpers the engine shares: atomic, private writes (the journal, the AWS
//! credentials and config files).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Follows symlinks so that a credentials file kept elsewhere (a dotfiles repo) is updated
/// where it lives instead of being replaced by a regular file.
fn resolve_symlinks(path: &Path) -> io::Result<PathBuf> {
    const MAX_HOPS: usize = 32;
    let mut path = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&path)?;
                // `join` keeps an absolute target as it is.
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A temp file that deletes itself unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl TempFile {
    /// Created 0600 from the start (never world-readable, even briefly) and exclusively, so a
    /// planted file or symlink with the same name is never written through.
    fn create(dir: &Path, name: &std::ffi::OsStr) -> io::Result<TempFile> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        loop {
            let mut temp_name = OsString::from(".");
            temp_name.push(name);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            temp_name.push(format!(".{}-{n}.kops-wizard.tmp", std::process::id()));
            let path = dir.join(temp_name);
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(file) => return Ok(TempFile { path, file, keep: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: the error that got us here is the one worth reporting.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Replaces `path` with `bytes` atomically: a temp file in the same directory, fsync, rename
/// over the target, fsync the directory. A crash leaves either the old or the new file, never
/// half of one. The file ends up mode 0600; its directory is created 0700 when missing. A
/// symlinked target is updated where it lives.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_private_nofollow(&resolve_symlinks(path)?, bytes)
}

/// [`write_atomic`] for the state dir's own files (the journal, the machine id): a symlink at
/// `path` is replaced by the file, never followed, so a planted link cannot make the wizard
/// overwrite (and chmod) another file.
pub fn write_private_nofollow(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    private_dir(&dir)?;
    let mut temp = TempFile::create(&dir, name)?;
    temp.file.write_all(bytes)?;
    temp.file.set_permissions(fs::Permissions::from_mode(0o600))?;
    temp.file.sync_all()?;
    // rename(2) replaces a symlink itself, not what it points to.
    fs::rename(&temp.path, path)?;
    temp.keep = true;
    File::open(&dir)?.sync_all()
}

/// Opens (creating 0600) a file of the state dir without following a symlink at its path.
pub fn open_private_nofollow(path: &Path, append: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).create(true).mode(0o600).custom_flags(libc::O_NOFOLLOW);
    match append {
        true => options.append(true),
        false => options.write(true),
    };
    options.open(path)
}

/// Why a path of the state dir cannot be trusted, or `None`: it must be the user's own, not a
/// symlink, not writable by group or others, and a directory or a regular file as expected.
pub fn untrusted(path: &Path, dir: bool, uid: Option<u32>) -> io::Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let kind = if dir { "a directory" } else { "a regular file" };
    if meta.file_type().is_symlink() {
        return Ok(Some(format!(
            "is a symbolic link; the wizard's state must be {kind} of its own (remove the link)"
        )));
    }
    if (dir && !meta.is_dir()) || (!dir && !meta.is_file()) {
        return Ok(Some(format!("is not {kind}")));
    }
    if let Some(uid) = uid
        && meta.uid() != uid
    {
        return Ok(Some(format!(
            "belongs to uid {}, not to you (uid {uid}): another user could change what the \
             wizard believes it made",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        let fix = if dir { "chmod 700" } else { "chmod 600" };
        return Ok(Some(format!(
            "is writable by group or others (mode {:o}): run `{fix} {}`",
            meta.mode() & 0o777,
            path.display()
        )));
    }
    Ok(None)
}

/// This process's real uid, from /proc (no `unsafe` getuid); `None` where /proc is missing.
pub fn current_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates the directory (and any missing parents) 0700 when it does not exist; an existing
/// directory's mode is the user's business.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    // A umask can only remove bits; set them exactly so the directory is usable and private.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// Expands a leading `~/` to the home directory (the answers use it for key paths).
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(base)) => base.home_dir().join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_privately_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f.json")]);
    }

    #[test]
    fn private_dirs_are_0700() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        private_dir(&sub).unwrap();
        assert_eq!(fs::metadata(&sub).unwrap().permissions().mode() & 0o777, 0o700);
    }
}
