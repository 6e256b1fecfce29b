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
#[derive(Debug)]
pub struct Progress {
    live: bool,
    status_shown: bool,
    last_line: Instant,
}

impl Progress {
    /// Progress for the given terminal.
    pub fn new(terminal: Terminal) -> Self {
        Self {
            live: terminal.live,
            status_shown: false,
            last_line: Instant::now(),
        }
    }

    /// A line that stays in the log (an event, a decision).
    pub fn line(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        if self.status_shown {
            let _ = write!(err, "\r\x1b[2K");
            self.status_shown = false;
        }
        let _ = writeln!(err, "{text}");
        self.last_line = Instant::now();
    }

    /// The current state while waiting: redrawn on a terminal; in a log, printed only
    /// when nothing else has been printed for [`HEARTBEAT`].
    pub fn status(&mut self, text: &str) {
        if self.live {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.status_shown = true;
        } else if self.last_line.elapsed() >= HEARTBEAT {
            self.line(text);
        }
    }

    /// Clears the status line so the next output starts on a clean line.
    pub fn finish(&mut self) {
        if self.status_shown {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
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
