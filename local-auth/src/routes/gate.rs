//! Every request outside `/_alb/`: the listener's rules. The rule for the request's host
//! and path either forwards straight away (`login=none`) or is the ALB's authenticate
//! action followed by forward: no session → redirect to the login page; a session →
//! forward with identity headers. No rule → the listener's default 404.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Response, StatusCode};

use crate::cookies;
use crate::host::request_host_name;
use crate::listener::ActiveRoute;
use crate::proxy::{Origin, plain, strip_identity_headers};
use crate::rules::Login;
use crate::startup::Shared;

/// The load balancer's own callback path on every host with an authenticate rule.
pub(crate) const CALLBACK_PATH: &str = "/oauth2/idpresponse";

/// Finds the rule, authenticates if it says so, then forwards or sends the browser to
/// log in.
pub async fn gate(
    State(app): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response<Body> {
    // First, whatever happens next: identity headers only ever come from us.
    strip_identity_headers(request.headers_mut());
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let host = request_host_name(request.headers()).to_ascii_lowercase();

    // The load balancer answers its callback on every host with a login rule, whichever
    // path rule started the login.
    if path == CALLBACK_PATH && app.listener.has_login_host(&host) {
        return super::callback::complete(&app, &host, request.headers(), request.uri());
    }
    let Some(route) = app.listener.find(&host, &path) else {
        if app.access_log {
            eprintln!("local-auth: {method} {host}{path} -> 404 (no route for this host)");
        }
        return plain(
            StatusCode::NOT_FOUND,
            &format!(
                "local-auth: no route for host {host} and path {path}; like the load balancer's default action this answers 404 (routes: {})\n",
                app.listener.listing()
            ),
        );
    };
    let identity = match route.login {
        Login::None => None,
        Login::Cognito => {
            let session = cookies::session_value(request.headers())
                .and_then(|value| app.sessions.alb(&value, &route.client_id));
            match session {
                Some(identity) => Some(identity),
                None => {
                    let return_to = request.uri().path_and_query().map_or("/", |p| p.as_str());
                    if app.access_log {
                        eprintln!(
                            "local-auth: {method} {path} -> 302 to the login page (no session)"
                        );
                    }
                    return to_login(&app, route, &host, return_to);
                }
            }
        }
    };
    let origin = Origin {
        client_ip: peer.ip(),
        listen_port: app.listen_port,
    };
    let headers = identity
        .as_ref()
        .map(|identity| app.minter.headers_for(identity, &route.client_id));
    let response = route.upstream.forward(request, origin, headers).await;
    if app.access_log {
        // The path only: queries can carry tokens and personal data.
        let who = identity
            .as_ref()
            .map_or_else(|| "no login".to_string(), |i| i.username().to_string());
        eprintln!(
            "local-auth: {method} {path} -> {} as {who} ({} ms)",
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    response
}

/// The redirect to the login page. With one app it is on the same host (`/_alb/login`);
/// with rules by host it is on the emulator's own origin, as Cognito's hosted UI is on
/// its own domain, and the state names the host to come back to.
fn to_login(app: &Shared, route: &ActiveRoute, host: &str, return_to: &str) -> Response<Body> {
    let (prefix, state) = match route.host {
        None => (String::new(), app.return_paths.seal(return_to)),
        Some(_) => (
            app.own_origin.clone(),
            app.return_paths.seal_to(host, return_to),
        ),
    };
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .finish();
    super::redirect(&format!("{prefix}/_alb/login?{query}"), Vec::new())
}
