//! Building the app: state, router, listener; serving with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::configuration::{Expected, Login, Settings};
use crate::signout::GlobalSignOut;
use crate::{middleware, routes, telemetry};

/// Where `/logout` sends the browser.
#[derive(Clone)]
pub struct LogoutUrl(pub Arc<str>);

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// Verifies tokens; holds the key cache.
    pub verifier: Arc<Verifier>,
    /// `LOGOUT_URL`.
    pub logout_url: LogoutUrl,
    /// With `USER_POOL_ID`: revokes the user's refresh tokens at logout.
    pub sign_out: Option<Arc<GlobalSignOut>>,
}

impl FromRef<AppState> for Arc<Verifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for LogoutUrl {
    fn from_ref(state: &AppState) -> Self {
        state.logout_url.clone()
    }
}

/// The router with every route and the request log, for `state`.
pub fn router(state: AppState) -> Router {
    with_layers(
        Router::new()
            .route("/", get(routes::page))
            .route("/api/me", get(routes::me))
            .route("/logout", get(routes::logout))
            .route("/healthz", get(routes::health)),
    )
    .with_state(state)
}

/// The router of a service without login (`LOGIN=none`): a public page, the health
/// check, and `/logout` back to the page. No route reads an identity header, so a
/// forged `x-amzn-oidc-data` shows nobody.
pub fn public_router() -> Router {
    with_layers(
        Router::new()
            .route("/", get(routes::public_page))
            .route("/logout", get(routes::public_logout))
            .route("/healthz", get(routes::health)),
    )
}

/// The layers every route has: security headers, panic to 500, request log.
fn with_layers<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        // Outermost last: the log sees the final status, a panic's 500 included.
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::catch_panic))
        .layer(axum::middleware::from_fn(telemetry::log_request))
}

/// A bound, ready-to-run service.
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds `settings.host:settings.port` (port 0 picks a free one) and builds the app.
    pub async fn build(settings: Settings) -> std::io::Result<Self> {
        let address = SocketAddr::new(settings.host, settings.port);
        let listener = TcpListener::bind(address).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {address}: {e} (is PORT in use?)"),
            )
        })?;
        if settings.login == Login::None {
            tracing::info!(
                "LOGIN=none: a public service; no login is in front of it and no identity header is read"
            );
            return Ok(Self {
                listener,
                router: public_router(),
            });
        }
        for (name, expected) in [
            ("COGNITO_CLIENT_ID", &settings.auth.client_id),
            ("OIDC_ISSUER", &settings.auth.issuer),
        ] {
            if *expected == Expected::Any {
                tracing::warn!(
                    variable = name,
                    "{name}=any: this check is off; tokens from every authenticate rule on the listed ALBs are accepted"
                );
            }
        }
        let sign_out = match settings.sign_out {
            Some(sign_out) => {
                tracing::info!(
                    user_pool_id = %sign_out.user_pool_id,
                    "USER_POOL_ID is set: /logout revokes the user's refresh tokens (AdminUserGlobalSignOut)"
                );
                Some(Arc::new(GlobalSignOut::new(sign_out).await?))
            }
            None => None,
        };
        let state = AppState {
            verifier: Arc::new(Verifier::new(settings.auth)),
            logout_url: LogoutUrl(settings.logout_url.into()),
            sign_out,
        };
        Ok(Self {
            listener,
            router: router(state),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting and lets in-flight requests
    /// finish (ECS sends SIGTERM; the target group drains for 10 s meanwhile).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then shuts down gracefully.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tracing::info!(port = self.port(), "listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop)
            .await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Completes on SIGTERM or Ctrl-C, and says so.
async fn shutdown_signal() {
    support::shutdown_signal().await;
    tracing::info!("shutdown signal received, draining");
}
