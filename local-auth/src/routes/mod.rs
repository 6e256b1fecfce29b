//! The emulator's own endpoints, all under `/_alb/` so they never collide with the app's
//! paths, the gate every other request passes through, and the load balancer's
//! `/oauth2/idpresponse` callback it hands login-route hosts to.

mod callback;
mod gate;
mod index;
mod keys;
mod login;
mod logout;

pub use gate::gate;
pub use index::index;
pub use keys::public_key;
pub use login::{login_form, login_submit};
pub use logout::logout;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, HeaderValue, LOCATION, SET_COOKIE};
use axum::http::{Response, StatusCode};

/// A `302 Found` to `location`, setting `cookies`, never cached.
fn redirect(location: &str, cookies: Vec<HeaderValue>) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(LOCATION, value);
        }
        // Locations are paths we validated or URLs we parsed; fall back to the root.
        Err(_) => {
            headers.insert(LOCATION, HeaderValue::from_static("/"));
        }
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(SET_COOKIE, cookie);
    }
    response
}
