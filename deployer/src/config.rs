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
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::cfn::wait::parse_duration;
use crate::cli::DeployArgs;
use crate::error::Failure;
use crate::parameters::parse_pairs;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    /// Settings per environment name (`staging`, `production`, …).
    pub environments: BTreeMap<String, Environment>,
}

/// One environment's settings. Every field is optional; flags fill in or override.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Environment {
    /// Stack name.
    pub stack_name: Option<String>,
    /// AWS region; wins over `AWS_REGION`.
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
}

/// Reads `environment` from the config file at `path`.
pub(crate) fn load(path: &Path, environment: &str) -> Result<Environment, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read config file {}: {e}", path.display())))?;
    let mut file: ConfigFile = serde_yaml::from_str(&text).map_err(|e| {
        Failure::input(format!(
            "config file {}: {e} (see \"deploy.yaml\" in the README for the format)",
            path.display()
        ))
    })?;
    let names = file
        .environments
        .keys()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let mut env = file.environments.remove(environment).ok_or_else(|| {
        Failure::input(format!(
            "environment `{environment}` is not in {}; it has: {names}",
            path.display()
        ))
    })?;
    if let Some(template) = &env.template
        && template.is_relative()
    {
        let base = path.parent().unwrap_or(Path::new("."));
        env.template = Some(base.join(template));
    }
    Ok(env)
}

/// Everything `deploy` needs, after the config file and the flags are combined.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Stack name.
    pub stack_name: String,
    /// Region from the config file, if any.
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
}

/// The default for `--image-parameter`.
pub(crate) const DEFAULT_IMAGE_PARAMETER: &str = "ImageUri";

/// Combines the config file (when given) with the flags; flags win.
pub(crate) fn resolve(args: &DeployArgs) -> Result<Settings, Failure> {
    let env = match (&args.config, &args.environment) {
        (Some(path), Some(name)) => load(path, name)?,
        _ => Environment::default(),
    };
    let stack_name = args.stack_name.clone().or(env.stack_name).ok_or_else(|| {
        Failure::input(
            "no stack name: pass --stack-name NAME (or --config FILE --environment NAME)",
        )
    })?;
    if !valid_stack_name(&stack_name) {
        return Err(Failure::input(format!(
            "stack name `{stack_name}` is not valid: use letters, digits and hyphens, starting \
             with a letter, at most 128 characters"
        )));
    }
    let template = args.template.clone().or(env.template).ok_or_else(|| {
        Failure::input("no template: pass --template FILE (or set `template:` in deploy.yaml)")
    })?;
    let mut parameters = scalars(env.parameters, "parameters")?;
    parameters.extend(parse_pairs(&args.parameters, "--parameter")?);
    let mut tags = scalars(env.tags, "tags")?;
    tags.extend(parse_pairs(&args.tags, "--tag")?);
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
    let wait_timeout = parse_duration(&args.wait_timeout)
        .map_err(|e| Failure::input(format!("--wait-timeout: {e}")))?;
    let change_set_timeout = parse_duration(&args.change_set_timeout)
        .map_err(|e| Failure::input(format!("--change-set-timeout: {e}")))?;
    Ok(Settings {
        stack_name,
        region: env.region,
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
    })
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

    #[test]
    fn the_example_deploy_yaml_is_valid_for_the_app_template() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy.yaml");
        let p = path.to_str().unwrap();
        for env in ["staging", "production"] {
            let s = resolve(&args(&["--config", p, "--environment", env])).unwrap();
            let template = crate::template::Template::load(&s.template).unwrap();
            crate::parameters::validate(&template, &s.parameters, Some(&s.image_parameter))
                .unwrap();
            assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        }
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
