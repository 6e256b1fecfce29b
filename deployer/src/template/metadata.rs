//! The template's `Metadata.Deployer` block: rules about its parameters that
//! CloudFormation cannot express, written next to the parameters they govern so the
//! deployer stays template-agnostic.
//!
//! ```yaml
//! Metadata:
//!   Deployer:
//!     # A deployed stack's value may not change; the text says how to change it anyway.
//!     ImmutableParameters:
//!       CognitoDomainPrefix: "Delete the domain first, then deploy …"
//!     # Numbers that must not decrease along the list (a ≤ b ≤ c). `Except` skips the
//!     # rule while a parameter has the given value (DesiredCount 0 = "not pinned").
//!     Ordered:
//!       - [MinTasks, MaxTasks]
//!       - Parameters: [MinTasks, DesiredCount, MaxTasks]
//!         Except: { DesiredCount: "0" }
//!     # Checked against Route 53 before the change set: the zone is public and holds
//!     # the domain (else ACM's DNS validation waits 36 hours).
//!     HostedZone: { Zone: HostedZoneId, Domain: DomainName }
//! ```

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::{ParameterSpec, scalar};

/// The parsed `Metadata.Deployer` block (everything empty when there is none).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeployerRules {
    /// Parameter → how to change it on purpose (the deploy is refused otherwise).
    pub immutable: BTreeMap<String, String>,
    /// Numeric ≤ chains.
    pub ordered: Vec<Ordered>,
    /// Which parameters name the hosted zone and the domain inside it.
    pub hosted_zone: Option<HostedZoneRule>,
    /// The parameter holding the Cognito hosted-UI domain prefix (a name that is unique
    /// per region across all accounts): checked free, or this stack's, before any change.
    pub cognito_domain_prefix: Option<String>,
}

/// `a ≤ b ≤ …` over numeric parameter values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ordered {
    /// Parameter names, smallest first.
    pub parameters: Vec<String>,
    /// The rule does not apply while one of these parameters has this value.
    pub except: BTreeMap<String, String>,
}

/// The parameters holding a Route 53 hosted zone id and a domain name inside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostedZoneRule {
    /// Parameter with the hosted zone id.
    pub zone: String,
    /// Parameter with the domain name.
    pub domain: String,
}

/// Reads `Metadata.Deployer`; every parameter it names must exist in the template.
pub(super) fn parse(
    doc: &Value,
    parameters: &BTreeMap<String, ParameterSpec>,
) -> Result<DeployerRules, String> {
    let Some(block) = doc.get("Metadata").and_then(|m| m.get("Deployer")) else {
        return Ok(DeployerRules::default());
    };
    let Value::Mapping(block) = block else {
        return Err("`Metadata.Deployer` must be a mapping".into());
    };
    let known = |name: &str, at: &str| {
        if parameters.contains_key(name) {
            Ok(name.to_owned())
        } else {
            Err(format!(
                "`Metadata.Deployer.{at}` names `{name}`, which is not a parameter of the template"
            ))
        }
    };
    let mut rules = DeployerRules::default();
    for (key, value) in block {
        match key.as_str().unwrap_or_default() {
            "ImmutableParameters" => {
                let Value::Mapping(map) = value else {
                    return Err("`Metadata.Deployer.ImmutableParameters` must map parameter names to how to change them".into());
                };
                for (name, how) in map {
                    let name = scalar(name).unwrap_or_default();
                    let how = scalar(how).ok_or_else(|| {
                        format!("`Metadata.Deployer.ImmutableParameters.{name}` must be a text saying how to change it")
                    })?;
                    rules
                        .immutable
                        .insert(known(&name, "ImmutableParameters")?, how);
                }
            }
            "Ordered" => {
                let Value::Sequence(items) = value else {
                    return Err("`Metadata.Deployer.Ordered` must be a list of rules".into());
                };
                for item in items {
                    rules.ordered.push(ordered(item, &known)?);
                }
            }
            "HostedZone" => {
                let field = |f: &str| {
                    value.get(f).and_then(scalar).ok_or_else(|| {
                        format!("`Metadata.Deployer.HostedZone` needs `{f}: PARAMETER`")
                    })
                };
                rules.hosted_zone = Some(HostedZoneRule {
                    zone: known(&field("Zone")?, "HostedZone")?,
                    domain: known(&field("Domain")?, "HostedZone")?,
                });
            }
            "CognitoDomainPrefix" => {
                let name = scalar(value).ok_or(
                    "`Metadata.Deployer.CognitoDomainPrefix` must name the parameter holding the prefix",
                )?;
                rules.cognito_domain_prefix = Some(known(&name, "CognitoDomainPrefix")?);
            }
            other => {
                return Err(format!(
                    "`Metadata.Deployer.{other}` is not known; the deployer reads \
                     ImmutableParameters, Ordered, HostedZone and CognitoDomainPrefix"
                ));
            }
        }
    }
    Ok(rules)
}

