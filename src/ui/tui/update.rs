//! `update(&mut State, Msg) -> Vec<Command>`: every change to the wizard's state, and the work
//! it asks the loop to do. No I/O, no clock: time comes in messages, so every path is
//! unit-tested.

use std::path::PathBuf;

use tui_input::InputRequest;

use super::state::Offer;
use super::state::{
    CheckResult, CheckState, Dashboard, Exit, Finished, JoinFound, Now, Overlay, Page, RunStep,
    State, StepStatus,
};
use super::teardown::{Ended, Teardown};
use crate::engine::events::Event;
use crate::engine::teardown::Inventory;
use crate::plan::{SetupStep, TeardownOptions, script};
use crate::questions::{self, Check, Kind, Question, Step};

/// What happened: a key (already mapped by `keys`), an engine event, a check's answer, time.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A readline edit of the focused text field.
    Edit(InputRequest),
    Paste(String),
    NextField,
    PrevField,
    Enter,
    Back,
    ChoicePrev,
    ChoiceNext,
    /// Space: flip a toggle, pick the highlighted value of a multi-choice.
    Toggle,
    /// PgUp / PgDn: the log pane (or the script when it is open), by lines.
    Scroll(i32),
    Help,
    /// `q` / Ctrl-C.
    Quit,
    /// `y` / `n` to the question in front.
    Answer(bool),
    ShowScript,
    Save,
    /// `r`: retry a failed run, or check the credentials again.
    Retry,
    /// `c` on Review: the record names no machine for the cluster, and this one set it up.
    Claim,
    /// Esc on an overlay.
    Close,
    Resize(u16, u16),
    Tick(Now),
    Engine(Event, Now),
    /// The engine's future ended: the journal's path and state store, or why it stopped.
    RunEnded(Result<Finished, String>),
    Checked {
        id: u64,
        result: CheckResult,
    },
    /// The state store's answer for these answers' bucket and cluster: a join, or none.
    ClusterChecked {
        bucket: String,
        cluster: String,
        join: Option<crate::engine::team::join::Join>,
    },
    /// The answers file exists and overwriting was not confirmed yet.
    SaveExists(PathBuf),
    Saved(Result<PathBuf, String>),
    /// SIGTERM: stop like a confirmed quit.
    Terminate,
    /// The engine prepared (or replanned) the teardown: what it will delete, or why not.
    Prepared(Result<Inventory, String>),
    /// Teardown's future ended.
    TeardownEnded(Ended),
}

pub use super::command::Command;

/// The checks the wizard asks for as it opens, so the first frame never waits for them.
pub fn init(state: &mut State) -> Vec<Command> {
    let mut cmds = Vec::new();
    if let Some(t) = &state.teardown {
        // Teardown asks nothing of the setup fields: who the admin is, for the header.
        cmds.push(Command::PrepareTeardown(t.opts));
        cmds.extend(request_check(state, Check::Identity));
        return cmds;
    }
    for check in [Check::Identity, Check::BucketAvailability, Check::SshKeyFiles] {
        cmds.extend(request_check(state, check));
    }
    cmds
}

