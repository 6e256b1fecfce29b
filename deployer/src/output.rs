//! How results are printed: human text (default) or JSON for scripts (`--output json`).
//! Results go to stdout; progress and diagnostics go to stderr, so `--output json`
//! stdout is always one parseable document.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use tokio::time::Instant;

/// The `--output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// Where we run, which decides how progress looks and whether we may ask questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// stderr is a terminal: progress is one status line redrawn in place.
    pub live: bool,
    /// stdin is a terminal: we can ask "Execute change set? [y/N]".
    pub interactive: bool,
    /// `CI=true`: never ask, one line per event plus heartbeats.
    pub ci: bool,
}

impl Terminal {
    /// Looks at the real process: TTYs and the `CI` variable.
    pub fn detect() -> Self {
        let ci = env_flag("CI");
        Self {
            live: std::io::stderr().is_terminal() && !ci,
            interactive: std::io::stdin().is_terminal() && !ci,
            ci,
        }
    }
}

/// True when the environment variable is set to `true` or `1` (how CI systems set `CI`
/// and GitHub sets `GITHUB_ACTIONS`).
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// How often a CI log gets a "still waiting" line while nothing happens, so a silent
/// job is never mistaken for a hung one.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// Progress on stderr: on a terminal a status line redrawn in place, elsewhere one line
/// per event plus a heartbeat at least every [`HEARTBEAT`].
pub struct Progress {
    live: bool,
    status_shown: bool,
    last_line: Instant,
    sink: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Progress on stderr for the given terminal.
    pub fn new(terminal: Terminal) -> Self {
        Self::to(Box::new(std::io::stderr()), terminal.live)
    }

    /// Progress written to `sink` (tests capture it); `live` redraws a status line.
    pub fn to(sink: Box<dyn Write + Send>, live: bool) -> Self {
        Self {
            live,
            status_shown: false,
            last_line: Instant::now(),
            sink,
        }
    }

    /// A line that stays in the log (an event, a decision).
    pub fn line(&mut self, text: &str) {
        self.clear_status();
        let _ = writeln!(self.sink, "{text}");
        let _ = self.sink.flush();
        self.last_line = Instant::now();
    }

    /// The current state while waiting: redrawn on a terminal; in a log, printed only
    /// when nothing else has been printed for [`HEARTBEAT`].
    pub fn status(&mut self, text: &str) {
        if self.live {
            let _ = write!(self.sink, "\r\x1b[2K{text}");
            let _ = self.sink.flush();
            self.status_shown = true;
        } else if self.last_line.elapsed() >= HEARTBEAT {
            self.line(text);
        }
    }

    /// Clears the status line so the next output starts on a clean line.
    pub fn finish(&mut self) {
        self.clear_status();
        let _ = self.sink.flush();
    }

    fn clear_status(&mut self) {
        if self.status_shown {
            let _ = write!(self.sink, "\r\x1b[2K");
            self.status_shown = false;
        }
    }
}

/// Human-friendly elapsed time: `42s`, `3m05s`.
pub fn format_elapsed(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_gets_a_heartbeat_only_after_thirty_quiet_seconds() {
        let out = Captured::default();
        let mut p = Progress::to(Box::new(out.clone()), false);
        p.line("event 1");
        for second in 1..=70 {
            tokio::time::advance(Duration::from_secs(1)).await;
            p.status(&format!("still going {second}"));
        }
        assert_eq!(out.text(), "event 1\nstill going 30\nstill going 60\n");
    }

    #[tokio::test(start_paused = true)]
    async fn a_terminal_gets_one_redrawn_status_line() {
        let out = Captured::default();
        let mut p = Progress::to(Box::new(out.clone()), true);
        p.status("a");
        p.status("b");
        p.line("event");
        p.finish();
        assert_eq!(out.text(), "\r\x1b[2Ka\r\x1b[2Kb\r\x1b[2Kevent\n");
    }

    #[test]
    fn elapsed_times_read_naturally() {
        assert_eq!(format_elapsed(Duration::from_secs(42)), "42s");
        assert_eq!(format_elapsed(Duration::from_secs(185)), "3m05s");
    }
}
