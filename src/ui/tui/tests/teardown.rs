//! The guided teardown driven as a user would: the inventory from a journal's plan, the typed
//! name, the toggles, the engine's events, the result; and the offer on the first page when
//! the journal shows a finished setup. Frames are snapshots at 80x24 and 120x40.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::engine::cluster::kops::CloudResource;
use crate::engine::store::bucket::Contents;
use crate::engine::teardown::{BucketContents, Inventory, inventory_of};
use crate::journal::{Journal, Kind, LastValidation, State as Entry};
use crate::plan::{Holds, Plan, TeardownOptions, TeardownStep};
use crate::ui::tui::run::{existing_note, summary};
use crate::ui::tui::teardown::{CloudState, Ended, Focus};

const CLUSTER: &str = "kops.k8s.local";

/// What a finished setup leaves in the journal.
fn journal() -> Journal {
    let a = complete();
    let mut j = Journal::detached(&a.cluster.name, &a.aws.region);
    j.state_store = Some("s3://acme-kops-state".into());
    let mut add = |kind, id: &str, detail: Option<&str>| j.push(kind, id, detail, Entry::Created);
    add(Kind::IamGroup, "kops", None);
    for arn in &a.iam.policies {
        add(Kind::IamPolicyAttachment, "kops", Some(arn));
    }
    add(Kind::IamUser, "kops", None);
    add(Kind::IamGroupMembership, "kops", Some("kops"));
    add(Kind::AccessKey, "kops", Some("AKIAEXAMPLEKEY123456"));
    add(Kind::Profile, "kops", None);
    add(Kind::Bucket, "acme-kops-state", None);
    add(Kind::SshKey, "~/.ssh/kops.pub", None);
    add(Kind::Cluster, CLUSTER, None);
    add(Kind::ClusterDeployed, CLUSTER, None);
    j.last_validation = Some(LastValidation {
        at: "2026-12-01T10:12:00Z".into(),
        phase: "ready".into(),
        ready_nodes: 2,
        expected_nodes: 2,
        failures: Vec::new(),
    });
    j
}

/// kops's preview of a small cluster, as the stand-in lists it.
fn cloud() -> Vec<CloudResource> {
    let r = |kind: &str, name: &str, id: &str| CloudResource {
        kind: kind.into(),
        name: name.into(),
        id: id.into(),
    };
    vec![
        r(
            "autoscaling-group",
            "control-plane-us-east-1a.masters.kops.k8s.local",
            "control-plane-us-east-1a.masters.kops.k8s.local",
        ),
        r(
            "autoscaling-group",
            "nodes-us-east-1a.kops.k8s.local",
            "nodes-us-east-1a.kops.k8s.local",
        ),
        r("instance", "control-plane-us-east-1a.masters.kops.k8s.local", "i-0a1b2c3d4e5f60001"),
        r("instance", "nodes-us-east-1a.kops.k8s.local", "i-0a1b2c3d4e5f60002"),
        r("volume", "a.etcd-main.kops.k8s.local", "vol-0aa0000000000001"),
        r("volume", "a.etcd-events.kops.k8s.local", "vol-0aa0000000000002"),
        r("keypair", "kubernetes.kops.k8s.local-c4:a1", "key-0c4a1"),
        r("security-group", "masters.kops.k8s.local", "sg-0000000000000001"),
        r("security-group", "nodes.kops.k8s.local", "sg-0000000000000002"),
        r("subnet", "us-east-1a.kops.k8s.local", "subnet-00000000000001"),
        r("route-table", "kops.k8s.local", "rtb-00000000000001"),
        r("internet-gateway", "kops.k8s.local", "igw-00000000000001"),
        r("vpc", "kops.k8s.local", "vpc-00000000000001"),
    ]
}

fn buckets() -> Vec<BucketContents> {
    vec![BucketContents {
        bucket: "acme-kops-state".into(),
        all: Contents { versions: 48, delete_markers: 3 },
        cluster: Contents { versions: 48, delete_markers: 3 },
    }]
}

fn inventory_with(opts: TeardownOptions) -> Inventory {
    let j = journal();
    let plan = Plan::teardown(&complete(), Some(&j), opts, &Holds::default());
    let mut inv = inventory_of(&plan, &j, &cloud(), &buckets(), opts);
    inv.journal = PathBuf::from("/home/dev/.local/state/kops-wizard/journal/kops.k8s.local.json");
    inv
}

