//! Progress of a CloudFormation operation on stderr: on a terminal a live status line
//! (indicatif) with the events printed above it; in CI or a pipe one line per event plus
//! a heartbeat at least every [`HEARTBEAT`]; nothing with `-q`.

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

/// How often a CI log gets a "still waiting" line while nothing happens, so a silent
/// job is never mistaken for a hung one.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(30);

/// Progress of one run; see the module docs.
pub(crate) struct Progress {
    mode: Mode,
    color: bool,
    last_line: Instant,
}

enum Mode {
    Silent,
    Plain(Box<dyn Write + Send>),
    Live {
        /// Makes the draw target of a new bar (stderr, or an in-memory terminal in tests).
        target: Box<dyn Fn() -> ProgressDrawTarget + Send>,
        bar: ProgressBar,
    },
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Silent => "silent",
            Mode::Plain(_) => "plain",
            Mode::Live { .. } => "live",
        };
        f.debug_struct("Progress")
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

fn spinner(target: ProgressDrawTarget) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

impl Progress {
    /// Prints nothing (`-q`).
    pub(crate) fn silent() -> Self {
        Self::with(Mode::Silent)
    }

    /// Plain lines into `sink`, with heartbeats (CI, pipes; tests capture the sink).
    pub(crate) fn plain(sink: Box<dyn Write + Send>) -> Self {
        Self::with(Mode::Plain(sink))
    }

    /// A live line on stderr.
    pub(crate) fn live_stderr() -> Self {
        Self::live(Box::new(ProgressDrawTarget::stderr))
    }

    /// A live line drawn into whatever `target` makes.
    pub(crate) fn live(target: Box<dyn Fn() -> ProgressDrawTarget + Send>) -> Self {
        let bar = spinner(target());
        Self::with(Mode::Live { target, bar })
    }

    fn with(mode: Mode) -> Self {
        Self {
            mode,
            color: false,
            last_line: Instant::now(),
        }
    }

    /// Whether lines may carry colour (the caller paints; we only carry the decision).
    pub(crate) fn colored(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// True when lines may carry colour escapes.
    pub(crate) fn color(&self) -> bool {
        self.color
    }

    /// A line that stays in the log (an event, a decision), through
    /// [`super::sanitize::terminal`]: it may quote CloudFormation or ECS.
    pub(crate) fn line(&mut self, text: &str) {
        let text = super::sanitize::terminal(text, self.color);
        let text = text.as_str();
        match &mut self.mode {
            Mode::Silent => {}
            Mode::Plain(sink) => {
                let _ = writeln!(sink, "{text}");
                let _ = sink.flush();
            }
            Mode::Live { bar, .. } => bar.println(text),
        }
        self.last_line = Instant::now();
    }

    /// The current state while waiting: redrawn on a terminal; in a log, printed only
    /// when nothing else has been printed for [`HEARTBEAT`].
    pub(crate) fn status(&mut self, text: &str) {
        let text = super::sanitize::terminal(text, self.color);
        let text = text.as_str();
        match &mut self.mode {
            Mode::Silent => {}
            Mode::Plain(_) => {
                if self.last_line.elapsed() >= HEARTBEAT {
                    self.line(text);
                }
            }
            Mode::Live { target, bar } => {
                if bar.is_finished() {
                    *bar = spinner(target());
                }
                bar.set_message(text.to_owned());
                bar.tick();
            }
        }
    }

    /// Clears the live line so the next output (a table, a prompt) starts clean.
    pub(crate) fn finish(&mut self) {
        match &mut self.mode {
            Mode::Silent => {}
            Mode::Plain(sink) => {
                let _ = sink.flush();
            }
            Mode::Live { bar, .. } => bar.finish_and_clear(),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Human-friendly elapsed time: `42s`, `3m05s`.
pub(crate) fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// A sink tests write progress and report lines to and read back.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Captured {
    /// Everything written so far, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    #[tokio::test(start_paused = true)]
    async fn a_log_gets_a_heartbeat_only_after_thirty_quiet_seconds() {
        let out = Captured::default();
        let mut p = Progress::plain(Box::new(out.clone()));
        p.line("event 1");
        for second in 1..=70 {
            tokio::time::advance(Duration::from_secs(1)).await;
            p.status(&format!("still going {second}"));
        }
        assert_eq!(out.text(), "event 1\nstill going 30\nstill going 60\n");
    }

    #[test]
    fn a_terminal_gets_one_live_line_that_events_pass_above_and_finish_clears() {
        let term = InMemoryTerm::new(10, 80);
        let t = term.clone();
        let mut p = Progress::live(Box::new(move || {
            ProgressDrawTarget::term_like(Box::new(t.clone()))
        }));
        p.status("a");
        p.status("b");
        assert!(term.contents().ends_with(" b"), "{:?}", term.contents());
        assert!(!term.contents().contains(" a"), "{:?}", term.contents());
        p.line("event");
        p.finish();
        assert_eq!(term.contents(), "event");
        // After a table or a prompt the live line comes back.
        p.status("c");
        assert!(term.contents().ends_with(" c"), "{:?}", term.contents());
    }

    #[test]
    fn elapsed_times_read_naturally() {
        assert_eq!(format_elapsed(Duration::from_secs(42)), "42s");
        assert_eq!(format_elapsed(Duration::from_secs(185)), "3m05s");
    }
}
