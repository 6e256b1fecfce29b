//! Spawning the app and a fake ALB key endpoint; signing tokens; a tiny HTTP client.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alb_token::{AlbHeader, SigningKey};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use service::configuration::Settings;
use service::startup::Application;

pub const ALB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188";
pub const OTHER_ALB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/0123456789abcdef";
pub const CLIENT_ID: &str = "4hjk2l5m6n7o8p9q0r1s2t3u4v";
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI";
pub const LOGOUT_URL: &str = "https://demo.auth.eu-west-1.amazoncognito.com/logout?client_id=4hjk2l5m6n7o8p9q0r1s2t3u4v&logout_uri=https%3A%2F%2Fapp.example.com%2F";

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A fresh random kid.
pub fn new_kid() -> String {
    let key = SigningKey::generate().to_pkcs8_der();
    let hex: String = key
        .iter()
        .rev()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// What the fake key endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum KeyServerMode {
    Serve = 200,
    Fail500 = 500,
    Fail429 = 429,
}

#[derive(Default)]
struct KeyServerState {
    pems: Mutex<HashMap<String, String>>,
    fetches: Mutex<HashMap<String, usize>>,
    total: AtomicUsize,
    mode: AtomicU16,
    delay_ms: AtomicUsize,
}

/// The ALB key endpoint on loopback: `GET /{kid}` → PEM, counting fetches per kid.
#[derive(Clone)]
pub struct KeyServer {
    pub base_url: String,
    state: Arc<KeyServerState>,
}

impl KeyServer {
    pub async fn start() -> Self {
        let state = Arc::new(KeyServerState::default());
        state
            .mode
            .store(KeyServerMode::Serve as u16, Ordering::SeqCst);
        let router = axum::Router::new()
            .route("/{kid}", axum::routing::get(serve_key))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base_url, state }
    }

    pub fn add_key(&self, kid: &str, pem: String) {
        self.state.pems.lock().unwrap().insert(kid.to_owned(), pem);
    }
    pub fn set_mode(&self, mode: KeyServerMode) {
        self.state.mode.store(mode as u16, Ordering::SeqCst);
    }
    pub fn set_delay(&self, delay: Duration) {
        self.state
            .delay_ms
            .store(delay.as_millis() as usize, Ordering::SeqCst);
    }
    pub fn fetches(&self, kid: &str) -> usize {
        self.state
            .fetches
            .lock()
            .unwrap()
            .get(kid)
            .copied()
            .unwrap_or(0)
    }
    pub fn total_fetches(&self) -> usize {
        self.state.total.load(Ordering::SeqCst)
    }
}

async fn serve_key(
    State(state): State<Arc<KeyServerState>>,
    Path(kid): Path<String>,
) -> (StatusCode, String) {
    *state
        .fetches
        .lock()
        .unwrap()
        .entry(kid.clone())
        .or_default() += 1;
    state.total.fetch_add(1, Ordering::SeqCst);
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let mode = state.mode.load(Ordering::SeqCst);
    if mode != KeyServerMode::Serve as u16 {
        let status = StatusCode::from_u16(mode).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, "boom".into());
    }
    match state.pems.lock().unwrap().get(&kid) {
        Some(pem) => (StatusCode::OK, pem.clone()),
        None => (StatusCode::NOT_FOUND, "no such key".into()),
    }
}

/// A port nothing listens on.
pub async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    listener.local_addr().unwrap().port()
}

/// A response, read fully.
pub struct Reply {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

/// The tests' one HTTP GET: `url` with `headers`, read fully; the transport error as text.
pub async fn fetch(
    client: &Client<HttpConnector, Empty<Bytes>>,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut request = axum::http::Request::get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Empty::new()).unwrap())
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// The app under test, its key server and the key its tokens are signed with.
pub struct TestApp {
    pub address: SocketAddr,
    pub keys: KeyServer,
    pub signing_key: SigningKey,
    pub kid: String,
    client: Client<HttpConnector, Empty<Bytes>>,
}

/// The app with all policy settings on (client id, issuer, logout URL).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app, with `adjust` applied to its settings (e.g. a different key URL).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    // Logs only when asked (TEST_LOG=1): tracing writes to stdout, which libtest does not capture.
    if std::env::var_os("TEST_LOG").is_some() {
        service::telemetry::init_subscriber();
    }
    let keys = KeyServer::start().await;
    let signing_key = SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing_key.public_key_pem());
    let vars: HashMap<&str, String> = HashMap::from([
        ("ALB_ARN", format!("{ALB_ARN},{OTHER_ALB_ARN}")),
        ("ALB_PUBLIC_KEYS_URL", keys.base_url.clone()),
        ("COGNITO_CLIENT_ID", CLIENT_ID.into()),
        ("OIDC_ISSUER", ISSUER.into()),
        ("LOGOUT_URL", LOGOUT_URL.into()),
        ("PORT", "0".into()),
    ]);
    let mut settings = Settings::from_lookup(|k| vars.get(k).cloned()).unwrap();
    settings.host = Ipv4Addr::LOCALHOST.into();
    adjust(&mut settings);
    let app = Application::build(settings).await.unwrap();
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, app.port()));
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        keys,
        signing_key,
        kid,
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

impl TestApp {
    /// The header a real ALB would send for this app.
    pub fn header(&self) -> AlbHeader {
        AlbHeader {
            alg: "ES256".into(),
            kid: self.kid.clone(),
            signer: ALB_ARN.into(),
            iss: ISSUER.into(),
            client: CLIENT_ID.into(),
            exp: now() + 120,
            typ: Some("JWT".into()),
        }
    }

    /// Claims as Cognito's userinfo gives them, plus `exp` and `iss` as the ALB adds them.
    pub fn claims(&self) -> Value {
        json!({
            "sub": "6b1f2c3d-0000-4000-8000-00000000abcd",
            "email_verified": "true",
            "email": "alice@example.com",
            "username": "alice",
            "exp": now() + 120,
            "iss": ISSUER,
        })
    }

    /// A valid token, in the ALB's padded form.
    pub fn token(&self) -> String {
        alb_token::sign(&self.header(), &self.claims(), &self.signing_key)
    }

    /// GET `path` with `headers`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        fetch(
            &self.client,
            &format!("http://{}{path}", self.address),
            headers,
        )
        .await
        .unwrap()
    }

    /// GET `path` carrying `token` in `x-amzn-oidc-data`.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Reply {
        self.get(path, &[("x-amzn-oidc-data", token)]).await
    }
}
