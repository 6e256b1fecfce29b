//! Accepting genuine tokens and every rejection of issue 2.

use alb_token::{SigningKey, encode_segment, sign, sign_unpadded};
use serde_json::json;

use crate::helpers::{ALB_ARN, ISSUER, OTHER_ALB_ARN, now, spawn_app};

#[tokio::test]
async fn padded_alb_token_is_accepted_and_identity_returned() {
    let app = spawn_app().await;
    let reply = app.get_with_token("/api/me", &app.token()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let me = reply.json();
    assert_eq!(me["sub"], "6b1f2c3d-0000-4000-8000-00000000abcd");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");
    assert!(me["exp"].as_i64().unwrap() > now());
    // Cognito sends email_verified as a string; it is passed through untouched.
    assert_eq!(me["claims"]["email_verified"], "true");
}

#[tokio::test]
async fn unpadded_token_is_accepted() {
    let app = spawn_app().await;
    let token = sign_unpadded(&app.header(), &app.claims(), &app.signing_key);
    assert!(!token.contains('='));
    assert_eq!(app.get_with_token("/api/me", &token).await.status, 200);
}

#[tokio::test]
async fn any_listed_alb_may_sign() {
    let app = spawn_app().await;
    let mut header = app.header();
    header.signer = OTHER_ALB_ARN.into();
    let token = sign(&header, &app.claims(), &app.signing_key);
    assert_eq!(app.get_with_token("/api/me", &token).await.status, 200);
}

#[tokio::test]
async fn page_shows_the_user_with_everything_escaped() {
    let app = spawn_app().await;
    let mut claims = app.claims();
    claims["username"] = json!("<script>alert('x')</script>");
    let token = sign(&app.header(), &claims, &app.signing_key);
    let reply = app.get_with_token("/", &token).await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type().starts_with("text/html"));
    assert!(!reply.body.contains("<script>"), "{}", reply.body);
    // Named or numeric character references are the same to a browser.
    let body = [
        ("&#60;", "&lt;"),
        ("&#62;", "&gt;"),
        ("&#34;", "&quot;"),
        ("&#38;", "&amp;"),
        ("&#x27;", "&#39;"),
    ]
    .iter()
    .fold(reply.body.clone(), |b, (numeric, named)| {
        b.replace(numeric, named)
    });
    assert!(
        body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{body}"
    );
    assert!(reply.body.contains("6b1f2c3d-0000-4000-8000-00000000abcd"));
    assert!(reply.body.contains("href=\"/logout\""));
    assert!(
        reply.body.contains(" GMT ("),
        "expiry in UTC: {}",
        reply.body
    );
}

#[tokio::test]
async fn page_name_falls_back_to_email_then_sub() {
    let app = spawn_app().await;
    let mut claims = app.claims();
    claims.as_object_mut().unwrap().remove("username");
    let token = sign(&app.header(), &claims, &app.signing_key);
    let body = app.get_with_token("/", &token).await.body;
    assert!(
        body.contains("<span id=\"username\">alice@example.com</span>"),
        "{body}"
    );

    claims.as_object_mut().unwrap().remove("email");
    let token = sign(&app.header(), &claims, &app.signing_key);
    let body = app.get_with_token("/", &token).await.body;
    assert!(body.contains("<span id=\"username\">6b1f2c3d-0000-4000-8000-00000000abcd</span>"));
}

#[tokio::test]
async fn missing_token_is_401_json_for_api_and_html_for_pages() {
    let app = spawn_app().await;
    let api = app.get("/api/me", &[]).await;
    assert_eq!(api.status, 401);
    assert!(api.content_type().starts_with("application/json"));
    assert_eq!(api.json()["error"], "unauthenticated");

    let page = app.get("/", &[]).await;
    assert_eq!(page.status, 401);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.contains("Not signed in"));
}

