//! The stack specs of an environment: names, templates, wiring from the environment
//! stack's outputs, DNS and certificate ownership per host, tags.

use std::collections::BTreeMap;

use super::priorities::allocate;
use super::stacks::{StackSpec, stacks};
use super::tests::{MINIMAL, with_services};
use super::*;

/// The environment outputs and service parameters of the contract (COMMON.md).
const WIRED: [&str; 15] = [
    "VpcId",
    "PrivateSubnetIds",
    "LoadBalancerArn",
    "LoadBalancerFullName",
    "LoadBalancerDnsName",
    "LoadBalancerCanonicalHostedZoneId",
    "HttpsListenerArn",
    "LoadBalancerSecurityGroupId",
    "ClusterName",
    "UserPoolId",
    "UserPoolArn",
    "UserPoolProviderUrl",
    "CognitoDomainPrefix",
    "HostedZoneId",
    "DomainName",
];
const COMPUTED: [&str; 8] = [
    "HostName",
    "PathPrefix",
    "Login",
    "ApiRulePriority",
    "AppRulePriority",
    "CreateDnsRecord",
    "CreateCertificate",
    "PermissionsBoundaryArn",
];
const OWN: [&str; 9] = [
    "ImageUri",
    "ContainerPort",
    "HealthCheckPath",
    "ContainerHealthCheck",
    "Cpu",
    "Memory",
    "MinTasks",
    "MaxTasks",
    "DesiredCount",
];

/// A directory with deploy.yaml (`config`) and the two templates; the service template
/// lacks `leave_out`.
fn world(config: &str, leave_out: &str) -> (tempfile::TempDir, Application) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cfn")).unwrap();
    let mut outputs: Vec<&str> = WIRED.to_vec();
    outputs.extend(["CertificateArn", "EnvironmentUrl"]);
    let environment = format!(
        "Resources:\n  Cluster:\n    Type: AWS::ECS::Cluster\nOutputs:\n{}",
        outputs
            .iter()
            .map(|o| format!("  {o}:\n    Value: !Ref Cluster\n"))
            .collect::<String>()
    );
    std::fs::write(dir.path().join("cfn/environment.yaml"), environment).unwrap();
    let service = format!(
        "Parameters:\n{}Resources:\n  Group:\n    Type: AWS::Logs::LogGroup\n",
        WIRED
            .iter()
            .chain(&COMPUTED)
            .chain(&OWN)
            .filter(|p| **p != leave_out)
            .map(|p| format!("  {p}:\n    Type: String\n"))
            .collect::<String>()
    );
    std::fs::write(dir.path().join("cfn/service.yaml"), service).unwrap();
    let path = dir.path().join("deploy.yaml");
    std::fs::write(&path, config).unwrap();
    let app = load(&path, &|_| None).unwrap();
    (dir, app)
}

fn outputs() -> BTreeMap<String, String> {
    WIRED
        .iter()
        .map(|o| ((*o).to_owned(), format!("value-of-{o}")))
        .collect()
}

fn plan(app: &Application, outputs: &BTreeMap<String, String>) -> Result<Vec<StackSpec>, Failure> {
    let services: Vec<(&str, bool)> = app
        .services
        .values()
        .map(|s| (s.name.as_str(), s.path.is_some()))
        .collect();
    let priorities = allocate(&app.name, &services, &BTreeMap::new())?;
    stacks(app, "staging", outputs, &priorities)
}

/// Four hosts: `app` (web, docs under /docs), `api` (two path services), the domain.
fn hosts() -> String {
    with_services(&[
        ("docs", "app", Some("/docs")),
        ("api2", "api", Some("/v2")),
        ("api1", "api", Some("/v1")),
        ("root", "@", None),
    ])
}

