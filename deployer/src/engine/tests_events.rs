//! Scenario tests of what a deploy reads while and after it runs: the stack id kept
//! from CreateChangeSet, early-validation findings, this run's operation id, ECS
//! service events and stopped tasks, and credentials that expire mid-wait.

use super::tests::deploy;
use super::*;
use crate::cfn::events::EventFollower;
use crate::cfn::fixtures::{STACK_ID, stack};
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
use aws_sdk_cloudformation::types::ChangeSetStatus;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

fn does_not_exist(name: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("ValidationError")
        .message(format!("Stack with id {name} does not exist"))
        .build()
}

/// Issue 11 item 4: a rejected first change set is cleaned up by the StackId
/// CreateChangeSet returned. Once the empty stack is deleted its name finds nothing, so
/// a clean-up that follows the deletion by name ended in "Stack [app] does not exist".
#[tokio::test(start_paused = true)]
async fn a_rejected_first_change_set_is_cleaned_up_by_stack_id() {
    // By name the stack does not exist (before: new; after: deleted); by id it is
    // DELETE_COMPLETE once deleted.
    let by_name = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("app"))
        .then_error(|| DescribeStacksError::generic(does_not_exist("app")));
    let by_id = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| stack("DELETE_COMPLETE"));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .status(ChangeSetStatus::Failed)
            .status_reason("Unsupported resources detected: [AWS::ECS::Cluster]")
            .build()
    });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DeleteStackOutput::builder().build());
    let events_by_id = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let events_by_name = mock!(Client::describe_stack_events)
        .match_requests(|r| r.stack_name() == Some("app"))
        .then_error(|| DescribeStackEventsError::generic(does_not_exist("app")));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &by_name,
            &by_id,
            &create,
            &describe,
            &delete_cs,
            &delete_stack,
            &events_by_id,
            &events_by_name,
            &super::tests::no_describe_events()
        ]
    );
    let mut d = deploy(client);
    let err = d.run().await.expect_err("a rejected change set fails");
    assert_eq!(err.exit_code(), 1, "{}", err.message);
    assert!(
        err.message
            .starts_with("CloudFormation rejected the change set for stack app")
            && err.message.contains("AWS::ECS::Cluster"),
        "{}",
        err.message
    );
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
    assert_eq!(events_by_name.num_calls(), 0);
    assert_eq!(d.report.stack_id.as_deref(), Some(STACK_ID));
}

/// Issue 11 item 12: credentials that expire while the deployer waits (a 1 h OIDC
/// session) end with "the operation goes on, here is how to watch it" and exit 3, not
/// a failed deploy (exit 1).
#[tokio::test(start_paused = true)]
async fn credentials_expiring_mid_wait_detach_with_exit_3() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .error(|| {
            DescribeStacksError::generic(
                ErrorMetadata::builder()
                    .code("ExpiredToken")
                    .message("The security token included in the request is expired")
                    .build(),
            )
        })
        .build();
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events]
    );
    let mut d = deploy(client);
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .expect_err("the wait cannot go on");
    assert_eq!(err.exit_code(), crate::error::EXIT_DETACHED);
    assert_eq!(err.exit_code(), 3);
    for part in [
        "the AWS credentials expired while waiting",
        "ExpiredToken",
        "goes on in CloudFormation (last seen: UPDATE_IN_PROGRESS)",
        "`deployer status --stack-name app`",
        "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/stackinfo?stackId=arn%3Aaws%3A",
    ] {
        assert!(err.message.contains(part), "{part}: {}", err.message);
    }
}

/// Progress written into memory, to read what CI's log would show.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

use aws_sdk_cloudformation::operation::describe_events::{
    DescribeEventsError, DescribeEventsOutput,
};
use aws_sdk_cloudformation::types::{
    HookFailureMode, OperationEntry, OperationEvent, OperationType, ResourceStatus, Stack,
    StackStatus, ValidationStatus,
};
use aws_smithy_types::DateTime;

fn finding(
    name: &str,
    path: &str,
    logical: &str,
    reason: &str,
    mode: HookFailureMode,
) -> OperationEvent {
    OperationEvent::builder()
        .event_id(format!("v-{logical}"))
        .stack_id(STACK_ID)
        .event_type(aws_sdk_cloudformation::types::EventType::ValidationError)
        .validation_name(name)
        .validation_path(path)
        .logical_resource_id(logical)
        .validation_status(ValidationStatus::Failed)
        .validation_failure_mode(mode)
        .validation_status_reason(reason)
        .timestamp(DateTime::from_secs(5))
        .build()
}

