//! Change sets: a unique name, create, wait until ready, describe, execute, delete.
//! Statuses are matched as the SDK's [`ChangeSetStatus`]; how a change set is shown to
//! people is the deploy report's business (`commands::deploy::report`).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    Capability, Change, ChangeSetStatus, ChangeSetType, Parameter, Tag,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use super::wait::{Backoff, Deadline, retry_throttled};
use crate::aws::{call_failed, describe_error};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// A change-set name no other run can pick:
/// `deployer-<short git sha or "local">-<UTC timestamp>-<64 random bits>`, within
/// CloudFormation's `[a-zA-Z][-a-zA-Z0-9]*` and 128 characters.
pub(crate) fn unique_name() -> Result<String, Failure> {
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
    Ok(format!("deployer-{sha}-{stamp}-{random}"))
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
    /// Stack tags.
    pub tags: BTreeMap<String, String>,
    /// Capabilities.
    pub capabilities: Vec<String>,
    /// Service role.
    pub role_arn: Option<String>,
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

/// Creates the change set and waits until CloudFormation has worked it out.
pub(crate) async fn create(
    client: &Client,
    request: &Request,
    deadline: Deadline,
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
    let outcome = wait_ready(client, &request.stack_name, &id, deadline, progress).await?;
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

/// Polls DescribeChangeSet (first look at once) until the change set is ready or failed.
pub(crate) async fn wait_ready(
    client: &Client,
    stack_name: &str,
    id: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<Outcome, Failure> {
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
            _ if deadline.passed() => {
                return Err(Failure::failed(format!(
                    "change set for stack {stack_name} is still {} after {}; CloudFormation may be slow. \
                     Try again, or raise --wait-timeout",
                    described.status,
                    format_elapsed(deadline.timeout())
                )));
            }
            other => progress.status(&format!(
                "Change set {}: {other} ({})",
                described.name,
                format_elapsed(started.elapsed())
            )),
        }
    }
}

/// One row of the change table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ResourceChange {
    /// Add, Modify, Remove, Import, Dynamic.
    pub action: String,
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// True, Conditional, False; empty for Add/Remove.
    pub replacement: String,
    /// What changes: `Properties.DisplayName: "a" → "b"`, `Tags`, …
    pub details: Vec<String>,
}

/// A described change set.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    /// Change-set id (ARN).
    pub id: String,
    /// Change-set name.
    pub name: String,
    /// Stack id (ARN).
    pub stack_id: String,
    /// CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, …
    pub status: ChangeSetStatus,
    /// Why, for FAILED.
    pub status_reason: Option<String>,
    /// The resource changes, all pages.
    pub changes: Vec<ResourceChange>,
}

