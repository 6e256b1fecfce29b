//! Scenario tests of issue 17 in `deploy`: change sets are named for what they are for
//! (`deployer-release-` may be executed, `deployer-preview-` only shown), and a plan
//! over a dead first create (ROLLBACK_COMPLETE) says it will be deleted and what will
//! be created, changing nothing itself.

use super::tests::{deploy, no_describe_events};
use super::*;
use crate::cfn::fixtures::{STACK_ID, stack};
use crate::engine::plan_file;
use crate::template::Template;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{ChangeSetStatus, ExecutionStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

/// The name of the change set a deploy creates, as CreateChangeSet was asked.
async fn change_set_name_of(configure: impl FnOnce(&mut Deploy)) -> String {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let record = seen.clone();
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("UPDATE_COMPLETE"));
    let create = mock!(Client::create_change_set)
        .match_requests(move |r| {
            *record.lock().unwrap() = r.change_set_name().unwrap_or_default().to_owned();
            true
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
            .change_set_name("deployer-release-x")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .build()
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let template = mock!(Client::get_template).then_output(|| {
        GetTemplateOutput::builder()
            .template_body("Resources:\n  Other:\n    Type: AWS::SNS::Topic\n")
            .build()
    });
    let execute = mock!(Client::execute_change_set).then_output(|| {
        aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput::builder()
            .build()
    });
    let events = mock!(Client::describe_stack_events).then_output(|| {
        aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput::builder()
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &stacks,
            &create,
            &describe,
            &delete,
            &template,
            &execute,
            &events,
            &no_describe_events()
        ]
    );
    let mut d = deploy(client);
    configure(&mut d);
    let _ = d.run().await;
    seen.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn previews_and_releases_are_named_apart() {
    let preview = change_set_name_of(|d| d.mode.dry_run = true).await;
    assert!(preview.starts_with("deployer-preview-"), "{preview}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let release = change_set_name_of(|d| d.inputs.plan_out = Some(path.clone())).await;
    assert!(release.starts_with("deployer-release-"), "{release}");
    // What apply will compare is in the plan.
    let plan = plan_file::read(&path).unwrap();
    let reviewed = plan.reviewed.expect("a plan with a change set records it");
    assert_eq!(
        reviewed.template_sha256,
        plan_file::sha256_hex(b"Resources:\n  Other:\n    Type: AWS::SNS::Topic\n")
    );
    let deployed = change_set_name_of(|_| {}).await;
    assert!(deployed.starts_with("deployer-release-"), "{deployed}");
}

/// A plan over the dead stack `app` (ROLLBACK_COMPLETE) of `template`; returns the
/// result, and how many change sets and stack deletes it asked for.
async fn plan_over_dead_stack(
    template: &str,
    parameters: &[(&str, &str)],
    path: &std::path::Path,
) -> (Result<Ending, Failure>, usize, usize) {
    let stacks = mock!(Client::describe_stacks).then_output(|| stack("ROLLBACK_COMPLETE"));
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&stacks, &create, &delete, &no_describe_events()]
    );
    let mut d = deploy(client);
    d.inputs.template = Template::parse(template).unwrap();
    d.inputs.parameters = parameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    d.inputs.plan_out = Some(path.to_path_buf());
    d.report.plan_file = Some(path.display().to_string());
    let result = d.run().await;
    if result.is_ok() {
        assert_eq!(
            d.report.recreates.as_deref(),
            Some(STACK_ID),
            "the report says the dead stack goes"
        );
    }
    (result, create.num_calls(), delete.num_calls())
}

#[tokio::test(start_paused = true)]
async fn a_plan_over_a_dead_first_create_says_it_will_be_deleted_and_what_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let body = "Parameters:\n  Name: {Type: String}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n  Q:\n    Type: AWS::SQS::Queue\n";
    let (result, created, deleted) = plan_over_dead_stack(body, &[("Name", "x")], &path).await;
    assert_eq!(result.expect("the plan is written"), Ending::Pending);
    assert_eq!((created, deleted), (0, 0), "a plan changes nothing");
    let plan = plan_file::read(&path).unwrap();
    let recreate = plan.recreate.expect("a recreate plan");
    assert_eq!(recreate.dead_stack_id.as_deref(), Some(STACK_ID));
    assert_eq!(recreate.template_body, body);
    assert_eq!(
        recreate.parameters.get("Name").map(String::as_str),
        Some("x")
    );
    assert!(plan.has_changes && plan.creates_stack && plan.change_set_id.is_none());
    let rows: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .map(|r| (r.action.as_str(), r.logical_id.as_str()))
        .collect();
    assert_eq!(rows, vec![("Add", "T"), ("Add", "Q")]);
    assert_eq!(
        plan.stack.map(|s| s.status),
        Some("ROLLBACK_COMPLETE".into())
    );

    // A NoEcho value would have to be written into the plan: refused, with what to do.
    let secret = "Parameters:\n  Key: {Type: String, NoEcho: true}\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
    let other = dir.path().join("secret.json");
    let (result, created, deleted) =
        plan_over_dead_stack(secret, &[("Key", "hunter2")], &other).await;
    let err = result.expect_err("no secret in a plan file");
    assert_eq!((created, deleted), (0, 0));
    assert!(
        err.message.contains("NoEcho parameter(s) `Key`")
            && err.message.contains("deployer destroy --stack-name app")
            && !err.message.contains("hunter2"),
        "{}",
        err.message
    );
    assert!(!other.exists());
}