pub fn update(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Tick(now) => {
            state.now = now;
            Vec::new()
        }
        Msg::Resize(w, h) => {
            state.size = (w, h);
            Vec::new()
        }
        Msg::Engine(event, now) => {
            state.now = now;
            engine_event(state, event);
            Vec::new()
        }
        Msg::RunEnded(result) => {
            state.run.running = false;
            match result {
                Ok(finished) => {
                    state.finished = Some(finished);
                    state.page = Page::Done;
                    if state.overlay == Some(Overlay::Quit) {
                        state.overlay = None;
                    }
                }
                // The failed step's own message (already here) is the more precise one.
                Err(error) => {
                    state.run.error.get_or_insert(error);
                }
            }
            Vec::new()
        }
        Msg::Checked { id, result } => checked(state, id, result),
        Msg::ClusterChecked { bucket, cluster, join } => {
            state.join = join.map(|join| JoinFound { bucket, cluster, join });
            Vec::new()
        }
        Msg::SaveExists(path) => {
            state.overlay = Some(Overlay::Overwrite(path));
            Vec::new()
        }
        Msg::Saved(result) => {
            state.status = Some(match result {
                Ok(path) => {
                    state.unsaved = false;
                    let text = format!("answers saved to {}", path.display());
                    // From now on the answers are that file's (Review says so; a rerun uses it).
                    state.source = crate::answers::Source::File(path);
                    text
                }
                Err(e) => format!("could not save the answers: {e}"),
            });
            Vec::new()
        }
        Msg::Terminate => stop_and_exit(state),
        Msg::Prepared(inventory) => {
            if let Some(t) = &mut state.teardown {
                if let Err(e) = &inventory {
                    state
                        .log
                        .push(format!("[✘] teardown: {}", e.lines().next().unwrap_or_default()));
                }
                t.prepared(inventory);
            }
            Vec::new()
        }
        Msg::TeardownEnded(ended) => {
            if let Some(t) = &mut state.teardown {
                t.ended(ended, state.now.ms);
            }
            state.page = Page::Result;
            if state.overlay == Some(Overlay::Quit) {
                state.overlay = None;
            }
            Vec::new()
        }
        msg => match state.overlay.clone() {
            Some(overlay) => overlay_key(state, overlay, msg),
            None => page_key(state, msg),
        },
    }
}

fn stop_and_exit(state: &mut State) -> Vec<Command> {
    state.exit = Some(Exit::Quit);
    let mut cmds = Vec::new();
    if state.run.running || state.teardown_running() {
        cmds.push(Command::StopRun);
    }
    cmds.push(Command::Exit);
    cmds
}

fn overlay_key(state: &mut State, overlay: Overlay, msg: Msg) -> Vec<Command> {
    match (overlay, msg) {
        (Overlay::Quit, Msg::Answer(true)) => stop_and_exit(state),
        (Overlay::Quit, Msg::Answer(false) | Msg::Close) => {
            state.overlay = None;
            Vec::new()
        }
        (Overlay::Overwrite(path), Msg::Answer(true)) => {
            state.overlay = None;
            vec![Command::SaveAnswers { path, overwrite: true }]
        }
        (Overlay::Overwrite(_), Msg::Answer(false) | Msg::Close) => {
            state.overlay = None;
            state.status = Some("not saved: the file was kept as it is".into());
            Vec::new()
        }
        (Overlay::Help, Msg::Close | Msg::Help) => {
            state.overlay = None;
            Vec::new()
        }
        (Overlay::Script { lines, scroll }, msg) => {
            let page = i64::from(state.size.1.saturating_sub(8).max(1));
            let by = match msg {
                Msg::Close | Msg::ShowScript => {
                    state.overlay = None;
                    return Vec::new();
                }
                Msg::Quit => return ask_quit(state),
                Msg::NextField | Msg::ChoiceNext => 1,
                Msg::PrevField | Msg::ChoicePrev => -1,
                Msg::Scroll(n) => i64::from(n) * page / 5,
                _ => 0,
            };
            let max = lines.len().saturating_sub(1);
            let scroll = (scroll as i64 + by).clamp(0, max as i64) as usize;
            state.overlay = Some(Overlay::Script { lines, scroll });
            Vec::new()
        }
        (_, Msg::Quit) => ask_quit(state),
        _ => Vec::new(),
    }
}

fn ask_quit(state: &mut State) -> Vec<Command> {
    if state.quit_needs_asking() {
        state.overlay = Some(Overlay::Quit);
        Vec::new()
    } else {
        stop_and_exit(state)
    }
}

