//! Settings from the environment. Every variable the service reads is in [`ENV_VARS`];
//! the README's table documents each and a test checks the CloudFormation task
//! definition sets nothing else.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Every environment variable the service reads.
pub const ENV_VARS: &[&str] = &[
    "PORT",
    "LOGIN",
    "AWS_REGION",
    "ALB_ARN",
    "ALB_PUBLIC_KEYS_URL",
    "COGNITO_CLIENT_ID",
    "OIDC_ISSUER",
    "LOGOUT_URL",
    "USER_POOL_ID",
    "RUST_LOG",
];

/// Variables the service refuses to start without behind login (`LOGIN` unset or
/// `cognito`; the task definition must set them then). With `LOGIN=none` it needs none.
pub const REQUIRED_ENV_VARS: &[&str] = &["ALB_ARN", "COGNITO_CLIENT_ID", "OIDC_ISSUER"];

/// What is in front of the service, from `LOGIN` (deploy.yaml's `login:`; service.yaml
/// sets `LOGIN=none` for a service without login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// The default: an `authenticate-cognito` rule; the service verifies
    /// `x-amzn-oidc-data` and shows who is signed in.
    Cognito,
    /// `LOGIN=none`: a forward-only rule. The service shows a public page and never
    /// reads an identity header (anyone could send one).
    None,
}

/// The value of `COGNITO_CLIENT_ID` or `OIDC_ISSUER` that turns that check off. It must
/// be written out: an unset variable is an error, never "anything goes".
pub const ANY: &str = "any";

/// Longest time ahead an `exp` may be. The ALB's tokens expire 120 s after issue; the
/// rest is room for clock skew. Anything further is not an ALB token (and an `exp` in the
/// year 10000 could not even be shown as a date).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

/// Longest time `/logout` spends ending the Cognito session (verifying the token and
/// `AdminUserGlobalSignOut`, retries included) before it answers anyway.
pub const SIGN_OUT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on: 0.0.0.0 in the container, loopback in tests.
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Behind login or public (`LOGIN`).
    pub login: Login,
    /// Token verification settings (with `LOGIN=none`: unused, and accepting no signer).
    pub auth: AuthSettings,
    /// Where `/logout` redirects: an `https://` URL, a loopback `http://` URL, or a path.
    pub logout_url: String,
    /// `USER_POOL_ID`: when set, `/logout` revokes the user's refresh tokens.
    pub sign_out: Option<SignOutSettings>,
}

/// Where and how long `/logout` calls `AdminUserGlobalSignOut`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOutSettings {
    /// The user pool the ALB's users are in (`REGION_ID`).
    pub user_pool_id: String,
    /// The pool's region: the part of its id before `_`, so it cannot disagree with the pool.
    pub region: String,
    /// Bound on the whole attempt; logout answers when it passes.
    pub timeout: Duration,
}

/// A value a token field must have, or the explicit opt-out [`ANY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The field must equal this.
    Exactly(String),
    /// Any value is accepted (configured as `any`).
    Any,
}

impl Expected {
    /// Whether `value` satisfies this expectation.
    pub fn admits(&self, value: &str) -> bool {
        match self {
            Expected::Exactly(expected) => expected == value,
            Expected::Any => true,
        }
    }
}

/// What a token must satisfy, and where keys come from.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// ARNs of the load balancers allowed to sign tokens (the header's `signer`).
    pub alb_arns: Vec<String>,
    /// Base URL of the key endpoint; the key for `kid` is at `{base}/{kid}`.
    pub public_keys_url: String,
    /// What the header's `client` must be.
    pub client_id: Expected,
    /// What the token's `iss` must be.
    pub issuer: Expected,
    /// How far past `exp` a token is still accepted (clock skew).
    pub exp_leeway: Duration,
    /// How far ahead `exp` may be.
    pub max_token_lifetime: Duration,
    /// Time limit for getting a key for a new kid: waiting for a fetch already under way,
    /// for a free fetch slot and the fetch itself, all together.
    pub key_fetch_timeout: Duration,
    /// How long a kid the endpoint said it does not have (4xx) is refused without asking again.
    pub unknown_kid_ttl: Duration,
    /// How long after an outage (timeout, 5xx, 429, garbage) a kid is asked for again.
    pub outage_backoff: Duration,
    /// How long a fetched key is used before it is fetched again.
    pub key_ttl: Duration,
}