/// `kops-wizard teardown` as it opens, before the engine has answered.
fn opening() -> State {
    let mut s = wizard();
    s.teardown = Some(crate::ui::tui::teardown::Teardown::new(TeardownOptions::default()));
    s.page = Page::Inventory;
    s
}

/// The inventory on screen, the identity known.
fn inventory() -> State {
    let mut s = opening();
    let cmds = init(&mut s);
    assert!(cmds.contains(&Command::PrepareTeardown(TeardownOptions::default())), "{cmds:?}");
    answer_checks(&mut s, cmds);
    update(&mut s, Msg::Prepared(Ok(inventory_with(TeardownOptions::default()))));
    s
}

fn teardown(s: &State) -> &crate::ui::tui::teardown::Teardown {
    s.teardown.as_ref().unwrap()
}

fn tstep(t: TeardownStep) -> StepId {
    StepId::Teardown(t)
}

fn engine(s: &mut State, ms: u64, event: Event) {
    update(s, Msg::Engine(event, Now { ms, clock: jiff::civil::time(10, 30, 0, 0) }));
}

/// Confirmed: the rows on screen, kops deleting.
fn deleting() -> State {
    let mut s = inventory();
    type_text(&mut s, CLUSTER);
    let cmds = update(&mut s, Msg::Enter);
    assert_eq!(cmds, vec![Command::StartTeardown]);
    // The Services' load balancers go first.
    let services = tstep(TeardownStep::DeleteServices);
    engine(&mut s, 0, Event::StepStarted { step: services });
    engine(&mut s, 0, Event::ActionStarted { step: services, index: 0 });
    let elapsed = Duration::from_millis(900);
    engine(&mut s, 0, Event::ActionFinished { step: services, index: 0, elapsed });
    engine(&mut s, 0, Event::StepFinished { step: services, elapsed });
    let cluster = tstep(TeardownStep::DeleteCluster);
    engine(&mut s, 0, Event::StepStarted { step: cluster });
    engine(&mut s, 10, Event::ActionStarted { step: cluster, index: 1 });
    s
}

/// kops's first round: the instances and their groups went; the network waits on them.
fn first_round(s: &mut State) {
    let cluster = tstep(TeardownStep::DeleteCluster);
    for (i, r) in cloud().iter().enumerate() {
        if matches!(r.kind.as_str(), "autoscaling-group" | "instance" | "keypair") {
            let resource = format!("{}:{}", r.kind, r.id);
            let elapsed = Duration::from_millis(800 + 300 * i as u64);
            engine(s, 2000, Event::CloudDeleted { step: cluster, resource, elapsed });
        }
    }
    let blocked = [
        "security-group:sg-0000000000000001",
        "security-group:sg-0000000000000002",
        "subnet:subnet-00000000000001",
        "internet-gateway:igw-00000000000001",
        "vpc:vpc-00000000000001",
        "volume:vol-0aa0000000000001",
    ];
    engine(
        s,
        2100,
        Event::CloudBlocked {
            step: cluster,
            resources: blocked.iter().map(|b| b.to_string()).collect(),
        },
    );
    update(s, Msg::Tick(Now { ms: 12_400, clock: jiff::civil::time(10, 30, 12, 0) }));
}

/// Everything kops listed is gone; the bucket is emptying.
fn emptying() -> State {
    let mut s = deleting();
    first_round(&mut s);
    let cluster = tstep(TeardownStep::DeleteCluster);
    for r in cloud() {
        let resource = format!("{}:{}", r.kind, r.id);
        if teardown(&s).deleted.contains_key(&resource) {
            continue;
        }
        engine(
            &mut s,
            20_000,
            Event::CloudDeleted { step: cluster, resource, elapsed: Duration::from_secs(19) },
        );
    }
    engine(&mut s, 20_100, Event::CloudBlocked { step: cluster, resources: vec![] });
    engine(
        &mut s,
        20_200,
        Event::ActionFinished { step: cluster, index: 1, elapsed: Duration::from_secs(20) },
    );
    engine(&mut s, 20_200, Event::StepFinished { step: cluster, elapsed: Duration::from_secs(20) });
    let store = tstep(TeardownStep::DeleteStateStore);
    engine(&mut s, 20_300, Event::StepStarted { step: store });
    engine(&mut s, 20_300, Event::ActionStarted { step: store, index: 0 });
    engine(&mut s, 21_000, Event::Progress { step: store, index: 0, done: 40, total: 68 });
    update(&mut s, Msg::Tick(Now { ms: 21_500, clock: jiff::civil::time(10, 30, 21, 0) }));
    s
}

