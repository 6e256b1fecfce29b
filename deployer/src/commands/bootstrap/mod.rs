//! The `bootstrap` subcommand: deploy the GitHub OIDC stack (`cfn/github-oidc.yaml`,
//! built into the binary) through the same change-set flow as `deploy` (preview,
//! confirm, execute, follow, explain), then turn its outputs and parameters into the
//! repository variables the workflows read: `gh variable set` commands on stdout (or
//! JSON with `--output json`), run by us with `--set-variables`.
//!
//! The roles trust the repository by its numeric ids, which bootstrap looks up with `gh`
//! (or takes from flags); and it restricts the deploy environment to the deploy branch
//! with `gh api` where GitHub allows it (github.rs).
//!
//! With `--environment E` the stack, its `EnvironmentName` and the variables' names
//! are that environment's (environment.rs).
//!
//! The deploy's own report (change table, result, outputs) goes to stderr, so stdout is
//! only the commands: pasteable, or `| sh`.

mod environment;
mod github;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::cfn::wait::{duration_input, parse_duration};
use crate::cli::BootstrapArgs;
use crate::config::{self, Settings};
use crate::engine::{self, Request};
use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer};
use crate::parameters::{effective_values, parse_pairs};
use crate::template::Template;

/// The bootstrap template, so the binary alone can bootstrap an account.
const TEMPLATE: &str = include_str!("../../../../cfn/github-oidc.yaml");

/// The second bootstrap stack of the environment with `previews:` (the roles of
/// pull-request previews), deployed after the first with its outputs.
const PULL_REQUEST_TEMPLATE: &str = include_str!("../../../../cfn/pull-request-previews.yaml");

/// `github-deploy-E` → `github-deploy-E-pull-requests`.
const PULL_REQUEST_STACK_SUFFIX: &str = "-pull-requests";

