//! The `status` subcommand.

use crate::cli::StatusArgs;
use crate::error::{CommandResult, Failure};

/// Runs `deployer status`.
pub async fn run(_args: StatusArgs) -> CommandResult {
    Err(Failure::internal("`status` is not implemented yet"))
}
