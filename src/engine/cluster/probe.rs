//! Proof during a change: the smoke test's URL (two pods behind the cluster's NLB) asked once a
//! second for as long as the change runs, each answer timed. What users of kops meet during a
//! roll (kops #11256: requests through an NLB hanging while an instance stops) is then counted,
//! not guessed: how many requests failed or were slow, and when.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// An answer slower than this is counted as slow.
pub const SLOW: Duration = Duration::from_secs(1);
const EVERY: Duration = Duration::from_secs(1);

/// What the probe saw so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub requests: u32,
    pub failed: u32,
    pub slow: u32,
    /// The first and the last failure: seconds since the probe began, and why.
    pub first_failure: Option<(u64, String)>,
    pub last_failure: Option<(u64, String)>,
}

impl Seen {
    /// One line for a summary or a record.
    pub fn words(&self) -> String {
        let mut out = format!(
            "{} request(s) through the NLB during the change: {} failed, {} slower than {}",
            self.requests,
            self.failed,
            self.slow,
            crate::rules::format_duration(SLOW)
        );
        if let (Some((first, why)), Some((last, _))) = (&self.first_failure, &self.last_failure) {
            out.push_str(&format!(
                " (failures from {first}s to {last}s after the start; first: {})",
                crate::text::one_line(why)
            ));
        }
        out
    }
}

/// A running probe: [`Probe::stop`] ends it and gives what it saw.
pub struct Probe {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Seen>,
}

impl Probe {
    /// Starts asking `url`; `on` hears the tally after every request.
    pub fn start(url: String, on: impl Fn(&Seen) + Send + 'static) -> Probe {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let began = Instant::now();
            let mut seen = Seen::default();
            loop {
                let asked = Instant::now();
                let answer = super::smoke::get(&url).await;
                seen.requests += 1;
                let took = asked.elapsed();
                match answer {
                    Ok(_) if took > SLOW => seen.slow += 1,
                    Ok(_) => {}
                    Err(why) => {
                        seen.failed += 1;
                        let at = asked.duration_since(began).as_secs();
                        seen.first_failure.get_or_insert((at, why.clone()));
                        seen.last_failure = Some((at, why));
                    }
                }
                on(&seen);
                tokio::select! {
                    _ = tokio::time::sleep(EVERY.saturating_sub(took)) => {}
                    _ = stopped.changed() => break,
                }
                if *stopped.borrow() {
                    break;
                }
            }
            seen
        });
        Probe { stop, task }
    }

    pub async fn stop(self) -> Seen {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}
