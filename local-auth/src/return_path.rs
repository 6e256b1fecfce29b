//! Where to send the user after the login: the `state` parameter of the login page.
//!
//! The ALB carries the original URL through the IdP round trip in an opaque `state`. Ours
//! is `EXPIRY.PATH.TAG` (base64url parts, TAG an HMAC-SHA256 over expiry and path with a
//! per-run key), so it cannot be forged or edited, and the path is checked twice: it must
//! be a path on this host (`/…`, never `//host` or `/\host`, which browsers read as
//! another site) when the state is made and again when it is used. No open redirect.
//!
//! When routing by host, the login page lives on the emulator's own origin (as Cognito's
//! hosted UI lives on its own domain), so the state also names the host to return to,
//! `HOST/PATH` instead of `/PATH`; only hosts of login routes are ever sealed.

use std::time::Duration;

use alb_token::unix_now;
use aws_lc_rs::hmac;

use crate::random::{self, RandomError};

/// How long a login link stays valid.
const STATE_LIFETIME: Duration = Duration::from_secs(3600);

/// The login link is not one we made, was edited, or is too old.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this login link is invalid or has expired: open the app's URL again to get a fresh one")]
pub struct BadState;

/// Where a `state` returns to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The route host to go back to, or `None` for the host the login page is on.
    pub host: Option<String>,
    /// The path and query on that host.
    pub path: String,
}

/// Seals and opens `state` values.
pub struct ReturnPaths {
    key: hmac::Key,
}

impl ReturnPaths {
    /// A sealer with a fresh random key (states do not survive a restart, like the ALB's
    /// nonce cookie).
    pub fn new() -> Result<Self, RandomError> {
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &random::bytes::<32>()?),
        })
    }

    /// The `state` for returning to `path_and_query` (anything unsafe becomes `/`).
    pub fn seal(&self, path_and_query: &str) -> String {
        self.seal_until(
            safe_path(path_and_query),
            unix_now_secs() + STATE_LIFETIME.as_secs(),
        )
    }

    /// The `state` for returning to `path_and_query` on `host` (a route's host name).
    pub fn seal_to(&self, host: &str, path_and_query: &str) -> String {
        let payload = format!("{}{}", host.to_ascii_lowercase(), safe_path(path_and_query));
        self.seal_until(&payload, unix_now_secs() + STATE_LIFETIME.as_secs())
    }

    fn seal_until(&self, path: &str, expiry: u64) -> String {
        let signed = format!(
            "{expiry}.{}",
            alb_token::encode_segment_unpadded(path.as_bytes())
        );
        let tag = hmac::sign(&self.key, signed.as_bytes());
        format!(
            "{signed}.{}",
            alb_token::encode_segment_unpadded(tag.as_ref())
        )
    }

    /// Where a `state` returns to, if we made it, it is unchanged and unexpired.
    pub fn open(&self, state: &str) -> Result<Target, BadState> {
        let (signed, tag) = state.rsplit_once('.').ok_or(BadState)?;
        let tag = alb_token::decode_segment(tag).map_err(|_| BadState)?;
        hmac::verify(&self.key, signed.as_bytes(), &tag).map_err(|_| BadState)?;
        let (expiry, path) = signed.split_once('.').ok_or(BadState)?;
        let expiry: u64 = expiry.parse().map_err(|_| BadState)?;
        if expiry < unix_now_secs() {
            return Err(BadState);
        }
        let payload = String::from_utf8(alb_token::decode_segment(path).map_err(|_| BadState)?)
            .map_err(|_| BadState)?;
        let (host, path) = match payload.find('/') {
            Some(0) => (None, payload.as_str()),
            Some(i) => (Some(&payload[..i]), &payload[i..]),
            None => return Err(BadState),
        };
        // Checked again although we sealed it: the check is cheap and the rule absolute.
        if safe_path(path) != path || host.is_some_and(|h| !crate::config::is_plain_host_name(h)) {
            return Err(BadState);
        }
        Ok(Target {
            host: host.map(str::to_string),
            path: path.to_string(),
        })
    }
}

/// The clock in the unsigned form the state's expiry is written in.
fn unix_now_secs() -> u64 {
    u64::try_from(unix_now()).unwrap_or(0)
}

/// `path_and_query` if it is a path on this host outside `/_alb/`, else `/`.
pub fn safe_path(path_and_query: &str) -> &str {
    let b = path_and_query.as_bytes();
    let on_this_host = b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && !path_and_query.chars().any(|c| c.is_control() || c == '\\');
    if on_this_host && !path_and_query.starts_with("/_alb/") {
        path_and_query
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_path_opens_to_itself() {
        let r = ReturnPaths::new().unwrap();
        for path in ["/", "/api/me?x=1&y=%2F", "/deep/path#frag"] {
            assert_eq!(r.open(&r.seal(path)).unwrap().path, path);
        }
    }

    #[test]
    fn a_state_for_another_host_names_it() {
        let r = ReturnPaths::new().unwrap();
        let target = r.open(&r.seal_to("App.Localhost", "/x?y=1")).unwrap();
        assert_eq!(target.host.as_deref(), Some("app.localhost"));
        assert_eq!(target.path, "/x?y=1");
        assert_eq!(r.open(&r.seal("/x")).unwrap().host, None);
        let evil = r.seal_until("evil.example:1@x/", unix_now_secs() + 60);
        assert_eq!(r.open(&evil), Err(BadState));
    }

    #[test]
    fn paths_to_other_hosts_become_the_root() {
        for evil in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "",
            "/a\\b",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(safe_path(evil), "/", "{evil:?}");
        }
        assert_eq!(safe_path("/_alb/login"), "/");
        assert_eq!(safe_path("/ok/path?q=//x"), "/ok/path?q=//x");
    }

    #[test]
    fn edited_foreign_or_expired_states_are_refused() {
        let r = ReturnPaths::new().unwrap();
        let other = ReturnPaths::new().unwrap();
        let state = r.seal("/private");
        assert_eq!(other.open(&state), Err(BadState), "made with another key");
        let (expiry, rest) = state.split_once('.').unwrap();
        let edited = format!("{}.{rest}", expiry.parse::<u64>().unwrap() + 1);
        assert_eq!(r.open(&edited), Err(BadState));
        let swapped_path = format!(
            "{expiry}.{}.{}",
            alb_token::encode_segment_unpadded(b"//evil.example"),
            rest.split_once('.').unwrap().1
        );
        assert_eq!(r.open(&swapped_path), Err(BadState));
        assert_eq!(
            r.open(&r.seal_until("/old", unix_now_secs() - 1)),
            Err(BadState)
        );
        assert_eq!(r.open("garbage"), Err(BadState));
        assert_eq!(r.open(""), Err(BadState));
    }

    #[test]
    fn a_validly_signed_unsafe_path_is_still_refused() {
        let r = ReturnPaths::new().unwrap();
        let forged = r.seal_until("//evil.example/", unix_now_secs() + 60);
        assert_eq!(r.open(&forged), Err(BadState));
    }
}
