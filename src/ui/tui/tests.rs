//! The wizard driven as a user would, without a terminal: messages into `update`, frames
//! rendered into ratatui's TestBackend and compared with insta snapshots (80x24 and 120x40).
//! Paths are fixed fakes and the clock is fed in messages, so nothing needs filtering.

use std::path::PathBuf;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tui_input::InputRequest;

use super::state::{
    CheckResult, CheckState, Exit, Files, Finished, FoundKey, Now, Overlay, Page, SshFound, Start,
    State, StepStatus,
};
use super::update::{self, Command, Msg, init, update};
use super::view;
use crate::answers::{self, Answers, Source};
use crate::engine::aws::clients::Identity;
use crate::engine::cluster::validate;
use crate::engine::events::{Change, Event, Validation};
use crate::engine::store::bucket::BucketAccess;
use crate::plan::{SetupStep, StepId};
use crate::questions::{Context, Step};

fn complete() -> Answers {
    let mut a = Answers::default();
    a.state_store.bucket = Some("acme-kops-state".into());
    a
}

fn start_with(answers: Answers, source: Source) -> State {
    State::new(Start {
        answers,
        source,
        ctx: Context { profiles: vec!["admin".into(), "kops".into()], env_key: None },
        ssh_keys: vec![
            FoundKey {
                path: "~/.ssh/id_ed25519.pub".into(),
                usable: true,
                note: "ed25519 256 SHA256:c2VjcmV0bm90c2VjcmV0c2VjcmV0".into(),
            },
            FoundKey {
                path: "~/.ssh/id_ecdsa.pub".into(),
                usable: false,
                note: "kops takes RSA or ed25519 keys, not an ECDSA key".into(),
            },
        ],
        files: Files {
            answers: Some(PathBuf::from("/home/dev/.config/kops-wizard/config.toml")),
            log: PathBuf::from("/home/dev/.local/state/kops-wizard/kops-wizard.log"),
            state_dir: PathBuf::from("/home/dev/.local/state/kops-wizard"),
        },
        resume: None,
        existing: None,
        teardown: None,
        only: Vec::new(),
        dry_run: false,
        claim: false,
        color: false,
        ascii: false,
        size: (80, 24),
    })
}

fn wizard() -> State {
    start_with(complete(), Source::File(PathBuf::from("/home/dev/answers.toml")))
}

fn identity() -> Identity {
    Identity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/admin".into(),
        user_id: "AIDAEXAMPLE".into(),
    }
}

/// Answers every check the commands asked for, as the checker would.
fn answer_checks(state: &mut State, cmds: Vec<Command>) {
    for cmd in cmds {
        let (id, result) = match cmd {
            Command::CheckIdentity { id, .. } => (id, CheckResult::Identity(Ok(identity()))),
            Command::CheckBucket { id, .. } => {
                (id, CheckResult::Bucket(Ok(BucketAccess::Free.into())))
            }
            Command::CheckSsh { id, .. } => (
                id,
                CheckResult::Ssh(Ok(SshFound {
                    usable: true,
                    summary: "pair found: rsa-4096 4096 SHA256:Qm9vZm9vYmFyYmF6cXV4".into(),
                })),
            ),
            _ => continue,
        };
        let more = update(state, Msg::Checked { id, result });
        answer_checks(state, more);
    }
}

/// The wizard as it opens, every check answered.
fn checked() -> State {
    let mut s = wizard();
    let cmds = init(&mut s);
    answer_checks(&mut s, cmds);
    s
}

fn send(state: &mut State, msgs: &[Msg]) -> Vec<Command> {
    msgs.iter().flat_map(|m| update(state, m.clone())).collect()
}

fn type_text(state: &mut State, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| update(state, Msg::Edit(InputRequest::InsertChar(c)))).collect()
}

fn clear_field(state: &mut State) {
    update(state, Msg::Edit(InputRequest::DeleteLine));
}

fn at(ms: u64, h: i8, m: i8) -> Now {
    Now { ms, clock: jiff::civil::time(h, m, 0, 0) }
}

/// The screen as text, trailing spaces trimmed.
fn screen(state: &State, width: u16, height: u16) -> String {
    let mut state = state.clone();
    state.size = (width, height);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::render(f, &state)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Both sizes the issue asks for. Every screen is also checked for words broken at a
/// border, at those sizes and on both sides of the sidebar's boundary.
fn snap(name: &str, state: &State) {
    for (width, height) in [(80, 24), (99, 30), (100, 30), (120, 40)] {
        let text = screen(state, width, height);
        let broken = mid_word_breaks(&text, width as usize);
        assert!(broken.is_empty(), "{name} at {width}x{height}: {broken:#?}\n{text}");
    }
    insta::assert_snapshot!(format!("{name}-80x24"), screen(state, 80, 24));
    insta::assert_snapshot!(format!("{name}-120x40"), screen(state, 120, 40));
}

/// Not text: box drawing, blocks and shapes (borders, scrollbars, gauges, markers).
fn drawn(c: char) -> bool {
    ('\u{2500}'..='\u{25FF}').contains(&c)
}

/// Each place where a row's text runs into the right border (or the screen's edge) and the
/// next row's text starts at the same box's left edge: a word (or a URL, a path) broken in
/// two, or text cut at the border and read on as if it went on. The views keep the last
/// column free, so a row that reaches the border is never a word that merely filled it.
fn mid_word_breaks(screen: &str, width: usize) -> Vec<String> {
    let rows: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let at = |y: usize, x: usize| rows.get(y).and_then(|r| r.get(x)).copied().unwrap_or(' ');
    let text = |c: char| c != ' ' && !drawn(c);
    let right_border =
        |y: usize, x: usize| x == width || matches!(at(y, x), '│' | '║' | '█' | '▲' | '▼');
    let mut found = Vec::new();
    for y in 0..rows.len().saturating_sub(1) {
        for x in 0..width {
            if !text(at(y, x)) || !right_border(y, x + 1) || !right_border(y + 1, x + 1) {
                continue;
            }
            // The box's left edge: the nearest vertical border to the left, or the screen's.
            let left =
                (0..x).rev().find(|&lx| matches!(at(y, lx), '│' | '║')).map_or(0, |lx| lx + 1);
            if left > 0 && !matches!(at(y + 1, left - 1), '│' | '║') {
                continue;
            }
            if text(at(y + 1, left)) {
                let row =
                    |y: usize| rows[y][left..=x.min(rows[y].len() - 1)].iter().collect::<String>();
                found.push(format!("rows {} and {}: {:?} / {:?}", y, y + 1, row(y), row(y + 1)));
            }
        }
    }
    found
}

#[test]
fn the_mid_word_check_finds_a_url_broken_at_the_border() {
    // Rows of the Done page at 80x24 before this check existed: the URL went on below.
    let before = "\
│ ✔ Run            ││  curl                                                    │
│ ▶ Done           ││http://k8s-kopswiza-hello-0123456789-abcdef0123456789.elb.│
│                  ││us-east-1.amazonaws.com/hostname                          │
";
    let found = mid_word_breaks(before, 80);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("elb."), "{found:?}");
    // A word cut at the screen's edge, with no border at all.
    assert_eq!(mid_word_breaks("export KOPS_STA\nTE_STORE=s3://x\n", 15).len(), 1);
    // Text that stops before the border, or a next row that starts with a space, is fine.
    let fine = "│a word │\n│next   │\n│ends at│\n│  more │\n";
    assert!(mid_word_breaks(fine, 9).is_empty(), "{:?}", mid_word_breaks(fine, 9));
}

