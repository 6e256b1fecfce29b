//! Layers every response passes through: the security headers, and a last-resort
//! catch-panic so one bad request is a 500, not a dead process.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

/// The page has an inline `<style>` and nothing else: no scripts, frames, forms to
/// elsewhere or plugins. `frame-ancestors 'none'` stops other sites from framing it
/// (clickjacking).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers every answer carries:
/// - `Cache-Control: no-store`: pages and `/api/me` show personal data, which no shared
///   or browser cache may keep (a route that sets its own `Cache-Control` keeps it);
/// - `X-Content-Type-Options: nosniff`: the declared type is the type;
/// - `Content-Security-Policy` (above);
/// - `Referrer-Policy: no-referrer`: URLs of this app are not leaked to other sites.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut());
    response
}

fn add_security_headers(headers: &mut HeaderMap) {
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// Turns a panic in a handler into a 500 and a log line. Nothing should panic (token
/// values are checked before use); this is the last resort, and it only works because
/// the release profile unwinds instead of aborting.
pub(crate) async fn catch_panic(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(path = %path, "a handler panicked; answered 500");
            let mut response =
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response();
            add_security_headers(response.headers_mut());
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_with_the_headers() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(axum::middleware::from_fn(super::catch_panic));
        let response = app
            .oneshot(
                axum::http::Request::get("/boom")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}
