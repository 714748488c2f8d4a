//! Everything the wizard shows, as data: the answers being edited, focus, the page, check
//! results, the run's progress and the validation dashboard. Views read it; only `update`
//! changes it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tui_input::Input;

use super::teardown::{Focus, Teardown};
use crate::answers::{Answers, Source};
use crate::engine::aws::clients::Identity;
use crate::engine::events::Validation;
use crate::plan::{SetupPlan, SetupStep, StepId, TeardownOptions};
use crate::questions::{self, Context, Question, Step};
use crate::rules::Report;
use crate::ui::checks::BucketFound;
// Shared with the line mode (`ui::checks`); kept importable from here.
pub use crate::ui::checks::{FoundKey, SshFound};

/// A moment as the loop saw it: milliseconds since the wizard started (spinners, elapsed
/// times) and the local wall-clock time (the validation deadline). Passed in messages so that
/// `update` and the views never read a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub ms: u64,
    pub clock: jiff::civil::Time,
}

impl Now {
    pub fn zero() -> Now {
        Now { ms: 0, clock: jiff::civil::Time::midnight() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The journal shows this cluster set up: validate it again, tear it down, or start over.
    Existing,
    Step(Step),
    Review,
    Run,
    Done,
    /// What teardown deletes and keeps, and the typed confirmation.
    Inventory,
    /// Teardown deleting, row by row.
    Deleting,
    /// The final check: nothing left, or what is.
    Result,
}

/// The choices of the `Existing` page, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    Revalidate,
    Teardown,
    StartOver,
}

impl Offer {
    pub const ALL: [Offer; 3] = [Offer::Revalidate, Offer::Teardown, Offer::StartOver];

    pub fn label(self) -> &'static str {
        match self {
            Offer::Revalidate => "Validate it again (changes nothing)",
            Offer::Teardown => "Tear it down (shows what goes, then asks)",
            Offer::StartOver => "Start over with other answers",
        }
    }
}

impl Page {
    /// The teardown's pages, in the order of its step list.
    pub const TEARDOWN: [Page; 3] = [Page::Inventory, Page::Deleting, Page::Result];

    /// The setup pages in the order of the step list.
    pub const ALL: [Page; 7] = [
        Page::Step(Step::Credentials),
        Page::Step(Step::StateStore),
        Page::Step(Step::SshKey),
        Page::Step(Step::Cluster),
        Page::Review,
        Page::Run,
        Page::Done,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Page::Step(step) => step.title(),
            Page::Review => "Review",
            Page::Run => "Run",
            Page::Done => "Done",
            Page::Existing => "Found",
            Page::Inventory => "Inventory",
            Page::Deleting => "Delete",
            Page::Result => "Result",
        }
    }

    pub fn is_teardown(self) -> bool {
        Page::TEARDOWN.contains(&self)
    }
}

/// A window over the page, or a question in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// "Quit?" while something runs or answers are unsaved.
    Quit,
    /// The equivalent shell script, scrolled by `scroll` lines.
    Script {
        lines: Vec<String>,
        scroll: usize,
    },
    /// The answers file exists: overwrite it?
    Overwrite(PathBuf),
}

/// The state of one background check of the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckState<T> {
    /// Not asked (the value breaks a rule, or nothing to check yet).
    Idle,
    /// Asked with this request id; an answer with another id is stale and dropped.
    Pending(u64),
    Done(Result<T, String>),
}