fn go_to_step(state: &mut State, step: Step) {
    state.page = Page::Step(step);
    state.focus = 0;
}

// ---- update ----

#[test]
fn tab_and_shift_tab_move_between_fields_and_wrap() {
    let mut s = checked();
    assert_eq!(s.page, Page::Step(Step::Credentials));
    send(&mut s, &[Msg::NextField, Msg::NextField]);
    assert_eq!(s.focus, 2);
    send(&mut s, &[Msg::PrevField, Msg::PrevField, Msg::PrevField]);
    assert_eq!(s.focus, s.step_questions().len() - 1, "Shift-Tab on the first field wraps");
}

#[test]
fn enter_walks_fields_then_steps_to_review() {
    let mut s = checked();
    let mut presses = 0;
    while s.page != Page::Review && presses < 100 {
        update(&mut s, Msg::Enter);
        presses += 1;
    }
    assert_eq!(s.page, Page::Review);
    let fields: usize = Step::ALL.iter().map(|st| crate::questions::of_step(*st).count()).sum();
    assert_eq!(presses, fields, "one Enter per field");
}

#[test]
fn a_bad_value_blocks_enter_and_never_reaches_aws() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    clear_field(&mut s);
    let cmds = type_text(&mut s, "Bad_Bucket");
    assert!(cmds.iter().all(|c| !matches!(c, Command::CheckBucket { .. })), "{cmds:?}");
    assert_eq!(s.checks.bucket, CheckState::Idle);
    let q = s.focused().unwrap();
    assert!(s.error_of(q).unwrap().contains("lower-case"));
    update(&mut s, Msg::Enter);
    assert_eq!((s.page, s.focus), (Page::Step(Step::StateStore), 0), "Enter stays on the field");

    clear_field(&mut s);
    let cmds = type_text(&mut s, "acme-ok");
    assert!(
        matches!(cmds.last(), Some(Command::CheckBucket { bucket, .. }) if bucket == "acme-ok")
    );
    update(&mut s, Msg::Enter);
    assert_eq!(s.focus, 1);
}

#[test]
fn esc_goes_back_a_step_but_not_from_the_first() {
    let mut s = checked();
    update(&mut s, Msg::Back);
    assert_eq!(s.page, Page::Step(Step::Credentials));
    go_to_step(&mut s, Step::SshKey);
    update(&mut s, Msg::Back);
    assert_eq!(s.page, Page::Step(Step::StateStore));
    s.page = Page::Review;
    update(&mut s, Msg::Back);
    assert_eq!(s.page, Page::Step(Step::Cluster));
}

#[test]
fn a_stale_check_answer_is_dropped() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    let first = type_text(&mut s, "x");
    let second = type_text(&mut s, "y");
    let id_of = |cmds: &[Command]| match cmds.last() {
        Some(Command::CheckBucket { id, .. }) => *id,
        other => panic!("{other:?}"),
    };
    let (old, new) = (id_of(&first), id_of(&second));
    assert!(new > old);
    update(
        &mut s,
        Msg::Checked { id: old, result: CheckResult::Bucket(Ok(BucketAccess::Taken.into())) },
    );
    assert_eq!(s.checks.bucket, CheckState::Pending(new), "the old answer describes another name");
    update(
        &mut s,
        Msg::Checked { id: new, result: CheckResult::Bucket(Ok(BucketAccess::Free.into())) },
    );
    assert_eq!(s.checks.bucket, CheckState::Done(Ok(BucketAccess::Free.into())));
}

#[test]
fn typing_q_or_s_in_a_field_types_it_and_paste_goes_in() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    clear_field(&mut s);
    let keys = [crossterm::event::KeyCode::Char('q'), crossterm::event::KeyCode::Char('s')];
    for code in keys {
        let event = crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
            code,
            crossterm::event::KeyModifiers::NONE,
        ));
        let msg = super::keys::from_event(&event, super::keys::Mode::of(&s)).unwrap();
        update(&mut s, msg);
    }
    assert_eq!(s.exit, None);
    assert_eq!(s.answers.state_store.bucket.as_deref(), Some("qs"));
    update(&mut s, Msg::Paste("-state\n".into()));
    assert_eq!(s.answers.state_store.bucket.as_deref(), Some("qs-state"), "newlines are dropped");
}