fn page_key(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Quit => return ask_quit(state),
        Msg::Help => {
            state.overlay = Some(Overlay::Help);
            return Vec::new();
        }
        // PgDn (negative: the log's "down" is towards newer lines) moves the inventory down.
        Msg::Scroll(n) if state.page == Page::Inventory => {
            if let Some(t) = &mut state.teardown {
                let max = t.line_count() as i64;
                t.scroll = (t.scroll as i64 - i64::from(n)).clamp(0, max) as usize;
            }
            return Vec::new();
        }
        Msg::Scroll(n) => {
            let max = state.log.len().saturating_sub(1);
            state.log_scroll =
                (state.log_scroll as i64 + i64::from(n)).clamp(0, max as i64) as usize;
            return Vec::new();
        }
        Msg::Save if matches!(state.page, Page::Step(_) | Page::Review) => return save(state),
        _ => {}
    }
    match state.page {
        Page::Existing => existing_key(state, msg),
        Page::Inventory => inventory_key(state, msg),
        // Deleting cannot be paused halfway from here; quitting (asked) stops it.
        Page::Deleting => Vec::new(),
        Page::Result => match msg {
            Msg::Enter => {
                state.exit = Some(Exit::Done);
                vec![Command::Exit]
            }
            _ => Vec::new(),
        },
        Page::Step(step) => question_key(state, step, msg),
        Page::Review => review_key(state, msg),
        Page::Run => run_key(state, msg),
        Page::Done => match msg {
            Msg::Enter | Msg::Back => {
                state.exit = Some(Exit::Done);
                vec![Command::Exit]
            }
            _ => Vec::new(),
        },
    }
}

/// The offer for a cluster the journal shows set up: ↑/↓ pick, Enter takes it.
fn existing_key(state: &mut State, msg: Msg) -> Vec<Command> {
    let n = Offer::ALL.len();
    match msg {
        Msg::NextField | Msg::ChoiceNext => state.offer = (state.offer + 1) % n,
        Msg::PrevField | Msg::ChoicePrev => state.offer = (state.offer + n - 1) % n,
        Msg::Enter => match Offer::ALL[state.offer.min(n - 1)] {
            Offer::Revalidate => {
                state.only = vec![SetupStep::Validate];
                return start_run(state);
            }
            Offer::Teardown => {
                let t = Teardown::new(TeardownOptions::default());
                let opts = t.opts;
                state.teardown = Some(t);
                go_to(state, Page::Inventory);
                return vec![Command::PrepareTeardown(opts)];
            }
            Offer::StartOver => go_to(state, Page::Step(Step::Credentials)),
        },
        _ => {}
    }
    Vec::new()
}

fn inventory_key(state: &mut State, msg: Msg) -> Vec<Command> {
    let from_offer = state.existing.is_some();
    let Some(t) = &mut state.teardown else { return Vec::new() };
    match msg {
        Msg::Edit(req) => t.edit(req),
        Msg::Paste(text) => {
            for c in text.chars().filter(|c| !c.is_control()) {
                t.edit(InputRequest::InsertChar(c));
            }
        }
        Msg::NextField => t.move_focus(1),
        Msg::PrevField => t.move_focus(-1),
        Msg::Toggle => return t.toggle(),
        Msg::Enter => {
            let cmds = t.confirm();
            if cmds.contains(&Command::StartTeardown) {
                go_to(state, Page::Deleting);
            }
            return cmds;
        }
        Msg::Back if from_offer => {
            state.teardown = None;
            go_to(state, Page::Existing);
        }
        _ => {}
    }
    Vec::new()
}

fn save(state: &mut State) -> Vec<Command> {
    match state.files.answers.clone() {
        Some(path) => vec![Command::SaveAnswers { path, overwrite: false }],
        None => {
            state.status = Some("no answers file to save to: pass --config FILE".into());
            Vec::new()
        }
    }
}

fn go_to(state: &mut State, page: Page) {
    state.page = page;
    state.focus = 0;
    state.sub = 0;
    state.status = None;
}