#[tokio::test]
async fn identity_header_alone_proves_nothing() {
    let app = spawn_app().await;
    let headers = [
        (
            "x-amzn-oidc-identity",
            "6b1f2c3d-0000-4000-8000-00000000abcd",
        ),
        ("x-amzn-oidc-accesstoken", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"),
    ];
    assert_eq!(app.get("/api/me", &headers).await.status, 401);
    assert_eq!(app.get("/", &headers).await.status, 401);
}

/// Each of these is refused before the key endpoint is asked anything.
#[tokio::test]
async fn malformed_or_foreign_tokens_are_rejected_without_fetching_a_key() {
    let app = spawn_app().await;
    let claims = app.claims();
    let key = &app.signing_key;
    let with = |f: &dyn Fn(&mut alb_token::AlbHeader)| {
        let mut header = app.header();
        f(&mut header);
        sign(&header, &claims, key)
    };
    let valid = app.token();
    let parts: Vec<&str> = valid.split('.').collect();
    let cases: Vec<(&str, String)> = vec![
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{valid}.x")),
        (
            "header not JSON",
            format!("{}.{}.{}", encode_segment(b"hello"), parts[1], parts[2]),
        ),
        ("alg HS256", with(&|h| h.alg = "HS256".into())),
        ("alg none", with(&|h| h.alg = "none".into())),
        (
            "kid not a UUID",
            with(&|h| h.kid = "../../etc/passwd".into()),
        ),
        (
            "signer not in ALB_ARN",
            with(&|h| h.signer = format!("{ALB_ARN}x")),
        ),
        (
            "client mismatch",
            with(&|h| h.client = "another-client".into()),
        ),
        (
            "header iss mismatch",
            with(&|h| h.iss = "https://evil.example.com".into()),
        ),
        (
            "over 16 KiB",
            format!("{}.{}.{}", parts[0], "A".repeat(17 * 1024), parts[2]),
        ),
        ("not base64", format!("{}.{}.{}", parts[0], "%%%", parts[2])),
    ];
    for (what, token) in cases {
        let reply = app.get_with_token("/api/me", &token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.body);
    }
    assert_eq!(
        app.keys.total_fetches(),
        0,
        "no key may be fetched for a token refused early"
    );
}

#[tokio::test]
async fn wrong_signature_is_rejected() {
    let app = spawn_app().await;
    // Same kid, signed by a key the ALB does not have.
    let forged = sign(&app.header(), &app.claims(), &SigningKey::generate());
    assert_eq!(app.get_with_token("/api/me", &forged).await.status, 401);

    // Genuine signature, but payload swapped.
    let genuine = app.token();
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut claims = app.claims();
    claims["username"] = json!("mallory");
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        encode_segment(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(app.get_with_token("/api/me", &swapped).await.status, 401);

    // Padding stripped after signing: the signature covers the segments as sent.
    let stripped: Vec<&str> = genuine
        .split('.')
        .map(|s| s.trim_end_matches('='))
        .collect();
    assert_ne!(stripped.join("."), genuine);
    assert_eq!(
        app.get_with_token("/api/me", &stripped.join("."))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn claims_policy_exp_iss_sub() {
    let app = spawn_app().await;
    let status = |claims: serde_json::Value| {
        let token = sign(&app.header(), &claims, &app.signing_key);
        let app = &app;
        async move { app.get_with_token("/api/me", &token).await.status }
    };
    let mut c = app.claims();
    c["exp"] = json!(now() - 120);
    assert_eq!(status(c).await, 401, "expired beyond the 60 s leeway");

    let mut c = app.claims();
    c["exp"] = json!(now() - 30);
    assert_eq!(status(c).await, 200, "expired within the 60 s leeway");

    let mut c = app.claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(status(c).await, 401, "no exp");

    let mut c = app.claims();
    c["exp"] = json!("4102444800");
    assert_eq!(status(c).await, 401, "exp not a number");

    let mut c = app.claims();
    c["iss"] = json!(format!("{ISSUER}/other"));
    assert_eq!(status(c).await, 401, "payload iss differs from header iss");

    let mut c = app.claims();
    c.as_object_mut().unwrap().remove("iss");
    assert_eq!(status(c).await, 401, "no payload iss");

    let mut c = app.claims();
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(status(c).await, 401, "no sub");

    let mut c = app.claims();
    c["sub"] = json!("");
    assert_eq!(status(c).await, 401, "empty sub");

    assert_eq!(status(json!([1, 2])).await, 401, "claims not an object");
}
