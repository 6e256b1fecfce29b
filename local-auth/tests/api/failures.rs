//! An upstream that is down or stuck: a quick 502 or a bounded 504, never a hang.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tokio::net::TcpListener;

use crate::helpers::spawn_emulator;

#[tokio::test]
async fn an_upstream_that_is_down_gives_502_within_two_seconds() {
    // Bind and drop: a loopback port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let emulator = spawn_emulator(closed, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;

    let started = Instant::now();
    let response = emulator.get_with_cookies("/", &login.cookie_header()).await;

    assert_eq!(response.status, StatusCode::BAD_GATEWAY);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        response.body.contains("is it running?"),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn an_upstream_that_never_answers_gives_504_after_the_timeout() {
    // Accepts connections (the backlog does) but never reads or answers.
    let stuck = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = spawn_emulator(stuck.local_addr().unwrap(), |s| {
        s.upstream_timeout = Duration::from_millis(500)
    })
    .await;
    let login = emulator.log_in("/", "alice", "").await;

    let started = Instant::now();
    let response = emulator.get_with_cookies("/", &login.cookie_header()).await;

    assert_eq!(response.status, StatusCode::GATEWAY_TIMEOUT);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    drop(stuck);
}
