//! Exit codes (DESIGN.md): 0 done; 1 a step failed; 2 bad input or usage, nothing changed;
//! 130 interrupted. Errors carry their class so `main` can map them.

use std::process::ExitCode;

use crate::answers::AnswersError;
use crate::engine::cluster::kops::KopsError;
use crate::engine::setup::SetupError;

/// Bad usage that is not about the answers file: nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The user interrupted the run (Ctrl-C, or declined a confirmation by interrupting).
#[derive(Debug, thiserror::Error)]
#[error("interrupted: what was done is in the journal; run the same command again to continue")]
pub struct Interrupted;

pub const FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const INTERRUPTED: u8 = 130;

/// The exit code for an error, from the first classified error in its chain.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>()
            || cause.is::<AnswersError>()
            || cause.is::<crate::rules::Broken>()
        {
            return USAGE;
        }
        // An answer that conflicts with this machine (a profile someone else saved) is bad
        // input: refused before anything changed.
        if matches!(
            cause.downcast_ref::<SetupError>(),
            Some(SetupError::Refused(_) | SetupError::Unclaimed { .. })
        ) {
            return USAGE;
        }
        let kops = match cause.downcast_ref::<SetupError>() {
            Some(SetupError::Kops(e)) => Some(e),
            _ => cause.downcast_ref::<KopsError>(),
        };
        if kops.is_some_and(KopsError::is_setup_problem) {
            return USAGE;
        }
        // A change the cluster cannot take (a downgrade, a skipped minor version, a scale-down
        // without draining) is refused before any change: bad input.
        if matches!(
            cause.downcast_ref::<crate::engine::change::ChangeError>(),
            Some(crate::engine::change::ChangeError::Refused(_))
        ) {
            return USAGE;
        }
        if cause.is::<Interrupted>() {
            return INTERRUPTED;
        }
    }
    FAILED
}

pub fn exit_code(code: u8) -> ExitCode {
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_codes_through_context() {
        let usage = anyhow::Error::new(UsageError("x".into())).context("while doing y");
        assert_eq!(code_for(&usage), USAGE);
        assert_eq!(code_for(&anyhow::Error::new(Interrupted)), INTERRUPTED);
        assert_eq!(code_for(&anyhow::anyhow!("AccessDenied")), FAILED);
    }
}
