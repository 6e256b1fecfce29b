//! `bootstrap --environment E`: one GitHub OIDC stack per environment of an
//! application, so staging's roles can never touch production's stacks.
//!
//! - the template parameter `EnvironmentName` is E (and the GitHub environment of the
//!   apply job, parameter `Environment`, is E too unless `--parameter` says otherwise);
//! - the stack is `github-deploy-E` unless `--stack-name` names another;
//! - the variables are E's: `AWS_DEPLOY_ROLE_ARN_E`, `AWS_PLAN_ROLE_ARN_E`,
//!   `CFN_ROLE_ARN_E`, `PERMISSIONS_BOUNDARY_ARN_E` (E upper-cased, `-` → `_`), with
//!   `AWS_PREVIEW_ROLE_ARN` and `AWS_REGION` as they are. The single-stack variables
//!   (STACK_NAME, ECR_REPOSITORY) are not printed: deploy.yaml names an application's
//!   stacks and repositories; HOSTED_ZONE_ID, DOMAIN_NAME and COGNITO_DOMAIN_PREFIX
//!   only when their flags are given (deploy.yaml may read them with `${…}`).
//!
//! Without `--environment` nothing changes: stack `github-deploy`, unsuffixed names.

use std::collections::BTreeMap;

use super::ToFill;
use crate::error::Failure;
use crate::template::Template;

/// The template parameter naming the environment (cfn/github-oidc.yaml).
pub(super) const ENVIRONMENT_PARAMETER: &str = "EnvironmentName";

/// The template parameter naming the GitHub environment of the apply job.
const GITHUB_ENVIRONMENT_PARAMETER: &str = "Environment";

/// The bootstrap stack without `--environment`.
pub(super) const DEFAULT_STACK: &str = "github-deploy";

/// The variables that get the environment's suffix.
const SUFFIXED: [&str; 4] = [
    "AWS_DEPLOY_ROLE_ARN",
    "AWS_PLAN_ROLE_ARN",
    "CFN_ROLE_ARN",
    "PERMISSIONS_BOUNDARY_ARN",
];

/// Variables of the single-stack layout, not printed for an environment.
const SINGLE_STACK_ONLY: [&str; 2] = ["STACK_NAME", "ECR_REPOSITORY"];

/// Variables only the user knows; for an environment, printed only when given.
const FROM_FLAGS: [&str; 3] = ["HOSTED_ZONE_ID", "DOMAIN_NAME", "COGNITO_DOMAIN_PREFIX"];

/// `_STAGING` for `staging`, `_EU_PROD` for `eu-prod`.
pub(super) fn suffix(environment: &str) -> String {
    format!("_{}", environment.to_ascii_uppercase().replace('-', "_"))
}

/// `--environment`'s value, checked as deploy.yaml names environments.
pub(super) fn check(environment: &str) -> Result<(), Failure> {
    let ok = environment
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase())
        && environment.len() <= 32
        && environment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "--environment `{environment}` is not an environment name: lower-case letters, digits and -, starting with a letter (e.g. staging)"
        )))
    }
}

/// The stack: `--stack-name`, else `github-deploy-E` (or `github-deploy`).
pub(super) fn stack_name(flag: Option<&str>, environment: Option<&str>) -> String {
    match (flag, environment) {
        (Some(name), _) => name.to_owned(),
        (None, Some(env)) => format!("{DEFAULT_STACK}-{env}"),
        (None, None) => DEFAULT_STACK.to_owned(),
    }
}

/// Sets `EnvironmentName` (refusing a `--parameter` for it, and a template without
/// it) and, unless given, the GitHub `Environment` to `environment`.
pub(super) fn set_parameters(
    parameters: &mut BTreeMap<String, String>,
    template: &Template,
    environment: &str,
) -> Result<(), Failure> {
    if parameters.contains_key(ENVIRONMENT_PARAMETER) {
        return Err(Failure::input(format!(
            "--parameter {ENVIRONMENT_PARAMETER}: set by --environment; leave it out"
        )));
    }
    if !template.parameters.contains_key(ENVIRONMENT_PARAMETER) {
        return Err(Failure::input(format!(
            "--environment {environment}: the bootstrap template has no parameter {ENVIRONMENT_PARAMETER}, so its roles \
             cannot be bound to one environment. Use the built-in template (leave out --template) of a deployer that \
             knows environments, or bootstrap without --environment"
        )));
    }
    parameters.insert(ENVIRONMENT_PARAMETER.to_owned(), environment.to_owned());
    if template
        .parameters
        .contains_key(GITHUB_ENVIRONMENT_PARAMETER)
    {
        parameters
            .entry(GITHUB_ENVIRONMENT_PARAMETER.to_owned())
            .or_insert_with(|| environment.to_owned());
    }
    Ok(())
}

