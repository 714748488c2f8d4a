//! What the pure update functions ask the loop to do, as data (the loop does the I/O).

use std::path::PathBuf;

use crate::plan::TeardownOptions;

/// Work for the loop. Checks are debounced there (about 300 ms after the last request of a
/// kind) and answer with `Msg::Checked` carrying the same id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    CheckIdentity {
        id: u64,
        profile: Option<String>,
        region: String,
    },
    /// HeadBucket, and for a bucket of these credentials the clusters in it (whose each is,
    /// and whether this machine's copy in `state_dir` says it made it).
    CheckBucket {
        id: u64,
        bucket: String,
        profile: Option<String>,
        region: String,
        state_dir: PathBuf,
    },
    CheckSsh {
        id: u64,
        public_key: String,
    },
    /// Ask the state store whether the cluster is someone else's (Review shows a join then).
    CheckCluster,
    /// Run the plan of the current answers (a rerun resumes from the journal).
    StartRun,
    /// Stop the engine: its future is dropped, which kills a running kops.
    StopRun,
    SaveAnswers {
        path: PathBuf,
        overwrite: bool,
    },
    /// Read the journal, ask AWS and kops, and plan the teardown (changes nothing).
    PrepareTeardown(TeardownOptions),
    /// Plan the prepared teardown again with these toggles.
    TeardownOptions(TeardownOptions),
    /// Delete what the prepared plan lists (the name was typed).
    StartTeardown,
    /// Leave the loop; `State::exit` says how.
    Exit,
}
