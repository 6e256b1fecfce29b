//! What the day-2 commands (`status`, `logs`) need from a deploy.yaml version 2: the
//! application's name, one environment's region and the services' names, and from
//! them the stack names (`{application}-{environment}` and
//! `{application}-{environment}-{service}`).
//!
//! The file is read and checked by the application model ([`crate::app`]); this is
//! the small view of it the day-2 commands use.

use std::path::Path;

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

/// Reads `environment` of the deploy.yaml (version 2) at `path`, through the
/// application model ([`crate::app::load`]: every key checked). The region is the
/// environment's when its `${VAR}`s are set; otherwise the AWS chain's, since reading
/// status or logs needs none of the account-specific values a deploy needs.
pub(crate) fn load(path: &Path, environment: &str) -> Result<AppEnvironment, Failure> {
    let app = crate::app::load(path, &crate::config::process_env)?;
    if !app.environment_names().any(|e| e == environment) {
        return Err(Failure::input(format!(
            "--environment {environment}: {} has no such environment (it has: {})",
            path.display(),
            app.environment_names().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(AppEnvironment {
        application: app.name.clone(),
        environment: environment.to_owned(),
        region: app.environment(environment).ok().map(|e| e.region),
        services: app.services.keys().cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY_YAML: &str = "
version: 2
application: hello
environments:
  staging:
    region: eu-west-1
    domain: staging.example.com
    hosted_zone_id: Z1
    cognito_domain_prefix: hello-staging
    permissions_boundary_arn: arn:aws:iam::123456789012:policy/b
  production:
    region: ${DEPLOYER_TEST_UNSET_REGION}
    domain: example.com
    hosted_zone_id: Z2
    cognito_domain_prefix: hello-production
    permissions_boundary_arn: arn:aws:iam::123456789012:policy/b
services:
  web: { image: { context: . }, port: 8080, health_path: /healthz, host: app, login: cognito,
         cpu: 256, memory: 512, scaling: { min: 1, max: 2 } }
  docs: { image: { context: . }, port: 8080, health_path: /healthz, host: docs, login: none,
          cpu: 256, memory: 512, scaling: { min: 1, max: 2 } }
";

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deploy.yaml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn an_environment_gives_its_region_services_and_stack_names() {
        let (_dir, path) = file(DEPLOY_YAML);
        let env = load(&path, "staging").unwrap();
        assert_eq!(env.region.as_deref(), Some("eu-west-1"));
        assert_eq!(env.services, ["docs", "web"]);
        assert_eq!(env.environment_stack(), "hello-staging");
        assert_eq!(env.service_stack("web"), "hello-staging-web");
        assert!(env.check_service("web").is_ok());
        let e = env.check_service("api").unwrap_err();
        assert!(e.message.contains("it has: docs, web"), "{}", e.message);
        // An unset variable leaves the region to the AWS chain.
        assert_eq!(load(&path, "production").unwrap().region, None);
    }

    #[test]
    fn a_missing_environment_is_refused_naming_those_there_are() {
        let (_dir, path) = file(DEPLOY_YAML);
        let e = load(&path, "qa").unwrap_err();
        assert!(
            e.message.contains("it has: production, staging"),
            "{}",
            e.message
        );
    }
}
