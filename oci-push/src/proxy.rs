//! How a connection to the registry is opened: directly, or through an HTTP proxy.
//!
//! The proxy rules are hyper-util's `Matcher`, the same code the AWS SDK's default
//! HTTP client (aws-smithy-http-client) builds its proxy support on, so `deployer`'s
//! ECR calls and its blob uploads follow the same `HTTPS_PROXY` / `HTTP_PROXY` /
//! `ALL_PROXY` / `NO_PROXY` settings (curl's rules: `NO_PROXY` takes host names, domain
//! suffixes, IPs and CIDRs, or `*`). One difference, on purpose and as curl does:
//! loopback destinations (`localhost`, `127.0.0.0/8`, `::1`) are always reached
//! directly, so a local test registry works on a machine whose proxy is set globally.
//!
//! An `https://` registry is reached through a CONNECT tunnel (hyper-util's `Tunnel`)
//! and TLS runs end to end inside it; a plain `http://` registry gets absolute-form
//! requests sent to the proxy. Only `http://` proxies are supported: TLS to the proxy
//! itself and SOCKS are refused with a clear error when the client is made.

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

/// Where the client's proxy settings come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// `HTTPS_PROXY`/`https_proxy` for https registries, `HTTP_PROXY`/`http_proxy` for
    /// http ones, `ALL_PROXY` for both, `NO_PROXY` for exceptions (what the AWS SDK
    /// reads). Nothing set: direct.
    #[default]
    FromEnv,
    /// These values, read the same way as the variables of the same name.
    Explicit {
        /// Proxy for `http://` registries.
        http: Option<String>,
        /// Proxy for `https://` registries.
        https: Option<String>,
        /// Hosts to reach directly (`NO_PROXY` syntax).
        no_proxy: Option<String>,
    },
    /// Always connect directly.
    Disabled,
}

/// How to reach one destination.
pub(crate) enum Route {
    Direct,
    /// Plain http through the proxy: absolute-form requests.
    Forward(Intercept),
    /// https through the proxy: a CONNECT tunnel.
    Tunnel(Intercept),
    /// A proxy we cannot use (its URL without credentials, and why).
    Unsupported {
        proxy: String,
        reason: String,
    },
}

/// The connect timeout fired (found in a client error's causes to tell it apart).
#[derive(Debug)]
pub(crate) struct ConnectTimeout(pub(crate) Duration);

impl std::fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no connection within {:?}", self.0)
    }
}

impl std::error::Error for ConnectTimeout {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens TCP connections, directly or through the proxy, within the connect timeout.
#[derive(Clone)]
pub(crate) struct Connector {
    http: HttpConnector,
    matcher: Option<Arc<Matcher>>,
    timeout: Duration,
}

impl Connector {
    pub(crate) fn new(config: &ProxyConfig, timeout: Duration) -> Self {
        let matcher = match config {
            ProxyConfig::FromEnv => Some(Matcher::from_env()),
            ProxyConfig::Explicit {
                http,
                https,
                no_proxy,
            } => Some(
                Matcher::builder()
                    .http(http.clone().unwrap_or_default())
                    .https(https.clone().unwrap_or_default())
                    .no(no_proxy.clone().unwrap_or_default())
                    .build(),
            ),
            ProxyConfig::Disabled => None,
        };
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        Self {
            http,
            matcher: matcher.map(Arc::new),
            timeout,
        }
    }