/// Every action of the plan finished.
fn all_done(s: &mut State) {
    let rows: Vec<(StepId, usize)> = teardown(s).rows.iter().map(|r| (r.step, r.index)).collect();
    for (step, index) in rows {
        engine(
            s,
            30_000,
            Event::ActionFinished { step, index, elapsed: Duration::from_millis(250) },
        );
    }
}

/// The inventory with a LoadBalancer Service whose address is longer than an 80-column row.
#[test]
fn a_long_load_balancer_address_wraps_inside_the_inventory_and_keeps_its_words() {
    let mut s = opening();
    let cmds = init(&mut s);
    answer_checks(&mut s, cmds);
    let mut inv = inventory_with(TeardownOptions::default());
    let address = "k8s-kops-wiz-hello-5f0b877df5-1.us-east-1.elb.amazonaws.com";
    inv.kubernetes =
        Some(crate::engine::teardown::KubeFound::Api(crate::engine::cluster::smoke::KubeCloud {
            services: vec![("kops-wizard-smoke/hello".into(), Some(address.into()))],
            volumes: Vec::new(),
        }));
    update(&mut s, Msg::Prepared(Ok(inv)));
    // Tall enough for the whole list: every row of it is on screen.
    let text = screen(&s, 80, 90);
    assert!(text.contains(address), "{text}");
    let words: Vec<&str> = text.split(|c: char| c.is_whitespace() || c == '│').collect();
    let words = words.into_iter().filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    assert!(words.contains(&format!("{address}): deleted first")), "every word whole:\n{text}");
    assert!(mid_word_breaks(&text, 80).is_empty(), "{:?}\n{text}", mid_word_breaks(&text, 80));
    // Inside the page's box no row's text reaches the column before its right border.
    for row in text.lines().filter(|r| r.starts_with('│') && r.ends_with('│')) {
        let cells: Vec<char> = row.chars().collect();
        assert_eq!(cells.len(), 80, "{row:?}");
        assert!(!cells[78].is_alphanumeric(), "a row runs into the border: {row:?}\n{text}");
    }
}

// ---- update ----

#[test]
fn teardown_opens_on_the_name_field_and_a_wrong_name_deletes_nothing() {
    let mut s = inventory();
    assert_eq!(teardown(&s).focus, Focus::Name);
    assert_eq!(crate::ui::tui::keys::Mode::of(&s), crate::ui::tui::keys::Mode::Text);
    // Typing `q` types it: the field has the keys.
    type_text(&mut s, "kops.k8s.loca");
    let cmds = update(&mut s, Msg::Enter);
    assert!(cmds.is_empty(), "{cmds:?}");
    assert_eq!(s.page, Page::Inventory);
    let refused = teardown(&s).refused.clone().unwrap();
    assert!(
        refused.contains("\"kops.k8s.loca\" is not the cluster's name")
            && refused.contains("nothing was deleted"),
        "{refused}"
    );
    snap("teardown-wrong-name", &s);

    // Empty: says so too.
    update(&mut s, Msg::Edit(InputRequest::DeleteLine));
    assert!(update(&mut s, Msg::Enter).is_empty());
    assert!(teardown(&s).refused.as_deref().unwrap().starts_with("type the cluster's name"));

    type_text(&mut s, CLUSTER);
    assert_eq!(teardown(&s).refused, None, "typing clears the refusal");
    assert_eq!(update(&mut s, Msg::Enter), vec![Command::StartTeardown]);
    assert_eq!(s.page, Page::Deleting);
    assert!(s.quit_needs_asking(), "quitting while deleting asks first");
}

