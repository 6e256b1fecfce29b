//! Recovering a stack a failed operation left stuck: which resources are to blame, and
//! the exact command that gets the stack moving again.
//!
//! - UPDATE_ROLLBACK_FAILED: the resources still UPDATE_FAILED could not be rolled
//!   back; `continue-update-rollback --resources-to-skip` takes them by logical id, and
//!   those inside nested stacks as `NestedStackLogicalId.ResourceLogicalId`.
//! - DELETE_FAILED: the resources still DELETE_FAILED; DeleteStack `RetainResources`
//!   (`deployer destroy --retain`) deletes the stack and leaves them in the account.

use aws_sdk_cloudformation::Client;

use super::super::events::clean_reason;
use super::super::wait::retry_throttled;

/// A resource a failed operation left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedResource {
    /// The name the recovery command takes: the logical id, prefixed with the logical
    /// ids of the nested stacks it is in (`Network.Sg`).
    pub name: String,
    /// Resource type.
    pub resource_type: String,
    /// CloudFormation's reason, cleaned of request ids.
    pub reason: Option<String>,
}

/// How deep we look into nested stacks.
const MAX_NESTING: usize = 5;

/// The stack's own resources in `status` (all pages). A caller that may not list
/// resources (or a stand-in that cannot) gets an empty list: the advice then falls
/// back to the command without names.
pub(crate) async fn failed_resources(
    client: &Client,
    stack_id: &str,
    status: &str,
) -> Vec<FailedResource> {
    list(client, stack_id, status)
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

/// The resources whose rollback failed, nested stacks included (their resources named
/// `Nested.Logical`; a nested stack itself cannot be skipped, only what is inside it).
pub(crate) async fn rollback_failures(client: &Client, stack_id: &str) -> Vec<FailedResource> {
    let mut found = Vec::new();
    let mut pending = vec![(stack_id.to_owned(), String::new(), 0)];
    while let Some((id, prefix, depth)) = pending.pop() {
        for (mut resource, nested) in list(client, &id, "UPDATE_FAILED").await {
            resource.name = format!("{prefix}{}", resource.name);
            match nested {
                Some(nested) if depth + 1 < MAX_NESTING => {
                    pending.push((nested, format!("{}.", resource.name), depth + 1));
                }
                _ => found.push(resource),
            }
        }
    }
    found
}

/// Resources of one stack in `status`, with the nested stack id of those that are
/// nested stacks.
async fn list(
    client: &Client,
    stack_id: &str,
    status: &str,
) -> Vec<(FailedResource, Option<String>)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    // 100 resources a page, 500 resources a stack: 5 pages, with room to spare.
    for _ in 0..10 {
        let Ok(page) = retry_throttled(|| {
            client
                .list_stack_resources()
                .stack_name(stack_id)
                .set_next_token(token.clone())
                .send()
        })
        .await
        else {
            break;
        };
        for r in page.stack_resource_summaries() {
            if r.resource_status().map(|s| s.as_str()) != Some(status) {
                continue;
            }
            let resource_type = r.resource_type().unwrap_or_default().to_owned();
            let nested = r
                .physical_resource_id()
                .filter(|id| {
                    resource_type == "AWS::CloudFormation::Stack"
                        && id.starts_with("arn:")
                        && id.contains(":stack/")
                })
                .map(str::to_owned);
            out.push((
                FailedResource {
                    name: r.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type,
                    reason: r.resource_status_reason().map(clean_reason),
                },
                nested,
            ));
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    out
}

/// `  Name (Type): reason` lines.
fn listing(resources: &[FailedResource]) -> String {
    resources
        .iter()
        .map(|r| {
            let reason = r
                .reason
                .as_deref()
                .map(|why| format!(": {why}"))
                .unwrap_or_default();
            format!("  {} ({}){reason}\n", r.name, r.resource_type)
        })
        .collect()
}

/// What to do about an UPDATE_ROLLBACK_FAILED stack, with the exact command.
pub(crate) fn continue_rollback_advice(stack_name: &str, failed: &[FailedResource]) -> String {
    let head = format!(
        "stack {stack_name} is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback."
    );
    if failed.is_empty() {
        return format!(
            "{head} Fix the cause (see `deployer status --stack-name {stack_name}`), then recover it with:\n  \
             aws cloudformation continue-update-rollback --stack-name {stack_name}\n\
             and deploy again once it is UPDATE_ROLLBACK_COMPLETE"
        );
    }
    let names: Vec<&str> = failed.iter().map(|r| r.name.as_str()).collect();
    format!(
        "{head} These resources could not be rolled back:\n{}\
         If the cause can be fixed (e.g. a resource changed or deleted by hand), fix it and run:\n  \
         aws cloudformation continue-update-rollback --stack-name {stack_name}\n\
         Otherwise skip them: CloudFormation then counts them as rolled back as they are, which can leave \
         them out of step with the template (the next deploy updates them again):\n  \
         aws cloudformation continue-update-rollback --stack-name {stack_name} --resources-to-skip {}\n\
         and deploy again once it is UPDATE_ROLLBACK_COMPLETE",
        listing(failed),
        names.join(" ")
    )
}

/// What to do about a DELETE_FAILED stack, with the exact command.
pub(crate) fn delete_failed_advice(stack_name: &str, failed: &[FailedResource]) -> String {
    let head = format!("stack {stack_name} is DELETE_FAILED: a delete did not finish.");
    if failed.is_empty() {
        return format!(
            "{head} Look at `deployer status --stack-name {stack_name}` for the resource that could not be deleted, \
             fix it, then run `deployer destroy --stack-name {stack_name}` (or keep that resource: \
             `deployer destroy --stack-name {stack_name} --retain LogicalId`) and deploy again"
        );
    }
    let names: Vec<&str> = failed.iter().map(|r| r.name.as_str()).collect();
    format!(
        "{head} These resources could not be deleted:\n{}\
         Fix the cause and run `deployer destroy --stack-name {stack_name}` again, or delete the stack and keep \
         them (they stay in the account, no longer managed by CloudFormation):\n  \
         deployer destroy --stack-name {stack_name} --retain {}\n\
         then deploy again",
        listing(failed),
        names.join(" ")
    )
}
