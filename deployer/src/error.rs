//! The exit-code contract and the one error type commands return.
//!
//! 0: deployed, or nothing to change. 1: the operation failed. 2: bad usage or input
//! (nothing was sent to AWS). With `deploy --dry-run --detailed-exitcode`, 2 means
//! "changes pending" instead, as `terraform plan -detailed-exitcode` does. 3: detached: the
//! AWS credentials expired while waiting, so the deployer stopped watching a stack
//! operation that goes on in CloudFormation (not a failed deploy). 130: stopped by
//! SIGINT/SIGTERM (an update in progress is cancelled first).

use std::process::ExitCode;

/// Why a command stopped. The kind picks the exit code; the message says what went
/// wrong and, wherever we know it, what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Failure {
    /// What kind of failure this is; decides the exit code.
    pub kind: FailureKind,
    /// One or more lines for the user, printed after `error: `.
    pub message: String,
}

/// The kinds of failure, each with its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Bad arguments, template or parameter values: exit 2, caught before any AWS call.
    Input,
    /// The operation ran and failed (AWS said no, the stack rolled back, time ran out): exit 1.
    Failed,
    /// A bug or an environment we cannot run in: exit 1.
    Internal,
    /// Stopped by SIGINT/SIGTERM: exit 130, as shells report a Ctrl-C.
    Interrupted,
    /// An AWS call was refused because the credentials expired (ExpiredToken): exit 1
    /// where nothing is running; a wait turns it into [`FailureKind::Detached`].
    CredentialsExpired,
    /// We stopped watching, but the stack operation goes on in CloudFormation (the
    /// credentials expired mid-wait): exit [`EXIT_DETACHED`], not a failed deploy.
    Detached,
}

/// The exit code of [`FailureKind::Detached`]: the outcome is not known here; the
/// operation goes on in CloudFormation (`deployer status` tells how it ended).
pub(crate) const EXIT_DETACHED: u8 = 3;

impl Failure {
    /// Bad input: the message must name the offending input and the rule it broke.
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Input,
            message: message.into(),
        }
    }
    /// The operation failed.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Failed,
            message: message.into(),
        }
    }
    /// Stopped by a signal; the message says what was done about the running operation.
    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Interrupted,
            message: message.into(),
        }
    }
    /// The stack operation goes on, but we stopped watching it; the message says how to
    /// follow it.
    pub(crate) fn detached(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Detached,
            message: message.into(),
        }
    }
    /// Something that should not happen.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: FailureKind::Internal,
            message: message.into(),
        }
    }
    /// The process exit code for this failure.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.kind {
            FailureKind::Input => 2,
            FailureKind::Failed | FailureKind::Internal | FailureKind::CredentialsExpired => 1,
            FailureKind::Detached => EXIT_DETACHED,
            FailureKind::Interrupted => 130,
        }
    }
}

/// What every subcommand returns.
pub(crate) type CommandResult = Result<ExitCode, Failure>;
