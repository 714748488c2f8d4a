//! The command line (DESIGN.md "Command line"): clap definitions only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::plan::SetupStep;

/// Takes you from nothing to a validated Kubernetes cluster on AWS with kops, and later tears
/// down exactly what it created.
#[derive(Debug, Parser)]
#[command(name = "kops-wizard", version, about, long_about = None)]
#[command(after_help = crate::text::AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,

    /// What to do; `setup` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalOpts {
    /// Answers file (TOML, see config/example.toml) [default: <config dir>/kops-wizard/config.toml if present]
    #[arg(short, long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Line-by-line prompts and progress lines instead of the full-screen UI
    #[arg(long, global = true)]
    pub plain: bool,

    /// Ask nothing: answers come from the config and defaults; missing answers are listed and nothing runs
    #[arg(short, long, global = true)]
    pub yes: bool,

    /// Ask everything, change nothing, print the plan
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// The kops binary [default: kops on PATH]
    #[arg(long, global = true, value_name = "PATH")]
    pub kops: Option<PathBuf>,

    /// Where the journal and the log live [default: the platform's state dir]
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Guided setup: IAM user, state bucket, SSH key, cluster, validation
    Setup(SetupArgs),
    /// Guided teardown of what setup created
    Teardown(TeardownArgs),
    /// Print the equivalent shell script of setup (or teardown); changes nothing
    Plan(PlanArgs),
    /// Day 2: change the running cluster to the answers (node count and size, control-plane
    /// size, Kubernetes version), with a plan, its cost delta and the roll's progress;
    /// --dry-run shows the plan only
    Change(ChangeArgs),
    /// Run the smoke test again on a validated cluster: two pods must answer through a
    /// Network Load Balancer (the same as `setup --only smoke-test`)
    SmokeTest,
    /// Preflight: tools and versions, AWS identity, region, known pitfalls of the answers
    Doctor,
    /// What the journal records, and the last validation result
    Status,
    /// Break the team's lock on the state bucket by hand (a run that died and whose lock has
    /// not run out yet); asks for the bucket name first unless --yes
    Unlock,
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct SetupArgs {
    /// Run only these steps (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "LIST")]
    pub only: Vec<SetupStep>,
    /// This machine set the cluster up with a kops-wizard older than the team's record: claim
    /// the record's entries that name no machine as this machine's (once; others then join)
    #[arg(long)]
    pub claim: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ChangeArgs {
    /// Put back the cluster's spec as it was before the last change (the state store keeps
    /// every version) and roll it back; sizes only (kops does not downgrade Kubernetes)
    #[arg(long)]
    pub undo: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct TeardownArgs {
    /// With --yes and no answers file: the cluster to tear down, when this machine (or the
    /// state store in KOPS_STATE_STORE) knows several
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Keep the state bucket
    #[arg(long)]
    pub keep_bucket: bool,
    /// Keep the IAM user, group and the saved profile
    #[arg(long)]
    pub keep_iam: bool,
    /// Also delete the SSH key pair the wizard generated
    #[arg(long)]
    pub delete_ssh_key: bool,
    /// Also delete the EBS volumes the cluster's PersistentVolumes made (kept and named
    /// otherwise: they may hold data)
    #[arg(long)]
    pub delete_volumes: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct PlanArgs {
    /// Print the teardown script instead of the setup script
    #[arg(long)]
    pub teardown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl From<CompletionShell> for clap_complete::Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => clap_complete::Shell::Bash,
            CompletionShell::Zsh => clap_complete::Shell::Zsh,
            CompletionShell::Fish => clap_complete::Shell::Fish,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_defaults_to_none_and_globals_go_anywhere() {
        let cli = Cli::try_parse_from(["kops-wizard", "--plain"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.global.plain);

        let cli =
            Cli::try_parse_from(["kops-wizard", "plan", "--teardown", "-c", "a.toml"]).unwrap();
        assert_eq!(cli.global.config, Some(PathBuf::from("a.toml")));
        assert!(matches!(cli.command, Some(Command::Plan(PlanArgs { teardown: true }))));
    }

    #[test]
    fn only_takes_a_comma_list_of_known_steps() {
        let cli =
            Cli::try_parse_from(["kops-wizard", "setup", "--only", "credentials,state-store"])
                .unwrap();
        let Some(Command::Setup(args)) = cli.command else { panic!("not setup") };
        assert_eq!(args.only, vec![SetupStep::Credentials, SetupStep::StateStore]);

        let err = Cli::try_parse_from(["kops-wizard", "setup", "--only", "iam"]).unwrap_err();
        assert!(err.to_string().contains("invalid value 'iam'"), "{err}");
    }
}
