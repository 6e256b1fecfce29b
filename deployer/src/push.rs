//! The `push` subcommand.

use crate::cli::PushArgs;
use crate::error::{CommandResult, Failure};

/// Runs `deployer push`.
pub async fn run(_args: PushArgs) -> CommandResult {
    Err(Failure::internal("`push` is not implemented yet"))
}
