//! The wait for an ECS rollout against scripted ECS and ELB answers: a rollout that
//! completes, one the circuit breaker fails (explained by its stopped tasks), the
//! deadline (explained), an older deployment still draining, unhealthy targets, and a
//! service left on an old task definition (#2538).

use super::*;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{Container, Deployment, DeploymentRolloutState, Service, Task};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetHealth as ElbHealth, TargetHealthDescription, TargetHealthReasonEnum,
    TargetHealthStateEnum,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use std::time::Duration;

const TD: &str = "arn:aws:ecs:eu-west-1:1:task-definition/web:2";
const OLD_TD: &str = "arn:aws:ecs:eu-west-1:1:task-definition/web:1";
const TG: &str = "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1";

fn target() -> RolloutTarget {
    RolloutTarget {
        cluster: "hello-preview".into(),
        service: "hello-preview-pr-7-web".into(),
        task_definition: Some(TD.into()),
        target_group_arn: Some(TG.into()),
        label: "service web".into(),
    }
}

fn deployment(
    id: &str,
    status: &str,
    td: &str,
    rollout: DeploymentRolloutState,
    running: i32,
) -> Deployment {
    Deployment::builder()
        .id(id)
        .status(status)
        .task_definition(td)
        .rollout_state(rollout)
        .desired_count(1)
        .running_count(running)
        .created_at(DateTime::from_secs(1000))
        .build()
}

fn services(deployments: Vec<Deployment>) -> DescribeServicesOutput {
    DescribeServicesOutput::builder()
        .services(
            Service::builder()
                .service_name("hello-preview-pr-7-web")
                .status("ACTIVE")
                .desired_count(1)
                .set_deployments(Some(deployments))
                .build(),
        )
        .build()
}

fn in_progress() -> DescribeServicesOutput {
    services(vec![deployment(
        "ecs-svc/new",
        "PRIMARY",
        TD,
        DeploymentRolloutState::InProgress,
        0,
    )])
}

fn completed() -> DescribeServicesOutput {
    services(vec![deployment(
        "ecs-svc/new",
        "PRIMARY",
        TD,
        DeploymentRolloutState::Completed,
        1,
    )])
}

fn health(
    states: &[(TargetHealthStateEnum, Option<TargetHealthReasonEnum>)],
) -> DescribeTargetHealthOutput {
    let mut out = DescribeTargetHealthOutput::builder();
    for (state, reason) in states {
        let mut h = ElbHealth::builder().state(state.clone());
        if let Some(r) = reason {
            h = h
                .reason(r.clone())
                .description("Health checks failed with these codes: [502]");
        }
        out = out.target_health_descriptions(
            TargetHealthDescription::builder()
                .target_health(h.build())
                .build(),
        );
    }
    out.build()
}

fn healthy() -> Rule {
    mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .then_output(|| health(&[(TargetHealthStateEnum::Healthy, None)]))
}

fn no_stopped_tasks() -> Rule {
    mock!(aws_sdk_ecs::Client::list_tasks).then_output(|| ListTasksOutput::builder().build())
}

fn captured() -> (Progress, crate::output::progress::Captured) {
    let out = crate::output::progress::Captured::default();
    (Progress::plain(Box::new(out.clone())), out)
}

async fn run(
    ecs_rules: &[&Rule],
    elb_rules: &[&Rule],
    deadline: Duration,
) -> (Result<Ready, Failure>, String) {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, ecs_rules);
    let elb = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        elb_rules
    );
    let (mut progress, out) = captured();
    let result = wait_with(
        &ecs,
        &elb,
        &target(),
        Deadline::after(deadline),
        &mut progress,
    )
    .await;
    (result, out.text())
}

