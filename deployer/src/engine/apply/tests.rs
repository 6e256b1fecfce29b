//! Scenario tests of `apply` against scripted CloudFormation (and ECR) answers: what
//! it refuses before executing anything, and that an intact plan is executed.

use super::*;
use crate::cfn::fixtures::STACK_ID;
use crate::cli::ApplyArgs;
use crate::commands::apply::{check_digest_on_disk, image_to_push, run};
use crate::engine::plan_file;
use crate::engine::plan_file::VERSION;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::describe_change_set::{
    DescribeChangeSetError, DescribeChangeSetOutput,
};
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::types::{
    ChangeSetStatus, ExecutionStatus, Parameter, Stack, StackStatus, Tag,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

/// Stack `app` as planned: UPDATE_COMPLETE, parameter Name=a, commit tag `commit`.
pub(super) fn stack(status: StackStatus, name: &str, commit: &str) -> Stack {
    Stack::builder()
        .stack_name("app")
        .stack_id(STACK_ID)
        .stack_status(status)
        .creation_time(DateTime::from_secs(0))
        .parameters(
            Parameter::builder()
                .parameter_key("Name")
                .parameter_value(name)
                .build(),
        )
        .tags(Tag::builder().key("deployer:commit").value(commit).build())
        .build()
}

pub(super) fn planned_stack() -> Stack {
    stack(StackStatus::UpdateComplete, "a", "aaa")
}

/// A plan of change set `arn:cs/1` for the stack as [`planned_stack`].
pub(super) fn plan() -> PlanFile {
    PlanFile {
        version: VERSION,
        created_at: "2026-12-01T10:00:00Z".into(),
        stack_name: "app".into(),
        stack_id: Some(STACK_ID.into()),
        region: "us-east-1".into(),
        change_set_name: Some("deployer-release-x".into()),
        change_set_id: Some("arn:cs/1".into()),
        has_changes: true,
        creates_stack: false,
        stack: Some(Fingerprint::of(&planned_stack())),
        image_uri: None,
        repository: None,
        commit: Some("bbb".into()),
        template_sha256: plan_file::sha256_hex(b"{}"),
        capabilities: vec![],
        termination_protection: false,
        wait_timeout_seconds: 5,
        changes: vec![],
        parameter_changes: vec![],
        reviewed: Some(crate::engine::plan_file::Reviewed {
            parameters: [("Name".to_owned(), "b".to_owned())].into(),
            no_echo: vec![],
            capabilities: vec![],
            role_arn: None,
            template_sha256: plan_file::sha256_hex(TEMPLATE.as_bytes()),
        }),
        recreate: None,
    }
}

/// The change set's template, as GetTemplate returns it.
pub(super) const TEMPLATE: &str = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";

fn session(client: Client) -> Deploy<()> {
    Deploy::scripted(client, (), Duration::from_secs(5))
}

/// DescribeStacks answering with `stack`.
pub(super) fn stacks(stack: Stack) -> Rule {
    mock!(Client::describe_stacks).then_output(move || {
        DescribeStacksOutput::builder()
            .stacks(stack.clone())
            .build()
    })
}

/// DescribeChangeSet answering change set `arn:cs/1` with `status`.
pub(super) fn change_set(status: ExecutionStatus) -> Rule {
    mock!(Client::describe_change_set).then_output(move || {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .change_set_name("deployer-release-x")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(status.clone())
            .parameters(
                Parameter::builder()
                    .parameter_key("Name")
                    .parameter_value("b")
                    .build(),
            )
            .build()
    })
}

/// GetTemplate answering with `body` for the change set.
pub(super) fn template(body: &'static str) -> Rule {
    mock!(Client::get_template)
        .match_requests(|r| r.change_set_name() == Some("arn:cs/1"))
        .then_output(move || {
            aws_sdk_cloudformation::operation::get_template::GetTemplateOutput::builder()
                .template_body(body)
                .build()
        })
}

fn execute() -> Rule {
    mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build())
}

/// Applies [`plan`] with these CloudFormation answers; returns the result and how many
/// times ExecuteChangeSet was called.
async fn apply_with(rules: &[&Rule]) -> (Result<Ending, Failure>, usize) {
    apply_plan_with(&plan(), rules).await
}

