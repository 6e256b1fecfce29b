//! `deploy.yaml`: per-environment deploy settings, and how flags override them.
//!
//! ```yaml
//! environments:
//!   staging:
//!     stack_name: hello-staging
//!     region: eu-west-1
//!     template: cfn/app.yaml          # relative to this file
//!     parameters: { DomainName: staging.example.com }
//!     tags: { team: web }
//!   production:
//!     stack_name: ${STACK_NAME}       # from the environment (CI: a repository variable)
//! ```
//!
//! `${NAME}` in a string value is expanded from the environment ([`expand`]), only in
//! the environment being deployed; an unset or empty one is bad input (exit 64) naming
//! the variable, the environment and the key, unless a flag overrides that key.

pub(crate) mod expand;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::cfn::wait::duration_input;
use crate::cli::DeployArgs;
use crate::error::Failure;
use crate::parameters::parse_pairs;

/// The whole file. Each environment stays YAML until one is chosen, so its `${VAR}`s
/// are expanded only when that environment is deployed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Settings per environment name (`staging`, `production`, …).
    pub environments: BTreeMap<String, Value>,
}

/// One environment's settings. Every field is optional; flags fill in or override.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Environment {
    /// Stack name.
    pub stack_name: Option<String>,
    /// AWS region; wins over `AWS_REGION` (and `--region` over it).
    pub region: Option<String>,
    /// Template path, relative to the config file.
    pub template: Option<PathBuf>,
    /// Template parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    /// Stack tags.
    #[serde(default)]
    pub tags: BTreeMap<String, Value>,
    /// Capabilities to grant instead of the ones worked out from the template.
    pub capabilities: Option<Vec<String>>,
    /// Turn on termination protection.
    pub termination_protection: Option<bool>,
    /// CloudFormation service role.
    pub role_arn: Option<String>,
    /// The parameter that receives the pushed image URI.
    pub image_parameter: Option<String>,
    /// ECR repository for `--image`.
    pub repository: Option<String>,
    /// `--wait-timeout`, e.g. `60m`.
    pub wait_timeout: Option<String>,
    /// `--change-set-timeout`, e.g. `30m`.
    pub change_set_timeout: Option<String>,
}

/// How `${NAME}` is looked up: the process environment, or a map in tests.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`] (a value that is not UTF-8 counts as unset).
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads `environment` from the config file at `path`, expanding its `${VAR}`s with
/// `lookup`. A variable that is unset or empty is an error unless every key using it is
/// `overridden` (given as a flag, so the file's value is never used).
pub(crate) fn load(
    path: &Path,
    environment: &str,
    lookup: Lookup<'_>,
    overridden: &dyn Fn(&str) -> bool,
) -> Result<Environment, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read config file {}: {e}", path.display())))?;
    let bad = |e: &dyn std::fmt::Display| {
        Failure::input(format!(
            "config file {}: {e} (see \"deploy.yaml\" in the README for the format)",
            path.display()
        ))
    };
    let mut file: ConfigFile = serde_yaml::from_str(&text).map_err(|e| bad(&e))?;
    // Every environment's keys are checked, so a typo in one not deployed today is
    // still found today.
    for (name, raw) in &file.environments {
        serde_yaml::from_value::<Environment>(raw.clone())
            .map_err(|e| bad(&format!("environment `{name}`: {e}")))?;
    }
    let names = file
        .environments
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let mut raw = file.environments.remove(environment).ok_or_else(|| {
        Failure::input(format!(
            "environment `{environment}` is not in {}; it has: {names}",
            path.display()
        ))
    })?;
    let mut unset = Vec::new();
    expand::expand_tree(&mut raw, "", lookup, &mut unset)
        .map_err(|e| bad(&format!("environment `{environment}`: {e}")))?;
    unset.retain(|u| !overridden(&u.key));
    if !unset.is_empty() {
        return Err(unset_variables(path, environment, &unset));
    }
    let mut env: Environment = serde_yaml::from_value(raw)
        .map_err(|e| bad(&format!("environment `{environment}`: {e}")))?;
    if let Some(template) = &env.template
        && template.is_relative()
    {
        let base = path.parent().unwrap_or(Path::new("."));
        env.template = Some(base.join(template));
    }
    Ok(env)
}

/// Which deploy.yaml format the file at `path` is: 1 (this module's single-stack
/// format) when it has no top-level `version:` key, else its `version` (2: the
/// application format of [`crate::app`]). An unknown version is bad input naming the
/// versions there are.
pub(crate) fn format_version(path: &Path) -> Result<u32, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read config file {}: {e}", path.display())))?;
    format_version_of(&text)
        .map_err(|e| Failure::input(format!("config file {}: {e}", path.display())))
}

