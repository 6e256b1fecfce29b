//! Following layer: bringing a stack into a state a change set can start from (wait
//! out a running operation, roll back a failed one, delete a dead first create), and
//! deleting a stack, each followed to its end. May use `wait`, `describe`, `events`,
//! `explain`, `follow` and `change_set` (only its `DeployMode`: a delete may be express).
//!
//! The reading half (DescribeStacks, what a status means) is `describe`; its names are
//! re-exported here, so `cfn::stack::describe` and `cfn::stack::prepare` sit side by side
//! for the commands.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::Stack;

use super::change_set::DeployMode;
pub(crate) use super::describe::{
    StackState, cancel_update, classify, describe, enable_termination_protection, is_failed,
    last_operation_failed, outputs, parameters, status, status_of, template_body,
};
use super::events::clean_reason;
use super::explain::root_cause;
use super::follow::{EventFollower, Settled, follow};
use super::wait::{Backoff, Deadline, retry_throttled};
use crate::aws::{call_failed, is_access_denied};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// What kind of change set the deploy needs.
#[derive(Debug, Clone)]
pub(crate) enum Plan {
    /// Create the stack. `pre_existing` is true when a REVIEW_IN_PROGRESS stack was
    /// already there (someone else's unexecuted change set): a dry run must not delete it.
    Create {
        /// A REVIEW_IN_PROGRESS stack was there before we started.
        pre_existing: bool,
    },
    /// Update the existing stack.
    Update(Box<Stack>),
    /// Dry run over a CREATE_FAILED / UPDATE_FAILED stack (the status): a real deploy
    /// would roll it back first, which a dry run must not do.
    RollbackFirst(String),
    /// Dry run (or plan) over a ROLLBACK_COMPLETE stack (the dead stack): a real deploy
    /// would delete it and create it again; a preview must not delete anything, so
    /// CloudFormation has no change set to show.
    RecreateAfterDelete(Box<Stack>),
}

/// Brings the stack into a state a change set can start from: waits out running
/// operations, deletes a ROLLBACK_COMPLETE leftover, or stops with what to do.
pub(crate) async fn prepare(
    client: &Client,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
    dry_run: bool,
) -> Result<Plan, Failure> {
    let mut backoff = Backoff::new();
    let started = tokio::time::Instant::now();
    let mut rolled_back = false;
    loop {
        backoff.wait().await;
        let Some(stack) = describe(client, stack_name).await? else {
            return Ok(Plan::Create {
                pre_existing: false,
            });
        };
        let status = status(&stack);
        match classify(stack_name, &status) {
            StackState::Missing => {
                return Ok(Plan::Create {
                    pre_existing: false,
                });
            }
            StackState::ReviewInProgress => return Ok(Plan::Create { pre_existing: true }),
            StackState::Updatable => return Ok(Plan::Update(Box::new(stack))),
            StackState::RollbackComplete if dry_run => {
                progress.line(&format!(
                    "Stack {stack_name} is ROLLBACK_COMPLETE (its first create failed). A deploy will delete it and create it again; \
                     a dry run leaves it as it is."
                ));
                return Ok(Plan::RecreateAfterDelete(Box::new(stack)));
            }
            StackState::RollbackComplete => {
                progress.line(&format!(
                    "Stack {stack_name} is ROLLBACK_COMPLETE (its first create failed; it can only be deleted). Deleting it, then creating it again."
                ));
                let id = stack.stack_id().unwrap_or(stack_name).to_owned();
                delete_and_wait(client, &id, stack_name, &[], deadline, progress).await?;
                backoff = Backoff::new();
            }
            // A preview (dry run, plan) gives up at once: it must never hold a pull
            // request's check (or a plan job) for up to an hour behind production's
            // update, and what it would show is stale by the time that ends anyway.
            StackState::InProgress if dry_run => {
                return Err(Failure::failed(format!(
                    "stack {stack_name} is {status}: another operation is running on it, so there is \
                     nothing stable to preview against. A preview does not wait; run it again when the \
                     stack has settled (watch it with `deployer status --stack-name {stack_name}`)"
                )));
            }
            StackState::InProgress => {
                if deadline.passed() {
                    return Err(Failure::failed(format!(
                        "stack {stack_name} is still {status} after waiting {}; another operation is running. \
                         Watch it with `deployer status --stack-name {stack_name}` and deploy again when it has finished",
                        format_elapsed(deadline.timeout())
                    )));
                }
                progress.status(&format!(
                    "Stack {stack_name} is {status}; waiting for it to finish before deploying ({})",
                    format_elapsed(started.elapsed())
                ));
            }
            StackState::FailedWithoutRollback if dry_run => {
                progress.line(&format!(
                    "Stack {stack_name} is {status} (an operation failed with rollback disabled). A deploy will roll it back \
                     (RollbackStack) and then deploy; a dry run leaves it as it is."
                ));
                return Ok(Plan::RollbackFirst(status.as_str().to_owned()));
            }
            StackState::FailedWithoutRollback => {
                if rolled_back {
                    return Err(Failure::failed(format!(
                        "stack {stack_name} is still {status} after RollbackStack; see `deployer status --stack-name {stack_name}`"
                    )));
                }
                progress.line(&format!(
                    "Stack {stack_name} is {status} (an operation failed with rollback disabled). Rolling it back to its last \
                     good state (RollbackStack), then deploying."
                ));
                let id = stack.stack_id().unwrap_or(stack_name).to_owned();
                roll_back(client, &id, stack_name, deadline, progress).await?;
                rolled_back = true;
                backoff = Backoff::new();
            }
            StackState::UpdateRollbackFailed => {
                let id = stack.stack_id().unwrap_or(stack_name);
                let failed = recovery::rollback_failures(client, id).await;
                return Err(Failure::failed(recovery::continue_rollback_advice(
                    stack_name, &failed,
                )));
            }
            StackState::DeleteFailed => {
                let id = stack.stack_id().unwrap_or(stack_name);
                let failed = recovery::failed_resources(client, id, "DELETE_FAILED").await;
                return Err(Failure::failed(recovery::delete_failed_advice(
                    stack_name, &failed,
                )));
            }
            StackState::Stuck(message) => return Err(Failure::failed(message)),
        }
    }
}