impl<T> CheckState<T> {
    pub fn is_pending(&self) -> bool {
        matches!(self, CheckState::Pending(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checks {
    pub identity: CheckState<Identity>,
    pub bucket: CheckState<BucketFound>,
    pub ssh: CheckState<SshFound>,
}

/// A check's answer as it comes back to the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    Identity(Result<Identity, String>),
    Bucket(Result<BucketFound, String>),
    Ssh(Result<SshFound, String>),
}

pub use super::status::StepStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStep {
    pub id: StepId,
    pub status: StepStatus,
    /// The step's latest item ("bucket acme created").
    pub last: Option<String>,
    /// The time the step took in this session's earlier attempts: a retry resumes from the
    /// journal and runs the step again, quickly, and its row keeps counting the whole.
    pub earlier: std::time::Duration,
}

impl RunStep {
    pub fn waiting(id: StepId) -> RunStep {
        RunStep { id, status: StepStatus::Waiting, last: None, earlier: std::time::Duration::ZERO }
    }
}

/// The latest validation attempt and when it will give up, in wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    pub validation: Validation,
    pub deadline: jiff::civil::Time,
    /// When the attempt arrived, to count the elapsed time on between attempts.
    pub at_ms: u64,
}

/// The smoke test's panel: where each of its waits stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmokeView {
    /// Ready pods of those wanted.
    pub pods: Option<(i32, i32)>,
    /// The Service has asked for its load balancer and waits for an address.
    pub waiting_address: bool,
    /// The NLB's name and state.
    pub balancer: Option<(String, String)>,
    /// Healthy targets of all.
    pub targets: Option<(usize, usize)>,
    /// The pods that answered through the NLB, and how many must.
    pub answered: Vec<String>,
    pub wanted: usize,
}

impl SmokeView {
    pub fn apply(&mut self, phase: crate::engine::cluster::smoke::Phase) {
        use crate::engine::cluster::smoke::Phase;
        match phase {
            Phase::Applying => {}
            Phase::Pods { ready, wanted } => self.pods = Some((ready, wanted)),
            Phase::Address => self.waiting_address = true,
            Phase::Balancer { name, state } => {
                self.waiting_address = false;
                self.balancer = Some((name, state));
            }
            Phase::Targets { healthy, total } => self.targets = Some((healthy, total)),
            Phase::Answers { pods, wanted } => {
                self.answered = pods;
                self.wanted = wanted;
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunState {
    pub steps: Vec<RunStep>,
    /// True from the start of a run until the engine's future ends.
    pub running: bool,
    /// Why the run stopped: the engine's message.
    pub error: Option<String>,
    pub dashboard: Option<Dashboard>,
    /// How many times the run was started (a retry resumes from the journal).
    pub attempts: u32,
    /// The engine found the cluster someone else's during the run and joined it.
    pub joined: bool,
    /// The smoke test as it goes: each part's latest word from the engine.
    pub smoke: Option<SmokeView>,
}

/// What a finished run leaves for the Done page and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub journal: PathBuf,
    pub state_store: Option<String>,
    /// The smoke test's outcome when it ran.
    pub smoke: Option<crate::journal::LastSmokeTest>,
}

/// How the wizard ended, for the exit code and the summary printed after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done,
    /// Quit by the user (before, during or after a failed run).
    Quit,
    /// `--dry-run`: Enter on Review prints the plan instead of running it.
    DryRun,
}

/// Where files are, for the Done page and saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// Where `s` saves the answers: `--config`, else the default config path.
    pub answers: Option<PathBuf>,
    pub log: PathBuf,
    pub state_dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct State {
    pub answers: Answers,
    pub source: Source,
    /// `rules::check_answers` of `answers`, recomputed on every change.
    pub report: Report,
    pub ctx: Context,
    /// The public keys of `~/.ssh`, found as the wizard opened.
    pub ssh_keys: Vec<FoundKey>,
    pub page: Page,
    /// The focused question's index within its step.
    pub focus: usize,
    /// The highlighted value of a multi-choice question.
    pub sub: usize,
    /// Text fields, by answers key.
    pub inputs: BTreeMap<&'static str, Input>,
    /// Text that could not be stored (letters in a number field), by answers key.
    pub type_errors: BTreeMap<&'static str, String>,
    pub checks: Checks,
    pub next_request: u64,
    pub overlay: Option<Overlay>,
    /// Engine output and notes, oldest first.
    pub log: Vec<String>,
    /// Lines scrolled up from the bottom of the log.
    pub log_scroll: usize,
    /// Scroll of the Review page.
    pub review_scroll: usize,
    pub run: RunState,
    pub finished: Option<Finished>,
    pub now: Now,
    pub size: (u16, u16),
    /// Answers changed since they were loaded or saved.
    pub unsaved: bool,
    /// A one-line message at the bottom (saved, save failed, ...).
    pub status: Option<String>,
    /// What an earlier setup of this cluster left, from its journal.
    pub resume: Option<String>,
    /// The journal shows a finished setup of this cluster: the `Existing` page's text.
    pub existing: Option<String>,
    /// The highlighted choice of the `Existing` page.
    pub offer: usize,
    /// The guided teardown, once asked for (by `kops-wizard teardown` or the `Existing` page).
    pub teardown: Option<Teardown>,
    pub files: Files,
    pub only: Vec<SetupStep>,
    pub dry_run: bool,
    /// Colours are off with `NO_COLOR`: focus and state then show by markers and reverse.
    pub color: bool,
    /// The locale is not UTF-8: every cell is drawn in ASCII.
    pub ascii: bool,
    pub exit: Option<Exit>,
    /// What the state store said when Review opened: the cluster is someone else's, so setup
    /// joins it. Kept with the bucket and cluster it is about, and used only while the answers
    /// still name them.
    pub join: Option<JoinFound>,
    /// `--claim`, or the user's answer on Review when the record names no machine for the
    /// cluster: this machine set it up, so setup continues it instead of joining.
    pub claim: bool,
}

/// A join the state store showed for one bucket and cluster name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinFound {
    pub bucket: String,
    pub cluster: String,
    pub join: crate::engine::team::join::Join,
}

/// Everything the wizard starts from.
#[derive(Debug, Clone)]
pub struct Start {
    pub answers: Answers,
    pub source: Source,
    pub ctx: Context,
    pub ssh_keys: Vec<FoundKey>,
    pub files: Files,
    pub resume: Option<String>,
    pub existing: Option<String>,
    /// Open on the teardown inventory, with these options (`kops-wizard teardown`).
    pub teardown: Option<TeardownOptions>,
    pub only: Vec<SetupStep>,
    pub dry_run: bool,
    /// `setup --claim` (see [`State::claim`]).
    pub claim: bool,
    pub color: bool,
    pub ascii: bool,
    pub size: (u16, u16),
}

impl State {
    /// The wizard as it opens: on the first step that holds a broken answer (or the first
    /// step), with that field focused.
    pub fn new(start: Start) -> State {
        let inputs = questions::QUESTIONS
            .iter()
            .filter(|q| q.is_typed())
            .map(|q| (q.key, Input::new(q.get(&start.answers))))
            .collect();
        let report = crate::rules::check_answers(&start.answers);
        let mut state = State {
            report,
            answers: start.answers,
            source: start.source,
            ctx: start.ctx,
            ssh_keys: start.ssh_keys,
            page: Page::Step(Step::Credentials),
            focus: 0,
            sub: 0,
            inputs,
            type_errors: BTreeMap::new(),
            checks: Checks {
                identity: CheckState::Idle,
                bucket: CheckState::Idle,
                ssh: CheckState::Idle,
            },
            next_request: 1,
            overlay: None,
            log: Vec::new(),
            log_scroll: 0,
            review_scroll: 0,
            run: RunState::default(),
            finished: None,
            now: Now::zero(),
            size: start.size,
            unsaved: false,
            status: None,
            resume: start.resume,
            offer: 0,
            teardown: start.teardown.map(Teardown::new),
            files: start.files,
            only: start.only,
            dry_run: start.dry_run,
            color: start.color,
            ascii: start.ascii,
            exit: None,
            existing: start.existing,
            join: None,
            claim: start.claim,
        };
        if state.teardown.is_some() {
            state.page = Page::Inventory;
            return state;
        }
        if state.existing.is_some() {
            state.page = Page::Existing;
            return state;
        }
        // Only a file's broken values move the start: with no file, a newcomer is walked
        // from the first step (the missing bucket is asked for on its own step).
        if let Source::File(_) = state.source
            && let Some(bad) = questions::first_error(&state.answers)
        {
            state.page = Page::Step(bad.step);
            state.focus = questions::of_step(bad.step).position(|q| q.key == bad.key).unwrap_or(0);
        }
        state
    }

