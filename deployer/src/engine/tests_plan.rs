//! Scenario tests of `deploy --plan-out` and of the commit ordering (issue 13 items 2
//! and 4) against scripted CloudFormation answers: the change set left for `apply`,
//! the plan file, a change set of only the commit tag counted as no changes, and an
//! older or unknown commit refused before any change set exists.

use super::tests::{deploy, no_describe_events};
use super::*;
use crate::cfn::fixtures::STACK_ID;
use crate::engine::plan_file::{self, Fingerprint};
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, ResourceAttribute,
    ResourceChange, Stack, StackStatus, Tag,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use std::path::Path;
use std::process::Command;

/// The template of `deploy()` in `tests`, as GetTemplate returns it for an unchanged stack.
const BODY: &str = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n";

/// A git repository with two commits: `(dir, older, newer)`.
fn git_repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    let older = git(&["rev-parse", "HEAD"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let newer = git(&["rev-parse", "HEAD"]);
    (dir, older, newer)
}

/// Stack `app`, UPDATE_COMPLETE, with these tags.
fn tagged_stack(tags: &[(&str, &str)]) -> DescribeStacksOutput {
    let mut b = Stack::builder()
        .stack_name("app")
        .stack_id(STACK_ID)
        .stack_status(StackStatus::UpdateComplete)
        .creation_time(DateTime::from_secs(0));
    for (k, v) in tags {
        b = b.tags(Tag::builder().key(*k).value(*v).build());
    }
    DescribeStacksOutput::builder().stacks(b.build()).build()
}

/// A `Modify` of `logical`, with this scope.
fn modify(logical: &str, scope: ResourceAttribute) -> Change {
    Change::builder()
        .r#type(ChangeType::Resource)
        .resource_change(
            ResourceChange::builder()
                .action(ChangeAction::Modify)
                .logical_resource_id(logical)
                .resource_type("AWS::SNS::Topic")
                .scope(scope)
                .build(),
        )
        .build()
}

/// A ready (CREATE_COMPLETE, AVAILABLE) change set with these rows.
fn ready(rows: Vec<Change>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id("arn:cs/1")
        .change_set_name("deployer-x")
        .stack_id(STACK_ID)
        .status(ChangeSetStatus::CreateComplete)
        .execution_status(ExecutionStatus::Available)
        .set_changes(Some(rows))
        .build()
}

/// The calls a scenario can make, with counters to check what happened.
struct Calls {
    describe_stacks: Rule,
    create: Rule,
    describe: Rule,
    delete: Rule,
    execute: Rule,
    template: Rule,
    events: Rule,
}

impl Calls {
    fn new(stack: DescribeStacksOutput, rows: Vec<Change>, deployed_body: &str) -> Self {
        let deployed_body = deployed_body.to_owned();
        Self {
            describe_stacks: mock!(Client::describe_stacks).then_output(move || stack.clone()),
            create: mock!(Client::create_change_set).then_output(|| {
                CreateChangeSetOutput::builder()
                    .id("arn:cs/1")
                    .stack_id(STACK_ID)
                    .build()
            }),
            describe: mock!(Client::describe_change_set).then_output(move || ready(rows.clone())),
            delete: mock!(Client::delete_change_set)
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            execute: mock!(Client::execute_change_set)
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
            template: mock!(Client::get_template).then_output(move || {
                GetTemplateOutput::builder()
                    .template_body(deployed_body.clone())
                    .build()
            }),
            events: mock!(Client::describe_stack_events)
                .then_output(|| DescribeStackEventsOutput::builder().build()),
        }
    }

    fn client(&self) -> Client {
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [
                &self.describe_stacks,
                &self.create,
                &self.describe,
                &self.delete,
                &self.execute,
                &self.template,
                &self.events,
                &no_describe_events()
            ]
        )
    }
}

/// A deploy of commit `commit` (git asked in `repo`) with stack tag team=web.
fn deploy_of(client: Client, commit: &str, repo: &Path) -> Deploy {
    let mut d = deploy(client);
    d.inputs.commit = Some(commit.to_owned());
    d.inputs.work_tree = repo.to_path_buf();
    d.inputs.settings.tags = [("team".to_owned(), "web".to_owned())].into();
    // Short: the scenarios that execute stop following at once.
    d.cloud.deadline = Deadline::after(Duration::from_secs(5));
    d
}

