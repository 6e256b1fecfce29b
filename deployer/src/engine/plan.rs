//! The plan phase: bring the stack into a state a change set can start from, create
//! the change set (deleting it again on Ctrl-C), and work out what would change.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{ChangeSetType, Stack};
use serde::{Deserialize, Serialize};

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
    Ready(Box<Ready>),
}

/// A change set ready to execute, and what the later phases need to know about it.
pub(crate) struct Ready {
    /// The change set.
    pub(crate) described: Described,
    /// Its name (also the idempotency token of ExecuteChangeSet).
    pub(crate) name: String,
    /// The stack is being updated (not created).
    pub(crate) updating: bool,
    /// This run created the (empty, REVIEW_IN_PROGRESS) stack: it is ours to delete if
    /// nothing gets executed.
    pub(crate) created_review_stack: bool,
    /// The stack's `LastOperations` ids before executing: any new one is this run's.
    pub(crate) operations_before: Vec<String>,
}

impl Deploy {
    /// Plans the deploy; see [`Planned`].
    pub(super) async fn plan(&mut self) -> Result<Planned, Failure> {
        let stack_name = self.stack_name().to_owned();
        self.announce_capabilities();
        // A plan changes nothing before its approval, as a dry run: no rollback, no
        // delete of a failed first create.
        let preview = self.inputs.preview(self.mode);
        let plan = stack::prepare(
            &self.cloud.client,
            &stack_name,
            self.cloud.deadline,
            &mut self.progress,
            preview,
        )
        .await?;
        let existing = match &plan {
            Plan::Update(stack) => Some(stack.as_ref().clone()),
            Plan::Create { .. } => None,
            // A dead first create: the plan says it will be deleted and what will be
            // created; `apply` does both, after approval (commands::apply::recreate).
            Plan::RecreateAfterDelete(dead) if self.inputs.plans() => {
                return self.plan_recreate(dead).await;
            }
            Plan::RollbackFirst(_) if self.inputs.plans() => {
                return Err(Failure::failed(format!(
                    "stack {stack_name} must be recovered before a change set can be planned (see above); \
                     a plan changes nothing, so it does not do that. Recover it with a deploy without \
                     --plan-out (`deployer deploy … --yes` rolls it back or recreates it), or remove it \
                     with `deployer destroy --stack-name {stack_name}`, then plan again"
                )));
            }
            Plan::RecreateAfterDelete(_) | Plan::RollbackFirst(_) => {
                self.report.has_changes = true;
                self.report.stack_status = Some(match &plan {
                    Plan::RollbackFirst(status) => status.clone(),
                    _ => aws_sdk_cloudformation::types::StackStatus::RollbackComplete
                        .as_str()
                        .to_owned(),
                });
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
        self.check_order(existing.as_ref())?;
        self.report.commit = self.inputs.commit.clone();
        // A dry run's change set is only shown and deleted; a plan's (or a plain
        // deploy's) may be executed. IAM tells them apart by this name alone.
        let purpose = if self.mode.dry_run {
            change_set::Purpose::Preview
        } else {
            change_set::Purpose::Release
        };
        let name = change_set::unique_name(purpose)?;
        self.report.change_set_name = Some(name.clone());
        let request = self.request(&name, existing.as_ref())?;
        self.report.deploy_mode = request.mode;
        self.progress.line(&format!(
            "Creating change set {name} ({} stack {stack_name}{})",
            if existing.is_some() {
                "update"
            } else {
                "create"
            },
            match request.mode {
                change_set::DeployMode::Express => format!(", {} mode", request.mode.as_str()),
                change_set::DeployMode::Standard => String::new(),
            }
        ));
        // Ctrl-C while the change set is being made: nothing has executed, so delete
        // what this run created instead of leaving it behind.
        let created = {
            let creating = change_set::create(
                &self.cloud.client,
                &request,
                self.cloud.deadline,
                self.inputs.settings.change_set_timeout,
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
                return self.no_changes(existing.as_ref()).await;
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
            Outcome::TimedOut {
                id,
                status,
                message,
            } => {
                // Stuck in CREATE_PENDING/CREATE_IN_PROGRESS: nothing executed, so remove
                // the change set and the empty stack this run created, as for a "no".
                self.report.stack_status = Some(status);
                self.progress.line(&format!(
                    "Change set {name} is still being worked out; giving up and deleting it"
                ));
                let stack_id = self
                    .report
                    .stack_id
                    .clone()
                    .unwrap_or_else(|| stack_name.clone());
                return Err(self
                    .give_up(&id, &stack_id, created_review_stack, message)
                    .await);
            }
            Outcome::Ready(described) => described,
        };
        let parameter_changes = parameter_changes(
            &self.inputs.template.parameters,
            &self.inputs.parameters,
            existing.as_ref(),
        );
        if self
            .only_the_commit_tag_changes(existing.as_ref(), &described.changes, &parameter_changes)
            .await
        {
            change_set::delete(&self.cloud.client, &described.stack_id, &described.id).await?;
            let rows = match described.changes.len() {
                0 => String::new(),
                n => format!(" (and with it the Tags of {n} resources)"),
            };
            self.progress.line(&format!(
                "No changes to deploy: only the {} stack tag would change{rows}; the change set \
                 was deleted and the stack keeps its recorded commit",
                super::order::COMMIT_TAG,
            ));
            self.report.change_set_name = None;
            return self.no_changes(existing.as_ref()).await;
        }
        self.report.change_set_id = Some(described.id.clone());
        self.report.stack_id = Some(described.stack_id.clone());
        self.report.has_changes = true;
        self.report.changes = described.changes.clone();
        self.report.parameter_changes = parameter_changes;
        self.show_changes();
        let findings = self.findings(&described.id, false).await;
        self.show_findings(findings);

        if self.inputs.plans() {
            self.write_plan(Some(&described), existing.is_none(), created_review_stack)
                .await?;
            return Ok(Planned::Done(Ending::Pending));
        }

        if self.mode.dry_run {
            self.clean_up(&described.id, &described.stack_id, created_review_stack)
                .await?;
            self.progress
                .line("Dry run: change set deleted, nothing executed.");
            return Ok(Planned::Done(Ending::Pending));
        }
        Ok(Planned::Ready(Box::new(Ready {
            described,
            name,
            updating: existing.is_some(),
            created_review_stack,
            operations_before: existing
                .as_ref()
                .map(crate::cfn::operations::operation_ids)
                .unwrap_or_default(),
        })))
    }

    /// Ends a run with nothing to change: termination protection (unless nothing may
    /// be changed), the outputs, and for a plan the file saying so.
    async fn no_changes(&mut self, existing: Option<&Stack>) -> Result<Planned, Failure> {
        self.report.stack_status = existing.map(|s| stack::status_of(s).to_owned());
        self.report.stack_id = existing.and_then(|s| s.stack_id()).map(str::to_owned);
        if let Some(stack) = existing {
            if !self.inputs.preview(self.mode) {
                self.ensure_termination_protection(stack).await?;
            }
            self.report.outputs = stack::outputs(stack);
        }
        if self.inputs.plans() {
            self.write_plan(None, existing.is_none(), false).await?;
        }
        Ok(Planned::Done(Ending::NoChanges))
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

    /// Everything CreateChangeSet is sent. A NoEcho parameter not given again keeps the
    /// stack's value (`UsePreviousValue`): nobody can read it back to pass it, and
    /// CloudFormation would otherwise reset it to its Default. A new stack has no
    /// previous value, so there the parameter must be given (or have a Default).
    pub(super) fn request(
        &self,
        name: &str,
        existing: Option<&Stack>,
    ) -> Result<change_set::Request, Failure> {
        let inputs = &self.inputs;
        let updating = existing.is_some();
        let kept = kept_no_echo(&inputs.template.parameters, &inputs.parameters, existing);
        let unset = if updating {
            Vec::new()
        } else {
            no_echo_unset(&inputs.template.parameters, &inputs.parameters)
        };
        if !unset.is_empty() {
            let flags: Vec<String> = unset
                .iter()
                .map(|n| format!("--parameter {n}=VALUE"))
                .collect();
            return Err(Failure::input(format!(
                "{} (NoEcho) {} no Default and no value was given, and stack {} is new, \
                 so there is no previous value to keep: pass {}",
                unset
                    .iter()
                    .map(|n| format!("parameter `{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if unset.len() == 1 { "has" } else { "have" },
                inputs.settings.stack_name,
                flags.join(" ")
            )));
        }
        let kind = if updating {
            ChangeSetType::Update
        } else {
            ChangeSetType::Create
        };
        Ok(change_set::Request {
            stack_name: inputs.settings.stack_name.clone(),
            name: name.to_owned(),
            mode: change_set::deployment_mode(&kind, inputs.settings.express_create),
            kind,
            template_body: inputs.template.body.clone(),
            parameters: inputs.parameters.clone(),
            keep_previous: kept,
            tags: self.stack_tags(existing),
            capabilities: inputs.capabilities.clone(),
            role_arn: inputs.settings.role_arn.clone(),
        })
    }
}

/// The NoEcho parameters without a Default that were not given: a new stack cannot be
/// created without them.
pub(super) fn no_echo_unset(
    specs: &BTreeMap<String, ParameterSpec>,
    given: &BTreeMap<String, String>,
) -> Vec<String> {
    specs
        .iter()
        .filter(|(n, spec)| spec.no_echo && spec.default.is_none() && !given.contains_key(*n))
        .map(|(n, _)| n.clone())
        .collect()
}

/// The NoEcho parameters of the template that were not given and that the existing
/// stack already has: they keep their previous value.
pub(super) fn kept_no_echo(
    specs: &BTreeMap<String, ParameterSpec>,
    given: &BTreeMap<String, String>,
    existing: Option<&Stack>,
) -> Vec<String> {
    let Some(stack) = existing else {
        return Vec::new();
    };
    specs
        .iter()
        .filter(|(name, spec)| {
            spec.no_echo
                && !given.contains_key(*name)
                && stack
                    .parameters()
                    .iter()
                    .any(|p| p.parameter_key() == Some(name.as_str()))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// A parameter whose value changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ParameterChange {
    /// Parameter name.
    pub name: String,
    /// Current value on the stack (`****` for NoEcho); `None` for a new stack or parameter.
    pub old: Option<String>,
    /// Value being deployed (`****` for NoEcho).
    pub new: String,
    /// A NoEcho parameter that was not given again: the stack keeps its value
    /// (`UsePreviousValue`), and `old`/`new` are both `****`.
    pub previous_value_kept: bool,
}

/// Parameters whose value changes, old → new; NoEcho values are shown as `****`, and a
/// NoEcho parameter not given again is listed as kept (see [`kept_no_echo`]).
pub(crate) fn parameter_changes(
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
    let kept = kept_no_echo(specs, given, existing);
    specs
        .iter()
        .filter_map(|(name, spec)| {
            if kept.contains(name) {
                return Some(ParameterChange {
                    name: name.clone(),
                    old: Some("****".to_owned()),
                    new: "****".to_owned(),
                    previous_value_kept: true,
                });
            }
            let new = given
                .get(name)
                .map(String::as_str)
                .or(spec.default.as_deref())?;
            let before = old.get(name.as_str()).copied();
            if !spec.no_echo && before == Some(new) {
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
                previous_value_kept: false,
            })
        })
        .collect()
}
