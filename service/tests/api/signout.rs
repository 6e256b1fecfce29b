//! `USER_POOL_ID`: `/logout` calls `AdminUserGlobalSignOut` for the verified `sub`. The
//! real binary on a free port, talking to moto's Cognito (revocation shown by the refresh
//! token failing afterwards) or to a loopback stand-in that records, fails or hangs.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alb_token::SigningKey;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, ExplicitAuthFlowsType, MessageActionType, UsernameAttributeType,
};
use axum::http::{HeaderMap, StatusCode};
use service::configuration::SIGN_OUT_TIMEOUT;
use service::signout_limits::MAX_CONCURRENT_SIGN_OUTS;

use crate::helpers::{KeyServer, new_kid, now};
use crate::moto::{ACCESS_KEY, Moto, SECRET_KEY};
use crate::process::{ServiceProcess, process_token_for};

/// A key server with one key, and a token signed with it for `sub`.
struct Keys {
    server: KeyServer,
    kid: String,
    signing: SigningKey,
}

impl Keys {
    async fn start() -> Self {
        let server = KeyServer::start().await;
        let signing = SigningKey::generate();
        let kid = new_kid();
        server.add_key(&kid, signing.public_key_pem());
        Self {
            server,
            kid,
            signing,
        }
    }
    fn token(&self, sub: &str) -> String {
        process_token_for(sub, &self.kid, &self.signing, now() + 60)
    }
}

/// The environment that points the service's AWS SDK at `endpoint`.
fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