#[test]
fn choices_and_toggles_change_with_left_right_space() {
    let mut s = checked();
    go_to_step(&mut s, Step::Cluster);
    s.focus = 2; // networking
    update(&mut s, Msg::ChoiceNext);
    assert_eq!(s.answers.cluster.networking, "calico");
    update(&mut s, Msg::ChoicePrev);
    update(&mut s, Msg::ChoicePrev);
    assert_eq!(s.answers.cluster.networking, "kubenet", "wraps, skipping weave and canal");
    s.focus = 1; // zones
    send(&mut s, &[Msg::ChoiceNext, Msg::Toggle]);
    assert_eq!(s.answers.cluster.zones, ["us-east-1b"]);
    send(&mut s, &[Msg::ChoicePrev, Msg::Toggle]);
    assert_eq!(s.answers.cluster.zones, ["us-east-1a", "us-east-1b"]);
    s.focus = 8; // bastion
    update(&mut s, Msg::Toggle);
    assert!(s.answers.cluster.bastion);
    assert!(s.error_of(s.focused().unwrap()).unwrap().contains("private"));
}

#[test]
fn the_wizard_opens_on_the_first_bad_value_from_the_file() {
    let a = answers::parse(
        "[state_store]\nbucket = \"acme-state\"\n[cluster]\nnetworking = \"weave\"\n",
        std::path::Path::new("a.toml"),
    )
    .unwrap();
    let s = start_with(a, Source::File("a.toml".into()));
    assert_eq!(s.page, Page::Step(Step::Cluster));
    assert_eq!(s.focused().map(|q| q.key), Some("cluster.networking"));
}

#[test]
fn the_account_suggests_a_bucket_name_when_there_is_none() {
    let mut s = start_with(Answers::default(), Source::Defaults);
    let cmds = init(&mut s);
    assert!(cmds.iter().all(|c| !matches!(c, Command::CheckBucket { .. })));
    answer_checks(&mut s, cmds);
    assert_eq!(s.answers.state_store.bucket.as_deref(), Some("kops-state-123456789012-us-east-1"));
    assert_eq!(s.checks.bucket, CheckState::Done(Ok(BucketAccess::Free.into())));
}

#[test]
fn quitting_asks_while_running_and_stops_the_run() {
    let mut s = checked();
    assert_eq!(update(&mut s, Msg::Quit), vec![Command::Exit], "nothing to lose: no question");
    let mut s = checked();
    s.page = Page::Review;
    assert_eq!(update(&mut s, Msg::Enter), vec![Command::StartRun]);
    assert_eq!(s.page, Page::Run);
    assert!(update(&mut s, Msg::Quit).is_empty());
    assert_eq!(s.overlay, Some(Overlay::Quit));
    update(&mut s, Msg::Answer(false));
    assert_eq!(s.overlay, None);
    update(&mut s, Msg::Back);
    assert_eq!(s.page, Page::Run, "no going back during a run");
    update(&mut s, Msg::Quit);
    assert_eq!(update(&mut s, Msg::Answer(true)), vec![Command::StopRun, Command::Exit]);
    assert_eq!(s.exit, Some(Exit::Quit));
    assert_eq!(super::run::summary(&s).code, crate::exit::INTERRUPTED);
}

#[test]
fn unsaved_answers_ask_before_quitting_and_save_asks_before_overwriting() {
    let mut s = checked();
    go_to_step(&mut s, Step::Cluster);
    s.focus = 3;
    update(&mut s, Msg::ChoiceNext);
    update(&mut s, Msg::Quit);
    assert_eq!(s.overlay, Some(Overlay::Quit));
    update(&mut s, Msg::Answer(false));
    let cmds = update(&mut s, Msg::Save);
    let path = PathBuf::from("/home/dev/.config/kops-wizard/config.toml");
    assert_eq!(cmds, vec![Command::SaveAnswers { path: path.clone(), overwrite: false }]);
    update(&mut s, Msg::SaveExists(path.clone()));
    assert_eq!(s.overlay, Some(Overlay::Overwrite(path.clone())));
    assert_eq!(
        update(&mut s, Msg::Answer(true)),
        vec![Command::SaveAnswers { path: path.clone(), overwrite: true }]
    );
    update(&mut s, Msg::Saved(Ok(path.clone())));
    assert!(!s.unsaved);
    assert_eq!(s.source, Source::File(path));
    assert_eq!(update(&mut s, Msg::Quit), vec![Command::Exit]);
}

fn step(s: SetupStep) -> StepId {
    StepId::Setup(s)
}

fn running() -> State {
    let mut s = checked();
    s.page = Page::Review;
    update(&mut s, Msg::Enter);
    let events = [
        (100, Event::Note { message: "kops: 1.36.2 at /usr/local/bin/kops".into() }),
        (200, Event::StepStarted { step: step(SetupStep::StateStore) }),
        (
            900,
            Event::Item {
                step: step(SetupStep::StateStore),
                change: Change::Created,
                message: "bucket acme-kops-state created".into(),
                elapsed: Duration::from_millis(700),
            },
        ),
        (
            1000,
            Event::StepFinished {
                step: step(SetupStep::StateStore),
                elapsed: Duration::from_millis(800),
            },
        ),
        (1100, Event::StepStarted { step: step(SetupStep::Credentials) }),
        (
            1500,
            Event::Item {
                step: step(SetupStep::Credentials),
                change: Change::Created,
                message: "access key …WXYZ saved as profile kops".into(),
                elapsed: Duration::from_millis(400),
            },
        ),
    ];
    for (ms, e) in events {
        update(&mut s, Msg::Engine(e, at(ms, 14, 22)));
    }
    update(&mut s, Msg::Tick(at(2300, 14, 22)));
    s
}

