//! Sessions kept in memory: the ALB's (who a session cookie belongs to, for which app
//! client), the emulated IdP's (who is logged in to the hosted UI) and the one-time
//! authorization codes that carry a login from the IdP to another host's
//! `/oauth2/idpresponse`. They are separate on purpose, as on AWS:
//! an app's `/logout` drops the ALB cookie, Cognito's `/logout` ends the IdP session, and
//! only after both does the next visit ask for a login again.
//!
//! The real ALB seals the claims and tokens into the cookie itself. We keep them here and
//! give the browser an unguessable value of the same size instead: the cookie carries no
//! username, and the size makes the browser see the same shards it would on AWS.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::identity::Identity;
use crate::random::{self, RandomError};

/// How long the emulated hosted-UI session lasts (Cognito's is one hour).
pub const IDP_SESSION_TIMEOUT: Duration = Duration::from_secs(3600);

/// How long an authorization code may wait for its `/oauth2/idpresponse` (Cognito's
/// codes last five minutes).
pub const CODE_TIMEOUT: Duration = Duration::from_secs(300);

/// Characters of the random part of a session value: 43 base64url characters = 258 bits.
const SESSION_ID_CHARS: usize = 43;

struct Entry {
    identity: Identity,
    /// Whom the entry is for: the app client of an ALB session, the host of a code.
    owner: String,
    expires: Instant,
}

/// The session tables.
pub struct Sessions {
    alb: Mutex<HashMap<String, Entry>>,
    idp: Mutex<HashMap<String, Entry>>,
    codes: Mutex<HashMap<String, Entry>>,
    cookie_bytes: usize,
    alb_timeout: Duration,
}

impl Sessions {
    /// Empty tables. `cookie_bytes` is the size of the ALB session cookie value (at least
    /// the 43-character random id); `alb_timeout` how long an ALB session lasts.
    pub fn new(cookie_bytes: usize, alb_timeout: Duration) -> Self {
        Self {
            alb: Mutex::default(),
            idp: Mutex::default(),
            codes: Mutex::default(),
            cookie_bytes: cookie_bytes.max(SESSION_ID_CHARS),
            alb_timeout,
        }
    }

    /// How long an ALB session lasts.
    pub fn alb_timeout(&self) -> Duration {
        self.alb_timeout
    }

    /// Starts an ALB session of app client `client` and returns the cookie value that
    /// names it.
    pub fn start_alb(&self, identity: Identity, client: &str) -> Result<String, RandomError> {
        // The whole value is random, so any of it names the session; its length only
        // mirrors the size of the ALB's sealed cookie.
        let value = random::url_safe_string(self.cookie_bytes)?;
        insert(&self.alb, value.clone(), identity, client, self.alb_timeout);
        Ok(value)
    }

    /// The user an ALB session cookie value belongs to, if it is a live session of app
    /// client `client` (a rule with another client does not take it, as its tokens
    /// would be for another client).
    pub fn alb(&self, value: &str, client: &str) -> Option<Identity> {
        lookup(&self.alb, value, Some(client))
    }

    /// Starts an IdP session and returns its id.
    pub fn start_idp(&self, identity: Identity) -> Result<String, RandomError> {
        let id = random::url_safe_string(SESSION_ID_CHARS)?;
        insert(&self.idp, id.clone(), identity, "", IDP_SESSION_TIMEOUT);
        Ok(id)
    }

    /// The user logged in to the IdP under this id, if that session is live.
    pub fn idp(&self, id: &str) -> Option<Identity> {
        lookup(&self.idp, id, None)
    }

    /// A one-time code for `identity` that only `host`'s `/oauth2/idpresponse` redeems.
    pub fn start_code(&self, identity: Identity, host: &str) -> Result<String, RandomError> {
        let code = random::url_safe_string(SESSION_ID_CHARS)?;
        insert(&self.codes, code.clone(), identity, host, CODE_TIMEOUT);
        Ok(code)
    }

