//! What the emulator does before routing, as the ALB does before its rules: refuse a
//! `Host` it does not serve, and drop header names the ALB drops.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{HOST, HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;

use crate::proxy::plain;

/// The host names the emulator answers for, each with its port.
pub(crate) struct AllowedHosts {
    names: Vec<String>,
    port: u16,
}

impl AllowedHosts {
    /// Loopback names plus `extra`, on `port`.
    pub(crate) fn new(extra: &[String], port: u16) -> Self {
        let mut names: Vec<String> = ["127.0.0.1", "localhost", "[::1]"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        names.extend(extra.iter().map(|h| h.to_ascii_lowercase()));
        Self { names, port }
    }

    fn admits(&self, host: &str) -> bool {
        let (name, port) = split(host);
        port == Some(self.port) && self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// What to say to a refused request.
    fn listing(&self) -> String {
        self.names
            .iter()
            .map(|n| format!("{n}:{}", self.port))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A `Host` value's name and port. Browsers leave out the port only when it is 80.
/// `[::1]` contains colons, so the port is what follows the last one after the closing
/// bracket.
fn split(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => (name, port.parse().ok()),
        _ => (host, Some(80)),
    }
}

/// The host name of the request's `Host` header, without its port (empty when absent;
/// [`guard`] has refused such requests before any handler runs).
pub(crate) fn request_host_name(headers: &HeaderMap) -> &str {
    headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map_or("", |h| split(h).0)
}

/// `421 Misdirected Request` unless `Host` is one we serve: a page on another site
/// that rebinds its DNS name to 127.0.0.1 reaches us with its own name in `Host` and
/// is refused before it can sign in or reach the app. Then header names with `_` are
/// removed, as the ALB's `drop_invalid_header_fields` does (an app or framework that
/// maps `_` to `-` would otherwise read `X-Amzn-Oidc_Data` as the identity header).
pub(crate) async fn guard(
    State(allowed): State<Arc<AllowedHosts>>,
    mut request: Request,
    next: Next,
) -> Response {
    let host = request.headers().get(HOST).and_then(|v| v.to_str().ok());
    if !host.is_some_and(|h| allowed.admits(h)) {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            &format!(
                "local-auth: this emulator answers only for {}; allow another name with its --allowed-host flag (deployer local-auth) or its allowed_hosts setting\n",
                allowed.listing()
            ),
        );
    }
    drop_invalid_header_names(request.headers_mut());
    next.run(request).await
}

/// Removes every header whose name contains `_`.
pub(crate) fn drop_invalid_header_names(headers: &mut HeaderMap) {
    let invalid: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().contains('_'))
        .cloned()
        .collect();
    for name in invalid {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_on_our_port() {
        let hosts = AllowedHosts::new(&["App.Localhost".into()], 3000);
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LocalHost:3000",
            "[::1]:3000",
            "app.localhost:3000",
        ] {
            assert!(hosts.admits(ok), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:3001",
            "evil.example:3000",
            "localhost.evil.example:3000",
            "[::1]",
            "",
        ] {
            assert!(!hosts.admits(bad), "{bad}");
        }
    }
}
