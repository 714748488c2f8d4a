//! The non-interactive front end (`--yes`, and the commands that ask nothing): one plain line
//! per event, no colours, spinners or cursor movement, so logs and CI read cleanly.

use std::io::{self, Write};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::doctor::{Check, Status};
use crate::engine::cluster::validate::Phase;
use crate::engine::events::{Change, Event};
use crate::journal::{Journal, State};
use crate::rules;
use crate::text::printable;

/// `14:02:11`, local time.
pub fn clock() -> String {
    jiff::ZonedDateTime::now().strftime("%H:%M:%S").to_string()
}

use crate::text::elapsed as seconds;

/// Turns events into lines. It remembers the last validation it showed, so that a long wait
/// prints a line when the phase or the counts change, not one per poll.
#[derive(Debug, Default)]
pub struct Lines {
    last_validation: Option<(Phase, u32, u32, usize)>,
}

impl Lines {
    /// The line for an event, or `None` for events this front end does not show (kops's own
    /// output goes to the log file).
    pub fn line(&mut self, event: &Event, clock: &str) -> Option<String> {
        match event {
            // The structured teardown events repeat what the items say, for the full-screen
            // rows and gauge; kops's own output goes to the log file.
            Event::StepStarted { .. }
            | Event::Output { .. }
            | Event::ActionStarted { .. }
            | Event::ActionFinished { .. }
            | Event::Progress { .. }
            | Event::CloudDeleted { .. }
            | Event::CloudBlocked { .. } => None,
            Event::Note { message } => Some(format!("[i] {clock} {message}")),
            Event::PlanChanged { steps, why } => {
                let names: Vec<&str> = steps.iter().map(|s| s.short()).collect();
                Some(format!("[i] {clock} {why}; the steps now: {}", names.join(", ")))
            }
            Event::Item { step, change, message, elapsed } => {
                let (mark, time) = match change {
                    Change::Created => ("✔", format!(" ({})", seconds(*elapsed))),
                    Change::Unchanged => ("=", String::new()),
                    Change::Info => ("i", String::new()),
                    Change::Warning => ("!", String::new()),
                };
                Some(format!("[{mark}] {clock} {}: {message}{time}", step.short()))
            }
            Event::Validation(v) => {
                let a = &v.attempt;
                let key = (a.phase, a.ready_nodes, a.expected_nodes, a.failures.len());
                if self.last_validation == Some(key) {
                    return None;
                }
                self.last_validation = Some(key);
                Some(format!(
                    "[…] {clock} validate: {}, {}/{} ready (attempt {}, {} of {})",
                    a.phase.describe(),
                    a.ready_nodes,
                    a.expected_nodes,
                    v.number,
                    rules::format_duration(Duration::from_secs(v.elapsed.as_secs())),
                    rules::format_duration(v.wait),
                ))
            }
            Event::Smoke { step, phase } => {
                Some(format!("[…] {clock} {}: {}", step.short(), phase.describe()))
            }
            Event::StepFinished { step, elapsed } => {
                Some(format!("[✔] {clock} {}: done ({})", step.short(), seconds(*elapsed)))
            }
            Event::StepFailed { step, elapsed, .. } => {
                Some(format!("[✘] {clock} {}: failed ({})", step.short(), seconds(*elapsed)))
            }
        }
    }
}

/// Prints events until the engine drops its end of the channel.
pub async fn print_events(mut events: UnboundedReceiver<Event>) {
    let mut lines = Lines::default();
    while let Some(event) = events.recv().await {
        if let Some(line) = lines.line(&event, &clock()) {
            // A closed stdout (`| head`) must not stop the engine mid-change.
            crate::safe_println!("{line}");
        }
    }
}

/// Runs setup with progress lines; returns when the engine is done and every line is out.
pub fn setup(
    request: crate::engine::setup::Request<'_>,
) -> anyhow::Result<crate::journal::Journal> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let (sink, events) = crate::engine::events::Sink::channel();
        let printer = tokio::spawn(print_events(events));
        let result = interruptible(crate::engine::setup::setup(request, &sink)).await;
        drop(sink);
        let _ = printer.await;
        result
    })
}

