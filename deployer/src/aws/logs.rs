//! A service's CloudWatch log events (FilterLogEvents), read page by page from a start
//! time, and read again and again for `logs --follow`.
//!
//! Events reach CloudWatch out of order (each task's stream is shipped on its own), so
//! a new pass starts a little before the newest event already seen ([`OVERLAP_MS`]) and
//! drops the events it already returned by their event id.

use std::collections::HashMap;

use aws_sdk_cloudwatchlogs::Client;
use serde::Serialize;

use crate::aws::{call_failed, describe_error};
use crate::error::Failure;

/// How far back a new pass starts before the newest event seen: a task's late batch
/// within this window is still shown.
pub(crate) const OVERLAP_MS: i64 = 60_000;

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct LogEvent {
    /// CloudWatch's event id (unique in the log group).
    pub id: String,
    /// When it was logged, milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The log stream (for ECS: `PREFIX/CONTAINER/TASK_ID`).
    pub stream: String,
    /// The line as the container wrote it.
    pub message: String,
}

/// Reading a log group from a start time on, in passes.
#[derive(Debug)]
pub(crate) struct Tail {
    group: String,
    /// This pass's start (ms since the epoch).
    start_ms: i64,
    /// This pass's next page; `None` before its first page.
    token: Option<String>,
    /// The pass has read its last page.
    pass_done: bool,
    /// Events already returned, id → timestamp (forgotten once older than a pass's start).
    seen: HashMap<String, i64>,
    /// The newest event time seen.
    newest_ms: i64,
}

impl Tail {
    /// A tail of `group` from `start_ms` (ms since the epoch).
    pub(crate) fn new(group: &str, start_ms: i64) -> Self {
        Self {
            group: group.to_owned(),
            start_ms,
            token: None,
            pass_done: false,
            seen: HashMap::new(),
            newest_ms: start_ms,
        }
    }

    /// The next page of this pass, without events already returned (possibly empty:
    /// CloudWatch pages through time, not events); `None` once the pass has read
    /// everything up to now. Oldest first within a page.
    pub(crate) async fn next_page(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<LogEvent>>, Failure> {
        if self.pass_done {
            return Ok(None);
        }
        let out = client
            .filter_log_events()
            .log_group_name(&self.group)
            .start_time(self.start_ms)
            .set_next_token(self.token.take())
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    Failure::failed(format!(
                        "log group {} does not exist (in this account and region): {}. Is the service deployed, \
                         and is this its region (AWS_REGION or the config's region)?",
                        self.group,
                        describe_error(&e)
                    ))
                } else {
                    call_failed(&format!("cannot read log group {}", self.group), &e)
                }
            })?;
        self.token = out.next_token().map(str::to_owned);
        self.pass_done = self.token.is_none();
        let mut page: Vec<LogEvent> = out
            .events()
            .iter()
            .filter_map(|e| {
                Some(LogEvent {
                    id: e.event_id()?.to_owned(),
                    timestamp_ms: e.timestamp().unwrap_or_default(),
                    stream: e.log_stream_name().unwrap_or_default().to_owned(),
                    message: e.message().unwrap_or_default().to_owned(),
                })
            })
            .filter(|e| !self.seen.contains_key(&e.id))
            .collect();
        page.sort_by_key(|e| e.timestamp_ms);
        for e in &page {
            self.seen.insert(e.id.clone(), e.timestamp_ms);
            self.newest_ms = self.newest_ms.max(e.timestamp_ms);
        }
        Ok(Some(page))
    }

    /// Starts a new pass from [`OVERLAP_MS`] before the newest event seen (never before
    /// the first start), forgetting the ids that pass cannot return again.
    pub(crate) fn next_pass(&mut self) {
        self.start_ms = self.start_ms.max(self.newest_ms - OVERLAP_MS);
        let start = self.start_ms;
        self.seen.retain(|_, t| *t >= start);
        self.token = None;
        self.pass_done = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::operation::filter_log_events::{
        FilterLogEventsError, FilterLogEventsOutput,
    };
    use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
    use aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn event(id: &str, t: i64, message: &str) -> FilteredLogEvent {
        FilteredLogEvent::builder()
            .event_id(id)
            .timestamp(t)
            .log_stream_name("web/app/0123456789abcdef")
            .message(message)
            .build()
    }

    fn ids(page: &[LogEvent]) -> Vec<&str> {
        page.iter().map(|e| e.id.as_str()).collect()
    }

    #[tokio::test]
    async fn a_pass_reads_every_page_and_the_next_drops_what_was_seen() {
        let first = mock!(Client::filter_log_events)
            .match_requests(|r| r.start_time() == Some(1_000_000) && r.next_token().is_none())
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(event("b", 1_000_200, "two"))
                    .events(event("a", 1_000_100, "one"))
                    .next_token("p2")
                    .build()
            });
        let second = mock!(Client::filter_log_events)
            .match_requests(|r| r.next_token() == Some("p2"))
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(event("c", 1_000_300, "three"))
                    .build()
            });
        // The next pass starts before the newest event (late events) and sees c again.
        let again = mock!(Client::filter_log_events)
            .match_requests(|r| r.start_time() == Some(1_000_000) && r.next_token().is_none())
            .then_output(|| {
                FilterLogEventsOutput::builder()
                    .events(event("c", 1_000_300, "three"))
                    .events(event("late", 1_000_250, "late"))
                    .events(event("d", 1_000_400, "four"))
                    .build()
            });
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&first, &second, &again]
        );
        let mut tail = Tail::new("/ecs/hello-staging-web", 1_000_000);
        let p1 = tail.next_page(&client).await.unwrap().unwrap();
        assert_eq!(ids(&p1), ["a", "b"], "oldest first");
        let p2 = tail.next_page(&client).await.unwrap().unwrap();
        assert_eq!(ids(&p2), ["c"]);
        assert!(tail.next_page(&client).await.unwrap().is_none());
        tail.next_pass();
        let p3 = tail.next_page(&client).await.unwrap().unwrap();
        assert_eq!(ids(&p3), ["late", "d"]);
        assert!(tail.next_page(&client).await.unwrap().is_none());
    }

    #[test]
    fn a_later_pass_starts_an_overlap_before_the_newest_event_and_forgets_older_ids() {
        let mut tail = Tail::new("g", 0);
        tail.seen.insert("old".into(), 10_000);
        tail.seen.insert("new".into(), 200_000);
        tail.newest_ms = 200_000;
        tail.next_pass();
        assert_eq!(tail.start_ms, 200_000 - OVERLAP_MS);
        assert!(tail.seen.contains_key("new") && !tail.seen.contains_key("old"));
    }

    #[tokio::test]
    async fn a_missing_log_group_says_so() {
        let gone = mock!(Client::filter_log_events).then_error(|| {
            FilterLogEventsError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("The specified log group does not exist.")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatchlogs, [&gone]);
        let e = Tail::new("/ecs/nope", 0)
            .next_page(&client)
            .await
            .unwrap_err();
        assert!(
            e.message.contains("log group /ecs/nope does not exist"),
            "{}",
            e.message
        );
    }
}