/// [`format_version`] of text.
pub(crate) fn format_version_of(text: &str) -> Result<u32, String> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("is not valid YAML: {e}"))?;
    let known = "this deployer reads version 2 (`version: 2`: an application's environments and \
                 services) and the single-stack format, which has no `version:` key";
    match doc.get("version") {
        None => Ok(1),
        Some(Value::Number(n)) if n.as_u64() == Some(2) => Ok(2),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Err(format!(
            "`version: 1` is not written: remove it for the single-stack format ({known})"
        )),
        Some(other) => Err(format!(
            "version: {} is not a deploy.yaml version; {known}",
            serde_yaml::to_string(other).unwrap_or_default().trim()
        )),
    }
}

/// The error for unset variables: each variable once, in the order the file uses them,
/// with the keys that use it.
fn unset_variables(path: &Path, environment: &str, unset: &[expand::Unset]) -> Failure {
    let mut by_variable: Vec<(&str, Vec<&str>)> = Vec::new();
    for u in unset {
        match by_variable.iter_mut().find(|(v, _)| *v == u.variable) {
            Some((_, keys)) => keys.push(&u.key),
            None => by_variable.push((&u.variable, vec![&u.key])),
        }
    }
    let list = by_variable
        .iter()
        .map(|(variable, keys)| {
            let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            format!("{variable} (used by {})", keys.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let first = by_variable[0].0;
    Failure::input(format!(
        "config file {}, environment `{environment}`: not set or empty: {list}. \
         Set {} (e.g. `export {first}=…`; in GitHub Actions a repository variable passed to the \
         step's `env:`), or pass the flag that overrides the key",
        path.display(),
        if by_variable.len() == 1 { "it" } else { "them" },
    ))
}

/// Everything `deploy` needs, after the config file and the flags are combined.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Stack name.
    pub stack_name: String,
    /// Region from `--region` or the config file, if any (else the AWS chain decides).
    pub region: Option<String>,
    /// Template file.
    pub template: PathBuf,
    /// Parameter values given (file, then flags).
    pub parameters: BTreeMap<String, String>,
    /// Tags (file, then flags).
    pub tags: BTreeMap<String, String>,
    /// Capabilities asked for explicitly; `None` means "work them out from the template".
    pub capabilities: Option<Vec<String>>,
    /// Termination protection wanted.
    pub termination_protection: bool,
    /// Service role.
    pub role_arn: Option<String>,
    /// Parameter for the image URI.
    pub image_parameter: String,
    /// ECR repository for `--image`.
    pub repository: Option<String>,
    /// `--wait-timeout`.
    pub wait_timeout: std::time::Duration,
    /// `--change-set-timeout`: how long CloudFormation may take to work out the change set.
    pub change_set_timeout: std::time::Duration,
    /// A change set that creates the stack may use CloudFormation's express mode
    /// (`cfn::change_set::deployment_mode`): only pull-request preview stacks, whose
    /// creator waits for the service itself. Never from the config file or a flag.
    pub express_create: bool,
}

/// The default for `--image-parameter`.
pub(crate) const DEFAULT_IMAGE_PARAMETER: &str = "ImageUri";
/// The default for `--wait-timeout`.
pub(crate) const DEFAULT_WAIT_TIMEOUT: &str = "60m";
/// The default for `--change-set-timeout`.
pub(crate) const DEFAULT_CHANGE_SET_TIMEOUT: &str = "30m";

/// Combines the config file (when given) with the flags; flags win.
pub(crate) fn resolve(args: &DeployArgs) -> Result<Settings, Failure> {
    resolve_with_warnings(args).map(|(settings, _)| settings)
}

/// [`resolve`], with the warnings to show (e.g. a config region that differs from
/// `AWS_REGION`).
pub(crate) fn resolve_with_warnings(args: &DeployArgs) -> Result<(Settings, Vec<String>), Failure> {
    resolve_in(args, &process_env)
}

/// [`resolve_with_warnings`] with `${VAR}`s and `AWS_REGION` read through `lookup`.
pub(crate) fn resolve_in(
    args: &DeployArgs,
    lookup: Lookup<'_>,
) -> Result<(Settings, Vec<String>), Failure> {
    let flag_parameters = parse_pairs(&args.parameters, "--parameter")?;
    let flag_tags = parse_pairs(&args.tags, "--tag")?;
    // A key set by a flag never uses the file's value, so its variables need not be set.
    let overridden = |key: &str| match key.split_once('.') {
        Some(("parameters", name)) => flag_parameters.contains_key(name),
        Some(("tags", name)) => flag_tags.contains_key(name),
        _ => match key.split('[').next().unwrap_or(key) {
            "stack_name" => args.stack_name.is_some(),
            "region" => args.region.is_some(),
            "template" => args.template.is_some(),
            "repository" => args.image.repository.is_some(),
            "role_arn" => args.role_arn.is_some(),
            "image_parameter" => args.image_parameter.is_some(),
            "wait_timeout" => args.wait_timeout.is_some(),
            "change_set_timeout" => args.change_set_timeout.is_some(),
            "capabilities" => !args.capabilities.is_empty(),
            _ => false,
        },
    };
    let env = match (&args.config, &args.environment) {
        (Some(path), Some(name)) => load(path, name, lookup, &overridden)?,
        _ => Environment::default(),
    };
    let mut warnings = Vec::new();
    if let (None, Some(config), Some((variable, value))) =
        (&args.region, &env.region, environment_region(lookup))
        && *config != value
    {
        warnings.push(region_warning(
            args.environment.as_deref().unwrap_or_default(),
            config,
            variable,
            &value,
        ));
    }
    let stack_name = args.stack_name.clone().or(env.stack_name).ok_or_else(|| {
        Failure::input(
            "no stack name: pass --stack-name NAME (or --config FILE --environment NAME)",
        )
    })?;
    check_stack_name("stack name", &stack_name)?;
    let template = args.template.clone().or(env.template).ok_or_else(|| {
        Failure::input("no template: pass --template FILE (or set `template:` in deploy.yaml)")
    })?;
    let mut parameters = scalars(env.parameters, "parameters")?;
    parameters.extend(flag_parameters);
    let mut tags = scalars(env.tags, "tags")?;
    tags.extend(flag_tags);
    let capabilities = if args.capabilities.is_empty() {
        env.capabilities
    } else {
        Some(args.capabilities.clone())
    };
    if let Some(caps) = &capabilities {
        for cap in caps {
            if !matches!(
                cap.as_str(),
                "CAPABILITY_IAM" | "CAPABILITY_NAMED_IAM" | "CAPABILITY_AUTO_EXPAND"
            ) {
                return Err(Failure::input(format!(
                    "capability `{cap}` is not one of CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND"
                )));
            }
        }
    }
    let (wait_timeout, wait_source) = match (&args.wait_timeout, &env.wait_timeout) {
        (Some(flag), _) => (flag.as_str(), "--wait-timeout"),
        (None, Some(file)) => (file.as_str(), "deploy.yaml `wait_timeout`"),
        (None, None) => (DEFAULT_WAIT_TIMEOUT, "--wait-timeout"),
    };
    let wait_timeout = duration_input(wait_source, wait_timeout)?;
    let (change_set_timeout, change_set_source) =
        match (&args.change_set_timeout, &env.change_set_timeout) {
            (Some(flag), _) => (flag.as_str(), "--change-set-timeout"),
            (None, Some(file)) => (file.as_str(), "deploy.yaml `change_set_timeout`"),
            (None, None) => (DEFAULT_CHANGE_SET_TIMEOUT, "--change-set-timeout"),
        };
    let change_set_timeout = duration_input(change_set_source, change_set_timeout)?;
    let settings = Settings {
        stack_name,
        region: args.region.clone().or(env.region),
        template,
        parameters,
        tags,
        capabilities,
        termination_protection: args.termination_protection
            || env.termination_protection.unwrap_or(false),
        role_arn: args.role_arn.clone().or(env.role_arn),
        image_parameter: args
            .image_parameter
            .clone()
            .or(env.image_parameter)
            .unwrap_or_else(|| DEFAULT_IMAGE_PARAMETER.to_owned()),
        repository: args.image.repository.clone().or(env.repository),
        wait_timeout,
        change_set_timeout,
        express_create: false,
    };
    Ok((settings, warnings))
}

/// The region the environment sets, as the AWS SDK reads it: `AWS_REGION`, else
/// `AWS_DEFAULT_REGION` (empty counts as unset).
pub(crate) fn environment_region(lookup: Lookup<'_>) -> Option<(&'static str, String)> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| lookup(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
}

/// Why the deploy goes to the config's region although the environment names another:
/// a shell left on another region would otherwise deploy somewhere unexpected unnoticed.
fn region_warning(environment: &str, config: &str, variable: &str, value: &str) -> String {
    format!(
        "deploy.yaml environment `{environment}` sets region {config}, but {variable} is {value}: \
         deploying to {config} (deploy.yaml wins over {variable}; --region wins over both)"
    )
}

/// Bad input (exit 64) naming `what` (`stack name`, `--stack-name`) unless `name` is a
/// valid stack name.
pub(crate) fn check_stack_name(what: &str, name: &str) -> Result<(), Failure> {
    if valid_stack_name(name) {
        return Ok(());
    }
    Err(Failure::input(format!(
        "{what} `{name}` is not valid: use letters, digits and hyphens, starting with a letter, \
         at most 128 characters"
    )))
}

/// CloudFormation's stack-name rule: `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters.
pub(crate) fn valid_stack_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn scalars(
    map: BTreeMap<String, Value>,
    section: &str,
) -> Result<BTreeMap<String, String>, Failure> {
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(Failure::input(format!(
                        "deploy.yaml `{section}.{key}` must be a plain value (text, number or true/false)"
                    )));
                }
            };
            Ok((key, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> DeployArgs {
        let mut argv = vec!["deployer", "deploy"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Deploy(a) => *a,
            _ => unreachable!("parsed a deploy command"),
        }
    }

    fn write_config(text: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "deployer-config-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deploy.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn rand_suffix() -> u32 {
        let mut b = [0u8; 4];
        getrandom::getrandom(&mut b).unwrap();
        u32::from_le_bytes(b)
    }

    const CONFIG: &str = "environments:\n  staging:\n    stack_name: web-staging\n    region: eu-west-1\n    template: cfn/app.yaml\n    parameters:\n      Name: from-file\n      Count: 3\n    tags:\n      team: web\n    termination_protection: true\n";

    #[test]
    fn flags_override_the_file_and_paths_are_relative_to_it() {
        let (dir, path) = write_config(CONFIG);
        let p = path.to_str().unwrap();
        let s = resolve(&args(&[
            "--config",
            p,
            "--environment",
            "staging",
            "--parameter",
            "Name=flag",
            "--tag",
            "env=stg",
        ]))
        .unwrap();
        assert_eq!(s.stack_name, "web-staging");
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.template, dir.join("cfn/app.yaml"));
        assert_eq!(s.parameters["Name"], "flag");
        assert_eq!(s.parameters["Count"], "3");
        assert_eq!(s.tags.len(), 2);
        assert!(s.termination_protection);
        assert_eq!(s.image_parameter, "ImageUri");
        let s = resolve(&args(&[
            "--config",
            p,
            "--environment",
            "staging",
            "--stack-name",
            "other",
        ]))
        .unwrap();
        assert_eq!(s.stack_name, "other");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_keys_and_environments_are_named() {
        let (dir, path) = write_config("environments:\n  staging:\n    stak_name: x\n");
        let p = path.to_str().unwrap();
        let e = resolve(&args(&["--config", p, "--environment", "staging"])).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("unknown field `stak_name`"),
            "{}",
            e.message
        );
        std::fs::write(&path, CONFIG).unwrap();
        let e = resolve(&args(&["--config", p, "--environment", "prod"])).unwrap_err();
        assert!(
            e.message.contains("environment `prod`") && e.message.contains("staging"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The repository variables the workflows pass to the deploy step, as CI sets them.
    const CI_VARIABLES: [(&str, &str); 7] = [
        ("STACK_NAME", "myapp-prod"),
        ("AWS_REGION", "eu-central-1"),
        ("ECR_REPOSITORY", "myapp"),
        (
            "CFN_ROLE_ARN",
            "arn:aws:iam::123456789012:role/github-deploy-CloudFormationRole-X",
        ),
        ("HOSTED_ZONE_ID", "Z0123456789ABCDEFGHIJ"),
        ("DOMAIN_NAME", "app.example.com"),
        ("COGNITO_DOMAIN_PREFIX", "myapp-prod-login"),
    ];

    fn lookup_from(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn example() -> String {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/deploy-v1.yaml")
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn the_example_deploy_yaml_is_valid_for_the_app_template() {
        let p = example();
        let lookup = lookup_from(&CI_VARIABLES);
        for env in ["staging", "production"] {
            let (s, _) =
                resolve_in(&args(&["--config", &p, "--environment", env]), &lookup).unwrap();
            let template = crate::template::Template::load(&s.template).unwrap();
            // The environment template takes no image (no --image-parameter to check).
            crate::parameters::validate(&template, &s.parameters, None).unwrap();
        }
    }

    #[test]
    fn the_example_production_is_what_ci_deploys_from_the_repository_variables() {
        let p = example();
        let (s, warnings) = resolve_in(
            &args(&["--config", &p, "--environment", "production"]),
            &lookup_from(&CI_VARIABLES),
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(s.stack_name, "myapp-prod");
        assert_eq!(s.region.as_deref(), Some("eu-central-1"));
        assert!(
            s.template.ends_with("cfn/environment.yaml"),
            "{}",
            s.template.display()
        );
        assert_eq!(s.repository.as_deref(), Some("myapp"));
        assert_eq!(s.role_arn.as_deref(), Some(CI_VARIABLES[3].1));
        assert_eq!(s.capabilities, Some(vec!["CAPABILITY_IAM".to_owned()]));
        assert_eq!(s.wait_timeout, std::time::Duration::from_secs(3600));
        assert!(s.termination_protection);
        assert_eq!(s.parameters["HostedZoneId"], "Z0123456789ABCDEFGHIJ");
        assert_eq!(s.parameters["DomainName"], "app.example.com");
        assert_eq!(s.parameters["CognitoDomainPrefix"], "myapp-prod-login");
        assert_eq!(s.parameters["NatGateways"], "2");
        assert_eq!(s.tags["app"], "myapp-prod");
        assert_eq!(s.tags["environment"], "production");
        // staging needs none of them.
        resolve_in(
            &args(&["--config", &p, "--environment", "staging"]),
            &lookup_from(&[]),
        )
        .unwrap();
    }

    #[test]
    fn the_example_production_names_the_first_missing_variable_first() {
        let p = example();
        for missing in 0..CI_VARIABLES.len() {
            let mut vars = CI_VARIABLES.to_vec();
            let (name, _) = vars.remove(missing);
            let e = resolve_in(
                &args(&["--config", &p, "--environment", "production"]),
                &lookup_from(&vars),
            )
            .unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(
                e.message.contains("environment `production`")
                    && e.message
                        .contains(&format!("not set or empty: {name} (used by `")),
                "{}",
                e.message
            );
        }
        // None set: every one is named, in the order the file uses them.
        let e = resolve_in(
            &args(&["--config", &p, "--environment", "production"]),
            &lookup_from(&[]),
        )
        .unwrap_err();
        let at = |name: &str| e.message.find(&format!("{name} (used by")).unwrap();
        assert!(at("STACK_NAME") < at("AWS_REGION") && at("AWS_REGION") < at("ECR_REPOSITORY"));
        assert!(
            e.message
                .contains("STACK_NAME (used by `stack_name`, `tags.app`)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn variables_expand_in_string_values_only() {
        let (dir, path) = write_config(
            "environments:\n  prod:\n    stack_name: app-${SUFFIX}\n    template: t.yaml\n    \
             parameters:\n      Literal: $${SUFFIX}-${SUFFIX}\n      Count: 3\n      Cost: $5\n    \
             termination_protection: true\n",
        );
        let p = path.to_str().unwrap();
        let (s, _) = resolve_in(
            &args(&["--config", p, "--environment", "prod"]),
            &lookup_from(&[("SUFFIX", "x1")]),
        )
        .unwrap();
        assert_eq!(s.stack_name, "app-x1");
        assert_eq!(s.parameters["Literal"], "${SUFFIX}-x1");
        assert_eq!(s.parameters["Count"], "3");
        assert_eq!(s.parameters["Cost"], "$5");
        assert!(s.termination_protection);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_unset_or_empty_variable_names_itself_the_environment_and_the_key() {
        let (dir, path) = write_config(
            "environments:\n  prod:\n    stack_name: app\n    template: t.yaml\n    \
             parameters:\n      DomainName: ${DOMAIN}\n  other:\n    stack_name: ${NOT_USED}\n",
        );
        let p = path.to_str().unwrap();
        for vars in [&[][..], &[("DOMAIN", "")][..]] {
            let e = resolve_in(
                &args(&["--config", p, "--environment", "prod"]),
                &lookup_from(vars),
            )
            .unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(
                e.message.contains("environment `prod`")
                    && e.message
                        .contains("DOMAIN (used by `parameters.DomainName`)"),
                "{}",
                e.message
            );
        }
        // A flag for that key means the file's value is never used: no variable needed.
        let (s, _) = resolve_in(
            &args(&[
                "--config",
                p,
                "--environment",
                "prod",
                "--parameter",
                "DomainName=given.example.com",
            ]),
            &lookup_from(&[]),
        )
        .unwrap();
        assert_eq!(s.parameters["DomainName"], "given.example.com");
        // A malformed reference is an error even so.
        std::fs::write(
            &path,
            "environments:\n  prod:\n    stack_name: ${oops\n    template: t.yaml\n",
        )
        .unwrap();
        let e = resolve_in(
            &args(&["--config", p, "--environment", "prod", "--stack-name", "x"]),
            &lookup_from(&[]),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("`stack_name`") && e.message.contains("without a closing"),
            "{}",
            e.message
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_config_region_wins_over_aws_region_with_a_warning_and_the_flag_over_both() {
        let (dir, path) = write_config(CONFIG);
        let p = path.to_str().unwrap();
        let base = ["--config", p, "--environment", "staging"];
        let (s, warnings) =
            resolve_in(&args(&base), &lookup_from(&[("AWS_REGION", "us-east-1")])).unwrap();
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("sets region eu-west-1")
                && warnings[0].contains("AWS_REGION is us-east-1")
                && warnings[0].contains("deploying to eu-west-1"),
            "{}",
            warnings[0]
        );
        // AWS_DEFAULT_REGION counts too (the SDK reads it when AWS_REGION is unset).
        let (_, warnings) = resolve_in(
            &args(&base),
            &lookup_from(&[("AWS_DEFAULT_REGION", "us-west-2")]),
        )
        .unwrap();
        assert!(
            warnings[0].contains("AWS_DEFAULT_REGION is us-west-2"),
            "{warnings:?}"
        );
        // The same region, or none in the environment: nothing to say.
        for vars in [&[("AWS_REGION", "eu-west-1")][..], &[][..]] {
            let (_, warnings) = resolve_in(&args(&base), &lookup_from(vars)).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        // --region wins over both, and was asked for: no warning.
        let mut with_flag = base.to_vec();
        with_flag.extend(["--region", "ap-south-1"]);
        let (s, warnings) = resolve_in(
            &args(&with_flag),
            &lookup_from(&[("AWS_REGION", "us-east-1")]),
        )
        .unwrap();
        assert_eq!(s.region.as_deref(), Some("ap-south-1"));
        assert!(warnings.is_empty(), "{warnings:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn timeouts_come_from_the_flag_then_the_file_then_the_default() {
        let (dir, path) = write_config(
            "environments:\n  a:\n    stack_name: x\n    template: t.yaml\n    wait_timeout: 45m\n    \
             change_set_timeout: 5m\n  b:\n    stack_name: x\n    template: t.yaml\n    wait_timeout: soon\n",
        );
        let p = path.to_str().unwrap();
        let get = |extra: &[&str]| {
            let mut argv = vec!["--config", p];
            argv.extend_from_slice(extra);
            resolve_in(&args(&argv), &lookup_from(&[]))
        };
        let (s, _) = get(&["--environment", "a"]).unwrap();
        assert_eq!(s.wait_timeout.as_secs(), 45 * 60);
        assert_eq!(s.change_set_timeout.as_secs(), 5 * 60);
        let (s, _) = get(&["--environment", "a", "--wait-timeout", "10m"]).unwrap();
        assert_eq!(s.wait_timeout.as_secs(), 10 * 60);
        let e = get(&["--environment", "b"]).unwrap_err();
        assert!(
            e.message.contains("deploy.yaml `wait_timeout`"),
            "{}",
            e.message
        );
        let s = resolve(&args(&["--stack-name", "x", "--template", "t"])).unwrap();
        assert_eq!(s.wait_timeout.as_secs(), 3600);
        assert_eq!(s.change_set_timeout.as_secs(), 30 * 60);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stack_names_and_timeouts_are_checked() {
        assert!(resolve(&args(&["--stack-name", "1bad", "--template", "t.yaml"])).is_err());
        assert!(
            resolve(&args(&[
                "--stack-name",
                "ok-1",
                "--template",
                "t.yaml",
                "--wait-timeout",
                "soon"
            ]))
            .unwrap_err()
            .message
            .contains("--wait-timeout")
        );
        let caps = resolve(&args(&[
            "--stack-name",
            "ok",
            "--template",
            "t",
            "--capabilities",
            "CAPABILITY_ADMIN",
        ]));
        assert!(caps.unwrap_err().message.contains("CAPABILITY_ADMIN"));
    }
}
