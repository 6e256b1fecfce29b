//! The one output layer: every byte the deployer writes goes through here, and this is
//! the only place that decides how it looks.
//!
//! - **Where we run** ([`Terminal`]): a terminal gets a live progress line (indicatif)
//!   and may be asked questions; CI (`CI` set) and pipes get plain lines with a heartbeat
//!   and are never asked.
//! - **What goes where**: results on stdout (text, or one JSON document with
//!   `--output json`); progress, warnings and errors on stderr.
//! - **Colour** (`--color auto|always|never`): auto colours a stream only when it is a
//!   terminal, never with `NO_COLOR`, always with `CLICOLOR_FORCE`.
//! - **Verbosity**: `-q` hides progress and notes (results, warnings and errors stay);
//!   `-v`/`-vv` show the AWS SDK's own tracing on stderr.
//! - **A closed stdout** (`deployer status | head -1`) is not an error: writes stop
//!   quietly and the command ends with its normal exit code (`println!` would panic,
//!   and the release build aborts on a panic).
//! - **Untrusted text stays text** ([`sanitize`]): everything written to stdout and
//!   stderr passes [`sanitize::terminal`] last (no escape sequences but our colours, no
//!   control characters, no GitHub workflow command, no known secret); the JSON report
//!   has each string cleaned; Markdown gets code spans ([`markdown`]).
//!
//! Modelled on uv's `Printer`: one value, built once from the global flags, handed to
//! every command.

pub(crate) mod changes;
pub(crate) mod github;
pub(crate) mod logs;
pub(crate) mod markdown;
pub(crate) mod preview;
pub(crate) mod progress;
pub(crate) mod prompt;
pub(crate) mod push_progress;
pub(crate) mod release;
pub(crate) mod sanitize;
pub(crate) mod status;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use crate::error::Failure;
pub(crate) use progress::{Progress, format_elapsed};

/// The `--output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The `--color` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour a stream when it is a terminal, unless `NO_COLOR` is set (or
    /// `CLICOLOR_FORCE` asks for colour anyway).
    #[default]
    Auto,
    /// Always colour, even into a pipe or file.
    Always,
    /// Never colour.
    Never,
}

/// Where we run, which decides how progress looks and whether we may ask questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Terminal {
    /// stderr is a terminal (and not CI): progress is one live line redrawn in place.
    pub live: bool,
    /// stdin is a terminal (and not CI): we can ask "Execute change set? [y/N]".
    pub interactive: bool,
    /// CI: never ask, one line per event plus heartbeats.
    pub ci: bool,
}

impl Terminal {
    /// Looks at the real process: TTYs and the `CI` variable.
    pub fn detect() -> Self {
        let ci = is_ci();
        Self {
            live: std::io::stderr().is_terminal() && !ci,
            interactive: std::io::stdin().is_terminal() && !ci,
            ci,
        }
    }
}

/// The one rule for "are we in CI": `CI` is set to anything but empty, `false` or `0`
/// (GitHub Actions, GitLab and most runners set `CI=true`).
pub(crate) fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim();
        !v.is_empty() && !v.eq_ignore_ascii_case("false") && v != "0"
    })
}

/// True when the environment variable is set to `true` or `1` (how GitHub sets
/// `GITHUB_ACTIONS`).
pub(crate) fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Whether to colour a stream, given the flag and whether the stream is a terminal.
/// The flag wins; then `NO_COLOR` (any non-empty value) turns colour off, then
/// `CLICOLOR_FORCE` turns it on, then `CLICOLOR=0` off; else a terminal that is not
/// `TERM=dumb` gets colour.
fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if anstyle_query::no_color() {
                false
            } else if anstyle_query::clicolor_force() {
                true
            } else if anstyle_query::clicolor() == Some(false) {
                false
            } else {
                is_terminal && anstyle_query::term_supports_color()
            }
        }
    }
}

/// Set once stdout turned out to be closed; later writes are skipped.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default();
const BAD: Style = AnsiColor::Red.on_default();
const UNDONE: Style = AnsiColor::Yellow.on_default();

/// How this run talks: built once from the global flags, passed to every command.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    format: OutputFormat,
    terminal: Terminal,
    color_stdout: bool,
    color_stderr: bool,
    quiet: bool,
    verbose: u8,
    /// Results go to stderr too: a step inside a command whose own result is stdout
    /// (`bootstrap` deploys, then prints the `gh` commands).
    results_on_stderr: bool,
}

