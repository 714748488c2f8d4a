//! The loop: one task owns the terminal and waits in one `select!` for a key (crossterm's
//! EventStream), a message from a worker (engine events, check answers, the run's end) or,
//! only while a spinner or clock is on screen, a 100 ms tick. Each message goes through
//! `update`; queued ones are drained first, and a frame is drawn only after a change.

use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossterm::event::EventStream;
use futures_util::StreamExt;
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::JoinHandle;

use super::checks::Checker;
use super::keys::{self, Mode};
use super::state::{Exit, Finished, Now, Start, State, StepStatus};
use super::teardown::Ended;
use super::terminal::Guard;
use super::update::{self, Command, Msg};
use super::view;
use crate::engine::events::Sink;
use crate::engine::setup;
use crate::engine::teardown::Prepared;
use crate::journal::Journal;
use crate::plan::script;
use crate::plan::{SetupStep, StepId, TeardownOptions};
use std::sync::{Arc, Mutex};

/// At most this many queued messages are applied before a frame is drawn, so a flood of kops
/// output cannot starve the keyboard.
const DRAIN: usize = 256;
const TICK: Duration = Duration::from_millis(100);

/// How the wizard ended: the exit code and the plain text for standard output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: u8,
    pub summary: String,
}

/// Whether `setup` should open the full-screen wizard: asked to (no `--yes`, no `--plain`),
/// on a terminal that can show it.
pub fn wanted(yes: bool, plain: bool) -> bool {
    use std::io::IsTerminal;
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    !yes && !plain && !dumb && io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// `NO_COLOR` set to anything but empty turns colours off (no-color.org).
pub fn colors_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

// Shared with the line mode; kept importable from here.
pub use crate::ui::review::{existing_note, resume_note};

fn now_since(started: Instant) -> Now {
    Now {
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        clock: jiff::ZonedDateTime::now().time(),
    }
}

/// `setup` in the full-screen wizard, from the command line: loads the answers (a value that
/// breaks a rule is not exit 2 here: the wizard opens on it; an unreadable or unparsable file
/// still is, there is nothing to show), runs the wizard, prints the summary on standard output
/// and returns the exit code.
pub fn setup(
    global: &crate::cli::GlobalOpts,
    args: &crate::cli::SetupArgs,
    paths: &crate::paths::Paths,
) -> anyhow::Result<u8> {
    let (answers, source) =
        crate::answers::load(global.config.as_deref(), paths.default_config.as_deref())?;
    let _log = crate::logging::init(&paths.log_file())?;
    let journal = Journal::load(&Journal::path_for(&paths.state_dir, &answers.cluster.name))
        .unwrap_or_else(|e| {
            tracing::warn!("cannot read the journal: {e}");
            None
        });
    let start = Start {
        existing: journal.as_ref().and_then(existing_note),
        teardown: None,
        resume: journal.as_ref().and_then(resume_note),
        answers,
        source,
        ctx: super::checks::context(),
        ssh_keys: super::checks::scan_ssh_dir(
            &crate::paths::expand_home("~/.ssh"),
            super::checks::tilde,
        ),
        files: super::state::Files {
            answers: global.config.clone().or_else(|| paths.default_config.clone()),
            log: paths.log_file(),
            state_dir: paths.state_dir.clone(),
        },
        only: args.only.clone(),
        dry_run: global.dry_run,
        claim: args.claim,
        color: colors_wanted(),
        ascii: crate::text::ascii_locale(|name| std::env::var(name).ok()),
        size: (80, 24),
    };
    let outcome = run(start, global.kops.clone())?;
    crate::safe_print!("{}", outcome.summary);
    Ok(outcome.code)
}

/// `teardown` in the full-screen wizard: the inventory, the typed name, the deletion row by
/// row and the final check; the summary goes to standard output after it.
pub fn teardown(
    global: &crate::cli::GlobalOpts,
    opts: crate::plan::TeardownOptions,
    paths: &crate::paths::Paths,
) -> anyhow::Result<u8> {
    let (answers, source) =
        crate::answers::load(global.config.as_deref(), paths.default_config.as_deref())?;
    let report = crate::rules::check_answers(&answers);
    if !report.is_ok() {
        return Err(crate::rules::Broken { report }.into());
    }
    let _log = crate::logging::init(&paths.log_file())?;
    let start = Start {
        existing: None,
        teardown: Some(opts),
        resume: None,
        answers,
        source,
        ctx: super::checks::context(),
        ssh_keys: Vec::new(),
        files: super::state::Files {
            answers: global.config.clone().or_else(|| paths.default_config.clone()),
            log: paths.log_file(),
            state_dir: paths.state_dir.clone(),
        },
        only: Vec::new(),
        dry_run: false,
        claim: false,
        color: colors_wanted(),
        ascii: crate::text::ascii_locale(|name| std::env::var(name).ok()),
        size: (80, 24),
    };
    let outcome = run(start, global.kops.clone())?;
    crate::safe_print!("{}", outcome.summary);
    Ok(outcome.code)
}

/// Runs the wizard until Done or quit, then restores the terminal.
pub fn run(start: Start, kops: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let state = runtime.block_on(event_loop(start, kops))?;
    Ok(summary(&state))
}

async fn event_loop(start: Start, kops: Option<PathBuf>) -> anyhow::Result<State> {
    let started = Instant::now();
    let mut guard = Guard::enter(&start.files.log).context("cannot set up the terminal")?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut worker = Worker {
        checker: Checker::new(tx.clone()),
        task: None,
        prepared: Arc::new(Mutex::new(None)),
        tx,
        kops,
        started,
    };
    let mut state = State::new(start);
    if let Ok(size) = guard.terminal.size() {
        state.size = (size.width, size.height);
    }
    state.now = now_since(started);
    let first = update::init(&mut state);
    guard.terminal.draw(|f| view::render(f, &state))?;
    for cmd in first {
        worker.execute(cmd, &state).await;
    }

    let mut keyboard = EventStream::new();
    // One interval for the whole loop (not a sleep per turn), so a stream of keys or engine
    // lines cannot hold the spinner still; it is only polled while something spins.
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stops =
        crate::ui::signals::Stops::watch().context("cannot watch for SIGTERM and SIGHUP")?;
    while state.exit.is_none() {
        let ticking = state.needs_tick();
        let msg = tokio::select! {
            event = keyboard.next() => match event {
                Some(Ok(event)) => {
                    panic_for_tests(&event);
                    keys::from_event(&event, Mode::of(&state))
                }
                Some(Err(e)) => return Err(e).context("cannot read the keyboard"),
                None => Some(Msg::Terminate),
            },
            Some(msg) = rx.recv() => Some(msg),
            _ = ticker.tick(), if ticking => Some(Msg::Tick(now_since(started))),
            name = stops.recv() => {
                tracing::warn!("stopped by {name}");
                Some(Msg::Terminate)
            }
        };
        // A key that means nothing here changes nothing: no frame.
        let Some(msg) = msg else { continue };
        let mut queue = vec![msg];
        while queue.len() < DRAIN
            && let Ok(more) = rx.try_recv()
        {
            queue.push(more);
        }
        for msg in queue {
            for cmd in update::update(&mut state, msg) {
                worker.execute(cmd, &state).await;
            }
        }
        if state.exit.is_none() {
            guard.terminal.draw(|f| view::render(f, &state))?;
        }
    }
    if let Some(task) = worker.task.take() {
        stop(task).await;
    }
    drop(guard);
    Ok(state)
}

/// Debug builds only, and only with `KOPS_WIZARD_TEST_PANIC` set: F12 panics inside the loop,
/// so the end-to-end test can prove the panic hook restores the terminal. Release builds have
/// no such key.
fn panic_for_tests(event: &crossterm::event::Event) {
    #[cfg(debug_assertions)]
    if let crossterm::event::Event::Key(key) = event
        && key.code == crossterm::event::KeyCode::F(12)
        && std::env::var_os("KOPS_WIZARD_TEST_PANIC").is_some()
    {
        panic!("test panic inside the loop (KOPS_WIZARD_TEST_PANIC)");
    }
    #[cfg(not(debug_assertions))]
    let _ = event;
}

/// Dropping the engine's future stops it between two AWS calls and kills a running kops
/// (`kill_on_drop`); the journal already holds the intent of whatever was under way.
async fn stop(task: JoinHandle<()>) {
    task.abort();
    let _ = task.await;
    tracing::warn!("setup stopped by the user");
}

/// Does the work `update` asks for, off the loop: checks, the setup or teardown run, saving.
struct Worker {
    checker: Checker,
    /// The engine's future of the setup or teardown under way (or being prepared).
    task: Option<JoinHandle<()>>,
    /// The teardown the engine prepared, until it is started (or the wizard quits, which
    /// drops it and its lock).
    prepared: Arc<Mutex<Option<Prepared>>>,
    tx: UnboundedSender<Msg>,
    kops: Option<PathBuf>,
    started: Instant,
}

impl Worker {
    async fn execute(&mut self, cmd: Command, state: &State) {
        match cmd {
            Command::CheckIdentity { .. }
            | Command::CheckBucket { .. }
            | Command::CheckSsh { .. } => {
                self.checker.request(&cmd);
            }
            Command::CheckCluster => {
                let (answers, only) = (state.answers.clone(), state.only.clone());
                let state_dir = state.files.state_dir.clone();
                let tx = self.tx.clone();
                // Read-only, and its answer names what it was about: a stale one is ignored.
                tokio::spawn(async move {
                    let (_, join) =
                        crate::engine::team::join::setup_plan(&answers, &only, &state_dir).await;
                    let _ = tx.send(Msg::ClusterChecked {
                        bucket: answers.state_store.bucket.clone().unwrap_or_default(),
                        cluster: answers.cluster.name.clone(),
                        join,
                    });
                });
            }
            Command::StartRun => {
                self.stop().await;
                self.task = Some(self.spawn_setup(state));
            }
            Command::StopRun => self.stop().await,
            Command::PrepareTeardown(opts) => {
                self.stop().await;
                self.task = Some(self.spawn_prepare(state, opts));
            }
            Command::TeardownOptions(opts) => {
                let inventory = self.with_prepared(|p| {
                    p.set_options(opts);
                    p.inventory()
                });
                if let Some(inventory) = inventory {
                    let _ = self.tx.send(Msg::Prepared(Ok(inventory)));
                }
            }
            Command::StartTeardown => {
                let prepared = self.prepared.lock().ok().and_then(|mut p| p.take());
                match prepared {
                    Some(p) => self.task = Some(self.spawn_teardown(state, p)),
                    None => {
                        let _ = self.tx.send(Msg::TeardownEnded(Ended::Failed(
                            "the teardown was not prepared: nothing was deleted".into(),
                        )));
                    }
                }
            }
            Command::SaveAnswers { path, overwrite } => {
                let msg = if path.exists() && !overwrite {
                    Msg::SaveExists(path)
                } else {
                    Msg::Saved(save(&path, state).map(|()| path))
                };
                let _ = self.tx.send(msg);
            }
            Command::Exit => {}
        }
    }

    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            stop(task).await;
        }
    }

    fn with_prepared<T>(&self, f: impl FnOnce(&mut Prepared) -> T) -> Option<T> {
        let mut slot = self.prepared.lock().ok()?;
        slot.as_mut().map(f)
    }

    /// Engine events of a task, forwarded to the loop with the time they arrived.
    fn forward(&self) -> (Sink, JoinHandle<()>) {
        let (sink, mut events) = Sink::channel();
        let (tx, started) = (self.tx.clone(), self.started);
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = tx.send(Msg::Engine(event, now_since(started)));
            }
        });
        (sink, forward)
    }

    fn spawn_prepare(&self, state: &State, opts: TeardownOptions) -> JoinHandle<()> {
        let answers = state.answers.clone();
        let state_dir = state.files.state_dir.clone();
        let (kops, tx, slot) = (self.kops.clone(), self.tx.clone(), self.prepared.clone());
        let (sink, forward) = self.forward();
        tokio::spawn(async move {
            let request = crate::engine::teardown::Request {
                answers: &answers,
                state_dir: &state_dir,
                kops: kops.as_deref(),
                opts,
                dry_run: false,
            };
            let result = crate::engine::teardown::prepare(request, &sink).await;
            drop(sink);
            let _ = forward.await;
            let msg = match result {
                Ok(prepared) => {
                    let inventory = prepared.inventory();
                    if let Ok(mut slot) = slot.lock() {
                        *slot = Some(prepared);
                    }
                    Ok(inventory)
                }
                Err(e) => {
                    tracing::error!("teardown not prepared: {e:#}");
                    Err(e.to_string())
                }
            };
            let _ = tx.send(Msg::Prepared(msg));
        })
    }

    fn spawn_teardown(&self, state: &State, prepared: Prepared) -> JoinHandle<()> {
        let answers = state.answers.clone();
        let tx = self.tx.clone();
        let (sink, forward) = self.forward();
        tokio::spawn(async move {
            let result = crate::engine::teardown::execute(prepared, &answers, &sink).await;
            drop(sink);
            let _ = forward.await;
            let ended = match result {
                // What was refused is still there too, and ends the run the same way (exit 1).
                Ok(outcome) => Ended::Checked(
                    outcome
                        .leftovers
                        .into_iter()
                        .chain(outcome.refused.into_iter().map(|r| format!("refused: {r}")))
                        .collect(),
                    outcome.kept_volumes,
                ),
                Err(e) => {
                    tracing::error!("teardown stopped: {e:#}");
                    Ended::Failed(e.to_string())
                }
            };
            let _ = tx.send(Msg::TeardownEnded(ended));
        })
    }
}

