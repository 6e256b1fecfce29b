//! `GET /_alb/`: what this emulator is configured with, as JSON (the same object
//! `--output json` prints at start).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::environment::StartInfo;
use crate::startup::Shared;

/// The start information.
pub async fn index(State(app): State<Arc<Shared>>) -> Json<StartInfo> {
    Json(app.info.clone())
}
