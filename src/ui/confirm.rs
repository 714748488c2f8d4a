//! The typed confirmations every front end that asks on a line uses (teardown's cluster name,
//! unlock's bucket name), and how a prompt's Ctrl-C or Esc becomes exit 130.

use crate::exit::Interrupted;

/// Asks the user to type `expected` to go on. `Ok(false)` when they typed something else;
/// Ctrl-C or Esc is `Interrupted`.
pub fn confirm_typed(expected: &str) -> anyhow::Result<bool> {
    let answer = inquire::Text::new(&format!("Type the cluster name ({expected}) to delete it:"))
        .with_help_message("anything else aborts; nothing has been deleted yet")
        .prompt();
    Ok(asked(answer)?.trim() == expected)
}

/// Asks for `expected` (the state bucket's name) before a lock is broken.
pub fn confirm_unlock(expected: &str) -> anyhow::Result<bool> {
    let answer =
        inquire::Text::new(&format!("Type the bucket name ({expected}) to break its lock:"))
            .with_help_message("anything else leaves the lock as it is")
            .prompt();
    Ok(asked(answer)?.trim() == expected)
}

/// A prompt's answer; Ctrl-C or Esc becomes `Interrupted` (exit 130).
pub fn asked<T>(answer: inquire::error::InquireResult<T>) -> anyhow::Result<T> {
    match answer {
        Ok(value) => Ok(value),
        Err(
            inquire::InquireError::OperationCanceled | inquire::InquireError::OperationInterrupted,
        ) => Err(Interrupted.into()),
        Err(e) => Err(anyhow::anyhow!("cannot ask: {e}")),
    }
}
