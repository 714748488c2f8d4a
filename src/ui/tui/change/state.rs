//! The state of `change` in full screen, changed only by [`update`]: the plan (the same words
//! the line mode prints), then the roll's board as the engine reports it, then the end.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::engine::change::{Progress, Summary};
use crate::engine::cluster::roll::Board;

/// How many of kops's last lines the log pane keeps.
pub const LOG_LINES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The plan, with the question: apply it?
    Plan,
    /// The change runs: its calls, then the roll's board.
    Running,
    /// How it ended: `Ok` with the summary's words, `Err` with the error's.
    Done(Result<String, String>),
}

#[derive(Debug, Clone)]
pub struct State {
    pub cluster: String,
    /// The plan in words (ui/change.rs `describe`: the line mode prints the same).
    pub plan_text: String,
    pub page: Page,
    /// The kops call running now.
    pub call: Option<String>,
    /// Calls done of all.
    pub calls_done: usize,
    pub calls_total: usize,
    pub board: Option<Board>,
    pub log: VecDeque<String>,
    /// The NLB's tally during the change, when the smoke test had passed before.
    pub probe: Option<crate::engine::cluster::probe::Seen>,
    pub started: Option<Instant>,
    pub now: Instant,
    /// Lines the plan page is scrolled down by.
    pub scroll: u16,
    pub quit: bool,
    /// `true` once the user said apply: the front end starts the engine then.
    pub apply: bool,
    pub color: bool,
}

/// What the loop hands to [`update`].
#[derive(Debug)]
pub enum Msg {
    Apply,
    Quit,
    Up,
    Down,
    Progress(Progress),
    Finished(Result<Summary, String>),
    Tick(Instant),
}

impl State {
    pub fn new(cluster: &str, plan_text: String, calls_total: usize, now: Instant) -> State {
        State {
            cluster: cluster.to_string(),
            plan_text,
            page: Page::Plan,
            call: None,
            calls_done: 0,
            calls_total,
            board: None,
            log: VecDeque::new(),
            probe: None,
            started: None,
            now,
            scroll: 0,
            quit: false,
            apply: false,
            color: true,
        }
    }

    /// A clock on screen moves only while the change runs: only then does the loop tick.
    pub fn needs_tick(&self) -> bool {
        self.page == Page::Running
    }

    pub fn elapsed(&self) -> Duration {
        self.started.map(|s| self.now.saturating_duration_since(s)).unwrap_or_default()
    }
}

/// Applies one message. Returns whether the screen changed (a frame is drawn only then).
pub fn update(s: &mut State, msg: Msg) -> bool {
    match (msg, &s.page) {
        (Msg::Apply, Page::Plan) => {
            s.page = Page::Running;
            s.apply = true;
            s.started = Some(s.now);
        }
        (Msg::Quit, Page::Plan | Page::Done(_)) => s.quit = true,
        // While it runs, a quit is not a key away: the change stops only with Ctrl-C (the
        // engine's future is dropped between calls, and a rerun resumes).
        (Msg::Quit, Page::Running) => return false,
        (Msg::Up, Page::Plan) => s.scroll = s.scroll.saturating_sub(1),
        (Msg::Down, Page::Plan) => s.scroll = s.scroll.saturating_add(1),
        (Msg::Progress(p), _) => match p {
            Progress::Call(args) => {
                if s.call.is_some() {
                    s.calls_done += 1;
                }
                s.call = Some(format!("kops {}", args.join(" ")));
            }
            Progress::Step(words) => {
                if s.call.is_some() {
                    s.calls_done += 1;
                }
                s.call = Some(words);
            }
            Progress::Line(line) => {
                if s.log.len() == LOG_LINES {
                    s.log.pop_front();
                }
                s.log.push_back(line);
            }
            Progress::Board(board) => s.board = Some(*board),
            Progress::Probe(seen) => s.probe = Some(seen),
        },
        (Msg::Finished(result), _) => {
            s.calls_done = if result.is_ok() { s.calls_total } else { s.calls_done };
            s.call = None;
            s.page = Page::Done(result.map(|summary| {
                let mut words =
                    format!("Done in {}.", crate::rules::format_duration(summary.elapsed));
                if summary.replaced > 0 {
                    words.push_str(&format!(" {} instance(s) replaced.", summary.replaced));
                }
                if let Some(seen) = &summary.probe {
                    words.push_str(&format!(" {}.", seen.words()));
                }
                if !summary.untainted.is_empty() {
                    words.push_str(&format!(
                        " kops's roll taint, left by an earlier roll, taken off {}.",
                        summary.untainted.join(", ")
                    ));
                }
                if !summary.left.is_empty() {
                    words.push_str(&format!(
                        " Still marked for update (run `change` again): {}.",
                        summary.left.join(", ")
                    ));
                }
                words
            }));
        }
        (Msg::Tick(now), Page::Running) => s.now = now,
        _ => return false,
    }
    true
}
