//! Untrusted text stays text (issue 17 item 9): hostile reasons, values and names from
//! a change set, stack events or a failure go through every output of a deploy — the
//! terminal table, event lines, the failure's root cause, the GitHub annotation, job
//! summary and step outputs, the JSON report — and none of them acts: no escape
//! sequence, no workflow command, no HTML, link, image or mention, no secret value.

use super::plan::ParameterChange;
use super::report::DeployReport;
use super::tests::deploy;
use crate::cfn::change_set::{PropertyChange, ResourceChange};
use crate::cfn::events::{Event, clean_reason};
use crate::output::changes::{render_markdown, render_text};
use crate::output::github::{GitHub, annotation};
use crate::output::progress::Captured;
use crate::output::{Progress, json_document};
use crate::redact::{self, MASK};
use aws_smithy_mocks::{RuleMode, mock_client};

/// What a template author or a resource can make CloudFormation say.
const HOSTILE: [&str; 12] = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "x\n::error::pwned",
    "::add-mask::x",
    "  ::stop-commands::t0k",
    "a ##[add-mask]b",
    "<img src=x onerror=alert(1)>",
    "[link](http://evil.example)",
    "![img](http://evil.example/i.png)",
    "@octocat #1 www.evil.example",
    "`tick` a|pipe\r\x07\u{9b}2J",
    "ad\u{202e}nimda\u{200b}",
];

/// A NoEcho value (registered as `deploy` does) and a secret reference.
const NO_ECHO: &str = "n0echo-s3cret-hostile-1";
const REFERENCE: &str = "{{resolve:secretsmanager:prod/db:SecretString:password}}";

fn hostile_rows() -> Vec<ResourceChange> {
    HOSTILE
        .iter()
        .map(|text| ResourceChange {
            action: (*text).to_owned(),
            logical_id: (*text).to_owned(),
            resource_type: (*text).to_owned(),
            replacement: (*text).to_owned(),
            policy_action: String::new(),
            scope: vec!["Properties".into()],
            details: vec![PropertyChange {
                path: format!("/Properties/{text}"),
                before: Some((*text).to_owned()),
                after: Some((*text).to_owned()),
                dynamic: false,
                requires_recreation: "Never".into(),
            }],
        })
        .collect()
}

fn hostile_parameters() -> Vec<ParameterChange> {
    HOSTILE
        .iter()
        .map(|text| ParameterChange {
            name: (*text).to_owned(),
            old: Some((*text).to_owned()),
            new: (*text).to_owned(),
            previous_value_kept: false,
        })
        .collect()
}

fn secret_rows() -> Vec<ResourceChange> {
    let detail = |path: &str, before: &str, after: &str| PropertyChange {
        path: path.into(),
        before: Some(before.into()),
        after: Some(after.into()),
        dynamic: false,
        requires_recreation: "Never".into(),
    };
    vec![ResourceChange {
        action: "Modify".into(),
        logical_id: "Task".into(),
        resource_type: "AWS::ECS::TaskDefinition".into(),
        replacement: "True".into(),
        policy_action: String::new(),
        scope: vec!["Properties".into()],
        details: vec![
            detail(
                "/Properties/ContainerDefinitions/0/Environment",
                r#"[{"Name":"DB","Value":"old"}]"#,
                &format!(r#"[{{"Name":"DB","Value":"{NO_ECHO}"}}]"#),
            ),
            detail(
                "/Properties/ContainerDefinitions/0/Environment/1/Value",
                "plain",
                REFERENCE,
            ),
            detail(
                "/Properties/MasterUserPassword",
                "hunter2-old",
                "hunter2-new",
            ),
        ],
    }]
}

/// Every way `text` could act on a terminal or on the GitHub runner.
fn assert_inert(text: &str, output: &str) {
    for (i, c) in text.chars().enumerate() {
        assert!(
            !c.is_control() || c == '\n' || c == '\t',
            "{output}: control character {c:?} at {i}:\n{text:?}"
        );
        assert!(
            !matches!(c, '\u{202a}'..='\u{202e}' | '\u{200b}'..='\u{200f}'),
            "{output}: invisible format character {c:?}:\n{text:?}"
        );
    }
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{output}: a line is a workflow command: {line:?}"
        );
        assert!(
            !line.contains("##["),
            "{output}: a line holds an old-style workflow command: {line:?}"
        );
    }
}

