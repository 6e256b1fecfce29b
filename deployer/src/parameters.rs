//! Template parameter values: `KEY=VALUE` parsing and the offline checks CloudFormation
//! would otherwise make us wait for (or skip: it never checks a value it does not get).

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::Failure;
use crate::template::{ParameterSpec, Template};

/// Splits `KEY=VALUE` at the first `=` (values may contain `=`, e.g. base64).
/// `what` names the flag for the error message (`--parameter`, `--tag`).
pub(crate) fn parse_pair(text: &str, what: &str) -> Result<(String, String), Failure> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        Some(_) => Err(Failure::input(format!(
            "{what} `{text}` has an empty name: write it as {what} NAME=VALUE"
        ))),
        None => Err(Failure::input(format!(
            "{what} `{text}` has no `=`: write it as {what} {text}=VALUE"
        ))),
    }
}

/// Parses repeated `KEY=VALUE` flags into a map; a later flag for the same key wins.
pub(crate) fn parse_pairs(
    items: &[String],
    what: &str,
) -> Result<BTreeMap<String, String>, Failure> {
    let mut out = BTreeMap::new();
    for item in items {
        let (key, value) = parse_pair(item, what)?;
        out.insert(key, value);
    }
    Ok(out)
}

/// Checks the given values against the template and reports **every** problem at once
/// (unknown names, missing values, each broken rule of each value, the deployer's
/// `Metadata` rules, the template's `Rules`), so one run shows all there is to fix. `image_parameter` names a
/// parameter that `--image` will fill after the push, so it counts as given.
///
/// Returns the warnings: checks that could not be made here (an `AllowedPattern` that
/// no regex engine here compiles) and are left to CloudFormation.
pub(crate) fn validate(
    template: &Template,
    given: &BTreeMap<String, String>,
    image_parameter: Option<&str>,
) -> Result<Vec<String>, Failure> {
    let specs = &template.parameters;
    let known = if specs.is_empty() {
        "(none)".to_owned()
    } else {
        specs
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for name in given.keys() {
        if !specs.contains_key(name) {
            problems.push(format!(
                "parameter `{name}` is not in the template; its parameters are: {known}"
            ));
        }
    }
    if let Some(image) = image_parameter
        && !specs.contains_key(image)
    {
        problems.push(format!(
            "--image-parameter `{image}` is not a parameter of the template; its parameters are: {known}"
        ));
    }
    // NoEcho parameters without a Default or a value: fine on an update (the stack
    // keeps its value, `UsePreviousValue`), missing on a new stack. Whether the stack
    // exists is only known online, where `deploy` checks it; but when this run stops
    // here anyway, they are named with the other problems, so one run shows all there
    // is to fix (and a new stack does not fail again on them after the others are fixed).
    let mut no_echo_unset = Vec::new();
    for (name, spec) in specs {
        match given.get(name) {
            Some(value) => problems.extend(check_value(name, spec, value, &mut warnings)),
            None if spec.no_echo
                && spec.default.is_none()
                && image_parameter != Some(name.as_str()) =>
            {
                no_echo_unset.push(name);
            }
            None if spec.default.is_some()
                || spec.no_echo
                || image_parameter == Some(name.as_str()) => {}
            None => problems.push(format!(
                "parameter `{name}` has no Default in the template and no value was given: \
                 pass --parameter {name}=VALUE (or set it under `parameters:` in deploy.yaml)"
            )),
        }
    }
    let values = effective_values(specs, given);
    problems.extend(template.deployer.check_ordered(&values));
    let (broken, unchecked) = crate::template::rules::check(&template.rules, specs, &values);
    problems.extend(broken);
    warnings.extend(unchecked);
    if !problems.is_empty() {
        problems.extend(no_echo_unset.iter().map(|name| no_echo_missing(name)));
    }
    match problems.len() {
        0 => Ok(warnings),
        1 => Err(Failure::input(problems.remove(0))),
        n => Err(Failure::input(format!(
            "{n} problems with the parameters (nothing was sent to AWS):\n{}",
            problems
                .iter()
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

/// The problem of a NoEcho parameter `name` without a Default or a value: a new stack
/// needs it; an existing one keeps its value.
pub(crate) fn no_echo_missing(name: &str) -> String {
    format!(
        "parameter `{name}` (NoEcho) has no Default and no value was given: a new stack needs it \
         (pass --parameter {name}=VALUE, or set it under `parameters:` in deploy.yaml); an existing \
         stack keeps its value"
    )
}

/// The value CloudFormation would use for each parameter: the given one, else the
/// template's `Default` (parameters with neither are left out).
pub(crate) fn effective_values<'a>(
    specs: &'a BTreeMap<String, ParameterSpec>,
    given: &'a BTreeMap<String, String>,
) -> BTreeMap<&'a str, &'a str> {
    specs
        .iter()
        .filter_map(|(name, spec)| {
            let value = given.get(name).or(spec.default.as_ref())?;
            Some((name.as_str(), value.as_str()))
        })
        .collect()
}

/// An `AllowedPattern`, compiled by the first engine that accepts it.
enum Pattern {
    /// Rust's `regex` (linear time): most patterns.
    Plain(Regex),
    /// fancy-regex: the Java features `regex` refuses by design (look-around, atomic
    /// groups, possessive quantifiers, backreferences).
    Fancy(Box<fancy_regex::Regex>),
}

impl Pattern {
    /// Compiles `pattern` anchored to the whole value, as CloudFormation matches it.
    /// `Err` carries both engines' reasons when neither compiles it.
    fn compile(pattern: &str) -> Result<Self, String> {
        let anchored = format!("^(?:{pattern})$");
        match Regex::new(&anchored) {
            Ok(re) => Ok(Self::Plain(re)),
            Err(plain) => fancy_regex::Regex::new(&anchored)
                .map(|re| Self::Fancy(Box::new(re)))
                .map_err(|fancy| {
                    let plain = plain.to_string();
                    let plain = plain.lines().last().unwrap_or_default().trim().to_owned();
                    format!("regex: {plain}; fancy-regex: {fancy}")
                }),
        }
    }

    /// Whether the whole of `text` matches; `None` when fancy-regex gave up (its
    /// backtracking limit), which is "cannot tell", not "no".
    fn matches(&self, text: &str) -> Option<bool> {
        match self {
            Self::Plain(re) => Some(re.is_match(text)),
            Self::Fancy(re) => re.is_match(text).ok(),
        }
    }
}

/// Checks one value against its parameter's rules and returns every rule it breaks,
/// each naming the parameter. Checks that cannot be made here go to `warnings`.
pub(crate) fn check_value(
    name: &str,
    spec: &ParameterSpec,
    value: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let shown = if spec.no_echo {
        "****".to_owned()
    } else {
        format!("`{value}`")
    };
    let hint = spec
        .constraint_description
        .as_deref()
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    let mut broken: Vec<String> = Vec::new();
    let is_list = spec.kind == "CommaDelimitedList" || spec.kind.starts_with("List<");
    let items: Vec<&str> = if is_list {
        value.split(',').map(str::trim).collect()
    } else {
        vec![value]
    };

    if spec.kind == "Number" || spec.kind == "List<Number>" {
        for item in &items {
            let Ok(number) = item.parse::<f64>() else {
                broken.push(format!(
                    "is not a number (the parameter's Type is {})",
                    spec.kind
                ));
                break;
            };
            if let Some(min) = spec.min_value
                && number < min
            {
                broken.push(format!("is below MinValue {min}"));
                break;
            }
            if let Some(max) = spec.max_value
                && number > max
            {
                broken.push(format!("is above MaxValue {max}"));
                break;
            }
        }
    }
    if let Some(allowed) = &spec.allowed_values
        && items.iter().any(|item| !allowed.iter().any(|a| a == item))
    {
        broken.push(format!(
            "is not one of the AllowedValues: {}",
            allowed.join(", ")
        ));
    }
    if let Some(pattern) = &spec.allowed_pattern {
        match Pattern::compile(pattern) {
            Ok(compiled) => {
                let verdicts: Vec<Option<bool>> =
                    items.iter().map(|item| compiled.matches(item)).collect();
                if verdicts.contains(&Some(false)) {
                    broken.push(format!(
                        "does not match AllowedPattern `{pattern}` (the whole value must match)"
                    ));
                } else if verdicts.contains(&None) {
                    warnings.push(format!(
                        "parameter `{name}`: AllowedPattern `{pattern}` is too costly to check \
                         here; CloudFormation will check it"
                    ));
                }
            }
            Err(why) => warnings.push(format!(
                "parameter `{name}`: AllowedPattern `{pattern}` cannot be checked here (no \
                 regex engine here compiles it: {why}); CloudFormation will check it"
            )),
        }
    }
    let length = value.chars().count() as u64;
    if let Some(min) = spec.min_length
        && length < min
    {
        broken.push(format!(
            "is {length} characters long, shorter than MinLength {min}"
        ));
    }
    if let Some(max) = spec.max_length
        && length > max
    {
        broken.push(format!(
            "is {length} characters long, longer than MaxLength {max}"
        ));
    }
    broken
        .into_iter()
        .map(|rule| format!("parameter `{name}`: value {shown} {rule}{hint}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> ParameterSpec {
        ParameterSpec {
            kind: kind.into(),
            ..Default::default()
        }
    }

    /// The one problem `value` has.
    fn message(name: &str, spec: &ParameterSpec, value: &str) -> String {
        let mut problems = check_value(name, spec, value, &mut Vec::new());
        assert_eq!(problems.len(), 1, "{problems:?}");
        problems.remove(0)
    }

    fn ok(name: &str, spec: &ParameterSpec, value: &str) -> bool {
        let mut warnings = Vec::new();
        let problems = check_value(name, spec, value, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        problems.is_empty()
    }

    fn template(specs: &[(&str, ParameterSpec)]) -> Template {
        Template {
            body: String::new(),
            parameters: specs
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect(),
            capabilities: Vec::new(),
            deployer: Default::default(),
            rules: Vec::new(),
        }
    }

    fn validation_error(r: Result<Vec<String>, Failure>) -> String {
        let f = r.unwrap_err();
        assert_eq!(f.exit_code(), 64, "bad input must exit 64");
        f.message
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("Key=a=b==", "--parameter").unwrap(),
            ("Key".into(), "a=b==".into())
        );
        assert_eq!(
            parse_pair("Key=", "--parameter").unwrap(),
            ("Key".into(), String::new())
        );
        let missing = parse_pair("Key", "--parameter").unwrap_err().message;
        assert!(
            missing.contains("has no `=`") && missing.contains("--parameter Key=VALUE"),
            "{missing}"
        );
        assert!(
            parse_pair("=x", "--tag")
                .unwrap_err()
                .message
                .contains("empty name")
        );
    }

    #[test]
    fn allowed_pattern_must_match_the_whole_value() {
        let s = ParameterSpec {
            allowed_pattern: Some("[a-z]+".into()),
            ..spec("String")
        };
        assert!(ok("Name", &s, "abc"));
        let m = message("Name", &s, "abc1");
        assert!(
            m.contains("parameter `Name`") && m.contains("AllowedPattern `[a-z]+`"),
            "{m}"
        );
        // An alternation must not escape the anchors.
        let alt = ParameterSpec {
            allowed_pattern: Some("a|b".into()),
            ..spec("String")
        };
        assert!(!ok("X", &alt, "ab"));
        assert!(ok("X", &alt, "b"));
    }

    #[test]
    fn allowed_values_lengths_and_numbers_are_checked() {
        let s = ParameterSpec {
            allowed_values: Some(vec!["a".into(), "b".into()]),
            ..spec("String")
        };
        assert!(message("P", &s, "c").contains("AllowedValues: a, b"));
        let s = ParameterSpec {
            min_length: Some(2),
            max_length: Some(3),
            ..spec("String")
        };
        assert!(message("P", &s, "a").contains("MinLength 2"));
        assert!(message("P", &s, "abcd").contains("MaxLength 3"));
        let n = ParameterSpec {
            min_value: Some(1.0),
            max_value: Some(10.0),
            ..spec("Number")
        };
        assert!(message("N", &n, "ten").contains("is not a number"));
        assert!(message("N", &n, "0").contains("MinValue 1"));
        assert!(message("N", &n, "11").contains("MaxValue 10"));
        assert!(ok("N", &n, "2.5"));
    }

    #[test]
    fn lists_are_checked_item_by_item_and_no_echo_values_are_hidden() {
        let l = ParameterSpec {
            allowed_pattern: Some("[0-9]+".into()),
            ..spec("CommaDelimitedList")
        };
        assert!(ok("L", &l, "1, 2,3"));
        assert!(!ok("L", &l, "1,x"));
        let secret = ParameterSpec {
            no_echo: true,
            min_length: Some(10),
            ..spec("String")
        };
        let m = message("Pw", &secret, "hunter2");
        assert!(m.contains("****") && !m.contains("hunter2"), "{m}");
    }

    #[test]
    fn unknown_and_missing_parameters_are_errors() {
        let t = template(&[
            ("Name", spec("String")),
            ("ImageUri", spec("String")),
            (
                "Size",
                ParameterSpec {
                    default: Some("1".into()),
                    ..spec("Number")
                },
            ),
        ]);
        let m = validation_error(validate(
            &t,
            &given(&[("Nmae", "x"), ("Name", "y"), ("ImageUri", "i")]),
            None,
        ));
        assert!(
            m.contains("`Nmae` is not in the template") && m.contains("ImageUri, Name, Size"),
            "{m}"
        );
        let m = validation_error(validate(&t, &given(&[("ImageUri", "i")]), None));
        assert!(
            m.contains("`Name` has no Default") && m.contains("--parameter Name=VALUE"),
            "{m}"
        );
        // --image fills the image parameter.
        assert!(validate(&t, &given(&[("Name", "x")]), Some("ImageUri")).is_ok());
        assert!(
            validation_error(validate(&t, &given(&[("Name", "x")]), Some("Image")))
                .contains("--image-parameter `Image`")
        );
    }

    #[test]
    fn a_no_echo_parameter_without_a_value_is_named_with_the_other_missing_ones() {
        let t = template(&[
            ("Name", spec("String")),
            (
                "Secret",
                ParameterSpec {
                    no_echo: true,
                    ..spec("String")
                },
            ),
        ]);
        let m = validation_error(validate(&t, &given(&[]), None));
        assert!(m.starts_with("2 problems with the parameters"), "{m}");
        assert!(
            m.contains("`Name` has no Default")
                && m.contains("`Secret` (NoEcho) has no Default")
                && m.contains("--parameter Secret=VALUE")
                && m.contains("an existing stack keeps its value"),
            "{m}"
        );
        // Alone, it may be an update that keeps the stack's value: left to `deploy`,
        // which knows whether the stack exists.
        assert!(validate(&t, &given(&[("Name", "x")]), None).is_ok());
    }

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let t = template(&[
            ("A", spec("String")),
            ("B", spec("String")),
            (
                "N",
                ParameterSpec {
                    max_value: Some(5.0),
                    ..spec("Number")
                },
            ),
            (
                "S",
                ParameterSpec {
                    allowed_pattern: Some("[a-z]+".into()),
                    max_length: Some(3),
                    ..spec("String")
                },
            ),
        ]);
        let m = validation_error(validate(
            &t,
            &given(&[("N", "9"), ("S", "ABCD"), ("Typo", "x")]),
            None,
        ));
        assert!(m.starts_with("6 problems with the parameters"), "{m}");
        for expected in [
            "`Typo` is not in the template",
            "`A` has no Default",
            "`B` has no Default",
            "`N`: value `9` is above MaxValue 5",
            "`S`: value `ABCD` does not match AllowedPattern `[a-z]+`",
            "`S`: value `ABCD` is 4 characters long, longer than MaxLength 3",
        ] {
            assert!(
                m.contains(&format!("  - parameter {expected}")) || m.contains(expected),
                "{expected} missing in:\n{m}"
            );
        }
    }

    #[test]
    fn java_patterns_with_look_around_are_matched_not_refused() {
        // cfn/app.yaml's CognitoDomainPrefix: a negative look-ahead, which Rust's regex
        // refuses by design.
        let prefix = ParameterSpec {
            allowed_pattern: Some(
                "^(?!.*(aws|amazon|cognito))[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$".into(),
            ),
            ..spec("String")
        };
        assert!(ok("P", &prefix, "example-app-login"));
        assert!(message("P", &prefix, "my-aws-login").contains("does not match AllowedPattern"));
        assert!(!ok("P", &prefix, "-bad"));
        // A possessive quantifier and an atomic group (Java syntax).
        let possessive = ParameterSpec {
            allowed_pattern: Some("a++b".into()),
            ..spec("String")
        };
        assert!(ok("P", &possessive, "aab") && !ok("P", &possessive, "aa"));
        let atomic = ParameterSpec {
            allowed_pattern: Some("(?>ab|a)c".into()),
            ..spec("String")
        };
        assert!(ok("P", &atomic, "abc"));
    }

    #[test]
    fn a_pattern_no_engine_compiles_is_left_to_cloudformation_with_a_warning() {
        let t = template(&[(
            "P",
            ParameterSpec {
                allowed_pattern: Some("[a-".into()),
                ..spec("String")
            },
        )]);
        let warnings = validate(&t, &given(&[("P", "anything")]), None).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("parameter `P`: AllowedPattern `[a-` cannot be checked here")
                && warnings[0].contains("CloudFormation will check it"),
            "{warnings:?}"
        );
    }

    #[test]
    fn ordered_metadata_rules_are_reported_with_the_other_problems() {
        let body = "Metadata:\n  Deployer:\n    Ordered:\n      - [Min, Max]\nParameters:\n  Min: {Type: Number, Default: 2}\n  Max: {Type: Number, Default: 6, MaxValue: 10}\nResources:\n  T: {Type: AWS::SNS::Topic}\n";
        let t = Template::parse(body).unwrap();
        assert!(validate(&t, &given(&[]), None).unwrap().is_empty());
        let m = validation_error(validate(&t, &given(&[("Min", "7"), ("Max", "6")]), None));
        assert!(
            m.contains("`Min` (7) must not be more than `Max` (6)"),
            "{m}"
        );
        let m = validation_error(validate(
            &t,
            &given(&[("Min", "7"), ("Max", "11"), ("X", "1")]),
            None,
        ));
        assert!(
            m.starts_with("2 problems") && m.contains("MaxValue 10"),
            "{m}"
        );
    }
}
