//! Scenario tests of a whole deploy against scripted CloudFormation answers: failures
//! with their root cause, interrupts, timeouts, rejected change sets, dry runs; and the
//! change table.

use super::plan::{ParameterChange, parameter_changes};
use super::*;
use crate::cfn::change_set::ResourceChange;
use crate::cfn::events::EventFollower;
use crate::output::changes::{render_markdown, render_text};
use crate::output::github::GitHub;
use aws_sdk_cloudformation::operation::cancel_update_stack::CancelUpdateStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::types::Parameter;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use std::time::Duration;

use crate::cfn::fixtures::{STACK_ID, event, stack};
use aws_sdk_cloudformation::types::{ChangeSetType, Stack};

pub(super) fn deploy(client: Client) -> Deploy {
    let inputs = Inputs {
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
            change_set_timeout: Duration::from_secs(600),
            express_create: false,
        },
        template: Template::parse("Resources:\n  T:\n    Type: AWS::SNS::Topic\n").unwrap(),
        parameters: BTreeMap::new(),
        capabilities: vec![],
        plan_out: None,
        release: false,
        commit: None,
        allow_out_of_order: false,
        work_tree: ".".into(),
        region: "us-east-1".into(),
    };
    Deploy::scripted(client, inputs, Duration::from_secs(600))
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
                new: "2".into(),
                previous_value_kept: false,
            },
            ParameterChange {
                name: "Pw".into(),
                old: Some("****".into()),
                new: "****".into(),
                previous_value_kept: false,
            },
        ]
    );
    // Not given again: the stack keeps it, and the diff says so.
    let given: BTreeMap<String, String> = [("A".into(), "1".into())].into();
    let changes = parameter_changes(&specs, &given, Some(&existing));
    assert_eq!(
        changes,
        vec![ParameterChange {
            name: "Pw".into(),
            old: Some("****".into()),
            new: "****".into(),
            previous_value_kept: true,
        }]
    );
    let text = render_text(&[], &changes);
    assert!(
        text.contains("Pw: unchanged (NoEcho, previous value kept)"),
        "{text}"
    );
    assert!(
        render_markdown(&[], &changes)
            .contains("| Pw | ` **** ` | unchanged (NoEcho, previous value kept) |")
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_without_a_no_echo_value_sends_use_previous_value() {
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::types::ChangeSetStatus;

    let existing = mock!(Client::describe_stacks).then_output(|| {
        let mut out = stack("UPDATE_COMPLETE");
        let s = out.stacks.as_mut().unwrap().first_mut().unwrap();
        s.parameters = Some(vec![
            Parameter::builder()
                .parameter_key("Pw")
                .parameter_value("****")
                .build(),
        ]);
        out
    });
    // Only a request that keeps Pw (a key, UsePreviousValue, no value) is answered.
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.parameters().iter().any(|p| {
                p.parameter_key() == Some("Pw")
                    && p.use_previous_value() == Some(true)
                    && p.parameter_value().is_none()
            })
        })
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
            .status(ChangeSetStatus::CreateComplete)
            .build()
    });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &existing,
            &create,
            &describe,
            &delete_cs,
            &no_describe_events()
        ]
    );
    let mut d = deploy(client);
    d.inputs.template = Template::parse(
        "Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\nResources:\n  T:\n    Type: AWS::SNS::Topic\n",
    )
    .unwrap();
    d.mode.dry_run = true;
    d.run().await.expect("the dry run works");
    assert_eq!(create.num_calls(), 1);
    assert!(d.report.parameter_changes[0].previous_value_kept);
}

