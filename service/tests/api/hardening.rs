//! Issue 12: configuration fails closed, no signed value crashes the process, key
//! fetching stays bounded under a flood of kids, exactly one token, values rendered once,
//! security headers, bounded logout.

use std::time::{Duration, Instant};

use alb_token::{SigningKey, sign};
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{ALB_ARN, KeyServer, KeyServerMode, new_kid, now, spawn_app};
use crate::process::{ServiceProcess, exit_of, process_token};

const REGION: (&str, &str) = ("AWS_REGION", "eu-west-1");
const ARN: (&str, &str) = ("ALB_ARN", ALB_ARN);
const CLIENT: (&str, &str) = ("COGNITO_CLIENT_ID", "4hjk2l5m6n7o8p9q0r1s2t3u4v");
const ISSUER: (&str, &str) = (
    "OIDC_ISSUER",
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI",
);

fn refused(env: &[(&str, &str)], naming: &str) {
    match exit_of(env) {
        Some((2, stderr)) => assert!(stderr.contains(naming), "{naming} not named: {stderr}"),
        Some((code, stderr)) => panic!("exit {code}, expected 2: {stderr}"),
        None => panic!("started and served with {env:?}; it must refuse ({naming})"),
    }
}

#[test]
fn refuses_to_start_without_a_client_id_or_an_issuer() {
    refused(&[REGION, ARN, ISSUER], "COGNITO_CLIENT_ID");
    refused(&[REGION, ARN, CLIENT], "OIDC_ISSUER");
    refused(&[REGION, ARN, CLIENT, ("OIDC_ISSUER", " ")], "OIDC_ISSUER");
}

#[test]
fn refuses_a_logout_url_to_another_site_and_plain_http_keys_off_loopback() {
    for bad in [
        "//evil.example/",
        "/\\evil.example",
        "http://evil.example/logout",
        "javascript:alert(1)",
        "https://",
    ] {
        refused(
            &[REGION, ARN, CLIENT, ISSUER, ("LOGOUT_URL", bad)],
            "LOGOUT_URL",
        );
    }
    refused(
        &[
            ARN,
            CLIENT,
            ISSUER,
            ("ALB_PUBLIC_KEYS_URL", "http://keys.example.com"),
        ],
        "ALB_PUBLIC_KEYS_URL",
    );
}

#[tokio::test]
async fn the_explicit_opt_out_accepts_any_client_and_issuer() {
    let keys = KeyServer::start().await;
    let signing = SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    let service = ServiceProcess::start(
        &keys.base_url,
        &[("COGNITO_CLIENT_ID", "any"), ("OIDC_ISSUER", "any")],
    )
    .await;
    let token = process_token(&kid, &signing, now() + 60);
    let (status, body) = service
        .get("/api/me", &[("x-amzn-oidc-data", &token)])
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_token_expiring_in_the_year_10000_is_refused_and_the_process_lives_on() {
    let keys = KeyServer::start().await;
    let signing = SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    let mut service = ServiceProcess::start(&keys.base_url, &[]).await;
    // 253402300800 is 10000-01-01T00:00:00Z.
    for exp in [253_402_300_800, i64::MAX] {
        let token = process_token(&kid, &signing, exp);
        let reply = service.get("/", &[("x-amzn-oidc-data", &token)]).await;
        assert_eq!(reply.map(|r| r.0), Ok(401), "exp {exp}");
    }
    assert!(service.is_running(), "the process must survive");
    assert_eq!(service.get("/healthz", &[]).await.map(|r| r.0), Ok(200));
}

#[tokio::test]
async fn a_token_living_longer_than_the_alb_issues_is_refused() {
    let app = spawn_app().await;
    let status = |exp: i64| {
        let mut header = app.header();
        header.exp = exp;
        let mut claims = app.claims();
        claims["exp"] = json!(exp);
        let token = sign(&header, &claims, &app.signing_key);
        let app = &app;
        async move { app.get_with_token("/api/me", &token).await.status }
    };
    assert_eq!(status(now() + 3600).await, 401, "an hour ahead");
    assert_eq!(status(now() + 200).await, 200, "the ALB's 120 s plus skew");
}

/// A flood of random kids against a slow key endpoint: every request is answered within
/// the fetch timeout, and the genuine kid right after it is not stuck behind a backlog.
#[tokio::test]
async fn a_kid_flood_against_a_slow_key_endpoint_stays_bounded() {
    let keys = KeyServer::start().await;
    let signing = SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    keys.set_delay(Duration::from_millis(1000));
    let service = ServiceProcess::start(&keys.base_url, &[]).await;

    let flood: Vec<String> = (0..100)
        .map(|_| process_token(&new_kid(), &signing, now() + 60))
        .collect();
    let started = Instant::now();
    let replies = join_all(flood.iter().map(|token| {
        let service = &service;
        async move {
            let reply = service.get("/api/me", &[("x-amzn-oidc-data", token)]).await;
            (reply.map(|r| r.0), started.elapsed())
        }
    }))
    .await;
    for (status, took) in &replies {
        assert!(
            matches!(status, Ok(401 | 503)),
            "a flood request got {status:?}"
        );
        // The fetch timeout is 3 s; the whole wait must fit in it.
        assert!(
            took < &Duration::from_millis(4500),
            "answered after {took:?}"
        );
    }
    assert!(
        keys.total_fetches() <= 40,
        "{} fetches for 100 kids in one timeout",
        keys.total_fetches()
    );

    let genuine = process_token(&kid, &signing, now() + 60);
    let asked = Instant::now();
    let reply = service
        .get("/api/me", &[("x-amzn-oidc-data", &genuine)])
        .await;
    assert_eq!(reply.map(|r| r.0), Ok(200));
    assert!(
        asked.elapsed() < Duration::from_millis(2500),
        "{:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn a_429_from_the_key_endpoint_is_an_outage_not_an_unknown_key() {
    let app = spawn_app().await;
    app.keys.set_mode(KeyServerMode::Fail429);
    let reply = app.get_with_token("/api/me", &app.token()).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
}

#[tokio::test]
async fn an_outage_is_retried_after_a_short_back_off() {
    let app = spawn_app().await;
    app.keys.set_mode(KeyServerMode::Fail500);
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        503
    );
    app.keys.set_mode(KeyServerMode::Serve);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        200
    );
}

