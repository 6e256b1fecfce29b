//! The compiled `service` binary as a child process on a free port, killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::helpers::{ALB_ARN, Reply, closed_port, fetch};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_service");

/// The `client` and `iss` of [`crate::helpers::signed_token`]'s tokens.
pub const PROCESS_CLIENT_ID: &str = "c";
pub const PROCESS_ISSUER: &str = "https://issuer.example";

/// A running service binary.
pub struct ServiceProcess {
    pub port: u16,
    child: Child,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl ServiceProcess {
    /// Starts the binary with the full policy (ALB_ARN, client id, issuer) plus `env`,
    /// and waits for its `/healthz`.
    pub async fn start(keys_url: &str, env: &[(&str, &str)]) -> Self {
        Self::start_logging_to(keys_url, env, None).await
    }

    /// Like [`ServiceProcess::start`], with the service's log (stdout) written to `log`.
    pub async fn start_logging_to(
        keys_url: &str,
        env: &[(&str, &str)],
        log: Option<&std::path::Path>,
    ) -> Self {
        let mut full = vec![
            ("ALB_ARN", ALB_ARN),
            ("ALB_PUBLIC_KEYS_URL", keys_url),
            ("COGNITO_CLIENT_ID", PROCESS_CLIENT_ID),
            ("OIDC_ISSUER", PROCESS_ISSUER),
        ];
        full.extend(env.iter().copied());
        Self::start_exactly(&full, log).await
    }

    /// Starts the binary with only `PORT` and `env`, and waits for its `/healthz`.
    pub async fn start_exactly(env: &[(&str, &str)], log: Option<&std::path::Path>) -> Self {
        let port = closed_port().await;
        let stdout = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::null(),
        };
        let child = Command::new(BIN)
            .env_clear()
            .env("PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(stdout)
            .spawn()
            .unwrap();
        let process = Self {
            port,
            child,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let started = Instant::now();
        while service::healthcheck::check(port).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the service binary did not come up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        process
    }

    /// GET `path` with `headers`: status and body, or the transport error as text.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<(u16, String), String> {
        let reply = fetch(&self.client, &self.url(path), headers).await?;
        Ok((reply.status, reply.body))
    }

    /// GET `path` with `headers`, read fully with the answer's headers.
    pub async fn reply(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        fetch(&self.client, &self.url(path), headers).await.unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the binary with exactly `env`; its exit code and stderr, or `None` if it was
/// still running (serving) after 5 s, which for a bad setting is the failure.
pub fn exit_of(env: &[(&str, &str)]) -> Option<(i32, String)> {
    let mut child = Command::new(BIN)
        .env_clear()
        .env("PORT", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Some((status.code().unwrap_or(-1), stderr));
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A token for `kid` signed by `signing` with `exp` in header and payload, from the ALB
/// and for the client and issuer [`ServiceProcess::start`] configures.
pub fn process_token(kid: &str, signing: &alb_token::SigningKey, exp: i64) -> String {
    process_token_for("s1", kid, signing, exp)
}

/// [`process_token`] for the user `sub`.
pub fn process_token_for(
    sub: &str,
    kid: &str,
    signing: &alb_token::SigningKey,
    exp: i64,
) -> String {
    let header = alb_token::AlbHeader {
        alg: "ES256".into(),
        kid: kid.into(),
        signer: ALB_ARN.into(),
        iss: PROCESS_ISSUER.into(),
        client: PROCESS_CLIENT_ID.into(),
        exp,
        typ: None,
    };
    let claims =
        serde_json::json!({"sub": sub, "username": "u1", "exp": exp, "iss": PROCESS_ISSUER});
    alb_token::sign(&header, &claims, signing)
}