#[test]
fn the_change_table_shows_paths_values_policies_and_parameters() {
    use crate::cfn::change_set::PropertyChange;
    let changes = vec![
        ResourceChange {
            action: "Modify".into(),
            logical_id: "Task".into(),
            resource_type: "AWS::ECS::TaskDefinition".into(),
            replacement: "True".into(),
            policy_action: "ReplaceAndDelete".into(),
            scope: vec![],
            details: vec![PropertyChange {
                path: "/Properties/ContainerDefinitions/0/Image".into(),
                before: Some("repo@sha256:aaa".into()),
                after: Some("repo@sha256:bbb".into()),
                dynamic: false,
                requires_recreation: "Always".into(),
            }],
        },
        ResourceChange {
            action: "Modify".into(),
            logical_id: "Service".into(),
            resource_type: "AWS::ECS::Service".into(),
            replacement: "Conditional".into(),
            policy_action: String::new(),
            scope: vec![],
            details: vec![PropertyChange {
                path: "/Properties/TaskDefinition".into(),
                before: None,
                after: None,
                dynamic: true,
                requires_recreation: "Never".into(),
            }],
        },
        ResourceChange {
            action: "Remove".into(),
            logical_id: "Pool".into(),
            resource_type: "AWS::Cognito::UserPool".into(),
            replacement: String::new(),
            policy_action: "Retain".into(),
            scope: vec![],
            details: vec![],
        },
        ResourceChange {
            action: "Add".into(),
            logical_id: "Queue".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: String::new(),
            policy_action: String::new(),
            scope: vec![],
            details: vec![],
        },
    ];
    let params = vec![ParameterChange {
        name: "Name".into(),
        old: Some("a".into()),
        new: "b".into(),
        previous_value_kept: false,
    }];
    let text = render_text(&changes, &params);
    assert!(text.contains("Name: a → b"), "{text}");
    assert!(
        text.contains(
            "    /Properties/ContainerDefinitions/0/Image: repo@sha256:aaa → repo@sha256:bbb (replaces the resource)"
        ),
        "{text}"
    );
    assert!(
        text.contains("    /Properties/TaskDefinition (may change: known only while deploying)"),
        "{text}"
    );
    assert!(
        text.contains("Remove (retained, not deleted)  Pool ") && !text.contains("Remove  "),
        "{text}"
    );
    assert!(
        text.contains("AWS::ECS::Service         Conditional"),
        "{text}"
    );
    assert!(
        text.contains("Add  ") && text.contains("AWS::SQS::Queue           -"),
        "{text}"
    );
    let md = render_markdown(&changes, &params);
    assert!(
        md.contains(
            "| Modify | Task | ` AWS::ECS::TaskDefinition ` | True | ` /Properties/ContainerDefinitions/0/Image: repo@sha256:aaa → repo@sha256:bbb (replaces the resource) ` |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| Remove (retained, not deleted) | Pool | ` AWS::Cognito::UserPool ` |  |  |"),
        "{md}"
    );
    assert!(md.contains("| Name | a | b |"), "{md}");
}

#[test]
fn the_job_summary_table_is_capped() {
    use crate::cfn::change_set::PropertyChange;
    // 400 resources, each with 40 properties of 4 KiB values: far beyond 1 MiB whole.
    let changes: Vec<ResourceChange> = (0..400)
        .map(|i| ResourceChange {
            action: "Modify".into(),
            logical_id: format!("Fn{i}"),
            resource_type: "AWS::Lambda::Function".into(),
            replacement: "False".into(),
            policy_action: String::new(),
            scope: vec![],
            details: (0..40)
                .map(|j| PropertyChange {
                    path: format!("/Properties/Environment/Variables/V{j}"),
                    before: Some("a".repeat(4096)),
                    after: Some("b".repeat(4096)),
                    dynamic: false,
                    requires_recreation: "Never".into(),
                })
                .collect(),
        })
        .collect();
    let md = render_markdown(&changes, &[]);
    assert!(md.len() < 256 * 1024, "{} bytes", md.len());
    assert_eq!(md.matches("| Modify | ` Fn").count(), 50);
    assert!(
        md.contains("… and 350 more resource changes"),
        "{}",
        &md[md.len() - 200..]
    );
    assert_eq!(md.matches("… and 30 more").count(), 50);
    assert!(!md.contains(&"a".repeat(200)));
    // The text view lists every resource, with values cut.
    let text = render_text(&changes, &[]);
    assert_eq!(text.matches("AWS::Lambda::Function").count(), 400);
    assert!(!text.contains(&"a".repeat(201)));
}

