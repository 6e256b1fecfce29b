//! How a push shows progress on stderr: on a terminal, one line redrawn in place; in
//! CI or a pipe, one line per blob and per retry, so logs stay short and readable.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use oci_push::{BlobOutcome, Digest, Progress};

/// Reports push progress to stderr.
pub struct Reporter {
    live: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    blobs: usize,
    done: usize,
    total_bytes: u64,
    sent_bytes: u64,
    last_draw: Option<Instant>,
    drew: bool,
}

impl Reporter {
    /// A live line if stderr is a terminal (and `CI` is not set), lines otherwise.
    pub fn for_stderr() -> Self {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        Self {
            live: std::io::stderr().is_terminal() && !ci,
            state: Mutex::new(State::default()),
        }
    }

    /// Clears the live line, if one was drawn.
    pub fn finish(&self) {
        let state = self.state.lock().expect("progress lock");
        if self.live && state.drew {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }

    fn draw(&self, state: &mut State, force: bool) {
        let now = Instant::now();
        if !force
            && state
                .last_draw
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        state.last_draw = Some(now);
        state.drew = true;
        eprint!(
            "\r\x1b[2Kpushing: {}/{} blobs, {} of {}",
            state.done,
            state.blobs,
            megabytes(state.sent_bytes),
            megabytes(state.total_bytes)
        );
        let _ = std::io::stderr().flush();
    }
}

impl Progress for Reporter {
    fn start(&self, count: usize, bytes: u64) {
        let mut state = self.state.lock().expect("progress lock");
        state.blobs = count;
        state.total_bytes = bytes;
        if self.live {
            self.draw(&mut state, true);
        }
    }

    fn blob_bytes(&self, _digest: &Digest, n: u64) {
        if self.live {
            let mut state = self.state.lock().expect("progress lock");
            state.sent_bytes += n;
            self.draw(&mut state, false);
        }
    }

    fn blob_finished(&self, digest: &Digest, outcome: BlobOutcome, elapsed: Duration) {
        let mut state = self.state.lock().expect("progress lock");
        state.done += 1;
        if self.live {
            self.draw(&mut state, true);
            return;
        }
        match outcome {
            BlobOutcome::Skipped => eprintln!("blob {} exists, skipped", digest.short()),
            BlobOutcome::Uploaded { bytes } => {
                eprintln!(
                    "blob {} {} uploaded in {:.1} s",
                    digest.short(),
                    megabytes(bytes),
                    elapsed.as_secs_f64()
                )
            }
        }
    }

    fn retrying(&self, what: &str, error: &str, delay: Duration) {
        let _state = self.state.lock().expect("progress lock");
        if self.live {
            eprint!("\r\x1b[2K");
        }
        eprintln!(
            "{what} failed, retrying in {:.1} s: {error}",
            delay.as_secs_f64()
        );
    }
}

/// `12.3 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