impl Printer {
    /// Looks at the real process (TTYs, `CI`, `NO_COLOR`, `CLICOLOR_FORCE`) once.
    pub fn detect(format: OutputFormat, color: ColorChoice, quiet: bool, verbose: u8) -> Self {
        Self {
            format,
            terminal: Terminal::detect(),
            color_stdout: use_color(color, std::io::stdout().is_terminal()),
            color_stderr: use_color(color, std::io::stderr().is_terminal()),
            quiet,
            verbose,
            results_on_stderr: false,
        }
    }

    /// This printer for a step whose results are only for people to read: text, on
    /// stderr, so stdout stays the command's own result (e.g. `bootstrap`'s `gh`
    /// commands or its JSON).
    pub(crate) fn results_to_stderr(self) -> Self {
        Self {
            format: OutputFormat::Text,
            color_stdout: self.color_stderr,
            results_on_stderr: true,
            ..self
        }
    }

    /// A plain, colourless, non-interactive printer (CI-like), for tests.
    #[cfg(test)]
    pub(crate) fn plain() -> Self {
        Self {
            format: OutputFormat::Text,
            terminal: Terminal {
                live: false,
                interactive: false,
                ci: true,
            },
            color_stdout: false,
            color_stderr: false,
            quiet: false,
            verbose: 0,
            results_on_stderr: false,
        }
    }

    /// `--output`.
    pub(crate) fn format(&self) -> OutputFormat {
        self.format
    }

    /// Where we run.
    pub(crate) fn terminal(&self) -> Terminal {
        self.terminal
    }

    /// `-q`.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    /// `-v` count.
    pub(crate) fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Writes a result to stdout. A closed stdout (the reader went away) stops further
    /// output quietly; it is not a failure of the command.
    pub(crate) fn stdout(&self, text: &str) {
        self.write_stdout(&sanitize::terminal(text, self.color_stdout));
    }

    /// Writes text that is already safe (see [`Self::stdout`] and [`Self::json`]).
    fn write_stdout(&self, text: &str) {
        if self.results_on_stderr {
            stderr_raw(text);
            return;
        }
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return;
        }
        let mut out = std::io::stdout().lock();
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            // EPIPE (or any other write error): nobody reads us any more.
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }

    /// A result line on stdout, in green when `good` and stdout is coloured.
    pub(crate) fn result_line(&self, text: &str, good: bool) {
        let style = if good && self.color_stdout {
            GOOD
        } else {
            Style::new()
        };
        self.stdout(&format!("{style}{text}{style:#}\n"));
    }

    /// `value` as one pretty JSON document on stdout, every string in it cleaned
    /// ([`sanitize::json`]: a consumer such as `jq -r` or the PR comment gets no escape
    /// sequence, workflow command or known secret). The document as a whole is not
    /// passed through [`sanitize::terminal`], which could mask a secret such as `false`
    /// out of the JSON syntax.
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> Result<(), Failure> {
        self.write_stdout(&json_document(value)?);
        Ok(())
    }

    /// `value` as one compact JSON line on stdout (a stream of objects, e.g. `logs
    /// --output json`), every string in it cleaned as in [`Self::json`].
    pub(crate) fn json_line<T: Serialize>(&self, value: &T) -> Result<(), Failure> {
        let cannot = |e: serde_json::Error| {
            Failure::internal(format!("cannot print the result as JSON: {e}"))
        };
        let mut value = serde_json::to_value(value).map_err(cannot)?;
        sanitize::json(&mut value);
        self.write_stdout(&(serde_json::to_string(&value).map_err(cannot)? + "\n"));
        Ok(())
    }

    /// Whether stdout is coloured (for text a command paints before [`Self::stdout`]).
    pub(crate) fn color_stdout(&self) -> bool {
        self.color_stdout
    }

    /// True once a write found stdout closed (`deployer logs --follow | head`): a
    /// command that would go on writing can stop.
    pub(crate) fn stdout_closed(&self) -> bool {
        STDOUT_CLOSED.load(Ordering::Relaxed)
    }

    /// A note on stderr (what is being done); hidden by `-q`.
    pub(crate) fn note(&self, text: &str) {
        if !self.quiet {
            self.write_stderr(&format!("{text}\n"));
        }
    }

    /// `warning: …` on stderr (kept with `-q`: a warning is something to act on).
    pub(crate) fn warn(&self, text: &str) {
        self.write_stderr(&format!(
            "{}: {text}\n",
            self.paint_stderr(WARNING, "warning")
        ));
    }

    /// `error: …` on stderr.
    pub(crate) fn error(&self, text: &str) {
        self.write_stderr(&format!("{}: {text}\n", self.paint_stderr(ERROR, "error")));
    }

    /// stderr, through [`sanitize::terminal`].
    fn write_stderr(&self, text: &str) {
        stderr_raw(&sanitize::terminal(text, self.color_stderr));
    }

    /// Progress on stderr for this run: a live line on a terminal, plain lines with a
    /// heartbeat elsewhere, nothing with `-q`.
    pub(crate) fn progress(&self) -> Progress {
        if self.quiet {
            Progress::silent()
        } else if self.terminal.live {
            Progress::live_stderr()
        } else {
            Progress::plain(Box::new(std::io::stderr()))
        }
        .colored(self.color_stderr)
    }

    /// `text` in `style` when stderr is coloured.
    fn paint_stderr(&self, style: Style, text: &str) -> String {
        paint(self.color_stderr, style, text)
    }

    /// Sends the AWS SDK's own tracing to stderr: `-v` info, `-vv` debug, `-vvv` trace
    /// for the SDK's crates (and ours). Without `-v` nothing is installed: no cost, no
    /// noise.
    pub(crate) fn install_tracing(&self) {
        let level = match self.verbose {
            0 => return,
            1 => "info",
            2 => "debug",
            _ => "trace",
        };
        let directives = [
            "aws_config",
            "aws_runtime",
            "aws_sigv4",
            "aws_sdk_cloudformation",
            "aws_sdk_ecr",
            "aws_sdk_route53",
            "aws_smithy_runtime",
            "aws_smithy_runtime_api",
            "aws_smithy_http_client",
            "deployer",
        ]
        .map(|target| format!("{target}={level}"))
        .join(",");
        let Ok(filter) = tracing_subscriber::EnvFilter::try_new(format!("warn,{directives}"))
        else {
            return;
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(self.color_stderr)
            .try_init();
    }
}