/// The variables for `environment` (all of them, unchanged, without one): renamed
/// with its suffix, the single-stack ones left out, the flag-only ones kept only when
/// known.
pub(super) fn select(
    known: Vec<(&'static str, String)>,
    to_fill: Vec<ToFill>,
    environment: Option<&str>,
) -> (Vec<(String, String)>, Vec<ToFill>) {
    let Some(env) = environment else {
        return (
            known.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
            to_fill,
        );
    };
    let rename = |name: &str| {
        if SUFFIXED.contains(&name) {
            format!("{name}{}", suffix(env))
        } else {
            name.to_owned()
        }
    };
    let known = known
        .into_iter()
        .filter(|(n, _)| !SINGLE_STACK_ONLY.contains(n))
        .map(|(n, v)| (rename(n), v))
        .collect();
    let to_fill = to_fill
        .into_iter()
        .filter(|t| {
            !SINGLE_STACK_ONLY.contains(&t.name.as_str()) && !FROM_FLAGS.contains(&t.name.as_str())
        })
        .map(|t| ToFill {
            name: rename(&t.name),
            reason: t.reason,
        })
        .collect();
    (known, to_fill)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_upper_case_with_underscores() {
        assert_eq!(suffix("staging"), "_STAGING");
        assert_eq!(suffix("eu-prod-2"), "_EU_PROD_2");
        for good in ["staging", "production", "eu-prod-2"] {
            assert!(check(good).is_ok(), "{good}");
        }
        for bad in ["", "Staging", "2nd", "qa_1", "a b"] {
            assert_eq!(check(bad).unwrap_err().exit_code(), 64, "{bad:?}");
        }
    }

    #[test]
    fn the_stack_is_per_environment_unless_named() {
        assert_eq!(stack_name(None, None), "github-deploy");
        assert_eq!(stack_name(None, Some("staging")), "github-deploy-staging");
        assert_eq!(stack_name(Some("roles"), Some("staging")), "roles");
    }

    #[test]
    fn an_environments_variables_carry_its_suffix() {
        let known = vec![
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_DEPLOY_ROLE_ARN", "arn:deploy".to_owned()),
            ("AWS_PLAN_ROLE_ARN", "arn:plan".to_owned()),
            ("AWS_PREVIEW_ROLE_ARN", "arn:preview".to_owned()),
            ("CFN_ROLE_ARN", "arn:cfn".to_owned()),
            ("PERMISSIONS_BOUNDARY_ARN", "arn:boundary".to_owned()),
            ("STACK_NAME", "web-prod".to_owned()),
            ("HOSTED_ZONE_ID", "Z1".to_owned()),
        ];
        let to_fill = ["ECR_REPOSITORY", "DOMAIN_NAME"]
            .map(|n| ToFill {
                name: n.to_owned(),
                reason: "r".to_owned(),
            })
            .to_vec();
        let (vars, fill) = select(known.clone(), to_fill.clone(), Some("staging"));
        let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "AWS_REGION",
                "AWS_DEPLOY_ROLE_ARN_STAGING",
                "AWS_PLAN_ROLE_ARN_STAGING",
                "AWS_PREVIEW_ROLE_ARN",
                "CFN_ROLE_ARN_STAGING",
                "PERMISSIONS_BOUNDARY_ARN_STAGING",
                "HOSTED_ZONE_ID",
            ]
        );
        assert_eq!(vars[1].1, "arn:deploy");
        assert!(fill.is_empty(), "{fill:?}");
        // Without an environment: all of them, as they are.
        let (vars, fill) = select(known, to_fill, None);
        assert_eq!(vars.len(), 8);
        assert_eq!(vars[1].0, "AWS_DEPLOY_ROLE_ARN");
        assert_eq!(fill.len(), 2);
    }

    #[test]
    fn environment_name_is_set_once_and_needs_the_parameter() {
        let with = Template::parse(
            "Parameters:\n  EnvironmentName: {Type: String}\n  Environment: {Type: String, Default: production}\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
        )
        .unwrap();
        let mut p = BTreeMap::new();
        set_parameters(&mut p, &with, "staging").unwrap();
        assert_eq!(p["EnvironmentName"], "staging");
        assert_eq!(p["Environment"], "staging");
        let mut p = BTreeMap::from([("Environment".to_owned(), "stage-approval".to_owned())]);
        set_parameters(&mut p, &with, "staging").unwrap();
        assert_eq!(p["Environment"], "stage-approval", "a given one stays");
        let mut p = BTreeMap::from([("EnvironmentName".to_owned(), "x".to_owned())]);
        let e = set_parameters(&mut p, &with, "staging").unwrap_err();
        assert!(e.message.contains("set by --environment"), "{}", e.message);
        let without = Template::parse(
            "Parameters:\n  Branch: {Type: String}\nResources:\n  T: {Type: AWS::SNS::Topic}\n",
        )
        .unwrap();
        let e = set_parameters(&mut BTreeMap::new(), &without, "staging").unwrap_err();
        assert!(
            e.message.contains("no parameter EnvironmentName"),
            "{}",
            e.message
        );
    }
}