use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn a_plan_leaves_the_change_set_available_and_writes_what_apply_needs() {
    let (repo, older, newer) = git_repo();
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older), ("team", "web")]),
        vec![modify("T", ResourceAttribute::Properties)],
        BODY,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let mut d = deploy_of(calls.client(), &newer, repo.path());
    d.inputs.plan_out = Some(path.clone());
    d.report.plan_file = Some(path.display().to_string());
    d.mode.detailed_exitcode = true;
    let ending = d.run().await.expect("the plan works");
    assert_eq!(ending, Ending::Pending);
    assert_eq!(
        (calls.delete.num_calls(), calls.execute.num_calls()),
        (0, 0),
        "the change set is left for apply: neither deleted nor executed"
    );
    let plan = plan_file::read(&path).unwrap();
    assert!(plan.has_changes && !plan.creates_stack);
    assert_eq!(plan.change_set_id.as_deref(), Some("arn:cs/1"));
    assert_eq!(plan.change_set_name.as_deref(), Some("deployer-x"));
    assert_eq!(plan.stack_id.as_deref(), Some(STACK_ID));
    assert_eq!(plan.region, "us-east-1");
    assert_eq!(plan.commit.as_deref(), Some(newer.as_str()));
    assert_eq!(plan.template_sha256, plan_file::sha256_hex(BODY.as_bytes()));
    assert_eq!(plan.changes.len(), 1);
    let expected =
        Fingerprint::of(&tagged_stack(&[("deployer:commit", &older), ("team", "web")]).stacks()[0]);
    assert_eq!(plan.stack, Some(expected));
    // The change set records the new commit as a stack tag.
    let code = d.finish(Ok(ending)).unwrap();
    assert_eq!(
        code,
        std::process::ExitCode::from(2),
        "--detailed-exitcode: pending"
    );
}

#[tokio::test(start_paused = true)]
async fn the_commit_tag_is_sent_with_the_change_set() {
    let (repo, older, newer) = git_repo();
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older)]),
        vec![modify("T", ResourceAttribute::Properties)],
        BODY,
    );
    let sent = newer.clone();
    let create = mock!(Client::create_change_set)
        .match_requests(move |r| {
            r.tags()
                .iter()
                .any(|t| t.key() == Some("deployer:commit") && t.value() == Some(sent.as_str()))
                && r.tags().iter().any(|t| t.key() == Some("team"))
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id(STACK_ID)
                .build()
        });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &calls.describe_stacks,
            &create,
            &calls.describe,
            &calls.delete,
            &no_describe_events()
        ]
    );
    let mut d = deploy_of(client, &newer, repo.path());
    d.mode.dry_run = true;
    d.run().await.expect("the dry run works");
    assert_eq!(
        create.num_calls(),
        1,
        "only a request with the commit tag is answered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_set_of_only_the_commit_tag_is_no_changes() {
    let (repo, older, newer) = git_repo();
    let rows = || {
        vec![
            modify("T", ResourceAttribute::Tags),
            modify("Q", ResourceAttribute::Tags),
        ]
    };
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older), ("team", "web")]),
        rows(),
        BODY,
    );
    let mut d = deploy_of(calls.client(), &newer, repo.path());
    let ending = d.run().await.expect("no changes is success");
    assert_eq!(ending, Ending::NoChanges);
    assert_eq!(
        (calls.delete.num_calls(), calls.execute.num_calls()),
        (1, 0),
        "deleted, nothing executed"
    );
    assert!(!d.report.has_changes);

    // Another tag changes too: a real change, executed.
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older), ("team", "mobile")]),
        rows(),
        BODY,
    );
    let mut d = deploy_of(calls.client(), &newer, repo.path());
    let _ = d.run().await;
    assert_eq!(
        calls.execute.num_calls(),
        1,
        "a changed team tag is deployed"
    );

    // The template changed (e.g. only its Outputs): not folded either.
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older), ("team", "web")]),
        rows(),
        "Resources: {}\nOutputs: {}\n",
    );
    let mut d = deploy_of(calls.client(), &newer, repo.path());
    let _ = d.run().await;
    assert_eq!(
        calls.execute.num_calls(),
        1,
        "a changed template is deployed"
    );

    // A plan of only the commit tag: nothing to apply, and nothing left behind.
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", &older), ("team", "web")]),
        rows(),
        BODY,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    let mut d = deploy_of(calls.client(), &newer, repo.path());
    d.inputs.plan_out = Some(path.clone());
    assert_eq!(d.run().await.unwrap(), Ending::NoChanges);
    assert_eq!(calls.delete.num_calls(), 1);
    let plan = plan_file::read(&path).unwrap();
    assert!(
        !plan.has_changes && plan.change_set_id.is_none(),
        "{plan:?}"
    );
}

