//! The `destroy` subcommand.

use crate::cli::DestroyArgs;
use crate::error::{CommandResult, Failure};

/// Runs `deployer destroy`.
pub async fn run(_args: DestroyArgs) -> CommandResult {
    Err(Failure::internal("`destroy` is not implemented yet"))
}
