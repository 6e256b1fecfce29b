//! GitHub Actions integration (when `GITHUB_ACTIONS=true`): the step summary, step
//! outputs and error annotations.
//!
//! Untrusted text (see [`super::sanitize`]) reaches each of them cleaned: the summary
//! is Markdown whose values callers put in code spans ([`super::markdown`]), and which
//! is cleaned of control characters and known secrets once more as a whole; an output
//! takes only a plain name, and its value is cleaned; an annotation's title and
//! message are cleaned, then escaped as the toolkit's `issueCommand` does, so no
//! newline, `%0A` or `::` in them can end the command or start another.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::env_flag;

/// Where GitHub wants our summary and outputs.
#[derive(Debug, Clone, Default)]
pub(crate) struct GitHub {
    summary: Option<PathBuf>,
    output: Option<PathBuf>,
}

impl GitHub {
    /// `Some` when running under GitHub Actions.
    pub(crate) fn detect() -> Option<Self> {
        env_flag("GITHUB_ACTIONS").then(|| Self {
            summary: std::env::var_os("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            output: std::env::var_os("GITHUB_OUTPUT").map(PathBuf::from),
        })
    }

    /// Writing to the given files (tests).
    #[cfg(test)]
    pub(crate) fn at(summary: PathBuf, output: PathBuf) -> Self {
        Self {
            summary: Some(summary),
            output: Some(output),
        }
    }

    /// Appends Markdown to the step summary. Untrusted values in it must already be
    /// code spans ([`super::markdown`]); control characters and known secrets are
    /// removed here once more.
    pub(crate) fn summary(&self, markdown: &str) {
        if let Some(path) = &self.summary {
            let markdown = crate::redact::mask_known(&super::sanitize::block(markdown));
            append(path, &markdown);
        }
    }

    /// The run's result to the step summary, in bold. The sentence mixes our words with
    /// untrusted ones (a failure's root cause), so each line is one code span: nothing
    /// in it is rendered as Markdown or HTML.
    pub(crate) fn verdict(&self, verdict: &str) {
        self.summary(&verdict_markdown(verdict));
    }

    /// Sets step outputs (multiline-safe). A name that is not a plain identifier (stack
    /// output names are letters and digits) is left out with a warning: it could not
    /// be referred to, and could break the file's syntax.
    pub(crate) fn outputs(&self, pairs: &[(String, String)]) {
        if let Some(path) = &self.output {
            let mut text = String::new();
            for (name, value) in pairs {
                if is_output_name(name) {
                    let value = super::sanitize::data(value);
                    text.push_str(&format_output(name, &value, &delimiter()));
                } else {
                    super::stderr(&format!(
                        "warning: not setting step output {}: only letters, digits, `-` and `_` may name one\n",
                        super::sanitize::line(name)
                    ));
                }
            }
            append(path, &text);
        }
    }

    /// An error annotation on the workflow run. On stderr: the runner reads workflow
    /// commands from both streams, and stdout may be a JSON document.
    pub(crate) fn error(&self, title: &str, message: &str) {
        super::stderr_raw(&annotation(title, message));
    }
}

/// `**` one code span per line `**`, lines joined by hard breaks.
fn verdict_markdown(verdict: &str) -> String {
    let lines: Vec<String> = verdict
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(super::markdown::code)
        .collect();
    format!("**{}**\n\n", lines.join("  \n"))
}

/// A step output name GitHub accepts and nothing can misread: `[A-Za-z0-9_-]+`.
fn is_output_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The `::error` workflow command for `title` and `message`: both cleaned and masked
/// ([`super::sanitize::data`]), then escaped (`%`, `\r`, `\n`; the title also `:` and
/// `,`), so the command is exactly one line and its text cannot end it.
pub(crate) fn annotation(title: &str, message: &str) -> String {
    format!(
        "::error title={}::{}\n",
        escape_property(&super::sanitize::data(title)),
        escape_data(&super::sanitize::data(message))
    )
}

fn append(path: &Path, text: &str) {
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        super::stderr(&format!("warning: cannot write {}: {e}\n", path.display()));
    }
}

/// A random heredoc delimiter, so no value can end the block early.
fn delimiter() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::getrandom(&mut bytes);
    format!(
        "ghadelimiter_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// `name<<DELIM\nvalue\nDELIM\n`, GitHub's syntax for values that may span lines.
pub(crate) fn format_output(name: &str, value: &str, delimiter: &str) -> String {
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Workflow-command escaping for the message part.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command escaping for property values (`title=…`).
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_use_the_heredoc_syntax() {
        assert_eq!(
            format_output("Url", "a\nb", "EOF1"),
            "Url<<EOF1\na\nb\nEOF1\n"
        );
        assert_ne!(delimiter(), delimiter());
    }

    #[test]
    fn annotations_are_escaped() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
        assert_eq!(
            annotation("T: x", "\x1b[31mbad\x1b[0m\r\n::error::x %0A"),
            "::error title=T%3A x::bad%0A\\::error::x %250A\n"
        );
    }

    #[test]
    fn a_verdict_is_bold_code_spans_one_per_line() {
        assert_eq!(
            verdict_markdown("Deploy of stack app failed: `x` <img src=x>\nroot cause: @octocat"),
            "**`` Deploy of stack app failed: `x` <img src=x> ``  \n` root cause: @octocat `**\n\n"
        );
    }
}
