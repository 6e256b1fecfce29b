//! One module per subcommand. Each reads its arguments, calls the layers below (`engine`, `cfn`,
//! `ecr` + `oci-push`, `config`/`template`/`parameters`) and reports through `output`.

pub(crate) mod app_env;
pub(crate) mod apply;
pub(crate) mod bootstrap;
pub(crate) mod deploy;
pub(crate) mod destroy;
pub(crate) mod discard;
pub(crate) mod local_auth;
pub(crate) mod logs;
pub(crate) mod preview;
pub(crate) mod promote;
pub(crate) mod push;
pub(crate) mod rollback;
pub(crate) mod status;

use crate::cli::Command;
use crate::error::CommandResult;
use crate::output::Printer;

/// Runs one subcommand.
pub(crate) async fn run(command: Command, printer: &Printer) -> CommandResult {
    match command {
        Command::Push(args) => push::run(args, printer).await,
        Command::Deploy(args) => deploy::run(*args, printer).await,
        Command::Apply(args) => apply::run(*args, printer).await,
        Command::Promote(args) => promote::run(args, printer).await,
        Command::Rollback(args) => rollback::run(args, printer).await,
        Command::Status(args) => status::run(args, printer).await,
        Command::Logs(args) => logs::run(args, printer).await,
        Command::Preview(args) => preview::run(args, printer).await,
        Command::Destroy(args) => destroy::run(args, printer).await,
        Command::Discard(args) => discard::run(args, printer).await,
        Command::Bootstrap(args) => bootstrap::run(args, printer).await,
        Command::LocalAuth(args) => local_auth::run(args, printer).await,
    }
}