#[test]
fn engine_events_fill_the_run_rows_and_a_failure_offers_retry() {
    let mut s = running();
    assert!(s.needs_tick(), "a spinner is on screen");
    let failed = Event::StepFailed {
        step: step(SetupStep::StateStore),
        error: "the bucket acme-kops-state belongs to another account (403)".into(),
        elapsed: Duration::from_secs(1),
    };
    update(&mut s, Msg::Engine(failed, at(2500, 14, 22)));
    update(
        &mut s,
        Msg::RunEnded(Err("the bucket acme-kops-state belongs to another account (403)".into())),
    );
    assert!(!s.run.running && !s.needs_tick());
    assert_eq!(update(&mut s, Msg::Retry), vec![Command::StartRun]);
    assert_eq!(s.run.attempts, 2);
    update(
        &mut s,
        Msg::RunEnded(Ok(Finished {
            journal: "/home/dev/.local/state/kops-wizard/kops.k8s.local.json".into(),
            state_store: Some("s3://acme-kops-state".into()),
            smoke: None,
        })),
    );
    assert_eq!(s.page, Page::Done);
    let out = super::run::summary(&s);
    assert_eq!(out.code, 0);
    assert!(
        out.summary.contains("export KOPS_STATE_STORE=s3://acme-kops-state"),
        "{}",
        out.summary
    );
    assert!(out.summary.contains("export AWS_PROFILE=kops"));
}

#[test]
fn a_join_decided_by_the_engine_replaces_the_rows_still_to_run() {
    let mut s = running();
    let before: Vec<StepId> = s.run.steps.iter().map(|r| r.id).collect();
    assert!(before.contains(&step(SetupStep::Deploy)));
    let joins = Event::PlanChanged {
        steps: vec![
            step(SetupStep::Credentials),
            step(SetupStep::Kubeconfig),
            step(SetupStep::Validate),
        ],
        why: "the cluster was set up by another machine meanwhile: joining it".into(),
    };
    update(&mut s, Msg::Engine(joins, at(2400, 14, 22)));
    let after: Vec<StepId> = s.run.steps.iter().map(|r| r.id).collect();
    // The finished step stays with its time; nothing of create, deploy or the SSH key is shown
    // as waiting any more.
    assert_eq!(
        after,
        [
            step(SetupStep::StateStore),
            step(SetupStep::Credentials),
            step(SetupStep::Kubeconfig),
            step(SetupStep::Validate)
        ]
    );
    assert!(matches!(s.run.steps[0].status, StepStatus::Finished { .. }));
    assert!(s.log.iter().any(|l| l.contains("joining it")), "{:?}", s.log);
    let words = s.join_words().expect("Done says it joined");
    assert!(words.contains("Joined cluster kops.k8s.local") && words.contains("Not touched"));
}

fn fixture(name: &str) -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui/tui/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A validation attempt from a recorded `kops validate cluster -o json` (see fixtures/).
fn recorded(number: u32, stdout: &str, stderr: &str, elapsed_s: u64) -> Event {
    let groups = validate::parse_instance_groups(&fixture("instancegroups.json")).unwrap();
    let attempt = validate::classify(
        stderr.is_empty() && !stdout.contains("failures"),
        stdout,
        stderr,
        &groups,
    )
    .unwrap();
    Event::Validation(Box::new(Validation {
        number,
        elapsed: Duration::from_secs(elapsed_s),
        wait: Duration::from_secs(600),
        attempt,
    }))
}

fn validating(event: Event) -> State {
    let mut s = running();
    for (ms, e) in [
        (
            2000,
            Event::StepFinished {
                step: step(SetupStep::StateStore),
                elapsed: Duration::from_secs(1),
            },
        ),
        (2100, Event::StepStarted { step: step(SetupStep::SshKey) }),
        (
            2200,
            Event::StepFinished {
                step: step(SetupStep::SshKey),
                elapsed: Duration::from_millis(100),
            },
        ),
        (2300, Event::StepStarted { step: step(SetupStep::Cluster) }),
        (
            3300,
            Event::StepFinished { step: step(SetupStep::Cluster), elapsed: Duration::from_secs(1) },
        ),
        (3400, Event::StepStarted { step: step(SetupStep::Deploy) }),
        (
            5400,
            Event::StepFinished { step: step(SetupStep::Deploy), elapsed: Duration::from_secs(2) },
        ),
        (5500, Event::StepStarted { step: step(SetupStep::Validate) }),
        (6000, event),
    ] {
        update(&mut s, Msg::Engine(e, at(ms, 14, 22)));
    }
    s
}

#[test]
fn a_validation_attempt_sets_the_deadline_in_clock_time() {
    let s = validating(recorded(3, &fixture("validate-joining.json"), "", 200));
    let d = s.run.dashboard.as_ref().unwrap();
    assert_eq!(d.deadline.strftime("%H:%M").to_string(), "14:28", "14:22 + (10m - 3m20s)");
    assert_eq!(d.validation.attempt.phase, validate::Phase::NodesJoining);
}

#[test]
fn the_smoke_panel_follows_each_wait_and_replaces_the_validation_dashboard() {
    use crate::engine::cluster::smoke::Phase;
    let mut s = validating(recorded(4, &fixture("validate-ready.json"), "", 260));
    let smoke = step(SetupStep::SmokeTest);
    let events = [
        Event::StepFinished { step: step(SetupStep::Validate), elapsed: Duration::from_secs(260) },
        Event::StepStarted { step: smoke },
        Event::Smoke { step: smoke, phase: Phase::Applying },
        Event::Smoke { step: smoke, phase: Phase::Pods { ready: 2, wanted: 2 } },
        Event::Smoke { step: smoke, phase: Phase::Address },
        Event::Smoke {
            step: smoke,
            phase: Phase::Balancer {
                name: "k8s-kopswiza-hello-0123456789".into(),
                state: "provisioning".into(),
            },
        },
    ];
    for (i, e) in events.into_iter().enumerate() {
        update(&mut s, Msg::Engine(e, at(270_000 + i as u64 * 1000, 14, 27)));
    }
    let panel = s.run.smoke.clone().unwrap();
    assert_eq!(panel.pods, Some((2, 2)));
    assert_eq!(panel.balancer.as_ref().map(|b| b.1.as_str()), Some("provisioning"));
    assert!(panel.answered.is_empty());
    snap("smoke-waiting", &s);
    for e in [
        Phase::Balancer { name: "k8s-kopswiza-hello-0123456789".into(), state: "active".into() },
        Phase::Targets { healthy: 2, total: 2 },
        Phase::Answers { pods: vec!["hello-5d4c8f7b9c-2xkqp".into()], wanted: 2 },
    ] {
        update(&mut s, Msg::Engine(Event::Smoke { step: smoke, phase: e }, at(280_000, 14, 27)));
    }
    let panel = s.run.smoke.clone().unwrap();
    assert_eq!(panel.targets, Some((2, 2)));
    assert_eq!(panel.answered, vec!["hello-5d4c8f7b9c-2xkqp".to_string()]);
    snap("smoke-answering", &s);
}