/// `value` as the pretty JSON document [`Printer::json`] prints (with a final newline),
/// every string in it cleaned ([`sanitize::json`]).
pub(crate) fn json_document<T: Serialize>(value: &T) -> Result<String, Failure> {
    let cannot =
        |e: serde_json::Error| Failure::internal(format!("cannot print the result as JSON: {e}"));
    let mut value = serde_json::to_value(value).map_err(cannot)?;
    sanitize::json(&mut value);
    Ok(serde_json::to_string_pretty(&value).map_err(cannot)? + "\n")
}

/// `text` wrapped in `style`'s escape codes when `color`, else as it is.
pub(crate) fn paint(color: bool, style: Style, text: &str) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

/// Writes untrusted-safe, uncoloured text to stderr (through [`sanitize::terminal`]).
fn stderr(text: &str) {
    stderr_raw(&sanitize::terminal(text, false));
}

/// The colour of a CloudFormation status: failures red, rollbacks yellow, completions
/// green, the rest plain.
pub(crate) fn status_style(status: &str) -> Style {
    if status.ends_with("_FAILED") {
        BAD
    } else if status.contains("ROLLBACK") {
        UNDONE
    } else if status.ends_with("_COMPLETE") {
        GOOD
    } else {
        Style::new()
    }
}

/// Writes `text` to stderr as it is, ignoring errors: a closed stderr must not end the
/// command either. Only for text that is already safe: [`sanitize::terminal`] output,
/// or a workflow command the deployer means to issue ([`github::GitHub::error`]).
fn stderr_raw(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_and_auto_needs_a_terminal() {
        assert!(use_color(ColorChoice::Always, false));
        assert!(!use_color(ColorChoice::Never, true));
        // Whatever NO_COLOR says in this environment, a pipe never gets auto colour
        // unless CLICOLOR_FORCE is set.
        if !anstyle_query::clicolor_force() {
            assert!(!use_color(ColorChoice::Auto, false));
        }
    }

    #[test]
    fn statuses_get_their_colours_and_plain_text_has_no_escapes() {
        assert_eq!(status_style("UPDATE_FAILED"), BAD);
        assert_eq!(status_style("UPDATE_ROLLBACK_COMPLETE"), UNDONE);
        assert_eq!(status_style("CREATE_COMPLETE"), GOOD);
        assert_eq!(paint(false, BAD, "x"), "x");
        assert_eq!(paint(true, BAD, "x"), "\x1b[31mx\x1b[0m");
    }
}
