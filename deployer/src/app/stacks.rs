//! What the engine deploys for one environment: a [`StackSpec`] for the environment
//! stack (`{application}-{environment}`, `cfn/environment.yaml`) and one per service
//! (`{application}-{environment}-{service}`, `cfn/service.yaml`), with every parameter
//! the deployer computes. The service's image (`ImageUri`) is left to the engine, which
//! pushes it or keeps what the stack runs.
//!
//! Service parameters:
//! - **environment-wired**: every parameter of the service template whose name is an
//!   `Outputs` name of the environment template, filled from the environment stack's
//!   outputs (never `Fn::ImportValue`, whose exports could never change again);
//! - **computed**: `HostName`, `PathPrefix`, `Login`, `ApiRulePriority`,
//!   `AppRulePriority`, `CreateDnsRecord` (exactly one service per host owns its alias
//!   record: the one without a path, else the first by name; none for the environment's
//!   own domain, whose record the environment stack has), `CreateCertificate` (the
//!   environment's certificate — `DomainName`, plus `*.DomainName` with
//!   `wildcard_certificate` — does not cover the host; only for the host's DNS owner),
//!   `PermissionsBoundaryArn`;
//! - **the service's own**: `ContainerPort`, `HealthCheckPath`, `ContainerHealthCheck`
//!   (only when set), `Cpu`, `Memory`, `MinTasks`, `MaxTasks`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::Value;

use super::priorities::Priorities;
use super::{Application, EnvironmentSettings, Host, Service};
use crate::error::Failure;
use crate::template::Template;

/// The parameter of a service stack that takes the image URI.
pub(crate) const IMAGE_PARAMETER: &str = "ImageUri";

/// Tag keys the deployer puts on every stack it makes from deploy.yaml.
pub(crate) const TAG_APPLICATION: &str = "deployer:application";
/// See [`TAG_APPLICATION`].
pub(crate) const TAG_ENVIRONMENT: &str = "deployer:environment";
/// See [`TAG_APPLICATION`]; on service stacks only (a tag value cannot be empty).
pub(crate) const TAG_SERVICE: &str = "deployer:service";

/// The parameters every service template must declare: without them its rules could
/// not be placed on the listener without colliding.
const ROUTING_PARAMETERS: [&str; 3] = ["HostName", "ApiRulePriority", "AppRulePriority"];

/// ACM refuses a certificate whose first name (the subject's CN) is longer than this.
const MAX_CERTIFICATE_NAME: usize = 64;

/// One stack to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackSpec {
    /// `{application}-{environment}` or `{application}-{environment}-{service}`.
    pub stack_name: String,
    /// The service, or `None` for the environment stack.
    pub service: Option<String>,
    /// The template file.
    pub template: PathBuf,
    /// Every parameter the deployer sets (the image excepted).
    pub parameters: BTreeMap<String, String>,
    /// Stack tags: the environment's plus the `deployer:*` ones.
    pub tags: BTreeMap<String, String>,
    /// CloudFormation service role.
    pub role_arn: Option<String>,
    /// Capabilities to grant; `None`: worked out from the template, as v1 does.
    pub capabilities: Option<Vec<String>>,
    /// Turn on termination protection.
    pub termination_protection: bool,
    /// How long to follow the stack's operation.
    pub wait_timeout: Duration,
    /// The parameter that takes the image URI (`ImageUri` for services).
    pub image_parameter: Option<String>,
    /// The ECR repository of the service's image.
    pub repository: Option<String>,
}

/// Every stack of `environment`: the environment's first, then the services by name.
/// `outputs` are the environment stack's outputs and `priorities` the allocated ones
/// ([`super::priorities::allocate`]). Reads both templates for the wiring.
pub(crate) fn stacks(
    app: &Application,
    environment: &str,
    outputs: &BTreeMap<String, String>,
    priorities: &BTreeMap<String, Priorities>,
) -> Result<Vec<StackSpec>, Failure> {
    let env = app.environment(environment)?;
    let service_template = Template::load(&app.templates.service)?;
    let env_outputs = template_outputs(&app.templates.environment)?;
    let mut out = vec![environment_stack(app, &env)];
    if env.previews.is_some() {
        // Services reach the preview environment only through `deployer preview up`.
        return Ok(out);
    }
    for service in app.services.values() {
        out.push(service_stack(
            app,
            &env,
            service,
            &service_template,
            &env_outputs,
            outputs,
            priorities,
        )?);
    }
    Ok(out)
}

