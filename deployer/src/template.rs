//! Reading a CloudFormation template offline: its parameters (with their rules) and the
//! capabilities it needs. YAML short-form tags (`!Ref`, `!Sub`, `!GetAtt`, `!If` …)
//! are accepted as they are; we only look at the `Parameters`, `Rules`, `Resources`,
//! `Transform` and `Metadata.Deployer` sections, so the intrinsic functions of the
//! resources never need resolving.

mod metadata;
pub(crate) mod rules;

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use crate::error::Failure;
pub(crate) use metadata::DeployerRules;

/// One entry of the template's `Parameters` section, with the rules CloudFormation
/// checks when a value is given.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ParameterSpec {
    /// `Type`: `String`, `Number`, `CommaDelimitedList`, `List<Number>`, AWS-specific types.
    pub kind: String,
    /// `Default`, as CloudFormation would pass it.
    pub default: Option<String>,
    /// `AllowedPattern`, a regular expression the whole value must match.
    pub allowed_pattern: Option<String>,
    /// `AllowedValues`.
    pub allowed_values: Option<Vec<String>>,
    /// `MinLength`.
    pub min_length: Option<u64>,
    /// `MaxLength`.
    pub max_length: Option<u64>,
    /// `MinValue`.
    pub min_value: Option<f64>,
    /// `MaxValue`.
    pub max_value: Option<f64>,
    /// `NoEcho`: never print the value.
    pub no_echo: bool,
    /// `ConstraintDescription`, shown with a broken rule when the author wrote one.
    pub constraint_description: Option<String>,
}

/// What we need from a template before talking to AWS.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// The template text, sent as `TemplateBody`.
    pub body: String,
    /// Parameters by name.
    pub parameters: BTreeMap<String, ParameterSpec>,
    /// The capabilities the template needs, worked out from its resources.
    pub capabilities: Vec<String>,
    /// `Metadata.Deployer`: immutable parameters, ordered numbers, the hosted zone.
    pub deployer: DeployerRules,
    /// The `Rules` section, by rule name, evaluated offline by [`rules::check`].
    pub rules: Vec<(String, Value)>,
}

/// CloudFormation's limit for an inline `TemplateBody`.
pub(crate) const MAX_TEMPLATE_BODY: usize = 51_200;

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let body = std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("cannot read template {}: {e}", path.display())))?;
        Self::parse(&body).map_err(|e| Failure::input(format!("template {}: {e}", path.display())))
    }

    /// Parses template text (YAML with CloudFormation tags, or JSON).
    pub fn parse(body: &str) -> Result<Self, String> {
        if body.len() > MAX_TEMPLATE_BODY {
            return Err(format!(
                "is {} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BODY} bytes inline \
                 (upload larger templates to S3 or split them into nested stacks)",
                body.len()
            ));
        }
        let doc: Value =
            serde_yaml::from_str(body).map_err(|e| format!("is not valid YAML or JSON: {e}"))?;
        let Value::Mapping(_) = doc else {
            return Err("is not a CloudFormation template: the top level must be a mapping".into());
        };
        if doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .is_none_or(|r| r.is_empty())
        {
            return Err(
                "has no `Resources` section; CloudFormation needs at least one resource".into(),
            );
        }
        let parameters = match doc.get("Parameters") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Mapping(map)) => {
                let mut out = BTreeMap::new();
                for (name, spec) in map {
                    let name = scalar(name).ok_or("has a parameter whose name is not a string")?;
                    out.insert(name.clone(), parameter_spec(&name, spec)?);
                }
                out
            }
            Some(_) => return Err("`Parameters` must be a mapping of parameter names".into()),
        };
        let rules = match doc.get("Rules") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(map)) => map
                .iter()
                .map(|(name, rule)| (scalar(name).unwrap_or_default(), rule.clone()))
                .collect(),
            Some(_) => return Err("`Rules` must be a mapping of rule names".into()),
        };
        Ok(Self {
            body: body.to_owned(),
            rules,
            deployer: metadata::parse(&doc, &parameters)?,
            parameters,
            capabilities: needed_capabilities(&doc),
        })
    }
}

