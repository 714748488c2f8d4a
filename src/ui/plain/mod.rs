//! The line-by-line front end (`--plain`, or `TERM=dumb`): the questions of
//! `questions::QUESTIONS` asked one after another with inquire, each answer held to the same
//! rules as in the full-screen wizard, each background check run right after the answer it
//! checks; then the review as text, one confirmation, and the headless progress lines.
//! Prompts, checks and the review go to standard error; what is wanted afterwards (the plan
//! of a dry run, the exports) goes to standard output. Also teardown's typed confirmation.

mod prompts;
mod text;

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ValueEnum as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use inquire::list_option::ListOption;
use inquire::validator::Validation;

use self::prompts::{Ask, Opt};
use self::text::Then;
use crate::answers::{self, Answers, Source};
use crate::cli::{GlobalOpts, SetupArgs};
use crate::engine::aws::clients::{Clients, Credentials};
use crate::engine::store::bucket::BucketAccess;
use crate::exit::{self, Interrupted};
use crate::journal::Journal;
use crate::paths::{Paths, expand_home};
use crate::plan::{SetupPlan, SetupStep, script};
use crate::questions::{Check, Context, QUESTIONS, Question, Step};
use crate::ui::checks::{self, BucketFound, SshFound};
use crate::ui::{headless, review};

pub use crate::ui::confirm::{asked, confirm_typed, confirm_unlock};

/// `setup` line by line, from the command line: loads the answers (a value that breaks a rule
/// is asked again with the rule shown, as the full-screen wizard opens on it; an unreadable
/// file is still exit 2), asks, reviews, runs, and returns the exit code.
pub fn setup(global: &GlobalOpts, args: &SetupArgs, paths: &Paths) -> anyhow::Result<u8> {
    let (loaded, source) =
        answers::load(global.config.as_deref(), paths.default_config.as_deref())?;
    let _log = crate::logging::init(&paths.log_file())?;
    let prompting = sigterm_while_prompting()?;
    // inquire holds the terminal raw while it asks: a panic must not leave it so.
    super::install_panic_hook(&paths.log_file(), || {
        let _ = crossterm::terminal::disable_raw_mode();
    });
    let save_to = save_path(global, paths);
    let interview = match interview(global, args, paths, loaded, source, save_to.as_deref()) {
        Ok(Next::Run(interview)) => interview,
        Ok(Next::Exit(code)) => return Ok(code),
        // Nothing was changed yet: no journal to point at, unlike an interrupted run.
        Err(e) if e.is::<Interrupted>() => {
            crate::safe_eprintln!("\nkops-wizard quit before changing anything.");
            return Ok(exit::INTERRUPTED);
        }
        Err(e) => return Err(e),
    };
    let Interview { answers, plan, claim } = *interview;
    let steps =
        if args.only.is_empty() { SetupStep::value_variants().to_vec() } else { args.only.clone() };
    tracing::info!(?steps, "setup started from the line mode");
    crate::safe_eprintln!(
        "\nSetting up: one line per change. Ctrl-C stops; a rerun continues from the journal."
    );
    let request = crate::engine::setup::Request {
        answers: &answers,
        plan: &plan,
        state_dir: &paths.state_dir,
        kops: global.kops.as_deref(),
        claim,
    };
    // The same runner and progress lines as `--yes`: Ctrl-C or SIGTERM drops the engine's
    // future, which stops it between two AWS calls and kills a running kops; the journal has
    // the intent.
    prompting.store(false, Ordering::SeqCst);
    let journal = headless::setup(request).context("setup stopped")?;
    crate::safe_print!("{}", headless::done_text(&answers, &journal, &paths.log_file(), &steps));
    Ok(0)
}

/// SIGTERM during a prompt (nothing changed yet) ends the wizard with the terminal back in
/// its normal mode, which inquire, killed by the default action, would leave raw. Once the run
/// starts (the flag is cleared) the runner's own handler stops the engine instead.
fn sigterm_while_prompting() -> anyhow::Result<Arc<AtomicBool>> {
    let prompting = Arc::new(AtomicBool::new(true));
    let flag = prompting.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal watcher")?;
    // Registered here, before any prompt, so no SIGTERM can slip past it.
    let mut stops = runtime
        .block_on(async { crate::ui::signals::Stops::watch() })
        .context("cannot watch for SIGTERM and SIGHUP")?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            loop {
                let name = stops.recv().await;
                if flag.load(Ordering::SeqCst) {
                    let _ = crossterm::terminal::disable_raw_mode();
                    crate::safe_eprintln!(
                        "\nkops-wizard stopped ({name}) before changing anything."
                    );
                    std::process::exit(i32::from(exit::INTERRUPTED));
                }
            }
        });
    });
    Ok(prompting)
}

