//! The `destroy` subcommand: delete a stack, carefully.

use std::process::ExitCode;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackStatus;
use serde::Serialize;

use crate::cfn::stack;
use crate::cfn::wait::{Deadline, duration_input};
use crate::cli::DestroyArgs;
use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer, prompt};

/// What `destroy --output json` prints.
#[derive(Debug, Serialize)]
struct DestroyReport<'a> {
    /// Stack name.
    stack_name: &'a str,
    /// Whether there was a stack to delete.
    existed: bool,
    /// Whether it is gone now.
    deleted: bool,
}

/// Runs `deployer destroy`.
pub(crate) async fn run(args: DestroyArgs, printer: &Printer) -> CommandResult {
    let timeout = duration_input("--wait-timeout", &args.wait_timeout)?;
    let terminal = printer.terminal();
    let sdk = crate::aws::sdk_config().await?;
    let client = Client::new(&sdk);
    let name = &args.stack_name;
    let Some(found) = stack::describe(&client, name).await? else {
        report(
            printer,
            name,
            false,
            &format!("Stack {name} does not exist: nothing to delete."),
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    if found.enable_termination_protection() == Some(true) {
        return Err(Failure::failed(format!(
            "stack {name} has termination protection on, so it will not be deleted. If you really mean it, turn it off first:\n  \
             aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {name}"
        )));
    }
    if !args.retain.is_empty() && found.stack_status() != Some(&StackStatus::DeleteFailed) {
        return Err(Failure::input(format!(
            "--retain only applies to a stack whose delete failed (DELETE_FAILED); stack {name} is {}: \
             run `deployer destroy --stack-name {name}` without --retain",
            stack::status_of(&found)
        )));
    }
    if !args.yes {
        if !terminal.interactive {
            return Err(Failure::input(format!(
                "not on a terminal, so there is nobody to confirm deleting stack {name}: pass --yes to delete it"
            )));
        }
        let question = format!(
            "Delete stack {name} ({}) and all its resources?",
            stack::status_of(&found)
        );
        match prompt::confirm(&question, support::shutdown_signal()).await? {
            Some(true) => {}
            Some(false) => {
                return Err(Failure::failed(format!(
                    "stack {name} was not deleted: the answer was no"
                )));
            }
            None => {
                return Err(Failure::interrupted(format!(
                    "interrupted at the prompt: stack {name} was not deleted"
                )));
            }
        }
    }
    let id = found.stack_id().unwrap_or(name).to_owned();
    let mut progress = printer.progress();
    if args.retain.is_empty() {
        progress.line(&format!("Deleting stack {name}"));
    } else {
        progress.line(&format!(
            "Deleting stack {name}, keeping {} in the account",
            args.retain.join(", ")
        ));
    }
    stack::delete_and_wait(
        &client,
        &id,
        name,
        &args.retain,
        Deadline::after(timeout),
        &mut progress,
    )
    .await?;
    progress.finish();
    report(printer, name, true, &format!("Deleted stack {name}."))?;
    Ok(ExitCode::SUCCESS)
}

/// The result: the sentence, or with `--output json` the same as a document.
fn report(printer: &Printer, name: &str, existed: bool, text: &str) -> Result<(), Failure> {
    match printer.format() {
        OutputFormat::Text => {
            printer.result_line(text, true);
            Ok(())
        }
        OutputFormat::Json => printer.json(&DestroyReport {
            stack_name: name,
            existed,
            deleted: true,
        }),
    }
}