#[test]
fn resume_note_names_what_an_earlier_setup_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut journal =
        crate::journal::Journal::open(dir.path(), "kops.k8s.local", "us-east-1").unwrap();
    assert_eq!(super::run::resume_note(&journal), None);
    crate::journal::block_on(journal.record(
        crate::journal::Kind::IamGroup,
        "kops",
        None,
        crate::journal::State::Created,
    ))
    .unwrap();
    crate::journal::block_on(journal.record(
        crate::journal::Kind::Bucket,
        "acme-kops-state",
        None,
        crate::journal::State::Intent,
    ))
    .unwrap();
    let note = super::run::resume_note(&journal).unwrap();
    assert!(note.contains("1 done") && note.contains("1 under way"), "{note}");
    let mut s = wizard();
    s.resume = Some(note);
    snap("credentials-resume", &s);
}

// ---- snapshots ----

#[test]
fn snapshot_credentials() {
    snap("credentials", &checked());
    let mut pending = wizard();
    init(&mut pending);
    snap("credentials-pending", &pending);
    let mut none = start_with(complete(), Source::Defaults);
    none.ctx = Context::default();
    let cmds = init(&mut none);
    for cmd in cmds {
        if let Command::CheckIdentity { id, .. } = cmd {
            update(&mut none, Msg::Checked {
                id,
                result: CheckResult::Identity(Err("sts:GetCallerIdentity failed: no credentials in the environment, the shared files or SSO".into())),
            });
        }
    }
    snap("credentials-none", &none);
}

#[test]
fn snapshot_state_store() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    snap("state-store-free", &s);
    clear_field(&mut s);
    type_text(&mut s, "Bad_Bucket");
    snap("state-store-rule", &s);
    clear_field(&mut s);
    let cmds = type_text(&mut s, "acme-state");
    snap("state-store-pending", &s);
    if let Some(Command::CheckBucket { id, .. }) = cmds.last() {
        update(
            &mut s,
            Msg::Checked { id: *id, result: CheckResult::Bucket(Ok(BucketAccess::Taken.into())) },
        );
    }
    snap("state-store-taken", &s);
    let cmds = type_text(&mut s, "2");
    if let Some(Command::CheckBucket { id, .. }) = cmds.last() {
        update(
            &mut s,
            Msg::Checked { id: *id, result: CheckResult::Bucket(Ok(BucketAccess::Yours.into())) },
        );
    }
    snap("state-store-yours", &s);
    let reused = update::warnings(&s);
    assert!(reused.iter().any(|w| w.contains("setup reuses it")), "{reused:?}");
}

#[test]
fn ctrl_n_picks_a_usable_key_found_in_ssh_dir() {
    let mut s = checked();
    go_to_step(&mut s, Step::SshKey);
    let cmds = update(&mut s, Msg::ChoiceNext);
    assert_eq!(s.answers.ssh.public_key, "~/.ssh/id_ed25519.pub", "the ECDSA key is skipped");
    assert!(
        matches!(cmds.as_slice(), [Command::CheckSsh { public_key, .. }] if public_key == "~/.ssh/id_ed25519.pub")
    );
    assert_eq!(s.value_of(s.focused().unwrap()), "~/.ssh/id_ed25519.pub");
}

#[test]
fn the_ssh_dir_scan_tells_usable_keys_from_others() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    crate::engine::cluster::ssh::generate(&key, crate::answers::KeyType::Ed25519, "dev@test")
        .unwrap();
    std::fs::write(
        dir.path().join("id_ecdsa.pub"),
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY= x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a key").unwrap();
    let found = super::checks::scan_ssh_dir(dir.path(), |p| {
        p.file_name().unwrap().to_string_lossy().into_owned()
    });
    let summary: Vec<(&str, bool)> = found.iter().map(|k| (k.path.as_str(), k.usable)).collect();
    assert_eq!(summary, [("id_ecdsa.pub", false), ("id_ed25519.pub", true)]);
    assert!(found[1].note.starts_with("ed25519 256 SHA256:"), "{}", found[1].note);
}

#[test]
fn snapshot_ssh_key() {
    let mut s = checked();
    go_to_step(&mut s, Step::SshKey);
    snap("ssh-key", &s);
    let cmds = type_text(&mut s, "x");
    assert!(cmds.is_empty(), "a path not ending in .pub is not checked");
    snap("ssh-key-rule", &s);
}

#[test]
fn snapshot_cluster_and_two_sizings() {
    let mut s = checked();
    go_to_step(&mut s, Step::Cluster);
    snap("cluster-default", &s);
    s.focus = 3;
    // A bigger cluster: three control planes, m5.large nodes, private with a bastion.
    for q in ["cluster.control_plane_count", "cluster.node_count"] {
        let question = crate::questions::find(q).unwrap();
        question.set(&mut s.answers, "3").unwrap();
        s.inputs.insert(question.key, tui_input::Input::new("3".into()));
    }
    s.answers.cluster.node_size = "m5.large".into();
    s.answers.cluster.topology = crate::answers::Topology::Private;
    s.answers.cluster.bastion = true;
    s.answers.cluster.zones = vec!["us-east-1a".into(), "us-east-1b".into(), "us-east-1c".into()];
    s.report = crate::rules::check_answers(&s.answers);
    snap("cluster-large", &s);
    s.focus = 1;
    snap("cluster-zones", &s);
}

#[test]
fn snapshot_review_and_script() {
    let mut s = checked();
    s.page = Page::Review;
    snap("review", &s);
    update(&mut s, Msg::ShowScript);
    update(&mut s, Msg::Scroll(5));
    snap("script", &s);
}

