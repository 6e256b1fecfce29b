//! The report phase: the change table (text for people, Markdown for the GitHub step
//! summary), and the end of the run: the result on stdout (text or JSON), the GitHub
//! summary, outputs and annotation, and the exit code.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Serialize;

use super::plan::ParameterChange;
use super::{Deploy, Ending};
use crate::cfn::change_set::ResourceChange;
use crate::error::{CommandResult, Failure};
use crate::output::changes::{render_markdown, render_text};
use crate::output::github::GitHub;
use crate::output::markdown::code;
use crate::output::{OutputFormat, Printer};

/// What `deploy` did, printed as JSON with `--output json`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct DeployReport {
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
    /// The change set's early-validation findings (DescribeEvents), when it has any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<crate::cfn::operations::Finding>,
    /// `--plan-out`: the plan file written (`apply` reads it); for `apply`, the plan
    /// file applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    /// The commit recorded as the stack tag `deployer:commit`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A dead first create (ROLLBACK_COMPLETE), by stack id, that is deleted before the
    /// stack is created again: the rows are what will be created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recreates: Option<String>,
    /// The mode of the change set made (`express` only for a preview stack's create;
    /// shown only then, so standard reports stay as they were).
    #[serde(skip_serializing_if = "crate::cfn::change_set::DeployMode::is_standard")]
    pub deploy_mode: crate::cfn::change_set::DeployMode,
    /// The plan made for a release (`Request::release`), which writes it with the
    /// other stacks' into one file.
    #[serde(skip)]
    pub planned: Option<Box<crate::engine::plan_file::PlanFile>>,
}

/// Where a deploy's results go: the printer (stdout, stderr) and, under GitHub Actions,
/// the step summary and outputs.
pub(crate) struct View {
    pub(crate) printer: Printer,
    pub(crate) github: Option<GitHub>,
}

impl View {
    /// The printer, and GitHub when `GITHUB_ACTIONS=true`.
    pub(crate) fn new(printer: Printer) -> Self {
        Self {
            printer,
            github: GitHub::detect(),
        }
    }
}

impl<P> Deploy<P> {
    /// Shows the change table: on stdout, or on stderr when stdout is JSON; and in the
    /// GitHub step summary.
    pub(crate) fn show_changes(&mut self) {
        // Before anything shows them or writes them to the plan file: the rows and
        // parameters as people may see them (`crate::redact`).
        crate::redact::changes(&mut self.report.changes);
        crate::redact::parameters(&mut self.report.parameter_changes);
        let mut table = render_text(&self.report.changes, &self.report.parameter_changes);
        let recreates = self.report.recreates.as_ref().map(|dead| {
            format!(
                "Stack {} is ROLLBACK_COMPLETE (its first create failed): the dead stack {dead} will be deleted, then created:",
                self.target.stack_name
            )
        });
        if let Some(line) = &recreates {
            table = format!("{line}\n{table}");
        }
        self.progress.finish();
        match self.view.printer.format() {
            OutputFormat::Text => self.view.printer.stdout(&table),
            OutputFormat::Json => self.progress.line(table.trim_end()),
        }
        if let Some(gh) = &self.view.github {
            gh.summary(&format!(
                "### Change set for stack {}\n\n{}{}\n",
                code(&self.target.stack_name),
                self.report
                    .recreates
                    .as_ref()
                    .map(|dead| format!(
                        "Stack {} is `ROLLBACK_COMPLETE` (its first create failed): the dead stack {} will be deleted, then created:\n\n",
                        code(&self.target.stack_name),
                        code(dead)
                    ))
                    .unwrap_or_default(),
                render_markdown(&self.report.changes, &self.report.parameter_changes)
            ));
        }
    }

    /// Prints the result (text or JSON), writes the GitHub summary and outputs, and
    /// picks the exit code.
    pub(crate) fn finish(&mut self, result: Result<Ending, Failure>) -> CommandResult {
        self.progress.finish();
        let name = &self.target.stack_name;
        let pending = if self.mode.detailed_exitcode {
            ExitCode::from(crate::error::EXIT_CHANGES_PENDING)
        } else {
            ExitCode::SUCCESS
        };
        let (verdict, code) = match &result {
            Ok(Ending::NoChanges) => (
                format!("No changes: stack {name} is up to date."),
                ExitCode::SUCCESS,
            ),
            Ok(Ending::Pending) if self.report.plan_file.is_some() && !self.report.executed => (
                format!(
                    "Planned: stack {name} has changes pending; the change set is left for `deployer apply {}`.",
                    self.report.plan_file.as_deref().unwrap_or_default()
                ),
                pending,
            ),
            Ok(Ending::Pending) => (
                format!("Dry run: stack {name} has changes pending."),
                pending,
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
        crate::redact::changes(&mut self.report.changes);
        crate::redact::parameters(&mut self.report.parameter_changes);
        if let Some(gh) = &self.view.github {
            gh.verdict(&verdict);
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
        let printer = &self.view.printer;
        match printer.format() {
            OutputFormat::Json => {
                if let Err(e) = printer.json(&self.report) {
                    printer.warn(&e.message);
                }
            }
            OutputFormat::Text => {
                if result.is_ok() {
                    let outputs: String = self
                        .report
                        .outputs
                        .iter()
                        .map(|(k, v)| format!("{k} = {v}\n"))
                        .collect();
                    printer.stdout(&outputs);
                    printer.result_line(&verdict, true);
                }
            }
        }
        result.map(|_| code)
    }
}
