//! `docker save` archives: `manifest.json` names a config and uncompressed layer tars.
//! Registries do not all accept uncompressed layers, so each one is gzipped into a
//! scratch directory (deterministically: same input, same digest) and a new OCI
//! manifest describes the result. The config is pushed unchanged, so its
//! `rootfs.diff_ids` still name the uncompressed layers, as the image spec wants.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use bytes::Bytes;
use flate2::{Compression, GzBuilder};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::archive::ArchiveFiles;
use super::layout_reader::{FileRef, LayoutFiles};
use super::limits::{Small, read_small};
use super::{Blob, Manifest};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media_type;

/// What a converted archive gives the caller.
pub(super) struct Converted {
    pub blobs: Vec<Blob>,
    pub manifests: Vec<Manifest>,
    pub scratch: tempfile::TempDir,
}

/// One image in `manifest.json`.
#[derive(Debug, Deserialize)]
struct SaveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ConfigDoc {
    rootfs: RootFs,
}

#[derive(Debug, Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

/// Reads the archive at `path` and prepares its image for pushing.
pub(super) fn convert(path: &Path) -> Result<Converted> {
    let files = ArchiveFiles::scan(path)?;
    let archive = files.describe();
    let manifest_file = files.find("manifest.json").ok_or_else(|| {
        Error::InvalidImage(format!(
            "{archive} has no `manifest.json`: it is not a `docker save` archive"
        ))
    })?;
    let entries: Vec<SaveEntry> = serde_json::from_slice(&read_small(
        &manifest_file,
        "manifest.json",
        &archive,
        Small::SaveManifest,
    )?)
    .map_err(|e| Error::InvalidImage(format!("{archive}: `manifest.json` is not valid: {e}")))?;
    let entry = match entries.as_slice() {
        [one] => one,
        [] => return Err(Error::InvalidImage(format!("{archive} holds no image"))),
        more => {
            return Err(Error::InvalidImage(format!(
                "{archive} holds {} images; save just one (`docker save IMAGE -o FILE`)",
                more.len()
            )));
        }
    };

    let config_file = find(&files, &entry.config, &archive)?;
    let config_bytes = read_small(&config_file, &entry.config, &archive, Small::Config)?;
    let config_digest = Digest::of_bytes(&config_bytes);
    if let Some(named) = digest_in_name(&entry.config)
        && named != config_digest
    {
        return Err(corrupt(&named, &config_file, &config_digest));
    }
    let config: ConfigDoc = serde_json::from_slice(&config_bytes).map_err(|e| {
        Error::InvalidImage(format!(
            "{archive}: config `{}` is not a valid image config: {e}",
            entry.config
        ))
    })?;
    if config.rootfs.diff_ids.len() != entry.layers.len() {
        return Err(Error::InvalidImage(format!(
            "{archive}: the config lists {} layers but `manifest.json` lists {}",
            config.rootfs.diff_ids.len(),
            entry.layers.len()
        )));
    }

    let scratch = tempfile::Builder::new()
        .prefix("oci-push-")
        .tempdir()
        .map_err(|source| Error::Unreadable {
            action: "create a temporary directory to gzip layers in".to_owned(),
            source,
        })?;
    let mut blobs = vec![Blob {
        digest: config_digest.clone(),
        size: config_file.size,
        path: config_file.path.clone(),
        offset: config_file.offset,
    }];
    let mut layers = Vec::new();
    let mut done: HashMap<&str, Blob> = HashMap::new();
    for (i, (layer, diff_id)) in entry.layers.iter().zip(&config.rootfs.diff_ids).enumerate() {
        let blob = match done.get(layer.as_str()) {
            Some(blob) => blob.clone(),
            None => {
                let file = find(&files, layer, &archive)?;
                let out = scratch.path().join(format!("layer-{i}.tar.gz"));
                let blob = gzip_layer(&file, diff_id, &out).map_err(|e| match e {
                    LayerError::Io(source) => Error::Unreadable {
                        action: format!("read layer `{layer}` of {archive}"),
                        source,
                    },
                    LayerError::Failed(e) => *e,
                })?;
                blobs.push(blob.clone());
                done.insert(layer, blob.clone());
                blob
            }
        };
        layers.push(serde_json::json!({
            "mediaType": media_type::OCI_LAYER_GZIP,
            "digest": blob.digest,
            "size": blob.size,
        }));
    }

    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": { "mediaType": media_type::OCI_CONFIG, "digest": config_digest, "size": config_file.size },
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| Error::InvalidImage(format!("cannot encode the manifest: {e}")))?;
    let manifest = Manifest {
        digest: Digest::of_bytes(&bytes),
        media_type: media_type::OCI_MANIFEST.to_owned(),
        bytes: Bytes::from(bytes),
    };
    Ok(Converted {
        blobs,
        manifests: vec![manifest],
        scratch,
    })
}

