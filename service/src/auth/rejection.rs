//! Why a request is not authenticated, and how that is shown: 401 (HTML for pages,
//! JSON for `/api/*`), or 503 when the key endpoint is down, never a fallback identity.

use axum::Json;
use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::KeyError;

/// What was wrong with the request's identity.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// No `x-amzn-oidc-data` header (or not visible ASCII).
    #[error("no x-amzn-oidc-data header")]
    MissingToken,
    /// More than one `x-amzn-oidc-data` header.
    #[error("more than one x-amzn-oidc-data header")]
    SeveralTokens,
    /// The token is malformed or its signature does not verify.
    #[error("{0}")]
    Token(#[from] alb_token::TokenError),
    /// The header's `signer` is not one of `ALB_ARN`.
    #[error("token signer is not an ALB listed in ALB_ARN")]
    Signer,
    /// The header's `client` is not `COGNITO_CLIENT_ID`.
    #[error("token client is not COGNITO_CLIENT_ID")]
    Client,
    /// The `iss` is not `OIDC_ISSUER`, or payload and header disagree.
    #[error("token issuer {0}")]
    Issuer(&'static str),
    /// The token's `exp` is missing or past.
    #[error("token {0}")]
    Expiry(&'static str),
    /// The claims are not a JSON object with a string `sub`.
    #[error("token claims {0}")]
    Claims(&'static str),
    /// No key for the token's kid.
    #[error("{0}")]
    Key(#[from] KeyError),
}

impl AuthFailure {
    fn status(&self) -> StatusCode {
        match self {
            AuthFailure::Key(KeyError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The rejection of the [`Identity`](super::Identity) extractor.
#[derive(Debug)]
pub struct AuthError {
    failure: AuthFailure,
    for_api: bool,
}

impl AuthError {
    pub(crate) fn new(failure: AuthFailure, for_api: bool) -> Self {
        Self { failure, for_api }
    }

    /// The HTTP status this rejection answers with.
    pub fn status(&self) -> StatusCode {
        self.failure.status()
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.failure.fmt(f)
    }
}

/// The challenge of a 401 (RFC 9110 requires one): the identity comes from the load
/// balancer's signed header, not from credentials the client could send itself.
const CHALLENGE: &str = "ALB-OIDC realm=\"app\", header=\"x-amzn-oidc-data\"";

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = self.body();
        if response.status() == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        }
        response
    }
}

impl AuthError {
    fn body(self) -> Response {
        let status = self.status();
        // Clients learn the category, not the detail (that goes to the log).
        let (code, message) = if status == StatusCode::SERVICE_UNAVAILABLE {
            (
                "unavailable",
                "The sign-in keys cannot be fetched right now. Try again shortly.",
            )
        } else {
            (
                "unauthenticated",
                "You are not signed in, or your sign-in could not be verified.",
            )
        };
        if self.for_api {
            let body = serde_json::json!({ "error": code, "message": message });
            (status, Json(body)).into_response()
        } else {
            let page = format!(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
                 <body><h1>{title}</h1><p>{message}</p><p><a href=\"/\">Try again</a></p></body></html>\n",
                title = if code == "unavailable" {
                    "Service unavailable"
                } else {
                    "Not signed in"
                },
            );
            (status, Html(page)).into_response()
        }
    }
}
