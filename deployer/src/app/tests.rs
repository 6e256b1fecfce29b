//! deploy.yaml version 2: the repository's own file and the README's examples parse,
//! and every kind of mistake is refused with its place.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;

/// A lookup from a fixed list.
pub(crate) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn none(_: &str) -> Option<String> {
    None
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A minimal valid file; tests replace parts of it.
pub(super) const MINIMAL: &str = "\
version: 2
application: shop
environments:
  staging:
    region: eu-west-1
    domain: staging.example.com
    hosted_zone_id: Z0123456789ABCDEFGHIJ
    cognito_domain_prefix: shop-staging-login
    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary
services:
  web:
    image: { context: . }
    port: 8080
    health_path: /healthz
    host: app
    login: cognito
    cpu: 256
    memory: 512
    scaling: { min: 1, max: 2 }
";

fn parse_text(text: &str) -> Result<Application, Failure> {
    parse(text, Path::new("/repo/deploy.yaml"), &none)
}

/// The error message for `text`, which must be refused as bad input.
fn refused(text: &str) -> String {
    let e = parse_text(text).expect_err("refused");
    assert_eq!(e.exit_code(), 64, "{}", e.message);
    e.message
}

fn assert_has(message: &str, part: &str) {
    assert!(message.contains(part), "{part:?} not in: {message}");
}

/// The repository variables CI sets for the repository's deploy.yaml.
pub(crate) const CI: [(&str, &str); 8] = [
    ("AWS_REGION", "eu-central-1"),
    ("HOSTED_ZONE_ID", "Z0123456789ABCDEFGHIJ"),
    (
        "PERMISSIONS_BOUNDARY_ARN_STAGING",
        "arn:aws:iam::111111111111:policy/github-deploy-staging-boundary",
    ),
    (
        "CFN_ROLE_ARN_STAGING",
        "arn:aws:iam::111111111111:role/github-deploy-staging-cfn",
    ),
    (
        "PERMISSIONS_BOUNDARY_ARN_PRODUCTION",
        "arn:aws:iam::111111111111:policy/github-deploy-production-boundary",
    ),
    (
        "CFN_ROLE_ARN_PRODUCTION",
        "arn:aws:iam::111111111111:role/github-deploy-production-cfn",
    ),
    (
        "PERMISSIONS_BOUNDARY_ARN_PREVIEW",
        "arn:aws:iam::111111111111:policy/github-deploy-preview-boundary",
    ),
    (
        "CFN_ROLE_ARN_PREVIEW",
        "arn:aws:iam::111111111111:role/github-deploy-preview-cfn",
    ),
];

#[test]
fn the_repository_deploy_yaml_is_the_sample_application() {
    let path = root().join("deploy.yaml");
    assert_eq!(crate::config::format_version(&path).unwrap(), 2);
    let app = load(&path, &vars(&CI)).unwrap();
    assert_eq!(app.name, "hello");
    assert_eq!(
        app.environment_names().collect::<Vec<_>>(),
        ["preview", "production", "staging"]
    );
    let preview = app.environment("preview").unwrap();
    assert_eq!(app.preview_environment(), Some("preview"));
    assert_eq!(
        preview.previews,
        Some(Previews {
            max: 10,
            max_age: std::time::Duration::from_secs(7 * 86_400)
        })
    );
    assert!(preview.wildcard_certificate && !preview.approval);
    assert_eq!(preview.cognito_domain_prefix, "hello-preview-login");
    assert_eq!(preview.role_arn.as_deref(), Some(CI[7].1));
    assert_eq!(app.environment("staging").unwrap().previews, None);
    let staging = app.environment("staging").unwrap();
    assert_eq!(staging.promotes_to.as_deref(), Some("production"));
    assert!(!staging.approval);
    assert_eq!(staging.nat_gateways, 1);
    assert_eq!(staging.region, "eu-central-1");
    assert_eq!(staging.role_arn.as_deref(), Some(CI[3].1));
    let production = app.environment("production").unwrap();
    assert!(production.approval && production.termination_protection);
    assert_eq!(
        (production.domain.as_str(), production.nat_gateways),
        ("example.com", 2)
    );
    assert_eq!(production.wait_timeout.as_secs(), 3600);
    let web = &app.services["web"];
    assert_eq!((web.host.as_str(), web.login), ("app", Login::Cognito));
    assert_eq!(web.image.dockerfile, root().join("service/Dockerfile"));
    let public = &app.services["public"];
    assert_eq!((public.host.as_str(), public.login), ("www", Login::None));
    assert_eq!(public.image, web.image);
    assert_eq!(
        app.templates.environment,
        root().join("cfn/environment.yaml")
    );
    assert_eq!(app.templates.service, root().join("cfn/service.yaml"));
}

#[test]
fn an_unset_variable_is_named_only_for_the_environment_asked_for() {
    let path = root().join("deploy.yaml");
    // Only staging's variables: staging works, production names every missing one.
    let staging_only: Vec<_> = CI
        .iter()
        .copied()
        .filter(|(k, _)| !k.ends_with("_PRODUCTION") && !k.ends_with("_PREVIEW"))
        .collect();
    let app = load(&path, &vars(&staging_only)).unwrap();
    app.environment("staging").unwrap();
    let e = app.environment("production").unwrap_err();
    assert_eq!(e.exit_code(), 64);
    assert_has(
        &e.message,
        "environment `production`: not set or empty: PERMISSIONS_BOUNDARY_ARN_PRODUCTION (used by `environments.production.permissions_boundary_arn`)",
    );
    assert_has(
        &e.message,
        "CFN_ROLE_ARN_PRODUCTION (used by `environments.production.role_arn`)",
    );
    assert_has(&e.message, "export PERMISSIONS_BOUNDARY_ARN_PRODUCTION=…");
    let e = app.environment("prod").unwrap_err();
    assert_has(&e.message, "environment `prod` is not in");
    assert_has(&e.message, "it has: preview, production, staging");
    // A bad value from a variable is refused when that environment is asked for, with its place.
    let mut bad = CI.to_vec();
    bad[0] = ("AWS_REGION", "eu central 1");
    let app = load(&path, &vars(&bad)).unwrap();
    assert_has(
        &app.environment("staging").unwrap_err().message,
        "environments.staging.region: `eu central 1`",
    );
}

/// Every ```yaml block of README.md whose first line is `version: 2`, and the repository's
/// deploy.yaml, parse.
#[test]
fn every_version_2_example_in_the_readme_parses() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = vec![(
        "deploy.yaml".to_owned(),
        std::fs::read_to_string(root().join("deploy.yaml")).unwrap(),
    )];
    let mut lines = readme.lines().enumerate();
    while let Some((at, line)) = lines.next() {
        if line.trim_start().starts_with("```yaml") {
            let indent = line.len() - line.trim_start().len();
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, l)| l)
                .take_while(|l| !l.trim_start().starts_with("```"))
                .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
                .collect();
            if body
                .first()
                .is_some_and(|first| first.trim() == "version: 2")
            {
                blocks.push((format!("README.md line {}", at + 1), body.join("\n")));
            }
        }
    }
    assert!(!blocks.is_empty());
    for (place, text) in &blocks {
        if let Err(e) = parse(text, &root().join("deploy.yaml"), &none) {
            panic!("{place}: {}", e.message);
        }
    }
}

