//! The registry client's I/O against a real Debian `docker-registry` and the
//! fault-injecting proxy: time limits, the push deadline, 401 vs 403, the User-Agent,
//! and HTTP proxies (explicit, and from the environment like the AWS SDK).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use oci_push::layout::{ImageConfig, write_image};
use oci_push::test_support::{Fault, FaultAction, Proxy, TestRegistry, sample_layers};
use oci_push::{
    ClientOptions, Error, ImageSource, NoProgress, ProxyConfig, PushOptions, Registry, RetryPolicy,
    TimeoutKind, push_image,
};

fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    }
}

fn image(dir: &Path) -> ImageSource {
    write_image(
        dir,
        &sample_layers(2, 8 * 1024),
        &ImageConfig::default(),
        None,
    )
    .unwrap();
    ImageSource::open(&format!("oci:{}", dir.display())).unwrap()
}

fn tagged(tag: &str) -> PushOptions {
    PushOptions {
        tag: Some(tag.to_owned()),
        ..PushOptions::default()
    }
}

async fn push(
    client: &Registry,
    repo: &str,
    image: &ImageSource,
    options: &PushOptions,
) -> Result<(), Error> {
    push_image(client, repo, image, options, Arc::new(NoProgress))
        .await
        .map(|_| ())
}

async fn start() -> (TestRegistry, Proxy) {
    let registry = TestRegistry::start()
        .await
        .expect("starting docker-registry");
    let proxy = Proxy::start(&registry.url).await.expect("starting proxy");
    (registry, proxy)
}

fn stall(method: Method, path: &str) -> Fault {
    Fault {
        method,
        path_contains: path.into(),
        times: 100,
        action: FaultAction::Stall,
    }
}