async fn start_service(keys: &Keys, env: &[(&'static str, String)]) -> ServiceProcess {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServiceProcess::start(&keys.server.base_url, &env).await
}

/// A logout answer: redirect, and every shard cookie expired.
fn assert_logged_out(status: u16, headers: &HeaderMap) {
    assert_eq!(status, 302);
    assert!(headers.get("location").is_some(), "{headers:?}");
    let cookies: Vec<&str> = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        cookies.len() >= 4 && cookies.iter().all(|c| c.contains("Max-Age=0")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn logout_revokes_the_users_refresh_token_in_cognito() {
    let moto = Moto::start();
    let cognito = moto.cognito();
    // As cfn/app.yaml makes it: e-mail addresses as usernames, so the Username is the sub.
    let pool = cognito
        .create_user_pool()
        .pool_name("signout-test")
        .username_attributes(UsernameAttributeType::Email)
        .send()
        .await
        .unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client_id = client
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    let (email, password) = ("alice@example.com", "Correct-Horse-9-battery");
    cognito
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username(email)
        .message_action(MessageActionType::Suppress)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(email)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username(email)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    let user = cognito
        .admin_get_user()
        .user_pool_id(&pool_id)
        .username(email)
        .send()
        .await
        .unwrap();
    let sub = user
        .user_attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value())
        .expect("the user has a sub")
        .to_owned();
    // With e-mail usernames the user's Username is its sub.
    assert_eq!(user.username(), sub);
    // Logged in by Username (the sub), which Cognito accepts as well as the e-mail: moto
    // files a refresh token under the exact string the login used and its global sign-out
    // compares strings, so a login by e-mail would stay valid in moto (not in Cognito,
    // which signs out the user however they logged in).
    let login = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", &sub)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    let refresh_token = login
        .authentication_result()
        .and_then(|r| r.refresh_token())
        .expect("a refresh token")
        .to_owned();
    let refresh = || {
        cognito
            .admin_initiate_auth()
            .user_pool_id(&pool_id)
            .client_id(&client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", &refresh_token)
            .send()
    };
    // What the ALB does when the session's access token expires: works before logout.
    refresh()
        .await
        .expect("the refresh token works before logout");

    let keys = Keys::start().await;
    let mut env = aws_env(&moto.endpoint);
    env.push(("USER_POOL_ID", pool_id.clone()));
    let service = start_service(&keys, &env).await;
    let reply = service
        .reply("/logout", &[("x-amzn-oidc-data", &keys.token(&sub))])
        .await;
    assert_logged_out(reply.status, &reply.headers);

    let err = refresh()
        .await
        .expect_err("the refresh token must be revoked by logout");
    let err = err.into_service_error();
    assert!(err.is_not_authorized_exception(), "{err:?}");
}

/// A loopback stand-in for Cognito: records each request's target and body, and answers
/// as told.
#[derive(Clone, Default)]
struct FakeCognito {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    mode: Arc<AtomicU8>,
}

const ANSWER: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;

impl FakeCognito {
    async fn start(mode: u8) -> (Self, String) {
        let fake = Self::default();
        fake.mode.store(mode, Ordering::SeqCst);
        let router = axum::Router::new()
            .fallback(record)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (fake, url)
    }
    fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

async fn record(
    axum::extract::State(fake): axum::extract::State<FakeCognito>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    fake.calls.lock().unwrap().push((target, body));
    match fake.mode.load(Ordering::SeqCst) {
        ANSWER => (StatusCode::OK, "{}".into()),
        FAIL => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"__type":"InternalErrorException","message":"down"}"#.into(),
        ),
        _ => std::future::pending().await,
    }
}

#[tokio::test]
async fn only_a_verified_sub_is_signed_out_and_only_with_user_pool_id() {
    let keys = Keys::start().await;
    let (fake, url) = FakeCognito::start(ANSWER).await;
    let mut env = aws_env(&url);

    // Unset: no call at all, whatever the token.
    let without = start_service(&keys, &env).await;
    let reply = without
        .reply("/logout", &[("x-amzn-oidc-data", &keys.token("alice-sub"))])
        .await;
    assert_logged_out(reply.status, &reply.headers);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    env.push(("USER_POOL_ID", "us-east-1_Pool1".into()));
    let with = start_service(&keys, &env).await;
    // A token signed by someone else's key, one with a kid the key endpoint does not
    // have, and no token: logged out of the browser, nobody signed out of Cognito.
    let forged = process_token_for("victim-sub", &keys.kid, &SigningKey::generate(), now() + 60);
    let unknown = process_token_for("victim-sub", &new_kid(), &keys.signing, now() + 60);
    for headers in [
        vec![("x-amzn-oidc-data", forged.as_str())],
        vec![("x-amzn-oidc-data", unknown.as_str())],
        vec![],
    ] {
        let reply = with.reply("/logout", &headers).await;
        assert_logged_out(reply.status, &reply.headers);
    }
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    // A cross-site navigation is refused before anything else.
    let token = keys.token("alice-sub");
    let reply = with
        .reply(
            "/logout",
            &[
                ("x-amzn-oidc-data", &token),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());

    // The verified user: one call, for that pool and that sub.
    let reply = with.reply("/logout", &[("x-amzn-oidc-data", &token)]).await;
    assert_logged_out(reply.status, &reply.headers);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (target, body) = &calls[0];
    assert_eq!(
        target,
        "AWSCognitoIdentityProviderService.AdminUserGlobalSignOut"
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"UserPoolId": "us-east-1_Pool1", "Username": "alice-sub"})
    );
}

#[tokio::test]
async fn a_failing_or_hanging_cognito_does_not_hold_up_logout() {
    let keys = Keys::start().await;
    let bound = SIGN_OUT_TIMEOUT + Duration::from_millis(1500);
    for mode in [FAIL, HANG] {
        let (fake, url) = FakeCognito::start(mode).await;
        let mut env = aws_env(&url);
        env.push(("USER_POOL_ID", "us-east-1_Pool1".into()));
        let log =
            std::env::temp_dir().join(format!("service-signout-{}-{mode}.log", std::process::id()));
        let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let service =
            ServiceProcess::start_logging_to(&keys.server.base_url, &env_refs, Some(&log)).await;
        let token = keys.token("alice-sub");
        let started = Instant::now();
        let reply = service
            .reply("/logout", &[("x-amzn-oidc-data", &token)])
            .await;
        let took = started.elapsed();
        assert_logged_out(reply.status, &reply.headers);
        assert!(took < bound, "mode {mode}: logout took {took:?}");
        // It did try (one retry at most within the bound) ...
        let calls = fake.calls().len();
        assert!((1..=2).contains(&calls), "mode {mode}: {calls} calls");
        // ... and said so as a warning, without the token.
        drop(service);
        let log = std::fs::read_to_string(&log).unwrap();
        let warning = log
            .lines()
            .find(|l| l.contains("\"WARN\"") && l.contains("Cognito sign-out"))
            .unwrap_or_else(|| panic!("mode {mode}: no warning in the log:\n{log}"));
        assert!(warning.contains("alice-sub"), "{warning}");
        assert!(!log.contains(&token), "the token must never be logged");
    }
}

#[tokio::test]
async fn a_repeated_logout_of_the_same_user_makes_one_cognito_call() {
    let keys = Keys::start().await;
    let (fake, url) = FakeCognito::start(ANSWER).await;
    let mut env = aws_env(&url);
    env.push(("USER_POOL_ID", "us-east-1_Pool1".into()));
    let service = start_service(&keys, &env).await;
    // A script looping on /logout with the same session: every answer logs out, only the
    // first asks Cognito (well within SIGN_OUT_DEBOUNCE).
    for _ in 0..5 {
        let reply = service
            .reply("/logout", &[("x-amzn-oidc-data", &keys.token("alice-sub"))])
            .await;
        assert_logged_out(reply.status, &reply.headers);
    }
    // Another user is not held up by alice's debounce.
    let reply = service
        .reply("/logout", &[("x-amzn-oidc-data", &keys.token("bob-sub"))])
        .await;
    assert_logged_out(reply.status, &reply.headers);
    let users: Vec<String> = fake
        .calls()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["Username"].to_string()
        })
        .collect();
    assert_eq!(users, [r#""alice-sub""#, r#""bob-sub""#]);
}

#[tokio::test]
async fn logouts_beyond_the_concurrency_limit_skip_cognito_with_a_warning() {
    let keys = Keys::start().await;
    // Cognito hangs: every admitted call holds its slot for the whole bound.
    let (fake, url) = FakeCognito::start(HANG).await;
    let mut env = aws_env(&url);
    env.push(("USER_POOL_ID", "us-east-1_Pool1".into()));
    let log =
        std::env::temp_dir().join(format!("service-signout-limit-{}.log", std::process::id()));
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service =
        ServiceProcess::start_logging_to(&keys.server.base_url, &env_refs, Some(&log)).await;
    let users = MAX_CONCURRENT_SIGN_OUTS + 3;
    let tokens: Vec<String> = (0..users)
        .map(|i| keys.token(&format!("user-{i}")))
        .collect();
    let started = Instant::now();
    let replies = futures_util::future::join_all(tokens.iter().map(|t| async {
        service
            .reply("/logout", &[("x-amzn-oidc-data", t.as_str())])
            .await
    }))
    .await;
    // Every one logged out, none waited past the bound.
    for reply in &replies {
        assert_logged_out(reply.status, &reply.headers);
    }
    assert!(started.elapsed() < SIGN_OUT_TIMEOUT + Duration::from_millis(1500));
    let asked: std::collections::BTreeSet<String> =
        fake.calls().into_iter().map(|(_, body)| body).collect();
    assert!(
        (1..=MAX_CONCURRENT_SIGN_OUTS).contains(&asked.len()),
        "{} users asked Cognito at once: {asked:?}",
        asked.len()
    );
    drop(service);
    let log = std::fs::read_to_string(&log).unwrap();
    let skipped = log
        .lines()
        .filter(|l| l.contains("\"WARN\"") && l.contains("too many in flight"))
        .count();
    assert_eq!(skipped, users - asked.len(), "{log}");
}

#[test]
fn a_bad_user_pool_id_or_another_pools_issuer_stops_the_service() {
    let base = [
        ("AWS_REGION", "eu-west-1"),
        ("ALB_ARN", crate::helpers::ALB_ARN),
        ("COGNITO_CLIENT_ID", "c"),
        (
            "OIDC_ISSUER",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI",
        ),
    ];
    for pool in ["AbCdEfGhI", "eu-west-1_Other"] {
        let mut env = base.to_vec();
        env.push(("USER_POOL_ID", pool));
        match crate::process::exit_of(&env) {
            Some((2, stderr)) => assert!(
                stderr.contains("USER_POOL_ID") && stderr.contains(pool),
                "{stderr}"
            ),
            other => panic!("USER_POOL_ID={pool}: expected exit 2, got {other:?}"),
        }
    }
}
