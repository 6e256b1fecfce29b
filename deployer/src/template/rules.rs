//! The template's `Rules` section, evaluated offline so that every broken rule is
//! reported together with the other parameter problems (CloudFormation stops at the
//! first, and only once the change set is being created).
//!
//! Hand-written because no crate evaluates CloudFormation rule functions; it covers the
//! functions that need only parameter values (`Ref`, `Fn::Equals`, `Fn::Not`, `Fn::And`,
//! `Fn::Or`, `Fn::Contains`, `Fn::EachMemberEquals`, `Fn::EachMemberIn`). A rule that
//! uses anything else (`Fn::ValueOf`, `Fn::RefAll`, pseudo parameters: they need AWS)
//! is left to CloudFormation with a warning, never guessed.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::{ParameterSpec, scalar};

/// A value inside a rule.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// Why a rule cannot be evaluated here.
type Unknown = String;

/// Evaluates every rule; returns (problems, warnings).
pub(crate) fn check(
    rules: &[(String, Value)],
    specs: &BTreeMap<String, ParameterSpec>,
    values: &BTreeMap<&str, &str>,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let ctx = Context { specs, values };
    for (name, rule) in rules {
        match ctx.rule(rule) {
            Ok(broken) => problems.extend(broken.into_iter().map(|d| format!("template rule `{name}`: {d}"))),
            Err(why) => warnings.push(format!(
                "template rule `{name}` cannot be checked here ({why}); CloudFormation will check it"
            )),
        }
    }
    (problems, warnings)
}

/// Evaluates a template condition (a `Conditions` entry, or a `RuleCondition`) from
/// parameter values; `Err` says why it cannot be decided here (it needs AWS).
pub(crate) fn evaluate_condition(
    expr: &Value,
    specs: &BTreeMap<String, ParameterSpec>,
    values: &BTreeMap<&str, &str>,
) -> Result<bool, String> {
    Context { specs, values }.boolean(expr)
}

struct Context<'a> {
    specs: &'a BTreeMap<String, ParameterSpec>,
    values: &'a BTreeMap<&'a str, &'a str>,
}

