//! Wiring: parse the command line, load and check the answers, pick the front end, and map
//! errors to exit codes. Behaviour lives in the library.
#![forbid(unsafe_code)]
// A panic in front of a user is a bug: outside tests every failure is an error that says what to
// do. (Tests unwrap freely: a panic there is the failure report.)
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, ValueEnum};

use kops_wizard::answers::{self, Answers, AnswersError, Source};
use kops_wizard::cli::{Cli, Command, GlobalOpts, SetupArgs};
use kops_wizard::engine::team::ownership;
use kops_wizard::engine::{setup, teardown};
use kops_wizard::exit::{self, UsageError};
use kops_wizard::journal::Journal;
use kops_wizard::paths::Paths;
use kops_wizard::plan::{SetupPlan, SetupStep, TeardownOptions, TeardownPlan, script};
use kops_wizard::rules::Report;
use kops_wizard::{doctor, logging, ui};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => exit::exit_code(code),
        Err(err) => {
            tracing::error!("{err:#}");
            kops_wizard::safe_eprintln!("error: {err:#}");
            exit::exit_code(exit::code_for(&err))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let command = cli.command.unwrap_or(Command::Setup(Default::default()));
    if let Command::Completions { shell } = command {
        let shell: clap_complete::Shell = shell.into();
        clap_complete::generate(shell, &mut Cli::command(), "kops-wizard", &mut io::stdout());
        return Ok(0);
    }

    let paths = Paths::resolve(cli.global.state_dir.as_deref())?;
    let full_screen = ui::tui::run::wanted(cli.global.yes, cli.global.plain);
    if let Command::Setup(args) = &command
        && !cli.global.yes
    {
        // Asking setup: full screen where the terminal can show it, else line by line
        // (`--plain`, `TERM=dumb`); either way standard input must be a terminal.
        if full_screen {
            return ui::tui::run::setup(&cli.global, args, &paths);
        }
        require_terminal_or_yes(&cli.global)?;
        return ui::plain::setup(&cli.global, args, &paths);
    }
    // A dry run of teardown prints its inventory and asks nothing, on any terminal.
    if let Command::Teardown(args) = &command
        && full_screen
        && !cli.global.dry_run
    {
        return ui::tui::run::teardown(&cli.global, teardown_options(args), &paths);
    }
    let (answers, source, report) = load_answers(&cli.global, &paths)?;

    match command {
        Command::Plan(args) => {
            let ctx = script::Context { answers: &answers, source: &source, report: &report };
            let (script, placeholders) = if args.teardown {
                // With a journal, only what the wizard created; without, what setup would.
                let journal =
                    Journal::load(&Journal::path_for(&paths.state_dir, &answers.cluster.name))?;
                // What the journals of this machine say is shared; AWS is not asked here.
                let holds = match &journal {
                    Some(j) => ownership::from_journals(j, &j.others()?),
                    None => Default::default(),
                };
                let plan = TeardownPlan::teardown(
                    &answers,
                    journal.as_ref(),
                    TeardownOptions::default(),
                    &holds,
                );
                (script::render(&plan, &ctx), plan.placeholders)
            } else {
                let plan = SetupPlan::setup(&answers, &[]);
                (script::render(&plan, &ctx), plan.placeholders)
            };
            io::stdout().write_all(script.as_bytes())?;
            if !placeholders.is_empty() {
                kops_wizard::safe_eprintln!(
                    "note: placeholders in this plan: {}",
                    placeholders.join(", ")
                );
            }
            Ok(0)
        }
        Command::Doctor => {
            let checks = run_doctor(&cli.global, &answers, &report, &paths)?;
            let failed = checks.iter().any(|c| c.status == doctor::Status::Fail);
            Ok(if failed { exit::FAILED } else { 0 })
        }
        Command::Setup(args) => setup(&cli.global, args, answers, source, report, &paths),
        Command::SmokeTest => {
            // Asked for by name, so it runs whatever `cluster.smoke_test` says for setup.
            let mut answers = answers;
            answers.cluster.smoke_test = true;
            let args = SetupArgs { only: vec![SetupStep::SmokeTest], claim: false };
            let name = answers.cluster.name.clone();
            let code = setup(&cli.global, args, answers, source, report, &paths)?;
            // In setup a failed smoke test is a warning; asked for alone, it is the result.
            let journal = Journal::load(&Journal::path_for(&paths.state_dir, &name))?;
            let failed =
                journal.and_then(|j| j.last_smoke_test).is_some_and(|t| t.failed.is_some());
            Ok(if failed && !cli.global.dry_run { exit::FAILED } else { code })
        }
        Command::Teardown(args) => {
            // A dry run asks nothing (it deletes nothing), so it needs no terminal.
            if !cli.global.dry_run {
                require_terminal_or_yes(&cli.global)?;
            }
            // Deleting without a question never falls back to a default cluster name: with no
            // answers file it acts on the one cluster this machine (or KOPS_STATE_STORE) knows.
            let answers = if cli.global.yes && source == Source::Defaults {
                the_known_cluster(answers, args.cluster.as_deref(), &paths)?
            } else {
                answers
            };
            let _log = logging::init(&paths.log_file())?;
            let request = teardown::Request {
                answers: &answers,
                state_dir: &paths.state_dir,
                kops: cli.global.kops.as_deref(),
                opts: teardown_options(&args),
                dry_run: cli.global.dry_run,
            };
            ui::headless::teardown(request, cli.global.yes).context("teardown stopped")
        }
        Command::Status => {
            let mut journals = Journal::list(&paths.state_dir)?;
            // The team's record where AWS answers; this machine's copy where it does not.
            let fresh = refresh_from_store(&answers, &mut journals);
            let (now, cloud, note) = look_up_now(&answers, &journals);
            let lookup =
                |j: &Journal, e: &kops_wizard::journal::Entry| {
                    now.iter()
                        .find(|(cluster, r, _)| {
                            *cluster == j.cluster
                                && r.kind == e.kind
                                && r.id == e.id
                                && r.detail == e.detail
                        })
                        .map(|(_, _, exists)| {
                            if *exists {
                                ui::headless::Now::Exists
                            } else {
                                ui::headless::Now::Gone
                            }
                        })
                };
            ui::headless::print_status(
                &mut io::stdout().lock(),
                &journals,
                &paths.state_dir,
                &lookup,
                note.as_deref(),
                &fresh,
                &cloud,
            )?;
            Ok(0)
        }
        Command::Change(args) => {
            // A dry run asks nothing and changes nothing, so it needs no terminal.
            if !cli.global.dry_run {
                require_terminal_or_yes(&cli.global)?;
            }
            let _log = logging::init(&paths.log_file())?;
            let opts = ui::change::Options {
                kops: cli.global.kops.as_deref(),
                state_dir: &paths.state_dir,
                yes: cli.global.yes,
                dry_run: cli.global.dry_run,
                full_screen,
                log: paths.log_file(),
                undo: args.undo,
            };
            ui::change::run(&answers, opts).context("change stopped")
        }
        Command::Unlock => {
            require_terminal_or_yes(&cli.global)?;
            let _log = logging::init(&paths.log_file())?;
            ui::headless::unlock(&answers, cli.global.yes)
        }
        Command::Completions { .. } => Ok(0),
    }
}

