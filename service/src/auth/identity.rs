//! The verified identity, and its extractor.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::Serialize;

use super::rejection::{AuthError, AuthFailure};
use super::{TOKEN_HEADER, Verifier};

/// A user whose token verified: signature, signer, client, issuer, expiry and `sub`.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// The user's stable id.
    pub sub: String,
    /// `username` claim, when present (Cognito sends it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `email` claim, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Every claim of the token as sent.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Identity {
    /// The name to greet the user with: username, else email, else sub.
    pub fn display_name(&self) -> &str {
        self.username
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.sub)
    }
}

impl<S> FromRequestParts<S> for Identity
where
    Arc<Verifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let for_api = parts.uri.path().starts_with("/api/");
        let reject = |failure: AuthFailure| {
            // The reason, never the token.
            tracing::info!(path = parts.uri.path(), reason = %failure, "authentication failed");
            AuthError::new(failure, for_api)
        };
        let token = the_token(&parts.headers).map_err(reject)?;
        let verifier = Arc::<Verifier>::from_ref(state);
        verifier.verify(token).await.map_err(reject)
    }
}

/// The request's one `x-amzn-oidc-data` value. Exactly one: with two, which one a proxy
/// or a framework reads is anyone's guess.
pub(crate) fn the_token(headers: &HeaderMap) -> Result<&str, AuthFailure> {
    let mut sent = headers.get_all(TOKEN_HEADER).iter();
    match (sent.next(), sent.next()) {
        (None, _) => Err(AuthFailure::MissingToken),
        (Some(_), Some(_)) => Err(AuthFailure::SeveralTokens),
        (Some(value), None) => value.to_str().map_err(|_| AuthFailure::MissingToken),
    }
}
