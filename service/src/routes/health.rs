//! `GET /healthz`: no authentication, ALB target-group health checks carry no identity.

/// Always 200 while the process serves requests.
pub(crate) async fn health() -> &'static str {
    "ok"
}
