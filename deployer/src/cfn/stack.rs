//! A stack: reading it, what its status means, and the operations on the stack itself
//! (delete, cancel an update, termination protection, outputs).
//!
//! What a status means for a deploy: none / REVIEW_IN_PROGRESS → create; a stable
//! `*_COMPLETE` → update; ROLLBACK_COMPLETE (a failed first create, which can only be
//! deleted) → delete, then create; `*_IN_PROGRESS` → wait for it to settle;
//! CREATE_FAILED / UPDATE_FAILED (left by a disabled rollback) → RollbackStack, then on
//! from the state that leaves; UPDATE_ROLLBACK_FAILED → stop with the exact
//! `continue-update-rollback --resources-to-skip` command; DELETE_FAILED → stop with
//! the `destroy --retain` command; the other `*_FAILED` states → stop and say what to
//! do. Statuses are matched as the SDK's [`StackStatus`] enum; a status newer than the
//! SDK is judged by its name.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackStatus};

use super::events::{EventFollower, clean_reason, root_cause};
use super::wait::{Backoff, Deadline, Settled, follow, retry_throttled};
use crate::aws::{call_failed, describe_error, is_access_denied};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// What a stack status means for a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StackState {
    /// No such stack (or only a deleted one).
    Missing,
    /// Created by a CREATE change set that was never executed: create again.
    ReviewInProgress,
    /// A settled stack that can take an UPDATE change set.
    Updatable,
    /// A failed first create: it can only be deleted.
    RollbackComplete,
    /// Something is running; wait for it.
    InProgress,
    /// A failed rollback of an update; needs `continue-update-rollback`.
    UpdateRollbackFailed,
    /// CREATE_FAILED / UPDATE_FAILED: an operation failed with rollback disabled; the
    /// stack can be rolled back (RollbackStack) and then deployed.
    FailedWithoutRollback,
    /// A delete that failed; `destroy` again, or keep the named resources.
    DeleteFailed,
    /// Any other state we cannot deploy over; the text says what to do.
    Stuck(String),
}

/// Classifies a stack status.
pub(crate) fn classify(stack_name: &str, status: &StackStatus) -> StackState {
    use StackStatus as S;
    match status {
        S::ReviewInProgress => StackState::ReviewInProgress,
        S::DeleteComplete => StackState::Missing,
        S::RollbackComplete => StackState::RollbackComplete,
        S::UpdateRollbackFailed => StackState::UpdateRollbackFailed,
        S::CreateComplete
        | S::UpdateComplete
        | S::UpdateRollbackComplete
        | S::ImportComplete
        | S::ImportRollbackComplete => StackState::Updatable,
        S::DeleteFailed => StackState::DeleteFailed,
        S::CreateFailed | S::UpdateFailed => StackState::FailedWithoutRollback,
        S::RollbackFailed => StackState::Stuck(format!(
            "stack {stack_name} is ROLLBACK_FAILED: its first create failed and so did the rollback. \
             See `deployer status --stack-name {stack_name}`, then delete it with `deployer destroy --stack-name {stack_name}` \
             (add `--retain LogicalId` for a resource that cannot be deleted) and deploy again"
        )),
        other if is_in_progress(other) => StackState::InProgress,
        other => StackState::Stuck(format!(
            "stack {stack_name} is {other}, which cannot be deployed over; see `deployer status --stack-name {stack_name}`"
        )),
    }
}

/// True while an operation runs on the stack (including REVIEW_IN_PROGRESS, which
/// waits for a change set to be executed).
pub(crate) fn is_in_progress(status: &StackStatus) -> bool {
    use StackStatus as S;
    match status {
        S::CreateInProgress
        | S::DeleteInProgress
        | S::ImportInProgress
        | S::ImportRollbackInProgress
        | S::ReviewInProgress
        | S::RollbackInProgress
        | S::UpdateCompleteCleanupInProgress
        | S::UpdateInProgress
        | S::UpdateRollbackCompleteCleanupInProgress
        | S::UpdateRollbackInProgress => true,
        S::CreateComplete
        | S::CreateFailed
        | S::DeleteComplete
        | S::DeleteFailed
        | S::ImportComplete
        | S::ImportRollbackComplete
        | S::ImportRollbackFailed
        | S::RollbackComplete
        | S::RollbackFailed
        | S::UpdateComplete
        | S::UpdateFailed
        | S::UpdateRollbackComplete
        | S::UpdateRollbackFailed => false,
        // A status newer than this SDK: CloudFormation's names say what they are.
        other => other.as_str().ends_with("_IN_PROGRESS"),
    }
}

