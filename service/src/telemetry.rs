//! Logs: JSON lines on stdout, one per request with status and latency. Tokens are
//! never logged; rejections log the reason only.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber writing to stdout. The level comes from `RUST_LOG`
/// (default `info`). Calling it twice is harmless (the second call does nothing), so
/// tests may call it from every test.
pub fn init_subscriber() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Middleware: one log line per request, after the response is produced. The path is
/// logged without the query string, which could carry anything.
pub async fn log_request(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let latency_us = start.elapsed().as_micros() as u64;
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_us,
        "request"
    );
    response
}
