//! The login `state` cannot be turned into a redirect to another site.

use axum::http::StatusCode;

use crate::helpers::{spawn_echo_upstream, spawn_emulator};

#[tokio::test]
async fn a_path_that_browsers_read_as_another_host_returns_to_the_root() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    for path in [
        "//evil.example/phish",
        "/\\evil.example/phish",
        "/%2F%2Fevil.example",
    ] {
        let login = emulator.log_in(path, "alice", "").await;
        let location = login.location();
        assert!(
            location.starts_with('/') && !location.starts_with("//") && !location.contains('\\'),
            "{path} → {location}"
        );
        if path.starts_with("//") || path.contains('\\') {
            assert_eq!(location, "/", "{path}");
        } else {
            assert_eq!(location, path, "an encoded path is a harmless local path");
        }
    }
}

#[tokio::test]
async fn edited_or_invented_states_are_refused() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let state = emulator.state_for("/reports").await;
    let (expiry, rest) = state.split_once('.').unwrap();
    let (_, tag) = rest.split_once('.').unwrap();
    let evil_path = "Ly9ldmlsLmV4YW1wbGU"; // base64url of //evil.example
    let tampered = [
        format!("{expiry}.{evil_path}.{tag}"),
        "https://evil.example/".to_string(),
        String::new(),
    ];

    for bad in &tampered {
        let response = emulator
            .post_login(&[("username", "alice"), ("state", bad)], "")
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            response.body.contains("open the app's URL again"),
            "{}",
            response.body
        );
        assert!(response.headers.get("location").is_none());
        assert!(
            response.set_cookies().is_empty(),
            "no session for a bad state"
        );

        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", bad)
            .finish();
        let page = emulator.get(&format!("/_alb/login?{query}"), &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "GET with {bad}");
    }
}

#[tokio::test]
async fn a_state_from_another_emulator_run_is_refused() {
    let upstream = spawn_echo_upstream().await;
    let first = spawn_emulator(upstream.addr, |_| {}).await;
    let second = spawn_emulator(upstream.addr, |_| {}).await;
    let state = first.state_for("/").await;

    let response = second
        .post_login(&[("username", "alice"), ("state", &state)], "")
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn opening_the_login_page_directly_returns_to_the_root() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    let page = emulator.get("/_alb/login", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let state = page
        .body
        .split(r#"name="state" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let login = emulator
        .post_login(&[("username", "alice"), ("state", state)], "")
        .await;

    assert_eq!(login.location(), "/");
}
