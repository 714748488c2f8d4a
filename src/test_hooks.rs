//! Debug builds only: points where an end-to-end test can kill the wizard with SIGKILL, to
//! prove that a rerun finishes what a run that died there began. `KOPS_WIZARD_TEST_KILL`
//! names the point: `<state>:<kind>` just before the journal records that entry (so
//! `created:access-key` dies after AWS made the key and before the journal says so), or
//! `after-step:<step>` once a step is done. Release builds have no such hook.

/// Kills this process, as `kill -9` would, when `point` is the one the test asked for.
pub fn kill_point(point: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("KOPS_WIZARD_TEST_KILL").is_ok_and(|wanted| wanted == point) {
        tracing::warn!("KOPS_WIZARD_TEST_KILL: killing the wizard at {point}");
        // SIGKILL through kill(1): no destructor, no flush, no journal write runs after it.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        // The signal is delivered before `kill` returns; this only covers a missing kill(1).
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}
