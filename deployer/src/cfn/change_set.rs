//! Change sets: a unique name, create, wait until ready, describe, execute, delete.
//! Statuses are matched as the SDK's [`ChangeSetStatus`]; how a change set is shown to
//! people is the deploy report's business (`commands::deploy::report`).
//!
//! Reading layer: may use `wait` only. Describing one (DescribeChangeSet into rows)
//! is `described`, re-exported here.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, DeploymentConfig, DeploymentConfigMode,
    ExecutionStatus, Parameter, Tag,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};

use super::wait::{Backoff, Deadline, retry_throttled};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

use crate::aws::{call_failed, describe_error};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// What a change set is made for; its name says so, and IAM keys on the name
/// (`cloudformation:ChangeSetName`): only `deployer-release-*` change sets may ever be
/// executed (by the deploy role), and the roles pull requests assume may create and
/// delete only `deployer-preview-*` ones, so a preview can never touch the change set
/// production's apply executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Made to be executed: `deploy --plan-out` (for `apply`) or a plain `deploy`.
    Release,
    /// Made only to be shown and deleted: `deploy --dry-run`, pull-request previews.
    Preview,
}

impl Purpose {
    /// The name prefix IAM policies match (`deployer-release-*` / `deployer-preview-*`).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Purpose::Release => RELEASE_PREFIX,
            Purpose::Preview => "deployer-preview-",
        }
    }
}

/// The name prefix of change sets that may be executed.
pub(crate) const RELEASE_PREFIX: &str = "deployer-release-";

/// A change-set name no other run can pick:
/// `deployer-<release|preview>-<short git sha or "local">-<UTC timestamp>-<64 random
/// bits>` (at most 66 characters), within CloudFormation's `[a-zA-Z][-a-zA-Z0-9]*` and
/// 128 characters.
pub(crate) fn unique_name(purpose: Purpose) -> Result<String, Failure> {
    let sha = crate::git::short_commit_sha(7).unwrap_or_else(|| "local".to_owned());
    let stamp = DateTime::from(std::time::SystemTime::now())
        .fmt(Format::DateTime)
        .map_err(|e| Failure::internal(format!("cannot format the time: {e}")))?;
    // "2026-11-24T01:42:26.327Z" → "20261124T014226Z" (basic ISO 8601, whole seconds).
    let stamp: String = stamp
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(15)
        .chain(['Z'])
        .collect();
    let mut random = [0u8; 8];
    getrandom::getrandom(&mut random)
        .map_err(|e| Failure::internal(format!("no randomness from the OS: {e}")))?;
    let random: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}{sha}-{stamp}-{random}", purpose.prefix()))
}

/// How CloudFormation carries out a stack operation (`DeploymentConfig.Mode`).
///
/// `Express` completes the operation once the configuration is applied, without waiting
/// for resources to become ready (an ECS service's tasks keep starting afterwards), and
/// has rollback off. It is used only to create throwaway stacks (pull-request previews)
/// and to delete them: an express *update* that replaces an `AWS::ECS::TaskDefinition`
/// never moves the `AWS::ECS::Service` onto it yet reports success
/// (cloudformation-coverage-roadmap #2538), which is exactly a new image. Whoever
/// creates a stack in express mode must wait for the service itself
/// (`aws::rollout::wait_until_ready`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeployMode {
    /// CloudFormation's default: done when resources are stable.
    #[default]
    Standard,
    /// `DeploymentConfig { Mode: EXPRESS }`.
    Express,
}