/// What the questions and the review end in.
enum Next {
    Run(Box<Interview>),
    /// Nothing to run: a dry run printed its plan (0), or the user said no (130).
    Exit(u8),
}

struct Interview {
    answers: Answers,
    plan: SetupPlan,
    /// The record names no machine for the cluster, and the user said this one set it up.
    claim: bool,
}

/// The questions, the review, the offer to save and the confirmation. Changes nothing in AWS.
fn interview(
    global: &GlobalOpts,
    args: &SetupArgs,
    paths: &Paths,
    loaded: Answers,
    mut source: Source,
    save_to: Option<&Path>,
) -> anyhow::Result<Next> {
    let mut session = Session::new(&paths.state_dir)?;
    crate::safe_eprintln!(
        "kops-wizard setup, line by line. Answers from {source}; Enter keeps the value shown. \
         Ctrl-C or Esc quits: nothing changes before the last question."
    );
    let mut answers = loaded.clone();
    session.ask_all(&mut answers)?;

    let report = crate::rules::check_answers(&answers);
    // The same question the full run asks first: is the cluster already there, someone else's?
    let (mut plan, join) = tokio::runtime::Runtime::new()?
        .block_on(crate::engine::team::join::setup_plan(&answers, &args.only, &paths.state_dir));
    let mut claim = args.claim;
    if join.as_ref().is_some_and(|j| j.unclaimed) {
        // The record says the wizard made it and names no machine: asked, never guessed.
        crate::safe_eprintln!("\n{}", crate::engine::team::join::unclaimed_note(&answers, false));
        claim = claim
            || asked(
                inquire::Confirm::new("Did this machine set the cluster up?")
                    .with_default(false)
                    .with_help_message(
                        "y claims it (setup continues it; the record names you from now on); n joins it",
                    )
                    .prompt(),
            )?;
        if claim {
            plan = SetupPlan::setup(&answers, &args.only);
        }
    }
    if let Some(join) = join.as_ref().filter(|j| !(j.unclaimed && claim)) {
        crate::safe_eprintln!("\n{}", crate::engine::team::join::join_note(&answers, join));
    }
    let journal = Journal::load(&Journal::path_for(&paths.state_dir, &answers.cluster.name))
        .unwrap_or_else(|e| {
            tracing::warn!("cannot read the journal: {e}");
            None
        });
    let resume = journal.as_ref().and_then(review::resume_note);
    let warnings = session.warnings(&report, &answers);
    let unsaved = matches!(source, Source::Defaults) || answers != loaded;
    crate::safe_eprint!(
        "{}",
        text::review(&text::Review {
            answers: &answers,
            source: &source,
            unsaved,
            plan: &plan,
            warnings: &warnings,
            resume: resume.as_deref(),
        })
    );
    crate::safe_eprintln!();
    if unsaved
        && let Some(path) = save_to
        && offer_save(&answers, path)?
    {
        source = Source::File(path.to_path_buf());
    }

    if global.dry_run {
        let ctx = script::Context { answers: &answers, source: &source, report: &report };
        io::stdout().write_all(script::render(&plan, &ctx).as_bytes())?;
        crate::safe_eprintln!("dry run: nothing was created or changed.");
        return Ok(Next::Exit(0));
    }
    // No default: an Enter typed ahead must not start something that costs money.
    let go = asked(
        inquire::Confirm::new("Start setup now?")
            // With no default inquire shows no choices; the user must see that y/n is asked.
            .with_placeholder("y/n")
            .with_help_message(
                "y makes the changes above in AWS (they cost money until `kops-wizard teardown`); n quits",
            )
            .prompt(),
    )?;
    if !go {
        crate::safe_eprintln!("Not started: nothing was changed.");
        return Ok(Next::Exit(exit::INTERRUPTED));
    }
    Ok(Next::Run(Box::new(Interview { answers, plan, claim })))
}

