//! Untrusted text stays text. Status reasons, logical ids, property values, ECS
//! messages and registry errors come from CloudFormation, ECS, registries and
//! templates, so from whoever wrote a template or controls a resource. Before any of it
//! reaches a terminal or a CI log:
//!
//! - **Escape sequences** (CSI such as `ESC[31m` or cursor moves, OSC such as OSC 8
//!   hyperlinks or window titles, DCS/APC/PM/SOS strings, and their 8-bit C1 forms) are
//!   removed whole. Only the colours the deployer itself paints survive, and only on a
//!   coloured stream (see [`terminal`]).
//! - **Control characters** (C0 but `\n` and `\t` where a block is meant, DEL, C1) become
//!   U+FFFD, so tampering shows; `\r`, which would let a line overwrite itself, is
//!   dropped (`\r\n` is a newline).
//! - **Invisible format characters** (bidi overrides and isolates, zero-width spaces and
//!   joiners, BOM, soft hyphen, tag characters) are dropped: they reorder or hide what a
//!   reviewer reads.
//! - **GitHub workflow commands** cannot form. The runner reads every line of a step's
//!   stdout and stderr and runs it as a command when, after leading whitespace, it
//!   starts with `::` (`::error::`, `::add-mask::`, `::stop-commands::`), or when it
//!   contains `##[` followed by a command name anywhere (the older syntax) — see
//!   actions/runner `ActionCommand.TryParseV2`/`TryParse`. A line that would start with
//!   `::` gets a `\` in front, and `##[` becomes `##\[`. One-line fields
//!   ([`line`]) also turn newlines into spaces, so untrusted text never starts a line.
//!
//! Known secret values are masked on the way out too (`crate::redact`).

/// A one-line field of untrusted text (a reason, a logical id, a value): no escape
/// sequences, no control or invisible characters, newlines and tabs become spaces.
/// It cannot start a workflow command either, wherever it ends up.
pub(crate) fn line(text: &str) -> String {
    no_workflow_commands(&clean(text, Shape::Line, false))
}

/// A block of untrusted text that may span lines: as [`line`], but `\n` and `\t` stay.
pub(crate) fn block(text: &str) -> String {
    clean(text, Shape::Block, false)
}

/// The last filter before the deployer writes to stdout or stderr: [`block`] (keeping
/// the deployer's own colours when `color`), known secrets masked, and no line that
/// the GitHub runner would read as a workflow command. Applied to everything the
/// output layer prints, so text a caller forgot to clean still cannot act.
pub(crate) fn terminal(text: &str, color: bool) -> String {
    no_workflow_commands(&crate::redact::mask_known(&clean(
        text,
        Shape::Block,
        color,
    )))
}

/// A value that goes somewhere other than a terminal but is read by people or CI (JSON
/// strings, step outputs, annotation text): [`block`], secrets masked, no workflow
/// command.
pub(crate) fn data(text: &str) -> String {
    terminal(text, false)
}

/// Every string in a JSON value passed through [`data`] (the `--output json` report).
pub(crate) fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = data(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::Object(map) => map.values_mut().for_each(json),
        _ => {}
    }
}

/// Neutralises the runner's two command syntaxes in every line of `text`.
pub(crate) fn no_workflow_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let line = line.replace("##[", "##\\[");
        // The runner trims with .NET's Char.IsWhiteSpace, the same Unicode White_Space
        // set as `char::is_whitespace`.
        let body = line.trim_start();
        if body.starts_with("::") {
            out.push_str(&line[..line.len() - body.len()]);
            out.push('\\');
            out.push_str(body);
        } else {
            out.push_str(&line);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Line,
    Block,
}

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// The 8-bit String Terminator.
const ST: char = '\u{9c}';

fn clean(text: &str, shape: Shape, keep_color: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => {
                let sequence = escape_sequence(&mut chars);
                if keep_color && is_own_color(&sequence) {
                    out.push(ESC);
                    out.push_str(&sequence);
                }
            }
            // 8-bit CSI.
            '\u{9b}' => {
                control_sequence(&mut chars);
            }
            // 8-bit DCS, SOS, OSC, PM, APC: a string up to its terminator.
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                control_string(&mut chars);
            }
            '\n' | '\u{2028}' | '\u{2029}' => {
                out.push(if shape == Shape::Line { ' ' } else { '\n' })
            }
            '\t' => out.push(if shape == Shape::Line { ' ' } else { '\t' }),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push(if shape == Shape::Line { ' ' } else { '\n' });
                }
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c if is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// The rest of an escape sequence after ESC, consumed and returned (to keep it when it
/// is one of our colours).
fn escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut seq = String::new();
    match chars.peek().copied() {
        Some('[') => {
            chars.next();
            seq.push('[');
            seq.push_str(&control_sequence(chars));
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            chars.next();
            control_string(chars);
        }
        // nF/Fp/Fe/Fs escapes: intermediates 0x20–0x2F, then one final 0x30–0x7E.
        Some(_) => {
            while let Some(&c) = chars.peek() {
                if ('\u{20}'..='\u{2f}').contains(&c) {
                    chars.next();
                } else {
                    if ('\u{30}'..='\u{7e}').contains(&c) {
                        chars.next();
                    }
                    break;
                }
            }
        }
        None => {}
    }
    seq
}