fn save(path: &std::path::Path, state: &State) -> Result<(), String> {
    crate::answers::save(&state.answers, path)
}

impl Worker {
    fn spawn_setup(&self, state: &State) -> JoinHandle<()> {
        let answers = state.answers.clone();
        let plan = state.plan();
        let plan_smokes = plan.steps.iter().any(|s| s.id == StepId::Setup(SetupStep::SmokeTest));
        let state_dir = state.files.state_dir.clone();
        let (kops, tx) = (self.kops.clone(), self.tx.clone());
        let claim = state.claim;
        let (sink, forward) = self.forward();
        tokio::spawn(async move {
            let request = setup::Request {
                answers: &answers,
                plan: &plan,
                state_dir: &state_dir,
                kops: kops.as_deref(),
                claim,
            };
            let result = setup::setup(request, &sink).await;
            drop(sink);
            let _ = forward.await;
            let ended = result
                .map(|journal| Finished {
                    journal: journal.path().to_path_buf(),
                    state_store: journal.state_store.clone(),
                    smoke: plan_smokes.then(|| journal.last_smoke_test.clone()).flatten(),
                })
                .map_err(|e| {
                    tracing::error!("setup stopped: {e:#}");
                    e.to_string()
                });
            let _ = tx.send(Msg::RunEnded(ended));
        })
    }
}

