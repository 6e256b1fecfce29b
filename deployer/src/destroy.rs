//! The `destroy` subcommand: delete a stack, carefully.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use aws_sdk_cloudformation::Client;

use crate::cli::DestroyArgs;
use crate::deploy::poll::{Deadline, parse_duration};
use crate::deploy::stack_state::{self, status_of};
use crate::error::{CommandResult, Failure};
use crate::output::{Progress, Terminal};

/// Runs `deployer destroy`.
pub async fn run(args: DestroyArgs) -> CommandResult {
    let timeout = parse_duration(&args.wait_timeout)
        .map_err(|e| Failure::input(format!("--wait-timeout: {e}")))?;
    let terminal = Terminal::detect();
    let sdk = crate::aws::sdk_config().await?;
    let client = Client::new(&sdk);
    let name = &args.stack_name;
    let Some(stack) = stack_state::describe(&client, name).await? else {
        println!("Stack {name} does not exist: nothing to delete.");
        return Ok(ExitCode::SUCCESS);
    };
    if stack.enable_termination_protection() == Some(true) {
        return Err(Failure::failed(format!(
            "stack {name} has termination protection on, so it will not be deleted. If you really mean it, turn it off first:\n  \
             aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {name}"
        )));
    }
    if !args.yes {
        if !terminal.interactive {
            return Err(Failure::input(format!(
                "not on a terminal, so there is nobody to confirm deleting stack {name}: pass --yes to delete it"
            )));
        }
        eprint!(
            "Delete stack {name} ({}) and all its resources? [y/N] ",
            status_of(&stack)
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Failure::failed(format!("reading the answer: {e}")))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Failure::failed(format!(
                "stack {name} was not deleted: the answer was no"
            )));
        }
    }
    let id = stack.stack_id().unwrap_or(name).to_owned();
    let mut progress = Progress::new(terminal);
    progress.line(&format!("Deleting stack {name}"));
    stack_state::delete_and_wait(&client, &id, name, Deadline::after(timeout), &mut progress)
        .await?;
    println!("Deleted stack {name}.");
    Ok(ExitCode::SUCCESS)
}