#[test]
fn review_shows_the_join_the_state_store_found_and_runs_its_plan() {
    let mut s = checked();
    let mut cmds = Vec::new();
    while s.page != Page::Review {
        cmds = update(&mut s, Msg::Enter);
    }
    // Opening Review asks the state store whether the cluster is someone else's.
    assert_eq!(cmds, vec![Command::CheckCluster]);
    let join = crate::engine::team::join::Join {
        made_by: Some(crate::journal::Author {
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            host: "alice-laptop".into(),
            machine: "0a1b2c3d4e5f".into(),
            wizard: "0.1.0".into(),
            kops: Some("1.36.2".into()),
        }),
        made_at: Some("2026-12-01T10:00:00Z".into()),
        member_user: "kops-dev-9f8e7d".into(),
        unclaimed: false,
    };
    let bucket = s.answers.state_store.bucket.clone().unwrap();
    let cluster = s.answers.cluster.name.clone();
    // An answer about other answers (stale) changes nothing.
    update(
        &mut s,
        Msg::ClusterChecked {
            bucket: "another-bucket".into(),
            cluster: cluster.clone(),
            join: Some(join.clone()),
        },
    );
    assert!(!s.plan().is_join());
    update(&mut s, Msg::ClusterChecked { bucket, cluster, join: Some(join) });
    assert!(s.plan().is_join());
    snap("review-join", &s);
    // The run's rows are the join's: no SSH key, cluster or deploy step.
    update(&mut s, Msg::Enter);
    let rows: Vec<&str> = s.run.steps.iter().map(|r| r.id.short()).collect();
    assert_eq!(rows, ["iam", "kubeconfig", "validate"]);
}

#[test]
fn snapshot_run_and_failure() {
    snap("run", &running());
    let mut s = running();
    update(&mut s, Msg::Engine(Event::StepFailed {
        step: step(SetupStep::StateStore),
        error: "cannot create the bucket acme-kops-state: s3:CreateBucket: AccessDenied\nCheck that the admin credentials may create buckets.".into(),
        elapsed: Duration::from_millis(1400),
    }, at(2500, 14, 22)));
    update(&mut s, Msg::RunEnded(Err("stopped".into())));
    snap("run-failed", &s);
}

#[test]
fn snapshot_validate_dashboard() {
    snap(
        "validate-unreachable",
        &validating(recorded(1, "", &fixture("validate-unreachable.stderr"), 15)),
    );
    snap("validate-dns", &validating(recorded(2, &fixture("validate-dns.json"), "", 75)));
    snap("validate-joining", &validating(recorded(3, &fixture("validate-joining.json"), "", 200)));
    snap("validate-ready", &validating(recorded(4, &fixture("validate-ready.json"), "", 260)));
}

/// A real run's items are long (the key's path, the bucket's settings): at 80x24 they took
/// every row of the page and the dashboard showed only its gauge. Finished steps then give
/// up their items (the log has them) and the dashboard is whole.
#[test]
fn long_step_items_leave_the_validation_dashboard_its_rows_at_80x24() {
    let mut s = validating(recorded(3, &fixture("validate-joining.json"), "", 200));
    let long = "SSH key pair generated: /tmp/.tmpUhEQBq/home/.ssh/kops (private, 0600) and \
                ~/.ssh/kops.pub (ed25519, SHA256:4Ns7O63lxNPd6wYJqgPc06SKwQ4OqtvATxwWpMu/PD8)";
    for step in s.run.steps.iter_mut().filter(|st| matches!(st.status, StepStatus::Finished { .. }))
    {
        step.last = Some(long.to_string());
    }
    let narrow = screen(&s, 80, 24);
    for shown in ["Validate: nodes joining", "attempt 3", "waiting up to 10m", "nodes-us-east-1a"] {
        assert!(narrow.contains(shown), "{shown:?} at 80x24:\n{narrow}");
    }
    assert!(narrow.contains("✔ ssh-key"), "{narrow}");
    assert!(mid_word_breaks(&narrow, 80).is_empty(), "{narrow}");
    // With the room, the items stay.
    let wide = screen(&s, 120, 40);
    assert!(wide.contains("SSH key pair generated") && wide.contains("Validate: nodes"), "{wide}");
}

#[test]
fn snapshot_done_help_quit_and_too_small() {
    let mut s = running();
    update(
        &mut s,
        Msg::RunEnded(Ok(Finished {
            journal: "/home/dev/.local/state/kops-wizard/kops.k8s.local.json".into(),
            state_store: Some("s3://acme-kops-state".into()),
            smoke: Some(crate::journal::LastSmokeTest {
                at: "2026-12-04T14:31:00Z".into(),
                passed: Some(crate::journal::SmokePassed {
                    url: "http://k8s-kopswiza-hello-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com/hostname".into(),
                    load_balancer: "k8s-kopswiza-hello-0123456789".into(),
                    pods: vec!["hello-5d4c8f7b9c-2xkqp".into(), "hello-5d4c8f7b9c-9zt4m".into()],
                }),
                failed: None,
            }),
        })),
    );
    snap("done", &s);
    // A locale that is not UTF-8: the same screen, every cell ASCII.
    let mut ascii = s.clone();
    ascii.ascii = true;
    let text = screen(&ascii, 80, 24);
    assert!(text.is_ascii(), "{text}");
    insta::assert_snapshot!("done-ascii-80x24", text);
    let out = super::run::summary(&s);
    assert!(
        out.summary.contains("hello-5d4c8f7b9c-2xkqp, hello-5d4c8f7b9c-9zt4m"),
        "{}",
        out.summary
    );
    // What is copied is whole and on a line of its own: on the screen, where a row too long
    // is cut at the edge rather than broken, and in the summary printed after.
    let url = "http://k8s-kopswiza-hello-0123456789-abcdef0123456789.elb.us-east-1.amazonaws.com/hostname";
    let mut copied = view::done_usage(&s);
    copied.push(format!("curl {url}"));
    for line in &copied {
        assert!(out.summary.lines().any(|l| l.trim() == line), "{line}:\n{}", out.summary);
        let wide = screen(&s, 120, 40);
        assert!(
            wide.lines().any(|row| row.rsplit('│').next().map(str::trim) == Some(line)),
            "{wide}"
        );
        let narrow = screen(&s, 80, 24);
        let head: String = line.chars().take(80).collect();
        assert!(narrow.lines().any(|row| row == head), "{line}:\n{narrow}");
    }

    let mut s = checked();
    go_to_step(&mut s, Step::Cluster);
    s.focus = 3;
    update(&mut s, Msg::Help);
    snap("help", &s);

    let mut s = running();
    update(&mut s, Msg::Quit);
    snap("quit", &s);

    let s = checked();
    insta::assert_snapshot!("too-small-79x24", screen(&s, 79, 24));
    insta::assert_snapshot!("too-small-100x20", screen(&s, 100, 20));
}

