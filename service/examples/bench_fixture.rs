//! Benchmark fixture for `scripts/bench/service.sh`: generates a P-256 key, writes N
//! distinct valid ALB tokens (one per line) to a file, then serves the public key like
//! the ALB key endpoint on loopback until killed. Prints the settings to use:
//!
//! ```text
//! cargo run --release -p service --example bench_fixture -- TOKENS_FILE [N]
//! ALB_ARN=...
//! ALB_PUBLIC_KEYS_URL=http://127.0.0.1:PORT
//! OIDC_ISSUER=...
//! COGNITO_CLIENT_ID=...
//! ```

use std::io::Write;

use alb_token::{AlbHeader, SigningKey, sign};

const ALB_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/bench/0123456789abcdef";
const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Bench";
const CLIENT_ID: &str = "benchclient";
const KID: &str = "0b0b2b5e-1c4f-4d7a-9f3e-5a6b7c8d9e0f";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_fixture TOKENS_FILE [N]");
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let key = SigningKey::generate();
    // As far ahead as the service accepts (MAX_TOKEN_LIFETIME); with its 60 s leeway
    // the tokens verify for six minutes, longer than the benchmark runs.
    let exp = alb_token::unix_now() + service::configuration::MAX_TOKEN_LIFETIME.as_secs() as i64;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    for i in 0..count {
        let header = AlbHeader {
            alg: "ES256".into(),
            kid: KID.into(),
            signer: ALB_ARN.into(),
            iss: ISSUER.into(),
            client: CLIENT_ID.into(),
            exp,
            typ: Some("JWT".into()),
        };
        let claims = serde_json::json!({
            "sub": format!("00000000-0000-4000-8000-{i:012}"),
            "username": format!("user{i}"),
            "email": format!("user{i}@example.com"),
            "email_verified": "true",
            "exp": exp,
            "iss": ISSUER,
        });
        writeln!(out, "{}", sign(&header, &claims, &key))?;
    }
    out.flush()?;

    let pem = key.public_key_pem();
    let router = axum::Router::new().route(
        &format!("/{KID}"),
        axum::routing::get(move || std::future::ready(pem.clone())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    // One write, so a reader waiting for the lines never sees only some of them.
    let settings = format!(
        "ALB_ARN={ALB_ARN}\nALB_PUBLIC_KEYS_URL=http://{}\nOIDC_ISSUER={ISSUER}\nCOGNITO_CLIENT_ID={CLIENT_ID}\n",
        listener.local_addr()?
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(settings.as_bytes())?;
    stdout.flush()?;
    drop(stdout);
    axum::serve(listener, router).await
}
