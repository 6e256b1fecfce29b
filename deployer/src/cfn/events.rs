//! Reading layer: a stack's events (DescribeStackEvents) as [`Event`]s, read page by
//! page from where the last read stopped, a stack's latest operation, and a reason
//! cleaned of request-id noise. May use `wait` only. Which failure explains an
//! operation is `explain`; following one while it runs is `follow`.
//!
//! DescribeStackEvents returns newest first, in pages. We remember the newest event we
//! have seen and page back only until we meet it again, so a long-lived stack with
//! thousands of events costs one call per poll, not dozens.

use std::sync::LazyLock;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackEvent;
use aws_smithy_types::date_time::Format;
use regex::Regex;
use serde::Serialize;

use super::wait::retry_throttled;
use crate::aws::call_failed;
use crate::error::Failure;
use crate::output::{paint, sanitize, status_style};

// Compatibility while issue 18's branches merge: these names moved up a layer and the
// commands still import them from here. Nothing in this file uses them (`layering`
// checks that); drop them once the callers import from their new homes.
pub(crate) use super::explain::root_cause;
pub(crate) use super::follow::EventFollower;

/// The parts of a stack event we use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Event {
    /// Unique id, used to know where we stopped reading.
    pub id: String,
    /// Stack the event belongs to (its name).
    pub stack_name: String,
    /// Logical id of the resource (the stack's own name for stack-level events).
    pub logical_id: String,
    /// Resource type, e.g. `AWS::SNS::Topic`.
    pub resource_type: String,
    /// Physical id; for a nested stack, its stack id.
    pub physical_id: Option<String>,
    /// `CREATE_IN_PROGRESS`, `UPDATE_FAILED`, …
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
    /// When, as RFC 3339.
    pub timestamp: Option<String>,
    /// Epoch seconds, for ordering and "since" filters.
    #[serde(skip)]
    pub epoch: f64,
}

impl From<&StackEvent> for Event {
    fn from(e: &StackEvent) -> Self {
        Self {
            id: e.event_id().unwrap_or_default().to_owned(),
            stack_name: e.stack_name().unwrap_or_default().to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            physical_id: e.physical_resource_id().map(str::to_owned),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
            timestamp: e.timestamp().and_then(|t| t.fmt(Format::DateTime).ok()),
            epoch: e.timestamp().map(|t| t.as_secs_f64()).unwrap_or_default(),
        }
    }
}

impl Event {
    /// One log line: `12:03:04  UPDATE_FAILED  AWS::SNS::Topic  Topic  reason`, the
    /// status coloured when `color`.
    pub(crate) fn line(&self, color: bool) -> String {
        let time = self
            .timestamp
            .as_deref()
            .and_then(|t| t.get(11..19))
            .unwrap_or("--:--:--");
        let status = paint(
            color,
            status_style(&self.status),
            &format!("{:<28}", sanitize::line(&self.status)),
        );
        let mut line = format!(
            "{time}  {status} {:<32} {}",
            sanitize::line(&self.resource_type),
            sanitize::line(&self.logical_id)
        );
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            line.push_str("  ");
            line.push_str(&clean_reason(reason));
        }
        line
    }

    /// Every failed resource status ends in `_FAILED` (`CREATE_FAILED`,
    /// `IMPORT_ROLLBACK_FAILED`, …), including ones newer than this SDK.
    pub(crate) fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }

    /// A nested stack resource whose physical id is the nested stack's id.
    pub(crate) fn nested_stack_id(&self) -> Option<&str> {
        (self.resource_type == "AWS::CloudFormation::Stack")
            .then_some(self.physical_id.as_deref())
            .flatten()
            .filter(|id| id.starts_with("arn:") && id.contains(":stack/"))
    }
}

/// Reads a stack's new events, remembering where it stopped.
#[derive(Debug)]
pub(crate) struct EventReader {
    stack: String,
    last_seen: Option<String>,
    since: Option<f64>,
}

/// Most pages we read in one go; a stack event page holds up to 100 events.
const MAX_PAGES: usize = 20;

impl EventReader {
    /// Starts reading `stack` (name or id) from now: the events already there are
    /// history, not this operation.
    pub(crate) async fn start(client: &Client, stack: &str) -> Result<Self, Failure> {
        let page = retry_throttled(|| client.describe_stack_events().stack_name(stack).send())
            .await
            .map_err(|e| call_failed(&format!("reading the events of stack {stack}"), &e))?;
        let last_seen = page
            .stack_events()
            .first()
            .and_then(|e| e.event_id())
            .map(str::to_owned);
        Ok(Self::from_marker(stack, last_seen))
    }

    /// A reader that treats every event newer than `last_seen` as new.
    pub(crate) fn from_marker(stack: &str, last_seen: Option<String>) -> Self {
        Self {
            stack: stack.to_owned(),
            last_seen,
            since: None,
        }
    }

    /// A reader for events at or after `since` (epoch seconds): paging stops at the
    /// first older event, so an old stack's long history is never read.
    pub(crate) fn since(stack: &str, since: f64) -> Self {
        Self {
            since: Some(since),
            ..Self::from_marker(stack, None)
        }
    }

