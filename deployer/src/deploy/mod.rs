//! The `deploy` subcommand: validate offline, (push the image), bring the stack into a
//! deployable state, create a change set, show it, ask, execute, follow the events and
//! explain a failure.
//!
//! One module per concern: `config` (deploy.yaml and flags), `template` and
//! `parameters` (offline checks), `stack_state` (what the current status means),
//! `change_set`, `events` (following and root cause), `poll` (the wait schedule),
//! `github` (Actions summary and outputs).

pub mod change_set;
pub mod config;
pub mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod github;
pub mod parameters;
pub mod poll;
pub mod stack_state;
pub mod template;

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{ChangeSetType, Stack};
use serde::Serialize;

use self::change_set::{Outcome, ParameterChange, ResourceChange};
use self::config::Settings;
use self::events::EventFollower;
use self::github::GitHub;
use self::poll::{Deadline, retry_throttled};
use self::stack_state::{Plan, Settled, is_failed, status_of};
use self::template::{ParameterSpec, Template};
use crate::aws::call_failed;
use crate::cli::DeployArgs;
use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Progress, Terminal};
use crate::signal::shutdown_signal;

/// What `deploy` did, printed as JSON with `--output json`.
#[derive(Debug, Default, Serialize)]
pub struct DeployReport {
    /// Stack name.
    pub stack_name: String,
    /// Stack id, once known.
    pub stack_id: Option<String>,
    /// The change set's name.
    pub change_set_name: Option<String>,
    /// The change set's id (deleted again after a dry run or when empty).
    pub change_set_id: Option<String>,
    /// Whether the change set had any changes.
    pub has_changes: bool,
    /// Whether it was executed.
    pub executed: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// Final stack status (absent for a dry run of a new stack).
    pub stack_status: Option<String>,
    /// Capabilities granted.
    pub capabilities: Vec<String>,
    /// The pushed image, with `--image`.
    pub image_uri: Option<String>,
    /// Resource changes.
    pub changes: Vec<ResourceChange>,
    /// Parameter changes (old → new).
    pub parameter_changes: Vec<ParameterChange>,
    /// Stack outputs after the deploy.
    pub outputs: BTreeMap<String, String>,
    /// Termination protection after the deploy.
    pub termination_protection: Option<bool>,
    /// The root cause of a failure.
    pub root_cause: Option<String>,
}

/// Runs `deployer deploy`.
pub async fn run(args: DeployArgs) -> CommandResult {
    let terminal = Terminal::detect();
    let settings = config::resolve(&args)?;
    let template = Template::load(&settings.template)?;
    let pushing = args.image.image.is_some();
    if pushing && settings.repository.is_none() {
        return Err(Failure::input(
            "--image needs --repository NAME (or `repository:` in deploy.yaml)",
        ));
    }
    parameters::validate(
        &template.parameters,
        &settings.parameters,
        pushing.then_some(settings.image_parameter.as_str()),
    )?;
    if !args.dry_run && !args.yes && !terminal.ci && !terminal.interactive {
        return Err(Failure::input(
            "not on a terminal, so there is nobody to confirm the change set: pass --yes to execute without asking \
             (or set CI=true), or --dry-run to only look",
        ));
    }
    let sdk = crate::aws::sdk_config_in(settings.region.as_deref()).await?;
    let mut parameters = settings.parameters.clone();
    let mut image_uri = None;
    if pushing {
        let uri = push_image(&args, &settings, &sdk).await?;
        parameters.insert(settings.image_parameter.clone(), uri.clone());
        image_uri = Some(uri);
    }
    let capabilities = match &settings.capabilities {
        Some(given) => given.clone(),
        None => template.capabilities.clone(),
    };
    let mut deploy = Deploy {
        client: Client::new(&sdk),
        deadline: Deadline::after(settings.wait_timeout),
        progress: Progress::new(terminal),
        github: GitHub::detect(),
        terminal,
        output: args.output,
        dry_run: args.dry_run,
        detailed_exitcode: args.detailed_exitcode,
        yes: args.yes,
        report: DeployReport {
            stack_name: settings.stack_name.clone(),
            dry_run: args.dry_run,
            capabilities: capabilities.clone(),
            image_uri,
            ..Default::default()
        },
        parameters,
        capabilities,
        settings,
        template,
        interrupt: signal_interrupt,
    };
    let result = deploy.run().await;
    deploy.finish(result)
}