#[tokio::test]
async fn a_stalled_registry_trips_the_idle_timeout_with_a_clear_error() {
    let (_registry, proxy) = start().await;
    let client = Registry::with_options(
        &proxy.url,
        None,
        ClientOptions {
            idle_timeout: Duration::from_millis(300),
            retry: fast_retries(2),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    proxy.inject(stall(Method::HEAD, "/blobs/"));

    let started = Instant::now();
    let err = push(&client, "app", &image, &tagged("v1"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Idle,
                attempts: 2,
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains("checking blob")
            && message.contains(&format!("HEAD {}/v2/app/blobs/sha256:", proxy.url))
            && message.contains("idle timeout")
            && message.contains("after 2 attempts"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(proxy.count(&Method::POST, "/blobs/uploads/"), 0);
}

#[tokio::test]
async fn a_stall_mid_upload_is_an_idle_timeout_too_and_is_retried() {
    let (_registry, proxy) = start().await;
    let client = Registry::with_options(
        &proxy.url,
        None,
        ClientOptions {
            idle_timeout: Duration::from_millis(400),
            retry: fast_retries(3),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    // The first blob PUT gets no answer; its retry (a new session) goes through.
    proxy.inject(Fault {
        times: 1,
        ..stall(Method::PUT, "/blobs/uploads/")
    });
    push(&client, "app", &image, &tagged("v1")).await.unwrap();
    assert_eq!(proxy.count(&Method::POST, "/blobs/uploads/"), 3 + 1);
}

#[tokio::test]
async fn the_request_timeout_caps_a_request_that_never_completes() {
    let (_registry, proxy) = start().await;
    let client = Registry::with_options(
        &proxy.url,
        None,
        ClientOptions {
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_millis(300),
            retry: fast_retries(1),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    proxy.inject(stall(Method::HEAD, "/manifests/"));
    let err = push(&client, "app", &image(dir.path()), &tagged("v1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Request,
                attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("request timeout"), "{err}");
}

#[tokio::test]
async fn the_push_deadline_stops_a_push_that_runs_too_long() {
    let (_registry, proxy) = start().await;
    let client = Registry::new(&proxy.url, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    proxy.inject(stall(Method::POST, "/blobs/uploads/"));
    let options = PushOptions {
        deadline: Some(Duration::from_millis(500)),
        ..tagged("v1")
    };
    let started = Instant::now();
    let err = push(&client, "app", &image, &options).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::DeadlineExceeded {
                blobs_done: 0,
                blobs_total: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("did not finish within its deadline of 0.5 s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_invalid_token_an_expired_token_and_a_missing_permission_are_told_apart() {
    let (_registry, proxy) = start().await;
    let client = Registry::new(&proxy.url, None)
        .unwrap()
        .with_retry(fast_retries(3));
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    // Each case in its own repository, every upload refused.
    let refuse = |repo: &str, status, body| Fault {
        method: Method::POST,
        path_contains: format!("/v2/{repo}/blobs/uploads/"),
        times: 100,
        action: FaultAction::Reply { status, body },
    };

    // What ECR sends for a token it does not accept.
    proxy.inject(refuse(
        "invalid",
        401,
        r#"{"errors":[{"code":"UNAUTHORIZED","message":"Not Authorized"}]}"#,
    ));
    let invalid = push(&client, "invalid", &image, &tagged("v1"))
        .await
        .unwrap_err();
    let text = invalid.to_string();
    assert!(matches!(invalid, Error::Unauthorized { .. }), "{text}");
    assert!(
        text.contains("401")
            && text.contains("invalid or expired")
            && text.contains("run the push again"),
        "{text}"
    );
    assert!(!text.contains("lacks a permission"), "{text}");

    // What `docker push` shows as `denied: Your authorization token has expired.`
    proxy.inject(refuse(
        "expired",
        403,
        r#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#,
    ));
    let expired = push(&client, "expired", &image, &tagged("v1"))
        .await
        .unwrap_err();
    let text = expired.to_string();
    assert!(matches!(expired, Error::TokenExpired { .. }), "{text}");
    assert!(
        text.contains("has expired") && text.contains("12 hours"),
        "{text}"
    );

    proxy.inject(refuse(
        "denied",
        403,
        r#"{"errors":[{"code":"DENIED","message":"User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:eu-west-1:123456789012:repository/app"}]}"#,
    ));
    let denied = push(&client, "denied", &image, &tagged("v1"))
        .await
        .unwrap_err();
    let text = denied.to_string();
    assert!(
        matches!(&denied, Error::Denied { code: Some(c), .. } if c == "DENIED"),
        "{text}"
    );
    assert!(
        text.contains("login is valid but this identity lacks a permission")
            && text.contains("is not authorized to perform: ecr:InitiateLayerUpload")
            && text.contains(&format!("POST {}/v2/denied/blobs/uploads/", proxy.url)),
        "{text}"
    );

    // None of them is retried (3 blobs, so at most 3 POSTs, where retries would make
    // up to 9), and no image was stored.
    for repo in ["invalid", "expired", "denied"] {
        let posts = proxy.count(&Method::POST, &format!("/v2/{repo}/blobs/uploads/"));
        assert!((1..=3).contains(&posts), "{repo}: {posts} POSTs");
        assert_eq!(
            client
                .manifest_digest(repo, "v1", &NoProgress)
                .await
                .unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn every_request_carries_the_user_agent() {
    let (_registry, proxy) = start().await;
    let default = Registry::new(&proxy.url, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    push(&default, "app", &image, &tagged("v1")).await.unwrap();
    let agent = format!("oci-push/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(oci_push::USER_AGENT_PRODUCT, agent);
    let seen = proxy.requests();
    assert!(seen.len() >= 8, "{seen:?}");
    assert!(
        seen.iter()
            .all(|r| r.user_agent.as_deref() == Some(agent.as_str())),
        "{seen:?}"
    );

    proxy.clear();
    let ours = format!("deployer/1.2.3 {agent}");
    let custom = Registry::with_options(
        &proxy.url,
        None,
        ClientOptions {
            user_agent: ours.clone(),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    push(&custom, "app", &image, &tagged("v2")).await.unwrap();
    let seen = proxy.requests();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|r| r.user_agent.as_deref() == Some(ours.as_str())),
        "{seen:?}"
    );
}

/// A client whose proxy is `proxy` for http registries, except `no_proxy`.
fn through(proxy: &Proxy, base: &str, no_proxy: Option<&str>) -> Registry {
    Registry::with_options(
        base,
        None,
        ClientOptions {
            proxy: ProxyConfig::Explicit {
                http: Some(proxy.url.clone()),
                https: Some(proxy.url.clone()),
                no_proxy: no_proxy.map(str::to_owned),
            },
            retry: fast_retries(1),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

#[tokio::test]
async fn a_proxy_carries_every_request_to_a_registry_whose_name_does_not_resolve() {
    let (_registry, proxy) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    // `.invalid` never resolves (RFC 2606): only the proxy can reach it.
    let client = through(&proxy, "http://registry.invalid:5000", None);
    push(&client, "app", &image, &tagged("v1")).await.unwrap();
    let seen = proxy.requests();
    assert!(seen.len() >= 8, "{seen:?}");
    assert!(
        seen.iter()
            .all(|r| r.target.starts_with("http://registry.invalid:5000/v2/")),
        "forward-proxy requests are in absolute form: {seen:?}"
    );

    // NO_PROXY sends it direct, where the name cannot be resolved.
    let direct = through(&proxy, "http://registry.invalid:5000", Some(".invalid"));
    proxy.clear();
    let err = push(&direct, "app", &image, &tagged("v2"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("HTTPS_PROXY/NO_PROXY"), "{err}");
    assert!(proxy.requests().is_empty());
}

#[tokio::test]
async fn an_https_registry_is_reached_through_a_connect_tunnel() {
    let (_registry, proxy) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = through(
        &proxy,
        "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        None,
    );
    let err = push(&client, "app", &image(dir.path()), &tagged("v1"))
        .await
        .unwrap_err();
    // The test proxy refuses to tunnel; what matters is that the client asked it to.
    let connects: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::CONNECT)
        .collect();
    assert!(!connects.is_empty(), "{:?}", proxy.requests());
    assert_eq!(
        connects[0].target,
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com:443"
    );
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "through proxy {}",
            proxy.url.trim_start_matches("http://")
        )),
        "{err}"
    );
}

#[test]
fn a_proxy_we_cannot_speak_is_refused_when_the_client_is_made() {
    let err = Registry::with_options(
        "https://registry.example",
        None,
        ClientOptions {
            proxy: ProxyConfig::Explicit {
                http: None,
                https: Some("socks5://user:secret@proxy.example:1080".into()),
                no_proxy: None,
            },
            ..ClientOptions::default()
        },
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Proxy { .. }), "{text}");
    assert!(
        text.contains("socks5://proxy.example:1080") && text.contains("only `http://` proxies"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
}

/// The environment is read the way the AWS SDK reads it. The variables are set for a
/// child process (this test binary, running only [`env_proxy_child`]), because a test
/// may not change its own process's environment while other tests run.
#[tokio::test]
async fn the_proxy_environment_variables_are_honoured_and_loopback_stays_direct() {
    let (registry, proxy) = start().await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--ignored",
            "--exact",
            "env_proxy_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HTTP_PROXY", &proxy.url)
        .env("NO_PROXY", "example.org")
        .env("OCI_PUSH_CHILD_LOCAL", &registry.url);
    let output = tokio::task::spawn_blocking(move || child.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let seen = proxy.requests();
    assert!(
        seen.iter().any(|r| r.path.starts_with("/v2/via-proxy/")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|r| r
            .target
            .starts_with("http://registry.invalid:5000/v2/via-proxy/")),
        "only the non-loopback registry went through the proxy: {seen:?}"
    );
    let direct = Registry::new(&registry.url, None).unwrap();
    assert!(
        direct
            .manifest_digest("direct", "v1", &NoProgress)
            .await
            .unwrap()
            .is_some(),
        "the loopback push happened, without the proxy"
    );
}

/// Run by the test above with proxy variables set; fails if run any other way.
#[tokio::test]
#[ignore = "run by the_proxy_environment_variables_are_honoured_and_loopback_stays_direct"]
async fn env_proxy_child() {
    let local = std::env::var("OCI_PUSH_CHILD_LOCAL")
        .expect("run by the_proxy_environment_variables_are_honoured_and_loopback_stays_direct");
    let dir = tempfile::tempdir().unwrap();
    let image = image(dir.path());
    // Default options: the proxy comes from the environment.
    let proxied = Registry::new("http://registry.invalid:5000", None).unwrap();
    push(&proxied, "via-proxy", &image, &tagged("v1"))
        .await
        .unwrap();
    let loopback = Registry::new(&local, None).unwrap();
    push(&loopback, "direct", &image, &tagged("v1"))
        .await
        .unwrap();
}
