//! The exit-code contract and the one error type commands return.
//!
//! 0: deployed, or nothing to change. 1: the operation failed. 2: only ever "changes
//! pending" (`deploy --dry-run/--plan-out --detailed-exitcode`, as `terraform plan
//! -detailed-exitcode`), so a script can tell a pending change from a mistake. 3: the
//! deployer stopped watching (credentials expired) while CloudFormation goes on. 64
//! (`EX_USAGE` from sysexits.h): bad usage or input, clap's own usage errors included;
//! nothing was changed. 130: stopped by SIGINT/SIGTERM (an update in progress is
//! cancelled first).

use std::process::ExitCode;

/// The operation ran and failed.
pub(crate) const EXIT_FAILED: u8 = 1;
/// `deploy --dry-run/--plan-out --detailed-exitcode`: the change set has changes.
/// Nothing else exits 2.
pub(crate) const EXIT_CHANGES_PENDING: u8 = 2;
/// The deployer stopped following (e.g. its credentials expired mid-wait) while
/// CloudFormation carries on with the operation.
pub(crate) const EXIT_DETACHED: u8 = 3;
/// Bad usage or input (sysexits.h `EX_USAGE`), found before anything was changed.
pub(crate) const EXIT_USAGE: u8 = 64;
/// Stopped by SIGINT/SIGTERM, as shells report a Ctrl-C.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// The contract as `--help` shows it (top level and `deploy --help`); README.md's
/// "Exit codes" table says the same.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    deployed, or nothing to change
  1    the operation failed (the root cause is printed last)
  2    only with `deploy --dry-run|--plan-out --detailed-exitcode`: changes are pending
  3    stopped following while CloudFormation goes on (e.g. credentials expired)
  64   bad usage or input (flags, config, template, parameters); nothing was changed
  130  interrupted (Ctrl-C or SIGTERM)";

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
    /// Bad arguments, template or parameter values: exit 64, caught before anything
    /// was changed.
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
            FailureKind::Input => EXIT_USAGE,
            FailureKind::Failed | FailureKind::Internal | FailureKind::CredentialsExpired => {
                EXIT_FAILED
            }
            FailureKind::Interrupted => EXIT_INTERRUPTED,
            FailureKind::Detached => EXIT_DETACHED,
        }
    }
}

/// What every subcommand returns.
pub(crate) type CommandResult = Result<ExitCode, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_means_only_changes_pending() {
        let kinds = [
            Failure::input("x"),
            Failure::failed("x"),
            Failure::internal("x"),
            Failure::interrupted("x"),
            Failure::detached("x"),
        ];
        let codes: Vec<u8> = kinds.iter().map(Failure::exit_code).collect();
        assert_eq!(codes, [64, 1, 1, 130, 3]);
        assert!(!codes.contains(&EXIT_CHANGES_PENDING) && !codes.contains(&0));
        for code in codes {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code} ")),
                "{code} is not in the --help text"
            );
        }
    }
}