/// Applies `plan` with these CloudFormation answers (GetTemplate of the change set
/// answers [`TEMPLATE`] unless `rules` has its own first).
pub(super) async fn apply_plan_with(
    plan: &PlanFile,
    rules: &[&Rule],
) -> (Result<Ending, Failure>, usize) {
    let execute = execute();
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let template = template(TEMPLATE);
    let mut all: Vec<&Rule> = rules.to_vec();
    all.push(&execute);
    all.push(&events);
    all.push(&template);
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, all);
    let sdk = SdkConfig::builder().build();
    let mut d = session(client);
    let result = d.apply(plan, None, &sdk, None).await;
    (result, execute.num_calls())
}

#[tokio::test(start_paused = true)]
async fn a_stack_changed_since_the_plan_is_refused_and_nothing_executed() {
    // Another deploy ran: same status, new parameter value and commit.
    let (result, executed) = apply_with(&[
        &stacks(stack(StackStatus::UpdateComplete, "b", "ccc")),
        &change_set(ExecutionStatus::Available),
    ])
    .await;
    let err = result.expect_err("a stale plan is refused");
    assert_eq!((err.exit_code(), executed), (1, 0));
    assert!(
        err.message
            .contains("stack app changed after the plan was made")
            && err.message.contains("its parameters or tags changed")
            && err.message.contains("Plan again"),
        "{}",
        err.message
    );
    // Failed since: the status tells.
    let (result, executed) = apply_with(&[
        &stacks(stack(StackStatus::UpdateRollbackComplete, "a", "aaa")),
        &change_set(ExecutionStatus::Available),
    ])
    .await;
    let err = result.expect_err("a stale plan is refused");
    assert_eq!(executed, 0);
    assert!(
        err.message
            .contains("status was UPDATE_COMPLETE, is now UPDATE_ROLLBACK_COMPLETE"),
        "{}",
        err.message
    );
    // Deleted since.
    let gone = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message(format!("Stack with id {STACK_ID} does not exist"))
                .build(),
        )
    });
    let (result, executed) = apply_with(&[&gone]).await;
    let err = result.expect_err("a deleted stack is refused");
    assert_eq!(executed, 0);
    assert!(err.message.contains("no longer exists"), "{}", err.message);
}

