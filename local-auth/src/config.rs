//! What the emulator is told at start, and the checks that make a bad value fail
//! before anything listens.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use crate::rules::{Route, check_routes};

/// The ALB shards its session cookie at 4 KB: each `NAME=VALUE` pair stays within what
/// every browser stores for one cookie.
pub const COOKIE_SHARD_LIMIT: usize = 4096;

/// The default size of the session cookie value, in bytes. The real ALB stores the
/// encrypted claims, access token and refresh token in the cookie; with Cognito that is
/// commonly more than 4 KB, so browsers see `-0` and `-1`. We copy that size so apps meet
/// shards locally too (their logout must expire every shard).
pub const DEFAULT_SESSION_COOKIE_BYTES: usize = 5000;

/// The largest session cookie accepted: the ALB refuses sessions above 11 KB.
pub const MAX_SESSION_COOKIE_BYTES: usize = 11 * 1024;

/// How long to wait for the upstream to answer, like the ALB's default idle timeout.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

/// How long to wait for a TCP connection to the upstream before answering 502.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long an ALB session lasts, as the ALB's default `SessionTimeout` (7 days).
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Everything the emulator needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen. Must be a loopback address: the emulator mints identities for
    /// anyone who types a name, so it must never be reachable from the network.
    pub listen: SocketAddr,
    /// The single app every request goes to after login (`--upstream`): one catch-all
    /// route. `None` when [`Settings::routes`] route by host instead.
    pub upstream: Option<Url>,
    /// Host (and path) routes, as the environment listener's rules: the first that
    /// matches wins, path rules before whole-host rules; no match answers 404.
    pub routes: Vec<Route>,
    /// The load balancer ARN to put in the token's `signer`; generated when `None`.
    pub alb_arn: Option<String>,
    /// The OAuth client id of the catch-all route (`client` in its tokens); generated
    /// when `None`. Routes carry their own.
    pub client_id: Option<String>,
    /// The registered sign-out URLs `/_alb/logout` accepts as `logout_uri`, compared
    /// exactly as Cognito does. Empty: any `http`/`https` URL on a loopback host.
    pub logout_urls: Vec<Url>,
    /// Size of the session cookie value; sharded into `-0`, `-1`… past 4 KB.
    pub session_cookie_bytes: usize,
    /// How long an ALB session lasts.
    pub session_timeout: Duration,
    /// How long to wait for the upstream's response headers before answering 504.
    pub upstream_timeout: Duration,
    /// How long to wait for a connection to the upstream before answering 502.
    pub connect_timeout: Duration,
    /// Host names besides `127.0.0.1`, `localhost` and `[::1]` the emulator answers for
    /// (with its port, e.g. `app.localhost`). Any other `Host` gets `421`, which stops
    /// DNS-rebinding pages from talking to it.
    pub allowed_hosts: Vec<String>,
    /// Print one line per request outside `/_alb/` to stderr (method, path without the
    /// query, status, user, time), as a development server does.
    pub access_log: bool,
}

/// A setting that cannot work, with what to do instead.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// `listen` is not a loopback address.
    #[error(
        "refusing to listen on {0}: the login emulator hands out identities to anyone, so it only \
         listens on loopback; use 127.0.0.1:PORT or [::1]:PORT"
    )]
    NotLoopback(SocketAddr),
    /// The upstream URL is not something we can forward to.
    #[error("upstream `{url}` {reason}")]
    Upstream {
        /// The URL as given.
        url: String,
        /// What is wrong with it and what to pass instead.
        reason: &'static str,
    },
    /// A sign-out URL is not an absolute http(s) URL.
    #[error("logout URL `{0}` is not an absolute http:// or https:// URL")]
    LogoutUrl(String),
    /// The session cookie size is out of range.
    #[error(
        "session cookie size {0} is out of range: use 64 to {MAX_SESSION_COOKIE_BYTES} bytes (the ALB refuses sessions over 11 KB)"
    )]
    SessionCookieBytes(usize),
    /// An allowed host name that is not a plain DNS name.
    #[error("allowed host `{0}` must be a host name without port or scheme, e.g. app.localhost")]
    AllowedHost(String),
    /// A `--route` that cannot be parsed or used.
    #[error("route `{route}`: {reason}")]
    Route {
        /// The route as given.
        route: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Neither a catch-all upstream nor routes, or both.
    #[error("{0}")]
    Routing(&'static str),
    /// An ARN or client id with characters that cannot go into a header or URL.
    #[error("{name} `{value}` must be non-empty printable ASCII without spaces or quotes")]
    Identifier {
        /// Which setting.
        name: &'static str,
        /// The value as given.
        value: String,
    },
}

impl Settings {
    /// Settings with the defaults for everything but where to listen and forward: one
    /// catch-all route to `upstream`, behind login.
    pub fn new(listen: SocketAddr, upstream: Url) -> Self {
        Self {
            upstream: Some(upstream),
            ..Self::routed(listen, Vec::new())
        }
    }

    /// Settings that route by host (and path) to several apps, as the load balancer's
    /// listener rules do; defaults for everything else.
    pub fn routed(listen: SocketAddr, routes: Vec<Route>) -> Self {
        Self {
            listen,
            upstream: None,
            routes,
            alb_arn: None,
            client_id: None,
            logout_urls: Vec::new(),
            session_cookie_bytes: DEFAULT_SESSION_COOKIE_BYTES,
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            allowed_hosts: Vec::new(),
            access_log: false,
        }
    }

    /// Parses an upstream URL given on the command line.
    pub fn parse_upstream(raw: &str) -> Result<Url, SettingsError> {
        let bad = |reason| SettingsError::Upstream {
            url: raw.to_string(),
            reason,
        };
        let url =
            Url::parse(raw).map_err(|_| bad("is not a URL: pass e.g. http://127.0.0.1:8080"))?;
        check_upstream(raw, &url)?;
        Ok(url)
    }

    /// Parses a registered sign-out URL given on the command line.
    pub fn parse_logout_url(raw: &str) -> Result<Url, SettingsError> {
        match Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(SettingsError::LogoutUrl(raw.to_string())),
        }
    }

    /// Checks every setting; [`crate::Emulator::bind`] calls this first.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !self.listen.ip().is_loopback() {
            return Err(SettingsError::NotLoopback(self.listen));
        }
        match (&self.upstream, self.routes.is_empty()) {
            (Some(upstream), true) => check_upstream(upstream.as_str(), upstream)?,
            (None, false) => check_routes(&self.routes)?,
            (Some(_), false) => {
                return Err(SettingsError::Routing(
                    "give either one --upstream (every host, behind login) or --route flags (by host, as the load balancer's rules), not both",
                ));
            }
            (None, true) => {
                return Err(SettingsError::Routing(
                    "nowhere to forward to: give --upstream URL or at least one --route HOST=URL",
                ));
            }
        }
        for url in &self.logout_urls {
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(SettingsError::LogoutUrl(url.to_string()));
            }
        }
        if !(64..=MAX_SESSION_COOKIE_BYTES).contains(&self.session_cookie_bytes) {
            return Err(SettingsError::SessionCookieBytes(self.session_cookie_bytes));
        }
        for host in &self.allowed_hosts {
            if !is_plain_host_name(host) {
                return Err(SettingsError::AllowedHost(host.clone()));
            }
        }
        check_identifier("ALB ARN", self.alb_arn.as_deref())?;
        check_identifier("client id", self.client_id.as_deref())?;
        Ok(())
    }
}

