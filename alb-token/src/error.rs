//! Why a token was refused. Variants name what was wrong and never carry the raw token.

/// Which of the three dot-separated parts of a token an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The first part: the JOSE header.
    Header,
    /// The second part: the claims.
    Payload,
    /// The third part: the signature.
    Signature,
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Payload => "payload",
            Segment::Signature => "signature",
        })
    }
}

/// Everything that can be wrong with a token or a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The token is longer than [`crate::MAX_TOKEN_LEN`].
    #[error("token is {len} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Length of the token received.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The token does not have exactly three dot-separated segments.
    #[error("token has {0} dot-separated segments, expected 3 (header.payload.signature)")]
    SegmentCount(usize),
    /// A segment is not base64url (padded or unpadded).
    #[error("token {0} segment is not base64url")]
    Base64(Segment),
    /// The header is not a JSON object with the ALB fields.
    #[error("token header is not the ALB JSON header: {0}")]
    Header(String),
    /// The header's `alg` is not `ES256`, the only algorithm the ALB uses.
    #[error("token alg is {0:?}, only ES256 is accepted")]
    Algorithm(String),
    /// The header's `kid` is not a UUID (it becomes part of the key URL, so it is checked).
    #[error("token kid is not a UUID")]
    KeyId,
    /// The signature does not decode to the 64 bytes r‖s of ES256.
    #[error("token signature is {0} bytes, ES256 needs 64 (r||s)")]
    SignatureLength(usize),
    /// The signature does not match the header and payload under the given key.
    #[error("token signature does not verify with the key for its kid")]
    BadSignature,
    /// The public key is not a P-256 SubjectPublicKeyInfo PEM.
    #[error("public key is not a P-256 PEM (SubjectPublicKeyInfo): {0}")]
    PublicKey(&'static str),
}

/// Cuts attacker-chosen text down to a size that is safe to put in an error or a log line.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
