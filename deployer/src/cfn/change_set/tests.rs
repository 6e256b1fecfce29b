//! Change-set names, creation outcomes, rows and deletion against scripted answers.

use super::*;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetError, CreateChangeSetOutput,
};
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeType, EvaluationType, PolicyAction, Replacement,
    RequiresRecreation, ResourceAttribute, ResourceChangeDetail, ResourceTargetDefinition,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use std::time::Duration;

fn quiet() -> Progress {
    Progress::plain(Box::new(std::io::sink()))
}

fn request() -> Request {
    Request {
        stack_name: "app".into(),
        name: "deployer-local-x".into(),
        kind: ChangeSetType::Update,
        template_body: "{}".into(),
        parameters: [("Name".to_owned(), "b".to_owned())].into(),
        keep_previous: vec![],
        tags: BTreeMap::new(),
        capabilities: vec![],
        role_arn: None,
        mode: DeployMode::Standard,
    }
}

fn described(status: ChangeSetStatus, reason: Option<&str>) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id("arn:cs/1")
        .change_set_name("deployer-local-x")
        .stack_id("arn:stack/app")
        .status(status)
        .set_status_reason(reason.map(Into::into))
        .build()
}

#[tokio::test]
async fn deleting_a_change_set_that_is_already_gone_is_done() {
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetError;
    for (code, message) in [
        (
            "ChangeSetNotFound",
            "ChangeSet [deployer-preview-x] does not exist",
        ),
        ("ValidationError", "Stack [app] does not exist"),
    ] {
        let gone = mock!(Client::delete_change_set).then_error(move || {
            DeleteChangeSetError::generic(
                ErrorMetadata::builder().code(code).message(message).build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&gone]);
        super::delete(&client, "app", "deployer-preview-x")
            .await
            .unwrap_or_else(|f| panic!("{code}: {}", f.message));
    }
    // Any other refusal is still an error.
    let denied = mock!(Client::delete_change_set).then_error(|| {
        DeleteChangeSetError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&denied]);
    assert!(super::delete(&client, "app", "x").await.is_err());
}

#[test]
fn names_are_valid_and_unique() {
    let mut names: Vec<String> = (0..25)
        .map(|_| unique_name(Purpose::Release).unwrap())
        .collect();
    names.extend((0..25).map(|_| unique_name(Purpose::Preview).unwrap()));
    for (i, n) in names.iter().enumerate() {
        let prefix = if i < 25 {
            "deployer-release-"
        } else {
            "deployer-preview-"
        };
        assert!(n.len() <= 128 && n.starts_with(prefix), "{n}");
        let stamp = n.split('-').nth(3).unwrap();
        assert!(
            stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
            "{n}"
        );
        assert!(
            n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{n}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
}

#[tokio::test(start_paused = true)]
async fn both_empty_change_set_texts_mean_no_changes() {
    for reason in [
        "The submitted information didn't contain changes. Submit different information to create a change set.",
        "No updates are to be performed.",
    ] {
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
        let describe = mock!(Client::describe_change_set)
            .then_output(move || described(ChangeSetStatus::Failed, Some(reason)));
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&create, &describe]
        );
        let outcome = super::create(
            &client,
            &request(),
            Deadline::after(Duration::from_secs(60)),
            Duration::from_secs(1800),
            &mut quiet(),
        )
        .await
        .unwrap();
        assert!(
            matches!(outcome, Outcome::Empty { id: Some(ref id), .. } if id == "arn:cs/1"),
            "{reason}: {outcome:?}"
        );
    }
    // moto (and old APIs) refuse the create itself.
    let create = mock!(Client::create_change_set).then_error(|| {
        CreateChangeSetError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("No updates are to be performed.")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&create]);
    let outcome = super::create(
        &client,
        &request(),
        Deadline::after(Duration::from_secs(60)),
        Duration::from_secs(1800),
        &mut quiet(),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Empty { id: None, .. }));
}

