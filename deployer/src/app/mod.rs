//! The application model: deploy.yaml `version: 2` read into an [`Application`] (its
//! environments and services), and what the engine deploys from it.
//!
//! ```yaml
//! version: 2
//! application: hello
//! environments:
//!   staging:
//!     region: eu-west-1
//!     domain: staging.example.com
//!     hosted_zone_id: ${HOSTED_ZONE_ID}
//!     cognito_domain_prefix: hello-staging-login
//!     permissions_boundary_arn: ${PERMISSIONS_BOUNDARY_ARN_STAGING}
//!     promotes_to: production
//! services:
//!   web:
//!     image: { dockerfile: service/Dockerfile, context: . }
//!     port: 8080
//!     health_path: /healthz
//!     host: app
//!     login: cognito
//!     cpu: 256
//!     memory: 512
//!     scaling: { min: 1, max: 4 }
//! ```
//!
//! - [`load`] reads and checks the whole file: every key of every environment and
//!   service (unknown keys, wrong types and bad values are refused with their place,
//!   `services.web.scaling.mxa`), the names (they become stack names
//!   `{application}-{environment}[-{service}]`), `promotes_to`, hosts and paths.
//! - `${VAR}` is expanded only under `environments:` ([`crate::config`]'s rules), and an
//!   unset one is an error only for the environment asked for ([`Application::environment`]).
//!   `services:` and the top-level keys take no `${VAR}` (refused with the place): a service
//!   is the same in every environment, which is what makes a promotion mean something.
//! - [`stacks`]: the stack specs (template, parameters, tags) of an environment and its
//!   services; [`priorities`]: the listener rule priorities and their check against the
//!   listener.

mod config;
pub(crate) mod preview;
pub(crate) mod priorities;
pub(crate) mod resolve;
mod rules;
pub(crate) mod stacks;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_stacks;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Lookup;
use crate::error::Failure;

/// How long CloudFormation may take to work out a change set (as v1's default).
pub(crate) const DEFAULT_CHANGE_SET_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The format version this module reads (`version: 2`).
pub(crate) const VERSION: u32 = 2;

/// A deploy.yaml version 2, checked. Built by [`load`].
#[derive(Debug, Clone)]
pub(crate) struct Application {
    /// `application`: prefixes every stack name.
    pub name: String,
    /// The config file it was read from.
    pub path: PathBuf,
    /// The two templates (relative paths resolved against the config file's directory).
    pub templates: Templates,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Environments by name: each one's settings with its `${VAR}`s expanded, or why
    /// they cannot be (reported only when that environment is asked for).
    environments: BTreeMap<String, Result<EnvironmentSettings, String>>,
    /// `promotes_to` of every environment that has one (never a `${VAR}`), readable
    /// without the environment's variables: promoting reads the source environment's
    /// stacks, and only the target's variables are set where that runs.
    promotions: BTreeMap<String, String>,
    /// The environment with `previews:`, if any (known without its `${VAR}`s).
    previews: Option<String>,
}

/// `templates:`: which template files make the stacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Templates {
    /// The environment stack's template (default `cfn/environment.yaml`).
    pub environment: PathBuf,
    /// Every service stack's template (default `cfn/service.yaml`).
    pub service: PathBuf,
}

/// One environment, `${VAR}`s expanded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvironmentSettings {
    /// Its name (`staging`).
    pub name: String,
    /// The region all its stacks are in.
    pub region: String,
    /// Its domain (`staging.example.com`): the environment's certificate covers it,
    /// services' hosts are labels under it.
    pub domain: String,
    /// The public hosted zone holding `domain`.
    pub hosted_zone_id: String,
    /// The Cognito hosted-UI domain prefix (unique in the region).
    pub cognito_domain_prefix: String,
    /// The bootstrap's boundary policy, carried by every role the stacks create.
    pub permissions_boundary_arn: String,
    /// CloudFormation service role (`role_arn`), if any.
    pub role_arn: Option<String>,
    /// The certificate also covers `*.domain` (default false).
    pub wildcard_certificate: bool,
    /// NAT gateways, 1 or 2 (default 2).
    pub nat_gateways: u8,
    /// Anyone may sign up on the login page (default false).
    pub self_sign_up: bool,
    /// The environment this one's images are promoted to.
    pub promotes_to: Option<String>,
    /// Applying waits for an approval in CI (default true).
    pub approval: bool,
    /// Termination protection on its stacks (default false).
    pub termination_protection: bool,
    /// How long to follow a stack operation (default 60m).
    pub wait_timeout: Duration,
    /// Tags for every stack (the deployer adds `deployer:*` tags to them).
    pub tags: BTreeMap<String, String>,
    /// `previews:`: this environment hosts only pull-request previews
    /// (`deployer preview`); its own deploy is the environment stack alone.
    pub previews: Option<Previews>,
}

/// `previews:` of the one environment that hosts pull-request previews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Previews {
    /// `max`: live previews at once (default 10, 1..=100); `preview up` refuses beyond it.
    pub max: u32,
    /// `max_age`: `preview prune` and the scheduled workflow remove previews whose last
    /// update is older (default 7d).
    pub max_age: Duration,
}

