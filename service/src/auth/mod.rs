//! Who is signed in: the ALB's `x-amzn-oidc-data` token, verified. [`Identity`] is an
//! axum extractor, so a handler that takes it cannot run for an unauthenticated request.

mod identity;
mod keys;
mod rejection;
mod verifier;

pub use identity::Identity;
pub use keys::KeyError;
pub use rejection::AuthError;
pub use verifier::Verifier;

/// The only header that proves anything: the ALB-signed token. `x-amzn-oidc-identity`
/// and `x-amzn-oidc-accesstoken` are plain headers anyone can send if the ALB is bypassed.
pub const TOKEN_HEADER: &str = "x-amzn-oidc-data";

pub(crate) use identity::the_token;
pub(crate) use keys::KeyCache;
