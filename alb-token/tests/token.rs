//! Round trips and every rejection of the token format, with freshly generated keys.

use alb_token::{
    AlbHeader, MAX_TOKEN_LEN, PublicKey, Segment, SigningKey, TokenError, decode_segment,
    encode_segment, parse, sign, sign_unpadded,
};
use serde_json::json;

const KID: &str = "8e5f3d1c-2b4a-4f6e-9d8c-7b6a5f4e3d2c";

fn header() -> AlbHeader {
    AlbHeader {
        alg: "ES256".into(),
        kid: KID.into(),
        signer: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/abc"
            .into(),
        iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example".into(),
        client: "client123".into(),
        exp: 4_102_444_800,
        typ: Some("JWT".into()),
    }
}

fn claims() -> serde_json::Value {
    // Odd lengths make sure the padded form actually carries `=`.
    json!({"sub": "a1b2", "username": "alice", "email_verified": "true", "exp": 4_102_444_800_i64})
}

fn key_pair() -> (SigningKey, PublicKey) {
    let signing = SigningKey::generate();
    let public = PublicKey::from_pem(&signing.public_key_pem()).expect("own PEM parses");
    (signing, public)
}

/// Re-encodes one segment of a token, keeping the others byte for byte.
fn replace_segment(token: &str, index: usize, bytes: &[u8]) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[index] = encode_segment(bytes);
    parts.join(".")
}

#[test]
fn padded_token_round_trips() {
    let (signing, public) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    assert!(token.contains('='), "ALB form is padded: {token}");
    let parsed = parse(&token).unwrap();
    assert_eq!(parsed.header, header());
    let claims: serde_json::Value = serde_json::from_slice(parsed.claims()).unwrap();
    assert_eq!(claims["username"], "alice");
    parsed.verify_signature(&public).unwrap();
}

#[test]
fn unpadded_token_round_trips() {
    let (signing, public) = key_pair();
    let token = sign_unpadded(&header(), &claims(), &signing);
    assert!(!token.contains('='));
    parse(&token).unwrap().verify_signature(&public).unwrap();
}

