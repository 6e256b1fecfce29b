//! apply executes exactly what was reviewed (issue 17 item 2): the change set is
//! described again and compared with the plan — stack, release name, rows with their
//! property paths, parameters (the image among them), capabilities and template — and
//! what is shown is CloudFormation's own description. A preview's change set in
//! between (CREATE_CHANGESET in LastOperations) is no reason to refuse.

use super::tests::{TEMPLATE, apply_plan_with, change_set, plan, planned_stack, stacks, template};
use super::*;
use crate::cfn::change_set::{PropertyChange, ResourceChange};
use crate::cfn::fixtures::STACK_ID;
use crate::engine::plan_file::Reviewed;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ExecutionStatus, OperationEntry, OperationType, Parameter, StackStatus,
};
use aws_smithy_mocks::mock;

fn row(action: &str, logical: &str, replacement: &str, paths: &[&str]) -> ResourceChange {
    ResourceChange {
        action: action.into(),
        logical_id: logical.into(),
        resource_type: "AWS::ECS::TaskDefinition".into(),
        replacement: replacement.into(),
        policy_action: String::new(),
        scope: vec!["Properties".into()],
        details: paths
            .iter()
            .map(|p| PropertyChange {
                path: (*p).into(),
                before: Some("old".into()),
                after: Some("new".into()),
                dynamic: false,
                requires_recreation: String::new(),
            })
            .collect(),
    }
}

fn described(rows: Vec<ResourceChange>) -> Described {
    Described {
        id: "arn:cs/1".into(),
        name: "deployer-release-x".into(),
        stack_id: STACK_ID.into(),
        status: ChangeSetStatus::CreateComplete,
        status_reason: None,
        execution_status: Some(ExecutionStatus::Available),
        changes: rows,
        parameters: [
            ("ImageUri".to_owned(), "r@sha256:1".to_owned()),
            ("Secret".to_owned(), "****".to_owned()),
        ]
        .into(),
        capabilities: vec!["CAPABILITY_IAM".into()],
        mode: crate::cfn::change_set::DeployMode::Standard,
    }
}

fn reviewed() -> Reviewed {
    Reviewed {
        parameters: [
            ("ImageUri".to_owned(), "r@sha256:1".to_owned()),
            ("Secret".to_owned(), "****".to_owned()),
        ]
        .into(),
        no_echo: vec!["Secret".into()],
        capabilities: vec!["CAPABILITY_IAM".into()],
        role_arn: None,
        template_sha256: "t".into(),
    }
}

#[test]
fn the_change_set_must_be_the_one_reviewed_in_every_part() {
    let rows = vec![row(
        "Modify",
        "Task",
        "True",
        &["/Properties/ContainerDefinitions/0/Image"],
    )];
    let mut planned = plan();
    planned.changes = rows.clone();
    planned.image_uri = Some("r@sha256:1".into());
    let same = described(rows.clone());
    assert!(verify::differences(&planned, &reviewed(), &same, "t").is_empty());
    // Values may be cut or resolved differently from one description to the next:
    // only the paths count.
    let mut revalued = same.clone();
    revalued.changes[0].details[0].after = Some("newer".into());
    assert!(verify::differences(&planned, &reviewed(), &revalued, "t").is_empty());

    let check = |now: Described, template: &str, expected: &str| {
        let found = verify::differences(&planned, &reviewed(), &now, template).join("; ");
        assert!(found.contains(expected), "{expected:?} not in {found:?}");
    };
    let mut other_stack = same.clone();
    other_stack.stack_id = "arn:aws:cloudformation:us-east-1:1:stack/other/2".into();
    check(
        other_stack,
        "t",
        "it belongs to stack arn:aws:cloudformation:us-east-1:1:stack/other/2",
    );
    let mut preview = same.clone();
    preview.name = "deployer-preview-x".into();
    check(preview, "t", "does not start with deployer-release-");
    check(
        described(vec![row(
            "Modify",
            "Task",
            "False",
            &["/Properties/ContainerDefinitions/0/Image"],
        )]),
        "t",
        "rows that were not planned: Modify Task (AWS::ECS::TaskDefinition) replacement False",
    );
    check(
        described(vec![row(
            "Modify",
            "Task",
            "True",
            &["/Properties/TaskRoleArn"],
        )]),
        "t",
        "planned rows it no longer has: Modify Task (AWS::ECS::TaskDefinition) replacement True [/Properties/ContainerDefinitions/0/Image]",
    );
    check(
        described(vec![row(
            "Remove",
            "Task",
            "True",
            &["/Properties/ContainerDefinitions/0/Image"],
        )]),
        "t",
        "rows that were not planned: Remove Task",
    );
    let mut image = same.clone();
    image
        .parameters
        .insert("ImageUri".into(), "r@sha256:2".into());
    check(
        image,
        "t",
        "its parameters differ: ImageUri (the image r@sha256:1)",
    );
    // A stand-in that shows a NoEcho value: compared masked, never named with it.
    let mut secret = same.clone();
    secret.parameters.insert("Secret".into(), "hunter2".into());
    assert!(verify::differences(&planned, &reviewed(), &secret, "t").is_empty());
    let mut added = same.clone();
    added.parameters.insert("Extra".into(), "x".into());
    check(added, "t", "its parameters differ: Extra");
    let mut capabilities = same.clone();
    capabilities
        .capabilities
        .push("CAPABILITY_AUTO_EXPAND".into());
    check(
        capabilities,
        "t",
        "its capabilities are [CAPABILITY_AUTO_EXPAND, CAPABILITY_IAM]",
    );
    check(same, "u", "its template differs");
}