/// Pushes `--image` (to `--repository`, or `repository:` from deploy.yaml) and returns
/// its digest-pinned URI, so a new image is always a real change and the same image a
/// real no-op.
async fn push_image(
    args: &DeployArgs,
    settings: &Settings,
    sdk: &SdkConfig,
) -> Result<String, Failure> {
    let mut image = args.image.clone();
    image.repository = settings.repository.clone();
    let pushed = crate::push::push_image(&image, sdk).await?;
    eprintln!("Pushed {}", pushed.uri);
    Ok(pushed.uri)
}

/// One deploy run.
struct Deploy {
    client: Client,
    settings: Settings,
    template: Template,
    parameters: BTreeMap<String, String>,
    capabilities: Vec<String>,
    deadline: Deadline,
    progress: Progress,
    github: Option<GitHub>,
    terminal: Terminal,
    output: OutputFormat,
    dry_run: bool,
    detailed_exitcode: bool,
    yes: bool,
    report: DeployReport,
    /// Makes the future that resolves on Ctrl-C/SIGTERM ([`shutdown_signal`](crate::signal::shutdown_signal)); tests
    /// inject one that fires at once or never.
    interrupt: fn() -> Interrupt,
}

/// A future that resolves when the user interrupts us.
type Interrupt = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// The real interrupt: Ctrl-C or SIGTERM.
fn signal_interrupt() -> Interrupt {
    Box::pin(shutdown_signal())
}

/// How a deploy ended when it did not fail.
enum Ending {
    /// Nothing to change.
    NoChanges,
    /// Dry run with changes.
    Pending,
    /// Executed to a successful status.
    Deployed,
}

