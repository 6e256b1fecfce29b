//! Settings from the environment. Every variable the service reads is in [`ENV_VARS`];
//! the README's table documents each and a test checks the CloudFormation task
//! definition sets nothing else.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Every environment variable the service reads.
pub const ENV_VARS: &[&str] = &[
    "PORT",
    "AWS_REGION",
    "ALB_ARN",
    "ALB_PUBLIC_KEYS_URL",
    "COGNITO_CLIENT_ID",
    "OIDC_ISSUER",
    "LOGOUT_URL",
    "RUST_LOG",
];

/// What the service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on: 0.0.0.0 in the container, loopback in tests.
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Token verification settings.
    pub auth: AuthSettings,
    /// Where `/logout` redirects.
    pub logout_url: String,
}

/// What a token must satisfy, and where keys come from.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// ARNs of the load balancers allowed to sign tokens (the header's `signer`).
    pub alb_arns: Vec<String>,
    /// Base URL of the key endpoint; the key for `kid` is at `{base}/{kid}`.
    pub public_keys_url: String,
    /// When set, the header's `client` must equal it.
    pub client_id: Option<String>,
    /// When set, the token's `iss` must equal it.
    pub issuer: Option<String>,
    /// How far past `exp` a token is still accepted (clock skew).
    pub exp_leeway: Duration,
    /// Time limit for one key fetch, connection included.
    pub key_fetch_timeout: Duration,
    /// How long a kid whose fetch failed is refused without asking the endpoint again.
    pub key_failure_ttl: Duration,
}

/// A setting that is missing or malformed; the message says which and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `ALB_ARN` is unset or empty.
    #[error(
        "ALB_ARN is not set: set it to the ARN of the load balancer that signs x-amzn-oidc-data \
         (comma-separated for several), e.g. ALB_ARN=arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/0123456789abcdef"
    )]
    MissingAlbArn,
    /// An `ALB_ARN` entry is not a load balancer ARN.
    #[error(
        "ALB_ARN entry {0:?} is not a load balancer ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID)"
    )]
    BadAlbArn(String),
    /// Neither `ALB_PUBLIC_KEYS_URL` nor `AWS_REGION` is set, so there is no key endpoint.
    #[error("no key endpoint: set AWS_REGION (the ALB's region) or ALB_PUBLIC_KEYS_URL")]
    NoKeyEndpoint,
    /// A URL setting is not http(s).
    #[error("{0} must be an http:// or https:// URL")]
    BadUrl(&'static str),
    /// `PORT` is not a port number.
    #[error("PORT={0:?} is not a port number (0-65535)")]
    BadPort(String),
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let port = match get("PORT") {
            Some(p) => p.parse().map_err(|_| ConfigError::BadPort(p))?,
            None => 8080,
        };
        let alb_arns: Vec<String> = get("ALB_ARN")
            .ok_or(ConfigError::MissingAlbArn)?
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if alb_arns.is_empty() {
            return Err(ConfigError::MissingAlbArn);
        }
        if let Some(bad) = alb_arns
            .iter()
            .find(|a| !a.starts_with("arn:aws") || !a.contains(":elasticloadbalancing:"))
        {
            return Err(ConfigError::BadAlbArn(bad.clone()));
        }
        let public_keys_url = match (get("ALB_PUBLIC_KEYS_URL"), get("AWS_REGION")) {
            (Some(url), _) => url,
            (None, Some(region)) => format!("https://public-keys.auth.elb.{region}.amazonaws.com"),
            (None, None) => return Err(ConfigError::NoKeyEndpoint),
        };
        if !is_http_url(&public_keys_url) {
            return Err(ConfigError::BadUrl("ALB_PUBLIC_KEYS_URL"));
        }
        let logout_url = get("LOGOUT_URL").unwrap_or_else(|| "/".to_owned());
        if !(logout_url.starts_with('/') || is_http_url(&logout_url)) {
            return Err(ConfigError::BadUrl("LOGOUT_URL"));
        }

        Ok(Settings {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            auth: AuthSettings {
                alb_arns,
                public_keys_url: public_keys_url.trim_end_matches('/').to_owned(),
                client_id: get("COGNITO_CLIENT_ID"),
                issuer: get("OIDC_ISSUER"),
                exp_leeway: Duration::from_secs(60),
                key_fetch_timeout: Duration::from_secs(3),
                key_failure_ttl: Duration::from_secs(10),
            },
            logout_url,
        })
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/1";

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn refuses_to_start_without_alb_arn() {
        let err = settings(&[("AWS_REGION", "eu-west-1")]).unwrap_err();
        assert_eq!(err, ConfigError::MissingAlbArn);
        assert!(err.to_string().contains("set it to the ARN"));
        assert_eq!(
            settings(&[("ALB_ARN", " , ")]).unwrap_err(),
            ConfigError::MissingAlbArn
        );
    }

    #[test]
    fn defaults_and_region_key_endpoint() {
        let s = settings(&[("ALB_ARN", ARN), ("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(s.port, 8080);
        assert_eq!(s.logout_url, "/");
        assert_eq!(
            s.auth.public_keys_url,
            "https://public-keys.auth.elb.eu-west-1.amazonaws.com"
        );
        assert_eq!(s.auth.client_id, None);
    }

    #[test]
    fn comma_separated_arns_and_explicit_key_url() {
        let two = format!("{ARN}, {ARN}2");
        let s = settings(&[
            ("ALB_ARN", &two),
            ("ALB_PUBLIC_KEYS_URL", "http://127.0.0.1:9/keys/"),
        ])
        .unwrap();
        assert_eq!(s.auth.alb_arns, vec![ARN.to_string(), format!("{ARN}2")]);
        assert_eq!(s.auth.public_keys_url, "http://127.0.0.1:9/keys");
    }

    #[test]
    fn rejects_malformed_values() {
        assert_eq!(
            settings(&[("ALB_ARN", ARN), ("AWS_REGION", "x"), ("PORT", "http")]).unwrap_err(),
            ConfigError::BadPort("http".into())
        );
        assert_eq!(
            settings(&[("ALB_ARN", ARN)]).unwrap_err(),
            ConfigError::NoKeyEndpoint
        );
        assert!(matches!(
            settings(&[("ALB_ARN", "my-alb"), ("AWS_REGION", "x")]),
            Err(ConfigError::BadAlbArn(_))
        ));
        assert_eq!(
            settings(&[
                ("ALB_ARN", ARN),
                ("AWS_REGION", "x"),
                ("LOGOUT_URL", "javascript:x")
            ])
            .unwrap_err(),
            ConfigError::BadUrl("LOGOUT_URL")
        );
    }
}