#[test]
fn the_minimal_file_parses_with_its_defaults() {
    let app = parse_text(MINIMAL).unwrap();
    let env = app.environment("staging").unwrap();
    assert_eq!(env.nat_gateways, 2);
    assert!(
        env.approval
            && !env.wildcard_certificate
            && !env.termination_protection
            && !env.self_sign_up
    );
    assert_eq!(env.wait_timeout.as_secs(), 3600);
    assert_eq!(env.role_arn, None);
    let web = &app.services["web"];
    assert_eq!(web.repository, "shop-web");
    assert_eq!(web.image.context, Path::new("/repo/."));
    assert_eq!(web.image.dockerfile, Path::new("/repo/./Dockerfile"));
    assert_eq!(web.container_health_check, None);
    assert_eq!(app.environment_stack("staging"), "shop-staging");
    assert_eq!(app.service_stack("staging", "web"), "shop-staging-web");
    let custom = MINIMAL.replace(
        "environments:",
        "templates: { service: infra/svc.yaml }\nenvironments:",
    );
    let app = parse_text(&custom).unwrap();
    assert_eq!(app.templates.service, Path::new("/repo/infra/svc.yaml"));
    assert_eq!(
        app.templates.environment,
        Path::new("/repo/cfn/environment.yaml")
    );
}

