//! Reads an OCI image layout, from a directory or from a tar of one: picks the image
//! named by the tag and collects its manifests and blobs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;

use super::limits::{Small, read_small};
use super::{Blob, Manifest};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::media_type;

/// The annotation OCI layouts use to name an image in `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// An index of indexes of … this deep is a malformed layout, not an image.
const MAX_NESTING: usize = 4;

/// A file found in a layout: on disk at `path`, starting at `offset`, `size` bytes.
pub(super) struct FileRef {
    pub path: PathBuf,
    pub offset: u64,
    pub size: u64,
}

/// Where a layout's files are: a directory, or entries in a tar.
pub(super) trait LayoutFiles {
    /// What to call the layout in messages.
    fn describe(&self) -> String;
    /// Finds a file by its path inside the layout (`index.json`, `blobs/sha256/…`).
    fn find(&self, name: &str) -> Option<FileRef>;
}

/// A layout directory.
pub(super) struct DirFiles {
    dir: PathBuf,
}

impl DirFiles {
    /// Checks that `dir` looks like an OCI layout.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::InvalidImage(format!(
                "OCI layout directory `{}` does not exist or is not a directory",
                dir.display()
            )));
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }
}

impl LayoutFiles for DirFiles {
    fn describe(&self) -> String {
        format!("OCI layout `{}`", self.dir.display())
    }
    fn find(&self, name: &str) -> Option<FileRef> {
        let path = self.dir.join(name);
        let meta = std::fs::metadata(&path).ok()?;
        meta.is_file().then_some(FileRef {
            path,
            offset: 0,
            size: meta.len(),
        })
    }
}

/// A descriptor: a pointer to a blob or manifest by digest.
#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The parts of an index (or `index.json`) we need.
#[derive(Debug, Deserialize)]
struct IndexDoc {
    manifests: Vec<Descriptor>,
}

/// The parts of an image manifest we need.
#[derive(Debug, Deserialize)]
struct ManifestDoc {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// Just the `mediaType` field, to classify a document whose descriptor had none.
#[derive(Debug, Deserialize)]
struct MediaTypeOnly {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// Loads the image `tag` (or the only image) of a layout: its distinct blobs and its
/// manifests, children first.
pub(super) fn load(
    files: &dyn LayoutFiles,
    tag: Option<&str>,
) -> Result<(Vec<Blob>, Vec<Manifest>)> {
    let layout = files.describe();
    if files.find("oci-layout").is_none() {
        return Err(Error::InvalidImage(format!(
            "{layout} has no `oci-layout` file: it is not an OCI image layout"
        )));
    }
    let index_file = files
        .find("index.json")
        .ok_or_else(|| Error::InvalidImage(format!("{layout} has no `index.json`")))?;
    let index_bytes = read_small(&index_file, "index.json", &layout, Small::Manifest)?;
    let index: IndexDoc = serde_json::from_slice(&index_bytes).map_err(|e| {
        Error::InvalidImage(format!(
            "{layout}: `index.json` is not a valid OCI index: {e}"
        ))
    })?;
    let chosen = choose(&index.manifests, tag, &layout)?;

    let mut collected = Collected::default();
    collect(files, chosen, &layout, 0, &mut collected)?;
    Ok((collected.blobs, collected.manifests))
}

/// Picks the `index.json` entry named `tag`, or the only entry.
fn choose<'a>(
    entries: &'a [Descriptor],
    tag: Option<&str>,
    layout: &str,
) -> Result<&'a Descriptor> {
    let names: Vec<&str> = entries
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
        .collect();
    match tag {
        Some(tag) => {
            let matches = |d: &&Descriptor| {
                d.annotations
                    .get(REF_NAME)
                    .is_some_and(|n| n == tag || n.rsplit_once(':').is_some_and(|(_, t)| t == tag))
            };
            entries.iter().find(matches).ok_or_else(|| {
                Error::InvalidImage(format!(
                    "{layout} has no image tagged `{tag}` (tags in it: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ))
            })
        }
        None => match entries {
            [only] => Ok(only),
            [] => Err(Error::InvalidImage(format!(
                "{layout} holds no image (`index.json` lists no manifests)"
            ))),
            _ => Err(Error::InvalidImage(format!(
                "{layout} holds {} images (tags: {}); name one with `oci:DIR:TAG`",
                entries.len(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ))),
        },
    }
}

#[derive(Default)]
struct Collected {
    blobs: Vec<Blob>,
    manifests: Vec<Manifest>,
    seen: HashSet<Digest>,
}

/// Reads the manifest or index `desc` points at, then everything it points at.
fn collect(
    files: &dyn LayoutFiles,
    desc: &Descriptor,
    layout: &str,
    depth: usize,
    out: &mut Collected,
) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(Error::InvalidImage(format!(
            "{layout}: indexes nested more than {MAX_NESTING} deep"
        )));
    }
    let digest = parse_digest(&desc.digest, layout)?;
    if out.seen.contains(&digest) {
        return Ok(());
    }
    let file = locate(files, &digest, desc.size, layout)?;
    let bytes = read_small(&file, digest.as_str(), layout, Small::Manifest)?;
    verify(&bytes, &digest, &file)?;

    let media_type = match &desc.media_type {
        Some(m) => m.clone(),
        None => infer_media_type(&bytes, &digest, layout)?,
    };
    if media_type::is_index(&media_type) {
        let index: IndexDoc = serde_json::from_slice(&bytes).map_err(|e| {
            Error::InvalidImage(format!("{layout}: index {digest} is not valid: {e}"))
        })?;
        for child in &index.manifests {
            collect(files, child, layout, depth + 1, out)?;
        }
    } else if media_type::is_image_manifest(&media_type) {
        let manifest: ManifestDoc = serde_json::from_slice(&bytes).map_err(|e| {
            Error::InvalidImage(format!("{layout}: manifest {digest} is not valid: {e}"))
        })?;
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            let blob_digest = parse_digest(&blob.digest, layout)?;
            if out.seen.insert(blob_digest.clone()) {
                let found = locate(files, &blob_digest, blob.size, layout)?;
                out.blobs.push(Blob {
                    digest: blob_digest,
                    size: found.size,
                    path: found.path,
                    offset: found.offset,
                });
            }
        }
    } else {
        return Err(Error::InvalidImage(format!(
            "{layout}: {digest} has media type `{media_type}`, which is not an image manifest or index"
        )));
    }
    out.seen.insert(digest.clone());
    out.manifests.push(Manifest {
        digest,
        media_type,
        bytes: Bytes::from(bytes),
    });
    Ok(())
}

