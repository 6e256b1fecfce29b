//! Bounds on logout's `AdminUserGlobalSignOut` calls. Each verified `/logout` would
//! otherwise make one: a signed-in user (or a script replaying their session cookie,
//! which the ALB keeps accepting until the access token expires) could loop on /logout
//! and spend the user pool's request quota for that kind of call, which every task of the
//! app and every other app on the pool shares, so logins' and logouts' calls would be
//! throttled for everyone. Two bounds:
//!
//! - per user: after a call for a `sub`, another logout of that `sub` within
//!   [`SIGN_OUT_DEBOUNCE`] makes no call. The first call already revoked every refresh
//!   token the user had; a token issued after it needs a new login through the hosted
//!   UI first, which takes a person longer than the window. A call that failed is
//!   forgotten, so the user's next logout tries again;
//! - per task: at most [`MAX_CONCURRENT_SIGN_OUTS`] calls at once (each is bounded by
//!   `SIGN_OUT_TIMEOUT`); a logout beyond that skips its call with a warning.
//!
//! Either way logout itself still expires the cookies and redirects: these bounds only
//! decide whether Cognito is asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A second logout of the same user within this long makes no new Cognito call.
pub const SIGN_OUT_DEBOUNCE: Duration = Duration::from_secs(10);
/// At most this many `AdminUserGlobalSignOut` calls in flight per task.
pub const MAX_CONCURRENT_SIGN_OUTS: usize = 4;
/// Users remembered for the debounce; past this, expired entries are dropped, and if
/// none has expired the logout is treated as busy (bounded memory whatever happens).
const MAX_REMEMBERED: usize = 10_000;

/// Whether a logout may call Cognito now.
#[derive(Debug)]
pub enum Admission {
    /// Yes; hold the permit for the duration of the call.
    Go(OwnedSemaphorePermit),
    /// This user was signed out (or is being) less than [`SIGN_OUT_DEBOUNCE`] ago.
    Recent(Duration),
    /// [`MAX_CONCURRENT_SIGN_OUTS`] calls are in flight.
    Busy,
}

/// The per-user and per-task bounds (one per task, shared by every request).
pub struct SignOutLimits {
    permits: Arc<Semaphore>,
    recent: Mutex<HashMap<String, Instant>>,
    window: Duration,
}

impl Default for SignOutLimits {
    fn default() -> Self {
        Self::with_window(SIGN_OUT_DEBOUNCE)
    }
}

impl SignOutLimits {
    /// Bounds with another debounce window (tests use a short one).
    fn with_window(window: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_SIGN_OUTS)),
            recent: Mutex::new(HashMap::new()),
            window,
        }
    }

    /// Decides for a logout of `sub` (a verified one), and records it when admitted.
    pub fn admit(&self, sub: &str) -> Admission {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = recent.get(sub) {
            let ago = now.duration_since(*at);
            if ago < self.window {
                return Admission::Recent(ago);
            }
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return Admission::Busy;
        };
        if recent.len() >= MAX_REMEMBERED {
            recent.retain(|_, at| now.duration_since(*at) < self.window);
            if recent.len() >= MAX_REMEMBERED {
                return Admission::Busy;
            }
        }
        recent.insert(sub.to_owned(), now);
        Admission::Go(permit)
    }

    /// Forgets `sub`'s last call (it failed), so its next logout calls again.
    pub fn forget(&self, sub: &str) {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(sub);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_user_is_debounced_and_others_are_not() {
        let limits = SignOutLimits::with_window(Duration::from_millis(200));
        let first = limits.admit("alice");
        assert!(matches!(first, Admission::Go(_)), "{first:?}");
        drop(first);
        assert!(matches!(limits.admit("alice"), Admission::Recent(_)));
        assert!(matches!(limits.admit("bob"), Admission::Go(_)));
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(limits.admit("alice"), Admission::Go(_)));
        // A failed call is forgotten: the next logout tries again at once.
        limits.forget("alice");
        assert!(matches!(limits.admit("alice"), Admission::Go(_)));
    }

    #[test]
    fn calls_beyond_the_concurrency_limit_are_refused_until_one_ends() {
        let limits = SignOutLimits::default();
        let held: Vec<_> = (0..MAX_CONCURRENT_SIGN_OUTS)
            .map(|i| match limits.admit(&format!("user-{i}")) {
                Admission::Go(permit) => permit,
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(matches!(limits.admit("one-more"), Admission::Busy));
        // Refused without being remembered: once a call ends, it gets its turn.
        drop(held);
        assert!(matches!(limits.admit("one-more"), Admission::Go(_)));
    }
}