/// `previews.max` when not given.
pub(crate) const DEFAULT_PREVIEWS_MAX: u32 = 10;
/// `previews.max_age` when not given.
pub(crate) const DEFAULT_PREVIEWS_MAX_AGE: &str = "7d";

/// One service: the same in every environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Service {
    /// Its name (`web`).
    pub name: String,
    /// How its image is built.
    pub image: ImageSource,
    /// Its ECR repository (default `{application}-{service}`).
    pub repository: String,
    /// The container's port.
    pub port: u16,
    /// The load balancer's health check path.
    pub health_path: String,
    /// The container health check command, or `none`; `None` keeps the template's default.
    pub container_health_check: Option<String>,
    /// Its host under the environment's domain.
    pub host: Host,
    /// Its path prefix (`/docs`), or `None` for the whole host.
    pub path: Option<String>,
    /// Who may reach it.
    pub login: Login,
    /// Fargate CPU units.
    pub cpu: u32,
    /// Fargate memory (MiB).
    pub memory: u32,
    /// Auto scaling bounds.
    pub scaling: Scaling,
}

/// `image: { dockerfile, context }`, resolved against the config file's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageSource {
    /// The Dockerfile (default `{context}/Dockerfile`).
    pub dockerfile: PathBuf,
    /// The build context.
    pub context: PathBuf,
}

/// A service's host: a label under the environment's domain, or the domain itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Host {
    /// `@`: the environment's domain itself.
    Apex,
    /// `app`: `app.{domain}`.
    Label(String),
}

impl Host {
    /// The fully qualified name in an environment whose domain is `domain`.
    pub(crate) fn fqdn(&self, domain: &str) -> String {
        match self {
            Self::Apex => domain.to_owned(),
            Self::Label(label) => format!("{label}.{domain}"),
        }
    }

    /// As written in deploy.yaml (`app`, `@`).
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Apex => "@",
            Self::Label(label) => label,
        }
    }
}

/// `login:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Login {
    /// Log in through the environment's user pool (the template's `Login=cognito`).
    Cognito,
    /// Public (`Login=none`).
    None,
}

impl Login {
    /// The template parameter value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Cognito => "cognito",
            Self::None => "none",
        }
    }
}

/// `scaling: { min, max }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scaling {
    /// Fewest tasks.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
}

/// Reads and checks the deploy.yaml version 2 at `path`, expanding each environment's
/// `${VAR}`s through `lookup` (unset ones are reported by [`Application::environment`]).
/// Bad input (exit 64) names the file, the key's place and the rule.
pub(crate) fn load(path: &Path, lookup: Lookup<'_>) -> Result<Application, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read config file {}: {e}", path.display())))?;
    parse(&text, path, lookup)
}

/// [`load`] on text already read (`path` names it and anchors relative paths).
pub(crate) fn parse(text: &str, path: &Path, lookup: Lookup<'_>) -> Result<Application, Failure> {
    config::parse(text, path, lookup).map_err(|e| {
        Failure::input(format!(
            "config file {}: {e} (see \"deploy.yaml\" in the README for the format)",
            path.display()
        ))
    })
}

impl Application {
    /// The environment `name`, `${VAR}`s expanded: bad input naming the environments
    /// there are when it is not one of them, or every unset variable it uses.
    pub(crate) fn environment(&self, name: &str) -> Result<EnvironmentSettings, Failure> {
        match self.environments.get(name) {
            Some(Ok(settings)) => Ok(settings.clone()),
            Some(Err(message)) => Err(Failure::input(message.clone())),
            None => Err(Failure::input(format!(
                "environment `{name}` is not in {}; it has: {}",
                self.path.display(),
                self.environment_names().collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The environment `from` promotes to (`promotes_to`), if any.
    pub(crate) fn promotes_to(&self, from: &str) -> Option<&str> {
        self.promotions.get(from).map(String::as_str)
    }

    /// The environment that hosts pull-request previews (the one with `previews:`).
    pub(crate) fn preview_environment(&self) -> Option<&str> {
        self.previews.as_deref()
    }

    /// Refuses `what` (`promote`, `rollback`, ...) on the preview environment, pointing
    /// at `deployer preview`.
    pub(crate) fn refuse_previews(&self, environment: &str, what: &str) -> Result<(), Failure> {
        if self.preview_environment() == Some(environment) {
            return Err(Failure::input(format!(
                "environment `{environment}` hosts pull-request previews (`previews:` in {}): \
                 {what} does not apply to it; its services are deployed per pull request with \
                 `deployer preview up --pr N` and removed with `deployer preview down --pr N` \
                 (README \"Previews\")",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// The environments' names, sorted.
    pub(crate) fn environment_names(&self) -> impl Iterator<Item = &str> {
        self.environments.keys().map(String::as_str)
    }

    /// The environment stack's name: `{application}-{environment}`.
    pub(crate) fn environment_stack(&self, environment: &str) -> String {
        format!("{}-{environment}", self.name)
    }

    /// A service stack's name: `{application}-{environment}-{service}`.
    pub(crate) fn service_stack(&self, environment: &str, service: &str) -> String {
        format!("{}-{environment}-{service}", self.name)
    }
}