#[test]
fn tags_only_rows_fold_into_one_line() {
    let row = |id: &str, scope: &str| crate::cfn::change_set::ResourceChange {
        action: "Modify".into(),
        logical_id: id.into(),
        resource_type: "AWS::SNS::Topic".into(),
        replacement: "False".into(),
        policy_action: String::new(),
        scope: vec![scope.into()],
        details: vec![],
    };
    let changes = vec![row("A", "Tags"), row("B", "Properties"), row("C", "Tags")];
    let text = crate::output::changes::render_text(&changes, &[]);
    assert!(
        text.contains(
            "Tags only (stack tags are copied to every taggable resource): 2 resources: A, C"
        ),
        "{text}"
    );
    assert_eq!(text.matches("AWS::SNS::Topic").count(), 1, "{text}");
    let md = crate::output::changes::render_markdown(&changes, &[]);
    assert!(md.contains("| Modify (tags only) | A, C |"), "{md}");
    assert_eq!(md.matches("| Modify |").count(), 1, "{md}");
}

/// A deploy of `commit` over a stack that records `recorded`; returns the result and
/// how many change sets were created.
async fn deploy_over(
    recorded: &str,
    commit: &str,
    repo: &Path,
    tweak: impl FnOnce(&mut Deploy),
) -> (Result<Ending, Failure>, usize) {
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", recorded), ("team", "web")]),
        vec![modify("T", ResourceAttribute::Properties)],
        BODY,
    );
    let mut d = deploy_of(calls.client(), commit, repo);
    d.mode.dry_run = false;
    tweak(&mut d);
    let result = d.run().await;
    (result, calls.create.num_calls())
}

