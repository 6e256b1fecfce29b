//! Progress reporting: the pusher calls these hooks; the caller decides how to show them
//! (a live line on a terminal, one line per blob in CI, nothing in tests).

use std::time::Duration;

use crate::digest::Digest;

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobOutcome {
    /// The registry already had it; nothing was sent.
    Skipped,
    /// It was uploaded; `bytes` were sent in the successful attempt.
    Uploaded {
        /// Size of the blob.
        bytes: u64,
    },
}

/// Hooks called during a push. They may be called from several tasks at once, so
/// implementations must be `Send + Sync`. Every method has a do-nothing default.
pub trait Progress: Send + Sync {
    /// The push is about to look at `count` blobs totalling `bytes`.
    fn start(&self, _count: usize, _bytes: u64) {}
    /// An upload of `digest` (of `size` bytes) starts (again, after a retry).
    fn blob_started(&self, _digest: &Digest, _size: u64) {}
    /// `n` more bytes of `digest` were handed to the connection.
    fn blob_bytes(&self, _digest: &Digest, _n: u64) {}
    /// `digest` is done.
    fn blob_finished(&self, _digest: &Digest, _outcome: BlobOutcome, _elapsed: Duration) {}
    /// A request failed and will be retried after `delay`.
    fn retrying(&self, _what: &str, _error: &str, _delay: Duration) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
