//! Waiting until an ECS service is ready: its PRIMARY deployment runs the stack's task
//! definition and has COMPLETED, no older deployment is still running, and its load
//! balancer target group has as many healthy targets as the service wants tasks.
//!
//! CloudFormation's express mode (`cfn::change_set::DeployMode::Express`) reports a
//! stack done once its configuration is applied, before the service's tasks have
//! started; whoever creates a stack that way calls [`wait_until_ready`] before calling
//! the service ready. A FAILED rollout (the circuit breaker) or the deadline ends the
//! wait with an explanation: ECS's rollout reason, why the tasks stopped (as `deploy`
//! explains them, `cfn::ecs::stopped_tasks`) and why targets are unhealthy.
//!
//! The reads are `aws::service_state`'s (DescribeServices, DescribeTargetHealth); the
//! poll schedule and deadline are `cfn::wait`'s.

use std::collections::HashSet;

use aws_config::SdkConfig;
use serde::Serialize;

use crate::aws::service_state::{
    DeploymentState, ServiceDeployments, TargetHealth, service_deployments, target_health,
};
use crate::cfn::ecs::stopped_tasks;
use crate::cfn::wait::{Backoff, Deadline};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// Most stopped-task reasons kept for an explanation.
const MAX_REASONS: usize = 5;

/// The service to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RolloutTarget {
    /// The cluster (name or ARN).
    pub cluster: String,
    /// The service (name or ARN).
    pub service: String,
    /// The task definition (ARN) the stack gave the service: the PRIMARY deployment
    /// must run it. `None`: whatever the PRIMARY deployment runs.
    pub task_definition: Option<String>,
    /// The service's load balancer target group, whose healthy targets are counted.
    /// `None`: a service without a load balancer (only its tasks count).
    pub target_group_arn: Option<String>,
    /// How messages name it (`service web (hello-preview-pr-7-web)`).
    pub label: String,
}

/// A ready service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Ready {
    /// Seconds from the start of the wait until it was ready.
    pub seconds: f64,
    /// Tasks of its PRIMARY deployment running.
    pub running: i32,
    /// Healthy targets in its target group (0 without one).
    pub healthy_targets: usize,
}

/// Waits until `target` is ready (see the module docs), polling with `cfn::wait`'s
/// schedule, at most until `deadline`; progress on `progress` (stderr).
// Called by `preview up` (branch previewcmd), which merges this one.
#[allow(dead_code)]
pub(crate) async fn wait_until_ready(
    sdk: &SdkConfig,
    target: &RolloutTarget,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Ready, Failure> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    wait_with(&ecs, &elb, target, deadline, progress).await
}

/// What one look says.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    /// Ready: running tasks and healthy targets.
    Ready(i32, usize),
    /// Not yet: what is missing, in words.
    Waiting(Vec<String>),
    /// It will not get ready: why.
    Failed(String),
}

/// Judges one look at the service and its targets.
fn judge(
    target: &RolloutTarget,
    service: Option<&ServiceDeployments>,
    health: Option<&TargetHealth>,
) -> Verdict {
    let Some(service) = service else {
        return Verdict::Waiting(vec![format!(
            "ECS does not know service {} in cluster {} yet",
            target.service, target.cluster
        )]);
    };
    if service.status != "ACTIVE" {
        return Verdict::Failed(format!(
            "the ECS service is {} (deleted or being deleted)",
            service.status
        ));
    }
    let ours = |d: &DeploymentState| match &target.task_definition {
        Some(td) => d.task_definition.as_deref() == Some(td.as_str()),
        None => true,
    };
    if let Some(failed) = service
        .current
        .iter()
        .chain(&service.others)
        .find(|d| d.rollout_state.as_deref() == Some("FAILED") && ours(d))
    {
        return Verdict::Failed(format!(
            "its ECS deployment {} FAILED: {}",
            failed.id,
            failed
                .rollout_state_reason
                .as_deref()
                .unwrap_or("ECS gave no reason")
        ));
    }
    let Some(primary) = &service.current else {
        return Verdict::Waiting(vec!["it has no PRIMARY deployment yet".to_owned()]);
    };
    let mut missing = Vec::new();
    if !ours(primary) {
        missing.push(format!(
            "its PRIMARY deployment {} runs {}, not the stack's task definition {}",
            primary.id,
            primary.task_definition.as_deref().unwrap_or("(none)"),
            target.task_definition.as_deref().unwrap_or_default()
        ));
    }
    match primary.rollout_state.as_deref() {
        Some("COMPLETED") => {}
        Some(state) => missing.push(match &primary.rollout_state_reason {
            Some(reason) => format!("rollout {state} ({reason})"),
            None => format!("rollout {state}"),
        }),
        // No rollout state (a deployment controller that does not report one): the
        // task counts below decide.
        None => {}
    }
    if primary.running < service.desired || primary.pending > 0 {
        missing.push(format!(
            "{}/{} tasks running",
            primary.running, service.desired
        ));
    }
    if !service.others.is_empty() {
        let old: Vec<String> = service
            .others
            .iter()
            .map(|d| format!("{} ({} running)", d.id, d.running))
            .collect();
        missing.push(format!(
            "older deployment{} still draining: {}",
            if old.len() == 1 { "" } else { "s" },
            old.join(", ")
        ));
    }
    let healthy = health.map_or(0, |h| h.counts.get("healthy").copied().unwrap_or(0));
    if let Some(h) = health
        && healthy < usize::try_from(service.desired).unwrap_or(0)
    {
        let mut text = format!("{healthy}/{} targets healthy", service.desired);
        if !h.reasons.is_empty() {
            text.push_str(&format!(" (unhealthy: {})", h.reasons.join(" | ")));
        }
        missing.push(text);
    }
    if missing.is_empty() {
        Verdict::Ready(primary.running, healthy)
    } else {
        Verdict::Waiting(missing)
    }
}