fn find(files: &ArchiveFiles, name: &str, archive: &str) -> Result<FileRef> {
    files.find(name).ok_or_else(|| {
        Error::InvalidImage(format!(
            "{archive} is missing `{name}`, which `manifest.json` names"
        ))
    })
}

/// Docker names blobs by digest (`blobs/sha256/<hex>`, older `<hex>.json`): the name
/// is a free integrity check.
fn digest_in_name(name: &str) -> Option<Digest> {
    let base = name.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

fn corrupt(expected: &Digest, file: &FileRef, actual: &Digest) -> Error {
    Error::CorruptBlob {
        digest: expected.to_string(),
        location: file.describe(),
        actual: actual.to_string(),
    }
}

enum LayerError {
    Io(std::io::Error),
    Failed(Box<Error>),
}

impl From<std::io::Error> for LayerError {
    fn from(e: std::io::Error) -> Self {
        LayerError::Io(e)
    }
}

/// Gzips one layer into `out` (or hashes it, if it is already gzipped, and reads it in
/// place), checking the uncompressed bytes against the config's diff_id.
fn gzip_layer(file: &FileRef, diff_id: &str, out: &Path) -> Result<Blob, LayerError> {
    let mut f = File::open(&file.path)?;
    f.seek(SeekFrom::Start(file.offset))?;
    let mut reader = BufReader::with_capacity(1 << 20, f.take(file.size));
    if reader.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        let mut hasher = HashingWriter::new(std::io::sink());
        std::io::copy(&mut reader, &mut hasher)?;
        let (digest, _) = hasher.finish()?;
        return Ok(Blob {
            digest,
            size: file.size,
            path: file.path.clone(),
            offset: file.offset,
        });
    }

    let mut uncompressed = Sha256::new();
    // mtime 0 and no file name in the header: the same layer always gzips to the same bytes.
    let mut encoder = GzBuilder::new().mtime(0).write(
        HashingWriter::new(BufWriter::new(File::create(out)?)),
        Compression::fast(),
    );
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        uncompressed.update(chunk);
        encoder.write_all(chunk)?;
        let n = chunk.len();
        reader.consume(n);
    }
    let written = encoder.finish()?;
    let (digest, size) = written.finish()?;

    let actual_diff_id = Digest::from_hasher(uncompressed);
    if actual_diff_id.as_str() != diff_id {
        return Err(LayerError::Failed(Box::new(Error::CorruptBlob {
            digest: diff_id.to_owned(),
            location: file.describe(),
            actual: actual_diff_id.to_string(),
        })));
    }
    Ok(Blob {
        digest,
        size,
        path: out.to_owned(),
        offset: 0,
    })
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// Flushes and returns the digest and size of everything written.
    pub(crate) fn finish(mut self) -> std::io::Result<(Digest, u64)> {
        self.inner.flush()?;
        Ok((Digest::from_hasher(self.hasher), self.count))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
