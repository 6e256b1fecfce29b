//! Applying a plan over a dead first create (ROLLBACK_COMPLETE, `plan_file::Recreate`):
//! after approval, and only if the dead stack is still the same stack (by id) in the
//! same state, delete it and wait, create the release change set from the template and
//! parameters the plan carries, check that CloudFormation's rows are the plan's (all
//! `Add`, the same logical ids and types), then execute and follow it like any apply.

use std::time::Duration;

use aws_sdk_cloudformation::types::ChangeSetType;

use super::PLAN_AGAIN;
use crate::cfn::change_set::{self, Outcome, Purpose, ResourceChange};
use crate::cfn::stack;
use crate::engine::plan_file::{Fingerprint, PlanFile, Recreate};
use crate::engine::{Deploy, Ending, Ready};
use crate::error::Failure;
use crate::output::prompt;

impl Deploy<()> {
    /// The dead stack is still the one planned: same id, still ROLLBACK_COMPLETE, and
    /// nothing ran on it since.
    pub(crate) async fn check_dead_stack(
        &mut self,
        plan: &PlanFile,
        recreate: &Recreate,
    ) -> Result<(), Failure> {
        let name = &plan.stack_name;
        let Some(id) = &recreate.dead_stack_id else {
            return self.check_still_absent(plan).await;
        };
        let now = stack::describe(&self.cloud.client, id).await?;
        let Some(now) = now.filter(|s| stack::status_of(s) != "DELETE_COMPLETE") else {
            return Err(Failure::failed(format!(
                "the dead stack {id} of stack {name}, which the plan would delete and create again, \
                 no longer exists: someone deleted it since. {PLAN_AGAIN}"
            )));
        };
        if now.stack_id() != Some(id.as_str()) {
            return Err(Failure::failed(format!(
                "stack {name} is now {}, not the dead stack {id} the plan was made for. {PLAN_AGAIN}",
                now.stack_id().unwrap_or("unknown")
            )));
        }
        let status = stack::status_of(&now);
        if status != "ROLLBACK_COMPLETE" {
            return Err(Failure::failed(format!(
                "the dead stack {id} of stack {name} is {status}, no longer ROLLBACK_COMPLETE: \
                 something ran on it since the plan was made. {PLAN_AGAIN}"
            )));
        }
        if let Some(planned) = &plan.stack {
            let differences = planned.differences(&Fingerprint::of(&now));
            if !differences.is_empty() {
                return Err(Failure::failed(format!(
                    "the dead stack {id} of stack {name} changed after the plan was made ({}). {PLAN_AGAIN}",
                    differences.join("; ")
                )));
            }
        }
        Ok(())
    }

    /// A deferred create: the stack must still not exist (or be only the empty
    /// REVIEW_IN_PROGRESS stack a plan or preview left, which a create goes into).
    async fn check_still_absent(&mut self, plan: &PlanFile) -> Result<(), Failure> {
        let name = &plan.stack_name;
        let Some(now) = stack::describe(&self.cloud.client, name).await? else {
            return Ok(());
        };
        let status = stack::status_of(&now);
        if status == "DELETE_COMPLETE" || status == "REVIEW_IN_PROGRESS" {
            return Ok(());
        }
        Err(Failure::failed(format!(
            "stack {name}, which the plan creates, exists now ({status}): something created it after \
             the plan was made. {PLAN_AGAIN}"
        )))
    }

    /// Deletes the dead stack (if any), creates the stack's change set, checks it,
    /// executes it.
    pub(super) async fn recreate(
        &mut self,
        plan: &PlanFile,
        recreate: &Recreate,
    ) -> Result<Ending, Failure> {
        let name = plan.stack_name.clone();
        if let Some(missing) = recreate.wired.first() {
            return Err(Failure::internal(format!(
                "stack {name}: parameter {missing} was to be filled from the environment's outputs"
            )));
        }
        let Some(dead) = recreate.dead_stack_id.clone() else {
            return self.create_checked(plan, recreate, None).await;
        };
        // Deleting is the first change: ask before it, not only before executing.
        if self.mode.ask {
            self.show_changes();
            self.progress.finish();
            let question = format!("Delete the dead stack {name} and create it again?");
            match prompt::confirm(&question, (self.cloud.interrupt)()).await? {
                Some(true) => {}
                Some(false) => {
                    return Err(Failure::failed(
                        "not executed: the answer was no; nothing was changed",
                    ));
                }
                None => {
                    return Err(Failure::interrupted(
                        "interrupted before anything was changed",
                    ));
                }
            }
            self.mode.ask = false;
        }
        self.progress.line(&format!(
            "Deleting the dead stack {dead} (ROLLBACK_COMPLETE: its first create failed)"
        ));
        stack::delete_and_wait(
            &self.cloud.client,
            &dead,
            &name,
            &[],
            self.cloud.deadline,
            &mut self.progress,
        )
        .await?;
        self.create_checked(plan, recreate, Some(&dead)).await
    }

