//! Scenario tests of a whole deploy against scripted CloudFormation answers: failures
//! with their root cause, interrupts, timeouts, rejected change sets, dry runs; and the
//! change table.

use super::plan::{ParameterChange, parameter_changes};
use super::report::{render_markdown, render_text};
use super::*;
use crate::cfn::change_set::ResourceChange;
use crate::cfn::events::EventFollower;
use crate::output::github::GitHub;
use aws_sdk_cloudformation::operation::cancel_update_stack::CancelUpdateStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::types::Parameter;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use std::time::Duration;

use crate::cfn::fixtures::{STACK_ID, event, stack};
use aws_sdk_cloudformation::types::{ChangeSetType, Stack};

pub(super) fn deploy(client: Client) -> Deploy {
    Deploy {
        cloud: Cloud {
            client,
            ecs: None,
            deadline: Deadline::after(Duration::from_secs(600)),
            interrupt: || Box::pin(std::future::pending()),
        },
        inputs: Inputs {
            settings: Settings {
                stack_name: "app".into(),
                region: None,
                template: "t.yaml".into(),
                parameters: BTreeMap::new(),
                tags: BTreeMap::new(),
                capabilities: None,
                termination_protection: false,
                role_arn: None,
                image_parameter: "ImageUri".into(),
                repository: None,
                wait_timeout: Duration::from_secs(600),
            },
            template: Template::parse("Resources:\n  T:\n    Type: AWS::SNS::Topic\n").unwrap(),
            parameters: BTreeMap::new(),
            capabilities: vec![],
        },
        mode: Mode {
            dry_run: false,
            detailed_exitcode: false,
            ask: false,
        },
        progress: Progress::plain(Box::new(std::io::sink())),
        view: View {
            printer: Printer::plain(),
            github: None,
        },
        report: DeployReport::default(),
    }
}

/// DescribeEvents as moto and LocalStack answer it: not implemented. Every change set
/// is asked for its early-validation findings; these scenarios are not about them.
pub(super) fn no_describe_events() -> aws_smithy_mocks::Rule {
    use aws_sdk_cloudformation::operation::describe_events::DescribeEventsError;
    mock!(Client::describe_events).then_error(|| {
        DescribeEventsError::generic(
            aws_sdk_cloudformation::error::ErrorMetadata::builder()
                .code("InternalFailure")
                .message("The describe_events action has not been implemented")
                .build(),
        )
    })
}

#[tokio::test(start_paused = true)]