impl Context<'_> {
    /// The descriptions of the rule's failed assertions (none when its condition is false).
    fn rule(&self, rule: &Value) -> Result<Vec<String>, Unknown> {
        if let Some(condition) = rule.get("RuleCondition")
            && !self.boolean(condition)?
        {
            return Ok(Vec::new());
        }
        let Some(Value::Sequence(assertions)) = rule.get("Assertions") else {
            return Err("it has no list of Assertions".into());
        };
        let mut broken = Vec::new();
        for assertion in assertions {
            let assert = assertion
                .get("Assert")
                .ok_or("an assertion has no Assert")?;
            if !self.boolean(assert)? {
                broken.push(
                    assertion
                        .get("AssertDescription")
                        .and_then(scalar)
                        .unwrap_or_else(|| "an assertion failed".into()),
                );
            }
        }
        Ok(broken)
    }

    fn boolean(&self, v: &Value) -> Result<bool, Unknown> {
        match self.eval(v)? {
            Val::Bool(b) => Ok(b),
            Val::Text(t) if t == "true" || t == "false" => Ok(t == "true"),
            other => Err(format!("{other:?} is not a condition")),
        }
    }

    fn text(&self, v: &Value) -> Result<String, Unknown> {
        match self.eval(v)? {
            Val::Text(t) => Ok(t),
            Val::Bool(b) => Ok(b.to_string()),
            Val::List(_) => Err("a list where a single value belongs".into()),
        }
    }

    fn list(&self, v: &Value) -> Result<Vec<String>, Unknown> {
        match self.eval(v)? {
            Val::List(items) => Ok(items),
            Val::Text(t) => Ok(vec![t]),
            Val::Bool(_) => Err("a condition where a list belongs".into()),
        }
    }

    fn eval(&self, v: &Value) -> Result<Val, Unknown> {
        let (function, args) = match v {
            Value::Tagged(t) => {
                let tag = t.tag.to_string();
                let name = tag.trim_start_matches('!');
                let full = if name == "Ref" {
                    "Ref".to_owned()
                } else {
                    format!("Fn::{name}")
                };
                (full, &t.value)
            }
            Value::Mapping(m) if m.len() == 1 => {
                let (k, args) = m.iter().next().ok_or("an empty function")?;
                (k.as_str().unwrap_or_default().to_owned(), args)
            }
            Value::Sequence(items) => {
                return items
                    .iter()
                    .map(|i| self.text(i))
                    .collect::<Result<_, _>>()
                    .map(Val::List);
            }
            Value::Bool(b) => return Ok(Val::Bool(*b)),
            other => {
                return scalar(other)
                    .map(Val::Text)
                    .ok_or_else(|| "a value that is not text".into());
            }
        };
        let arg = |i: usize| -> Result<&Value, Unknown> {
            match args {
                Value::Sequence(items) => items
                    .get(i)
                    .ok_or_else(|| format!("{function} needs more arguments")),
                _ => Err(format!("{function} takes a list")),
            }
        };
        let all = || -> Result<&Vec<Value>, Unknown> {
            match args {
                Value::Sequence(items) => Ok(items),
                _ => Err(format!("{function} takes a list")),
            }
        };
        Ok(match function.as_str() {
            "Ref" => {
                let name = scalar(args).ok_or("Ref of something that is not a name")?;
                let spec = self
                    .specs
                    .get(&name)
                    .ok_or_else(|| format!("Ref {name} is not a parameter"))?;
                let value = self
                    .values
                    .get(name.as_str())
                    .ok_or_else(|| format!("{name} has no value"))?;
                if spec.kind == "CommaDelimitedList" || spec.kind.starts_with("List<") {
                    Val::List(value.split(',').map(|s| s.trim().to_owned()).collect())
                } else {
                    Val::Text((*value).to_owned())
                }
            }
            "Fn::Equals" => Val::Bool(self.text(arg(0)?)? == self.text(arg(1)?)?),
            "Fn::Not" => Val::Bool(!self.boolean(arg(0)?)?),
            "Fn::And" => Val::Bool(
                all()?
                    .iter()
                    .map(|c| self.boolean(c))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .all(|b| b),
            ),
            "Fn::Or" => Val::Bool(
                all()?
                    .iter()
                    .map(|c| self.boolean(c))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .any(|b| b),
            ),
            "Fn::Contains" => Val::Bool(self.list(arg(0)?)?.contains(&self.text(arg(1)?)?)),
            "Fn::EachMemberEquals" => {
                let want = self.text(arg(1)?)?;
                Val::Bool(self.list(arg(0)?)?.iter().all(|m| *m == want))
            }
            "Fn::EachMemberIn" => {
                let allowed = self.list(arg(1)?)?;
                Val::Bool(self.list(arg(0)?)?.iter().all(|m| allowed.contains(m)))
            }
            other => return Err(format!("{other} needs AWS")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str, values: &[(&str, &str)]) -> (Vec<String>, Vec<String>) {
        let doc: Value = serde_yaml::from_str(yaml).unwrap();
        let rules: Vec<(String, Value)> = doc
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
            .collect();
        let specs = [
            ("Cpu", "String"),
            ("Memory", "String"),
            ("Subnets", "CommaDelimitedList"),
        ]
        .map(|(n, k)| {
            (
                n.to_owned(),
                ParameterSpec {
                    kind: k.into(),
                    ..Default::default()
                },
            )
        })
        .into();
        check(&rules, &specs, &values.iter().copied().collect())
    }

    const FARGATE: &str = "Small:\n  RuleCondition: !Equals [!Ref Cpu, \"256\"]\n  Assertions:\n    - Assert: !Contains [[\"512\", \"1024\"], !Ref Memory]\n      AssertDescription: With Cpu 256, Memory must be 512 or 1024.\nLarge:\n  RuleCondition: {\"Fn::Equals\": [{Ref: Cpu}, \"4096\"]}\n  Assertions:\n    - Assert: {\"Fn::Not\": [{\"Fn::Equals\": [{Ref: Memory}, \"512\"]}]}\n      AssertDescription: With Cpu 4096, Memory must not be 512.\n";

    #[test]
    fn rules_in_short_and_long_form_are_evaluated() {
        assert_eq!(
            run(FARGATE, &[("Cpu", "256"), ("Memory", "512")]),
            (vec![], vec![])
        );
        // Condition false: the rule does not apply.
        assert_eq!(
            run(FARGATE, &[("Cpu", "512"), ("Memory", "512")]).0.len(),
            0
        );
        let (p, _) = run(FARGATE, &[("Cpu", "256"), ("Memory", "4096")]);
        assert_eq!(
            p,
            ["template rule `Small`: With Cpu 256, Memory must be 512 or 1024."]
        );
        let (p, _) = run(FARGATE, &[("Cpu", "4096"), ("Memory", "512")]);
        assert_eq!(
            p,
            ["template rule `Large`: With Cpu 4096, Memory must not be 512."]
        );
    }

    #[test]
    fn list_functions_and_what_needs_aws() {
        let each = "R:\n  Assertions:\n    - Assert: !EachMemberIn [!Ref Subnets, [a, b]]\n      AssertDescription: subnets a or b\n    - Assert: !And [!EachMemberEquals [!Ref Subnets, a], !Or [true, false]]\n";
        assert_eq!(run(each, &[("Subnets", "a, a")]).0.len(), 0);
        let (p, _) = run(each, &[("Subnets", "a,c")]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[1].ends_with("an assertion failed"), "{p:?}");
        let aws = "R:\n  Assertions:\n    - Assert: !EachMemberEquals [!ValueOfAll [AWS::EC2::Subnet::Id, Tag], x]\n";
        let (p, w) = run(aws, &[]);
        assert!(
            p.is_empty() && w.len() == 1 && w[0].contains("needs AWS"),
            "{w:?}"
        );
    }
}