#[test]
fn unknown_keys_are_refused_with_their_place() {
    let m = refused(&MINIMAL.replace("{ min: 1, max: 2 }", "{ min: 1, mxa: 2 }"));
    assert_has(
        &m,
        "services.web.scaling.mxa: unknown key; expected one of min, max",
    );
    assert_has(&m, "config file /repo/deploy.yaml: ");
    let m = refused(&MINIMAL.replace("    region: eu-west-1", "    regoin: eu-west-1"));
    assert_has(
        &m,
        "environments.staging.regoin: unknown key; expected one of region, domain,",
    );
    let m = refused(&format!("{MINIMAL}extra: 1\n"));
    assert_has(
        &m,
        "extra: unknown key; expected one of version, application, templates, environments, services",
    );
    let m = refused(&MINIMAL.replace("{ context: . }", "{ context: ., file: x }"));
    assert_has(
        &m,
        "services.web.image.file: unknown key; expected one of dockerfile, context",
    );
}

#[test]
fn wrong_types_and_missing_keys_are_refused_with_their_place() {
    assert_has(
        &refused(&MINIMAL.replace("port: 8080", "port: [8080]")),
        "services.web.port: expected a whole number from 1 to 65535, found a list",
    );
    assert_has(
        &refused(&MINIMAL.replace("port: 8080", "port: 0")),
        "services.web.port: 0 is out of range; expected 1 to 65535",
    );
    assert_has(
        &refused(&MINIMAL.replace("port: 8080", "port: 65536")),
        "services.web.port: 65536 is out of range",
    );
    assert_has(
        &refused(&MINIMAL.replace("host: app", "host: { a: 1 }")),
        "services.web.host: expected text, found a mapping",
    );
    assert_has(
        &refused(&MINIMAL.replace("    port: 8080\n", "")),
        "services.web.port: missing (required)",
    );
    assert_has(
        &refused(&MINIMAL.replace("    image: { context: . }\n", "")),
        "services.web.image: missing (required)",
    );
    assert_has(
        &refused(&MINIMAL.replace("    domain: staging.example.com\n", "")),
        "environments.staging.domain: missing (required)",
    );
    assert_has(
        &refused(&MINIMAL.replace("application: shop\n", "")),
        "application: missing (required)",
    );
    let m = refused(&MINIMAL.replace("    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n", "    approval: sometimes\n    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n"));
    assert_has(
        &m,
        "environments.staging.approval: expected true or false, found \"sometimes\"",
    );
    assert_has(
        &refused(&MINIMAL.replace("services:\n", "services: []\nx:\n")),
        "unknown key",
    );
    assert_has(
        &refused(&format!(
            "{}services: {{}}\n",
            &MINIMAL[..MINIMAL.find("services:").unwrap()]
        )),
        "services: missing (required); define at least one service",
    );
    assert_has(&refused("version: 2\n"), "application: missing");
    assert_has(&refused("- a\n"), "(top level): expected a mapping");
    assert_has(
        &refused("version: 2\napplication: [x\n"),
        "is not valid YAML",
    );
}

#[test]
fn versions_other_than_2_are_refused_naming_the_ones_there_are() {
    let m = refused(&MINIMAL.replace("version: 2", "version: 3"));
    assert_has(
        &m,
        "version: 3 is not a deploy.yaml version this deployer reads; it reads version 2",
    );
    assert_has(&m, "single-stack format (no `version:` key)");
    assert_has(
        &refused(&MINIMAL.replace("version: 2\n", "")),
        "version: (none)",
    );
    use crate::config::format_version_of;
    assert_eq!(format_version_of("environments: {}\n"), Ok(1));
    assert_eq!(format_version_of(MINIMAL), Ok(2));
    assert!(
        format_version_of("version: 3\n")
            .unwrap_err()
            .contains("reads version 2")
    );
    assert!(
        format_version_of("version: 1\n")
            .unwrap_err()
            .contains("remove it")
    );
    assert!(
        format_version_of("version: two\n")
            .unwrap_err()
            .contains("version: two is not")
    );
    assert_eq!(
        crate::config::format_version(&root().join("deployer/tests/fixtures/deploy-v1.yaml"))
            .unwrap(),
        1
    );
}