    /// The user of a live code made for `host`; the code is used up either way.
    pub fn redeem_code(&self, code: &str, host: &str) -> Option<Identity> {
        let entry = lock(&self.codes).remove(code)?;
        (entry.expires > Instant::now() && entry.owner.eq_ignore_ascii_case(host))
            .then_some(entry.identity)
    }

    /// Ends an IdP session (Cognito's `/logout`). Unknown ids are fine: already gone.
    pub fn end_idp(&self, id: &str) {
        lock(&self.idp).remove(id);
    }
}

fn lock(
    table: &Mutex<HashMap<String, Entry>>,
) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
    // A panic while holding the lock cannot leave a HashMap half-updated in a way that
    // matters here, so a poisoned lock is still usable.
    table
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn insert(
    table: &Mutex<HashMap<String, Entry>>,
    key: String,
    identity: Identity,
    owner: &str,
    ttl: Duration,
) {
    let now = Instant::now();
    let mut t = lock(table);
    // Expired sessions are dropped whenever one is added, so memory stays bounded by
    // the sessions started within one timeout.
    t.retain(|_, e| e.expires > now);
    t.insert(
        key,
        Entry {
            identity,
            owner: owner.to_string(),
            expires: now + ttl,
        },
    );
}

fn lookup(
    table: &Mutex<HashMap<String, Entry>>,
    key: &str,
    owner: Option<&str>,
) -> Option<Identity> {
    let t = lock(table);
    let entry = t.get(key)?;
    let owned = owner.is_none_or(|o| o == entry.owner);
    (owned && entry.expires > Instant::now()).then(|| entry.identity.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity::new("alice", None).unwrap()
    }

    #[test]
    fn an_alb_session_cookie_is_random_sized_and_maps_back_to_its_user() {
        let s = Sessions::new(5000, Duration::from_secs(60));
        let a = s.start_alb(alice(), "c").unwrap();
        let b = s.start_alb(alice(), "c").unwrap();
        assert_eq!(a.len(), 5000);
        assert_ne!(a, b);
        assert!(!a.contains("alice"));
        assert_eq!(s.alb(&a, "c"), Some(alice()));
        assert_eq!(s.alb(&a, "other"), None, "another app client's rule");
        assert_eq!(
            s.alb(&a[..4999], "c"),
            None,
            "a truncated value is no session"
        );
        assert_eq!(s.alb("alice", "c"), None);
    }

    #[test]
    fn expired_sessions_are_not_found() {
        let s = Sessions::new(64, Duration::ZERO);
        let a = s.start_alb(alice(), "c").unwrap();
        assert_eq!(s.alb(&a, "c"), None);
    }

    #[test]
    fn ending_the_idp_session_leaves_the_alb_session_alone() {
        let s = Sessions::new(64, Duration::from_secs(60));
        let idp = s.start_idp(alice()).unwrap();
        let alb = s.start_alb(alice(), "c").unwrap();
        assert_eq!(s.idp(&idp), Some(alice()));
        s.end_idp(&idp);
        assert_eq!(s.idp(&idp), None);
        assert_eq!(
            s.alb(&alb, "c"),
            Some(alice()),
            "as on AWS: Cognito logout does not touch the ALB cookie"
        );
    }

    #[test]
    fn a_code_is_used_once_and_only_by_its_host() {
        let s = Sessions::new(64, Duration::from_secs(60));
        let code = s.start_code(alice(), "app.localhost").unwrap();
        assert_eq!(s.redeem_code(&code, "www.localhost"), None);
        assert_eq!(
            s.redeem_code(&code, "app.localhost"),
            None,
            "spent by the wrong host's try"
        );
        let code = s.start_code(alice(), "app.localhost").unwrap();
        assert_eq!(s.redeem_code(&code, "App.Localhost"), Some(alice()));
        assert_eq!(s.redeem_code(&code, "app.localhost"), None);
    }
}
