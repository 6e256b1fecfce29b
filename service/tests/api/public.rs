//! `LOGIN=none`: the binary of a service without login (a forward-only listener rule).
//! It starts without any of the load balancer's settings, shows a public page, and never
//! reads an identity header: a validly signed one shows nobody and fetches no key.

use crate::helpers::{ALB_ARN, KeyServer, new_kid, now};
use crate::process::{PROCESS_CLIENT_ID, PROCESS_ISSUER, ServiceProcess, exit_of, process_token};

#[tokio::test]
async fn starts_with_nothing_but_login_none_and_serves_a_public_page() {
    let service = ServiceProcess::start_exactly(&[("LOGIN", "none")], None).await;

    let health = service.reply("/healthz", &[]).await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    let page = service.reply("/", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.content_type().starts_with("text/html"),
        "{}",
        page.content_type()
    );
    assert!(page.body.contains(r#"id="no-login""#), "{}", page.body);
    assert!(
        page.body.contains("No login is in front of this service"),
        "{}",
        page.body
    );
    assert!(!page.body.contains(r#"id="username""#), "{}", page.body);
    assert!(
        page.headers.contains_key("content-security-policy"),
        "the security headers stay: {:?}",
        page.headers
    );

    let logout = service.reply("/logout", &[]).await;
    assert_eq!(logout.status, 302);
    assert_eq!(logout.headers["location"], "/");
}

#[tokio::test]
async fn a_forged_or_even_valid_identity_header_shows_nobody() {
    // Everything a login service would need is there and the token verifies with the
    // served key: with LOGIN=none none of it is used.
    let keys = KeyServer::start().await;
    let signing = alb_token::SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    let service = ServiceProcess::start_exactly(
        &[
            ("LOGIN", "none"),
            ("ALB_ARN", ALB_ARN),
            ("ALB_PUBLIC_KEYS_URL", &keys.base_url),
            ("COGNITO_CLIENT_ID", PROCESS_CLIENT_ID),
            ("OIDC_ISSUER", PROCESS_ISSUER),
        ],
        None,
    )
    .await;
    let token = process_token(&kid, &signing, now() + 60);
    let forged = [
        ("x-amzn-oidc-data", token.as_str()),
        ("x-amzn-oidc-identity", "s1"),
    ];

    let page = service.reply("/", &forged).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No login is in front of this service"));
    assert!(
        !page.body.contains("u1") && !page.body.contains("s1"),
        "{}",
        page.body
    );

    let me = service.reply("/api/me", &forged).await;
    assert_eq!(
        me.status, 404,
        "no identity endpoint without login: {}",
        me.body
    );
    assert_eq!(keys.total_fetches(), 0, "no key was ever fetched");
}

#[test]
fn any_other_login_value_is_a_configuration_error_naming_it() {
    let (code, stderr) = exit_of(&[("LOGIN", "oidc")]).expect("it exits");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(r#"LOGIN="oidc""#), "{stderr}");
    assert!(
        stderr.contains("LOGIN=none"),
        "says what is allowed: {stderr}"
    );

    // LOGIN=cognito is the default and needs the load balancer's settings as before.
    let (code, stderr) =
        exit_of(&[("LOGIN", "cognito"), ("AWS_REGION", "eu-west-1")]).expect("it exits");
    assert_eq!(code, 2);
    assert!(stderr.contains("ALB_ARN is not set"), "{stderr}");
}