/// The environment stack (no AWS or file access).
pub(crate) fn environment_stack(app: &Application, env: &EnvironmentSettings) -> StackSpec {
    let parameters = BTreeMap::from([
        ("HostedZoneId".to_owned(), env.hosted_zone_id.clone()),
        ("DomainName".to_owned(), env.domain.clone()),
        (
            "CognitoDomainPrefix".to_owned(),
            env.cognito_domain_prefix.clone(),
        ),
        ("NatGateways".to_owned(), env.nat_gateways.to_string()),
        (
            "WildcardCertificate".to_owned(),
            env.wildcard_certificate.to_string(),
        ),
        ("SelfSignUp".to_owned(), env.self_sign_up.to_string()),
    ]);
    // The previews' service role (cfn/pull-request-previews.yaml) may add listener rules
    // only under listener/app/{stack}/: the load balancer hosting previews is named after
    // the stack (config checks it fits). Other environments keep a generated name.
    let mut parameters = parameters;
    if env.previews.is_some() {
        parameters.insert(
            "LoadBalancerName".to_owned(),
            app.environment_stack(&env.name),
        );
    }
    StackSpec {
        stack_name: app.environment_stack(&env.name),
        service: None,
        template: app.templates.environment.clone(),
        parameters,
        tags: tags(app, env, None),
        role_arn: env.role_arn.clone(),
        capabilities: None,
        termination_protection: env.termination_protection,
        wait_timeout: env.wait_timeout,
        image_parameter: None,
        repository: None,
    }
}

/// The environment's tags plus the deployer's.
fn tags(
    app: &Application,
    env: &EnvironmentSettings,
    service: Option<&str>,
) -> BTreeMap<String, String> {
    let mut tags = env.tags.clone();
    tags.insert(TAG_APPLICATION.into(), app.name.clone());
    tags.insert(TAG_ENVIRONMENT.into(), env.name.clone());
    if let Some(service) = service {
        tags.insert(TAG_SERVICE.into(), service.to_owned());
    }
    tags
}

/// The `Outputs` names of a template (read as plain YAML; CloudFormation tags are kept
/// as tagged values and never looked at).
pub(crate) fn template_outputs(path: &Path) -> Result<BTreeSet<String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read template {}: {e}", path.display())))?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| {
        Failure::input(format!(
            "template {}: is not valid YAML or JSON: {e}",
            path.display()
        ))
    })?;
    Ok(doc
        .get("Outputs")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// The service whose stack makes `service`'s host's alias record: none for the
/// environment's domain itself; else the one without a path, else the first by name.
pub(crate) fn dns_owner<'a>(app: &'a Application, host: &Host) -> Option<&'a Service> {
    if *host == Host::Apex {
        return None;
    }
    let mut on_host = app.services.values().filter(|s| s.host == *host);
    let first = on_host.clone().next();
    on_host.find(|s| s.path.is_none()).or(first)
}

/// True when the environment's certificate covers `host` (`DomainName`, and one label
/// under it with the wildcard).
pub(crate) fn certificate_covers(env: &EnvironmentSettings, host: &Host) -> bool {
    match host {
        Host::Apex => true,
        Host::Label(_) => env.wildcard_certificate,
    }
}