/// Where the value of a variable comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The region the stack was deployed to.
    Region,
    /// A stack output.
    Output(&'static str),
    /// A template parameter (as given, else its default).
    Parameter(&'static str),
    /// A flag of `bootstrap`: values only the user knows.
    Flag(&'static str),
}

/// Every variable the workflows read that bootstrap can know, in the order printed.
/// (IMAGE_DOCKERFILE and IMAGE_CONTEXT are optional and have defaults.)
const VARIABLES: [(&str, Source); 13] = [
    ("AWS_REGION", Source::Region),
    ("AWS_DEPLOY_ROLE_ARN", Source::Output("DeployRoleArn")),
    ("AWS_PLAN_ROLE_ARN", Source::Output("PlanRoleArn")),
    ("AWS_PREVIEW_ROLE_ARN", Source::Output("PreviewRoleArn")),
    (
        "AWS_PULL_REQUEST_ROLE_ARN",
        Source::Output("PullRequestRoleArn"),
    ),
    ("CFN_ROLE_ARN", Source::Output("CloudFormationRoleArn")),
    (
        "CFN_PULL_REQUEST_ROLE_ARN",
        Source::Output("PullRequestServiceRoleArn"),
    ),
    (
        "PERMISSIONS_BOUNDARY_ARN",
        Source::Output("PermissionsBoundaryArn"),
    ),
    ("STACK_NAME", Source::Parameter("AppStackName")),
    ("ECR_REPOSITORY", Source::Parameter("EcrRepositoryPrefix")),
    ("HOSTED_ZONE_ID", Source::Flag("--hosted-zone-id")),
    ("DOMAIN_NAME", Source::Flag("--domain-name")),
    (
        "COGNITO_DOMAIN_PREFIX",
        Source::Flag("--cognito-domain-prefix"),
    ),
];

/// Marks (among the parameters collect_variables reads) the environment with
/// `previews:`, whose second stack has the pull-request roles; and the variables that
/// exist only with it.
const PULL_REQUEST_PREVIEWS: &str = "PullRequestPreviews";
const PULL_REQUEST_ONLY: [&str; 2] = ["AWS_PULL_REQUEST_ROLE_ARN", "CFN_PULL_REQUEST_ROLE_ARN"];

/// A variable bootstrap could not fill, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ToFill {
    name: String,
    reason: String,
}

/// What `bootstrap --output json` prints.
#[derive(Debug, Serialize)]
struct BootstrapReport {
    /// The bootstrap stack.
    stack_name: String,
    /// The environment with `previews:`: its second stack (cfn/pull-request-previews.yaml).
    pull_request_stack_name: Option<String>,
    /// `--environment`: the application environment these roles are bound to.
    environment: Option<String>,
    /// Where it is, and what AWS_REGION is set to.
    region: String,
    /// `--github-repo`.
    github_repository: String,
    /// Its owner's and its own numeric ids, which the roles trust.
    github_ids: github::RepoIds,
    /// `--dry-run`.
    dry_run: bool,
    /// The change set had changes.
    has_changes: bool,
    /// The change set was executed (false: a dry run, or nothing to change).
    executed: bool,
    /// The stack's status, when known.
    stack_status: Option<String>,
    /// Variable → value, for every variable known.
    variables: BTreeMap<String, String>,
    /// The variables still to set by hand, with why.
    to_fill: Vec<ToFill>,
    /// The `gh variable set` commands for `variables`, as a shell reads them.
    commands: Vec<String>,
    /// `--set-variables` ran them all.
    variables_set: bool,
    /// The `gh api` commands that let only the deploy branch enter the deploy environment.
    environment_commands: Vec<String>,
    /// `--set-variables` ran them and GitHub accepted them.
    environment_restricted: bool,
    /// Why they could not be run or were refused.
    environment_warning: Option<String>,
}

/// Runs `deployer bootstrap`.
pub(crate) async fn run(args: BootstrapArgs, printer: &Printer) -> CommandResult {
    let repo = GitHubRepo::parse(&args.github_repo)?;
    let template = match &args.template {
        Some(path) => Template::load(path)?,
        None => Template::parse(TEMPLATE)
            .map_err(|e| Failure::internal(format!("the built-in cfn/github-oidc.yaml {e}")))?,
    };
    let mut parameters = parse_pairs(&args.parameters, "--parameter")?;
    for (key, set_by) in [
        ("GitHubOrg", "--github-repo OWNER/NAME"),
        ("GitHubRepo", "--github-repo OWNER/NAME"),
        ("GitHubOwnerId", "--github-owner-id (or gh)"),
        ("GitHubRepoId", "--github-repo-id (or gh)"),
    ] {
        if parameters.contains_key(key) {
            return Err(Failure::input(format!(
                "--parameter {key}: set by {set_by}; leave it out"
            )));
        }
    }
    if let Some(env) = &args.environment {
        environment::check(env)?;
        environment::set_parameters(&mut parameters, &template, env)?;
    }
    let mut pull_requests: Option<BTreeMap<String, String>> = None;
    // With an application's deploy.yaml, the roles reach exactly that environment's
    // stacks (`{application}-{environment}` and its `-{service}` stacks) and the
    // services' repositories (`{application}-…`), unless given.
    if let (Some(path), Some(env)) = (&args.config, &args.environment)
        && config::format_version(path)? == crate::app::VERSION
    {
        let app = crate::app::load(path, &config::process_env)?;
        // `promote --from F --to E` reads F's service stacks with E's roles.
        let source = app
            .environment_names()
            .find(|from| app.promotes_to(from) == Some(env.as_str()))
            .map(|from| app.environment_stack(from))
            .unwrap_or_default();
        // The environment with `previews:` gets a second stack with the pull-request
        // roles (its preview stacks only); every other environment none.
        if app.preview_environment() == Some(env.as_str()) {
            let settings = app.environment(env)?;
            pull_requests = Some(BTreeMap::from([
                ("AppStackName".to_owned(), app.environment_stack(env)),
                ("EcrRepositoryPrefix".to_owned(), app.name.clone()),
                ("HostedZoneId".to_owned(), settings.hosted_zone_id.clone()),
                ("PreviewDomain".to_owned(), settings.domain.clone()),
            ]));
        }
        for (key, value) in [
            ("AppStackName", app.environment_stack(env)),
            ("EcrRepositoryPrefix", app.name.clone()),
            ("PromotesFromStackName", source),
        ] {
            if template.parameters.contains_key(key) {
                parameters.entry(key.to_owned()).or_insert(value);
            }
        }
    }
    let stack_name =
        environment::stack_name(args.stack_name.as_deref(), args.environment.as_deref());
    config::check_stack_name("--stack-name", &stack_name)?;
    let ids = github::resolve_ids(
        &repo.full,
        args.github_owner_id.as_deref(),
        args.github_repo_id.as_deref(),
    )?;
    parameters.insert("GitHubOrg".into(), repo.owner.clone());
    parameters.insert("GitHubRepo".into(), repo.name.clone());
    parameters.insert("GitHubOwnerId".into(), ids.owner_id.clone());
    parameters.insert("GitHubRepoId".into(), ids.repo_id.clone());
    let wait_timeout = duration_input("--wait-timeout", &args.wait_timeout)?;
    let change_set_timeout = parse_duration(config::DEFAULT_CHANGE_SET_TIMEOUT)
        .map_err(Failure::internal)?
        .min(wait_timeout);
    let mut from_parameters: BTreeMap<String, String> =
        effective_values(&template.parameters, &parameters)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    if pull_requests.is_some() {
        from_parameters.insert(PULL_REQUEST_PREVIEWS.to_owned(), "true".to_owned());
    }
    // The region is settled here (flag, else the AWS chain), so AWS_REGION is exactly
    // where the stack went.
    // With --config, the environment's region (when deploy.yaml gives it literally).
    let config_region = match (&args.config, &args.environment) {
        (Some(path), Some(env)) => crate::commands::app_env::load(path, env)?.region,
        _ => None,
    };
    let sdk =
        crate::aws::sdk_config_in(args.region.as_deref().or(config_region.as_deref())).await?;
    let region = sdk
        .region()
        .map(ToString::to_string)
        .ok_or_else(|| Failure::internal("no region after configuring the AWS SDK"))?;
    let settings_for = |stack_name: String, template: PathBuf, parameters| Settings {
        stack_name,
        region: Some(region.clone()),
        template,
        parameters,
        tags: BTreeMap::new(),
        capabilities: None,
        termination_protection: false,
        role_arn: None,
        image_parameter: config::DEFAULT_IMAGE_PARAMETER.to_owned(),
        repository: None,
        wait_timeout,
        change_set_timeout,
        express_create: false,
    };
    let request = |settings, template| Request {
        settings,
        template,
        image: None,
        dry_run: args.dry_run,
        detailed_exitcode: false,
        yes: args.yes,
        allow_change: &[],
        plan_out: None,
        release: false,
        commit: None,
        // The bootstrap stack is set up by hand from any checkout; the commit is
        // recorded, but an older checkout (same template) must not be refused.
        allow_out_of_order: true,
    };
    let settings = settings_for(
        stack_name.clone(),
        args.template
            .clone()
            .unwrap_or_else(|| PathBuf::from("cfn/github-oidc.yaml")),
        parameters,
    );
    let finished =
        engine::run_resolved(request(settings, template), &printer.results_to_stderr()).await?;
    // The environment with `previews:`: its second stack, with the first one's provider
    // and boundary (a first dry run has neither yet: said, and its variables stay to fill).
    let mut outputs = finished.outputs.clone();
    let mut code = finished.code;
    let pull_request_stack_name = pull_requests
        .as_ref()
        .map(|_| format!("{stack_name}{PULL_REQUEST_STACK_SUFFIX}"));
    if let (Some(mut values), Some(pr_stack)) = (pull_requests, pull_request_stack_name.clone()) {
        let stable = finished
            .stack_status
            .as_deref()
            .is_some_and(|s| s.ends_with("_COMPLETE") && !s.contains("ROLLBACK"));
        match (
            finished.outputs.get("OidcProviderArn"),
            finished.outputs.get("PermissionsBoundaryArn"),
        ) {
            (Some(provider), Some(boundary)) if stable => {
                values.insert("OidcProviderArn".to_owned(), provider.clone());
                values.insert("PermissionsBoundaryArn".to_owned(), boundary.clone());
                for key in [
                    "GitHubOrg",
                    "GitHubRepo",
                    "GitHubOwnerId",
                    "GitHubRepoId",
                    "Branch",
                ] {
                    if let Some(value) = from_parameters.get(key) {
                        values.insert(key.to_owned(), value.clone());
                    }
                }
                let pr_template = Template::parse(PULL_REQUEST_TEMPLATE).map_err(|e| {
                    Failure::internal(format!("the built-in cfn/pull-request-previews.yaml {e}"))
                })?;
                let settings = settings_for(
                    pr_stack,
                    PathBuf::from("cfn/pull-request-previews.yaml"),
                    values,
                );
                let second = engine::run_resolved(
                    request(settings, pr_template),
                    &printer.results_to_stderr(),
                )
                .await?;
                outputs.extend(second.outputs);
                code = second.code;
            }
            _ => printer.warn(&format!(
                "{pr_stack} (the pull-request previews' roles) needs {stack_name} deployed \
                 first (its outputs OidcProviderArn and PermissionsBoundaryArn): run again \
                 without --dry-run"
            )),
        }
    }
    let flags = BTreeMap::from([
        ("--hosted-zone-id", args.hosted_zone_id.clone()),
        ("--domain-name", args.domain_name.clone()),
        (
            "--cognito-domain-prefix",
            args.cognito_domain_prefix.clone(),
        ),
    ]);
    let deployed = !args.dry_run;
    let (variables, to_fill) =
        collect_variables(&region, &outputs, &from_parameters, &flags, deployed);
    let (variables, to_fill) = environment::select(variables, to_fill, args.environment.as_deref());
    let commands: Vec<Vec<String>> = variables
        .iter()
        .map(|(name, value)| gh_variable_set(name, value, &repo.full))
        .collect();
    let lines = commands
        .iter()
        .map(|argv| shell_line(argv))
        .collect::<Result<Vec<_>, _>>()?;
    // Only with the template's own parameters (a --template without them has no such trust).
    // The GitHub environment: `Environment`, or `EnvironmentName` in the per-environment template.
    let environment = match (
        from_parameters
            .get("Environment")
            .or(from_parameters.get(environment::ENVIRONMENT_PARAMETER)),
        from_parameters.get("Branch"),
    ) {
        (Some(env), Some(branch)) => Some((env.clone(), branch.clone())),
        _ => None,
    };
    let environment_commands = environment
        .as_ref()
        .map(|(env, branch)| github::environment_commands(&repo.full, env, branch))
        .unwrap_or_default();
    let environment_lines = environment_commands
        .iter()
        .map(|argv| shell_line(argv))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = BootstrapReport {
        stack_name,
        pull_request_stack_name,
        environment: args.environment.clone(),
        region,
        github_repository: repo.full.clone(),
        github_ids: ids,
        dry_run: args.dry_run,
        has_changes: finished.has_changes,
        executed: finished.executed,
        stack_status: finished.stack_status.clone(),
        variables: variables.into_iter().collect(),
        to_fill,
        commands: lines,
        variables_set: false,
        environment_commands: environment_lines,
        environment_restricted: false,
        environment_warning: None,
    };
    if printer.format() == OutputFormat::Text {
        printer.stdout(&render_text(&report));
    }
    let set = if args.set_variables {
        set_variables(&commands, &repo.full, printer)
    } else {
        Ok(())
    };
    report.variables_set = args.set_variables && set.is_ok();
    if let Some((env, branch)) = environment.as_ref().filter(|_| report.variables_set) {
        match github::configure_environment(&environment_commands) {
            Ok(()) => {
                report.environment_restricted = true;
                printer.note(&format!(
                    "Only {branch} may deploy to the GitHub environment {env} (deployment branch policy set with gh)"
                ));
            }
            Err(why) => {
                let warning = format!(
                    "could not restrict the GitHub environment {env} to the branch {branch}: {why}. {}",
                    github::why_it_matters(env, branch)
                );
                printer.warn(&warning);
                report.environment_warning = Some(warning);
            }
        }
    } else if !args.set_variables && printer.format() == OutputFormat::Text && !commands.is_empty()
    {
        printer.note(
            "Paste the gh commands above into a shell (GitHub CLI, logged in), \
             or run again with --set-variables; then push to main.",
        );
    }
    if printer.format() == OutputFormat::Json {
        printer.json(&report)?;
    }
    set?;
    Ok(code)
}

/// `--github-repo OWNER/NAME`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GitHubRepo {
    owner: String,
    name: String,
    /// `OWNER/NAME`.
    full: String,
}