impl Deploy {
    async fn run(&mut self) -> Result<Ending, Failure> {
        let stack_name = self.settings.stack_name.clone();
        if !self.capabilities.is_empty() {
            let source = if self.settings.capabilities.is_some() {
                "as asked"
            } else {
                "needed by the template"
            };
            self.progress.line(&format!(
                "Capabilities ({source}): {}",
                self.capabilities.join(", ")
            ));
        }
        let plan = stack_state::prepare(
            &self.client,
            &stack_name,
            self.deadline,
            &mut self.progress,
            self.dry_run,
        )
        .await?;
        let existing = match &plan {
            Plan::Update(stack) => Some(stack.as_ref().clone()),
            Plan::Create { .. } => None,
            Plan::RecreateAfterDelete => {
                self.report.has_changes = true;
                self.report.stack_status = Some("ROLLBACK_COMPLETE".to_owned());
                self.report.parameter_changes =
                    parameter_changes(&self.template.parameters, &self.parameters, None);
                return Ok(Ending::Pending);
            }
        };
        // Only a stack this run brings into being (REVIEW_IN_PROGRESS) is ours to delete.
        let created_review_stack = matches!(
            plan,
            Plan::Create {
                pre_existing: false
            }
        );
        let name = change_set::unique_name()?;
        self.report.change_set_name = Some(name.clone());
        let request = change_set::Request {
            stack_name: stack_name.clone(),
            name: name.clone(),
            kind: if existing.is_some() {
                ChangeSetType::Update
            } else {
                ChangeSetType::Create
            },
            template_body: self.template.body.clone(),
            parameters: self.parameters.clone(),
            tags: self.settings.tags.clone(),
            capabilities: self.capabilities.clone(),
            role_arn: self.settings.role_arn.clone(),
        };
        self.progress.line(&format!(
            "Creating change set {name} ({} stack {stack_name})",
            if existing.is_some() {
                "update"
            } else {
                "create"
            }
        ));
        // Ctrl-C while the change set is being made: nothing has executed, so delete
        // what this run created instead of leaving it behind.
        let created = {
            let creating =
                change_set::create(&self.client, &request, self.deadline, &mut self.progress);
            tokio::select! {
                outcome = creating => Some(outcome),
                () = (self.interrupt)() => None,
            }
        };
        let Some(created) = created else {
            return Err(self.abandon(&stack_name, &name, created_review_stack).await);
        };
        let described = match created? {
            Outcome::Empty { reason, id } => {
                if let Some(id) = &id {
                    change_set::delete(&self.client, &stack_name, id).await?;
                }
                self.progress
                    .line(&format!("No changes to deploy: {reason}"));
                self.report.stack_status = existing.as_ref().map(|s| status_of(s).to_owned());
                self.report.stack_id = existing
                    .as_ref()
                    .and_then(|s| s.stack_id())
                    .map(str::to_owned);
                if let Some(stack) = &existing {
                    if !self.dry_run {
                        self.ensure_termination_protection(stack).await?;
                    }
                    self.collect_outputs(stack);
                }
                return Ok(Ending::NoChanges);
            }
            Outcome::Failed { reason, id } => {
                let stack_id = self
                    .report
                    .stack_id
                    .clone()
                    .unwrap_or_else(|| stack_name.clone());
                self.clean_up(&id, &stack_id, created_review_stack).await?;
                return Err(Failure::failed(format!(
                    "CloudFormation rejected the change set for stack {stack_name} (it was deleted again): {reason}"
                )));
            }
            Outcome::Ready(described) => described,
        };
        self.report.change_set_id = Some(described.id.clone());
        self.report.stack_id = Some(described.stack_id.clone());
        self.report.has_changes = true;
        self.report.changes = described.changes.clone();
        self.report.parameter_changes = parameter_changes(
            &self.template.parameters,
            &self.parameters,
            existing.as_ref(),
        );
        self.show_changes();

        if self.dry_run {
            self.clean_up(&described.id, &described.stack_id, created_review_stack)
                .await?;
            self.progress
                .line("Dry run: change set deleted, nothing executed.");
            return Ok(Ending::Pending);
        }
        match self.confirmed().await? {
            Some(true) => {}
            Some(false) => {
                self.clean_up(&described.id, &described.stack_id, created_review_stack)
                    .await?;
                return Err(Failure::failed(
                    "not executed: the answer was no; the change set was deleted",
                ));
            }
            None => {
                return Err(self
                    .abandon(&described.stack_id, &described.id, created_review_stack)
                    .await);
            }
        }
        // A stack this run created has only this operation's events, so there is no
        // history to skip (and one call fewer).
        let mut follower = if created_review_stack {
            EventFollower::from_marker(&described.stack_id, None)
        } else {
            EventFollower::start(&self.client, &described.stack_id).await?
        };
        retry_throttled(|| {
            self.client
                .execute_change_set()
                .stack_name(&described.stack_id)
                .change_set_name(&described.id)
                .client_request_token(&name)
                .send()
        })
        .await
        .map_err(|e| call_failed(&format!("executing change set {name}"), &e))?;
        self.report.executed = true;
        self.progress.line(&format!("Executing change set {name}"));
        let mut interrupt = (self.interrupt)();
        let stack = self
            .watch(
                &described.stack_id,
                existing.is_some(),
                &mut follower,
                &mut interrupt,
            )
            .await?;
        self.ensure_termination_protection(&stack).await?;
        self.collect_outputs(&stack);
        Ok(Ending::Deployed)
    }

