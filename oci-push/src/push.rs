//! Pushing an opened image: blobs the registry lacks (a few at a time), then child
//! manifests, then the image's own manifest under its tag (or its digest).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::progress::{BlobOutcome, Progress};
use crate::source::{Blob, ImageSource};
use crate::transport::Registry;

/// How to push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Tag to store the image under; `None` pushes by digest only.
    pub tag: Option<String>,
    /// How many blobs to check and upload at once.
    pub concurrency: usize,
    /// The longest the whole push may take, retries included; `None`: no limit. The
    /// per-request limits are in [`crate::ClientOptions`].
    pub deadline: Option<Duration>,
}

impl Default for PushOptions {
    fn default() -> Self {
        // Three parallel uploads fill a typical uplink without starving each other.
        // Thirty minutes is far more than an app image needs on a CI runner, and stops
        // a push that crawls from holding the job until the runner's own timeout.
        Self {
            tag: None,
            concurrency: 3,
            deadline: Some(Duration::from_secs(30 * 60)),
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushReport {
    /// Digest of the pushed manifest (or index): the image's immutable name.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// The tag it is stored under, if any.
    pub tag: Option<String>,
    /// Blobs sent to the registry.
    pub blobs_uploaded: usize,
    /// Blobs the registry already had.
    pub blobs_skipped: usize,
    /// Bytes of blobs sent.
    pub bytes_uploaded: u64,
}

/// Pushes `image` to `repository` on `registry`.
///
/// Tags are never moved: if `options.tag` already names this image the push is done
/// at once (nothing to upload: the registry only accepted that manifest because it had
/// every blob); if it names another image the push fails before sending anything, as
/// an immutable repository would refuse it anyway.
///
/// With `options.deadline` set, a push that has not finished by then stops with
/// [`Error::DeadlineExceeded`]; what was uploaded stays, so the next push skips it.
pub async fn push_image(
    registry: &Registry,
    repository: &str,
    image: &ImageSource,
    options: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<PushReport> {
    let done = AtomicUsize::new(0);
    let push = push_within(registry, repository, image, options, progress, &done);
    let Some(deadline) = options.deadline else {
        return push.await;
    };
    match tokio::time::timeout(deadline, push).await {
        Ok(result) => result,
        Err(_) => Err(Error::DeadlineExceeded {
            registry: registry.host(),
            deadline,
            blobs_done: done.load(Ordering::Relaxed),
            blobs_total: image.blobs.len(),
        }),
    }
}

async fn push_within(
    registry: &Registry,
    repository: &str,
    image: &ImageSource,
    options: &PushOptions,
    progress: Arc<dyn Progress>,
    done: &AtomicUsize,
) -> Result<PushReport> {
    let root = image.root();
    let mut report = PushReport {
        digest: root.digest.clone(),
        media_type: root.media_type.clone(),
        tag: options.tag.clone(),
        blobs_uploaded: 0,
        blobs_skipped: 0,
        bytes_uploaded: 0,
    };

    if let Some(tag) = &options.tag
        && check_tag(registry, repository, tag, &root.digest, progress.as_ref()).await?
    {
        report.blobs_skipped = image.blobs.len();
        for blob in &image.blobs {
            progress.blob_finished(
                &blob.digest,
                BlobOutcome::Skipped,
                std::time::Duration::ZERO,
            );
        }
        return Ok(report);
    }

    progress.start(image.blobs.len(), image.total_blob_bytes());
    let outcomes: Vec<BlobOutcome> = futures_util::stream::iter(&image.blobs)
        .map(|blob| push_blob(registry, repository, blob, progress.clone(), done))
        .buffer_unordered(options.concurrency.max(1))
        .try_collect()
        .await?;
    for outcome in outcomes {
        match outcome {
            BlobOutcome::Skipped => report.blobs_skipped += 1,
            BlobOutcome::Uploaded { bytes } => {
                report.blobs_uploaded += 1;
                report.bytes_uploaded += bytes;
            }
        }
    }

    // Children of an index first (by digest): the registry checks that what a
    // manifest references exists.
    let (children, _) = image.manifests.split_at(image.manifests.len() - 1);
    for child in children {
        if registry
            .manifest_digest(repository, child.digest.as_str(), progress.as_ref())
            .await?
            .is_none()
        {
            registry
                .put_manifest(repository, child.digest.as_str(), child, progress.as_ref())
                .await?;
        }
    }
    match &options.tag {
        Some(tag) => {
            if let Err(error) = registry
                .put_manifest(repository, tag, root, progress.as_ref())
                .await
            {
                // Someone may have pushed the tag meanwhile: if it names this image, fine.
                if check_tag(registry, repository, tag, &root.digest, progress.as_ref()).await? {
                    return Ok(report);
                }
                return Err(error);
            }
        }
        None => {
            if registry
                .manifest_digest(repository, root.digest.as_str(), progress.as_ref())
                .await?
                .is_none()
            {
                registry
                    .put_manifest(repository, root.digest.as_str(), root, progress.as_ref())
                    .await?;
            }
        }
    }
    Ok(report)
}

/// `Ok(true)` if `tag` already names `digest`, `Ok(false)` if the tag does not exist,
/// and the tag-conflict error if it names something else.
async fn check_tag(
    registry: &Registry,
    repository: &str,
    tag: &str,
    digest: &Digest,
    progress: &dyn Progress,
) -> Result<bool> {
    match registry.manifest_digest(repository, tag, progress).await? {
        None => Ok(false),
        Some(existing) if &existing == digest => Ok(true),
        Some(existing) => Err(Error::TagConflict {
            tag: tag.to_owned(),
            existing: existing.to_string(),
            new: digest.to_string(),
        }),
    }
}

async fn push_blob(
    registry: &Registry,
    repository: &str,
    blob: &Blob,
    progress: Arc<dyn Progress>,
    done: &AtomicUsize,
) -> Result<BlobOutcome> {
    let started = Instant::now();
    let outcome = if registry
        .blob_exists(repository, &blob.digest, progress.as_ref())
        .await?
    {
        BlobOutcome::Skipped
    } else {
        registry
            .upload_blob(repository, blob, progress.clone())
            .await?;
        BlobOutcome::Uploaded { bytes: blob.size }
    };
    progress.blob_finished(&blob.digest, outcome, started.elapsed());
    done.fetch_add(1, Ordering::Relaxed);
    Ok(outcome)
}
