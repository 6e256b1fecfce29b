//! Waiting: the poll schedule every wait loop uses, throttling, the `--wait-timeout`
//! deadline, and following a running operation to its end.
//!
//! The schedule: look at once, then after ~1 s, backing off by half each time to at
//! most 10 s, with ±20 % jitter so concurrent deploys do not poll in lockstep.
//! Throttling answers jump straight to the longest delay. Sleeps go through
//! `tokio::time`, so tests run the schedule in paused time.

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use tokio::time::Instant;

use super::events::{Event, EventFollower};
use super::stack;
use crate::aws::is_throttling;
use crate::error::Failure;
use crate::output::{Progress, format_elapsed};

/// First delay after the immediate first look.
pub(crate) const FIRST_DELAY: Duration = Duration::from_secs(1);
/// Longest delay between two looks.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(10);

/// The delays between looks at something that is still changing.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    looked: bool,
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    /// A fresh schedule: the first [`Backoff::wait`] returns at once.
    pub(crate) fn new() -> Self {
        Self {
            looked: false,
            next: FIRST_DELAY,
        }
    }

    /// The delay before the next look, without jitter (for tests and documentation).
    pub(crate) fn next_delay(&mut self) -> Duration {
        if !self.looked {
            self.looked = true;
            return Duration::ZERO;
        }
        let delay = self.next;
        self.next = (self.next * 3 / 2).min(MAX_DELAY);
        delay
    }

    /// After a throttling answer: wait the longest delay from now on.
    pub(crate) fn slow_down(&mut self) {
        self.looked = true;
        self.next = MAX_DELAY;
    }

    /// Sleeps until the next look (not at all before the first one).
    pub async fn wait(&mut self) {
        let delay = self.next_delay();
        if !delay.is_zero() {
            tokio::time::sleep(jitter(delay)).await;
        }
    }
}

/// `delay` scaled by a random factor in [0.8, 1.2), never above [`MAX_DELAY`].
fn jitter(delay: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let factor = match getrandom::getrandom(&mut byte) {
        Ok(()) => 0.8 + 0.4 * f64::from(byte[0]) / 256.0,
        Err(_) => 1.0,
    };
    delay.mul_f64(factor).min(MAX_DELAY)
}

/// How many throttling answers in a row one call tolerates before giving up.
const THROTTLE_ATTEMPTS: u32 = 8;

/// Runs an AWS call, retrying it with [`Backoff`] while AWS answers "throttled". The
/// SDK's adaptive retry already absorbs short bursts; this is for a long poll that keeps
/// hitting the account's rate limit.
pub(crate) async fn retry_throttled<T, E, R, F, Fut>(mut call: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut backoff = Backoff::new();
    backoff.slow_down();
    let mut attempt = 1;
    loop {
        match call().await {
            Err(err) if is_throttling(&err) && attempt < THROTTLE_ATTEMPTS => {
                attempt += 1;
                backoff.wait().await;
            }
            other => return other,
        }
    }
}

/// When a wait has to stop: `--wait-timeout` after the start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    end: Instant,
    timeout: Duration,
}

impl Deadline {
    /// A deadline `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Self {
        Self {
            end: Instant::now() + timeout,
            timeout,
        }
    }
    /// True once the time is up.
    pub(crate) fn passed(&self) -> bool {
        Instant::now() >= self.end
    }
    /// The configured timeout, for messages.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Parses `--wait-timeout`: `90s`, `30m`, `1h`, `1h30m`, `2h5m10s`, or bare seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: write it like `90s`, `30m`, `1h` or `1h30m`");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
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
        for event in follower.poll(client).await? {
            progress.line(&event.line(progress.color()));
        }
        let Some(stack) = stack::describe(client, stack_id).await? else {
            return Ok(Settled::Gone);
        };
        let status = stack::status(&stack);
        last_status = status.as_str().to_owned();
        if status == StackStatus::DeleteComplete {
            return Ok(Settled::Gone);
        }
        // Right after ExecuteChangeSet/DeleteStack, DescribeStacks can still show the
        // previous settled status; only the operation's own stack-level event proves it
        // has begun.
        if stack::is_settled(&status) && operation_started(&follower.seen, &stack) {
            // Events written just before the status changed.
            for event in follower.poll(client).await? {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_look_is_immediate_then_backs_off_to_ten_seconds() {
        let mut b = Backoff::new();
        let delays: Vec<f64> = (0..9).map(|_| b.next_delay().as_secs_f64()).collect();
        assert_eq!(
            delays,
            vec![0.0, 1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10.0, 10.0]
        );
    }

    #[test]
    fn throttling_jumps_to_the_longest_delay() {
        let mut b = Backoff::new();
        b.slow_down();
        assert_eq!(b.next_delay(), MAX_DELAY);
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_the_cap() {
        for _ in 0..200 {
            let d = jitter(Duration::from_secs(5)).as_secs_f64();
            assert!((4.0..6.0).contains(&d), "{d}");
            assert!(jitter(MAX_DELAY) <= MAX_DELAY);
        }
    }

    #[test]
    fn durations_parse_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        for bad in ["", "m", "10x", "1h30", "0s", "-5m"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }
}
