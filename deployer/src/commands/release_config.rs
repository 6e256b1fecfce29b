//! A stand-in for the application model (`crate::app`, written on another branch):
//! reads a version-2 deploy.yaml into the stacks of one environment
//! ([`ReleaseSpec`]), with the parameters COMMON to both templates, so `deploy
//! --environment E` can be wired to the release engine before that model is merged.
//! Only the parameters a template declares are passed (so small fixture templates
//! that follow the wiring rule work too). Replace with `app::load` + `app::stacks`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::cfn::wait::duration_input;
use crate::config::expand::expand_tree;
use crate::engine::release::{ReleaseSpec, StackSpec};
use crate::error::Failure;
use crate::template::Template;

/// Whether `path` is a version-2 deploy.yaml (an application).
pub(crate) fn is_application(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_yaml::from_str::<Value>(&text).ok())
        .and_then(|v| v.get("version").and_then(Value::as_u64))
        == Some(2)
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// FNV-1a 64 of `text`.
fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Reads the environment `environment` of the application in `path`.
pub(crate) fn load(path: &Path, environment: &str) -> Result<ReleaseSpec, Failure> {
    let bad = |m: String| Failure::input(format!("{}: {m}", path.display()));
    let body = std::fs::read_to_string(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    let mut doc: Value = serde_yaml::from_str(&body).map_err(|e| bad(e.to_string()))?;
    let application =
        text(doc.get("application")).ok_or_else(|| bad("no `application:`".into()))?;
    let env = doc
        .get_mut("environments")
        .and_then(|e| e.get_mut(environment))
        .ok_or_else(|| {
            bad(format!(
                "no environment `{environment}` under `environments:`"
            ))
        })?;
    let mut unset = Vec::new();
    let lookup = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    expand_tree(
        env,
        &format!("environments.{environment}"),
        &lookup,
        &mut unset,
    )
    .map_err(bad)?;
    if let Some(u) = unset.first() {
        return Err(bad(format!(
            "`{}` uses ${{{}}}, which is not set",
            u.key, u.variable
        )));
    }
    let env = env.clone();
    let dir = path.parent().unwrap_or(Path::new("."));
    let template_path = |key: &str, default: &str| -> PathBuf {
        dir.join(
            doc.get("templates")
                .and_then(|t| text(t.get(key)))
                .unwrap_or_else(|| default.to_owned()),
        )
    };
    let env_template = Template::load(&template_path("environment", "cfn/environment.yaml"))?;
    let svc_template = Template::load(&template_path("service", "cfn/service.yaml"))?;
    let region = text(env.get("region"))
        .ok_or_else(|| bad(format!("environments.{environment}: no `region:`")))?;
    let domain = text(env.get("domain")).unwrap_or_default();
    let wait_timeout = duration_input(
        "wait_timeout",
        &text(env.get("wait_timeout")).unwrap_or_else(|| "60m".into()),
    )?;
    let tags: BTreeMap<String, String> = match env.get("tags") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((text(Some(k))?, text(Some(v))?)))
            .collect(),
        _ => BTreeMap::new(),
    };
    let role_arn = text(env.get("role_arn")).filter(|s| !s.is_empty());
    let termination_protection = env
        .get("termination_protection")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let wildcard = env
        .get("wildcard_certificate")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let only_declared = |template: &Template, all: BTreeMap<&str, Option<String>>| {
        all.into_iter()
            .filter(|(k, _)| template.parameters.contains_key(*k))
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect::<BTreeMap<String, String>>()
    };
    let base =
        |service: Option<String>, stack_name: String, template: Template, parameters| StackSpec {
            service,
            stack_name,
            template,
            parameters,
            tags: tags.clone(),
            role_arn: role_arn.clone(),
            termination_protection,
            wait_timeout,
            change_set_timeout: wait_timeout.min(std::time::Duration::from_secs(1800)),
            repository: None,
            image_parameter: None,
        };
    let env_parameters = only_declared(
        &env_template,
        [
            ("HostedZoneId", text(env.get("hosted_zone_id"))),
            ("DomainName", Some(domain.clone())),
            (
                "CognitoDomainPrefix",
                text(env.get("cognito_domain_prefix")),
            ),
            (
                "NatGateways",
                Some(text(env.get("nat_gateways")).unwrap_or_else(|| "2".into())),
            ),
            ("WildcardCertificate", Some(wildcard.to_string())),
        ]
        .into(),
    );
    let mut stacks = vec![base(
        None,
        format!("{application}-{environment}"),
        env_template.clone(),
        env_parameters,
    )];
    let services = match doc.get("services") {
        Some(Value::Mapping(m)) => m.clone(),
        _ => serde_yaml::Mapping::new(),
    };
    let mut taken: Vec<u64> = Vec::new();
    let mut hosts_with_record: Vec<String> = Vec::new();
    let mut names: Vec<String> = services.keys().filter_map(|k| text(Some(k))).collect();
    names.sort();
    for name in names {
        let svc = &services[name.as_str()];
        let host = text(svc.get("host")).unwrap_or_else(|| name.clone());
        let fqdn = if host == "@" {
            domain.clone()
        } else {
            format!("{host}.{domain}")
        };
        let path = text(svc.get("path")).unwrap_or_default();
        let (first, count) = if path.is_empty() {
            (25000u64, 2500u64)
        } else {
            (1u64, 2500u64)
        };
        let mut slot = fnv1a(&format!("{application}/{name}")) % count;
        while taken.contains(&(first + slot * 10)) {
            slot = (slot + 1) % count;
        }
        let priority = first + slot * 10;
        taken.push(priority);
        let create_record = !hosts_with_record.contains(&fqdn) && fqdn != domain;
        if create_record {
            hosts_with_record.push(fqdn.clone());
        }
        let covered = fqdn == domain || (wildcard && host != "@" && !host.contains('.'));
        let scaling = svc.get("scaling");
        let min = scaling
            .and_then(|s| text(s.get("min")))
            .unwrap_or_else(|| "1".into());
        let parameters = only_declared(
            &svc_template,
            [
                ("HostName", Some(fqdn.clone())),
                ("PathPrefix", Some(path.clone())),
                (
                    "Login",
                    Some(text(svc.get("login")).unwrap_or_else(|| "cognito".into())),
                ),
                ("ApiRulePriority", Some(priority.to_string())),
                ("AppRulePriority", Some((priority + 1).to_string())),
                ("CreateDnsRecord", Some(create_record.to_string())),
                ("CreateCertificate", Some((!covered).to_string())),
                (
                    "PermissionsBoundaryArn",
                    text(env.get("permissions_boundary_arn")),
                ),
                ("ContainerPort", text(svc.get("port"))),
                ("HealthCheckPath", text(svc.get("health_path"))),
                (
                    "ContainerHealthCheck",
                    text(svc.get("container_health_check")),
                ),
                ("Cpu", text(svc.get("cpu"))),
                ("Memory", text(svc.get("memory"))),
                ("MinTasks", Some(min.clone())),
                ("MaxTasks", scaling.and_then(|s| text(s.get("max")))),
                ("DesiredCount", Some(min)),
            ]
            .into(),
        );
        let mut stack = base(
            Some(name.clone()),
            format!("{application}-{environment}-{name}"),
            svc_template.clone(),
            parameters,
        );
        if svc_template.parameters.contains_key("ImageUri") {
            stack.image_parameter = Some("ImageUri".into());
            stack.repository = Some(
                text(svc.get("repository")).unwrap_or_else(|| format!("{application}-{name}")),
            );
        }
        stacks.push(stack);
    }
    Ok(ReleaseSpec {
        application,
        environment: environment.to_owned(),
        region,
        stacks,
    })
}
