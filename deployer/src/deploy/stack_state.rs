//! What the stack's current state means for a deploy, and waiting for it to change.
//!
//! none / REVIEW_IN_PROGRESS → create; a stable `*_COMPLETE` → update; ROLLBACK_COMPLETE
//! (a failed first create, which can only be deleted) → delete, then create;
//! `*_IN_PROGRESS` → wait for it to settle; UPDATE_ROLLBACK_FAILED → stop with the
//! recovery command; the other `*_FAILED` states → stop and say what to do.

use std::future::Future;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::Stack;

use super::events::{Event, EventFollower};
use super::poll::{Backoff, Deadline, retry_throttled};
use crate::aws::{call_failed, describe_error, is_access_denied};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// What a stack status means for a deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
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
    /// Any other state we cannot deploy over; the text says what to do.
    Stuck(String),
}

/// Classifies a stack status.
pub fn classify(stack_name: &str, status: &str) -> StackState {
    match status {
        "REVIEW_IN_PROGRESS" => StackState::ReviewInProgress,
        "DELETE_COMPLETE" => StackState::Missing,
        "ROLLBACK_COMPLETE" => StackState::RollbackComplete,
        "UPDATE_ROLLBACK_FAILED" => StackState::UpdateRollbackFailed,
        "CREATE_COMPLETE"
        | "UPDATE_COMPLETE"
        | "UPDATE_ROLLBACK_COMPLETE"
        | "IMPORT_COMPLETE"
        | "IMPORT_ROLLBACK_COMPLETE" => StackState::Updatable,
        s if s.ends_with("_IN_PROGRESS") => StackState::InProgress,
        "DELETE_FAILED" => StackState::Stuck(format!(
            "stack {stack_name} is DELETE_FAILED: a delete did not finish. Look at `deployer status --stack-name {stack_name}` \
             for the resource that could not be deleted, fix it, then run `deployer destroy --stack-name {stack_name}` and deploy again"
        )),
        "ROLLBACK_FAILED" | "CREATE_FAILED" => StackState::Stuck(format!(
            "stack {stack_name} is {status}: its first create failed and could not be cleaned up. \
             Run `deployer destroy --stack-name {stack_name}` and deploy again"
        )),
        other => StackState::Stuck(format!(
            "stack {stack_name} is {other}, which cannot be deployed over; see `deployer status --stack-name {stack_name}`"
        )),
    }
}

/// Reads one stack by name or id; `None` when it does not exist.
pub async fn describe(client: &Client, stack: &str) -> Result<Option<Stack>, Failure> {
    match retry_throttled(|| client.describe_stacks().stack_name(stack).send()).await {
        Ok(out) => Ok(out.stacks().first().cloned()),
        Err(err) if describe_error(&err).contains("does not exist") => Ok(None),
        Err(err) => Err(call_failed(&format!("reading stack {stack}"), &err)),
    }
}

/// The status text of a stack.
pub fn status_of(stack: &Stack) -> &str {
    stack
        .stack_status()
        .map(|s| s.as_str())
        .unwrap_or("UNKNOWN")
}

/// What kind of change set the deploy needs.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Create the stack. `pre_existing` is true when a REVIEW_IN_PROGRESS stack was
    /// already there (someone else's unexecuted change set): a dry run must not delete it.
    Create {
        /// A REVIEW_IN_PROGRESS stack was there before we started.
        pre_existing: bool,
    },
    /// Update the existing stack.
    Update(Box<Stack>),
    /// Dry run over a ROLLBACK_COMPLETE stack: a real deploy would delete it and create
    /// it again; a dry run must not delete anything, so there is no change set to show.
    RecreateAfterDelete,
}

