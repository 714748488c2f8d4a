//! Debug builds only: points where an end-to-end test can stop the wizard, to prove that what
//! a run began is finished by a rerun, and that a paused or racing run does no harm. A point is
//! `<state>:<kind>` just before the journal records that entry (so `created:access-key` is
//! after AWS made the key and before the journal says so), or `after-step:<step>` once a step
//! is done. At the point named by
//! - `KOPS_WIZARD_TEST_KILL`, the wizard dies by SIGKILL;
//! - `KOPS_WIZARD_TEST_STOP`, it stops itself with SIGSTOP (the first time it gets there), as
//!   a closed laptop lid would; the test resumes it with SIGCONT;
//! - `KOPS_WIZARD_TEST_BARRIER=<point>=<dir>`, it writes `<dir>/<pid>` and waits (up to two
//!   minutes) for `<dir>/go`: the test lets several runs go on together from the same point.
//!
//! Release builds have no such hook.

/// The hook at `point`: whatever the test asked for there, if anything.
pub fn point(point: &str) {
    #[cfg(debug_assertions)]
    {
        let wanted = |var: &str| std::env::var(var).is_ok_and(|w| w == point);
        if wanted("KOPS_WIZARD_TEST_KILL") {
            tracing::warn!("KOPS_WIZARD_TEST_KILL: killing the wizard at {point}");
            signal_self("-KILL");
            // The signal is delivered before `kill` returns; this only covers a missing kill(1).
            std::process::abort();
        }
        if wanted("KOPS_WIZARD_TEST_STOP")
            && !STOPPED.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            tracing::warn!("KOPS_WIZARD_TEST_STOP: stopping the wizard at {point}");
            signal_self("-STOP");
            tracing::warn!("KOPS_WIZARD_TEST_STOP: resumed at {point}");
        }
        if let Ok(barrier) = std::env::var("KOPS_WIZARD_TEST_BARRIER")
            && let Some((at, dir)) = barrier.split_once('=')
            && at == point
        {
            barrier_wait(std::path::Path::new(dir));
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}

#[cfg(debug_assertions)]
static STOPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends a signal to this process through kill(1): no destructor, no flush, no journal write
/// runs before it lands.
#[cfg(debug_assertions)]
fn signal_self(signal: &str) {
    let _ =
        std::process::Command::new("kill").args([signal, &std::process::id().to_string()]).status();
}

#[cfg(debug_assertions)]
fn barrier_wait(dir: &std::path::Path) {
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(std::process::id().to_string()), b"");
    let started = std::time::Instant::now();
    while !dir.join("go").exists() && started.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