    /// Follows the executed change set to its end; failures come back with their root cause.
    async fn watch<I>(
        &mut self,
        stack_id: &str,
        updating: bool,
        follower: &mut EventFollower,
        interrupt: &mut I,
    ) -> Result<Stack, Failure>
    where
        I: Future<Output = ()> + Unpin,
    {
        let name = self.settings.stack_name.clone();
        let settled = stack_state::follow(
            &self.client,
            stack_id,
            follower,
            self.deadline,
            &mut self.progress,
            interrupt,
        )
        .await?;
        match settled {
            Settled::Done(stack) => {
                let status = status_of(&stack).to_owned();
                self.report.stack_status = Some(status.clone());
                if !is_failed(&status) {
                    self.progress.line(&format!("Stack {name}: {status}"));
                    return Ok(*stack);
                }
                let cause = events::root_cause(&self.client, &follower.seen)
                    .await
                    .or_else(|| stack.stack_status_reason().map(events::clean_reason))
                    .unwrap_or_else(|| {
                        "CloudFormation gave no reason; see the events above".to_owned()
                    });
                self.report.root_cause = Some(cause.clone());
                Err(Failure::failed(format!(
                    "stack {name} is {status}\nroot cause: {cause}"
                )))
            }
            Settled::Gone => Err(Failure::failed(format!(
                "stack {name} was deleted while deploying (a failed create with rollback set to delete)"
            ))),
            Settled::TimedOut(status) => {
                self.report.stack_status = Some(status.clone());
                Err(Failure::failed(format!(
                    "gave up waiting after {} (--wait-timeout): the stack is still {status}; it will go on. \
                     Watch it with `deployer status --stack-name {name}`",
                    crate::output::format_elapsed(self.deadline.timeout())
                )))
            }
            Settled::Interrupted(status) if updating => {
                self.progress.line(&format!(
                    "Interrupted: cancelling the update of stack {name} (CancelUpdateStack)"
                ));
                retry_throttled(|| {
                    self.client
                        .cancel_update_stack()
                        .stack_name(stack_id)
                        .send()
                })
                .await
                .map_err(|e| {
                    // Too late to cancel (e.g. already cleaning up): the update goes on.
                    Failure::interrupted(format!(
                        "interrupted: the update of stack {name} could not be cancelled ({}); it was {status} \
                         and goes on. Watch it with `deployer status --stack-name {name}`",
                        crate::aws::describe_error(&e)
                    ))
                })?;
                let mut again = Box::pin(shutdown_signal());
                let after = match stack_state::follow(
                    &self.client,
                    stack_id,
                    follower,
                    self.deadline,
                    &mut self.progress,
                    &mut again,
                )
                .await?
                {
                    Settled::Done(stack) => status_of(&stack).to_owned(),
                    Settled::TimedOut(s) | Settled::Interrupted(s) => format!("still {s}"),
                    Settled::Gone => "gone".to_owned(),
                };
                self.report.stack_status = Some(after.clone());
                Err(Failure::interrupted(format!(
                    "interrupted: the update of stack {name} was cancelled; the stack is {after}"
                )))
            }
            Settled::Interrupted(status) => Err(Failure::interrupted(format!(
                "interrupted: the create of stack {name} goes on in CloudFormation ({status}; a create cannot be cancelled). \
                 Watch it with `deployer status --stack-name {name}`, or remove it with `deployer destroy --stack-name {name} --yes`"
            ))),
        }
    }

    /// Deletes the change set and, when this run created it, the empty
    /// REVIEW_IN_PROGRESS stack, so a dry run leaves nothing behind.
    async fn clean_up(
        &mut self,
        change_set_id: &str,
        stack_id: &str,
        delete_stack: bool,
    ) -> Result<(), Failure> {
        change_set::delete(&self.client, stack_id, change_set_id).await?;
        if delete_stack {
            let name = self.settings.stack_name.clone();
            let deleted = stack_state::delete_unless_denied(
                &self.client,
                stack_id,
                &name,
                self.deadline,
                &mut self.progress,
            )
            .await?;
            if let stack_state::Deleted::Denied(failure) = deleted {
                // A preview role may create and delete change sets but, on purpose, not
                // delete stacks. The empty stack holds no resources and the first real
                // deploy creates into it, so this is worth a warning, not a failure.
                self.progress.finish();
                eprintln!(
                    "warning: the empty REVIEW_IN_PROGRESS stack {name} stays (it holds no resources; \
                     the first deploy creates into it): {}",
                    failure.message
                );
            }
        }
        Ok(())
    }