/// `teardown --yes` without an answers file: the answers of the one cluster there is something
/// to tear down of, on this machine or in the state store `KOPS_STATE_STORE` names (`--cluster`
/// picks among several). None, or several without a pick, is a usage error that lists them.
fn the_known_cluster(
    mut answers: Answers,
    wanted: Option<&str>,
    paths: &Paths,
) -> anyhow::Result<Answers> {
    use kops_wizard::engine::team::known;
    let store = std::env::var("KOPS_STATE_STORE").ok().filter(|s| !s.is_empty());
    let local = known::on_this_machine(&paths.state_dir, store.as_deref())?;
    let remote = match &store {
        Some(store) => tokio::runtime::Runtime::new()?.block_on(async {
            let creds = kops_wizard::engine::aws::clients::Credentials {
                profile: answers.aws.admin_profile.clone(),
                region: answers.aws.region.clone(),
            };
            let clients = kops_wizard::engine::aws::clients::Clients::from_env(&creds).await;
            known::in_store(&clients, store).await
        })?,
        None => Vec::new(),
    };
    let all = known::merged(remote, local);
    let whence = match &store {
        Some(store) => format!("this machine's journals and {store} (KOPS_STATE_STORE)"),
        None => format!("this machine's journals ({})", paths.state_dir.display()),
    };
    let listed = || all.iter().map(|k| format!("\n  {}", k.describe())).collect::<String>();
    let picked = match (wanted, all.as_slice()) {
        (Some(name), _) => all.iter().find(|k| k.cluster == name).ok_or_else(|| {
            UsageError(format!(
                "--cluster {name}: {whence} know no cluster of that name with anything to tear \
                 down; they know:{}",
                if all.is_empty() { " none".into() } else { listed() }
            ))
        })?,
        (None, [one]) => one,
        (None, []) => {
            return Err(UsageError(format!(
                "teardown --yes: {whence} know no cluster with anything to tear down; pass \
                 --config FILE (the answers file that names the cluster), or set \
                 KOPS_STATE_STORE to the team's state store"
            ))
            .into());
        }
        (None, _) => {
            return Err(UsageError(format!(
                "teardown --yes: {whence} know {} clusters; name one with --cluster NAME or \
                 pass --config FILE:{}",
                all.len(),
                listed()
            ))
            .into());
        }
    };
    kops_wizard::safe_eprintln!("teardown --yes: no answers file; acting on {}", picked.describe());
    answers.cluster.name = picked.cluster.clone();
    answers.aws.region = picked.region.clone();
    answers.state_store.bucket =
        picked.state_store.as_deref().and_then(kops_wizard::engine::store::objects::bucket_of);
    Ok(answers)
}