impl DeployMode {
    /// `standard` / `express`, as reports show it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DeployMode::Standard => "standard",
            DeployMode::Express => "express",
        }
    }

    /// True for the standard mode (for `skip_serializing_if`).
    #[allow(clippy::trivially_copy_pass_by_ref)]
    pub(crate) fn is_standard(&self) -> bool {
        *self == DeployMode::Standard
    }

    /// What is sent as `DeploymentConfig`: nothing for the standard mode (the default,
    /// so requests stay as they were before express mode existed), `Mode: EXPRESS`
    /// otherwise. Never `DisableRollback`: CloudFormation refuses rollback settings
    /// beside EXPRESS, and the standard mode keeps its rollback.
    pub(crate) fn deployment_config(self) -> Option<DeploymentConfig> {
        match self {
            DeployMode::Standard => None,
            DeployMode::Express => Some(
                DeploymentConfig::builder()
                    .mode(DeploymentConfigMode::Express)
                    .build(),
            ),
        }
    }
}

/// The mode of a change set: express only when it creates the stack (a new stack, or
/// one left REVIEW_IN_PROGRESS by an unexecuted change set: both are CREATE change
/// sets) **and** the stack's spec allows it (`StackSpec::express_create`, preview
/// stacks only). Every update is standard (see [`DeployMode`], #2538).
pub(crate) fn deployment_mode(kind: &ChangeSetType, express_allowed: bool) -> DeployMode {
    match kind {
        ChangeSetType::Create if express_allowed => DeployMode::Express,
        _ => DeployMode::Standard,
    }
}

/// Everything sent with CreateChangeSet.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// Stack name.
    pub stack_name: String,
    /// Change-set name from [`unique_name`].
    pub name: String,
    /// Create or update.
    pub kind: ChangeSetType,
    /// Template text.
    pub template_body: String,
    /// Parameter values.
    pub parameters: BTreeMap<String, String>,
    /// Parameters sent with `UsePreviousValue: true` instead of a value: the NoEcho
    /// parameters of an existing stack that were not given again (CloudFormation would
    /// otherwise reset them to their Default, or refuse the update without one).
    pub keep_previous: Vec<String>,
    /// Stack tags.
    pub tags: BTreeMap<String, String>,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Service role.
    pub role_arn: Option<String>,
    /// Express or standard; decide it with [`deployment_mode`].
    pub mode: DeployMode,
}

/// The answer to "what would this change?".
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A change set ready to execute.
    Ready(Described),
    /// CloudFormation could not work out the change set (a template or parameter error
    /// it found); the change set `id` is left to clean up.
    Failed {
        /// CloudFormation's words.
        reason: String,
        /// The FAILED change set.
        id: String,
        /// The stack it belongs to, by id: a new stack's empty REVIEW_IN_PROGRESS stack
        /// is deleted and followed by id, since a deleted stack's name finds nothing.
        stack_id: String,
    },
    /// CloudFormation was still working the change set out when its own time limit
    /// (`--change-set-timeout`) or `--wait-timeout` ran out; `id` is left to clean up.
    TimedOut {
        /// The change set, to delete.
        id: String,
        /// CREATE_PENDING or CREATE_IN_PROGRESS.
        status: String,
        /// The sentence for the user: which limit, and what to do.
        message: String,
    },
    /// Nothing to change; the reason CloudFormation gave. `id` is the change set to
    /// delete, when one was created.
    Empty {
        /// CloudFormation's words.
        reason: String,
        /// The FAILED change set to clean up, if CloudFormation kept one.
        id: Option<String>,
    },
}

