//! The few helpers that more than one of our crates needs and that no single crate owns.
//!
//! Kept deliberately tiny: anything with a natural home (token times in `alb-token`,
//! HTML escaping in the template engine) lives there instead.

/// An error and its causes on one line: `connecting: tcp connect error: Connection refused`.
///
/// hyper's and the SDK's top-level errors alone say little ("client error (Connect)"); the
/// useful part is in the sources.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their source's text in their own; print it once.
        if !out.ends_with(&cause_text) {
            out.push_str(": ");
            out.push_str(&cause_text);
        }
        source = cause.source();
    }
    out
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `kill`, ECS and CI runners send).
///
/// If a handler cannot be installed, that signal is simply not waited for; if neither
/// can, the future never completes (the process then stops only by being killed, which
/// is what it would do without a handler anyway).
#[cfg(feature = "signal")]
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);
    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn the_chain_is_on_one_line_outermost_first() {
        let e = Layer(
            "pushing blob",
            Some(Box::new(Layer(
                "connect",
                Some(Box::new(Layer("refused", None))),
            ))),
        );
        assert_eq!(error_chain(&e), "pushing blob: connect: refused");
    }

    #[test]
    fn a_cause_repeated_in_its_parent_is_printed_once() {
        let e = Layer("io error: refused", Some(Box::new(Layer("refused", None))));
        assert_eq!(error_chain(&e), "io error: refused");
    }

    #[cfg(all(unix, feature = "signal"))]
    #[tokio::test]
    async fn sigterm_completes_the_future() {
        let waiter = tokio::spawn(shutdown_signal());
        // Give the handler time to install before the signal is sent.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .expect("kill runs");
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the future completes on SIGTERM")
            .expect("no panic");
    }
}
