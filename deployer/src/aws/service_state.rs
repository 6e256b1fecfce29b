//! Where a running ECS service stands, for `status --environment`: its task counts,
//! its deployments and their rollout state (DescribeServices), the image its PRIMARY
//! deployment runs (DescribeTaskDefinition), and how its load balancer targets are
//! doing (ELBv2 DescribeTargetHealth).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::Deployment;
use serde::Serialize;

use crate::aws::call_failed;
use crate::aws::ecs_images::{digest_of, image_of_task_definition};
use crate::error::Failure;

/// One ECS deployment of a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DeploymentState {
    /// ECS's id (`ecs-svc/…`).
    pub id: String,
    /// `PRIMARY` (the newest), `ACTIVE` (still running, being replaced) or `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED` (the circuit breaker rolled it back).
    pub rollout_state: Option<String>,
    /// ECS's words on the rollout.
    pub rollout_state_reason: Option<String>,
    /// Its task definition ARN.
    pub task_definition: Option<String>,
    /// Tasks wanted, running and pending for this deployment.
    pub desired: i32,
    /// Running tasks of this deployment.
    pub running: i32,
    /// Pending tasks of this deployment.
    pub pending: i32,
    /// Tasks of this deployment that failed to start or stay healthy.
    pub failed_tasks: i32,
    /// When ECS started it (epoch seconds, AWS's clock): tasks stopped before belong
    /// to an earlier deployment.
    #[serde(skip)]
    pub created_at: Option<i64>,
}

/// A service as ECS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct EcsServiceState {
    /// ECS's status of the service (`ACTIVE`, `DRAINING`, `INACTIVE`).
    pub status: String,
    /// Tasks the service wants.
    pub desired: i32,
    /// Tasks running.
    pub running: i32,
    /// Tasks starting.
    pub pending: i32,
    /// The image the PRIMARY deployment's task definition runs.
    pub image: Option<String>,
    /// Its digest (`sha256:…`), when the image is pinned by one.
    pub image_digest: Option<String>,
    /// The PRIMARY deployment's task definition revision.
    pub revision: Option<i32>,
    /// The PRIMARY deployment (the current one).
    pub current: Option<DeploymentState>,
    /// The others still running (being replaced), newest first.
    pub others: Vec<DeploymentState>,
}

/// `service` in `cluster` (names or ARNs); `Ok(None)` when ECS does not know it.
pub(crate) async fn ecs_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Option<EcsServiceState>, Failure> {
    let Some(found) = service_deployments(ecs, cluster, service).await? else {
        return Ok(None);
    };
    let (image, revision) = match found
        .current
        .as_ref()
        .and_then(|d| d.task_definition.clone())
    {
        Some(td) => {
            let running = image_of_task_definition(ecs, &td).await?;
            (Some(running.uri), Some(running.revision))
        }
        None => (None, None),
    };
    Ok(Some(EcsServiceState {
        status: found.status,
        desired: found.desired,
        running: found.running,
        pending: found.pending,
        image_digest: image.as_deref().and_then(digest_of).map(str::to_owned),
        image,
        revision,
        current: found.current,
        others: found.others,
    }))
}

/// A service's counts and deployments (one DescribeServices, no image lookup): what
/// `status` shows and what `aws::rollout` waits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceDeployments {
    /// ECS's status of the service (`ACTIVE`, `DRAINING`, `INACTIVE`).
    pub status: String,
    /// Tasks the service wants.
    pub desired: i32,
    /// Tasks running.
    pub running: i32,
    /// Tasks starting.
    pub pending: i32,
    /// The PRIMARY deployment (the current one).
    pub current: Option<DeploymentState>,
    /// The others still running (being replaced), as ECS lists them.
    pub others: Vec<DeploymentState>,
}

/// [`ServiceDeployments`] of `service` in `cluster`; `Ok(None)` when ECS does not know it.
pub(crate) async fn service_deployments(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Option<ServiceDeployments>, Failure> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| {
            call_failed(
                &format!("cannot describe ECS service {service} in cluster {cluster}"),
                &e,
            )
        })?;
    let Some(found) = out.services().first() else {
        return Ok(None);
    };
    let mut deployments: Vec<DeploymentState> =
        found.deployments().iter().map(deployment_state).collect();
    let current = deployments
        .iter()
        .position(|d| d.status == "PRIMARY")
        .map(|i| deployments.remove(i));
    Ok(Some(ServiceDeployments {
        status: found.status().unwrap_or("UNKNOWN").to_owned(),
        desired: found.desired_count(),
        running: found.running_count(),
        pending: found.pending_count(),
        current,
        others: deployments,
    }))
}

fn deployment_state(d: &Deployment) -> DeploymentState {
    DeploymentState {
        id: d.id().unwrap_or_default().to_owned(),
        status: d.status().unwrap_or_default().to_owned(),
        rollout_state: d.rollout_state().map(|s| s.as_str().to_owned()),
        rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
        task_definition: d.task_definition().map(str::to_owned),
        desired: d.desired_count(),
        running: d.running_count(),
        pending: d.pending_count(),
        failed_tasks: d.failed_tasks(),
        created_at: d.created_at().map(|t| t.secs()),
    }
}

