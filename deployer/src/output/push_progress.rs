//! How a push shows progress on stderr: on a terminal, one indicatif bar (blobs and
//! bytes); in CI or a pipe, one line per blob and per retry, so logs stay short and
//! readable; nothing with `-q`.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oci_push::{BlobOutcome, Digest, Progress};

use super::Printer;

/// Reports push progress to stderr.
pub(crate) struct Reporter {
    mode: Mode,
    state: Mutex<State>,
}

enum Mode {
    Silent,
    Plain,
    Live(ProgressBar),
}

#[derive(Default)]
struct State {
    blobs: usize,
    done: usize,
}

impl Reporter {
    /// The reporter `printer` calls for: a bar on a terminal, lines in CI and pipes,
    /// nothing with `-q`.
    pub(crate) fn new(printer: &Printer) -> Self {
        let mode = if printer.quiet() {
            Mode::Silent
        } else if printer.terminal().live {
            Mode::Live(bar(ProgressDrawTarget::stderr()))
        } else {
            Mode::Plain
        };
        Self {
            mode,
            state: Mutex::new(State::default()),
        }
    }

    /// Clears the live bar, if one was drawn.
    pub(crate) fn finish(&self) {
        if let Mode::Live(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }

    /// A line above the bar or in the log; it may quote a registry's error.
    fn line(&self, text: &str) {
        let text = super::sanitize::terminal(text, false);
        let text = text.as_str();
        match &self.mode {
            Mode::Silent => {}
            // Above the bar, which is redrawn below it.
            Mode::Live(bar) => bar.println(text),
            Mode::Plain => super::stderr(&format!("{text}\n")),
        }
    }
}

fn bar(target: ProgressDrawTarget) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), target);
    bar.set_style(
        ProgressStyle::with_template("pushing: {msg}, {bytes} of {total_bytes} {wide_bar}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

impl Progress for Reporter {
    fn start(&self, count: usize, bytes: u64) {
        let mut state = self.state.lock().expect("progress lock");
        state.blobs = count;
        if let Mode::Live(bar) = &self.mode {
            bar.set_length(bytes);
            bar.set_message(format!("0/{count} blobs"));
        }
    }

    fn blob_bytes(&self, _digest: &Digest, n: u64) {
        if let Mode::Live(bar) = &self.mode {
            bar.inc(n);
        }
    }

    fn blob_finished(&self, digest: &Digest, outcome: BlobOutcome, elapsed: Duration) {
        let mut state = self.state.lock().expect("progress lock");
        state.done += 1;
        if let Mode::Live(bar) = &self.mode {
            bar.set_message(format!("{}/{} blobs", state.done, state.blobs));
            return;
        }
        match outcome {
            BlobOutcome::Skipped => self.line(&format!("blob {} exists, skipped", digest.short())),
            BlobOutcome::Uploaded { bytes } => self.line(&format!(
                "blob {} {} uploaded in {:.1} s",
                digest.short(),
                megabytes(bytes),
                elapsed.as_secs_f64()
            )),
        }
    }

    fn retrying(&self, what: &str, error: &str, delay: Duration) {
        self.line(&format!(
            "{what} failed, retrying in {:.1} s: {error}",
            delay.as_secs_f64()
        ));
    }
}

/// `12.3 MB`.
fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}
