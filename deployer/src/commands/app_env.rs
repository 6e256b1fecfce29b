//! What the day-2 commands (`status`, `logs`) need from a deploy.yaml version 2: the
//! application's name, one environment's region and the services' names, and from
//! them the stack names (`{application}-{environment}` and
//! `{application}-{environment}-{service}`).
//!
//! Deliberately small: it reads only those keys, so it works with any deploy.yaml
//! version 2. (Once the application model in `crate::app` is merged, [`load`] becomes
//! a call to its loader.)

use std::path::Path;

use serde_yaml::Value;

use crate::aws::stack_images::service_stack_name;
use crate::error::Failure;

/// One environment of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppEnvironment {
    /// `application:`.
    pub application: String,
    /// The environment's name.
    pub environment: String,
    /// `environments.E.region`, when given literally (a `${VAR}` is left to the AWS
    /// chain).
    pub region: Option<String>,
    /// `services:`'s names, sorted.
    pub services: Vec<String>,
}

impl AppEnvironment {
    /// The environment stack: `{application}-{environment}`.
    pub(crate) fn environment_stack(&self) -> String {
        format!("{}-{}", self.application, self.environment)
    }

    /// A service's stack: `{application}-{environment}-{service}`.
    pub(crate) fn service_stack(&self, service: &str) -> String {
        service_stack_name(&self.application, &self.environment, service)
    }

    /// `service`, if the application has it; else bad input naming those it has.
    pub(crate) fn check_service(&self, service: &str) -> Result<(), Failure> {
        if self.services.iter().any(|s| s == service) {
            Ok(())
        } else {
            Err(Failure::input(format!(
                "--service {service}: the application {} has no such service (it has: {})",
                self.application,
                self.services.join(", ")
            )))
        }
    }
}

/// Reads `environment` of the deploy.yaml (version 2) at `path`.
pub(crate) fn load(path: &Path, environment: &str) -> Result<AppEnvironment, Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read --config {shown}: {e}")))?;
    parse(&text, environment).map_err(|message| Failure::input(format!("{shown}: {message}")))
}

/// [`load`] on the file's text.
fn parse(text: &str, environment: &str) -> Result<AppEnvironment, String> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let version = doc.get("version").and_then(Value::as_u64);
    if version != Some(2) {
        return Err(
            "this command reads an application (`version: 2`, with `application:`, `environments:` and \
             `services:`); for a single stack use --stack-name"
                .to_owned(),
        );
    }
    let application = doc
        .get("application")
        .and_then(Value::as_str)
        .ok_or("`application:` is missing")?
        .to_owned();
    let environments = doc
        .get("environments")
        .and_then(Value::as_mapping)
        .ok_or("`environments:` is missing")?;
    let names: Vec<&str> = environments.keys().filter_map(Value::as_str).collect();
    let env = environments.get(environment).ok_or_else(|| {
        format!(
            "--environment {environment}: no such environment (it has: {})",
            names.join(", ")
        )
    })?;
    let region = env
        .get("region")
        .and_then(Value::as_str)
        .filter(|r| !r.contains("${"))
        .map(str::to_owned);
    let mut services: Vec<String> = doc
        .get("services")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    services.sort();
    Ok(AppEnvironment {
        application,
        environment: environment.to_owned(),
        region,
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY_YAML: &str = "
version: 2
application: hello
environments:
  staging: { region: eu-west-1, domain: staging.example.com }
  production: { region: '${REGION}' }
services:
  web: { port: 8080 }
  docs: { port: 8080 }
";

    #[test]
    fn an_environment_gives_its_region_services_and_stack_names() {
        let env = parse(DEPLOY_YAML, "staging").unwrap();
        assert_eq!(env.region.as_deref(), Some("eu-west-1"));
        assert_eq!(env.services, ["docs", "web"]);
        assert_eq!(env.environment_stack(), "hello-staging");
        assert_eq!(env.service_stack("web"), "hello-staging-web");
        assert!(env.check_service("web").is_ok());
        let e = env.check_service("api").unwrap_err();
        assert!(e.message.contains("it has: docs, web"), "{}", e.message);
        assert_eq!(parse(DEPLOY_YAML, "production").unwrap().region, None);
    }

    #[test]
    fn a_missing_environment_or_a_v1_file_is_refused() {
        let e = parse(DEPLOY_YAML, "qa").unwrap_err();
        assert!(e.contains("it has: staging, production"), "{e}");
        let e = parse("stack_name: x\nenvironments: {}\n", "qa").unwrap_err();
        assert!(e.contains("use --stack-name"), "{e}");
    }
}