fn teardown_options(args: &kops_wizard::cli::TeardownArgs) -> TeardownOptions {
    TeardownOptions {
        keep_bucket: args.keep_bucket,
        keep_iam: args.keep_iam,
        delete_ssh_key: args.delete_ssh_key,
        delete_volumes: args.delete_volumes,
    }
}

/// Loads the answers (explicit file, else the default file if present, else defaults) and
/// applies every rule: a broken rule is exit 2 before anything happens.
fn load_answers(global: &GlobalOpts, paths: &Paths) -> anyhow::Result<(Answers, Source, Report)> {
    let (answers, source) =
        answers::load(global.config.as_deref(), paths.default_config.as_deref())?;
    let report = kops_wizard::rules::check_answers(&answers);
    if !report.is_ok() {
        return Err(kops_wizard::rules::Broken { report }.into());
    }
    Ok((answers, source, report))
}

/// `setup --yes`: headless (`run` sends the asking setups to their front ends first).
fn setup(
    global: &GlobalOpts,
    args: SetupArgs,
    answers: Answers,
    source: Source,
    report: Report,
    paths: &Paths,
) -> anyhow::Result<u8> {
    let steps = if args.only.is_empty() { SetupStep::value_variants().to_vec() } else { args.only };
    let missing = answers.missing();
    if !missing.is_empty() {
        let keys = missing.iter().map(|k| k.to_string()).collect();
        return Err(AnswersError::Missing { from: source, keys }.into());
    }
    let mut plan = SetupPlan::setup(&answers, &steps);
    if global.dry_run {
        // A cluster already in the state store and not this machine's is joined, not set up:
        // the plan printed says so. (A real run decides under the team's lock and says so as
        // it starts; asking AWS here would come before setup's checks of the local files.)
        let (joined, join) = tokio::runtime::Runtime::new()?.block_on(
            kops_wizard::engine::team::join::setup_plan(&answers, &steps, &paths.state_dir),
        );
        if let Some(join) = &join {
            kops_wizard::safe_println!(
                "{}",
                kops_wizard::engine::team::join::join_note(&answers, join)
            );
            plan = joined;
        }
        // Read-only: the preflight checks, then the plan. Nothing is created or changed.
        let checks = run_doctor(global, &answers, &report, paths)?;
        let ctx = script::Context { answers: &answers, source: &source, report: &report };
        io::stdout().write_all(script::render(&plan, &ctx).as_bytes())?;
        let failed = checks.iter().any(|c| c.status == doctor::Status::Fail);
        return Ok(if failed { exit::FAILED } else { 0 });
    }
    let _log = logging::init(&paths.log_file())?;
    tracing::info!(?steps, "setup started");
    let request = setup::Request {
        answers: &answers,
        plan: &plan,
        state_dir: &paths.state_dir,
        kops: global.kops.as_deref(),
        claim: args.claim,
    };
    let journal = ui::headless::setup(request).context("setup stopped")?;
    kops_wizard::safe_print!(
        "{}",
        ui::headless::done_text(&answers, &journal, &paths.log_file(), &steps)
    );
    Ok(0)
}

