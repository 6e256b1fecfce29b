//! The arguments of `deployer bootstrap`: the one-time GitHub OIDC stack per environment.

use std::path::PathBuf;

use clap::Args;

/// What `bootstrap --help` ends with.
pub(super) const BOOTSTRAP_HELP: &str = "\
Who may assume which role (cfn/github-oidc.yaml): only deploy.yml of this repository
(by its numeric id) on the deploy branch (Branch, default main). The deploy role: its
apply job in the environment (Environment, default production). The plan role: its
plan job of a push or dispatch. The preview role: the plan job of a pull request from
this repository; it can only create, show and delete deployer-preview-* change sets.
The pull-request role (environment with `previews:` only): live previews, below.

The ids: `gh api repos/OWNER/NAME --jq '.owner.id, .id, .full_name'` is run for them
(gh on PATH, logged in; the name must be spelt as GitHub does, as the tokens carry it),
unless --github-owner-id and --github-repo-id are given.

Variables printed (from the stack and its parameters):
  AWS_REGION                the region deployed to
  AWS_DEPLOY_ROLE_ARN       output DeployRoleArn
  AWS_PLAN_ROLE_ARN         output PlanRoleArn
  AWS_PREVIEW_ROLE_ARN      output PreviewRoleArn
  CFN_ROLE_ARN              output CloudFormationRoleArn
  PERMISSIONS_BOUNDARY_ARN  output PermissionsBoundaryArn (app.yaml's roles carry it)
  STACK_NAME                parameter AppStackName
  ECR_REPOSITORY            parameter EcrRepositoryPrefix
  HOSTED_ZONE_ID, DOMAIN_NAME, COGNITO_DOMAIN_PREFIX: from the flags of the same names;
  without them they are listed as still to set.
Then the `gh api` commands that let only the deploy branch enter the deploy
environment (custom deployment branch policy). --set-variables runs them too; when
GitHub refuses (plans without the setting, no admin rights) bootstrap warns, names what
it could not set and still succeeds: the roles do not rely on it.

Exit codes: as deploy; 64 when the ids cannot be found without gh; with
--set-variables, 1 also when gh is missing, not logged in or refuses a variable (the
commands are printed all the same).

Per environment of an application (deploy.yaml version 2), one stack each:
  --environment staging     stack github-deploy-staging, EnvironmentName=staging,
                            variables AWS_DEPLOY_ROLE_ARN_STAGING, AWS_PLAN_ROLE_ARN_STAGING,
                            CFN_ROLE_ARN_STAGING, PERMISSIONS_BOUNDARY_ARN_STAGING, plus
                            AWS_PREVIEW_ROLE_ARN and AWS_REGION as they are (STACK_NAME
                            and ECR_REPOSITORY are not printed: deploy.yaml names them)
  --environment preview     the environment with `previews:` also gets a second stack,
                            github-deploy-preview-pull-requests (cfn/pull-request-previews.yaml):
                            AWS_PULL_REQUEST_ROLE_ARN, which pr.yml's jobs of a pull request
                            and preview-prune.yml on the deploy branch assume (it changes
                            only the stacks {application}-{environment}-pr-* and pushes
                            only to *-preview), and CFN_PULL_REQUEST_ROLE_ARN, the only
                            service role it may pass (preview-scoped resources only)

Examples:
  deployer bootstrap --config deploy.yaml --environment staging \\
    --github-repo octo-org/web-app --set-variables
  deployer bootstrap --config deploy.yaml --environment production \\
    --github-repo octo-org/web-app --set-variables
  deployer bootstrap --github-repo octo-org/web-app \\
    --parameter AppStackName=web-prod --parameter EcrRepositoryPrefix=web \\
    --hosted-zone-id Z0123456789ABCDEFGHIJ --domain-name app.example.com \\
    --cognito-domain-prefix web-prod-login --set-variables";

/// `deployer bootstrap`.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// The GitHub repository whose workflows will deploy, `OWNER/NAME`: sets the
    /// template's GitHubOrg and GitHubRepo, and is where the variables go.
    #[arg(long, value_name = "OWNER/NAME")]
    pub github_repo: String,

    /// The repository owner's numeric GitHub id (template GitHubOwnerId), for when gh is
    /// not available: `owner.id` of https://api.github.com/repos/OWNER/NAME. Give it with
    /// --github-repo-id, or neither (then gh looks both up).
    #[arg(long, value_name = "ID")]
    pub github_owner_id: Option<String>,

    /// The repository's numeric GitHub id (template GitHubRepoId): `id` of
    /// https://api.github.com/repos/OWNER/NAME. The roles trust this id, which survives
    /// renames and is never reused.
    #[arg(long, value_name = "ID")]
    pub github_repo_id: Option<String>,

    /// Name of the bootstrap stack [default: github-deploy, or github-deploy-ENVIRONMENT
    /// with --environment].
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,

    /// Bootstrap the roles of one environment of an application (deploy.yaml version
    /// 2): sets the template's EnvironmentName (and the GitHub environment of the
    /// apply job, Environment, unless --parameter gives it), deploys stack
    /// github-deploy-ENVIRONMENT and prints the variables with the suffix
    /// _ENVIRONMENT (upper case, - as _): AWS_DEPLOY_ROLE_ARN_STAGING, … Run once per
    /// environment. Without it: one stack for the single-stack layout, as before.
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,

    /// The application's deploy.yaml: the region is --environment's (unless --region).
    #[arg(long, value_name = "FILE", requires = "environment")]
    pub config: Option<PathBuf>,

    /// A parameter of the bootstrap template, `KEY=VALUE`; repeat for more. Pass the same
    /// ones on every run: parameters not given take the template's default again. The
    /// ones that matter: AppStackName (the app stack the roles may deploy, default
    /// alb-cognito-app), EcrRepositoryPrefix (the ECR repositories they may push to),
    /// Environment (the GitHub environment of the apply job, production), Branch (the
    /// branch whose deploy.yml may plan and deploy, main),
    /// CreateOidcProvider=false with OidcProviderArn when the account has the provider.
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,

    /// Template to deploy instead of the built-in copy of cfn/github-oidc.yaml.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// AWS region [default: from AWS_REGION or the profile]: the app's region, which is
    /// what AWS_REGION is set to.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Create and show the change set, then delete it; prints the variables already known.
    #[arg(long)]
    pub dry_run: bool,

    /// Execute without asking. Without it, a terminal asks for confirmation; CI (CI=true) never asks.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Run the `gh variable set` commands, then the `gh api` commands that restrict the
    /// deploy environment to the deploy branch (needs the GitHub CLI on PATH, logged in:
    /// `gh auth status`), instead of only printing them.
    #[arg(long, conflicts_with = "dry_run")]
    pub set_variables: bool,

    /// Value for HOSTED_ZONE_ID: the Route 53 public hosted zone holding the domain.
    #[arg(long, value_name = "ID")]
    pub hosted_zone_id: Option<String>,

    /// Value for DOMAIN_NAME: where the app is served, e.g. app.example.com.
    #[arg(long, value_name = "NAME")]
    pub domain_name: Option<String>,

    /// Value for COGNITO_DOMAIN_PREFIX: the Cognito login domain's prefix (unique in the region).
    #[arg(long, value_name = "PREFIX")]
    pub cognito_domain_prefix: Option<String>,

    /// How long to wait for the stack to finish, e.g. `10m`.
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub wait_timeout: String,
}
