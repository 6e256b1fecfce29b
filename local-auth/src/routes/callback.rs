//! `GET HOST/oauth2/idpresponse?code=…&state=…`: the load balancer's callback, on the
//! host of a login route. When routing by host the login page is on the emulator's own
//! origin, so a login there comes back here with a one-time code; the code becomes this
//! host's ALB session cookie (per host, as on AWS) and the browser goes where it was
//! going.

use axum::body::Body;
use axum::http::header::HeaderMap;
use axum::http::{Response, StatusCode, Uri};

use crate::cookies;
use crate::proxy::plain;
use crate::rules::Login;
use crate::startup::Shared;

/// Redeems the code for `host` and starts that host's session.
pub(crate) fn complete(app: &Shared, host: &str, headers: &HeaderMap, uri: &Uri) -> Response<Body> {
    let query = uri.query().unwrap_or("");
    let field = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let (Some(code), Some(state)) = (field("code"), field("state")) else {
        return refused("the callback needs code= and state= from the login page");
    };
    let Ok(target) = app.return_paths.open(&state) else {
        return refused(&crate::return_path::BadState.to_string());
    };
    if target.host.as_deref() != Some(host) {
        return refused("this login was for another host");
    }
    let Some(identity) = app.sessions.redeem_code(&code, host) else {
        return refused(
            "the code is unknown, used or expired (codes last five minutes and work once)",
        );
    };
    let path_only = target.path.split('?').next().unwrap_or("/");
    let Some(route) = app
        .listener
        .find(host, path_only)
        .filter(|r| r.login == Login::Cognito)
    else {
        return refused("the page this login was for has no login rule");
    };
    let Ok(value) = app.sessions.start_alb(identity, &route.client_id) else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "local-auth: the system random number generator failed\n",
        );
    };
    let set = cookies::set_session(
        &value,
        app.sessions.alb_timeout(),
        &cookies::session_shards(headers),
    );
    super::redirect(&target.path, set)
}

/// 401, as the load balancer answers a callback it cannot complete.
fn refused(why: &str) -> Response<Body> {
    plain(
        StatusCode::UNAUTHORIZED,
        &format!("local-auth: cannot complete the login: {why}; open the app's URL again\n"),
    )
}
