//! Early (pre-deployment) validation findings of the change set (DescribeEvents by its
//! ARN): a rejected change set's failures are its root cause; a ready one's WARN
//! findings are shown with the change table, before the confirmation prompt.

use super::Deploy;
use crate::cfn::operations::{self, Finding, Unavailable};

/// What the findings of a change set read.
const WHAT: &str = "the change set's early-validation findings";

impl<P> Deploy<P> {
    /// The findings of change set `arn` (only the failed ones when `failed_only`). An
    /// endpoint without DescribeEvents, or a caller who may not call it, gets none, with
    /// a note (a warning when a permission is missing: that is something to fix).
    pub(super) async fn findings(&mut self, arn: &str, failed_only: bool) -> Vec<Finding> {
        match operations::validation_findings(&self.cloud.client, arn, failed_only).await {
            Ok(findings) => findings,
            Err(unavailable @ Unavailable::Denied(_)) => {
                self.progress.finish();
                self.view.printer.warn(&unavailable.explain(WHAT));
                Vec::new()
            }
            Err(unavailable @ Unavailable::Unsupported(_)) => {
                self.progress.line(&unavailable.explain(WHAT));
                Vec::new()
            }
        }
    }

    /// A rejected change set's root cause from its findings: the failing ones (all of
    /// them when every one is a WARN), one per line.
    pub(super) fn rejection_cause(&mut self, findings: &[Finding]) -> Option<String> {
        let failing: Vec<&Finding> = findings.iter().filter(|f| !f.warn).collect();
        let shown: Vec<&Finding> = if failing.is_empty() {
            findings.iter().collect()
        } else {
            failing
        };
        if shown.is_empty() {
            return None;
        }
        let cause = shown
            .iter()
            .map(|f| f.line())
            .collect::<Vec<_>>()
            .join("\n  ");
        self.report.validation = findings.to_vec();
        self.report.root_cause = Some(cause.clone());
        Some(cause)
    }

    /// Shows a ready change set's findings (WARN ones, and any other) as warnings, on
    /// stderr and in the GitHub summary, before anyone is asked to execute it.
    pub(super) fn show_findings(&mut self, findings: Vec<Finding>) {
        if findings.is_empty() {
            return;
        }
        self.progress.finish();
        for f in &findings {
            self.view
                .printer
                .warn(&format!("early validation: {}", f.line()));
        }
        if let Some(gh) = &self.view.github {
            let lines: String = findings
                .iter()
                .map(|f| format!("- ⚠️ {}\n", crate::output::markdown::code(&f.line())))
                .collect();
            gh.summary(&format!("Early-validation findings:\n\n{lines}\n"));
        }
        self.report.validation = findings;
    }
}
