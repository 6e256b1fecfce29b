//! The plan file `deploy --plan-out FILE` writes and `apply FILE` reads: which change
//! set was made, for which stack, and what the stack looked like then, so `apply` can
//! execute exactly that change set and refuse when anything moved in between.
//!
//! JSON, versioned (`"version": 2`) and self-describing: it also carries the change
//! rows, so a pull-request comment or job summary can be rendered from it alone. A
//! version this deployer does not know is refused with what to do, never guessed at.
//!
//! Version 2 adds what `apply` compares the change set against before executing it
//! ([`Reviewed`]: parameters, capabilities, service role, the change set's own
//! template), and the recovery of a dead first create ([`Recreate`]). No secret is ever
//! written: NoEcho parameter values appear only as `****`.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_cloudformation::types::Stack;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde::{Deserialize, Serialize};

use crate::cfn::change_set::ResourceChange;
use crate::engine::ParameterChange;
use crate::error::Failure;

/// The only format version this deployer writes and reads.
pub(crate) const VERSION: u32 = 2;

/// How NoEcho parameter values are written (DescribeChangeSet shows them so too).
#[cfg(test)]
pub(crate) const MASK: &str = crate::cfn::review::MASK;

/// A plan: everything `apply` needs to find, check and execute the change set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanFile {
    /// Always [`VERSION`].
    pub version: u32,
    /// When the plan was made (UTC, RFC 3339).
    pub created_at: String,
    /// Stack name.
    pub stack_name: String,
    /// Stack id (ARN); for a new stack, the empty REVIEW_IN_PROGRESS stack the change
    /// set belongs to. `None` only without changes for a stack that does not exist.
    pub stack_id: Option<String>,
    /// The region everything was planned in; `apply` works there.
    pub region: String,
    /// The change set's name (`None` without changes: it was deleted).
    pub change_set_name: Option<String>,
    /// The change set's id (ARN).
    pub change_set_id: Option<String>,
    /// Whether there is anything to apply.
    pub has_changes: bool,
    /// The plan created the (empty) stack: it is a create.
    pub creates_stack: bool,
    /// The stack as it was when planned (after the change set was made): `apply`
    /// refuses when it differs.
    pub stack: Option<Fingerprint>,
    /// The digest-pinned image URI the change set deploys, with `--image`.
    pub image_uri: Option<String>,
    /// The ECR repository `apply --image` pushes to.
    pub repository: Option<String>,
    /// The commit recorded as the stack tag `deployer:commit`, when known.
    pub commit: Option<String>,
    /// SHA-256 (hex) of the template text the change set was made from.
    pub template_sha256: String,
    /// Capabilities granted.
    pub capabilities: Vec<String>,
    /// Turn termination protection on after executing.
    pub termination_protection: bool,
    /// The planning deploy's `--wait-timeout`, in seconds (`apply`'s default).
    pub wait_timeout_seconds: u64,
    /// Resource changes, as the deploy showed them.
    pub changes: Vec<ResourceChange>,
    /// Parameter changes (old → new; NoEcho values masked).
    pub parameter_changes: Vec<ParameterChange>,
    /// The change set as CloudFormation described it when planned: `apply` describes
    /// it again and refuses unless it is still this. `None` without a change set.
    pub reviewed: Option<Reviewed>,
    /// A dead first create (ROLLBACK_COMPLETE) that `apply` deletes before creating the
    /// stack again; then there is no change set yet (CloudFormation cannot make one on
    /// that stack), and `changes` are the template's resources, all `Add`.
    pub recreate: Option<Recreate>,
}

/// What `apply` checks the change set against, besides its stack id, name and rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reviewed {
    /// The parameters DescribeChangeSet listed (the image digest parameter among them),
    /// name → value; NoEcho values are [`MASK`], never the value.
    pub parameters: BTreeMap<String, String>,
    /// The template's NoEcho parameters: masked on both sides of the comparison.
    pub no_echo: Vec<String>,
    /// The capabilities DescribeChangeSet listed, sorted.
    pub capabilities: Vec<String>,
    /// The service role CreateChangeSet was given (`None`: the caller's credentials).
    /// DescribeChangeSet does not return it, so `apply` can only compare it with the
    /// role the stack has; IAM (`cloudformation:RoleArn` on CreateChangeSet) holds it.
    pub role_arn: Option<String>,
    /// SHA-256 (hex) of the change set's own template: GetTemplate with its
    /// ChangeSetName, TemplateStage Original.
    pub template_sha256: String,
}

