//! Parsing deploy.yaml version 2 into the types of [`super`]: the keys of each mapping
//! (through [`Fields`]), each value's rule ([`rules`]), then what involves several
//! entries: `promotes_to`, hosts and paths, unique stack names.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use super::rules;
use super::yaml::{Fields, join};
use super::{
    Application, DEFAULT_PREVIEWS_MAX, DEFAULT_PREVIEWS_MAX_AGE, EnvironmentSettings, Host,
    ImageSource, Login, Previews, Scaling, Service, Templates, VERSION,
};
use crate::cfn::wait::parse_duration;
use crate::config::expand;
use crate::config::{DEFAULT_WAIT_TIMEOUT, Lookup};

const TOP: &[&str] = &[
    "version",
    "application",
    "templates",
    "environments",
    "services",
];
const TEMPLATES: &[&str] = &["environment", "service"];
const ENVIRONMENT: &[&str] = &[
    "region",
    "domain",
    "hosted_zone_id",
    "cognito_domain_prefix",
    "permissions_boundary_arn",
    "role_arn",
    "wildcard_certificate",
    "nat_gateways",
    "self_sign_up",
    "promotes_to",
    "approval",
    "termination_protection",
    "wait_timeout",
    "tags",
    "previews",
];
const PREVIEWS: &[&str] = &["max", "max_age"];
const SERVICE: &[&str] = &[
    "image",
    "repository",
    "port",
    "health_path",
    "container_health_check",
    "host",
    "path",
    "login",
    "cpu",
    "memory",
    "scaling",
];
const IMAGE: &[&str] = &["dockerfile", "context"];
const SCALING: &[&str] = &["min", "max"];

/// The default templates, relative to the config file.
const ENVIRONMENT_TEMPLATE: &str = "cfn/environment.yaml";
const SERVICE_TEMPLATE: &str = "cfn/service.yaml";

/// Tasks per service, as the service template allows.
const MAX_TASKS: u64 = 100;

