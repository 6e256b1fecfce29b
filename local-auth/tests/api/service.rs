//! The real service behind the emulator: its verifier accepts the emulator's tokens when
//! it is configured with the environment the emulator prints, and rejects them once the
//! signer or the client differs. Its logout and the emulator's complete the round trip.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::StatusCode;
use local_auth::AppEnvironment;
use url::Url;

use crate::helpers::{TestEmulator, spawn_emulator};

const ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/demo/50dc6c495c0c9188";
const CLIENT: &str = "4e2jfcsdqcn1bhf3ke8m6kqm1d";

/// A free loopback port for the service: the emulator must know where to forward before
/// the service can know the emulator's address, so one side picks its port first.
async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts the service on `port` with the emulator's printed environment, after `tweak`.
async fn spawn_service(
    port: u16,
    env: &AppEnvironment,
    tweak: impl FnOnce(&mut HashMap<&str, String>),
) {
    let mut vars = HashMap::from([
        ("PORT", port.to_string()),
        ("ALB_ARN", env.ALB_ARN.clone()),
        ("COGNITO_CLIENT_ID", env.COGNITO_CLIENT_ID.clone()),
        ("OIDC_ISSUER", env.OIDC_ISSUER.clone()),
        ("ALB_PUBLIC_KEYS_URL", env.ALB_PUBLIC_KEYS_URL.clone()),
        ("LOGOUT_URL", env.LOGOUT_URL.clone()),
    ]);
    tweak(&mut vars);
    let mut settings =
        service::configuration::Settings::from_lookup(|name| vars.get(name).cloned())
            .expect("the printed environment is a valid service configuration");
    settings.host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let app = service::startup::Application::build(settings)
        .await
        .expect("the service starts");
    tokio::spawn(app.run_until(std::future::pending()));
}

/// The emulator (pinned ARN and client) in front of the service configured by `tweak`.
async fn stack(tweak: impl FnOnce(&mut HashMap<&str, String>)) -> TestEmulator {
    let port = free_port().await;
    let emulator = spawn_emulator(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), |s| {
        s.alb_arn = Some(ARN.into());
        s.client_id = Some(CLIENT.into());
    })
    .await;
    spawn_service(port, &emulator.info.env, tweak).await;
    emulator
}

#[tokio::test]
async fn the_service_accepts_tokens_when_run_with_the_printed_environment() {
    let emulator = stack(|_| {}).await;
    let login = emulator
        .log_in("/api/me", "alice", "alice@example.com")
        .await;

    let me = emulator
        .get_with_cookies("/api/me", &login.cookie_header())
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me = me.json();
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.com");

    let page = emulator.get_with_cookies("/", &login.cookie_header()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"<span id="username">alice</span>"#),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_service_rejects_tokens_from_another_load_balancer() {
    let emulator = stack(|vars| {
        vars.insert("ALB_ARN", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other/0000000000000000".into());
    })
    .await;
    let login = emulator.log_in("/api/me", "alice", "").await;

    let me = emulator
        .get_with_cookies("/api/me", &login.cookie_header())
        .await;

    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
}

#[tokio::test]
async fn the_service_rejects_tokens_for_another_client() {
    let emulator = stack(|vars| {
        vars.insert("COGNITO_CLIENT_ID", "someotherclient".into());
    })
    .await;
    let login = emulator.log_in("/api/me", "alice", "").await;

    let me = emulator
        .get_with_cookies("/api/me", &login.cookie_header())
        .await;

    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{}", me.body);
}

#[tokio::test]
async fn the_service_logout_and_the_emulator_logout_together_end_the_login() {
    let emulator = stack(|_| {}).await;
    let login = emulator.log_in("/", "alice", "").await;
    let cookies = login.cookie_header();

    // The app's /logout: every shard expired, then off to LOGOUT_URL.
    let app_logout = emulator.get_with_cookies("/logout", &cookies).await;
    assert_eq!(app_logout.status, StatusCode::FOUND);
    assert_eq!(app_logout.location(), emulator.info.env.LOGOUT_URL);
    for shard in ["AWSELBAuthSessionCookie-0=;", "AWSELBAuthSessionCookie-1=;"] {
        assert!(
            app_logout
                .set_cookies()
                .iter()
                .any(|c| c.starts_with(shard) && c.contains("Max-Age=0")),
            "{shard}"
        );
    }

    // LOGOUT_URL: the emulated Cognito logout, which sends the browser back to the app.
    let idp_only: String = cookies
        .split("; ")
        .filter(|c| c.starts_with("local-auth-idp-session="))
        .collect();
    let logout_url = Url::parse(app_logout.location()).unwrap();
    let idp_logout = emulator
        .get_with_cookies(
            &format!("{}?{}", logout_url.path(), logout_url.query().unwrap()),
            &idp_only,
        )
        .await;
    assert_eq!(idp_logout.status, StatusCode::FOUND, "{}", idp_logout.body);
    let back = Url::parse(idp_logout.location()).unwrap();
    assert_eq!(back.path(), "/");

    // Back at the app with no cookies left: the login page asks again.
    let state = emulator.state_for(back.path()).await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .finish();
    let page = emulator
        .get_with_cookies(&format!("/_alb/login?{query}"), &idp_only)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<form"));
}
