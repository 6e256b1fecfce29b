//! `deployer bootstrap --environment E` against a local moto: one stack per environment
//! (`github-deploy-E`) with the template parameter `EnvironmentName`, and the
//! environment's variables printed with the `_E` suffix.

use crate::helpers::{Moto, REGION, root};

/// cfn/github-oidc.yaml with an `EnvironmentName` parameter (added here when the
/// template does not have one yet), in a temporary directory.
fn template() -> (tempfile::TempDir, String) {
    let mut text = std::fs::read_to_string(root().join("cfn/github-oidc.yaml")).unwrap();
    if !text.contains("\n  EnvironmentName:") {
        text = text.replacen(
            "\nParameters:\n",
            "\nParameters:\n  EnvironmentName:\n    Type: String\n    Default: production\n\n",
            1,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("github-oidc.yaml");
    std::fs::write(&path, text).unwrap();
    let shown = path.to_str().unwrap().to_owned();
    (dir, shown)
}

#[tokio::test]
async fn an_environment_gets_its_own_stack_and_suffixed_variables() {
    let moto = Moto::start();
    let (_dir, template) = template();
    let args = |extra: &[&str]| -> Vec<String> {
        let mut argv = vec![
            "bootstrap",
            "--environment",
            "staging",
            "--github-repo",
            "octo-org/web-app",
            "--github-owner-id",
            "9919",
            "--github-repo-id",
            "1296269",
            "--template",
            &template,
        ];
        argv.extend_from_slice(extra);
        argv.into_iter().map(str::to_owned).collect()
    };
    let argv = args(&["-y"]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let run = moto.run(&argv).expect_code(0);

    let stacks = moto
        .cloudformation()
        .describe_stacks()
        .stack_name("github-deploy-staging")
        .send()
        .await
        .expect("the stack is github-deploy-staging");
    let stack = &stacks.stacks()[0];
    let parameter = |key: &str| {
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .map(str::to_owned)
    };
    assert_eq!(parameter("EnvironmentName").as_deref(), Some("staging"));
    // The older template's separate GitHub environment follows it (the newer has none).
    assert!(
        matches!(parameter("Environment").as_deref(), None | Some("staging")),
        "{:?}",
        parameter("Environment")
    );
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap()
            .to_owned()
    };

    let set: Vec<(String, String)> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("gh variable set "))
        .map(|l| {
            let argv = shlex::split(l).unwrap();
            (argv[3].clone(), argv[5].clone())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEPLOY_ROLE_ARN_STAGING", output("DeployRoleArn")),
        ("AWS_PLAN_ROLE_ARN_STAGING", output("PlanRoleArn")),
        ("AWS_PREVIEW_ROLE_ARN", output("PreviewRoleArn")),
        ("CFN_ROLE_ARN_STAGING", output("CloudFormationRoleArn")),
        (
            "PERMISSIONS_BOUNDARY_ARN_STAGING",
            output("PermissionsBoundaryArn"),
        ),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect();
    assert_eq!(set, expected, "{}", run.stdout);
    // The GitHub environment restricted to the branch is staging's.
    assert!(
        run.stdout
            .contains("repos/octo-org/web-app/environments/staging/deployment-branch-policies"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("STACK_NAME"), "{}", run.stdout);

    // JSON says which environment; a re-run is a no-op on the same stack.
    let argv = args(&["-y", "--output", "json"]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let json = moto.run(&argv).expect_code(0).json();
    assert_eq!(json["environment"], "staging");
    assert_eq!(json["stack_name"], "github-deploy-staging");
    assert_eq!(
        json["variables"]["AWS_DEPLOY_ROLE_ARN_STAGING"],
        output("DeployRoleArn")
    );

    // EnvironmentName is --environment's to set; a bad name is refused.
    let argv = args(&["--parameter", "EnvironmentName=production"]);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let run = moto.run(&argv).expect_code(64);
    assert!(
        run.stderr.contains("set by --environment"),
        "{}",
        run.stderr
    );
    let run = moto
        .run(&[
            "bootstrap",
            "--environment",
            "Staging",
            "--github-repo",
            "octo-org/web-app",
        ])
        .expect_code(64);
    assert!(
        run.stderr.contains("not an environment name"),
        "{}",
        run.stderr
    );
}

/// The repository's deploy.yaml with every `${VAR}` it reads set, as CI sets them.
fn with_deploy_yaml_variables(mut command: std::process::Command) -> std::process::Command {
    for (name, value) in [
        ("HOSTED_ZONE_ID", "Z0123456789ABCDEFGHIJ"),
        ("NAME", "hello"),
        (
            "CFN_ROLE_ARN_STAGING",
            "arn:aws:iam::123456789012:role/cfn-staging",
        ),
        (
            "CFN_ROLE_ARN_PRODUCTION",
            "arn:aws:iam::123456789012:role/cfn-production",
        ),
        (
            "CFN_ROLE_ARN_PREVIEW",
            "arn:aws:iam::123456789012:role/cfn-preview",
        ),
        (
            "PERMISSIONS_BOUNDARY_ARN_STAGING",
            "arn:aws:iam::123456789012:policy/b-staging",
        ),
        (
            "PERMISSIONS_BOUNDARY_ARN_PRODUCTION",
            "arn:aws:iam::123456789012:policy/b-production",
        ),
        (
            "PERMISSIONS_BOUNDARY_ARN_PREVIEW",
            "arn:aws:iam::123456789012:policy/b-preview",
        ),
    ] {
        command.env(name, value);
    }
    command
}

/// The environment with `previews:` gets a second stack, `github-deploy-preview-pull-requests`
/// (cfn/pull-request-previews.yaml), with the pull-request roles, wired to the first
/// stack's provider and boundary and to its domain and zone from deploy.yaml, and their
/// variables; any other environment neither.
#[tokio::test]
async fn the_preview_environment_gets_the_pull_request_roles_and_only_it() {
    let moto = Moto::start();
    let config = root().join("deploy.yaml");
    let config = config.to_str().unwrap();
    let bootstrap = |environment: &str, extra: &[&str]| {
        let mut argv = vec![
            "bootstrap",
            "--config",
            config,
            "--environment",
            environment,
            "--github-repo",
            "octo-org/web-app",
            "--github-owner-id",
            "9919",
            "--github-repo-id",
            "1296269",
            "-y",
            "--output",
            "json",
        ];
        argv.extend_from_slice(extra);
        with_deploy_yaml_variables(moto.deployer(&argv))
    };
    let preview = crate::helpers::run(bootstrap("preview", &[]))
        .await
        .expect_code(0)
        .json();
    let stacks = moto
        .cloudformation()
        .describe_stacks()
        .stack_name("github-deploy-preview")
        .send()
        .await
        .expect("the stack is github-deploy-preview");
    let stack = &stacks.stacks()[0];
    let parameter = |key: &str| {
        stack
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .map(str::to_owned)
    };
    assert_eq!(parameter("AppStackName").as_deref(), Some("hello-preview"));
    assert_eq!(parameter("PullRequestPreviews"), None);
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("no output {key}"))
            .to_owned()
    };
    assert!(
        !stack
            .outputs()
            .iter()
            .any(|o| o.output_key() == Some("PullRequestRoleArn")),
        "the pull-request roles are in the second stack"
    );
    let second = moto
        .cloudformation()
        .describe_stacks()
        .stack_name("github-deploy-preview-pull-requests")
        .send()
        .await
        .expect("the second stack is github-deploy-preview-pull-requests");
    let second = &second.stacks()[0];
    let second_parameter = |key: &str| {
        second
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .map(str::to_owned)
    };
    let second_output = |key: &str| {
        second
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .unwrap_or_else(|| panic!("no output {key}"))
            .to_owned()
    };
    for (key, value) in [
        ("AppStackName", "hello-preview".to_owned()),
        ("EcrRepositoryPrefix", "hello".to_owned()),
        ("PreviewDomain", "preview.example.com".to_owned()),
        ("HostedZoneId", "Z0123456789ABCDEFGHIJ".to_owned()),
        ("GitHubRepoId", "1296269".to_owned()),
        ("OidcProviderArn", output("OidcProviderArn")),
        ("PermissionsBoundaryArn", output("PermissionsBoundaryArn")),
    ] {
        assert_eq!(second_parameter(key), Some(value), "{key}");
    }
    assert_eq!(
        preview["pull_request_stack_name"],
        "github-deploy-preview-pull-requests"
    );
    let variables = &preview["variables"];
    assert_eq!(
        variables["AWS_PULL_REQUEST_ROLE_ARN"],
        second_output("PullRequestRoleArn")
    );
    // The previews' own service role: pr.yml passes it as CFN_ROLE_ARN_PREVIEW.
    assert_eq!(
        variables["CFN_PULL_REQUEST_ROLE_ARN"],
        second_output("PullRequestServiceRoleArn")
    );
    assert_ne!(
        variables["CFN_PULL_REQUEST_ROLE_ARN"],
        variables["CFN_ROLE_ARN_PREVIEW"]
    );
    assert_eq!(
        variables["AWS_DEPLOY_ROLE_ARN_PREVIEW"],
        output("DeployRoleArn")
    );
    assert!(
        preview["commands"].as_array().unwrap().iter().any(|c| c
            .as_str()
            .unwrap()
            .starts_with("gh variable set AWS_PULL_REQUEST_ROLE_ARN ")),
        "{preview}"
    );

    // The account has the GitHub provider now (one per account).
    let provider = format!("OidcProviderArn={}", output("OidcProviderArn"));
    let staging = crate::helpers::run(bootstrap(
        "staging",
        &[
            "--parameter",
            "CreateOidcProvider=false",
            "--parameter",
            &provider,
        ],
    ))
    .await
    .expect_code(0)
    .json();
    let stacks = moto
        .cloudformation()
        .describe_stacks()
        .stack_name("github-deploy-staging")
        .send()
        .await
        .expect("the stack is github-deploy-staging");
    let stack = &stacks.stacks()[0];
    assert!(
        moto.cloudformation()
            .describe_stacks()
            .stack_name("github-deploy-staging-pull-requests")
            .send()
            .await
            .is_err(),
        "staging has no second stack"
    );
    assert!(
        !stack
            .outputs()
            .iter()
            .any(|o| o.output_key() == Some("PullRequestRoleArn")),
        "staging has no pull-request role"
    );
    let text = staging.to_string();
    assert!(!text.contains("PULL_REQUEST"), "{text}");
}
