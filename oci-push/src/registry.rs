//! A client for the OCI distribution API (the registry HTTP API): blob HEAD and upload,
//! manifest HEAD/GET/PUT. Every request is retried with exponential backoff and jitter
//! on 5xx, 429 and connection errors; a blob upload is retried from a new session.
//!
//! Uploads are monolithic by default: `POST` opens a session, one `PUT ?digest=`
//! streams the whole blob from disk. That is one round trip per blob, bounded memory,
//! and what containerd does. Chunked uploads (`PATCH` parts with `Content-Range`, then
//! an empty `PUT`) are available with [`Registry::with_chunked_uploads`] for registries
//! or proxies that cap request bodies. They are not the default because ECR rejects
//! parts under 5 MiB (except the last) and has been seen to drop the bodies of PATCHes
//! after the first (aws/containers-roadmap#2831); we track the offset by what we sent,
//! never by the `Range` the registry reports.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use url::Url;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media_type;
use crate::progress::Progress;
use crate::source::{Blob, Manifest};

/// Request bodies: empty, in memory, or streamed from a file.
type Body = UnsyncBoxBody<Bytes, io::Error>;
type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// How much of a blob is read from disk at a time while streaming it.
const READ_CHUNK: usize = 256 * 1024;
/// The smallest part ECR accepts in a chunked upload (except the last).
pub const MIN_CHUNK_SIZE: u64 = 5 * 1024 * 1024;

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

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        match self {
            Credentials::Basic { username, .. } => write!(f, "Basic({username}:***)"),
        }
    }
}

/// When and how often to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total attempts, the first one included.
    pub attempts: u32,
    /// Delay before the first retry; doubles each time, with jitter.
    pub base_delay: Duration,
    /// The longest delay between attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay before retry number `retry` (1-based): exponential, capped, and
    /// jittered to between half and all of it so parallel uploads do not retry in step.
    fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        capped.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// The outcome of one attempt: retry it, or give up with this error.
enum Attempt {
    Retry(String),
    Fail(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Fail(e)
    }
}

