//! A release's result: one line per stack (text) or one JSON document with every
//! stack's result, then the verdict. The per-stack change tables were shown while
//! planning (`output::changes`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cfn::change_set::ResourceChange;
use crate::engine::{DeployReport, ParameterChange};
use crate::output::sanitize::line as one_line;
use crate::output::{OutputFormat, Printer};

/// What `deploy --environment E` (and applying a release plan) prints.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ReleaseReport {
    /// `application:` of deploy.yaml.
    pub application: String,
    /// The environment.
    pub environment: String,
    /// The release plan written or applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<String>,
    /// Every stack, the environment first.
    pub stacks: Vec<StackResult>,
    /// The one-line verdict.
    pub verdict: Option<String>,
    /// Why the release failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One stack's result.
#[derive(Debug, Default, Serialize)]
pub(crate) struct StackResult {
    /// `None`: the environment stack.
    pub service: Option<String>,
    /// The stack.
    pub stack_name: String,
    /// `no-changes`, `dry-run`, `planned`, `deployed`, `failed`, `not-started`,
    /// `refused`, `discarded`.
    pub result: String,
    /// It had changes.
    pub has_changes: bool,
    /// Its change set was executed.
    pub executed: bool,
    /// Created after the environment: its change set is made at apply.
    pub deferred: bool,
    /// The stack's status, when known.
    pub stack_status: Option<String>,
    /// Its change set.
    pub change_set_name: Option<String>,
    /// The image it deploys.
    pub image_uri: Option<String>,
    /// Resource changes.
    pub changes: Vec<ResourceChange>,
    /// Parameter changes.
    pub parameter_changes: Vec<ParameterChange>,
    /// Outputs after deploying.
    pub outputs: BTreeMap<String, String>,
    /// Why it failed or was not started.
    pub error: Option<String>,
    /// The root cause of a failed stack operation.
    pub root_cause: Option<String>,
}

impl StackResult {
    /// From a single-stack report, with this result.
    pub(crate) fn from_report(
        service: Option<String>,
        report: &DeployReport,
        result: &str,
        deferred: bool,
    ) -> Self {
        Self {
            service,
            stack_name: report.stack_name.clone(),
            result: result.to_owned(),
            has_changes: report.has_changes,
            executed: report.executed,
            deferred,
            stack_status: report.stack_status.clone(),
            change_set_name: report.change_set_name.clone(),
            image_uri: report.image_uri.clone(),
            changes: report.changes.clone(),
            parameter_changes: report.parameter_changes.clone(),
            outputs: report.outputs.clone(),
            error: None,
            root_cause: report.root_cause.clone(),
        }
    }

    /// A stack that was planned (and not executed); `result` unless it has no changes.
    pub(crate) fn planned(stack: &crate::engine::release::PlannedStack, result: &str) -> Self {
        let result = if stack.ending == crate::engine::Ending::NoChanges {
            "no-changes"
        } else {
            result
        };
        Self::from_report(stack.service.clone(), &stack.report, result, stack.deferred)
    }

    /// `environment` or `service web`.
    fn role(&self) -> String {
        match &self.service {
            None => "environment".to_owned(),
            Some(s) => format!("service {s}"),
        }
    }
}

impl ReleaseReport {
    /// An empty report for this environment.
    pub(crate) fn new(application: &str, environment: &str) -> Self {
        Self {
            application: application.to_owned(),
            environment: environment.to_owned(),
            ..Default::default()
        }
    }

    /// Whether any stack failed or was refused.
    pub(crate) fn failed(&self) -> bool {
        self.failure.is_some()
            || self
                .stacks
                .iter()
                .any(|s| matches!(s.result.as_str(), "failed" | "refused" | "not-started"))
    }

    /// Prints the report (text: a line per stack and the verdict; JSON: the document),
    /// and under GitHub Actions the verdict in the step summary.
    pub(crate) fn print(&self, printer: &Printer) {
        if let Some(gh) = crate::output::github::GitHub::detect() {
            if let Some(verdict) = &self.verdict {
                gh.verdict(verdict);
            }
            // What a workflow branches on: whether any stack changes (or changed); and
            // the environment stack's outputs (`EnvironmentUrl` for the GitHub
            // environment's link), as a single-stack deploy writes its stack's.
            let mut outputs = vec![
                (
                    "has-changes".to_owned(),
                    self.stacks.iter().any(|s| s.has_changes).to_string(),
                ),
                (
                    "plan-file".to_owned(),
                    self.plan_file.clone().unwrap_or_default(),
                ),
            ];
            if let Some(environment) = self.stacks.iter().find(|s| s.service.is_none()) {
                outputs.extend(environment.outputs.clone());
            }
            gh.outputs(&outputs);
            if let Some(failure) = &self.failure {
                gh.error(
                    &format!(
                        "Release of {} {} failed",
                        self.application, self.environment
                    ),
                    failure,
                );
            }
        }
        match printer.format() {
            OutputFormat::Json => {
                if let Err(e) = printer.json(self) {
                    printer.warn(&e.message);
                }
            }
            OutputFormat::Text => {
                printer.stdout(&render_text(self));
                if let Some(verdict) = &self.verdict {
                    printer.result_line(verdict, !self.failed());
                }
            }
        }
    }
}

/// The per-stack lines.
pub(crate) fn render_text(report: &ReleaseReport) -> String {
    let mut out = format!(
        "\nRelease of {} {}:\n",
        one_line(&report.application),
        one_line(&report.environment)
    );
    for s in &report.stacks {
        let status = s
            .stack_status
            .as_deref()
            .map(|st| format!(" ({})", one_line(st)))
            .unwrap_or_default();
        let deferred = if s.deferred && !s.executed {
            " [created after the environment]"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {:<18} {:<32} {}{status}{deferred}\n",
            one_line(&s.role()),
            one_line(&s.stack_name),
            one_line(&s.result)
        ));
        if let Some(error) = &s.error {
            for line in error.lines() {
                out.push_str(&format!("      {}\n", one_line(line)));
            }
        }
    }
    out
}
