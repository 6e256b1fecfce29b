//! DescribeEvents, CloudFormation's operation-level events (2025-11): the early
//! (pre-deployment) validation findings of a change set, and the failed events of one
//! operation by its id (`Stack.LastOperations`), instead of guessing an operation's
//! extent from "User Initiated" stack events.
//!
//! Reading layer: may use `wait` and `events`. What the findings and failures mean to
//! the user (their lines, the root cause) is `explain`.
//!
//! Everything here is diagnosis: an endpoint that does not implement DescribeEvents
//! (moto, LocalStack) or a caller without `cloudformation:DescribeEvents` gets
//! [`Unavailable`], and the caller falls back to what DescribeStackEvents shows.

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    EventFilter, HookFailureMode, OperationEvent, OperationType, Stack, ValidationStatus,
};
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use super::events::{Event, clean_reason};
use super::wait::{retry_throttled, stack_name_of};
use crate::aws::{describe_error, is_access_denied};

// Compatibility while issue 18's branches merge: these names moved up a layer and the
// commands still import them from here. Nothing in this file uses them (`layering`
// checks that); drop them once the callers import from their new homes.
pub(crate) use super::explain::root_cause_of;

/// Most DescribeEvents pages read in one go.
const MAX_PAGES: usize = 20;

/// Why DescribeEvents told us nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unavailable {
    /// The caller may not call it (AccessDenied): worth a warning naming the permission.
    Denied(String),
    /// Any other answer: the endpoint does not implement it (moto, LocalStack), or it
    /// failed; the caller falls back to the stack events.
    Unsupported(String),
}

/// One early-validation finding of a change set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Finding {
    /// The check, e.g. `AWS::EarlyValidation::ResourceExistenceCheck`.
    pub name: String,
    /// Where in the template, e.g. `/Resources/Bucket/Properties/BucketName`.
    pub path: Option<String>,
    /// The resource it is about.
    pub logical_id: Option<String>,
    /// CloudFormation's words.
    pub reason: String,
    /// A WARN finding: it does not stop the change set.
    pub warn: bool,
}

impl Finding {
    fn from_event(e: &OperationEvent) -> Option<Self> {
        let name = e.validation_name()?.to_owned();
        let status = e.validation_status();
        // A check that passed or was skipped says nothing. Any other status (FAILED, or
        // one newer than this SDK) is a finding.
        if matches!(status, Some(ValidationStatus::Skipped) | None)
            || status.is_some_and(|s| matches!(s.as_str(), "PASSED" | "SUCCEEDED"))
        {
            return None;
        }
        let warn = e.validation_failure_mode() == Some(&HookFailureMode::Warn)
            || status.is_some_and(|s| s.as_str().starts_with("WARN"));
        Some(Self {
            name,
            path: e.validation_path().map(str::to_owned),
            logical_id: e.logical_resource_id().map(str::to_owned),
            reason: e
                .validation_status_reason()
                .or(e.resource_status_reason())
                .map(clean_reason)
                .unwrap_or_default(),
            warn,
        })
    }
}

/// Every page of DescribeEvents for one change set or operation.
async fn all_events(
    client: &Client,
    change_set: Option<&str>,
    operation: Option<&str>,
    failed_only: bool,
) -> Result<Vec<OperationEvent>, Unavailable> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = retry_throttled(|| {
            let mut call = client
                .describe_events()
                .set_change_set_name(change_set.map(str::to_owned))
                .set_operation_id(operation.map(str::to_owned))
                .set_next_token(token.clone());
            if failed_only {
                call = call.filters(EventFilter::builder().failed_events(true).build());
            }
            call.send()
        })
        .await
        .map_err(|e| {
            if is_access_denied(&e) {
                Unavailable::Denied(describe_error(&e))
            } else {
                Unavailable::Unsupported(describe_error(&e))
            }
        })?;
        events.extend(page.operation_events().iter().cloned());
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(events)
}

/// The early-validation findings of a change set, by its ARN (the name alone is
/// refused). For a FAILED change set only the failed events are asked for; for a
/// ready one every event, to find the WARN findings.
pub(crate) async fn validation_findings(
    client: &Client,
    change_set_arn: &str,
    failed_only: bool,
) -> Result<Vec<Finding>, Unavailable> {
    let events = all_events(client, Some(change_set_arn), None, failed_only).await?;
    let mut findings: Vec<Finding> = Vec::new();
    for finding in events.iter().filter_map(Finding::from_event) {
        if !findings.contains(&finding) {
            findings.push(finding);
        }
    }
    Ok(findings)
}

/// The failed events of one operation, as stack events, oldest first.
pub(crate) async fn operation_failures(
    client: &Client,
    operation_id: &str,
) -> Result<Vec<Event>, Unavailable> {
    let events = all_events(client, None, Some(operation_id), true).await?;
    let mut list: Vec<Event> = events.iter().map(to_event).collect();
    list.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
    Ok(list)
}

