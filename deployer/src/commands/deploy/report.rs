//! The report phase: the change table (text for people, Markdown for the GitHub step
//! summary), and the end of the run: the result on stdout (text or JSON), the GitHub
//! summary, outputs and annotation, and the exit code.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Serialize;

use super::plan::ParameterChange;
use super::{Deploy, Ending};
use crate::cfn::change_set::ResourceChange;
use crate::cli::DeployArgs;
use crate::error::{CommandResult, Failure};
use crate::output::github::GitHub;
use crate::output::markdown::{cell, code, words};
use crate::output::sanitize::line as one_line;
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

/// Longest value shown in the text table (JSON has them whole, as CloudFormation
/// gave them).
const TEXT_VALUE_MAX: usize = 200;
/// The GitHub step summary holds at most 1 MiB per step: at most this many resources
/// (as aws-actions lists 50), this many properties each, values cut to this length.
/// 50 × 10 × ~300 bytes stays far below the limit.
const SUMMARY_ROWS: usize = 50;
const SUMMARY_DETAILS: usize = 10;
const SUMMARY_VALUE_MAX: usize = 120;

/// Why many resources change their tags at once.
const TAGS_ONLY_WHY: &str = "stack tags are copied to every taggable resource";
/// At most this many logical ids are named on the folded tags-only line.
const TAGS_ONLY_NAMES: usize = 10;

/// The one line that stands for every Tags-only row.
fn tags_only_line(rows: &[&ResourceChange]) -> String {
    format!(
        "Tags only ({TAGS_ONLY_WHY}): {} resource{}: {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        names(rows)
    )
}

/// The first logical ids of `rows` (cleaned), then "… and N more".
fn names(rows: &[&ResourceChange]) -> String {
    let mut names: Vec<String> = rows
        .iter()
        .take(TAGS_ONLY_NAMES)
        .map(|c| one_line(&c.logical_id))
        .collect();
    let more = rows.len().saturating_sub(TAGS_ONLY_NAMES);
    let more = format!("… and {more} more");
    if rows.len() > TAGS_ONLY_NAMES {
        names.push(more);
    }
    names.join(", ")
}

/// How a NoEcho parameter that keeps its value (`UsePreviousValue`) is shown.
const KEPT: &str = "unchanged (NoEcho, previous value kept)";

/// A failure before any change set (settings, template, parameters, pre-flight checks,
/// push): under GitHub Actions, the same summary line, outputs and `::error` annotation
/// as a later failure. Returns the failure for `main` to print and exit with.
pub(super) fn failed_before_change_set(args: &DeployArgs, failure: Failure) -> Failure {
    if let Some(gh) = GitHub::detect() {
        // The stack name, when the flags and config give one (offline: no AWS call).
        let name = crate::config::resolve(args)
            .ok()
            .map(|s| s.stack_name)
            .or_else(|| args.stack_name.clone());
        let (verdict, title) = match &name {
            Some(name) => (
                format!("Deploy of stack {name} failed: {}", failure.message),
                format!("Deploy of {name} failed"),
            ),
            None => (
                format!("Deploy failed: {}", failure.message),
                "Deploy failed".to_owned(),
            ),
        };
        gh.verdict(&verdict);
        gh.outputs(&[
            ("image-uri".to_owned(), String::new()),
            ("change-set-id".to_owned(), String::new()),
            ("has-changes".to_owned(), "false".to_owned()),
            ("stack-status".to_owned(), String::new()),
        ]);
        gh.error(&title, &failure.message);
    }
    failure
}

