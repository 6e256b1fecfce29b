//! Test helpers (feature `test-support`): a throwaway Debian `docker-registry` on a
//! loopback port, and a loopback proxy in front of it that records every request and
//! can fail chosen ones. Used by this crate's tests and the deployer's.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// Where Debian's `docker-registry` package puts the binary.
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";

/// A `docker-registry` serving from a temporary directory; killed when dropped.
pub struct TestRegistry {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    _storage: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry on a free loopback port and waits until `GET /v2/` answers 200.
    pub async fn start() -> Result<Self, String> {
        if !Path::new(REGISTRY_BINARY).exists() {
            return Err(format!(
                "{REGISTRY_BINARY} is missing: run `scripts/deps.sh` (installs the docker-registry package)"
            ));
        }
        let mut last_error = String::new();
        // A port picked free can be taken before the registry binds it: try a few.
        for _ in 0..3 {
            match Self::try_start().await {
                Ok(registry) => return Ok(registry),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    async fn try_start() -> Result<Self, String> {
        let storage = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = free_port().await?;
        let config = storage.path().join("config.yml");
        let root = storage.path().join("data");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                root.display()
            ),
        )
        .map_err(|e| format!("writing registry config: {e}"))?;
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {REGISTRY_BINARY}: {e}"))?;
        let mut registry = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            _storage: storage,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = registry.child.try_wait() {
                return Err(format!("docker-registry exited early ({status})"));
            }
            if get_status(port, "/v2/").await == Some(200) {
                return Ok(registry);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = registry.child.kill();
        Err("docker-registry did not answer GET /v2/ within 20 s".to_owned())
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        self.url.trim_start_matches("http://")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The status code of a plain `GET`, or `None` if nothing answers.
async fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// What the proxy does to a request matched by a [`Fault`].
#[derive(Debug, Clone, Copy)]
pub enum FaultAction {
    /// Answer with this status instead of forwarding.
    Status(u16),
    /// Answer with this status and this JSON body (a registry's `{"errors":[…]}`).
    Reply {
        /// The status.
        status: u16,
        /// The body, sent as `application/json`.
        body: &'static str,
    },
    /// Read the request, then close the connection without answering.
    Drop,
    /// Read the request, then never answer (a stalled registry); the connection stays
    /// open until the client gives up.
    Stall,
}

/// Fail the next `times` requests with `method` whose path contains `path_contains`.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The method to match.
    pub method: Method,
    /// A substring of the path to match, e.g. `/blobs/uploads/`.
    pub path_contains: String,
    /// How many matching requests to fail.
    pub times: usize,
    /// What to do to them.
    pub action: FaultAction,
}

/// One request the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// Method.
    pub method: Method,
    /// Path (without the query).
    pub path: String,
    /// The request target as sent: `/v2/…` from a client that treats the proxy as the
    /// registry, `http://host/v2/…` from one that uses it as its HTTP proxy, `host:443`
    /// for a CONNECT.
    pub target: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct ProxyState {
    seen: Mutex<Vec<SeenRequest>>,
    faults: Mutex<Vec<Fault>>,
}

/// A loopback HTTP proxy in front of a registry; stops when dropped. Clients can use it
/// as the registry itself (`Registry::new(&proxy.url)`) or as their HTTP proxy
/// (absolute-form requests are forwarded to the same upstream). CONNECT is refused
/// with 502 after being recorded: there is no TLS registry behind it to tunnel to.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<ProxyState>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
        let state = Arc::new(ProxyState::default());
        let client: Client<HttpConnector, Incoming> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = task_state.clone();
                let client = client.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        forward(req, state.clone(), client.clone(), upstream.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            state,
            task,
        })
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.state.faults.lock().expect("proxy lock").push(fault);
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state.seen.lock().expect("proxy lock").clone()
    }

    /// How many requests had `method` and a path containing `path_contains`.
    pub fn count(&self, method: &Method, path_contains: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == *method && r.path.contains(path_contains))
            .count()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.state.seen.lock().expect("proxy lock").clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

async fn forward(
    req: Request<Incoming>,
    state: Arc<ProxyState>,
    client: Client<HttpConnector, Incoming>,
    upstream: String,
) -> Result<Response<ProxyBody>, Box<dyn std::error::Error + Send + Sync>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    state.seen.lock().expect("proxy lock").push(SeenRequest {
        method: method.clone(),
        path: path.clone(),
        target: req.uri().to_string(),
        user_agent: req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    });

