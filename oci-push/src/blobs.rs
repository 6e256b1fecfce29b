//! Blobs on the registry: `HEAD` to see whether it has one, and the upload.
//!
//! Uploads are monolithic: `POST` opens a session, one `PUT ?digest=` streams the
//! whole blob from disk, checking its digest as it goes. One round trip per blob,
//! bounded memory, and what containerd does. Chunked uploads (`PATCH` parts) are not
//! offered: ECR rejects parts under 5 MiB and has been seen to drop the bodies of
//! PATCHes after the first (aws/containers-roadmap#2831), and no registry we push to
//! needs them. A failed upload is retried from a new session.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::{Frame, Incoming};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use url::Url;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::retry::Attempt;
use crate::source::Blob;
use crate::transport::{Body, Limit, Registry, describe_request, empty};

/// How much of a blob is read from disk at a time while streaming it.
const READ_CHUNK: usize = 256 * 1024;

impl Registry {
    /// Whether the repository already has the blob (`HEAD /v2/<repo>/blobs/<digest>`,
    /// following a redirect to storage as `get_blob` does).
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
                let resp = self
                    .send_following(Method::HEAD, &url, &[], Limit::Request)
                    .await?;
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
            .send(
                Method::POST,
                &start,
                &[(CONTENT_LENGTH, "0")],
                empty(),
                Limit::Request,
            )
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.refused(&Method::POST, &start, resp).await);
        }
        let location = self.location(&resp, &start)?;

        let file = blob.open().await.map_err(|source| Error::Unreadable {
            action: format!("read blob {} from {}", blob.digest, blob.location()),
            source,
        })?;
        let verify = Arc::new(Mutex::new(Verifier::new(blob)));
        let body = streaming_body(file, verify.clone(), blob.digest.clone(), progress.clone());

        let mut put = location;
        put.query_pairs_mut()
            .append_pair("digest", blob.digest.as_str());
        let length = blob.size.to_string();
        let sent = self
            .send(
                Method::PUT,
                &put,
                &[
                    (CONTENT_TYPE, "application/octet-stream"),
                    (CONTENT_LENGTH, &length),
                ],
                body,
                Limit::IdleOnly,
            )
            .await;
        // A digest mismatch found while streaming surfaces as a failed request: report
        // the corrupt file, not the broken connection, and do not retry.
        if let Some(corrupt) = verify.lock().expect("verifier lock").corrupt.take() {
            return Err(Attempt::from(corrupt));
        }
        let resp = sent?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.refused(&Method::PUT, &put, resp).await);
        }
        Ok(())
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
                // ECR answers with a 307 to a pre-signed S3 URL: followed, without our
                // credentials (`redirect`).
                let resp = self
                    .send_following(Method::GET, &url, &[], Limit::IdleOnly)
                    .await?;
                if resp.status() != StatusCode::OK {
                    return Err(self.refused(&Method::GET, &url, resp).await);
                }
                self.read_body(&describe_request(&Method::GET, &url), resp, 1 << 30)
                    .await
            },
        )
        .await
    }

    /// Where the upload goes next: the `Location` header, relative or absolute, which
    /// may carry its own query string (session state) that we must keep.
    fn location(&self, response: &Response<Incoming>, request: &Url) -> Result<Url, Attempt> {
        let header = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Attempt::from(Error::Protocol {
                    registry: self.host(),
                    problem: format!("{} answered without a Location header", request.path()),
                })
            })?;
        // Another host or port gets the PUT without our credentials; https → http is
        // refused (`redirect`).
        Ok(crate::redirect::next_url(&self.host(), request, header)?)
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