    /// Asks before executing: `Some(answer)`, or `None` when interrupted at the prompt.
    async fn confirmed(&mut self) -> Result<Option<bool>, Failure> {
        if self.yes || self.terminal.ci {
            return Ok(Some(true));
        }
        self.progress.finish();
        eprint!("Execute change set? [y/N] ");
        let _ = std::io::stderr().flush();
        // Read on a blocking thread so Ctrl-C at the prompt is seen (our signal handler
        // replaced the default one that would have ended the process).
        let reading = tokio::task::spawn_blocking(|| {
            let mut answer = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut answer)
                .map(|_| answer)
        });
        let answer = tokio::select! {
            read = reading => read
                .map_err(|e| Failure::internal(format!("reading the answer: {e}")))?
                .map_err(|e| Failure::failed(format!("reading the answer: {e}")))?,
            () = (self.interrupt)() => return Ok(None),
        };
        Ok(Some(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        )))
    }

    /// Interrupted before anything executed: deletes the change set (by name, so this
    /// works even before CreateChangeSet answered) and the empty stack this run created,
    /// and returns the failure to report (exit 130).
    async fn abandon(
        &mut self,
        stack: &str,
        change_set: &str,
        created_review_stack: bool,
    ) -> Failure {
        self.progress.finish();
        let mut left = Vec::new();
        if let Err(failure) = change_set::delete(&self.client, stack, change_set).await {
            left.push(failure.message);
        }
        if created_review_stack {
            let name = self.settings.stack_name.clone();
            match stack_state::delete_unless_denied(
                &self.client,
                stack,
                &name,
                self.deadline,
                &mut self.progress,
            )
            .await
            {
                Ok(stack_state::Deleted::Yes) => {}
                Ok(stack_state::Deleted::Denied(failure)) | Err(failure) => {
                    left.push(failure.message)
                }
            }
        }
        if left.is_empty() {
            Failure::interrupted(format!(
                "interrupted before anything was executed; change set {change_set} was deleted, stack {} is unchanged",
                self.settings.stack_name
            ))
        } else {
            Failure::interrupted(format!(
                "interrupted before anything was executed; cleaning up failed: {}",
                left.join("; ")
            ))
        }
    }

    async fn ensure_termination_protection(&mut self, stack: &Stack) -> Result<(), Failure> {
        let on = stack.enable_termination_protection().unwrap_or(false);
        if self.settings.termination_protection && !on {
            let id = stack
                .stack_id()
                .unwrap_or(&self.settings.stack_name)
                .to_owned();
            retry_throttled(|| {
                self.client
                    .update_termination_protection()
                    .stack_name(&id)
                    .enable_termination_protection(true)
                    .send()
            })
            .await
            .map_err(|e| call_failed("turning on termination protection", &e))?;
            self.progress.line("Termination protection: on");
            self.report.termination_protection = Some(true);
        } else {
            self.report.termination_protection = Some(on);
        }
        Ok(())
    }

    fn collect_outputs(&mut self, stack: &Stack) {
        self.report.outputs = stack
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect();
    }

    fn show_changes(&mut self) {
        let table = change_set::render_text(&self.report.changes, &self.report.parameter_changes);
        self.progress.finish();
        match self.output {
            OutputFormat::Text => print!("{table}"),
            OutputFormat::Json => eprint!("{table}"),
        }
        if let Some(gh) = &self.github {
            gh.summary(&format!(
                "### Change set for stack `{}`\n\n{}\n",
                self.settings.stack_name,
                change_set::render_markdown(&self.report.changes, &self.report.parameter_changes)
            ));
        }
    }

    /// Prints the result (text or JSON), writes the GitHub summary and outputs, and
    /// picks the exit code.
    fn finish(&mut self, result: Result<Ending, Failure>) -> CommandResult {
        self.progress.finish();
        let name = &self.settings.stack_name;
        let (verdict, code) = match &result {
            Ok(Ending::NoChanges) => (
                format!("No changes: stack {name} is up to date."),
                ExitCode::SUCCESS,
            ),
            Ok(Ending::Pending) => (
                format!("Dry run: stack {name} has changes pending."),
                if self.detailed_exitcode {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                },
            ),
            Ok(Ending::Deployed) => (
                format!(
                    "Deployed stack {name}: {}.",
                    self.report.stack_status.as_deref().unwrap_or("done")
                ),
                ExitCode::SUCCESS,
            ),
            Err(failure) => (
                format!("Deploy of stack {name} failed: {}", failure.message),
                ExitCode::FAILURE,
            ),
        };
        if let Some(gh) = &self.github {
            gh.summary(&format!("**{}**\n\n", verdict.replace('\n', "  \n")));
            let mut outputs = vec![
                (
                    "image-uri".to_owned(),
                    self.report.image_uri.clone().unwrap_or_default(),
                ),
                (
                    "change-set-id".to_owned(),
                    self.report.change_set_id.clone().unwrap_or_default(),
                ),
                (
                    "has-changes".to_owned(),
                    self.report.has_changes.to_string(),
                ),
                (
                    "stack-status".to_owned(),
                    self.report.stack_status.clone().unwrap_or_default(),
                ),
            ];
            outputs.extend(
                self.report
                    .outputs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            gh.outputs(&outputs);
            if let Err(failure) = &result {
                let cause = self
                    .report
                    .root_cause
                    .clone()
                    .unwrap_or_else(|| failure.message.clone());
                gh.error(&format!("Deploy of {name} failed"), &cause);
            }
        }
        match self.output {
            OutputFormat::Json => match serde_json::to_string_pretty(&self.report) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("warning: cannot print the report as JSON: {e}"),
            },
            OutputFormat::Text => {
                if result.is_ok() {
                    for (k, v) in &self.report.outputs {
                        println!("{k} = {v}");
                    }
                    println!("{verdict}");
                }
            }
        }
        result.map(|_| code)
    }
}

