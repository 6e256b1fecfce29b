//! Routes by host (`--route`), as an environment listener's rules: each host (and path)
//! to its own app, behind login or not, 404 for any other host; one login for every login
//! host, with a session cookie per host that comes through the host's
//! `/oauth2/idpresponse`, as on AWS.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::http::StatusCode;
use local_auth::{Login, Route, Settings};
use serde_json::Value;
use url::Url;

use crate::helpers::{TestEmulator, TestResponse, spawn_echo_upstream, spawn_routed};

/// The echoed request's headers whose names start with `prefix`.
fn headers_starting(echo: &Value, prefix: &str) -> Vec<String> {
    echo["headers"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect()
}

/// The header and claims of the token the upstream received.
fn token_of(echo: &Value) -> (alb_token::AlbHeader, Value) {
    let token = alb_token::parse(echo["headers"]["x-amzn-oidc-data"][0].as_str().unwrap()).unwrap();
    let claims = serde_json::from_slice(token.claims()).unwrap();
    (token.header, claims)
}

/// GET `path` on `name` (with the emulator's port) with `cookies`.
async fn on(emulator: &TestEmulator, name: &str, path: &str, cookies: &str) -> TestResponse {
    let host = emulator.host(name);
    let mut headers = vec![("host", host.as_str())];
    if !cookies.is_empty() {
        headers.push(("cookie", cookies));
    }
    emulator.get(path, &headers).await
}

/// `path_and_query` of an absolute `Location`, after checking its origin.
fn local_part(location: &str, origin: &str) -> String {
    let url = Url::parse(location).unwrap_or_else(|_| panic!("absolute Location: {location}"));
    assert_eq!(
        url.origin().ascii_serialization(),
        origin,
        "Location {location}"
    );
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

/// Logs in on the emulator's own origin from a visit to `name`+`path` and returns the
/// IdP cookie and the callback (path and query on `name`).
async fn log_in_from(emulator: &TestEmulator, name: &str, path: &str) -> (String, String) {
    let visit = on(emulator, name, path, "").await;
    assert_eq!(visit.status, StatusCode::FOUND, "{}", visit.body);
    let own = format!("http://{}", emulator.addr);
    let login = local_part(visit.location(), &own);
    let state = url::form_urlencoded::parse(login.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let response = emulator
        .post_login(
            &[("username", "alice"), ("email", ""), ("state", &state)],
            "",
        )
        .await;
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.body);
    assert!(
        !response
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("AWSELBAuthSessionCookie")),
        "the emulator's own origin gets no ALB session cookie: {:?}",
        response.set_cookies()
    );
    let callback = local_part(
        response.location(),
        &format!("http://{}", emulator.host(name)),
    );
    assert!(
        callback.starts_with("/oauth2/idpresponse?code="),
        "{callback}"
    );
    (response.cookie_header(), callback)
}

#[tokio::test]
async fn hosts_go_to_their_own_apps_and_any_other_host_gets_404() {
    let (app, www) = (spawn_echo_upstream().await, spawn_echo_upstream().await);
    let emulator = spawn_routed(
        &[
            format!("app.localhost=http://{},login=none", app.addr),
            format!("WWW.localhost=http://{},login=none", www.addr),
        ],
        |s| s.allowed_hosts = vec!["other.localhost".into()],
    )
    .await;

    let to_www = on(&emulator, "www.localhost", "/x?y=1", "").await;
    assert_eq!(to_www.status, StatusCode::OK, "{}", to_www.body);
    assert_eq!(to_www.json()["uri"], "/x?y=1");
    assert_eq!((app.hits(), www.hits()), (0, 1));
    assert_eq!(
        on(&emulator, "App.Localhost", "/", "").await.status,
        StatusCode::OK
    );
    assert_eq!((app.hits(), www.hits()), (1, 1));

    for name in ["other.localhost", "127.0.0.1", "localhost"] {
        let none = on(&emulator, name, "/", "").await;
        assert_eq!(none.status, StatusCode::NOT_FOUND, "{name}: {}", none.body);
        assert!(none.body.contains("no route for host"), "{}", none.body);
    }
    assert_eq!(
        on(&emulator, "evil.example", "/", "").await.status,
        StatusCode::MISDIRECTED_REQUEST,
        "routed hosts join the allowed hosts; others are still refused"
    );
    assert_eq!((app.hits(), www.hits()), (1, 1));
}

#[tokio::test]
async fn a_path_rule_wins_over_the_whole_host_rule_on_its_host() {
    let (site, docs) = (spawn_echo_upstream().await, spawn_echo_upstream().await);
    // Given whole-host first: the order is the load balancer's, not the command line's.
    let emulator = spawn_routed(
        &[
            format!("app.localhost=http://{},login=none", site.addr),
            format!("app.localhost/docs=http://{},login=none", docs.addr),
        ],
        |_| {},
    )
    .await;
    for (path, to_docs) in [
        ("/docs", true),
        ("/docs/a/b?c", true),
        ("/docsx", false),
        ("/", false),
        ("/api/docs", false),
    ] {
        let before = docs.hits();
        let response = on(&emulator, "app.localhost", path, "").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(docs.hits() > before, to_docs, "{path}");
    }
    let info = &emulator.info.routes;
    assert_eq!(
        info[0].path.as_deref(),
        Some("/docs"),
        "listed in evaluation order"
    );
}

#[tokio::test]
async fn without_login_nothing_about_identity_reaches_the_app() {
    let www = spawn_echo_upstream().await;
    let emulator = spawn_routed(
        &[format!("www.localhost=http://{},login=none", www.addr)],
        |_| {},
    )
    .await;
    let host = emulator.host("www.localhost");
    let response = emulator
        .get(
            "/",
            &[
                ("host", host.as_str()),
                ("x-amzn-oidc-data", "forged"),
                ("X-Amzn-Oidc-Identity", "forged"),
                ("x-amzn-oidc-accesstoken", "forged"),
                ("cookie", "AWSELBAuthSessionCookie-0=whatever"),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    let echo = response.json();
    assert_eq!(
        headers_starting(&echo, "x-amzn-oidc-"),
        Vec::<String>::new()
    );
    assert!(response.set_cookies().is_empty(), "no session is made");
    assert_eq!(echo["headers"]["host"][0], host.as_str());
    assert_eq!(echo["headers"]["x-forwarded-proto"][0], "http");
    // The load balancer forwards cookies as they are; the app may have its own.
    assert_eq!(
        echo["headers"]["cookie"][0],
        "AWSELBAuthSessionCookie-0=whatever"
    );
    let route = &emulator.info.routes[0];
    assert_eq!(route.login, Login::None);
    assert!(route.env.is_none());
}

#[tokio::test]
async fn one_login_serves_every_login_host_with_a_cookie_per_host() {
    let (app, admin) = (spawn_echo_upstream().await, spawn_echo_upstream().await);
    let emulator = spawn_routed(
        &[
            format!("app.localhost=http://{},client-id=appclient", app.addr),
            format!(
                "admin.localhost=http://{},client-id=adminclient",
                admin.addr
            ),
        ],
        |_| {},
    )
    .await;

    // 1. The app host sends the browser to the login page on the emulator's own origin;
    //    logging in there comes back through app.localhost's /oauth2/idpresponse.
    let (idp_cookie, callback) = log_in_from(&emulator, "app.localhost", "/deep?x=1").await;
    let landed = on(&emulator, "app.localhost", &callback, "").await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    assert_eq!(landed.location(), "/deep?x=1");
    let app_cookies = landed.cookie_header();
    assert!(
        app_cookies.starts_with("AWSELBAuthSessionCookie-0="),
        "{app_cookies}"
    );
    assert_eq!(
        app.hits(),
        0,
        "the callback is the emulator's, not the app's"
    );

    let seen = on(&emulator, "app.localhost", "/deep?x=1", &app_cookies).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let (header, claims) = token_of(&seen.json());
    assert_eq!(header.client, "appclient");
    assert_eq!(claims["username"], "alice");

    // 2. The code was for app.localhost and is spent.
    assert_eq!(
        on(&emulator, "app.localhost", &callback, "").await.status,
        StatusCode::UNAUTHORIZED
    );

    // 3. Another login host: app.localhost's cookie is not its (and a browser would not
    //    even send it there); its login page signs in silently with the IdP session and
    //    sets admin.localhost's own cookie.
    let visit = on(&emulator, "admin.localhost", "/", &app_cookies).await;
    assert_eq!(visit.status, StatusCode::FOUND);
    let login = local_part(visit.location(), &format!("http://{}", emulator.addr));
    let silent = emulator.get_with_cookies(&login, &idp_cookie).await;
    assert_eq!(silent.status, StatusCode::FOUND, "{}", silent.body);
    let admin_callback = local_part(
        silent.location(),
        &format!("http://{}", emulator.host("admin.localhost")),
    );
    // A code for admin.localhost does not work on app.localhost.
    let wrong_host = on(&emulator, "app.localhost", &admin_callback, "").await;
    assert_eq!(wrong_host.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong_host.body.contains("another host"),
        "{}",
        wrong_host.body
    );

    let visit = on(&emulator, "admin.localhost", "/", "").await;
    let login = local_part(visit.location(), &format!("http://{}", emulator.addr));
    let silent = emulator.get_with_cookies(&login, &idp_cookie).await;
    let admin_callback = local_part(
        silent.location(),
        &format!("http://{}", emulator.host("admin.localhost")),
    );
    let landed = on(&emulator, "admin.localhost", &admin_callback, "").await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    let seen = on(&emulator, "admin.localhost", "/", &landed.cookie_header()).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(token_of(&seen.json()).0.client, "adminclient");
}

#[tokio::test]
async fn each_login_route_prints_its_own_client_and_sign_out_url() {
    let (app, www) = (spawn_echo_upstream().await, spawn_echo_upstream().await);
    let emulator = spawn_routed(
        &[
            format!("www.localhost=http://{},login=none", www.addr),
            format!("app.localhost=http://{}", app.addr),
        ],
        |_| {},
    )
    .await;
    let port = emulator.addr.port();
    let app_route = emulator
        .info
        .routes
        .iter()
        .find(|r| r.host.as_deref() == Some("app.localhost"))
        .unwrap();
    assert_eq!(app_route.url, format!("http://app.localhost:{port}/"));
    let env = app_route.env.as_ref().unwrap();
    assert_eq!(env.COGNITO_CLIENT_ID.len(), 26, "a generated client id");
    assert_eq!(
        emulator.info.env, *env,
        "the top level repeats the first login route"
    );
    assert_eq!(emulator.info.url, app_route.url);

    // Its LOGOUT_URL is accepted and returns to the route's URL.
    let logout = Url::parse(&env.LOGOUT_URL).unwrap();
    assert_eq!(
        logout.origin().ascii_serialization(),
        format!("http://{}", emulator.addr)
    );
    let bye = emulator
        .get(
            &format!("{}?{}", logout.path(), logout.query().unwrap()),
            &[],
        )
        .await;
    assert_eq!(bye.status, StatusCode::FOUND, "{}", bye.body);
    assert_eq!(bye.location(), app_route.url);
    // Another host's URL is not registered for that client.
    let elsewhere = emulator
        .get(
            &format!(
                "/_alb/logout?client_id={}&logout_uri=http%3A%2F%2Fwww.localhost%3A{port}%2F",
                env.COGNITO_CLIENT_ID
            ),
            &[],
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::BAD_REQUEST,
        "{}",
        elsewhere.body
    );
}

#[tokio::test]
async fn upstream_and_routes_are_one_or_the_other() {
    let listen = "127.0.0.1:0".parse().unwrap();
    let upstream = Url::parse("http://127.0.0.1:1").unwrap();
    let mut both = Settings::new(listen, upstream.clone());
    both.routes = vec![Route::new("a.localhost", upstream)];
    assert!(
        both.validate()
            .unwrap_err()
            .to_string()
            .contains("not both")
    );
    let neither = Settings::routed(listen, Vec::new());
    assert!(
        neither
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--route")
    );
}

/// Starts the real service on a free port with `vars`.
async fn spawn_service(vars: HashMap<&str, String>) -> SocketAddr {
    let mut settings =
        service::configuration::Settings::from_lookup(|name| vars.get(name).cloned())
            .expect("a valid service configuration");
    settings.host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    settings.port = 0;
    let app = service::startup::Application::build(settings)
        .await
        .expect("the service starts");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, app.port()));
    tokio::spawn(app.run_until(std::future::pending()));
    addr
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn the_real_service_behind_login_on_one_host_and_public_on_another() {
    let app_port = free_port().await;
    let www = spawn_service(HashMap::from([("LOGIN", "none".to_string())])).await;
    let emulator = spawn_routed(
        &[
            format!("app.localhost=http://127.0.0.1:{app_port}"),
            format!("www.localhost=http://{www},login=none"),
        ],
        |_| {},
    )
    .await;
    let env = emulator.info.env.clone();
    let vars = HashMap::from([
        ("PORT", app_port.to_string()),
        ("ALB_ARN", env.ALB_ARN),
        ("COGNITO_CLIENT_ID", env.COGNITO_CLIENT_ID),
        ("OIDC_ISSUER", env.OIDC_ISSUER),
        ("ALB_PUBLIC_KEYS_URL", env.ALB_PUBLIC_KEYS_URL),
        ("LOGOUT_URL", env.LOGOUT_URL),
    ]);
    let mut settings =
        service::configuration::Settings::from_lookup(|name| vars.get(name).cloned()).unwrap();
    settings.host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let app = service::startup::Application::build(settings)
        .await
        .unwrap();
    tokio::spawn(app.run_until(std::future::pending()));

    // The public host: its page, without a login and with a forged identity ignored.
    let host = emulator.host("www.localhost");
    let public = emulator
        .get(
            "/",
            &[("host", host.as_str()), ("x-amzn-oidc-data", "forged")],
        )
        .await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert!(
        public.body.contains("No login is in front of this service"),
        "{}",
        public.body
    );

    // The login host: its user, after logging in.
    let (_, callback) = log_in_from(&emulator, "app.localhost", "/api/me").await;
    let landed = on(&emulator, "app.localhost", &callback, "").await;
    let me = on(
        &emulator,
        "app.localhost",
        "/api/me",
        &landed.cookie_header(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["username"], "alice");

    // The app's session cookie on the public host shows nobody there either.
    let public = on(&emulator, "www.localhost", "/", &landed.cookie_header()).await;
    assert!(!public.body.contains("alice"), "{}", public.body);
}

#[tokio::test]
async fn a_login_path_rule_alone_still_gets_its_hosts_callback() {
    let (docs, site) = (spawn_echo_upstream().await, spawn_echo_upstream().await);
    let emulator = spawn_routed(
        &[
            format!("app.localhost/docs=http://{}", docs.addr),
            format!("www.localhost=http://{},login=none", site.addr),
        ],
        |_| {},
    )
    .await;
    let (_, callback) = log_in_from(&emulator, "app.localhost", "/docs/page").await;
    let landed = on(&emulator, "app.localhost", &callback, "").await;
    assert_eq!(landed.status, StatusCode::FOUND, "{}", landed.body);
    assert_eq!(landed.location(), "/docs/page");
    let seen = on(
        &emulator,
        "app.localhost",
        "/docs/page",
        &landed.cookie_header(),
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(token_of(&seen.json()).1["username"], "alice");
    // Outside the prefix there is no rule on that host: 404, as on the listener.
    assert_eq!(
        on(&emulator, "app.localhost", "/", &landed.cookie_header())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The public host forwards its own /oauth2/idpresponse to its app.
    let forwarded = on(&emulator, "www.localhost", "/oauth2/idpresponse", "").await;
    assert_eq!(forwarded.status, StatusCode::OK);
    assert_eq!(site.hits(), 1);
}