/// The exit code and the plain lines printed on the normal screen once the wizard is gone.
pub fn summary(state: &State) -> Outcome {
    if let Some(t) = &state.teardown {
        return teardown_summary(state, t);
    }
    let log = state.files.log.display();
    let mut text = String::new();
    let finished: Vec<&str> = state
        .run
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Finished { .. }))
        .map(|s| s.id.short())
        .collect();
    let code = match state.exit {
        Some(Exit::DryRun) => {
            let ctx = script::Context {
                answers: &state.answers,
                source: &state.source,
                report: &state.report,
            };
            text.push_str(&script::render(&state.plan(), &ctx));
            0
        }
        _ if state.finished.is_some() => {
            text.push_str(&format!(
                "setup done: cluster {} is validated.\n",
                state.answers.cluster.name
            ));
            if !finished.is_empty() {
                text.push_str(&format!("Steps: {}\n", finished.join(", ")));
            }
            if let Some(join) = state.join_words() {
                text.push_str(&format!("{join}\n"));
            }
            for line in view::smoke_words(state) {
                text.push_str(&format!("{line}\n"));
            }
            text.push_str("Use the cluster:\n");
            for line in view::done_usage(state) {
                text.push_str(&format!("  {line}\n"));
            }
            if let Some(f) = &state.finished {
                text.push_str(&format!("Journal: {}\n", f.journal.display()));
            }
            text.push_str(&format!("Log: {log}\n"));
            0
        }
        _ if state.run.attempts > 0 => {
            text.push_str("kops-wizard stopped before setup was done.\n");
            if !finished.is_empty() {
                text.push_str(&format!("Finished steps: {}\n", finished.join(", ")));
            }
            if let Some(e) = &state.run.error {
                text.push_str(&format!("Last error: {}\n", e.lines().next().unwrap_or_default()));
            }
            text.push_str("Run `kops-wizard` again to resume: the journal keeps what is done.\n");
            if let Some(store) = state.answers.state_store_url() {
                text.push_str(&format!("  export KOPS_STATE_STORE={store}\n"));
            }
            text.push_str(&format!("Log: {log}\n"));
            if state.run.error.is_some() { crate::exit::FAILED } else { crate::exit::INTERRUPTED }
        }
        _ => {
            text.push_str("kops-wizard quit before changing anything.\n");
            if state.unsaved {
                text.push_str("The answers given were not saved.\n");
            }
            crate::exit::INTERRUPTED
        }
    };
    Outcome { code, summary: text }
}

