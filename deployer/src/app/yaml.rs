//! A strict reader over a parsed YAML mapping, so every mistake in deploy.yaml names its
//! place: `services.web.scaling.mxa: unknown key; expected one of min, max`,
//! `services.web.port: expected a whole number, found a list`.
//!
//! Hand-written instead of serde's `deny_unknown_fields`, whose messages name the key but
//! not where it is (`unknown field `mxa``), which is useless in a file with one
//! `scaling:` per service.
//!
//! Numbers and `true`/`false` are also accepted as quoted text (`"8080"`), because a
//! `${VAR}` always expands to text. A *deferred* reader (checking an environment before
//! its `${VAR}`s are expanded) accepts any text holding `${` for any scalar and reports
//! it as absent; the value is checked once the environment is expanded.

use serde_yaml::{Mapping, Value};

/// One mapping being read, with its place (`services.web`) and the keys it allows.
pub(super) struct Fields<'v> {
    place: String,
    map: &'v Mapping,
    deferred: bool,
}

/// `place.key`, or `key` at the top.
pub(super) fn join(place: &str, key: &str) -> String {
    if place.is_empty() {
        key.to_owned()
    } else {
        format!("{place}.{key}")
    }
}

/// How a value is called in "found …" (never its text: it may be long or secret-ish).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (an empty value)",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value (`!Tag`)",
    }
}

/// The keys of a mapping as text, or an error naming a key that is not text.
fn key_text(place: &str, key: &Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!(
            "{}: a key must be text, found {}",
            if place.is_empty() {
                "(top level)"
            } else {
                place
            },
            kind(other)
        )),
    }
}

impl<'v> Fields<'v> {
    /// Opens `value` (at `place`) as a mapping whose keys are all in `allowed`.
    pub(super) fn open(
        value: &'v Value,
        place: &str,
        allowed: &[&str],
        deferred: bool,
    ) -> Result<Self, String> {
        let Value::Mapping(map) = value else {
            return Err(format!(
                "{}: expected a mapping (`key: value` lines), found {}",
                if place.is_empty() {
                    "(top level)"
                } else {
                    place
                },
                kind(value)
            ));
        };
        for key in map.keys() {
            let key = key_text(place, key)?;
            if !allowed.contains(&key.as_str()) {
                return Err(format!(
                    "{}: unknown key; expected one of {}",
                    join(place, &key),
                    allowed.join(", ")
                ));
            }
        }
        Ok(Self {
            place: place.to_owned(),
            map,
            deferred,
        })
    }

    /// The place of `key` under this mapping.
    pub(super) fn at(&self, key: &str) -> String {
        join(&self.place, key)
    }

    /// The raw value of `key`, if present (an explicit `null` counts as absent).
    pub(super) fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An error for a required key that is missing.
    pub(super) fn missing(&self, key: &str, hint: &str) -> String {
        format!("{}: missing (required); {hint}", self.at(key))
    }

    fn is_deferred(&self, value: &Value) -> bool {
        self.deferred && matches!(value, Value::String(s) if s.contains("${"))
    }

