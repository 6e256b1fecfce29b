//! Building the emulator from [`Settings`]: bind first (so port 0 works and the printed
//! URLs are real), then make the keys, sessions and router, then serve until told to stop.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use url::Url;

use crate::config::{Settings, SettingsError};
use crate::environment::{AppEnvironment, RouteInfo, StartInfo};
use crate::host::{self, AllowedHosts};
use crate::listener::{ActiveRoute, Listener};
use crate::proxy::{Upstream, plain};
use crate::random::{self, RandomError};
use crate::return_path::ReturnPaths;
use crate::routes;
use crate::rules::{Login, Route};
use crate::sessions::Sessions;
use crate::tokens::TokenMinter;

/// How long open requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is unusable.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another port with --listen 127.0.0.1:PORT")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// No randomness for keys and identifiers.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// State shared by every handler.
pub(crate) struct Shared {
    pub(crate) sessions: Sessions,
    pub(crate) return_paths: ReturnPaths,
    pub(crate) minter: TokenMinter,
    pub(crate) listener: Listener,
    /// `http://ADDR`: where the login pages live when routing by host, as Cognito's
    /// hosted UI lives on its own domain.
    pub(crate) own_origin: String,
    pub(crate) listen_port: u16,
    pub(crate) access_log: bool,
    pub(crate) info: StartInfo,
    pub(crate) allowed_hosts: Arc<AllowedHosts>,
}

/// A `--route` ready to serve: its client id (given or generated), its URL and its
/// app's environment. Its sign-out URLs are its own URL plus any `--logout-url`, as a
/// service stack registers `https://HOST/` for its client.
fn activate(
    route: &Route,
    settings: &Settings,
    port: u16,
    env_for: &dyn Fn(&str, &str) -> AppEnvironment,
) -> Result<ActiveRoute, StartError> {
    let authority = if port == 80 {
        route.host.clone()
    } else {
        format!("{}:{port}", route.host)
    };
    let url = format!("http://{authority}{}", route.path.as_deref().unwrap_or("/"));
    let (client_id, env, logout_urls) = match route.login {
        Login::Cognito => {
            let client_id = match route.client_id.clone() {
                Some(id) => id,
                None => random::lowercase_alphanumeric(26)?,
            };
            let mut logout_urls = vec![Url::parse(&url).map_err(|_| SettingsError::Route {
                route: route.target(),
                reason: format!("{url} is not a URL"),
            })?];
            logout_urls.extend(settings.logout_urls.iter().cloned());
            let env = env_for(&client_id, &url);
            (client_id, Some(env), logout_urls)
        }
        Login::None => (String::new(), None, Vec::new()),
    };
    Ok(ActiveRoute {
        host: Some(route.host.clone()),
        path: route.path.clone(),
        login: route.login,
        client_id,
        logout_urls,
        upstream: Upstream::new(
            &route.upstream,
            settings.connect_timeout,
            settings.upstream_timeout,
        ),
        info: RouteInfo {
            host: Some(route.host.clone()),
            path: route.path.clone(),
            url,
            upstream: route.upstream.to_string(),
            login: route.login,
            env,
        },
    })
}

