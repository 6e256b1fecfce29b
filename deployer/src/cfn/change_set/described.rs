//! A described change set: DescribeChangeSet with all its pages and property values,
//! turned into the rows of the change table (`ResourceChange`, `PropertyChange`). Part
//! of `change_set` (reading layer).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Change, ChangeSetStatus, EvaluationType, ExecutionStatus};

use super::super::wait::retry_throttled;
use super::{PropertyChange, ResourceChange};
use crate::aws::call_failed;
use crate::error::Failure;

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
    /// AVAILABLE (the only executable state), OBSOLETE, UNAVAILABLE, EXECUTE_*.
    pub execution_status: Option<ExecutionStatus>,
    /// The resource changes, all pages.
    pub changes: Vec<ResourceChange>,
    /// The parameters as CloudFormation lists them, name → value (NoEcho values come
    /// back as `****`; a `UsePreviousValue` one may come without a value: empty).
    pub parameters: BTreeMap<String, String>,
    /// The capabilities it was created with.
    pub capabilities: Vec<String>,
    /// The mode it was created in (its `DeploymentConfig`): how it is executed.
    pub mode: super::DeployMode,
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
            execution_status: page.execution_status().cloned(),
            changes: Vec::new(),
            parameters: page
                .parameters()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.parameter_key()?.to_owned(),
                        p.parameter_value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
            capabilities: page
                .capabilities()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            mode: match page.deployment_config().and_then(|c| c.mode()) {
                Some(aws_sdk_cloudformation::types::DeploymentConfigMode::Express) => {
                    super::DeployMode::Express
                }
                _ => super::DeployMode::Standard,
            },
        });
        entry.changes.extend(page.changes().iter().filter_map(row));
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    described.ok_or_else(|| Failure::internal("DescribeChangeSet returned nothing"))
}

/// Like [`describe`], but `None` when the change set does not exist (deleted, or never
/// made): `apply` says so in words instead of showing CloudFormation's error.
pub(crate) async fn describe_if_exists(
    client: &Client,
    stack: &str,
    id: &str,
) -> Result<Option<Described>, Failure> {
    match describe(client, stack, id).await {
        Ok(described) => Ok(Some(described)),
        // CloudFormation says ChangeSetNotFound; moto a ValidationError "… does not exist".
        Err(f)
            if f.message.contains("ChangeSetNotFound") || f.message.contains("does not exist") =>
        {
            Ok(None)
        }
        Err(f) => Err(f),
    }
}

fn row(change: &Change) -> Option<ResourceChange> {
    let rc = change.resource_change()?;
    let mut details: Vec<PropertyChange> = Vec::new();
    for d in rc.details() {
        let Some(t) = d.target() else { continue };
        let attribute = t.attribute().map(|a| a.as_str()).unwrap_or_default();
        let path = match (t.path(), t.name()) {
            (Some(path), _) if !path.is_empty() => path.to_owned(),
            (_, Some(name)) if !name.is_empty() => format!("{attribute}.{name}"),
            _ => attribute.to_owned(),
        };
        let detail = PropertyChange {
            path,
            before: t.before_value().map(str::to_owned),
            after: t.after_value().map(str::to_owned),
            dynamic: d.evaluation() == Some(&EvaluationType::Dynamic),
            requires_recreation: t
                .requires_recreation()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
        };
        // One property can be listed once per cause (a parameter and a resource
        // attribute, say): show it once, Dynamic if any cause is.
        match details.iter_mut().find(|known| {
            known.path == detail.path
                && known.before == detail.before
                && known.after == detail.after
        }) {
            Some(known) => known.dynamic |= detail.dynamic,
            None => details.push(detail),
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
        policy_action: rc
            .policy_action()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        scope: rc.scope().iter().map(|s| s.as_str().to_owned()).collect(),
        details,
    })
}
