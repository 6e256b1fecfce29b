//! Reading an image from disk, in one of skopeo's transports:
//!
//! - `oci:DIR[:TAG]`: an OCI image layout directory (`oci-layout`, `index.json`,
//!   `blobs/sha256/…`);
//! - `oci-archive:FILE[:TAG]`: the same layout in an uncompressed tar (what
//!   `docker buildx build --output type=oci,dest=FILE` writes). Blobs are read in place
//!   at their offset in the tar, nothing is unpacked;
//! - `docker-archive:FILE`: what `docker save` writes. Its layers are uncompressed tars,
//!   which not every registry accepts, so they are gzipped into a temporary directory
//!   and described by a new OCI manifest; the config (and so the image's `diff_ids`)
//!   stays as it is.
//!
//! Manifests and configs are read into memory (within the caps in `limits`) and checked
//! against their digests here.
//! Layers are only located (path, offset, size); their digests are checked while they
//! are streamed to the registry.

mod archive;
mod docker_archive;
mod layout_reader;
mod limits;

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::digest::Digest;
use crate::error::{Error, Result};

/// The forms of reference we accept, for error messages.
pub(crate) const ACCEPTED_FORMS: &str = "accepted forms: `oci:DIR[:TAG]` (OCI layout directory), \
     `oci-archive:FILE[:TAG]` (tar of an OCI layout, e.g. from `docker buildx build --output type=oci,dest=FILE`), \
     `docker-archive:FILE` (from `docker save`)";

/// A blob (config or layer) the image needs, and where its bytes are on disk.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    path: PathBuf,
    offset: u64,
}

impl Blob {
    /// Where the blob is read from, for messages: a path, or a path and byte offset
    /// inside an archive.
    pub fn location(&self) -> String {
        if self.offset == 0 {
            self.path.display().to_string()
        } else {
            format!("{} (at byte {})", self.path.display(), self.offset)
        }
    }

    /// Opens the blob's bytes for streaming. The caller verifies the digest as it reads.
    pub async fn open(&self) -> std::io::Result<tokio::io::Take<tokio::fs::File>> {
        let mut file = tokio::fs::File::open(&self.path).await?;
        if self.offset != 0 {
            file.seek(SeekFrom::Start(self.offset)).await?;
        }
        Ok(file.take(self.size))
    }
}

/// A manifest or index to push, with its exact bytes (the digest covers the bytes).
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Digest of `bytes`.
    pub digest: Digest,
    /// Its media type, sent as `Content-Type`.
    pub media_type: String,
    /// The JSON document.
    pub bytes: Bytes,
}

/// An image read from disk: its blobs and its manifests, ready to push.
#[derive(Debug)]
pub struct ImageSource {
    /// The reference it was opened from.
    pub reference: String,
    /// Every distinct config and layer blob, in first-seen order.
    pub blobs: Vec<Blob>,
    /// The manifests in push order: children before the index that lists them. The
    /// last one is the image itself (see [`ImageSource::root`]).
    pub manifests: Vec<Manifest>,
    /// Keeps converted layers (docker-archive) alive until the push is done.
    _scratch: Option<tempfile::TempDir>,
}

impl ImageSource {
    /// Opens an image reference such as `oci:./build/image:latest`. Blocking (reads and
    /// hashes files; a docker-archive is gzipped here): call it from a blocking task in
    /// async code.
    pub fn open(reference: &str) -> Result<Self> {
        let bad = |why: &str| Error::BadReference {
            reference: reference.to_owned(),
            reason: why.to_owned(),
        };
        let Some((transport, rest)) = reference.split_once(':') else {
            return Err(bad("no transport prefix"));
        };
        if rest.is_empty() {
            return Err(bad("no path after the transport"));
        }
        let (path, tag) = match rest.split_once(':') {
            Some((path, tag)) if !tag.is_empty() => (path, Some(tag)),
            Some((path, _)) => (path, None),
            None => (rest, None),
        };
        let (blobs, manifests, scratch) = match transport {
            "oci" => {
                let files = layout_reader::DirFiles::open(Path::new(path))?;
                let (blobs, manifests) = layout_reader::load(&files, tag)?;
                (blobs, manifests, None)
            }
            "oci-archive" => {
                let files = archive::ArchiveFiles::scan(Path::new(path))?;
                let (blobs, manifests) = layout_reader::load(&files, tag)?;
                (blobs, manifests, None)
            }
            "docker-archive" => {
                if tag.is_some() {
                    return Err(bad(
                        "docker-archive takes no `:TAG`; the archive must hold one image",
                    ));
                }
                let converted = docker_archive::convert(Path::new(path))?;
                (
                    converted.blobs,
                    converted.manifests,
                    Some(converted.scratch),
                )
            }
            other => return Err(bad(&format!("unknown transport `{other}`"))),
        };
        Ok(Self {
            reference: reference.to_owned(),
            blobs,
            manifests,
            _scratch: scratch,
        })
    }

    /// The manifest (or index) that names the whole image: what a tag points at.
    pub fn root(&self) -> &Manifest {
        self.manifests
            .last()
            .expect("an opened image has at least one manifest")
    }

    /// Total size of all blobs.
    pub fn total_blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}
