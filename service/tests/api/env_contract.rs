//! The CloudFormation task definition and the service agree on environment variables:
//! every variable `cfn/app.yaml` sets is one the service reads, and every required one is set.

use serde_yaml::Value;
use service::configuration::{ENV_VARS, REQUIRED_ENV_VARS};

/// Strips CloudFormation short-form tags (`!Ref`, `!Sub`, ...) so the tree is plain YAML.
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

#[test]
fn task_definition_sets_only_variables_the_service_reads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../cfn/app.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): the CloudFormation template must exist for this contract test")
    });
    let template: Value = serde_yaml::from_str(&text).expect("cfn/app.yaml is valid YAML");
    let resources = template["Resources"]
        .as_mapping()
        .expect("template has Resources");
    let task_definitions: Vec<&Value> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::ECS::TaskDefinition"))
        .collect();
    assert_eq!(
        task_definitions.len(),
        1,
        "expected one AWS::ECS::TaskDefinition"
    );

    let containers = untag(&task_definitions[0]["Properties"]["ContainerDefinitions"])
        .as_sequence()
        .expect("ContainerDefinitions is a list");
    let mut names = Vec::new();
    for container in containers {
        if let Some(environment) = untag(&container["Environment"]).as_sequence() {
            for variable in environment {
                let name = untag(&variable["Name"])
                    .as_str()
                    .expect("Environment Name is a string");
                names.push(name.to_owned());
            }
        }
    }
    for name in &names {
        assert!(
            ENV_VARS.contains(&name.as_str()),
            "cfn/app.yaml sets {name}, which the service does not read (ENV_VARS: {ENV_VARS:?})"
        );
    }
    for required in REQUIRED_ENV_VARS {
        assert!(
            names.iter().any(|n| n == required),
            "the task definition must set {required}, without which the service refuses to start: {names:?}"
        );
    }
}
