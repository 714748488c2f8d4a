//! Where a step (or a teardown action) stands, for the rows of the run and teardown pages.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    Waiting,
    Running { since_ms: u64 },
    Finished { elapsed: Duration },
    Failed { elapsed: Duration },
}

impl StepStatus {
    /// The time spent so far: the engine's measure once it ended, the clock's while it runs.
    pub fn spent(&self, now_ms: u64) -> Duration {
        match self {
            StepStatus::Waiting => Duration::ZERO,
            StepStatus::Running { since_ms } => {
                Duration::from_millis(now_ms.saturating_sub(*since_ms))
            }
            StepStatus::Finished { elapsed } | StepStatus::Failed { elapsed } => *elapsed,
        }
    }
}