/// The texts CloudFormation uses for "nothing to change" (in a FAILED change set's
/// StatusReason, or as a CreateChangeSet ValidationError).
pub(crate) fn is_empty_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// Creates the change set and waits until CloudFormation has worked it out, for at most
/// `cap` (and never past `deadline`).
pub(crate) async fn create(
    client: &Client,
    request: &Request,
    deadline: Deadline,
    cap: std::time::Duration,
    progress: &mut Progress,
) -> Result<Outcome, Failure> {
    let parameters = request
        .parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        })
        .chain(request.keep_previous.iter().map(|k| {
            Parameter::builder()
                .parameter_key(k)
                .use_previous_value(true)
                .build()
        }))
        .collect::<Vec<_>>();
    let tags = request
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Vec<_>>();
    let created = retry_throttled(|| {
        client
            .create_change_set()
            .stack_name(&request.stack_name)
            .change_set_name(&request.name)
            .change_set_type(request.kind.clone())
            .template_body(&request.template_body)
            .set_parameters(Some(parameters.clone()))
            .set_tags(Some(tags.clone()))
            .set_capabilities(Some(
                request
                    .capabilities
                    .iter()
                    .map(|c| Capability::from(c.as_str()))
                    .collect(),
            ))
            .set_role_arn(request.role_arn.clone())
            // Never `OnStackFailure` (nor, on execute, `DisableRollback`): refused
            // beside EXPRESS, and the standard mode keeps its default rollback.
            .set_deployment_config(request.mode.deployment_config())
            .description("Created by deployer")
            .send()
    })
    .await;
    let (id, stack_id) = match created {
        Ok(out) => (
            out.id().unwrap_or(&request.name).to_owned(),
            out.stack_id().map(str::to_owned),
        ),
        Err(err) => {
            let text = describe_error(&err);
            if is_empty_reason(&text) {
                return Ok(Outcome::Empty {
                    reason: text,
                    id: None,
                });
            }
            return Err(call_failed(
                &format!("creating change set for stack {}", request.stack_name),
                &err,
            ));
        }
    };
    let outcome = wait_ready(client, &request.stack_name, &id, deadline, cap, progress).await?;
    // The StackId CreateChangeSet returned is the one to use from now on.
    Ok(match (outcome, stack_id) {
        (Outcome::Failed { reason, id, .. }, Some(stack_id)) => Outcome::Failed {
            reason,
            id,
            stack_id,
        },
        (other, _) => other,
    })
}

/// Polls DescribeChangeSet (first look at once) until the change set is ready or
/// failed, or `cap` (the change set's own limit) or `deadline` runs out.
pub(crate) async fn wait_ready(
    client: &Client,
    stack_name: &str,
    id: &str,
    deadline: Deadline,
    cap: std::time::Duration,
    progress: &mut Progress,
) -> Result<Outcome, Failure> {
    let own = Deadline::after(cap);
    let mut backoff = Backoff::new();
    let started = tokio::time::Instant::now();
    loop {
        backoff.wait().await;
        let described = describe(client, stack_name, id).await?;
        match &described.status {
            ChangeSetStatus::CreateComplete => return Ok(Outcome::Ready(described)),
            ChangeSetStatus::Failed => {
                let reason = described.status_reason.clone().unwrap_or_default();
                if is_empty_reason(&reason) {
                    return Ok(Outcome::Empty {
                        reason,
                        id: Some(described.id),
                    });
                }
                return Ok(Outcome::Failed {
                    reason,
                    id: described.id,
                    stack_id: described.stack_id,
                });
            }
            _ if own.passed() || deadline.passed() => {
                let (waited, flag) = if own.passed() {
                    (own.timeout(), "--change-set-timeout")
                } else {
                    (deadline.timeout(), "--wait-timeout")
                };
                return Ok(Outcome::TimedOut {
                    id: described.id,
                    status: described.status.as_str().to_owned(),
                    message: format!(
                        "CloudFormation was still working out the change set for stack {stack_name} after {} ({flag}): \
                         it is {}, and nothing was executed. CloudFormation may be slow or stuck \
                         (transforms and nested stacks take longer): try again, or raise {flag}",
                        format_elapsed(waited),
                        described.status
                    ),
                });
            }
            other => progress.status(&format!(
                "Change set {}: {other} ({})",
                described.name,
                format_elapsed(started.elapsed())
            )),
        }
    }
}

