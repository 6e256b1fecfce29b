//! What `deployer preview` prints: `up`'s result (per service its stack, URL, mode,
//! image and state; under GitHub Actions the step outputs `preview-url` and
//! `preview-state` and a job-summary section), `list`'s table, and what `down` and
//! `prune` removed. Text for people, one JSON document with `--output json`.

use serde::Serialize;

use crate::output::markdown::code;
use crate::output::sanitize::line as one_line;
use crate::output::{OutputFormat, Printer};

/// `preview up`'s result.
#[derive(Debug, Default, Serialize)]
pub(crate) struct UpReport {
    /// `application:` of deploy.yaml.
    pub application: String,
    /// The preview environment.
    pub environment: String,
    /// `pr-7`.
    pub preview: String,
    /// The pull request.
    pub pr: u32,
    /// `ready` (every service), `failed`, or `dry-run`.
    pub state: String,
    /// The first service's URL.
    pub url: Option<String>,
    /// Every service, by name.
    pub services: Vec<UpService>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One service of a preview.
#[derive(Debug, Default, Serialize)]
pub(crate) struct UpService {
    /// The service.
    pub service: String,
    /// Its preview stack.
    pub stack_name: String,
    /// The stack's ServiceUrl output.
    pub url: Option<String>,
    /// `express` (created) or `standard` (updated).
    pub mode: String,
    /// The digest-pinned image it runs.
    pub image: Option<String>,
    /// `ready`, `failed`, `not-started` or `dry-run`.
    pub state: String,
    /// Seconds from the start of `preview up` until it was ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_seconds: Option<f64>,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl UpReport {
    /// Prints the result; under GitHub Actions also the step outputs and the summary.
    pub(crate) fn print(&self, printer: &Printer) {
        if let Some(gh) = crate::output::github::GitHub::detect() {
            gh.outputs(&[
                (
                    "preview-url".to_owned(),
                    self.url.clone().unwrap_or_default(),
                ),
                ("preview-state".to_owned(), self.state.clone()),
            ]);
            gh.summary(&self.markdown());
        }
        match printer.format() {
            OutputFormat::Json => {
                if let Err(e) = printer.json(self) {
                    printer.warn(&e.message);
                }
            }
            // Refused before any stack was touched: the error (stderr) says it all; the
            // report above is for the JSON and the pull request's comment.
            OutputFormat::Text if self.services.is_empty() && self.failure.is_some() => {}
            OutputFormat::Text => {
                printer.stdout(&self.text());
                let verdict = match self.state.as_str() {
                    "ready" => format!(
                        "Preview {} is ready: {}",
                        self.preview,
                        self.url.as_deref().unwrap_or("(no URL)")
                    ),
                    "dry-run" => format!(
                        "Dry run: preview {} not changed (change sets deleted).",
                        self.preview
                    ),
                    _ => format!("Preview {} failed.", self.preview),
                };
                printer.result_line(&verdict, self.state != "failed");
            }
        }
    }

    /// The per-service lines.
    pub(crate) fn text(&self) -> String {
        let mut out = format!(
            "\nPreview {} of {} on {}:\n",
            one_line(&self.preview),
            one_line(&self.application),
            one_line(&self.environment)
        );
        for s in &self.services {
            let ready = s
                .ready_seconds
                .map(|t| format!(" in {t:.0}s"))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<12} {:<9} {:<8} {}{ready}  {}\n",
                one_line(&s.service),
                one_line(&s.state),
                one_line(&s.mode),
                one_line(s.url.as_deref().unwrap_or("-")),
                one_line(&s.stack_name),
            ));
            if let Some(image) = &s.image {
                out.push_str(&format!("      image {}\n", one_line(image)));
            }
            if let Some(error) = &s.error {
                for l in error.lines() {
                    out.push_str(&format!("      {}\n", one_line(l)));
                }
            }
        }
        out
    }

    /// The job-summary section.
    pub(crate) fn markdown(&self) -> String {
        let mut out = format!(
            "### Preview {} ({})\n\n| Service | State | Mode | URL |\n|---|---|---|---|\n",
            code(&self.preview),
            code(&self.state)
        );
        for s in &self.services {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&s.service),
                code(&s.state),
                code(&s.mode),
                s.url.as_deref().map(code).unwrap_or_default()
            ));
        }
        if let Some(failure) = &self.failure {
            out.push_str(&format!("\n{}\n", code(failure)));
        }
        out.push('\n');
        out
    }
}