#[test]
fn toggles_replan_through_the_engine_and_enter_waits_for_the_new_plan() {
    let mut s = inventory();
    update(&mut s, Msg::NextField);
    assert_eq!(teardown(&s).focus, Focus::Toggle(crate::ui::tui::teardown::Toggle::KeepBucket));
    let keep = TeardownOptions { keep_bucket: true, ..Default::default() };
    assert_eq!(update(&mut s, Msg::Toggle), vec![Command::TeardownOptions(keep)]);
    // Back on the name: the right name must not start the plan that is no longer on screen.
    update(&mut s, Msg::PrevField);
    type_text(&mut s, CLUSTER);
    assert!(update(&mut s, Msg::Enter).is_empty(), "started before the engine replanned");
    update(&mut s, Msg::Prepared(Ok(inventory_with(keep))));
    let inv = teardown(&s).ready().unwrap().clone();
    assert!(inv.kept.iter().any(|k| k.contains("--keep-bucket")), "{:?}", inv.kept);
    let texts: Vec<&str> = inv
        .steps
        .iter()
        .flat_map(|st| st.actions.iter().flatten())
        .map(|i| i.text.as_str())
        .collect();
    assert!(!texts.contains(&"bucket acme-kops-state"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("under kops.k8s.local/ in acme-kops-state")),
        "{texts:?}"
    );
    assert_eq!(update(&mut s, Msg::Enter), vec![Command::StartTeardown]);
}

#[test]
fn space_on_a_resource_type_expands_it_to_names_and_ids() {
    let mut s = inventory();
    for _ in 0..4 {
        update(&mut s, Msg::NextField);
    }
    assert_eq!(teardown(&s).focus, Focus::Type(0));
    snap("teardown-inventory", &inventory());
    update(&mut s, Msg::NextField);
    assert!(update(&mut s, Msg::Toggle).is_empty());
    assert!(teardown(&s).expanded.contains("instance"));
    let screen = screen(&s, 120, 40);
    assert!(
        screen.contains("i-0a1b2c3d4e5f60001")
            && screen.contains("nodes-us-east-1a.kops.k8s.local"),
        "{screen}"
    );
    snap("teardown-inventory-expanded", &s);
    update(&mut s, Msg::Toggle);
    assert!(teardown(&s).expanded.is_empty());
}

#[test]
fn kops_rounds_show_deleted_and_blocked_types_as_they_change() {
    let mut s = deleting();
    let states = |s: &State| -> Vec<(String, CloudState)> {
        teardown(s).cloud_rows().into_iter().map(|c| (c.kind, c.state)).collect()
    };
    assert!(states(&s).iter().all(|(_, st)| *st == CloudState::Deleting), "{:?}", states(&s));
    first_round(&mut s);
    let now = states(&s);
    let of = |k: &str| now.iter().find(|(kind, _)| kind == k).unwrap().1;
    assert!(matches!(of("instance"), CloudState::Deleted(_)));
    assert_eq!(of("security-group"), CloudState::Blocked(2));
    assert_eq!(of("vpc"), CloudState::Blocked(1));
    assert_eq!(of("route-table"), CloudState::Deleting, "not reported: still being deleted");
    snap("teardown-blocked", &s);

    // The set shrinks on the next round; a deleted resource leaves it at once.
    let cluster = tstep(TeardownStep::DeleteCluster);
    engine(
        &mut s,
        13_000,
        Event::CloudDeleted {
            step: cluster,
            resource: "vpc:vpc-00000000000001".into(),
            elapsed: Duration::from_secs(13),
        },
    );
    assert!(!teardown(&s).blocked.iter().any(|b| b.starts_with("vpc:")));
}

#[test]
fn the_bucket_gauge_counts_versions_deleted_of_all() {
    let s = emptying();
    let row = teardown(&s)
        .rows
        .iter()
        .find(|r| r.step == tstep(TeardownStep::DeleteStateStore) && r.index == 0)
        .unwrap();
    assert_eq!(row.progress, Some((40, 68)));
    let screen = screen(&s, 120, 40);
    assert!(screen.contains("40/68 versions deleted"), "{screen}");
    snap("teardown-bucket-gauge", &s);
}