/// Asks whether to save the answers (never over an existing file without a second yes).
/// Returns whether they were saved.
fn offer_save(answers: &Answers, path: &Path) -> anyhow::Result<bool> {
    let save = asked(
        inquire::Confirm::new(&format!("Save these answers to {}?", path.display()))
            .with_default(false)
            .with_help_message(
                "an answers file for `kops-wizard setup --yes -c FILE`; no secrets in it",
            )
            .prompt(),
    )?;
    if !save {
        return Ok(false);
    }
    if path.exists() {
        let overwrite = asked(
            inquire::Confirm::new(&format!("{} exists: overwrite it?", path.display()))
                .with_default(false)
                .with_help_message("n keeps the file as it is")
                .prompt(),
        )?;
        if !overwrite {
            crate::safe_eprintln!("  not saved: the file was kept as it is");
            return Ok(false);
        }
    }
    match answers::save(answers, path) {
        Ok(()) => {
            crate::safe_eprintln!("  ✔ answers saved to {}", path.display());
            Ok(true)
        }
        Err(e) => {
            crate::safe_eprintln!("  ✘ could not save the answers: {e}");
            Ok(false)
        }
    }
}

/// What the questions have learnt so far: the environment's profiles and the checks' answers.
struct Session {
    /// For the checks only (STS, HeadBucket); the run makes its own, as `--yes` does.
    runtime: tokio::runtime::Runtime,
    ctx: Context,
    /// The admin's account, once STS said: the bucket name is suggested from it.
    account: Option<String>,
    bucket: Option<Result<BucketAccess, String>>,
    /// The clusters in the bucket, when it is the user's (a join is known from here on).
    clusters: BucketFound,
    ssh: Option<SshFound>,
    state_dir: PathBuf,
}

impl Session {
    fn new(state_dir: &Path) -> anyhow::Result<Session> {
        Ok(Session {
            runtime: tokio::runtime::Runtime::new().context("cannot start the async runtime")?,
            ctx: checks::context(),
            account: None,
            bucket: None,
            clusters: BucketAccess::Free.into(),
            ssh: None,
            state_dir: state_dir.to_path_buf(),
        })
    }

    /// The cluster the answers name, when the bucket holds it and this machine did not make
    /// it: setup joins it, so its SSH key and its sizes are not asked.
    fn joining(&self, answers: &Answers) -> Option<&crate::engine::team::join::InBucket> {
        self.clusters.joins(&answers.cluster.name)
    }

    /// Whether `q` is asked: a join asks only the cluster's name of the SSH and Cluster steps.
    fn asks(&self, q: &Question, answers: &Answers) -> bool {
        let joining = self.joining(answers).is_some();
        !(joining
            && (q.step == Step::SshKey || (q.step == Step::Cluster && q.key != "cluster.name")))
    }

    /// Every question in flow order (a question that depends on another comes after it), each
    /// asked until the rules and its check accept the answer.
    fn ask_all(&mut self, answers: &mut Answers) -> anyhow::Result<()> {
        let mut step = None;
        let mut at = 0;
        while let Some(q) = QUESTIONS.get(at) {
            if !self.asks(q, answers) {
                at += 1;
                continue;
            }
            if step != Some(q.step) {
                step = Some(q.step);
                crate::safe_eprint!("{}", text::step_header(q.step));
                if q.step == Step::SshKey {
                    let dir = expand_home("~/.ssh");
                    crate::safe_eprint!(
                        "{}",
                        text::found_keys(&checks::scan_ssh_dir(&dir, checks::tilde))
                    );
                }
            }
            if self.ask_one(q, answers)? == Then::Next {
                at += 1;
                // The cluster's name settles a join: its own shape, read-only, instead of the
                // sizing questions.
                if q.key == "cluster.name"
                    && let Some(joined) = self.joining(answers)
                {
                    crate::safe_eprint!("{}", text::join_sizes(joined));
                }
            }
        }
        // A rule no question owns (validate.* in the answers file) cannot be fixed here.
        let report = crate::rules::check_answers(answers);
        if !report.is_ok() {
            return Err(crate::rules::Broken { report }.into());
        }
        Ok(())
    }

