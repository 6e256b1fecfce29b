//! Files inside an uncompressed tar, found by one pass over its headers (seeking past
//! the data), so blobs can later be read in place at their offsets.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::layout_reader::{FileRef, LayoutFiles};
use crate::error::{Error, Result};

/// The regular files of a tar archive, by normalised path.
pub(super) struct ArchiveFiles {
    path: PathBuf,
    entries: HashMap<String, (u64, u64)>,
}

impl ArchiveFiles {
    /// Indexes the archive at `path`.
    pub fn scan(path: &Path) -> Result<Self> {
        let shown = path.display();
        let mut file = File::open(path).map_err(|source| Error::Unreadable {
            action: format!("open image archive `{shown}`"),
            source,
        })?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(|source| Error::Unreadable {
            action: format!("read image archive `{shown}`"),
            source,
        })?;
        if n == 2 && magic == [0x1f, 0x8b] {
            return Err(Error::InvalidImage(format!(
                "image archive `{shown}` is gzip-compressed; decompress it first (`gunzip -k {shown}`)"
            )));
        }
        let file = File::open(path).map_err(|source| Error::Unreadable {
            action: format!("open image archive `{shown}`"),
            source,
        })?;
        let bad = |e: std::io::Error| {
            Error::InvalidImage(format!(
                "image archive `{shown}` is not a readable tar: {e}"
            ))
        };

        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut entries = HashMap::new();
        let mut links = Vec::new();
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let name = normalise(&entry.path().map_err(bad)?.to_string_lossy());
            let kind = entry.header().entry_type();
            if kind.is_file() {
                entries.insert(name, (entry.raw_file_position(), entry.size()));
            } else if kind.is_symlink() || kind.is_hard_link() {
                // `docker save` links duplicate layers to the first copy.
                if let Some(target) = entry.link_name().map_err(bad)? {
                    let target = target.to_string_lossy().into_owned();
                    let resolved = if kind.is_symlink() {
                        resolve_relative(&name, &target)
                    } else {
                        normalise(&target)
                    };
                    links.push((name, resolved));
                }
            }
        }
        for (name, target) in links {
            if let Some(found) = entries.get(&target).copied() {
                entries.insert(name, found);
            }
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }
}

impl LayoutFiles for ArchiveFiles {
    fn describe(&self) -> String {
        format!("image archive `{}`", self.path.display())
    }
    fn find(&self, name: &str) -> Option<FileRef> {
        let &(offset, size) = self.entries.get(&normalise(name))?;
        Some(FileRef {
            path: self.path.clone(),
            offset,
            size,
        })
    }
}

/// `./a//b/` → `a/b`.
fn normalise(name: &str) -> String {
    name.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Resolves a symlink target relative to the link's directory.
fn resolve_relative(link: &str, target: &str) -> String {
    if target.starts_with('/') {
        return normalise(target);
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_symlinks_resolved() {
        assert_eq!(normalise("./blobs//sha256/ab/"), "blobs/sha256/ab");
        assert_eq!(
            resolve_relative("b/layer.tar", "../a/layer.tar"),
            "a/layer.tar"
        );
        assert_eq!(
            resolve_relative("layer.tar", "blobs/sha256/x"),
            "blobs/sha256/x"
        );
    }
}