#[test]
fn nothing_left_is_exit_0_and_a_leftover_is_exit_1_naming_it() {
    let mut s = emptying();
    all_done(&mut s);
    update(&mut s, Msg::TeardownEnded(Ended::Checked(vec![], vec![])));
    assert_eq!(s.page, Page::Result);
    snap("teardown-nothing-left", &s);
    let out = summary(&s);
    assert_eq!(out.code, 0, "{}", out.summary);
    assert!(out.summary.contains("nothing left that the wizard created"), "{}", out.summary);

    // A PersistentVolume's disk is kept: exit 0, and named on the page and in the summary.
    let mut s = emptying();
    all_done(&mut s);
    let disk = "EBS volume vol-0pv0000000000001 (made for PersistentVolume pvc-data)".to_string();
    update(&mut s, Msg::TeardownEnded(Ended::Checked(vec![], vec![disk.clone()])));
    snap("teardown-kept-disk", &s);
    assert!(screen(&s, 120, 40).contains("vol-0pv0000000000001"));
    let out = summary(&s);
    assert_eq!(out.code, 0, "{}", out.summary);
    assert!(out.summary.contains(&disk), "{}", out.summary);

    let mut s = emptying();
    all_done(&mut s);
    update(
        &mut s,
        Msg::TeardownEnded(Ended::Checked(vec!["bucket acme-kops-state".into()], vec![])),
    );
    snap("teardown-leftovers", &s);
    let out = summary(&s);
    assert_eq!(out.code, 1);
    assert!(out.summary.contains("  - bucket acme-kops-state"), "{}", out.summary);
}

#[test]
fn a_kops_failure_names_what_is_still_there_and_that_a_rerun_continues() {
    let mut s = deleting();
    first_round(&mut s);
    let cluster = tstep(TeardownStep::DeleteCluster);
    let error = "kops could not delete cluster kops.k8s.local: kops delete cluster failed (exit 1): \
                 wait time exceeded during resources deletion\nThe state bucket and IAM are left as \
                 they are: the bucket still holds the cluster's state. Run `kops-wizard teardown` again \
                 to continue.";
    engine(
        &mut s,
        30_000,
        Event::StepFailed { step: cluster, error: error.into(), elapsed: Duration::from_secs(30) },
    );
    update(&mut s, Msg::TeardownEnded(Ended::Failed(error.into())));
    assert_eq!(s.page, Page::Result);
    let left = teardown(&s).still_there();
    assert_eq!(left.len(), 4, "one line per step not done: {left:?}");
    assert!(left[0].starts_with("Cluster: cluster kops.k8s.local and its cloud resources: 2 × volume, 2 × security-group, 1 × subnet"), "{left:?}");
    assert!(!left[0].contains("instance"), "the instances were deleted: {left:?}");
    assert!(left[1].contains("access key AKIAEXAMPLEKEY123456 of user kops"), "{left:?}");
    assert!(left[1].contains("7 policy attachments on group kops"), "{left:?}");
    assert!(left[2].starts_with("Profile: AWS profile kops"), "{left:?}");
    assert!(left[3].contains("bucket acme-kops-state"), "{left:?}");
    snap("teardown-kops-failed", &s);
    let out = summary(&s);
    assert_eq!(out.code, 1);
    assert!(
        out.summary.contains("Run `kops-wizard teardown` again to continue"),
        "{}",
        out.summary
    );
    assert!(out.summary.contains("Still there:"), "{}", out.summary);
}

#[test]
fn quitting_before_the_name_is_130_and_deletes_nothing() {
    let mut s = inventory();
    let cmds = update(&mut s, Msg::Quit);
    assert_eq!(cmds, vec![Command::Exit], "nothing runs yet: no question, no stop");
    let out = summary(&s);
    assert_eq!(out.code, 130);
    assert!(out.summary.contains("quit before deleting anything"), "{}", out.summary);

    let mut s = deleting();
    assert!(update(&mut s, Msg::Quit).is_empty());
    assert_eq!(s.overlay, Some(Overlay::Quit));
    assert_eq!(update(&mut s, Msg::Answer(true)), vec![Command::StopRun, Command::Exit]);
    let out = summary(&s);
    assert_eq!(out.code, 130);
    assert!(out.summary.contains("again to continue"), "{}", out.summary);
}

#[test]
fn a_prepare_failure_is_shown_and_nothing_can_start() {
    let mut s = opening();
    snap("teardown-preparing", &s);
    update(&mut s, Msg::Prepared(Err("no journal for cluster kops.k8s.local in /home/dev/.local/state/kops-wizard: the wizard has not set it up with this state dir, so it deletes nothing".into())));
    type_text(&mut s, CLUSTER);
    assert!(update(&mut s, Msg::Enter).is_empty());
    let screen = screen(&s, 80, 24);
    assert!(screen.contains("Teardown cannot start") && screen.contains("no journal"), "{screen}");
    update(&mut s, Msg::Quit);
    let out = summary(&s);
    assert_eq!(out.code, 1, "{}", out.summary);
    assert!(out.summary.contains("teardown cannot start: no journal"), "{}", out.summary);
}

