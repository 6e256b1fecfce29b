//! Every request outside `/_alb/`: the ALB's authenticate action followed by forward.
//! No session → redirect to the login page; a session → forward with identity headers.

use std::net::SocketAddr;
use std::sync::Arc;

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

    let identity =
        cookies::session_value(request.headers()).and_then(|value| app.sessions.alb(&value));
    let Some(identity) = identity else {
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let state = app.return_paths.seal(path);
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &state)
            .finish();
        return super::redirect(&format!("/_alb/login?{query}"), Vec::new());
    };
    let origin = Origin {
        client_ip: peer.ip(),
        listen_port: app.listen_port,
    };
    app.upstream
        .forward(request, origin, app.minter.headers_for(&identity))
        .await
}