#[test]
fn the_step_list_is_a_sidebar_from_100_columns_and_one_line_below() {
    let s = checked();
    let narrow = screen(&s, 99, 30);
    let wide = screen(&s, 100, 30);
    assert!(narrow.contains(" Step 1 of 7: ▶ ·") && !narrow.contains("┌ Steps"), "{narrow}");
    assert!(wide.contains("┌ Steps") && !wide.contains("Step 1 of 7"), "{wide}");
    insta::assert_snapshot!("credentials-99x30", narrow);
    insta::assert_snapshot!("credentials-100x30", wide);
}

#[test]
fn the_log_pane_takes_no_rows_while_it_is_empty() {
    let s = checked();
    assert!(s.log.is_empty());
    assert!(!screen(&s, 80, 24).contains("Log"), "{}", screen(&s, 80, 24));
    let s = running();
    assert!(screen(&s, 80, 24).contains("┌ Log"), "{}", screen(&s, 80, 24));
}

#[test]
fn a_terminal_too_small_names_the_minimum_and_a_resize_brings_the_page_back() {
    let mut s = checked();
    update(&mut s, Msg::Resize(79, 24));
    assert!(s.too_small());
    let small = screen(&s, 79, 24);
    assert!(small.contains("needs at least 80x24; this terminal is 79x24"), "{small}");
    update(&mut s, Msg::Resize(80, 24));
    assert!(!s.too_small());
    assert!(screen(&s, 80, 24).contains("Step 1 of 7"));
}

#[test]
fn a_retry_keeps_each_steps_time_from_the_attempts_before() {
    let mut s = running();
    let failed = Event::StepFailed {
        step: step(SetupStep::Credentials),
        error: "AccessDenied".into(),
        elapsed: Duration::from_millis(1400),
    };
    update(&mut s, Msg::Engine(failed, at(2500, 14, 22)));
    update(&mut s, Msg::RunEnded(Err("AccessDenied".into())));
    update(&mut s, Msg::Retry);
    // The rerun finds the bucket done in the journal: a quick pass, added to the first
    // attempt's.
    for (ms, e) in [
        (3000, Event::StepStarted { step: step(SetupStep::StateStore) }),
        (
            3100,
            Event::StepFinished {
                step: step(SetupStep::StateStore),
                elapsed: Duration::from_millis(100),
            },
        ),
        (3200, Event::StepStarted { step: step(SetupStep::Credentials) }),
    ] {
        update(&mut s, Msg::Engine(e, at(ms, 14, 22)));
    }
    update(&mut s, Msg::Tick(at(3700, 14, 22)));
    let text = screen(&s, 80, 24);
    let row = |name: &str| {
        text.lines().find(|l| l.contains(&format!(" {name} "))).unwrap_or_default().to_string()
    };
    assert!(row("state-store").contains("0.9s"), "0.8s + 0.1s:\n{text}");
    assert!(row("iam").contains("1.9s"), "1.4s + 0.5s running:\n{text}");
}

#[test]
fn the_footer_drops_keys_that_do_not_fit_but_keeps_help_and_quit() {
    let keys =
        vec![("Enter", "next"), ("Tab", "field"), ("Esc", "back"), ("F1", "help"), ("^C", "quit")];
    assert_eq!(view::fitting_keys(keys.clone(), 80), keys);
    let fitted: Vec<&str> = view::fitting_keys(keys, 31).into_iter().map(|(k, _)| k).collect();
    assert_eq!(fitted, ["Enter", "F1", "^C"]);
}

#[test]
fn the_secret_is_never_on_screen_and_keys_are_masked() {
    let mut s = checked();
    s.ctx.env_key = Some(crate::questions::mask_key("AKIAIOSFODNN7EXAMPLE"));
    let text = screen(&s, 120, 40);
    assert!(text.contains("…MPLE"), "{text}");
    assert!(!text.contains("AKIAIOSFODNN7"), "{text}");
}

#[test]
fn footer_names_the_keys_that_work_now() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    let keys: Vec<&str> = view::footer_keys(&s).into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&"F1") && !keys.contains(&"q"), "a text field: q types, F1 helps");
    s.focus = 1;
    let keys: Vec<&str> = view::footer_keys(&s).into_iter().map(|(k, _)| k).collect();
    assert!(keys.contains(&"Space") && keys.contains(&"q"));
    let _ = update::secs(Duration::ZERO);
}

#[test]
fn dry_run_ends_on_review_with_the_plan_and_a_failed_run_quits_with_1() {
    let mut s = checked();
    s.dry_run = true;
    s.page = Page::Review;
    assert_eq!(update(&mut s, Msg::Enter), vec![Command::Exit]);
    assert_eq!(s.exit, Some(Exit::DryRun));
    let out = super::run::summary(&s);
    assert_eq!(out.code, 0);
    assert!(out.summary.contains("kops create cluster"), "{}", out.summary);

    let mut s = running();
    update(&mut s, Msg::RunEnded(Err("kops not found on PATH".into())));
    assert_eq!(s.run.error.as_deref(), Some("kops not found on PATH"), "a failure before any step");
    assert_eq!(update(&mut s, Msg::Quit), vec![Command::Exit], "nothing runs: no question");
    let out = super::run::summary(&s);
    assert_eq!(out.code, crate::exit::FAILED);
    assert!(out.summary.contains("Last error: kops not found on PATH"), "{}", out.summary);
}