    /// The questions of the current page (empty off the question steps). A join asks only
    /// the cluster's name on the Cluster page: its sizes are its own, shown read-only.
    pub fn step_questions(&self) -> Vec<&'static Question> {
        match self.page {
            Page::Step(Step::Cluster) if self.joining().is_some() => {
                questions::of_step(Step::Cluster).filter(|q| q.key == "cluster.name").collect()
            }
            Page::Step(step) => questions::of_step(step).collect(),
            _ => Vec::new(),
        }
    }

    /// The cluster the answers name, when the bucket's check found it there and this machine
    /// did not make it: setup joins it, so its SSH key and its sizes are not asked.
    pub fn joining(&self) -> Option<&crate::engine::team::join::InBucket> {
        match &self.checks.bucket {
            CheckState::Done(Ok(found)) => found.joins(&self.answers.cluster.name),
            _ => None,
        }
    }

    /// The question step after (`+1`) or before (`-1`) `step` in this setup's pages; `None`
    /// past the last (Review comes next) or before the first.
    pub fn step_beside(&self, step: Step, by: isize) -> Option<Step> {
        let steps: Vec<Step> = self
            .pages()
            .into_iter()
            .filter_map(|p| match p {
                Page::Step(s) => Some(s),
                _ => None,
            })
            .collect();
        let at = steps.iter().position(|s| *s == step)?;
        steps.get(at.checked_add_signed(by)?).copied()
    }