fn parameter_spec(name: &str, spec: &Value) -> Result<ParameterSpec, String> {
    let Value::Mapping(_) = spec else {
        return Err(format!(
            "parameter `{name}` must be a mapping with at least a `Type`"
        ));
    };
    let field = |key: &str| spec.get(key).and_then(scalar);
    let number = |key: &str| -> Result<Option<f64>, String> {
        field(key)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| format!("parameter `{name}`: `{key}` must be a number, not `{v}`"))
            })
            .transpose()
    };
    let kind = field("Type").ok_or_else(|| format!("parameter `{name}` has no `Type`"))?;
    let allowed_values = match spec.get("AllowedValues") {
        None => None,
        Some(Value::Sequence(items)) => Some(
            items
                .iter()
                .map(|v| {
                    scalar(v).ok_or_else(|| {
                        format!("parameter `{name}`: `AllowedValues` must hold plain values")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(format!(
                "parameter `{name}`: `AllowedValues` must be a list"
            ));
        }
    };
    // Not compiled here: CloudFormation's patterns are Java regular expressions, and one
    // that no engine here understands is a warning at check time, not a broken template.
    let allowed_pattern = field("AllowedPattern");
    Ok(ParameterSpec {
        kind,
        default: field("Default"),
        allowed_pattern,
        allowed_values,
        min_length: number("MinLength")?.map(|n| n as u64),
        max_length: number("MaxLength")?.map(|n| n as u64),
        min_value: number("MinValue")?,
        max_value: number("MaxValue")?,
        no_echo: field("NoEcho").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        constraint_description: field("ConstraintDescription"),
    })
}

/// A plain value as CloudFormation sees it: strings as they are, numbers and booleans
/// as their text. Lists (a `Default` for a list type) are joined with commas.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Sequence(items) => items
            .iter()
            .map(scalar)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

/// Resource properties that give an IAM resource a custom name, which needs
/// `CAPABILITY_NAMED_IAM` instead of `CAPABILITY_IAM`.
const IAM_NAME_PROPERTIES: [&str; 5] = [
    "RoleName",
    "GroupName",
    "UserName",
    "ManagedPolicyName",
    "InstanceProfileName",
];

/// The capabilities CloudFormation will demand for this template.
fn needed_capabilities(doc: &Value) -> Vec<String> {
    let mut iam = false;
    let mut named_iam = false;
    if let Some(resources) = doc.get("Resources").and_then(Value::as_mapping) {
        for resource in resources.values() {
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.starts_with("AWS::IAM::") {
                iam = true;
                let props = resource.get("Properties");
                if IAM_NAME_PROPERTIES
                    .iter()
                    .any(|p| props.and_then(|props| props.get(p)).is_some())
                {
                    named_iam = true;
                }
            }
        }
    }
    let mut caps = Vec::new();
    if named_iam {
        caps.push("CAPABILITY_NAMED_IAM".to_owned());
    } else if iam {
        caps.push("CAPABILITY_IAM".to_owned());
    }
    if doc.get("Transform").is_some() || contains_key(doc, "Fn::Transform") {
        caps.push("CAPABILITY_AUTO_EXPAND".to_owned());
    }
    caps
}

fn contains_key(value: &Value, key: &str) -> bool {
    match value {
        Value::Mapping(map) => map
            .iter()
            .any(|(k, v)| k.as_str() == Some(key) || contains_key(v, key)),
        Value::Sequence(items) => items.iter().any(|v| contains_key(v, key)),
        Value::Tagged(tagged) => tagged.tag == "!Transform" || contains_key(&tagged.value, key),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_TAGS: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Name:
    Type: String
    AllowedPattern: "[a-z]+"
    MinLength: 3
    MaxLength: 8
  Size:
    Type: Number
    Default: 2
    MinValue: 1
    MaxValue: 5
  Mode:
    Type: String
    AllowedValues: [fast, slow]
    Default: fast
  Secret:
    Type: String
    NoEcho: true
    Default: x
Conditions:
  IsFast: !Equals [!Ref Mode, fast]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Name}-${AWS::StackName}"
      DisplayName: !If [IsFast, !GetAtt Other.Arn, !Ref "AWS::NoValue"]
"#;

    #[test]
    fn yaml_with_short_form_tags_parses_and_rules_are_read() {
        let t = Template::parse(WITH_TAGS).unwrap();
        let name = &t.parameters["Name"];
        assert_eq!(name.kind, "String");
        assert_eq!(name.allowed_pattern.as_deref(), Some("[a-z]+"));
        assert_eq!((name.min_length, name.max_length), (Some(3), Some(8)));
        assert_eq!(name.default, None);
        let size = &t.parameters["Size"];
        assert_eq!(
            (size.default.as_deref(), size.min_value, size.max_value),
            (Some("2"), Some(1.0), Some(5.0))
        );
        assert_eq!(
            t.parameters["Mode"].allowed_values,
            Some(vec!["fast".into(), "slow".into()])
        );
        assert!(t.parameters["Secret"].no_echo);
        assert!(t.capabilities.is_empty());
    }

    #[test]
    fn json_templates_parse() {
        let t = Template::parse(r#"{"Parameters":{"A":{"Type":"String"}},"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}"#).unwrap();
        assert_eq!(t.parameters["A"].kind, "String");
    }

    #[test]
    fn broken_templates_say_what_is_wrong() {
        assert!(
            Template::parse("Resources: [")
                .unwrap_err()
                .contains("not valid YAML")
        );
        assert!(
            Template::parse("Parameters: {}\n")
                .unwrap_err()
                .contains("no `Resources`")
        );
        let bad_type =
            "Parameters:\n  A:\n    Default: x\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
        assert!(
            Template::parse(bad_type)
                .unwrap_err()
                .contains("parameter `A` has no `Type`")
        );
        // A Java pattern with look-ahead (Rust's regex refuses it) is a valid template.
        let lookahead = "Parameters:\n  A:\n    Type: String\n    AllowedPattern: '^(?!.*aws)[a-z]+$'\nResources:\n  T:\n    Type: AWS::SNS::Topic\n";
        assert!(Template::parse(lookahead).is_ok());
    }

    #[test]
    fn capabilities_come_from_the_resources() {
        let iam = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      AssumeRolePolicyDocument: {}\n";
        assert_eq!(
            Template::parse(iam).unwrap().capabilities,
            vec!["CAPABILITY_IAM"]
        );
        let named = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Sub '${AWS::StackName}-role'\n";
        assert_eq!(
            Template::parse(named).unwrap().capabilities,
            vec!["CAPABILITY_NAMED_IAM"]
        );
        let sam = "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n";
        assert_eq!(
            Template::parse(sam).unwrap().capabilities,
            vec!["CAPABILITY_AUTO_EXPAND"]
        );
        let inline = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      Fn::Transform: {Name: AWS::Include}\n";
        assert_eq!(
            Template::parse(inline).unwrap().capabilities,
            vec!["CAPABILITY_AUTO_EXPAND"]
        );
    }
}
