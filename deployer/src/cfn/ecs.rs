//! ECS is not a black box: while an `AWS::ECS::Service` is created or updated, the
//! service's own events (DescribeServices) and the reasons its tasks stopped
//! (ListTasks `desiredStatus=STOPPED` + DescribeTasks) are shown with the stack events,
//! and kept for the root cause. The circuit breaker's stack event only says
//! "ECS Deployment Circuit Breaker was triggered"; why the tasks died
//! (`CannotPullContainerError …`, `Essential container in task exited`, failed health
//! checks) is only here. Modelled on copilot's `internal/pkg/stream/ecs.go`.
//!
//! Reading layer: may use `wait` and `events` (the [`Event`]s that start and end a
//! watch). The stopped-task reasons join a failure's root cause in the execute phase.
//!
//! Diagnosis only: a caller without `ecs:DescribeServices`/`ListTasks`/`DescribeTasks`
//! (AccessDenied) or any other failed call stops the watching, with a note, never the
//! deploy.

use std::collections::HashSet;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{DesiredStatus, Task};

use super::events::Event;
use super::wait::retry_throttled;
use crate::aws::{describe_error, is_access_denied};
use crate::output::sanitize;

/// Most stopped-task reasons kept for the root cause.
const MAX_REASONS: usize = 5;

/// One service being watched.
#[derive(Debug)]
struct Watched {
    /// Logical id in the template.
    logical_id: String,
    /// Service ARN (the resource's physical id).
    arn: String,
    /// Cluster name or ARN, from the service ARN.
    cluster: String,
    /// Only service events and stopped tasks from this time on (epoch seconds: the
    /// CloudFormation event that started the watch, so both times are AWS's clocks).
    since: f64,
    /// Service-event ids already shown.
    shown_events: HashSet<String>,
    /// Stopped tasks already shown.
    shown_tasks: HashSet<String>,
    /// Still creating/updating (stop polling once CloudFormation is done with it).
    active: bool,
    /// It failed: one last look for the tasks that stopped just before, then stop.
    last_look: bool,
}

/// Watches the ECS services of a running stack operation.
#[derive(Debug)]
pub(crate) struct EcsWatch {
    client: Client,
    services: Vec<Watched>,
    /// Why tasks stopped, per service logical id, oldest first (distinct).
    stopped: Vec<(String, String)>,
    /// Set after a call failed: no more ECS calls this run.
    off: bool,
    /// Show the note when ECS cannot be read (only with `-v` for AccessDenied).
    verbose: bool,
}

impl EcsWatch {
    /// A watch using `client`; `verbose` (`-v`) shows why it stopped on AccessDenied.
    pub(crate) fn new(client: Client, verbose: bool) -> Self {
        Self {
            client,
            services: Vec::new(),
            stopped: Vec::new(),
            off: false,
            verbose,
        }
    }

    /// Starts watching a service when its create/update begins (its physical id, the
    /// service ARN, is known), and stops when CloudFormation is done with it.
    pub(crate) fn observe(&mut self, events: &[Event]) {
        for e in events
            .iter()
            .filter(|e| e.resource_type == "AWS::ECS::Service")
        {
            let Some(arn) = e.physical_id.as_deref().filter(|a| a.starts_with("arn:")) else {
                continue;
            };
            let running = e.status.ends_with("_IN_PROGRESS") && !e.status.starts_with("DELETE");
            match self.services.iter_mut().find(|w| w.arn == arn) {
                Some(w) if e.status.ends_with("_FAILED") && w.active => w.last_look = true,
                Some(w) => w.active = running,
                None if running => self.services.push(Watched {
                    logical_id: e.logical_id.clone(),
                    arn: arn.to_owned(),
                    cluster: cluster_of(arn),
                    since: e.epoch,
                    shown_events: HashSet::new(),
                    shown_tasks: HashSet::new(),
                    active: true,
                    last_look: false,
                }),
                None => {}
            }
        }
    }

    /// New service events and stopped tasks of the services being created/updated, as
    /// progress lines.
    pub(crate) async fn poll(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.off {
            return lines;
        }
        for i in 0..self.services.len() {
            if !self.services[i].active {
                continue;
            }
            let result = self.poll_service(i, &mut lines).await;
            let w = &mut self.services[i];
            if w.last_look {
                w.active = false;
            }
            if let Err(note) = result {
                self.off = true;
                if let Some(note) = note {
                    lines.push(note);
                }
                break;
            }
        }
        lines
    }

    async fn poll_service(
        &mut self,
        i: usize,
        lines: &mut Vec<String>,
    ) -> Result<(), Option<String>> {
        let verbose = self.verbose;
        let client = self.client.clone();
        let w = &mut self.services[i];
        let described = retry_throttled(|| {
            client
                .describe_services()
                .cluster(&w.cluster)
                .services(&w.arn)
                .send()
        })
        .await
        .map_err(|e| stop_note("DescribeServices", &e, verbose))?;
        let mut fresh: Vec<(f64, String)> = Vec::new();
        for service in described.services() {
            for ev in service.events() {
                let at = ev.created_at().map_or(0.0, |t| t.as_secs_f64());
                let Some(id) = ev.id() else { continue };
                if at < w.since || !w.shown_events.insert(id.to_owned()) {
                    continue;
                }
                fresh.push((at, sanitize::line(ev.message().unwrap_or_default())));
            }
        }
        // DescribeServices lists events newest first.
        fresh.sort_by(|a, b| a.0.total_cmp(&b.0));
        lines.extend(
            fresh
                .into_iter()
                .map(|(_, m)| format!("ECS {}: {m}", w.logical_id)),
        );

        let stopped = stopped_tasks(
            &client,
            &w.cluster,
            &w.arn,
            w.since,
            &mut w.shown_tasks,
            verbose,
        )
        .await?;
        for StoppedTask { task, why, .. } in stopped {
            lines.push(format!("ECS {}: task {task} stopped: {why}", w.logical_id));
            let entry = (w.logical_id.clone(), why);
            if !self.stopped.contains(&entry) && self.stopped.len() < MAX_REASONS {
                self.stopped.push(entry);
            }
        }
        Ok(())
    }