impl GitHubRepo {
    fn parse(text: &str) -> Result<Self, Failure> {
        let bad = || {
            Failure::input(format!(
                "--github-repo `{text}` is not OWNER/NAME (e.g. octo-org/web-app, as in the repository's URL)"
            ))
        };
        let name = text.strip_suffix(".git").unwrap_or(text);
        let (owner, name) = name.split_once('/').ok_or_else(bad)?;
        if owner.is_empty() || name.is_empty() || name.contains('/') {
            return Err(bad());
        }
        Ok(Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
            full: format!("{owner}/{name}"),
        })
    }
}

/// Each variable's value where it is known, and the others with the reason.
fn collect_variables(
    region: &str,
    outputs: &BTreeMap<String, String>,
    parameters: &BTreeMap<String, String>,
    flags: &BTreeMap<&str, Option<String>>,
    deployed: bool,
) -> (Vec<(&'static str, String)>, Vec<ToFill>) {
    let mut known = Vec::new();
    let mut to_fill = Vec::new();
    let previews = parameters.get(PULL_REQUEST_PREVIEWS).map(String::as_str) == Some("true");
    for (name, source) in VARIABLES {
        if PULL_REQUEST_ONLY.contains(&name) && !previews {
            continue;
        }
        let found: Result<String, String> = match source {
            Source::Region => Ok(region.to_owned()),
            Source::Output(output) => match outputs.get(output) {
                Some(value) => Ok(value.clone()),
                None if !deployed && outputs.is_empty() => Err(format!(
                    "output {output}, known once the stack is deployed (run without --dry-run)"
                )),
                None => Err(format!(
                    "the stack has no output {output} (an older bootstrap template? run without --template)"
                )),
            },
            Source::Parameter(parameter) => match parameters.get(parameter) {
                None => Err(format!("the template has no parameter {parameter}")),
                Some(value) if name == "ECR_REPOSITORY" && !is_repository_name(value) => {
                    Err(format!(
                        "{parameter} `{value}` is only a prefix, not a repository name: set one that starts with it"
                    ))
                }
                Some(value) => Ok(value.clone()),
            },
            Source::Flag(flag) => match flags.get(flag).cloned().flatten() {
                Some(value) if !value.is_empty() => Ok(value),
                _ => Err(format!("only you know it: pass {flag}, or set it yourself")),
            },
        };
        match found {
            Ok(value) => known.push((name, value)),
            Err(reason) => to_fill.push(ToFill {
                name: name.to_owned(),
                reason,
            }),
        }
    }
    (known, to_fill)
}

/// ECR's repository-name rule (CreateRepository): lower-case components separated by
/// `/`, each of letters and digits joined by single `.`, `_` or `-`; 2 to 256 characters.
fn is_repository_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.split('/').all(|part| {
            !part.is_empty()
                && part.split(['.', '_', '-']).all(|w| {
                    !w.is_empty()
                        && w.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// The argv of one `gh variable set`.
fn gh_variable_set(name: &str, value: &str, repo: &str) -> Vec<String> {
    [
        "gh", "variable", "set", name, "--body", value, "--repo", repo,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `argv` as one shell line, quoted where needed.
fn shell_line(argv: &[String]) -> Result<String, Failure> {
    shlex::try_join(argv.iter().map(String::as_str))
        .map_err(|e| Failure::input(format!("cannot write {argv:?} as a shell command: {e}")))
}

/// The commands, then the variables still to set as shell comments, so all of stdout
/// can be pasted (or piped to `sh`).
fn render_text(report: &BootstrapReport) -> String {
    let mut out = String::new();
    for line in &report.commands {
        out.push_str(line);
        out.push('\n');
    }
    if !report.environment_commands.is_empty() {
        out.push_str(
            "# A second lock (the roles do not rely on it; some GitHub plans refuse it): only the deploy branch may enter the deploy environment\n",
        );
        for line in &report.environment_commands {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !report.to_fill.is_empty() {
        out.push_str(&format!(
            "# Still to set: gh variable set NAME --body VALUE --repo {}\n",
            report.github_repository
        ));
        for t in &report.to_fill {
            out.push_str(&format!("#   {}: {}\n", t.name, t.reason));
        }
    }
    out
}

/// `--set-variables`: runs the commands with the GitHub CLI, once `gh auth status` says
/// it is logged in. Nothing is run when gh is missing or logged out.
fn set_variables(commands: &[Vec<String>], repo: &str, printer: &Printer) -> Result<(), Failure> {
    let paste = "the gh variable set commands are printed on stdout: run them yourself";
    match Command::new("gh")
        .args(["auth", "status"])
        .stdin(Stdio::null())
        .output()
    {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::failed(format!(
                "--set-variables: `gh` (the GitHub CLI) is not on PATH, so no variable was set. \
                 Install it (https://cli.github.com), run `gh auth login` and run bootstrap again; or {paste}"
            )));
        }
        Err(e) => {
            return Err(Failure::failed(format!(
                "--set-variables: cannot run `gh auth status` ({e}), so no variable was set; {paste}"
            )));
        }
        Ok(out) if !out.status.success() => {
            let said = String::from_utf8_lossy(&out.stderr);
            let said = said
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim();
            return Err(Failure::failed(format!(
                "--set-variables: gh is not logged in (`gh auth status` says: {said}), so no variable was set. \
                 Run `gh auth login` (or set GH_TOKEN) and run bootstrap again; or {paste}"
            )));
        }
        Ok(_) => {}
    }
    for (done, argv) in commands.iter().enumerate() {
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Failure::failed(format!("--set-variables: cannot run gh: {e}")))?;
        if !out.status.success() {
            return Err(Failure::failed(format!(
                "--set-variables: `gh variable set {}` failed ({}): {}\n{done} of {} variables were set; {paste}",
                argv[3],
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                commands.len()
            )));
        }
    }
    printer.note(&format!(
        "Set {} variables on {repo} with gh",
        commands.len()
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_template_parses_and_needs_iam() {
        let t = Template::parse(TEMPLATE).unwrap();
        assert_eq!(t.capabilities, ["CAPABILITY_IAM"]);
        for (_, source) in VARIABLES {
            if let Source::Parameter(p) = source {
                assert!(t.parameters.contains_key(p), "{p}");
            }
        }
        // Every output a variable reads is in one of the two templates: the pull-request
        // variables' in the second only.
        for (name, source) in VARIABLES {
            if let Source::Output(output) = source {
                let template = if PULL_REQUEST_ONLY.contains(&name) {
                    PULL_REQUEST_TEMPLATE
                } else {
                    TEMPLATE
                };
                assert!(template.contains(&format!("\n  {output}:\n")), "{output}");
            }
        }
        let pr = Template::parse(PULL_REQUEST_TEMPLATE).unwrap();
        assert_eq!(pr.capabilities, ["CAPABILITY_IAM"]);
        // What bootstrap fills in; everything else has a default.
        let filled = [
            "GitHubOrg",
            "GitHubRepo",
            "GitHubOwnerId",
            "GitHubRepoId",
            "Branch",
            "OidcProviderArn",
            "PermissionsBoundaryArn",
            "AppStackName",
            "EcrRepositoryPrefix",
            "HostedZoneId",
            "PreviewDomain",
        ];
        let mut names: Vec<&str> = pr.parameters.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = filled.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        for output in [
            "DeployRoleArn",
            "PlanRoleArn",
            "PreviewRoleArn",
            "CloudFormationRoleArn",
        ] {
            assert!(TEMPLATE.contains(&format!("\n  {output}:\n")), "{output}");
        }
    }

    #[test]
    fn github_repo_must_be_owner_slash_name() {
        let r = GitHubRepo::parse("octo-org/web-app.git").unwrap();
        assert_eq!(
            (r.owner.as_str(), r.name.as_str(), r.full.as_str()),
            ("octo-org", "web-app", "octo-org/web-app")
        );
        for bad in ["octo-org", "/x", "x/", "a/b/c", ""] {
            let e = GitHubRepo::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(e.message.contains("OWNER/NAME"), "{}", e.message);
        }
    }

    #[test]
    fn variables_come_from_the_region_outputs_parameters_and_flags() {
        let outputs = BTreeMap::from([
            ("DeployRoleArn".to_owned(), "arn:deploy".to_owned()),
            ("CloudFormationRoleArn".to_owned(), "arn:cfn".to_owned()),
        ]);
        let parameters = BTreeMap::from([
            ("AppStackName".to_owned(), "web-prod".to_owned()),
            ("EcrRepositoryPrefix".to_owned(), "web/".to_owned()),
        ]);
        let flags = BTreeMap::from([
            ("--hosted-zone-id", Some("Z1".to_owned())),
            ("--domain-name", None),
            ("--cognito-domain-prefix", Some(String::new())),
        ]);
        let (known, to_fill) = collect_variables("eu-west-1", &outputs, &parameters, &flags, true);
        assert_eq!(
            known,
            [
                ("AWS_REGION", "eu-west-1".to_owned()),
                ("AWS_DEPLOY_ROLE_ARN", "arn:deploy".to_owned()),
                ("CFN_ROLE_ARN", "arn:cfn".to_owned()),
                ("STACK_NAME", "web-prod".to_owned()),
                ("HOSTED_ZONE_ID", "Z1".to_owned()),
            ]
        );
        let names: Vec<&str> = to_fill.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "AWS_PLAN_ROLE_ARN",
                "AWS_PREVIEW_ROLE_ARN",
                "PERMISSIONS_BOUNDARY_ARN",
                "ECR_REPOSITORY",
                "DOMAIN_NAME",
                "COGNITO_DOMAIN_PREFIX"
            ]
        );
        assert!(
            to_fill[0]
                .reason
                .contains("the stack has no output PlanRoleArn"),
            "{:?}",
            to_fill[0]
        );
        assert!(
            to_fill[3].reason.contains("only a prefix"),
            "{:?}",
            to_fill[3]
        );
        assert!(
            to_fill[4].reason.contains("--domain-name"),
            "{:?}",
            to_fill[4]
        );
        // A dry run of a new stack has no outputs yet.
        let (_, to_fill) =
            collect_variables("eu-west-1", &BTreeMap::new(), &parameters, &flags, false);
        assert!(
            to_fill[0]
                .reason
                .contains("known once the stack is deployed"),
            "{to_fill:?}"
        );
    }

    #[test]
    fn pull_request_variables_only_with_previews() {
        let outputs = BTreeMap::from([("PullRequestRoleArn".to_owned(), "arn:pr".to_owned())]);
        let flags = BTreeMap::new();
        let names = |previews: Option<&str>| {
            let mut parameters = BTreeMap::new();
            if let Some(value) = previews {
                parameters.insert(PULL_REQUEST_PREVIEWS.to_owned(), value.to_owned());
            }
            let (known, to_fill) =
                collect_variables("eu-west-1", &outputs, &parameters, &flags, true);
            let mut names: Vec<String> = known.iter().map(|(n, _)| (*n).to_owned()).collect();
            names.extend(to_fill.into_iter().map(|t| t.name));
            names
        };
        let with = names(Some("true"));
        for name in PULL_REQUEST_ONLY {
            assert!(with.iter().any(|n| n == name), "{name}: {with:?}");
        }
        for previews in [None, Some("false")] {
            let without = names(previews);
            assert!(
                !without.iter().any(|n| n.contains("PULL_REQUEST")),
                "{previews:?}: {without:?}"
            );
        }
        // With previews but an older stack without the outputs: said, not silently left out.
        let mut parameters = BTreeMap::new();
        parameters.insert(PULL_REQUEST_PREVIEWS.to_owned(), "true".to_owned());
        let (_, to_fill) =
            collect_variables("eu-west-1", &BTreeMap::new(), &parameters, &flags, true);
        assert!(
            to_fill.iter().any(|t| t.name == "AWS_PULL_REQUEST_ROLE_ARN"
                && t.reason.contains("PullRequestRoleArn")),
            "{to_fill:?}"
        );
    }

    #[test]
    fn repository_names_follow_ecr() {
        for good in ["web", "team/web-app", "a.b_c-d/e2"] {
            assert!(is_repository_name(good), "{good}");
        }
        for bad in ["w", "web/", "Web", "web--app", "-web", "a//b"] {
            assert!(!is_repository_name(bad), "{bad}");
        }
    }

    #[test]
    fn commands_are_quoted_for_a_shell() {
        let argv = gh_variable_set("DOMAIN_NAME", "it's here", "o/r");
        assert_eq!(
            shell_line(&argv).unwrap(),
            r#"gh variable set DOMAIN_NAME --body "it's here" --repo o/r"#
        );
        let argv = gh_variable_set("CFN_ROLE_ARN", "arn:aws:iam::123456789012:role/x-Y", "o/r");
        assert_eq!(
            shell_line(&argv).unwrap(),
            "gh variable set CFN_ROLE_ARN --body arn:aws:iam::123456789012:role/x-Y --repo o/r"
        );
    }
}
