//! How `deployer logs` shows a log event: one line per event.
//!
//! The service logs JSON lines (service/src/telemetry.rs: tracing's JSON with the
//! event's fields flattened: `timestamp`, `level`, `message`, then fields such as
//! `method`, `path`, `status`, `latency_us`). Text shows the time, the task, the level
//! (coloured), the message, then the fields as `key=value` (the request's first, the
//! rest by name). A line that is not a JSON object is shown as it is. `--output json`
//! prints one compact JSON object per event (a stream, for `jq`), with the JSON line
//! parsed into `fields` when it is one.

use anstyle::{AnsiColor, Style};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{paint, sanitize};
use crate::aws::logs::LogEvent;

/// The fields the service's request log carries, shown first and in this order.
const FIRST_FIELDS: [&str; 4] = ["method", "path", "status", "latency_us"];

/// Fields that are the line's frame, not its content (shown elsewhere, or noise).
const FRAME_FIELDS: [&str; 7] = [
    "timestamp",
    "level",
    "message",
    "target",
    "span",
    "spans",
    "threadId",
];

/// What `logs --output json` prints for each event.
#[derive(Debug, Serialize)]
pub(crate) struct JsonEvent<'a> {
    /// Event time, RFC 3339 with milliseconds.
    pub time: String,
    /// The log stream (for ECS: `PREFIX/CONTAINER/TASK_ID`).
    pub stream: &'a str,
    /// CloudWatch's event id.
    pub id: &'a str,
    /// The line as logged.
    pub message: &'a str,
    /// The line parsed, when it is a JSON object.
    pub fields: Option<Map<String, Value>>,
}

/// The `--output json` object of `event`.
pub(crate) fn json_event(event: &LogEvent) -> JsonEvent<'_> {
    JsonEvent {
        time: time_of(event.timestamp_ms),
        stream: &event.stream,
        id: &event.id,
        message: &event.message,
        fields: parse(&event.message),
    }
}

/// One text line (with its newline) for `event`; `color` paints the level.
pub(crate) fn render_event(event: &LogEvent, color: bool) -> String {
    let mut out = format!("{} {}", time_of(event.timestamp_ms), task_of(&event.stream));
    match parse(&event.message) {
        Some(mut fields) => {
            // The nested form (tracing without flatten_event) too.
            if let Some(Value::Object(nested)) = fields.remove("fields") {
                for (k, v) in nested {
                    fields.entry(k).or_insert(v);
                }
            }
            let level = fields
                .remove("level")
                .map(|v| text_of(&v))
                .unwrap_or_default();
            let message = fields
                .remove("message")
                .or_else(|| fields.remove("msg"))
                .map(|v| text_of(&v))
                .unwrap_or_default();
            out.push(' ');
            out.push_str(&paint(
                color,
                level_style(&level),
                &format!("{:<5}", sanitize::line(&level)),
            ));
            if !message.is_empty() {
                out.push(' ');
                out.push_str(&sanitize::line(&message));
            }
            let mut rest: Vec<(&String, &Value)> = fields
                .iter()
                .filter(|(k, _)| !FRAME_FIELDS.contains(&k.as_str()))
                .collect();
            rest.sort_by_key(|(k, _)| {
                (
                    FIRST_FIELDS
                        .iter()
                        .position(|f| f == k)
                        .unwrap_or(FIRST_FIELDS.len()),
                    (*k).clone(),
                )
            });
            for (k, v) in rest {
                out.push_str(&format!(" {}={}", sanitize::line(k), quoted(&text_of(v))));
            }
        }
        None => {
            out.push(' ');
            out.push_str(&sanitize::line(event.message.trim_end()));
        }
    }
    out.push('\n');
    out
}

/// The line as a JSON object, if it is one.
fn parse(message: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(message.trim()) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// A value as text: strings without their quotes, the rest as JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A field value, quoted when it has spaces or is empty (so `key=value` pairs stay apart).
fn quoted(value: &str) -> String {
    let value = sanitize::line(value);
    if value.is_empty() || value.contains([' ', '"', '=']) {
        format!("{value:?}")
    } else {
        value
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
fn time_of(ms: i64) -> String {
    DateTime::from_millis(ms)
        .fmt(Format::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// The short task id of an ECS log stream (`PREFIX/CONTAINER/TASK_ID` → the id's first
/// 8 characters, in brackets), else the stream name.
fn task_of(stream: &str) -> String {
    let last = stream.rsplit('/').next().unwrap_or(stream);
    let short: String = if stream.matches('/').count() >= 2 {
        last.chars().take(8).collect()
    } else {
        last.to_owned()
    };
    format!("[{}]", sanitize::line(&short))
}

fn level_style(level: &str) -> Style {
    match level.to_ascii_uppercase().as_str() {
        "ERROR" => AnsiColor::Red.on_default().bold(),
        "WARN" | "WARNING" => AnsiColor::Yellow.on_default(),
        "INFO" => AnsiColor::Green.on_default(),
        _ => Style::new().dimmed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> LogEvent {
        LogEvent {
            id: "1".into(),
            timestamp_ms: 1_764_769_922_123,
            stream: "web/app/0123456789abcdef0123456789abcdef".into(),
            message: message.into(),
        }
    }

    #[test]
    fn the_services_request_line_reads_as_time_task_level_message_and_fields() {
        let line = r#"{"timestamp":"2025-12-03T13:52:02.123456Z","level":"INFO","message":"request","method":"GET","path":"/api/me","status":200,"latency_us":1234,"user":"a b"}"#;
        assert_eq!(
            render_event(&event(line), false),
            "2025-12-03T13:52:02.123Z [01234567] INFO  request method=GET path=/api/me status=200 latency_us=1234 user=\"a b\"\n"
        );
        let coloured = render_event(&event(line), true);
        assert!(coloured.contains("\x1b[32mINFO \x1b[0m"), "{coloured:?}");
    }

    #[test]
    fn other_lines_stay_as_they_are_but_cannot_act_on_the_terminal() {
        assert_eq!(
            render_event(&event("listening on 0.0.0.0:8080\n"), false),
            "2025-12-03T13:52:02.123Z [01234567] listening on 0.0.0.0:8080\n"
        );
        let hostile = render_event(&event("\x1b]0;pwned\x07::add-mask::x"), false);
        assert!(
            !hostile.contains('\x1b') && !hostile.contains('\x07'),
            "{hostile:?}"
        );
        // A JSON array is not a log object.
        assert!(render_event(&event("[1,2]"), false).ends_with(" [1,2]\n"));
    }

    #[test]
    fn nested_fields_and_errors_are_shown_too() {
        let line =
            r#"{"level":"ERROR","fields":{"message":"boom","error":"db down"},"target":"x"}"#;
        let out = render_event(&event(line), false);
        assert!(out.ends_with("ERROR boom error=\"db down\"\n"), "{out}");
    }

    #[test]
    fn json_output_keeps_the_line_and_parses_it() {
        let e = event(r#"{"level":"WARN","message":"slow"}"#);
        let j = serde_json::to_value(json_event(&e)).unwrap();
        assert_eq!(j["time"], "2025-12-03T13:52:02.123Z");
        assert_eq!(j["fields"]["level"], "WARN");
        assert_eq!(j["message"], r#"{"level":"WARN","message":"slow"}"#);
        let j = serde_json::to_value(json_event(&event("plain"))).unwrap();
        assert!(j["fields"].is_null());
    }
}
