//! The arguments of `deployer preview up|down|list|prune`: pull-request previews on the
//! environment of deploy.yaml that has `previews:`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::TransferArgs;

pub(super) const PREVIEW_HELP: &str = "\
A preview is pull request N's services on the environment of deploy.yaml that has
`previews:` (the preview environment, deployed from main like any other, with a
wildcard certificate and its own user pool). Each service gets its own stack
APPLICATION-ENVIRONMENT-pr-N-SERVICE, one Fargate task, two listener rules and its own
user pool client whose callback is its preview host:
  one service in deploy.yaml   https://pr-N.DOMAIN/
  several services             https://pr-N-SERVICE.DOMAIN/

Examples:
  deployer preview up --pr 7 --image web=oci-archive:web.tar --image public=oci-archive:web.tar
  deployer preview up --pr 7 --image web=oci-archive:web.tar   # public keeps its image
  deployer preview list
  deployer preview down --pr 7
  deployer preview prune --keep 7,12 --older-than 7d --dry-run

A preview command only ever touches stacks named APPLICATION-ENVIRONMENT-pr-*; never the
environment stack, never another environment. See README \"Previews\".";

pub(super) const UP_HELP: &str = "\
Creating a preview's stacks uses CloudFormation's express mode (fast); updating an
existing preview uses the standard mode (express mode would not roll the ECS service
onto a new task definition). Either way the deployer then waits until every service's
ECS deployment has completed and its targets are healthy, and explains a failed
rollout. Images go to the service's repository plus `-preview` (hello-web-preview),
never to the one production pulls from. Listener rule priorities come from N; a
preview that exists keeps its own. Refused (exit 1, before any change set) when the
environment already has `previews.max` other live previews.

Under GitHub Actions: step outputs preview-url (the first service's URL) and
preview-state (ready|failed), and a section in the job summary.";

/// `deployer preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// What to do with previews.
    #[command(subcommand)]
    pub command: PreviewCommand,
}

/// `preview up|down|list|prune`.
#[derive(Debug, Subcommand)]
pub enum PreviewCommand {
    /// Create or update pull request N's preview: push its images, plan and apply its
    /// service stacks, wait until every service is ready, print the URLs.
    #[command(after_help = UP_HELP)]
    Up(PreviewUpArgs),
    /// Remove pull request N's preview: every stack of it (found by name, so a service
    /// removed from deploy.yaml since goes too), with its listener rules, DNS records
    /// and user pool clients. Images are left to the repository's lifecycle.
    Down(PreviewDownArgs),
    /// Show the live previews: pull request, services, age, last update, commit,
    /// status and URLs.
    List(PreviewWhere),
    /// Remove every preview not in --keep, and/or whose last update is older than
    /// --older-than (what the scheduled workflow runs).
    Prune(PreviewPruneArgs),
}

/// Which application and environment (shared by every `preview` command).
#[derive(Debug, Clone, Args)]
pub struct PreviewWhere {
    /// The application's deploy.yaml (version 2).
    #[arg(long, value_name = "FILE", default_value = "deploy.yaml")]
    pub config: PathBuf,

    /// The environment hosting the previews [default: the one with `previews:`].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,
}

/// `deployer preview up`.
#[derive(Debug, Args)]
pub struct PreviewUpArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub at: PreviewWhere,

    /// The pull request's number (1 to 999999).
    #[arg(long, value_name = "N")]
    pub pr: u32,

    /// `SERVICE=REF`, repeatable: an image on disk (`oci:DIR`, `oci-archive:FILE`,
    /// `docker-archive:FILE`), pushed to the service's `-preview` repository and deployed
    /// by digest, or a digest-pinned URI already pushed. A service without one keeps the
    /// image its preview runs (a new preview needs one for every service).
    #[arg(long = "image", value_name = "SERVICE=REF")]
    pub images: Vec<String>,

    /// The commit the preview runs, recorded as the stack tag `deployer:commit`
    /// [default: GITHUB_SHA, else `git rev-parse HEAD`]. A preview takes any commit (a
    /// pull request's branch may be force-pushed).
    #[arg(long, value_name = "SHA", env = "DEPLOYER_COMMIT")]
    pub commit: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub transfer: TransferArgs,

    /// Show every change set, then delete them: nothing is pushed or executed.
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for every service to be ready after its stack (ECS deployment
    /// completed, targets healthy).
    #[arg(long, value_name = "DURATION", default_value = "20m")]
    pub ready_timeout: String,
}

/// `deployer preview down`.
#[derive(Debug, Args)]
pub struct PreviewDownArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub at: PreviewWhere,

    /// The pull request's number.
    #[arg(long, value_name = "N")]
    pub pr: u32,

    /// How long to wait for the stacks to be deleted.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub wait_timeout: String,
}

/// `deployer preview prune`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").args(["keep", "older_than"]).required(true).multiple(true)))]
pub struct PreviewPruneArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub at: PreviewWhere,

    /// Pull requests whose previews stay (the open ones), comma-separated: `7,12`. Every
    /// other preview is removed. An empty value keeps none.
    #[arg(long, value_name = "N,M,…", num_args = 1, allow_hyphen_values = false)]
    pub keep: Option<String>,

    /// Remove previews whose last update is older than this, e.g. `7d`, `36h`
    /// (with --keep: also the kept ones that are that old).
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,

    /// Only list what would be removed.
    #[arg(long)]
    pub dry_run: bool,

    /// How long to wait for the stacks to be deleted.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub wait_timeout: String,
}