#[tokio::test]
async fn two_token_headers_are_refused() {
    let app = spawn_app().await;
    let token = app.token();
    let reply = app
        .get(
            "/api/me",
            &[("x-amzn-oidc-data", &token), ("x-amzn-oidc-data", &token)],
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}

#[tokio::test]
async fn template_markers_inside_values_are_shown_literally() {
    let app = spawn_app().await;
    let mut claims = app.claims();
    claims["username"] = json!("{{claims}}{{sub}}");
    let token = sign(&app.header(), &claims, &app.signing_key);
    let reply = app.get_with_token("/", &token).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .body
            .contains("<span id=\"username\">{{claims}}{{sub}}</span>"),
        "{}",
        reply.body
    );
}

fn header<'a>(reply: &'a crate::helpers::Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header: {:?}", reply.headers))
}

#[tokio::test]
async fn personal_answers_are_not_cached_framed_or_sniffed() {
    let app = spawn_app().await;
    let token = app.token();
    for path in ["/", "/api/me"] {
        let ok = app.get_with_token(path, &token).await;
        let refused = app.get(path, &[]).await;
        assert_eq!((ok.status, refused.status), (200, 401), "{path}");
        for reply in [&ok, &refused] {
            assert_eq!(header(reply, "cache-control"), "no-store", "{path}");
            assert_eq!(header(reply, "x-content-type-options"), "nosniff");
            assert!(header(reply, "content-security-policy").contains("frame-ancestors 'none'"));
            assert_eq!(header(reply, "referrer-policy"), "no-referrer");
        }
        assert!(!header(&refused, "www-authenticate").is_empty());
    }
}

#[tokio::test]
async fn logout_from_another_site_is_refused() {
    let app = spawn_app().await;
    let cross = app
        .get(
            "/logout",
            &[
                ("sec-fetch-site", "cross-site"),
                ("cookie", "AWSELBAuthSessionCookie-0=a"),
            ],
        )
        .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    assert_eq!(cross.headers.get_all("set-cookie").iter().count(), 0);
    let same = app
        .get("/logout", &[("sec-fetch-site", "same-origin")])
        .await;
    assert_eq!(same.status, 302);
}

#[tokio::test]
async fn logout_sets_a_bounded_number_of_cookies() {
    let app = spawn_app().await;
    let mut cookies: Vec<String> = (0..300)
        .map(|n| format!("AWSELBAuthSessionCookie-{n}=v"))
        .collect();
    cookies.push("AWSELBAuthSessionCookie-7=again".into());
    let reply = app.get("/logout", &[("cookie", &cookies.join("; "))]).await;
    assert_eq!(reply.status, 302);
    let names: Vec<&str> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap())
        .collect();
    assert!(names.len() <= 20, "{} Set-Cookie headers", names.len());
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "one Set-Cookie per name");
    assert!(names.contains(&"AWSELBAuthSessionCookie-7"));
}
