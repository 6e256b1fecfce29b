//! Explaining layer: why an operation failed, in the words shown to the user. The one
//! place that turns what the reading layer gathered into an explanation: the root cause
//! among a failed operation's events (the earliest failure with a reason of its own,
//! followed into nested stacks), the failures of this run's operations by their ids
//! (DescribeEvents), a change set's validation findings as lines, and why DescribeEvents
//! could not tell. May use `wait`, `events` and `operations`; `follow` and `stack` use
//! it, and so do the commands (`status`, the deploy's execute phase).
//!
//! An ECS service's stopped-task reasons are gathered by `ecs::EcsWatch` while the
//! operation runs and read back with `EcsWatch::stopped_reasons`.

use aws_sdk_cloudformation::Client;

use super::events::{Event, EventReader, clean_reason};
use super::operations::{Finding, Unavailable, operation_failures};

/// Reasons that only echo a failure elsewhere; the real cause is another event.
const ECHOES: [&str; 5] = [
    "Resource creation cancelled",
    "Resource update cancelled",
    "Resource deletion cancelled",
    "The following resource(s) failed to",
    "Resource is not in the state",
];

/// True when a failure reason says something of its own.
pub(crate) fn is_real_reason(reason: &str) -> bool {
    let reason = reason.trim();
    !reason.is_empty() && !ECHOES.iter().any(|echo| reason.starts_with(echo))
}

/// The earliest failure with a reason of its own, in events ordered oldest first.
pub(crate) fn first_real_failure(events: &[Event]) -> Option<&Event> {
    events
        .iter()
        .find(|e| e.is_failure() && e.reason.as_deref().is_some_and(is_real_reason))
}

/// How deep we follow nested stacks.
const MAX_NESTING: usize = 5;

/// The root cause of a failed operation, given its events oldest first: the earliest
/// real failure, followed into nested stacks, with the noise stripped. `None` when no
/// event explains it.
pub(crate) async fn root_cause(client: &Client, events: &[Event]) -> Option<String> {
    let since = events.first().map(|e| e.epoch).unwrap_or_default();
    let mut path = Vec::new();
    let mut current: Vec<Event> = events.to_vec();
    for _ in 0..MAX_NESTING {
        let failure = first_real_failure(&current)
            .or_else(|| {
                current
                    .iter()
                    .find(|e| e.is_failure() && e.nested_stack_id().is_some())
            })?
            .clone();
        if let Some(nested) = failure.nested_stack_id() {
            let inner = nested_events(client, nested, since).await;
            if first_real_failure(&inner).is_some()
                || inner
                    .iter()
                    .any(|e| e.is_failure() && e.nested_stack_id().is_some())
            {
                path.push(failure.logical_id.clone());
                current = inner;
                continue;
            }
        }
        path.push(failure.logical_id.clone());
        let reason = failure
            .reason
            .as_deref()
            .map(clean_reason)
            .unwrap_or_default();
        return Some(format!(
            "{} ({}) {}: {reason}",
            path.join("/"),
            failure.resource_type,
            failure.status
        ));
    }
    None
}

/// A nested stack's events since `since` (epoch seconds), oldest first. Errors just
/// mean we cannot look deeper; the outer event's reason still stands.
async fn nested_events(client: &Client, stack_id: &str, since: f64) -> Vec<Event> {
    EventReader::since(stack_id, since)
        .poll(client)
        .await
        .unwrap_or_default()
}

impl Unavailable {
    /// One line for a warning or note.
    pub(crate) fn explain(&self, what: &str) -> String {
        match self {
            Self::Denied(e) => format!(
                "cannot read {what}: this identity may not call cloudformation:DescribeEvents \
                 (add it to the role; cfn/github-oidc.yaml's roles have it): {e}"
            ),
            Self::Unsupported(e) => {
                format!("{what} not available from this endpoint (DescribeEvents: {e})")
            }
        }
    }
}

impl Finding {
    /// `NAME at PATH (LogicalId): reason`.
    pub(crate) fn line(&self) -> String {
        let mut line = self.name.clone();
        if let Some(path) = &self.path {
            line.push_str(&format!(" at {path}"));
        }
        if let Some(id) = &self.logical_id {
            line.push_str(&format!(" ({id})"));
        }
        format!("{line}: {}", self.reason)
    }
}

