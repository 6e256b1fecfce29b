//! Command-line arguments. Only types here: each subcommand's module does the work.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

mod bootstrap;
mod preview;
mod release;

use self::bootstrap::BOOTSTRAP_HELP;
pub use self::bootstrap::BootstrapArgs;
use self::preview::PREVIEW_HELP;
pub use self::preview::{
    PreviewArgs, PreviewCommand, PreviewDownArgs, PreviewPruneArgs, PreviewUpArgs, PreviewWhere,
};
use self::release::{PROMOTE_HELP, ROLLBACK_HELP};
pub use self::release::{PromoteArgs, ReleaseModeArgs, RollbackArgs};
use crate::commands::local_auth::LocalAuthArgs;
use crate::output::{ColorChoice, OutputFormat};

/// Push a container image to ECR without Docker, and create or update a CloudFormation
/// stack through change sets: preview, confirm, execute, follow, explain failures.
///
/// Region and credentials come from the standard AWS chain (AWS_REGION, AWS_PROFILE,
/// environment keys, SSO, web identity). AWS_ENDPOINT_URL points every AWS call at
/// another endpoint, e.g. a local moto server.
///
/// Exit code 3 (detached): the AWS credentials expired while waiting for a stack
/// operation (e.g. a 1 h GitHub OIDC session); the operation goes on in CloudFormation
/// and was not judged. Watch it with `deployer status --stack-name NAME`.
#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    propagate_version = true,
    after_help = crate::error::EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes, before or after the subcommand's name: how output looks.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// `text` for people, `json` for scripts (one JSON document on stdout; progress
    /// stays on stderr).
    #[arg(long, value_enum, global = true, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// When to colour output: `auto` colours a terminal unless NO_COLOR is set (or
    /// CLICOLOR_FORCE asks for colour in a pipe too).
    #[arg(long, value_enum, value_name = "WHEN", global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Only results, warnings and errors: no progress lines (for `local-auth`: no
    /// request log).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Show the AWS SDK's own log on stderr: `-v` what it does, `-vv` in detail, `-vvv`
    /// everything.
    #[arg(long, short = 'v', action = ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push an image (OCI layout, OCI archive or docker-save archive) to an ECR repository.
    Push(PushArgs),
    /// Create or update a stack through a change set (optionally pushing the image first).
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Deploy(Box<DeployArgs>),
    /// Execute the change set a `deploy --plan-out FILE` left, if the stack has not
    /// changed since (the approved change set, nothing else).
    ///
    /// Before changing anything, apply refuses (exit 1, saying to plan again) when the
    /// stack is not as planned (another deploy, a rollback or the console ran since), is
    /// gone, or the change set is gone or not AVAILABLE. With --image it pushes the image
    /// to the plan's repository, refusing first (exit 64) when the image's digest is not
    /// the plan's, and without executing when the pushed URI differs from the planned
    /// one; without --image the planned image must already be in the repository (exit 64
    /// otherwise). Then it executes, follows, explains failures and reports exactly like
    /// `deploy` (same summary, outputs, exit codes). The region is the plan's. A plan
    /// without changes: nothing to apply, exit 0, no AWS call.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Apply(Box<ApplyArgs>),
    /// Delete the change set a `deploy --plan-out FILE` left, so that plan can no longer
    /// be applied (used when a plan's tests fail, or it will not be approved).
    ///
    /// A change set that is already gone counts as discarded (exit 0), and so does a plan
    /// without one (no changes, or a dead stack to recreate). Only the change set is
    /// deleted: the stack, and a first plan's empty REVIEW_IN_PROGRESS stack, stay. A
    /// file that is not a plan is bad input (exit 64); an AWS refusal exits 1. The region
    /// is the plan's.
    #[command(after_help = crate::error::EXIT_CODES_HELP)]
    Discard(DiscardArgs),
    /// Plan (or deploy) an environment with exactly the images another environment runs:
    /// the image digests of `--from`'s service stacks, nothing built or pushed.
    #[command(after_help = PROMOTE_HELP)]
    Promote(PromoteArgs),
    /// Plan (or deploy) a service's previous image again, from its ECS task definition
    /// revisions, through the same change-set flow as a deploy.
    #[command(after_help = ROLLBACK_HELP)]
    Rollback(RollbackArgs),
    /// Show where a stack stands (its status, last failure and outputs), or an
    /// application environment's services: running image, tasks, rollout, target
    /// health and URL.
    #[command(after_help = STATUS_HELP)]
    Status(StatusArgs),
    /// Show a service's CloudWatch logs (its JSON lines made readable), and follow them.
    #[command(after_help = LOGS_HELP)]
    Logs(LogsArgs),
    /// Pull-request previews: bring pull request N's services up on the preview
    /// environment (`up`), remove them (`down`), show them (`list`), remove old ones
    /// (`prune`).
    #[command(after_help = PREVIEW_HELP)]
    Preview(PreviewArgs),
    /// Delete a stack.
    Destroy(DestroyArgs),
    /// Once per account and region: deploy the GitHub OIDC roles (cfn/github-oidc.yaml)
    /// and print the `gh variable set` commands for the workflows' variables.
    #[command(after_help = BOOTSTRAP_HELP)]
    Bootstrap(BootstrapArgs),
    /// Run the local ALB login emulator in front of an app (development only, loopback only).
    LocalAuth(LocalAuthArgs),
}

