//! GitHub Actions integration (when `GITHUB_ACTIONS=true`): the step summary, step
//! outputs and error annotations.

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

    /// Appends Markdown to the step summary.
    pub(crate) fn summary(&self, markdown: &str) {
        if let Some(path) = &self.summary {
            append(path, markdown);
        }
    }

    /// The run's one-line result, in bold, to the step summary (line breaks kept).
    pub(crate) fn verdict(&self, verdict: &str) {
        self.summary(&format!("**{}**\n\n", verdict.replace('\n', "  \n")));
    }

    /// Sets step outputs (multiline-safe).
    pub(crate) fn outputs(&self, pairs: &[(String, String)]) {
        if let Some(path) = &self.output {
            let text: String = pairs
                .iter()
                .map(|(name, value)| format_output(name, value, &delimiter()))
                .collect();
            append(path, &text);
        }
    }

    /// An error annotation on the workflow run. On stderr: the runner reads workflow
    /// commands from both streams, and stdout may be a JSON document.
    pub(crate) fn error(&self, title: &str, message: &str) {
        super::stderr(&format!(
            "::error title={}::{}\n",
            escape_property(title),
            escape_data(message)
        ));
    }
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
    }
}