/// `preview list`'s result.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ListReport {
    /// `application:` of deploy.yaml.
    pub application: String,
    /// The preview environment.
    pub environment: String,
    /// `previews.max`.
    pub max: u32,
    /// The live previews, by pull request.
    pub previews: Vec<ListedPreview>,
}

/// One preview in `list`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ListedPreview {
    /// The pull request.
    pub pr: u32,
    /// `pr-7`.
    pub preview: String,
    /// Its services (from its stacks' names).
    pub services: Vec<String>,
    /// The first stack's creation (RFC 3339).
    pub created: String,
    /// The latest update of its stacks (RFC 3339).
    pub updated: String,
    /// Seconds since it was created.
    pub age_seconds: i64,
    /// The commit its stacks record (`deployer:commit`).
    pub commit: Option<String>,
    /// Its stacks' statuses, distinct, joined by `,`.
    pub status: String,
    /// Its services' URLs.
    pub urls: Vec<String>,
}

impl ListReport {
    /// A table (text) or the document (JSON).
    pub(crate) fn print(&self, printer: &Printer) {
        match printer.format() {
            OutputFormat::Json => {
                if let Err(e) = printer.json(self) {
                    printer.warn(&e.message);
                }
            }
            OutputFormat::Text => printer.stdout(&self.text(crate::commands::preview::now_secs())),
        }
    }

    /// The table, ages as of `now` (seconds since the epoch).
    pub(crate) fn text(&self, now: i64) -> String {
        if self.previews.is_empty() {
            return format!(
                "No previews on {} (at most {}).\n",
                one_line(&self.environment),
                self.max
            );
        }
        let mut out = format!(
            "{} preview(s) on {} (at most {}):\n{:<10} {:<16} {:<8} {:<10} {:<13} {:<18} URL\n",
            self.previews.len(),
            one_line(&self.environment),
            self.max,
            "PREVIEW",
            "SERVICES",
            "AGE",
            "UPDATED",
            "COMMIT",
            "STATUS"
        );
        for p in &self.previews {
            let updated = parse_secs(&p.updated).map_or_else(
                || "-".to_owned(),
                |t| format!("{} ago", crate::commands::preview::age(now - t)),
            );
            out.push_str(&format!(
                "{:<10} {:<16} {:<8} {:<10} {:<13} {:<18} {}\n",
                one_line(&p.preview),
                one_line(&p.services.join(",")),
                crate::commands::preview::age(p.age_seconds),
                updated,
                one_line(
                    &p.commit
                        .as_deref()
                        .map(|c| c.chars().take(12).collect::<String>())
                        .unwrap_or_else(|| "-".to_owned())
                ),
                one_line(&p.status),
                one_line(&p.urls.join(" "))
            ));
        }
        out
    }
}