/// A DNS name without port or scheme: letters, digits, `-` and `.`.
pub(crate) fn is_plain_host_name(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn check_upstream(raw: &str, url: &Url) -> Result<(), SettingsError> {
    let bad = |reason| SettingsError::Upstream {
        url: raw.to_string(),
        reason,
    };
    if url.scheme() != "http" {
        // Like an ALB forwarding to a target inside its VPC, the emulator talks plain
        // HTTP to an app on this machine; TLS to the upstream would add nothing locally.
        return Err(bad(
            "must use http:// (the emulator forwards plain HTTP to a local app)",
        ));
    }
    if url.host().is_none() {
        return Err(bad("has no host: pass e.g. http://127.0.0.1:8080"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "must be just scheme://host:port: the ALB forwards the request path unchanged, so there is no base path",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    Ok(())
}

pub(crate) fn check_identifier(
    name: &'static str,
    value: Option<&str>,
) -> Result<(), SettingsError> {
    match value {
        Some(v)
            if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\') =>
        {
            Err(SettingsError::Identifier {
                name,
                value: v.to_string(),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(listen: &str, upstream: &str) -> Settings {
        Settings::new(listen.parse().unwrap(), Url::parse(upstream).unwrap())
    }

    #[test]
    fn loopback_listen_addresses_are_accepted() {
        assert!(
            settings("127.0.0.1:0", "http://127.0.0.1:8080")
                .validate()
                .is_ok()
        );
        assert!(
            settings("[::1]:0", "http://localhost:8080")
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn non_loopback_listen_addresses_are_refused_with_advice() {
        for addr in ["0.0.0.0:3000", "192.168.1.10:3000", "[::]:3000"] {
            let err = settings(addr, "http://127.0.0.1:8080")
                .validate()
                .unwrap_err();
            assert!(matches!(err, SettingsError::NotLoopback(_)), "{addr}");
            assert!(err.to_string().contains("127.0.0.1:PORT"), "{err}");
        }
    }

    #[test]
    fn upstreams_must_be_plain_http_without_a_path() {
        assert!(Settings::parse_upstream("http://127.0.0.1:8080").is_ok());
        assert!(Settings::parse_upstream("http://127.0.0.1:8080/").is_ok());
        for bad in [
            "https://127.0.0.1:8080",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080/app",
            "http://u:p@h:1",
            "ftp://h",
        ] {
            assert!(Settings::parse_upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_that_would_break_headers_or_shell_lines_are_refused() {
        let mut s = settings("127.0.0.1:0", "http://127.0.0.1:8080");
        s.client_id = Some("has space".into());
        assert!(s.validate().is_err());
        s.client_id = Some("abc'def".into());
        assert!(s.validate().is_err());
        s.client_id = Some("4e2jfcsdqcn1bhf3ke8m6kqm1d".into());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn allowed_hosts_are_plain_names() {
        let mut s = settings("127.0.0.1:0", "http://127.0.0.1:8080");
        s.allowed_hosts = vec!["app.localhost".into()];
        assert!(s.validate().is_ok());
        for bad in ["", "app.localhost:3000", "http://x", "a b"] {
            s.allowed_hosts = vec![bad.into()];
            assert!(s.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn session_cookie_size_is_bounded_like_the_alb() {
        let mut s = settings("127.0.0.1:0", "http://127.0.0.1:8080");
        s.session_cookie_bytes = MAX_SESSION_COOKIE_BYTES + 1;
        assert!(s.validate().is_err());
        s.session_cookie_bytes = 10;
        assert!(s.validate().is_err());
    }
}
