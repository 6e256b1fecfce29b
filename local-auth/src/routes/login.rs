//! `/_alb/login`: the emulated Cognito hosted UI. `GET` shows the form, or, when the
//! browser still has an IdP session, signs straight in as Cognito does; `POST` signs in.
//! Both end with the ALB session cookie and a redirect back to where the user was going;
//! when routing by host, with a redirect to that host's `/oauth2/idpresponse` carrying a
//! one-time code, which sets the cookie on that host (the ALB's cookie is per host).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue};
use axum::http::{Response, StatusCode};
use serde::Deserialize;

use crate::cookies;
use crate::host::request_host_name;
use crate::identity::{Identity, IdentityError};
use crate::proxy::plain;
use crate::return_path::Target;
use crate::rules::Login;
use crate::sessions::IDP_SESSION_TIMEOUT;
use crate::startup::Shared;

/// `templates/login.html`; askama escapes every value and renders each once.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<String>,
    state: &'a str,
    username: &'a str,
    email: &'a str,
}

/// Query of `GET /_alb/login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    /// Where to go afterwards (sealed); absent means `/`.
    state: Option<String>,
}

/// Fields of the login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    #[serde(default)]
    email: Option<String>,
    state: String,
}

/// Shows the form, or signs in silently with a live IdP session.
pub async fn login_form(
    State(app): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response<Body> {
    // Opened without a state: afterwards, go to the first app behind login.
    let state = query.state.unwrap_or_else(|| {
        match app.listener.login_routes().find_map(|r| r.host.as_deref()) {
            Some(host) if app.listener.by_host() => app.return_paths.seal_to(host, "/"),
            _ => app.return_paths.seal("/"),
        }
    });
    let Ok(target) = app.return_paths.open(&state) else {
        return bad_state();
    };
    let remembered = cookies::idp_session(&headers).and_then(|id| app.sessions.idp(id));
    match remembered {
        Some(identity) => land(&app, &headers, identity, &target, &state, None),
        None => page(StatusCode::OK, &state, None, "", ""),
    }
}

/// Signs in: starts the IdP session and the ALB session.
pub async fn login_submit(
    State(app): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response<Body> {
    let Ok(target) = app.return_paths.open(&form.state) else {
        return bad_state();
    };
    let email = form.email.as_deref().unwrap_or("");
    let identity = match Identity::new(&form.username, Some(email)) {
        Ok(identity) => identity,
        Err(e) => {
            return page(
                StatusCode::BAD_REQUEST,
                &form.state,
                Some(e),
                &form.username,
                email,
            );
        }
    };
    let Ok(idp_id) = app.sessions.start_idp(identity.clone()) else {
        return random_failed();
    };
    land(
        &app,
        &headers,
        identity,
        &target,
        &form.state,
        Some(cookies::set_idp(&idp_id, IDP_SESSION_TIMEOUT)),
    )
}

/// Where a login ends: the session cookie on this host when the target is on it, else a
/// one-time code for the target host's `/oauth2/idpresponse` (the cookie then is that
/// host's alone, as the ALB's is).
fn land(
    app: &Shared,
    headers: &HeaderMap,
    identity: Identity,
    target: &Target,
    state: &str,
    idp_cookie: Option<HeaderValue>,
) -> Response<Body> {
    let here = request_host_name(headers).to_ascii_lowercase();
    let host = target.host.clone().unwrap_or_else(|| here.clone());
    let path_only = target.path.split('?').next().unwrap_or("/");
    let Some(route) = app
        .listener
        .find(&host, path_only)
        .filter(|r| r.login == Login::Cognito)
    else {
        // Nothing behind login there: only the IdP session is started.
        return super::redirect(&target.path, idp_cookie.into_iter().collect());
    };
    if host != here {
        let Ok(code) = app.sessions.start_code(identity, &host) else {
            return random_failed();
        };
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", state)
            .finish();
        let authority = match app.listen_port {
            80 => host,
            port => format!("{host}:{port}"),
        };
        let callback = format!("http://{authority}{}?{query}", super::gate::CALLBACK_PATH);
        return super::redirect(&callback, idp_cookie.into_iter().collect());
    }
    let Ok(value) = app.sessions.start_alb(identity, &route.client_id) else {
        return random_failed();
    };
    let mut set = cookies::set_session(
        &value,
        app.sessions.alb_timeout(),
        &cookies::session_shards(headers),
    );
    set.extend(idp_cookie);
    super::redirect(&target.path, set)
}

fn bad_state() -> Response<Body> {
    plain(
        StatusCode::BAD_REQUEST,
        &format!("local-auth: {}\n", crate::return_path::BadState),
    )
}

fn random_failed() -> Response<Body> {
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "local-auth: the system random number generator failed\n",
    )
}

fn page(
    status: StatusCode,
    state: &str,
    error: Option<IdentityError>,
    username: &str,
    email: &str,
) -> Response<Body> {
    let page = LoginPage {
        error: error.map(|e| e.to_string()),
        state,
        username,
        email,
    };
    let Ok(html) = page.render() else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "local-auth: the login page could not be rendered\n",
        );
    };
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
