//! Untrusted text in the GitHub job summary (Markdown that GitHub renders as HTML).
//!
//! Every value from a change set, a template or AWS goes into a **code span** whose
//! fence is longer than any run of backticks in the value. CommonMark renders a code
//! span's content literally: no HTML, no links, images or autolinks, no emphasis
//! (CommonMark spec, "Code spans"); and GitHub's post-processing, which turns `@name`
//! into a mention, `#12` into a reference and bare URLs into links, skips text inside
//! `code` (html-pipeline's MentionFilter and AutolinkFilter ignore `pre`, `code` and
//! `a`). So the text stays visible exactly as written, unlike a zero-width joiner,
//! which hides what it breaks. In a table cell a `|` would still end the cell, even
//! inside a code span, so it is written `\|`, which GFM tables turn back into `|`
//! before the span is parsed (GFM spec, "Tables", example 200).
//!
//! The same rules are applied by `.github/scripts/preview_comment.py` to the pull
//! request comment.

use super::sanitize;

/// `text` as an inline code span: one line, cleaned ([`sanitize::line`]) and with known
/// secrets masked, fenced with
/// more backticks than it contains, padded with a space on each side (which CommonMark
/// strips again) so a leading or trailing backtick cannot join the fence. Empty text
/// gives an empty string.
pub(crate) fn code(text: &str) -> String {
    let text = crate::redact::mask_known(&sanitize::line(text));
    if text.is_empty() {
        return String::new();
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {text} {fence}")
}

/// `text` for a table cell: a code span ([`code`]) with `|` escaped.
pub(crate) fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

/// `text` for a table cell, left as plain words when it holds nothing Markdown or
/// GitHub could act on, else as a [`cell`]. Plain means letters, spaces and `-,;()`
/// only (`Modify`, `Remove (retained, not deleted)`, `Greeting`): no digits either,
/// since GitHub links `GH-12` and commit hashes by themselves.
pub(crate) fn words(text: &str) -> String {
    let text = crate::redact::mask_known(&sanitize::line(text));
    let plain = text
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | ',' | ';' | '(' | ')'));
    if plain { text } else { cell(&text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_code_spans_that_no_backtick_can_close() {
        assert_eq!(code("AWS::ECS::Service"), "` AWS::ECS::Service `");
        assert_eq!(code("a`b``c"), "``` a`b``c ```");
        assert_eq!(code("`"), "`` ` ``");
        assert_eq!(code(""), "");
        assert_eq!(code("two\nlines"), "` two lines `");
        assert_eq!(cell("a|b"), "` a\\|b `");
    }

    #[test]
    fn plain_words_stay_plain_and_anything_else_is_code() {
        assert_eq!(
            words("Remove (retained, not deleted)"),
            "Remove (retained, not deleted)"
        );
        assert_eq!(words("@octocat"), "` @octocat `");
        assert_eq!(words("www.evil.example"), "` www.evil.example `");
        assert_eq!(words("#12"), "` #12 `");
        assert_eq!(words("GH-12"), "` GH-12 `");
    }
}