/// Where the image comes from and where it goes.
#[derive(Debug, Clone, Args)]
pub struct ImageArgs {
    /// The image to push, in skopeo's transport syntax: `oci:DIR[:TAG]` (OCI layout
    /// directory), `oci-archive:FILE` (what `docker buildx build --output type=oci,dest=FILE`
    /// writes) or `docker-archive:FILE` (what `docker save` writes). Set from `--image`
    /// of the command (`push --image REF`, `deploy --image REF`).
    #[arg(skip)]
    pub image: Option<String>,

    /// ECR repository name; created if missing (immutable tags, scan on push, a lifecycle
    /// policy that expires only untagged images, so no deployed image ever expires).
    #[arg(long, value_name = "NAME")]
    pub repository: Option<String>,

    /// Tag to give the pushed image (`deploy --image-tag`, `push --tag`); if it already
    /// names another image the push fails (tags never move). Default: the git commit SHA
    /// (12 characters); when a re-run of the commit built another image, that one is
    /// pushed as `<sha>-<12 hex of its digest>`. Outside git: `digest-<12 hex>`.
    #[arg(long = "image-tag", value_name = "TAG")]
    pub tag: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub transfer: TransferArgs,
}

/// How the image travels to the registry: where to, and the time limits.
#[derive(Debug, Clone, Args)]
pub struct TransferArgs {
    /// Registry base URL to push to instead of the one ECR reports (its `proxyEndpoint`),
    /// e.g. `http://127.0.0.1:5000` for a local registry.
    #[arg(long, value_name = "URL", env = "DEPLOYER_REGISTRY")]
    pub registry: Option<String>,

    /// The longest the whole push may take, retries included (`0`: no limit). Blobs
    /// uploaded before it stopped stay, so running again continues.
    #[arg(
        long,
        value_name = "DURATION",
        env = "DEPLOYER_PUSH_TIMEOUT",
        default_value = "30m"
    )]
    pub push_timeout: String,

    /// The longest one registry request may take (a blob upload is bounded by the idle
    /// timeout and --push-timeout instead).
    #[arg(
        long,
        value_name = "DURATION",
        env = "DEPLOYER_REGISTRY_REQUEST_TIMEOUT",
        default_value = "120s"
    )]
    pub registry_request_timeout: String,

    /// The longest a registry request may make no progress (nothing sent or received):
    /// catches a stalled registry or network.
    #[arg(
        long,
        value_name = "DURATION",
        env = "DEPLOYER_REGISTRY_IDLE_TIMEOUT",
        default_value = "60s"
    )]
    pub registry_idle_timeout: String,

    /// The longest to wait for a connection to the registry (or to the proxy in
    /// HTTPS_PROXY/HTTP_PROXY/ALL_PROXY, which, with NO_PROXY, the push follows as the
    /// AWS SDK does).
    #[arg(
        long,
        value_name = "DURATION",
        env = "DEPLOYER_REGISTRY_CONNECT_TIMEOUT",
        default_value = "10s"
    )]
    pub registry_connect_timeout: String,
}