/// The plain-text table shown before executing. Every cell is one line of cleaned
/// text (`output::sanitize::line`), so the table keeps its shape and nothing in it
/// acts on the terminal.
pub(crate) fn render_text(changes: &[ResourceChange], parameters: &[ParameterChange]) -> String {
    let mut out = String::new();
    if !parameters.is_empty() {
        out.push_str("Parameters:\n");
        for p in parameters {
            if p.previous_value_kept {
                out.push_str(&format!("  {}: {KEPT}\n", one_line(&p.name)));
                continue;
            }
            out.push_str(&format!(
                "  {}: {} → {}\n",
                one_line(&p.name),
                one_line(p.old.as_deref().unwrap_or("(none)")),
                one_line(&p.new)
            ));
        }
    }
    let (tags_only, changes): (Vec<&ResourceChange>, Vec<&ResourceChange>) =
        changes.iter().partition(|c| c.is_tags_only());
    if changes.is_empty() && tags_only.is_empty() {
        out.push_str("Resource changes: none\n");
        return out;
    }
    if !tags_only.is_empty() {
        out.push_str(&format!("{}\n", tags_only_line(&tags_only)));
    }
    if changes.is_empty() {
        return out;
    }
    let headers = ["Action", "Logical ID", "Type", "Replacement"];
    let owned: Vec<[String; 4]> = changes
        .iter()
        .map(|c| {
            [
                one_line(&c.effect()),
                one_line(&c.logical_id),
                one_line(&c.resource_type),
                if c.replacement.is_empty() {
                    "-".to_owned()
                } else {
                    one_line(&c.replacement)
                },
            ]
        })
        .collect();
    let cells: Vec<[&str; 4]> = owned
        .iter()
        .map(|r| [r[0].as_str(), r[1].as_str(), r[2].as_str(), r[3].as_str()])
        .collect();
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: [&str; 4]| {
        let mut s = String::new();
        for (i, cell) in r.iter().enumerate() {
            s.push_str(&format!("{cell:<width$}  ", width = widths[i]));
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(headers));
    for (c, r) in changes.iter().zip(cells) {
        out.push_str(&line(r));
        for d in &c.details {
            out.push_str(&format!("    {}\n", one_line(&d.line(TEXT_VALUE_MAX))));
        }
    }
    out
}

/// The same table as Markdown, for the GitHub step summary: every value from the
/// change set or the template is a code span (`output::markdown`), so no HTML, link,
/// image, mention or reference in it is rendered.
pub(super) fn render_markdown(
    changes: &[ResourceChange],
    parameters: &[ParameterChange],
) -> String {
    let mut out = String::new();
    if !parameters.is_empty() {
        out.push_str("| Parameter | Old | New |\n|---|---|---|\n");
        for p in parameters {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                words(&p.name),
                words(p.old.as_deref().unwrap_or("")),
                if p.previous_value_kept {
                    KEPT.to_owned()
                } else {
                    words(&p.new)
                }
            ));
        }
        out.push('\n');
    }
    let (tags_only, changes): (Vec<&ResourceChange>, Vec<&ResourceChange>) =
        changes.iter().partition(|c| c.is_tags_only());
    out.push_str("| Action | Logical ID | Type | Replacement | Changes |\n|---|---|---|---|---|\n");
    if !tags_only.is_empty() {
        out.push_str(&format!(
            "| Modify (tags only) | {} |  |  | {TAGS_ONLY_WHY} |\n",
            words(&names(&tags_only)),
        ));
    }
    for c in changes.iter().take(SUMMARY_ROWS) {
        let mut lines: Vec<String> = c
            .details
            .iter()
            .take(SUMMARY_DETAILS)
            .map(|d| cell(&d.line(SUMMARY_VALUE_MAX)))
            .collect();
        if c.details.len() > SUMMARY_DETAILS {
            lines.push(format!("… and {} more", c.details.len() - SUMMARY_DETAILS));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            words(&c.effect()),
            words(&c.logical_id),
            words(&c.resource_type),
            words(&c.replacement),
            lines.join("<br>")
        ));
    }
    if changes.len() > SUMMARY_ROWS {
        out.push_str(&format!(
            "\n… and {} more resource changes (all of them: `deployer deploy --dry-run --output json`)\n",
            changes.len() - SUMMARY_ROWS
        ));
    }
    out
}
