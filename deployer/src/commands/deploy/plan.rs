//! The plan phase: bring the stack into a state a change set can start from, create
//! the change set (deleting it again on Ctrl-C), and work out what would change.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{ChangeSetType, Stack};
use serde::Serialize;

use super::{Deploy, Ending};
use crate::cfn::change_set::{self, Described, Outcome};
use crate::cfn::stack::{self, Plan};
use crate::error::Failure;
use crate::template::ParameterSpec;

/// Where planning left the run.
pub(super) enum Planned {
    /// Nothing more to do: no changes, a dry run, or a stack to recreate.
    Done(Ending),
    /// A change set ready to execute.
    Ready(Ready),
}

/// A change set ready to execute, and what the later phases need to know about it.
pub(super) struct Ready {
    /// The change set.
    pub(super) described: Described,
    /// Its name (also the idempotency token of ExecuteChangeSet).
    pub(super) name: String,
    /// The stack is being updated (not created).
    pub(super) updating: bool,
    /// This run created the (empty, REVIEW_IN_PROGRESS) stack: it is ours to delete if
    /// nothing gets executed.
    pub(super) created_review_stack: bool,
    /// The stack's `LastOperations` ids before executing: any new one is this run's.
    pub(super) operations_before: Vec<String>,
}

impl Deploy {
    /// Plans the deploy; see [`Planned`].
    pub(super) async fn plan(&mut self) -> Result<Planned, Failure> {
        let stack_name = self.stack_name().to_owned();
        self.announce_capabilities();
        let plan = stack::prepare(
            &self.cloud.client,
            &stack_name,
            self.cloud.deadline,
            &mut self.progress,
            self.mode.dry_run,
        )
        .await?;
        let existing = match &plan {
            Plan::Update(stack) => Some(stack.as_ref().clone()),
            Plan::Create { .. } => None,
            Plan::RecreateAfterDelete => {
                self.report.has_changes = true;
                self.report.stack_status = Some(
                    aws_sdk_cloudformation::types::StackStatus::RollbackComplete
                        .as_str()
                        .to_owned(),
                );
                self.report.parameter_changes = parameter_changes(
                    &self.inputs.template.parameters,
                    &self.inputs.parameters,
                    None,
                );
                return Ok(Planned::Done(Ending::Pending));
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
        let request = self.request(&name, existing.is_some());
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
            let creating = change_set::create(
                &self.cloud.client,
                &request,
                self.cloud.deadline,
                &mut self.progress,
            );
            tokio::select! {
                outcome = creating => Some(outcome),
                () = (self.cloud.interrupt)() => None,
            }
        };
        let Some(created) = created else {
            return Err(self.abandon(&stack_name, &name, created_review_stack).await);
        };
        let described = match created? {
            Outcome::Empty { reason, id } => {
                if let Some(id) = &id {
                    change_set::delete(&self.cloud.client, &stack_name, id).await?;
                }
                self.progress
                    .line(&format!("No changes to deploy: {reason}"));
                self.report.stack_status =
                    existing.as_ref().map(|s| stack::status_of(s).to_owned());
                self.report.stack_id = existing
                    .as_ref()
                    .and_then(|s| s.stack_id())
                    .map(str::to_owned);
                if let Some(stack) = &existing {
                    if !self.mode.dry_run {
                        self.ensure_termination_protection(stack).await?;
                    }
                    self.report.outputs = stack::outputs(stack);
                }
                return Ok(Planned::Done(Ending::NoChanges));
            }
            Outcome::Failed {
                reason,
                id,
                stack_id,
            } => {
                self.report.stack_id = Some(stack_id.clone());
                // Read the findings before the change set is deleted with them.
                let findings = self.findings(&id, true).await;
                let cause = self
                    .rejection_cause(&findings)
                    .map(|c| format!("\nroot cause: {c}"))
                    .unwrap_or_default();
                self.clean_up(&id, &stack_id, created_review_stack).await?;
                return Err(Failure::failed(format!(
                    "CloudFormation rejected the change set for stack {stack_name} (it was deleted again): {reason}{cause}"
                )));
            }
            Outcome::Ready(described) => described,
        };
        self.report.change_set_id = Some(described.id.clone());
        self.report.stack_id = Some(described.stack_id.clone());
        self.report.has_changes = true;
        self.report.changes = described.changes.clone();
        self.report.parameter_changes = parameter_changes(
            &self.inputs.template.parameters,
            &self.inputs.parameters,
            existing.as_ref(),
        );
        self.show_changes();
        let findings = self.findings(&described.id, false).await;
        self.show_findings(findings);

        if self.mode.dry_run {
            self.clean_up(&described.id, &described.stack_id, created_review_stack)
                .await?;
            self.progress
                .line("Dry run: change set deleted, nothing executed.");
            return Ok(Planned::Done(Ending::Pending));
        }
        Ok(Planned::Ready(Ready {
            described,
            name,
            updating: existing.is_some(),
            created_review_stack,
            operations_before: existing
                .as_ref()
                .map(crate::cfn::operations::operation_ids)
                .unwrap_or_default(),
        }))
    }

    /// Says which capabilities are granted, and why.
    fn announce_capabilities(&mut self) {
        let capabilities = &self.inputs.capabilities;
        if capabilities.is_empty() {
            return;
        }
        let source = if self.inputs.settings.capabilities.is_some() {
            "as asked"
        } else {
            "needed by the template"
        };
        self.progress.line(&format!(
            "Capabilities ({source}): {}",
            capabilities.join(", ")
        ));
    }

    /// Everything CreateChangeSet is sent.
    fn request(&self, name: &str, updating: bool) -> change_set::Request {
        let inputs = &self.inputs;
        change_set::Request {
            stack_name: inputs.settings.stack_name.clone(),
            name: name.to_owned(),
            kind: if updating {
                ChangeSetType::Update
            } else {
                ChangeSetType::Create
            },
            template_body: inputs.template.body.clone(),
            parameters: inputs.parameters.clone(),
            tags: inputs.settings.tags.clone(),
            capabilities: inputs.capabilities.clone(),
            role_arn: inputs.settings.role_arn.clone(),
        }
    }
}

/// A parameter whose value changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ParameterChange {
    /// Parameter name.
    pub name: String,
    /// Current value on the stack (`****` for NoEcho); `None` for a new stack or parameter.
    pub old: Option<String>,
    /// Value being deployed (`****` for NoEcho).
    pub new: String,
}

/// Parameters whose value changes, old → new; NoEcho values are shown as `****`.
pub(super) fn parameter_changes(
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
