//! Scenario tests of the stack lifecycle against scripted API answers: what each status
//! leads to, waiting out operations, deleting, following to the end, throttling.

use super::*;
use crate::cfn::events::{Event, latest_operation};
use crate::cfn::fixtures::stack;
use crate::cfn::follow::follow;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_cloudformation::types::StackStatus;
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
    Progress::plain(Box::new(std::io::sink()))
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
    use StackStatus as S;
    assert_eq!(
        classify("a", &S::ReviewInProgress),
        StackState::ReviewInProgress
    );
    assert_eq!(
        classify("a", &S::UpdateRollbackComplete),
        StackState::Updatable
    );
    assert_eq!(
        classify("a", &S::UpdateCompleteCleanupInProgress),
        StackState::InProgress
    );
    assert_eq!(
        classify("a", &S::RollbackComplete),
        StackState::RollbackComplete
    );
    assert_eq!(classify("a", &S::DeleteFailed), StackState::DeleteFailed);
    assert_eq!(
        classify("a", &S::CreateFailed),
        StackState::FailedWithoutRollback
    );
    assert_eq!(
        classify("a", &S::UpdateFailed),
        StackState::FailedWithoutRollback
    );
    assert!(
        matches!(classify("a", &S::RollbackFailed), StackState::Stuck(m) if m.contains("--retain LogicalId"))
    );
    assert!(
        is_failed(&S::UpdateRollbackComplete)
            && is_failed(&S::CreateFailed)
            && !is_failed(&S::UpdateComplete)
    );
    assert!(
        last_operation_failed(&S::UpdateRollbackInProgress)
            && !last_operation_failed(&S::UpdateInProgress)
    );
    // Statuses newer than the SDK are judged by their names.
    assert_eq!(
        classify("a", &S::from("FUTURE_THING_IN_PROGRESS")),
        StackState::InProgress
    );
    assert!(is_failed(&S::from("FUTURE_ROLLBACK_COMPLETE")));
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
async fn a_preview_does_not_wait_for_a_running_operation() {
    let rule = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
    let client = client!(rule);
    let start = tokio::time::Instant::now();
    let err = prepare(
        &client,
        "app",
        Deadline::after(Duration::from_secs(3600)),
        &mut progress(),
        true,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.exit_code(), rule.num_calls()),
        (1, 1),
        "gave up at the first look"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(
        err.message.contains("stack app is UPDATE_IN_PROGRESS")
            && err.message.contains("A preview does not wait")
            && err.message.contains("deployer status --stack-name app"),
        "{}",
        err.message
    );
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
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
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
    assert!(matches!(plan, Plan::RecreateAfterDelete(_)));
    assert_eq!(delete.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_gives_the_exact_recovery_command() {
    let rule = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_ROLLBACK_FAILED"));
    // A caller that may not list the resources still gets the command.
    let list = mock!(Client::list_stack_resources).then_error(|| {
        aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized")
                .build(),
        )
    });
    let client = client!(rule, list);
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
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let client = client!(describe, events, delete);
    let err = delete_and_wait(
        &client,
        "app",
        "app",
        &[],
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
    assert!(
        err.message
            .contains("\n  deployer destroy --stack-name app --retain Bucket\n"),
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

fn resource(
    logical: &str,
    kind: &str,
    status: &str,
    physical: Option<&str>,
    reason: Option<&str>,
) -> aws_sdk_cloudformation::types::StackResourceSummary {
    aws_sdk_cloudformation::types::StackResourceSummary::builder()
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(aws_sdk_cloudformation::types::ResourceStatus::from(status))
        .set_physical_resource_id(physical.map(Into::into))
        .set_resource_status_reason(reason.map(Into::into))
        .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
        .build()
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_names_the_resources_to_skip_nested_ones_included() {
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    const NESTED: &str = "arn:aws:cloudformation:us-east-1:1:stack/app-Network-X/2";
    let describe = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_ROLLBACK_FAILED"));
    let outer = mock!(Client::list_stack_resources)
        .match_requests(|r| r.stack_name() == Some("arn:aws:cloudformation:us-east-1:1:stack/app/1"))
        .then_output(|| {
            ListStackResourcesOutput::builder()
                .stack_resource_summaries(resource("Queue", "AWS::SQS::Queue", "UPDATE_COMPLETE", None, None))
                .stack_resource_summaries(resource(
                    "Topic",
                    "AWS::SNS::Topic",
                    "UPDATE_FAILED",
                    None,
                    Some("Resource handler returned message: \"Topic not found (Service: Sns, Status Code: 404, Request ID: 1)\" (RequestToken: 2, HandlerErrorCode: NotFound)"),
                ))
                .stack_resource_summaries(resource(
                    "Network",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_FAILED",
                    Some(NESTED),
                    Some("Nested stack rollback failed"),
                ))
                .build()
        });
    let inner = mock!(Client::list_stack_resources)
        .match_requests(|r| r.stack_name() == Some(NESTED))
        .then_output(|| {
            ListStackResourcesOutput::builder()
                .stack_resource_summaries(resource(
                    "Sg",
                    "AWS::EC2::SecurityGroup",
                    "UPDATE_FAILED",
                    Some("sg-1"),
                    Some("sg-1 was deleted by hand"),
                ))
                .build()
        });
    let client = client!(describe, outer, inner);
    let err = prepare(
        &client,
        "app",
        Deadline::after(Duration::from_secs(60)),
        &mut progress(),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message
            .contains("  Topic (AWS::SNS::Topic): Topic not found\n")
            && err
                .message
                .contains("  Network.Sg (AWS::EC2::SecurityGroup): sg-1 was deleted by hand\n"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains(
            "\n  aws cloudformation continue-update-rollback --stack-name app --resources-to-skip Topic Network.Sg\n"
        ),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn delete_failed_offers_to_retain_the_named_resources() {
    use aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput;
    let describe = mock!(Client::describe_stacks).then_output(|| stack("DELETE_FAILED"));
    let list = mock!(Client::list_stack_resources).then_output(|| {
        ListStackResourcesOutput::builder()
            .stack_resource_summaries(resource(
                "Bucket",
                "AWS::S3::Bucket",
                "DELETE_FAILED",
                Some("b-1"),
                Some("The bucket you tried to delete is not empty"),
            ))
            .stack_resource_summaries(resource(
                "Topic",
                "AWS::SNS::Topic",
                "DELETE_COMPLETE",
                None,
                None,
            ))
            .build()
    });
    let client = client!(describe, list);
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
            .contains("  Bucket (AWS::S3::Bucket): The bucket you tried to delete is not empty\n")
            && err
                .message
                .contains("\n  deployer destroy --stack-name app --retain Bucket\n"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("Topic"), "{}", err.message);
}

#[tokio::test(start_paused = true)]
async fn destroy_retain_sends_retain_resources() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("DELETE_IN_PROGRESS"))
        .output(|| stack("DELETE_COMPLETE"))
        .build();
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.retain_resources() == ["Bucket".to_owned()])
        .then_output(|| DeleteStackOutput::builder().build());
    let client = client!(describe, delete, no_events());
    delete_and_wait(
        &client,
        "app",
        "app",
        &["Bucket".to_owned()],
        Deadline::after(Duration::from_secs(600)),
        &mut progress(),
    )
    .await
    .unwrap();
    assert_eq!(delete.num_calls(), 1);
}

/// A stack-level event of `app`, for following RollbackStack.
fn stack_event(id: &str, status: &str, t: i64) -> aws_sdk_cloudformation::types::StackEvent {
    crate::cfn::fixtures::event(id, "app", "AWS::CloudFormation::Stack", status, None, t)
}

#[tokio::test(start_paused = true)]
async fn create_failed_is_rolled_back_then_deleted_and_created_again() {
    use aws_sdk_cloudformation::operation::rollback_stack::RollbackStackOutput;
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("CREATE_FAILED"))
        .output(|| stack("ROLLBACK_IN_PROGRESS"))
        .output(|| stack("ROLLBACK_COMPLETE"))
        // prepare looks again: ROLLBACK_COMPLETE → delete → gone → create.
        .output(|| stack("ROLLBACK_COMPLETE"))
        .output(|| stack("DELETE_COMPLETE"))
        .error(missing)
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build())
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(stack_event("r1", "ROLLBACK_IN_PROGRESS", 5))
                .build()
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(stack_event("r2", "ROLLBACK_COMPLETE", 6))
                .stack_events(stack_event("r1", "ROLLBACK_IN_PROGRESS", 5))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let rollback = mock!(Client::rollback_stack)
        .match_requests(|r| {
            r.stack_name() == Some("arn:aws:cloudformation:us-east-1:1:stack/app/1")
                && r.retain_except_on_create() == Some(true)
        })
        .then_output(|| RollbackStackOutput::builder().build());
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let client = client!(describe, events, rollback, delete);
    let plan = prepare(
        &client,
        "app",
        Deadline::after(Duration::from_secs(600)),
        &mut progress(),
        false,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            plan,
            Plan::Create {
                pre_existing: false
            }
        ),
        "{plan:?}"
    );
    assert_eq!((rollback.num_calls(), delete.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn update_failed_is_rolled_back_then_updated_and_a_dry_run_touches_nothing() {
    use aws_sdk_cloudformation::operation::rollback_stack::RollbackStackOutput;
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_FAILED"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build())
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(stack_event("r2", "UPDATE_ROLLBACK_COMPLETE", 6))
                .stack_events(stack_event("r1", "UPDATE_ROLLBACK_IN_PROGRESS", 5))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let rollback =
        mock!(Client::rollback_stack).then_output(|| RollbackStackOutput::builder().build());
    let client = client!(describe, events, rollback);
    let plan = prepare(
        &client,
        "app",
        Deadline::after(Duration::from_secs(600)),
        &mut progress(),
        false,
    )
    .await
    .unwrap();
    assert!(
        matches!(&plan, Plan::Update(s) if status_of(s) == "UPDATE_ROLLBACK_COMPLETE"),
        "{plan:?}"
    );
    assert_eq!(rollback.num_calls(), 1);

    let describe = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_FAILED"));
    let rollback =
        mock!(Client::rollback_stack).then_output(|| RollbackStackOutput::builder().build());
    let client = client!(describe, rollback);
    let plan = prepare(
        &client,
        "app",
        Deadline::after(Duration::from_secs(60)),
        &mut progress(),
        true,
    )
    .await
    .unwrap();
    assert!(
        matches!(&plan, Plan::RollbackFirst(s) if s == "UPDATE_FAILED"),
        "{plan:?}"
    );
    assert_eq!(rollback.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_may_not_roll_back_gets_the_command() {
    use aws_sdk_cloudformation::operation::rollback_stack::RollbackStackError;
    let describe = mock!(Client::describe_stacks).then_output(|| stack("CREATE_FAILED"));
    let rollback = mock!(Client::rollback_stack).then_error(|| {
        RollbackStackError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform: cloudformation:RollbackStack")
                .build(),
        )
    });
    let client = client!(describe, rollback, no_events());
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
        err.message.contains("cloudformation:RollbackStack")
            && err
                .message
                .contains("`aws cloudformation rollback-stack --stack-name app`"),
        "{}",
        err.message
    );
}

/// Deletes `app` (already DELETE_COMPLETE on the first look after DeleteStack) in
/// `mode`, answering DeleteStack only when its DeploymentConfig is `expected`.
async fn delete_sends(mode: DeployMode, expected: Option<&'static str>) -> usize {
    let describe = mock!(Client::describe_stacks).then_output(|| stack("DELETE_COMPLETE"));
    let delete = mock!(Client::delete_stack)
        .match_requests(move |r| {
            let sent = r.deployment_config();
            sent.and_then(|c| c.mode()).map(|m| m.as_str()) == expected
                && sent.and_then(|c| c.disable_rollback()).is_none()
        })
        .then_output(|| DeleteStackOutput::builder().build());
    let client = client!(describe, delete, no_events());
    delete_and_wait_with(
        &client,
        "arn:aws:cloudformation:us-east-1:1:stack/app/1",
        "app",
        &[],
        mode,
        Deadline::after(Duration::from_secs(600)),
        &mut progress(),
    )
    .await
    .unwrap();
    delete.num_calls()
}

#[tokio::test(start_paused = true)]
async fn an_express_delete_says_so_and_a_standard_one_sends_no_deployment_config() {
    assert_eq!(delete_sends(DeployMode::Express, Some("EXPRESS")).await, 1);
    assert_eq!(delete_sends(DeployMode::Standard, None).await, 1);
    // The existing entry point keeps sending nothing.
    let describe = mock!(Client::describe_stacks).then_output(|| stack("DELETE_COMPLETE"));
    let delete = mock!(Client::delete_stack)
        .match_requests(|r| r.deployment_config().is_none())
        .then_output(|| DeleteStackOutput::builder().build());
    let client = client!(describe, delete, no_events());
    delete_and_wait(
        &client,
        "app",
        "app",
        &[],
        Deadline::after(Duration::from_secs(600)),
        &mut progress(),
    )
    .await
    .unwrap();
    assert_eq!(delete.num_calls(), 1);
}
