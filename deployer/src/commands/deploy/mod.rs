//! The `deploy` subcommand: validate offline, (push the image), bring the stack into a
//! deployable state, create a change set, show it, ask, execute, follow the events and
//! explain a failure.
//!
//! One file per phase: `plan` (stack state → change set → what changes), `execute`
//! (confirm, execute, follow, cancel on Ctrl-C), `cleanup` (what a dry run, a "no" or
//! an interrupt leaves behind), `report` (tables, the final result, GitHub outputs).
//! The CloudFormation calls themselves are in `crate::cfn`.

mod cleanup;
mod execute;
mod findings;
mod plan;
mod preflight;
mod report;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_events;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;

use self::report::{DeployReport, View};
use crate::cfn::wait::Deadline;
use crate::cli::{DeployArgs, ImageArgs};
use crate::config::{self, Settings};
use crate::error::{CommandResult, Failure};
use crate::output::{Printer, Progress};
use crate::parameters;
use crate::template::Template;

/// Runs `deployer deploy`.
pub(crate) async fn run(args: DeployArgs, printer: &Printer) -> CommandResult {
    let mut deploy = match start(&args, printer).await {
        Ok(deploy) => deploy,
        // Config, template, parameters, pre-flight checks, push: GitHub gets the same
        // annotation and summary as a failure after the change set.
        Err(failure) => return Err(report::failed_before_change_set(&args, failure)),
    };
    let result = deploy.run().await;
    deploy.finish(result)
}

/// Everything before the first change-set call: settings, offline checks, the checks
/// against the deployed stack and the hosted zone, and the push.
async fn start(args: &DeployArgs, printer: &Printer) -> Result<Deploy, Failure> {
    let (settings, warnings) = config::resolve_with_warnings(args)?;
    for warning in warnings {
        printer.warn(&warning);
    }
    let template = Template::load(&settings.template)?;
    prepare(
        Request {
            settings,
            template,
            image: Some(&args.image),
            dry_run: args.dry_run,
            detailed_exitcode: args.detailed_exitcode,
            yes: args.yes,
            allow_change: &args.allow_change,
        },
        printer,
    )
    .await
}

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

/// [`start`] after the settings: offline checks, pre-flight checks, the push.
async fn prepare(request: Request<'_>, printer: &Printer) -> Result<Deploy, Failure> {
    let Request {
        settings,
        template,
        image,
        dry_run,
        detailed_exitcode,
        yes,
        allow_change,
    } = request;
    let terminal = printer.terminal();
    let image = image.filter(|i| i.image.is_some());
    let pushing = image.is_some();
    if pushing && settings.repository.is_none() {
        return Err(Failure::input(
            "--image needs --repository NAME (or `repository:` in deploy.yaml)",
        ));
    }
    for warning in parameters::validate(
        &template,
        &settings.parameters,
        pushing.then_some(settings.image_parameter.as_str()),
    )? {
        printer.warn(&warning);
    }
    if !dry_run && !yes && !terminal.ci && !terminal.interactive {
        return Err(Failure::input(
            "not on a terminal, so there is nobody to confirm the change set: pass --yes to execute without asking \
             (or set CI=true), or --dry-run to only look",
        ));
    }
    let sdk = crate::aws::sdk_config_in(settings.region.as_deref()).await?;
    preflight::check(&sdk, &settings, &template, allow_change, printer).await?;
    let mut parameters = settings.parameters.clone();
    let mut image_uri = None;
    if let Some(image) = image {
        let uri = if dry_run {
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
        cloud: Cloud {
            client: Client::new(&sdk),
            ecs: Some(aws_sdk_ecs::Client::new(&sdk)),
            deadline: Deadline::after(settings.wait_timeout),
            interrupt: signal_interrupt,
        },
        mode: Mode {
            dry_run,
            detailed_exitcode,
            ask: !yes && !terminal.ci,
        },
        progress: printer.progress(),
        view: View::new(*printer),
        report: DeployReport {
            stack_name: settings.stack_name.clone(),
            dry_run,
            capabilities: capabilities.clone(),
            image_uri,
            ..Default::default()
        },
        inputs: Inputs {
            parameters,
            capabilities,
            settings,
            template,
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
struct Inputs {
    settings: Settings,
    template: Template,
    /// The final parameter values (settings plus the pushed image's URI).
    parameters: BTreeMap<String, String>,
    /// Granted: as asked, or worked out from the template.
    capabilities: Vec<String>,
}

/// How the run may proceed, from the flags and where it runs.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// `--dry-run`: show the change set, then delete it.
    dry_run: bool,
    /// `--detailed-exitcode`: changes pending exit 2.
    detailed_exitcode: bool,
    /// Ask before executing (no `--yes`, not CI).
    ask: bool,
}

/// What talking to CloudFormation needs: the client, when to stop waiting, and what
/// counts as the user interrupting.
struct Cloud {
    client: Client,
    /// ECS, to show a service's events and stopped tasks while it deploys (`None`: don't).
    ecs: Option<aws_sdk_ecs::Client>,
    deadline: Deadline,
    /// Makes the future that resolves on Ctrl-C/SIGTERM ([`support::shutdown_signal`]);
    /// tests inject one that fires at once, later or never.
    interrupt: fn() -> Interrupt,
}

/// A future that resolves when the user interrupts us.
type Interrupt = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The real interrupt: Ctrl-C or SIGTERM.
fn signal_interrupt() -> Interrupt {
    Box::pin(support::shutdown_signal())
}

/// One deploy run: the phases (in `plan`, `execute`, `cleanup`, `report`) are methods
/// on it, each using the parts it needs.
struct Deploy {
    cloud: Cloud,
    inputs: Inputs,
    mode: Mode,
    /// Progress on stderr.
    progress: Progress,
    /// Where results go: stdout, and the GitHub summary and outputs.
    view: View,
    /// What happened, filled in as the phases go; printed at the end.
    report: DeployReport,
}

/// How a deploy ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Nothing to change.
    NoChanges,
    /// Dry run with changes.
    Pending,
    /// Executed to a successful status.
    Deployed,
}

impl Deploy {
    /// The phases in order: plan (ending early for no changes, a dry run or a
    /// rejected change set), then confirm, execute and follow.
    async fn run(&mut self) -> Result<Ending, Failure> {
        let ready = match self.plan().await? {
            plan::Planned::Done(ending) => return Ok(ending),
            plan::Planned::Ready(ready) => ready,
        };
        self.execute(ready).await
    }

    fn stack_name(&self) -> &str {
        &self.inputs.settings.stack_name
    }
}