fn parse_secs(rfc3339: &str) -> Option<i64> {
    aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

/// What `down` and `prune` removed (or, with --dry-run, would remove).
#[derive(Debug, Default, Serialize)]
pub(crate) struct RemoveReport {
    /// `application:` of deploy.yaml.
    pub application: String,
    /// The preview environment.
    pub environment: String,
    /// Only listed.
    pub dry_run: bool,
    /// The previews removed (or to remove).
    pub removed: Vec<RemovedPreview>,
    /// The previews left (prune).
    pub kept: Vec<String>,
}

/// One preview removed.
#[derive(Debug, Default, Serialize)]
pub(crate) struct RemovedPreview {
    /// `pr-7`.
    pub preview: String,
    /// The pull request.
    pub pr: u32,
    /// Why it goes (prune): `not kept`, `older than 7d`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its stacks.
    pub stacks: Vec<String>,
    /// Stacks that could not be deleted, with why.
    pub failed: Vec<String>,
}

impl RemoveReport {
    /// Whether a stack could not be deleted.
    pub(crate) fn failed(&self) -> bool {
        self.removed.iter().any(|r| !r.failed.is_empty())
    }

    /// Lines (text) or the document (JSON).
    pub(crate) fn print(&self, printer: &Printer, nothing: &str) {
        match printer.format() {
            OutputFormat::Json => {
                if let Err(e) = printer.json(self) {
                    printer.warn(&e.message);
                }
            }
            OutputFormat::Text => {
                if self.removed.is_empty() {
                    printer.result_line(nothing, true);
                    return;
                }
                let mut out = String::new();
                for r in &self.removed {
                    let why = r
                        .reason
                        .as_deref()
                        .map(|w| format!(" ({})", one_line(w)))
                        .unwrap_or_default();
                    let verb = if self.dry_run {
                        "would remove"
                    } else if r.failed.is_empty() {
                        "removed"
                    } else {
                        "NOT fully removed"
                    };
                    out.push_str(&format!(
                        "{} {verb}{why}: {}\n",
                        one_line(&r.preview),
                        one_line(&r.stacks.join(", "))
                    ));
                    for f in &r.failed {
                        out.push_str(&format!("    {}\n", one_line(f)));
                    }
                }
                if !self.kept.is_empty() {
                    out.push_str(&format!("kept: {}\n", one_line(&self.kept.join(", "))));
                }
                printer.stdout(&out);
                let n = self.removed.len();
                let verdict = if self.dry_run {
                    format!("Dry run: {n} preview(s) would be removed; nothing was changed.")
                } else if self.failed() {
                    "Some preview stacks could not be deleted (see above).".to_owned()
                } else {
                    format!("Removed {n} preview(s).")
                };
                printer.result_line(&verdict, !self.failed());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_text_and_summary_show_every_service() {
        let report = UpReport {
            application: "hello".into(),
            environment: "preview".into(),
            preview: "pr-7".into(),
            pr: 7,
            state: "ready".into(),
            url: Some("https://pr-7-public.preview.example.com/".into()),
            services: vec![UpService {
                service: "web".into(),
                stack_name: "hello-preview-pr-7-web".into(),
                url: Some("https://pr-7-web.preview.example.com/".into()),
                mode: "express".into(),
                image: Some("repo@sha256:ab".into()),
                state: "ready".into(),
                ready_seconds: Some(12.0),
                error: None,
            }],
            failure: None,
        };
        let text = report.text();
        assert!(text.contains("web          ready     express  https://pr-7-web.preview.example.com/ in 12s  hello-preview-pr-7-web"), "{text}");
        let md = report.markdown();
        assert!(
            md.contains(&format!("### Preview {} ({})", code("pr-7"), code("ready"))),
            "{md}"
        );
        assert!(
            md.contains(&format!(
                "| {} | {} | {} | {} |",
                code("web"),
                code("ready"),
                code("express"),
                code("https://pr-7-web.preview.example.com/")
            )),
            "{md}"
        );
    }

    #[test]
    fn list_text_is_a_table() {
        let report = ListReport {
            application: "hello".into(),
            environment: "preview".into(),
            max: 10,
            previews: vec![ListedPreview {
                pr: 7,
                preview: "pr-7".into(),
                services: vec!["public".into(), "web".into()],
                created: "1970-01-01T00:00:00Z".into(),
                updated: "1970-01-01T01:00:00Z".into(),
                age_seconds: 7200,
                commit: Some("0123456789abcdef".into()),
                status: "CREATE_COMPLETE".into(),
                urls: vec!["https://a/".into()],
            }],
        };
        let text = report.text(7200);
        assert!(
            text.starts_with("1 preview(s) on preview (at most 10):"),
            "{text}"
        );
        assert!(text.contains("pr-7       public,web       2h 0m    1h 0m ago  0123456789ab  CREATE_COMPLETE    https://a/"), "{text}");
        let empty = ListReport {
            previews: vec![],
            ..report
        };
        assert_eq!(empty.text(0), "No previews on preview (at most 10).\n");
    }
}