#[test]
fn names_must_make_valid_unique_stack_names() {
    assert_has(
        &refused(&MINIMAL.replace("application: shop", "application: Shop")),
        "application: `Shop` is not a valid name",
    );
    assert_has(
        &refused(&MINIMAL.replace(
            "application: shop",
            &format!("application: {}", "a".repeat(25)),
        )),
        "at most 24 characters",
    );
    assert_has(
        &refused(&MINIMAL.replace("  staging:", "  Staging_1:")),
        "environments.Staging_1: `Staging_1` is not a valid name",
    );
    assert_has(
        &refused(&MINIMAL.replace("  web:", "  web-:")),
        "services.web-: `web-` is not a valid name",
    );
    let long = MINIMAL.replace("  web:", &format!("  {}:", "w".repeat(120)));
    assert_has(
        &refused(&long),
        "is 133 characters; CloudFormation allows 128",
    );
    // Environment `staging` + service `a-web` and environment `staging-a` + service `web`.
    let env = &MINIMAL[MINIMAL.find("  staging:").unwrap()..MINIMAL.find("services:").unwrap()];
    let clash = MINIMAL
        .replace("services:", &format!("{}services:", env.replace("  staging:", "  staging-a:")))
        .replace("services:\n  web:", "services:\n  a-web:\n    image: { context: . }\n    port: 8080\n    health_path: /healthz\n    host: x\n    login: none\n    cpu: 256\n    memory: 512\n    scaling: { min: 1, max: 1 }\n  web:");
    // Every such clash needs one environment named like another plus `-…`, which is
    // refused first (the roles of one would reach the other's stacks).
    assert_has(&refused(&clash), "`staging-a` starts with `staging-`");
}

#[test]
fn promotions_name_an_environment_and_never_go_round() {
    let env = &MINIMAL[MINIMAL.find("  staging:").unwrap()..MINIMAL.find("services:").unwrap()];
    let with = |a: &str, b: &str| {
        let staging = format!("{env}    promotes_to: {a}\n");
        let production = format!(
            "{}    promotes_to: {b}\n",
            env.replace("  staging:", "  production:")
        );
        MINIMAL.replace(env, &format!("{staging}{production}"))
    };
    let ok = MINIMAL.replace(
        env,
        &format!(
            "{env}    promotes_to: production\n{}",
            env.replace("  staging:", "  production:")
        ),
    );
    let app = parse_text(&ok).unwrap();
    assert_eq!(
        app.environment("staging").unwrap().promotes_to.as_deref(),
        Some("production")
    );
    assert_has(
        &refused(&with("prod", "staging")),
        "environments.staging.promotes_to: `prod` is not an environment; the environments are production, staging",
    );
    let m = refused(&with("production", "staging"));
    assert_has(
        &m,
        "environments.production.promotes_to: promotions go round in a circle (production → staging → production)",
    );
    assert_has(&refused(&with("staging", "staging")), "circle");
    assert_has(
        &refused(&with("${NEXT}", "staging")),
        "promotes_to: `${…}` is not allowed here",
    );
}

#[test]
fn service_values_are_checked() {
    let cases = [
        (
            "host: app",
            "host: App",
            "services.web.host: `App` is not a host label",
        ),
        (
            "host: app",
            "host: a.b",
            "services.web.host: `a.b` is not a host label",
        ),
        (
            "host: app",
            "host: app\n    path: /docs/",
            "services.web.path: `/docs/` is not a path prefix",
        ),
        (
            "host: app",
            "host: app\n    path: /docs/*",
            "services.web.path: `/docs/*` is not a path prefix",
        ),
        (
            "login: cognito",
            "login: oidc",
            "services.web.login: `oidc` is not a login",
        ),
        (
            "memory: 512",
            "memory: 4096",
            "services.web.memory: memory 4096 does not fit cpu 256 on Fargate; with cpu 256 use one of 512, 1024, 2048",
        ),
        (
            "cpu: 256",
            "cpu: 300",
            "services.web.cpu: 300 is not a Fargate CPU size",
        ),
        (
            "{ min: 1, max: 2 }",
            "{ min: 3, max: 2 }",
            "services.web.scaling: min 3 is more than max 2",
        ),
        (
            "{ min: 1, max: 2 }",
            "{ min: 0, max: 2 }",
            "services.web.scaling.min: 0 is out of range; expected 1 to 100",
        ),
        (
            "health_path: /healthz",
            "health_path: healthz",
            "services.web.health_path: `healthz` is not a URL path",
        ),
        (
            "host: app",
            "host: app\n    container_health_check: service --healthcheck",
            "services.web.container_health_check: `service --healthcheck` is not a health check command",
        ),
        (
            "host: app",
            "host: app\n    repository: Shop",
            "services.web.repository: `Shop` is not an ECR repository name",
        ),
        (
            "{ context: . }",
            "{ context: '${CTX}' }",
            "services.web.image.context: `${…}` is expanded only under `environments:`",
        ),
        (
            "application: shop",
            "application: shop\ntemplates: { service: '${T}' }",
            "templates.service: `${…}` is expanded only under `environments:`",
        ),
    ];
    for (from, to, expected) in cases {
        assert_has(&refused(&MINIMAL.replace(from, to)), expected);
    }
}