/// Runs engine work until it ends or the user presses Ctrl-C. Dropping the work on Ctrl-C
/// stops it between two AWS calls and kills a running kops (`kill_on_drop`); the journal
/// already holds the intent of whatever was under way, so a rerun settles and continues it.
async fn interruptible<T, E>(work: impl Future<Output = Result<T, E>>) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    // SIGTERM and SIGHUP stop the same way: left to their default, they would end the wizard
    // without dropping the work, and kops would run on alone.
    let mut stops = crate::ui::signals::Stops::watch()?;
    tokio::select! {
        result = work => Ok(result?),
        _ = tokio::signal::ctrl_c() => {
            tracing::warn!("interrupted by the user");
            Err(crate::exit::Interrupted.into())
        }
        name = stops.recv() => {
            tracing::warn!("stopped by {name}");
            Err(crate::exit::Interrupted.into())
        }
    }
}

/// The teardown plan in words: what will be deleted, in order, with kops's inventory of the
/// cluster's cloud resources and the bucket's contents, and what is kept.
pub fn describe_teardown(inventory: &crate::engine::teardown::Inventory) -> String {
    use crate::engine::teardown::ItemKind;
    let mut out = format!(
        "Teardown of cluster {} (journal {})\n",
        inventory.cluster,
        inventory.journal.display()
    );
    if let Some(made_by) = &inventory.made_by {
        out.push_str(&format!("Cluster {}: {made_by}.\n", inventory.cluster));
    }
    if inventory.steps.is_empty() {
        out.push_str("Nothing to delete: the journal records nothing the wizard created that is still there.\n");
    } else {
        out.push_str("Will delete, in this order:\n");
    }
    for (i, step) in inventory.steps.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", i + 1, step.id.title()));
        for item in step.actions.iter().flatten() {
            out.push_str(&format!("     - {}\n", item.text));
            match &item.what {
                ItemKind::Cluster => {
                    for (kind, n) in inventory.cloud_types() {
                        out.push_str(&format!("         {n} × {kind}\n"));
                    }
                }
                ItemKind::Versions { count: Some(c), .. } => out.push_str(&format!(
                    "         now {} object versions and {} delete markers\n",
                    c.versions, c.delete_markers
                )),
                ItemKind::Versions { count: None, .. }
                | ItemKind::Policy { .. }
                | ItemKind::Other => {}
            }
        }
    }
    out.push_str(&super::inventory::kubernetes(inventory));
    if !inventory.kept.is_empty() {
        out.push_str("Will keep:\n");
        for kept in &inventory.kept {
            out.push_str(&format!("  - {kept}\n"));
        }
    }
    // Last, next to the question, the whole of it a line a step: on a scrolling terminal the
    // end is what is on screen when the name is asked.
    if !inventory.steps.is_empty() {
        out.push_str("In short:\n");
        out.push_str(&super::inventory::summary_text(inventory));
    }
    out
}

/// Runs teardown: prepare, show, confirm (typed, unless `--yes`), delete, check what is left.
/// Returns the exit code: 0 when nothing is left, 1 when something is or the user aborted.
pub fn teardown(request: crate::engine::teardown::Request<'_>, yes: bool) -> anyhow::Result<u8> {
    let answers = request.answers;
    let dry_run = request.dry_run;
    let runtime = tokio::runtime::Runtime::new()?;
    let (sink, events) = crate::engine::events::Sink::channel();
    let printer = runtime.spawn(print_events(events));
    let prepared = runtime.block_on(crate::engine::teardown::prepare(request, &sink));
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            drop(sink);
            let _ = runtime.block_on(printer);
            return Err(e.into());
        }
    };
    crate::safe_print!("{}", describe_teardown(&prepared.inventory()));
    if dry_run {
        runtime.block_on(prepared.release());
        crate::safe_println!("\ndry run: nothing was deleted or changed.");
        return Ok(0);
    }
    if prepared.is_empty() {
        runtime.block_on(prepared.release());
        return Ok(0);
    }
    if !yes && !super::confirm::confirm_typed(&answers.cluster.name)? {
        runtime.block_on(prepared.release());
        crate::safe_println!("Aborted: the name did not match. Nothing was deleted.");
        return Ok(crate::exit::FAILED);
    }
    let outcome =
        runtime.block_on(interruptible(crate::engine::teardown::execute(prepared, answers, &sink)));
    drop(sink);
    let _ = runtime.block_on(printer);
    let outcome = outcome?;
    if !outcome.kept_volumes.is_empty() {
        crate::safe_println!("\nkept (they may hold data; --delete-volumes deletes them):");
        for kept in &outcome.kept_volumes {
            crate::safe_println!("  - {kept}");
        }
    }
    if !outcome.refused.is_empty() {
        crate::safe_println!("\n{}", crate::engine::teardown::REFUSED_HEADING);
        for refused in &outcome.refused {
            crate::safe_println!("  - {refused}");
        }
    }
    if outcome.leftovers.is_empty() && outcome.refused.is_empty() {
        crate::safe_println!(
            "\nteardown done: nothing left that the wizard created. Journal: {}",
            outcome.journal.path().display()
        );
        Ok(0)
    } else if outcome.leftovers.is_empty() {
        crate::safe_println!(
            "\nteardown finished what it could prove; the refused entries above are kept. \
             Journal: {}",
            outcome.journal.path().display()
        );
        Ok(crate::exit::FAILED)
    } else {
        crate::safe_println!("\nteardown finished, but these are still there:");
        for left in &outcome.leftovers {
            crate::safe_println!("  - {left}");
        }
        Ok(crate::exit::FAILED)
    }
}

