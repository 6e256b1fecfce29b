//! What `deployer status` prints: one stack (`--stack-name`), or an environment and
//! its services (`--config --environment`) as a table with the details that need
//! attention below it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{paint, sanitize, status_style};
use crate::aws::service_state::{DeploymentState, EcsServiceState, TargetHealth};

/// What `status --stack-name` prints.
#[derive(Debug, Serialize)]
pub(crate) struct StatusReport {
    /// Stack name.
    pub stack_name: String,
    /// Stack id.
    pub stack_id: Option<String>,
    /// Current status.
    pub status: String,
    /// CloudFormation's reason for it.
    pub status_reason: Option<String>,
    /// Root cause of the last operation's failure, when it failed.
    pub last_failure: Option<String>,
    /// Stack outputs.
    pub outputs: BTreeMap<String, String>,
    /// Termination protection.
    pub termination_protection: bool,
    /// Last update (or creation) time, RFC 3339.
    pub last_updated: Option<String>,
}

/// The text form of one stack's status.
pub(crate) fn render_stack(r: &StatusReport) -> String {
    let mut out = format!(
        "Stack:                  {}\nStatus:                 {}\n",
        r.stack_name, r.status
    );
    if let Some(reason) = &r.status_reason {
        out.push_str(&format!("Status reason:          {reason}\n"));
    }
    out.push_str(&format!(
        "Termination protection: {}\n",
        if r.termination_protection {
            "on"
        } else {
            "off"
        }
    ));
    if let Some(t) = &r.last_updated {
        out.push_str(&format!("Last updated:           {t}\n"));
    }
    if !r.outputs.is_empty() {
        out.push_str("Outputs:\n");
        for (k, v) in &r.outputs {
            out.push_str(&format!("  {k} = {v}\n"));
        }
    }
    if let Some(cause) = &r.last_failure {
        out.push_str(&format!("Last failure:           {cause}\n"));
    }
    out
}

/// A stack of the environment, as far as CloudFormation says.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StackLine {
    /// Its name.
    pub name: String,
    /// Its status; `None` when it does not exist.
    pub status: Option<String>,
    /// CloudFormation's reason for the status.
    pub status_reason: Option<String>,
    /// Its URL output (`EnvironmentUrl`, `ServiceUrl`).
    pub url: Option<String>,
}

/// One service of the environment.
#[derive(Debug, Serialize)]
pub(crate) struct ServiceStatus {
    /// The service's name in deploy.yaml.
    pub service: String,
    /// Its stack.
    pub stack: StackLine,
    /// The ECS service: tasks, deployments, the running image (when it could be read).
    pub ecs: Option<EcsServiceState>,
    /// Its target group's health (when it could be read).
    pub targets: Option<TargetHealth>,
    /// What could not be read, and why.
    pub problems: Vec<String>,
}

/// What `status --config --environment` prints.
#[derive(Debug, Serialize)]
pub(crate) struct EnvironmentStatus {
    /// `application:`.
    pub application: String,
    /// The environment.
    pub environment: String,
    /// The region read.
    pub region: String,
    /// The environment stack.
    pub environment_stack: StackLine,
    /// Each service, by name.
    pub services: Vec<ServiceStatus>,
}

