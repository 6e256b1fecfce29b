//! The arguments of the release commands beyond `deploy`: `promote` and `rollback`,
//! and the flags they share (how far a release goes).

use std::path::PathBuf;

use clap::Args;

/// How far `promote` and `rollback` go: preview, plan for `apply`, or deploy.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("preview").args(["dry_run", "plan_out"])))]
pub struct ReleaseModeArgs {
    /// Create and show every change set, then delete them: nothing is executed.
    #[arg(long)]
    pub dry_run: bool,

    /// Create and show every change set and leave them for `deployer apply FILE`; FILE is
    /// a release plan (version 3).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "yes"])]
    pub plan_out: Option<PathBuf>,

    /// With `--dry-run` or `--plan-out`: exit 0 without changes, 2 with changes pending.
    #[arg(long, requires = "preview")]
    pub detailed_exitcode: bool,

    /// Execute without asking. Without it, a terminal asks for confirmation; CI (CI=true)
    /// never asks.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// The commit being deployed, recorded as the stack tag `deployer:commit`
    /// [default: GITHUB_SHA, else `git rev-parse HEAD`].
    #[arg(long, value_name = "SHA", env = "DEPLOYER_COMMIT")]
    pub commit: Option<String>,
}

pub(super) const PROMOTE_HELP: &str = "\
Examples:
  deployer promote --config deploy.yaml --from staging --to production --dry-run
  deployer promote --config deploy.yaml --from staging --to production --plan-out plan.json
  deployer apply plan.json

`--from` must name `--to` as its `promotes_to` in deploy.yaml. Every service stack of
`--from` must be settled (CREATE_COMPLETE or UPDATE_COMPLETE) and run a digest-pinned
image; that digest must already be in `--to`'s repository (same account and region, or
a repository policy that lets it pull). Only `--to`'s `${VAR}`s need to be set.";

pub(super) const ROLLBACK_HELP: &str = "\
Examples:
  deployer rollback --config deploy.yaml --environment production --service web --dry-run
  deployer rollback --config deploy.yaml --environment production --service web --to sha256:… --yes

Without --to, the previous image is the newest earlier task definition revision of the
service whose image differs from the one running. The rollback is a normal change set on
the service's stack (only its ImageUri parameter changes), shown and applied like a deploy;
the next deploy ships the newest image again.";

/// `deployer promote`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The application's deploy.yaml (version 2).
    #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
    pub config: PathBuf,

    /// The environment whose images are promoted (`staging`).
    #[arg(long, value_name = "ENV")]
    pub from: String,

    /// The environment to plan with them (`production`).
    #[arg(long, value_name = "ENV")]
    pub to: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub mode: ReleaseModeArgs,
}

/// `deployer rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The application's deploy.yaml (version 2).
    #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
    pub config: PathBuf,

    /// The environment to roll back.
    #[arg(long, value_name = "ENV")]
    pub environment: String,

    /// The service to roll back; repeat for more [default: every service].
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// The image digest to return to (`sha256:…`, or a whole `repo@sha256:…`), instead
    /// of the previous one; needs exactly one --service.
    #[arg(long, value_name = "DIGEST")]
    pub to: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub mode: ReleaseModeArgs,
}