    /// The route to `dst`.
    pub(crate) fn route(&self, dst: &Uri) -> Route {
        let Some(matcher) = &self.matcher else {
            return Route::Direct;
        };
        if dst.host().is_none_or(is_loopback) {
            return Route::Direct;
        }
        let Some(intercept) = matcher.intercept(dst) else {
            return Route::Direct;
        };
        let proxy = intercept.uri();
        if proxy.scheme_str() != Some("http") {
            return Route::Unsupported {
                proxy: format!(
                    "{}://{}",
                    proxy.scheme_str().unwrap_or("?"),
                    proxy.authority().map(|a| a.as_str()).unwrap_or("?")
                ),
                reason: "only `http://` proxies are supported (no TLS to the proxy, no SOCKS)"
                    .to_owned(),
            };
        }
        if dst.scheme_str() == Some("https") {
            Route::Tunnel(intercept)
        } else {
            Route::Forward(intercept)
        }
    }
}

/// `localhost`, `*.localhost`, `127.0.0.0/8`, `::1`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let lower = bare.to_ascii_lowercase();
            lower == "localhost" || lower.ends_with(".localhost")
        }
    }
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // HttpConnector is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let route = self.route(&dst);
        let mut http = self.http.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let connecting = async move {
                Ok::<_, BoxError>(match route {
                    Route::Direct => Conn {
                        io: http.call(dst).await?,
                        proxied: false,
                    },
                    Route::Forward(intercept) => Conn {
                        io: http.call(intercept.uri().clone()).await.map_err(|e| {
                            format!("connecting to proxy {}: {e}", shown(intercept.uri()))
                        })?,
                        proxied: true,
                    },
                    Route::Tunnel(intercept) => {
                        let mut tunnel = Tunnel::new(intercept.uri().clone(), http);
                        if let Some(auth) = intercept.basic_auth() {
                            tunnel = tunnel.with_auth(auth.clone());
                        }
                        let io = tunnel.call(dst).await.map_err(|e| {
                            format!(
                                "through proxy {}: {}",
                                shown(intercept.uri()),
                                support::error_chain(&e)
                            )
                        })?;
                        Conn { io, proxied: false }
                    }
                    Route::Unsupported { proxy, reason } => {
                        return Err(format!("proxy {proxy}: {reason}").into());
                    }
                })
            };
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

fn shown(uri: &Uri) -> String {
    uri.authority()
        .map_or_else(|| uri.to_string(), |a| a.as_str().to_owned())
}

/// A TCP connection that knows whether it goes to a forward proxy (then hyper sends
/// absolute-form request targets).
pub(crate) struct Conn {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit(proxy: &str, no_proxy: &str) -> Connector {
        Connector::new(
            &ProxyConfig::Explicit {
                http: Some(proxy.to_owned()),
                https: Some(proxy.to_owned()),
                no_proxy: Some(no_proxy.to_owned()),
            },
            Duration::from_secs(1),
        )
    }

    fn route(c: &Connector, url: &str) -> &'static str {
        match c.route(&url.parse().unwrap()) {
            Route::Direct => "direct",
            Route::Forward(_) => "forward",
            Route::Tunnel(_) => "tunnel",
            Route::Unsupported { .. } => "unsupported",
        }
    }

    #[test]
    fn https_tunnels_http_forwards_and_no_proxy_and_loopback_go_direct() {
        let c = explicit("http://proxy.internal:3128", "internal.example, 10.0.0.0/8");
        let ecr = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/";
        assert_eq!(route(&c, ecr), "tunnel");
        assert_eq!(route(&c, "http://registry.example:5000/v2/"), "forward");
        assert_eq!(route(&c, "https://reg.internal.example/v2/"), "direct");
        assert_eq!(route(&c, "http://10.1.2.3:5000/v2/"), "direct");
        for local in [
            "http://127.0.0.1:5000/",
            "http://127.8.9.1/",
            "http://localhost:5000/",
            "http://[::1]:5000/",
        ] {
            assert_eq!(route(&c, local), "direct", "{local}");
        }
        let disabled = Connector::new(&ProxyConfig::Disabled, Duration::from_secs(1));
        assert_eq!(route(&disabled, ecr), "direct");
    }

    #[test]
    fn proxies_we_cannot_speak_to_are_refused() {
        for proxy in ["socks5://proxy:1080", "https://proxy:3128"] {
            assert_eq!(
                route(&explicit(proxy, ""), "https://registry.example/"),
                "unsupported",
                "{proxy}"
            );
        }
    }
}