/// A setting that is missing or malformed; the message says which and what to do.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `LOGIN` is neither `cognito` nor `none`.
    #[error(
        "LOGIN={0:?} is not a login mode: set LOGIN=cognito (the default: the load balancer logs users in) or LOGIN=none (a public service without login)"
    )]
    BadLogin(String),
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
    /// `COGNITO_CLIENT_ID` is unset or empty.
    #[error(
        "COGNITO_CLIENT_ID is not set: set it to the user pool app client id of the ALB's authenticate rule \
         (tokens from other rules on the same ALB are then refused), or to `any` to accept every client"
    )]
    MissingClientId,
    /// `OIDC_ISSUER` is unset or empty.
    #[error(
        "OIDC_ISSUER is not set: set it to the user pool URL, e.g. \
         OIDC_ISSUER=https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEfGhI, or to `any` to accept every issuer"
    )]
    MissingIssuer,
    /// Neither `ALB_PUBLIC_KEYS_URL` nor `AWS_REGION` is set, so there is no key endpoint.
    #[error("no key endpoint: set AWS_REGION (the ALB's region) or ALB_PUBLIC_KEYS_URL")]
    NoKeyEndpoint,
    /// `ALB_PUBLIC_KEYS_URL` is not https (or http on loopback).
    #[error(
        "ALB_PUBLIC_KEYS_URL={0:?} must be an https:// URL (plain http:// only to 127.0.0.1, [::1] or localhost): keys fetched over plain HTTP could be swapped on the way"
    )]
    BadKeyUrl(String),
    /// `LOGOUT_URL` could send the browser to a site nobody configured.
    #[error(
        "LOGOUT_URL={0:?} must be an https:// URL (plain http:// only to a loopback host) or a path on this site starting with a single `/`"
    )]
    BadLogoutUrl(String),
    /// `PORT` is not a port number.
    #[error("PORT={0:?} is not a port number (0-65535)")]
    BadPort(String),
    /// `USER_POOL_ID` is not a user pool id.
    #[error(
        "USER_POOL_ID={0:?} is not a user pool id (REGION_ID, e.g. eu-west-1_AbCdEfGhI): set it to the pool the ALB logs users in with, or leave it unset to revoke no tokens at logout"
    )]
    BadUserPoolId(String),
    /// `USER_POOL_ID` names another pool than the one `OIDC_ISSUER` accepts tokens from.
    #[error(
        "USER_POOL_ID={pool:?} is not the pool of OIDC_ISSUER={issuer:?}: logout would sign out a user of another pool; set both to the same pool"
    )]
    UserPoolMismatch {
        /// `USER_POOL_ID`.
        pool: String,
        /// `OIDC_ISSUER`.
        issuer: String,
    },
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
        match get("LOGIN").as_deref() {
            None | Some("cognito") => {}
            Some("none") => return Ok(Self::public(port)),
            Some(other) => return Err(ConfigError::BadLogin(other.to_owned())),
        }
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
        let expected = |value: String| {
            if value == ANY {
                Expected::Any
            } else {
                Expected::Exactly(value)
            }
        };
        let client_id = expected(get("COGNITO_CLIENT_ID").ok_or(ConfigError::MissingClientId)?);
        let issuer = expected(get("OIDC_ISSUER").ok_or(ConfigError::MissingIssuer)?);
        let public_keys_url = match (get("ALB_PUBLIC_KEYS_URL"), get("AWS_REGION")) {
            (Some(url), _) => url,
            (None, Some(region)) => format!("https://public-keys.auth.elb.{region}.amazonaws.com"),
            (None, None) => return Err(ConfigError::NoKeyEndpoint),
        };
        let public_keys_url = secure_url(&public_keys_url)
            .ok_or_else(|| ConfigError::BadKeyUrl(public_keys_url.clone()))?;
        let logout_url = get("LOGOUT_URL").unwrap_or_else(|| "/".to_owned());
        let logout_url = if is_same_site_path(&logout_url) {
            logout_url
        } else {
            secure_url(&logout_url).ok_or(ConfigError::BadLogoutUrl(logout_url))?
        };

        let sign_out = match get("USER_POOL_ID") {
            None => None,
            Some(pool) => Some(sign_out_settings(pool, &issuer)?),
        };

        Ok(Settings {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            login: Login::Cognito,
            auth: AuthSettings::new(
                alb_arns,
                public_keys_url.trim_end_matches('/').to_owned(),
                client_id,
                issuer,
            ),
            logout_url,
            sign_out,
        })
    }

    /// `LOGIN=none`: nothing about the load balancer's login is read. The token settings
    /// accept no signer, so even a mistake that let a route verify a token would find
    /// nobody; `/logout` goes back to `/`.
    fn public(port: u16) -> Self {
        Settings {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
            login: Login::None,
            auth: AuthSettings::new(
                Vec::new(),
                String::new(),
                Expected::Exactly(String::new()),
                Expected::Exactly(String::new()),
            ),
            logout_url: "/".to_owned(),
            sign_out: None,
        }
    }
}

