//! Where a step (or a teardown action) stands, for the rows of the run and teardown pages.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    Waiting,
    Running { since_ms: u64 },
    Finished { elapsed: Duration },
    Failed { elapsed: Duration },
}