/// The Markdown GitHub would render, with every code span taken out (its content is
/// shown literally).
fn outside_code_spans(markdown: &str) -> String {
    let mut out = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let fence_len = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(fence_len);
        let body = &rest[start + fence_len..];
        // The closing fence: the same run of backticks, not part of a longer one.
        let mut from = 0;
        let end = loop {
            let at = body[from..]
                .find(&fence)
                .map(|i| from + i)
                .unwrap_or_else(|| panic!("unclosed code span in {markdown}"));
            let longer = body[at + fence_len..].starts_with('`') || body[..at].ends_with('`');
            if !longer {
                break at;
            }
            from = at + fence_len;
        };
        out.push_str("<code>");
        rest = &body[end + fence_len..];
    }
    out.push_str(rest);
    out
}

fn assert_renders_nothing_active(markdown: &str, output: &str) {
    let rendered = outside_code_spans(markdown);
    for active in [
        "<img", "](http", "<http", "www.", "@octocat", "#1", "\x1b", "<!--",
    ] {
        assert!(
            !rendered.contains(active),
            "{output}: {active:?} would be rendered:\n{rendered}"
        );
    }
}

#[test]
fn the_terminal_table_is_inert_one_line_per_cell() {
    let table = render_text(&hostile_rows(), &hostile_parameters());
    assert_inert(&table, "change table");
    // Parameters: heading + one line each; resources: header + one row and one
    // detail line each. No hostile newline made another line.
    assert_eq!(
        table.lines().count(),
        1 + HOSTILE.len() + 1 + 2 * HOSTILE.len(),
        "{table}"
    );
    assert!(table.contains("<img src=x onerror=alert(1)>") && table.contains("@octocat"));
}

#[test]
fn the_job_summary_renders_no_html_links_images_or_mentions() {
    let markdown = render_markdown(&hostile_rows(), &hostile_parameters());
    assert_renders_nothing_active(&markdown, "summary table");
    for line in markdown
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
    {
        let cells = line.split('|').count() - line.matches("\\|").count();
        assert!(cells == 5 || cells == 7, "a cell broke: {line}");
    }
    // The verdict of a failed deploy quotes CloudFormation.
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHub::at(dir.path().join("summary.md"), dir.path().join("output"));
    gh.verdict(&format!(
        "Deploy of stack app failed: {}",
        HOSTILE.join("\n")
    ));
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert_renders_nothing_active(&summary, "verdict");
    assert_inert(&summary, "verdict");
}

#[test]
fn annotations_are_one_command_whatever_the_message_holds() {
    for text in HOSTILE.iter().chain(&["50%0A done %25"]) {
        let line = annotation(&format!("Deploy of {text} failed"), text);
        assert!(
            line.starts_with("::error title=") && line.ends_with('\n'),
            "{line:?}"
        );
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(!line.contains('\r') && !line.contains('\x1b'), "{line:?}");
        // The title cannot end the command's properties early.
        let title = line["::error title=".len()..].split("::").next().unwrap();
        assert!(!title.contains(':') && !title.contains(','), "{line:?}");
    }
    assert!(annotation("t", "50%0A done").contains("50%250A done"));
}

#[test]
fn step_outputs_take_plain_names_and_clean_values() {
    redact::register(NO_ECHO);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("output");
    let gh = GitHub::at(dir.path().join("summary.md"), path.clone());
    gh.outputs(&[
        (
            "Url".into(),
            "\x1b]8;;http://evil\x07https://app\n::error::pwned".into(),
        ),
        ("Bad\nName<<EOF".into(), "x".into()),
        ("Db".into(), format!("pw={NO_ECHO}")),
    ]);
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(
        !written.contains('\x1b') && !written.contains("Bad") && !written.contains(NO_ECHO),
        "{written}"
    );
    assert!(
        written.contains("\nhttps://app\n\\::error::pwned\n")
            && written.contains(&format!("\npw={MASK}\n")),
        "{written}"
    );
}

