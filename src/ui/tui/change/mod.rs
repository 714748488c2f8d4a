//! `change` in full screen: the plan (the line mode's words), Enter to apply, then the roll's
//! dashboard fed by the engine's progress, then the end. One task owns the terminal and waits
//! in one `select!` for a key, a message of the engine or (only while the change runs, for the
//! clocks) a one-second tick; a frame is drawn only after a change.

pub mod state;
pub mod view;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use self::state::{Msg, Page, State, update};
use super::terminal::Guard;
use crate::answers::Answers;
use crate::engine::change::{self, ChangePlan};
use crate::engine::cluster::kops::Kops;
use crate::engine::events::Sink;

const TICK: Duration = Duration::from_secs(1);

/// What the loop needs to run the change once the user says so.
pub struct Run {
    pub answers: Answers,
    pub plan: ChangePlan,
    pub plan_text: String,
    pub kops: Kops,
    pub state_dir: std::path::PathBuf,
    pub log: std::path::PathBuf,
    pub undo: bool,
}

/// Runs the screen; returns the exit code (0 done, 1 failed or quit before applying, 130
/// interrupted) and the words for standard output afterwards.
pub fn run(r: Run) -> anyhow::Result<(u8, String)> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(event_loop(r))
}

fn key(event: &Event, page: &Page) -> Option<Msg> {
    let Event::Key(k) = event else {
        return match event {
            // A resize redraws (the next frame takes the new size).
            Event::Resize(..) => Some(Msg::Tick(Instant::now())),
            _ => None,
        };
    };
    if k.kind == KeyEventKind::Release {
        return None;
    }
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Some(Msg::Quit);
    }
    match (k.code, page) {
        (KeyCode::Enter | KeyCode::Char('y'), Page::Plan) => Some(Msg::Apply),
        (KeyCode::Char('q') | KeyCode::Esc, _) => Some(Msg::Quit),
        (KeyCode::Up | KeyCode::Char('k'), _) => Some(Msg::Up),
        (KeyCode::Down | KeyCode::Char('j'), _) => Some(Msg::Down),
        _ => None,
    }
}

async fn event_loop(r: Run) -> anyhow::Result<(u8, String)> {
    let mut guard = Guard::enter(&r.log).context("cannot set up the terminal")?;
    let mut s = State::new(
        &r.answers.cluster.name,
        r.plan_text.clone(),
        r.plan.calls.len(),
        Instant::now(),
    );
    s.color = super::run::colors_wanted();
    guard.terminal.draw(|f| view::render(f, &s))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut keyboard = EventStream::new();
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stops =
        crate::ui::signals::Stops::watch().context("cannot watch for SIGTERM and SIGHUP")?;
    let mut task: Option<tokio::task::JoinHandle<()>> = None;
    let mut interrupted = false;
    while !s.quit {
        let msg = tokio::select! {
            event = keyboard.next() => match event {
                Some(Ok(event)) => {
                    let ctrl_c = matches!(&event, Event::Key(k)
                        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c'));
                    if ctrl_c && s.page == Page::Running {
                        interrupted = true;
                        break;
                    }
                    key(&event, &s.page)
                }
                Some(Err(e)) => return Err(e).context("cannot read the keyboard"),
                None => Some(Msg::Quit),
            },
            Some(msg) = rx.recv() => Some(msg),
            _ = ticker.tick(), if s.needs_tick() => Some(Msg::Tick(Instant::now())),
            name = stops.recv() => {
                tracing::warn!("stopped by {name}");
                interrupted = s.page == Page::Running;
                break;
            }
        };
        let Some(msg) = msg else { continue };
        if let Msg::Tick(now) = msg {
            s.now = now;
        }
        let mut changed = update(&mut s, msg);
        while let Ok(more) = rx.try_recv() {
            changed |= update(&mut s, more);
        }
        if s.apply && task.is_none() {
            task = Some(start(&r, tx.clone()));
        }
        if changed && !s.quit {
            guard.terminal.draw(|f| view::render(f, &s))?;
        }
    }
    if let Some(task) = task.take()
        && interrupted
    {
        // Dropping the engine's future kills a running kops; the record says "started".
        task.abort();
        let _ = task.await;
    }
    drop(guard);
    Ok(match (&s.page, interrupted) {
        (_, true) => (
            crate::exit::INTERRUPTED,
            "change interrupted: run `kops-wizard change` again to resume it.".into(),
        ),
        (Page::Done(Ok(words)), _) => (0, format!("change of {}: {words}", s.cluster)),
        (Page::Done(Err(why)), _) => (crate::exit::FAILED, format!("change stopped: {why}")),
        _ => (crate::exit::FAILED, "Nothing was changed.".into()),
    })
}

/// Starts the engine on the plan the user saw; its progress and its end come back as messages.
fn start(r: &Run, tx: mpsc::UnboundedSender<Msg>) -> tokio::task::JoinHandle<()> {
    let (answers, plan, kops) = (r.answers.clone(), r.plan.clone(), r.kops.clone());
    let (state_dir, undo) = (r.state_dir.clone(), r.undo);
    tokio::spawn(async move {
        // The engine's notes (the admin identity, the lock) go to the log, not the screen.
        let (sink, mut events) = Sink::channel();
        let notes = tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                tracing::info!("{e:?}");
            }
        });
        let progress = tx.clone();
        let mut on = move |p| {
            let _ = progress.send(Msg::Progress(p));
        };
        let request = change::Request {
            answers: &answers,
            plan: &plan,
            kops: &kops,
            state_dir: &state_dir,
            undo,
        };
        let result = change::run(request, &sink, &mut on).await.map_err(|e| format!("{e:#}"));
        drop(sink);
        let _ = notes.await;
        let _ = tx.send(Msg::Finished(result));
    })
}
