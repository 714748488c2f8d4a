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
use super::terminal::Guard;
use super::update::{self, Command, Msg};
use super::view;
use crate::engine::events::Sink;
use crate::engine::setup;
use crate::journal::Journal;
use crate::plan::script;

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
pub use crate::ui::review::resume_note;

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
    use std::io::Write as _;
    let (answers, source) =
        crate::answers::load(global.config.as_deref(), paths.default_config.as_deref())?;
    let _log = crate::logging::init(&paths.log_file())?;
    let journal = Journal::load(&Journal::path_for(&paths.state_dir, &answers.cluster.name))
        .unwrap_or_else(|e| {
            tracing::warn!("cannot read the journal: {e}");
            None
        });
    let start = Start {
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
        color: colors_wanted(),
        size: (80, 24),
    };
    let outcome = run(start, global.kops.clone())?;
    io::stdout().write_all(outcome.summary.as_bytes())?;
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
    let mut checker = Checker::new(tx.clone());
    let mut state = State::new(start);
    if let Ok(size) = guard.terminal.size() {
        state.size = (size.width, size.height);
    }
    state.now = now_since(started);
    let mut run_task: Option<JoinHandle<()>> = None;
    let first = update::init(&mut state);
    guard.terminal.draw(|f| view::render(f, &state))?;
    for cmd in first {
        execute(cmd, &state, &mut checker, &mut run_task, &tx, kops.as_deref(), started).await;
    }

    let mut keyboard = EventStream::new();
    // One interval for the whole loop (not a sleep per turn), so a stream of keys or engine
    // lines cannot hold the spinner still; it is only polled while something spins.
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
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
            _ = sigterm.recv() => Some(Msg::Terminate),
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
                execute(cmd, &state, &mut checker, &mut run_task, &tx, kops.as_deref(), started)
                    .await;
            }
        }
        if state.exit.is_none() {
            guard.terminal.draw(|f| view::render(f, &state))?;
        }
    }
    if let Some(task) = run_task.take() {
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

async fn execute(
    cmd: Command,
    state: &State,
    checker: &mut Checker,
    run_task: &mut Option<JoinHandle<()>>,
    tx: &UnboundedSender<Msg>,
    kops: Option<&std::path::Path>,
    started: Instant,
) {
    match cmd {
        Command::CheckIdentity { .. } | Command::CheckBucket { .. } | Command::CheckSsh { .. } => {
            checker.request(&cmd);
        }
        Command::StartRun => {
            if let Some(task) = run_task.take() {
                stop(task).await;
            }
            *run_task = Some(spawn_setup(state, kops.map(PathBuf::from), tx.clone(), started));
        }
        Command::StopRun => {
            if let Some(task) = run_task.take() {
                stop(task).await;
            }
        }
        Command::SaveAnswers { path, overwrite } => {
            let msg = if path.exists() && !overwrite {
                Msg::SaveExists(path)
            } else {
                Msg::Saved(save(&path, state).map(|()| path))
            };
            let _ = tx.send(msg);
        }
        Command::Exit => {}
    }
}

fn save(path: &std::path::Path, state: &State) -> Result<(), String> {
    crate::answers::save(&state.answers, path)
}

fn spawn_setup(
    state: &State,
    kops: Option<PathBuf>,
    tx: UnboundedSender<Msg>,
    started: Instant,
) -> JoinHandle<()> {
    let answers = state.answers.clone();
    let plan = state.plan();
    let state_dir = state.files.state_dir.clone();
    tokio::spawn(async move {
        let (sink, mut events) = Sink::channel();
        let forward_tx = tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let _ = forward_tx.send(Msg::Engine(event, now_since(started)));
            }
        });
        let request = setup::Request {
            answers: &answers,
            plan: &plan,
            state_dir: &state_dir,
            kops: kops.as_deref(),
        };
        let result = setup::setup(request, &sink).await;
        drop(sink);
        let _ = forward.await;
        let ended = result
            .map(|journal| Finished {
                journal: journal.path().to_path_buf(),
                state_store: journal.state_store.clone(),
            })
            .map_err(|e| {
                tracing::error!("setup stopped: {e:#}");
                e.to_string()
            });
        let _ = tx.send(Msg::RunEnded(ended));
    })
}

/// The exit code and the plain lines printed on the normal screen once the wizard is gone.
pub fn summary(state: &State) -> Outcome {
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
