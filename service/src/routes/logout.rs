//! `GET /logout`: with `USER_POOL_ID`, revoke the verified user's refresh tokens; expire
//! every ALB session cookie shard; then go to `LOGOUT_URL` (the Cognito logout endpoint,
//! which ends the IdP session and comes back).

use std::collections::BTreeSet;

use tokio::time::Instant;

use axum::extract::State;
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::{Verifier, the_token};
use crate::signout::GlobalSignOut;
use crate::signout_limits::{Admission, MAX_CONCURRENT_SIGN_OUTS};
use crate::startup::AppState;

/// The ALB splits its session cookie into shards `-0`, `-1`, … when it is large.
const SESSION_COOKIE_PREFIX: &str = "AWSELBAuthSessionCookie-";
/// Shards expired even when the request does not show them (e.g. Path-scoped copies).
const ALWAYS_EXPIRED_SHARDS: u32 = 4;
/// At most this many other shard names from the request are expired. The ALB's cookie
/// is at most 11 KB, i.e. 3 or 4 shards; more names than this are not the ALB's.
const MAX_EXTRA_SHARDS: usize = 12;

/// 302 to `LOGOUT_URL`, expiring `AWSELBAuthSessionCookie-0..3` and up to
/// [`MAX_EXTRA_SHARDS`] other shards sent; 403 when another site started it. With
/// `USER_POOL_ID`, first (and within [`crate::configuration::SIGN_OUT_TIMEOUT`]) a
/// global sign-out of the user whose token verifies; its outcome changes nothing here.
pub(crate) async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Browsers say where a navigation came from. A link or form on another site must
    // not be able to log the user out; typed URLs (`none`), our own page and sibling
    // subdomains (`same-site`) may, and so may clients that send no such header.
    let from_elsewhere = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if from_elsewhere {
        return (
            StatusCode::FORBIDDEN,
            "Log out from the app's own page: a link on another site cannot log you out.\n",
        )
            .into_response();
    }
    if let Some(sign_out) = &state.sign_out {
        end_cognito_session(&state.verifier, sign_out, &headers).await;
    }
    let url = state.logout_url.0;
    let mut names: Vec<String> = (0..ALWAYS_EXPIRED_SHARDS)
        .map(|n| format!("{SESSION_COOKIE_PREFIX}{n}"))
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for name in session_cookies_sent(&headers) {
        if seen.len() >= MAX_EXTRA_SHARDS {
            break;
        }
        if !names.iter().any(|n| n == name) && seen.insert(name) {
            names.push(name.to_owned());
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

/// `AdminUserGlobalSignOut` for the user of the request's token, if it verifies and
/// the bounds allow (`signout_limits`: not again for the same user within seconds, not
/// too many at once); logs what happened and never fails. Verification and the call share one deadline, so a
/// slow key endpoint or Cognito delays logout by at most that much.
async fn end_cognito_session(verifier: &Verifier, sign_out: &GlobalSignOut, headers: &HeaderMap) {
    let deadline = Instant::now() + sign_out.timeout();
    // Only a verified `sub`: anyone can send a header naming someone else's.
    let verified = async {
        match the_token(headers) {
            Ok(token) => verifier.verify(token).await,
            Err(failure) => Err(failure),
        }
    };
    let identity = match tokio::time::timeout_at(deadline, verified).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(reason)) => {
            tracing::info!(%reason, "logout without a valid token: no Cognito sign-out");
            return;
        }
        Err(_) => {
            tracing::warn!(
                "Cognito sign-out skipped: the token's key could not be checked in time"
            );
            return;
        }
    };
    // Held until the call ends: it is one of the few allowed in flight.
    let _permit = match sign_out.limits().admit(&identity.sub) {
        Admission::Go(permit) => permit,
        Admission::Recent(ago) => {
            tracing::info!(
                sub = %identity.sub,
                seconds_ago = ago.as_secs(),
                "Cognito sign-out already made for this user moments ago: no new call"
            );
            return;
        }
        Admission::Busy => {
            tracing::warn!(
                sub = %identity.sub,
                limit = MAX_CONCURRENT_SIGN_OUTS,
                "Cognito sign-out skipped: too many in flight; logged out of this browser only"
            );
            return;
        }
    };
    match sign_out.sign_out(&identity.sub, deadline).await {
        Ok(()) => tracing::info!(
            sub = %identity.sub,
            "signed out of Cognito: the user's refresh tokens are revoked"
        ),
        Err(e) => {
            // Not done: the user's next logout may try again straight away.
            sign_out.limits().forget(&identity.sub);
            tracing::warn!(
                sub = %identity.sub,
                error = %e,
                "Cognito sign-out failed; logged out of this browser only"
            );
        }
    }
}

/// Names of `AWSELBAuthSessionCookie-*` cookies in the request, keeping only names made
/// of safe characters so nothing odd is echoed into `Set-Cookie`.
fn session_cookies_sent(headers: &HeaderMap) -> impl Iterator<Item = &str> {
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
}