/// Brings the stack into a state a change set can start from: waits out running
/// operations, deletes a ROLLBACK_COMPLETE leftover, or stops with what to do.
pub async fn prepare(
    client: &Client,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
    dry_run: bool,
) -> Result<Plan, Failure> {
    let mut backoff = Backoff::new();
    let started = tokio::time::Instant::now();
    loop {
        backoff.wait().await;
        let Some(stack) = describe(client, stack_name).await? else {
            return Ok(Plan::Create {
                pre_existing: false,
            });
        };
        let status = status_of(&stack).to_owned();
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
                return Ok(Plan::RecreateAfterDelete);
            }
            StackState::RollbackComplete => {
                progress.line(&format!(
                    "Stack {stack_name} is ROLLBACK_COMPLETE (its first create failed; it can only be deleted). Deleting it, then creating it again."
                ));
                let id = stack.stack_id().unwrap_or(stack_name).to_owned();
                delete_and_wait(client, &id, stack_name, deadline, progress).await?;
                backoff = Backoff::new();
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
            StackState::UpdateRollbackFailed => {
                return Err(Failure::failed(format!(
                    "stack {stack_name} is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback. \
                     Fix the cause (see `deployer status --stack-name {stack_name}`), then recover it with:\n  \
                     aws cloudformation continue-update-rollback --stack-name {stack_name}\n\
                     and deploy again once it is UPDATE_ROLLBACK_COMPLETE"
                )));
            }
            StackState::Stuck(message) => return Err(Failure::failed(message)),
        }
    }
}

