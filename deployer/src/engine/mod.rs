//! The change-set engine that `deploy`, `apply`, `bootstrap` (and `promote`/`rollback`
//! through [`release`]) share: validate offline, (push the image), bring the stack into
//! a deployable state, create a change set, show it, ask, execute, follow the events
//! and explain a failure. The commands only parse and resolve their inputs and call it.
//!
//! One file per phase: `plan` (stack state → change set → what changes), `execute`
//! (confirm, execute, follow, cancel on Ctrl-C), `cleanup` (what a dry run, a "no" or
//! an interrupt leaves behind), `report` (the final result, GitHub outputs); the plan
//! file (`plan_file`), applying one (`apply`: verification, recreate), and several
//! stacks released together (`release`). The CloudFormation calls themselves are in
//! `crate::cfn`; the change tables are rendered by `crate::output::changes`.

pub(crate) mod apply;
mod cleanup;
mod execute;
mod findings;
pub(crate) mod order;
pub(crate) mod plan;
pub(crate) mod plan_file;
mod plan_out;
pub(crate) mod plan_recreate;
mod preflight;
mod preflight_cognito;
pub(crate) mod release;
mod report;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_events;
#[cfg(test)]
mod tests_express;
#[cfg(test)]
mod tests_hostile;
#[cfg(test)]
mod tests_plan;
#[cfg(test)]
mod tests_recreate;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;

pub(crate) use self::plan::{ParameterChange, Ready};
pub(crate) use self::report::{DeployReport, View};
use crate::cfn::wait::Deadline;
use crate::cli::ImageArgs;
use crate::config::Settings;
use crate::error::Failure;
use crate::output::{Printer, Progress, prompt};
use crate::parameters;
use crate::template::Template;

/// A deploy whose settings and template are already resolved: what `deploy` makes of
/// its flags and deploy.yaml, and what `bootstrap` makes of its own flags, so both go
/// through the same change-set flow.
pub(crate) struct Request<'a> {
    /// Stack, parameters, tags, timeouts.
    pub(crate) settings: Settings,
    /// The template to deploy.
    pub(crate) template: Template,
    /// Where the image comes from (`--image`, the registry flags); `None`: no image.
    pub(crate) image: Option<&'a ImageArgs>,
    /// Show the change set, then delete it.
    pub(crate) dry_run: bool,
    /// With `dry_run`: changes pending exit 2.
    pub(crate) detailed_exitcode: bool,
    /// Execute without asking.
    pub(crate) yes: bool,
    /// Immutable parameters allowed to change.
    pub(crate) allow_change: &'a [String],
    /// `--plan-out`: leave the change set for `apply` and write this plan file.
    pub(crate) plan_out: Option<PathBuf>,
    /// Planned as one stack of a release (`release`): leave the change set, and keep
    /// the plan in the report ([`DeployReport::planned`]) instead of writing a file.
    pub(crate) release: bool,
    /// `--commit`: the commit being deployed (else DEPLOYER_COMMIT, GITHUB_SHA, git HEAD).
    pub(crate) commit: Option<&'a str>,
    /// `--allow-out-of-order`: deploy even if the stack holds a newer commit.
    pub(crate) allow_out_of_order: bool,
}

/// How a deploy of a [`Request`] ended, for a command built on it: the exit code and
/// what the stack looks like now. The result itself was already reported.
pub(crate) struct Finished {
    /// The exit code `deploy` would end with.
    pub(crate) code: ExitCode,
    /// The stack's outputs (after the deploy, or as they are when nothing changed).
    pub(crate) outputs: BTreeMap<String, String>,
    /// The stack's status, when known.
    pub(crate) stack_status: Option<String>,
    /// The change set had changes.
    pub(crate) has_changes: bool,
    /// It was executed.
    pub(crate) executed: bool,
}

/// Runs a resolved deploy through the whole flow (checks, change set, confirm,
/// execute, follow, explain) and reports it like `deploy` does.
pub(crate) async fn run_resolved(
    request: Request<'_>,
    printer: &Printer,
) -> Result<Finished, Failure> {
    let mut deploy = prepare(request, printer).await?;
    let result = deploy.run().await;
    let code = deploy.finish(result)?;
    Ok(Finished {
        code,
        outputs: std::mem::take(&mut deploy.report.outputs),
        stack_status: deploy.report.stack_status.take(),
        has_changes: deploy.report.has_changes,
        executed: deploy.report.executed,
    })
}

