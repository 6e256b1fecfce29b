//! How much of an image is ever read into memory, and reading within that.
//!
//! Everything else (layers) is streamed from disk. The sizes come from the files: a
//! directory's metadata or, in an archive, the size field of a tar header, which anyone
//! who crafts the archive can set to a terabyte. So every in-memory read is checked
//! against a cap *before* anything is allocated, and reads no more than the cap even if
//! the file grows meanwhile.
//!
//! The caps are containers/image's (the library behind skopeo, whose transports we
//! read), `pkg/iolimits`: `MaxManifestBodySize` 4 MiB (the same limit the reference
//! registry, distribution/distribution, puts on a manifest PUT), `MaxConfigBodySize`
//! 4 MiB and `MaxTarFileManifestSize` 1 MiB for a `docker save` `manifest.json`. An
//! image over them could not be pulled by skopeo, podman or a distribution registry
//! anyway.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use super::layout_reader::FileRef;
use crate::error::{Error, Result};

/// What a small file is, for its cap and the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Small {
    /// `index.json`, an image index or an image manifest.
    Manifest,
    /// An image config blob.
    Config,
    /// A `docker save` archive's `manifest.json`.
    SaveManifest,
}

impl Small {
    /// The most bytes we read of it.
    pub(super) const fn cap(self) -> u64 {
        match self {
            Small::Manifest | Small::Config => 4 * 1024 * 1024,
            Small::SaveManifest => 1024 * 1024,
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Small::Manifest => "a manifest or index",
            Small::Config => "an image config",
            Small::SaveManifest => "a `docker save` manifest.json",
        }
    }
}

/// Reads a small file (index, manifest, config) whole, refusing one whose size is over
/// `kind`'s cap before allocating anything for it.
pub(super) fn read_small(file: &FileRef, what: &str, layout: &str, kind: Small) -> Result<Vec<u8>> {
    let cap = kind.cap();
    if file.size > cap {
        return Err(Error::InvalidImage(format!(
            "{layout}: `{what}` claims {} bytes in {}, over the {} MiB limit for {} \
             (containers/image and registries refuse larger ones): the file is not an image, \
             or the archive is damaged or crafted; rebuild or re-export the image",
            file.size,
            file.describe(),
            cap / (1024 * 1024),
            kind.kind(),
        )));
    }
    let read = || -> std::io::Result<Vec<u8>> {
        let mut f = File::open(&file.path)?;
        f.seek(SeekFrom::Start(file.offset))?;
        // `size <= cap` here, so this allocation is bounded too.
        let mut buf = Vec::with_capacity(file.size as usize);
        f.take(file.size).read_to_end(&mut buf)?;
        Ok(buf)
    };
    let buf = read().map_err(|source| Error::Unreadable {
        action: format!("read `{what}` of {layout} from {}", file.describe()),
        source,
    })?;
    if buf.len() as u64 != file.size {
        return Err(Error::InvalidImage(format!(
            "{layout}: `{what}` is truncated in {}",
            file.describe()
        )));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_claiming_a_terabyte_is_refused_before_any_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, b"{}").unwrap();
        // The header says a terabyte; the file holds two bytes. Allocating first would
        // abort the process (or, with overcommit, take the machine's memory).
        let file = FileRef {
            path,
            offset: 0,
            size: 1 << 40,
        };
        for kind in [Small::Manifest, Small::Config, Small::SaveManifest] {
            let err = read_small(&file, "index.json", "image archive `x.tar`", kind).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::InvalidImage(_)), "{text}");
            assert!(
                text.contains("`index.json` claims 1099511627776 bytes")
                    && text.contains(&format!("{} MiB limit", kind.cap() >> 20)),
                "{text}"
            );
        }
    }

    #[test]
    fn a_file_at_the_cap_is_read_and_one_byte_over_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let cap = Small::SaveManifest.cap();
        std::fs::write(&path, vec![b' '; cap as usize + 1]).unwrap();
        let at = FileRef {
            path: path.clone(),
            offset: 1,
            size: cap,
        };
        assert_eq!(
            read_small(&at, "manifest.json", "x", Small::SaveManifest)
                .unwrap()
                .len() as u64,
            cap
        );
        let over = FileRef {
            path,
            offset: 0,
            size: cap + 1,
        };
        assert!(read_small(&over, "manifest.json", "x", Small::SaveManifest).is_err());
    }
}
