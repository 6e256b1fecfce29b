//! The crate's one error type. Each variant is one thing that can go wrong, with the
//! facts a caller may want to act on as fields; its message names the input or the
//! registry request that failed and, where we know it, what to do about it.

use std::time::Duration;

/// Why reading or pushing an image failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The image reference cannot be used as written (no or unknown transport, …).
    #[error(
        "bad image reference `{reference}`: {reason}; {}",
        crate::source::ACCEPTED_FORMS
    )]
    BadReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A file the reference names cannot be opened or read.
    #[error("cannot {action}: {source}")]
    Unreadable {
        /// What we tried, naming the file, e.g. "open image archive `x.tar`".
        action: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The files are readable but do not hold an image we can push (not a layout, no
    /// such tag, invalid JSON, missing blob, …).
    #[error("{0}")]
    InvalidImage(String),

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

    /// The registry URL cannot be used.
    #[error(
        "registry URL `{url}` is not valid; expected e.g. \
         `https://123456789012.dkr.ecr.eu-west-1.amazonaws.com` or `http://127.0.0.1:5000`"
    )]
    InvalidRegistryUrl {
        /// The URL as given.
        url: String,
    },

    /// The proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`) cannot be used.
    #[error("cannot reach registry {registry} through proxy `{proxy}`: {reason}")]
    Proxy {
        /// The registry host.
        registry: String,
        /// The proxy, without credentials.
        proxy: String,
        /// Why not.
        reason: String,
    },

    /// The TLS setup failed (no usable crypto provider).
    #[error("cannot set up TLS for the registry client: {0}")]
    Tls(String),

    /// 401: the registry did not accept the credentials at all. For ECR this is a
    /// malformed or expired token, or one for another account or region.
    #[error(
        "the registry refused the login token (401 Unauthorized on {request}{}): \
         the token is invalid or expired, or belongs to another registry. An ECR token lasts 12 hours \
         and is valid only for the account and region it was issued for: run the push again to get \
         a fresh one, with credentials for the registry's account",
        detail(None, message)
    )]
    Unauthorized {
        /// `METHOD URL` (no query) of the refused request.
        request: String,
        /// The registry's explanation, if any.
        message: String,
    },

    /// 403 saying the token has expired (ECR: `DENIED: Your authorization token has
    /// expired. Reauthenticate and try again.`).
    #[error(
        "the registry login token has expired (403 on {request}{}). An ECR token \
         lasts 12 hours from GetAuthorizationToken: run the push again to get a fresh one",
        detail(None, message)
    )]
    TokenExpired {
        /// `METHOD URL` (no query) of the refused request.
        request: String,
        /// The registry's explanation.
        message: String,
    },

    /// 403 for a valid login: the identity lacks a permission on the repository.
    #[error(
        "the registry denied {request} (403{}): the login is valid but this identity lacks a \
         permission. For ECR, grant ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, \
         ecr:UploadLayerPart, ecr:CompleteLayerUpload, ecr:BatchGetImage and ecr:PutImage on the \
         repository (and ecr:GetAuthorizationToken on `*`)",
        detail(code.as_deref(), message)
    )]
    Denied {
        /// `METHOD URL` (no query) of the refused request.
        request: String,
        /// The registry's error code (`DENIED`), if it sent one.
        code: Option<String>,
        /// The registry's explanation (ECR names the missing action).
        message: String,
    },

    /// 415 on a manifest PUT: the registry does not take this kind of manifest.
    #[error(
        "the registry does not accept a manifest of type `{media_type}` ({request} answered {status}{}); \
         push a single-platform image, or use a registry that supports this media type",
        detail(code.as_deref(), message)
    )]
    UnsupportedMediaType {
        /// `METHOD URL` (no query) of the refused request.
        request: String,
        /// The manifest's media type.
        media_type: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error code, if any.
        code: Option<String>,
        /// The registry's explanation, if any.
        message: String,
    },

    /// Any other error answer (after retries, for 5xx and 429).
    #[error(
        "{what} failed{}: {request} answered {status}{}{}",
        after_attempts(*attempts),
        detail(code.as_deref(), message),
        status_hint(*status, code.as_deref())
    )]
    Registry {
        /// What we were doing, e.g. "uploading blob sha256:0123456789ab".
        what: String,
        /// `METHOD URL` (no query) of the request.
        request: String,
        /// The HTTP status.
        status: u16,
        /// The registry's error code (`NAME_UNKNOWN`, `BLOB_UPLOAD_INVALID`, …), if any.
        code: Option<String>,
        /// The registry's explanation, if any.
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// A request got no answer in time (after retries).
    #[error(
        "{what} failed{}: {request} timed out: {kind} of {}; \
         check the network (and HTTPS_PROXY/NO_PROXY), or raise the timeout",
        after_attempts(*attempts),
        seconds(*after)
    )]
    Timeout {
        /// What we were doing.
        what: String,
        /// `METHOD URL` (no query) of the request.
        request: String,
        /// Which limit was hit.
        kind: TimeoutKind,
        /// The limit.
        after: Duration,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The registry could not be reached, or the connection broke (after retries).
    #[error(
        "{what} failed{}: {request}: {cause}; check the registry URL, \
         the network and HTTPS_PROXY/NO_PROXY",
        after_attempts(*attempts)
    )]
    Unreachable {
        /// What we were doing.
        what: String,
        /// `METHOD URL` (no query) of the request.
        request: String,
        /// The connection error and its causes.
        cause: String,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The registry answered something the protocol does not allow (no `Location` on
    /// an upload, a manifest stored under another digest, …).
    #[error("registry {registry}: {problem}")]
    Protocol {
        /// The registry host.
        registry: String,
        /// What was wrong.
        problem: String,
    },

    /// The whole push took longer than its deadline.
    #[error(
        "the push to {registry} did not finish within its deadline of {} ({blobs_done} of {blobs_total} \
         blobs done); check the network, or raise the push deadline; running the push again \
         skips the blobs already uploaded",
        seconds(*deadline)
    )]
    DeadlineExceeded {
        /// The registry host.
        registry: String,
        /// The deadline.
        deadline: Duration,
        /// Blobs checked or uploaded before it passed.
        blobs_done: usize,
        /// Blobs in the image.
        blobs_total: usize,
    },
}