#[test]
fn another_key_does_not_verify() {
    let (signing, _) = key_pair();
    let (_, other) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    assert_eq!(
        parse(&token).unwrap().verify_signature(&other),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn tampered_header_payload_or_signature_is_rejected() {
    let (signing, public) = key_pair();
    let token = sign(&header(), &claims(), &signing);

    let mut h = header();
    h.client = "someone-else".into();
    let bad_header = replace_segment(&token, 0, &serde_json::to_vec(&h).unwrap());
    let bad_payload = replace_segment(&token, 1, br#"{"sub":"a1b2","username":"mallory"}"#);
    let mut sig = decode_segment(token.split('.').nth(2).unwrap()).unwrap();
    sig[10] ^= 1;
    let bad_signature = replace_segment(&token, 2, &sig);

    for tampered in [bad_header, bad_payload, bad_signature] {
        assert_eq!(
            parse(&tampered).unwrap().verify_signature(&public),
            Err(TokenError::BadSignature)
        );
    }
}

#[test]
fn signature_covers_segments_as_received_so_stripping_padding_fails() {
    let (signing, public) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    let stripped: Vec<&str> = token.split('.').map(|s| s.trim_end_matches('=')).collect();
    assert_ne!(stripped.join("."), token, "test needs padding to strip");
    let stripped = stripped.join(".");
    let parsed = parse(&stripped).expect("unpadded segments still parse");
    assert_eq!(
        parsed.verify_signature(&public),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn too_large_token_is_rejected_before_decoding() {
    let token = "a".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(
        parse(&token).unwrap_err(),
        TokenError::TooLarge {
            len: MAX_TOKEN_LEN + 1,
            limit: MAX_TOKEN_LEN
        }
    );
}

#[test]
fn wrong_segment_count_is_rejected() {
    assert_eq!(parse("abc").unwrap_err(), TokenError::SegmentCount(1));
    assert_eq!(parse("a.b").unwrap_err(), TokenError::SegmentCount(2));
    assert_eq!(parse("a.b.c.d").unwrap_err(), TokenError::SegmentCount(4));
    assert_eq!(parse("").unwrap_err(), TokenError::SegmentCount(1));
}

#[test]
fn non_base64_segments_are_rejected_naming_the_segment() {
    let (signing, _) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        (format!("h!.{}.{}", parts[1], parts[2]), Segment::Header),
        (format!("{}.p!.{}", parts[0], parts[2]), Segment::Payload),
        (format!("{}.{}.s!", parts[0], parts[1]), Segment::Signature),
    ];
    for (token, segment) in cases {
        assert_eq!(parse(&token).unwrap_err(), TokenError::Base64(segment));
    }
}

#[test]
fn header_that_is_not_the_alb_json_is_rejected() {
    let (signing, _) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    for bad in [&b"not json"[..], b"[1,2]", br#"{"alg":"ES256","kid":"x"}"#] {
        let err = parse(&replace_segment(&token, 0, bad)).unwrap_err();
        assert!(matches!(err, TokenError::Header(_)), "{err:?}");
    }
}

#[test]
fn algorithms_other_than_es256_are_rejected() {
    let (signing, _) = key_pair();
    for alg in ["none", "HS256", "RS256", "es256", "ES384"] {
        let mut h = header();
        h.alg = alg.into();
        let token = sign(&h, &claims(), &signing);
        assert_eq!(
            parse(&token).unwrap_err(),
            TokenError::Algorithm(alg.into())
        );
    }
}

#[test]
fn kid_that_is_not_a_uuid_is_rejected() {
    let (signing, _) = key_pair();
    for kid in [
        "",
        "key-1",
        "../8e5f3d1c-2b4a-4f6e-9d8c-7b6a5f4e3d",
        "8e5f3d1c2b4a4f6e9d8c7b6a5f4e3d2c",
    ] {
        let mut h = header();
        h.kid = kid.into();
        assert_eq!(
            parse(&sign(&h, &claims(), &signing)).unwrap_err(),
            TokenError::KeyId
        );
    }
}

#[test]
fn signature_of_the_wrong_length_is_rejected() {
    let (signing, _) = key_pair();
    let token = sign(&header(), &claims(), &signing);
    for len in [0, 63, 65, 72] {
        assert_eq!(
            parse(&replace_segment(&token, 2, &vec![7; len])).unwrap_err(),
            TokenError::SignatureLength(len)
        );
    }
}

#[test]
fn errors_never_echo_the_token() {
    let (signing, _) = key_pair();
    let mut h = header();
    h.alg = "A".repeat(500);
    let token = sign(&h, &claims(), &signing);
    let message = parse(&token).unwrap_err().to_string();
    assert!(message.len() < 100, "{message}");
    assert!(!message.contains(token.split('.').next().unwrap()));
}

#[test]
fn public_key_pem_must_be_p256_spki() {
    let (signing, _) = key_pair();
    let pem = signing.public_key_pem();
    assert!(PublicKey::from_pem(&pem).is_ok());
    assert!(PublicKey::from_pem("hello").is_err());
    assert!(
        PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----").is_err()
    );
    // A point that is not on the curve.
    let mut der = decode_pem_body(&pem);
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(
        PublicKey::from_spki_der(&der).unwrap_err(),
        TokenError::PublicKey("point is not on the P-256 curve")
    );
    // Wrong curve OID (P-384's prefix differs), simulated by flipping the OID.
    let mut der = decode_pem_body(&pem);
    der[20] ^= 1;
    assert!(PublicKey::from_spki_der(&der).is_err());
}

#[test]
fn signing_key_survives_pkcs8_round_trip() {
    let (signing, public) = key_pair();
    let again = SigningKey::from_pkcs8_der(&signing.to_pkcs8_der()).unwrap();
    assert_eq!(again.public_key_pem(), signing.public_key_pem());
    let token = sign(&header(), &claims(), &again);
    parse(&token).unwrap().verify_signature(&public).unwrap();
}

fn decode_pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // Standard base64 of a 91-byte DER: convert to the URL alphabet for our decoder.
    decode_segment(&body.replace('+', "-").replace('/', "_")).unwrap()
}
