//! The single-stack deploy.yaml (the repository's own before version 2, now
//! `deployer/tests/fixtures/deploy-v1.yaml`, whose template is now cfn/environment.yaml)
//! through the real binary: its `production` environment is what CI deployed, filled
//! from the variables CI passed; a missing one stops before any AWS call, naming it.

use crate::helpers::{Moto, closed_port_endpoint, deployer_at, fixture};

/// Runs `deployer deploy --config deploy.yaml --environment ENV …` aimed at `endpoint`
/// with extra environment variables.
fn deploy_from_config(
    endpoint: &str,
    environment: &str,
    vars: &[(&str, &str)],
    extra: &[&str],
) -> crate::helpers::Run {
    let config = fixture("deploy-v1.yaml");
    let mut argv = vec![
        "deploy",
        "--config",
        config.to_str().unwrap(),
        "--environment",
        environment,
    ];
    argv.extend_from_slice(extra);
    let mut cmd = deployer_at(endpoint, &argv);
    cmd.envs(vars.iter().copied());
    crate::helpers::Run::from(cmd.output().expect("running deployer"))
}

#[tokio::test]
async fn the_production_environment_previews_on_moto_with_the_ci_variables() {
    let moto = Moto::start();
    let zone = moto.boto3(
        "import boto3; z = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='config-env'); print(z['HostedZone']['Id'].split('/')[-1])",
    );
    let role = "arn:aws:iam::123456789012:role/github-deploy-CloudFormationRole-TEST";
    // AWS_REGION is set by the helper (us-east-1), as configure-aws-credentials does.
    let vars = [
        ("STACK_NAME", "web-prod"),
        ("ECR_REPOSITORY", "web"),
        ("CFN_ROLE_ARN", role),
        ("HOSTED_ZONE_ID", zone.as_str()),
        ("DOMAIN_NAME", "app.example.com"),
        ("COGNITO_DOMAIN_PREFIX", "web-prod-login"),
    ];
    let run = deploy_from_config(
        &moto.endpoint,
        "production",
        &vars,
        &["--dry-run", "--output", "json"],
    )
    .expect_code(0);
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["stack_name"], "web-prod");
    assert_eq!(report["has_changes"], true);
    assert_eq!(report["executed"], false);
    assert_eq!(
        report["capabilities"],
        serde_json::json!(["CAPABILITY_IAM"])
    );
    let parameters: Vec<(String, String)> = report["parameter_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["new"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for wanted in [
        ("HostedZoneId", zone.as_str()),
        ("DomainName", "app.example.com"),
        ("CognitoDomainPrefix", "web-prod-login"),
        ("NatGateways", "2"),
    ] {
        assert!(
            parameters.contains(&(wanted.0.to_owned(), wanted.1.to_owned())),
            "{wanted:?} in {parameters:?}"
        );
    }
    // A dry run of a new stack leaves nothing behind.
    assert!(
        moto.cloudformation()
            .describe_stacks()
            .stack_name("web-prod")
            .send()
            .await
            .is_err()
    );
}

#[test]
fn a_missing_ci_variable_stops_before_any_aws_call_naming_it() {
    // Nothing listens there: exit 64 (not 1) proves no AWS call was needed.
    let endpoint = closed_port_endpoint();
    let run = deploy_from_config(
        &endpoint,
        "production",
        &[("STACK_NAME", "web-prod"), ("ECR_REPOSITORY", "")],
        &["--dry-run"],
    )
    .expect_code(64);
    assert!(
        run.stderr.contains("environment `production`")
            && run
                .stderr
                .contains("not set or empty: ECR_REPOSITORY (used by `repository`), CFN_ROLE_ARN (used by `role_arn`)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("STACK_NAME"), "{}", run.stderr);
}

#[test]
fn a_config_region_other_than_aws_region_is_used_with_a_warning() {
    // staging says eu-west-1; the helper sets AWS_REGION=us-east-1.
    let endpoint = closed_port_endpoint();
    let run = deploy_from_config(&endpoint, "staging", &[], &["--dry-run"]);
    assert!(
        run.stderr.contains(
            "warning: deploy.yaml environment `staging` sets region eu-west-1, but AWS_REGION is us-east-1: deploying to eu-west-1"
        ),
        "{}",
        run.stderr
    );
    let run = deploy_from_config(
        &endpoint,
        "staging",
        &[],
        &["--dry-run", "--region", "us-east-1"],
    );
    assert!(
        !run.stderr.contains("warning: deploy.yaml"),
        "{}",
        run.stderr
    );
}
