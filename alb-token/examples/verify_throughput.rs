//! Measures ES256 verifications per second, one thread, for each candidate crypto crate
//! on the same ALB-form tokens: `cargo run --release -p alb-token --features
//! compare-backends --example verify_throughput [seconds-per-backend]`.
//! Result and the reasoning for the choice: BENCHMARKS.md, `alb-token/src/lib.rs`.

use std::time::{Duration, Instant};

use alb_token::{AlbHeader, PublicKey, SigningKey, parse, sign};

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let budget = Duration::from_secs_f64(seconds);
    let key = SigningKey::generate();
    let pem = key.public_key_pem();
    // Distinct tokens, as in production where every request carries a fresh one.
    let tokens: Vec<String> = (0..512)
        .map(|i| {
            let header = AlbHeader {
                alg: "ES256".into(),
                kid: "8e5f3d1c-2b4a-4f6e-9d8c-7b6a5f4e3d2c".into(),
                signer: "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/y".into(),
                iss: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example".into(),
                client: "client".into(),
                exp: 4_102_444_800 + i,
                typ: Some("JWT".into()),
            };
            sign(
                &header,
                &serde_json::json!({"sub": i, "username": format!("user{i}")}),
                &key,
            )
        })
        .collect();
    let parsed: Vec<_> = tokens.iter().map(|t| parse(t).unwrap()).collect();
    let messages: Vec<(&[u8], &[u8; 64])> = parsed
        .iter()
        .map(|p| (p.signing_input().as_bytes(), p.signature()))
        .collect();
    let spki = pem_body(&pem);
    let point = spki[26..].to_vec();

    let ours = PublicKey::from_pem(&pem).unwrap();
    report("alb-token (aws-lc-rs, parsed key)", budget, || {
        for p in &parsed {
            p.verify_signature(&ours).unwrap();
        }
        parsed.len()
    });
    report("parse + verify (alb-token, full token)", budget, || {
        for t in &tokens {
            parse(t).unwrap().verify_signature(&ours).unwrap();
        }
        tokens.len()
    });

    let aws_unparsed = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        &point,
    );
    report("aws-lc-rs (unparsed key each time)", budget, || {
        for (m, s) in &messages {
            aws_unparsed.verify(m, &s[..]).unwrap();
        }
        messages.len()
    });

    let ring_key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &point);
    report("ring 0.17", budget, || {
        for (m, s) in &messages {
            ring_key.verify(m, &s[..]).unwrap();
        }
        messages.len()
    });

    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    let p256_key = p256::ecdsa::VerifyingKey::from_public_key_pem(&pem).unwrap();
    let p256_sigs: Vec<p256::ecdsa::Signature> = messages
        .iter()
        .map(|(_, s)| p256::ecdsa::Signature::from_slice(&s[..]).unwrap())
        .collect();
    report("p256 0.13 (pure Rust)", budget, || {
        for ((m, _), s) in messages.iter().zip(&p256_sigs) {
            p256_key.verify(m, s).unwrap();
        }
        messages.len()
    });
}

fn report(name: &str, budget: Duration, mut batch: impl FnMut() -> usize) {
    batch(); // warm up
    let start = Instant::now();
    let mut done = 0;
    while start.elapsed() < budget {
        done += batch();
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();
    println!("{name:<42} {rate:>10.0} verifications/s (1 thread)");
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    alb_token::decode_segment(&body.replace('+', "-").replace('/', "_")).unwrap()
}
