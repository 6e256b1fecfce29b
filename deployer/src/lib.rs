//! The deployer: push a container image to ECR without a Docker daemon, and create or
//! update a CloudFormation stack through change sets.
//!
//! Layers, each calling only down:
//! - `cli`: the argument types (global flags: `--output`, `--color`, `-q`, `-v`)
//! - `commands`: one thin module per subcommand: read the arguments, call the layers,
//!   report (`deploy` split by phase)
//! - `config`, `template`, `parameters`: deploy.yaml and the offline checks
//! - `cfn`: the CloudFormation conversation (stack, change sets, events, waiting)
//! - `ecr` (+ the `oci-push` crate): the repository, the login, the image push
//! - `output`: the one place that decides TTY vs CI vs JSON, colour and verbosity
//! - `aws`: SDK configuration and error classification; `error`: the exit codes
//!
//! Only [`main_entry`] is public: the binary and its tests go through the command line.

mod aws;
mod cfn;
mod cli;
mod commands;
mod config;
mod ecr;
mod error;
mod git;
mod output;
mod parameters;
mod template;

use clap::Parser;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::error::Failure;
use crate::output::Printer;

/// Parses the command line, runs the subcommand on a tokio runtime and turns the
/// outcome into the documented exit code (0 ok, 1 failed, 2 bad usage or input).
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
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

/// Prints the failure (`error: …` on stderr) and returns its exit code.
fn report(printer: &Printer, failure: &Failure) -> ExitCode {
    printer.error(&failure.message);
    ExitCode::from(failure.exit_code())
}