/// `unlock`: shows who holds the state bucket's lock and, once the bucket's name is typed (or
/// with `--yes`), deletes the lock, only while it is still the one shown.
pub fn unlock(answers: &crate::answers::Answers, yes: bool) -> anyhow::Result<u8> {
    use crate::engine::store::lease;
    let Some(bucket) = answers.state_store.bucket.clone() else {
        return Err(crate::exit::UsageError(
            "unlock needs state_store.bucket: pass the answers file with --config".into(),
        )
        .into());
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let (sink, events) = crate::engine::events::Sink::channel();
    let printer = runtime.spawn(print_events(events));
    let result = runtime.block_on(async {
        let clients = crate::engine::aws::clients::connect_admin(answers, &sink).await?;
        anyhow::Ok((lease::current(&clients, &bucket).await?, clients))
    });
    drop(sink);
    let _ = runtime.block_on(printer);
    let (current, clients) = result?;
    let Some((holder, etag)) = current else {
        crate::safe_println!("s3://{bucket} is not locked: nothing to do.");
        return Ok(0);
    };
    crate::safe_println!("s3://{bucket} is locked by {}.", holder.describe());
    if !yes && !super::confirm::confirm_unlock(&bucket)? {
        crate::safe_println!("The lock is left as it is.");
        return Ok(crate::exit::FAILED);
    }
    if runtime.block_on(lease::break_lease(&clients, &bucket, &etag))? {
        crate::safe_println!("Lock broken: it was {}'s.", holder.by.describe());
        Ok(0)
    } else {
        crate::safe_println!("The lock changed meanwhile (its holder is alive): left as it is.");
        Ok(crate::exit::FAILED)
    }
}

/// What to tell the user when setup is done: how to use the cluster (when the cluster steps
/// ran) and where the journal and the log are.
pub fn done_text(
    answers: &crate::answers::Answers,
    journal: &Journal,
    log: &std::path::Path,
    steps: &[crate::plan::SetupStep],
) -> String {
    let mut out = String::from("\nsetup done.\n");
    // A join: whose cluster it is, and what this setup left alone.
    let cluster = journal.find(crate::journal::Kind::Cluster, &answers.cluster.name);
    if let Some(entry) = cluster
        && journal.author().is_some()
        && !entry.made_here()
    {
        let by = entry.by.as_ref().map(|b| format!(" by {}", b.describe())).unwrap_or_default();
        out.push_str(&format!(
            "Joined cluster {}, set up{by} at {}. Not touched: its spec, its SSH key, its \
             instances (no kops create, update or SSH key change).\n",
            answers.cluster.name, entry.at
        ));
    }
    if steps.contains(&crate::plan::SetupStep::Validate) {
        out.push_str("Use the cluster:\n");
        if let Some(store) = &journal.state_store {
            out.push_str(&format!("  export KOPS_STATE_STORE={store}\n"));
        }
        out.push_str(&format!("  export KOPS_CLUSTER_NAME={}\n", answers.cluster.name));
        out.push_str(&format!("  export AWS_PROFILE={}\n", answers.aws.kops_profile));
        out.push_str("  kubectl get nodes\n");
    }
    if let Some(smoke) = &journal.last_smoke_test
        && steps.contains(&crate::plan::SetupStep::SmokeTest)
    {
        match (&smoke.passed, &smoke.failed) {
            (Some(passed), _) => {
                out.push_str(&format!(
                    "Smoke test: both pods answered through load balancer {}:\n  curl {}\n  pods: {}\n",
                    passed.load_balancer,
                    passed.url,
                    passed.pods.join(", ")
                ));
            }
            (None, Some(why)) => out.push_str(&format!(
                "Warning: the smoke test failed: {why}\n  The cluster itself is up; `kops-wizard smoke-test` runs the test again.\n"
            )),
            (None, None) => {}
        }
    }
    if !steps.contains(&crate::plan::SetupStep::Validate)
        && let Some(store) = &journal.state_store
    {
        out.push_str(&format!("  export KOPS_STATE_STORE={store}\n"));
    }
    match &journal.copy_of {
        Some(copy) => out.push_str(&format!(
            "Journal: {} (a copy of the team's record {})\nLog: {}\n",
            journal.path().display(),
            copy.url,
            log.display()
        )),
        None => out.push_str(&format!(
            "Journal: {}\nLog: {}\n",
            journal.path().display(),
            log.display()
        )),
    }
    out
}

/// Prints the doctor's checks, one per line, aligned.
pub fn print_checks(out: &mut impl Write, checks: &[Check]) -> io::Result<()> {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in checks {
        let mark = match check.status {
            Status::Ok => "✔",
            Status::Warn => "!",
            Status::Fail => "✘",
        };
        writeln!(out, "{mark} {:width$}  {}", check.name, check.detail)?;
    }
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    match failed {
        0 => writeln!(out, "\nready: {warned} warning(s)"),
        n => writeln!(out, "\nnot ready: {n} problem(s), {warned} warning(s)"),
    }
}

/// What AWS says now about a journal entry, when status could ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    Exists,
    Gone,
}

