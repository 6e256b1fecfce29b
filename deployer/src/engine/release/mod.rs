//! Releasing one environment of an application: the environment stack and its
//! service stacks, planned together, shown as one preview (a section per stack, the
//! environment first), written as one plan (`file`, version 3), and applied in order:
//! the environment first, followed to its end; then the services in parallel (at most
//! [`PARALLEL_SERVICES`] at a time), each followed and each failure explained on its
//! own. Nothing is executed if any planned stack changed since it was planned.
//!
//! `deploy --config deploy.yaml --environment E` (version 2) and, through the same
//! [`run`], `promote` and `rollback` (which only choose the images) use it.

mod apply;
pub(crate) mod file;
mod plan;
pub(crate) mod spec;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use aws_sdk_cloudformation::Client;

pub(crate) use self::apply::{apply_plan_in, join_bounded};
use self::file::{ReleasePlan, ReleaseStack};
pub(crate) use self::plan::PlannedStack;
pub(crate) use self::spec::{ReleaseSpec, StackSpec};
use crate::cli::TransferArgs;
use crate::engine::Ending;
use crate::engine::plan_file;
use crate::error::{CommandResult, EXIT_CHANGES_PENDING, Failure};
use crate::output::release::{ReleaseReport, StackResult};
use crate::output::{Printer, prompt};

/// At most this many service stacks are executed at once.
pub(crate) const PARALLEL_SERVICES: usize = 4;

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageChoice {
    /// Push this image (`oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`) to the
    /// service's repository first, and deploy its digest-pinned URI.
    Push(String),
    /// Deploy this digest-pinned URI (already in the repository); nothing is pushed.
    Uri(String),
    /// Keep the image the service's stack runs now (its `ImageUri` parameter).
    Keep,
}

/// How far a release goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReleaseMode {
    /// Show every stack's changes, then delete every change set made.
    DryRun,
    /// Leave the change sets and write the release plan here, for `apply`.
    PlanOut(PathBuf),
    /// Execute without asking.
    Yes,
    /// Ask once (on a terminal) before executing.
    Ask,
}

/// One release to run.
pub(crate) struct ReleaseRequest<'a> {
    /// The stacks of the environment, resolved from deploy.yaml.
    pub spec: ReleaseSpec,
    /// `--service`: only these services' stacks (the environment must exist); empty:
    /// the environment and every service.
    pub services: &'a [String],
    /// How far to go.
    pub mode: ReleaseMode,
    /// Service → where its image comes from (absent: [`ImageChoice::Keep`]).
    pub images: BTreeMap<String, ImageChoice>,
    /// How images travel (needed for [`ImageChoice::Push`]).
    pub transfer: Option<&'a TransferArgs>,
    /// `--commit`.
    pub commit: Option<&'a str>,
    /// `--detailed-exitcode`: changes pending exit 2.
    pub detailed_exitcode: bool,
    /// Deploy a commit that does not descend from the one a stack records (`deploy
    /// --allow-out-of-order`; always for previews: a pull request's branch is force-pushed).
    pub allow_out_of_order: bool,
}

