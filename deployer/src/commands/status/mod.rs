//! The `status` subcommand: where a stack stands and, if its last operation failed, why;
//! or, for an application's environment, where each of its services stands
//! (environment.rs).

mod environment;

use std::process::ExitCode;

use aws_sdk_cloudformation::Client;
use aws_smithy_types::date_time::Format;

use crate::cfn::{events, operations, stack};
use crate::cli::StatusArgs;
use crate::error::{CommandResult, Failure};
use crate::output::status::{StatusReport, render_stack};
use crate::output::{OutputFormat, Printer};

/// Runs `deployer status`: one stack (`--stack-name`), or an environment of an
/// application (`--config --environment`, environment.rs).
pub(crate) async fn run(args: StatusArgs, printer: &Printer) -> CommandResult {
    let stack_name = match (&args.stack_name, &args.config, &args.environment) {
        (Some(name), None, _) => name.clone(),
        (None, Some(config), Some(env)) => return environment::run(config, env, printer).await,
        _ => {
            return Err(Failure::input(
                "say what to show: --stack-name NAME, or --config deploy.yaml --environment E",
            ));
        }
    };
    let sdk = crate::aws::sdk_config().await?;
    let client = Client::new(&sdk);
    let report = status(&client, &stack_name).await?;
    match printer.format() {
        OutputFormat::Json => printer.json(&report)?,
        OutputFormat::Text => printer.stdout(&render_stack(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the stack and its recent events.
pub(crate) async fn status(client: &Client, stack_name: &str) -> Result<StatusReport, Failure> {
    let found = stack::describe(client, stack_name).await?.ok_or_else(|| {
        Failure::failed(format!(
            "stack {stack_name} does not exist (in this account and region)"
        ))
    })?;
    let mut last_failure = None;
    if stack::last_operation_failed(&stack::status(&found)) {
        // The latest operation by its id (Stack.LastOperations → DescribeEvents) where
        // CloudFormation offers it; else its events, paged back to its start.
        let by_operation = operations::latest_failures(client, &found)
            .await
            .ok()
            .flatten();
        let operation = match by_operation {
            Some(failures) => failures,
            None => {
                events::latest_operation_events(
                    client,
                    found.stack_id().unwrap_or(stack_name),
                    found.stack_name().unwrap_or(stack_name),
                )
                .await?
            }
        };
        last_failure = events::root_cause(client, &operation).await;
    }
    Ok(StatusReport {
        stack_name: found.stack_name().unwrap_or(stack_name).to_owned(),
        stack_id: found.stack_id().map(str::to_owned),
        status: stack::status_of(&found).to_owned(),
        status_reason: found.stack_status_reason().map(str::to_owned),
        last_failure,
        outputs: stack::outputs(&found),
        termination_protection: found.enable_termination_protection().unwrap_or(false),
        last_updated: found
            .last_updated_time()
            .or(found.creation_time())
            .and_then(|t| t.fmt(Format::DateTime).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::fixtures::event;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{Output, Stack, StackStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    #[tokio::test]
    async fn a_rolled_back_stack_shows_the_cause_of_its_last_failure() {
        let describe = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("app")
                        .stack_id("arn:aws:cloudformation:us-east-1:1:stack/app/1")
                        .stack_status(StackStatus::UpdateRollbackComplete)
                        .enable_termination_protection(true)
                        .creation_time(DateTime::from_secs(0))
                        .last_updated_time(DateTime::from_secs(86_400))
                        .outputs(
                            Output::builder()
                                .output_key("Url")
                                .output_value("https://app.example.com/")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        // Newest first: this update's failure, then an older update's failure.
        let events = mock!(Client::describe_stack_events).then_output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "6",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_COMPLETE",
                    "",
                    60,
                ))
                .stack_events(event(
                    "5",
                    "Service",
                    "AWS::ECS::Service",
                    "UPDATE_FAILED",
                    "Task failed to start (RequestToken: ab-1, HandlerErrorCode: NotStabilized)",
                    50,
                ))
                .stack_events(event(
                    "4",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    "User Initiated",
                    40,
                ))
                .stack_events(event(
                    "3",
                    "Topic",
                    "AWS::SNS::Topic",
                    "UPDATE_FAILED",
                    "an older failure",
                    30,
                ))
                .stack_events(event(
                    "2",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    "User Initiated",
                    20,
                ))
                .build()
        });
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        );
        let report = status(&client, "app").await.unwrap();
        assert_eq!(report.status, "UPDATE_ROLLBACK_COMPLETE");
        assert_eq!(
            report.last_failure.as_deref(),
            Some("Service (AWS::ECS::Service) UPDATE_FAILED: Task failed to start")
        );
        assert!(report.termination_protection);
        assert_eq!(report.last_updated.as_deref(), Some("1970-01-02T00:00:00Z"));
        let text = render_stack(&report);
        assert!(
            text.contains("Url = https://app.example.com/")
                && text.contains("Termination protection: on"),
            "{text}"
        );
    }

    /// Issue 11 item 6: the latest operation's events span two pages (a big stack's
    /// rollback fills the first): its failure is on the second, and is found.
    #[tokio::test]
    async fn the_last_failure_is_found_when_its_operation_spans_several_pages() {
        let describe = mock!(Client::describe_stacks)
            .then_output(|| crate::cfn::fixtures::stack("UPDATE_ROLLBACK_COMPLETE"));
        let page1 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                let mut page = DescribeStackEventsOutput::builder().stack_events(event(
                    "r-end",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_ROLLBACK_COMPLETE",
                    None,
                    300,
                ));
                for i in (0..99).rev() {
                    page = page.stack_events(event(
                        &format!("r{i}"),
                        &format!("Queue{i}"),
                        "AWS::SQS::Queue",
                        "UPDATE_COMPLETE",
                        None,
                        200 + i,
                    ));
                }
                page.next_token("p2").build()
            });
        let page2 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event(
                        "u3",
                        "app",
                        "AWS::CloudFormation::Stack",
                        "UPDATE_ROLLBACK_IN_PROGRESS",
                        "The following resource(s) failed to update: [Service].",
                        150,
                    ))
                    .stack_events(event(
                        "u2",
                        "Service",
                        "AWS::ECS::Service",
                        "UPDATE_FAILED",
                        "Task failed to start",
                        140,
                    ))
                    .stack_events(event(
                        "u1",
                        "app",
                        "AWS::CloudFormation::Stack",
                        "UPDATE_IN_PROGRESS",
                        "User Initiated",
                        100,
                    ))
                    .next_token("p3")
                    .build()
            });
        let page3 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token() == Some("p3"))
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &page1, &page2, &page3]
        );
        let report = status(&client, "app").await.unwrap();
        assert_eq!(
            report.last_failure.as_deref(),
            Some("Service (AWS::ECS::Service) UPDATE_FAILED: Task failed to start")
        );
        // Paging stops at the operation's start.
        assert_eq!(
            (page1.num_calls(), page2.num_calls(), page3.num_calls()),
            (1, 1, 0)
        );
    }

    /// Issue 11 item 6: where the stack lists its operations, the latest one's failed
    /// events come from DescribeEvents(OperationId, FailedEvents), every page.
    #[tokio::test]
    async fn the_last_failure_comes_from_the_latest_operation_id_across_pages() {
        use aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput;
        use aws_sdk_cloudformation::types::{
            OperationEntry, OperationEvent, OperationType, ResourceStatus,
        };
        let failed = |id: &str, op: &str, logical: &str, status: &str, reason: &str, t: i64| {
            OperationEvent::builder()
                .event_id(id)
                .stack_id(crate::cfn::fixtures::STACK_ID)
                .operation_id(op)
                .logical_resource_id(logical)
                .resource_type("AWS::SNS::Topic")
                .resource_status(ResourceStatus::from(status))
                .resource_status_reason(reason)
                .timestamp(DateTime::from_secs(t))
                .build()
        };
        let describe = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("app")
                        .stack_id(crate::cfn::fixtures::STACK_ID)
                        .stack_status(StackStatus::UpdateRollbackComplete)
                        .last_operations(
                            OperationEntry::builder()
                                .operation_id("op-rollback")
                                .operation_type(OperationType::Rollback)
                                .build(),
                        )
                        .last_operations(
                            OperationEntry::builder()
                                .operation_id("op-update")
                                .operation_type(OperationType::UpdateStack)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let update_p1 = mock!(Client::describe_events)
            .match_requests(|r| {
                r.operation_id() == Some("op-update")
                    && r.next_token().is_none()
                    && r.filters().and_then(|f| f.failed_events()) == Some(true)
            })
            .then_output(move || {
                DescribeEventsOutput::builder()
                    .operation_events(failed(
                        "b",
                        "op-update",
                        "Queue",
                        "UPDATE_FAILED",
                        "Resource update cancelled",
                        20,
                    ))
                    .next_token("more")
                    .build()
            });
        let update_p2 = mock!(Client::describe_events)
            .match_requests(|r| {
                r.operation_id() == Some("op-update") && r.next_token() == Some("more")
            })
            .then_output(move || {
                DescribeEventsOutput::builder()
                    .operation_events(failed(
                        "a",
                        "op-update",
                        "Topic",
                        "UPDATE_FAILED",
                        "Invalid parameter: KmsMasterKeyId",
                        10,
                    ))
                    .build()
            });
        let rollback = mock!(Client::describe_events)
            .match_requests(|r| r.operation_id() == Some("op-rollback"))
            .then_output(|| DescribeEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &update_p1, &update_p2, &rollback]
        );
        let report = status(&client, "app").await.unwrap();
        assert_eq!(
            report.last_failure.as_deref(),
            Some("Topic (AWS::SNS::Topic) UPDATE_FAILED: Invalid parameter: KmsMasterKeyId")
        );
        assert_eq!((update_p1.num_calls(), update_p2.num_calls()), (1, 1));
    }
}