    /// Creates the stack's change set from what the plan carries, checks that its rows
    /// are the plan's (all `Add`), then executes it. `dead`: the dead stack deleted
    /// before (for the messages).
    async fn create_checked(
        &mut self,
        plan: &PlanFile,
        recreate: &Recreate,
        dead: Option<&str>,
    ) -> Result<Ending, Failure> {
        let name = plan.stack_name.clone();
        let change_set_name = change_set::unique_name(Purpose::Release)?;
        self.report.change_set_name = Some(change_set_name.clone());
        let request = change_set::Request {
            stack_name: name.clone(),
            name: change_set_name.clone(),
            kind: ChangeSetType::Create,
            template_body: recreate.template_body.clone(),
            parameters: recreate.parameters.clone(),
            keep_previous: Vec::new(),
            tags: recreate.tags.clone(),
            capabilities: plan.capabilities.clone(),
            role_arn: recreate.role_arn.clone(),
            // A stack created after its environment (or recreated after a dead first
            // create) from a plan: plans are made for releases, never for previews,
            // so always the standard mode.
            mode: change_set::DeployMode::Standard,
        };
        self.progress.line(&format!(
            "Creating change set {change_set_name} (create stack {name})"
        ));
        let outcome = change_set::create(
            &self.cloud.client,
            &request,
            self.cloud.deadline,
            Duration::from_secs(recreate.change_set_timeout_seconds),
            &mut self.progress,
        )
        .await?;
        let gone = match dead {
            Some(dead) => format!("the dead stack {dead} was deleted and nothing was created"),
            None => "nothing was created".to_owned(),
        };
        let described = match outcome {
            Outcome::Ready(described) => described,
            Outcome::Failed {
                reason,
                id,
                stack_id,
            } => {
                self.clean_up(&id, &stack_id, true).await?;
                return Err(Failure::failed(format!(
                    "CloudFormation rejected the change set for stack {name}: {reason}\n{gone}; fix the \
                     cause and plan again"
                )));
            }
            Outcome::TimedOut { id, message, .. } => {
                let stack_id = self.report.stack_id.clone().unwrap_or_else(|| name.clone());
                return Err(self
                    .give_up(&id, &stack_id, true, format!("{message}\n{gone}"))
                    .await);
            }
            Outcome::Empty { reason, .. } => {
                return Err(Failure::failed(format!(
                    "CloudFormation found nothing to create for stack {name} ({reason}); {gone}"
                )));
            }
        };
        self.report.stack_id = Some(described.stack_id.clone());
        self.report.change_set_id = Some(described.id.clone());
        let problems = created_differences(&plan.changes, &described.changes);
        if !problems.is_empty() {
            self.clean_up(&described.id, &described.stack_id, true)
                .await?;
            return Err(Failure::failed(format!(
                "the change set CloudFormation made for stack {name} is not what the plan showed: {}. \
                 Nothing was executed; {gone}, and the change set and its empty stack were deleted. \
                 Plan again",
                problems.join("; ")
            )));
        }
        // The summary shows CloudFormation's own rows.
        self.report.changes = described.changes.clone();
        self.show_changes();
        let ready = Ready {
            name: change_set_name,
            updating: false,
            created_review_stack: true,
            operations_before: Vec::new(),
            described,
        };
        self.execute(ready).await
    }
}

/// What differs between the rows a recreate plan showed and the rows of the change set
/// CloudFormation made: every row must be an `Add`, of the same logical ids and types.
pub(super) fn created_differences(
    planned: &[ResourceChange],
    made: &[ResourceChange],
) -> Vec<String> {
    let mut out = Vec::new();
    let not_added: Vec<String> = made
        .iter()
        .filter(|r| r.action != "Add")
        .map(|r| format!("{} {}", r.action, r.logical_id))
        .collect();
    if !not_added.is_empty() {
        out.push(format!("rows that are not Add: {}", not_added.join(", ")));
    }
    // Logical ids are unique in a change set, so the multiset difference is a set's.
    let key = |r: &ResourceChange| format!("{} ({})", r.logical_id, r.resource_type);
    let mut planned: Vec<String> = planned.iter().map(key).collect();
    let mut made: Vec<String> = made.iter().map(key).collect();
    planned.sort();
    made.sort();
    let missing = super::verify::only_in(&planned, &made);
    let extra = super::verify::only_in(&made, &planned);
    if !missing.is_empty() {
        out.push(format!("planned but not created: {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        out.push(format!("created but not planned: {}", extra.join(", ")));
    }
    out
}