/// Why a change set cannot be executed (in words, with what to do), from its
/// ExecutionStatus; `None` when it can (AVAILABLE, or no status given, as by older
/// stand-ins, where ExecuteChangeSet itself will tell).
pub(crate) fn not_executable(status: Option<&ExecutionStatus>, stack_name: &str) -> Option<String> {
    use ExecutionStatus as E;
    let status = status?;
    let why = match status {
        E::Available => return None,
        E::Obsolete => "it is OBSOLETE: the stack was changed after this change set was made \
            (another deploy, the console, or a second change set executed first), so it no longer \
            describes what would happen. Deploy again to see the changes from the stack as it is now"
            .to_owned(),
        E::Unavailable => format!(
            "it is UNAVAILABLE: CloudFormation cannot execute it now, usually because another \
             operation is running on the stack. Wait for it (`deployer status --stack-name {stack_name}`) \
             and deploy again"
        ),
        E::ExecuteInProgress | E::ExecuteComplete | E::ExecuteFailed => format!(
            "it is {status}: someone has already executed it. See `deployer status --stack-name {stack_name}` \
             for how that went"
        ),
        other => format!(
            "its execution status is {other}, and only AVAILABLE change sets are executed. \
             See `deployer status --stack-name {stack_name}` and deploy again"
        ),
    };
    Some(why)
}

/// Reads a change set's ExecutionStatus (one page: the status is on every page).
pub(crate) async fn execution_status(
    client: &Client,
    stack_id: &str,
    id: &str,
) -> Result<Option<ExecutionStatus>, Failure> {
    retry_throttled(|| {
        client
            .describe_change_set()
            .stack_name(stack_id)
            .change_set_name(id)
            .send()
    })
    .await
    .map(|out| out.execution_status().cloned())
    .map_err(|e| call_failed(&format!("reading change set {id}"), &e))
}