#[test]
fn nothing_to_delete_says_so_and_quits_with_0() {
    let mut s = opening();
    let mut done = journal();
    for e in &mut done.entries {
        e.state = Entry::Deleted;
    }
    let plan =
        Plan::teardown(&complete(), Some(&done), TeardownOptions::default(), &Holds::default());
    let inv = inventory_of(&plan, &done, &[], &[], TeardownOptions::default());
    assert!(inv.is_empty(), "{inv:?}");
    update(&mut s, Msg::Prepared(Ok(inv)));
    type_text(&mut s, CLUSTER);
    assert!(update(&mut s, Msg::Enter).is_empty(), "nothing to start");
    assert!(screen(&s, 80, 24).contains("Nothing to delete"));
    update(&mut s, Msg::Quit);
    assert_eq!(summary(&s).code, 0);
}

// ---- the offer on the first page ----

fn with_finished_setup() -> State {
    let mut a = complete();
    a.cluster.name = CLUSTER.into();
    let mut s = start_with(a, Source::File(PathBuf::from("/home/dev/answers.toml")));
    s.existing = existing_note(&journal());
    s.page = Page::Existing;
    s
}

#[test]
fn a_finished_setup_offers_revalidate_teardown_or_start_over() {
    let note = existing_note(&journal()).unwrap();
    assert!(note.contains("validated at 2026-12-01T10:12:00Z with 2/2 nodes ready"), "{note}");
    let mut unfinished = journal();
    unfinished.last_validation = None;
    assert_eq!(existing_note(&unfinished), None, "a setup that never validated resumes instead");

    let s = with_finished_setup();
    snap("existing-offer", &s);

    let mut s = with_finished_setup();
    update(&mut s, Msg::NextField);
    assert_eq!(
        update(&mut s, Msg::Enter),
        vec![Command::PrepareTeardown(TeardownOptions::default())]
    );
    assert_eq!(s.page, Page::Inventory);
    update(&mut s, Msg::Back);
    assert_eq!(
        (s.page, s.teardown.is_none()),
        (Page::Existing, true),
        "Esc goes back to the offer"
    );

    let mut s = with_finished_setup();
    assert_eq!(update(&mut s, Msg::Enter), vec![Command::StartRun]);
    assert_eq!(s.only, vec![SetupStep::Validate]);
    assert_eq!(s.page, Page::Run);

    let mut s = with_finished_setup();
    send(&mut s, &[Msg::PrevField, Msg::Enter]);
    assert_eq!(s.page, Page::Step(Step::Credentials));
}

#[test]
fn the_inventory_names_who_set_the_cluster_up() {
    let mut s = opening();
    let mut inv = inventory_with(TeardownOptions::default());
    inv.made_by = Some(
        "set up by arn:aws:iam::123456789012:user/alice on alice-laptop at 2026-12-01T10:00:00Z"
            .into(),
    );
    if let Some(t) = &mut s.teardown {
        t.inventory = Some(Ok(inv));
    }
    let screen = super::screen(&s, 80, 24);
    assert!(screen.contains("Cluster kops.k8s.local: set up by"), "{screen}");
    assert!(screen.contains("alice-laptop"), "{screen}");
}

/// The first screen, at 80x24 as at 120x40, says the whole of what goes: a line a step with
/// the names that matter (the cluster and how many cloud resources, the IAM user and group,
/// the profile, the bucket and how many object versions it holds), however long kops's list.
#[test]
fn the_inventory_opens_with_every_step_on_the_first_screen_at_80x24() {
    let s = inventory();
    for (width, height) in [(80, 24), (120, 40)] {
        let screen = screen(&s, width, height);
        for words in [
            "1. Kubernetes  Services' load balancers via the API; directly after 3m",
            "2. Cluster     kops.k8s.local: 13 cloud resources (kops delete cluster)",
            "3. IAM         user(s) kops, group kops, 7 policy attachment(s)",
            "4. Profile     AWS profile kops (credentials and config files)",
            "5. State store acme-kops-state and its 48 versions, 3 delete markers",
            "Keeps          SSH key ~/.ssh/kops.pub",
        ] {
            assert!(screen.contains(words), "{width}x{height}: {words}\n{screen}");
        }
    }
}