/// One service's stack.
pub(crate) fn service_stack(
    app: &Application,
    env: &EnvironmentSettings,
    service: &Service,
    template: &Template,
    environment_outputs: &BTreeSet<String>,
    outputs: &BTreeMap<String, String>,
    priorities: &BTreeMap<String, Priorities>,
) -> Result<StackSpec, Failure> {
    let stack_name = app.service_stack(&env.name, &service.name);
    let mut parameters = BTreeMap::new();
    let env_stack = app.environment_stack(&env.name);
    // No outputs: the environment stack does not exist yet, and the release engine
    // wires these parameters once it has been created (a deferred create).
    for name in template
        .parameters
        .keys()
        .filter(|p| environment_outputs.contains(*p) && !outputs.is_empty())
    {
        let value = outputs.get(name).ok_or_else(|| {
            Failure::failed(format!(
                "environment stack {env_stack} has no output {name}, which {} takes as a parameter: \
                 deploy the environment first (`deployer deploy --config {} --environment {}`), or \
                 check that its template is {}",
                app.templates.service.display(),
                app.path.display(),
                env.name,
                app.templates.environment.display()
            ))
        })?;
        parameters.insert(name.clone(), value.clone());
    }
    let &(api, app_priority) = priorities.get(&service.name).ok_or_else(|| {
        Failure::internal(format!(
            "no listener rule priorities were allocated for service `{}`",
            service.name
        ))
    })?;
    let host_name = service.host.fqdn(&env.domain);
    let owns_dns = dns_owner(app, &service.host).is_some_and(|s| s.name == service.name);
    let create_certificate = owns_dns && !certificate_covers(env, &service.host);
    if host_name.len() > 253 {
        return Err(Failure::input(format!(
            "service `{}` in environment `{}`: host name {host_name} is longer than 253 characters",
            service.name, env.name
        )));
    }
    if create_certificate && host_name.len() > MAX_CERTIFICATE_NAME {
        return Err(Failure::input(format!(
            "service `{}` in environment `{}`: {host_name} needs its own certificate, but ACM takes \
             at most {MAX_CERTIFICATE_NAME} characters for a certificate's name; use a shorter \
             host, or `wildcard_certificate: true` for the environment",
            service.name, env.name
        )));
    }
    let computed = [
        ("HostName", host_name),
        ("PathPrefix", service.path.clone().unwrap_or_default()),
        ("Login", service.login.as_str().to_owned()),
        ("ApiRulePriority", api.to_string()),
        ("AppRulePriority", app_priority.to_string()),
        ("CreateDnsRecord", owns_dns.to_string()),
        ("CreateCertificate", create_certificate.to_string()),
        (
            "PermissionsBoundaryArn",
            env.permissions_boundary_arn.clone(),
        ),
        ("ContainerPort", service.port.to_string()),
        ("HealthCheckPath", service.health_path.clone()),
        ("Cpu", service.cpu.to_string()),
        ("Memory", service.memory.to_string()),
        ("MinTasks", service.scaling.min.to_string()),
        ("MaxTasks", service.scaling.max.to_string()),
    ];
    let health_check = service
        .container_health_check
        .as_ref()
        .map(|c| ("ContainerHealthCheck", c.clone()));
    for (name, value) in computed.into_iter().chain(health_check) {
        if !template.parameters.contains_key(name) {
            // A service template must route (host and priorities); the rest it may
            // leave out, e.g. a template without its own certificate or DNS record.
            if !ROUTING_PARAMETERS.contains(&name) {
                continue;
            }
            return Err(Failure::input(format!(
                "template {} has no parameter {name}, which the deployer sets on every service stack; \
                 a service template must declare the parameters listed under \"Service stacks\" in \
                 the README",
                app.templates.service.display()
            )));
        }
        parameters.insert(name.to_owned(), value);
    }
    Ok(StackSpec {
        stack_name,
        service: Some(service.name.clone()),
        template: app.templates.service.clone(),
        parameters,
        tags: tags(app, env, Some(&service.name)),
        role_arn: env.role_arn.clone(),
        capabilities: None,
        termination_protection: env.termination_protection,
        wait_timeout: env.wait_timeout,
        image_parameter: Some(IMAGE_PARAMETER.to_owned()),
        repository: Some(service.repository.clone()),
    })
}