#[test]
fn environment_values_are_checked_even_in_environments_not_deployed() {
    let cases = [
        (
            "region: eu-west-1",
            "region: europe",
            "environments.staging.region: `europe` is not an AWS region name",
        ),
        (
            "hosted_zone_id: Z0123456789ABCDEFGHIJ",
            "hosted_zone_id: /hostedzone/Z1",
            "environments.staging.hosted_zone_id:",
        ),
        (
            "cognito_domain_prefix: shop-staging-login",
            "cognito_domain_prefix: shop-cognito",
            "contains `cognito`",
        ),
        (
            "policy/boundary",
            "role/boundary",
            "environments.staging.permissions_boundary_arn: `arn:aws:iam::123456789012:role/boundary` is not an IAM policy ARN",
        ),
        (
            "region: eu-west-1",
            "region: eu-west-1\n    nat_gateways: 3",
            "environments.staging.nat_gateways: 3 is out of range; expected 1 to 2",
        ),
        (
            "region: eu-west-1",
            "region: eu-west-1\n    wait_timeout: soon",
            "environments.staging.wait_timeout: `soon` is not a duration",
        ),
        (
            "region: eu-west-1",
            "region: eu-west-1\n    tags: { 'deployer:service': x }",
            "tags.deployer:service: tag keys starting with `aws:` or `deployer:` are reserved",
        ),
        (
            "region: eu-west-1",
            "region: eu-west-1\n    tags: [a]",
            "environments.staging.tags: expected a mapping",
        ),
        (
            "region: eu-west-1",
            "region: eu-west-1\n    role_arn: arn:aws:iam::123456789012:user/x",
            "environments.staging.role_arn:",
        ),
    ];
    for (from, to, expected) in cases {
        assert_has(&refused(&MINIMAL.replace(from, to)), expected);
    }
    // `${VAR}` values are checked once expanded; keys and literal values of every
    // environment are checked at load.
    let deferred = MINIMAL.replace(
        "region: eu-west-1",
        "region: ${REGION}\n    nat_gateways: ${NAT}",
    );
    let app = parse_text(&deferred).unwrap();
    assert_has(
        &app.environment("staging").unwrap_err().message,
        "not set or empty: REGION (used by `environments.staging.region`), NAT",
    );
    let app = parse(
        &deferred,
        Path::new("/repo/deploy.yaml"),
        &vars(&[("REGION", "eu-west-1"), ("NAT", "3")]),
    )
    .unwrap();
    assert_has(
        &app.environment("staging").unwrap_err().message,
        "environments.staging.nat_gateways: 3 is out of range",
    );
    let app = parse(
        &deferred,
        Path::new("/repo/deploy.yaml"),
        &vars(&[("REGION", "eu-west-1"), ("NAT", "1")]),
    )
    .unwrap();
    assert_eq!(app.environment("staging").unwrap().nat_gateways, 1);
    assert_has(
        &refused(&deferred.replace("nat_gateways: ${NAT}", "nat_gateways: [1]")),
        "environments.staging.nat_gateways: expected a whole number",
    );
}

fn service(name: &str, host: &str, path: Option<&str>) -> String {
    format!(
        "  {name}:\n    image: {{ context: . }}\n    port: 8080\n    health_path: /healthz\n    host: '{host}'\n{}    login: none\n    cpu: 256\n    memory: 512\n    scaling: {{ min: 1, max: 1 }}\n",
        path.map(|p| format!("    path: {p}\n")).unwrap_or_default()
    )
}