/// `deployer push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The image to push, in skopeo's transport syntax: `oci:DIR[:TAG]` (OCI layout
    /// directory), `oci-archive:FILE` (what `docker buildx build --output type=oci,dest=FILE`
    /// writes) or `docker-archive:FILE` (what `docker save` writes).
    #[arg(long = "image", value_name = "REF")]
    pub image_ref: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub image: ImageArgs,

    /// Tag to give the pushed image (same as `--image-tag`; `deploy` uses `--tag` for stack tags).
    #[arg(long = "tag", value_name = "TAG", conflicts_with = "tag")]
    pub push_tag: Option<String>,
}

impl PushArgs {
    /// The tag to push under: `--tag` or `--image-tag`, whichever was given.
    pub fn tag(&self) -> Option<&str> {
        self.push_tag.as_deref().or(self.image.tag.as_deref())
    }
}

/// `deployer deploy`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("preview").args(["dry_run", "plan_out"])))]
pub struct DeployArgs {
    /// Stack name (or from `--config`).
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,

    /// CloudFormation template file, YAML or JSON (or from `--config`).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// A template parameter, `KEY=VALUE`; repeat for more. Overrides the config file.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,

    /// The image to push first, in skopeo's transport syntax: `oci:DIR[:TAG]`,
    /// `oci-archive:FILE` or `docker-archive:FILE`. With a version-2 deploy.yaml (an
    /// application): `SERVICE=REF`, repeatable, one per service to ship; a service
    /// without one keeps the image its stack runs.
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub image: ImageArgs,

    /// With a version-2 deploy.yaml: plan and deploy only this service's stack (repeat
    /// for more); the environment stack must exist and is left as it is.
    #[arg(long = "service", value_name = "NAME", requires = "config")]
    pub services: Vec<String>,

    /// Deploy a new value of a parameter the template marks immutable
    /// (`Metadata.Deployer.ImmutableParameters`), after doing by hand what the refusal
    /// said (e.g. deleting the old Cognito domain). Repeat for more.
    #[arg(long = "allow-change", value_name = "PARAMETER")]
    pub allow_change: Vec<String>,

    /// The template parameter that receives the pushed image's digest-pinned URI
    /// [default: ImageUri, or `image_parameter` from --config].
    #[arg(long, value_name = "NAME")]
    pub image_parameter: Option<String>,

    /// Create and show the change set, then delete it: nothing is executed or left behind.
    /// With --image nothing is pushed or created in ECR either: the change set shows the
    /// digest-pinned URI the image will have, read from the image on disk.
    #[arg(long)]
    pub dry_run: bool,

    /// Create and show the change set, then stop: it is left AVAILABLE (not executed)
    /// and FILE says which it is and what the stack looked like, for `deployer apply
    /// FILE` to execute later (after an approval). As with --dry-run, --image pushes
    /// nothing (a plan needs no ECR write permission): the digest-pinned URI comes from
    /// the image on disk, and `apply --image` pushes that same image. No changes: the
    /// change set is deleted and FILE says `has_changes: false`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dry_run", "yes"])]
    pub plan_out: Option<PathBuf>,

    /// With `--dry-run` or `--plan-out`: exit 0 when there are no changes, 2 when
    /// changes are pending (and 2 means nothing else: bad input exits 64, a failure 1).
    #[arg(long, requires = "preview")]
    pub detailed_exitcode: bool,

    /// The commit being deployed, recorded as the stack tag `deployer:commit`
    /// [default: GITHUB_SHA, else `git rev-parse HEAD`; outside git: none, so no tag
    /// and no ordering check]. A deploy refuses a commit that is not a descendant of
    /// (or equal to) the one the stack records (`git merge-base --is-ancestor`), so an
    /// older commit never replaces a newer one; a recorded commit git does not know (a
    /// shallow clone) is refused too: fetch the history (`fetch-depth: 0`).
    #[arg(long, value_name = "SHA", env = "DEPLOYER_COMMIT")]
    pub commit: Option<String>,

