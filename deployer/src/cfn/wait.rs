//! Polling layer, the bottom of `cfn`: the poll schedule every wait loop uses,
//! throttling, the `--wait-timeout` deadline ([`duration_input`]), and what expired
//! credentials mean mid-wait ([`detach`]). It uses nothing else in `cfn`; everything
//! above may use it. Following an operation to its end is `follow`.
//!
//! The schedule: look at once, then after ~1 s, backing off by half each time to at
//! most 10 s, with ±20 % jitter so concurrent deploys do not poll in lockstep.
//! Throttling answers jump straight to the longest delay. Sleeps go through
//! `tokio::time`, so tests run the schedule in paused time.

use std::future::Future;
use std::time::Duration;

use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};
use tokio::time::Instant;

use crate::aws::is_throttling;
use crate::error::{Failure, FailureKind};

// Compatibility while issue 18's branches merge: these names moved up a layer and the
// commands still import them from here. Nothing in this file uses them (`layering`
// checks that); drop them once the callers import from their new homes.
pub(crate) use super::follow::{Settled, follow};

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

/// [`parse_duration`] of a flag's or config key's value: bad input (exit 64) that
/// names `what` (e.g. `--wait-timeout`).
pub(crate) fn duration_input(what: &str, text: &str) -> Result<Duration, Failure> {
    parse_duration(text).map_err(|e| Failure::input(format!("{what}: {e}")))
}

/// Parses `--wait-timeout`: `90s`, `30m`, `1h`, `1h30m`, `2h5m10s`, `7d` (days, for
/// `previews.max_age` and `preview prune --older-than`), or bare seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{text}` is not a duration: write it like `90s`, `30m`, `1h`, `1h30m` or `7d`");
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
            'd' => 86_400,
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

/// Credentials that expire mid-wait (a 1 h OIDC session) do not fail the deploy: the
/// operation goes on in CloudFormation, so say that, how to watch it, and exit
/// [`crate::error::EXIT_DETACHED`]. Other failures pass through unchanged.
pub(crate) fn detach(failure: Failure, stack_id: &str, last_status: &str) -> Failure {
    if failure.kind != FailureKind::CredentialsExpired {
        return failure;
    }
    let name = stack_name_of(stack_id);
    let console = console_link(stack_id)
        .map(|url| format!(", or in the console: {url}"))
        .unwrap_or_default();
    Failure::detached(format!(
        "the AWS credentials expired while waiting ({}); stopped watching. The operation on stack {name} \
         goes on in CloudFormation (last seen: {last_status}). Watch it with fresh credentials: \
         `deployer status --stack-name {name}`{console}",
        failure.message
    ))
}

/// The stack's name from its id (`arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID`);
/// a name is returned as it is.
pub(crate) fn stack_name_of(stack_id: &str) -> &str {
    stack_id
        .split_once(":stack/")
        .and_then(|(_, rest)| rest.split('/').next())
        .filter(|n| !n.is_empty())
        .unwrap_or(stack_id)
}

/// The CloudFormation console page of a stack, from its ARN (partition and region);
/// `None` for a bare name.
pub(crate) fn console_link(stack_id: &str) -> Option<String> {
    let mut parts = stack_id.split(':');
    let (arn, partition, service, region) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if arn != "arn" || service != "cloudformation" || region.is_empty() {
        return None;
    }
    let host = match partition {
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        "aws-us-gov" => format!("{region}.console.amazonaws-us-gov.com"),
        _ => format!("{region}.console.aws.amazon.com"),
    };
    // Percent-encode everything but RFC 3986's unreserved characters (the ARN's `:` and
    // `/` must not end the query). Hand-written: five lines, not worth a dependency.
    let id: String = stack_id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    Some(format!(
        "https://{host}/cloudformation/home?region={region}#/stacks/stackinfo?stackId={id}"
    ))
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
    fn a_stack_id_gives_its_name_and_console_link() {
        let id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/0a1b-2c";
        assert_eq!(stack_name_of(id), "app");
        assert_eq!(stack_name_of("app"), "app");
        assert_eq!(
            console_link(id).as_deref(),
            Some(
                "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/stackinfo?stackId=\
                 arn%3Aaws%3Acloudformation%3Aeu-west-1%3A123456789012%3Astack%2Fapp%2F0a1b-2c"
            )
        );
        assert_eq!(console_link("app"), None);
    }

    #[test]
    fn durations_parse_like_people_write_them() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        for bad in ["", "m", "10x", "1h30", "0s", "-5m"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }
}
