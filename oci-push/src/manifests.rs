//! Manifests on the registry: `HEAD` for the digest a tag names, `GET`, and `PUT`.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, StatusCode};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media_type;
use crate::progress::Progress;
use crate::retry::Attempt;
use crate::source::Manifest;
use crate::transport::{Limit, Registry, describe_request, empty, full};

/// The largest manifest we read back (the distribution spec suggests 4 MiB).
const MAX_MANIFEST: usize = 4 * 1024 * 1024;

impl Registry {
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
                            Limit::Request,
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
            Some(Some(header)) => Digest::parse(&header)
                .map(Some)
                .map_err(|e| Error::Protocol {
                    registry: self.host(),
                    problem: format!("bad Docker-Content-Digest for {reference}: {e}"),
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
                        Limit::Request,
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
                        let request = describe_request(&Method::GET, &url);
                        let bytes = self.read_body(&request, resp, MAX_MANIFEST).await?;
                        Ok(Some((media, bytes)))
                    }
                    StatusCode::NOT_FOUND => Ok(None),
                    _ => Err(self.refused(&Method::GET, &url, resp).await),
                }
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
        self.with_retries(
            &format!("pushing manifest {reference}"),
            progress,
            || async {
                let length = manifest.bytes.len().to_string();
                let headers = [
                    (CONTENT_TYPE, manifest.media_type.as_str()),
                    (CONTENT_LENGTH, length.as_str()),
                ];
                let resp = self
                    .send(
                        Method::PUT,
                        &url,
                        &headers,
                        full(manifest.bytes.clone()),
                        Limit::Request,
                    )
                    .await?;
                let status = resp.status();
                if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    let said = self.error_body(resp).await;
                    return Err(Attempt::from(Error::UnsupportedMediaType {
                        request: describe_request(&Method::PUT, &url),
                        media_type: manifest.media_type.clone(),
                        status: status.as_u16(),
                        code: said.code,
                        message: said.message,
                    }));
                }
                if status != StatusCode::CREATED {
                    return Err(self.refused(&Method::PUT, &url, resp).await);
                }
                match resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                {
                    Some(reported) if reported != manifest.digest.as_str() => {
                        Err(Attempt::from(Error::Protocol {
                            registry: self.host(),
                            problem: format!(
                                "stored manifest {reference} as {reported}, but its digest is {}; \
                                 the registry rewrote it, so the digest-pinned URI would be wrong",
                                manifest.digest
                            ),
                        }))
                    }
                    _ => Ok(manifest.digest.clone()),
                }
            },
        )
        .await
    }
}