/// A CSI's parameters, intermediates and final byte (ECMA-48 5.4), consumed.
fn control_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut seq = String::new();
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            seq.push(c);
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                seq.push(c);
                chars.next();
            }
            break;
        }
    }
    seq
}

/// An OSC/DCS/APC/PM/SOS string, consumed up to BEL or ST (`ESC \` or U+9C). It also
/// ends at any other control character, which is then handled on its own: an
/// unterminated string must not swallow the rest of the text.
fn control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            BEL | ST => {
                chars.next();
                return;
            }
            ESC => {
                chars.next();
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            c if c.is_control() => return,
            _ => {
                chars.next();
            }
        }
    }
}

/// The SGR sequences [`super::paint`] writes (bold, red, green, yellow, resets): a
/// coloured stream keeps these and nothing else, so untrusted text cannot conceal,
/// blink or recolour what follows it beyond these colours.
fn is_own_color(sequence: &str) -> bool {
    sequence
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix('m'))
        .is_some_and(|params| {
            params
                .split(';')
                .all(|p| matches!(p, "" | "0" | "1" | "22" | "31" | "32" | "33" | "39"))
        })
}

/// Format characters that display as nothing but reorder (bidi) or hide text.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{ad}'                       // soft hyphen
        | '\u{34f}'                    // combining grapheme joiner
        | '\u{61c}'                    // Arabic letter mark
        | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers
        | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}'      // Mongolian selectors and vowel separator
        | '\u{200b}'..='\u{200f}'      // zero-width space/joiners, LRM, RLM
        | '\u{202a}'..='\u{202e}'      // bidi embeddings and overrides
        | '\u{2060}'..='\u{206f}'      // word joiner, invisible operators, isolates
        | '\u{feff}'                   // BOM / zero-width no-break space
        | '\u{fff9}'..='\u{fffb}'      // interlinear annotations
        | '\u{1d173}'..='\u{1d17a}'    // musical formatting
        | '\u{e0000}'..='\u{e007f}' // tag characters
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(line("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(
            line("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ here"),
            "click here"
        );
        assert_eq!(line("\x1b]0;title\x07x"), "x");
        assert_eq!(line("a\x1b[2J\x1b[1;1Hb"), "ab");
        assert_eq!(line("a\u{9b}31mb\u{9d}8;;u\u{9c}c"), "abc");
        assert_eq!(line("\x1bPq#0;2;0;0;0\x1b\\d"), "d");
        assert_eq!(line("\x1b(Bx\x1b7y"), "xy");
        // An unterminated OSC ends at the next control character, not the end of text.
        assert_eq!(block("\x1b]8;;http://evil\nrest"), "\nrest");
    }

    #[test]
    fn controls_show_and_invisible_characters_go() {
        assert_eq!(line("a\x00b\x7fc\u{85}d"), "a\u{fffd}b\u{fffd}c\u{fffd}d");
        assert_eq!(
            line("one\ntwo\r\nthree\tfour\rfive"),
            "one two three four five"
        );
        assert_eq!(block("one\ntwo\r\nthree\tx\ry"), "one\ntwo\nthree\tx\ny");
        assert_eq!(line("ad\u{202e}nimda\u{202c}"), "adnimda");
        assert_eq!(
            line("z\u{200b}w\u{200d}j\u{feff}\u{2066}x\u{e0041}"),
            "zwjx"
        );
        assert_eq!(line("Ünïcödé ✓ → café"), "Ünïcödé ✓ → café");
    }

    #[test]
    fn only_our_own_colours_survive_and_only_when_colouring() {
        let ours = "\x1b[1m\x1b[31mUPDATE_FAILED\x1b[0m";
        assert_eq!(terminal(ours, true), ours);
        assert_eq!(terminal(ours, false), "UPDATE_FAILED");
        assert_eq!(terminal("\x1b[8mhidden\x1b[38;5;16m", true), "hidden");
    }

    #[test]
    fn no_line_can_become_a_workflow_command() {
        assert_eq!(terminal("::error::pwned", false), "\\::error::pwned");
        assert_eq!(
            terminal("reason\n  ::add-mask::x\n\u{3000}::stop-commands::t", false),
            "reason\n  \\::add-mask::x\n\u{3000}\\::stop-commands::t"
        );
        // Stripping cannot assemble a command either: the check runs after it.
        assert_eq!(terminal(":\x1b[0m:error::x", false), "\\::error::x");
        assert_eq!(terminal("ok\r::error::x", false), "ok\n\\::error::x");
        assert_eq!(terminal("x ##[add-mask]y", false), "x ##\\[add-mask]y");
        assert_eq!(line("a\n::error::pwned"), "a ::error::pwned");
        assert_eq!(line(" ::add-mask::x ##[y"), " \\::add-mask::x ##\\[y");
        // `::` inside a line is harmless and kept.
        assert_eq!(terminal("AWS::ECS::Service", false), "AWS::ECS::Service");
    }

    #[test]
    fn json_strings_are_cleaned_where_they_are() {
        let mut v = serde_json::json!({
            "reason": "\x1b[31m\n::error::pwned",
            "list": ["##[add-mask]x", 1, true],
        });
        json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"reason": "\n\\::error::pwned", "list": ["##\\[add-mask]x", 1, true]})
        );
    }
}