/// The rules of a first deploy whose change set CloudFormation rejects (as in the
/// stack-id test), plus `describe_events`.
fn rejected_first_deploy(
    describe_events: aws_smithy_mocks::Rule,
) -> (Client, [aws_smithy_mocks::Rule; 2]) {
    let by_name = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some("app"))
        .then_error(|| DescribeStacksError::generic(does_not_exist("app")));
    let by_id = mock!(Client::describe_stacks)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| stack("DELETE_COMPLETE"));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::Failed)
            .status_reason(
                "The following hook(s)/validation failed: [AWS::EarlyValidation::ResourceExistenceCheck]. \
                 To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.",
            )
            .build()
    });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack =
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let delete_cs_count = delete_cs.clone();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &by_name,
            &by_id,
            &create,
            &describe,
            &delete_cs,
            &delete_stack,
            &events,
            &describe_events
        ]
    );
    (client, [delete_cs_count, describe_events])
}

/// Issue 11 item 5: a change set rejected by early validation names the failed checks
/// (name, path, reason) as its root cause, read by the change set's ARN with the
/// FailedEvents filter, before the change set is deleted.
#[tokio::test(start_paused = true)]
async fn a_change_set_rejected_by_early_validation_names_the_failed_checks() {
    let describe_events = mock!(Client::describe_events)
        .match_requests(|r| {
            r.change_set_name() == Some("arn:cs/1")
                && r.filters().and_then(|f| f.failed_events()) == Some(true)
        })
        .then_output(|| {
            DescribeEventsOutput::builder()
                .operation_events(finding(
                    "AWS::EarlyValidation::ResourceExistenceCheck",
                    "/Resources/Logs/Properties/BucketName",
                    "Logs",
                    "Resource of type 'AWS::S3::Bucket' with identifier 'app-logs' already exists.",
                    HookFailureMode::Fail,
                ))
                .build()
        });
    let (client, [delete_cs, describe_events]) = rejected_first_deploy(describe_events);
    let mut d = deploy(client);
    let err = d.run().await.expect_err("a rejected change set fails");
    assert_eq!(err.exit_code(), 1);
    let expected = "root cause: AWS::EarlyValidation::ResourceExistenceCheck at /Resources/Logs/Properties/BucketName (Logs): \
                    Resource of type 'AWS::S3::Bucket' with identifier 'app-logs' already exists.";
    assert!(err.message.ends_with(expected), "{}", err.message);
    assert!(
        d.report
            .root_cause
            .as_deref()
            .is_some_and(|c| c.starts_with("AWS::EarlyValidation::ResourceExistenceCheck")),
        "{:?}",
        d.report.root_cause
    );
    assert_eq!((describe_events.num_calls(), delete_cs.num_calls()), (1, 1));
}

/// Issue 11 item 5: a caller without cloudformation:DescribeEvents (or an endpoint
/// without it) still gets CloudFormation's own reason; the findings are only missing.
#[tokio::test(start_paused = true)]
async fn a_caller_without_describe_events_still_gets_the_rejection_reason() {
    let denied = mock!(Client::describe_events).then_error(|| {
        DescribeEventsError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: deploy is not authorized to perform: cloudformation:DescribeEvents")
                .build(),
        )
    });
    let (client, [delete_cs, denied]) = rejected_first_deploy(denied);
    let mut d = deploy(client);
    let err = d.run().await.expect_err("a rejected change set fails");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.contains("use the DescribeEvents API") && !err.message.contains("root cause"),
        "{}",
        err.message
    );
    assert_eq!((denied.num_calls(), delete_cs.num_calls()), (1, 1));
}

/// Issue 11 item 5: a ready change set's WARN findings are read (all events, no
/// filter) and kept for the change-set view, before anything is executed or asked.
#[tokio::test(start_paused = true)]
async fn warn_findings_of_a_ready_change_set_are_shown_before_the_prompt() {
    let existing = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/2")
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/2")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreateComplete)
            .build()
    });
    let describe_events = mock!(Client::describe_events)
        .match_requests(|r| r.change_set_name() == Some("arn:cs/2") && r.filters().is_none())
        .then_output(|| {
            DescribeEventsOutput::builder()
                .operation_events(finding(
                    "AWS::EarlyValidation::PropertyValidation",
                    "/Resources/Topic/Properties/DisplayName",
                    "Topic",
                    "DisplayName is longer than 100 characters",
                    HookFailureMode::Warn,
                ))
                .build()
        });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&existing, &create, &describe, &describe_events, &delete_cs]
    );
    let mut d = deploy(client);
    d.mode.dry_run = true;
    d.run()
        .await
        .expect("a dry run with a WARN finding succeeds");
    assert_eq!(d.report.validation.len(), 1, "{:?}", d.report.validation);
    let warning = &d.report.validation[0];
    assert!(warning.warn);
    assert_eq!(
        warning.line(),
        "AWS::EarlyValidation::PropertyValidation at /Resources/Topic/Properties/DisplayName (Topic): \
         DisplayName is longer than 100 characters"
    );
    assert!(!d.report.executed);
}

