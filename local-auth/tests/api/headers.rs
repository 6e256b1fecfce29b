//! What reaches the app: the signed identity headers, verifiable with the served key,
//! and never a header the client made up.

use alb_token::PublicKey;
use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::{TestEmulator, spawn_echo_upstream, spawn_emulator};

/// The single value of a header as the upstream received it.
fn received<'a>(echoed: &'a Value, name: &str) -> &'a str {
    let values = echoed["headers"][name]
        .as_array()
        .unwrap_or_else(|| panic!("{name} missing: {echoed}"));
    assert_eq!(values.len(), 1, "{name}: {values:?}");
    values[0].as_str().unwrap()
}

async fn public_key(emulator: &TestEmulator, kid: &str) -> PublicKey {
    let pem = emulator.get(&format!("/_alb/keys/{kid}"), &[]).await;
    assert_eq!(pem.status, StatusCode::OK);
    assert!(
        pem.body.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{}",
        pem.body
    );
    PublicKey::from_pem(&pem.body).expect("a P-256 PEM")
}

#[tokio::test]
async fn the_app_receives_a_token_that_verifies_with_the_key_endpoint() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |s| {
        s.alb_arn = Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188".into());
        s.client_id = Some("4e2jfcsdqcn1bhf3ke8m6kqm1d".into());
    })
    .await;
    let login = emulator.log_in("/", "alice", "alice@example.com").await;

    let echoed = emulator
        .get_with_cookies("/", &login.cookie_header())
        .await
        .json();

    let data = received(&echoed, "x-amzn-oidc-data");
    let token = alb_token::parse(data).expect("the ALB token format");
    let key = public_key(&emulator, &token.header.kid).await;
    token
        .verify_signature(&key)
        .expect("signed by the served key");
    assert_eq!(token.header.kid, emulator.info.kid);
    assert_eq!(
        token.header.signer,
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188"
    );
    assert_eq!(token.header.client, "4e2jfcsdqcn1bhf3ke8m6kqm1d");
    assert_eq!(token.header.iss, emulator.info.env.OIDC_ISSUER);
    assert_eq!(token.header.iss, format!("http://{}/_alb", emulator.addr));

    let claims: Value = serde_json::from_slice(token.claims()).unwrap();
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], "true");
    assert_eq!(
        received(&echoed, "x-amzn-oidc-identity"),
        claims["sub"].as_str().unwrap()
    );
    assert_eq!(
        received(&echoed, "x-amzn-oidc-accesstoken")
            .split('.')
            .count(),
        3
    );
}

#[tokio::test]
async fn forwarding_keeps_host_path_method_body_and_cookies_and_adds_x_forwarded() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let cookies = format!("{}; theme=dark", login.cookie_header());

    let response = emulator
        .send(
            axum::http::Method::PUT,
            "/api/items/7?x=1",
            &[
                ("cookie", &cookies),
                ("x-forwarded-for", "203.0.113.9"),
                ("content-type", "text/plain"),
            ],
            axum::body::Bytes::from_static(b"hello upstream"),
        )
        .await;

    let echoed = response.json();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["uri"], "/api/items/7?x=1");
    assert_eq!(echoed["body"], "hello upstream");
    assert_eq!(
        received(&echoed, "host"),
        emulator.addr.to_string(),
        "Host is the one the browser used"
    );
    assert_eq!(
        received(&echoed, "x-forwarded-for"),
        "203.0.113.9, 127.0.0.1"
    );
    assert_eq!(received(&echoed, "x-forwarded-proto"), "http");
    assert_eq!(
        received(&echoed, "x-forwarded-port"),
        emulator.addr.port().to_string()
    );
    let cookie = received(&echoed, "cookie");
    assert!(
        cookie.contains("theme=dark") && cookie.contains("AWSELBAuthSessionCookie-0="),
        "the ALB forwards cookies unchanged"
    );
}

#[tokio::test]
async fn forged_identity_headers_in_any_case_never_reach_the_app_when_logged_in() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;

    // Raw bytes, so the header names keep their odd case on the wire.
    let answer = emulator
        .raw(&format!(
            "GET /whoami HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-AMZN-OIDC-DATA: forged\r\nX-Amzn-Oidc-Identity: forged\r\n\
             x-amzn-oidc-accesstoken: forged\r\nX-Amzn-OIDC-Data: forged-again\r\nX-Amzn-Oidc-Extra: forged\r\nConnection: close\r\n\r\n",
            emulator.addr,
            login.cookie_header()
        ))
        .await;

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.200}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    assert!(
        !body.contains("forged"),
        "a forged value reached the app: {body}"
    );
    let echoed: Value = serde_json::from_str(body).unwrap();
    assert!(echoed["headers"].get("x-amzn-oidc-extra").is_none());
    let token = alb_token::parse(received(&echoed, "x-amzn-oidc-data")).unwrap();
    assert_eq!(
        token.header.kid, emulator.info.kid,
        "the one data header is ours"
    );
}

#[tokio::test]
async fn forged_identity_headers_without_a_session_get_a_redirect_and_reach_nothing() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    let answer = emulator
        .raw(&format!(
            "GET /admin HTTP/1.1\r\nHost: {}\r\nX-Amzn-Oidc-Data: forged\r\nX-AMZN-OIDC-IDENTITY: admin\r\nConnection: close\r\n\r\n",
            emulator.addr
        ))
        .await;

    assert!(answer.starts_with("HTTP/1.1 302"), "{answer:.200}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("\r\nlocation: /_alb/login?state=")
    );
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn only_the_current_kid_has_a_key() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    let unknown = emulator
        .get("/_alb/keys/00000000-0000-4000-8000-000000000000", &[])
        .await;

    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        emulator.get("/_alb/nothing-here", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(upstream.hits(), 0, "/_alb/ is never forwarded");
}
