//! `deployer local-auth`: run the local ALB login emulator (crate `local-auth`) in front
//! of an app, so it gets the same login redirect and signed identity headers as behind
//! the load balancer. This module only turns flags into settings and prints; the
//! emulator itself lives in the `local-auth` crate.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use local_auth::config::DEFAULT_SESSION_COOKIE_BYTES;
use local_auth::{Emulator, Settings, StartError};

use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer};

/// `deployer local-auth`. The global `--output` picks `export` lines for a shell
/// (`text`) or one JSON object on the first line (`json`); the global `-q` turns the
/// request log off.
#[derive(Debug, Args)]
pub struct LocalAuthArgs {
    /// Loopback address to listen on (the emulator gives an identity to anyone who types
    /// a name, so other addresses are refused).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The app to forward authenticated requests to, `http://HOST:PORT`.
    #[arg(long, value_name = "URL")]
    pub upstream: String,

    /// Load balancer ARN to sign as (the token's `signer`). Default: a generated one.
    #[arg(long, value_name = "ARN")]
    pub alb_arn: Option<String>,

    /// App client id to put in the tokens (`client`). Default: a generated one.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// A registered sign-out URL for `/_alb/logout`'s `logout_uri`; repeat for more.
    /// Default: any http(s) URL on a loopback host.
    #[arg(long = "logout-url", value_name = "URL")]
    pub logout_urls: Vec<String>,

    /// Size of the session cookie in bytes; above 4 KB it is split into
    /// `AWSELBAuthSessionCookie-0`, `-1`… as the ALB splits it.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_SESSION_COOKIE_BYTES)]
    pub session_cookie_bytes: usize,

    /// Seconds to wait for the app's response before answering 504.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub upstream_timeout: u64,

    /// Another host name to answer for besides `127.0.0.1`, `localhost` and `[::1]`
    /// (e.g. `app.localhost`); repeat for more. Any other `Host` gets 421, which stops
    /// DNS rebinding.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,
}

/// Starts the emulator, prints where to go and the app's environment, and serves until
/// Ctrl-C or SIGTERM.
pub(crate) async fn run(args: LocalAuthArgs, printer: &Printer) -> CommandResult {
    let emulator = Emulator::bind(settings(&args, printer.quiet())?)
        .await
        .map_err(|e| match e {
            StartError::Settings(_) => Failure::input(e.to_string()),
            other => Failure::failed(other.to_string()),
        })?;
    let info = emulator.start_info();
    let printed = match printer.format() {
        OutputFormat::Json => {
            serde_json::to_string(info).map_err(|e| {
                Failure::internal(format!("cannot print the start information: {e}"))
            })? + "\n"
        }
        OutputFormat::Text => format!(
            "# Open {} (the login emulator, forwarding to {}).\n# Start the app with:\n{}",
            info.url,
            info.upstream,
            info.export_lines()
        ),
    };
    // A closed stdout (e.g. piped into `head`) must not stop the emulator: the printer
    // stops writing quietly.
    printer.stdout(&printed);
    printer.note(&format!(
        "local-auth: listening on {}; press Ctrl-C to stop",
        info.url
    ));

    emulator
        .run_until(support::shutdown_signal())
        .await
        .map_err(|e| Failure::failed(format!("the login emulator stopped: {e}")))?;
    printer.note("local-auth: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Flags to settings; every bad value is an input error (exit 64) naming the flag.
fn settings(args: &LocalAuthArgs, quiet: bool) -> Result<Settings, Failure> {
    let upstream = Settings::parse_upstream(&args.upstream)
        .map_err(|e| Failure::input(format!("--upstream: {e}")))?;
    let mut settings = Settings::new(args.listen, upstream);
    settings.alb_arn = args.alb_arn.clone();
    settings.client_id = args.client_id.clone();
    settings.logout_urls = args
        .logout_urls
        .iter()
        .map(|u| {
            Settings::parse_logout_url(u).map_err(|e| Failure::input(format!("--logout-url: {e}")))
        })
        .collect::<Result<_, _>>()?;
    settings.session_cookie_bytes = args.session_cookie_bytes;
    settings.upstream_timeout = Duration::from_secs(args.upstream_timeout.max(1));
    settings.access_log = !quiet;
    settings.allowed_hosts = args.allowed_hosts.clone();
    settings
        .validate()
        .map_err(|e| Failure::input(e.to_string()))?;
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FailureKind;

    fn args(listen: &str, upstream: &str) -> LocalAuthArgs {
        LocalAuthArgs {
            listen: listen.parse().unwrap(),
            upstream: upstream.into(),
            alb_arn: None,
            client_id: None,
            logout_urls: Vec::new(),
            session_cookie_bytes: DEFAULT_SESSION_COOKIE_BYTES,
            upstream_timeout: 60,
            allowed_hosts: Vec::new(),
        }
    }

    #[test]
    fn flags_become_settings() {
        let mut a = args("127.0.0.1:3000", "http://127.0.0.1:8080");
        a.client_id = Some("abc".into());
        a.logout_urls = vec!["http://127.0.0.1:3000/bye".into()];
        let s = settings(&a, false).unwrap();
        assert_eq!(s.client_id.as_deref(), Some("abc"));
        assert_eq!(s.logout_urls[0].as_str(), "http://127.0.0.1:3000/bye");
        assert_eq!(s.upstream.as_str(), "http://127.0.0.1:8080/");
        assert!(s.allowed_hosts.is_empty());

        a.allowed_hosts = vec!["app.localhost".into()];
        assert_eq!(
            settings(&a, false).unwrap().allowed_hosts,
            ["app.localhost"]
        );
    }

    #[test]
    fn bad_flags_are_input_errors_that_name_the_problem() {
        let e = settings(&args("0.0.0.0:3000", "http://127.0.0.1:8080"), false).unwrap_err();
        assert_eq!(e.kind, FailureKind::Input);
        assert!(e.message.contains("loopback"), "{}", e.message);

        let e = settings(&args("127.0.0.1:3000", "https://127.0.0.1:8080"), false).unwrap_err();
        assert_eq!(e.kind, FailureKind::Input);
        assert!(e.message.starts_with("--upstream:"), "{}", e.message);

        let mut a = args("127.0.0.1:3000", "http://127.0.0.1:8080");
        a.logout_urls = vec!["not a url".into()];
        assert!(
            settings(&a, false)
                .unwrap_err()
                .message
                .contains("--logout-url")
        );

        let mut a = args("127.0.0.1:3000", "http://127.0.0.1:8080");
        a.allowed_hosts = vec!["evil.example:80/x".into()];
        assert_eq!(settings(&a, false).unwrap_err().kind, FailureKind::Input);
    }
}