async fn a_failed_update_ends_with_its_root_cause() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .build();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event("2", "Topic", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", "", 11))
                .stack_events(event("1", "app", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", 10))
                .stack_events(event("0", "app", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", "", 1))
                .build()
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event("5", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [Topic].", 14))
                .stack_events(event("4", "Queue", "AWS::SQS::Queue", "UPDATE_FAILED", "Resource update cancelled", 13))
                .stack_events(event("3", "Topic", "AWS::SNS::Topic", "UPDATE_FAILED", "Invalid parameter: KmsMasterKeyId (Service: Sns, Status Code: 400, Request ID: 42)", 12))
                .stack_events(event("2", "Topic", "AWS::SNS::Topic", "UPDATE_IN_PROGRESS", "", 11))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().stack_events(event("5", "app", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "", 14)).build())
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events]
    );
    let mut d = deploy(client);
    let mut follower = EventFollower::from_marker(STACK_ID, Some("0".into()));
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.ends_with(
            "root cause: Topic (AWS::SNS::Topic) UPDATE_FAILED: Invalid parameter: KmsMasterKeyId"
        ),
        "{}",
        err.message
    );
    assert_eq!(
        d.report.stack_status.as_deref(),
        Some("UPDATE_ROLLBACK_COMPLETE")
    );

    // Under GitHub Actions the failure reaches the summary and the step outputs.
    let dir = std::env::temp_dir().join(format!("deployer-gh-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    d.view.github = Some(GitHub::at(dir.join("summary"), dir.join("output")));
    d.report.change_set_id = Some("arn:cs/1".into());
    d.report.has_changes = true;
    let message = err.message.clone();
    let result = d.finish(Err(err));
    assert_eq!(result.unwrap_err().message, message);
    let summary = std::fs::read_to_string(dir.join("summary")).unwrap();
    assert!(
        summary.contains("Deploy of stack app failed")
            && summary.contains("Invalid parameter: KmsMasterKeyId"),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(dir.join("output")).unwrap();
    assert!(
        outputs.contains("stack-status<<") && outputs.contains("\nUPDATE_ROLLBACK_COMPLETE\n"),
        "{outputs}"
    );
    assert!(
        outputs.contains("change-set-id<<") && outputs.contains("\narn:cs/1\n"),
        "{outputs}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_update_is_cancelled_and_exits_130() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack("UPDATE_ROLLBACK_IN_PROGRESS"))
        .output(|| stack("UPDATE_ROLLBACK_COMPLETE"))
        .build();
    // The update had begun (its stack-level event is there) when Ctrl-C came.
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(|| {
            DescribeStackEventsOutput::builder()
                .stack_events(event(
                    "1",
                    "app",
                    "AWS::CloudFormation::Stack",
                    "UPDATE_IN_PROGRESS",
                    "User Initiated",
                    10,
                ))
                .build()
        })
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let cancel = mock!(Client::cancel_update_stack)
        .match_requests(|r| r.stack_name() == Some(STACK_ID))
        .then_output(|| CancelUpdateStackOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events, &cancel]
    );
    let mut d = deploy(client);
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::ready(()))
        .await
        .unwrap_err();
    assert_eq!(cancel.num_calls(), 1);
    assert_eq!(err.exit_code(), 130);
    assert!(
        err.message
            .contains("was cancelled; the stack is UPDATE_ROLLBACK_COMPLETE"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_create_goes_on_and_says_how_to_remove_it() {
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        &[] as &[&aws_smithy_mocks::Rule]
    );
    let mut d = deploy(client);
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    let err = d
        .watch(STACK_ID, false, &mut follower, &mut std::future::ready(()))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 130);
    assert!(
        err.message.contains("goes on")
            && err.message.contains("deployer destroy --stack-name app"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_wait_timeout_reports_the_status_and_what_to_do() {
    let describe = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_IN_PROGRESS"));
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &events]
    );
    let mut d = deploy(client);
    d.cloud.deadline = Deadline::after(Duration::from_secs(90));
    let mut follower = EventFollower::from_marker(STACK_ID, None);
    let err = d
        .watch(STACK_ID, true, &mut follower, &mut std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message
            .contains("still UPDATE_IN_PROGRESS; it will go on")
            && err.message.contains("deployer status --stack-name app"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_change_set_for_a_new_stack_leaves_nothing_behind() {
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_sdk_cloudformation::types::ChangeSetStatus;

    let missing = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id app does not exist")
                .build(),
        )
    });
    let create = mock!(Client::create_change_set)
        .match_requests(|r| r.change_set_type() == Some(&ChangeSetType::Create))
        .then_output(|| {
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
                "Template error: instance of Fn::GetAtt references undefined resource Nope",
            )
            .build()
    });
    let delete_cs = mock!(Client::delete_change_set)
        .match_requests(|r| r.change_set_name() == Some("arn:cs/1"))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack =
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &missing,
            &create,
            &describe,
            &delete_cs,
            &delete_stack,
            &events,
            &no_describe_events()
        ]
    );
    let mut d = deploy(client);
    let err = d
        .run()
        .await
        .expect_err("a rejected change set fails the deploy");
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.contains("undefined resource Nope"),
        "{}",
        err.message
    );
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_while_the_change_set_is_made_deletes_it_and_the_new_stack() {
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_sdk_cloudformation::types::ChangeSetStatus;

    let missing = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id app does not exist")
                .build(),
        )
    });
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    });
    // CloudFormation is slow today: the change set never leaves CREATE_PENDING.
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreatePending)
            .build()
    });
    let delete_cs = mock!(Client::delete_change_set)
        .match_requests(|r| {
            r.stack_name() == Some("app")
                && r.change_set_name()
                    .is_some_and(|n| n.starts_with("deployer-"))
        })
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack =
        mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &missing,
            &create,
            &describe,
            &delete_cs,
            &delete_stack,
            &events
        ]
    );
    let mut d = deploy(client);
    d.cloud.interrupt = || Box::pin(tokio::time::sleep(Duration::from_secs(5)));
    let err = d.run().await.expect_err("an interrupted deploy fails");
    assert_eq!(err.exit_code(), 130);
    assert!(
        err.message
            .contains("interrupted before anything was executed")
            && err.message.contains("was deleted"),
        "{}",
        err.message
    );
    assert!(
        describe.num_calls() > 1,
        "the change set was being waited on"
    );
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
    assert!(!d.report.executed);
}