/// A registry at a base URL, with optional credentials.
#[derive(Clone)]
pub struct Registry {
    client: HttpClient,
    base: Url,
    authorization: Option<HeaderValue>,
    retry: RetryPolicy,
    chunk_size: Option<u64>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// A client for the registry at `base_url` (`https://…`, or `http://127.0.0.1:PORT`
    /// for a local one; a bare `host[:port]` means https).
    pub fn new(base_url: &str, credentials: Option<Credentials>) -> Result<Self> {
        let with_scheme = if base_url.contains("://") {
            base_url.to_owned()
        } else {
            format!("https://{base_url}")
        };
        let base = Url::parse(&with_scheme)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::Source(format!("registry URL `{base_url}` is not valid; expected e.g. `https://123456789012.dkr.ecr.eu-west-1.amazonaws.com` or `http://127.0.0.1:5000`"))
            })?;
        let authorization = credentials.map(|Credentials::Basic { username, password }| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .expect("base64 is a valid header value");
            value.set_sensitive(true);
            value
        });
        Ok(Self {
            client: http_client()?,
            base,
            authorization,
            retry: RetryPolicy::default(),
            chunk_size: None,
        })
    }

    /// Uses another retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Uploads blobs bigger than `chunk_size` in `PATCH` parts of that size. ECR needs
    /// parts of at least [`MIN_CHUNK_SIZE`]; other registries accept smaller ones.
    pub fn with_chunked_uploads(mut self, chunk_size: u64) -> Self {
        self.chunk_size = Some(chunk_size.max(1));
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

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// Whether the repository already has the blob (`HEAD /v2/<repo>/blobs/<digest>`).
    pub async fn blob_exists(
        &self,
        repository: &str,
        digest: &Digest,
        progress: &dyn Progress,
    ) -> Result<bool> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"));
        self.with_retries(
            &format!("checking blob {}", digest.short()),
            progress,
            || async {
                let resp = self.send(Method::HEAD, &url, &[], empty()).await?;
                match resp.status() {
                    StatusCode::OK => Ok(true),
                    StatusCode::NOT_FOUND => Ok(false),
                    _ => Err(self.refused(&Method::HEAD, &url, resp).await),
                }
            },
        )
        .await
    }

    /// Uploads a blob, streaming it from disk and checking its digest as it goes.
    /// `progress` must be shareable because the streaming body outlives this call's borrow.
    pub async fn upload_blob(
        &self,
        repository: &str,
        blob: &Blob,
        progress: Arc<dyn Progress>,
    ) -> Result<()> {
        let what = format!("uploading blob {}", blob.digest.short());
        self.with_retries(&what, progress.as_ref(), || {
            self.upload_once(repository, blob, progress.clone())
        })
        .await
    }

    /// One upload session, from `POST` to the final `PUT`.
    async fn upload_once(
        &self,
        repository: &str,
        blob: &Blob,
        progress: Arc<dyn Progress>,
    ) -> Result<(), Attempt> {
        progress.blob_started(&blob.digest, blob.size);
        let start = self.url(&format!("/v2/{repository}/blobs/uploads/"));
        let resp = self
            .send(Method::POST, &start, &[(CONTENT_LENGTH, "0")], empty())
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.refused(&Method::POST, &start, resp).await);
        }
        let mut location = self.location(&resp, &start)?;

        let file = blob.open().await.map_err(|e| {
            Error::Source(format!(
                "cannot read blob {} from {}: {e}",
                blob.digest,
                blob.location()
            ))
        })?;
        let verify = Arc::new(Mutex::new(Verifier::new(blob)));

        // Chunked: the parts go now and the closing PUT is empty. Monolithic: the
        // closing PUT carries the whole blob, streamed from disk.
        let (final_body, length) = match self.chunk_size {
            Some(chunk) if blob.size > chunk => {
                location = self
                    .upload_chunks(file, blob, chunk, location, &verify, progress.as_ref())
                    .await?;
                (empty(), 0)
            }
            _ => (
                streaming_body(file, verify.clone(), blob.digest.clone(), progress.clone()),
                blob.size,
            ),
        };

        let mut put = location.clone();
        put.query_pairs_mut()
            .append_pair("digest", blob.digest.as_str());
        let length = length.to_string();
        let sent = self
            .send(
                Method::PUT,
                &put,
                &[
                    (CONTENT_TYPE, "application/octet-stream"),
                    (CONTENT_LENGTH, &length),
                ],
                final_body,
            )
            .await;
        // A digest mismatch found while streaming surfaces as a failed request: report
        // the corrupt file, not the broken connection, and do not retry.
        if let Some(corrupt) = verify.lock().expect("verifier lock").corrupt.take() {
            return Err(Attempt::Fail(corrupt));
        }
        let resp = sent?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.refused(&Method::PUT, &put, resp).await);
        }
        Ok(())
    }

    /// Sends the blob in `PATCH` parts of `chunk` bytes; returns where to `PUT` next.
    async fn upload_chunks(
        &self,
        mut file: tokio::io::Take<tokio::fs::File>,
        blob: &Blob,
        chunk: u64,
        mut location: Url,
        verify: &Arc<Mutex<Verifier>>,
        progress: &dyn Progress,
    ) -> Result<Url, Attempt> {
        let mut offset = 0u64;
        while offset < blob.size {
            let len = chunk.min(blob.size - offset);
            let mut part = vec![0u8; len as usize];
            file.read_exact(&mut part).await.map_err(|e| {
                Error::Source(format!(
                    "cannot read blob {} from {}: {e}",
                    blob.digest,
                    blob.location()
                ))
            })?;
            verify.lock().expect("verifier lock").update(&part);
            if offset + len == blob.size
                && let Some(corrupt) = verify.lock().expect("verifier lock").finish()
            {
                return Err(Attempt::Fail(corrupt));
            }
            let range = format!("{}-{}", offset, offset + len - 1);
            let length = len.to_string();
            let headers = [
                (CONTENT_TYPE, "application/octet-stream"),
                (CONTENT_RANGE, range.as_str()),
                (CONTENT_LENGTH, length.as_str()),
            ];
            let resp = self
                .send(Method::PATCH, &location, &headers, full(Bytes::from(part)))
                .await?;
            if !resp.status().is_success() {
                return Err(self.refused(&Method::PATCH, &location, resp).await);
            }
            location = self.location(&resp, &location)?;
            progress.blob_bytes(&blob.digest, len);
            offset += len;
        }
        Ok(location)
    }

    /// The digest a tag or digest reference currently names, or `None` if the
    /// repository has no such manifest (`HEAD /v2/<repo>/manifests/<ref>`).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
        progress: &dyn Progress,
    ) -> Result<Option<Digest>> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"));
        let head = self
            .with_retries(
                &format!("checking manifest {reference}"),
                progress,
                || async {
                    let resp = self
                        .send(
                            Method::HEAD,
                            &url,
                            &[(ACCEPT, media_type::MANIFEST_ACCEPT)],
                            empty(),
                        )
                        .await?;
                    match resp.status() {
                        StatusCode::OK => Ok(Some(
                            resp.headers()
                                .get("docker-content-digest")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned),
                        )),
                        StatusCode::NOT_FOUND => Ok(None),
                        _ => Err(self.refused(&Method::HEAD, &url, resp).await),
                    }
                },
            )
            .await?;
        match head {
            None => Ok(None),
            Some(Some(header)) => Digest::parse(&header).map(Some).map_err(|e| {
                Error::Registry(format!(
                    "registry {}: bad Docker-Content-Digest for {reference}: {e}",
                    self.host()
                ))
            }),
            // No digest header: hash the manifest ourselves.
            Some(None) => Ok(self
                .get_manifest(repository, reference, progress)
                .await?
                .map(|(_, bytes)| Digest::of_bytes(&bytes))),
        }
    }

    /// Fetches a manifest: its media type and exact bytes, or `None` if absent.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
        progress: &dyn Progress,
    ) -> Result<Option<(String, Bytes)>> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"));
        self.with_retries(
            &format!("fetching manifest {reference}"),
            progress,
            || async {
                let resp = self
                    .send(
                        Method::GET,
                        &url,
                        &[(ACCEPT, media_type::MANIFEST_ACCEPT)],
                        empty(),
                    )
                    .await?;
                match resp.status() {
                    StatusCode::OK => {
                        let media = resp
                            .headers()
                            .get(CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let bytes = Limited::new(resp.into_body(), 4 * 1024 * 1024)
                            .collect()
                            .await
                            .map_err(|e| {
                                Attempt::Retry(format!("reading manifest {reference}: {e}"))
                            })?
                            .to_bytes();
                        Ok(Some((media, bytes)))
                    }
                    StatusCode::NOT_FOUND => Ok(None),
                    _ => Err(self.refused(&Method::GET, &url, resp).await),
                }
            },
        )
        .await
    }

    /// Fetches a blob whole (tests use it to compare pulled content; blobs in tests are small).
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &Digest,
        progress: &dyn Progress,
    ) -> Result<Bytes> {
        let url = self.url(&format!("/v2/{repository}/blobs/{digest}"));
        self.with_retries(
            &format!("fetching blob {}", digest.short()),
            progress,
            || async {
                let resp = self.send(Method::GET, &url, &[], empty()).await?;
                if resp.status() != StatusCode::OK {
                    return Err(self.refused(&Method::GET, &url, resp).await);
                }
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| Attempt::Retry(format!("reading blob: {e}")))?
                    .to_bytes();
                Ok(bytes)
            },
        )
        .await
    }

    /// Stores a manifest under `reference` (a tag, or its own digest) and returns the
    /// digest the registry reports, which must be the manifest's own.
    pub async fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        manifest: &Manifest,
        progress: &dyn Progress,
    ) -> Result<Digest> {
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"));
        self.with_retries(&format!("pushing manifest {reference}"), progress, || async {
            let length = manifest.bytes.len().to_string();
            let headers = [(CONTENT_TYPE, manifest.media_type.as_str()), (CONTENT_LENGTH, length.as_str())];
            let resp = self.send(Method::PUT, &url, &headers, full(manifest.bytes.clone())).await?;
            if resp.status() != StatusCode::CREATED {
                return Err(self.refused(&Method::PUT, &url, resp).await);
            }
            match resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()) {
                Some(reported) if reported != manifest.digest.as_str() => Err(Attempt::Fail(Error::Registry(format!(
                    "registry {} stored manifest {reference} as {reported}, but its digest is {}; \
                     the registry rewrote it, so the digest-pinned URI would be wrong",
                    self.host(),
                    manifest.digest
                )))),
                _ => Ok(manifest.digest.clone()),
            }
        })
        .await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries run out.
    async fn with_retries<T, F, Fut>(
        &self,
        what: &str,
        progress: &dyn Progress,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Attempt>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Attempt::Fail(error)) => return Err(error),
                Err(Attempt::Retry(why)) if tries >= self.retry.attempts => {
                    return Err(Error::Registry(format!(
                        "registry {}: {what} failed after {tries} attempts: {why}",
                        self.host()
                    )));
                }
                Err(Attempt::Retry(why)) => {
                    let delay = self.retry.delay(tries);
                    progress.retrying(what, &why, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Sends one request. Connection errors, 5xx and 429 come back as `Retry`.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: &[(http::HeaderName, &str)],
        body: Body,
    ) -> Result<Response<Incoming>, Attempt> {
        let mut request = Request::builder().method(method.clone()).uri(url.as_str());
        // Credentials go only to the registry itself, never to a host a Location points at.
        if let Some(auth) = &self.authorization
            && url.host_str() == self.base.host_str()
        {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        let request = request.body(body).map_err(|e| {
            Attempt::Fail(Error::Registry(format!(
                "cannot build {method} {}: {e}",
                url.path()
            )))
        })?;
        let response =
            self.client.request(request).await.map_err(|e| {
                Attempt::Retry(format!("{method} {}: {}", url.path(), error_chain(&e)))
            })?;
        let status = response.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            let body = error_body(response).await;
            return Err(Attempt::Retry(format!(
                "{method} {}: {status}{body}",
                url.path()
            )));
        }
        Ok(response)
    }

    /// A non-retryable refusal, with what to do for the common ones.
    async fn refused(&self, method: &Method, url: &Url, response: Response<Incoming>) -> Attempt {
        let status = response.status();
        let body = error_body(response).await;
        let hint = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                "; the registry refused the credentials: for ECR the caller needs ecr:GetAuthorizationToken, \
                 ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, \
                 ecr:CompleteLayerUpload and ecr:PutImage on the repository"
            }
            _ => "",
        };
        Attempt::Fail(Error::Registry(format!(
            "registry {}: {method} {} was refused: {status}{body}{hint}",
            self.host(),
            url.path()
        )))
    }

    /// Where the upload goes next: the `Location` header, relative or absolute, which
    /// may carry its own query string (session state) that we must keep.
    fn location(&self, response: &Response<Incoming>, request: &Url) -> Result<Url, Attempt> {
        let header = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Attempt::Fail(Error::Registry(format!(
                    "registry {}: {} answered without a Location header",
                    self.host(),
                    request.path()
                )))
            })?;
        request.join(header).map_err(|e| {
            Attempt::Fail(Error::Registry(format!(
                "registry {}: bad Location `{header}`: {e}",
                self.host()
            )))
        })
    }
}

