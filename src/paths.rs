//! Where the wizard keeps its files: the state dir (journal, log) and the default answers file,
//! from the platform's conventions (XDG on Linux) unless the command line says otherwise.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The journal and the log live here.
    pub state_dir: PathBuf,
    /// `<config dir>/kops-wizard/config.toml`, used when it exists and no `--config` is given.
    pub default_config: Option<PathBuf>,
}

impl Paths {
    pub fn resolve(state_dir: Option<&Path>) -> anyhow::Result<Paths> {
        let dirs = ProjectDirs::from("", "", "kops-wizard");
        let state_dir = match (state_dir, &dirs) {
            (Some(dir), _) => {
                check_state_dir(dir)?;
                dir.to_path_buf()
            }
            // macOS and Windows have no state dir; the local data dir is the nearest match.
            (None, Some(d)) => d.state_dir().unwrap_or_else(|| d.data_local_dir()).to_path_buf(),
            (None, None) => anyhow::bail!(
                "cannot find a home directory for the journal and the log; pass --state-dir DIR"
            ),
        };
        check_trusted(&state_dir)?;
        let default_config = dirs.map(|d| d.config_dir().join("config.toml"));
        Ok(Paths { state_dir, default_config })
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("kops-wizard.log")
    }
}

/// `--state-dir` must be a directory or a path one can be made at: refused up front (bad
/// usage, exit 2) rather than failing when the log or the journal is first written.
fn check_state_dir(dir: &Path) -> anyhow::Result<()> {
    let refuse = |why: &str| crate::exit::UsageError(format!("--state-dir {dir:?}: {why}"));
    if dir.as_os_str().is_empty() {
        return Err(refuse("an empty path; give the directory for the journal and the log").into());
    }
    // The path itself, or the nearest part of it that exists, must be a directory: under a
    // file nothing can be created.
    let existing = dir.ancestors().find(|p| !p.as_os_str().is_empty() && p.exists());
    match existing {
        Some(p) if !p.is_dir() => Err(refuse(&format!(
            "{} exists and is not a directory; give a directory (it is created if missing)",
            p.display()
        ))
        .into()),
        _ => Ok(()),
    }
}

/// The state dir holds what the wizard believes it made: a world-writable or planted dir, or a
/// symlink where a journal, the lock or the log should be, could make it overwrite another
/// file or delete what it never made. Each is refused before anything happens (exit 2), naming
/// the path, the rule and the fix.
fn check_trusted(state_dir: &Path) -> anyhow::Result<()> {
    let uid = crate::fsutil::current_uid();
    let mut paths: Vec<(std::path::PathBuf, bool)> =
        vec![(state_dir.to_path_buf(), true), (state_dir.join("journal"), true)];
    paths.push((state_dir.join("kops-wizard.log"), false));
    paths.push((state_dir.join("machine-id"), false));
    if let Ok(entries) = std::fs::read_dir(state_dir.join("journal")) {
        paths.extend(entries.flatten().map(|e| (e.path(), false)));
    }
    for (path, dir) in paths {
        let why = crate::fsutil::untrusted(&path, dir, uid)
            .map_err(|e| anyhow::anyhow!("cannot check {}: {e}", path.display()))?;
        if let Some(why) = why {
            return Err(crate::exit::UsageError(format!(
                "the state dir is not safe to use: {} {why}. Nothing was changed",
                path.display()
            ))
            .into());
        }
    }
    Ok(())
}

pub use crate::fsutil::expand_home;