/// The whole file; errors are `place: what is wrong`.
pub(super) fn parse(text: &str, path: &Path, lookup: Lookup<'_>) -> Result<Application, String> {
    let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("is not valid YAML: {e}"))?;
    let top = Fields::open(&doc, "", TOP, false)?;
    let version = top.number("version", 0, u64::from(u32::MAX))?;
    if version != Some(u64::from(VERSION)) {
        return Err(format!(
            "version: {} is not a deploy.yaml version this deployer reads; it reads version 2 \
             (`version: 2`, environments and services) and the single-stack format (no `version:` key)",
            version.map_or("(none)".to_owned(), |v| v.to_string())
        ));
    }
    no_variables(&doc, "", &["environments"])?;
    let name = top.required_text(
        "application",
        "name the application, e.g. `application: hello`",
    )?;
    top.checked("application", &name, rules::application_name)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let templates = match top.nested("templates", TEMPLATES)? {
        None => Templates {
            environment: base.join(ENVIRONMENT_TEMPLATE),
            service: base.join(SERVICE_TEMPLATE),
        },
        Some(t) => Templates {
            environment: base.join(
                t.text("environment")?
                    .unwrap_or_else(|| ENVIRONMENT_TEMPLATE.into()),
            ),
            service: base.join(
                t.text("service")?
                    .unwrap_or_else(|| SERVICE_TEMPLATE.into()),
            ),
        },
    };

    let raw_environments = top.entries("environments")?;
    if raw_environments.is_empty() {
        return Err(top.missing(
            "environments",
            "define at least one environment (e.g. `staging:`)",
        ));
    }
    let mut environments = BTreeMap::new();
    let mut promotes = BTreeMap::new();
    let mut previews: Option<String> = None;
    for (env_name, raw) in &raw_environments {
        let place = join("environments", env_name);
        rules::part_name(env_name).map_err(|e| format!("{place}: {e}"))?;
        // Keys, types and the values without `${VAR}` of every environment, now.
        let checked = environment(env_name, raw, &place, true)?;
        if checked
            .promotes_to
            .as_deref()
            .is_some_and(|p| p.contains("${"))
        {
            return Err(format!(
                "{place}.promotes_to: `${{…}}` is not allowed here; name the environment itself"
            ));
        }
        if checked.previews.is_some() {
            if let Some(first) = &previews {
                return Err(format!(
                    "{place}.previews: environment `{first}` already hosts the previews; only one \
                     environment may have `previews:`"
                ));
            }
            previews = Some(env_name.clone());
        }
        promotes.insert(env_name.clone(), checked.promotes_to);
        let mut expanded = (*raw).clone();
        let result = expand_environment(env_name, &mut expanded, &place, path, lookup)
            .and_then(|()| environment(env_name, &expanded, &place, false));
        environments.insert(env_name.clone(), result.map_err(|e| with_file(path, &e)));
    }
    check_promotions(&promotes)?;
    if let Some(preview_env) = &previews
        && let Some((from, _)) = promotes
            .iter()
            .find(|(_, to)| to.as_deref() == Some(preview_env.as_str()))
    {
        return Err(format!(
            "environments.{from}.promotes_to: `{preview_env}` hosts pull-request previews \
             (`previews:`), which are deployed per pull request with `deployer preview up`, never \
             promoted to"
        ));
    }
    let promotions = promotes
        .into_iter()
        .filter_map(|(from, to)| Some((from, to?)))
        .collect();

    let raw_services = top.entries("services")?;
    if raw_services.is_empty() {
        return Err(top.missing("services", "define at least one service (e.g. `web:`)"));
    }
    let mut services = BTreeMap::new();
    for (service_name, raw) in &raw_services {
        let place = join("services", service_name);
        rules::part_name(service_name).map_err(|e| format!("{place}: {e}"))?;
        if service_name.starts_with("pr-") {
            return Err(format!(
                "{place}: service names starting with `pr-` are reserved for pull-request \
                 previews (their stacks are `{{application}}-{{environment}}-pr-N-{{service}}`); \
                 rename the service"
            ));
        }
        services.insert(
            service_name.clone(),
            service(&name, service_name, raw, &place, base)?,
        );
    }
    check_routes(&services)?;
    check_stack_names(&name, environments.keys(), services.keys())?;
    if let Some(preview_env) = &previews {
        check_preview_names(&name, preview_env, &services)?;
    }
    Ok(Application {
        name,
        path: path.to_owned(),
        templates,
        services,
        environments,
        promotions,
        previews,
    })
}

/// Prefixes a per-environment error with the file, as every other error is by [`super::parse`].
fn with_file(path: &Path, e: &str) -> String {
    if e.starts_with("config file ") {
        e.to_owned()
    } else {
        format!("config file {}: {e}", path.display())
    }
}

/// Refuses `${` anywhere outside the `skip` keys of the top level.
fn no_variables(value: &Value, place: &str, skip: &[&str]) -> Result<(), String> {
    match value {
        Value::String(s) if s.contains("${") => Err(format!(
            "{}: `${{…}}` is expanded only under `environments:`; a service is the same in every \
             environment (per-environment values belong to the environment)",
            if place.is_empty() {
                "(top level)"
            } else {
                place
            }
        )),
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = k.as_str().unwrap_or_default();
                if place.is_empty() && skip.contains(&key) {
                    continue;
                }
                no_variables(v, &join(place, key), &[])?;
            }
            Ok(())
        }
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| no_variables(item, &format!("{place}[{i}]"), &[])),
        Value::Tagged(t) => no_variables(&t.value, place, skip),
        _ => Ok(()),
    }
}

