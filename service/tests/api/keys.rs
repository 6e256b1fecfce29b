//! The key cache: one fetch per kid, shared under concurrency; failures remembered
//! briefly; an unreachable or failing endpoint is 503, never 200.

use std::time::Duration;

use alb_token::sign;
use futures_util::future::join_all;

use crate::helpers::{KeyServerMode, closed_port, new_kid, spawn_app, spawn_app_with};

#[tokio::test]
async fn concurrent_requests_for_a_new_kid_share_one_fetch() {
    let app = spawn_app().await;
    // Slow enough that all 50 requests arrive while the first fetch is in flight.
    app.keys.set_delay(Duration::from_millis(300));
    let token = app.token();
    let requests = (0..50).map(|_| app.get_with_token("/api/me", &token));
    let replies = join_all(requests).await;
    assert!(replies.iter().all(|r| r.status == 200));
    assert_eq!(app.keys.fetches(&app.kid), 1);

    // And later requests use the cached key.
    for _ in 0..5 {
        assert_eq!(
            app.get_with_token("/api/me", &app.token()).await.status,
            200
        );
    }
    assert_eq!(app.keys.fetches(&app.kid), 1);
}

#[tokio::test]
async fn unknown_kid_is_401_and_not_fetched_again_while_remembered() {
    let app = spawn_app().await;
    let mut header = app.header();
    header.kid = new_kid();
    let token = sign(&header, &app.claims(), &app.signing_key);
    let replies = join_all((0..20).map(|_| app.get_with_token("/api/me", &token))).await;
    assert!(replies.iter().all(|r| r.status == 401));
    for _ in 0..10 {
        assert_eq!(app.get_with_token("/api/me", &token).await.status, 401);
    }
    assert_eq!(app.keys.fetches(&header.kid), 1);
}

#[tokio::test]
async fn key_endpoint_failing_is_503_and_recovers_after_the_outage_backoff() {
    let app = spawn_app_with(|s| s.auth.outage_backoff = Duration::from_secs(2)).await;
    app.keys.set_mode(KeyServerMode::Fail500);
    let api = app.get_with_token("/api/me", &app.token()).await;
    assert_eq!(api.status, 503);
    assert_eq!(api.json()["error"], "unavailable");
    let page = app.get_with_token("/", &app.token()).await;
    assert_eq!(page.status, 503);
    assert!(page.content_type().starts_with("text/html"));
    assert_eq!(app.keys.fetches(&app.kid), 1, "the failure is remembered");

    app.keys.set_mode(KeyServerMode::Serve);
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        503,
        "still remembered"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        200
    );
    assert_eq!(app.keys.fetches(&app.kid), 2);
}

#[tokio::test]
async fn unreachable_key_endpoint_is_503() {
    let port = closed_port().await;
    let app = spawn_app_with(|s| s.auth.public_keys_url = format!("http://127.0.0.1:{port}")).await;
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        503
    );
    assert_eq!(app.get_with_token("/", &app.token()).await.status, 503);
}

#[tokio::test]
async fn slow_key_endpoint_times_out_as_503() {
    let app = spawn_app_with(|s| s.auth.key_fetch_timeout = Duration::from_millis(200)).await;
    app.keys.set_delay(Duration::from_secs(2));
    let started = std::time::Instant::now();
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        503
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn key_endpoint_serving_garbage_is_503() {
    let app = spawn_app().await;
    app.keys.add_key(&app.kid, "not a key".into());
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        503
    );
}

#[tokio::test]
async fn a_cached_key_is_fetched_again_after_its_lifetime() {
    let app = spawn_app_with(|s| s.auth.key_ttl = Duration::from_millis(500)).await;
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        200
    );
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        200
    );
    assert_eq!(app.keys.fetches(&app.kid), 1, "cached within its lifetime");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        app.get_with_token("/api/me", &app.token()).await.status,
        200
    );
    assert_eq!(app.keys.fetches(&app.kid), 2, "fetched again after it");
}
