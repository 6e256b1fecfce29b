//! `${NAME}` in deploy.yaml: a string value takes environment variables, so one file
//! holds every setting and CI (or a laptop) only fills in what is account-specific.
//!
//! The syntax is exactly: `${NAME}` (NAME: letters, digits and `_`, not starting with a
//! digit) is replaced by the variable's value; `$${` is a literal `${`; any other `$` is
//! kept as it is (so `$HOME` or a lone `$` in a value mean themselves). One pass: a
//! value that contains `${…}` is not expanded again. Only string values are touched:
//! numbers, booleans and keys stay as YAML read them.
//!
//! Hand-written (about 60 lines) because no crate does exactly this: `shellexpand` and
//! `subst` also expand bare `$NAME` and use `\$`/`$$` escapes, which would change values
//! that hold a `$` today; the `$${` escape is the one GitHub Actions users know from
//! docker compose.

use serde_yaml::Value;

/// A `${NAME}` whose variable is not set or empty, and the key it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unset {
    /// Where: `stack_name`, `parameters.DomainName`, `capabilities[0]`.
    pub key: String,
    /// The variable.
    pub variable: String,
}

/// Expands every string value under `value` in place (see the module docs). Unset or
/// empty variables are collected in `unset` (their `${…}` becomes empty), so all of
/// them can be reported at once; a malformed `${` is an error naming the key.
pub(crate) fn expand_tree(
    value: &mut Value,
    key: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<Unset>,
) -> Result<(), String> {
    match value {
        Value::String(text) => {
            if text.contains('$') {
                let mut missing = Vec::new();
                *text = expand(text, lookup, &mut missing).map_err(|e| format!("`{key}`: {e}"))?;
                unset.extend(missing.into_iter().map(|variable| Unset {
                    key: key.to_owned(),
                    variable,
                }));
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{key}[{i}]"), lookup, unset)?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let name = match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                let child = if key.is_empty() {
                    name
                } else {
                    format!("{key}.{name}")
                };
                expand_tree(v, &child, lookup, unset)?;
            }
        }
        Value::Tagged(tagged) => expand_tree(&mut tagged.value, key, lookup, unset)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Expands one string; unset or empty variables are pushed to `unset` and expand to
/// nothing.
pub(crate) fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err(format!(
                    "`${{` without a closing `}}` in {text:?} (write `$${{` for a literal `${{`)"
                ));
            };
            let name = &after[..end];
            if !is_variable_name(name) {
                return Err(format!(
                    "`${{{name}}}` is not a variable name (letters, digits and _, not starting \
                     with a digit); write `$${{` for a literal `${{`"
                ));
            }
            match lookup(name) {
                Some(value) if !value.is_empty() => out.push_str(&value),
                _ => unset.push(name.to_owned()),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "STACK" => Some("web-prod".into()),
            "EMPTY" => Some(String::new()),
            "DOLLAR" => Some("${STACK}".into()),
            _ => None,
        }
    }

    fn one(text: &str) -> (Result<String, String>, Vec<String>) {
        let mut unset = Vec::new();
        (expand(text, &env, &mut unset), unset)
    }

    #[test]
    fn variables_are_replaced_and_everything_else_is_kept() {
        assert_eq!(one("${STACK}").0.unwrap(), "web-prod");
        assert_eq!(one("app-${STACK}-x").0.unwrap(), "app-web-prod-x");
        assert_eq!(one("${STACK}${STACK}").0.unwrap(), "web-prodweb-prod");
        // A lone `$`, `$NAME` and `$$` without `{` mean themselves.
        assert_eq!(
            one("cost $5, $HOME, $$x, end$").0.unwrap(),
            "cost $5, $HOME, $$x, end$"
        );
        // One pass: a value holding `${…}` is not expanded again.
        assert_eq!(one("${DOLLAR}").0.unwrap(), "${STACK}");
    }

    #[test]
    fn a_double_dollar_brace_is_a_literal() {
        assert_eq!(one("$${STACK}").0.unwrap(), "${STACK}");
        assert_eq!(one("a$${b}c ${STACK}").0.unwrap(), "a${b}c web-prod");
        assert!(one("$${NOT_SET}").1.is_empty());
    }

    #[test]
    fn unset_and_empty_variables_are_collected_in_order() {
        let (out, unset) = one("${MISSING}-${EMPTY}-${STACK}");
        assert_eq!(out.unwrap(), "--web-prod");
        assert_eq!(unset, ["MISSING", "EMPTY"]);
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(one("${STACK").0.unwrap_err().contains("without a closing"));
        assert!(
            one("${1X}")
                .0
                .unwrap_err()
                .contains("`${1X}` is not a variable name")
        );
        assert!(one("${}").0.unwrap_err().contains("not a variable name"));
        assert!(one("${A-B}").0.unwrap_err().contains("not a variable name"));
    }

    #[test]
    fn only_string_values_are_expanded_and_keys_are_named() {
        let mut tree: Value = serde_yaml::from_str(
            "stack_name: ${STACK}\ncount: 3\nflag: true\nparameters:\n  Name: ${NOPE}\n  '${STACK}': 1\ncapabilities: [x, '${GONE}']\n",
        )
        .unwrap();
        let mut unset = Vec::new();
        expand_tree(&mut tree, "", &env, &mut unset).unwrap();
        assert_eq!(tree["stack_name"], Value::from("web-prod"));
        assert_eq!(tree["count"], Value::from(3));
        assert_eq!(tree["flag"], Value::from(true));
        // Keys are not expanded.
        assert_eq!(tree["parameters"]["${STACK}"], Value::from(1));
        let found: Vec<(&str, &str)> = unset
            .iter()
            .map(|u| (u.key.as_str(), u.variable.as_str()))
            .collect();
        assert_eq!(
            found,
            [("parameters.Name", "NOPE"), ("capabilities[1]", "GONE")]
        );
        let mut bad: Value = serde_yaml::from_str("tags:\n  app: ${oops\n").unwrap();
        let e = expand_tree(&mut bad, "", &env, &mut Vec::new()).unwrap_err();
        assert!(e.starts_with("`tags.app`:"), "{e}");
    }
}
