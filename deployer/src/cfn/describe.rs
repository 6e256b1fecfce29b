//! Reading layer: one stack as DescribeStacks shows it, and what its status means; the
//! single calls on the stack itself (GetTemplate, termination protection, cancel an
//! update). May use `wait` only.
//!
//! What a status means for a deploy ([`classify`]; `stack::prepare` acts on it): none / REVIEW_IN_PROGRESS → create; a stable
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

use super::wait::retry_throttled;
use crate::aws::{call_failed, describe_error};
use crate::error::Failure;

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

/// The stack's parameters, key → value, as it was last deployed with them.
pub(crate) fn parameters(stack: &Stack) -> BTreeMap<String, String> {
    stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value().unwrap_or_default().to_owned(),
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
