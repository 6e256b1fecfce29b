//! The HTTP side of the registry client: one connection pool (rustls, the system's
//! roots, the proxy from the environment), credentials, the User-Agent, time limits,
//! and telling the registry's refusals apart. `blobs` and `manifests` build the
//! registry's requests on `Registry::send`, inside `Registry::with_retries` (`retry`:
//! exponential backoff with jitter on 5xx, 429, timeouts and connection errors).
//!
//! Time limits, per request: `connect_timeout` for the TCP connection (and a proxy's
//! CONNECT); `idle_timeout` for any stretch in which nothing moves (no body bytes taken
//! by the connection while sending, no answer while waiting, no body bytes while
//! reading it): this is what catches a stalled registry; `request_timeout` for a whole
//! request, except a blob upload's PUT, which takes as long as its size needs and is
//! bounded by the idle timeout and the push's deadline instead.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, PROXY_AUTHORIZATION, USER_AGENT};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use url::Url;

use crate::error::{Error, Result, TimeoutKind};
use crate::proxy::{Connector, ProxyConfig, Route};
use crate::redirect;
use crate::retry::RetryPolicy;
use crate::retry::{Attempt, Transient};

/// Request bodies: empty, in memory, or streamed from a file.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;
type HttpClient = Client<hyper_rustls::HttpsConnector<Connector>, Body>;

/// `oci-push/<version>`: the default User-Agent, for callers to append to their own
/// (`deployer/1.2.0 oci-push/0.1.0`).
pub const USER_AGENT_PRODUCT: &str = concat!("oci-push/", env!("CARGO_PKG_VERSION"));

/// Credentials for the registry.
#[derive(Clone)]
pub enum Credentials {
    /// HTTP Basic auth; ECR's `GetAuthorizationToken` gives `AWS` and a password.
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password.
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}:***)"),
        }
    }
}

/// How the client talks to the registry. `ClientOptions::default()` is what a push
/// from CI wants; every field can be changed on its own.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Sent as `User-Agent` (default [`USER_AGENT_PRODUCT`]).
    pub user_agent: String,
    /// The longest wait for a TCP connection (and a proxy's CONNECT). Default 10 s.
    pub connect_timeout: Duration,
    /// The longest stretch with no progress on a request. Default 60 s.
    pub idle_timeout: Duration,
    /// The longest a whole request may take (except a blob upload's PUT). Default 120 s.
    pub request_timeout: Duration,
    /// Retries on 5xx, 429, timeouts and connection errors.
    pub retry: RetryPolicy,
    /// Where the proxy settings come from (default: `HTTPS_PROXY`/`HTTP_PROXY`/
    /// `ALL_PROXY`/`NO_PROXY` in the environment, as the AWS SDK reads them).
    pub proxy: ProxyConfig,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            user_agent: USER_AGENT_PRODUCT.to_owned(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            retry: RetryPolicy::default(),
            proxy: ProxyConfig::FromEnv,
        }
    }
}

/// Whether a request may take as long as its body needs (a blob upload) or is held
/// to the request timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Request,
    IdleOnly,
}