/// The text form of an environment's status; `color` paints statuses.
pub(crate) fn render_environment(r: &EnvironmentStatus, color: bool) -> String {
    let env = &r.environment_stack;
    let mut out = format!(
        "Environment {} ({}, {}): {}",
        r.environment,
        env.name,
        r.region,
        painted_status(env.status.as_deref(), color)
    );
    if let Some(url) = &env.url {
        out.push_str(&format!("  {}", sanitize::line(url)));
    }
    out.push('\n');
    if let Some(reason) = env
        .status_reason
        .as_ref()
        .filter(|_| is_bad(env.status.as_deref()))
    {
        out.push_str(&format!("  {}\n", sanitize::line(reason)));
    }
    out.push('\n');
    let header = [
        "SERVICE",
        "STACK",
        "IMAGE",
        "TASKS",
        "DEPLOYMENT",
        "TARGETS",
        "URL",
    ];
    let rows: Vec<[String; 7]> = r.services.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 7], stack_status: Option<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let padded = if i + 1 == cells.len() {
                cell.clone()
            } else {
                format!("{cell:<w$}  ")
            };
            // Only the stack status is painted, after padding (escapes have no width).
            match stack_status {
                Some(status) if i == 1 => {
                    text.push_str(&paint(color, status_style(status), &padded))
                }
                _ => text.push_str(&padded),
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(&header.map(str::to_owned), None));
    for (cells, s) in rows.iter().zip(&r.services) {
        out.push_str(&line(cells, s.stack.status.as_deref()));
    }
    let details: Vec<String> = r.services.iter().flat_map(details).collect();
    if !details.is_empty() {
        out.push('\n');
        for d in details {
            out.push_str(&format!("{d}\n"));
        }
    }
    out
}

/// A service's table row (untrusted text cleaned to one line).
fn row(s: &ServiceStatus) -> [String; 7] {
    let stack = s
        .stack
        .status
        .clone()
        .unwrap_or_else(|| "not deployed".to_owned());
    let (image, tasks, deployment) = match &s.ecs {
        Some(ecs) => (
            match (&ecs.image_digest, &ecs.image) {
                (Some(d), _) => short_digest(d),
                (None, Some(image)) => image.clone(),
                (None, None) => "-".to_owned(),
            } + &ecs.revision.map(|r| format!(" (r{r})")).unwrap_or_default(),
            format!(
                "{}/{}{}",
                ecs.running,
                ecs.desired,
                if ecs.pending > 0 {
                    format!(" +{} pending", ecs.pending)
                } else {
                    String::new()
                }
            ),
            ecs.current.as_ref().map_or("-".to_owned(), |d| {
                d.rollout_state.clone().unwrap_or_else(|| d.status.clone())
            }),
        ),
        None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
    };
    let targets = s.targets.as_ref().map_or("-".to_owned(), |t| {
        if t.counts.is_empty() {
            "none".to_owned()
        } else {
            t.counts
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    });
    [
        s.service.clone(),
        stack,
        image,
        tasks,
        deployment,
        targets,
        s.stack.url.clone().unwrap_or_else(|| "-".to_owned()),
    ]
    .map(|c| sanitize::line(&c))
}

/// The lines under the table for one service: a rollout that is not complete, older
/// deployments still running, unhealthy targets' reasons, a failed stack's reason,
/// what could not be read.
fn details(s: &ServiceStatus) -> Vec<String> {
    let name = &s.service;
    let mut out = Vec::new();
    if let Some(reason) = s
        .stack
        .status_reason
        .as_ref()
        .filter(|_| is_bad(s.stack.status.as_deref()))
    {
        out.push(format!("{name}: stack {}: {reason}", s.stack.name));
    }
    if let Some(ecs) = &s.ecs {
        if let Some(d) = ecs
            .current
            .as_ref()
            .filter(|d| d.rollout_state.as_deref() != Some("COMPLETED"))
        {
            out.push(format!("{name}: {}", deployment_line(d)));
        }
        for d in &ecs.others {
            out.push(format!("{name}: still running: {}", deployment_line(d)));
        }
        if let Some(image) = ecs.image.as_ref().filter(|_| ecs.image_digest.is_none()) {
            out.push(format!("{name}: image {image} is not pinned by digest"));
        }
    }
    if let Some(t) = &s.targets {
        for reason in &t.reasons {
            out.push(format!("{name}: targets: {reason}"));
        }
    }
    for p in &s.problems {
        out.push(format!("{name}: {p}"));
    }
    out.into_iter().map(|l| sanitize::line(&l)).collect()
}

fn deployment_line(d: &DeploymentState) -> String {
    let mut line = format!(
        "deployment {} {} {}: {}/{} running",
        d.id,
        d.status,
        d.rollout_state.as_deref().unwrap_or("-"),
        d.running,
        d.desired
    );
    if d.failed_tasks > 0 {
        line.push_str(&format!(", {} failed tasks", d.failed_tasks));
    }
    if let Some(reason) = &d.rollout_state_reason {
        line.push_str(&format!(" ({reason})"));
    }
    line
}

/// `sha256:` and the first 12 hex digits, as `docker images` shortens ids.
fn short_digest(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", &hex[..hex.len().min(12)]),
        None => digest.to_owned(),
    }
}

