//! Signing tokens the way the ALB does (feature `sign`): for the local login emulator
//! and for tests. The production service never signs.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;

use crate::key::P256_SPKI_PREFIX;
use crate::segment::{encode_segment, encode_segment_unpadded};
use crate::{AlbHeader, TokenError};

/// A P-256 private key that signs tokens.
pub struct SigningKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(P-256)")
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        // Only fails when the OS random source fails, which leaves nothing sensible to do.
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .expect("the operating system's random number generator failed");
        Self { pair }
    }

    /// Loads a key from PKCS#8 DER (as produced by [`to_pkcs8_der`](Self::to_pkcs8_der)).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, TokenError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|_| TokenError::PublicKey("not a PKCS#8 P-256 private key"))?;
        Ok(Self { pair })
    }

    /// The key as PKCS#8 DER, to keep it across restarts.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.pair
            .to_pkcs8v1()
            .expect("serialising an in-memory P-256 key cannot fail")
            .as_ref()
            .to_vec()
    }

    /// The public half as the PEM the ALB key endpoint serves.
    pub fn public_key_pem(&self) -> String {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.pair.public_key().as_ref());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .expect("ECDSA signing only fails when the random number generator fails")
            .as_ref()
            .to_vec()
    }
}

/// Signs `claims` under `header` in the ALB's form: every segment base64url with `=` padding.
pub fn sign(header: &AlbHeader, claims: &serde_json::Value, key: &SigningKey) -> String {
    sign_with(header, claims, key, encode_segment)
}

/// Signs like [`sign`] but without padding, the form of standard JWTs.
pub fn sign_unpadded(header: &AlbHeader, claims: &serde_json::Value, key: &SigningKey) -> String {
    sign_with(header, claims, key, encode_segment_unpadded)
}

fn sign_with(
    header: &AlbHeader,
    claims: &serde_json::Value,
    key: &SigningKey,
    encode: fn(&[u8]) -> String,
) -> String {
    let header_json = serde_json::to_vec(header).expect("a header struct always serialises");
    let claims_json = serde_json::to_vec(claims).expect("a JSON value always serialises");
    let signing_input = format!("{}.{}", encode(&header_json), encode(&claims_json));
    let signature = key.sign_bytes(signing_input.as_bytes());
    format!("{signing_input}.{}", encode(&signature))
}