/// Which time limit a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening the connection (TCP, and the proxy's CONNECT) took too long.
    Connect,
    /// Nothing moved on the connection for too long (a stalled registry or network).
    Idle,
    /// The whole request took too long.
    Request,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "no connection within the connect timeout",
            TimeoutKind::Idle => "no progress (nothing sent or received) within the idle timeout",
            TimeoutKind::Request => "no complete answer within the request timeout",
        })
    }
}

impl Error {
    /// Whether the failure is the input's fault (bad reference, unreadable or corrupt
    /// image, bad registry URL) rather than the registry's.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            Error::BadReference { .. }
                | Error::Unreadable { .. }
                | Error::InvalidImage(_)
                | Error::CorruptBlob { .. }
                | Error::InvalidRegistryUrl { .. }
        )
    }
}

/// `: CODE: message` (or less), from what the registry said.
fn detail(code: Option<&str>, message: &str) -> String {
    match (code, message.is_empty()) {
        (Some(code), false) => format!(": {code}: {message}"),
        (Some(code), true) => format!(": {code}"),
        (None, false) => format!(": {message}"),
        (None, true) => String::new(),
    }
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// What to do about the common refusals that have no variant of their own.
fn status_hint(status: u16, code: Option<&str>) -> &'static str {
    match (status, code) {
        (404, Some("NAME_UNKNOWN")) | (404, None) => {
            "; the repository does not exist on this registry: create it first, or check its name"
        }
        (429, _) => "; the registry is throttling requests: wait a little and run the push again",
        (500..=599, _) => "; the registry is failing: run the push again later",
        _ => "",
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    /// Callers' `Result<_, Error>`s stay small (clippy's `result_large_err` is 128).
    #[test]
    fn the_error_stays_small() {
        assert!(
            size_of::<super::Error>() < 128,
            "{}",
            size_of::<super::Error>()
        );
    }
}