impl AuthSettings {
    /// The given checks with the default time limits.
    fn new(
        alb_arns: Vec<String>,
        public_keys_url: String,
        client_id: Expected,
        issuer: Expected,
    ) -> Self {
        Self {
            alb_arns,
            public_keys_url,
            client_id,
            issuer,
            exp_leeway: Duration::from_secs(60),
            max_token_lifetime: MAX_TOKEN_LIFETIME,
            key_fetch_timeout: Duration::from_secs(3),
            unknown_kid_ttl: Duration::from_secs(10),
            outage_backoff: Duration::from_secs(1),
            key_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// `USER_POOL_ID` checked: Cognito's id pattern (`[\w-]+_[0-9a-zA-Z]+`, at most 55
/// characters) with a region before the `_`, and the pool `OIDC_ISSUER` names if it names one.
fn sign_out_settings(pool: String, issuer: &Expected) -> Result<SignOutSettings, ConfigError> {
    let Some((region, id)) = pool.split_once('_') else {
        return Err(ConfigError::BadUserPoolId(pool));
    };
    let region_ok = region.split('-').count() >= 3
        && region.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && region.ends_with(|c: char| c.is_ascii_digit());
    let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if pool.len() > 55 || !region_ok || !id_ok {
        return Err(ConfigError::BadUserPoolId(pool));
    }
    // A Cognito issuer is https://cognito-idp.REGION.amazonaws.com/POOL_ID.
    if let Expected::Exactly(issuer) = issuer
        && let Some(issuer_pool) = issuer
            .strip_prefix("https://cognito-idp.")
            .and_then(|rest| rest.rsplit_once('/'))
            .map(|(_, pool)| pool)
        && issuer_pool != pool
    {
        return Err(ConfigError::UserPoolMismatch {
            pool,
            issuer: issuer.clone(),
        });
    }
    Ok(SignOutSettings {
        region: region.to_owned(),
        user_pool_id: pool,
        timeout: SIGN_OUT_TIMEOUT,
    })
}

/// `raw` as a normalised URL if it is `https://HOST…`, or `http://` to a loopback host
/// (the local login emulator and tests). Anything else is refused.
fn secure_url(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let loopback = match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => Some(url.into()),
        "http" if loopback => Some(url.into()),
        _ => None,
    }
}

/// A path on this site: `/…`, but not `//host` or `/\host` (browsers read both as
/// another site), and nothing a header cannot carry.
fn is_same_site_path(s: &str) -> bool {
    let b = s.as_bytes();
    b.first() == Some(&b'/')
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && s.bytes().all(|c| c.is_ascii_graphic() && c != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ARN: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/1";

    /// `vars` plus a client id and an issuer unless `vars` names them.
    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut map: HashMap<String, String> = [("COGNITO_CLIENT_ID", "c"), ("OIDC_ISSUER", "i")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        map.retain(|_, v| v != "<unset>");
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
    fn login_none_needs_nothing_about_the_login_and_ignores_it() {
        for vars in [
            vec![
                ("LOGIN", "none"),
                ("COGNITO_CLIENT_ID", "<unset>"),
                ("OIDC_ISSUER", "<unset>"),
            ],
            vec![
                ("LOGIN", " none "),
                ("ALB_ARN", "not-an-arn"),
                ("LOGOUT_URL", "javascript:x"),
            ],
        ] {
            let s = settings(&vars).unwrap();
            assert_eq!(s.login, Login::None);
            assert!(s.auth.alb_arns.is_empty(), "no signer is trusted");
            assert_eq!(s.logout_url, "/");
            assert_eq!(s.sign_out, None);
        }
        let s = settings(&[("LOGIN", "none"), ("PORT", "9000")]).unwrap();
        assert_eq!(s.port, 9000);
        assert_eq!(
            settings(&[("LOGIN", "none"), ("PORT", "x")]).unwrap_err(),
            ConfigError::BadPort("x".into())
        );
    }

    #[test]
    fn login_cognito_is_the_default_and_anything_else_is_refused_by_name() {
        let base = [("ALB_ARN", ARN), ("AWS_REGION", "x")];
        assert_eq!(settings(&base).unwrap().login, Login::Cognito);
        let mut explicit = base.to_vec();
        explicit.push(("LOGIN", "cognito"));
        assert_eq!(settings(&explicit).unwrap().login, Login::Cognito);
        assert_eq!(
            settings(&[("LOGIN", "cognito")]).unwrap_err(),
            ConfigError::MissingAlbArn,
            "LOGIN=cognito still needs the load balancer's values"
        );
        for bad in ["None", "oidc", "off", "false"] {
            let err = settings(&[("LOGIN", bad)]).unwrap_err();
            assert_eq!(err, ConfigError::BadLogin(bad.into()));
            assert!(err.to_string().contains(&format!("LOGIN={bad:?}")), "{err}");
        }
        assert!(ENV_VARS.contains(&"LOGIN"));
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
        assert_eq!(s.auth.client_id, Expected::Exactly("c".into()));
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
            ConfigError::BadLogoutUrl("javascript:x".into())
        );
    }

    #[test]
    fn client_id_and_issuer_are_required_and_any_is_spelled_out() {
        let base = [("ALB_ARN", ARN), ("AWS_REGION", "x")];
        let with = |extra: (&str, &str)| {
            let mut vars = base.to_vec();
            vars.push(extra);
            settings(&vars)
        };
        assert_eq!(
            with(("COGNITO_CLIENT_ID", "<unset>")).unwrap_err(),
            ConfigError::MissingClientId
        );
        assert_eq!(
            with(("OIDC_ISSUER", "  ")).unwrap_err(),
            ConfigError::MissingIssuer
        );
        let any = with(("COGNITO_CLIENT_ID", "any")).unwrap();
        assert_eq!(any.auth.client_id, Expected::Any);
        assert!(any.auth.client_id.admits("whatever"));
        assert!(!Expected::Exactly("a".into()).admits("b"));
    }

    #[test]
    fn logout_and_key_urls_stay_on_https_or_loopback() {
        let base = [("ALB_ARN", ARN), ("AWS_REGION", "x")];
        let logout = |url: &str| {
            let mut vars = base.to_vec();
            vars.push(("LOGOUT_URL", url));
            settings(&vars).map(|s| s.logout_url)
        };
        for ok in [
            "/",
            "/bye?x=1",
            "https://d.auth.eu-west-1.amazoncognito.com/logout?client_id=c",
            "http://127.0.0.1:3000/_alb/logout?client_id=c",
            "http://localhost/x",
        ] {
            assert!(logout(ok).is_ok(), "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil",
            "http://evil.example/",
            "ftp://x",
            "https://",
            "/a b",
        ] {
            assert!(logout(bad).is_err(), "{bad}");
        }
        let keys = |url: &str| settings(&[("ALB_ARN", ARN), ("ALB_PUBLIC_KEYS_URL", url)]);
        assert!(keys("http://10.0.0.1/keys").is_err());
        assert!(keys("http://user:pw@127.0.0.1/keys").is_err());
        assert!(keys("https://keys.example.com/k").is_ok());
        assert!(keys("http://[::1]:9/k").is_ok());
    }

    #[test]
    fn user_pool_id_is_optional_and_checked() {
        let pool = |id: &str, issuer: &str| {
            settings(&[
                ("ALB_ARN", ARN),
                ("AWS_REGION", "x"),
                ("OIDC_ISSUER", issuer),
                ("USER_POOL_ID", id),
            ])
            .map(|s| s.sign_out)
        };
        assert_eq!(pool("<unset>", "i").unwrap(), None);
        assert_eq!(pool(" ", "i").unwrap(), None);
        let on = pool("eu-west-1_AbC123", "any").unwrap().unwrap();
        assert_eq!(on.region, "eu-west-1");
        assert_eq!(on.user_pool_id, "eu-west-1_AbC123");
        assert_eq!(on.timeout, SIGN_OUT_TIMEOUT);
        assert!(pool("us-gov-west-1_x", "i").unwrap().is_some());
        assert!(
            pool(
                "eu-west-1_AbC",
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
            )
            .unwrap()
            .is_some()
        );
        for bad in [
            "AbC123",
            "eu-west-1_",
            "_AbC",
            "eu-west_AbC",
            "EU-WEST-1_AbC",
            "eu-west-1_Ab-C",
            "eu-west-1_AbC/../x",
            &format!("eu-west-1_{}", "a".repeat(50)),
        ] {
            assert_eq!(
                pool(bad, "i").unwrap_err(),
                ConfigError::BadUserPoolId(bad.to_owned()),
                "{bad}"
            );
        }
        let err = pool(
            "eu-west-1_Other",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::UserPoolMismatch { .. }), "{err}");
        assert!(err.to_string().contains("USER_POOL_ID"));
    }
}
