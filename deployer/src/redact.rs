//! Secret values never reach a person: what a change table, the job summary, the PR
//! comment, the JSON report or the plan file would otherwise show is replaced by
//! [`MASK`], the same `****` CloudFormation itself shows for a NoEcho parameter.
//!
//! Three sources of secrets, each masked where it can appear:
//! - **NoEcho parameter values** the deployer passes (given, or the template's Default):
//!   [`register_no_echo`] records them once per run, and every text the output layer
//!   writes has them replaced ([`mask_known`]); a change-row value containing one is
//!   masked whole.
//! - **Dynamic references to secret stores** (`{{resolve:secretsmanager:…}}`,
//!   `{{resolve:ssm-secure:…}}`): a change-row value that is or holds one is masked,
//!   before and after, since the old value of such a property may be the resolved
//!   secret.
//! - **Properties that are secret by nature**, by name ([`is_secret_name`]): a password,
//!   secret, token, private key, API key or credential is masked whatever its value.
//!
//! A masked row still says that the property changes, only not to what.

use std::sync::RwLock;

use crate::cfn::change_set::ResourceChange;
use crate::engine::ParameterChange;
use crate::template::ParameterSpec;

/// What a secret value is shown as (CloudFormation's own mask for NoEcho values).
pub(crate) const MASK: &str = "****";

/// Shorter known secrets are masked only where a change-row value *is* the secret:
/// replacing every `1` or `no` in every log line would garble the output and protect
/// nothing (such a value is guessed at once).
const MIN_SUBSTRING_LEN: usize = 4;

/// The NoEcho values of this run, as `add-mask` does for a GitHub job: append-only,
/// process-wide, so every output path masks them without being handed them.
static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Records the values of the template's NoEcho parameters, given or defaulted, so no
/// output shows them.
pub(crate) fn register_no_echo<'a>(
    specs: impl IntoIterator<Item = (&'a String, &'a ParameterSpec)>,
    given: &std::collections::BTreeMap<String, String>,
) {
    for (name, spec) in specs {
        if !spec.no_echo {
            continue;
        }
        for value in [given.get(name), spec.default.as_ref()]
            .into_iter()
            .flatten()
        {
            register(value);
        }
    }
}

/// Records one secret value (and the forms it takes inside a JSON string, as
/// CloudFormation shows object-valued properties).
pub(crate) fn register(value: &str) {
    if value.is_empty() || value.chars().all(|c| c == '*') {
        return;
    }
    let escaped = serde_json::to_string(value)
        .map(|s| s.trim_matches('"').to_owned())
        .unwrap_or_default();
    let mut known = KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for form in [value.to_owned(), escaped] {
        if !form.is_empty() && !known.contains(&form) {
            known.push(form);
        }
    }
    // Longest first: a secret that contains another is replaced whole.
    known.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every known secret (of at least [`MIN_SUBSTRING_LEN`] characters)
/// replaced by [`MASK`].
pub(crate) fn mask_known(text: &str) -> String {
    let known = KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = text.to_owned();
    for secret in known.iter() {
        if secret.chars().count() >= MIN_SUBSTRING_LEN && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), MASK);
        }
    }
    out
}

/// True when `value` is a known secret, or holds one long enough to look for.
fn holds_known(value: &str) -> bool {
    let known = KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    known.iter().any(|secret| {
        value == secret
            || (secret.chars().count() >= MIN_SUBSTRING_LEN && value.contains(secret.as_str()))
    })
}

/// A dynamic reference whose value is a secret. (`{{resolve:ssm:…}}` is a plain
/// parameter and stays visible.)
pub(crate) fn is_secret_reference(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.contains("{{resolve:secretsmanager:") || lower.contains("{{resolve:ssm-secure:")
}

/// Words that make a property or parameter name secret, matched case-insensitively
/// anywhere in the name: `MasterUserPassword`, `SecretString`, `ClientSecret`,
/// `client_secret`, `AuthToken`, `OAuthToken`, `PrivateKey`, `ApiKey`, `Credentials`.
pub(crate) const SECRET_WORDS: [&str; 9] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "privatekey",
    "apikey",
    "credential",
    "signingkey",
];

