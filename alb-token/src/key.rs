//! The P-256 public keys the ALB key endpoint serves as PEM.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey};
use base64::Engine;

use crate::TokenError;

/// DER prefix of a SubjectPublicKeyInfo for an uncompressed P-256 point:
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }.
pub(crate) const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A P-256 public key, parsed once so each verification skips key decoding.
#[derive(Clone)]
pub struct PublicKey {
    key: ParsedPublicKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(P-256)")
    }
}

impl PublicKey {
    /// Reads a `-----BEGIN PUBLIC KEY-----` PEM holding a P-256 SubjectPublicKeyInfo with
    /// an uncompressed point, as `https://public-keys.auth.elb.REGION.amazonaws.com/KID`
    /// serves it.
    pub fn from_pem(pem: &str) -> Result<Self, TokenError> {
        let body = pem
            .trim()
            .strip_prefix("-----BEGIN PUBLIC KEY-----")
            .and_then(|rest| rest.strip_suffix("-----END PUBLIC KEY-----"))
            .ok_or(TokenError::PublicKey("missing BEGIN/END PUBLIC KEY lines"))?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| TokenError::PublicKey("body is not base64"))?;
        Self::from_spki_der(&der)
    }

    /// Reads a DER SubjectPublicKeyInfo for a P-256 key (uncompressed point).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, TokenError> {
        let point = der
            .strip_prefix(&P256_SPKI_PREFIX[..])
            .filter(|point| point.len() == 65 && point[0] == 0x04)
            .ok_or(TokenError::PublicKey(
                "not a P-256 key with an uncompressed point",
            ))?;
        let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .map_err(|_| TokenError::PublicKey("point is not on the P-256 curve"))?;
        Ok(Self { key })
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), TokenError> {
        self.key
            .verify_sig(message, signature)
            .map_err(|_| TokenError::BadSignature)
    }
}
