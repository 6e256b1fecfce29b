//! Ctrl-C and SIGTERM, for every subcommand that must react to them (a deploy cancels
//! or cleans up, `local-auth` shuts down gracefully).

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `kill` and CI runners send). If the
/// handlers cannot be installed, never completes.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => if r.is_err() { std::future::pending::<()>().await },
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
