//! The release plan: version 3 of the plan file, for every stack of one environment
//! planned together (`deploy --config deploy.yaml --environment E --plan-out FILE`).
//!
//! ```json
//! {"version": 3, "kind": "release", "application": "hello", "environment": "staging",
//!  "region": "eu-west-1", "created_at": "…",
//!  "stacks": [{"service": null, "plan": {<version-2 plan>}, "environment_inputs": {}},
//!             {"service": "web", "plan": {…}, "environment_inputs": {"VpcId": "vpc-1", …}}]}
//! ```
//!
//! Each stack's `plan` is exactly the single-stack plan (`plan_file`), so `apply`
//! checks each the same way. `environment_inputs` are the environment stack's outputs a
//! service was planned with: apply re-reads them after the environment is deployed and
//! refuses to go on with the services if one changed. A service planned before its
//! environment existed is a deferred create (`plan.recreate` without a dead stack,
//! `wired` naming the parameters filled from the environment's outputs at apply).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::plan_file::{self, PlanFile};
use crate::error::Failure;

/// The release plan's format version.
pub(crate) const VERSION: u32 = 3;
/// Its `kind`.
pub(crate) const KIND: &str = "release";

/// Every stack of one environment's release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleasePlan {
    /// Always [`VERSION`].
    pub version: u32,
    /// Always [`KIND`].
    pub kind: String,
    /// `application:` of deploy.yaml.
    pub application: String,
    /// The environment.
    pub environment: String,
    /// Where every stack is.
    pub region: String,
    /// When it was planned (UTC, RFC 3339).
    pub created_at: String,
    /// The environment stack first (when planned), then the services by name.
    pub stacks: Vec<ReleaseStack>,
}

/// One stack of a release plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseStack {
    /// `None`: the environment stack; else the service.
    pub service: Option<String>,
    /// The stack's own plan (version 2).
    pub plan: PlanFile,
    /// The environment outputs this stack was planned with (parameter → value).
    pub environment_inputs: BTreeMap<String, String>,
}

impl ReleasePlan {
    /// Whether any stack has changes.
    pub(crate) fn has_changes(&self) -> bool {
        self.stacks.iter().any(|s| s.plan.has_changes)
    }
}

/// A plan file of either kind.
#[derive(Debug)]
pub(crate) enum AnyPlan {
    /// One stack (version 2).
    Stack(Box<PlanFile>),
    /// A release (version 3).
    Release(Box<ReleasePlan>),
}

/// Writes a release plan (pretty JSON, through a temporary file renamed into place).
pub(crate) fn write(path: &Path, plan: &ReleasePlan) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(plan)
        .map_err(|e| Failure::internal(format!("cannot encode the plan: {e}")))?;
    plan_file::write_text(path, &json)
}

/// Reads a plan file of either version; anything else is bad input naming the file.
pub(crate) fn read_any(path: &Path) -> Result<AnyPlan, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read plan file {}: {e}", path.display())))?;
    parse_any(&text).map_err(|m| Failure::input(format!("plan file {}: {m}", path.display())))
}

/// Parses a plan: version 3 is a release, anything else goes to the single-stack
/// parser (which explains other versions).
pub(crate) fn parse_any(text: &str) -> Result<AnyPlan, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!("not JSON ({e}); it should be what `deployer deploy --plan-out FILE` wrote")
    })?;
    if value.get("version").and_then(serde_json::Value::as_u64) != Some(u64::from(VERSION)) {
        return plan_file::parse(text).map(|p| AnyPlan::Stack(Box::new(p)));
    }
    if value.get("kind").and_then(serde_json::Value::as_str) != Some(KIND) {
        return Err(format!(
            "is version {VERSION} but not of kind \"{KIND}\": it is not a plan this deployer wrote"
        ));
    }
    serde_json::from_value(value)
        .map(|p| AnyPlan::Release(Box::new(p)))
        .map_err(|e| {
            format!(
                "is not a valid release plan ({e}); plan again with `deployer deploy --config FILE \
             --environment E --plan-out FILE`"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack_plan(name: &str) -> PlanFile {
        let text = format!(
            r#"{{"version":2,"created_at":"t","stack_name":"{name}","stack_id":null,"region":"eu-west-1",
            "change_set_name":null,"change_set_id":null,"has_changes":false,"creates_stack":false,
            "stack":null,"image_uri":null,"repository":null,"commit":null,"template_sha256":"x",
            "capabilities":[],"termination_protection":false,"wait_timeout_seconds":60,"changes":[],
            "parameter_changes":[],"reviewed":null,"recreate":null}}"#
        );
        plan_file::parse(&text).unwrap()
    }

    #[test]
    fn a_release_plan_reads_back_and_a_stack_plan_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.json");
        let plan = ReleasePlan {
            version: VERSION,
            kind: KIND.into(),
            application: "hello".into(),
            environment: "staging".into(),
            region: "eu-west-1".into(),
            created_at: "t".into(),
            stacks: vec![
                ReleaseStack {
                    service: None,
                    plan: stack_plan("hello-staging"),
                    environment_inputs: BTreeMap::new(),
                },
                ReleaseStack {
                    service: Some("web".into()),
                    plan: stack_plan("hello-staging-web"),
                    environment_inputs: [("VpcId".to_owned(), "vpc-1".to_owned())].into(),
                },
            ],
        };
        write(&path, &plan).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 3") && text.contains("\"kind\": \"release\""));
        match read_any(&path).unwrap() {
            AnyPlan::Release(read) => assert_eq!(*read, plan),
            AnyPlan::Stack(_) => panic!("a release plan"),
        }
        plan_file::write(&path, &stack_plan("app")).unwrap();
        assert!(matches!(read_any(&path).unwrap(), AnyPlan::Stack(_)));
        let other = text.replace("\"release\"", "\"other\"");
        assert!(parse_any(&other).unwrap_err().contains("not of kind"));
    }
}