/// [`wait_until_ready`] with its clients (scripted in tests).
async fn wait_with(
    ecs: &aws_sdk_ecs::Client,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    target: &RolloutTarget,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Ready, Failure> {
    let label = &target.label;
    let started = tokio::time::Instant::now();
    let mut backoff = Backoff::new();
    let mut stopped = Stopped::default();
    let mut last_said = String::new();
    loop {
        backoff.wait().await;
        let service = service_deployments(ecs, &target.cluster, &target.service).await?;
        let health = match (&target.target_group_arn, &service) {
            (Some(arn), Some(_)) => Some(target_health(elb, arn).await?),
            _ => None,
        };
        let verdict = judge(target, service.as_ref(), health.as_ref());
        let failed_tasks = service
            .as_ref()
            .and_then(|s| s.current.as_ref())
            .map_or(0, |d| d.failed_tasks);
        let ending = matches!(verdict, Verdict::Failed(_))
            || (matches!(verdict, Verdict::Waiting(_)) && deadline.passed());
        if failed_tasks > stopped.failed_tasks || ending {
            stopped.failed_tasks = failed_tasks;
            let since = service
                .as_ref()
                .and_then(|s| s.current.as_ref())
                .and_then(|d| d.created_at)
                .map_or(0.0, |t| t as f64);
            for line in stopped.read(ecs, target, since).await {
                progress.line(&format!("{label}: {line}"));
            }
        }
        let elapsed = started.elapsed();
        match verdict {
            Verdict::Ready(running, healthy_targets) => {
                let targets = if target.target_group_arn.is_some() {
                    format!(", {healthy_targets} healthy targets")
                } else {
                    String::new()
                };
                progress.line(&format!(
                    "{label}: ready ({running} tasks running{targets}) after {}",
                    format_elapsed(elapsed)
                ));
                return Ok(Ready {
                    seconds: elapsed.as_secs_f64(),
                    running,
                    healthy_targets,
                });
            }
            Verdict::Failed(why) => {
                let targets = match &health {
                    Some(h) if !h.reasons.is_empty() => {
                        format!("; targets unhealthy: {}", h.reasons.join(" | "))
                    }
                    _ => String::new(),
                };
                return Err(Failure::failed(format!(
                    "{label} did not become ready: {why}{}{targets}\nFix the cause (the image, its \
                     configuration or its health check) and deploy it again",
                    stopped.explained()
                )));
            }
            Verdict::Waiting(missing) if deadline.passed() => {
                let hint = if missing
                    .iter()
                    .any(|m| m.contains("not the stack's task definition"))
                {
                    "\nThe service was never moved onto the stack's task definition: an express-mode \
                     update does that (cloudformation-coverage-roadmap #2538); update the stack in \
                     standard mode"
                } else {
                    ""
                };
                return Err(Failure::failed(format!(
                    "{label} is not ready after {}: {}{}{hint}\nWatch it with `deployer status`, \
                     or raise the wait",
                    format_elapsed(deadline.timeout()),
                    missing.join("; "),
                    stopped.explained()
                )));
            }
            Verdict::Waiting(missing) => {
                // A line when what it waits for changes (CI logs show the rollout's
                // steps), the live status line otherwise.
                let said = missing.join(", ");
                let text = format!(
                    "{label}: waiting for the ECS deployment: {said} ({})",
                    format_elapsed(elapsed)
                );
                if said == last_said {
                    progress.status(&text);
                } else {
                    progress.line(&text);
                    last_said = said;
                }
            }
        }
    }
}

/// The stopped tasks seen while waiting.
#[derive(Debug, Default)]
struct Stopped {
    /// Tasks already looked at.
    seen: HashSet<String>,
    /// Distinct reasons, oldest first (at most [`MAX_REASONS`]).
    reasons: Vec<String>,
    /// The PRIMARY deployment's failed-task count at the last read.
    failed_tasks: i32,
    /// A call failed: stop asking (diagnosis only, never the wait's failure).
    off: bool,
}

impl Stopped {
    /// Reads the tasks stopped since `since` not seen before; returns their lines.
    async fn read(
        &mut self,
        ecs: &aws_sdk_ecs::Client,
        target: &RolloutTarget,
        since: f64,
    ) -> Vec<String> {
        if self.off {
            return Vec::new();
        }
        match stopped_tasks(
            ecs,
            &target.cluster,
            &target.service,
            since,
            &mut self.seen,
            false,
        )
        .await
        {
            Ok(tasks) => tasks
                .into_iter()
                .map(|t| {
                    if !self.reasons.contains(&t.why) && self.reasons.len() < MAX_REASONS {
                        self.reasons.push(t.why.clone());
                    }
                    format!("task {} stopped: {}", t.task, t.why)
                })
                .collect(),
            Err(note) => {
                self.off = true;
                note.into_iter().collect()
            }
        }
    }

    /// `; tasks stopped: a | b`, or nothing.
    fn explained(&self) -> String {
        if self.reasons.is_empty() {
            String::new()
        } else {
            format!("; tasks stopped: {}", self.reasons.join(" | "))
        }
    }
}

#[cfg(test)]
mod tests;