/// Prints what the journals record, one table per cluster: each resource with who made it,
/// what AWS says of it now (where `now` knows), the validation result while the cluster
/// exists, and a teardown that did not finish.
pub fn print_status(
    out: &mut impl Write,
    journals: &[Journal],
    state_dir: &std::path::Path,
    now: &dyn Fn(&Journal, &crate::journal::Entry) -> Option<Now>,
    checked: Option<&str>,
    fresh: &[String],
    cloud: &[(String, String)],
) -> io::Result<()> {
    if journals.is_empty() {
        return writeln!(
            out,
            "no journal in {}: setup has not run with this state dir",
            state_dir.display()
        );
    }
    if let Some(note) = checked {
        writeln!(out, "{}\n", printable(note))?;
    }
    for journal in journals {
        let p = |t: &str| printable(t).into_owned();
        writeln!(out, "cluster {} (region {})", p(&journal.cluster), p(&journal.region))?;
        writeln!(out, "  journal      {}", journal.path().display())?;
        if let Some(copy) = &journal.copy_of {
            let how = match fresh.contains(&journal.cluster) {
                true => "read from the bucket now",
                false => "AWS could not be asked: this is this machine's copy, as it last saw it",
            };
            writeln!(out, "  record       {} ({how})", p(&copy.url))?;
        }
        if let Some(store) = &journal.state_store {
            writeln!(out, "  state store  {}", p(store))?;
        }
        if let Some(t) = &journal.teardown {
            match &t.finished {
                Some(at) => writeln!(out, "  teardown     finished {}: nothing left", p(at))?,
                None => {
                    writeln!(
                        out,
                        "  teardown     UNFINISHED (started {}, stopped: {}); run `kops-wizard teardown` again to continue",
                        p(&t.started),
                        p(t.stopped.as_deref().unwrap_or("unknown"))
                    )?;
                    for left in &t.leftovers {
                        writeln!(out, "               - still there: {}", p(left))?;
                    }
                    for refused in &t.refused {
                        writeln!(out, "               - refused (kept): {}", p(refused))?;
                    }
                }
            }
        }
        if let Some(c) = &journal.cluster_settings {
            writeln!(
                out,
                "  sizes        {} control plane(s) {}, {} node(s) {}, Kubernetes {}",
                c.control_plane_count,
                p(&c.control_plane_size),
                c.node_count,
                p(&c.node_size),
                p(c.kubernetes_version.as_deref().unwrap_or("kops's default"))
            )?;
        }
        if let Some(c) = journal.changes.last() {
            writeln!(
                out,
                "  last change  {} ({}, {}): {}",
                p(&c.changes.join("; ")),
                p(&c.started),
                p(&c.by.as_ref().map(|b| b.describe()).unwrap_or_default()),
                p(&c.result)
            )?;
        }
        if let Some(v) = &journal.last_validation {
            writeln!(
                out,
                "  validation   {}, {}/{} nodes ready ({})",
                p(&v.phase),
                v.ready_nodes,
                v.expected_nodes,
                p(&v.at)
            )?;
            for failure in &v.failures {
                writeln!(out, "               - {}", p(failure))?;
            }
        }
        if let Some((_, line)) = cloud.iter().find(|(c, _)| *c == journal.cluster) {
            writeln!(out, "  in AWS now   {}", p(line))?;
        }
        if let Some(t) = &journal.last_smoke_test {
            match (&t.passed, &t.failed) {
                (Some(passed), _) => writeln!(
                    out,
                    "  smoke test   passed: {} answered at {} ({})",
                    p(&passed.pods.join(", ")),
                    p(&passed.url),
                    p(&t.at)
                )?,
                (None, failed) => writeln!(
                    out,
                    "  smoke test   FAILED: {} ({})",
                    p(failed.as_deref().unwrap_or("unknown")),
                    p(&t.at)
                )?,
            }
        }
        let unfinished = journal.entries.iter().filter(|e| e.state == State::Intent).count();
        if unfinished > 0 {
            writeln!(
                out,
                "  unfinished   {unfinished} change(s) an interrupted run began; the next setup or teardown settles them"
            )?;
        }
        let rows: Vec<[String; 4]> = journal
            .entries
            .iter()
            .map(|e| {
                let state = match e.state {
                    State::Intent => "about to be created (unconfirmed)",
                    State::Created => "created by the wizard",
                    State::Found => "found (kept at teardown)",
                    State::Deleted => "deleted by teardown",
                    State::Failed => "never made (the change failed)",
                    State::Released => "created by the wizard, kept for another cluster",
                    State::Left => "found, no longer used by this cluster",
                };
                let now = match now(journal, e) {
                    Some(Now::Exists) => "exists now",
                    Some(Now::Gone) => "NOT in AWS now",
                    None => "",
                };
                [p(&e.describe()), state.to_string(), now.to_string(), p(&e.at)]
            })
            .collect();
        let w0 = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(0);
        let w1 = rows.iter().map(|r| r[1].len()).max().unwrap_or(0);
        let w2 = rows.iter().map(|r| r[2].len()).max().unwrap_or(0);
        for [what, state, now, at] in &rows {
            let line = format!("  {what:w0$}  {state:w1$}  {now:w2$}  {at}");
            writeln!(out, "{}", line.trim_end())?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{SetupStep, StepId};

    #[test]
    fn lines_carry_mark_clock_step_and_time() {
        let step = StepId::Setup(SetupStep::Credentials);
        let created = Event::Item {
            step,
            change: Change::Created,
            message: "group kops created".into(),
            elapsed: Duration::from_millis(1234),
        };
        // The one duration format of every front end (text::elapsed).
        assert_eq!(
            Lines::default().line(&created, "14:02:11").unwrap(),
            "[✔] 14:02:11 iam: group kops created (1.2s)"
        );
        let same = Event::Item {
            step,
            change: Change::Unchanged,
            message: "x".into(),
            elapsed: Duration::ZERO,
        };
        assert_eq!(Lines::default().line(&same, "t").unwrap(), "[=] t iam: x");
        let failed =
            Event::StepFailed { step, error: "boom".into(), elapsed: Duration::from_secs(1) };
        assert_eq!(Lines::default().line(&failed, "t").unwrap(), "[✘] t iam: failed (1.0s)");
        assert_eq!(Lines::default().line(&Event::StepStarted { step }, "t"), None);
    }
}