/// Reads a change set with all its pages, asking for property values so the table can
/// show before → after.
pub(crate) async fn describe(
    client: &Client,
    stack_name: &str,
    id: &str,
) -> Result<Described, Failure> {
    let mut token: Option<String> = None;
    let mut described: Option<Described> = None;
    loop {
        let page = retry_throttled(|| {
            client
                .describe_change_set()
                .stack_name(stack_name)
                .change_set_name(id)
                .include_property_values(true)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|e| call_failed(&format!("reading change set {id}"), &e))?;
        let entry = described.get_or_insert_with(|| Described {
            id: page.change_set_id().unwrap_or(id).to_owned(),
            name: page.change_set_name().unwrap_or(id).to_owned(),
            stack_id: page.stack_id().unwrap_or(stack_name).to_owned(),
            status: page
                .status()
                .cloned()
                .unwrap_or_else(|| ChangeSetStatus::from("UNKNOWN")),
            status_reason: page.status_reason().map(str::to_owned),
            changes: Vec::new(),
        });
        entry.changes.extend(page.changes().iter().filter_map(row));
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    described.ok_or_else(|| Failure::internal("DescribeChangeSet returned nothing"))
}

fn row(change: &Change) -> Option<ResourceChange> {
    let rc = change.resource_change()?;
    let details = rc
        .details()
        .iter()
        .filter_map(|d| d.target())
        .map(|t| {
            let attribute = t.attribute().map(|a| a.as_str()).unwrap_or_default();
            let what = match t.name() {
                Some(name) if !name.is_empty() => format!("{attribute}.{name}"),
                _ => attribute.to_owned(),
            };
            match (t.before_value(), t.after_value()) {
                (None, None) => what,
                (before, after) => format!(
                    "{what}: {} → {}",
                    before.unwrap_or("(none)"),
                    after.unwrap_or("(none)")
                ),
            }
        })
        .collect::<Vec<_>>();
    let mut unique = Vec::new();
    for d in details {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    Some(ResourceChange {
        action: rc
            .action()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
        replacement: rc
            .replacement()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        details: unique,
    })
}

/// Executes a ready change set. `token` makes a retried call idempotent (the change
/// set's name: unique per run).
pub(crate) async fn execute(
    client: &Client,
    stack_id: &str,
    id: &str,
    token: &str,
) -> Result<(), Failure> {
    retry_throttled(|| {
        client
            .execute_change_set()
            .stack_name(stack_id)
            .change_set_name(id)
            .client_request_token(token)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| call_failed(&format!("executing change set {token}"), &e))
}

/// Deletes a change set; a failure here only leaves a harmless change set behind, so it
/// is reported, not fatal.
pub(crate) async fn delete(client: &Client, stack_name: &str, id: &str) -> Result<(), Failure> {
    retry_throttled(|| {
        client
            .delete_change_set()
            .stack_name(stack_name)
            .change_set_name(id)
            .send()
    })
    .await
    .map(|_| ())
    .map_err(|e| call_failed(&format!("deleting change set {id}"), &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::error::ErrorMetadata;
    use aws_sdk_cloudformation::operation::create_change_set::{
        CreateChangeSetError, CreateChangeSetOutput,
    };
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::types::{
        ChangeAction, ChangeType, Replacement, ResourceAttribute, ResourceChangeDetail,
        ResourceTargetDefinition,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use std::time::Duration;

    fn quiet() -> Progress {
        Progress::plain(Box::new(std::io::sink()))
    }

    fn request() -> Request {
        Request {
            stack_name: "app".into(),
            name: "deployer-local-x".into(),
            kind: ChangeSetType::Update,
            template_body: "{}".into(),
            parameters: [("Name".to_owned(), "b".to_owned())].into(),
            tags: BTreeMap::new(),
            capabilities: vec![],
            role_arn: None,
        }
    }

    fn described(status: ChangeSetStatus, reason: Option<&str>) -> DescribeChangeSetOutput {
        DescribeChangeSetOutput::builder()
            .change_set_id("arn:cs/1")
            .change_set_name("deployer-local-x")
            .stack_id("arn:stack/app")
            .status(status)
            .set_status_reason(reason.map(Into::into))
            .build()
    }

    #[test]
    fn names_are_valid_and_unique() {
        let names: Vec<String> = (0..50).map(|_| unique_name().unwrap()).collect();
        for n in &names {
            assert!(n.len() <= 128 && n.starts_with("deployer-"), "{n}");
            let stamp = n.split('-').nth(2).unwrap();
            assert!(
                stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
                "{n}"
            );
            assert!(
                n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{n}"
            );
        }
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }

    #[tokio::test(start_paused = true)]
    async fn both_empty_change_set_texts_mean_no_changes() {
        for reason in [
            "The submitted information didn't contain changes. Submit different information to create a change set.",
            "No updates are to be performed.",
        ] {
            let create = mock!(Client::create_change_set)
                .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
            let describe = mock!(Client::describe_change_set)
                .then_output(move || described(ChangeSetStatus::Failed, Some(reason)));
            let client = mock_client!(
                aws_sdk_cloudformation,
                RuleMode::MatchAny,
                [&create, &describe]
            );
            let outcome = super::create(
                &client,
                &request(),
                Deadline::after(Duration::from_secs(60)),
                &mut quiet(),
            )
            .await
            .unwrap();
            assert!(
                matches!(outcome, Outcome::Empty { id: Some(ref id), .. } if id == "arn:cs/1"),
                "{reason}: {outcome:?}"
            );
        }
        // moto (and old APIs) refuse the create itself.
        let create = mock!(Client::create_change_set).then_error(|| {
            CreateChangeSetError::generic(
                ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("No updates are to be performed.")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&create]);
        let outcome = super::create(
            &client,
            &request(),
            Deadline::after(Duration::from_secs(60)),
            &mut quiet(),
        )
        .await
        .unwrap();
        assert!(matches!(outcome, Outcome::Empty { id: None, .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn a_real_failure_is_an_error_and_pending_is_polled_at_once() {
        let create = mock!(Client::create_change_set)
            .then_output(|| CreateChangeSetOutput::builder().id("arn:cs/1").build());
        let describe = mock!(Client::describe_change_set)
            .sequence()
            .output(|| described(ChangeSetStatus::CreatePending, None))
            .output(|| {
                described(
                    ChangeSetStatus::Failed,
                    Some("Template format error: Unresolved resource dependencies [X]"),
                )
            })
            .build();
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&create, &describe]
        );
        let start = tokio::time::Instant::now();
        let outcome = super::create(
            &client,
            &request(),
            Deadline::after(Duration::from_secs(60)),
            &mut quiet(),
        )
        .await
        .unwrap();
        assert!(
            matches!(&outcome, Outcome::Failed { reason, id, .. }
                if reason.contains("Unresolved resource dependencies") && id == "arn:cs/1"),
            "{outcome:?}"
        );
        // One immediate look, then one ~1 s backoff: never a long first sleep.
        assert!(
            start.elapsed() < Duration::from_millis(1300),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn changes_are_read_from_every_page_with_before_after_values() {
        let describe = mock!(Client::describe_change_set)
            .sequence()
            .output(|| {
                let detail = ResourceChangeDetail::builder()
                    .target(
                        ResourceTargetDefinition::builder()
                            .attribute(ResourceAttribute::Properties)
                            .name("DisplayName")
                            .before_value("old")
                            .after_value("new")
                            .build(),
                    )
                    .build();
                DescribeChangeSetOutput::builder()
                    .change_set_id("arn:cs/1")
                    .status(ChangeSetStatus::CreateComplete)
                    .changes(
                        Change::builder()
                            .r#type(ChangeType::Resource)
                            .resource_change(
                                aws_sdk_cloudformation::types::ResourceChange::builder()
                                    .action(ChangeAction::Modify)
                                    .logical_resource_id("Topic")
                                    .resource_type("AWS::SNS::Topic")
                                    .replacement(Replacement::Conditional)
                                    .details(detail.clone())
                                    .details(detail)
                                    .build(),
                            )
                            .build(),
                    )
                    .next_token("2")
                    .build()
            })
            .output(|| {
                DescribeChangeSetOutput::builder()
                    .changes(
                        Change::builder()
                            .resource_change(
                                aws_sdk_cloudformation::types::ResourceChange::builder()
                                    .action(ChangeAction::Add)
                                    .logical_resource_id("Queue")
                                    .resource_type("AWS::SQS::Queue")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
            .build();
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, [&describe]);
        let d = super::describe(&client, "app", "arn:cs/1").await.unwrap();
        assert_eq!(d.changes.len(), 2);
        assert_eq!(
            d.changes[0],
            ResourceChange {
                action: "Modify".into(),
                logical_id: "Topic".into(),
                resource_type: "AWS::SNS::Topic".into(),
                replacement: "Conditional".into(),
                // The same detail twice (two attributes changing one property) shows once.
                details: vec!["Properties.DisplayName: old → new".into()],
            }
        );
        assert_eq!(
            (
                d.changes[1].logical_id.as_str(),
                d.changes[1].replacement.as_str()
            ),
            ("Queue", "")
        );
    }
}
