//! The compiled binary: refuses to start without ALB_ARN, `--healthcheck`, graceful
//! shutdown on SIGTERM finishing an in-flight request, and its JSON request log.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{ALB_ARN, KeyServer, closed_port, new_kid, now};

const BIN: &str = env!("CARGO_BIN_EXE_service");

#[test]
fn refuses_to_start_without_alb_arn() {
    let output = Command::new(BIN)
        .env_clear()
        .env("AWS_REGION", "eu-west-1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ALB_ARN is not set"), "{stderr}");
}

#[tokio::test]
async fn healthcheck_flag_reports_a_dead_port() {
    let port = closed_port().await;
    let status = Command::new(BIN)
        .arg("--healthcheck")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_and_healthcheck_passes_while_up() {
    let keys = KeyServer::start().await;
    let signing = alb_token::SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    keys.set_delay(Duration::from_millis(700));
    let port = closed_port().await;
    let mut child = Command::new(BIN)
        .env_clear()
        .env("PORT", port.to_string())
        .env("ALB_ARN", ALB_ARN)
        .env("ALB_PUBLIC_KEYS_URL", &keys.base_url)
        .env("COGNITO_CLIENT_ID", "c")
        .env("OIDC_ISSUER", "https://issuer.example")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    // Readiness is probed with the binary's own --healthcheck, as ECS does.
    wait_until_up(|| {
        Command::new(BIN)
            .arg("--healthcheck")
            .env("PORT", port.to_string())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    })
    .await;

    let token = signed_token(&kid, &signing);
    // The key fetch takes 700 ms, so this request is in flight when SIGTERM arrives.
    let in_flight = tokio::spawn(async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<bytes::Bytes>>();
        let request = axum::http::Request::get(format!("http://127.0.0.1:{port}/api/me"))
            .header("x-amzn-oidc-data", token)
            .body(http_body_util::Empty::new())
            .unwrap();
        client.request(request).await.map(|r| r.status().as_u16())
    });
    // SIGTERM only once the request is inside the service (its key fetch has started).
    let waiting = Instant::now();
    while keys.total_fetches() == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "request never reached the service"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    assert_eq!(
        in_flight
            .await
            .unwrap()
            .expect("in-flight request completed"),
        200
    );
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "clean exit after draining: {exit:?}");
}

#[tokio::test]
async fn logs_one_json_line_per_request_and_never_the_token() {
    let keys = KeyServer::start().await;
    let signing = alb_token::SigningKey::generate();
    let kid = new_kid();
    keys.add_key(&kid, signing.public_key_pem());
    let port = closed_port().await;
    let child = Command::new(BIN)
        .env_clear()
        .env("PORT", port.to_string())
        .env("ALB_ARN", ALB_ARN)
        .env("ALB_PUBLIC_KEYS_URL", &keys.base_url)
        .env("COGNITO_CLIENT_ID", "c")
        .env("OIDC_ISSUER", "https://issuer.example")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_up(|| healthy(port)).await;

    let good = signed_token(&kid, &signing);
    let forged = signed_token(&kid, &alb_token::SigningKey::generate());
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let mut statuses = Vec::new();
    for token in [&good, &forged] {
        let request = axum::http::Request::get(format!("http://127.0.0.1:{port}/api/me?x=1"))
            .header("x-amzn-oidc-data", token.as_str())
            .body(http_body_util::Empty::new())
            .unwrap();
        statuses.push(client.request(request).await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 401]);
    drop(client);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["message"] == "request" && l["path"] == "/api/me")
        .collect();
    let logged: Vec<u64> = requests
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(logged, [200, 401], "{stdout}");
    assert!(requests.iter().all(|l| l["latency_us"].is_u64()));
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "authentication failed"),
        "{stdout}"
    );
    for token in [&good, &forged] {
        for segment in token.split('.') {
            assert!(
                !stdout.contains(segment.trim_end_matches('=')),
                "token segment in the log"
            );
        }
    }
}

fn healthy(port: u16) -> bool {
    service::healthcheck::check(port).is_ok()
}

/// Polls `up` every 20 ms until it says yes; fails the test after 10 s.
async fn wait_until_up(mut up: impl FnMut() -> bool) {
    let started = Instant::now();
    while !up() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "service did not come up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A token for `kid` signed by `signing`, from the ALB the spawned binaries trust.
fn signed_token(kid: &str, signing: &alb_token::SigningKey) -> String {
    let header = alb_token::AlbHeader {
        alg: "ES256".into(),
        kid: kid.into(),
        signer: ALB_ARN.into(),
        iss: "https://issuer.example".into(),
        client: "c".into(),
        exp: now() + 60,
        typ: None,
    };
    let claims =
        serde_json::json!({"sub": "s1", "exp": now() + 60, "iss": "https://issuer.example"});
    alb_token::sign(&header, &claims, signing)
}