/// The target group's targets counted by health state (`healthy`, `unhealthy`,
/// `initial`, `draining`, `unused`, `unavailable`), with the reasons of those not
/// healthy (ELB's `Target.*` codes and descriptions, each once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct TargetHealth {
    /// State → number of targets.
    pub counts: BTreeMap<String, usize>,
    /// Why targets are not healthy, each reason once.
    pub reasons: Vec<String>,
}

/// [`TargetHealth`] of the target group `arn`.
pub(crate) async fn target_health(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
) -> Result<TargetHealth, Failure> {
    let out = elb
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(|e| call_failed(&format!("cannot read the health of target group {arn}"), &e))?;
    let mut health = TargetHealth::default();
    for d in out.target_health_descriptions() {
        let Some(h) = d.target_health() else { continue };
        let state = h.state().map_or("unknown", |s| s.as_str()).to_owned();
        if state != "healthy" {
            let reason = match (h.reason(), h.description()) {
                (Some(r), Some(text)) => format!("{}: {text}", r.as_str()),
                (Some(r), None) => r.as_str().to_owned(),
                (None, Some(text)) => text.to_owned(),
                (None, None) => String::new(),
            };
            if !reason.is_empty() && !health.reasons.contains(&reason) {
                health.reasons.push(reason);
            }
        }
        *health.counts.entry(state).or_default() += 1;
    }
    Ok(health)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
    use aws_sdk_ecs::types::{
        ContainerDefinition, DeploymentRolloutState, Service, TaskDefinition,
    };
    use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
    use aws_sdk_elasticloadbalancingv2::types::{
        TargetHealth as ElbHealth, TargetHealthDescription, TargetHealthReasonEnum,
        TargetHealthStateEnum,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const IMAGE: &str = "1.dkr.ecr.eu-west-1.amazonaws.com/hello-web@sha256:ab";

    #[tokio::test]
    async fn the_primary_deployment_gives_the_running_image_and_rollout_state() {
        let services = mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .service_name("hello-staging-web")
                        .status("ACTIVE")
                        .desired_count(2)
                        .running_count(3)
                        .pending_count(1)
                        .deployments(
                            aws_sdk_ecs::types::Deployment::builder()
                                .id("ecs-svc/old")
                                .status("ACTIVE")
                                .task_definition("arn:td/web:6")
                                .running_count(2)
                                .build(),
                        )
                        .deployments(
                            aws_sdk_ecs::types::Deployment::builder()
                                .id("ecs-svc/new")
                                .status("PRIMARY")
                                .task_definition("arn:td/web:7")
                                .rollout_state(DeploymentRolloutState::InProgress)
                                .rollout_state_reason("ECS deployment ecs-svc/new in progress.")
                                .desired_count(2)
                                .running_count(1)
                                .pending_count(1)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let td = mock!(aws_sdk_ecs::Client::describe_task_definition)
            .match_requests(|r| r.task_definition() == Some("arn:td/web:7"))
            .then_output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        TaskDefinition::builder()
                            .task_definition_arn("arn:td/web:7")
                            .revision(7)
                            .container_definitions(
                                ContainerDefinition::builder()
                                    .name("app")
                                    .image(IMAGE)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, [&services, &td]);
        let state = ecs_service(&ecs, "hello-staging", "hello-staging-web")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((state.desired, state.running, state.pending), (2, 3, 1));
        assert_eq!(state.image.as_deref(), Some(IMAGE));
        assert_eq!(state.image_digest.as_deref(), Some("sha256:ab"));
        assert_eq!(state.revision, Some(7));
        let current = state.current.unwrap();
        assert_eq!(current.id, "ecs-svc/new");
        assert_eq!(current.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(state.others.len(), 1);
        assert_eq!(state.others[0].id, "ecs-svc/old");
    }

    #[tokio::test]
    async fn an_unknown_service_is_none() {
        let services = mock!(aws_sdk_ecs::Client::describe_services)
            .then_output(|| DescribeServicesOutput::builder().build());
        let ecs = mock_client!(aws_sdk_ecs, [&services]);
        assert!(ecs_service(&ecs, "c", "s").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn targets_are_counted_by_state_with_the_reasons_once() {
        let health = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
            .then_output(|| {
                let target = |state, reason: Option<TargetHealthReasonEnum>| {
                    let mut h = ElbHealth::builder().state(state);
                    if let Some(r) = reason {
                        h = h.reason(r).description("Health checks failed");
                    }
                    TargetHealthDescription::builder()
                        .target_health(h.build())
                        .build()
                };
                DescribeTargetHealthOutput::builder()
                    .target_health_descriptions(target(TargetHealthStateEnum::Healthy, None))
                    .target_health_descriptions(target(
                        TargetHealthStateEnum::Unhealthy,
                        Some(TargetHealthReasonEnum::FailedHealthChecks),
                    ))
                    .target_health_descriptions(target(
                        TargetHealthStateEnum::Unhealthy,
                        Some(TargetHealthReasonEnum::FailedHealthChecks),
                    ))
                    .build()
            });
        let elb = mock_client!(aws_sdk_elasticloadbalancingv2, [&health]);
        let h = target_health(&elb, "arn:tg").await.unwrap();
        assert_eq!(
            h.counts,
            BTreeMap::from([("healthy".to_owned(), 1), ("unhealthy".to_owned(), 2)])
        );
        assert_eq!(
            h.reasons,
            ["Target.FailedHealthChecks: Health checks failed"]
        );
    }
}