    /// Events that appeared since the last call, oldest first.
    pub(crate) async fn poll(&mut self, client: &Client) -> Result<Vec<Event>, Failure> {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..MAX_PAGES {
            let page = retry_throttled(|| {
                client
                    .describe_stack_events()
                    .stack_name(&self.stack)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| call_failed(&format!("reading the events of stack {}", self.stack), &e))?;
            for event in page.stack_events() {
                if self
                    .last_seen
                    .as_deref()
                    .is_some_and(|seen| event.event_id() == Some(seen))
                {
                    break 'pages;
                }
                let event = Event::from(event);
                if self.since.is_some_and(|since| event.epoch < since) {
                    break 'pages;
                }
                fresh.push(event);
            }
            match page.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        fresh.reverse();
        if let Some(newest) = fresh.last() {
            self.last_seen = Some(newest.id.clone());
        }
        Ok(fresh)
    }
}
/// The events of a stack's latest operation, oldest first: pages back (newest first)
/// until the operation's stack-level "User Initiated" start, so an operation whose
/// events fill several pages (a big stack and its rollback) is read whole. At most
/// [`MAX_PAGES`] pages: an older start is not looked for.
pub(crate) async fn latest_operation_events(
    client: &Client,
    stack: &str,
    stack_name: &str,
) -> Result<Vec<Event>, Failure> {
    let mut newest_first: Vec<Event> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = retry_throttled(|| {
            client
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|e| call_failed(&format!("reading the events of stack {stack}"), &e))?;
        newest_first.extend(page.stack_events().iter().map(Event::from));
        if newest_first
            .iter()
            .any(|e| is_operation_start(e, stack_name))
        {
            break;
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    newest_first.reverse();
    Ok(latest_operation(&newest_first, stack_name))
}

/// The stack-level event that starts an operation a user asked for.
fn is_operation_start(e: &Event, stack_name: &str) -> bool {
    e.logical_id == stack_name
        && e.resource_type == "AWS::CloudFormation::Stack"
        && e.status.ends_with("_IN_PROGRESS")
        && e.reason.as_deref() == Some("User Initiated")
}

static HANDLER_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^Resource handler returned message: "(?s)(.*)"\s*(\(RequestToken:[^()]*\))?\s*$"#)
        .expect("valid regex")
});
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s*\((?:Service: |RequestToken: |Status Code: )[^()]*\)|,?\s*RequestToken: [0-9a-fA-F-]+, HandlerErrorCode: \w+")
        .expect("valid regex")
});

/// Strips the request-id noise from a reason: the `Resource handler returned message:`
/// wrapper, `(Service: …; Status Code: …; Request ID: …)` and
/// `(RequestToken: …, HandlerErrorCode: …)`; and as one line of plain text
/// (`output::sanitize::line`), since it is shown and quoted everywhere.
pub(crate) fn clean_reason(reason: &str) -> String {
    let inner = HANDLER_MESSAGE
        .captures(reason.trim())
        .and_then(|c| c.get(1))
        .map_or(reason, |m| m.as_str());
    sanitize::line(NOISE.replace_all(inner, "").trim())
}

/// Events of the latest operation among a stack's recent events (oldest first): from
/// the last stack-level "User Initiated" start onwards.
pub(crate) fn latest_operation(events: &[Event], stack_name: &str) -> Vec<Event> {
    let start = events
        .iter()
        .rposition(|e| is_operation_start(e, stack_name))
        .unwrap_or(0);
    events[start..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::fixtures::event;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    #[test]
    fn request_id_noise_is_stripped() {
        assert_eq!(
            clean_reason(
                r#"Resource handler returned message: "The security group 'sg-1' does not exist (Service: Ec2, Status Code: 400, Request ID: 2f1e-aa)" (RequestToken: 5c1e-77, HandlerErrorCode: NotFound)"#
            ),
            "The security group 'sg-1' does not exist"
        );
        assert_eq!(
            clean_reason(
                "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: X1; S3 Extended Request ID: Y2; Proxy: null)"
            ),
            "Access Denied"
        );
        assert_eq!(
            clean_reason("Bad value, RequestToken: ab-12, HandlerErrorCode: InvalidRequest"),
            "Bad value"
        );
        assert_eq!(clean_reason("Plain reason"), "Plain reason");
    }

    #[tokio::test]
    async fn the_reader_pages_back_only_to_the_last_seen_event() {
        // Page 1 holds the two newest events, page 2 the one we saw last time and older.
        let page1 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token().is_none())
            .then_output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event(
                        "e4",
                        "T",
                        "AWS::SNS::Topic",
                        "CREATE_COMPLETE",
                        None,
                        4,
                    ))
                    .stack_events(event(
                        "e3",
                        "T",
                        "AWS::SNS::Topic",
                        "CREATE_IN_PROGRESS",
                        None,
                        3,
                    ))
                    .next_token("p2")
                    .build()
            });
        let page2 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(event(
                        "e2",
                        "app",
                        "AWS::CloudFormation::Stack",
                        "CREATE_IN_PROGRESS",
                        None,
                        2,
                    ))
                    .stack_events(event(
                        "e1",
                        "app",
                        "AWS::CloudFormation::Stack",
                        "REVIEW_IN_PROGRESS",
                        None,
                        1,
                    ))
                    .next_token("p3")
                    .build()
            });
        let page3 = mock!(Client::describe_stack_events)
            .match_requests(|r| r.next_token() == Some("p3"))
            .then_output(|| DescribeStackEventsOutput::builder().build());
        let client = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&page1, &page2, &page3]
        );
        let mut follower = EventReader::from_marker("app", Some("e1".into()));
        let fresh = follower.poll(&client).await.unwrap();
        assert_eq!(
            fresh.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e2", "e3", "e4"]
        );
        assert_eq!(
            (page1.num_calls(), page2.num_calls(), page3.num_calls()),
            (1, 1, 0)
        );
        // Next poll: nothing new, and only the first page is read.
        let fresh = follower.poll(&client).await.unwrap();
        assert!(fresh.is_empty());
        assert_eq!((page1.num_calls(), page2.num_calls()), (2, 1));
    }
}
