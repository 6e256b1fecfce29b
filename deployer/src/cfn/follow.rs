//! Following layer, the top of `cfn`: follow a stack operation while it runs, printing
//! its new events and the ECS services' events and stopped tasks, until the stack
//! settles, the deadline passes or the user interrupts. May use every layer below:
//! `wait`, `describe`, `events`, `operations`, `ecs` (`stack` builds on it).

use std::future::Future;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Stack, StackStatus};

use super::describe;
use super::ecs::EcsWatch;
use super::events::{Event, EventReader};
use super::operations::new_operations;
use super::wait::{Backoff, Deadline, detach};
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// Follows one operation on a stack: reads its new events, and remembers them, this
/// run's operation ids and the ECS services it watches, for the explanation of a failure.
#[derive(Debug)]
pub(crate) struct EventFollower {
    reader: EventReader,
    /// Every event read since the follower started, oldest first: this operation's events.
    pub seen: Vec<Event>,
    /// `Stack.LastOperations` ids before this run executed: set by [`Self::track_operations`].
    operations_before: Option<Vec<String>>,
    /// This run's operations, once DescribeStacks lists them (empty where the endpoint
    /// does not: moto, LocalStack).
    pub operations: Vec<String>,
    /// True once one of them is this run's create/update/delete itself.
    pub operation_listed: bool,
    /// ECS services' events and stopped tasks, when the deploy watches them.
    pub ecs: Option<EcsWatch>,
}

impl EventFollower {
    /// Starts following `stack` (name or id) from now: the events already there are
    /// history, not this operation.
    pub(crate) async fn start(client: &Client, stack: &str) -> Result<Self, Failure> {
        Ok(Self::with_reader(EventReader::start(client, stack).await?))
    }

    /// A follower that treats every event newer than `last_seen` as new.
    pub(crate) fn from_marker(stack: &str, last_seen: Option<String>) -> Self {
        Self::with_reader(EventReader::from_marker(stack, last_seen))
    }

    fn with_reader(reader: EventReader) -> Self {
        Self {
            reader,
            seen: Vec::new(),
            operations_before: None,
            operations: Vec::new(),
            operation_listed: false,
            ecs: None,
        }
    }

    /// Follows this run's operation by its id: every id in `Stack.LastOperations` that
    /// is not in `before` (the stack's list before executing) is this run's.
    pub(crate) fn track_operations(mut self, before: Vec<String>) -> Self {
        self.operations_before = Some(before);
        self
    }

    /// Looks at a fresh DescribeStacks answer for this run's operation ids.
    pub(crate) fn note_operations(&mut self, stack: &Stack) {
        if let Some(before) = &self.operations_before {
            let (ids, listed) = new_operations(stack, before);
            if !ids.is_empty() {
                self.operations = ids;
                self.operation_listed |= listed;
            }
        }
    }

    /// Events that appeared since the last call, oldest first.
    pub(crate) async fn poll(&mut self, client: &Client) -> Result<Vec<Event>, Failure> {
        let fresh = self.reader.poll(client).await?;
        self.seen.extend(fresh.iter().cloned());
        Ok(fresh)
    }
}

/// How following an operation ended.
#[derive(Debug)]
pub(crate) enum Settled {
    /// The stack reached a settled state (success or failure: look at its status).
    Done(Box<Stack>),
    /// The stack no longer exists (DELETE_COMPLETE).
    Gone,
    /// `--wait-timeout` passed; the last status seen.
    TimedOut(String),
    /// SIGINT/SIGTERM arrived; the last status seen.
    Interrupted(String),
}

/// Follows a running operation: prints new events, polls with [`Backoff`], stops when
/// the stack settles, the deadline passes or `interrupt` completes.
pub(crate) async fn follow<I>(
    client: &Client,
    stack_id: &str,
    follower: &mut EventFollower,
    deadline: Deadline,
    progress: &mut Progress,
    interrupt: &mut I,
) -> Result<Settled, Failure>
where
    I: Future<Output = ()> + Unpin,
{
    let mut backoff = Backoff::new();
    let started = tokio::time::Instant::now();
    let mut last_status = String::from("UNKNOWN");
    loop {
        tokio::select! {
            biased;
            () = &mut *interrupt => return Ok(Settled::Interrupted(last_status)),
            () = backoff.wait() => {}
        }
        let fresh = follower
            .poll(client)
            .await
            .map_err(|f| detach(f, stack_id, &last_status))?;
        for event in &fresh {
            progress.line(&event.line(progress.color()));
        }
        if let Some(ecs) = follower.ecs.as_mut() {
            ecs.observe(&fresh);
            for line in ecs.poll().await {
                progress.line(&line);
            }
        }
        let described = describe::describe(client, stack_id)
            .await
            .map_err(|f| detach(f, stack_id, &last_status))?;
        let Some(stack) = described else {
            return Ok(Settled::Gone);
        };
        follower.note_operations(&stack);
        let status = describe::status(&stack);
        last_status = status.as_str().to_owned();
        if status == StackStatus::DeleteComplete {
            return Ok(Settled::Gone);
        }
        // Right after ExecuteChangeSet/DeleteStack, DescribeStacks can still show the
        // previous settled status; only the operation's own stack-level event proves it
        // has begun: its id in Stack.LastOperations, or (where the endpoint lists no
        // operations) its own stack-level event.
        if describe::is_settled(&status)
            && (follower.operation_listed || operation_started(&follower.seen, &stack))
        {
            // Events written just before the status changed.
            let last = follower
                .poll(client)
                .await
                .map_err(|f| detach(f, stack_id, &last_status))?;
            for event in last {
                progress.line(&event.line(progress.color()));
            }
            progress.finish();
            return Ok(Settled::Done(Box::new(stack)));
        }
        if deadline.passed() {
            progress.finish();
            return Ok(Settled::TimedOut(last_status));
        }
        progress.status(&format!(
            "{}: {last_status} ({})",
            stack.stack_name().unwrap_or(stack_id),
            format_elapsed(started.elapsed())
        ));
    }
}

/// True once the follower has seen a stack-level event of the operation (the stack's
/// own `*_IN_PROGRESS`/`*_COMPLETE`, not the REVIEW_IN_PROGRESS of a new change set).
fn operation_started(seen: &[Event], stack: &Stack) -> bool {
    seen.iter().any(|e| {
        e.resource_type == "AWS::CloudFormation::Stack"
            && e.status != StackStatus::ReviewInProgress.as_str()
            && (e.physical_id.as_deref() == stack.stack_id()
                || Some(e.logical_id.as_str()) == stack.stack_name())
    })
}