/// Parameters whose value changes, old → new; NoEcho values are shown as `****`.
pub fn parameter_changes(
    specs: &BTreeMap<String, ParameterSpec>,
    given: &BTreeMap<String, String>,
    existing: Option<&Stack>,
) -> Vec<ParameterChange> {
    let old: BTreeMap<&str, &str> = existing
        .map(|s| {
            s.parameters()
                .iter()
                .filter_map(|p| Some((p.parameter_key()?, p.parameter_value().unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    specs
        .iter()
        .filter_map(|(name, spec)| {
            let new = given
                .get(name)
                .map(String::as_str)
                .or(spec.default.as_deref())?;
            let before = old.get(name.as_str()).copied();
            if !spec.no_echo && before == Some(new) {
                return None;
            }
            if spec.no_echo && !given.contains_key(name) && before.is_some() {
                return None;
            }
            let mask = |v: &str| {
                if spec.no_echo {
                    "****".to_owned()
                } else {
                    v.to_owned()
                }
            };
            Some(ParameterChange {
                name: name.clone(),
                old: before.map(mask),
                new: mask(new),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::cancel_update_stack::CancelUpdateStackOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::Parameter;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::time::Duration;

    use crate::deploy::fixtures::{STACK_ID, event, stack};

    fn deploy(client: Client) -> Deploy {
        let terminal = Terminal {
            live: false,
            interactive: false,
            ci: true,
        };
        Deploy {
            client,
            settings: Settings {
                stack_name: "app".into(),
                region: None,
                template: "t.yaml".into(),
                parameters: BTreeMap::new(),
                tags: BTreeMap::new(),
                capabilities: None,
                termination_protection: false,
                role_arn: None,
                image_parameter: "ImageUri".into(),
                repository: None,
                wait_timeout: Duration::from_secs(600),
            },
            template: Template::parse("Resources:\n  T:\n    Type: AWS::SNS::Topic\n").unwrap(),
            parameters: BTreeMap::new(),
            capabilities: vec![],
            deadline: Deadline::after(Duration::from_secs(600)),
            progress: Progress::new(terminal),
            github: None,
            terminal,
            output: OutputFormat::Text,
            dry_run: false,
            detailed_exitcode: false,
            yes: true,
            report: DeployReport::default(),
            interrupt: || Box::pin(std::future::pending()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_update_ends_with_its_root_cause() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("UPDATE_IN_PROGRESS"))
            .output(|| stack("UPDATE_ROLLBACK_IN_PROGRESS"))
            .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
            .build();
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event("2", "Topic", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", "", 11))
                    .stack_events(event("1", "app", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", 10))
                    .stack_events(event("0", "app", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "", 1))
                    .build()
            })
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event("5", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Topic].", 14))
                    .stack_events(event("4", "Queue", "AWS::SQS::Queue", "UPDATE_FAILED", "Resource update cancelled", 13))
                    .stack_events(event("3", "Topic", "AWS::SNS::Topic", "UPDATE_FAILED", "Invalid parameter: KmsMasterKeyId (Service: Sns, Status Code: 400, Request ID: 42)", 12))
                    .stack_events(event("2", "Topic", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", "", 11))
                    .build()
            })
            .output(|| DescribeStackEventsOutput::builder().stack_events(event("5", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "", 14)).build())
            .repeatedly()
            .build();
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        );
        let mut d = deploy(client);
        let mut follower = EventFollower::from_marker(STACK_ID, Some("0".into()));
        let err = d
            .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.message.ends_with("root cause: Topic (AWS::SNS::Topic) UPDATE_FAILED: Invalid parameter: KmsMasterKeyId"),
            "{}",
            err.message
        );
        assert_eq!(
            d.report.stack_status.as_deref(),
            Some("UPDATE_ROLLBACK_COMPLETE")
        );

        // Under GitHub Actions the failure reaches the summary and the step outputs.
        let dir = std::env::temp_dir().join(format!("deployer-gh-fail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        d.github = Some(GitHub::at(dir.join("summary"), dir.join("output")));
        d.report.change_set_id = Some("arn:cs/1".into());
        d.report.has_changes = true;
        let message = err.message.clone();
        let result = d.finish(Err(err));
        assert_eq!(result.unwrap_err().message, message);
        let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
        assert!(
            summary.contains("Deploy of stack app failed")
                && summary.contains("Invalid parameter: KmsMasterKeyId"),
            "{summary}"
        );
        let outputs = std::fs::read_to_string(dir.join("output")).unwrap();
        assert!(
            outputs.contains("stack-status<<") && outputs.contains("\nUPDATE_ROLLBACK_COMPLETE\n"),
            "{outputs}"
        );
        assert!(
            outputs.contains("change-set-id<<") && outputs.contains("\narn:cs/1\n"),
            "{outputs}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_interrupted_update_is_cancelled_and_exits_130() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("UPDATE_ROLLBACK_IN_PROGRESS"))
            .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
            .build();
        // The update had begun (its stack-level event is there) when Ctrl-C came.
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event(
                        "1",
                        "app",
                        "AWS::CloudFormation::Stack",
                        "UPDATE_IN_PROGRESS",
                        "User Initiated",
                        10,
                    ))
                    .build()
            })
            .output(|| DescribeStackEventsOutput::builder().build())
            .repeatedly()
            .build();
        let cancel = mock!(Client::cancel_update_stack)
            .match_requests(|r| r.stack_name() == Some(STACK_ID))
            .then_output(|| CancelUpdateStackOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events, &cancel]
        );
        let mut d = deploy(client);
        let mut follower = EventFollower::from_marker(STACK_ID, None);
        let err = d
            .watch(STACK_ID, true, &mut follower, &mut std::future::ready(()))
            .await
            .unwrap_err();
        assert_eq!(cancel.num_calls(), 1);
        assert_eq!(err.exit_code(), 130);
        assert!(
            err.message
                .contains("was cancelled; the stack is UPDATE_ROLLBACK_COMPLETE"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_interrupted_create_goes_on_and_says_how_to_remove_it() {
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            &[] as &[&aws_smithy_mocks::Rule]
        );
        let mut d = deploy(client);
        let mut follower = EventFollower::from_marker(STACK_ID, None);
        let err = d
            .watch(STACK_ID, false, &mut follower, &mut std::future::ready(()))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 130);
        assert!(
            err.message.contains("goes on")
                && err.message.contains("deployer destroy --stack-name app"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_timeout_reports_the_status_and_what_to_do() {
        let describe = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        );
        let mut d = deploy(client);
        d.deadline = Deadline::after(Duration::from_secs(90));
        let mut follower = EventFollower::from_marker(STACK_ID, None);
        let err = d
            .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.message
                .contains("still UPDATE_IN_PROGRESS; it will go on")
                && err.message.contains("deployer status --stack-name app"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_change_set_for_a_new_stack_leaves_nothing_behind() {
        use aws_sdk_cloudformation::error::ErrorMetadata;
        use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
        use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        use aws_sdk_cloudformation::types::ChangeSetStatus;

        let missing = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id app does not exist")
                    .build(),
            )
        });
        let create = mock!(Client::create_change_set)
            .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
            .then_output(|| {
                CreateChangeSetOutput::builder()
                    .id("arn:cs/1")
                    .stack_id(STACK_ID)
                    .build()
            });
        let describe = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::Failed)
                .status_reason(
                    "Template error: instance of Fn::GetAtt references undefined resource Nope",
                )
                .build()
        });
        let delete_cs = mock!(Client::delete_change_set)
            .match_requests(|r| r.change_set_name() == Some("arn:cs/1"))
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let delete_stack =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [
                &missing,
                &create,
                &describe,
                &delete_cs,
                &delete_stack,
                &events
            ]
        );
        let mut d = deploy(client);
        let err = d
            .run()
            .await
            .err()
            .expect("a rejected change set fails the deploy");
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.message.contains("undefined resource Nope"),
            "{}",
            err.message
        );
        assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn ctrl_c_while_the_change_set_is_made_deletes_it_and_the_new_stack() {
        use aws_sdk_cloudformation::error::ErrorMetadata;
        use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
        use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        use aws_sdk_cloudformation::types::ChangeSetStatus;

        let missing = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id app does not exist")
                    .build(),
            )
        });
        let create = mock!(Client::create_change_set).then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id(STACK_ID)
                .build()
        });
        // CloudFormation is slow today: the change set never leaves CREATE_PENDING.
        let describe = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::CreatePending)
                .build()
        });
        let delete_cs = mock!(Client::delete_change_set)
            .match_requests(|r| {
                r.stack_name() == Some("app")
                    && r.change_set_name()
                        .is_some_and(|n| n.starts_with("deployer-"))
            })
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let delete_stack =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [
                &missing,
                &create,
                &describe,
                &delete_cs,
                &delete_stack,
                &events
            ]
        );
        let mut d = deploy(client);
        d.interrupt = || Box::pin(tokio::time::sleep(Duration::from_secs(5)));
        let err = d.run().await.err().expect("an interrupted deploy fails");
        assert_eq!(err.exit_code(), 130);
        assert!(
            err.message
                .contains("interrupted before anything was executed")
                && err.message.contains("was deleted"),
            "{}",
            err.message
        );
        assert!(
            describe.num_calls() > 1,
            "the change set was being waited on"
        );
        assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
        assert!(!d.report.executed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_dry_run_under_a_role_that_may_not_delete_stacks_still_succeeds() {
        use aws_sdk_cloudformation::error::ErrorMetadata;
        use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
        use aws_sdk_cloudformation::operation::delete_stack::DeleteStackError;
        use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
        use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
        use aws_sdk_cloudformation::types::{
            Change, ChangeAction, ChangeSetStatus, ChangeType, ResourceChange,
        };

        let missing = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id app does not exist")
                    .build(),
            )
        });
        let create = mock!(Client::create_change_set).then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id(STACK_ID)
                .build()
        });
        let describe = mock!(Client::describe_change_set).then_output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .r#type(ChangeType::Resource)
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Add)
                                .logical_resource_id("T")
                                .resource_type("AWS::SNS::Topic")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let delete_cs = mock!(Client::delete_change_set)
            .then_output(|| DeleteChangeSetOutput::builder().build());
        let delete_stack = mock!(Client::delete_stack).then_error(|| {
            DeleteStackError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message(
                        "User: preview is not authorized to perform: cloudformation:DeleteStack",
                    )
                    .build(),
            )
        });
        let events = mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [
                &missing,
                &create,
                &describe,
                &delete_cs,
                &delete_stack,
                &events
            ]
        );
        let mut d = deploy(client);
        d.dry_run = true;
        d.run()
            .await
            .expect("the preview itself worked; only the clean-up of the empty stack was refused");
        assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
        assert!(d.report.has_changes);
        assert!(!d.report.executed);
    }

    #[test]
    fn parameter_changes_compare_with_the_stack_and_hide_no_echo() {
        let specs = Template::parse(
            "Parameters:\n  A:\n    Type: String\n  B:\n    Type: String\n    Default: same\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
        )
        .unwrap()
        .parameters;
        let existing = Stack::builder()
            .parameters(
                Parameter::builder()
                    .parameter_key("A")
                    .parameter_value("1")
                    .build(),
            )
            .parameters(
                Parameter::builder()
                    .parameter_key("B")
                    .parameter_value("same")
                    .build(),
            )
            .parameters(
                Parameter::builder()
                    .parameter_key("Pw")
                    .parameter_value("****")
                    .build(),
            )
            .build();
        let given: BTreeMap<String, String> =
            [("A".into(), "2".into()), ("Pw".into(), "secret".into())].into();
        let changes = parameter_changes(&specs, &given, Some(&existing));
        assert_eq!(
            changes,
            vec![
                ParameterChange {
                    name: "A".into(),
                    old: Some("1".into()),
                    new: "2".into()
                },
                ParameterChange {
                    name: "Pw".into(),
                    old: Some("****".into()),
                    new: "****".into()
                },
            ]
        );
    }
}