/// A registry at a base URL, with optional credentials.
#[derive(Clone)]
pub struct Registry {
    client: HttpClient,
    connector: Connector,
    base: Url,
    authorization: Option<HeaderValue>,
    user_agent: HeaderValue,
    options: Arc<ClientOptions>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for the registry at `base_url` (`https://…`, or `http://127.0.0.1:PORT`
    /// for a local one; a bare `host[:port]` means https), with default options.
    pub fn new(base_url: &str, credentials: Option<Credentials>) -> Result<Self> {
        Self::with_options(base_url, credentials, ClientOptions::default())
    }

    /// A client with the given options (timeouts, retries, proxy, User-Agent).
    pub fn with_options(
        base_url: &str,
        credentials: Option<Credentials>,
        options: ClientOptions,
    ) -> Result<Self> {
        let with_scheme = if base_url.contains("://") {
            base_url.to_owned()
        } else {
            format!("https://{base_url}")
        };
        let base = Url::parse(&with_scheme)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| Error::InvalidRegistryUrl {
                url: base_url.to_owned(),
            })?;
        let authorization = credentials.map(|Credentials::Basic { username, password }| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .expect("base64 is a valid header value");
            value.set_sensitive(true);
            value
        });
        // A header value cannot hold control characters; drop any rather than fail.
        let agent: String = options
            .user_agent
            .chars()
            .filter(|c| *c == ' ' || c.is_ascii_graphic())
            .collect();
        let user_agent = HeaderValue::from_str(&agent).expect("printable ASCII is a valid header");
        let connector = Connector::new(&options.proxy, options.connect_timeout);
        let registry = Self {
            client: http_client(connector.clone())?,
            connector,
            base,
            authorization,
            user_agent,
            options: Arc::new(options),
        };
        // A proxy we cannot speak to fails here, once, rather than on every request.
        if let Route::Unsupported { proxy, reason } =
            registry.connector.route(&registry.uri_of(&registry.base))
        {
            return Err(Error::Proxy {
                registry: registry.host(),
                proxy,
                reason,
            });
        }
        Ok(registry)
    }

    /// Uses another retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        Arc::make_mut(&mut self.options).retry = retry;
        self
    }

    /// `host[:port]` of the registry, as it appears in image references.
    pub fn host(&self) -> String {
        match (self.base.host_str(), self.base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            _ => self.base.as_str().to_owned(),
        }
    }

    /// The options this client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub(crate) fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    fn uri_of(&self, url: &Url) -> http::Uri {
        url.as_str().parse().unwrap_or_default()
    }

    /// Sends one request and waits for the answer's head, within the time limits.
    /// Connection errors, timeouts, 5xx and 429 come back as `Retry`.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(http::HeaderName, &str)],
        body: Body,
        limit: Limit,
    ) -> Result<Response<Incoming>, Attempt> {
        let request_name = describe_request(&method, url);
        let mut request = Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(USER_AGENT, self.user_agent.clone());
        // Credentials go only to the registry itself (its scheme, host and port), never
        // to wherever a Location or a redirect points (`redirect`).
        if let Some(auth) = &self.authorization
            && redirect::same_origin(&self.base, url)
        {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        // A plain-http request through a forward proxy carries the proxy's credentials
        // itself (a CONNECT tunnel sends them in its handshake).
        if let Route::Forward(intercept) = self.connector.route(&self.uri_of(url))
            && let Some(auth) = intercept.basic_auth()
        {
            request = request.header(PROXY_AUTHORIZATION, auth.clone());
        }
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let activity = Activity::new();
        let body = {
            let activity = activity.clone();
            body.map_frame(move |frame| {
                activity.touch();
                frame
            })
            .boxed_unsync()
        };
        let request = request.body(body).map_err(|e| {
            Attempt::from(Error::Protocol {
                registry: self.host(),
                problem: format!("cannot build {request_name}: {e}"),
            })
        })?;

        let idle = self.options.idle_timeout;
        let whole = self.options.request_timeout;
        let timeout = |kind, after| {
            Attempt::Retry(Transient::Timeout {
                request: request_name.clone(),
                kind,
                after,
            })
        };
        let response = tokio::select! {
            sent = self.client.request(request) => sent,
            () = activity.idle_for(idle) => return Err(timeout(TimeoutKind::Idle, idle)),
            () = tokio::time::sleep(whole), if limit == Limit::Request => {
                return Err(timeout(TimeoutKind::Request, whole));
            }
        };
        let response = response.map_err(|e| match connect_timeout_in(&e) {
            Some(after) => timeout(TimeoutKind::Connect, after),
            None => Attempt::Retry(Transient::Network {
                request: request_name.clone(),
                cause: support::error_chain(&e),
            }),
        })?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            let said = self.error_body(response).await;
            return Err(Attempt::Retry(Transient::Status {
                request: request_name,
                status,
                code: said.code,
                message: said.message,
            }));
        }
        Ok(response)
    }

    /// Reads a response body of at most `limit` bytes, failing (as retryable) if it
    /// stalls for the idle timeout.
    pub(crate) async fn read_body(
        &self,
        request: &str,
        response: Response<Incoming>,
        limit: usize,
    ) -> Result<Bytes, Attempt> {
        let idle = self.options.idle_timeout;
        let mut body = response.into_body();
        let mut out = Vec::new();
        loop {
            let frame = tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| {
                    Attempt::Retry(Transient::Timeout {
                        request: request.to_owned(),
                        kind: TimeoutKind::Idle,
                        after: idle,
                    })
                })?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| {
                Attempt::Retry(Transient::Network {
                    request: request.to_owned(),
                    cause: format!("reading the answer: {}", support::error_chain(&e)),
                })
            })?;
            if let Ok(data) = frame.into_data() {
                if out.len() + data.len() > limit {
                    return Err(Attempt::from(Error::Protocol {
                        registry: self.host(),
                        problem: format!("{request}: the answer is over {limit} bytes"),
                    }));
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(out))
    }

    /// What an error answer says: the OCI distribution spec's
    /// `{"errors":[{"code","message"}]}`, or the start of its text.
    pub(crate) async fn error_body(&self, response: Response<Incoming>) -> RegistrySaid {
        let bytes = self
            .read_body("", response, 64 * 1024)
            .await
            .unwrap_or_default();
        RegistrySaid::parse(&bytes)
    }

    /// A non-retryable refusal of `request`, as the most specific error we can tell.
    pub(crate) async fn refused(
        &self,
        method: &Method,
        url: &Url,
        response: Response<Incoming>,
    ) -> Attempt {
        let status = response.status();
        let said = self.error_body(response).await;
        let request = describe_request(method, url);
        Attempt::from(match status {
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                request,
                message: said.message,
            },
            // ECR: `DENIED: Your authorization token has expired. Reauthenticate and try again.`
            StatusCode::FORBIDDEN if said.message.to_ascii_lowercase().contains("expired") => {
                Error::TokenExpired {
                    request,
                    message: said.message,
                }
            }
            StatusCode::FORBIDDEN => Error::Denied {
                request,
                code: said.code,
                message: said.message,
            },
            _ => Error::Registry {
                what: "the request".to_owned(),
                request,
                status: status.as_u16(),
                code: said.code,
                message: said.message,
                attempts: 1,
            },
        })
    }
}