#[tokio::test(start_paused = true)]
async fn a_real_failure_is_an_error_and_pending_is_polled_at_once() {
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(|| described(ChangeSetStatus::CreatePending, None))
        .output(|| {
            described(
                ChangeSetStatus::Failed,
                Some("Template format error: Unresolved resource dependencies [X]"),
            )
        })
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe]
    );
    let start = tokio::time::Instant::now();
    let outcome = super::create(
        &client,
        &request(),
        Deadline::after(Duration::from_secs(60)),
        Duration::from_secs(1800),
        &mut quiet(),
    )
    .await
    .unwrap();
    assert!(
        matches!(&outcome, Outcome::Failed { reason, id, .. }
                if reason.contains("Unresolved resource dependencies") && id == "arn:cs/1"),
        "{outcome:?}"
    );
    // One immediate look, then one ~1 s backoff: never a long first sleep.
    assert!(
        start.elapsed() < Duration::from_millis(1300),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_change_set_stuck_in_create_pending_has_its_own_time_limit() {
    let create = mock!(Client::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
    let describe = mock!(Client::describe_change_set)
        .then_output(|| described(ChangeSetStatus::CreatePending, None));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe]
    );
    let start = tokio::time::Instant::now();
    let outcome = super::create(
        &client,
        &request(),
        Deadline::after(Duration::from_secs(3600)),
        Duration::from_secs(300),
        &mut quiet(),
    )
    .await
    .unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(300) && waited < Duration::from_secs(330),
        "{waited:?}"
    );
    assert!(
        matches!(&outcome, Outcome::TimedOut { id, status, message }
                if id == "arn:cs/1" && status == "CREATE_PENDING"
                    && message.contains("after 5m") && message.contains("--change-set-timeout")
                    && message.contains("nothing was executed")),
        "{outcome:?}"
    );
    // --wait-timeout shorter than the change set's limit: that one is named.
    let outcome = super::create(
        &client,
        &request(),
        Deadline::after(Duration::from_secs(60)),
        Duration::from_secs(300),
        &mut quiet(),
    )
    .await
    .unwrap();
    assert!(
        matches!(&outcome, Outcome::TimedOut { message, .. } if message.contains("--wait-timeout")),
        "{outcome:?}"
    );
}

#[test]
fn only_an_available_change_set_is_executable_and_the_others_are_explained() {
    use ExecutionStatus as E;
    assert_eq!(not_executable(Some(&E::Available), "app"), None);
    assert_eq!(not_executable(None, "app"), None);
    let obsolete = not_executable(Some(&E::Obsolete), "app").unwrap();
    assert!(
        obsolete.contains("OBSOLETE") && obsolete.contains("Deploy again"),
        "{obsolete}"
    );
    let unavailable = not_executable(Some(&E::Unavailable), "app").unwrap();
    assert!(
        unavailable.contains("another operation is running")
            && unavailable.contains("deployer status --stack-name app"),
        "{unavailable}"
    );
    for done in [E::ExecuteInProgress, E::ExecuteComplete, E::ExecuteFailed] {
        let m = not_executable(Some(&done), "app").unwrap();
        assert!(m.contains("already executed"), "{m}");
    }
    assert!(not_executable(Some(&E::from("FUTURE")), "app").is_some());
}