/// Expands `${VAR}`s in one environment; every unset or empty variable is named at once.
fn expand_environment(
    env_name: &str,
    value: &mut Value,
    place: &str,
    path: &Path,
    lookup: Lookup<'_>,
) -> Result<(), String> {
    let mut unset = Vec::new();
    expand::expand_tree(value, place, lookup, &mut unset)?;
    if unset.is_empty() {
        return Ok(());
    }
    let mut by_variable: Vec<(String, Vec<String>)> = Vec::new();
    for u in unset {
        match by_variable.iter_mut().find(|(v, _)| *v == u.variable) {
            Some((_, keys)) => keys.push(u.key),
            None => by_variable.push((u.variable, vec![u.key])),
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
    Err(format!(
        "config file {}, environment `{env_name}`: not set or empty: {list}. Set {} (e.g. `export \
         {}=…`; in GitHub Actions a repository variable passed to the step's `env:`)",
        path.display(),
        if by_variable.len() == 1 { "it" } else { "them" },
        by_variable[0].0,
    ))
}

/// One environment. `deferred`: before expansion (values holding `${` are not checked).
fn environment(
    name: &str,
    raw: &Value,
    place: &str,
    deferred: bool,
) -> Result<EnvironmentSettings, String> {
    let f = Fields::open(raw, place, ENVIRONMENT, deferred)?;
    let region = f.required_text(
        "region",
        "the AWS region of this environment's stacks, e.g. `eu-west-1`",
    )?;
    f.checked("region", &region, rules::region)?;
    let domain = f.required_text(
        "domain",
        "the environment's domain, e.g. `staging.example.com`",
    )?;
    f.checked("domain", &domain, rules::domain)?;
    let hosted_zone_id = f.required_text(
        "hosted_zone_id",
        "the public hosted zone holding the domain",
    )?;
    f.checked("hosted_zone_id", &hosted_zone_id, rules::hosted_zone_id)?;
    let cognito_domain_prefix = f.required_text(
        "cognito_domain_prefix",
        "the login page's Cognito domain prefix, unique in the region, e.g. `hello-staging-login`",
    )?;
    f.checked(
        "cognito_domain_prefix",
        &cognito_domain_prefix,
        rules::cognito_domain_prefix,
    )?;
    let permissions_boundary_arn = f.required_text(
        "permissions_boundary_arn",
        "the bootstrap's output PermissionsBoundaryArn (`deployer bootstrap` prints it)",
    )?;
    f.checked("permissions_boundary_arn", &permissions_boundary_arn, |v| {
        rules::iam_arn(v, "policy")
    })?;
    let role_arn = f.text("role_arn")?;
    if let Some(role) = &role_arn {
        f.checked("role_arn", role, |v| rules::iam_arn(v, "role"))?;
    }
    let promotes_to = f.text("promotes_to")?;
    let wait = f
        .text("wait_timeout")?
        .unwrap_or_else(|| DEFAULT_WAIT_TIMEOUT.to_owned());
    f.checked("wait_timeout", &wait, |v| parse_duration(v).map(drop))?;
    let previews = match f.nested("previews", PREVIEWS)? {
        None => None,
        Some(p) => {
            let max_age = p
                .text("max_age")?
                .unwrap_or_else(|| DEFAULT_PREVIEWS_MAX_AGE.to_owned());
            p.checked("max_age", &max_age, |v| parse_duration(v).map(drop))?;
            Some(Previews {
                max: p
                    .number("max", 1, 100)?
                    .map_or(DEFAULT_PREVIEWS_MAX, |n| n as u32),
                // Deferred: a placeholder, the value is checked once expanded.
                max_age: parse_duration(&max_age).unwrap_or_default(),
            })
        }
    };
    let wildcard_certificate = f.flag("wildcard_certificate")?;
    if previews.is_some() {
        if wildcard_certificate == Some(false) {
            return Err(format!(
                "{}: an environment with `previews:` needs its wildcard certificate (each \
                 preview's host is one label under the domain, `pr-N.{{domain}}`, and gets no \
                 certificate of its own); remove `wildcard_certificate: false`",
                f.at("wildcard_certificate")
            ));
        }
        if promotes_to.is_some() {
            return Err(format!(
                "{}: an environment with `previews:` hosts only pull-request previews, whose \
                 images are never promoted; remove `promotes_to`",
                f.at("promotes_to")
            ));
        }
    }
    let mut tags = BTreeMap::new();
    for (key, value) in f.text_map("tags")? {
        let at = join(&f.at("tags"), &key);
        if key.starts_with("aws:") || key.starts_with("deployer:") {
            return Err(format!(
                "{at}: tag keys starting with `aws:` or `deployer:` are reserved (the deployer sets \
                 `deployer:application`, `deployer:environment` and `deployer:service`)"
            ));
        }
        if key.is_empty() || key.len() > 128 || value.len() > 256 {
            return Err(format!(
                "{at}: a tag key is 1 to 128 characters and its value at most 256"
            ));
        }
        tags.insert(key, value);
    }
    Ok(EnvironmentSettings {
        name: name.to_owned(),
        region,
        domain,
        hosted_zone_id,
        cognito_domain_prefix,
        permissions_boundary_arn,
        role_arn,
        wildcard_certificate: wildcard_certificate.unwrap_or(false) || previews.is_some(),
        nat_gateways: f.number("nat_gateways", 1, 2)?.map_or(2, |n| n as u8),
        self_sign_up: f.flag("self_sign_up")?.unwrap_or(false),
        promotes_to,
        approval: f.flag("approval")?.unwrap_or(true),
        termination_protection: f.flag("termination_protection")?.unwrap_or(false),
        // Deferred: a placeholder, the value is checked once expanded.
        wait_timeout: parse_duration(&wait).unwrap_or_default(),
        tags,
        previews,
    })
}

/// The longest name an Application Load Balancer can have.
const MAX_LOAD_BALANCER_NAME: usize = 32;

/// The preview environment's names fit: its stack name is a load balancer name; each
/// service's preview host label (`pr-999999-{service}` with several services) is one
/// DNS label (at most 63 characters), and the longest preview stack name fits
/// CloudFormation's limit.
fn check_preview_names(
    app: &str,
    environment: &str,
    services: &BTreeMap<String, Service>,
) -> Result<(), String> {
    // Its load balancer is named after its stack (the previews' service role is scoped
    // to that name): an ALB name is at most 32 letters, digits and inner hyphens, and
    // may not start with `internal-`.
    let stack = format!("{app}-{environment}");
    if stack.len() > MAX_LOAD_BALANCER_NAME
        || !stack
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        || stack.starts_with('-')
        || stack.ends_with('-')
        || stack.starts_with("internal-")
    {
        return Err(format!(
            "environments.{environment}.previews: the environment's load balancer is named after \
             its stack `{stack}` ({} characters), which must be at most {MAX_LOAD_BALANCER_NAME} \
             letters, digits and inner hyphens, not starting with `internal-`: shorten the \
             application or environment name",
            stack.len()
        ));
    }
    let several = services.len() > 1;
    for service in services.keys() {
        let label = crate::app::preview::host_label(crate::app::preview::MAX_PR, service, several);
        if label.len() > crate::app::preview::MAX_LABEL {
            return Err(format!(
                "services.{service}: its preview host label `{label}` (for pull request {}) is {} \
                 characters; a DNS label takes at most {}: shorten the service's name",
                crate::app::preview::MAX_PR,
                label.len(),
                crate::app::preview::MAX_LABEL
            ));
        }
        let stack =
            crate::app::preview::stack_name(app, environment, crate::app::preview::MAX_PR, service);
        if stack.len() > rules::MAX_STACK_NAME {
            return Err(format!(
                "services.{service}: its preview stack name `{stack}` is {} characters; \
                 CloudFormation allows {}: shorten the application, environment or service name",
                stack.len(),
                rules::MAX_STACK_NAME
            ));
        }
    }
    Ok(())
}

/// `promotes_to` names another environment, and following it never comes back.
fn check_promotions(promotes: &BTreeMap<String, Option<String>>) -> Result<(), String> {
    for (from, to) in promotes {
        let Some(to) = to else { continue };
        let place = format!("environments.{from}.promotes_to");
        if !promotes.contains_key(to) {
            let names: Vec<&str> = promotes.keys().map(String::as_str).collect();
            return Err(format!(
                "{place}: `{to}` is not an environment; the environments are {}",
                names.join(", ")
            ));
        }
        let mut chain = vec![from.as_str()];
        let mut at = Some(to.as_str());
        while let Some(next) = at {
            chain.push(next);
            if next == from {
                return Err(format!(
                    "{place}: promotions go round in a circle ({}); an environment's images must \
                     end up somewhere",
                    chain.join(" → ")
                ));
            }
            at = promotes.get(next).and_then(Option::as_deref);
            if chain.len() > promotes.len() + 1 {
                break; // a circle that does not pass through `from`: found from its own start
            }
        }
    }
    Ok(())
}

/// One service.
fn service(
    app: &str,
    name: &str,
    raw: &Value,
    place: &str,
    base: &Path,
) -> Result<Service, String> {
    let f = Fields::open(raw, place, SERVICE, false)?;
    let image = f.nested("image", IMAGE)?.ok_or_else(|| {
        f.missing(
            "image",
            "say how the image is built: `image: { dockerfile: Dockerfile, context: . }`",
        )
    })?;
    let context = image.required_text(
        "context",
        "the build context directory, relative to deploy.yaml, e.g. `.`",
    )?;
    let dockerfile = match image.text("dockerfile")? {
        Some(d) => base.join(d),
        None => base.join(&context).join("Dockerfile"),
    };
    let repository = f
        .text("repository")?
        .unwrap_or_else(|| format!("{app}-{name}"));
    f.checked("repository", &repository, rules::repository)?;
    // A preview pushes a service's images to its repository plus `-preview`, so a
    // repository already named so could be another service's preview repository:
    // pull requests may push there.
    if repository.ends_with(crate::app::preview::REPOSITORY_SUFFIX) {
        let (at, what) = if f.text("repository")?.is_some() {
            (format!("{place}.repository"), format!("`{repository}`"))
        } else {
            (
                place.to_owned(),
                format!("its default repository `{repository}` ({{application}}-{{service}})"),
            )
        };
        return Err(format!(
            "{at}: {what} ends in `-preview`, which is reserved for the repositories \
             pull-request previews push to; rename the service or set another `repository:`"
        ));
    }
    let port = f.number("port", 1, 65535)?.ok_or_else(|| {
        f.missing(
            "port",
            "the port the container listens on, e.g. `port: 8080`",
        )
    })?;
    let health_path = f.required_text(
        "health_path",
        "the load balancer's health check path, e.g. `/healthz`",
    )?;
    f.checked("health_path", &health_path, rules::health_path)?;
    let container_health_check = f.text("container_health_check")?;
    if let Some(check) = &container_health_check {
        f.checked(
            "container_health_check",
            check,
            rules::container_health_check,
        )?;
    }
    let host = f.required_text(
        "host",
        "a label under the environment's domain (`app`), or `@` for the domain itself",
    )?;
    f.checked("host", &host, rules::host)?;
    let path = f.text("path")?;
    if let Some(p) = &path {
        f.checked("path", p, rules::path)?;
    }
    let login = f.required_text(
        "login",
        "`cognito` (behind the environment's login) or `none` (public)",
    )?;
    f.checked("login", &login, rules::login)?;
    let cpu = f
        .number("cpu", 1, u64::from(u32::MAX))?
        .ok_or_else(|| f.missing("cpu", "Fargate CPU units, e.g. `cpu: 256`"))?;
    let memory = f
        .number("memory", 1, u64::from(u32::MAX))?
        .ok_or_else(|| f.missing("memory", "Fargate memory in MiB, e.g. `memory: 512`"))?;
    let wrong = if rules::fargate_memory(cpu).is_none() {
        "cpu"
    } else {
        "memory"
    };
    rules::fargate(cpu, memory).map_err(|e| format!("{}: {e}", f.at(wrong)))?;
    let scaling = f
        .nested("scaling", SCALING)?
        .ok_or_else(|| f.missing("scaling", "how many tasks: `scaling: { min: 1, max: 4 }`"))?;
    let min = scaling
        .number("min", 1, MAX_TASKS)?
        .ok_or_else(|| scaling.missing("min", "the fewest tasks, e.g. `min: 1`"))?;
    let max = scaling
        .number("max", 1, MAX_TASKS)?
        .ok_or_else(|| scaling.missing("max", "the most tasks, e.g. `max: 4`"))?;
    if min > max {
        return Err(format!(
            "{}: min {min} is more than max {max}",
            f.at("scaling")
        ));
    }
    Ok(Service {
        name: name.to_owned(),
        image: ImageSource {
            dockerfile,
            context: base.join(context),
        },
        repository,
        port: port as u16,
        health_path,
        container_health_check,
        host: if host == "@" {
            Host::Apex
        } else {
            Host::Label(host)
        },
        path,
        login: if login == "cognito" {
            Login::Cognito
        } else {
            Login::None
        },
        cpu: cpu as u32,
        memory: memory as u32,
        scaling: Scaling {
            min: min as u32,
            max: max as u32,
        },
    })
}

/// No two services answer the same host and path, and no path prefix on a host is
/// under another (a listener evaluates rules by priority, and the allocation cannot
/// keep a nested prefix's rule ahead of its parent's).
fn check_routes(services: &BTreeMap<String, Service>) -> Result<(), String> {
    let list: Vec<&Service> = services.values().collect();
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            if a.host != b.host {
                continue;
            }
            let place = format!("services.{}", b.name);
            // The load balancer finishes every login on the host's one callback path,
            // /oauth2/idpresponse, with the client of the rule that matches it: a login
            // service under a path carries that path in its rule, so it must be the only
            // login service on its host.
            if a.login == Login::Cognito
                && b.login == Login::Cognito
                && (a.path.is_some() || b.path.is_some())
            {
                return Err(format!(
                    "{place}: services `{}` and `{}` both log in on host `{}` and one has a `path:`; \
                     the load balancer completes logins on the host's single callback \
                     (/oauth2/idpresponse) with one client, so a login service under a path must \
                     be the only login service on its host: give one of them another host, or \
                     `login: none`",
                    a.name,
                    b.name,
                    a.host.as_str()
                ));
            }
            match (&a.path, &b.path) {
                (None, None) => {
                    return Err(format!(
                        "{place}.host: services `{}` and `{}` both answer host `{}` with no path; give \
                         one of them another host or a `path:`",
                        a.name,
                        b.name,
                        a.host.as_str()
                    ));
                }
                (Some(pa), Some(pb)) if pa == pb => {
                    return Err(format!(
                        "{place}.path: services `{}` and `{}` both answer `{}{pa}`; give one of them \
                         another host or path",
                        a.name,
                        b.name,
                        a.host.as_str()
                    ));
                }
                (Some(pa), Some(pb))
                    if rules::path_nested(pa, pb) || rules::path_nested(pb, pa) =>
                {
                    return Err(format!(
                        "{place}.path: `{pb}` and `{pa}` (service `{}`) are nested on host `{}`; nested \
                         path prefixes on one host are not supported (their rules' order cannot be \
                         kept): use prefixes that do not contain each other, or another host",
                        a.name,
                        a.host.as_str()
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Every stack name (`{app}-{env}`, `{app}-{env}-{service}`) fits CloudFormation's limit
/// and no two are the same (environment `a` with service `b-c` and environment `a-b`
/// with service `c` would both make `{app}-a-b-c`).
fn check_stack_names<'a>(
    app: &str,
    environments: impl Iterator<Item = &'a String>,
    services: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), String> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let environments: Vec<&String> = environments.collect();
    // Each environment's roles reach `{app}-{env}` and `{app}-{env}-*` (the bootstrap's
    // AppStackName scope), so no environment may be another's name plus `-…`.
    for a in &environments {
        if let Some(b) = environments
            .iter()
            .find(|b| b.starts_with(&format!("{a}-")))
        {
            return Err(format!(
                "environments `{a}` and `{b}`: `{b}` starts with `{a}-`, so `{a}`'s roles (which \
                 reach the stacks `{app}-{a}` and `{app}-{a}-*`) would reach `{b}`'s stacks too; \
                 rename one of them"
            ));
        }
    }
    for env in environments {
        let mut names = vec![(format!("{app}-{env}"), format!("environment `{env}`"))];
        for service in services.clone() {
            names.push((
                format!("{app}-{env}-{service}"),
                format!("service `{service}` in environment `{env}`"),
            ));
        }
        for (stack, what) in names {
            if stack.len() > rules::MAX_STACK_NAME {
                return Err(format!(
                    "the stack name of {what}, `{stack}`, is {} characters; CloudFormation allows {}: \
                     shorten the application, environment or service name",
                    stack.len(),
                    rules::MAX_STACK_NAME
                ));
            }
            if let Some(other) = seen.insert(stack.clone(), what.clone()) {
                return Err(format!(
                    "{other} and {what} would both be stack `{stack}`; rename one of them"
                ));
            }
        }
    }
    Ok(())
}