mod teardown;

#[test]
fn a_log_line_taller_than_the_log_pane_shows_its_start() {
    let mut s = wizard();
    let words: Vec<String> = (0..120).map(|i| format!("w{i}")).collect();
    s.log.push(format!("[i] aws: START {}", words.join(" ")));
    let text = screen(&s, 80, 24);
    // The pane holds 4 rows of the line's 6 or more: its first, not its last.
    assert!(text.contains("[i] aws: START w0 w1"), "{text}");
    assert!(!text.contains("w119"), "{text}");
}

#[test]
fn review_says_unsaved_answers_in_the_line_modes_words_and_how_to_save_them() {
    let mut s = checked();
    s.page = Page::Review;
    s.unsaved = true;
    let shown = screen(&s, 120, 40);
    let words = crate::ui::review::answers_from(&s.source, true);
    assert!(shown.contains(&format!("{words}: s saves them")), "{shown}");
    // At 80x24 the line wraps at a space, its words whole.
    let small = screen(&s, 80, 24);
    // The words alone: borders and the scroll bar left out.
    let frame = |w: &&str| w.chars().all(|c| "│▲▼█║".contains(c));
    let flat = small.split_whitespace().filter(|w| !frame(w)).collect::<Vec<_>>().join(" ");
    assert!(flat.contains("changed in this session and not saved: s saves them"), "{small}");
    s.unsaved = false;
    assert!(!screen(&s, 120, 40).contains("not saved"));
}

/// The bucket's check found the answers' cluster there, set up on another machine.
fn team_bucket(settings: bool) -> CheckResult {
    let found = crate::ui::checks::BucketFound {
        access: BucketAccess::Yours,
        clusters: vec![crate::engine::team::join::InBucket {
            name: "kops.k8s.local".into(),
            whose: "set up by arn:aws:iam::123456789012:user/alice on alice-laptop at \
                    2026-12-01T10:00:00Z"
                .into(),
            settings: settings.then(|| crate::journal::ClusterSettings {
                zones: vec!["us-east-1a".into(), "us-east-1b".into()],
                networking: "cilium".into(),
                control_plane_size: "t3.large".into(),
                control_plane_count: 3,
                node_size: "m5.large".into(),
                node_count: 4,
                topology: "private".into(),
                bastion: true,
                dns_zone: None,
                kubernetes_version: Some("1.33.4".into()),
            }),
            ours: false,
        }],
    };
    CheckResult::Bucket(Ok(found))
}

#[test]
fn a_bucket_holding_the_teams_cluster_says_so_and_the_join_asks_no_ssh_key_or_sizes() {
    let mut s = checked();
    go_to_step(&mut s, Step::StateStore);
    // The bucket's check (asked again, as on any change of the name) finds the cluster there.
    s.checks.bucket = CheckState::Pending(99);
    update(&mut s, Msg::Checked { id: 99, result: team_bucket(true) });
    let page = screen(&s, 120, 40);
    assert!(page.contains("holds cluster kops.k8s.local, set up by"), "{page}");
    assert!(page.contains("setup joins it"), "{page}");
    snap("bucket-team", &s);
    // No SSH key page: Enter on the bucket's last field goes to the Cluster page.
    assert!(!s.pages().contains(&Page::Step(Step::SshKey)));
    while s.page == Page::Step(Step::StateStore) {
        update(&mut s, Msg::Enter);
    }
    assert_eq!(s.page, Page::Step(Step::Cluster));
    // Only the name is asked; the sizes are the cluster's own, read-only.
    let keys: Vec<&str> = s.step_questions().iter().map(|q| q.key).collect();
    assert_eq!(keys, ["cluster.name"]);
    let page = screen(&s, 120, 40);
    for shown in ["3 × t3.large", "4 × m5.large", "private, with a bastion", "1.33.4"] {
        assert!(page.contains(shown), "{shown}:\n{page}");
    }
    assert!(!page.contains("Estimated monthly cost"), "a join makes no instances:\n{page}");
    snap("cluster-join", &s);
    update(&mut s, Msg::Back);
    assert_eq!(s.page, Page::Step(Step::StateStore), "Esc skips the SSH key page too");
    // Another name is a new cluster: every question again.
    s.page = Page::Step(Step::Cluster);
    s.answers.cluster.name = "new.k8s.local".into();
    assert!(s.joining().is_none());
    assert!(s.step_questions().len() > 1);
    assert!(s.pages().contains(&Page::Step(Step::SshKey)));
}

#[test]
fn review_asks_to_claim_a_cluster_whose_record_names_no_machine() {
    let mut s = checked();
    s.page = Page::Review;
    let join = crate::engine::team::join::Join {
        made_by: None,
        made_at: Some("2026-12-01T10:00:00Z".into()),
        member_user: "kops-dev-9f8e7d6c".into(),
        unclaimed: true,
    };
    let bucket = s.answers.state_store.bucket.clone().unwrap();
    let cluster = s.answers.cluster.name.clone();
    update(&mut s, Msg::ClusterChecked { bucket, cluster, join: Some(join) });
    assert!(s.plan().is_join(), "unclaimed: joining is the safe default");
    let page = screen(&s, 100, 30);
    assert!(page.contains("c: this machine set it up (claim it)"), "{page}");
    let c = crossterm::event::Event::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('c'),
        crossterm::event::KeyModifiers::NONE,
    ));
    assert_eq!(super::keys::from_event(&c, super::keys::Mode::of(&s)), Some(Msg::Claim));
    update(&mut s, Msg::Claim);
    assert!(s.claim && !s.plan().is_join(), "claimed: setup continues it");
    assert!(screen(&s, 100, 30).contains("Claimed: this machine set it up"));
    update(&mut s, Msg::Claim);
    assert!(!s.claim && s.plan().is_join());
}