#[test]
fn the_environment_stack_comes_first_with_its_parameters_and_tags() {
    let config = MINIMAL.replace(
        "    region: eu-west-1",
        "    region: eu-west-1\n    nat_gateways: 1\n    wildcard_certificate: true\n    role_arn: arn:aws:iam::123456789012:role/cfn\n    termination_protection: true\n    wait_timeout: 30m\n    tags: { team: web }",
    );
    let (dir, app) = world(&config, "");
    let all = plan(&app, &outputs()).unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.stack_name.as_str()).collect();
    assert_eq!(names, ["shop-staging", "shop-staging-web"]);
    let env = &all[0];
    assert_eq!(env.service, None);
    assert_eq!(env.template, dir.path().join("cfn/environment.yaml"));
    let expected: BTreeMap<String, String> = [
        ("HostedZoneId", "Z0123456789ABCDEFGHIJ"),
        ("DomainName", "staging.example.com"),
        ("CognitoDomainPrefix", "shop-staging-login"),
        ("NatGateways", "1"),
        ("WildcardCertificate", "true"),
        ("SelfSignUp", "false"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(env.parameters, expected);
    assert_eq!(env.tags.len(), 3);
    assert_eq!(env.tags["team"], "web");
    assert_eq!(env.tags["deployer:application"], "shop");
    assert_eq!(env.tags["deployer:environment"], "staging");
    assert_eq!(
        (env.image_parameter.as_deref(), env.repository.as_deref()),
        (None, None)
    );
    assert_eq!(
        env.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/cfn")
    );
    assert!(env.termination_protection);
    assert_eq!(env.wait_timeout.as_secs(), 1800);
    let web = &all[1];
    assert_eq!(web.tags["deployer:service"], "web");
    assert_eq!(web.tags["team"], "web");
    assert_eq!(web.template, dir.path().join("cfn/service.yaml"));
    assert_eq!(web.image_parameter.as_deref(), Some("ImageUri"));
    assert_eq!(web.repository.as_deref(), Some("shop-web"));
    assert_eq!(
        (web.role_arn.clone(), web.termination_protection),
        (env.role_arn.clone(), true)
    );
}

#[test]
fn service_parameters_are_wired_computed_and_its_own() {
    let (_dir, app) = world(
        &MINIMAL.replace("host: app", "host: app\n    container_health_check: none"),
        "",
    );
    let all = plan(&app, &outputs()).unwrap();
    let p = &all[1].parameters;
    for name in WIRED {
        assert_eq!(p[name], format!("value-of-{name}"), "{name}");
    }
    // Environment outputs the service template does not take are not passed.
    assert!(!p.contains_key("CertificateArn") && !p.contains_key("EnvironmentUrl"));
    let get = |k: &str| p[k].as_str();
    assert_eq!(get("HostName"), "app.staging.example.com");
    assert_eq!(get("PathPrefix"), "");
    assert_eq!(get("Login"), "cognito");
    assert!(HOST_PRIORITIES.contains(&get("ApiRulePriority").parse::<u32>().unwrap()));
    assert_eq!(
        get("AppRulePriority").parse::<u32>().unwrap(),
        get("ApiRulePriority").parse::<u32>().unwrap() + 1
    );
    assert_eq!(
        (get("CreateDnsRecord"), get("CreateCertificate")),
        ("true", "true")
    );
    assert_eq!(
        get("PermissionsBoundaryArn"),
        "arn:aws:iam::123456789012:policy/boundary"
    );
    assert_eq!(
        (
            get("ContainerPort"),
            get("HealthCheckPath"),
            get("ContainerHealthCheck")
        ),
        ("8080", "/healthz", "none")
    );
    assert_eq!(
        (get("Cpu"), get("Memory"), get("MinTasks"), get("MaxTasks")),
        ("256", "512", "1", "2")
    );
    // The image and DesiredCount are the engine's (pushed or kept; the template's default).
    assert!(!p.contains_key("ImageUri") && !p.contains_key("DesiredCount"));
    // No container_health_check: the template's default stays.
    let (_dir, app) = world(MINIMAL, "");
    assert!(
        !plan(&app, &outputs()).unwrap()[1]
            .parameters
            .contains_key("ContainerHealthCheck")
    );
}

const HOST_PRIORITIES: std::ops::RangeInclusive<u32> = priorities::HOST_RANGE;

fn by_service(all: &[StackSpec], key: &str) -> BTreeMap<String, String> {
    all.iter()
        .filter_map(|s| Some((s.service.clone()?, s.parameters[key].clone())))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn each_host_has_one_dns_owner_and_a_certificate_only_where_the_environments_does_not_cover_it() {
    let (_dir, app) = world(&hosts(), "");
    let all = plan(&app, &outputs()).unwrap();
    assert_eq!(
        by_service(&all, "HostName"),
        pairs(&[
            ("api1", "api.staging.example.com"),
            ("api2", "api.staging.example.com"),
            ("docs", "app.staging.example.com"),
            ("root", "staging.example.com"),
            ("web", "app.staging.example.com"),
        ])
    );
    assert_eq!(by_service(&all, "PathPrefix")["docs"], "/docs");
    // app: web (no path) owns it; api: the first by name; the domain: the environment stack.
    let owners = pairs(&[
        ("api1", "true"),
        ("api2", "false"),
        ("docs", "false"),
        ("root", "false"),
        ("web", "true"),
    ]);
    assert_eq!(by_service(&all, "CreateDnsRecord"), owners);
    assert_eq!(by_service(&all, "CreateCertificate"), owners);
    // Path services are evaluated first.
    let api = by_service(&all, "ApiRulePriority");
    for (service, path) in [
        ("docs", true),
        ("api1", true),
        ("api2", true),
        ("web", false),
        ("root", false),
    ] {
        let p: u32 = api[service].parse().unwrap();
        assert_eq!(priorities::PATH_RANGE.contains(&p), path, "{service}: {p}");
    }
    // A wildcard certificate covers every host: no service makes one.
    let (_dir, app) = world(
        &hosts().replace(
            "    region: eu-west-1",
            "    region: eu-west-1\n    wildcard_certificate: true",
        ),
        "",
    );
    let all = plan(&app, &outputs()).unwrap();
    assert!(
        by_service(&all, "CreateCertificate")
            .values()
            .all(|v| v == "false")
    );
    assert_eq!(by_service(&all, "CreateDnsRecord"), owners);
}

#[test]
fn a_missing_output_or_template_parameter_is_named() {
    let (_dir, app) = world(MINIMAL, "");
    let mut partial = outputs();
    partial.remove("HttpsListenerArn");
    let e = plan(&app, &partial).unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.message
            .contains("environment stack shop-staging has no output HttpsListenerArn")
            && e.message.contains("deploy the environment first"),
        "{}",
        e.message
    );
    let (_dir, app) = world(MINIMAL, "AppRulePriority");
    let e = plan(&app, &outputs()).unwrap_err();
    assert_eq!(e.exit_code(), 64);
    assert!(
        e.message.contains("has no parameter AppRulePriority"),
        "{}",
        e.message
    );
    // An environment whose variables are unset cannot be planned.
    let (_dir, app) = world(
        &MINIMAL.replace("region: eu-west-1", "region: ${REGION}"),
        "",
    );
    assert!(
        plan(&app, &outputs())
            .unwrap_err()
            .message
            .contains("not set or empty: REGION")
    );
}

#[test]
fn a_host_too_long_for_its_own_certificate_is_refused() {
    let long = format!("{}.example.com", "s".repeat(50));
    let (_dir, app) = world(&MINIMAL.replace("staging.example.com", &long), "");
    let e = plan(&app, &outputs()).unwrap_err();
    assert!(
        e.message.contains("needs its own certificate")
            && e.message.contains("wildcard_certificate: true"),
        "{}",
        e.message
    );
    let wildcard = MINIMAL.replace("staging.example.com", &long).replace(
        "    region: eu-west-1",
        "    region: eu-west-1\n    wildcard_certificate: true",
    );
    let (_dir, app) = world(&wildcard, "");
    plan(&app, &outputs()).unwrap();
}

#[test]
fn only_the_previews_environment_names_its_load_balancer_after_its_stack() {
    let (_staging_dir, plain) = world(MINIMAL, "");
    let staging =
        crate::app::stacks::environment_stack(&plain, &plain.environment("staging").unwrap());
    assert!(!staging.parameters.contains_key("LoadBalancerName"));
    let config = MINIMAL.replace(
        "services:\n",
        "  preview:\n    region: eu-west-1\n    domain: preview.example.com\n    hosted_zone_id: Z0123456789ABCDEFGHIJ\n    cognito_domain_prefix: shop-preview-login\n    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary\n    previews: {}\nservices:\n",
    );
    let (_dir, app) = world(&config, "");
    let preview = crate::app::stacks::environment_stack(&app, &app.environment("preview").unwrap());
    assert_eq!(preview.parameters["LoadBalancerName"], "shop-preview");
    assert_eq!(preview.stack_name, "shop-preview");
}