    /// Why the tasks of the service `logical_id` stopped (distinct reasons, oldest
    /// first), for the root cause of its failure.
    pub(crate) fn stopped_reasons(&self, logical_id: &str) -> Vec<&str> {
        self.stopped
            .iter()
            .filter(|(id, _)| id == logical_id)
            .map(|(_, why)| why.as_str())
            .collect()
    }
}

/// A task of a service that stopped, and why (`deploy` shows these while it follows an
/// ECS service; `aws::rollout` explains a failed rollout with them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoppedTask {
    /// When it stopped (epoch seconds, AWS's clock).
    pub at: f64,
    /// The task id (the last part of its ARN).
    pub task: String,
    /// Its stopped reason with each container's reason or non-zero exit code.
    pub why: String,
}

/// The stopped tasks of `service` in `cluster` (ListTasks `desiredStatus=STOPPED` +
/// DescribeTasks) not in `seen`, stopped at or after `since` (epoch seconds), oldest
/// first; every task looked at joins `seen`. `Err` carries the note to show when a
/// call failed (`None` for AccessDenied without `verbose`): diagnosis only, the caller
/// stops asking.
pub(crate) async fn stopped_tasks(
    client: &Client,
    cluster: &str,
    service: &str,
    since: f64,
    seen: &mut HashSet<String>,
    verbose: bool,
) -> Result<Vec<StoppedTask>, Option<String>> {
    let listed = retry_throttled(|| {
        client
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Stopped)
            .send()
    })
    .await
    .map_err(|e| stop_note("ListTasks", &e, verbose))?;
    let new: Vec<String> = listed
        .task_arns()
        .iter()
        .filter(|t| !seen.contains(*t))
        .take(100)
        .cloned()
        .collect();
    if new.is_empty() {
        return Ok(Vec::new());
    }
    let tasks = retry_throttled(|| {
        client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(new.clone()))
            .send()
    })
    .await
    .map_err(|e| stop_note("DescribeTasks", &e, verbose))?;
    let mut stopped = Vec::new();
    for task in tasks.tasks() {
        let Some(arn) = task.task_arn() else { continue };
        seen.insert(arn.to_owned());
        let at = task
            .stopped_at()
            .or(task.created_at())
            .map_or(0.0, |t| t.as_secs_f64());
        if at < since {
            continue;
        }
        let short = arn.rsplit('/').next().unwrap_or(arn);
        stopped.push(StoppedTask {
            at,
            task: short.to_owned(),
            why: why_stopped(task),
        });
    }
    stopped.sort_by(|a, b| a.at.total_cmp(&b.at));
    Ok(stopped)
}

/// The note for a failed ECS call that ends the watching: always for an unexpected
/// error, only with `-v` for AccessDenied (a role without the ECS permissions is a
/// choice, not a fault).
fn stop_note<E, R>(doing: &str, e: &SdkError<E, R>, verbose: bool) -> Option<String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    (!is_access_denied(e) || verbose).then(|| {
        format!(
            "not showing ECS service events and stopped tasks ({doing}: {})",
            describe_error(e)
        )
    })
}

/// The task's stopped reason with each non-zero exit or container reason, e.g.
/// `Essential container in task exited; container app: exit code 1`.
fn why_stopped(task: &Task) -> String {
    let mut why = task.stopped_reason().unwrap_or("stopped").to_owned();
    for c in task.containers() {
        let name = c.name().unwrap_or("?");
        match (c.reason(), c.exit_code()) {
            (Some(reason), _) => why.push_str(&format!("; container {name}: {reason}")),
            (None, Some(code)) if code != 0 => {
                why.push_str(&format!("; container {name}: exit code {code}"));
            }
            _ => {}
        }
    }
    sanitize::line(&why)
}

/// The cluster of a service ARN: `arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`; the
/// old `service/NAME` form belongs to the `default` cluster.
fn cluster_of(service_arn: &str) -> String {
    let resource = service_arn.rsplit_once(":service/").map_or("", |(_, r)| r);
    match resource.split_once('/') {
        Some((cluster, _)) => cluster.to_owned(),
        None => "default".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_comes_from_the_service_arn() {
        assert_eq!(
            cluster_of("arn:aws:ecs:eu-west-1:1:service/prod-cluster/web"),
            "prod-cluster"
        );
        assert_eq!(cluster_of("arn:aws:ecs:eu-west-1:1:service/web"), "default");
    }

    #[test]
    fn a_stopped_reason_is_one_line_of_plain_text() {
        use aws_sdk_ecs::types::Container;
        let task = Task::builder()
            .stopped_reason("Essential container exited\n::error::pwned \x1b]8;;http://evil\x07x")
            .containers(
                Container::builder()
                    .name("app")
                    .reason("\x1b[31mOutOfMemory\x1b[0m")
                    .build(),
            )
            .build();
        assert_eq!(
            why_stopped(&task),
            "Essential container exited ::error::pwned x; container app: OutOfMemory"
        );
    }
}