fn stack_with_operations(
    status: &str,
    operations: &[(&str, OperationType)],
) -> aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput {
    let mut s = Stack::builder()
        .stack_name("app")
        .stack_id(STACK_ID)
        .stack_status(StackStatus::from(status))
        .creation_time(DateTime::from_secs(0));
    for (id, kind) in operations {
        s = s.last_operations(
            OperationEntry::builder()
                .operation_id(*id)
                .operation_type(kind.clone())
                .build(),
        );
    }
    aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput::builder()
        .stacks(s.build())
        .build()
}

fn failed_event(
    id: &str,
    op: &str,
    logical: &str,
    kind: &str,
    status: &str,
    reason: &str,
    t: i64,
) -> OperationEvent {
    OperationEvent::builder()
        .event_id(id)
        .stack_id(STACK_ID)
        .operation_id(op)
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(ResourceStatus::from(status))
        .resource_status_reason(reason)
        .timestamp(DateTime::from_secs(t))
        .build()
}

/// Issue 11 item 6: this run's operation is followed by its id: the new entry in
/// Stack.LastOperations ends the wait (no "User Initiated" stack event needed), and
/// the root cause comes from DescribeEvents(OperationId, FailedEvents).
#[tokio::test(start_paused = true)]
async fn a_failed_update_is_explained_by_its_operation_id() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| {
            stack_with_operations(
                "UPDATE_IN_PROGRESS",
                &[
                    ("op-2", OperationType::UpdateStack),
                    ("op-1", OperationType::CreateStack),
                ],
            )
        })
        .output(|| {
            stack_with_operations(
                "UPDATE_ROLLBACK_COMPLETE",
                &[
                    ("op-3", OperationType::Rollback),
                    ("op-2", OperationType::UpdateStack),
                    ("op-1", OperationType::CreateStack),
                ],
            )
        })
        .build();
    // The stack events this page shows say nothing about the operation.
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let op2 = mock!(Client::describe_events)
        .match_requests(|r| r.operation_id() == Some("op-2") && r.filters().and_then(|f| f.failed_events()) == Some(true))
        .then_output(|| {
            DescribeEventsOutput::builder()
                .operation_events(failed_event("b", "op-2", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Topic].", 13))
                .operation_events(failed_event("a", "op-2", "Topic", "AWS::SNS::Topic", "UPDATE_FAILED", "Invalid parameter: DisplayName (Service: Sns, Status Code: 400, Request ID: 1)", 12))
                .build()
        });
    let op3 = mock!(Client::describe_events)
        .match_requests(|r| r.operation_id() == Some("op-3"))
        .then_output(|| DescribeEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events, &op2, &op3]
    );
    let mut d = deploy(client);
    let mut follower =
        EventFollower::from_marker(STACK_ID, None).track_operations(vec!["op-1".into()]);
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .expect_err("the update failed");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.ends_with(
            "root cause: Topic (AWS::SNS::Topic) UPDATE_FAILED: Invalid parameter: DisplayName"
        ),
        "{}",
        err.message
    );
    assert_eq!(follower.operations, ["op-3", "op-2"]);
    assert_eq!(
        (describe.num_calls(), op2.num_calls(), op3.num_calls()),
        (2, 1, 1)
    );
}