/// A resolved deploy made ready to run: offline checks, pre-flight checks, the push.
pub(crate) async fn prepare(request: Request<'_>, printer: &Printer) -> Result<Deploy, Failure> {
    let Request {
        settings,
        template,
        image,
        dry_run,
        detailed_exitcode,
        yes,
        allow_change,
        plan_out,
        release,
        commit,
        allow_out_of_order,
    } = request;
    let terminal = printer.terminal();
    let image = image.filter(|i| i.image.is_some());
    let pushing = image.is_some();
    if pushing && settings.repository.is_none() {
        return Err(Failure::input(
            "--image needs --repository NAME (or `repository:` in deploy.yaml)",
        ));
    }
    // From here on no output shows a NoEcho value (`crate::redact`).
    crate::redact::register_no_echo(&template.parameters, &settings.parameters);
    for warning in parameters::validate(
        &template,
        &settings.parameters,
        pushing.then_some(settings.image_parameter.as_str()),
    )? {
        printer.warn(&warning);
    }
    // A plan (--plan-out) executes nothing, like a dry run: nobody needs to confirm it.
    let preview = dry_run || plan_out.is_some() || release;
    if !preview {
        prompt::check_someone_answers(terminal, yes, ", or --dry-run to only look")?;
    }
    let commit = crate::git::deploy_commit(commit)?;
    if commit.is_none() && printer.verbose() > 0 {
        printer.note(
            "no commit known (no --commit, DEPLOYER_COMMIT or GITHUB_SHA, and not in a git work tree): \
             the stack gets no deployer:commit tag and the ordering check is skipped",
        );
    }
    let sdk = crate::aws::sdk_config_in(settings.region.as_deref()).await?;
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_default();
    preflight::check(&sdk, &settings, &template, allow_change, printer).await?;
    let mut parameters = settings.parameters.clone();
    let mut image_uri = None;
    if let Some(image) = image {
        let uri = if preview {
            plan_image(image, &settings, &sdk, printer).await?
        } else {
            push_image(image, &settings, &sdk, printer).await?
        };
        parameters.insert(settings.image_parameter.clone(), uri.clone());
        image_uri = Some(uri);
    }
    let capabilities = match &settings.capabilities {
        Some(given) => given.clone(),
        None => template.capabilities.clone(),
    };
    Ok(Deploy {
        cloud: Cloud::connect(&sdk, settings.wait_timeout),
        target: Target {
            stack_name: settings.stack_name.clone(),
            termination_protection: settings.termination_protection,
        },
        mode: Mode {
            dry_run,
            detailed_exitcode,
            ask: prompt::asks_to_execute(terminal, yes),
        },
        progress: printer.progress(),
        view: View::new(*printer),
        report: DeployReport {
            stack_name: settings.stack_name.clone(),
            dry_run,
            capabilities: capabilities.clone(),
            image_uri,
            plan_file: plan_out.as_ref().map(|p| p.display().to_string()),
            ..Default::default()
        },
        inputs: Inputs {
            parameters,
            capabilities,
            settings,
            template,
            plan_out,
            release,
            commit,
            allow_out_of_order,
            work_tree: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            region,
        },
    })
}

/// Pushes `--image` (to `--repository`, or `repository:` from deploy.yaml) and returns
/// its digest-pinned URI, so a new image is always a real change and the same image a
/// real no-op.
async fn push_image(
    image: &ImageArgs,
    settings: &Settings,
    sdk: &SdkConfig,
    printer: &Printer,
) -> Result<String, Failure> {
    let mut image = image.clone();
    image.repository = settings.repository.clone();
    let pushed = crate::commands::push::push_image(&image, sdk, printer).await?;
    printer.note(&format!("Pushed {}", pushed.uri));
    Ok(pushed.uri)
}

/// The URI `--image` would get, for a dry run: nothing is pushed and nothing is
/// created in ECR (previews must not change what production pulls).
async fn plan_image(
    image: &ImageArgs,
    settings: &Settings,
    sdk: &SdkConfig,
    printer: &Printer,
) -> Result<String, Failure> {
    let mut image = image.clone();
    image.repository = settings.repository.clone();
    let planned = crate::commands::push::plan_image(&image, sdk).await?;
    printer.note(&format!(
        "Dry run: image not pushed; a deploy pushes it as {}",
        planned.uri
    ));
    Ok(planned.uri)
}

/// What this run deploys, resolved before the first AWS call and only read afterwards.
pub(crate) struct Inputs {
    settings: Settings,
    template: Template,
    /// The final parameter values (settings plus the pushed image's URI).
    parameters: BTreeMap<String, String>,
    /// Granted: as asked, or worked out from the template.
    capabilities: Vec<String>,
    /// `--plan-out`: leave the change set for `apply` and write this plan file.
    plan_out: Option<PathBuf>,
    /// One stack of a release: leave the change set and keep the plan in the report.
    release: bool,
    /// The commit being deployed (recorded as the `deployer:commit` stack tag).
    commit: Option<String>,
    /// `--allow-out-of-order`.
    allow_out_of_order: bool,
    /// Where git is asked about the commits (the current directory).
    work_tree: PathBuf,
    /// The region the SDK works in (recorded in a plan).
    region: String,
}