#[test]
fn event_lines_and_the_root_cause_are_inert_lines() {
    let out = Captured::default();
    for color in [false, true] {
        let mut progress = Progress::plain(Box::new(out.clone())).colored(color);
        for text in HOSTILE {
            let event = Event {
                id: "1".into(),
                stack_name: "app".into(),
                logical_id: text.into(),
                resource_type: text.into(),
                physical_id: None,
                status: "UPDATE_FAILED".into(),
                reason: Some(format!("Resource handler returned message: \"{text}\"")),
                timestamp: Some("2026-12-03T10:00:00Z".into()),
                epoch: 0.0,
            };
            progress.line(&event.line(color));
            let reason = clean_reason(event.reason.as_deref().unwrap());
            assert!(!reason.contains('\n'), "{reason:?}");
            assert_inert(&reason, "root cause");
        }
    }
    let text = out.text();
    // Our own colours, and nothing else, on the coloured pass.
    let without_ours = text.replace("\x1b[31m", "").replace("\x1b[0m", "");
    assert_inert(&without_ours, "event lines");
    assert_eq!(text.lines().count(), 2 * HOSTILE.len(), "{text}");
}

#[test]
fn the_json_report_has_clean_strings_and_no_secret() {
    redact::register(NO_ECHO);
    let mut report = DeployReport {
        stack_name: "app".into(),
        changes: hostile_rows().into_iter().chain(secret_rows()).collect(),
        parameter_changes: hostile_parameters(),
        root_cause: Some(HOSTILE.join("\n")),
        ..Default::default()
    };
    redact::changes(&mut report.changes);
    let json = json_document(&report).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(m) => m.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(&value, &mut all);
    for s in &all {
        assert_inert(s, "JSON string");
    }
    assert_inert(&json, "JSON document");
    for secret in [NO_ECHO, "resolve:secretsmanager", "hunter2"] {
        assert!(
            !json.contains(secret),
            "{secret} in the JSON report:\n{json}"
        );
    }
}

#[tokio::test]
async fn secrets_are_masked_before_the_table_summary_report_or_plan_file_see_them() {
    redact::register_no_echo(
        &[(
            "DbPassword".to_owned(),
            crate::template::ParameterSpec {
                no_echo: true,
                ..Default::default()
            },
        )]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>(),
        &[("DbPassword".to_owned(), NO_ECHO.to_owned())].into(),
    );
    let unused = super::tests::no_describe_events();
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&unused]);
    let mut d = deploy(client);
    let dir = tempfile::tempdir().unwrap();
    d.view.github = Some(GitHub::at(
        dir.path().join("summary.md"),
        dir.path().join("output"),
    ));
    d.report.changes = secret_rows();
    d.report.parameter_changes = vec![ParameterChange {
        name: "ApiToken".into(),
        old: Some("tok-old-value".into()),
        new: "tok-new-value".into(),
        previous_value_kept: false,
    }];
    d.show_changes();
    // What write_plan copies into the plan file, and the JSON report serialises.
    let shown = serde_json::to_string(&(&d.report.changes, &d.report.parameter_changes)).unwrap();
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    let table = render_text(&d.report.changes, &d.report.parameter_changes);
    for (output, text) in [("rows", &shown), ("summary", &summary), ("table", &table)] {
        for secret in [NO_ECHO, "resolve:secretsmanager", "hunter2", "tok-"] {
            assert!(!text.contains(secret), "{secret} in the {output}:\n{text}");
        }
    }
    assert_eq!(
        d.report.changes[0]
            .details
            .iter()
            .map(|p| (p.before.as_deref(), p.after.as_deref()))
            .collect::<Vec<_>>(),
        [(Some(MASK), Some(MASK)); 3]
    );
    assert!(
        table.contains("/Properties/MasterUserPassword: **** → ****"),
        "{table}"
    );
}
