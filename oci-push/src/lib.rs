//! Gets a container image from disk into an OCI distribution registry, without a
//! container engine.
//!
//! - [`ImageSource::open`] reads an image in one of skopeo's transports: `oci:DIR[:TAG]`,
//!   `oci-archive:FILE` or `docker-archive:FILE`, checking every manifest and config
//!   against its digest.
//! - [`Registry`] speaks the registry HTTP API: blob HEAD, upload, manifest HEAD/GET/PUT,
//!   with retries on 5xx, 429, timeouts and connection errors, time limits and the
//!   proxy from the environment ([`ClientOptions`]).
//! - [`push_image`] puts the two together: uploads only the blobs the registry lacks, a
//!   few at a time, then the manifests, and never moves an existing tag.
//! - [`layout::write_image`] writes an OCI layout from in-memory files, for tests and for
//!   packaging a static binary as an image.

//!
//! Inside: `transport` (HTTP client, auth, time limits), `retry` and `proxy` (how a
//! connection is opened) carry the requests `blobs` and `manifests` make; `source`
//! reads images from disk; `push` orders the work.
//!
//! Manifest and descriptor types: we read the few fields we need with small serde
//! structs (`source/layout_reader.rs`, `source/docker_archive.rs`) and push the
//! manifests' exact bytes, never re-serialised (the digest covers the bytes). The
//! `oci-spec` crate (0.9) was considered: its complete image/distribution/runtime
//! types would replace about forty lines of structs, but bring `derive_builder`,
//! `getset`, `strum`/`strum_macros`, `const_format` and `regex` (its published
//! dependency list; proc-macro crates are what make a cold build slow), and tempt us to
//! re-serialise documents whose bytes must not change. Not adopted.

mod blobs;
mod digest;
mod error;
pub mod layout;
mod manifests;
mod media_type;
mod progress;
mod proxy;
mod push;
mod redirect;
mod retry;
mod source;
#[cfg(feature = "test-support")]
pub mod test_support;
mod transport;

pub use digest::Digest;
pub use error::{Error, Result, TimeoutKind};
pub use progress::{BlobOutcome, NoProgress, Progress};
pub use proxy::ProxyConfig;
pub use push::{PushOptions, PushReport, push_image};
pub use retry::RetryPolicy;
pub use source::{Blob, ImageSource, Manifest};
pub use transport::{ClientOptions, Credentials, Registry, USER_AGENT_PRODUCT};