#[tokio::test(start_paused = true)]
async fn a_stuck_change_set_of_a_new_stack_is_given_up_after_its_own_limit() {
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
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreateInProgress)
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
            &events
        ]
    );
    let mut d = deploy(client);
    d.cloud.deadline = Deadline::after(Duration::from_secs(3600));
    d.inputs.settings.change_set_timeout = Duration::from_secs(120);
    let start = tokio::time::Instant::now();
    let err = d
        .run()
        .await
        .expect_err("a stuck change set fails the deploy");
    assert!(
        start.elapsed() < Duration::from_secs(200),
        "waited {:?}, not the change set's own 2 minutes",
        start.elapsed()
    );
    assert_eq!(err.exit_code(), 1);
    assert!(
        err.message.contains("still working out the change set")
            && err.message.contains("CREATE_IN_PROGRESS")
            && err.message.contains("--change-set-timeout")
            && err
                .message
                .contains("and the empty stack was deleted again"),
        "{}",
        err.message
    );
    assert_eq!((delete_cs.num_calls(), delete_stack.num_calls()), (1, 1));
    assert!(!d.report.executed);
}

/// A ready update change set whose ExecutionStatus, read again just before executing,
/// is `status`; ExecuteChangeSet must not be called unless it is AVAILABLE.
async fn execute_with_status(
    status: aws_sdk_cloudformation::types::ExecutionStatus,
) -> (Result<Ending, Failure>, usize, usize) {
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, ResourceChange,
    };

    let existing = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let create = mock!(Client::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/1")
            .stack_id(STACK_ID)
            .build()
    });
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .change_set_name("deployer-x")
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::CreateComplete)
                .execution_status(ExecutionStatus::Available)
                .changes(
                    Change::builder()
                        .r#type(ChangeType::Resource)
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id("T")
                                .resource_type("AWS::SNS::Topic")
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .output(move || {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .stack_id(STACK_ID)
                .status(ChangeSetStatus::CreateComplete)
                .execution_status(status.clone())
                .build()
        })
        .build();
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    // Only answered with RetainExceptOnCreate: a failed create must leave no orphans.
    let execute = mock!(Client::execute_change_set)
        .match_requests(|r| r.retain_except_on_create() == Some(true))
        .then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &existing,
            &create,
            &describe,
            &delete_cs,
            &execute,
            &events,
            &no_describe_events()
        ]
    );
    let mut d = deploy(client);
    d.cloud.deadline = Deadline::after(Duration::from_secs(30));
    let result = d.run().await;
    (result, execute.num_calls(), delete_cs.num_calls())
}

#[tokio::test(start_paused = true)]
async fn an_obsolete_change_set_is_explained_and_not_executed() {
    use aws_sdk_cloudformation::types::ExecutionStatus;
    let (result, executed, deleted) = execute_with_status(ExecutionStatus::Obsolete).await;
    let err = result.expect_err("an OBSOLETE change set is not executed");
    assert_eq!((executed, deleted), (0, 1));
    assert!(
        err.message.contains("was not executed: it is OBSOLETE")
            && err.message.contains("Deploy again")
            && err.message.contains("The change set was deleted."),
        "{}",
        err.message
    );
    let (result, executed, deleted) = execute_with_status(ExecutionStatus::Unavailable).await;
    let err = result.expect_err("an UNAVAILABLE change set is not executed");
    assert_eq!((executed, deleted), (0, 1));
    assert!(
        err.message.contains("another operation is running"),
        "{}",
        err.message
    );
    // Someone else executed it: nothing to delete, and we do not execute it twice.
    let (result, executed, deleted) = execute_with_status(ExecutionStatus::ExecuteInProgress).await;
    let err = result.expect_err("a change set executed elsewhere is not executed again");
    assert_eq!((executed, deleted), (0, 0));
    assert!(err.message.contains("already executed"), "{}", err.message);
    // AVAILABLE: executed (then followed until the short deadline).
    let (_, executed, _) = execute_with_status(ExecutionStatus::Available).await;
    assert_eq!(executed, 1);
}