    let action = {
        let mut faults = state.faults.lock().expect("proxy lock");
        faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.contains(&f.path_contains))
            .map(|f| {
                f.times -= 1;
                f.action
            })
    };
    if let Some(action) = action {
        // Take the whole body first, as a real server failing mid-upload would have.
        let _ = req.into_body().collect().await;
        return match action {
            FaultAction::Status(code) => {
                let status =
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Ok(Response::builder().status(status).body(empty_body())?)
            }
            FaultAction::Reply { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                Ok(Response::builder()
                    .status(status)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(full_body(body))?)
            }
            FaultAction::Drop => Err("fault injected: connection dropped".into()),
            FaultAction::Stall => std::future::pending().await,
        };
    }
    if method == Method::CONNECT {
        return Ok(Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(full_body("this test proxy does not tunnel"))?);
    }

    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let (mut parts, body) = req.into_parts();
    parts.uri = format!("{upstream}{path_and_query}").parse()?;
    let response = client.request(Request::from_parts(parts, body)).await?;
    Ok(response.map(|b| b.boxed()))
}

fn full_body(text: &'static str) -> ProxyBody {
    http_body_util::Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never: Infallible| match never {})
        .boxed()
}

fn empty_body() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// Packs the OCI layout at `layout` into an uncompressed tar at `out` (an `oci-archive:`).
pub fn write_oci_archive(layout: &Path, out: &Path) -> std::io::Result<()> {
    let mut builder = tar::Builder::new(std::fs::File::create(out)?);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(".", layout)?;
    builder.into_inner()?.sync_all()
}

/// Writes a `docker save`-style archive at `out` for an image written by
/// [`crate::layout::write_image`] into `layout` from `layers`: the same config blob,
/// each layer as an uncompressed `<n>/layer.tar`, and `manifest.json`.
pub fn write_docker_archive(
    layout: &Path,
    image: &crate::layout::WrittenImage,
    layers: &[crate::layout::LayerSpec],
    out: &Path,
) -> std::io::Result<()> {
    let config = std::fs::read(layout.join("blobs/sha256").join(image.config_digest.hex()))?;
    let mut builder = tar::Builder::new(std::fs::File::create(out)?);
    let mut append = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes)
    };
    let config_name = format!("{}.json", image.config_digest.hex());
    append(&config_name, &config)?;
    let mut layer_names = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        append(&name, &layer.tar()?)?;
        layer_names.push(name);
    }
    let manifest = serde_json::json!([{ "Config": config_name, "RepoTags": ["test:latest"], "Layers": layer_names }]);
    append("manifest.json", &serde_json::to_vec(&manifest)?)?;
    builder.into_inner()?.sync_all()
}

/// A few layers of distinct, partly random content (so every call gives a new image),
/// `layer_bytes` big each.
pub fn sample_layers(count: usize, layer_bytes: usize) -> Vec<crate::layout::LayerSpec> {
    (0..count)
        .map(|i| {
            let mut contents = vec![0u8; layer_bytes];
            fastrand::fill(&mut contents);
            crate::layout::LayerSpec {
                files: vec![crate::layout::FileEntry::new(
                    format!("data/layer-{i}.bin"),
                    0o644,
                    contents,
                )],
            }
        })
        .collect()
}

/// One request a [`Stub`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubRequest {
    /// Method.
    pub method: Method,
    /// Path.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// How many body bytes came with it.
    pub body_len: usize,
}

/// What a [`Stub`] answers.
#[derive(Debug, Clone, Default)]
pub struct StubReply {
    /// Status code.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

type StubHandler = dyn Fn(&StubRequest) -> StubReply + Send + Sync;

/// A loopback HTTP server that answers every request with what `handler` says and
/// records it (with its `Authorization` header): a stand-in for a registry, or for the
/// storage a registry redirects to. Stops when dropped.
pub struct Stub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port alone, to build URLs on other names for the same server (`localhost`).
    pub port: u16,
    seen: Arc<Mutex<Vec<StubRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    /// Starts the server.
    pub async fn start(
        handler: impl Fn(&StubRequest) -> StubReply + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let seen: Arc<Mutex<Vec<StubRequest>>> = Arc::default();
        let handler: Arc<StubHandler> = Arc::new(handler);
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let seen = task_seen.clone();
                let handler = handler.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let seen = seen.clone();
                        let handler = handler.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await?.to_bytes();
                            let request = StubRequest {
                                method: parts.method,
                                path: parts.uri.path().to_owned(),
                                query: parts.uri.query().map(str::to_owned),
                                authorization: parts
                                    .headers
                                    .get(http::header::AUTHORIZATION)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned),
                                body_len: body.len(),
                            };
                            let reply = handler(&request);
                            seen.lock().expect("stub lock").push(request);
                            let mut response = Response::builder().status(
                                StatusCode::from_u16(reply.status)
                                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                            );
                            for (name, value) in &reply.headers {
                                response = response.header(name, value);
                            }
                            Ok::<_, hyper::Error>(
                                response
                                    .body(
                                        http_body_util::Full::new(Bytes::from(reply.body))
                                            .map_err(|never: Infallible| match never {})
                                            .boxed(),
                                    )
                                    .expect("a valid stub reply"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
            task,
        })
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<StubRequest> {
        self.seen.lock().expect("stub lock").clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}