fn parse_digest(s: &str, layout: &str) -> Result<Digest> {
    Digest::parse(s).map_err(|e| Error::InvalidImage(format!("{layout}: {e}")))
}

/// Finds a blob file and checks its size against the descriptor.
fn locate(files: &dyn LayoutFiles, digest: &Digest, size: u64, layout: &str) -> Result<FileRef> {
    let name = format!("blobs/sha256/{}", digest.hex());
    let file = files.find(&name).ok_or_else(|| {
        Error::InvalidImage(format!("{layout} is missing blob {digest} (`{name}`)"))
    })?;
    if file.size != size {
        return Err(Error::CorruptBlob {
            digest: digest.to_string(),
            location: file.describe(),
            actual: format!(
                "a file of {} bytes where the manifest says {size}",
                file.size
            ),
        });
    }
    Ok(file)
}

fn infer_media_type(bytes: &[u8], digest: &Digest, layout: &str) -> Result<String> {
    let doc: MediaTypeOnly = serde_json::from_slice(bytes).map_err(|e| {
        Error::InvalidImage(format!("{layout}: {digest} is not a JSON manifest: {e}"))
    })?;
    Ok(match (doc.media_type, doc.manifests) {
        (Some(m), _) => m,
        (None, Some(_)) => media_type::OCI_INDEX.to_owned(),
        (None, None) => media_type::OCI_MANIFEST.to_owned(),
    })
}

impl FileRef {
    /// Where the file is, for messages.
    pub fn describe(&self) -> String {
        if self.offset == 0 {
            self.path.display().to_string()
        } else {
            format!("{} (at byte {})", self.path.display(), self.offset)
        }
    }
}

/// Checks that `bytes` hash to `digest`.
pub(super) fn verify(bytes: &[u8], digest: &Digest, file: &FileRef) -> Result<()> {
    let actual = Digest::of_bytes(bytes);
    if &actual != digest {
        return Err(Error::CorruptBlob {
            digest: digest.to_string(),
            location: file.describe(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}