#[tokio::test]
async fn changes_are_read_from_every_page_with_paths_values_and_policies() {
    let detail = |path: Option<&str>, evaluation: EvaluationType| {
        let mut target = ResourceTargetDefinition::builder()
            .attribute(ResourceAttribute::Properties)
            .name("ContainerDefinitions")
            .requires_recreation(RequiresRecreation::Never)
            .before_value("repo@sha256:aaa")
            .after_value("repo@sha256:bbb");
        if let Some(path) = path {
            target = target.path(path);
        }
        ResourceChangeDetail::builder()
            .target(target.build())
            .evaluation(evaluation)
            .build()
    };
    let describe = mock!(Client::describe_change_set)
        .sequence()
        .output(move || {
            DescribeChangeSetOutput::builder()
                .change_set_id("arn:cs/1")
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .r#type(ChangeType::Resource)
                        .resource_change(
                            aws_sdk_cloudformation::types::ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id("Task")
                                .resource_type("AWS::ECS::TaskDefinition")
                                .replacement(Replacement::Conditional)
                                .details(detail(
                                    Some("/Properties/ContainerDefinitions/0/Image"),
                                    EvaluationType::Static,
                                ))
                                // The same property again, for a second cause.
                                .details(detail(
                                    Some("/Properties/ContainerDefinitions/0/Image"),
                                    EvaluationType::Dynamic,
                                ))
                                // An older answer without a Path.
                                .details(detail(None, EvaluationType::Static))
                                .build(),
                        )
                        .build(),
                )
                .next_token("2")
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .changes(
                    Change::builder()
                        .resource_change(
                            aws_sdk_cloudformation::types::ResourceChange::builder()
                                .action(ChangeAction::Remove)
                                .logical_resource_id("Pool")
                                .resource_type("AWS::Cognito::UserPool")
                                .policy_action(PolicyAction::Retain)
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&describe]);
    let d = super::describe(&client, "app", "arn:cs/1").await.unwrap();
    assert_eq!(d.changes.len(), 2);
    let task = &d.changes[0];
    assert_eq!(
        (
            task.action.as_str(),
            task.replacement.as_str(),
            task.effect()
        ),
        ("Modify", "Conditional", "Modify".to_owned())
    );
    assert_eq!(
        task.details,
        vec![
            PropertyChange {
                path: "/Properties/ContainerDefinitions/0/Image".into(),
                before: Some("repo@sha256:aaa".into()),
                after: Some("repo@sha256:bbb".into()),
                dynamic: true,
                requires_recreation: "Never".into(),
            },
            PropertyChange {
                path: "Properties.ContainerDefinitions".into(),
                before: Some("repo@sha256:aaa".into()),
                after: Some("repo@sha256:bbb".into()),
                dynamic: false,
                requires_recreation: "Never".into(),
            },
        ]
    );
    assert_eq!(
        task.details[0].line(200),
        "/Properties/ContainerDefinitions/0/Image: repo@sha256:aaa → repo@sha256:bbb (may change: known only while deploying)"
    );
    let pool = &d.changes[1];
    assert_eq!(pool.policy_action, "Retain");
    assert_eq!(pool.effect(), "Remove (retained, not deleted)");
}

#[test]
fn long_values_are_cut_and_recreation_is_named() {
    let change = PropertyChange {
        path: "/Properties/Policy".into(),
        before: None,
        after: Some("x".repeat(500)),
        dynamic: false,
        requires_recreation: "Always".into(),
    };
    let line = change.line(20);
    assert_eq!(
        line,
        format!(
            "/Properties/Policy: (none) → {}… (replaces the resource)",
            "x".repeat(19)
        )
    );
    assert_eq!(cut("short", 20), "short");
}

#[test]
fn express_only_for_a_create_the_spec_allows() {
    use ChangeSetType as T;
    assert_eq!(deployment_mode(&T::Create, true), DeployMode::Express);
    assert_eq!(deployment_mode(&T::Create, false), DeployMode::Standard);
    // An update is standard even where express is allowed (#2538: an express update
    // never rolls the ECS service onto a replaced task definition).
    assert_eq!(deployment_mode(&T::Update, true), DeployMode::Standard);
    assert_eq!(deployment_mode(&T::Update, false), DeployMode::Standard);
    assert_eq!(deployment_mode(&T::Import, true), DeployMode::Standard);
    // Standard is what CloudFormation does by default: nothing is sent for it.
    assert!(DeployMode::Standard.deployment_config().is_none());
    let express = DeployMode::Express.deployment_config().unwrap();
    assert_eq!(express.mode(), Some(&DeploymentConfigMode::Express));
    assert_eq!(express.disable_rollback(), None);
}

/// Creates a change set in `mode`; CreateChangeSet answers only when what it was sent
/// matches `expected` (the DeploymentConfig mode) and carries no rollback setting.
async fn create_sends(
    mode: DeployMode,
    kind: ChangeSetType,
    expected: Option<&'static str>,
) -> usize {
    let create = mock!(Client::create_change_set)
        .match_requests(move |r| {
            let config = r.deployment_config();
            config.and_then(|c| c.mode()).map(|m| m.as_str()) == expected
                && config.and_then(|c| c.disable_rollback()).is_none()
                && r.on_stack_failure().is_none()
        })
        .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
    let describe = mock!(Client::describe_change_set)
        .then_output(|| described(ChangeSetStatus::CreateComplete, None));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe]
    );
    let mut request = request();
    request.kind = kind;
    request.mode = mode;
    let outcome = super::create(
        &client,
        &request,
        Deadline::after(Duration::from_secs(60)),
        Duration::from_secs(1800),
        &mut quiet(),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Ready(_)), "{outcome:?}");
    create.num_calls()
}

#[tokio::test(start_paused = true)]
async fn create_change_set_sends_express_only_in_express_mode_and_never_a_rollback_setting() {
    assert_eq!(
        create_sends(DeployMode::Express, ChangeSetType::Create, Some("EXPRESS")).await,
        1
    );
    assert_eq!(
        create_sends(DeployMode::Standard, ChangeSetType::Create, None).await,
        1
    );
    assert_eq!(
        create_sends(DeployMode::Standard, ChangeSetType::Update, None).await,
        1
    );
}

#[tokio::test]
async fn an_express_change_set_is_executed_without_any_rollback_setting() {
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    for (mode, retain) in [
        (DeployMode::Standard, Some(true)),
        (DeployMode::Express, None),
    ] {
        let execute = mock!(Client::execute_change_set)
            .match_requests(move |r| {
                r.retain_except_on_create() == retain && r.disable_rollback().is_none()
            })
            .then_output(|| ExecuteChangeSetOutput::builder().build());
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&execute]);
        super::execute(&client, "arn:stack/app", "arn:cs/1", "deployer-x", mode)
            .await
            .unwrap_or_else(|f| panic!("{mode:?}: {}", f.message));
        assert_eq!(execute.num_calls(), 1, "{mode:?}");
    }
}

#[tokio::test]
async fn a_change_set_made_in_express_mode_says_so() {
    use aws_sdk_cloudformation::types::DeploymentConfig;
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .stack_id("arn:stack/app")
            .status(ChangeSetStatus::CreateComplete)
            .deployment_config(
                DeploymentConfig::builder()
                    .mode(DeploymentConfigMode::Express)
                    .build(),
            )
            .build()
    });
    let plain = mock!(Client::describe_change_set)
        .then_output(|| described(ChangeSetStatus::CreateComplete, None));
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe]);
    assert_eq!(
        super::describe(&client, "app", "arn:cs/1")
            .await
            .unwrap()
            .mode,
        DeployMode::Express
    );
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&plain]);
    assert_eq!(
        super::describe(&client, "app", "arn:cs/1")
            .await
            .unwrap()
            .mode,
        DeployMode::Standard
    );
}
