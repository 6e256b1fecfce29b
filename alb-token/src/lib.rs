//! The identity token an AWS Application Load Balancer forwards in `x-amzn-oidc-data`
//! after a Cognito/OIDC login: parsing, signature verification and (feature `sign`)
//! signing. This crate is the one implementation of that format in the project; the
//! service verifies with it and the local login emulator signs with it.
//!
//! The format is a JWT (ES256) with two quirks standard JWT libraries reject:
//! - segments are base64url **with `=` padding**;
//! - the header carries ALB fields (`signer`, `client`, `exp`) and the `kid` names a
//!   PEM at `https://public-keys.auth.elb.REGION.amazonaws.com/KID`.
//!
//! The signature covers `header.payload` **exactly as received**, so the segments are
//! never re-encoded before verifying.
//!
//! Policy that needs configuration (which `signer` ARNs, `client`, `iss`, `exp`, `sub`)
//! belongs to the caller, not to this crate.
//!
//! Crypto: ES256 with `aws-lc-rs`, picked by measuring (`examples/verify_throughput.rs`,
//! numbers in BENCHMARKS.md): on the build machine aws-lc-rs and ring verify at the same
//! speed (within noise, about OpenSSL's), pure-Rust `p256` is 3.5-4.5x slower. Every
//! request carries a fresh token, so verify speed is the service's throughput ceiling,
//! which rules out `p256`; between the two equals, aws-lc-rs is what rustls and the AWS
//! SDK already use here, so it adds no second crypto library to the binary, and it
//! builds into a static (`+crt-static`) binary.

mod error;
mod header;
mod key;
mod segment;
#[cfg(feature = "sign")]
mod sign;
mod time;
mod token;

pub use error::{Segment, TokenError};
pub use header::AlbHeader;
pub use key::PublicKey;
pub use segment::{decode_segment, encode_segment, encode_segment_unpadded};
#[cfg(feature = "sign")]
pub use sign::{SigningKey, sign, sign_unpadded};
pub use time::unix_now;
pub use token::{MAX_TOKEN_LEN, UnverifiedToken, parse};