    /// Asks `q` once, stores an accepted answer and runs its check.
    fn ask_one(&mut self, q: &'static Question, answers: &mut Answers) -> anyhow::Result<Then> {
        let current = q.get(answers);
        if !current.is_empty()
            && let Some(rule) = q.error(answers, &crate::rules::check_answers(answers))
        {
            // A value from the answers file (or made wrong by an earlier answer): say why
            // before the prompt offers it again.
            crate::safe_eprintln!("  ✘ {}: {rule}", q.key);
        }
        let value = self.prompt(q, answers)?;
        if let Some(why) = prompts::refusal(q, answers, &value) {
            // Selects and toggles have no validator of their own: the rule speaks here.
            crate::safe_eprintln!("  ✘ {why}");
            return Ok(Then::AskAgain);
        }
        q.set(answers, &value).map_err(|e| anyhow::anyhow!("{}: {e}", q.key))?;
        for warning in q.warnings(&crate::rules::check_answers(answers)) {
            crate::safe_eprintln!("  ! {warning}");
        }
        self.check(q, answers)
    }

    fn prompt(&self, q: &'static Question, answers: &Answers) -> anyhow::Result<String> {
        let suggestion = match (&self.account, q.key) {
            (Some(account), "state_store.bucket") => {
                Some(format!("kops-state-{account}-{}", answers.aws.region))
            }
            _ => None,
        };
        match prompts::ask(q, answers, &self.ctx, suggestion.as_deref()) {
            Ask::Given { value, why } => {
                crate::safe_eprintln!("{}: {why}", q.label);
                Ok(value)
            }
            Ask::Text { default, help } => {
                let base = answers.clone();
                let rule = move |input: &str| {
                    let value = prompts::typed_value(q, input);
                    Ok(match prompts::refusal(q, &base, &value) {
                        Some(message) => Validation::Invalid(message.into()),
                        None => Validation::Valid,
                    })
                };
                let mut prompt =
                    inquire::Text::new(q.label).with_help_message(&help).with_validator(rule);
                if let Some(default) = &default {
                    prompt = prompt.with_default(default);
                }
                Ok(prompts::typed_value(q, &asked(prompt.prompt())?))
            }
            Ask::Confirm { default, help } => {
                let prompt =
                    inquire::Confirm::new(q.label).with_default(default).with_help_message(&help);
                Ok(asked(prompt.prompt())?.to_string())
            }
            Ask::Select { options, start, unavailable, help } => {
                for why in &unavailable {
                    crate::safe_eprintln!("  ✘ not offered: {why}");
                }
                let label = |picked: ListOption<&Opt>| picked.value.label.clone();
                let prompt = inquire::Select::new(q.label, options)
                    .with_starting_cursor(start)
                    .with_page_size(10)
                    .with_help_message(&help)
                    .with_formatter(&label);
                Ok(asked(prompt.prompt())?.value)
            }
            Ask::MultiSelect { options, chosen, none, help } => {
                let base = answers.clone();
                let rule = move |picked: &[ListOption<&Opt>]| {
                    let value = joined(picked.iter().map(|o| o.value));
                    Ok(match prompts::refusal(q, &base, &value) {
                        Some(message) => Validation::Invalid(message.into()),
                        None => Validation::Valid,
                    })
                };
                let labels = |picked: &[ListOption<&Opt>]| match picked {
                    [] => none.clone(),
                    _ => {
                        picked.iter().map(|o| o.value.label.as_str()).collect::<Vec<_>>().join(", ")
                    }
                };
                let prompt = inquire::MultiSelect::new(q.label, options)
                    .with_default(&chosen)
                    .with_page_size(10)
                    .with_help_message(&help)
                    .with_formatter(&labels)
                    .with_validator(rule);
                Ok(joined(asked(prompt.prompt())?.iter()))
            }
        }
    }