/// The plain lines after a teardown, and its exit code: 0 when the final check found nothing,
/// 1 when something is left or a step failed, 130 when the user quit.
fn teardown_summary(state: &State, t: &super::teardown::Teardown) -> Outcome {
    let cluster = &state.answers.cluster.name;
    let log = state.files.log.display();
    let mut text = String::new();
    let code = match &t.ended {
        Some(Ended::Checked(left, _)) if left.is_empty() => {
            text.push_str(&format!(
                "teardown done: nothing left that the wizard created for cluster {cluster}.\n"
            ));
            0
        }
        Some(Ended::Checked(left, _)) => {
            text.push_str("teardown finished, but these are still there:\n");
            for l in left {
                text.push_str(&format!("  - {l}\n"));
            }
            crate::exit::FAILED
        }
        Some(Ended::Failed(error)) => {
            text.push_str(&format!("teardown of cluster {cluster} stopped:\n{error}\n"));
            let left = t.still_there();
            if !left.is_empty() {
                text.push_str("Still there:\n");
                for l in left {
                    text.push_str(&format!("  - {l}\n"));
                }
            }
            text.push_str("Run `kops-wizard teardown` again to continue.\n");
            crate::exit::FAILED
        }
        None if t.rows.is_empty() => match &t.inventory {
            Some(Err(e)) => {
                text.push_str(&format!("teardown cannot start: {e}\nNothing was deleted.\n"));
                crate::exit::FAILED
            }
            Some(Ok(inventory)) if inventory.is_empty() => {
                text.push_str(&format!(
                    "Nothing to delete: the journal records nothing the wizard created for \
                     {cluster} that is still there.\n"
                ));
                0
            }
            _ => {
                text.push_str("kops-wizard quit before deleting anything.\n");
                crate::exit::INTERRUPTED
            }
        },
        None => {
            text.push_str(
                "kops-wizard stopped the teardown: kops was stopped and the journal keeps what \
                 is deleted.\nRun `kops-wizard teardown` again to continue.\n",
            );
            crate::exit::INTERRUPTED
        }
    };
    if let Some(Ended::Checked(_, kept)) = &t.ended
        && !kept.is_empty()
    {
        text.push_str("Kept (they may hold data; --delete-volumes deletes them):\n");
        for k in kept {
            text.push_str(&format!("  - {k}\n"));
        }
    }
    if let Some(Ok(inventory)) = &t.inventory {
        text.push_str(&format!("Journal: {}\n", inventory.journal.display()));
    }
    text.push_str(&format!("Log: {log}\n"));
    Outcome { code, summary: text }
}
