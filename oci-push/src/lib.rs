//! Gets a container image from disk into an OCI distribution registry, without a
//! container engine.
//!
//! - [`ImageSource::open`] reads an image in one of skopeo's transports: `oci:DIR[:TAG]`,
//!   `oci-archive:FILE` or `docker-archive:FILE`, checking every manifest and config
//!   against its digest.
//! - [`Registry`] speaks the registry HTTP API: blob HEAD, upload, manifest HEAD/GET/PUT,
//!   with retries on 5xx, 429 and connection errors.
//! - [`push_image`] puts the two together: uploads only the blobs the registry lacks, a
//!   few at a time, then the manifests, and never moves an existing tag.
//! - [`layout::write_image`] writes an OCI layout from in-memory files, for tests and for
//!   packaging a static binary as an image.

pub mod digest;
pub mod error;
pub mod layout;
pub mod media_type;
pub mod progress;
pub mod push;
pub mod registry;
pub mod source;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use digest::Digest;
pub use error::{Error, Result};
pub use progress::{BlobOutcome, NoProgress, Progress};
pub use push::{PushOptions, PushReport, push_image};
pub use registry::{Credentials, Registry, RetryPolicy};
pub use source::{Blob, ImageSource, Manifest};