    /// Deploy even when --commit is not a descendant of the stack's recorded commit
    /// (a deliberate rollback to an older commit).
    #[arg(long)]
    pub allow_out_of_order: bool,

    /// Execute without asking. Without it, a terminal asks for confirmation; CI (CI=true) never asks.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// A stack tag, `KEY=VALUE`; repeat for more. Applied to the stack and all its resources.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,

    /// Capabilities to grant (CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND).
    /// Default: worked out from the template.
    #[arg(long, value_name = "CAP", num_args = 1..)]
    pub capabilities: Vec<String>,

    /// Turn on termination protection for the stack.
    #[arg(long)]
    pub termination_protection: bool,

    /// IAM role CloudFormation assumes to create the resources (a service role), so the
    /// caller itself needs only change-set and `iam:PassRole` permissions.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// How long to wait for the stack to finish, e.g. `30m`, `1h`, `90s` [default: 60m,
    /// or `wait_timeout` from --config]. Credentials that expire before then (a 1 h OIDC
    /// session) end the wait with exit 3: the operation goes on in CloudFormation.
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,

    /// How long CloudFormation may take to work out the change set (CREATE_PENDING /
    /// CREATE_IN_PROGRESS) before the deploy gives up and deletes it again, with the
    /// empty stack a first deploy created. Never longer than `--wait-timeout`.
    /// CloudFormation usually needs 2–60 s (minutes with transforms or nested stacks);
    /// one stuck in CREATE_PENDING should not hold a deploy for the whole
    /// `--wait-timeout` (aws-actions' deploy action also stops after 30 minutes)
    /// [default: 30m, or `change_set_timeout` from --config].
    #[arg(long, value_name = "DURATION")]
    pub change_set_timeout: Option<String>,

    /// AWS region to deploy to. Wins over `region:` in --config, which wins over
    /// AWS_REGION (a config region that differs from AWS_REGION gets a warning).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// A deploy.yaml with per-environment settings; flags override it. `${NAME}` in its
    /// string values is the environment variable NAME (`$${` for a literal `${`); one
    /// that is unset or empty is bad input (exit 64), unless a flag overrides that key.
    #[arg(long, value_name = "FILE", requires = "environment")]
    pub config: Option<PathBuf>,

    /// Which environment of `--config` to use.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub environment: Option<String>,
}

/// `deployer apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file `deploy --plan-out FILE` wrote.
    #[arg(value_name = "FILE")]
    pub plan: PathBuf,

    /// The image the plan was made with (same syntax as `deploy --image`): pushed to the
    /// plan's repository, and nothing is executed unless its digest is the one in the
    /// plan. Needed when the plan has an image, unless that image is already in the
    /// repository (checked by digest). For a release plan (version 3, from a version-2
    /// deploy.yaml): `SERVICE=REF`, repeatable, one per service whose image the plan
    /// pinned from disk.
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,

    /// Tag to give the pushed image (as `deploy --image-tag`; default: the git commit).
    #[arg(long = "image-tag", value_name = "TAG")]
    pub tag: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub transfer: TransferArgs,

    /// How long to wait for the stack to finish, e.g. `30m`, `1h` [default: the plan's,
    /// i.e. the `--wait-timeout` of the deploy that planned it].
    #[arg(long, value_name = "DURATION")]
    pub wait_timeout: Option<String>,

    /// Execute without asking. Without it, a terminal asks for confirmation; CI (CI=true) never asks.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// `deployer discard`.
#[derive(Debug, Args)]
pub struct DiscardArgs {
    /// The plan file `deploy --plan-out FILE` wrote.
    #[arg(value_name = "PLAN_FILE")]
    pub plan: PathBuf,
}

/// What `status --help` ends with.
const STATUS_HELP: &str = "\
With --config and --environment, one row per service of deploy.yaml (stack
APPLICATION-ENVIRONMENT-SERVICE), after the environment stack (APPLICATION-ENVIRONMENT):
  STACK       the service stack's status (`not deployed` when it has none)
  IMAGE       the digest the ECS service's PRIMARY deployment runs, and its task
              definition revision (what `rollback` goes back from)
  TASKS       running/desired, and pending ones
  DEPLOYMENT  the current ECS deployment's rollout state (IN_PROGRESS, COMPLETED, FAILED)
  TARGETS     the target group's targets by health (healthy, unhealthy, initial, draining)
  URL         the service's URL (stack output ServiceUrl)
