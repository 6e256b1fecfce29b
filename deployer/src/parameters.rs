//! Template parameter values: `KEY=VALUE` parsing and the offline checks CloudFormation
//! would otherwise make us wait for (or skip: it never checks a value it does not get).

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::Failure;
use crate::template::ParameterSpec;

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

/// Checks the given values against the template: no unknown names, every parameter
/// without a `Default` given, and every value within its rules. `image_parameter` names
/// a parameter that `--image` will fill after the push, so it counts as given.
pub(crate) fn validate(
    specs: &BTreeMap<String, ParameterSpec>,
    given: &BTreeMap<String, String>,
    image_parameter: Option<&str>,
) -> Result<(), Failure> {
    let known = || {
        specs
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for name in given.keys() {
        if !specs.contains_key(name) {
            return Err(Failure::input(format!(
                "parameter `{name}` is not in the template; its parameters are: {}",
                if specs.is_empty() {
                    "(none)".to_owned()
                } else {
                    known()
                }
            )));
        }
    }
    if let Some(image) = image_parameter
        && !specs.contains_key(image)
    {
        return Err(Failure::input(format!(
            "--image-parameter `{image}` is not a parameter of the template; its parameters are: {}",
            if specs.is_empty() {
                "(none)".to_owned()
            } else {
                known()
            }
        )));
    }
    for (name, spec) in specs {
        match given.get(name) {
            Some(value) => check_value(name, spec, value)?,
            // A NoEcho parameter may be left out on an update: the stack keeps its value
            // (`UsePreviousValue`). Whether there is a stack to keep it is only known
            // online, so `deploy` checks that when it creates one.
            None if spec.default.is_some()
                || spec.no_echo
                || image_parameter == Some(name.as_str()) => {}
            None => {
                return Err(Failure::input(format!(
                    "parameter `{name}` has no Default in the template and no value was given: \
                     pass --parameter {name}=VALUE (or set it under `parameters:` in deploy.yaml)"
                )));
            }
        }
    }
    Ok(())
}

/// Checks one value against its parameter's rules; the error names the parameter and
/// the rule it broke.
pub(crate) fn check_value(name: &str, spec: &ParameterSpec, value: &str) -> Result<(), Failure> {
    let shown = if spec.no_echo {
        "****".to_owned()
    } else {
        format!("`{value}`")
    };
    let broke = |rule: String| {
        let hint = spec
            .constraint_description
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        Err(Failure::input(format!(
            "parameter `{name}`: value {shown} {rule}{hint}"
        )))
    };
    let is_list = spec.kind == "CommaDelimitedList" || spec.kind.starts_with("List<");
    let items: Vec<&str> = if is_list {
        value.split(',').map(str::trim).collect()
    } else {
        vec![value]
    };

    if spec.kind == "Number" || spec.kind == "List<Number>" {
        for item in &items {
            let Ok(number) = item.parse::<f64>() else {
                return broke(format!(
                    "is not a number (the parameter's Type is {})",
                    spec.kind
                ));
            };
            if let Some(min) = spec.min_value
                && number < min
            {
                return broke(format!("is below MinValue {min}"));
            }
            if let Some(max) = spec.max_value
                && number > max
            {
                return broke(format!("is above MaxValue {max}"));
            }
        }
    }
    if let Some(allowed) = &spec.allowed_values {
        for item in &items {
            if !allowed.iter().any(|a| a == item) {
                return broke(format!(
                    "is not one of the AllowedValues: {}",
                    allowed.join(", ")
                ));
            }
        }
    }
    if let Some(pattern) = &spec.allowed_pattern {
        // CloudFormation requires the pattern to match the whole value.
        let anchored = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            Failure::input(format!(
                "parameter `{name}`: AllowedPattern is not a valid regular expression: {e}"
            ))
        })?;
        for item in &items {
            if !anchored.is_match(item) {
                return broke(format!(
                    "does not match AllowedPattern `{pattern}` (the whole value must match)"
                ));
            }
        }
    }
    let length = value.chars().count() as u64;
    if let Some(min) = spec.min_length
        && length < min
    {
        return broke(format!(
            "is {length} characters long, shorter than MinLength {min}"
        ));
    }
    if let Some(max) = spec.max_length
        && length > max
    {
        return broke(format!(
            "is {length} characters long, longer than MaxLength {max}"
        ));
    }
    Ok(())
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

    fn message(r: Result<(), Failure>) -> String {
        let f = r.unwrap_err();
        assert_eq!(f.exit_code(), 2, "bad input must exit 2");
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
        assert!(check_value("Name", &s, "abc").is_ok());
        let m = message(check_value("Name", &s, "abc1"));
        assert!(
            m.contains("parameter `Name`") && m.contains("AllowedPattern `[a-z]+`"),
            "{m}"
        );
        // An alternation must not escape the anchors.
        let alt = ParameterSpec {
            allowed_pattern: Some("a|b".into()),
            ..spec("String")
        };
        assert!(check_value("X", &alt, "ab").is_err());
        assert!(check_value("X", &alt, "b").is_ok());
    }

    #[test]
    fn allowed_values_lengths_and_numbers_are_checked() {
        let s = ParameterSpec {
            allowed_values: Some(vec!["a".into(), "b".into()]),
            ..spec("String")
        };
        assert!(message(check_value("P", &s, "c")).contains("AllowedValues: a, b"));
        let s = ParameterSpec {
            min_length: Some(2),
            max_length: Some(3),
            ..spec("String")
        };
        assert!(message(check_value("P", &s, "a")).contains("MinLength 2"));
        assert!(message(check_value("P", &s, "abcd")).contains("MaxLength 3"));
        let n = ParameterSpec {
            min_value: Some(1.0),
            max_value: Some(10.0),
            ..spec("Number")
        };
        assert!(message(check_value("N", &n, "ten")).contains("is not a number"));
        assert!(message(check_value("N", &n, "0")).contains("MinValue 1"));
        assert!(message(check_value("N", &n, "11")).contains("MaxValue 10"));
        assert!(check_value("N", &n, "2.5").is_ok());
    }

    #[test]
    fn lists_are_checked_item_by_item_and_no_echo_values_are_hidden() {
        let l = ParameterSpec {
            allowed_pattern: Some("[0-9]+".into()),
            ..spec("CommaDelimitedList")
        };
        assert!(check_value("L", &l, "1, 2,3").is_ok());
        assert!(check_value("L", &l, "1,x").is_err());
        let secret = ParameterSpec {
            no_echo: true,
            min_length: Some(10),
            ..spec("String")
        };
        let m = message(check_value("Pw", &secret, "hunter2"));
        assert!(m.contains("****") && !m.contains("hunter2"), "{m}");
    }

    #[test]
    fn unknown_and_missing_parameters_are_errors() {
        let specs: BTreeMap<_, _> = [
            ("Name".to_owned(), spec("String")),
            ("ImageUri".to_owned(), spec("String")),
            (
                "Size".to_owned(),
                ParameterSpec {
                    default: Some("1".into()),
                    ..spec("Number")
                },
            ),
        ]
        .into();
        let given = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let m = message(validate(
            &specs,
            &given(&[("Nmae", "x"), ("ImageUri", "i")]),
            None,
        ));
        assert!(
            m.contains("`Nmae` is not in the template") && m.contains("ImageUri, Name, Size"),
            "{m}"
        );
        let m = message(validate(&specs, &given(&[("ImageUri", "i")]), None));
        assert!(
            m.contains("`Name` has no Default") && m.contains("--parameter Name=VALUE"),
            "{m}"
        );
        // --image fills the image parameter.
        assert!(validate(&specs, &given(&[("Name", "x")]), Some("ImageUri")).is_ok());
        assert!(
            message(validate(&specs, &given(&[("Name", "x")]), Some("Image")))
                .contains("--image-parameter `Image`")
        );
    }
}