#[tokio::test(start_paused = true)]
async fn a_change_set_changed_since_the_review_is_refused_and_nothing_executed() {
    // Someone replaced the change set's parameters (a new one of the same name).
    let other = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .change_set_name("deployer-release-x")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .parameters(
                Parameter::builder()
                    .parameter_key("Name")
                    .parameter_value("evil")
                    .build(),
            )
            .build()
    });
    let (result, executed) = apply_plan_with(&plan(), &[&stacks(planned_stack()), &other]).await;
    let err = result.expect_err("another change set is refused");
    assert_eq!((err.exit_code(), executed), (1, 0));
    assert!(
        err.message
            .contains("is not the change set that was reviewed")
            && err.message.contains("its parameters differ: Name")
            && err.message.contains("deployer discard"),
        "{}",
        err.message
    );
    // Another template behind the same name.
    let evil = template("Resources:\n  Admin:\n    Type: AWS::IAM::Role\n");
    let (result, executed) = apply_plan_with(
        &plan(),
        &[
            &evil,
            &stacks(planned_stack()),
            &change_set(ExecutionStatus::Available),
        ],
    )
    .await;
    let err = result.expect_err("another template is refused");
    assert_eq!(executed, 0);
    assert!(
        err.message.contains("its template differs"),
        "{}",
        err.message
    );
    // A plan written before apply compared (no record of the review) is refused.
    let mut old = plan();
    old.reviewed = None;
    let (result, executed) = apply_plan_with(
        &old,
        &[
            &stacks(planned_stack()),
            &change_set(ExecutionStatus::Available),
        ],
    )
    .await;
    assert_eq!(executed, 0);
    assert!(
        result
            .unwrap_err()
            .message
            .contains("no record of what was reviewed")
    );
    let _ = TEMPLATE;
}

/// [`planned_stack`] with these `LastOperations`.
fn stack_with(ops: &[(OperationType, &str)]) -> aws_sdk_cloudformation::types::Stack {
    let mut b = aws_sdk_cloudformation::types::Stack::builder()
        .stack_name("app")
        .stack_id(STACK_ID)
        .stack_status(StackStatus::UpdateComplete)
        .creation_time(aws_smithy_types::DateTime::from_secs(0))
        .parameters(
            Parameter::builder()
                .parameter_key("Name")
                .parameter_value("a")
                .build(),
        )
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("deployer:commit")
                .value("aaa")
                .build(),
        );
    for (kind, id) in ops {
        b = b.last_operations(
            OperationEntry::builder()
                .operation_type(kind.clone())
                .operation_id(*id)
                .build(),
        );
    }
    b.build()
}

#[tokio::test(start_paused = true)]
async fn previews_made_between_plan_and_apply_do_not_stop_it() {
    use OperationType::{CreateChangeset, UpdateStack};
    assert_eq!(
        Fingerprint::of(&stack_with(&[])),
        Fingerprint::of(&planned_stack())
    );
    let mut planned = plan();
    planned.stack = Some(Fingerprint::of(&stack_with(&[
        (UpdateStack, "op-1"),
        (CreateChangeset, "op-plan"),
    ])));
    // Two pull-request previews made change sets on the stack since.
    let at_apply = stack_with(&[
        (UpdateStack, "op-1"),
        (CreateChangeset, "op-pr-1"),
        (CreateChangeset, "op-pr-2"),
    ]);
    let (result, executed) = apply_plan_with(
        &planned,
        &[&stacks(at_apply), &change_set(ExecutionStatus::Available)],
    )
    .await;
    assert_eq!(executed, 1, "{:?}", result.err().map(|f| f.message));
    // An update in between still stops it.
    let updated = stack_with(&[(UpdateStack, "op-1"), (UpdateStack, "op-2")]);
    let (result, executed) = apply_plan_with(
        &planned,
        &[&stacks(updated), &change_set(ExecutionStatus::Available)],
    )
    .await;
    assert_eq!(executed, 0);
    assert!(
        result
            .unwrap_err()
            .message
            .contains("another operation ran on it")
    );
}

#[test]
fn a_recreate_executes_only_the_creates_it_showed() {
    let planned = vec![row("Add", "Task", "", &[]), row("Add", "Service", "", &[])];
    assert!(recreate::created_differences(&planned, &planned).is_empty());
    let found = recreate::created_differences(
        &planned,
        &[row("Add", "Task", "", &[]), row("Add", "Admin", "", &[])],
    )
    .join("; ");
    assert!(
        found.contains("planned but not created: Service")
            && found.contains("created but not planned: Admin"),
        "{found}"
    );
    let found =
        recreate::created_differences(&planned[..1], &[row("Modify", "Task", "", &[])]).join("; ");
    assert!(
        found.contains("rows that are not Add: Modify Task"),
        "{found}"
    );
}