#[tokio::test(start_paused = true)]
async fn a_rollout_that_completes_with_healthy_targets_is_ready() {
    let described = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .output(in_progress)
        .times(2)
        .output(completed)
        .build();
    let (result, text) = run(
        &[&described, &no_stopped_tasks()],
        &[&healthy()],
        Duration::from_secs(600),
    )
    .await;
    let ready = result.unwrap();
    assert_eq!((ready.running, ready.healthy_targets), (1, 1));
    // What it waited for is on stderr once, not once per look.
    assert_eq!(
        text.matches("waiting for the ECS deployment: rollout IN_PROGRESS")
            .count(),
        1,
        "{text}"
    );
    assert!(ready.seconds > 0.0, "{ready:?}");
    assert_eq!(described.num_calls(), 3);
    assert!(
        text.contains("service web: ready (1 tasks running, 1 healthy targets)"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_rollout_is_explained_by_its_reason_and_stopped_tasks() {
    let described = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        services(vec![
            Deployment::builder()
                .id("ecs-svc/new")
                .status("PRIMARY")
                .task_definition(TD)
                .rollout_state(DeploymentRolloutState::Failed)
                .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
                .desired_count(1)
                .failed_tasks(2)
                .created_at(DateTime::from_secs(1000))
                .build(),
        ])
    });
    let listed = mock!(aws_sdk_ecs::Client::list_tasks)
        .match_requests(|r| r.desired_status() == Some(&aws_sdk_ecs::types::DesiredStatus::Stopped))
        .then_output(|| {
            ListTasksOutput::builder()
                .task_arns("arn:aws:ecs:eu-west-1:1:task/hello-preview/abc123")
                .build()
        });
    let tasks = mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(
                Task::builder()
                    .task_arn("arn:aws:ecs:eu-west-1:1:task/hello-preview/abc123")
                    .stopped_at(DateTime::from_secs(1010))
                    .stopped_reason(
                        "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                    )
                    .containers(Container::builder().name("app").exit_code(0).build())
                    .build(),
            )
            .build()
    });
    let unhealthy = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .then_output(|| {
            health(&[(
                TargetHealthStateEnum::Unhealthy,
                Some(TargetHealthReasonEnum::FailedHealthChecks),
            )])
        });
    let (result, text) = run(
        &[&described, &listed, &tasks],
        &[&unhealthy],
        Duration::from_secs(600),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    for part in [
        "service web did not become ready",
        "ecs-svc/new FAILED: ECS deployment circuit breaker: tasks failed to start.",
        "tasks stopped: CannotPullContainerError",
        "targets unhealthy: Target.FailedHealthChecks",
    ] {
        assert!(err.message.contains(part), "{part}: {}", err.message);
    }
    assert!(
        text.contains("service web: task abc123 stopped: CannotPullContainerError"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_says_what_is_missing() {
    let described = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        services(vec![
            Deployment::builder()
                .id("ecs-svc/new")
                .status("PRIMARY")
                .task_definition(TD)
                .rollout_state(DeploymentRolloutState::InProgress)
                .rollout_state_reason("ECS deployment ecs-svc/new in progress.")
                .desired_count(1)
                .pending_count(1)
                .build(),
        ])
    });
    let initial = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .then_output(|| {
            health(&[(
                TargetHealthStateEnum::Initial,
                Some(TargetHealthReasonEnum::InitialHealthChecking),
            )])
        });
    let start = tokio::time::Instant::now();
    let (result, _) = run(
        &[&described, &no_stopped_tasks()],
        &[&initial],
        Duration::from_secs(120),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    for part in [
        "service web is not ready after 2m",
        "rollout IN_PROGRESS (ECS deployment ecs-svc/new in progress.)",
        "0/1 tasks running",
        "0/1 targets healthy (unhealthy: Elb.InitialHealthChecking",
    ] {
        assert!(err.message.contains(part), "{part}: {}", err.message);
    }
    // It gave up at the deadline, not long after it.
    assert!(
        start.elapsed() < Duration::from_secs(135),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_older_deployment_still_draining_keeps_it_waiting() {
    let draining = || {
        services(vec![
            deployment(
                "ecs-svc/new",
                "PRIMARY",
                TD,
                DeploymentRolloutState::Completed,
                1,
            ),
            deployment(
                "ecs-svc/old",
                "ACTIVE",
                OLD_TD,
                DeploymentRolloutState::Completed,
                1,
            ),
        ])
    };
    let described = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .output(draining)
        .times(3)
        .output(completed)
        .build();
    let (result, _) = run(
        &[&described, &no_stopped_tasks()],
        &[&healthy()],
        Duration::from_secs(600),
    )
    .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        described.num_calls(),
        4,
        "ready only once the old deployment is gone"
    );

    // Forever draining: the deadline names it.
    let described = mock!(aws_sdk_ecs::Client::describe_services).then_output(draining);
    let (result, _) = run(
        &[&described, &no_stopped_tasks()],
        &[&healthy()],
        Duration::from_secs(60),
    )
    .await;
    let err = result.unwrap_err();
    assert!(
        err.message
            .contains("older deployment still draining: ecs-svc/old"),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn unhealthy_targets_are_named() {
    let described = mock!(aws_sdk_ecs::Client::describe_services).then_output(completed);
    let unhealthy = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
        .then_output(|| {
            health(&[(
                TargetHealthStateEnum::Unhealthy,
                Some(TargetHealthReasonEnum::FailedHealthChecks),
            )])
        });
    let (result, _) = run(
        &[&described, &no_stopped_tasks()],
        &[&unhealthy],
        Duration::from_secs(60),
    )
    .await;
    let err = result.unwrap_err();
    assert!(
        err.message.contains(
            "0/1 targets healthy (unhealthy: Target.FailedHealthChecks: Health checks failed with these codes: [502])"
        ),
        "{}",
        err.message
    );
}

#[tokio::test(start_paused = true)]
async fn a_service_left_on_the_old_task_definition_is_never_ready() {
    // What an express-mode update that replaces the task definition leaves (#2538).
    let described = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
        services(vec![deployment(
            "ecs-svc/old",
            "PRIMARY",
            OLD_TD,
            DeploymentRolloutState::Completed,
            1,
        )])
    });
    let (result, _) = run(
        &[&described, &no_stopped_tasks()],
        &[&healthy()],
        Duration::from_secs(60),
    )
    .await;
    let err = result.unwrap_err();
    let wrong = format!("runs {OLD_TD}, not the stack's task definition {TD}");
    for part in [wrong.as_str(), "#2538"] {
        assert!(err.message.contains(part), "{part}: {}", err.message);
    }
}

#[test]
fn without_a_target_group_or_task_definition_the_tasks_decide() {
    let mut t = target();
    t.target_group_arn = None;
    t.task_definition = None;
    let state = |running, others: Vec<DeploymentState>| ServiceDeployments {
        status: "ACTIVE".into(),
        desired: 2,
        running,
        pending: 0,
        current: Some(DeploymentState {
            id: "ecs-svc/new".into(),
            status: "PRIMARY".into(),
            rollout_state: Some("COMPLETED".into()),
            rollout_state_reason: None,
            task_definition: Some(OLD_TD.into()),
            desired: 2,
            running,
            pending: 0,
            failed_tasks: 0,
            created_at: None,
        }),
        others,
    };
    assert_eq!(
        judge(&t, Some(&state(2, vec![])), None),
        Verdict::Ready(2, 0)
    );
    assert!(matches!(
        judge(&t, Some(&state(1, vec![])), None),
        Verdict::Waiting(_)
    ));
    assert!(matches!(judge(&t, None, None), Verdict::Waiting(_)));
    let mut gone = state(2, vec![]);
    gone.status = "DRAINING".into();
    assert!(matches!(judge(&t, Some(&gone), None), Verdict::Failed(_)));
}
