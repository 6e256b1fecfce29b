//! `--plan-out` over a dead first create (ROLLBACK_COMPLETE): CloudFormation cannot
//! make a change set on that stack, and a plan deletes nothing, so the plan says what
//! `apply` will do after approval — delete the dead stack (by its id), then create the
//! stack from the template and parameters the plan carries — and shows what will be
//! created: the template's resources (those whose Condition holds), all `Add`.
//! `apply` then checks that CloudFormation's change set has exactly these rows.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::Stack;
use serde_yaml::Value;

use super::plan::{Planned, no_echo_unset, parameter_changes};
use super::{Deploy, Ending};
use crate::cfn::change_set::ResourceChange;
use crate::engine::plan_file::{self, Fingerprint, Recreate};
use crate::error::Failure;
use crate::parameters::effective_values;
use crate::template::ParameterSpec;

impl Deploy {
    /// Writes the plan that recreates the dead stack `dead`.
    pub(super) async fn plan_recreate(&mut self, dead: &Stack) -> Result<Planned, Failure> {
        let name = self.stack_name().to_owned();
        let dead_id = dead.stack_id().unwrap_or(&name).to_owned();
        // NoEcho values are refused rather than carried: a plan file is a CI artifact
        // that anyone who can read the run can download, so it never holds a secret;
        // and taking the value from apply's environment instead would execute a value
        // nobody reviewed, in a job that is not meant to hold the app's secrets. A
        // NoEcho parameter with a Default and no value is fine (nothing to carry).
        let inputs = &self.inputs;
        let mut secret: Vec<String> =
            no_echo_unset(&inputs.template.parameters, &inputs.parameters);
        secret.extend(
            inputs
                .template
                .parameters
                .iter()
                .filter(|(n, spec)| spec.no_echo && inputs.parameters.contains_key(*n))
                .map(|(n, _)| n.clone()),
        );
        if !secret.is_empty() {
            return Err(Failure::failed(format!(
                "stack {name} is ROLLBACK_COMPLETE (its first create failed) and must be created again, \
                 but a plan file never holds secret values and the NoEcho parameter(s) {} would have \
                 to be in it. Remove the dead stack (`deployer destroy --stack-name {name}`) and plan \
                 again (a plan for a new stack keeps the values in CloudFormation), or recover with a \
                 deploy without --plan-out (`deployer deploy … --yes`)",
                secret
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.check_order(None)?;
        let inputs = &self.inputs;
        let values = effective_values(&inputs.template.parameters, &inputs.parameters);
        let rows = created_rows(&inputs.template.body, &inputs.template.parameters, &values)
            .map_err(|why| {
                Failure::failed(format!(
                    "stack {name} is ROLLBACK_COMPLETE and must be created again, but what it would \
                     create cannot be worked out here: {why}. Recover with a deploy without \
                     --plan-out (`deployer deploy … --yes`), or remove the dead stack \
                     (`deployer destroy --stack-name {name}`) and plan again"
                ))
            })?;
        self.report.commit = self.inputs.commit.clone();
        self.report.has_changes = true;
        self.report.stack_id = Some(dead_id.clone());
        self.report.stack_status = Some("ROLLBACK_COMPLETE".to_owned());
        self.report.recreates = Some(dead_id.clone());
        self.report.changes = rows;
        let inputs = &self.inputs;
        self.report.parameter_changes =
            parameter_changes(&inputs.template.parameters, &inputs.parameters, None);
        let recreate = Recreate {
            dead_stack_id: Some(dead_id.clone()),
            template_body: inputs.template.body.clone(),
            parameters: inputs.parameters.clone(),
            tags: self.stack_tags(None),
            role_arn: inputs.settings.role_arn.clone(),
            change_set_timeout_seconds: inputs.settings.change_set_timeout.as_secs(),
            wired: Vec::new(),
        };
        self.show_changes();
        if !self.inputs.plans() {
            return Ok(Planned::Done(Ending::Pending));
        }
        let mut plan = self.plan_file();
        plan.stack_id = Some(dead_id.clone());
        plan.has_changes = true;
        plan.creates_stack = true;
        plan.stack = Some(Fingerprint::of(dead));
        plan.recreate = Some(recreate);
        if let Some(path) = self.inputs.plan_out.clone() {
            plan_file::write(&path, &plan)?;
            self.progress.line(&format!(
                "Plan written to {}: `deployer apply {}` deletes the dead stack {dead_id}, then creates \
                 stack {name} (nothing was changed yet)",
                path.display(),
                path.display()
            ));
        }
        self.report.planned = Some(Box::new(plan));
        Ok(Planned::Done(Ending::Pending))
    }
}

/// The resources creating `body` makes with these parameter values, as `Add` rows in
/// template order: every resource whose `Condition` holds. `Err` when that cannot be
/// decided here (a condition needing AWS, a transform's macros).
pub(crate) fn created_rows(
    body: &str,
    specs: &BTreeMap<String, ParameterSpec>,
    values: &BTreeMap<&str, &str>,
) -> Result<Vec<ResourceChange>, String> {
    let doc: Value = serde_yaml::from_str(body).map_err(|e| format!("the template: {e}"))?;
    if doc.get("Transform").is_some() {
        return Err(
            "the template has a Transform, whose macros only CloudFormation expands".into(),
        );
    }
    let conditions = doc.get("Conditions");
    let Some(Value::Mapping(resources)) = doc.get("Resources") else {
        return Err("the template has no Resources".into());
    };
    let mut rows = Vec::new();
    for (logical, spec) in resources {
        let logical = logical.as_str().unwrap_or_default().to_owned();
        if let Some(Value::String(condition)) = spec.get("Condition") {
            let expr = conditions
                .and_then(|c| c.get(condition.as_str()))
                .ok_or_else(|| format!("resource {logical} names condition {condition}, which the template does not define"))?;
            let holds = crate::template::rules::evaluate_condition(expr, specs, values)
                .map_err(|why| format!("condition {condition} of resource {logical}: {why}"))?;
            if !holds {
                continue;
            }
        }
        let kind = spec
            .get("Type")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("resource {logical} has no Type"))?;
        rows.push(ResourceChange {
            action: "Add".to_owned(),
            logical_id: logical,
            resource_type: kind.to_owned(),
            replacement: String::new(),
            policy_action: String::new(),
            scope: Vec::new(),
            details: Vec::new(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resources_whose_condition_holds_are_added() {
        let body = "Parameters:\n  Two: {Type: String, Default: \"1\"}\nConditions:\n  IsTwo: !Equals [!Ref Two, \"2\"]\nResources:\n  A:\n    Type: AWS::SNS::Topic\n  B:\n    Type: AWS::SQS::Queue\n    Condition: IsTwo\n";
        let template = crate::template::Template::parse(body).unwrap();
        let given = BTreeMap::new();
        let values = effective_values(&template.parameters, &given);
        let rows = created_rows(body, &template.parameters, &values).unwrap();
        let ids: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                (
                    r.action.as_str(),
                    r.logical_id.as_str(),
                    r.resource_type.as_str(),
                )
            })
            .collect();
        assert_eq!(ids, vec![("Add", "A", "AWS::SNS::Topic")]);
        let given: BTreeMap<String, String> = [("Two".to_owned(), "2".to_owned())].into();
        let values = effective_values(&template.parameters, &given);
        assert_eq!(
            created_rows(body, &template.parameters, &values)
                .unwrap()
                .len(),
            2
        );
        // A condition that needs AWS is not guessed.
        let aws = body.replace("!Ref Two", "!Ref AWS::Region");
        let template = crate::template::Template::parse(&aws).unwrap();
        let given = BTreeMap::new();
        let values = effective_values(&template.parameters, &given);
        let why = created_rows(&aws, &template.parameters, &values).unwrap_err();
        assert!(why.contains("condition IsTwo of resource B"), "{why}");
    }

    #[test]
    fn the_environment_template_can_be_planned_for_a_recreate() {
        let body = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cfn/environment.yaml"
        ))
        .unwrap();
        let template = crate::template::Template::parse(&body).unwrap();
        let given = BTreeMap::new();
        let values = effective_values(&template.parameters, &given);
        let rows = created_rows(&body, &template.parameters, &values).unwrap();
        assert!(
            rows.iter()
                .any(|r| r.resource_type == "AWS::Cognito::UserPoolDomain")
        );
        assert!(rows.iter().all(|r| r.action == "Add"));
    }
}
