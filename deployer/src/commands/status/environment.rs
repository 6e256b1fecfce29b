//! `status --config deploy.yaml --environment E`: the environment stack, then per
//! service its stack, the ECS service (tasks, current deployment and rollout, the image
//! it runs) and its targets' health, read from the service stack's outputs
//! (`ClusterName`, `ServiceName`, `TargetGroupArn`, `ServiceUrl`).
//!
//! A service that cannot be read in full (no stack yet, a missing permission) still
//! gets its row, with what could not be read said below the table: status is read-only
//! and shows as much as it can. Only a missing environment stack is a failure.

use std::path::Path;
use std::process::ExitCode;

use aws_sdk_cloudformation::Client as CfnClient;

use crate::aws::service_state::{ecs_service, target_health};
use crate::cfn::stack;
use crate::commands::app_env::{self, AppEnvironment};
use crate::error::{CommandResult, Failure};
use crate::output::status::{EnvironmentStatus, ServiceStatus, StackLine, render_environment};
use crate::output::{OutputFormat, Printer};

/// The clients `status` reads with.
pub(super) struct Clients {
    pub(super) cfn: CfnClient,
    pub(super) ecs: aws_sdk_ecs::Client,
    pub(super) elb: aws_sdk_elasticloadbalancingv2::Client,
}

/// Runs `status --config --environment`.
pub(super) async fn run(config: &Path, environment: &str, printer: &Printer) -> CommandResult {
    let app = app_env::load(config, environment)?;
    let sdk = crate::aws::sdk_config_in(app.region.as_deref()).await?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let clients = Clients {
        cfn: CfnClient::new(&sdk),
        ecs: aws_sdk_ecs::Client::new(&sdk),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
    };
    let report = environment_status(&clients, &app, &region).await?;
    match printer.format() {
        OutputFormat::Json => printer.json(&report)?,
        OutputFormat::Text => printer.stdout(&render_environment(&report, printer.color_stdout())),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the environment stack and every service of `app`.
pub(super) async fn environment_status(
    clients: &Clients,
    app: &AppEnvironment,
    region: &str,
) -> Result<EnvironmentStatus, Failure> {
    let env_name = app.environment_stack();
    let (environment_stack, _) = stack_line(&clients.cfn, &env_name, "EnvironmentUrl").await?;
    if environment_stack.status.is_none() {
        return Err(Failure::failed(format!(
            "environment {} is not deployed (no stack {env_name} in {region}): deploy it with \
             `deployer deploy --config deploy.yaml --environment {}`",
            app.environment, app.environment
        )));
    }
    let mut services = Vec::new();
    for service in &app.services {
        services.push(service_status(clients, app, service).await?);
    }
    Ok(EnvironmentStatus {
        application: app.application.clone(),
        environment: app.environment.clone(),
        region: region.to_owned(),
        environment_stack,
        services,
    })
}

/// One service: its stack, then ECS and the target group named by its outputs.
async fn service_status(
    clients: &Clients,
    app: &AppEnvironment,
    service: &str,
) -> Result<ServiceStatus, Failure> {
    let (line, outputs) =
        stack_line(&clients.cfn, &app.service_stack(service), "ServiceUrl").await?;
    let mut status = ServiceStatus {
        service: service.to_owned(),
        stack: line,
        ecs: None,
        targets: None,
        problems: Vec::new(),
    };
    if status.stack.status.is_none() {
        return Ok(status);
    }
    match (outputs.get("ClusterName"), outputs.get("ServiceName")) {
        (Some(cluster), Some(name)) => match ecs_service(&clients.ecs, cluster, name).await {
            Ok(Some(ecs)) => status.ecs = Some(ecs),
            Ok(None) => status.problems.push(format!(
                "ECS does not know service {name} in cluster {cluster}"
            )),
            Err(e) => status.problems.push(e.message),
        },
        _ => status.problems.push(
            "its stack has no ClusterName/ServiceName outputs (yet): tasks and image unknown"
                .to_owned(),
        ),
    }
    match outputs.get("TargetGroupArn") {
        Some(arn) => match target_health(&clients.elb, arn).await {
            Ok(h) => status.targets = Some(h),
            Err(e) => status.problems.push(e.message),
        },
        None => status
            .problems
            .push("its stack has no TargetGroupArn output (yet): target health unknown".to_owned()),
    }
    Ok(status)
}

/// A stack's line (status `None` when it does not exist) and its outputs.
async fn stack_line(
    cfn: &CfnClient,
    name: &str,
    url_output: &str,
) -> Result<(StackLine, std::collections::BTreeMap<String, String>), Failure> {
    let found = stack::describe(cfn, name).await?;
    let outputs = found.as_ref().map(stack::outputs).unwrap_or_default();
    Ok((
        StackLine {
            name: name.to_owned(),
            status: found.as_ref().map(|s| stack::status_of(s).to_owned()),
            status_reason: found
                .as_ref()
                .and_then(|s| s.stack_status_reason())
                .map(str::to_owned),
            url: outputs.get(url_output).cloned(),
        },
        outputs,
    ))
}
