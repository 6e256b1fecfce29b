//! What the user needs after start: the URL to open and the environment for the app
//! behind the emulator, as shell `export` lines or as one JSON object; with routes by
//! host, the same for each route.

use serde::Serialize;

use crate::rules::Login;

/// The upstream app's environment, named as the service reads it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[allow(non_snake_case)] // the field names are the environment variable names
pub struct AppEnvironment {
    /// The load balancer ARN the tokens are signed as (`signer`).
    pub ALB_ARN: String,
    /// The OAuth client id in the tokens (`client`).
    pub COGNITO_CLIENT_ID: String,
    /// The issuer in the tokens (`iss`): `http://ADDR/_alb`.
    pub OIDC_ISSUER: String,
    /// Base URL of the key endpoint; the key is at `BASE/<kid>`.
    pub ALB_PUBLIC_KEYS_URL: String,
    /// Where the app's logout sends the browser to end the IdP session.
    pub LOGOUT_URL: String,
}

/// One route as printed at start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteInfo {
    /// The host name it matches; `None` for the catch-all `--upstream` route.
    pub host: Option<String>,
    /// Its path prefix, if any.
    pub path: Option<String>,
    /// The URL to open in a browser for it.
    pub url: String,
    /// The app it forwards to.
    pub upstream: String,
    /// Whether it logs users in first.
    pub login: Login,
    /// The environment to start its app with (`None` without login: the app gets no
    /// identity; the sample service then wants `LOGIN=none`).
    pub env: Option<AppEnvironment>,
}

/// Everything printed at start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartInfo {
    /// The URL to open in a browser (with routes: the first login route's).
    pub url: String,
    /// The app the emulator forwards to (with routes: that route's).
    pub upstream: String,
    /// The `kid` of the signing key in this run.
    pub kid: String,
    /// The environment to start the upstream app with (with routes: that route's).
    pub env: AppEnvironment,
    /// Every route, in the order the emulator tries them (path rules before whole-host
    /// rules); one catch-all route for `--upstream`.
    pub routes: Vec<RouteInfo>,
}

impl StartInfo {
    /// The environment as `export NAME='value'` lines a POSIX shell can `eval`.
    pub fn export_lines(&self) -> String {
        self.env
            .pairs()
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
            .collect()
    }

    /// Whether the emulator routes by host (`--route`) rather than to one app.
    pub fn is_routed(&self) -> bool {
        self.routes.iter().any(|r| r.host.is_some())
    }
}

impl AppEnvironment {
    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("ALB_ARN", &self.ALB_ARN),
            ("COGNITO_CLIENT_ID", &self.COGNITO_CLIENT_ID),
            ("OIDC_ISSUER", &self.OIDC_ISSUER),
            ("ALB_PUBLIC_KEYS_URL", &self.ALB_PUBLIC_KEYS_URL),
            ("LOGOUT_URL", &self.LOGOUT_URL),
        ]
    }

    /// The environment as one line of `NAME='value'` words, to put before a command.
    pub fn assignments(&self) -> String {
        self.pairs()
            .iter()
            .map(|(name, value)| format!("{name}={}", shell_quote(value)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Single-quotes a value for a POSIX shell (`'` becomes `'\''`).
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lines_quote_values_for_the_shell() {
        let info = StartInfo {
            url: "http://127.0.0.1:3000/".into(),
            upstream: "http://127.0.0.1:8080/".into(),
            kid: "k".into(),
            env: AppEnvironment {
                ALB_ARN: "arn".into(),
                COGNITO_CLIENT_ID: "it's".into(),
                OIDC_ISSUER: "http://127.0.0.1:3000/_alb".into(),
                ALB_PUBLIC_KEYS_URL: "http://127.0.0.1:3000/_alb/keys".into(),
                LOGOUT_URL: "http://127.0.0.1:3000/_alb/logout?client_id=c&logout_uri=x".into(),
            },
            routes: Vec::new(),
        };
        let lines = info.export_lines();
        assert!(
            lines.contains("export COGNITO_CLIENT_ID='it'\\''s'\n"),
            "{lines}"
        );
        assert!(lines.contains(
            "export LOGOUT_URL='http://127.0.0.1:3000/_alb/logout?client_id=c&logout_uri=x'\n"
        ));
        assert_eq!(lines.lines().count(), 5);
        assert!(
            info.env
                .assignments()
                .starts_with("ALB_ARN='arn' COGNITO_CLIENT_ID='it'\\''s' ")
        );
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json["env"]["ALB_PUBLIC_KEYS_URL"],
            "http://127.0.0.1:3000/_alb/keys"
        );
    }
}
