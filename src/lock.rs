//! One run at a time per cluster: setup and teardown hold an OS file lock next to the
//! cluster's journal. Two setups at once would each see "no access key yet" and make one each;
//! a teardown racing a setup would delete what the setup is still building.
//!
//! The lock is `flock` through `std::fs::File::try_lock`, so the kernel releases it when the
//! process dies, however it dies: a stale lock file never blocks the next run. The file holds
//! who took the lock, only to name the holder in the message.

use std::fs;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::fsutil;

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct ClusterLock {
    _file: fs::File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cluster {cluster} is busy: another kops-wizard holds {} ({holder}). Wait for it to \
         finish, or stop it; then run this command again",
        path.display()
    )]
    Busy { cluster: String, path: PathBuf, holder: String },
    #[error("cannot lock {}: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
}

impl ClusterLock {
    /// `<state dir>/journal/<cluster>.lock`, beside the journal it guards.
    pub fn path_for(state_dir: &Path, cluster: &str) -> PathBuf {
        state_dir.join("journal").join(format!("{cluster}.lock"))
    }

    /// Takes the cluster's lock for `command` (`setup`, `teardown`), or says who has it.
    pub fn acquire(state_dir: &Path, cluster: &str, command: &str) -> Result<Self, LockError> {
        let path = Self::path_for(state_dir, cluster);
        let io = |error| LockError::Io { path: path.clone(), error };
        if let Some(dir) = path.parent() {
            fsutil::private_dir(dir).map_err(io)?;
        }
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                // Never through a symlink planted at the lock's path.
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .map_err(io)?
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder =
                    if holder.is_empty() { "a run that is starting".into() } else { holder.into() };
                return Err(LockError::Busy { cluster: cluster.into(), path, holder });
            }
            Err(fs::TryLockError::Error(error)) => return Err(io(error)),
        }
        let who = format!(
            "pid {}, `kops-wizard {command}`, since {}",
            std::process::id(),
            crate::journal::now()
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(who.as_bytes()).map_err(io)?;
        Ok(ClusterLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name_and_the_lock_frees_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = ClusterLock::acquire(dir.path(), "a.example.com", "setup").unwrap();
        let err = ClusterLock::acquire(dir.path(), "a.example.com", "teardown").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }), "{text}");
        assert!(text.contains(&format!("pid {}", std::process::id())), "{text}");
        assert!(text.contains("`kops-wizard setup`"), "{text}");
        // Another cluster is independent.
        let _other = ClusterLock::acquire(dir.path(), "b.example.com", "setup").unwrap();
        drop(first);
        let again = ClusterLock::acquire(dir.path(), "a.example.com", "teardown").unwrap();
        let text = fs::read_to_string(again.path()).unwrap();
        assert!(text.contains("`kops-wizard teardown`"), "{text}");
    }
}