fn question_key(state: &mut State, step: Step, msg: Msg) -> Vec<Command> {
    let questions = state.step_questions();
    let Some(q) = questions.get(state.focus).copied() else {
        return Vec::new();
    };
    match msg {
        Msg::NextField => {
            move_focus(state, questions.len(), 1);
            Vec::new()
        }
        Msg::PrevField => {
            move_focus(state, questions.len(), -1);
            Vec::new()
        }
        Msg::Back => {
            if let Some(prev) = state.step_beside(step, -1) {
                go_to(state, Page::Step(prev));
            }
            Vec::new()
        }
        Msg::Enter => {
            if state.error_of(q).is_some() {
                // The rule's message is already on screen next to the field: stay.
                return Vec::new();
            }
            if state.focus + 1 < questions.len() {
                move_focus(state, questions.len(), 1);
                return Vec::new();
            }
            match questions.iter().position(|q| state.error_of(q).is_some()) {
                Some(bad) => {
                    state.focus = bad;
                    state.sub = 0;
                }
                None => match state.step_beside(step, 1) {
                    Some(next) => go_to(state, Page::Step(next)),
                    None => {
                        go_to(state, Page::Review);
                        return vec![Command::CheckCluster];
                    }
                },
            }
            Vec::new()
        }
        Msg::Edit(req) if q.is_typed() => {
            let Some(input) = state.inputs.get_mut(q.key) else {
                return Vec::new();
            };
            let before = input.value().to_string();
            input.handle(req);
            if input.value() == before {
                return Vec::new();
            }
            let value = input.value().to_string();
            set_value(state, q, &value)
        }
        Msg::Paste(text) if q.is_typed() => {
            let Some(input) = state.inputs.get_mut(q.key) else {
                return Vec::new();
            };
            // One line only: a pasted newline must not become part of a name.
            for c in text.chars().filter(|c| !c.is_control()) {
                input.handle(InputRequest::InsertChar(c));
            }
            let value = input.value().to_string();
            set_value(state, q, &value)
        }
        // Ctrl-N / Ctrl-P in the key path: the next usable key found in ~/.ssh.
        Msg::ChoiceNext | Msg::ChoicePrev if q.key == "ssh.public_key" => {
            let usable: Vec<String> =
                state.ssh_keys.iter().filter(|k| k.usable).map(|k| k.path.clone()).collect();
            if usable.is_empty() {
                return Vec::new();
            }
            let n = usable.len() as i64;
            let at = usable.iter().position(|p| *p == state.answers.ssh.public_key);
            let next = match (at, &msg) {
                (None, _) => 0,
                (Some(i), Msg::ChoicePrev) => (i as i64 - 1).rem_euclid(n),
                (Some(i), _) => (i as i64 + 1).rem_euclid(n),
            };
            let path = usable[next as usize].clone();
            state.inputs.insert(q.key, tui_input::Input::new(path.clone()));
            set_value(state, q, &path)
        }
        Msg::ChoiceNext | Msg::ChoicePrev | Msg::Toggle => choose(state, q, msg),
        Msg::Retry if q.check == Check::Identity => request_check(state, Check::Identity),
        _ => Vec::new(),
    }
}

fn move_focus(state: &mut State, len: usize, by: i64) {
    if len == 0 {
        return;
    }
    let len = len as i64;
    state.focus = ((state.focus as i64 + by).rem_euclid(len)) as usize;
    state.sub = 0;
}

