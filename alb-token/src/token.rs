//! Parsing a token into its parts, without network or crypto.

use crate::error::{Segment, clip};
use crate::segment::decode;
use crate::{AlbHeader, PublicKey, TokenError};

/// Longest token accepted, in bytes. ALB tokens are a few KiB; the cap bounds the work a
/// hostile header can cause before anything else is checked.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// A token whose structure and header have been checked but whose signature has not.
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    /// The decoded header.
    pub header: AlbHeader,
    claims: Vec<u8>,
    signature: [u8; 64],
    signing_input: &'a str,
}

/// Splits and decodes a token and checks its header: at most [`MAX_TOKEN_LEN`] bytes,
/// exactly three segments, header JSON with the ALB fields, `alg` = `ES256`, `kid` a UUID,
/// a 64-byte signature. The payload is only base64-decoded; its JSON is the caller's.
pub fn parse(token: &str) -> Result<UnverifiedToken<'_>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLarge {
            len: token.len(),
            limit: MAX_TOKEN_LEN,
        });
    }
    let segments = token.split('.').count();
    if segments != 3 {
        return Err(TokenError::SegmentCount(segments));
    }
    // Three segments means two dots: the signing input ends at the second one.
    let last_dot = token.rfind('.').unwrap_or_default();
    let (signing_input, signature_b64) = (&token[..last_dot], &token[last_dot + 1..]);
    let (header_b64, payload_b64) = signing_input.split_once('.').unwrap_or_default();

    let header_json = decode(header_b64, Segment::Header)?;
    let header: AlbHeader = serde_json::from_slice(&header_json)
        .map_err(|e| TokenError::Header(clip(&e.to_string())))?;
    if header.alg != "ES256" {
        return Err(TokenError::Algorithm(clip(&header.alg)));
    }
    if !is_uuid(&header.kid) {
        return Err(TokenError::KeyId);
    }
    let claims = decode(payload_b64, Segment::Payload)?;
    let signature_bytes = decode(signature_b64, Segment::Signature)?;
    let signature: [u8; 64] = signature_bytes
        .as_slice()
        .try_into()
        .map_err(|_| TokenError::SignatureLength(signature_bytes.len()))?;
    Ok(UnverifiedToken {
        header,
        claims,
        signature,
        signing_input,
    })
}

impl UnverifiedToken<'_> {
    /// The decoded payload (JSON claims), not yet trustworthy until
    /// [`verify_signature`](Self::verify_signature) succeeded.
    pub fn claims(&self) -> &[u8] {
        &self.claims
    }

    /// The ES256 signature, r‖s.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// `header.payload` exactly as received: the bytes the signature covers.
    pub fn signing_input(&self) -> &str {
        self.signing_input
    }

    /// Checks the ES256 signature over the segments exactly as received.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), TokenError> {
        key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

/// `8-4-4-4-12` hex digits, any case: what the ALB uses as `kid`. Keeping the kid to
/// this shape means it can be appended to the key URL without escaping.
fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0b0b2b5e-1c4f-4d7a-9f3e-5a6b7c8d9e0f"));
        assert!(is_uuid("0B0B2B5E-1C4F-4D7A-9F3E-5A6B7C8D9E0F"));
        assert!(!is_uuid("0b0b2b5e1c4f4d7a9f3e5a6b7c8d9e0f"));
        assert!(!is_uuid("0b0b2b5e-1c4f-4d7a-9f3e-5a6b7c8d9e0g"));
        assert!(!is_uuid("../../0b2b5e-1c4f-4d7a-9f3e-5a6b7c8d9e0f"));
        assert!(!is_uuid(""));
    }
}
