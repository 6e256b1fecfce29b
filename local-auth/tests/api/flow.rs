//! The login flow as a browser walks it: redirect, form, cookies, back to the app.

use axum::http::StatusCode;

use crate::helpers::{spawn_echo_upstream, spawn_emulator};

#[tokio::test]
async fn an_unauthenticated_visit_is_redirected_to_the_login_page_and_never_reaches_the_app() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    let response = emulator.get("/reports?year=2026", &[]).await;

    assert_eq!(response.status, StatusCode::FOUND);
    assert!(
        response.location().starts_with("/_alb/login?state="),
        "{}",
        response.location()
    );
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn the_login_page_is_a_form_that_carries_the_state() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let state = emulator.state_for("/reports").await;

    let page = emulator
        .get(&format!("/_alb/login?state={}", urlencode(&state)), &[])
        .await;

    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.body
            .contains(r#"<form method="post" action="/_alb/login">"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"name="state" value="{state}""#))
    );
    assert!(page.body.contains(r#"name="username""#) && page.body.contains(r#"name="email""#));
}

#[tokio::test]
async fn logging_in_sets_sharded_alb_cookies_and_returns_to_the_original_url() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;

    let login = emulator
        .log_in("/reports?year=2026", "alice", "alice@example.com")
        .await;

    assert_eq!(login.location(), "/reports?year=2026");
    let cookies = login.set_cookies();
    let shard0 = cookies
        .iter()
        .find(|c| c.starts_with("AWSELBAuthSessionCookie-0="))
        .expect("shard -0");
    let shard1 = cookies
        .iter()
        .find(|c| c.starts_with("AWSELBAuthSessionCookie-1="))
        .expect("shard -1 (5000 bytes > 4 KB)");
    for shard in [shard0, shard1] {
        assert!(
            shard.contains("; Path=/;") && shard.contains("HttpOnly") && shard.contains("Secure"),
            "{shard}"
        );
        assert!(
            !shard.contains("alice"),
            "the cookie must not carry the username: {shard}"
        );
        assert!(shard.split(';').next().unwrap().len() <= 4096);
    }
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("local-auth-idp-session=") && c.contains("Path=/_alb/"))
    );

    let page = emulator
        .get_with_cookies("/reports?year=2026", &login.cookie_header())
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let echoed = page.json();
    assert_eq!(echoed["uri"], "/reports?year=2026");
    assert_eq!(echoed["method"], "GET");
    assert_eq!(upstream.hits(), 1);
}

#[tokio::test]
async fn a_small_session_cookie_is_a_single_dash_zero_shard() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |s| s.session_cookie_bytes = 100).await;

    let login = emulator.log_in("/", "alice", "").await;

    let shards: Vec<String> = login
        .set_cookies()
        .into_iter()
        .filter(|c| c.starts_with("AWSELBAuthSessionCookie-"))
        .collect();
    assert_eq!(shards.len(), 1, "{shards:?}");
    assert!(shards[0].starts_with("AWSELBAuthSessionCookie-0="));
}

#[tokio::test]
async fn a_session_missing_a_shard_or_with_a_made_up_value_is_no_session() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let only_first: String = login
        .cookie_header()
        .split("; ")
        .filter(|c| c.starts_with("AWSELBAuthSessionCookie-0="))
        .collect();

    for cookies in [
        only_first.as_str(),
        "AWSELBAuthSessionCookie-0=alice",
        "AWSELBAuthSessionCookie-0=",
    ] {
        let response = emulator.get_with_cookies("/", cookies).await;
        assert_eq!(response.status, StatusCode::FOUND, "{cookies:.40}");
        assert!(response.location().starts_with("/_alb/login?"));
    }
    assert_eq!(upstream.hits(), 0);
}

#[tokio::test]
async fn bad_usernames_get_the_form_again_with_a_message() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let state = emulator.state_for("/").await;

    let response = emulator
        .post_login(
            &[("username", "<b>a b</b>"), ("email", ""), ("state", &state)],
            "",
        )
        .await;

    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert!(
        response.body.contains("without spaces"),
        "{}",
        response.body
    );
    // Named or numeric character references are the same to a browser.
    let body = response
        .body
        .replace("&#60;", "&lt;")
        .replace("&#62;", "&gt;");
    assert!(
        body.contains("value=\"&lt;b&gt;a b&lt;/b&gt;\""),
        "the input is shown escaped: {body}"
    );
    assert!(response.set_cookies().is_empty());
}

#[tokio::test]
async fn a_new_login_expires_shards_left_from_a_larger_session() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |s| s.session_cookie_bytes = 100).await;
    let state = emulator.state_for("/").await;
    let held = "AWSELBAuthSessionCookie-0=old; AWSELBAuthSessionCookie-1=old; AWSELBAuthSessionCookie-2=old";

    let response = emulator
        .post_login(&[("username", "alice"), ("state", &state)], held)
        .await;

    let cookies = response.set_cookies();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("AWSELBAuthSessionCookie-1=;") && c.contains("Max-Age=0"))
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("AWSELBAuthSessionCookie-2=;") && c.contains("Max-Age=0"))
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