/// Left / Right / Space on a question that is picked, not typed.
fn choose(state: &mut State, q: &'static Question, msg: Msg) -> Vec<Command> {
    let value = match q.kind {
        Kind::Toggle => {
            let on = q.get(&state.answers) == "true";
            (!on).to_string()
        }
        Kind::Choice(_) => {
            let choices = q.choices(&state.answers, &state.ctx);
            let selectable: Vec<&str> =
                choices.iter().filter(|c| c.disabled.is_none()).map(|c| c.value.as_str()).collect();
            if selectable.is_empty() {
                return Vec::new();
            }
            let current = q.get(&state.answers);
            let at = selectable.iter().position(|v| *v == current);
            let n = selectable.len() as i64;
            let next = match (at, &msg) {
                (None, _) => 0,
                (Some(i), Msg::ChoicePrev) => (i as i64 - 1).rem_euclid(n),
                (Some(i), _) => (i as i64 + 1).rem_euclid(n),
            };
            selectable[next as usize].to_string()
        }
        Kind::MultiChoice(_) => {
            let choices = q.choices(&state.answers, &state.ctx);
            if choices.is_empty() {
                return Vec::new();
            }
            let n = choices.len() as i64;
            match msg {
                Msg::ChoiceNext => {
                    state.sub = ((state.sub as i64 + 1).rem_euclid(n)) as usize;
                    return Vec::new();
                }
                Msg::ChoicePrev => {
                    state.sub = ((state.sub as i64 - 1).rem_euclid(n)) as usize;
                    return Vec::new();
                }
                _ => {}
            }
            let Some(picked) = choices.get(state.sub.min(choices.len() - 1)) else {
                return Vec::new();
            };
            let mut list: Vec<String> = q
                .get(&state.answers)
                .split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            match list.iter().position(|v| *v == picked.value) {
                Some(i) => {
                    list.remove(i);
                }
                None => {
                    list.push(picked.value.clone());
                    // Keep the list's order the choices' order, as a user would write it.
                    list.sort_by_key(|v| choices.iter().position(|c| &c.value == v));
                }
            }
            list.join(",")
        }
        Kind::Text | Kind::Number => return Vec::new(),
    };
    set_value(state, q, &value)
}

/// Stores a new value, re-applies every rule, and asks for the checks it affects.
fn set_value(state: &mut State, q: &'static Question, value: &str) -> Vec<Command> {
    let before = state.answers.clone();
    match q.set(&mut state.answers, value) {
        Ok(()) => {
            state.type_errors.remove(q.key);
        }
        Err(e) => {
            state.type_errors.insert(q.key, e.0);
        }
    }
    if state.answers == before {
        return Vec::new();
    }
    state.unsaved = true;
    state.status = None;
    state.report = crate::rules::check_answers(&state.answers);
    let mut cmds = Vec::new();
    match q.key {
        "aws.admin_profile" | "aws.region" => {
            cmds.extend(request_check(state, Check::Identity));
            cmds.extend(request_check(state, Check::BucketAvailability));
        }
        "state_store.bucket" => cmds.extend(request_check(state, Check::BucketAvailability)),
        "ssh.public_key" => cmds.extend(request_check(state, Check::SshKeyFiles)),
        _ => {}
    }
    cmds
}

/// A new request id for a check, or `Idle` when the value breaks its rule: nothing that a rule
/// refuses ever reaches AWS.
fn request_check(state: &mut State, check: Check) -> Vec<Command> {
    let id = state.next_request;
    let a = &state.answers;
    let (profile, region) = (a.aws.admin_profile.clone(), a.aws.region.clone());
    let key_ok =
        |key: &str| questions::find(key).is_some_and(|q| q.error(a, &state.report).is_none());
    let cmd = match check {
        Check::None => return Vec::new(),
        Check::Identity => (key_ok("aws.admin_profile") && key_ok("aws.region"))
            .then_some(Command::CheckIdentity { id, profile, region }),
        Check::BucketAvailability => match &a.state_store.bucket {
            Some(bucket) if key_ok("state_store.bucket") && key_ok("aws.region") => {
                Some(Command::CheckBucket {
                    id,
                    bucket: bucket.clone(),
                    profile,
                    region,
                    state_dir: state.files.state_dir.clone(),
                })
            }
            _ => None,
        },
        Check::SshKeyFiles => key_ok("ssh.public_key")
            .then(|| Command::CheckSsh { id, public_key: a.ssh.public_key.clone() }),
    };
    let slot = match check {
        Check::Identity => &mut state.checks.identity as &mut dyn Slot,
        Check::BucketAvailability => &mut state.checks.bucket,
        _ => &mut state.checks.ssh,
    };
    match cmd {
        Some(cmd) => {
            slot.pend(id);
            state.next_request += 1;
            vec![cmd]
        }
        None => {
            slot.idle();
            Vec::new()
        }
    }
}

/// Setting a check slot without caring about its result type.
trait Slot {
    fn pend(&mut self, id: u64);
    fn idle(&mut self);
}

