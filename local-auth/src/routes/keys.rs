//! `GET /_alb/keys/<kid>`: the public key as PEM, like the regional endpoint
//! `https://public-keys.auth.elb.REGION.amazonaws.com/<kid>`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use axum::http::{Response, StatusCode};

use crate::proxy::plain;
use crate::startup::Shared;

/// The PEM for our `kid`; 404 for any other.
pub async fn public_key(State(app): State<Arc<Shared>>, Path(kid): Path<String>) -> Response<Body> {
    if kid != app.minter.kid() {
        return plain(
            StatusCode::NOT_FOUND,
            "local-auth: no key with that id; the current key id is the `kid` in the token header (it changes at every start)\n",
        );
    }
    let mut response = Response::new(Body::from(app.minter.public_key_pem()));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // A kid's key never changes, so caching it is right (the service caches by kid).
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400, immutable"),
    );
    response
}