/// Rolls a CREATE_FAILED / UPDATE_FAILED stack back to its last good state
/// (RollbackStack) and follows it to the end. `RetainExceptOnCreate` deletes what the
/// failed operation created even under `DeletionPolicy: Retain`, as a deploy's own
/// rollback does. How the rollback ended is for the caller to read from the stack.
async fn roll_back(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<(), Failure> {
    let mut follower = EventFollower::start(client, stack_id).await?;
    if let Err(e) = retry_throttled(|| {
        client
            .rollback_stack()
            .stack_name(stack_id)
            .retain_except_on_create(true)
            .send()
    })
    .await
    {
        let mut failure = call_failed(&format!("rolling back stack {stack_name}"), &e);
        failure.message.push_str(&format!(
            "\nRoll it back yourself with `aws cloudformation rollback-stack --stack-name {stack_name}`, then deploy again"
        ));
        return Err(failure);
    }
    match follow(
        client,
        stack_id,
        &mut follower,
        deadline,
        progress,
        &mut std::future::pending(),
    )
    .await?
    {
        Settled::Done(_) | Settled::Gone => Ok(()),
        Settled::TimedOut(status) => Err(Failure::failed(format!(
            "stack {stack_name} is still {status} after {}; the rollback goes on. Watch it with \
             `deployer status --stack-name {stack_name}` and deploy again when it has finished",
            format_elapsed(deadline.timeout())
        ))),
        Settled::Interrupted(_) => unreachable!("a pending future never completes"),
    }
}

/// Deletes a stack and waits until it is gone, printing its events. `retain` names
/// resources of a DELETE_FAILED stack to leave in the account (DeleteStack
/// `RetainResources`); empty for a normal delete.
pub(crate) async fn delete_and_wait(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    retain: &[String],
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<(), Failure> {
    delete_and_wait_with(
        client,
        stack_id,
        stack_name,
        retain,
        DeployMode::Standard,
        deadline,
        progress,
    )
    .await
}

/// [`delete_and_wait`] in the given mode: `DeployMode::Express` sends DeleteStack
/// `DeploymentConfig { Mode: EXPRESS }` (pull-request previews: a throwaway stack is
/// gone sooner, nothing waits for resources to drain). The wait for DELETE_COMPLETE and
/// the explanation of a DELETE_FAILED are the same in both modes.
pub(crate) async fn delete_and_wait_with(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    retain: &[String],
    mode: DeployMode,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<(), Failure> {
    match delete(
        client, stack_id, stack_name, retain, mode, deadline, progress,
    )
    .await?
    {
        Deleted::Yes => Ok(()),
        Deleted::Denied(failure) => Err(failure),
    }
}

/// Whether [`delete_unless_denied`] deleted the stack.
#[derive(Debug)]
pub(crate) enum Deleted {
    /// The stack is gone.
    Yes,
    /// The caller may not delete stacks (AccessDenied): nothing was changed.
    Denied(Failure),
}

/// Like [`delete_and_wait`], but a caller without `cloudformation:DeleteStack` gets
/// [`Deleted::Denied`] instead of an error, for clean-ups that may be skipped (the
/// empty REVIEW_IN_PROGRESS stack a first dry run leaves, under a preview role that
/// deliberately cannot delete stacks).
pub(crate) async fn delete_unless_denied(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Deleted, Failure> {
    delete(
        client,
        stack_id,
        stack_name,
        &[],
        DeployMode::Standard,
        deadline,
        progress,
    )
    .await
}

async fn delete(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    retain: &[String],
    mode: DeployMode,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Deleted, Failure> {
    let mut follower = EventFollower::start(client, stack_id).await?;
    let retain = (!retain.is_empty()).then(|| retain.to_vec());
    if let Err(e) = retry_throttled(|| {
        client
            .delete_stack()
            .stack_name(stack_id)
            .set_retain_resources(retain.clone())
            .set_deployment_config(mode.deployment_config())
            .send()
    })
    .await
    {
        let failure = call_failed(&format!("deleting stack {stack_name}"), &e);
        if is_access_denied(&e) {
            return Ok(Deleted::Denied(failure));
        }
        return Err(failure);
    }
    wait_deleted(
        client,
        stack_id,
        stack_name,
        &mut follower,
        deadline,
        progress,
    )
    .await
    .map(|()| Deleted::Yes)
}

async fn wait_deleted(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    follower: &mut EventFollower,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<(), Failure> {
    match follow(
        client,
        stack_id,
        follower,
        deadline,
        progress,
        &mut std::future::pending(),
    )
    .await?
    {
        Settled::Gone => Ok(()),
        Settled::Done(stack) => {
            let cause = root_cause(client, &follower.seen)
                .await
                .or_else(|| stack.stack_status_reason().map(clean_reason))
                .map(|c| format!("\nroot cause: {c}"))
                .unwrap_or_default();
            // The resources that stayed, from this delete's own events: they are what
            // `--retain` can leave behind.
            let mut stayed: Vec<&str> = Vec::new();
            for e in &follower.seen {
                let own = e.resource_type == "AWS::CloudFormation::Stack"
                    && (e.logical_id == stack_name || e.physical_id.as_deref() == Some(stack_id));
                if e.status == "DELETE_FAILED" && !own && !stayed.contains(&e.logical_id.as_str()) {
                    stayed.push(&e.logical_id);
                }
            }
            let keep = if stayed.is_empty() {
                String::new()
            } else {
                format!(
                    ", or delete it and keep what could not be deleted (it stays in the account, no longer \
                     managed by CloudFormation):\n  deployer destroy --stack-name {stack_name} --retain {}",
                    stayed.join(" ")
                )
            };
            Err(Failure::failed(format!(
                "stack {stack_name} could not be deleted: it is {}; fix the cause, then run \
                 `deployer destroy --stack-name {stack_name}` again{keep}{cause}",
                status_of(&stack)
            )))
        }
        Settled::TimedOut(status) => Err(Failure::failed(format!(
            "stack {stack_name} is still {status} after {}; the delete goes on. Watch it with `deployer status --stack-name {stack_name}`",
            format_elapsed(deadline.timeout())
        ))),
        Settled::Interrupted(_) => unreachable!("a pending future never completes"),
    }
}

mod recovery;
#[cfg(test)]
mod tests;
