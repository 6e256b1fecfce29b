//! What the user needs after start: the URL to open and the environment for the app
//! behind the emulator, as shell `export` lines or as one JSON object.

use serde::Serialize;

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

/// Everything printed at start.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartInfo {
    /// The URL to open in a browser.
    pub url: String,
    /// The app the emulator forwards to.
    pub upstream: String,
    /// The `kid` of the signing key in this run.
    pub kid: String,
    /// The environment to start the upstream app with.
    pub env: AppEnvironment,
}

impl StartInfo {
    /// The environment as `export NAME='value'` lines a POSIX shell can `eval`.
    pub fn export_lines(&self) -> String {
        let e = &self.env;
        [
            ("ALB_ARN", &e.ALB_ARN),
            ("COGNITO_CLIENT_ID", &e.COGNITO_CLIENT_ID),
            ("OIDC_ISSUER", &e.OIDC_ISSUER),
            ("ALB_PUBLIC_KEYS_URL", &e.ALB_PUBLIC_KEYS_URL),
            ("LOGOUT_URL", &e.LOGOUT_URL),
        ]
        .iter()
        .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
        .collect()
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
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json["env"]["ALB_PUBLIC_KEYS_URL"],
            "http://127.0.0.1:3000/_alb/keys"
        );
    }
}