/// A plan for a stack whose first create failed (ROLLBACK_COMPLETE): delete it, then
/// create it from what is carried here; or for a stack that cannot be planned by a
/// change set yet (a deferred create: `dead_stack_id` is `None`). Parameters are values, never NoEcho ones (a
/// plan with NoEcho values to send is refused when planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Recreate {
    /// The dead stack, by id: `apply` deletes it only if it is still this stack and
    /// still ROLLBACK_COMPLETE. `None`: a deferred create (a release's service stack
    /// planned before its environment existed): there is nothing to delete, and the
    /// stack must still not exist when applied.
    pub dead_stack_id: Option<String>,
    /// The template text to create from (its SHA-256 is `template_sha256`).
    pub template_body: String,
    /// Parameter values to send.
    pub parameters: BTreeMap<String, String>,
    /// Stack tags.
    pub tags: BTreeMap<String, String>,
    /// The service role for the create (CreateChangeSet RoleARN).
    pub role_arn: Option<String>,
    /// `--change-set-timeout` of the planning deploy, in seconds.
    pub change_set_timeout_seconds: u64,
    /// Parameters whose values are not known when planned: the environment stack's
    /// outputs of the same names, read by `apply` once the environment is deployed and
    /// added to `parameters` (the release's wiring rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wired: Vec<String>,
}

/// What identifies the state of a stack: any other operation on it (a deploy, a
/// rollback, the console) changes at least one of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fingerprint {
    /// StackStatus.
    pub status: String,
    /// CreationTime (a stack deleted and created again has a new one).
    pub creation_time: Option<String>,
    /// LastUpdatedTime, when CloudFormation gives it.
    pub last_updated_time: Option<String>,
    /// The ids of the `Stack.LastOperations` that change the stack (not change-set
    /// creations: a preview during the approval window is no reason to refuse), where
    /// the endpoint lists them.
    pub operation_ids: Vec<String>,
    /// SHA-256 of the stack's parameters and tags (`key=value` lines, sorted): a
    /// stand-in that keeps no times (moto) still shows another deploy this way.
    pub settings_sha256: String,
}

impl Fingerprint {
    /// The fingerprint of a described stack.
    pub(crate) fn of(stack: &Stack) -> Self {
        let time = |t: Option<&DateTime>| t.and_then(|t| t.fmt(Format::DateTime).ok());
        let mut lines: Vec<String> = stack
            .parameters()
            .iter()
            .map(|p| {
                format!(
                    "parameter {}={}",
                    p.parameter_key().unwrap_or_default(),
                    p.parameter_value().unwrap_or_default()
                )
            })
            .chain(stack.tags().iter().map(|t| {
                format!(
                    "tag {}={}",
                    t.key().unwrap_or_default(),
                    t.value().unwrap_or_default()
                )
            }))
            .collect();
        lines.sort();
        Self {
            status: crate::cfn::stack::status_of(stack).to_owned(),
            creation_time: time(stack.creation_time()),
            last_updated_time: time(stack.last_updated_time()),
            operation_ids: crate::cfn::operations::stack_changing_operation_ids(stack),
            settings_sha256: sha256_hex(lines.join("\n").as_bytes()),
        }
    }

