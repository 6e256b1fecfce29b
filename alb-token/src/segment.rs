//! base64url segments: the ALB pads them with `=`, standard JWTs do not; accept both.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::TokenError;
use crate::error::Segment;

/// URL-safe alphabet; padding accepted when present and correct, and when absent.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes bytes as base64url **with** `=` padding, the form the ALB sends.
pub fn encode_segment(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// Encodes bytes as base64url without padding, the form of standard JWTs (RFC 7515).
pub fn encode_segment_unpadded(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a base64url segment, padded or unpadded.
pub fn decode_segment(s: &str) -> Result<Vec<u8>, TokenError> {
    decode(s, Segment::Payload)
}

pub(crate) fn decode(s: &str, which: Segment) -> Result<Vec<u8>, TokenError> {
    LENIENT.decode(s).map_err(|_| TokenError::Base64(which))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_and_unpadded_decode_to_the_same_bytes() {
        for len in 0..8 {
            let bytes: Vec<u8> = (0..len).map(|i| 250 - i).collect();
            let padded = encode_segment(&bytes);
            let unpadded = encode_segment_unpadded(&bytes);
            assert_eq!(padded.trim_end_matches('='), unpadded);
            assert_eq!(decode_segment(&padded).unwrap(), bytes);
            assert_eq!(decode_segment(&unpadded).unwrap(), bytes);
        }
    }

    #[test]
    fn standard_alphabet_and_garbage_are_rejected() {
        assert!(decode_segment("+/8=").is_err());
        assert!(decode_segment("ab$c").is_err());
        assert!(decode_segment("a").is_err());
    }
}