impl Inputs {
    /// A dry run or a plan: nothing is executed (or pushed) by this run.
    fn preview(&self, mode: Mode) -> bool {
        mode.dry_run || self.plans()
    }

    /// The change set is left for a later apply: `--plan-out`, or a release's plan.
    fn plans(&self) -> bool {
        self.plan_out.is_some() || self.release
    }
}

/// The stack a run works on, and what every ending needs to know about it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Stack name.
    pub(crate) stack_name: String,
    /// Turn termination protection on after the deploy.
    pub(crate) termination_protection: bool,
}

/// How the run may proceed, from the flags and where it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mode {
    /// `--dry-run`: show the change set, then delete it.
    pub(crate) dry_run: bool,
    /// `--detailed-exitcode`: changes pending exit 2.
    pub(crate) detailed_exitcode: bool,
    /// Ask before executing (no `--yes`, not CI).
    pub(crate) ask: bool,
}

/// What talking to CloudFormation needs: the client, when to stop waiting, and what
/// counts as the user interrupting.
pub(crate) struct Cloud {
    pub(crate) client: Client,
    /// ECS, to show a service's events and stopped tasks while it deploys (`None`: don't).
    pub(crate) ecs: Option<aws_sdk_ecs::Client>,
    pub(crate) deadline: Deadline,
    /// Makes the future that resolves on Ctrl-C/SIGTERM ([`support::shutdown_signal`]);
    /// tests inject one that fires at once, later or never.
    pub(crate) interrupt: fn() -> Interrupt,
}

impl Cloud {
    /// The real clients of `sdk`, waiting at most `wait`, interrupted by Ctrl-C/SIGTERM.
    pub(crate) fn connect(sdk: &SdkConfig, wait: std::time::Duration) -> Self {
        Cloud {
            client: Client::new(sdk),
            ecs: Some(aws_sdk_ecs::Client::new(sdk)),
            deadline: Deadline::after(wait),
            interrupt: signal_interrupt,
        }
    }
}

/// A future that resolves when the user interrupts us.
pub(crate) type Interrupt = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The real interrupt: Ctrl-C or SIGTERM.
pub(crate) fn signal_interrupt() -> Interrupt {
    Box::pin(support::shutdown_signal())
}

/// One deploy run: the phases (in `plan`, `execute`, `cleanup`, `report`) are methods
/// on it, each using the parts it needs. `I` is what the plan phase works from: a
/// deploy's [`Inputs`]; `apply` has none (`()`), only a plan file, and uses the phases
/// after planning (execute, follow, clean up, report), which need no inputs.
pub(crate) struct Deploy<I = Inputs> {
    pub(crate) cloud: Cloud,
    pub(crate) inputs: I,
    pub(crate) target: Target,
    pub(crate) mode: Mode,
    /// Progress on stderr.
    pub(crate) progress: Progress,
    /// Where results go: stdout, and the GitHub summary and outputs.
    pub(crate) view: View,
    /// What happened, filled in as the phases go; printed at the end.
    pub(crate) report: DeployReport,
}

/// How a deploy ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Nothing to change.
    NoChanges,
    /// Dry run or plan with changes.
    Pending,
    /// Executed to a successful status.
    Deployed,
}

impl Deploy {
    /// The phases in order: plan (ending early for no changes, a dry run or a
    /// rejected change set), then confirm, execute and follow.
    pub(crate) async fn run(&mut self) -> Result<Ending, Failure> {
        let ready = match self.plan().await? {
            plan::Planned::Done(ending) => return Ok(ending),
            plan::Planned::Ready(ready) => *ready,
        };
        self.execute(ready).await
    }
}

impl<P> Deploy<P> {
    fn stack_name(&self) -> &str {
        &self.target.stack_name
    }
}

#[cfg(test)]
impl<I> Deploy<I> {
    /// A run for the scenario tests (deploy's and apply's): scripted CloudFormation, no
    /// ECS, stack `app`, never asks, never interrupted, output discarded.
    pub(crate) fn scripted(client: Client, inputs: I, wait: std::time::Duration) -> Self {
        Deploy {
            cloud: Cloud {
                client,
                ecs: None,
                deadline: Deadline::after(wait),
                interrupt: || Box::pin(std::future::pending()),
            },
            inputs,
            target: Target {
                stack_name: "app".into(),
                termination_protection: false,
            },
            mode: Mode {
                dry_run: false,
                detailed_exitcode: false,
                ask: false,
            },
            progress: Progress::plain(Box::new(std::io::sink())),
            view: View {
                printer: Printer::plain(),
                github: None,
            },
            report: DeployReport::default(),
        }
    }
}