Below the table: rollouts not complete (with ECS's reason), older deployments still
running, why targets are unhealthy, and whatever could not be read.

It only reads: cloudformation:DescribeStacks, ecs:DescribeServices and
DescribeTaskDefinition, elasticloadbalancing:DescribeTargetHealth. A service that
cannot be read in full still gets its row; only a missing environment stack exits 1.

Examples:
  deployer status --config deploy.yaml --environment staging
  deployer status --config deploy.yaml --environment production --output json \\
    | jq -r '.services[] | \"\\(.service) \\(.ecs.image_digest)\"'
  deployer status --stack-name web-prod";

/// `deployer status`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").args(["stack_name", "config"]).required(true)))]
pub struct StatusArgs {
    /// One stack: its status, last failure reason and outputs.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "environment"])]
    pub stack_name: Option<String>,

    /// The application's deploy.yaml (version 2): show an environment's services.
    #[arg(long, value_name = "FILE", requires = "environment")]
    pub config: Option<PathBuf>,

    /// Which environment of `--config` to show.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub environment: Option<String>,
}

/// What `logs --help` ends with.
const LOGS_HELP: &str = "\
The log group is the service stack's output LogGroupName (stack
APPLICATION-ENVIRONMENT-SERVICE; the region is the environment's), or --stack-name's,
or --log-group as given.

Each event is one line: its time (UTC), the task it came from (the first 8 characters
of the task id), then for the service's JSON lines the level, the message and the
fields as key=value (method, path, status, latency_us first); other lines as they are.
--output json prints one JSON object per event and line (time, stream, id, message,
and fields: the parsed JSON line or null), for jq.

--follow asks for new events every 2 seconds and shows each once (events that arrive
late, up to a minute behind, are still shown); Ctrl-C stops it (exit 0), and so does
closing the pipe it writes to. It needs logs:FilterLogEvents (and
cloudformation:DescribeStacks unless --log-group).

Examples:
  deployer logs --config deploy.yaml --environment staging --service web
  deployer logs --config deploy.yaml --environment production --service web --since 1h --follow
  deployer logs --config deploy.yaml --environment staging --service web --output json \\
    | jq -r 'select(.fields.status >= 500) | .message'
  deployer logs --log-group /ecs/web-prod --since 30m";

/// `deployer logs`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("whose").args(["config", "stack_name", "log_group"]).required(true)))]
pub struct LogsArgs {
    /// The application's deploy.yaml (version 2); with --environment and --service.
    #[arg(long, value_name = "FILE", requires_all = ["environment", "service"])]
    pub config: Option<PathBuf>,

    /// Which environment of `--config`.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub environment: Option<String>,

    /// Which service of `--config`.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub service: Option<String>,

    /// A stack whose output LogGroupName names the log group.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "log_group"])]
    pub stack_name: Option<String>,

    /// The log group itself.
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    pub log_group: Option<String>,

    /// How far back to start, e.g. `10m`, `1h`, `1h30m`, `90s`.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub since: String,

    /// Keep showing new events until Ctrl-C.
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// AWS region [default: the environment's with --config, else AWS_REGION or the profile].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// `deployer destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Stack name.
    #[arg(long, value_name = "NAME")]
    pub stack_name: String,

    /// Delete without asking. Without it, a terminal asks for confirmation and anything
    /// else refuses.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Only for a DELETE_FAILED stack: delete it but keep these resources (logical ids,
    /// as the failed delete names them) in the account, no longer managed by
    /// CloudFormation (DeleteStack `RetainResources`).
    #[arg(long, value_name = "LOGICAL_ID", num_args = 1..)]
    pub retain: Vec<String>,

    /// How long to wait for the delete to finish, e.g. `30m`, `1h`, `90s`.
    #[arg(long, value_name = "DURATION", default_value = "60m")]
    pub wait_timeout: String,
}