/// Name endings that make such a name *about* a secret, not the secret itself: its
/// ARN, name or id (`SecretArn`, `SecretsManagerSecretId`), and settings such as
/// Cognito's `AccessTokenValidity`, `TokenValidityUnits`, `PasswordPolicy` or
/// `MinimumPasswordLength` that reviewers need to see.
pub(crate) const NOT_SECRET_ENDINGS: [&str; 12] = [
    "arn",
    "arns",
    "name",
    "id",
    "ids",
    "validity",
    "units",
    "length",
    "policy",
    "type",
    "revocation",
    "days",
];

/// Whether a property path (`/Properties/MasterUserPassword`,
/// `/Properties/ProviderDetails/client_secret`, `Properties.SecretString`) or a
/// parameter name names a secret: its last non-numeric segment contains one of
/// [`SECRET_WORDS`] and does not end with one of [`NOT_SECRET_ENDINGS`], and it is not
/// inside a block of settings ([`SETTINGS_ENDINGS`]).
pub(crate) fn is_secret_name(path: &str) -> bool {
    let mut segments = path
        .split(['/', '.'])
        .filter(|s| !s.is_empty() && !s.chars().all(|c| c.is_ascii_digit()))
        .map(|s| {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .rev();
    let Some(leaf) = segments.next() else {
        return false;
    };
    SECRET_WORDS.iter().any(|w| leaf.contains(w))
        && !NOT_SECRET_ENDINGS.iter().any(|e| leaf.ends_with(e))
        // Inside a block of settings (`TokenValidityUnits/AccessToken`: "hours").
        && !segments.any(|s| SETTINGS_ENDINGS.iter().any(|e| s.ends_with(e)))
}

/// Containers whose members are settings about secrets, never secrets.
const SETTINGS_ENDINGS: [&str; 3] = ["units", "validity", "policy"];

/// Masks the secret values of change rows in place (see the module docs). Idempotent.
pub(crate) fn changes(rows: &mut [ResourceChange]) {
    for row in rows {
        for d in &mut row.details {
            let values = [d.before.as_deref(), d.after.as_deref()];
            let secret = is_secret_name(&d.path)
                || values
                    .iter()
                    .flatten()
                    .any(|v| is_secret_reference(v) || holds_known(v));
            if secret {
                for value in [&mut d.before, &mut d.after].into_iter().flatten() {
                    MASK.clone_into(value);
                }
            }
        }
    }
}

/// Masks parameter values that are secret by name or are secret references (NoEcho
/// ones already are). Idempotent.
pub(crate) fn parameters(changes: &mut [ParameterChange]) {
    for p in changes {
        let secret = is_secret_name(&p.name)
            || [p.old.as_deref(), Some(p.new.as_str())]
                .iter()
                .flatten()
                .any(|v| is_secret_reference(v) || holds_known(v));
        if secret {
            if let Some(old) = &mut p.old {
                MASK.clone_into(old);
            }
            MASK.clone_into(&mut p.new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfn::change_set::PropertyChange;

    fn row(path: &str, before: Option<&str>, after: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: "Modify".into(),
            logical_id: "Db".into(),
            resource_type: "AWS::RDS::DBInstance".into(),
            replacement: "False".into(),
            policy_action: String::new(),
            scope: vec!["Properties".into()],
            details: vec![PropertyChange {
                path: path.into(),
                before: before.map(Into::into),
                after: after.map(Into::into),
                dynamic: false,
                requires_recreation: "Never".into(),
            }],
        }
    }

    fn values(rows: &[ResourceChange]) -> (Option<&str>, Option<&str>) {
        let d = &rows[0].details[0];
        (d.before.as_deref(), d.after.as_deref())
    }

    #[test]
    fn secret_names_are_masked_and_names_about_secrets_are_not() {
        for secret in [
            "/Properties/MasterUserPassword",
            "/Properties/SecretString",
            "/Properties/ProviderDetails/client_secret",
            "/Properties/AuthToken",
            "/Properties/Credentials/0/PrivateKey",
            "Properties.ClientSecret",
            "/Properties/GenerateSecret",
            "DbPassword",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for visible in [
            "/Properties/ContainerDefinitions/0/Image",
            "/Properties/SecretArn",
            "/Properties/Secrets/0/ValueFrom",
            "/Properties/Secrets/0/Name",
            "/Properties/AccessTokenValidity",
            "/Properties/TokenValidityUnits/AccessToken",
            "/Properties/Policies/PasswordPolicy",
            "/Properties/Policies/PasswordPolicy/MinimumLength",
            "/Properties/GenerateSecretString/PasswordLength",
            "/Properties/EnableTokenRevocation",
            "ClientSecretArn",
            "",
        ] {
            assert!(!is_secret_name(visible), "{visible}");
        }
    }

    #[test]
    fn rows_with_secret_paths_references_or_known_values_are_masked() {
        let mut rows = vec![row(
            "/Properties/MasterUserPassword",
            Some("old"),
            Some("new"),
        )];
        changes(&mut rows);
        assert_eq!(values(&rows), (Some(MASK), Some(MASK)));

        let mut rows = vec![row(
            "/Properties/ContainerDefinitions/0/Environment/0/Value",
            Some("plain"),
            Some("{{resolve:secretsmanager:prod/db:SecretString:password}}"),
        )];
        changes(&mut rows);
        assert_eq!(values(&rows), (Some(MASK), Some(MASK)));

        let mut rows = vec![row(
            "/Properties/Value",
            None,
            Some("{{resolve:ssm-secure:/prod/key:1}}"),
        )];
        changes(&mut rows);
        assert_eq!(values(&rows), (None, Some(MASK)));

        // A NoEcho value inside a JSON object value, with a quote JSON escapes.
        register("n0echo-\"value\"-7f3a");
        let mut rows = vec![row(
            "/Properties/ContainerDefinitions/0/Environment",
            Some(r#"[{"Name":"A","Value":"x"}]"#),
            Some(r#"[{"Name":"A","Value":"n0echo-\"value\"-7f3a"}]"#),
        )];
        changes(&mut rows);
        assert_eq!(values(&rows), (Some(MASK), Some(MASK)));
        assert_eq!(
            mask_known("reason: n0echo-\"value\"-7f3a is bad"),
            "reason: **** is bad"
        );

        // Plain values and plain SSM references stay visible.
        let mut rows = vec![row(
            "/Properties/ContainerDefinitions/0/Image",
            Some("repo@sha256:aaa"),
            Some("{{resolve:ssm:/public/image}}"),
        )];
        let before = rows.clone();
        changes(&mut rows);
        assert_eq!(rows, before);
    }

    #[test]
    fn no_echo_values_given_or_defaulted_are_registered_and_short_ones_only_match_whole() {
        let specs: std::collections::BTreeMap<String, ParameterSpec> = [
            (
                "Given".to_owned(),
                ParameterSpec {
                    no_echo: true,
                    ..Default::default()
                },
            ),
            (
                "Defaulted".to_owned(),
                ParameterSpec {
                    no_echo: true,
                    default: Some("d3fault-s3cret-91c".into()),
                    ..Default::default()
                },
            ),
            (
                "Plain".to_owned(),
                ParameterSpec {
                    default: Some("visible-default-91c".into()),
                    ..Default::default()
                },
            ),
            (
                "Short".to_owned(),
                ParameterSpec {
                    no_echo: true,
                    ..Default::default()
                },
            ),
        ]
        .into();
        let given = [
            ("Given".to_owned(), "g1ven-s3cret-91c".to_owned()),
            ("Short".to_owned(), "q9".to_owned()),
        ]
        .into();
        register_no_echo(&specs, &given);
        assert_eq!(
            mask_known("g1ven-s3cret-91c d3fault-s3cret-91c visible-default-91c q9"),
            "**** **** visible-default-91c q9"
        );
        let mut rows = vec![row("/Properties/Pin", Some("q9"), Some("q95"))];
        changes(&mut rows);
        assert_eq!(values(&rows), (Some(MASK), Some(MASK)));
    }

    #[test]
    fn parameters_secret_by_name_or_reference_are_masked() {
        let mut params = vec![
            ParameterChange {
                name: "ApiToken".into(),
                old: Some("a".into()),
                new: "b".into(),
                previous_value_kept: false,
            },
            ParameterChange {
                name: "Db".into(),
                old: None,
                new: "{{resolve:secretsmanager:db}}".into(),
                previous_value_kept: false,
            },
            ParameterChange {
                name: "DomainPrefix".into(),
                old: None,
                new: "app".into(),
                previous_value_kept: false,
            },
        ];
        parameters(&mut params);
        let shown: Vec<(Option<&str>, &str)> = params
            .iter()
            .map(|p| (p.old.as_deref(), p.new.as_str()))
            .collect();
        assert_eq!(shown, [(Some(MASK), MASK), (None, MASK), (None, "app")]);
    }
}
