//! The part of logout only Cognito can do: `AdminUserGlobalSignOut` for the signed-in
//! user (set `USER_POOL_ID` and give the task role that one permission). It revokes the
//! user's refresh tokens, so the ALB session, which renews itself with the refresh token
//! whenever its access token expires, cannot renew any more; README "What logout ends".
//!
//! Through the AWS SDK, not hand-signed SigV4 over our hyper client: the task role's
//! credentials come from the ECS container endpoint and expire every few hours, and the
//! SDK already fetches, caches and renews them (and reads AWS_ENDPOINT_URL, retries and
//! parses Cognito's errors). Writing that ourselves would be more code to get wrong in
//! the one place that holds AWS credentials.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::config::{Region, SharedHttpClient};
use aws_sdk_cognitoidentityprovider::error::DisplayErrorContext;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use base64::Engine;
use tokio::time::Instant;

use crate::configuration::SignOutSettings;
use crate::signout_limits::SignOutLimits;

/// A client for `AdminUserGlobalSignOut` on one user pool, with the bounds on how often
/// logout may call it (`signout_limits`).
pub struct GlobalSignOut {
    client: Client,
    user_pool_id: String,
    timeout: Duration,
    limits: SignOutLimits,
}

/// Why a sign-out did not happen; shown in the log (never holds a token).
#[derive(Debug, thiserror::Error)]
pub enum SignOutError {
    /// Cognito (or the network, or the credential chain) said no.
    #[error("AdminUserGlobalSignOut failed: {0}")]
    Failed(String),
    /// No answer within the bound.
    #[error("AdminUserGlobalSignOut got no answer in time")]
    TimedOut,
}

impl GlobalSignOut {
    /// A client for `settings.user_pool_id` in `settings.region`, with the standard AWS
    /// credential chain (the ECS task role in the container, env variables in tests).
    pub async fn new(settings: SignOutSettings) -> std::io::Result<Self> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(settings.region))
            .http_client(https_client()?)
            // At most one retry (a dropped connection is worth a second try), all of it
            // inside the bound: logout does not wait longer for Cognito than that.
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_timeout(settings.timeout)
                    .build(),
            )
            .load()
            .await;
        Ok(Self {
            client: Client::new(&config),
            user_pool_id: settings.user_pool_id,
            timeout: settings.timeout,
            limits: SignOutLimits::default(),
        })
    }

    /// Which logouts may call Cognito (per-user debounce, per-task concurrency).
    pub fn limits(&self) -> &SignOutLimits {
        &self.limits
    }

    /// The bound on one sign-out.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Signs `sub` out of every device: revokes its refresh tokens (and the access and ID
    /// tokens Cognito issued). Gives up at `deadline` (and after the configured bound in
    /// any case). `sub` must come from a verified token: Cognito accepts a local user's
    /// `sub` as `Username` ("If username isn't an alias attribute in your user pool, this
    /// value must be the sub of a local user", API reference), and with e-mail usernames
    /// (cfn/app.yaml) the Username *is* the sub.
    pub async fn sign_out(&self, sub: &str, deadline: Instant) -> Result<(), SignOutError> {
        let call = self
            .client
            .admin_user_global_sign_out()
            .user_pool_id(&self.user_pool_id)
            .username(sub)
            .send();
        let deadline = deadline.min(Instant::now() + self.timeout);
        match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(SignOutError::Failed(DisplayErrorContext(&e).to_string())),
            Err(_) => Err(SignOutError::TimedOut),
        }
    }
}

/// The SDK's HTTPS client, trusting Mozilla's root CAs (webpki-root-certs, compiled in)
/// instead of the platform's store: the service runs in a `scratch` image, which has no
/// CA files, so the SDK's default would trust nothing and every call would fail.
fn https_client() -> std::io::Result<SharedHttpClient> {
    let mut roots = TrustStore::empty().with_native_roots(false);
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        roots.add_pem_certificate(pem(der));
    }
    let tls = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .map_err(std::io::Error::other)?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https())
}

/// `der` as a PEM `CERTIFICATE` block (the only form the SDK's trust store takes).
fn pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trust store is built on the first connection, and the SDK panics on a
    /// certificate it cannot parse: one call must reach the network layer and fail there.
    #[tokio::test]
    async fn the_compiled_in_roots_load_and_a_dead_endpoint_is_an_error() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let signout = GlobalSignOut::new(SignOutSettings {
            user_pool_id: "eu-west-1_AbC".into(),
            region: "eu-west-1".into(),
            timeout: Duration::from_secs(2),
        })
        .await
        .unwrap();
        let config = signout
            .client
            .config()
            .to_builder()
            .endpoint_url(format!("https://127.0.0.1:{port}"))
            .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .build();
        let signout = GlobalSignOut {
            client: Client::from_conf(config),
            ..signout
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let err = signout.sign_out("sub", deadline).await.unwrap_err();
        assert!(matches!(err, SignOutError::Failed(_)), "{err}");
    }

    #[test]
    fn pem_is_wrapped_base64() {
        let pem = pem(&[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2], "A".repeat(16));
        assert_eq!(lines[3], "-----END CERTIFICATE-----");
    }
}
