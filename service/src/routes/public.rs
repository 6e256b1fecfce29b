//! The routes of a service without login (`LOGIN=none`): `GET /` says so, `GET /logout`
//! goes back to it. Neither reads a header: behind a forward-only rule anyone can send
//! `x-amzn-oidc-data`, so this service never looks at one.

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};

/// `templates/public.html`.
#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage;

/// The public page.
pub(crate) async fn public_page() -> Response {
    match PublicPage.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering the public page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Nobody is signed in here, so logging out only goes back to the page.
pub(crate) async fn public_logout() -> Response {
    (StatusCode::FOUND, [(LOCATION, "/")]).into_response()
}