    /// The question's background check, right after its answer: whether the answer stands.
    fn check(&mut self, q: &Question, answers: &Answers) -> anyhow::Result<Then> {
        let creds = Credentials {
            profile: answers.aws.admin_profile.clone(),
            region: answers.aws.region.clone(),
        };
        match q.check {
            Check::None => Ok(Then::Next),
            Check::Identity => {
                crate::safe_eprintln!("  … {}", checks::checking(q.check).unwrap_or_default());
                let result = self.wait(async move {
                    Clients::from_env(&creds).await.whoami().await.map_err(|e| e.to_string())
                })?;
                crate::safe_eprintln!("{}", text::identity_line(&result));
                self.account = result.as_ref().ok().map(|id| id.account.clone());
                if result.is_ok() {
                    return Ok(Then::Next);
                }
                if self.ctx.profiles.is_empty() && self.ctx.env_key.is_none() {
                    crate::safe_eprintln!("{}", text::NO_CREDENTIALS);
                }
                let again = asked(
                    inquire::Confirm::new("Check the credentials again?")
                        .with_default(true)
                        .with_help_message(
                            "n goes on without them: setup stops at its first AWS call if they still do not work",
                        )
                        .prompt(),
                )?;
                if again {
                    // Profiles made in another terminal meanwhile are offered too.
                    self.ctx = checks::context();
                    return Ok(Then::AskAgain);
                }
                Ok(Then::Next)
            }
            Check::BucketAvailability => {
                let Some(bucket) = answers.state_store.bucket.clone() else {
                    return Ok(Then::Next);
                };
                crate::safe_eprintln!("  … {}", checks::checking(q.check).unwrap_or_default());
                let state_dir = self.state_dir.clone();
                let result = self.wait(async move {
                    let clients = Clients::from_env(&creds).await;
                    let access = clients.bucket_access(&bucket).await?;
                    let clusters = match access {
                        BucketAccess::Yours => {
                            crate::engine::team::join::clusters_in(&clients, &bucket, &state_dir)
                                .await?
                        }
                        _ => Vec::new(),
                    };
                    Ok::<_, crate::engine::aws::error::AwsError>(BucketFound { access, clusters })
                })?;
                let result = result.map_err(|e| e.to_string());
                let (line, then) =
                    text::bucket_line(&result.as_ref().map(|f| f.access).map_err(Clone::clone));
                crate::safe_eprintln!("{line}");
                if let Ok(found) = &result {
                    for l in checks::bucket_clusters(found, &answers.cluster.name) {
                        crate::safe_eprintln!("    {l}");
                    }
                }
                self.bucket = Some(result.as_ref().map(|f| f.access).map_err(Clone::clone));
                self.clusters = result.unwrap_or_else(|_| BucketAccess::Free.into());
                Ok(then)
            }
            Check::SshKeyFiles => {
                let result = checks::ssh_found(&expand_home(&answers.ssh.public_key));
                let (line, then) = text::ssh_line(&result);
                crate::safe_eprintln!("{line}");
                self.ssh = result.ok();
                Ok(then)
            }
        }
    }

    /// Runs a check to its end, or stops on Ctrl-C (the terminal is in its normal mode
    /// between prompts, so Ctrl-C is a signal here, not a key).
    fn wait<T>(&self, work: impl Future<Output = T>) -> anyhow::Result<T> {
        self.runtime.block_on(async {
            tokio::select! {
                done = work => Ok(done),
                Ok(()) = tokio::signal::ctrl_c() => Err(Interrupted.into()),
            }
        })
    }

    /// The review's warnings: the rules', what the checks found that setup reuses, and a
    /// bucket name that could not be checked.
    fn warnings(&self, report: &crate::rules::Report, answers: &Answers) -> Vec<String> {
        let access = match &self.bucket {
            Some(Ok(access)) => Some(*access),
            _ => None,
        };
        let mut list = review::warnings(report, answers, access, self.ssh.as_ref());
        if let (Some(Err(e)), Some(bucket)) = (&self.bucket, &answers.state_store.bucket) {
            list.push(format!(
                "state_store.bucket = {bucket:?}: not checked ({}); setup checks it before it creates the bucket",
                e.lines().next().unwrap_or_default()
            ));
        }
        list
    }
}

/// Values as `Question::set` takes a list: comma-separated.
fn joined<'o>(values: impl Iterator<Item = &'o Opt>) -> String {
    values.map(|o| o.value.as_str()).collect::<Vec<_>>().join(",")
}

/// Where the answers are saved: `--config`, else the default answers file (as the full-screen
/// wizard's `s`).
fn save_path(global: &GlobalOpts, paths: &Paths) -> Option<PathBuf> {
    global.config.clone().or_else(|| paths.default_config.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_join_as_the_answers_take_them() {
        let opts = [
            Opt { value: "us-east-1a".into(), label: "a".into(), shown: "us-east-1a".into() },
            Opt { value: "us-east-1c".into(), label: "c".into(), shown: "us-east-1c".into() },
        ];
        assert_eq!(joined(opts.iter()), "us-east-1a,us-east-1c");
        let mut a = Answers::default();
        crate::questions::find("cluster.zones").unwrap().set(&mut a, &joined(opts.iter())).unwrap();
        assert_eq!(a.cluster.zones, ["us-east-1a", "us-east-1c"]);
    }
}