    /// What differs from `now`, one phrase each (empty: the same stack state).
    pub(crate) fn differences(&self, now: &Fingerprint) -> Vec<String> {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
        let mut out = Vec::new();
        if self.status != now.status {
            out.push(format!("status was {}, is now {}", self.status, now.status));
        }
        if self.creation_time != now.creation_time {
            out.push(format!(
                "it was created again ({} → {})",
                show(&self.creation_time),
                show(&now.creation_time)
            ));
        }
        if self.last_updated_time != now.last_updated_time {
            out.push(format!(
                "last updated {} → {}",
                show(&self.last_updated_time),
                show(&now.last_updated_time)
            ));
        }
        if self.operation_ids != now.operation_ids {
            out.push("another operation ran on it".to_owned());
        }
        if self.settings_sha256 != now.settings_sha256 {
            out.push("its parameters or tags changed".to_owned());
        }
        out
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    oci_push::Digest::of_bytes(bytes).hex().to_owned()
}

/// The current time as the plan records it.
pub(crate) fn now() -> String {
    DateTime::from(std::time::SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

/// Writes `plan` to `path` (pretty JSON), through a temporary file renamed into place,
/// so a reader never sees half a plan.
pub(crate) fn write(path: &Path, plan: &PlanFile) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(plan)
        .map_err(|e| Failure::internal(format!("cannot encode the plan: {e}")))?;
    write_text(path, &json)
}

/// Writes `json` (a plan) to `path` through a temporary file renamed into place.
pub(crate) fn write_text(path: &Path, json: &str) -> Result<(), Failure> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".to_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, format!("{json}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Failure::failed(format!(
                "cannot write the plan file {}: {e}",
                path.display()
            ))
        })
}

/// Reads a plan file. A file that is not a plan, or a version this deployer does not
/// read, is bad input (exit 64) naming the file.
pub(crate) fn read(path: &Path) -> Result<PlanFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read plan file {}: {e}", path.display())))?;
    parse(&text).map_err(|m| Failure::input(format!("plan file {}: {m}", path.display())))
}

