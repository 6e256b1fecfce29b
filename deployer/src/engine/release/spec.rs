//! What a release deploys: the stacks of one environment of an application, resolved
//! from deploy.yaml by the application model (`crate::app`), in order — the
//! environment stack first, then the service stacks by name.
//!
//! A service stack's parameters that are named like one of the environment template's
//! Outputs are not given here: the release fills them from the environment stack's
//! outputs (the wiring rule), when planning if the environment exists, else when the
//! environment has been deployed (a deferred create).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::template::Template;

/// One environment of an application, as stacks to release.
#[derive(Debug, Clone)]
pub(crate) struct ReleaseSpec {
    /// `application:` in deploy.yaml.
    pub application: String,
    /// The environment's name (`staging`).
    pub environment: String,
    /// The environment's region.
    pub region: String,
    /// The environment stack, then the service stacks (by service name).
    pub stacks: Vec<StackSpec>,
}

/// One stack of a release.
#[derive(Debug, Clone)]
pub(crate) struct StackSpec {
    /// `None`: the environment stack; `Some(name)`: that service's stack.
    pub service: Option<String>,
    /// `{application}-{environment}` or `{application}-{environment}-{service}`.
    pub stack_name: String,
    /// The template (`cfn/environment.yaml` or `cfn/service.yaml`).
    pub template: Template,
    /// The parameter values the deployer works out (not the image, not the
    /// environment-wired ones).
    pub parameters: BTreeMap<String, String>,
    /// Stack tags (the environment's `tags:`).
    pub tags: BTreeMap<String, String>,
    /// The CloudFormation service role.
    pub role_arn: Option<String>,
    /// Turn termination protection on.
    pub termination_protection: bool,
    /// How long to wait for the stack to finish.
    pub wait_timeout: Duration,
    /// How long CloudFormation may take to work out a change set.
    pub change_set_timeout: Duration,
    /// A service's ECR repository (`None` for the environment).
    pub repository: Option<String>,
    /// The template parameter that receives the image URI (`ImageUri`), for a service.
    pub image_parameter: Option<String>,
    /// Its first change set (the one that creates it) may use CloudFormation's express
    /// mode; updates are always standard (`cfn::change_set::deployment_mode`). Only
    /// pull-request preview stacks set it.
    pub express_create: bool,
}

impl StackSpec {
    /// `environment` or `service web`, for messages.
    pub(crate) fn role(&self) -> String {
        match &self.service {
            None => "environment".to_owned(),
            Some(s) => format!("service {s}"),
        }
    }
}

impl ReleaseSpec {
    /// The environment stack (the first).
    pub(crate) fn environment_stack(&self) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.service.is_none())
    }
}

/// The names of the Outputs a template declares (what a service stack may be wired to).
pub(crate) fn output_names(template: &Template) -> Vec<String> {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(&template.body) else {
        return Vec::new();
    };
    match doc.get("Outputs") {
        Some(serde_yaml::Value::Mapping(outputs)) => outputs
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The parameters of `service` that the wiring rule fills from the environment: those
/// named like one of `environment_outputs`.
pub(crate) fn wired_parameters(service: &Template, environment_outputs: &[String]) -> Vec<String> {
    service
        .parameters
        .keys()
        .filter(|p| environment_outputs.contains(p))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_parameters_named_like_environment_outputs_are_wired() {
        let env = Template::parse(
            "Resources:\n  Q: {Type: AWS::SQS::Queue}\nOutputs:\n  QueueUrl: {Value: !Ref Q}\n  QueueArn: {Value: !GetAtt Q.Arn}\n",
        )
        .unwrap();
        let svc = Template::parse(
            "Parameters:\n  QueueUrl: {Type: String}\n  ImageUri: {Type: String}\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
        )
        .unwrap();
        let outputs = output_names(&env);
        assert_eq!(outputs, vec!["QueueUrl", "QueueArn"]);
        assert_eq!(wired_parameters(&svc, &outputs), vec!["QueueUrl"]);
    }
}
