//! The deployer: push a container image to ECR without a Docker daemon, and create or
//! update a CloudFormation stack through change sets.
//!
//! One module per subcommand (`push`, `deploy`, `status`, `destroy`); `cli` holds the
//! argument types, `error` the exit-code contract, `output` how results are printed.

pub mod aws;
pub mod cli;
pub mod deploy;
pub mod destroy;
pub mod ecr;
pub mod error;
pub mod git;
pub mod local_auth;
pub mod output;
pub mod push;
pub mod signal;
pub mod status;

use clap::Parser;
use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::error::Failure;

/// Parses the command line, runs the subcommand on a tokio runtime and turns the
/// outcome into the documented exit code (0 ok, 1 failed, 2 bad usage or input).
pub fn main_entry() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return Failure::internal(format!("cannot start the async runtime: {e}")).report();
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Push(args) => push::run(args).await,
            Command::Deploy(args) => deploy::run(*args).await,
            Command::Status(args) => status::run(args).await,
            Command::Destroy(args) => destroy::run(args).await,
            Command::LocalAuth(args) => local_auth::run(args).await,
        }
    });
    // Don't wait for blocking tasks: a confirmation prompt abandoned by Ctrl-C is still
    // blocked reading stdin, and waiting for it would hang the exit.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}