impl<T> Slot for CheckState<T> {
    fn pend(&mut self, id: u64) {
        *self = CheckState::Pending(id);
    }
    fn idle(&mut self) {
        *self = CheckState::Idle;
    }
}

fn checked(state: &mut State, id: u64, result: CheckResult) -> Vec<Command> {
    // Only the answer to the latest request of its kind counts; an older one describes a
    // value the user has already changed.
    match result {
        CheckResult::Identity(r) if state.checks.identity == CheckState::Pending(id) => {
            if let Ok(identity) = &r
                && state.answers.state_store.bucket.is_none()
                && let Some(input) = state.inputs.get_mut("state_store.bucket")
                && input.value().is_empty()
            {
                // A suggestion the user sees (and may change): bucket names are global, and
                // the account and region make this one likely to be free.
                let suggestion =
                    format!("kops-state-{}-{}", identity.account, state.answers.aws.region);
                *input = tui_input::Input::new(suggestion.clone());
                state.answers.state_store.bucket = Some(suggestion);
                state.report = crate::rules::check_answers(&state.answers);
                state.checks.identity = CheckState::Done(r);
                state.status = Some("bucket name suggested from the account and region".into());
                state.unsaved = true;
                return request_check(state, Check::BucketAvailability);
            }
            state.checks.identity = CheckState::Done(r);
        }
        CheckResult::Bucket(r) if state.checks.bucket == CheckState::Pending(id) => {
            state.checks.bucket = CheckState::Done(r);
        }
        CheckResult::Ssh(r) if state.checks.ssh == CheckState::Pending(id) => {
            state.checks.ssh = CheckState::Done(r);
        }
        _ => {}
    }
    Vec::new()
}

fn review_key(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Back => {
            go_to(state, Page::Step(Step::Cluster));
            state.focus = state.step_questions().len().saturating_sub(1);
            Vec::new()
        }
        Msg::NextField => {
            state.review_scroll = (state.review_scroll + 1).min(100);
            Vec::new()
        }
        Msg::PrevField => {
            state.review_scroll = state.review_scroll.saturating_sub(1);
            Vec::new()
        }
        Msg::Claim => {
            if state.current_join().is_some_and(|j| j.unclaimed) {
                state.claim = !state.claim;
            }
            Vec::new()
        }
        Msg::ShowScript => {
            let plan = state.plan();
            let ctx = script::Context {
                answers: &state.answers,
                source: &state.source,
                report: &state.report,
            };
            let lines = script::render(&plan, &ctx).lines().map(String::from).collect();
            state.overlay = Some(Overlay::Script { lines, scroll: 0 });
            Vec::new()
        }
        Msg::Enter => {
            if let Some(bad) = questions::QUESTIONS.iter().find(|q| state.error_of(q).is_some()) {
                // Only reachable when a broken value came from the file: go and show it.
                go_to(state, Page::Step(bad.step));
                state.focus =
                    questions::of_step(bad.step).position(|q| q.key == bad.key).unwrap_or(0);
                return Vec::new();
            }
            if state.dry_run {
                state.exit = Some(Exit::DryRun);
                return vec![Command::Exit];
            }
            start_run(state)
        }
        _ => Vec::new(),
    }
}

fn start_run(state: &mut State) -> Vec<Command> {
    let plan = state.plan();
    let now_ms = state.now.ms;
    // A retry: each row keeps the time its step took before, so the row reads the step's
    // whole time, not only the last attempt's quick pass over what the journal has done.
    let before = std::mem::take(&mut state.run.steps);
    state.run.steps = plan
        .steps
        .iter()
        .map(|s| {
            let earlier: std::time::Duration = before
                .iter()
                .filter(|b| b.id == s.id)
                .map(|b| b.earlier + b.status.spent(now_ms))
                .sum();
            RunStep { earlier, ..RunStep::waiting(s.id) }
        })
        .collect();
    state.run.running = true;
    state.run.error = None;
    state.run.dashboard = None;
    state.run.attempts += 1;
    go_to(state, Page::Run);
    vec![Command::StartRun]
}

