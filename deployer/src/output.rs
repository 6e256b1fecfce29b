//! How results are printed: human text (default) or JSON for scripts (`--output json`).
//! Results go to stdout; progress and diagnostics go to stderr, so `--output json`
//! stdout is always one parseable document.

/// The `--output` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document on stdout.
    Json,
}
