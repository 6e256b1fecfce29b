//! Retries: which failures are worth another attempt, the backoff between attempts,
//! and the error a failure becomes when the attempts run out.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::error::{Error, Result, TimeoutKind};
use crate::progress::Progress;
use crate::transport::Registry;

/// When and how often to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first one included.
    pub attempts: u32,
    /// Delay before the first retry; doubles each time, with jitter.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): exponential, capped, and
    /// jittered to between half and all of it so parallel uploads do not retry in step.
    fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// A failed attempt: retry it, or give up with this error.
pub(crate) enum Attempt {
    Retry(Transient),
    Fail(Box<Error>),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Fail(Box::new(e))
    }
}

/// A failure worth another attempt.
pub(crate) enum Transient {
    /// 5xx or 429.
    Status {
        request: String,
        status: StatusCode,
        code: Option<String>,
        message: String,
    },
    /// The connection could not be made or broke.
    Network { request: String, cause: String },
    /// A time limit was hit.
    Timeout {
        request: String,
        kind: TimeoutKind,
        after: Duration,
    },
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transient::Status {
                request,
                status,
                code,
                message,
            } => {
                write!(f, "{request}: {status}")?;
                if let Some(code) = code {
                    write!(f, ": {code}")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            Transient::Network { request, cause } => write!(f, "{request}: {cause}"),
            Transient::Timeout {
                request,
                kind,
                after,
            } => write!(f, "{request}: {kind} ({after:?})"),
        }
    }
}

impl Registry {
    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        what: &str,
        progress: &dyn Progress,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Attempt>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Attempt::Fail(error)) => return Err(*error),
                Err(Attempt::Retry(why)) if tries >= self.options().retry.attempts.max(1) => {
                    return Err(self.gave_up(what, why, tries));
                }
                Err(Attempt::Retry(why)) => {
                    let delay = self.options().retry.delay(tries);
                    progress.retrying(what, &why.to_string(), delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// The error for a transient failure that outlasted the retries.
    fn gave_up(&self, what: &str, why: Transient, attempts: u32) -> Error {
        let what = what.to_owned();
        match why {
            Transient::Status {
                request,
                status,
                code,
                message,
            } => Error::Registry {
                what,
                request,
                status: status.as_u16(),
                code,
                message,
                attempts,
            },
            Transient::Network { request, cause } => Error::Unreachable {
                what,
                request,
                cause,
                attempts,
            },
            Transient::Timeout {
                request,
                kind,
                after,
            } => Error::Timeout {
                what,
                request,
                kind,
                after,
                attempts,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stay_capped() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let first = policy.delay(1);
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        let third = policy.delay(3);
        assert!(
            third >= Duration::from_millis(200) && third <= Duration::from_millis(400),
            "{third:?}"
        );
        assert!(policy.delay(30) <= Duration::from_secs(1));
    }
}
