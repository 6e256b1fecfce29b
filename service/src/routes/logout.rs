//! `GET /logout`: expire every ALB session cookie shard, then go to `LOGOUT_URL` (the
//! Cognito logout endpoint, which ends the IdP session and comes back).

use axum::extract::State;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::startup::LogoutUrl;

/// The ALB splits its session cookie into shards `-0`, `-1`, … when it is large.
const SESSION_COOKIE_PREFIX: &str = "AWSELBAuthSessionCookie-";
/// Shards expired even when the request does not show them (e.g. Path-scoped copies).
const ALWAYS_EXPIRED_SHARDS: u32 = 4;

/// 302 to `LOGOUT_URL`, expiring `AWSELBAuthSessionCookie-0..3` and any other shard sent.
pub async fn logout(State(LogoutUrl(url)): State<LogoutUrl>, headers: HeaderMap) -> Response {
    let mut names: Vec<String> = (0..ALWAYS_EXPIRED_SHARDS)
        .map(|n| format!("{SESSION_COOKIE_PREFIX}{n}"))
        .collect();
    for name in session_cookies_sent(&headers) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut response = StatusCode::FOUND.into_response();
    let out = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&url) {
        out.insert(LOCATION, location);
    }
    for name in names {
        let expired = format!(
            "{name}=; Path=/; Secure; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
        if let Ok(value) = HeaderValue::from_str(&expired) {
            out.append(SET_COOKIE, value);
        }
    }
    response
}

/// Names of `AWSELBAuthSessionCookie-*` cookies in the request, keeping only names made
/// of safe characters so nothing odd is echoed into `Set-Cookie`.
fn session_cookies_sent(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| {
            name.strip_prefix(SESSION_COOKIE_PREFIX)
                .is_some_and(|suffix| {
                    !suffix.is_empty()
                        && suffix.len() <= 16
                        && suffix
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
        })
        .map(str::to_owned)
        .collect()
}
