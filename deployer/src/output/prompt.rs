//! The one y/N question, shared by `deploy` ("Execute change set?") and `destroy`
//! ("Delete stack …?").

use std::future::Future;
use std::io::BufRead;

use super::Terminal;
use crate::error::Failure;

/// Whether "Execute change set?" is asked: not with `--yes`, never in CI.
pub(crate) fn asks_to_execute(terminal: Terminal, yes: bool) -> bool {
    !yes && !terminal.ci
}

/// Refuses (bad input) to start a run that would have to ask "Execute change set?"
/// with nobody to answer: no `--yes`, not CI, stdin not a terminal. `or` is what else
/// the command offers, e.g. `, or --dry-run to only look`.
pub(crate) fn check_someone_answers(
    terminal: Terminal,
    yes: bool,
    or: &str,
) -> Result<(), Failure> {
    if asks_to_execute(terminal, yes) && !terminal.interactive {
        return Err(Failure::input(format!(
            "not on a terminal, so there is nobody to confirm the change set: pass --yes to execute \
             without asking (or set CI=true){or}"
        )));
    }
    Ok(())
}

/// Asks `question` on stderr and reads the answer from stdin. `Some(true)` only for
/// `y`/`yes` (any case); `Some(false)` for anything else, including an empty line or end
/// of input; `None` when `interrupt` completes first (Ctrl-C at the prompt).
pub(crate) async fn confirm<I>(question: &str, interrupt: I) -> Result<Option<bool>, Failure>
where
    I: Future<Output = ()>,
{
    super::stderr(&format!("{question} [y/N] "));
    // Read on a blocking thread so Ctrl-C at the prompt is seen (our signal handler
    // replaced the default one that would have ended the process). The thread stays
    // blocked on stdin after an interrupt; the runtime is shut down without waiting.
    let reading = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map(|_| answer)
    });
    let answer = tokio::select! {
        read = reading => read
            .map_err(|e| Failure::internal(format!("reading the answer: {e}")))?
            .map_err(|e| Failure::failed(format!("reading the answer: {e}")))?,
        () = interrupt => return Ok(None),
    };
    Ok(Some(is_yes(&answer)))
}

/// The answers that mean yes.
fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_means_yes() {
        for yes in ["y\n", "Y", " yes \n", "YES"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y y"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