/// The code and message of a registry's error answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RegistrySaid {
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl RegistrySaid {
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<OneError>,
        }
        #[derive(serde::Deserialize)]
        struct OneError {
            code: Option<String>,
            message: Option<String>,
        }
        if let Ok(parsed) = serde_json::from_slice::<Errors>(bytes)
            && let Some(first) = parsed.errors.into_iter().next()
        {
            return Self {
                code: first.code,
                message: first.message.unwrap_or_default(),
            };
        }
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        // Enough to recognise an HTML error page or a proxy's text, not a whole page.
        let cut = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
        Self {
            code: None,
            message: text[..cut].to_owned(),
        }
    }
}

/// When a request last made progress (milliseconds since it started).
#[derive(Clone)]
struct Activity {
    started: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Completes once nothing has happened for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.started.elapsed().saturating_sub(last);
            if quiet >= idle {
                return;
            }
            tokio::time::sleep(idle - quiet).await;
        }
    }
}

/// The connect timeout inside a client error, if that is what it is.
fn connect_timeout_in(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(timeout) = e.downcast_ref::<crate::proxy::ConnectTimeout>() {
            return Some(timeout.0);
        }
        current = e.source();
    }
    None
}

/// `METHOD URL` without the query (an upload's session state is long and says nothing).
pub(crate) fn describe_request(method: &Method, url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    format!("{method} {shown}")
}

pub(crate) fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub(crate) fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// One HTTP client (connection pool) over rustls with the system's root certificates.
fn http_client(connector: Connector) -> Result<HttpClient> {
    let mut roots = rustls::RootCertStore::empty();
    // A machine without CA certificates can still push to a plain-http local registry.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls_are_checked_and_hosts_keep_their_port() {
        assert_eq!(
            Registry::new("http://127.0.0.1:5000", None).unwrap().host(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            Registry::new("123.dkr.ecr.us-east-1.amazonaws.com", None)
                .unwrap()
                .host(),
            "123.dkr.ecr.us-east-1.amazonaws.com"
        );
        let err = Registry::new("ftp://x", None).unwrap_err();
        assert!(err.is_input());
        assert!(err.to_string().contains("ftp://x"), "{err}");
    }

    #[test]
    fn registry_error_bodies_are_read_as_the_distribution_spec_says() {
        let said = RegistrySaid::parse(
            br#"{"errors":[{"code":"DENIED","message":"User: arn:aws:iam::1:user/x is not authorized to perform: ecr:InitiateLayerUpload"}]}"#,
        );
        assert_eq!(said.code.as_deref(), Some("DENIED"));
        assert!(said.message.contains("ecr:InitiateLayerUpload"));
        let text = RegistrySaid::parse(b"  Not Authorized\n");
        assert_eq!(
            text,
            RegistrySaid {
                code: None,
                message: "Not Authorized".into()
            }
        );
        assert_eq!(RegistrySaid::parse(&[b'x'; 5000]).message.len(), 300);
    }
}