#[tokio::test(start_paused = true)]
async fn a_first_dry_run_under_a_role_that_may_not_delete_stacks_still_succeeds() {
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackError;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeSetStatus, ChangeType, ResourceChange,
    };

    let missing = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id app does not exist")
                .build(),
        )
    });
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
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .r#type(ChangeType::Resource)
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Add)
                            .logical_resource_id("T")
                            .resource_type("AWS::SNS::Topic")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let delete_stack = mock!(Client::delete_stack).then_error(|| {
        DeleteStackError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: preview is not authorized to perform: cloudformation:DeleteStack")
                .build(),
        )
    });
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &missing,
            &create,
            &describe,
            &delete_cs,
            &delete_stack,
            &events,
            &no_describe_events()
        ]
    );
    let mut d = deploy(client);
    d.mode.dry_run = true;
    d.run()
        .await
        .expect("the preview itself worked; only the clean-up of the empty stack was refused");
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
    assert!(d.report.has_changes);
    assert!(!d.report.executed);
}

#[test]
fn parameter_changes_compare_with_the_stack_and_hide_no_echo() {
    let specs = Template::parse(
        "Parameters:\n  A:\n    Type: String\n  B:\n    Type: String\n    Default: same\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
    )
    .unwrap()
    .parameters;
    let existing = Stack::builder()
        .parameters(
            Parameter::builder()
                .parameter_key("A")
                .parameter_value("1")
                .build(),
        )
        .parameters(
            Parameter::builder()
                .parameter_key("B")
                .parameter_value("same")
                .build(),
        )
        .parameters(
            Parameter::builder()
                .parameter_key("Pw")
                .parameter_value("****")
                .build(),
        )
        .build();
    let given: BTreeMap<String, String> =
        [("A".into(), "2".into()), ("Pw".into(), "secret".into())].into();
    let changes = parameter_changes(&specs, &given, Some(&existing));
    assert_eq!(
        changes,
        vec![
            ParameterChange {
                name: "A".into(),
                old: Some("1".into()),
                new: "2".into()
            },
            ParameterChange {
                name: "Pw".into(),
                old: Some("****".into()),
                new: "****".into()
            },
        ]
    );
}

#[test]
fn the_change_table_shows_replacement_details_and_parameters() {
    let changes = vec![
        ResourceChange {
            action: "Modify".into(),
            logical_id: "Topic".into(),
            resource_type: "AWS::SNS::Topic".into(),
            replacement: "Conditional".into(),
            details: vec!["Properties.DisplayName: old → new".into()],
        },
        ResourceChange {
            action: "Add".into(),
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: String::new(),
            details: vec![],
        },
    ];
    let params = vec![ParameterChange {
        name: "Name".into(),
        old: Some("a".into()),
        new: "b".into(),
    }];
    let text = render_text(&changes, &params);
    assert!(text.contains("Name: a → b"), "{text}");
    assert!(
        text.contains("Modify  Topic       AWS::SNS::Topic  Conditional"),
        "{text}"
    );
    assert!(
        text.contains("    Properties.DisplayName: old → new"),
        "{text}"
    );
    assert!(
        text.contains("Add     Queue       AWS::SQS::Queue  -"),
        "{text}"
    );
    let md = render_markdown(&changes, &params);
    assert!(
        md.contains(
            "| Modify | Topic | AWS::SNS::Topic | Conditional | Properties.DisplayName: old → new |"
        ),
        "{md}"
    );
    assert!(md.contains("| Name | a | b |"), "{md}");
}
