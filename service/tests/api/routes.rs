//! Health and logout.

use crate::helpers::{LOGOUT_URL, spawn_app};

#[tokio::test]
async fn healthz_needs_no_identity() {
    let app = spawn_app().await;
    let reply = app.get("/healthz", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok");
}

#[tokio::test]
async fn logout_redirects_and_expires_every_session_cookie_shard() {
    let app = spawn_app().await;
    let cookies = "AWSELBAuthSessionCookie-0=a; other=keep; AWSELBAuthSessionCookie-7=b; \
                   AWSELBAuthSessionCookie-x;y=c";
    let reply = app.get("/logout", &[("cookie", cookies)]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.headers["location"], LOGOUT_URL);
    let set: Vec<&str> = reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let names: Vec<&str> = set.iter().map(|c| c.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "AWSELBAuthSessionCookie-0",
            "AWSELBAuthSessionCookie-1",
            "AWSELBAuthSessionCookie-2",
            "AWSELBAuthSessionCookie-3",
            "AWSELBAuthSessionCookie-7",
        ]
    );
    for cookie in &set {
        assert!(cookie.contains("=; "), "value emptied: {cookie}");
        for attribute in ["Path=/", "Secure", "Max-Age=0"] {
            assert!(
                cookie.split("; ").any(|a| a == attribute),
                "{attribute} in {cookie}"
            );
        }
    }
    assert!(!set.iter().any(|c| c.starts_with("other")));
}

#[tokio::test]
async fn logout_needs_no_identity_and_defaults_to_root() {
    let app = crate::helpers::spawn_app_with(|s| s.logout_url = "/".into()).await;
    let reply = app.get("/logout", &[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.headers["location"], "/");
    assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 4);
}