    /// Text (a number or true/false is taken as its text). A deferred `${VAR}` comes back
    /// as it is: callers check it only through [`Fields::checked`].
    pub(super) fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(format!(
                "{}: expected text, found {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    /// Required text.
    pub(super) fn required_text(&self, key: &str, hint: &str) -> Result<String, String> {
        self.text(key)?.ok_or_else(|| self.missing(key, hint))
    }

    /// Runs `check` on a value unless it is a deferred `${VAR}`; its error is prefixed
    /// with the place.
    pub(super) fn checked(
        &self,
        key: &str,
        value: &str,
        check: impl FnOnce(&str) -> Result<(), String>,
    ) -> Result<(), String> {
        if self.deferred && value.contains("${") {
            return Ok(());
        }
        check(value).map_err(|e| format!("{}: {e}", self.at(key)))
    }

    /// A whole number in `min..=max`.
    pub(super) fn number(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        if self.is_deferred(value) {
            return Ok(None);
        }
        let n = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            Some(n) => Err(format!(
                "{}: {n} is out of range; expected {min} to {max}",
                self.at(key)
            )),
            None => Err(format!(
                "{}: expected a whole number from {min} to {max}, found {}",
                self.at(key),
                match value {
                    Value::String(s) => format!("{s:?}"),
                    other => kind(other).to_owned(),
                }
            )),
        }
    }

    /// `true` or `false`.
    pub(super) fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        if self.is_deferred(value) {
            return Ok(None);
        }
        match value {
            Value::Bool(b) => Ok(Some(*b)),
            Value::String(s) if s == "true" => Ok(Some(true)),
            Value::String(s) if s == "false" => Ok(Some(false)),
            Value::String(s) => Err(format!(
                "{}: expected true or false, found {s:?}",
                self.at(key)
            )),
            other => Err(format!(
                "{}: expected true or false, found {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    /// A mapping of text to plain values (`tags: { team: web }`), values as text.
    pub(super) fn text_map(&self, key: &str) -> Result<Vec<(String, String)>, String> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let place = self.at(key);
        let Value::Mapping(map) = value else {
            return Err(format!(
                "{place}: expected a mapping, found {}",
                kind(value)
            ));
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let k = key_text(&place, k)?;
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "{}: expected a plain value (text, number or true/false), found {}",
                        join(&place, &k),
                        kind(other)
                    ));
                }
            };
            out.push((k, text));
        }
        Ok(out)
    }

    /// A nested mapping, opened with its own allowed keys.
    pub(super) fn nested(&self, key: &str, allowed: &[&str]) -> Result<Option<Fields<'v>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => Fields::open(value, &self.at(key), allowed, self.deferred).map(Some),
        }
    }

    /// The entries of a mapping of names (`environments`, `services`), in file order.
    pub(super) fn entries(&self, key: &str) -> Result<Vec<(String, &'v Value)>, String> {
        let Some(value) = self.get(key) else {
            return Ok(Vec::new());
        };
        let place = self.at(key);
        let Value::Mapping(map) = value else {
            return Err(format!(
                "{place}: expected a mapping of names, found {}",
                kind(value)
            ));
        };
        map.iter()
            .map(|(k, v)| Ok((key_text(&place, k)?, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn unknown_keys_name_their_place_and_the_allowed_ones() {
        let v = yaml("min: 1\nmxa: 2\n");
        let e = Fields::open(&v, "services.web.scaling", &["min", "max"], false)
            .err()
            .unwrap();
        assert_eq!(
            e,
            "services.web.scaling.mxa: unknown key; expected one of min, max"
        );
    }

    #[test]
    fn wrong_types_name_their_place() {
        let v = yaml("port: [1]\nflag: maybe\nname: {a: 1}\nn: '80a'\nbig: 70000\n");
        let f = Fields::open(&v, "s", &["port", "flag", "name", "n", "big"], false).unwrap();
        assert_eq!(
            f.number("port", 1, 65535).unwrap_err(),
            "s.port: expected a whole number from 1 to 65535, found a list"
        );
        assert_eq!(
            f.flag("flag").unwrap_err(),
            "s.flag: expected true or false, found \"maybe\""
        );
        assert_eq!(
            f.text("name").unwrap_err(),
            "s.name: expected text, found a mapping"
        );
        assert!(
            f.number("n", 1, 65535)
                .unwrap_err()
                .contains("found \"80a\"")
        );
        assert_eq!(
            f.number("big", 1, 65535).unwrap_err(),
            "s.big: 70000 is out of range; expected 1 to 65535"
        );
        let top = yaml("[1, 2]");
        assert!(
            Fields::open(&top, "", &[], false)
                .err()
                .unwrap()
                .starts_with("(top level): expected a mapping")
        );
    }

    #[test]
    fn quoted_numbers_and_flags_are_accepted_and_deferred_values_are_absent() {
        let v = yaml("n: '2'\nb: 'true'\nd: '${NAT}'\n");
        let f = Fields::open(&v, "e", &["n", "b", "d"], false).unwrap();
        assert_eq!(f.number("n", 1, 2).unwrap(), Some(2));
        assert_eq!(f.flag("b").unwrap(), Some(true));
        assert!(f.number("d", 1, 2).is_err());
        let f = Fields::open(&v, "e", &["n", "b", "d"], true).unwrap();
        assert_eq!(f.number("d", 1, 2).unwrap(), None);
        assert_eq!(f.flag("d").unwrap(), None);
        assert!(f.checked("d", "${NAT}", |_| Err("bad".into())).is_ok());
        assert_eq!(
            f.checked("n", "2", |_| Err("bad".into())).unwrap_err(),
            "e.n: bad"
        );
    }
}
