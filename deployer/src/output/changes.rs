//! The change tables: what a change set does, as plain text for people (stdout, or
//! stderr beside JSON) and as Markdown for the GitHub step summary. Every value from a
//! change set or a template is cleaned (`sanitize::line`) or a code span
//! (`markdown`), so nothing in it acts on the terminal or renders as HTML.

use crate::cfn::change_set::ResourceChange;
use crate::engine::ParameterChange;
use crate::output::markdown::{cell, words};
use crate::output::sanitize::line as one_line;

/// Longest value shown in the text table (JSON has them whole, as CloudFormation
/// gave them).
const TEXT_VALUE_MAX: usize = 200;
/// The GitHub step summary holds at most 1 MiB per step: at most this many resources
/// (as aws-actions lists 50), this many properties each, values cut to this length.
/// 50 × 10 × ~300 bytes stays far below the limit.
const SUMMARY_ROWS: usize = 50;
const SUMMARY_DETAILS: usize = 10;
const SUMMARY_VALUE_MAX: usize = 120;

/// Why many resources change their tags at once.
const TAGS_ONLY_WHY: &str = "stack tags are copied to every taggable resource";
/// At most this many logical ids are named on the folded tags-only line.
const TAGS_ONLY_NAMES: usize = 10;

/// The one line that stands for every Tags-only row.
fn tags_only_line(rows: &[&ResourceChange]) -> String {
    format!(
        "Tags only ({TAGS_ONLY_WHY}): {} resource{}: {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        names(rows)
    )
}

/// The first logical ids of `rows` (cleaned), then "… and N more".
fn names(rows: &[&ResourceChange]) -> String {
    let mut names: Vec<String> = rows
        .iter()
        .take(TAGS_ONLY_NAMES)
        .map(|c| one_line(&c.logical_id))
        .collect();
    let more = rows.len().saturating_sub(TAGS_ONLY_NAMES);
    let more = format!("… and {more} more");
    if rows.len() > TAGS_ONLY_NAMES {
        names.push(more);
    }
    names.join(", ")
}

/// How a NoEcho parameter that keeps its value (`UsePreviousValue`) is shown.
const KEPT: &str = "unchanged (NoEcho, previous value kept)";

/// The plain-text table shown before executing. Every cell is one line of cleaned
/// text (`output::sanitize::line`), so the table keeps its shape and nothing in it
/// acts on the terminal.
pub(crate) fn render_text(changes: &[ResourceChange], parameters: &[ParameterChange]) -> String {
    let mut out = String::new();
    if !parameters.is_empty() {
        out.push_str("Parameters:\n");
        for p in parameters {
            if p.previous_value_kept {
                out.push_str(&format!("  {}: {KEPT}\n", one_line(&p.name)));
                continue;
            }
            out.push_str(&format!(
                "  {}: {} → {}\n",
                one_line(&p.name),
                one_line(p.old.as_deref().unwrap_or("(none)")),
                one_line(&p.new)
            ));
        }
    }
    let (tags_only, changes): (Vec<&ResourceChange>, Vec<&ResourceChange>) =
        changes.iter().partition(|c| c.is_tags_only());
    if changes.is_empty() && tags_only.is_empty() {
        out.push_str("Resource changes: none\n");
        return out;
    }
    if !tags_only.is_empty() {
        out.push_str(&format!("{}\n", tags_only_line(&tags_only)));
    }
    if changes.is_empty() {
        return out;
    }
    let headers = ["Action", "Logical ID", "Type", "Replacement"];
    let owned: Vec<[String; 4]> = changes
        .iter()
        .map(|c| {
            [
                one_line(&c.effect()),
                one_line(&c.logical_id),
                one_line(&c.resource_type),
                if c.replacement.is_empty() {
                    "-".to_owned()
                } else {
                    one_line(&c.replacement)
                },
            ]
        })
        .collect();
    let cells: Vec<[&str; 4]> = owned
        .iter()
        .map(|r| [r[0].as_str(), r[1].as_str(), r[2].as_str(), r[3].as_str()])
        .collect();
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: [&str; 4]| {
        let mut s = String::new();
        for (i, cell) in r.iter().enumerate() {
            s.push_str(&format!("{cell:<width$}  ", width = widths[i]));
        }
        s.trim_end().to_owned() + "\n"
    };
    out.push_str(&line(headers));
    for (c, r) in changes.iter().zip(cells) {
        out.push_str(&line(r));
        for d in &c.details {
            out.push_str(&format!("    {}\n", one_line(&d.line(TEXT_VALUE_MAX))));
        }
    }
    out
}

/// The same table as Markdown, for the GitHub step summary: every value from the
/// change set or the template is a code span (`output::markdown`), so no HTML, link,
/// image, mention or reference in it is rendered.
pub(crate) fn render_markdown(
    changes: &[ResourceChange],
    parameters: &[ParameterChange],
) -> String {
    let mut out = String::new();
    if !parameters.is_empty() {
        out.push_str("| Parameter | Old | New |\n|---|---|---|\n");
        for p in parameters {
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                words(&p.name),
                words(p.old.as_deref().unwrap_or("")),
                if p.previous_value_kept {
                    KEPT.to_owned()
                } else {
                    words(&p.new)
                }
            ));
        }
        out.push('\n');
    }
    let (tags_only, changes): (Vec<&ResourceChange>, Vec<&ResourceChange>) =
        changes.iter().partition(|c| c.is_tags_only());
    out.push_str("| Action | Logical ID | Type | Replacement | Changes |\n|---|---|---|---|---|\n");
    if !tags_only.is_empty() {
        out.push_str(&format!(
            "| Modify (tags only) | {} |  |  | {TAGS_ONLY_WHY} |\n",
            words(&names(&tags_only)),
        ));
    }
    for c in changes.iter().take(SUMMARY_ROWS) {
        let mut lines: Vec<String> = c
            .details
            .iter()
            .take(SUMMARY_DETAILS)
            .map(|d| cell(&d.line(SUMMARY_VALUE_MAX)))
            .collect();
        if c.details.len() > SUMMARY_DETAILS {
            lines.push(format!("… and {} more", c.details.len() - SUMMARY_DETAILS));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            words(&c.effect()),
            words(&c.logical_id),
            words(&c.resource_type),
            words(&c.replacement),
            lines.join("<br>")
        ));
    }
    if changes.len() > SUMMARY_ROWS {
        out.push_str(&format!(
            "\n… and {} more resource changes (all of them: `deployer deploy --dry-run --output json`)\n",
            changes.len() - SUMMARY_ROWS
        ));
    }
    out
}