/// Checks a blob's bytes against its digest and size while they stream past.
struct Verifier {
    hasher: Sha256,
    seen: u64,
    expected: Digest,
    size: u64,
    location: String,
    corrupt: Option<Error>,
}

impl Verifier {
    fn new(blob: &Blob) -> Self {
        Self {
            hasher: Sha256::new(),
            seen: 0,
            expected: blob.digest.clone(),
            size: blob.size,
            location: blob.location(),
            corrupt: None,
        }
    }
    fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.seen += bytes.len() as u64;
    }
    /// At the end: the corruption error, if the bytes were not the blob.
    fn finish(&mut self) -> Option<Error> {
        let actual = Digest::from_hasher(std::mem::take(&mut self.hasher));
        if actual == self.expected && self.seen == self.size {
            return None;
        }
        let actual = if self.seen == self.size {
            actual.to_string()
        } else {
            format!("only {} of {} bytes", self.seen, self.size)
        };
        Some(Error::CorruptBlob {
            digest: self.expected.to_string(),
            location: self.location.clone(),
            actual,
        })
    }
}

/// A body that streams the file, hashing as it goes; on a mismatch at the end it fails
/// the request and leaves the reason in the verifier.
fn streaming_body(
    file: tokio::io::Take<tokio::fs::File>,
    verify: Arc<Mutex<Verifier>>,
    digest: Digest,
    progress: Arc<dyn Progress>,
) -> Body {
    let stream = futures_util::stream::unfold(Some(file), move |state| {
        let verify = verify.clone();
        let digest = digest.clone();
        let progress = progress.clone();
        async move {
            let mut file = state?;
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            match file.read_buf(&mut buf).await {
                Err(e) => Some((Err(e), None)),
                Ok(0) => {
                    // Shorter than it should be (the file shrank since it was opened).
                    let mut verifier = verify.lock().expect("verifier lock");
                    if verifier.seen >= verifier.size {
                        return None;
                    }
                    let error = verifier.finish()?;
                    let message = error.to_string();
                    verifier.corrupt = Some(error);
                    Some((
                        Err(io::Error::new(io::ErrorKind::InvalidData, message)),
                        None,
                    ))
                }
                Ok(n) => {
                    let mut verifier = verify.lock().expect("verifier lock");
                    verifier.update(&buf);
                    // Check before handing over the last bytes: with a known length the
                    // request is complete once they are sent, too late to stop it.
                    if verifier.seen >= verifier.size
                        && let Some(error) = verifier.finish()
                    {
                        let message = error.to_string();
                        verifier.corrupt = Some(error);
                        return Some((
                            Err(io::Error::new(io::ErrorKind::InvalidData, message)),
                            None,
                        ));
                    }
                    drop(verifier);
                    progress.blob_bytes(&digest, n as u64);
                    Some((Ok(Frame::data(buf.freeze())), Some(file)))
                }
            }
        }
    });
    StreamBody::new(stream).boxed_unsync()
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The start of an error response's body (registries explain themselves there).
async fn error_body(response: Response<Incoming>) -> String {
    match Limited::new(response.into_body(), 4096).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let text = String::from_utf8_lossy(&bytes);
            let text = text.trim();
            if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            }
        }
        Err(_) => String::new(),
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// One HTTP client (connection pool) over rustls with the system's root certificates.
fn http_client() -> Result<HttpClient> {
    let mut roots = rustls::RootCertStore::empty();
    // A machine without CA certificates can still push to a plain-http local registry.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Registry(format!("cannot set up TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_stay_capped() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        let first = policy.delay(1);
        assert!(
            first >= Duration::from_millis(50) && first <= Duration::from_millis(100),
            "{first:?}"
        );
        let third = policy.delay(3);
        assert!(
            third >= Duration::from_millis(200) && third <= Duration::from_millis(400),
            "{third:?}"
        );
        assert!(policy.delay(30) <= Duration::from_secs(1));
    }

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
        let err = Registry::new("ftp://x", None).unwrap_err().to_string();
        assert!(err.contains("ftp://x"), "{err}");
    }
}
