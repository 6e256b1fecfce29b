//! The crate's one error type. Messages name the input or the registry request that
//! failed and, where we know it, what to do about it.

/// Why reading or pushing an image failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image reference, or the files it names, cannot be used (bad input).
    #[error("{0}")]
    Source(String),

    /// A blob's bytes do not hash to the digest it is stored under.
    #[error(
        "blob {digest} in {location} is corrupt: its content hashes to {actual}; \
         rebuild or re-export the image"
    )]
    CorruptBlob {
        /// The digest the image says the blob has.
        digest: String,
        /// Where the blob was read from.
        location: String,
        /// What its content really hashes to.
        actual: String,
    },

    /// The tag exists and names another image; we never move tags.
    #[error(
        "tag `{tag}` already points at {existing} in an immutable repository (this image is {new}); \
         use a new --tag (the default is the git commit SHA)"
    )]
    TagConflict {
        /// The tag asked for.
        tag: String,
        /// What the tag points at now.
        existing: String,
        /// The digest of the image being pushed.
        new: String,
    },

    /// The registry refused a request or could not be reached (after retries).
    #[error("{0}")]
    Registry(String),
}

impl Error {
    /// Whether the failure is the input's fault (bad reference, unreadable or corrupt
    /// image) rather than the registry's.
    pub fn is_input(&self) -> bool {
        matches!(self, Error::Source(_) | Error::CorruptBlob { .. })
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
