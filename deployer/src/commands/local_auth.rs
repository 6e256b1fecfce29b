//! `deployer local-auth`: run the local ALB login emulator (crate `local-auth`) in front
//! of an app, so it gets the same login redirect and signed identity headers as behind
//! the load balancer, or route by host to several apps as an environment's listener rules
//! do (`--route`). This module only turns flags into settings and prints; the emulator
//! itself lives in the `local-auth` crate.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use local_auth::config::DEFAULT_SESSION_COOKIE_BYTES;
use local_auth::{Emulator, Login, Route, Settings, StartError, StartInfo};

use crate::error::{CommandResult, Failure};
use crate::output::{OutputFormat, Printer};

/// What `deployer local-auth --help` ends with: routing by host, by example.
const LOCAL_AUTH_HELP: &str = "\
One app behind login (prints `export` lines for it):
  deployer local-auth --upstream http://127.0.0.1:8080

Two services by host, as an environment's listener rules route them: the app behind
login, the public site without (each login route gets its own app client id):
  deployer local-auth --output json \\
    --route app.localhost=http://127.0.0.1:8081 \\
    --route www.localhost=http://127.0.0.1:8082,login=none
  then open http://app.localhost:3000/ and http://www.localhost:3000/ (browsers resolve
  *.localhost to this machine). The JSON's `routes[].env` is each login app's
  environment; start the sample service of a login=none route with LOGIN=none.

--route HOST[/PATH]=URL[,login=cognito|none][,client-id=ID]
  HOST is matched against the Host header's name (no port); a /PATH prefix rule wins over
  the host's whole-host rule; any other host gets 404, like the listener's default
  action. login=none forwards without session or identity headers (client-sent
  x-amzn-oidc-* headers are removed). With routes, the login page is on the emulator's
  own address (as Cognito's hosted UI has its own domain) and each host gets its own
  AWSELBAuthSessionCookie, as on AWS: after logging in on one host, another login host
  signs in without the form, through a quick redirect.";

/// `deployer local-auth`. The global `--output` picks `export` lines for a shell
/// (`text`) or one JSON object on the first line (`json`); the global `-q` turns the
/// request log off.
#[derive(Debug, Args)]
#[command(after_help = LOCAL_AUTH_HELP)]
pub struct LocalAuthArgs {
    /// Loopback address to listen on (the emulator gives an identity to anyone who types
    /// a name, so other addresses are refused).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// The one app to forward authenticated requests to, `http://HOST:PORT`, whatever
    /// the host (or use --route).
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "routes",
        conflicts_with = "routes"
    )]
    pub upstream: Option<String>,

    /// Route one host (or host and path prefix) to an app, behind login or not, as a
    /// service's listener rules do; repeat for each service. See below.
    #[arg(
        long = "route",
        value_name = "HOST[/PATH]=URL[,login=cognito|none][,client-id=ID]"
    )]
    pub routes: Vec<String>,

    /// Load balancer ARN to sign as (the token's `signer`). Default: a generated one.
    #[arg(long, value_name = "ARN")]
    pub alb_arn: Option<String>,

    /// App client id to put in the tokens (`client`) of --upstream. Default: a generated
    /// one. Routes take `client-id=ID`.
    #[arg(long, value_name = "ID", conflicts_with = "routes")]
    pub client_id: Option<String>,

    /// A registered sign-out URL for `/_alb/logout`'s `logout_uri`; repeat for more.
    /// Default: any http(s) URL on a loopback host (with routes: each login route's URL).
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
    /// DNS rebinding. The hosts of routes are allowed already.
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
        OutputFormat::Text if info.is_routed() => routes_text(info),
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

/// With routes, what each one is and the environment its app needs, as comments (one
/// shell cannot take several apps' `export` lines; `--output json` is for scripts).
fn routes_text(info: &StartInfo) -> String {
    let mut text = String::new();
    for route in &info.routes {
        text += &format!(
            "# Open {} (login: {}, forwarding to {}).\n",
            route.url, route.login, route.upstream
        );
        text += &match (&route.env, route.login) {
            (Some(env), _) => format!("#   start that app with: {}\n", env.assignments()),
            (None, Login::None) => {
                "#   no identity reaches that app (the sample service: LOGIN=none)\n".to_string()
            }
            (None, Login::Cognito) => String::new(),
        };
    }
    text
}

/// Flags to settings; every bad value is an input error (exit 64) naming the flag.
fn settings(args: &LocalAuthArgs, quiet: bool) -> Result<Settings, Failure> {
    let mut settings = match &args.upstream {
        Some(upstream) => Settings::new(
            args.listen,
            Settings::parse_upstream(upstream)
                .map_err(|e| Failure::input(format!("--upstream: {e}")))?,
        ),
        None => Settings::routed(
            args.listen,
            args.routes
                .iter()
                .map(|r| Route::parse(r).map_err(|e| Failure::input(format!("--route: {e}"))))
                .collect::<Result<_, _>>()?,
        ),
    };
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
            upstream: Some(upstream.into()),
            routes: Vec::new(),
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
        assert!(s.routes.is_empty());
        assert_eq!(s.upstream.unwrap().as_str(), "http://127.0.0.1:8080/");
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

    #[test]
    fn routes_become_settings_and_bad_ones_name_the_flag() {
        let mut a = args("127.0.0.1:3000", "http://127.0.0.1:8080");
        a.upstream = None;
        a.routes = vec![
            "app.localhost=http://127.0.0.1:8081,client-id=appclient".into(),
            "www.localhost=http://127.0.0.1:8082,login=none".into(),
        ];
        let s = settings(&a, false).unwrap();
        assert!(s.upstream.is_none());
        assert_eq!(s.routes.len(), 2);
        assert_eq!(s.routes[0].client_id.as_deref(), Some("appclient"));
        assert_eq!(s.routes[1].login, Login::None);

        a.routes = vec!["app.localhost:3000=http://127.0.0.1:8081".into()];
        let e = settings(&a, false).unwrap_err();
        assert_eq!(e.kind, FailureKind::Input);
        assert!(
            e.message.starts_with("--route: route `app.localhost:3000="),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_help_teaches_routes_by_example() {
        use clap::CommandFactory;
        let mut help = Vec::new();
        crate::cli::Cli::command()
            .find_subcommand_mut("local-auth")
            .unwrap()
            .write_long_help(&mut help)
            .unwrap();
        let help = String::from_utf8(help).unwrap();
        assert!(
            help.contains("--route www.localhost=http://127.0.0.1:8082,login=none"),
            "{help}"
        );
        assert!(
            help.contains("--route <HOST[/PATH]=URL[,login=cognito|none][,client-id=ID]>"),
            "{help}"
        );
    }

    #[test]
    fn upstream_and_route_are_one_or_the_other() {
        use clap::Parser;
        let parse = |argv: &[&str]| {
            crate::cli::Cli::try_parse_from([&["deployer", "local-auth"], argv].concat())
        };
        assert!(parse(&[]).is_err(), "one of them is needed");
        assert!(
            parse(&[
                "--upstream",
                "http://127.0.0.1:1",
                "--route",
                "a.localhost=http://127.0.0.1:2"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "--route",
                "a.localhost=http://127.0.0.1:2",
                "--client-id",
                "x"
            ])
            .is_err()
        );
        assert!(
            parse(&[
                "--route",
                "a.localhost=http://127.0.0.1:2",
                "--route",
                "b.localhost=http://127.0.0.1:3"
            ])
            .is_ok()
        );
    }
}