fn painted_status(status: Option<&str>, color: bool) -> String {
    match status {
        Some(s) => paint(color, status_style(s), s),
        None => "not deployed".to_owned(),
    }
}

fn is_bad(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.ends_with("_FAILED") || s.contains("ROLLBACK"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str, status: Option<&str>, url: Option<&str>) -> StackLine {
        StackLine {
            name: name.to_owned(),
            status: status.map(str::to_owned),
            status_reason: None,
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn the_environment_table_has_a_row_per_service_and_details_below() {
        let deployment =
            |id: &str, status: &str, rollout: &str, reason: Option<&str>| DeploymentState {
                id: id.to_owned(),
                status: status.to_owned(),
                rollout_state: Some(rollout.to_owned()),
                rollout_state_reason: reason.map(str::to_owned),
                task_definition: None,
                desired: 2,
                running: 1,
                pending: 1,
                failed_tasks: 0,
                created_at: None,
            };
        let report = EnvironmentStatus {
            application: "hello".into(),
            environment: "staging".into(),
            region: "eu-west-1".into(),
            environment_stack: stack(
                "hello-staging",
                Some("UPDATE_COMPLETE"),
                Some("https://staging.example.com/"),
            ),
            services: vec![
                ServiceStatus {
                    service: "docs".into(),
                    stack: stack("hello-staging-docs", None, None),
                    ecs: None,
                    targets: None,
                    problems: vec![],
                },
                ServiceStatus {
                    service: "web".into(),
                    stack: stack(
                        "hello-staging-web",
                        Some("UPDATE_IN_PROGRESS"),
                        Some("https://app.staging.example.com/"),
                    ),
                    ecs: Some(EcsServiceState {
                        status: "ACTIVE".into(),
                        desired: 2,
                        running: 1,
                        pending: 1,
                        image: Some(format!("r@sha256:{}", "a".repeat(64))),
                        image_digest: Some(format!("sha256:{}", "a".repeat(64))),
                        revision: Some(7),
                        current: Some(deployment(
                            "ecs-svc/2",
                            "PRIMARY",
                            "IN_PROGRESS",
                            Some("in progress."),
                        )),
                        others: vec![deployment("ecs-svc/1", "ACTIVE", "COMPLETED", None)],
                    }),
                    targets: Some(TargetHealth {
                        counts: BTreeMap::from([("healthy".into(), 1), ("initial".into(), 1)]),
                        reasons: vec![
                            "Elb.RegistrationInProgress: Target registration is in progress".into(),
                        ],
                    }),
                    problems: vec![],
                },
            ],
        };
        let text = render_environment(&report, false);
        assert_eq!(
            text,
            "\
Environment staging (hello-staging, eu-west-1): UPDATE_COMPLETE  https://staging.example.com/

SERVICE  STACK               IMAGE                     TASKS           DEPLOYMENT   TARGETS               URL
docs     not deployed        -                         -               -            -                     -
web      UPDATE_IN_PROGRESS  sha256:aaaaaaaaaaaa (r7)  1/2 +1 pending  IN_PROGRESS  1 healthy, 1 initial  https://app.staging.example.com/

web: deployment ecs-svc/2 PRIMARY IN_PROGRESS: 1/2 running (in progress.)
web: still running: deployment ecs-svc/1 ACTIVE COMPLETED: 1/2 running
web: targets: Elb.RegistrationInProgress: Target registration is in progress
"
        );
        let coloured = render_environment(&report, true);
        assert!(
            coloured.contains("\x1b[32mUPDATE_COMPLETE\x1b[0m"),
            "{coloured}"
        );
    }
}
