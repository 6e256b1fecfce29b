//! Forwarding an authenticated request to the app, the way the ALB forwards to a target:
//! same method, path, `Host` and body (streamed, never buffered), hop-by-hop headers
//! dropped, `X-Forwarded-*` set, and the identity headers replaced by ours.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use url::Url;

use crate::tokens::IdentityHeaders;

/// The prefix of every identity header the ALB sets.
const IDENTITY_HEADER_PREFIX: &str = "x-amzn-oidc-";

/// Headers that describe one connection, not the request, so a proxy never forwards them
/// (RFC 9110 §7.6.1), plus `proxy-connection` which old clients still send.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Removes every `x-amzn-oidc-*` header, whatever its case (header names are stored
/// lowercase): a client must never be able to claim an identity.
pub(crate) fn strip_identity_headers(headers: &mut HeaderMap) {
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(IDENTITY_HEADER_PREFIX))
        .cloned()
        .collect();
    for name in forged {
        headers.remove(name);
    }
}

/// Where a request came from, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    /// The client's address.
    pub(crate) client_ip: IpAddr,
    /// The port the emulator listens on.
    pub(crate) listen_port: u16,
}

/// The app behind the emulator.
pub(crate) struct Upstream {
    client: Client<HttpConnector, Body>,
    base: String,
    timeout: Duration,
}

impl Upstream {
    /// A client for `url` (`http://host:port`), pooling connections.
    pub(crate) fn new(url: &Url, connect_timeout: Duration, timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self {
            client,
            base: url.as_str().trim_end_matches('/').to_string(),
            timeout,
        }
    }

    /// Sends `request` to the app with `identity` attached (none for a rule without
    /// login: client-sent identity headers are removed all the same) and returns the app's response,
    /// or 502 (cannot connect) / 504 (no answer in time) with a message saying why.
    ///
    /// An upgrade (WebSocket) is passed through: when the app answers `101`, bytes are
    /// copied both ways until either side closes. The identity headers go with the
    /// upgrade request only, as with the ALB.
    pub(crate) async fn forward(
        &self,
        mut request: Request<Body>,
        origin: Origin,
        identity: Option<IdentityHeaders>,
    ) -> Response<Body> {
        let upgrade = upgrade_protocol(request.headers());
        let client_side = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        parts.uri = match Uri::try_from(format!("{}{path}", self.base)) {
            Ok(uri) => uri,
            Err(_) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "local-auth: the request path is not a valid URI\n",
                );
            }
        };
        parts.version = Version::HTTP_11;
        let headers = &mut parts.headers;
        remove_hop_by_hop(headers);
        if let Some(protocol) = &upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, protocol.clone());
        }
        strip_identity_headers(headers);
        set_forwarded(headers, origin);
        if let Some(identity) = &identity {
            set_identity(headers, identity);
        }

        let sent = self.client.request(Request::from_parts(parts, body));
        match tokio::time::timeout(self.timeout, sent).await {
            Err(_) => plain(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "local-auth: the app at {} did not answer within {} s\n",
                    self.base,
                    self.timeout.as_secs()
                ),
            ),
            Ok(Err(e)) => plain(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "local-auth: cannot reach the app at {} ({}); is it running?\n",
                    self.base,
                    support::error_chain(&e)
                ),
            ),
            Ok(Ok(mut response)) => {
                let switching = response.status() == StatusCode::SWITCHING_PROTOCOLS;
                let tunnel = match client_side {
                    Some(client_side) if switching => {
                        Some((client_side, hyper::upgrade::on(&mut response)))
                    }
                    _ => None,
                };
                let (mut parts, body) = response.into_parts();
                let protocol = upgrade_protocol(&parts.headers);
                remove_hop_by_hop(&mut parts.headers);
                if let (Some((client_side, upstream_side)), Some(protocol)) = (tunnel, protocol) {
                    parts
                        .headers
                        .insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                    parts.headers.insert(header::UPGRADE, protocol);
                    tokio::spawn(splice(client_side, upstream_side));
                }
                Response::from_parts(parts, Body::new(body))
            }
        }
    }
}

/// The `Upgrade` value of a request or response that asks to switch to WebSocket
/// (`Connection: upgrade` plus `Upgrade: websocket`). The ALB passes WebSocket upgrades
/// and no other (`h2c` in particular is dropped, as it would let a client talk HTTP/2
/// past the proxy), so any other protocol is no upgrade: its headers are removed and the
/// request is forwarded as a plain one.
fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    let mut upgrades = headers.get_all(header::UPGRADE).iter();
    match (upgrades.next(), upgrades.next()) {
        (Some(protocol), None)
            if asks && protocol.as_bytes().eq_ignore_ascii_case(b"websocket") =>
        {
            Some(protocol.clone())
        }
        _ => None,
    }
}

/// Copies bytes both ways between the upgraded client and upstream connections.
async fn splice(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    if let (Ok(client), Ok(upstream)) = tokio::join!(client, upstream) {
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        // Either side closing ends the tunnel; there is nobody to report an error to.
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
    // `Upgrade` is hop-by-hop too; `forward` puts it back for an upgrade it passes through.
    headers.remove(header::UPGRADE);
}

fn set_forwarded(headers: &mut HeaderMap, origin: Origin) {
    // Like the ALB: append the client to X-Forwarded-For, and state our own scheme and
    // port (the browser talks plain HTTP to us).
    let xff = HeaderName::from_static("x-forwarded-for");
    let client = origin.client_ip.to_string();
    let chain = match headers.get(&xff).and_then(|v| v.to_str().ok()) {
        Some(previous) => format!("{previous}, {client}"),
        None => client,
    };
    insert(headers, xff, &chain);
    insert(
        headers,
        HeaderName::from_static("x-forwarded-proto"),
        "http",
    );
    insert(
        headers,
        HeaderName::from_static("x-forwarded-port"),
        &origin.listen_port.to_string(),
    );
}

fn set_identity(headers: &mut HeaderMap, identity: &IdentityHeaders) {
    insert(
        headers,
        HeaderName::from_static("x-amzn-oidc-data"),
        &identity.data,
    );
    insert(
        headers,
        HeaderName::from_static("x-amzn-oidc-identity"),
        &identity.identity,
    );
    insert(
        headers,
        HeaderName::from_static("x-amzn-oidc-accesstoken"),
        &identity.access_token,
    );
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// A short plain-text response from the emulator itself.
pub(crate) fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(message.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_headers_are_stripped_whatever_their_case() {
        let mut h = HeaderMap::new();
        for name in [
            "X-Amzn-Oidc-Data",
            "x-amzn-oidc-identity",
            "X-AMZN-OIDC-ACCESSTOKEN",
            "x-amzn-oidc-whatever",
        ] {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("forged"),
            );
        }
        h.append(
            HeaderName::from_static("x-amzn-oidc-data"),
            HeaderValue::from_static("second copy"),
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_identity_headers(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        h.insert(
            HeaderName::from_static("x-private"),
            HeaderValue::from_static("1"),
        );
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::COOKIE, HeaderValue::from_static("a=b"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::COOKIE));
    }

    #[test]
    fn x_forwarded_for_is_appended_to_and_proto_port_are_ours() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        set_forwarded(
            &mut h,
            Origin {
                client_ip: "127.0.0.1".parse().unwrap(),
                listen_port: 3000,
            },
        );
        assert_eq!(h["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "3000");
    }
}