/// An operation event in the shape the root-cause search reads. A validation failure
/// during the operation has no resource status: it is shown as `VALIDATION_FAILED`.
fn to_event(e: &OperationEvent) -> Event {
    let status = e
        .resource_status()
        .map(|s| s.as_str().to_owned())
        .or_else(|| e.validation_name().map(|_| "VALIDATION_FAILED".to_owned()))
        .unwrap_or_default();
    let stack_id = e.stack_id().unwrap_or_default();
    Event {
        id: e.event_id().unwrap_or_default().to_owned(),
        stack_name: stack_name_of(stack_id).to_owned(),
        logical_id: e
            .logical_resource_id()
            .or(e.validation_name())
            .unwrap_or_default()
            .to_owned(),
        resource_type: e.resource_type().unwrap_or_default().to_owned(),
        physical_id: e.physical_resource_id().map(str::to_owned),
        status,
        reason: e
            .resource_status_reason()
            .or(e.validation_status_reason())
            .or(e.hook_status_reason())
            .map(str::to_owned),
        timestamp: e.timestamp().and_then(|t| t.fmt(Format::DateTime).ok()),
        epoch: e.timestamp().map(|t| t.as_secs_f64()).unwrap_or_default(),
    }
}

/// True for the operations a user starts on a stack (not their rollbacks).
fn is_stack_operation(kind: Option<&OperationType>) -> bool {
    matches!(
        kind,
        Some(OperationType::CreateStack | OperationType::UpdateStack | OperationType::DeleteStack)
    )
}

/// The ids in `Stack.LastOperations` (empty where the endpoint does not report them).
pub(crate) fn operation_ids(stack: &Stack) -> Vec<String> {
    stack
        .last_operations()
        .iter()
        .filter_map(|o| o.operation_id().map(str::to_owned))
        .collect()
}

/// The ids in `Stack.LastOperations` of the operations that change the stack: create,
/// update, delete, rollback, continue-rollback. CloudFormation also lists change-set
/// creation (`CREATE_CHANGESET`), which changes nothing: counting it would make every
/// preview during an approval window look like "another operation ran" to `apply`.
/// An entry without a type is counted (we cannot tell, and refusing is the safe side),
/// and so is a type newer than this SDK unless its name says it is about change sets.
pub(crate) fn stack_changing_operation_ids(stack: &Stack) -> Vec<String> {
    stack
        .last_operations()
        .iter()
        .filter(|o| changes_stack(o.operation_type()))
        .filter_map(|o| o.operation_id().map(str::to_owned))
        .collect()
}

/// True for an operation type that changes the stack (see [`stack_changing_operation_ids`]).
fn changes_stack(kind: Option<&OperationType>) -> bool {
    use OperationType as T;
    match kind {
        None => true,
        Some(
            T::CreateStack | T::UpdateStack | T::DeleteStack | T::Rollback | T::ContinueRollback,
        ) => true,
        Some(T::CreateChangeset) => false,
        Some(other) => !other.as_str().contains("CHANGESET"),
    }
}

/// This run's operations, once CloudFormation lists them: every id in
/// `Stack.LastOperations` that was not there before we executed. `started` is true
/// when one of them is a stack operation (create/update/delete), not only a rollback.
pub(crate) fn new_operations(stack: &Stack, before: &[String]) -> (Vec<String>, bool) {
    let mut started = false;
    let mut ids = Vec::new();
    for op in stack.last_operations() {
        let Some(id) = op.operation_id() else {
            continue;
        };
        if before.iter().any(|b| b == id) {
            continue;
        }
        started |= is_stack_operation(op.operation_type());
        ids.push(id.to_owned());
    }
    (ids, started)
}

/// The failed events of a stack's latest operation, from `Stack.LastOperations`: of the
/// listed stack operations, the one whose failures are newest, with the failures of the
/// rollbacks listed with it. `Ok(None)` when the stack lists no operations or none has
/// a failure (then the caller reads the stack events).
pub(crate) async fn latest_failures(
    client: &Client,
    stack: &Stack,
) -> Result<Option<Vec<Event>>, Unavailable> {
    let mut primary: Option<Vec<Event>> = None;
    let mut rollbacks: Vec<Event> = Vec::new();
    for op in stack.last_operations() {
        let Some(id) = op.operation_id() else {
            continue;
        };
        let failures = operation_failures(client, id).await?;
        if failures.is_empty() {
            continue;
        }
        if !is_stack_operation(op.operation_type()) {
            rollbacks.extend(failures);
            continue;
        }
        let newest = |list: &[Event]| list.last().map_or(f64::MIN, |e| e.epoch);
        if primary
            .as_deref()
            .is_none_or(|p| newest(&failures) > newest(p))
        {
            primary = Some(failures);
        }
    }
    let Some(mut events) = primary.or_else(|| (!rollbacks.is_empty()).then(Vec::new)) else {
        return Ok(None);
    };
    let since = events.first().map_or(f64::MIN, |e| e.epoch);
    events.extend(rollbacks.into_iter().filter(|e| e.epoch >= since));
    events.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
    Ok(Some(events))
}
