//! The `discard` subcommand: delete the change set a plan names, so a plan that will
//! not be applied (its tests failed, or nobody approves it) leaves nothing behind that
//! could still be executed. A change set that is already gone is success: discarding
//! twice, after an apply, or after someone tidied up by hand all end where wanted.
//!
//! Only the change set: the empty REVIEW_IN_PROGRESS stack of a first plan stays (it
//! holds no resources, the next plan creates into it, and a plan role may not delete
//! stacks).

use std::process::ExitCode;

use aws_sdk_cloudformation::Client;
use serde::Serialize;

use crate::cfn::change_set;
use crate::cli::DiscardArgs;
use crate::engine::plan_file::PlanFile;
use crate::engine::release::file::{AnyPlan, read_any};
use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer};

/// What `discard --output json` prints.
#[derive(Debug, Serialize)]
struct DiscardReport<'a> {
    /// Stack name.
    stack_name: &'a str,
    /// The change set the plan names (`None`: the plan has none).
    change_set_name: Option<&'a str>,
    /// Whether the change set is gone now.
    discarded: bool,
}

/// What `discard --output json` prints for a release plan.
#[derive(Debug, Serialize)]
struct ReleaseDiscardReport<'a> {
    application: &'a str,
    environment: &'a str,
    stacks: Vec<DiscardReport<'a>>,
}

/// Runs `deployer discard`.
pub(crate) async fn run(args: DiscardArgs, printer: &Printer) -> CommandResult {
    let file = args.plan.display().to_string();
    let release = match read_any(&args.plan)? {
        AnyPlan::Stack(plan) => {
            let client = client_for(&plan).await?;
            let text = discard_one(client.as_ref(), &plan, &file).await?;
            report(printer, &plan, &text)?;
            return Ok(ExitCode::SUCCESS);
        }
        AnyPlan::Release(release) => release,
    };
    // Every stack's change set, even when one cannot be deleted; then say which.
    let sdk = crate::aws::sdk_config_in(Some(&release.region)).await?;
    let client = Client::new(&sdk);
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for stack in &release.stacks {
        match discard_one(Some(&client), &stack.plan, &file).await {
            Ok(line) => lines.push(line),
            Err(failure) => failures.push(failure.message),
        }
    }
    match printer.format() {
        OutputFormat::Text => {
            for line in &lines {
                printer.result_line(line, true);
            }
        }
        OutputFormat::Json => printer.json(&ReleaseDiscardReport {
            application: &release.application,
            environment: &release.environment,
            stacks: release
                .stacks
                .iter()
                .map(|s| DiscardReport {
                    stack_name: &s.plan.stack_name,
                    change_set_name: s.plan.change_set_name.as_deref(),
                    discarded: true,
                })
                .collect(),
        })?,
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::failed(failures.join("\n")))
    }
}

/// A client in the plan's region, when the plan has a change set to delete.
async fn client_for(plan: &PlanFile) -> Result<Option<Client>, Failure> {
    if plan.change_set_id.is_none() {
        return Ok(None);
    }
    let sdk = crate::aws::sdk_config_in(Some(&plan.region)).await?;
    Ok(Some(Client::new(&sdk)))
}

/// Deletes the change set of one stack's plan; returns the sentence saying so.
async fn discard_one(
    client: Option<&Client>,
    plan: &PlanFile,
    file: &str,
) -> Result<String, Failure> {
    let (Some(stack_id), Some(id), Some(client)) = (&plan.stack_id, &plan.change_set_id, client)
    else {
        return Ok(format!(
            "Nothing to discard for stack {}: plan {file} has no change set for it ({}).",
            plan.stack_name,
            if plan.recreate.is_some() {
                "it is created by apply, which alone makes its change set"
            } else {
                "it has no changes"
            }
        ));
    };
    let name = plan.change_set_name.as_deref().unwrap_or(id);
    change_set::delete(client, stack_id, id)
        .await
        .map_err(|f| {
            Failure::failed(format!(
                "cannot discard change set {name} of stack {} (plan {file}): {}",
                plan.stack_name, f.message
            ))
        })?;
    Ok(format!(
        "Discarded change set {name} of stack {} (plan {file}): it can no longer be executed.",
        plan.stack_name
    ))
}

/// The result: the sentence, or with `--output json` the same as a document.
fn report(printer: &Printer, plan: &PlanFile, text: &str) -> Result<(), Failure> {
    match printer.format() {
        OutputFormat::Text => {
            printer.result_line(text, true);
            Ok(())
        }
        OutputFormat::Json => printer.json(&DiscardReport {
            stack_name: &plan.stack_name,
            change_set_name: plan.change_set_name.as_deref(),
            discarded: true,
        }),
    }
}