/// MINIMAL plus more services.
pub(super) fn with_services(extra: &[(&str, &str, Option<&str>)]) -> String {
    let mut text = MINIMAL.to_owned();
    for (name, host, path) in extra {
        text.push_str(&service(name, host, *path));
    }
    text
}

#[test]
fn routes_are_unique_and_path_prefixes_on_a_host_are_not_nested() {
    parse_text(&with_services(&[
        ("docs", "app", Some("/docs")),
        ("api", "app", Some("/api-v2")),
        ("root", "@", None),
        ("home", "@", Some("/docs")),
    ]))
    .unwrap();
    let m = refused(&with_services(&[("other", "app", None)]));
    assert_has(
        &m,
        "services.web.host: services `other` and `web` both answer host `app` with no path",
    );
    let m = refused(&with_services(&[
        ("a", "app", Some("/docs")),
        ("b", "app", Some("/docs")),
    ]));
    assert_has(
        &m,
        "services.b.path: services `a` and `b` both answer `app/docs`",
    );
    let m = refused(&with_services(&[
        ("a", "app", Some("/docs")),
        ("b", "app", Some("/docs/v2")),
    ]));
    assert_has(
        &m,
        "services.b.path: `/docs/v2` and `/docs` (service `a`) are nested on host `app`",
    );
    parse_text(&with_services(&[
        ("a", "app", Some("/docs")),
        ("b", "app", Some("/docsv2")),
    ]))
    .unwrap();
}

#[test]
fn an_environment_named_like_another_plus_a_dash_is_refused() {
    let text = "version: 2\napplication: hello\nenvironments:\n  staging: {region: eu-west-1, domain: s.example.com, hosted_zone_id: Z1, cognito_domain_prefix: a, permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/b'}\n  staging-eu: {region: eu-west-1, domain: e.example.com, hosted_zone_id: Z1, cognito_domain_prefix: b, permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/b'}\nservices:\n  web: {image: {context: .}, port: 8080, health_path: /healthz, host: app, login: cognito, cpu: 256, memory: 512, scaling: {min: 1, max: 2}}\n";
    let e = parse(text, Path::new("/repo/deploy.yaml"), &|_| None).unwrap_err();
    assert_has(&e.message, "`staging-eu` starts with `staging-`");
}

/// MINIMAL with a second environment `preview` carrying `previews:` (its lines given).
fn with_previews(previews: &str) -> String {
    MINIMAL.replace(
        "services:\n",
        &format!(
            "  preview:\n    region: eu-west-1\n    domain: preview.example.com\n    hosted_zone_id: Z0123456789ABCDEFGHIJ\n    cognito_domain_prefix: shop-preview-login\n    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n{previews}services:\n"
        ),
    )
}

#[test]
fn previews_take_their_defaults_and_imply_the_wildcard_certificate() {
    let app = parse_text(&with_previews("    previews: {}\n")).unwrap();
    let env = app.environment("preview").unwrap();
    assert_eq!(
        env.previews,
        Some(Previews {
            max: 10,
            max_age: std::time::Duration::from_secs(7 * 86_400)
        })
    );
    assert!(env.wildcard_certificate);
    assert_eq!(app.preview_environment(), Some("preview"));
    let app = parse_text(&with_previews(
        "    wildcard_certificate: true\n    previews: { max: 3, max_age: 36h }\n",
    ))
    .unwrap();
    let env = app.environment("preview").unwrap();
    assert_eq!(env.previews.unwrap().max, 3);
    assert_eq!(env.previews.unwrap().max_age.as_secs(), 36 * 3600);
    assert_eq!(parse_text(MINIMAL).unwrap().preview_environment(), None);
    // promote and rollback are pointed at `deployer preview`.
    let e = app.refuse_previews("preview", "promote").unwrap_err();
    assert_eq!(e.exit_code(), 64);
    assert_has(&e.message, "deployer preview up --pr N");
    app.refuse_previews("staging", "promote").unwrap();
}

