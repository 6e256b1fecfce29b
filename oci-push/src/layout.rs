//! Writes an OCI image layout from files held in memory: deterministic tar+gzip layers
//! (owner root, mtime 0, sorted as given), a config and a manifest. Tests build
//! several-layer images with it; the local run packages the static service binary as
//! an image with it.
//!
//! ```no_run
//! use oci_push::layout::{FileEntry, ImageConfig, LayerSpec, write_image};
//! # fn main() -> std::io::Result<()> {
//! let binary = std::fs::read("target/release/service")?;
//! let layer = LayerSpec { files: vec![FileEntry::new("service", 0o755, binary)] };
//! let config = ImageConfig {
//!     entrypoint: vec!["/service".into()],
//!     exposed_ports: vec!["8080/tcp".into()],
//!     user: Some("65532".into()),
//!     ..ImageConfig::default()
//! };
//! let image = write_image("build/image".as_ref(), &[layer], &config, Some("latest"))?;
//! println!("oci:build/image:latest is {}", image.manifest_digest);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};
use serde_json::json;

use crate::digest::Digest;
use crate::media_type;

/// A regular file to put in a layer.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Path inside the image, without a leading `/` (`service`, `etc/app/config.yaml`).
    pub path: String,
    /// Unix permission bits, e.g. `0o755` for an executable.
    pub mode: u32,
    /// The file's bytes.
    pub contents: Vec<u8>,
}

impl FileEntry {
    /// A file at `path` (leading `/` is dropped) with `mode` and `contents`.
    pub fn new(path: impl Into<String>, mode: u32, contents: impl Into<Vec<u8>>) -> Self {
        let path: String = path.into();
        Self {
            path: path.trim_start_matches('/').to_owned(),
            mode,
            contents: contents.into(),
        }
    }
}

/// One layer: its files, in the order given. Parent directories are added for you.
#[derive(Debug, Clone, Default)]
pub struct LayerSpec {
    /// The files in the layer.
    pub files: Vec<FileEntry>,
}

impl LayerSpec {
    /// The layer as an uncompressed tar: what `docker save` stores, and what the
    /// config's `diff_ids` hash.
    pub fn tar(&self) -> io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        let mut dirs = BTreeSet::new();
        for file in &self.files {
            let mut parent = String::new();
            let parts: Vec<&str> = file.path.split('/').collect();
            for dir in &parts[..parts.len() - 1] {
                parent.push_str(dir);
                parent.push('/');
                if dirs.insert(parent.clone()) {
                    let mut header = header(0o755, 0, tar::EntryType::Directory);
                    builder.append_data(&mut header, &parent, io::empty())?;
                }
            }
            let mut header = header(
                file.mode,
                file.contents.len() as u64,
                tar::EntryType::Regular,
            );
            builder.append_data(&mut header, &file.path, file.contents.as_slice())?;
        }
        builder.into_inner()
    }

    /// The layer as a gzipped tar, deterministic (no time or name in the gzip header).
    pub fn tar_gz(&self) -> io::Result<Vec<u8>> {
        gzip(&self.tar()?)
    }
}

fn header(mode: u32, size: u64, kind: tar::EntryType) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

fn gzip(bytes: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// The runtime settings of the image (the `config` part of an OCI image config).
#[derive(Debug, Clone)]
pub struct ImageConfig {
    /// `Entrypoint`, e.g. `["/service"]`.
    pub entrypoint: Vec<String>,
    /// `Cmd`: default arguments.
    pub cmd: Vec<String>,
    /// `Env`, `KEY=VALUE` each.
    pub env: Vec<String>,
    /// `ExposedPorts`, e.g. `8080/tcp`.
    pub exposed_ports: Vec<String>,
    /// `User`, e.g. `65532` (nonroot).
    pub user: Option<String>,
    /// `WorkingDir`.
    pub working_dir: Option<String>,
    /// `Labels`.
    pub labels: BTreeMap<String, String>,
    /// `os`; default `linux`.
    pub os: String,
    /// `architecture` in OCI terms (`amd64`, `arm64`); default: this machine's.
    pub architecture: String,
}

impl Default for ImageConfig {
    fn default() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Self {
            entrypoint: Vec::new(),
            cmd: Vec::new(),
            env: Vec::new(),
            exposed_ports: Vec::new(),
            user: None,
            working_dir: None,
            labels: BTreeMap::new(),
            os: "linux".to_owned(),
            architecture: architecture.to_owned(),
        }
    }
}

/// What [`write_image`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenImage {
    /// Digest of the image manifest: what the registry will call the image.
    pub manifest_digest: Digest,
    /// Digest of the config blob.
    pub config_digest: Digest,
    /// Digests of the gzipped layers, in order.
    pub layer_digests: Vec<Digest>,
}

