//! Issue 12: the emulator is as strict as the ALB: it answers only for its own host
//! names, drops header names the ALB drops, passes only WebSocket upgrades, and renders
//! form values once.

use axum::http::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_echo_upstream, spawn_emulator};

fn body(answer: &str) -> &str {
    &answer[answer.find("\r\n\r\n").map_or(answer.len(), |i| i + 4)..]
}

#[tokio::test]
async fn a_foreign_host_name_is_refused_before_anything_else() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let port = emulator.addr.port();
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_string(),
        format!("127.0.0.1.evil.example:{port}"),
        "127.0.0.1:1".to_string(),
    ] {
        for path in ["/", "/_alb/login", "/_alb/"] {
            let answer = emulator
                .raw(&format!(
                    "GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
                    login.cookie_header()
                ))
                .await;
            assert!(
                answer.starts_with("HTTP/1.1 421"),
                "Host {host} {path}: {answer:.300}"
            );
        }
    }
    assert_eq!(upstream.hits(), 0);
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
        format!("[::1]:{port}"),
    ] {
        let answer = emulator
            .raw(&format!(
                "GET / HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nConnection: close\r\n\r\n",
                login.cookie_header()
            ))
            .await;
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "Host {host}: {answer:.300}"
        );
    }
}

#[tokio::test]
async fn extra_host_names_can_be_allowed() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |s| {
        s.allowed_hosts = vec!["app.localhost".into()];
    })
    .await;
    let port = emulator.addr.port();
    let ok = emulator
        .raw(&format!(
            "GET /x HTTP/1.1\r\nHost: app.localhost:{port}\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert!(ok.starts_with("HTTP/1.1 302"), "{ok:.300}");
}

#[tokio::test]
async fn header_names_with_underscores_never_reach_the_app() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let answer = emulator
        .raw(&format!(
            "GET /whoami HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nX-Amzn-Oidc_Data: forged\r\nx_amzn_oidc_identity: forged\r\nX_Custom: forged\r\nX-Fine: kept\r\nConnection: close\r\n\r\n",
            emulator.addr,
            login.cookie_header()
        ))
        .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    let echoed: Value = serde_json::from_str(body(&answer)).unwrap();
    let names: Vec<&String> = echoed["headers"].as_object().unwrap().keys().collect();
    assert!(
        names.iter().all(|n| !n.contains('_')),
        "a header name with _ reached the app: {names:?}"
    );
    assert!(!body(&answer).contains("forged"));
    assert_eq!(echoed["headers"]["x-fine"][0], "kept");
}

#[tokio::test]
async fn only_websocket_upgrades_pass() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let answer = emulator
        .raw(&format!(
            "GET /h2 HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
            emulator.addr,
            login.cookie_header()
        ))
        .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:.300}");
    let echoed: Value = serde_json::from_str(body(&answer)).unwrap();
    let headers = echoed["headers"].as_object().unwrap();
    assert!(
        !headers.contains_key("upgrade") && !headers.contains_key("http2-settings"),
        "{headers:?}"
    );
    let connection = headers
        .get("connection")
        .map(|v| v.to_string().to_ascii_lowercase())
        .unwrap_or_default();
    assert!(!connection.contains("upgrade"), "{connection}");
}

#[tokio::test]
async fn form_values_are_rendered_once() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let state = emulator.state_for("/").await;
    let page = emulator
        .post_login(
            &[
                ("username", "{{email}}"),
                ("email", "not-an-email"),
                ("state", &state),
            ],
            "",
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.body.contains("value=\"{{email}}\""),
        "the username must appear as typed: {}",
        page.body
    );
    assert!(page.body.contains("value=\"not-an-email\""));
}