/// True for a status after which nothing more will happen without a new operation.
pub(crate) fn is_settled(status: &StackStatus) -> bool {
    !is_in_progress(status)
}

/// True for a settled status that means the last operation failed (a rollback that
/// completed is still a failed operation).
pub(crate) fn is_failed(status: &StackStatus) -> bool {
    use StackStatus as S;
    match status {
        S::CreateFailed
        | S::DeleteFailed
        | S::RollbackFailed
        | S::UpdateFailed
        | S::UpdateRollbackFailed
        | S::ImportRollbackFailed
        | S::RollbackComplete
        | S::UpdateRollbackComplete
        | S::ImportRollbackComplete => true,
        S::CreateComplete
        | S::CreateInProgress
        | S::DeleteComplete
        | S::DeleteInProgress
        | S::ImportComplete
        | S::ImportInProgress
        | S::ImportRollbackInProgress
        | S::ReviewInProgress
        | S::RollbackInProgress
        | S::UpdateComplete
        | S::UpdateCompleteCleanupInProgress
        | S::UpdateInProgress
        | S::UpdateRollbackCompleteCleanupInProgress
        | S::UpdateRollbackInProgress => false,
        other => {
            let s = other.as_str();
            s.ends_with("_FAILED") || s.ends_with("ROLLBACK_COMPLETE")
        }
    }
}

/// True when the last operation failed or is being rolled back: `status` then looks
/// for its root cause.
pub(crate) fn last_operation_failed(status: &StackStatus) -> bool {
    use StackStatus as S;
    is_failed(status)
        || matches!(
            status,
            S::RollbackInProgress
                | S::UpdateRollbackInProgress
                | S::UpdateRollbackCompleteCleanupInProgress
                | S::ImportRollbackInProgress
        )
        // A status newer than this SDK: CloudFormation's names say what they are.
        || (!S::values().contains(&status.as_str()) && status.as_str().contains("ROLLBACK"))
}

/// Reads one stack by name or id; `None` when it does not exist.
pub(crate) async fn describe(client: &Client, stack: &str) -> Result<Option<Stack>, Failure> {
    match retry_throttled(|| client.describe_stacks().stack_name(stack).send()).await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(err) if describe_error(&err).contains("does not exist") => Ok(None),
        Err(err) => Err(call_failed(&format!("reading stack {stack}"), &err)),
    }
}

/// The template text a stack was last deployed with (GetTemplate, stage `Original`:
/// as it was given, before transforms).
pub(crate) async fn template_body(client: &Client, stack: &str) -> Result<String, Failure> {
    retry_throttled(|| {
        client
            .get_template()
            .stack_name(stack)
            .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
            .send()
    })
    .await
    .map(|out| out.template_body().unwrap_or_default().to_owned())
    .map_err(|e| call_failed(&format!("reading the template of stack {stack}"), &e))
}

/// The stack's status (`UNKNOWN` when CloudFormation left it out).
pub(crate) fn status(stack: &Stack) -> StackStatus {
    stack
        .stack_status()
        .cloned()
        .unwrap_or_else(|| StackStatus::from("UNKNOWN"))
}

/// The status text of a stack, for messages and reports.
pub(crate) fn status_of(stack: &Stack) -> &str {
    stack
        .stack_status()
        .map(|s| s.as_str())
        .unwrap_or("UNKNOWN")
}

/// The stack's outputs, key → value (`deploy` and `status` both report them).
pub(crate) fn outputs(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .outputs()
        .iter()
        .filter_map(|o| {
            Some((
                o.output_key()?.to_owned(),
                o.output_value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

/// Turns termination protection on.
pub(crate) async fn enable_termination_protection(
    client: &Client,
    stack_id: &str,
) -> Result<(), Failure> {
    retry_throttled(|| {
        client
            .update_termination_protection()
            .stack_name(stack_id)
            .enable_termination_protection(true)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| call_failed("turning on termination protection", &e))
}

/// Asks CloudFormation to cancel a running update (it then rolls back). The error is
/// CloudFormation's words, for a message that says the update goes on.
pub(crate) async fn cancel_update(client: &Client, stack_id: &str) -> Result<(), String> {
    retry_throttled(|| client.cancel_update_stack().stack_name(stack_id).send())
        .await
        .map(|_| ())
        .map_err(|e| describe_error(&e))
}

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
    match delete(client, stack_id, stack_name, retain, deadline, progress).await? {
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
    delete(client, stack_id, stack_name, &[], deadline, progress).await
}

async fn delete(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    retain: &[String],
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