/// One `Ordered` entry: `[A, B]`, or `{Parameters: [A, B], Except: {B: "0"}}`.
fn ordered(
    item: &Value,
    known: &dyn Fn(&str, &str) -> Result<String, String>,
) -> Result<Ordered, String> {
    let shape = "each `Metadata.Deployer.Ordered` rule is a list of at least two parameters, \
                 or {Parameters: [...], Except: {PARAMETER: VALUE}}";
    let (list, except) = match item {
        Value::Sequence(list) => (list, None),
        Value::Mapping(_) => match item.get("Parameters") {
            Some(Value::Sequence(list)) => (list, item.get("Except")),
            _ => return Err(shape.into()),
        },
        _ => return Err(shape.into()),
    };
    let parameters = list
        .iter()
        .map(|v| known(&scalar(v).unwrap_or_default(), "Ordered"))
        .collect::<Result<Vec<_>, _>>()?;
    if parameters.len() < 2 {
        return Err(shape.into());
    }
    let mut skip = BTreeMap::new();
    match except {
        None => {}
        Some(Value::Mapping(map)) => {
            for (name, value) in map {
                let name = known(&scalar(name).unwrap_or_default(), "Ordered.Except")?;
                skip.insert(name, scalar(value).ok_or(shape)?);
            }
        }
        Some(_) => return Err(shape.into()),
    }
    Ok(Ordered {
        parameters,
        except: skip,
    })
}

impl DeployerRules {
    /// Every broken `Ordered` rule, given the values CloudFormation would use. A value
    /// that is missing or not a number is skipped: the parameter checks report it.
    pub(crate) fn check_ordered(&self, values: &BTreeMap<&str, &str>) -> Vec<String> {
        let mut problems = Vec::new();
        for rule in &self.ordered {
            if rule
                .except
                .iter()
                .any(|(name, skip)| values.get(name.as_str()) == Some(&skip.as_str()))
            {
                continue;
            }
            let numbers: Vec<(&str, f64)> = rule
                .parameters
                .iter()
                .filter_map(|name| {
                    let value = values.get(name.as_str())?;
                    Some((name.as_str(), value.trim().parse::<f64>().ok()?))
                })
                .collect();
            if numbers.len() != rule.parameters.len() {
                continue;
            }
            for pair in numbers.windows(2) {
                let ((low, a), (high, b)) = (pair[0], pair[1]);
                if a > b {
                    let unless = rule
                        .except
                        .iter()
                        .map(|(n, v)| format!(" (unless {n} is {v})"))
                        .collect::<String>();
                    problems.push(format!(
                        "parameter `{low}` ({a}) must not be more than `{high}` ({b}): the \
                         template requires {}{unless}",
                        rule.parameters.join(" ≤ ")
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(yaml: &str) -> Result<DeployerRules, String> {
        let doc: Value = serde_yaml::from_str(yaml).unwrap();
        let params = ["MinTasks", "MaxTasks", "DesiredCount", "Zone", "Domain"]
            .map(|n| (n.to_owned(), ParameterSpec::default()))
            .into();
        parse(&doc, &params)
    }

    const SCALING: &str = "Metadata:\n  Deployer:\n    Ordered:\n      - [MinTasks, MaxTasks]\n      - Parameters: [MinTasks, DesiredCount, MaxTasks]\n        Except: { DesiredCount: \"0\" }\n";

    fn check(r: &DeployerRules, min: &str, desired: &str, max: &str) -> Vec<String> {
        r.check_ordered(
            &[
                ("MinTasks", min),
                ("DesiredCount", desired),
                ("MaxTasks", max),
            ]
            .into(),
        )
    }

    #[test]
    fn ordered_rules_refuse_inverted_bounds_and_honour_the_exemption() {
        let r = rules(SCALING).unwrap();
        assert!(check(&r, "2", "0", "6").is_empty());
        assert!(check(&r, "2", "4", "6").is_empty());
        assert!(check(&r, "2", "2", "2").is_empty());
        // Not pinned (0): only Min ≤ Max applies.
        let p = check(&r, "7", "0", "6");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("`MinTasks` (7) must not be more than `MaxTasks` (6)"),
            "{p:?}"
        );
        // Pinned outside the range: named, with the exemption explained.
        let p = check(&r, "2", "9", "6");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("`DesiredCount` (9) must not be more than `MaxTasks` (6)")
                && p[0].contains("unless DesiredCount is 0"),
            "{p:?}"
        );
        assert_eq!(check(&r, "3", "1", "6").len(), 1);
        // Non-numbers are the parameter checks' business.
        assert!(check(&r, "x", "9", "6").len() <= 1);
    }

    #[test]
    fn the_block_is_checked_against_the_parameters() {
        assert_eq!(rules("Resources: {}").unwrap(), DeployerRules::default());
        let e = rules("Metadata:\n  Deployer:\n    Ordered: [[MinTasks, Maxtasks]]\n").unwrap_err();
        assert!(e.contains("`Maxtasks`, which is not a parameter"), "{e}");
        let e = rules("Metadata:\n  Deployer:\n    Ordered: [[MinTasks]]\n").unwrap_err();
        assert!(e.contains("at least two parameters"), "{e}");
        let e = rules("Metadata:\n  Deployer:\n    Immutable: {}\n").unwrap_err();
        assert!(
            e.contains("`Metadata.Deployer.Immutable` is not known"),
            "{e}"
        );
        let r = rules("Metadata:\n  Deployer:\n    ImmutableParameters: { Zone: delete it first }\n    HostedZone: { Zone: Zone, Domain: Domain }\n").unwrap();
        assert_eq!(r.immutable["Zone"], "delete it first");
        assert_eq!(
            r.hosted_zone,
            Some(HostedZoneRule {
                zone: "Zone".into(),
                domain: "Domain".into()
            })
        );
        assert!(
            rules("Metadata:\n  Deployer:\n    HostedZone: { Zone: Zone }\n")
                .unwrap_err()
                .contains("needs `Domain: PARAMETER`")
        );
    }
}