/// Runs a release: resolve the images, plan every stack, show them, then (by mode)
/// delete the change sets, write the plan, or execute it.
pub(crate) async fn run(request: ReleaseRequest<'_>, printer: &Printer) -> CommandResult {
    for service in request.services {
        if !request
            .spec
            .stacks
            .iter()
            .any(|s| s.service.as_deref() == Some(service.as_str()))
        {
            return Err(Failure::input(format!(
                "--service {service}: deploy.yaml has no such service (its services: {})",
                request
                    .spec
                    .stacks
                    .iter()
                    .filter_map(|s| s.service.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if matches!(request.mode, ReleaseMode::Ask) {
        prompt::check_someone_answers(printer.terminal(), false, ", or --dry-run to only look")?;
    }
    let spec = request.spec.clone();
    let sdk = crate::aws::sdk_config_in(Some(&spec.region)).await?;
    let client = Client::new(&sdk);
    let images = plan::resolve_images(&request, &spec, &sdk, &client, printer).await?;
    let planned = match plan::plan_all(&request, &spec, &images, &client, printer).await {
        Ok(planned) => planned,
        Err((made, failure)) => {
            let left = discard_planned(&client, &made).await;
            let mut report = ReleaseReport::new(&spec.application, &spec.environment);
            for stack in &made {
                report.stacks.push(StackResult::planned(stack, "discarded"));
            }
            report.failure = Some(failure.message.clone());
            report.print(printer);
            let message = if made.is_empty() {
                failure.message
            } else {
                format!(
                    "{}\nThe change sets planned before were deleted again{left}; nothing was executed",
                    failure.message
                )
            };
            return Err(Failure {
                kind: failure.kind,
                message,
            });
        }
    };
    let has_changes = planned.iter().any(|s| s.ending != Ending::NoChanges);
    let pending = if request.detailed_exitcode && has_changes {
        ExitCode::from(EXIT_CHANGES_PENDING)
    } else {
        ExitCode::SUCCESS
    };
    let mut report = ReleaseReport::new(&spec.application, &spec.environment);
    match &request.mode {
        ReleaseMode::DryRun => {
            for stack in &planned {
                report.stacks.push(StackResult::planned(stack, "dry-run"));
            }
            report.verdict = Some(if has_changes {
                format!(
                    "Dry run: environment {} has changes pending.",
                    spec.environment
                )
            } else {
                format!(
                    "No changes: environment {} is up to date.",
                    spec.environment
                )
            });
            report.print(printer);
            Ok(pending)
        }
        ReleaseMode::PlanOut(path) => {
            let release = release_plan(&spec, &planned);
            if let Err(failure) = file::write(path, &release) {
                let left = discard_planned(&client, &planned).await;
                return Err(Failure::failed(format!(
                    "{}; the change sets were deleted again{left}, nothing was executed",
                    failure.message
                )));
            }
            for stack in &planned {
                report.stacks.push(StackResult::planned(stack, "planned"));
            }
            report.plan_file = Some(path.display().to_string());
            report.verdict = Some(if has_changes {
                format!(
                    "Planned: environment {} has changes pending; apply them with `deployer apply {}`.",
                    spec.environment,
                    path.display()
                )
            } else {
                format!(
                    "No changes: environment {} is up to date (plan {} applies nothing).",
                    spec.environment,
                    path.display()
                )
            });
            report.print(printer);
            Ok(pending)
        }
        ReleaseMode::Yes | ReleaseMode::Ask => {
            let release = release_plan(&spec, &planned);
            if !has_changes {
                for stack in &planned {
                    report
                        .stacks
                        .push(StackResult::planned(stack, "no-changes"));
                }
                report.verdict = Some(format!(
                    "No changes: environment {} is up to date.",
                    spec.environment
                ));
                report.print(printer);
                return Ok(ExitCode::SUCCESS);
            }
            if matches!(request.mode, ReleaseMode::Ask)
                && prompt::asks_to_execute(printer.terminal(), false)
            {
                let question = format!(
                    "Execute the change sets of {} stack(s)?",
                    planned
                        .iter()
                        .filter(|s| s.ending != Ending::NoChanges)
                        .count()
                );
                match prompt::confirm(&question, crate::engine::signal_interrupt()).await? {
                    Some(true) => {}
                    answer => {
                        let left = discard_planned(&client, &planned).await;
                        let why = if answer.is_none() {
                            "interrupted"
                        } else {
                            "the answer was no"
                        };
                        return Err(Failure::failed(format!(
                            "not executed: {why}; the change sets were deleted{left}"
                        )));
                    }
                }
            }
            // Images pushed to `--registry` (DEPLOYER_REGISTRY) are looked up there.
            let registry = request.transfer.and_then(|t| t.registry.as_deref());
            apply_plan_in(&release, None, registry, &sdk, printer).await
        }
    }
}

/// The release plan of what was planned.
fn release_plan(spec: &ReleaseSpec, planned: &[PlannedStack]) -> ReleasePlan {
    ReleasePlan {
        version: file::VERSION,
        kind: file::KIND.to_owned(),
        application: spec.application.clone(),
        environment: spec.environment.clone(),
        region: spec.region.clone(),
        created_at: plan_file::now(),
        stacks: planned
            .iter()
            .filter_map(|s| {
                Some(ReleaseStack {
                    service: s.service.clone(),
                    plan: s.plan.clone()?,
                    environment_inputs: s.environment_inputs.clone(),
                })
            })
            .collect(),
    }
}

/// Deletes the change sets planned stacks left (a failure, a "no", a plan that cannot
/// be written); returns a note on any that could not be deleted ("" when all were).
async fn discard_planned(client: &Client, planned: &[PlannedStack]) -> String {
    let mut left = Vec::new();
    for stack in planned {
        let Some(plan) = &stack.plan else { continue };
        if let (Some(stack_id), Some(id)) = (&plan.stack_id, &plan.change_set_id)
            && let Err(failure) = crate::cfn::change_set::delete(client, stack_id, id).await
        {
            left.push(failure.message);
        }
    }
    if left.is_empty() {
        String::new()
    } else {
        format!(" (except: {})", left.join("; "))
    }
}
