//! `GET /_alb/logout?client_id=…&logout_uri=…`: Cognito's logout endpoint. It ends the
//! hosted-UI session and redirects to `logout_uri`, which must be a registered sign-out
//! URL of that client (with routes by host: each login route's client, whose URL is its
//! route's URL, as a service stack registers `https://HOST/`). It does not touch the ALB session cookie: that is the app's job
//! (expire every `AWSELBAuthSessionCookie-N`) before it sends the browser here.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::HeaderMap;
use axum::http::{Response, StatusCode};
use serde::Deserialize;
use url::{Host, Url};

use crate::cookies;
use crate::proxy::plain;
use crate::startup::Shared;

/// Query of the logout endpoint.
#[derive(Debug, Deserialize)]
pub struct LogoutQuery {
    client_id: Option<String>,
    logout_uri: Option<String>,
}

/// Ends the IdP session and redirects, or says which parameter is wrong (400).
pub async fn logout(
    State(app): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<LogoutQuery>,
) -> Response<Body> {
    let expected = app
        .listener
        .login_routes()
        .map(|r| r.client_id.as_str())
        .collect::<Vec<_>>()
        .join("` or `");
    let client = match query.client_id.as_deref() {
        None | Some("") => {
            return bad_request(&format!(
                "missing client_id: pass the app client id, client_id={expected}"
            ));
        }
        Some(id) => app.listener.login_routes().find(|r| r.client_id == id),
    };
    let Some(client) = client else {
        return bad_request(&format!(
            "client_id `{}` is not this user pool's app client; use `{expected}` (COGNITO_CLIENT_ID as printed at start)",
            query.client_id.unwrap_or_default()
        ));
    };
    let Some(raw) = query.logout_uri.as_deref().filter(|u| !u.is_empty()) else {
        return bad_request(
            "missing logout_uri: pass the URL to return to, e.g. logout_uri=http://127.0.0.1:PORT/",
        );
    };
    let Ok(target) = Url::parse(raw) else {
        return bad_request(&format!("logout_uri `{raw}` is not an absolute URL"));
    };
    if !is_registered(&target, &client.logout_urls) {
        let registered = if client.logout_urls.is_empty() {
            "any http(s) URL on 127.0.0.1, [::1] or localhost".to_string()
        } else {
            client
                .logout_urls
                .iter()
                .map(Url::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return bad_request(&format!(
            "logout_uri `{raw}` is not a registered sign-out URL of this client (registered: {registered}); add it with --logout-url"
        ));
    }
    if let Some(id) = cookies::idp_session(&headers) {
        app.sessions.end_idp(id);
    }
    super::redirect(target.as_str(), vec![cookies::expire_idp()])
}

/// Cognito compares `logout_uri` exactly with the client's sign-out URLs. With none
/// configured we accept any loopback URL: every app behind this emulator is local.
fn is_registered(target: &Url, registered: &[Url]) -> bool {
    if !registered.is_empty() {
        return registered.iter().any(|u| u == target);
    }
    matches!(target.scheme(), "http" | "https")
        && match target.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

fn bad_request(message: &str) -> Response<Body> {
    plain(
        StatusCode::BAD_REQUEST,
        &format!("local-auth logout: {message}\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn by_default_only_loopback_urls_are_registered() {
        for ok in [
            "http://127.0.0.1:3000/",
            "http://localhost/x",
            "https://[::1]:8443/",
            "http://127.8.9.1/",
        ] {
            assert!(is_registered(&url(ok), &[]), "{ok}");
        }
        for bad in [
            "https://evil.example/",
            "http://10.0.0.1/",
            "javascript:alert(1)",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(!is_registered(&url(bad), &[]), "{bad}");
        }
    }

    #[test]
    fn configured_urls_must_match_exactly() {
        let registered = [url("http://127.0.0.1:3000/bye")];
        assert!(is_registered(
            &url("http://127.0.0.1:3000/bye"),
            &registered
        ));
        assert!(!is_registered(&url("http://127.0.0.1:3000/"), &registered));
        assert!(!is_registered(
            &url("http://127.0.0.1:3000/bye?x=1"),
            &registered
        ));
    }
}
