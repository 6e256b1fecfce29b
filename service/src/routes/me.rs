//! `GET /api/me`: the signed-in user as JSON.

use axum::Json;

use crate::auth::Identity;

/// `sub`, `username`, `email` (when present), `exp` and all `claims`.
pub(crate) async fn me(identity: Identity) -> Json<Identity> {
    Json(identity)
}