/// Parses a plan, checking the version first (so a newer format gets a clear message
/// rather than an unknown-field error).
pub(crate) fn parse(text: &str) -> Result<PlanFile, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}); it should be what `deployer deploy --plan-out FILE` wrote")
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(1) => {
            return Err(format!(
                "is version 1, written by an older deployer: it lacks what apply now checks before \
                 executing (the change set's parameters, capabilities and template), so it cannot be \
                 applied. Plan again with this deployer (`deployer deploy … --plan-out FILE`; this one \
                 reads version {VERSION}) and apply that plan; discard the old change set with \
                 `deployer discard FILE` if it is still there"
            ));
        }
        Some(v) => {
            return Err(format!(
                "is version {v}, and this deployer reads version {VERSION}: plan again with this \
                 deployer (or apply with the deployer that wrote it)"
            ));
        }
        None => {
            return Err(
                "has no `version`: it is not a plan written by `deployer deploy --plan-out FILE`"
                    .to_owned(),
            );
        }
    }
    serde_json::from_value(value).map_err(|e| {
        format!("is not a valid version-{VERSION} plan ({e}); plan again with `deployer deploy --plan-out FILE`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::{
        OperationEntry, OperationType, Parameter, StackStatus, Tag,
    };

    fn plan() -> PlanFile {
        PlanFile {
            version: VERSION,
            created_at: "2026-12-01T10:00:00Z".into(),
            stack_name: "app".into(),
            stack_id: Some("arn:stack/app/1".into()),
            region: "eu-west-1".into(),
            change_set_name: Some("deployer-x".into()),
            change_set_id: Some("arn:cs/1".into()),
            has_changes: true,
            creates_stack: false,
            stack: None,
            image_uri: None,
            repository: None,
            commit: None,
            template_sha256: sha256_hex(b"Resources: {}"),
            capabilities: vec![],
            termination_protection: false,
            wait_timeout_seconds: 3600,
            changes: vec![],
            parameter_changes: vec![],
            reviewed: Some(Reviewed {
                parameters: [("Secret".to_owned(), MASK.to_owned())].into(),
                no_echo: vec!["Secret".into()],
                capabilities: vec![],
                role_arn: None,
                template_sha256: sha256_hex(b"Resources: {}"),
            }),
            recreate: None,
        }
    }

    #[test]
    fn a_plan_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        write(&path, &plan()).unwrap();
        assert_eq!(read(&path).unwrap(), plan());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
        // Nothing else was left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn other_versions_and_other_files_are_refused_with_what_to_do() {
        let newer = serde_json::to_string(&plan())
            .unwrap()
            .replace("\"version\":2", "\"version\":3");
        let e = parse(&newer).unwrap_err();
        assert!(
            e.contains("is version 3") && e.contains("reads version 2") && e.contains("plan again"),
            "{e}"
        );
        // A version-1 plan (before apply compared the change set) says what to do.
        let older = serde_json::to_string(&plan())
            .unwrap()
            .replace("\"version\":2", "\"version\":1");
        let e = parse(&older).unwrap_err();
        assert!(
            e.contains("is version 1")
                && e.contains("Plan again with this deployer")
                && e.contains("deployer discard"),
            "{e}"
        );
        assert!(parse("{}").unwrap_err().contains("has no `version`"));
        assert!(parse("not json").unwrap_err().contains("not JSON"));
        let e = parse("{\"version\": 2}").unwrap_err();
        assert!(e.contains("missing field"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let missing = read(&dir.path().join("nope.json")).unwrap_err();
        assert_eq!(missing.exit_code(), 64);
        assert!(missing.message.contains("nope.json"), "{}", missing.message);
    }

    #[test]
    fn any_other_operation_changes_the_fingerprint() {
        let base = || {
            Stack::builder()
                .stack_name("app")
                .stack_status(StackStatus::UpdateComplete)
                .creation_time(DateTime::from_secs(1))
                .last_updated_time(DateTime::from_secs(2))
                .parameters(
                    Parameter::builder()
                        .parameter_key("A")
                        .parameter_value("1")
                        .build(),
                )
                .tags(Tag::builder().key("deployer:commit").value("aaa").build())
        };
        let fp = Fingerprint::of(&base().build());
        assert!(fp.differences(&Fingerprint::of(&base().build())).is_empty());
        let later = Fingerprint::of(&base().last_updated_time(DateTime::from_secs(3)).build());
        assert_eq!(
            fp.differences(&later),
            vec!["last updated 1970-01-01T00:00:02Z → 1970-01-01T00:00:03Z".to_owned()]
        );
        let failed = Fingerprint::of(
            &base()
                .stack_status(StackStatus::UpdateRollbackComplete)
                .build(),
        );
        assert!(
            fp.differences(&failed)[0]
                .contains("status was UPDATE_COMPLETE, is now UPDATE_ROLLBACK_COMPLETE")
        );
        let operated = Fingerprint::of(
            &base()
                .last_operations(OperationEntry::builder().operation_id("op-2").build())
                .build(),
        );
        assert_eq!(
            fp.differences(&operated),
            vec!["another operation ran on it"]
        );
        // A preview's change set (CREATE_CHANGESET) changes nothing about the stack.
        let previewed = Fingerprint::of(
            &base()
                .last_operations(
                    OperationEntry::builder()
                        .operation_type(OperationType::CreateChangeset)
                        .operation_id("op-cs")
                        .build(),
                )
                .build(),
        );
        assert!(fp.differences(&previewed).is_empty());
        for kind in [
            OperationType::Rollback,
            OperationType::ContinueRollback,
            OperationType::DeleteStack,
        ] {
            let changed = Fingerprint::of(
                &base()
                    .last_operations(
                        OperationEntry::builder()
                            .operation_type(kind.clone())
                            .operation_id("op-3")
                            .build(),
                    )
                    .build(),
            );
            assert_eq!(
                fp.differences(&changed),
                vec!["another operation ran on it"],
                "{kind:?}"
            );
        }
        // Times and status alike, but another commit's deploy: the tags tell.
        let retagged = Fingerprint::of(
            &base()
                .set_tags(Some(vec![
                    Tag::builder().key("deployer:commit").value("bbb").build(),
                ]))
                .build(),
        );
        assert_eq!(
            fp.differences(&retagged),
            vec!["its parameters or tags changed"]
        );
    }
}