/// Issue 11 item 10: while an ECS service updates, its events and its stopped tasks'
/// reasons are shown, and a circuit-breaker rollback's root cause says why the tasks
/// stopped.
#[tokio::test(start_paused = true)]
async fn a_circuit_breaker_rollback_names_why_the_tasks_stopped() {
    use crate::cfn::ecs::EcsWatch;
    use crate::cfn::fixtures::event;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
    use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
    use aws_sdk_ecs::types::{Container, DesiredStatus, Service, ServiceEvent, Task};

    const SERVICE: &str = "arn:aws:ecs:us-east-1:1:service/app-Cluster-X/app-Service-Y";
    let service_event = |id: &str, logical: &str, status: &str, reason: &str, t: i64| {
        let mut e = event(id, logical, "AWS::ECS::Service", status, reason, t);
        e.physical_resource_id = Some(SERVICE.into());
        e
    };
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(service_event("2", "Service", "UPDATE_IN_PROGRESS", "", 100))
                .stack_events(event("1", "app", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", 99))
                .build()
        })
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(event("4", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Service].", 301))
                .stack_events(service_event("3", "Service", "UPDATE_FAILED", "Resource handler returned message: \"Error occurred during operation 'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: 1-2, HandlerErrorCode: GeneralServiceException)", 300))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events]
    );

    let services = mock!(aws_sdk_ecs::Client::describe_services)
        .match_requests(|r| r.cluster() == Some("app-Cluster-X") && r.services() == [SERVICE])
        .then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .service_arn(SERVICE)
                        .events(
                            ServiceEvent::builder()
                                .id("s2")
                                .created_at(DateTime::from_secs(150))
                                .message(
                                    "(service app-Service-Y) has started 1 tasks: (task 0f1e).",
                                )
                                .build(),
                        )
                        .events(
                            ServiceEvent::builder()
                                .id("s1")
                                .created_at(DateTime::from_secs(10))
                                .message("(service app-Service-Y) has reached a steady state.")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let list = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| {
            r.desired_status() == Some(&DesiredStatus::Stopped) && r.service_name() == Some(SERVICE)
        })
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:us-east-1:1:task/app-Cluster-X/0f1e")
                .task_arns("arn:aws:ecs:us-east-1:1:task/app-Cluster-X/old")
                .build()
        });
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn("arn:aws:ecs:us-east-1:1:task/app-Cluster-X/0f1e")
                    .stopped_at(DateTime::from_secs(160))
                    .stopped_reason("Essential container in task exited")
                    .containers(Container::builder().name("app").exit_code(1).build())
                    .build(),
            )
            .tasks(
                Task::builder()
                    .task_arn("arn:aws:ecs:us-east-1:1:task/app-Cluster-X/old")
                    .stopped_at(DateTime::from_secs(20))
                    .stopped_reason("Scaling activity initiated by deployment")
                    .build(),
            )
            .build()
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&services, &list, &tasks]);

    let mut d = deploy(cfn);
    let log = Captured::default();
    d.progress = Progress::plain(Box::new(log.clone()));
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    follower.ecs = Some(EcsWatch::new(ecs, false));
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .expect_err("the update rolled back");
    assert!(
        err.message.ends_with(
            "root cause: Service (AWS::ECS::Service) UPDATE_FAILED: Error occurred during operation \
             'ECS Deployment Circuit Breaker was triggered'.; tasks stopped: Essential container in task exited; container app: exit code 1"
        ),
        "{}",
        err.message
    );
    let text = log.text();
    assert!(
        text.contains("ECS Service: (service app-Service-Y) has started 1 tasks: (task 0f1e)."),
        "{text}"
    );
    assert!(text.contains("ECS Service: task 0f1e stopped: Essential container in task exited; container app: exit code 1"), "{text}");
    // History from before this deploy is not news.
    assert!(
        !text.contains("steady state") && !text.contains("Scaling activity"),
        "{text}"
    );
    // While it updates, and one last look when it fails; then ECS is not asked again.
    assert_eq!(services.num_calls(), 2);
}

/// Issue 11 item 10: a role without the ECS permissions loses only the ECS lines.
#[tokio::test(start_paused = true)]
async fn ecs_access_denied_only_drops_the_ecs_lines() {
    use crate::cfn::ecs::EcsWatch;
    use crate::cfn::fixtures::event;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesError;

    const SERVICE: &str = "arn:aws:ecs:us-east-1:1:service/app-Cluster-X/app-Service-Y";
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .output(|| stack("UPDATE_COMPLETE"))
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            let mut e = event(
                "2",
                "Service",
                "AWS::ECS::Service",
                "UPDATE_IN_PROGRESS",
                "",
                100,
            );
            e.physical_resource_id = Some(SERVICE.into());
            DescribeStackEventsOutput::builder()
                .stack_events(e)
                .stack_events(event(
                    "1",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    "User Initiated",
                    99,
                ))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events]
    );
    let denied = mock!(aws_sdk_ecs::Client::describe_services).then_error(|| {
        DescribeServicesError::generic(
            aws_sdk_ecs::error::ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: ecs:DescribeServices")
                .build(),
        )
    });
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&denied]);
    let mut d = deploy(cfn);
    let log = Captured::default();
    d.progress = Progress::plain(Box::new(log.clone()));
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    follower.ecs = Some(EcsWatch::new(ecs, false));
    d.watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .expect("the deploy itself succeeded");
    assert_eq!(
        denied.num_calls(),
        1,
        "ECS is not asked again after AccessDenied"
    );
    assert!(
        !log.text().contains("ECS Service:") && !log.text().contains("not showing ECS"),
        "without -v nothing is said: {}",
        log.text()
    );
}
