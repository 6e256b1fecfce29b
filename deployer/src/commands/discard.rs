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
use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer};
use crate::plan_file::{self, PlanFile};

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

/// Runs `deployer discard`.
pub(crate) async fn run(args: DiscardArgs, printer: &Printer) -> CommandResult {
    let plan = plan_file::read(&args.plan)?;
    let file = args.plan.display().to_string();
    let (Some(stack_id), Some(id)) = (&plan.stack_id, &plan.change_set_id) else {
        report(
            printer,
            &plan,
            &format!(
                "Nothing to discard: plan {file} has no change set ({}).",
                if plan.recreate.is_some() {
                    "it recreates a dead stack, which only apply starts"
                } else {
                    "it has no changes"
                }
            ),
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    let sdk = crate::aws::sdk_config_in(Some(&plan.region)).await?;
    let client = Client::new(&sdk);
    let name = plan.change_set_name.as_deref().unwrap_or(id);
    change_set::delete(&client, stack_id, id)
        .await
        .map_err(|f| {
            Failure::failed(format!(
                "cannot discard change set {name} of stack {} (plan {file}): {}",
                plan.stack_name, f.message
            ))
        })?;
    report(
        printer,
        &plan,
        &format!(
            "Discarded change set {name} of stack {} (plan {file}): it can no longer be executed.",
            plan.stack_name
        ),
    )?;
    Ok(ExitCode::SUCCESS)
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
