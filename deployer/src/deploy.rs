//! The `deploy` subcommand.

use crate::cli::DeployArgs;
use crate::error::{CommandResult, Failure};

/// Runs `deployer deploy`.
pub async fn run(_args: DeployArgs) -> CommandResult {
    Err(Failure::internal("`deploy` is not implemented yet"))
}
