//! The two cookies of the flow:
//! - the ALB session cookie `AWSELBAuthSessionCookie-N` (`Path=/`), sharded at 4 KB into
//!   `-0`, `-1`… exactly where the ALB shards it;
//! - the emulated IdP (Cognito hosted UI) session cookie, scoped to `/_alb/` so the app
//!   never sees it, as the real one lives on the Cognito domain.
//!
//! Both are `HttpOnly; Secure` like the ALB's. Browsers accept `Secure` cookies from
//! `http://127.0.0.1` and `http://localhost` because loopback counts as a secure context.

use std::time::Duration;

use axum::http::header::{COOKIE, HeaderMap, HeaderValue};

use crate::config::COOKIE_SHARD_LIMIT;

/// The ALB's default session cookie name; shards are `NAME-0`, `NAME-1`….
pub const SESSION_COOKIE: &str = "AWSELBAuthSessionCookie";

/// The emulated hosted-UI session cookie.
pub const IDP_COOKIE: &str = "local-auth-idp-session";

/// The path the IdP cookie is scoped to.
pub const IDP_COOKIE_PATH: &str = "/_alb/";

/// Every `name=value` pair in the request's `Cookie` headers.
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// The shard number of a session cookie name: `AWSELBAuthSessionCookie-3` → 3.
fn shard_number(name: &str) -> Option<usize> {
    let n = name.strip_prefix(SESSION_COOKIE)?.strip_prefix('-')?;
    if n.is_empty() || n.len() > 2 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// The shard numbers the request carries, in any order.
pub fn session_shards(headers: &HeaderMap) -> Vec<usize> {
    pairs(headers)
        .filter_map(|(name, _)| shard_number(name))
        .collect()
}

/// The session cookie value reassembled from its shards, as the ALB reads it: shards
/// `-0`, `-1`… concatenated in order. Missing, duplicate or out-of-sequence shards mean
/// no session.
pub fn session_value(headers: &HeaderMap) -> Option<String> {
    let mut shards: Vec<(usize, &str)> = pairs(headers)
        .filter_map(|(name, value)| Some((shard_number(name)?, value)))
        .collect();
    if shards.is_empty() {
        return None;
    }
    shards.sort_by_key(|(n, _)| *n);
    if shards.iter().enumerate().any(|(i, (n, _))| i != *n) {
        return None;
    }
    Some(shards.into_iter().map(|(_, v)| v).collect())
}

/// The IdP session id the request carries, if any.
pub fn idp_session(headers: &HeaderMap) -> Option<&str> {
    pairs(headers)
        .find(|(name, _)| *name == IDP_COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` values for a new session: the value cut into shards of at most 4 KB per
/// `name=value`, plus expiries for any higher-numbered shards the browser still holds
/// from an older, larger session (they would otherwise be glued onto the new one).
/// `value` must be cookie-safe ASCII (it is: we generate it).
pub fn set_session(value: &str, max_age: Duration, held_shards: &[usize]) -> Vec<HeaderValue> {
    let mut headers = Vec::new();
    let mut rest = value;
    let mut n = 0;
    while !rest.is_empty() || n == 0 {
        let name = format!("{SESSION_COOKIE}-{n}");
        let room = COOKIE_SHARD_LIMIT - name.len() - 1;
        let (shard, tail) = rest.split_at(room.min(rest.len()));
        headers.push(cookie(&format!(
            "{name}={shard}; Path=/; Max-Age={}; HttpOnly; Secure",
            max_age.as_secs()
        )));
        rest = tail;
        n += 1;
    }
    for &stale in held_shards.iter().filter(|&&s| s >= n) {
        headers.push(expire(&format!("{SESSION_COOKIE}-{stale}"), "/"));
    }
    headers
}

/// `Set-Cookie` for a new IdP session.
pub fn set_idp(id: &str, max_age: Duration) -> HeaderValue {
    cookie(&format!(
        "{IDP_COOKIE}={id}; Path={IDP_COOKIE_PATH}; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
        max_age.as_secs()
    ))
}

/// `Set-Cookie` that removes the IdP session cookie.
pub fn expire_idp() -> HeaderValue {
    expire(IDP_COOKIE, IDP_COOKIE_PATH)
}

fn expire(name: &str, path: &str) -> HeaderValue {
    cookie(&format!(
        "{name}=; Path={path}; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure"
    ))
}

fn cookie(s: &str) -> HeaderValue {
    // Every part is ASCII we generated or validated; an invalid byte would be our bug,
    // and dropping to an empty cookie is safer than a panic in a request handler.
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(cookie_lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in cookie_lines {
            h.append(COOKIE, HeaderValue::from_str(line).unwrap());
        }
        h
    }

    fn as_request_cookies(set: &[HeaderValue]) -> String {
        set.iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
            .filter(|pair| !pair.ends_with('='))
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn a_small_value_is_one_shard_named_dash_zero() {
        let set = set_session("abc", Duration::from_secs(60), &[]);
        assert_eq!(set.len(), 1);
        let s = set[0].to_str().unwrap();
        assert!(
            s.starts_with("AWSELBAuthSessionCookie-0=abc; Path=/;"),
            "{s}"
        );
        assert!(s.contains("HttpOnly") && s.contains("Secure"), "{s}");
    }

    #[test]
    fn large_values_shard_at_4096_bytes_per_cookie_and_reassemble() {
        let value: String = (0..9000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let set = set_session(&value, Duration::from_secs(60), &[]);
        assert_eq!(set.len(), 3);
        for v in &set {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            assert!(pair.len() <= 4096, "{}", pair.len());
        }
        assert_eq!(
            set[0].to_str().unwrap().split(';').next().unwrap().len(),
            4096
        );
        let back = request_with(&[&as_request_cookies(&set)]);
        assert_eq!(session_value(&back).as_deref(), Some(value.as_str()));
    }

    #[test]
    fn shards_are_reassembled_in_numeric_order_across_cookie_headers() {
        let h = request_with(&[
            "other=1; AWSELBAuthSessionCookie-1=def",
            "AWSELBAuthSessionCookie-0=abc",
        ]);
        assert_eq!(session_value(&h).as_deref(), Some("abcdef"));
    }

    #[test]
    fn missing_or_duplicate_shards_mean_no_session() {
        assert_eq!(
            session_value(&request_with(&["AWSELBAuthSessionCookie-1=def"])),
            None
        );
        assert_eq!(
            session_value(&request_with(&[
                "AWSELBAuthSessionCookie-0=a; AWSELBAuthSessionCookie-0=b"
            ])),
            None
        );
        assert_eq!(
            session_value(&request_with(&["AWSELBAuthSessionCookie=abc"])),
            None
        );
        assert_eq!(
            session_value(&request_with(&["AWSELBAuthSessionCookie-x=abc"])),
            None
        );
        assert_eq!(session_value(&HeaderMap::new()), None);
    }

    #[test]
    fn shards_left_over_from_a_larger_session_are_expired() {
        let set = set_session("small", Duration::from_secs(60), &[0, 1, 2]);
        let lines: Vec<&str> = set.iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with("AWSELBAuthSessionCookie-1=; Path=/; Max-Age=0"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("AWSELBAuthSessionCookie-2=;"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn the_idp_cookie_is_scoped_to_the_emulator_paths() {
        let set = set_idp("xyz", Duration::from_secs(3600));
        assert!(set.to_str().unwrap().contains("Path=/_alb/"));
        assert_eq!(
            idp_session(&request_with(&["a=b; local-auth-idp-session=xyz"])),
            Some("xyz")
        );
        assert!(expire_idp().to_str().unwrap().contains("Max-Age=0"));
    }
}
