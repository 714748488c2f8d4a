//! Line-by-line prompts (inquire). For now: the typed confirmation before teardown deletes.

use crate::exit::Interrupted;

/// Asks the user to type `expected` to go on. `Ok(false)` when they typed something else;
/// Ctrl-C or Esc is `Interrupted`.
pub fn confirm_typed(expected: &str) -> anyhow::Result<bool> {
    let answer = inquire::Text::new(&format!("Type the cluster name ({expected}) to delete it:"))
        .with_help_message("anything else aborts; nothing has been deleted yet")
        .prompt();
    match answer {
        Ok(text) => Ok(text.trim() == expected),
        Err(
            inquire::InquireError::OperationCanceled | inquire::InquireError::OperationInterrupted,
        ) => Err(Interrupted.into()),
        Err(e) => Err(anyhow::anyhow!("cannot ask for the confirmation: {e}")),
    }
}