/// Deletes a stack and waits until it is gone, printing its events.
pub async fn delete_and_wait(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<(), Failure> {
    match delete_unless_denied(client, stack_id, stack_name, deadline, progress).await? {
        Deleted::Yes => Ok(()),
        Deleted::Denied(failure) => Err(failure),
    }
}

/// Whether [`delete_unless_denied`] deleted the stack.
#[derive(Debug)]
pub enum Deleted {
    /// The stack is gone.
    Yes,
    /// The caller may not delete stacks (AccessDenied): nothing was changed.
    Denied(Failure),
}

/// Like [`delete_and_wait`], but a caller without `cloudformation:DeleteStack` gets
/// [`Deleted::Denied`] instead of an error, for clean-ups that may be skipped (the
/// empty REVIEW_IN_PROGRESS stack a first dry run leaves, under a preview role that
/// deliberately cannot delete stacks).
pub async fn delete_unless_denied(
    client: &Client,
    stack_id: &str,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Deleted, Failure> {
    let mut follower = EventFollower::start(client, stack_id).await?;
    if let Err(e) = retry_throttled(|| client.delete_stack().stack_name(stack_id).send()).await {
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
            let cause = super::events::root_cause(client, &follower.seen)
                .await
                .or_else(|| stack.stack_status_reason().map(super::events::clean_reason))
                .map(|c| format!("\nroot cause: {c}"))
                .unwrap_or_default();
            Err(Failure::failed(format!(
                "stack {stack_name} could not be deleted: it is {}; fix the cause, then run \
                 `deployer destroy --stack-name {stack_name}` again{cause}",
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

/// How following an operation ended.
#[derive(Debug)]
pub enum Settled {
    /// The stack reached a settled state (success or failure: look at its status).
    Done(Box<Stack>),
    /// The stack no longer exists (DELETE_COMPLETE).
    Gone,
    /// `--wait-timeout` passed; the last status seen.
    TimedOut(String),
    /// SIGINT/SIGTERM arrived; the last status seen.
    Interrupted(String),
}

/// True for a status after which nothing more will happen without a new operation.
pub fn is_settled(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// True for a settled status that means the operation failed.
pub fn is_failed(status: &str) -> bool {
    status.ends_with("_FAILED") || status.ends_with("ROLLBACK_COMPLETE")
}

/// Follows a running operation: prints new events, polls with [`Backoff`], stops when
/// the stack settles, the deadline passes or `interrupt` completes.
pub async fn follow<I>(
    client: &Client,
    stack_id: &str,
    follower: &mut EventFollower,
    deadline: Deadline,
    progress: &mut Progress,
    interrupt: &mut I,
) -> Result<Settled, Failure>
where
    I: Future<Output = ()> + Unpin,
{
    let mut backoff = Backoff::new();
    let started = tokio::time::Instant::now();
    let mut last_status = String::from("UNKNOWN");
    loop {
        tokio::select! {
            biased;
            () = &mut *interrupt => return Ok(Settled::Interrupted(last_status)),
            () = backoff.wait() => {}
        }
        for event in follower.poll(client).await? {
            progress.line(&event.line());
        }
        let Some(stack) = describe(client, stack_id).await? else {
            return Ok(Settled::Gone);
        };
        last_status = status_of(&stack).to_owned();
        if last_status == "DELETE_COMPLETE" {
            return Ok(Settled::Gone);
        }
        // Right after ExecuteChangeSet/DeleteStack, DescribeStacks can still show the
        // previous settled status; only the operation's own stack-level event proves it
        // has begun.
        if is_settled(&last_status) && operation_started(&follower.seen, &stack) {
            // Events written just before the status changed.
            for event in follower.poll(client).await? {
                progress.line(&event.line());
            }
            progress.finish();
            return Ok(Settled::Done(Box::new(stack)));
        }
        if deadline.passed() {
            progress.finish();
            return Ok(Settled::TimedOut(last_status));
        }
        progress.status(&format!(
            "{}: {last_status} ({})",
            stack.stack_name().unwrap_or(stack_id),
            format_elapsed(started.elapsed())
        ));
    }
}

/// True once the follower has seen a stack-level event of the operation (the stack's
/// own `*_IN_PROGRESS`/`*_COMPLETE`, not the REVIEW_IN_PROGRESS of a new change set).
fn operation_started(seen: &[Event], stack: &Stack) -> bool {
    seen.iter().any(|e| {
        e.resource_type == "AWS::CloudFormation::Stack"
            && e.status != "REVIEW_IN_PROGRESS"
            && (e.physical_id.as_deref() == stack.stack_id()
                || Some(e.logical_id.as_str()) == stack.stack_name())
    })
}

/// Events of the latest operation among a stack's recent events (oldest first): from
/// the last stack-level "User Initiated" start onwards.
pub fn latest_operation(events: &[Event], stack_name: &str) -> Vec<Event> {
    let start = events
        .iter()
        .rposition(|e| {
            e.logical_id == stack_name
                && e.resource_type == "AWS::CloudFormation::Stack"
                && e.status.ends_with("_IN_PROGRESS")
                && e.reason.as_deref() == Some("User Initiated")
        })
        .unwrap_or(0);
    events[start..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::fixtures::stack;
    use crate::output::Terminal;
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::time::Duration;

    fn missing() -> DescribeStacksError {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id app does not exist")
                .build(),
        )
    }

    fn throttled() -> DescribeStacksError {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    }

    fn progress() -> Progress {
        Progress::new(Terminal {
            live: false,
            interactive: false,
            ci: true,
        })
    }

    fn no_events() -> aws_smithy_mocks::Rule {
        mock!(Client::describe_stack_events)
            .then_output(|| DescribeStackEventsOutput::builder().build())
    }

    macro_rules! client {
        ($($rule:expr),*) => {
            mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [$(&$rule),*], |c| c.retry_config(aws_sdk_cloudformation::config::retry::RetryConfig::disabled()))
        };
    }

    #[test]
    fn statuses_map_to_states() {
        assert_eq!(
            classify("a", "REVIEW_IN_PROGRESS"),
            StackState::ReviewInProgress
        );
        assert_eq!(
            classify("a", "UPDATE_ROLLBACK_COMPLETE"),
            StackState::Updatable
        );
        assert_eq!(
            classify("a", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
            StackState::InProgress
        );
        assert_eq!(
            classify("a", "ROLLBACK_COMPLETE"),
            StackState::RollbackComplete
        );
        assert!(
            matches!(classify("a", "DELETE_FAILED"), StackState::Stuck(m) if m.contains("deployer destroy --stack-name a"))
        );
        assert!(
            is_failed("UPDATE_ROLLBACK_COMPLETE")
                && is_failed("CREATE_FAILED")
                && !is_failed("UPDATE_COMPLETE")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_or_review_stack_is_created() {
        let rule = mock!(Client::describe_stacks).then_error(missing);
        let client = client!(rule);
        let plan = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(60)),
            &mut progress(),
            false,
        )
        .await
        .unwrap();
        assert!(matches!(
            plan,
            Plan::Create {
                pre_existing: false
            }
        ));

        let rule = mock!(Client::describe_stacks).then_output(|| stack("REVIEW_IN_PROGRESS"));
        let client = client!(rule);
        let plan = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(60)),
            &mut progress(),
            false,
        )
        .await
        .unwrap();
        assert!(matches!(plan, Plan::Create { pre_existing: true }));
    }

    #[tokio::test(start_paused = true)]
    async fn in_progress_is_waited_out_then_updated() {
        let rule = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("UPDATE_IN_PROGRESS"))
            .times(3)
            .output(|| stack("UPDATE_COMPLETE"))
            .build();
        let client = client!(rule);
        let start = tokio::time::Instant::now();
        let plan = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(600)),
            &mut progress(),
            false,
        )
        .await
        .unwrap();
        assert!(matches!(plan, Plan::Update(s) if status_of(&s) == "UPDATE_COMPLETE"));
        assert_eq!(rule.num_calls(), 4);
        // Immediate first look, then about 1 s + 1.5 s + 2.25 s (±20 % jitter).
        let waited = start.elapsed().as_secs_f64();
        assert!((3.5..5.5).contains(&waited), "waited {waited}s");
    }

    #[tokio::test(start_paused = true)]
    async fn in_progress_past_the_deadline_says_what_to_do() {
        let rule = mock!(Client::describe_stacks).then_output(|| stack("CREATE_IN_PROGRESS"));
        let client = client!(rule);
        let err = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(30)),
            &mut progress(),
            false,
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.message.contains("still CREATE_IN_PROGRESS")
                && err.message.contains("deployer status --stack-name app"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_complete_is_deleted_and_recreated() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("ROLLBACK_COMPLETE"))
            .output(|| stack("DELETE_IN_PROGRESS"))
            .output(|| stack("DELETE_COMPLETE"))
            .error(missing)
            .build();
        let delete = mock!(Client::delete_stack)
            .match_requests(|r| {
                r.stack_name() == Some("arn:aws:cloudformation:us-east-1:1:stack/app/1")
            })
            .then_output(|| DeleteStackOutput::builder().build());
        let client = client!(describe, delete, no_events());
        let plan = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(600)),
            &mut progress(),
            false,
        )
        .await
        .unwrap();
        assert!(matches!(
            plan,
            Plan::Create {
                pre_existing: false
            }
        ));
        assert_eq!(delete.num_calls(), 1);
        assert_eq!(describe.num_calls(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dry_run_never_deletes_a_rollback_complete_stack() {
        let rule = mock!(Client::describe_stacks).then_output(|| stack("ROLLBACK_COMPLETE"));
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let client = client!(rule, delete);
        let plan = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(60)),
            &mut progress(),
            true,
        )
        .await
        .unwrap();
        assert!(matches!(plan, Plan::RecreateAfterDelete));
        assert_eq!(delete.num_calls(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn update_rollback_failed_gives_the_exact_recovery_command() {
        let rule = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_ROLLBACK_FAILED"));
        let client = client!(rule);
        let err = prepare(
            &client,
            "app",
            Deadline::after(Duration::from_secs(60)),
            &mut progress(),
            false,
        )
        .await
        .unwrap_err();
        assert!(
            err.message
                .contains("aws cloudformation continue-update-rollback --stack-name app"),
            "{}",
            err.message
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_with_backoff() {
        let rule = mock!(Client::describe_stacks)
            .sequence()
            .error(throttled)
            .times(4)
            .output(|| stack("UPDATE_COMPLETE"))
            .build();
        let client = client!(rule);
        let start = tokio::time::Instant::now();
        let found = describe(&client, "app").await.unwrap();
        assert_eq!(found.as_ref().map(status_of), Some("UPDATE_COMPLETE"));
        assert_eq!(rule.num_calls(), 5);
        // Throttling waits the longest delay (10 s, jittered down to at least 8 s) each time.
        assert!(
            start.elapsed() >= Duration::from_secs(32),
            "{:?}",
            start.elapsed()
        );

        let rule = mock!(Client::describe_stacks).then_error(throttled);
        let client = client!(rule);
        let err = describe(&client, "app").await.unwrap_err();
        assert!(
            err.message.contains("Throttling: Rate exceeded"),
            "{}",
            err.message
        );
        assert_eq!(rule.num_calls(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn following_stops_at_the_deadline_with_the_last_status() {
        let rule = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
        let client = client!(rule, no_events());
        let mut follower = EventFollower::from_marker("app", None);
        let settled = follow(
            &client,
            "app",
            &mut follower,
            Deadline::after(Duration::from_secs(45)),
            &mut progress(),
            &mut std::future::pending(),
        )
        .await
        .unwrap();
        assert!(matches!(settled, Settled::TimedOut(s) if s == "UPDATE_IN_PROGRESS"));
        // Backing off to 10 s: far fewer than 45 polls.
        assert!(rule.num_calls() < 15, "{}", rule.num_calls());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_delete_names_the_resource_that_stayed() {
        use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("DELETE_IN_PROGRESS"))
            .output(|| stack("DELETE_FAILED"))
            .build();
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| DescribeStackEventsOutput::builder().build())
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(
                        StackEvent::builder()
                            .event_id("2")
                            .logical_resource_id("Bucket")
                            .resource_type("AWS::S3::Bucket")
                            .resource_status(ResourceStatus::DeleteFailed)
                            .resource_status_reason("The bucket you tried to delete is not empty (Service: S3, Status Code: 409, Request ID: X)")
                            .timestamp(aws_smithy_types::DateTime::from_secs(5))
                            .build(),
                    )
                    .stack_events(
                        StackEvent::builder()
                            .event_id("1")
                            .logical_resource_id("app")
                            .resource_type("AWS::CloudFormation::Stack")
                            .resource_status(ResourceStatus::DeleteInProgress)
                            .resource_status_reason("User Initiated")
                            .timestamp(aws_smithy_types::DateTime::from_secs(4))
                            .build(),
                    )
                    .build()
            })
            .output(|| DescribeStackEventsOutput::builder().build())
            .repeatedly()
            .build();
        let delete =
            mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let client = client!(describe, events, delete);
        let err = delete_and_wait(
            &client,
            "app",
            "app",
            Deadline::after(Duration::from_secs(600)),
            &mut progress(),
        )
        .await
        .unwrap_err();
        assert!(
            err.message.ends_with("root cause: Bucket (AWS::S3::Bucket) DELETE_FAILED: The bucket you tried to delete is not empty"),
            "{}",
            err.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_settled_status_before_the_operation_starts_is_not_the_end() {
        use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
        let stack_event = |id: &str, status: &str| {
            StackEvent::builder()
                .event_id(id)
                .stack_name("app")
                .logical_resource_id("app")
                .physical_resource_id("arn:aws:cloudformation:us-east-1:1:stack/app/1")
                .resource_type("AWS::CloudFormation::Stack")
                .resource_status(ResourceStatus::from(status))
                .timestamp(aws_smithy_types::DateTime::from_secs(1))
                .build()
        };
        // First look: the update has not shown up yet (old UPDATE_COMPLETE, no events).
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack("UPDATE_COMPLETE"))
            .output(|| stack("UPDATE_IN_PROGRESS"))
            .output(|| stack("UPDATE_COMPLETE"))
            .build();
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| DescribeStackEventsOutput::builder().build())
            .output(move || {
                DescribeStackEventsOutput::builder()
                    .stack_events(stack_event("u1", "UPDATE_IN_PROGRESS"))
                    .build()
            })
            .output(move || {
                DescribeStackEventsOutput::builder()
                    .stack_events(stack_event("u2", "UPDATE_COMPLETE"))
                    .stack_events(stack_event("u1", "UPDATE_IN_PROGRESS"))
                    .build()
            })
            .output(|| DescribeStackEventsOutput::builder().build())
            .repeatedly()
            .build();
        let client = client!(describe, events);
        let mut follower = EventFollower::from_marker("app", None);
        let settled = follow(
            &client,
            "app",
            &mut follower,
            Deadline::after(Duration::from_secs(600)),
            &mut progress(),
            &mut std::future::pending(),
        )
        .await
        .unwrap();
        assert!(matches!(settled, Settled::Done(ref s) if status_of(s) == "UPDATE_COMPLETE"));
        assert_eq!(
            describe.num_calls(),
            3,
            "the stale first answer must not end the wait"
        );
        assert_eq!(follower.seen.len(), 2);
    }

    #[test]
    fn latest_operation_starts_at_the_last_user_initiated_event() {
        use super::super::events::Event;
        let e = |id: &str, logical: &str, status: &str, reason: Option<&str>| Event {
            id: id.into(),
            stack_name: "app".into(),
            logical_id: logical.into(),
            resource_type: if logical == "app" {
                "AWS::CloudFormation::Stack".into()
            } else {
                "AWS::SNS::Topic".into()
            },
            physical_id: None,
            status: status.into(),
            reason: reason.map(Into::into),
            timestamp: None,
            epoch: 0.0,
        };
        let events = vec![
            e("1", "app", "CREATE_IN_PROGRESS", Some("User Initiated")),
            e("2", "T", "CREATE_FAILED", Some("old")),
            e("3", "app", "UPDATE_IN_PROGRESS", Some("User Initiated")),
            e("4", "T", "UPDATE_FAILED", Some("new")),
        ];
        let op = latest_operation(&events, "app");
        assert_eq!(
            op.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["3", "4"]
        );
    }
}
