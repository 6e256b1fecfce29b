//! The CloudFormation task definition and the service agree on environment variables:
//! for each `Login` value of `cfn/service.yaml`, every variable the task definition sets is
//! one the service reads, and with login every required one is set.

use serde_yaml::Value;
use service::configuration::{ENV_VARS, REQUIRED_ENV_VARS};

/// What `Login=none` adds so the sample shows its public page. The service learns to read
/// it in the same change that adds the public mode; until then it is accepted here by name.
const PUBLIC_MODE: &str = "LOGIN";

/// Strips CloudFormation short-form tags (`!Ref`, `!Sub`, ...) so the tree is plain YAML.
fn untag(value: &Value) -> &Value {
    match value {
        Value::Tagged(tagged) => untag(&tagged.value),
        other => other,
    }
}

/// The task definition's container environment (name → value node) with `Login` set to
/// `login`: entries written as `!If [Condition, {Name, Value}, !Ref AWS::NoValue]` are
/// resolved with the template's two login conditions, as CloudFormation would.
fn container_variables(template: &Value, login: &str) -> Vec<(String, Value)> {
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
    let holds = |condition: &str| match condition {
        "LoginCognito" => login == "cognito",
        "NoLogin" => login == "none",
        other => panic!("the contract test does not know condition {other}; teach it"),
    };
    let containers = untag(&task_definitions[0]["Properties"]["ContainerDefinitions"])
        .as_sequence()
        .expect("ContainerDefinitions is a list");
    let mut variables = Vec::new();
    for container in containers {
        let Some(environment) = untag(&container["Environment"]).as_sequence() else {
            continue;
        };
        for entry in environment {
            let chosen = match entry {
                Value::Tagged(tagged) if tagged.tag == "!If" => {
                    let branches = tagged.value.as_sequence().expect("!If takes a list");
                    let condition = branches[0].as_str().expect("!If names a condition");
                    if holds(condition) {
                        &branches[1]
                    } else {
                        &branches[2]
                    }
                }
                plain => plain,
            };
            if let Some(name) = untag(&chosen["Name"]).as_str() {
                variables.push((name.to_owned(), chosen["Value"].clone()));
            }
        }
    }
    variables
}

fn service_template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../cfn/service.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): the CloudFormation template must exist for this contract test")
    });
    serde_yaml::from_str(&text).expect("cfn/service.yaml is valid YAML")
}

#[test]
fn task_definition_sets_only_variables_the_service_reads() {
    let template = service_template();
    for login in ["cognito", "none"] {
        let names: Vec<String> = container_variables(&template, login)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for name in &names {
            assert!(
                ENV_VARS.contains(&name.as_str()) || name == PUBLIC_MODE,
                "cfn/service.yaml (Login={login}) sets {name}, which the service does not read (ENV_VARS: {ENV_VARS:?})"
            );
        }
        if login == "cognito" {
            for required in REQUIRED_ENV_VARS {
                assert!(
                    names.iter().any(|n| n == required),
                    "the task definition must set {required}, without which the service refuses to start: {names:?}"
                );
            }
            assert!(!names.iter().any(|n| n == PUBLIC_MODE), "{names:?}");
        }
    }
}

#[test]
fn without_login_the_task_definition_says_so_and_passes_no_login_settings() {
    let variables = container_variables(&service_template(), "none");
    let login = variables
        .iter()
        .find(|(name, _)| name == PUBLIC_MODE)
        .map(|(_, value)| untag(value).as_str().map(str::to_owned));
    assert_eq!(login, Some(Some("none".to_owned())), "{variables:?}");
    let names: Vec<&str> = variables.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["PORT", "AWS_REGION", PUBLIC_MODE]);
}