/// Executes a ready change set made in `mode` ([`Described::mode`]). `token` makes a
/// retried call idempotent (the change set's name: unique per run).
pub(crate) async fn execute(
    client: &Client,
    stack_id: &str,
    id: &str,
    token: &str,
    mode: DeployMode,
) -> Result<(), Failure> {
    // An express change set gets no rollback setting at all: CloudFormation refuses
    // DisableRollback beside EXPRESS, and express mode has its own rollback behaviour
    // (`DeploymentConfig.DisableRollback`, left at its default). A failed express
    // create of a preview stack is deleted by `preview down` like any other.
    let retain_except_on_create = (mode == DeployMode::Standard).then_some(true);
    retry_throttled(|| {
        client
            .execute_change_set()
            .stack_name(stack_id)
            .change_set_name(id)
            .client_request_token(token)
            // If the operation fails, its rollback deletes what it created, including
            // resources with `DeletionPolicy: Retain`: a failed first create leaves
            // no orphans behind its ROLLBACK_COMPLETE stack (which the next deploy
            // deletes and recreates), and a failed update none beside the stack.
            // Chosen over CreateChangeSet `OnStackFailure: DELETE`, which would delete
            // the failed stack itself: its events (the root cause) would then only be
            // readable by stack id, and the ROLLBACK_COMPLETE → recreate path that
            // the LocalStack and moto suites exercise would never be taken.
            // `OnStackFailure` is left at its default (ROLLBACK) for the same reason.
            .set_retain_except_on_create(retain_except_on_create)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| call_failed(&format!("executing change set {token}"), &e))
}

/// Deletes a change set. One that is already gone counts as deleted: a preview's
/// clean-up racing an execute of another change set (which deletes all the others), a
/// second `discard`, or someone tidying up by hand all leave the wanted result.
pub(crate) async fn delete(client: &Client, stack_name: &str, id: &str) -> Result<(), Failure> {
    match retry_throttled(|| {
        client
            .delete_change_set()
            .stack_name(stack_name)
            .change_set_name(id)
            .send()
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_gone(e.code(), &describe_error(&e)) => Ok(()),
        Err(e) => Err(call_failed(&format!("deleting change set {id}"), &e)),
    }
}

/// True when CloudFormation says the change set (or its whole stack) does not exist:
/// `ChangeSetNotFound` from CloudFormation, a ValidationError "… does not exist" from
/// stand-ins and for a deleted stack.
pub(crate) fn is_gone(code: Option<&str>, text: &str) -> bool {
    matches!(
        code,
        Some("ChangeSetNotFound" | "ChangeSetNotFoundException")
    ) || text.contains("ChangeSetNotFound")
        || text.contains("does not exist")
}

/// One row of the change table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// True, Conditional, False; empty for Add/Remove.
    pub replacement: String,
    /// What happens to a removed or replaced resource: Delete, Retain, Snapshot,
    /// ReplaceAndDelete, ReplaceAndRetain, ReplaceAndSnapshot; empty when not given.
    pub policy_action: String,
    /// Which parts of the resource change (`Properties`, `Tags`, `Metadata`, …).
    #[serde(default)]
    pub scope: Vec<String>,
    /// What changes, one entry per property path.
    pub details: Vec<PropertyChange>,
}

impl ResourceChange {
    /// A `Modify` of the resource's tags and nothing else: what a changed stack tag
    /// (propagated to every taggable resource) looks like.
    pub(crate) fn is_tags_only(&self) -> bool {
        self.action == "Modify" && !self.scope.is_empty() && self.scope.iter().all(|s| s == "Tags")
    }

    /// The action as people should read it: a `Remove` whose DeletionPolicy keeps the
    /// resource is not a deletion.
    pub(crate) fn effect(&self) -> String {
        let qualifier = match (self.action.as_str(), self.policy_action.as_str()) {
            ("Remove", "Retain") => "retained, not deleted",
            ("Remove", "Snapshot") => "snapshot, then deleted",
            (_, "ReplaceAndRetain") => "replaced; the old one is retained",
            (_, "ReplaceAndSnapshot") => "replaced; the old one is snapshotted, then deleted",
            _ => return self.action.clone(),
        };
        format!("{} ({qualifier})", self.action)
    }
}

/// One changing property of a resource, from `IncludePropertyValues`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PropertyChange {
    /// The property path, e.g. `/Properties/ContainerDefinitions/0/Image`; for older
    /// answers without one, `Properties.Name` or the attribute (`Tags`, `Metadata`).
    pub path: String,
    /// The value before, when CloudFormation gives it (large values come truncated).
    pub before: Option<String>,
    /// The value after, when given.
    pub after: Option<String>,
    /// `Evaluation: Dynamic`: the value depends on something only known while
    /// deploying (a `Ref` or `GetAtt` of a changing resource), so it *may* change.
    pub dynamic: bool,
    /// Whether changing it recreates the resource: Never, Conditionally, Always (empty
    /// when not given).
    pub requires_recreation: String,
}

impl PropertyChange {
    /// `/Properties/X: "a" → "b" (may change; replaces the resource)`, each value cut
    /// to `max` characters.
    pub(crate) fn line(&self, max: usize) -> String {
        let mut line = self.path.clone();
        if self.before.is_some() || self.after.is_some() {
            line.push_str(&format!(
                ": {} → {}",
                self.before
                    .as_deref()
                    .map_or("(none)".to_owned(), |v| cut(v, max)),
                self.after
                    .as_deref()
                    .map_or("(none)".to_owned(), |v| cut(v, max))
            ));
        }
        let mut notes = Vec::new();
        if self.dynamic {
            notes.push("may change: known only while deploying");
        }
        match self.requires_recreation.as_str() {
            "Always" => notes.push("replaces the resource"),
            "Conditionally" => notes.push("may replace the resource"),
            _ => {}
        }
        if !notes.is_empty() {
            line.push_str(&format!(" ({})", notes.join("; ")));
        }
        line
    }
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

mod described;
pub(crate) use described::{Described, describe, describe_if_exists};

#[cfg(test)]
mod tests;