#[tokio::test(start_paused = true)]
async fn an_older_commit_is_refused_before_any_change_set() {
    let (repo, older, newer) = git_repo();
    let (result, created) = deploy_over(&newer, &older, repo.path(), |_| {}).await;
    let err = result.expect_err("an older commit is refused");
    assert_eq!((err.exit_code(), created), (1, 0));
    assert!(
        err.message
            .contains(&format!("commit {older} is not a descendant of {newer}"))
            && err.message.contains("--allow-out-of-order")
            && err.message.contains("Nothing was changed"),
        "{}",
        err.message
    );
    // A newer commit, or the same one again, goes ahead.
    let (result, created) =
        deploy_over(&older, &newer, repo.path(), |d| d.mode.dry_run = true).await;
    assert!(result.is_ok() && created == 1, "{result:?}");
    let (result, created) =
        deploy_over(&newer, &newer, repo.path(), |d| d.mode.dry_run = true).await;
    assert!(result.is_ok() && created == 1, "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn allow_out_of_order_deploys_an_older_commit_and_a_dry_run_only_warns() {
    let (repo, older, newer) = git_repo();
    let (result, created) = deploy_over(&newer, &older, repo.path(), |d| {
        d.inputs.allow_out_of_order = true;
        d.mode.dry_run = true;
    })
    .await;
    assert!(result.is_ok() && created == 1, "{result:?}");
    let (result, created) =
        deploy_over(&newer, &older, repo.path(), |d| d.mode.dry_run = true).await;
    assert_eq!(
        result.unwrap(),
        Ending::Pending,
        "a dry run shows the change set"
    );
    assert_eq!(created, 1);
    // A plan is refused like a deploy: it is what gets approved and applied.
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let (result, created) = deploy_over(&newer, &older, repo.path(), |d| {
        d.inputs.plan_out = Some(plan.clone());
    })
    .await;
    assert!(result.is_err() && created == 0, "{result:?}");
    assert!(!plan.exists());
}

#[tokio::test(start_paused = true)]
async fn a_recorded_commit_git_does_not_know_is_refused_with_what_to_fetch() {
    let (repo, _older, newer) = git_repo();
    // Not in this history: a shallow clone that lacks the deployed commit.
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    let (result, created) = deploy_over(unknown, &newer, repo.path(), |_| {}).await;
    let err = result.expect_err("git cannot tell: refused");
    assert_eq!((err.exit_code(), created), (1, 0));
    assert!(
        err.message.contains(&format!(
            "cannot tell whether commit {newer} comes after {unknown}"
        )) && err.message.contains("fetch-depth: 0"),
        "{}",
        err.message
    );
    // Without a commit of its own, the deploy cannot be judged, so it is not: no check,
    // and the stack's record is kept.
    let calls = Calls::new(
        tagged_stack(&[("deployer:commit", unknown)]),
        vec![modify("T", ResourceAttribute::Properties)],
        BODY,
    );
    let mut d = deploy(calls.client());
    d.mode.dry_run = true;
    assert!(d.run().await.is_ok());
    assert_eq!(
        d.stack_tags(Some(
            &tagged_stack(&[("deployer:commit", unknown)]).stacks()[0]
        ))
        .get("deployer:commit")
        .map(String::as_str),
        Some(unknown)
    );
}

/// A stack whose spec allows express creation gets `DeploymentConfig {Mode: EXPRESS}`
/// on the change set that creates it, and says so in its report; an update of the
/// same stack, or a create without the allowance, is standard (nothing sent).
#[tokio::test(start_paused = true)]
async fn express_mode_only_creates_a_stack_whose_spec_allows_it() {
    use crate::cfn::change_set::DeployMode;
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksError;
    use aws_sdk_cloudformation::types::ChangeSetType;

    let missing = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("Stack with id app does not exist")
                .build(),
        )
    });
    let create = mock!(Client::create_change_set)
        .match_requests(|r| {
            r.change_set_type() == Some(&ChangeSetType::Create)
                && r.deployment_config()
                    .and_then(|c| c.mode())
                    .map(|m| m.as_str())
                    == Some("EXPRESS")
                && r.deployment_config()
                    .and_then(|c| c.disable_rollback())
                    .is_none()
                && r.on_stack_failure().is_none()
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/1")
                .stack_id(STACK_ID)
                .build()
        });
    // Rejected: the run ends before anything is executed, which is all this is about.
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .stack_id(STACK_ID)
            .status(ChangeSetStatus::Failed)
            .status_reason("Template error: nope")
            .build()
    });
    let delete_cs =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
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
    d.inputs.settings.express_create = true;
    let err = d.run().await.expect_err("the change set is rejected");
    assert!(err.message.contains("nope"), "{}", err.message);
    assert_eq!(create.num_calls(), 1, "CreateChangeSet was sent EXPRESS");
    assert_eq!(d.report.deploy_mode, DeployMode::Express);

    // The same stack, existing: an update is standard even where express is allowed.
    let existing = Stack::builder()
        .stack_name("app")
        .stack_id(STACK_ID)
        .stack_status(StackStatus::UpdateComplete)
        .build();
    let unused = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&no_describe_events()]
    );
    let mut d = deploy(unused);
    d.inputs.settings.express_create = true;
    let update = d.request("deployer-release-x", Some(&existing)).unwrap();
    assert_eq!(update.kind, ChangeSetType::Update);
    assert_eq!(update.mode, DeployMode::Standard);
    let create = d.request("deployer-release-x", None).unwrap();
    assert_eq!(create.mode, DeployMode::Express);
    // Not allowed (every release stack today): a create is standard too.
    d.inputs.settings.express_create = false;
    assert_eq!(
        d.request("deployer-release-x", None).unwrap().mode,
        DeployMode::Standard
    );
}