/// Replaces each local copy of a team's record with the record in the state bucket, read-only;
/// returns the clusters whose record was read now (the others are shown as this machine's copy).
fn refresh_from_store(answers: &Answers, journals: &mut [Journal]) -> Vec<String> {
    if !journals.iter().any(|j| j.copy_of.is_some()) {
        return Vec::new();
    }
    let Ok(runtime) = tokio::runtime::Runtime::new() else { return Vec::new() };
    runtime.block_on(async {
        let creds = kops_wizard::engine::aws::clients::Credentials {
            profile: answers.aws.admin_profile.clone(),
            region: answers.aws.region.clone(),
        };
        let clients = kops_wizard::engine::aws::clients::Clients::from_env(&creds).await;
        let mut fresh = Vec::new();
        for j in journals.iter_mut() {
            let Some(bucket) = j
                .copy_of
                .as_ref()
                .and_then(|c| kops_wizard::engine::store::objects::bucket_of(&c.url))
            else {
                continue;
            };
            match kops_wizard::engine::store::record::load(&clients, &bucket, &j.cluster).await {
                Ok(Some((stored, _))) => {
                    j.make_read_only();
                    j.adopt(stored);
                    fresh.push(j.cluster.clone());
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("cannot read the record of {}: {e}", j.cluster),
            }
        }
        fresh
    })
}

/// What AWS says now of each journal's resources (read-only), or why it could not be asked.
/// What AWS says now of each journal's entries, and of the cloud resources tagged for each
/// journal's cluster (one line each), read-only with the admin credentials.
type Looked =
    (Vec<(String, kops_wizard::plan::Resource, bool)>, Vec<(String, String)>, Option<String>);

fn look_up_now(answers: &Answers, journals: &[Journal]) -> Looked {
    if journals.is_empty() {
        return (Vec::new(), Vec::new(), None);
    }
    let Ok(runtime) = tokio::runtime::Runtime::new() else {
        let why = "AWS was not asked: cannot start the async runtime".to_string();
        return (Vec::new(), Vec::new(), Some(why));
    };
    runtime.block_on(async {
        let (sink, _events) = kops_wizard::engine::events::Sink::channel();
        let clients = match kops_wizard::engine::aws::clients::connect_admin(answers, &sink).await {
            Ok(c) => c,
            Err(e) => {
                let why = format!("AWS was not asked ({e}): the journal only");
                return (Vec::new(), Vec::new(), Some(why));
            }
        };
        let files = match kops_wizard::engine::aws::credentials::SharedFiles::from_env() {
            Ok(f) => f,
            Err(e) => return (Vec::new(), Vec::new(), Some(format!("AWS was not asked ({e})"))),
        };
        let mut all = Vec::new();
        let mut clouds = Vec::new();
        for j in journals {
            match ownership::look_up(&clients, &files, j).await {
                Ok(found) => all.extend(found.into_iter().map(|(r, e)| (j.cluster.clone(), r, e))),
                Err(e) => {
                    let why = format!("AWS could not be asked about everything: {e}");
                    return (all, clouds, Some(why));
                }
            }
            if j.find(kops_wizard::journal::Kind::Cluster, &j.cluster).is_some() {
                clouds.push((j.cluster.clone(), cloud_line(&clients, j).await));
            }
        }
        (all, clouds, None)
    })
}

/// What AWS has tagged for a journal's cluster now, in one line (the same questions as
/// teardown's final check), with how long asking took.
async fn cloud_line(clients: &kops_wizard::engine::aws::clients::Clients, j: &Journal) -> String {
    use kops_wizard::engine::aws::cloud::{Cloud, CloudKind};
    let zone = j.cluster_settings.as_ref().and_then(|s| s.dns_zone.clone());
    let started = std::time::Instant::now();
    let (found, unasked) = Cloud::new(clients).left(&j.cluster, zone.as_deref()).await;
    let took = format!("{} ms", started.elapsed().as_millis());
    let asked = CloudKind::ALL.len() - unasked.len();
    let mut line = match found.len() {
        0 => format!("nothing tagged for the cluster ({asked} kinds asked in {took})"),
        n => {
            let mut kinds: Vec<&str> = found.iter().map(|f| f.kind.noun()).collect();
            kinds.dedup();
            format!(
                "{n} resource(s) tagged for the cluster: {} ({asked} kinds asked in {took})",
                kinds.join(", ")
            )
        }
    };
    if !unasked.is_empty() {
        let kinds: Vec<&str> = unasked.iter().map(|(k, _)| k.noun()).collect();
        line.push_str(&format!("; not answered for: {}", kinds.join(", ")));
    }
    line
}

/// The read-only preflight checks, printed.
fn run_doctor(
    global: &GlobalOpts,
    answers: &Answers,
    report: &Report,
    paths: &Paths,
) -> anyhow::Result<Vec<doctor::Check>> {
    let _log = logging::init(&paths.log_file())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let checks = runtime.block_on(doctor::run(doctor::Inputs {
        answers,
        report,
        kops: global.kops.as_deref(),
    }));
    ui::headless::print_checks(&mut io::stdout().lock(), &checks)?;
    Ok(checks)
}

fn require_terminal_or_yes(global: &GlobalOpts) -> anyhow::Result<()> {
    if !global.yes && !io::stdin().is_terminal() {
        return Err(UsageError(
            "no terminal on standard input: use --yes with an answers file, or run in a terminal (--plain for line-by-line prompts)".into(),
        )
        .into());
    }
    Ok(())
}