fn run_key(state: &mut State, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Retry if !state.run.running && state.run.error.is_some() => {
            state
                .log
                .push(format!("--- retry {}: the journal makes it resume", state.run.attempts));
            start_run(state)
        }
        // No going back while the engine changes things; after a failure the answers may be
        // fixed and the run started again from Review.
        Msg::Back if !state.run.running && state.run.error.is_some() => {
            go_to(state, Page::Review);
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn engine_event(state: &mut State, event: Event) {
    let now_ms = state.now.ms;
    if let Some(t) = &mut state.teardown {
        t.event(&event, now_ms);
    }
    match event {
        // The rows show these; the items that go with them are the log's lines.
        Event::ActionStarted { .. }
        | Event::ActionFinished { .. }
        | Event::Progress { .. }
        | Event::CloudDeleted { .. }
        | Event::CloudBlocked { .. } => return,
        Event::Note { message } => state.log.push(format!("[i] {message}")),
        // The rows follow the steps that run: finished ones stay, the rest are replaced.
        Event::PlanChanged { steps, why } => {
            state.run.steps.retain(|s| matches!(s.status, StepStatus::Finished { .. }));
            state.run.steps.extend(steps.into_iter().map(RunStep::waiting));
            state.log.push(format!("[i] {why}"));
            state.run.joined = true;
        }
        Event::StepStarted { step } => {
            if let Some(s) = state.run.steps.iter_mut().find(|s| s.id == step) {
                s.status = StepStatus::Running { since_ms: now_ms };
            }
            state.log.push(format!("[…] {}", step.title()));
        }
        Event::Item { step, change, message, .. } => {
            use crate::engine::events::Change;
            let mark = match change {
                Change::Created => "✔",
                Change::Unchanged => "=",
                Change::Info => "i",
                Change::Warning => "!",
            };
            state.log.push(format!("[{mark}] {}: {message}", step.short()));
            if let Some(s) = state.run.steps.iter_mut().find(|s| s.id == step) {
                s.last = Some(message);
            }
        }
        Event::Output { line, .. } => state.log.push(format!("    {line}")),
        Event::Validation(v) => {
            let left = v.wait.saturating_sub(v.elapsed);
            let deadline = state.now.clock.wrapping_add(jiff::SignedDuration::from_secs(
                i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            ));
            state.run.dashboard = Some(Dashboard { validation: *v, deadline, at_ms: now_ms });
        }
        Event::Smoke { step, phase } => {
            state.log.push(format!("[…] {}: {}", step.short(), phase.describe()));
            state.run.smoke.get_or_insert_with(Default::default).apply(phase);
        }
        Event::StepFinished { step, elapsed } => {
            if let Some(s) = state.run.steps.iter_mut().find(|s| s.id == step) {
                s.status = StepStatus::Finished { elapsed };
            }
            state.log.push(format!("[✔] {}: done ({})", step.short(), secs(elapsed)));
        }
        Event::StepFailed { step, error, elapsed } => {
            if let Some(s) = state.run.steps.iter_mut().find(|s| s.id == step) {
                s.status = StepStatus::Failed { elapsed };
            }
            state.log.push(format!("[✘] {}: failed ({})", step.short(), secs(elapsed)));
            state.run.error = Some(error);
        }
    }
    // A log being read stays where it is; one at the bottom follows new lines.
    if state.log_scroll > 0 {
        state.log_scroll += 1;
    }
}

pub use crate::text::elapsed as secs;

/// The words for a bucket check's answer (shared with the line mode).
pub use crate::ui::checks::bucket_words;

/// The rules' warnings, and what the checks found that setup will reuse rather than create.
pub fn warnings(state: &State) -> Vec<String> {
    let bucket = match &state.checks.bucket {
        CheckState::Done(Ok(found)) => Some(found.access),
        _ => None,
    };
    let ssh = match &state.checks.ssh {
        CheckState::Done(Ok(found)) => Some(found),
        _ => None,
    };
    crate::ui::review::warnings(&state.report, &state.answers, bucket, ssh)
}
