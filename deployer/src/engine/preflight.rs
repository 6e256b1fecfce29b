//! Pre-flight checks: read-only AWS calls, before anything is pushed or any change set
//! is created, for what CloudFormation would only find out minutes (or 36 hours) into
//! a deploy. Both are driven by the template's `Metadata.Deployer` block
//! (`crate::template::DeployerRules`), so the deployer knows nothing about any one
//! template:
//!
//! - `ImmutableParameters`: DescribeStacks; a value that differs from the deployed
//!   stack's is refused with the template's own words on how to change it.
//! - `HostedZone`: Route 53 GetHostedZone; the zone must be public and hold the domain,
//!   else ACM's DNS validation can never finish.
//! - `CognitoDomainPrefix`: the prefix must be free or this stack's
//!   (`preflight_cognito`).
//!
//! Every problem found is reported together (exit 64, nothing changed). A check the
//! caller may not make (AccessDenied) is a warning: CloudFormation still decides.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use aws_sdk_route53::error::ProvideErrorMetadata;

use crate::aws::{describe_error, is_access_denied_code};
use crate::cfn::stack;
use crate::config::Settings;
use crate::error::Failure;
use crate::output::Printer;
use crate::parameters::effective_values;
use crate::template::{DeployerRules, Template};

/// Runs the checks the template asks for; `Err` lists every problem found.
pub(super) async fn check(
    sdk: &SdkConfig,
    settings: &Settings,
    template: &Template,
    allow_change: &[String],
    printer: &Printer,
) -> Result<(), Failure> {
    let rules = &template.deployer;
    for name in allow_change {
        if !rules.immutable.contains_key(name) {
            return Err(Failure::input(format!(
                "--allow-change {name}: the template marks no such parameter immutable \
                 (its immutable parameters: {})",
                if rules.immutable.is_empty() {
                    "none".to_owned()
                } else {
                    rules
                        .immutable
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
    }
    let values = effective_values(&template.parameters, &settings.parameters);
    let mut problems = Vec::new();
    if !rules.immutable.is_empty() {
        let client = aws_sdk_cloudformation::Client::new(sdk);
        match stack::describe(&client, &settings.stack_name).await {
            Ok(Some(deployed)) => {
                problems.extend(immutable_problems(rules, &values, &deployed, allow_change));
            }
            Ok(None) => {}
            Err(f) if f.message.contains("AccessDenied") => printer.warn(&format!(
                "cannot read the deployed stack to check its fixed parameters ({}): {}",
                rules
                    .immutable
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                f.message
            )),
            Err(f) => return Err(f),
        }
    }
    if let Some(rule) = &rules.hosted_zone
        && let (Some(zone_id), Some(domain)) = (
            values.get(rule.zone.as_str()),
            values.get(rule.domain.as_str()),
        )
    {
        let client = aws_sdk_route53::Client::new(sdk);
        match client.get_hosted_zone().id(*zone_id).send().await {
            Ok(out) => {
                if let Some(zone) = out.hosted_zone() {
                    let private = zone.config().is_some_and(|c| c.private_zone());
                    problems.extend(zone_problems(
                        (rule.zone.as_str(), *zone_id),
                        (rule.domain.as_str(), *domain),
                        zone.name(),
                        private,
                    ));
                }
            }
            Err(err) => match zone_error(&rule.zone, zone_id, err.code(), &describe_error(&err)) {
                ZoneError::Problem(p) => problems.push(p),
                ZoneError::Warning(w) => printer.warn(&w),
            },
        }
    }
    if let Some(param) = &rules.cognito_domain_prefix
        && let Some(prefix) = values.get(param.as_str())
    {
        match super::preflight_cognito::check(sdk, &settings.stack_name, param, prefix).await? {
            super::preflight_cognito::Prefix::Fine => {}
            super::preflight_cognito::Prefix::Taken(p) => problems.push(p),
            super::preflight_cognito::Prefix::Unchecked(w) => printer.warn(&w),
        }
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(Failure::input(problems.remove(0))),
        n => Err(Failure::input(format!(
            "{n} problems found before the change set (nothing was changed):\n{}",
            problems
                .iter()
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))),
    }
}

/// Parameters the template marks immutable whose value this deploy would change.
fn immutable_problems(
    rules: &DeployerRules,
    values: &BTreeMap<&str, &str>,
    deployed: &Stack,
    allowed: &[String],
) -> Vec<String> {
    // A stack the deploy replaces (a failed first create) or that holds no template yet
    // has no values to keep.
    if matches!(
        stack::status(deployed),
        StackStatus::ReviewInProgress | StackStatus::RollbackComplete
    ) {
        return Vec::new();
    }
    let old: BTreeMap<&str, &str> = deployed
        .parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    rules
        .immutable
        .iter()
        .filter(|(name, _)| !allowed.contains(name))
        .filter_map(|(name, how)| {
            let before = *old.get(name.as_str())?;
            let after = *values.get(name.as_str())?;
            // A NoEcho value comes back as ****: we cannot tell whether it changes.
            (before != after && before != "****").then(|| {
                format!(
                    "parameter `{name}` cannot change on the deployed stack {} (it is `{before}`, \
                     this deploy says `{after}`): {} Once that is done, deploy the new value \
                     with --allow-change {name}.",
                    deployed.stack_name().unwrap_or_default(),
                    how.trim()
                )
            })
        })
        .collect()
}

/// What is wrong with a hosted zone for a domain: private, or not its parent.
fn zone_problems(
    (zone_param, zone_id): (&str, &str),
    (domain_param, domain): (&str, &str),
    zone_name: &str,
    private: bool,
) -> Vec<String> {
    let zone_name = zone_name.trim_end_matches('.').to_ascii_lowercase();
    let domain_lc = domain.trim_end_matches('.').to_ascii_lowercase();
    let mut problems = Vec::new();
    if private {
        problems.push(format!(
            "hosted zone {zone_id} (parameter `{zone_param}`, {zone_name}) is a private zone: \
             ACM validates the certificate through public DNS only, so CloudFormation would \
             wait up to 36 hours; pass the id of the public zone for {domain_lc}"
        ));
    }
    if domain_lc != zone_name && !domain_lc.ends_with(&format!(".{zone_name}")) {
        problems.push(format!(
            "parameter `{domain_param}` `{domain}` is not inside hosted zone {zone_id} \
             (parameter `{zone_param}`), which is {zone_name}: the certificate's validation \
             record could never be published; pass the zone that holds {domain_lc}, or a \
             name under {zone_name}"
        ));
    }
    problems
}

/// A GetHostedZone error: bad input (no such zone) or a check we could not make.
#[derive(Debug)]
enum ZoneError {
    Problem(String),
    Warning(String),
}

fn zone_error(zone_param: &str, zone_id: &str, code: Option<&str>, detail: &str) -> ZoneError {
    if is_access_denied_code(code) {
        return ZoneError::Warning(format!(
            "cannot check hosted zone {zone_id} (route53:GetHostedZone is not allowed: \
             {detail}); CloudFormation will find out whether it is public and holds the domain"
        ));
    }
    match code {
        Some("NoSuchHostedZone" | "InvalidInput") => ZoneError::Problem(format!(
            "parameter `{zone_param}`: hosted zone {zone_id} does not exist in this account \
             ({detail}); pass the id of the public zone that holds the domain \
             (`aws route53 list-hosted-zones`)"
        )),
        _ => ZoneError::Warning(format!("cannot check hosted zone {zone_id}: {detail}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::Parameter;

    fn stack_with(status: StackStatus, params: &[(&str, &str)]) -> Stack {
        let mut b = Stack::builder().stack_name("app").stack_status(status);
        for (k, v) in params {
            b = b.parameters(
                Parameter::builder()
                    .parameter_key(*k)
                    .parameter_value(*v)
                    .build(),
            );
        }
        b.build()
    }

    fn rules() -> DeployerRules {
        DeployerRules {
            immutable: [("Prefix".to_owned(), "delete the domain first.".to_owned())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_changed_immutable_parameter_is_refused_with_the_template_s_advice() {
        let deployed = stack_with(
            StackStatus::UpdateComplete,
            &[("Prefix", "old"), ("Other", "x")],
        );
        let p = immutable_problems(
            &rules(),
            &[("Prefix", "new"), ("Other", "y")].into(),
            &deployed,
            &[],
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("parameter `Prefix` cannot change on the deployed stack app")
                && p[0].contains("it is `old`, this deploy says `new`")
                && p[0].contains("delete the domain first. Once that is done")
                && p[0].ends_with("with --allow-change Prefix."),
            "{p:?}"
        );
        assert!(
            immutable_problems(&rules(), &[("Prefix", "old")].into(), &deployed, &[]).is_empty()
        );
        let allowed = ["Prefix".to_owned()];
        assert!(
            immutable_problems(&rules(), &[("Prefix", "new")].into(), &deployed, &allowed)
                .is_empty()
        );
        // A stack that will be recreated, or a hidden value: nothing to compare.
        let failed = stack_with(StackStatus::RollbackComplete, &[("Prefix", "old")]);
        assert!(immutable_problems(&rules(), &[("Prefix", "new")].into(), &failed, &[]).is_empty());
        let hidden = stack_with(StackStatus::UpdateComplete, &[("Prefix", "****")]);
        assert!(immutable_problems(&rules(), &[("Prefix", "new")].into(), &hidden, &[]).is_empty());
    }

    #[test]
    fn the_zone_must_be_public_and_hold_the_domain() {
        let check = |domain: &str, zone: &str, private: bool| {
            zone_problems(("Zone", "Z1"), ("Domain", domain), zone, private)
        };
        assert!(check("app.example.com", "example.com.", false).is_empty());
        assert!(check("example.com", "example.com.", false).is_empty());
        assert!(check("App.Example.com.", "example.com", false).is_empty());
        let p = check("app.example.com", "example.com.", true);
        assert!(p.len() == 1 && p[0].contains("is a private zone"), "{p:?}");
        let p = check("app.badexample.com", "example.com.", false);
        assert!(
            p.len() == 1 && p[0].contains("`app.badexample.com` is not inside hosted zone Z1"),
            "{p:?}"
        );
        assert_eq!(check("app.other.org", "example.com.", true).len(), 2);
    }

    #[test]
    fn a_denied_zone_check_is_a_warning_and_a_missing_zone_a_problem() {
        let w = zone_error(
            "Zone",
            "Z1",
            Some("AccessDenied"),
            "AccessDenied: not allowed",
        );
        assert!(
            matches!(&w, ZoneError::Warning(m) if m.contains("route53:GetHostedZone is not allowed")),
            "{w:?}"
        );
        let p = zone_error(
            "Zone",
            "Z1",
            Some("NoSuchHostedZone"),
            "NoSuchHostedZone: nope",
        );
        assert!(
            matches!(&p, ZoneError::Problem(m) if m.contains("hosted zone Z1 does not exist")),
            "{p:?}"
        );
        // Anything else (a network error, throttling after retries): CloudFormation decides.
        assert!(matches!(
            zone_error("Zone", "Z1", None, "dispatch failure"),
            ZoneError::Warning(_)
        ));
    }
}