/// A bound, ready-to-run emulator.
pub struct Emulator {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Emulator {
    /// Checks `settings`, binds the listen address and prepares keys and identifiers.
    pub async fn bind(settings: Settings) -> Result<Self, StartError> {
        settings.validate()?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
        let base = format!("http://{addr}");

        let alb_arn = match settings.alb_arn.clone() {
            Some(arn) => arn,
            None => format!(
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/local-auth/{}",
                random::hex(8)?
            ),
        };
        // The issuer names the emulated IdP; the real one is the user pool URL
        // (https://cognito-idp.REGION.amazonaws.com/POOL_ID).
        let issuer = format!("{base}/_alb");
        let minter = TokenMinter::new(alb_arn.clone(), issuer.clone())?;
        let env_for = |client_id: &str, logout_uri: &str| {
            let logout_query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", client_id)
                .append_pair("logout_uri", logout_uri)
                .finish();
            AppEnvironment {
                ALB_ARN: alb_arn.clone(),
                COGNITO_CLIENT_ID: client_id.to_string(),
                OIDC_ISSUER: issuer.clone(),
                ALB_PUBLIC_KEYS_URL: format!("{base}/_alb/keys"),
                LOGOUT_URL: format!("{base}/_alb/logout?{logout_query}"),
            }
        };
        let port = addr.port();
        let mut active = Vec::new();
        if let Some(upstream) = &settings.upstream {
            let client_id = match settings.client_id.clone() {
                Some(id) => id,
                None => random::lowercase_alphanumeric(26)?,
            };
            let logout_uri = settings
                .logout_urls
                .first()
                .map_or_else(|| format!("{base}/"), |u| u.to_string());
            active.push(ActiveRoute {
                host: None,
                path: None,
                login: Login::Cognito,
                info: RouteInfo {
                    host: None,
                    path: None,
                    url: format!("{base}/"),
                    upstream: upstream.to_string(),
                    login: Login::Cognito,
                    env: Some(env_for(&client_id, &logout_uri)),
                },
                client_id,
                logout_urls: settings.logout_urls.clone(),
                upstream: Upstream::new(
                    upstream,
                    settings.connect_timeout,
                    settings.upstream_timeout,
                ),
            });
        }
        for route in &settings.routes {
            active.push(activate(route, &settings, port, &env_for)?);
        }
        let listener_rules = Listener::new(active);
        let infos = listener_rules.infos();
        let first = listener_rules
            .login_routes()
            .next()
            .map(|r| r.info.clone())
            .or_else(|| infos.first().cloned());
        let env = match first.as_ref().and_then(|f| f.env.clone()) {
            Some(env) => env,
            // Only routes without login: nothing signs in, but the shape stays the same.
            None => env_for(&random::lowercase_alphanumeric(26)?, &format!("{base}/")),
        };
        let info = StartInfo {
            url: first
                .as_ref()
                .map_or_else(|| format!("{base}/"), |f| f.url.clone()),
            upstream: first.map(|f| f.upstream).unwrap_or_default(),
            kid: minter.kid().to_string(),
            env,
            routes: infos,
        };
        let mut allowed_hosts = settings.allowed_hosts.clone();
        allowed_hosts.extend(settings.routes.iter().map(|r| r.host.clone()));
        let shared = Shared {
            sessions: Sessions::new(settings.session_cookie_bytes, settings.session_timeout),
            return_paths: ReturnPaths::new()?,
            minter,
            listener: listener_rules,
            own_origin: base.clone(),
            listen_port: port,
            access_log: settings.access_log,
            info,
            allowed_hosts: Arc::new(AllowedHosts::new(&allowed_hosts, port)),
        };
        Ok(Self {
            listener,
            addr,
            shared: Arc::new(shared),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What to print at start: URL to open and the app's environment.
    pub fn start_info(&self) -> &StartInfo {
        &self.shared.info
    }

    /// Serves until `shutdown` completes, then lets open requests finish for up to five
    /// seconds (a streaming response must not keep a Ctrl-C waiting forever).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let server = axum::serve(
            self.listener,
            router(self.shared).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stopped.notified().await })
        .into_future();
        tokio::pin!(server, shutdown);
        tokio::select! {
            result = &mut server => return result,
            () = &mut shutdown => stop.notify_one(),
        }
        match tokio::time::timeout(DRAIN_TIMEOUT, server).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let allowed_hosts = Arc::clone(&shared.allowed_hosts);
    Router::new()
        .route("/_alb", get(routes::index))
        .route("/_alb/", get(routes::index))
        .route(
            "/_alb/login",
            get(routes::login_form).post(routes::login_submit),
        )
        .route("/_alb/keys/{kid}", get(routes::public_key))
        .route("/_alb/logout", get(routes::logout))
        // The whole /_alb/ space is ours: unknown paths there are 404, never the app's.
        .route(
            "/_alb/{*rest}",
            axum::routing::any(|| async {
                plain(
                    axum::http::StatusCode::NOT_FOUND,
                    "local-auth: no such emulator endpoint under /_alb/\n",
                )
            }),
        )
        .fallback(routes::gate)
        // Around everything, the emulator's own endpoints included: nothing is served to
        // a Host we do not answer for.
        .layer(axum::middleware::from_fn_with_state(
            allowed_hosts,
            host::guard,
        ))
        .with_state(shared)
}