#[tokio::test(start_paused = true)]
async fn a_change_set_no_longer_available_or_gone_is_refused() {
    for (status, words) in [
        (ExecutionStatus::Obsolete, "it is OBSOLETE"),
        (ExecutionStatus::Unavailable, "it is UNAVAILABLE"),
        (ExecutionStatus::ExecuteComplete, "already executed"),
    ] {
        let (result, executed) =
            apply_with(&[&stacks(planned_stack()), &change_set(status.clone())]).await;
        let err = result.expect_err("only an AVAILABLE change set is applied");
        assert_eq!((err.exit_code(), executed), (1, 0), "{status}");
        assert!(
            err.message
                .contains("change set deployer-release-x cannot be applied")
                && err.message.contains(words)
                && err.message.contains("Plan again"),
            "{}",
            err.message
        );
    }
    let deleted = mock!(Client::describe_change_set).then_error(|| {
        DescribeChangeSetError::generic(
            ErrorMetadata::builder()
                .code("ChangeSetNotFound")
                .message("ChangeSet [arn:cs/1] does not exist")
                .build(),
        )
    });
    let (result, executed) = apply_with(&[&stacks(planned_stack()), &deleted]).await;
    let err = result.expect_err("a deleted change set is refused");
    assert_eq!(executed, 0);
    assert!(
        err.message
            .contains("change set deployer-release-x of stack app no longer exists"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn an_intact_plan_executes_its_change_set() {
    let (_, executed) = apply_with(&[
        &stacks(planned_stack()),
        &change_set(ExecutionStatus::Available),
    ])
    .await;
    assert_eq!(executed, 1);
}

/// An OCI layout with one small image; returns `(oci:DIR, digest)`.
fn image_on_disk(dir: &std::path::Path) -> (String, String) {
    use oci_push::layout::{ImageConfig, write_image};
    use oci_push::test_support::sample_layers;
    let written = write_image(
        dir,
        &sample_layers(1, 1024),
        &ImageConfig::default(),
        Some("latest"),
    )
    .unwrap();
    (
        format!("oci:{}:latest", dir.display()),
        written.manifest_digest.to_string(),
    )
}

fn apply_args(extra: &[&str]) -> ApplyArgs {
    let mut argv = vec!["deployer", "apply", "plan.json"];
    argv.extend_from_slice(extra);
    match <crate::cli::Cli as clap::Parser>::parse_from(argv).command {
        crate::cli::Command::Apply(a) => *a,
        _ => unreachable!("parsed an apply command"),
    }
}

#[tokio::test]
async fn an_image_other_than_the_planned_one_is_refused_before_anything_is_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let (image, digest) = image_on_disk(dir.path());
    let mut planned = plan();
    planned.repository = Some("app".into());
    planned.image_uri = Some(format!(
        "1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{}",
        "0".repeat(64)
    ));
    let args = apply_args(&["--image", &image]);
    let push = image_to_push(&args, &planned)
        .unwrap()
        .expect("an image to push");
    let err = check_digest_on_disk(&push, &planned)
        .await
        .expect_err("another image is refused");
    assert_eq!(err.exit_code(), 64);
    assert!(
        err.message
            .contains(&format!("is {digest}, but the plan deploys"))
            && err.message.contains("Nothing was pushed or executed"),
        "{}",
        err.message
    );
    // The planned image itself passes.
    planned.image_uri = Some(format!("1.dkr.ecr.us-east-1.amazonaws.com/app@{digest}"));
    check_digest_on_disk(&push, &planned).await.unwrap();
    // A plan without an image takes no --image.
    let err = image_to_push(&args, &plan()).unwrap_err();
    assert!(
        err.message.contains("made without an image"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn without_image_the_planned_digest_must_be_in_the_repository() {
    use aws_sdk_ecr::error::ErrorMetadata as EcrError;
    use aws_sdk_ecr::operation::describe_images::{DescribeImagesError, DescribeImagesOutput};
    use aws_sdk_ecr::types::ImageDetail;
    let digest = format!("sha256:{}", "1".repeat(64));
    let mut planned = plan();
    planned.repository = Some("app".into());
    planned.image_uri = Some(format!("1.dkr.ecr.us-east-1.amazonaws.com/app@{digest}"));
    let uri = planned.image_uri.clone().unwrap();

    let wanted = digest.clone();
    let missing = mock!(aws_sdk_ecr::Client::describe_images)
        .match_requests(move |r| {
            r.repository_name() == Some("app")
                && r.image_ids()
                    .iter()
                    .any(|i| i.image_digest() == Some(wanted.as_str()))
        })
        .then_error(|| {
            DescribeImagesError::generic(
                EcrError::builder()
                    .code("ImageNotFoundException")
                    .message("The image requested does not exist")
                    .build(),
            )
        });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&missing]);
    let err = check_image_exists(&ecr, None, &uri, &planned)
        .await
        .expect_err("a missing image is refused");
    assert_eq!((err.exit_code(), missing.num_calls()), (64, 1));
    assert!(err.message.contains("pass --image REF"), "{}", err.message);

    let found = mock!(aws_sdk_ecr::Client::describe_images).then_output(move || {
        DescribeImagesOutput::builder()
            .image_details(ImageDetail::builder().image_digest(digest.clone()).build())
            .build()
    });
    let ecr = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&found]);
    check_image_exists(&ecr, None, &uri, &planned)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_plan_without_changes_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let mut empty = plan();
    empty.has_changes = false;
    empty.change_set_id = None;
    empty.change_set_name = None;
    plan_file::write(&path, &empty).unwrap();
    let mut args = apply_args(&[]);
    args.plan = path;
    // A plan without changes makes no AWS call at all (the end-to-end test points
    // apply at a closed port to prove it).
    let code = run(args, &Printer::plain())
        .await
        .expect("nothing to apply is success");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
}
