//! Every request outside `/_alb/`: the ALB's authenticate action followed by forward.
//! No session → redirect to the login page; a session → forward with identity headers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::Response;

use crate::cookies;
use crate::proxy::{Origin, strip_identity_headers};
use crate::startup::Shared;

/// Authenticates the request, then forwards it or sends the browser to log in.
pub async fn gate(
    State(app): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response<Body> {
    // First, whatever happens next: identity headers only ever come from us.
    strip_identity_headers(request.headers_mut());
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());

    let identity =
        cookies::session_value(request.headers()).and_then(|value| app.sessions.alb(&value));
    let Some(identity) = identity else {
        let return_to = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let state = app.return_paths.seal(return_to);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &state)
            .finish();
        let response = super::redirect(&format!("/_alb/login?{query}"), Vec::new());
        if app.access_log {
            eprintln!("local-auth: {method} {path} -> 302 to the login page (no session)");
        }
        return response;
    };
    let origin = Origin {
        client_ip: peer.ip(),
        listen_port: app.listen_port,
    };
    let response = app
        .upstream
        .forward(request, origin, app.minter.headers_for(&identity))
        .await;
    if app.access_log {
        // The path only: queries can carry tokens and personal data.
        eprintln!(
            "local-auth: {method} {path} -> {} as {} ({} ms)",
            response.status().as_u16(),
            identity.username(),
            started.elapsed().as_millis()
        );
    }
    response
}
