//! The deployer: push a container image to ECR without a Docker daemon, and create or
//! update a CloudFormation stack through change sets.
//!
//! Layers, each calling only down:
//! - `cli`: the argument types (global flags: `--output`, `--color`, `-q`, `-v`)
//! - `commands`: one thin module per subcommand: read the arguments, call the layers
//! - `engine`: the change-set flow deploy, apply and bootstrap share (plan, execute,
//!   follow, clean up, the plan file, apply's checks) and the multi-stack `release`
//! - `config`, `template`, `parameters`: deploy.yaml and the offline checks
//! - `app`: deploy.yaml version 2, an application's environments and services, and the
//!   stacks, parameters and listener rule priorities they make
//! - `cfn`: the CloudFormation conversation (stack, change sets, events, waiting)
//! - `ecr` (+ the `oci-push` crate): the repository, the login, the image push
//! - `output`: the one place that decides TTY vs CI vs JSON, colour and verbosity, and
//!   that untrusted text stays text; `redact`: secret values are never shown
//! - `aws`: SDK configuration and error classification; `error`: the exit codes
//!
//! Only [`main_entry`] is public: the binary and its tests go through the command line.

// Used by the release engine and the day-2 commands (issue 18), which are being built
// alongside it; until they call it, only its tests do.
#[cfg_attr(not(test), allow(dead_code))]
mod app;
mod aws;
mod cfn;
mod cli;
mod commands;
mod config;
mod ecr;
mod engine;
mod error;
mod git;
mod output;
mod parameters;
mod redact;
mod template;

use clap::Parser as _;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::error::Failure;
use crate::output::Printer;

/// Parses the command line, runs the subcommand on a tokio runtime and turns the
/// outcome into the documented exit code (`error::EXIT_CODES_HELP`).
pub fn main_entry() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let g = &cli.global;
    let printer = Printer::detect(g.output, g.color, g.quiet, g.verbose);
    printer.install_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return report(
                &printer,
                &Failure::internal(format!("cannot start the async runtime: {e}")),
            );
        }
    };
    let result = runtime.block_on(commands::run(cli.command, &printer));
    // Don't wait for blocking tasks: a confirmation prompt abandoned by Ctrl-C is still
    // blocked reading stdin, and waiting for it would hang the exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(failure) => report(&printer, &failure),
    }
}

/// Prints clap's message. `--help` and `--version` exit 0; a usage error exits 64 like
/// any other bad input (clap's own default, 2, is kept for "changes pending").
fn usage_error(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(error::EXIT_USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints the failure (`error: …` on stderr) and returns its exit code.
fn report(printer: &Printer, failure: &Failure) -> ExitCode {
    printer.error(&failure.message);
    ExitCode::from(failure.exit_code())
}