/// Writes an OCI layout at `dir` (created if missing; an existing `index.json` is
/// replaced) holding one image made of `layers` and `config`, named `tag` in
/// `index.json` if given. The same inputs always give the same digests.
pub fn write_image(
    dir: &Path,
    layers: &[LayerSpec],
    config: &ImageConfig,
    tag: Option<&str>,
) -> io::Result<WrittenImage> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let put = |bytes: &[u8]| -> io::Result<Digest> {
        let digest = Digest::of_bytes(bytes);
        std::fs::write(blobs.join(digest.hex()), bytes)?;
        Ok(digest)
    };

    let mut diff_ids = Vec::new();
    let mut layer_descriptors = Vec::new();
    let mut layer_digests = Vec::new();
    for layer in layers {
        let tar = layer.tar()?;
        diff_ids.push(Digest::of_bytes(&tar));
        let gz = gzip(&tar)?;
        let digest = put(&gz)?;
        layer_descriptors.push(
            json!({ "mediaType": media_type::OCI_LAYER_GZIP, "digest": digest, "size": gz.len() }),
        );
        layer_digests.push(digest);
    }

    let mut runtime = serde_json::Map::new();
    let mut set = |key: &str, value: serde_json::Value| {
        runtime.insert(key.to_owned(), value);
    };
    if !config.entrypoint.is_empty() {
        set("Entrypoint", json!(config.entrypoint));
    }
    if !config.cmd.is_empty() {
        set("Cmd", json!(config.cmd));
    }
    if !config.env.is_empty() {
        set("Env", json!(config.env));
    }
    if !config.exposed_ports.is_empty() {
        let ports: BTreeMap<&str, serde_json::Value> = config
            .exposed_ports
            .iter()
            .map(|p| (p.as_str(), json!({})))
            .collect();
        set("ExposedPorts", json!(ports));
    }
    if let Some(user) = &config.user {
        set("User", json!(user));
    }
    if let Some(dir) = &config.working_dir {
        set("WorkingDir", json!(dir));
    }
    if !config.labels.is_empty() {
        set("Labels", json!(config.labels));
    }
    let config_json = json!({
        "architecture": config.architecture,
        "os": config.os,
        "config": runtime,
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config_bytes = serde_json::to_vec(&config_json)?;
    let config_digest = put(&config_bytes)?;

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": media_type::OCI_MANIFEST,
        "config": { "mediaType": media_type::OCI_CONFIG, "digest": config_digest, "size": config_bytes.len() },
        "layers": layer_descriptors,
    });
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = put(&manifest_bytes)?;

    let mut descriptor = json!({ "mediaType": media_type::OCI_MANIFEST, "digest": manifest_digest, "size": manifest_bytes.len() });
    if let Some(tag) = tag {
        descriptor["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
    }
    let index = json!({ "schemaVersion": 2, "mediaType": media_type::OCI_INDEX, "manifests": [descriptor] });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(WrittenImage {
        manifest_digest,
        config_digest,
        layer_digests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::ImageSource;

    fn sample() -> (Vec<LayerSpec>, ImageConfig) {
        let layers = vec![
            LayerSpec {
                files: vec![FileEntry::new("/service", 0o755, b"#!binary".to_vec())],
            },
            LayerSpec {
                files: vec![FileEntry::new(
                    "etc/app/config.yaml",
                    0o644,
                    b"port: 8080\n".to_vec(),
                )],
            },
        ];
        let config = ImageConfig {
            entrypoint: vec!["/service".into()],
            user: Some("65532".into()),
            ..ImageConfig::default()
        };
        (layers, config)
    }

    #[test]
    fn the_same_inputs_give_the_same_digests() {
        let (layers, config) = sample();
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = write_image(a.path(), &layers, &config, Some("v1")).unwrap();
        let second = write_image(b.path(), &layers, &config, Some("v1")).unwrap();
        assert_eq!(first.manifest_digest, second.manifest_digest);
        assert_eq!(first.layer_digests.len(), 2);
    }

    #[test]
    fn a_written_layout_reads_back_with_all_its_blobs() {
        let (layers, config) = sample();
        let dir = tempfile::tempdir().unwrap();
        let written = write_image(dir.path(), &layers, &config, Some("v1")).unwrap();
        let image = ImageSource::open(&format!("oci:{}:v1", dir.path().display())).unwrap();
        assert_eq!(image.root().digest, written.manifest_digest);
        let blob_digests: Vec<_> = image.blobs.iter().map(|b| b.digest.clone()).collect();
        assert_eq!(blob_digests[0], written.config_digest);
        assert_eq!(&blob_digests[1..], written.layer_digests.as_slice());
    }

    #[test]
    fn layer_tar_has_parent_directories_and_modes() {
        let layer = LayerSpec {
            files: vec![FileEntry::new("etc/app/x", 0o600, b"x".to_vec())],
        };
        let tar = layer.tar().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![
                ("etc/".into(), 0o755),
                ("etc/app/".into(), 0o755),
                ("etc/app/x".into(), 0o600)
            ]
        );
    }
}
