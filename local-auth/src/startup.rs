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
use crate::environment::{AppEnvironment, StartInfo};
use crate::host::{self, AllowedHosts};
use crate::proxy::{Upstream, plain};
use crate::random::{self, RandomError};
use crate::return_path::ReturnPaths;
use crate::routes;
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
    pub(crate) upstream: Upstream,
    pub(crate) client_id: String,
    pub(crate) logout_urls: Vec<Url>,
    pub(crate) listen_port: u16,
    pub(crate) access_log: bool,
    pub(crate) info: StartInfo,
    pub(crate) allowed_hosts: Arc<AllowedHosts>,
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
        let client_id = match settings.client_id.clone() {
            Some(id) => id,
            None => random::lowercase_alphanumeric(26)?,
        };
        // The issuer names the emulated IdP; the real one is the user pool URL
        // (https://cognito-idp.REGION.amazonaws.com/POOL_ID).
        let issuer = format!("{base}/_alb");
        let minter = TokenMinter::new(alb_arn.clone(), client_id.clone(), issuer.clone())?;
        let logout_uri = settings
            .logout_urls
            .first()
            .map_or_else(|| format!("{base}/"), |u| u.to_string());
        let logout_query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &client_id)
            .append_pair("logout_uri", &logout_uri)
            .finish();
        let info = StartInfo {
            url: format!("{base}/"),
            upstream: settings.upstream.to_string(),
            kid: minter.kid().to_string(),
            env: AppEnvironment {
                ALB_ARN: alb_arn,
                COGNITO_CLIENT_ID: client_id.clone(),
                OIDC_ISSUER: issuer,
                ALB_PUBLIC_KEYS_URL: format!("{base}/_alb/keys"),
                LOGOUT_URL: format!("{base}/_alb/logout?{logout_query}"),
            },
        };
        let shared = Shared {
            sessions: Sessions::new(settings.session_cookie_bytes, settings.session_timeout),
            return_paths: ReturnPaths::new()?,
            minter,
            upstream: Upstream::new(
                &settings.upstream,
                settings.connect_timeout,
                settings.upstream_timeout,
            ),
            client_id,
            logout_urls: settings.logout_urls,
            listen_port: addr.port(),
            access_log: settings.access_log,
            info,
            allowed_hosts: Arc::new(AllowedHosts::new(&settings.allowed_hosts, addr.port())),
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