    pub fn focused(&self) -> Option<&'static Question> {
        self.step_questions().get(self.focus).copied()
    }

    /// Whether keys go to a text field first.
    pub fn text_focused(&self) -> bool {
        if self.page == Page::Inventory {
            return self.overlay.is_none()
                && self.teardown.as_ref().is_some_and(|t| t.focus == Focus::Name);
        }
        self.overlay.is_none() && self.focused().is_some_and(Question::is_typed)
    }

    /// The pages of the step list: the teardown's, or setup's (after the offer, when shown).
    pub fn pages(&self) -> Vec<Page> {
        if self.page.is_teardown() {
            return Page::TEARDOWN.to_vec();
        }
        let mut pages = Vec::new();
        if self.existing.is_some() {
            pages.push(Page::Existing);
        }
        // A join takes the cluster's own SSH key: that step is not shown.
        let joining = self.joining().is_some();
        pages.extend(Page::ALL.into_iter().filter(|p| !joining || *p != Page::Step(Step::SshKey)));
        pages
    }

    pub fn page_index(&self) -> usize {
        self.pages().iter().position(|p| *p == self.page).unwrap_or(0)
    }

    pub fn teardown_running(&self) -> bool {
        self.teardown.as_ref().is_some_and(|t| t.running)
    }

    /// The message that blocks a question: text of the wrong type, else its rule.
    pub fn error_of(&self, q: &Question) -> Option<String> {
        if let Some(e) = self.type_errors.get(q.key) {
            return Some(e.clone());
        }
        q.error(&self.answers, &self.report)
    }

    pub fn step_valid(&self, step: Step) -> bool {
        questions::of_step(step).all(|q| self.error_of(q).is_none())
    }

    /// The text a field shows: the buffer for typed fields, the answer for the others.
    pub fn value_of(&self, q: &Question) -> String {
        match self.inputs.get(q.key) {
            Some(input) => input.value().to_string(),
            None => q.get(&self.answers),
        }
    }

    pub fn plan(&self) -> SetupPlan {
        match self.current_join().filter(|j| !(j.unclaimed && self.claim)) {
            Some(join) => SetupPlan::join(
                &self.answers,
                &join.member_user,
                &crate::engine::team::join::join_steps(&self.only),
            ),
            None => SetupPlan::setup(&self.answers, &self.only),
        }
    }

    /// What Done and the summary say of a join: whose cluster, and what was not touched.
    pub fn join_words(&self) -> Option<String> {
        let untouched = "Not touched: its spec, its SSH key, its instances (no kops create, \
                         update or SSH key change).";
        let name = &self.answers.cluster.name;
        match self.current_join() {
            Some(join) => Some(format!("Joined cluster {name}, {}. {untouched}", join.whose())),
            None if self.run.joined => {
                Some(format!("Joined cluster {name}, set up on another machine. {untouched}"))
            }
            None => None,
        }
    }

    /// The join the state store showed, while the answers still name its bucket and cluster.
    pub fn current_join(&self) -> Option<&crate::engine::team::join::Join> {
        self.join
            .as_ref()
            .filter(|j| {
                self.answers.state_store.bucket.as_deref() == Some(j.bucket.as_str())
                    && self.answers.cluster.name == j.cluster
            })
            .map(|j| &j.join)
    }

    /// A running check, the run or a validation clock is on screen: the loop then ticks.
    pub fn needs_tick(&self) -> bool {
        let c = &self.checks;
        self.run.running
            || self.teardown_running()
            || self.teardown.as_ref().is_some_and(|t| t.inventory.is_none())
            || c.identity.is_pending()
            || c.bucket.is_pending()
            || c.ssh.is_pending()
    }

    /// Quitting now loses something (a run, unsaved answers): ask first.
    pub fn quit_needs_asking(&self) -> bool {
        self.run.running || self.teardown_running() || (self.unsaved && self.page != Page::Done)
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < 80 || self.size.1 < 24
    }
}
