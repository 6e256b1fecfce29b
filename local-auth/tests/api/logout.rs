//! The two sessions, as on AWS: the app's logout drops the ALB cookie, Cognito's logout
//! (`/_alb/logout`) ends the IdP session; only after both does a visit ask for a login.

use axum::http::StatusCode;
use url::Url;

use crate::helpers::{TestEmulator, TestResponse, spawn_echo_upstream, spawn_emulator};

/// The IdP cookie (`name=value`) a login response set.
fn idp_cookie(login: &TestResponse) -> String {
    login
        .cookie_header()
        .split("; ")
        .find(|c| c.starts_with("local-auth-idp-session="))
        .unwrap()
        .to_string()
}

fn logout_path(emulator: &TestEmulator) -> String {
    let url = Url::parse(&emulator.info.env.LOGOUT_URL).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

#[tokio::test]
async fn the_printed_logout_url_ends_the_idp_session_and_returns_to_the_app() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let idp = idp_cookie(&login);

    let logout = emulator
        .get_with_cookies(&logout_path(&emulator), &idp)
        .await;

    assert_eq!(logout.status, StatusCode::FOUND, "{}", logout.body);
    assert_eq!(logout.location(), format!("http://{}/", emulator.addr));
    assert!(
        logout
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("local-auth-idp-session=;") && c.contains("Max-Age=0"))
    );
    // The app already expired the ALB cookies; the (now dead) IdP cookie is all that is
    // left, so the next visit shows the login form again.
    let state = emulator.state_for("/").await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .finish();
    let page = emulator
        .get_with_cookies(&format!("/_alb/login?{query}"), &idp)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<form"), "asks for a login again");
}

#[tokio::test]
async fn without_the_idp_logout_the_login_page_signs_straight_back_in_as_cognito_does() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let idp = idp_cookie(&login);

    // The app's logout expired only the ALB cookies.
    let state = emulator.state_for("/again").await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .finish();
    let silent = emulator
        .get_with_cookies(&format!("/_alb/login?{query}"), &idp)
        .await;

    assert_eq!(silent.status, StatusCode::FOUND);
    assert_eq!(silent.location(), "/again");
    let page = emulator
        .get_with_cookies("/again", &silent.cookie_header())
        .await;
    let token = page.json()["headers"]["x-amzn-oidc-data"][0]
        .as_str()
        .unwrap()
        .to_string();
    let claims: serde_json::Value =
        serde_json::from_slice(alb_token::parse(&token).unwrap().claims()).unwrap();
    assert_eq!(claims["username"], "alice");
}

#[tokio::test]
async fn the_idp_logout_does_not_end_the_alb_session() {
    let upstream = spawn_echo_upstream().await;
    let emulator = spawn_emulator(upstream.addr, |_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;

    emulator
        .get_with_cookies(&logout_path(&emulator), &idp_cookie(&login))
        .await;
    let still = emulator.get_with_cookies("/", &login.cookie_header()).await;

    assert_eq!(
        still.status,
        StatusCode::OK,
        "as on AWS, the app must expire the ALB cookies itself"
    );
}

#[tokio::test]
async fn a_wrong_or_missing_client_id_is_a_400_that_names_the_right_one() {
    let upstream = spawn_echo_upstream().await;
    let emulator =
        spawn_emulator(upstream.addr, |s| s.client_id = Some("rightclient".into())).await;
    let back = format!("http://{}/", emulator.addr);

    let wrong = emulator
        .get(
            &format!("/_alb/logout?client_id=wrong&logout_uri={back}"),
            &[],
        )
        .await;
    let missing = emulator
        .get(&format!("/_alb/logout?logout_uri={back}"), &[])
        .await;
    let no_uri = emulator
        .get("/_alb/logout?client_id=rightclient", &[])
        .await;

    for response in [&wrong, &missing, &no_uri] {
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert!(response.headers.get("location").is_none());
    }
    assert!(
        wrong.body.contains("`wrong`") && wrong.body.contains("`rightclient`"),
        "{}",
        wrong.body
    );
    assert!(
        missing.body.contains("client_id=rightclient"),
        "{}",
        missing.body
    );
    assert!(
        no_uri.body.contains("missing logout_uri"),
        "{}",
        no_uri.body
    );
}

#[tokio::test]
async fn logout_uris_must_be_registered() {
    let upstream = spawn_echo_upstream().await;
    let open = spawn_emulator(upstream.addr, |s| s.client_id = Some("c".into())).await;
    let strict = spawn_emulator(upstream.addr, |s| {
        s.client_id = Some("c".into());
        s.logout_urls = vec![Url::parse("http://localhost:9999/signed-out").unwrap()];
    })
    .await;

    let evil = open
        .get(
            "/_alb/logout?client_id=c&logout_uri=https%3A%2F%2Fevil.example%2F",
            &[],
        )
        .await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
    assert!(evil.body.contains("--logout-url"), "{}", evil.body);

    let loopback = strict
        .get(
            "/_alb/logout?client_id=c&logout_uri=http%3A%2F%2F127.0.0.1%2F",
            &[],
        )
        .await;
    assert_eq!(
        loopback.status,
        StatusCode::BAD_REQUEST,
        "a configured list replaces the loopback default"
    );
    let registered = strict
        .get(
            "/_alb/logout?client_id=c&logout_uri=http%3A%2F%2Flocalhost%3A9999%2Fsigned-out",
            &[],
        )
        .await;
    assert_eq!(registered.status, StatusCode::FOUND);
    assert_eq!(registered.location(), "http://localhost:9999/signed-out");
    assert!(
        strict
            .info
            .env
            .LOGOUT_URL
            .ends_with("logout_uri=http%3A%2F%2Flocalhost%3A9999%2Fsigned-out")
    );
}