/// The root cause of this run's operations (from `operations::new_operations`) by their failed
/// events; `None` when there are none or DescribeEvents is unavailable (the caller then
/// reads the events it followed).
pub(crate) async fn root_cause_of(client: &Client, operations: &[String]) -> Option<String> {
    let mut events = Vec::new();
    for id in operations {
        events.extend(operation_failures(client, id).await.ok()?);
    }
    events.sort_by(|a, b| a.epoch.total_cmp(&b.epoch));
    root_cause(client, &events).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::fixtures::event;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, StackEvent};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    fn events(list: &[StackEvent]) -> Vec<Event> {
        list.iter().map(Event::from).collect()
    }

    #[test]
    fn the_earliest_real_failure_wins_over_cancellations_and_echoes() {
        let list = events(&[
            event(
                "1",
                "app",
                "AWS::CloudFormation::Stack",
                "UPDATE_IN_PROGRESS",
                Some("User Initiated"),
                10,
            ),
            event(
                "2",
                "Queue",
                "AWS::SQS::Queue",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
                11,
            ),
            event(
                "3",
                "Topic",
                "AWS::SNS::Topic",
                "UPDATE_FAILED",
                Some("Invalid parameter: DisplayName"),
                12,
            ),
            event(
                "4",
                "Bucket",
                "AWS::S3::Bucket",
                "UPDATE_FAILED",
                Some("later failure"),
                13,
            ),
            event(
                "5",
                "app",
                "AWS::CloudFormation::Stack",
                "UPDATE_ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to update: [Topic]."),
                14,
            ),
        ]);
        assert_eq!(
            first_real_failure(&list).map(|e| e.logical_id.as_str()),
            Some("Topic")
        );
        assert!(is_real_reason("Invalid parameter"));
        assert!(!is_real_reason("Resource creation cancelled"));
        assert!(!is_real_reason(""));
    }

    #[tokio::test]
    async fn root_cause_descends_into_nested_stacks() {
        let nested_id = "arn:aws:cloudformation:us-east-1:1:stack/app-Network-XYZ/2";
        let nested = mock!(Client::describe_stack_events)
            .match_requests(move |r| r.stack_name() == Some(nested_id))
            .then_output(move || {
                DescribeStackEventsOutput::builder()
                    .stack_events(event("n3", "app-Network-XYZ", "AWS::CloudFormation::Stack", "CREATE_FAILED", Some("The following resource(s) failed to create: [Sg]."), 22))
                    .stack_events(event("n2", "Sg", "AWS::EC2::SecurityGroup", "CREATE_FAILED", Some(r#"Resource handler returned message: "Invalid CIDR 10.0.0.0/33 (Service: Ec2, Status Code: 400, Request ID: abc)" (RequestToken: 1-2, HandlerErrorCode: InvalidRequest)"#), 21))
                    .stack_events(event("n0", "Old", "AWS::EC2::SecurityGroup", "CREATE_FAILED", Some("from an older operation"), 1))
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&nested]);
        let mut outer = StackEvent::builder()
            .event_id("3")
            .stack_name("app")
            .logical_resource_id("Network")
            .resource_type("AWS::CloudFormation::Stack")
            .physical_resource_id(nested_id)
            .resource_status(ResourceStatus::CreateFailed)
            .resource_status_reason(format!("Embedded stack {nested_id} was not successfully created: The following resource(s) failed to create: [Sg]."))
            .timestamp(DateTime::from_secs(20))
            .build();
        let list = vec![
            Event::from(&event(
                "1",
                "app",
                "AWS::CloudFormation::Stack",
                "CREATE_IN_PROGRESS",
                Some("User Initiated"),
                10,
            )),
            Event::from(&outer),
        ];
        let cause = root_cause(&client, &list).await.unwrap();
        assert_eq!(
            cause,
            "Network/Sg (AWS::EC2::SecurityGroup) CREATE_FAILED: Invalid CIDR 10.0.0.0/33"
        );
        assert_eq!(nested.num_calls(), 1);

        // When the nested stack cannot be read, the outer reason still explains it.
        outer.physical_resource_id = Some("arn:aws:cloudformation:us-east-1:1:stack/gone/3".into());
        let no_access = mock!(Client::describe_stack_events).then_error(|| {
            aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder().code("AccessDenied").message("no").build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&no_access]);
        let cause = root_cause(&client, &[Event::from(&outer)]).await.unwrap();
        assert!(
            cause.starts_with("Network (AWS::CloudFormation::Stack) CREATE_FAILED: Embedded stack"),
            "{cause}"
        );
    }
}
