//! Spawning the emulator and a header-echoing upstream on loopback, and a small HTTP
//! client that does not follow redirects or keep cookies, so tests see every step.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{HeaderMap, LOCATION, SET_COOKIE};
use axum::http::{Method, StatusCode};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use local_auth::{Emulator, Settings, StartInfo};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// An upstream app that answers every request with what it received, as JSON:
/// `{"method", "uri", "headers": {name: [values]}, "body"}`.
pub struct EchoUpstream {
    /// Where it listens.
    pub addr: SocketAddr,
    /// How many requests reached it.
    pub hits: Arc<AtomicUsize>,
}

impl EchoUpstream {
    /// Requests that reached the upstream so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Starts the echo upstream on a random loopback port.
pub async fn spawn_echo_upstream() -> EchoUpstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .fallback(echo)
        .with_state(Arc::clone(&hits));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    EchoUpstream { addr, hits }
}

async fn echo(State(hits): State<Arc<AtomicUsize>>, request: Request) -> Json<Value> {
    hits.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let mut headers = serde_json::Map::new();
    for name in parts.headers.keys() {
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| json!(String::from_utf8_lossy(v.as_bytes())))
            .collect();
        headers.insert(name.as_str().to_string(), Value::Array(values));
    }
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Json(json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

/// A running emulator; stops when dropped.
pub struct TestEmulator {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it printed at start.
    pub info: StartInfo,
    client: Client<HttpConnector, Body>,
    _stop: oneshot::Sender<()>,
}

/// A response, fully read.
pub struct TestResponse {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl TestResponse {
    /// The `Location` header (panics if absent: the test expected a redirect).
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .expect("a Location header")
            .to_str()
            .unwrap()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The raw `Set-Cookie` lines.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// The cookies this response sets (not expires), as a `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        self.set_cookies()
            .iter()
            .filter(|c| !c.contains("Max-Age=0"))
            .map(|c| c.split(';').next().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Starts an emulator in front of `upstream`, after `configure` adjusts the settings.
pub async fn spawn_emulator(
    upstream: SocketAddr,
    configure: impl FnOnce(&mut Settings),
) -> TestEmulator {
    let upstream = Settings::parse_upstream(&format!("http://{upstream}")).unwrap();
    let mut settings = Settings::new("127.0.0.1:0".parse().unwrap(), upstream);
    configure(&mut settings);
    start(settings).await
}

/// Starts an emulator routing by host with `routes` (`HOST[/PATH]=URL[,…]`), after
/// `configure` adjusts the settings.
pub async fn spawn_routed(
    routes: &[String],
    configure: impl FnOnce(&mut Settings),
) -> TestEmulator {
    let routes = routes
        .iter()
        .map(|r| local_auth::Route::parse(r).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let mut settings = Settings::routed("127.0.0.1:0".parse().unwrap(), routes);
    configure(&mut settings);
    start(settings).await
}

async fn start(settings: Settings) -> TestEmulator {
    let emulator = Emulator::bind(settings).await.expect("the emulator starts");
    let addr = emulator.local_addr();
    let info = emulator.start_info().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(emulator.run_until(async move {
        let _ = stopped.await;
    }));
    let client = Client::builder(TokioExecutor::new()).build_http();
    TestEmulator {
        addr,
        info,
        client,
        _stop: stop,
    }
}

impl TestEmulator {
    /// The `Host` header value for `name` on the emulator's port.
    pub fn host(&self, name: &str) -> String {
        format!("{name}:{}", self.addr.port())
    }

    /// Sends a request with extra headers and reads the whole response.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> TestResponse {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self
            .client
            .request(request.body(Body::from(body)).unwrap())
            .await
            .expect("the emulator answers");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `GET path` with extra headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send(Method::GET, path, headers, Bytes::new()).await
    }

    /// `GET path` with a `Cookie` header.
    pub async fn get_with_cookies(&self, path: &str, cookies: &str) -> TestResponse {
        self.get(path, &[("cookie", cookies)]).await
    }

    /// `POST /_alb/login` with the form fields.
    pub async fn post_login(&self, fields: &[(&str, &str)], cookies: &str) -> TestResponse {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if !cookies.is_empty() {
            headers.push(("cookie", cookies));
        }
        self.send(Method::POST, "/_alb/login", &headers, Bytes::from(body))
            .await
    }

    /// The `state` a visit to `path` is redirected to the login page with.
    pub async fn state_for(&self, path: &str) -> String {
        let response = self.get(path, &[]).await;
        assert_eq!(response.status, StatusCode::FOUND, "{}", response.body);
        let location = response.location().to_string();
        let query = location
            .strip_prefix("/_alb/login?")
            .unwrap_or_else(|| panic!("redirect to the login page, got {location}"));
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "state")
            .expect("a state")
            .1
            .into_owned()
    }

    /// Logs in as `username` starting from a visit to `path`; returns the login response
    /// (a redirect back to `path` that sets the cookies).
    pub async fn log_in(&self, path: &str, username: &str, email: &str) -> TestResponse {
        let state = self.state_for(path).await;
        let response = self
            .post_login(
                &[("username", username), ("email", email), ("state", &state)],
                "",
            )
            .await;
        assert_eq!(response.status, StatusCode::FOUND, "{}", response.body);
        response
    }

    /// Sends raw bytes on a new connection (header names keep their case on the wire)
    /// and returns everything the emulator answers before closing.
    pub async fn raw(&self, request: &str) -> String {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        // The request must ask for `Connection: close`; a hang means the emulator kept it open.
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        )
        .await
        .expect("the emulator closes the connection after answering")
        .unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }
}