#[test]
fn preview_rules_are_refused_with_their_place() {
    for (previews, place) in [
        (
            "    previews: { max: 0 }\n",
            "environments.preview.previews.max: 0 is out of range; expected 1 to 100",
        ),
        (
            "    previews: { max: 101 }\n",
            "environments.preview.previews.max: 101 is out of range",
        ),
        (
            "    previews: { max_age: soon }\n",
            "environments.preview.previews.max_age:",
        ),
        (
            "    previews: { mxa: 3 }\n",
            "environments.preview.previews.mxa: unknown key; expected one of max, max_age",
        ),
        (
            "    wildcard_certificate: false\n    previews: {}\n",
            "environments.preview.wildcard_certificate: an environment with `previews:` needs its wildcard certificate",
        ),
        (
            "    promotes_to: staging\n    previews: {}\n",
            "environments.preview.promotes_to: an environment with `previews:` hosts only pull-request previews",
        ),
    ] {
        assert_has(&refused(&with_previews(previews)), place);
    }
    // Only one environment hosts previews.
    let two = with_previews("    previews: {}\n").replace(
        "    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n  preview:",
        "    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n    previews: {}\n  preview:",
    );
    assert_has(
        &refused(&two),
        "environments.preview.previews: environment `staging` already hosts the previews; only one",
    );
    // No environment promotes to it.
    let to = with_previews("    previews: {}\n").replace(
        "    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n  preview:",
        "    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n    promotes_to: preview\n  preview:",
    );
    assert_has(
        &refused(&to),
        "environments.staging.promotes_to: `preview` hosts pull-request previews",
    );
}

#[test]
fn pr_service_names_are_reserved_and_preview_host_labels_must_fit() {
    assert_has(
        &refused(&with_services(&[("pr-web", "www", None)])),
        "services.pr-web: service names starting with `pr-` are reserved",
    );
    // With several services a preview host is `pr-N-{service}`: 10 + 53 characters fit.
    let fits = "s".repeat(53);
    parse_text(&with_previews("    previews: {}\n").replace("  web:\n", &format!("  {fits}:\n    image: {{ context: . }}\n    port: 8080\n    health_path: /healthz\n    host: www\n    login: none\n    cpu: 256\n    memory: 512\n    scaling: {{ min: 1, max: 1 }}\n  web:\n"))).unwrap();
    let long = "s".repeat(54);
    let m = refused(&with_previews("    previews: {}\n").replace("  web:\n", &format!("  {long}:\n    image: {{ context: . }}\n    port: 8080\n    health_path: /healthz\n    host: www\n    login: none\n    cpu: 256\n    memory: 512\n    scaling: {{ min: 1, max: 1 }}\n  web:\n")));
    assert_has(
        &m,
        &format!("services.{long}: its preview host label `pr-999999-{long}`"),
    );
    assert_has(&m, "is 64 characters; a DNS label takes at most 63");
    // Without a preview environment nothing limits it.
    parse_text(&with_services(&[(&long, "www", None)])).unwrap();
}

#[test]
fn repositories_ending_in_preview_are_reserved_for_previews() {
    // Service `web-preview`'s default repository would be `shop-web-preview`: where
    // service `web`'s previews push, which pull requests may write to.
    assert_has(
        &refused(&with_services(&[("web-preview", "www", None)])),
        "services.web-preview: its default repository `shop-web-preview`",
    );
    let named = with_services(&[("docs", "www", None)]).replace(
        "  docs:\n    image: { context: . }\n",
        "  docs:\n    image: { context: . }\n    repository: shared-preview\n",
    );
    assert_has(
        &refused(&named),
        "services.docs.repository: `shared-preview` ends in `-preview`, which is reserved",
    );
}

#[test]
fn the_preview_environments_stack_name_must_be_a_load_balancer_name() {
    // `shop-preview` (12) fits; the previews' service role is scoped to that ALB name.
    parse_text(&with_previews("    previews: {}\n")).unwrap();
    // 32 characters fit (24 + `-preview`), 33 do not (24 + `-previewx`).
    let app = format!("application: {}\n", "a".repeat(24));
    let fits = with_previews("    previews: {}\n").replace("application: shop\n", &app);
    parse_text(&fits).unwrap();
    let long = fits.replace("  preview:\n", "  previewx:\n");
    let m = refused(&long);
    assert_has(
        &m,
        "environments.previewx.previews: the environment's load balancer is named after its stack",
    );
    assert_has(&m, "(33 characters), which must be at most 32");
    // Without previews the same names are fine (a generated load balancer name).
    parse_text(&long.replace("    previews: {}\n", "")).unwrap();
}
