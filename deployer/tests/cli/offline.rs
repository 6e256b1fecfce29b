//! The checks before any change set, with the real binary: the exit-code contract,
//! every offline problem reported at once, GitHub annotations for early failures, and
//! the template-driven pre-flight checks against the deployed stack and the hosted zone
//! (on moto).

use crate::helpers::{Moto, Run, closed_port_endpoint, deployer_at, fixture, root};

/// Runs the deployer against an endpoint nothing listens on: any AWS call would fail
/// with exit 1, so exit 64 proves the problem was found before one.
fn offline(args: &[&str]) -> Run {
    Run::from(
        deployer_at(&closed_port_endpoint(), args)
            .output()
            .expect("running deployer"),
    )
}

#[test]
fn usage_errors_exit_64_and_help_documents_the_exit_codes() {
    // clap's own usage errors (clap would exit 2, which means "changes pending").
    let run = offline(&["deploy", "--no-such-flag"]).expect_code(64);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    offline(&["deploy", "--detailed-exitcode", "--stack-name", "x"]).expect_code(64);
    offline(&["no-such-command"]).expect_code(64);
    // Bad input found by the deployer.
    let t = fixture("topic.yaml");
    let run = offline(&[
        "deploy",
        "--stack-name",
        "web",
        "--template",
        t.to_str().unwrap(),
        "--parameter",
        "Greeting=1",
        "--dry-run",
        "--detailed-exitcode",
    ])
    .expect_code(64);
    assert!(
        run.stderr.contains("parameter `Greeting`"),
        "{}",
        run.stderr
    );
    // --help and --version are not errors; both help texts carry the contract.
    for args in [&["--help"][..], &["deploy", "--help"], &["apply", "--help"]] {
        let run = offline(args).expect_code(0);
        for line in [
            "Exit codes:",
            "  2    only with `deploy --dry-run|--plan-out --detailed-exitcode`: changes are pending",
            "  3    stopped following",
            "  64   bad usage or input",
            "  130  interrupted",
        ] {
            assert!(
                run.stdout.contains(line),
                "{args:?}: {line:?} missing in\n{}",
                run.stdout
            );
        }
    }
    offline(&["--version"]).expect_code(0);
}

/// Valid values of the service template's parameters that the deployer wires from the
/// environment stack's outputs, as `--parameter` arguments.
fn environment_outputs() -> Vec<String> {
    let lb = "app/hello-staging/0123456789abcdef";
    [
        "VpcId=vpc-0123456789abcdef0".to_owned(),
        "PrivateSubnetIds=subnet-0123456789abcdef0,subnet-0123456789abcdef1".to_owned(),
        format!("LoadBalancerArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/{lb}"),
        format!("LoadBalancerFullName={lb}"),
        "LoadBalancerDnsName=hello-staging-1234567890.us-east-1.elb.amazonaws.com".to_owned(),
        "LoadBalancerCanonicalHostedZoneId=Z35SXDOTRQ7X7K".to_owned(),
        format!("HttpsListenerArn=arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/{lb}/0123456789abcdef"),
        "LoadBalancerSecurityGroupId=sg-0123456789abcdef0".to_owned(),
        "ClusterName=hello-staging".to_owned(),
        "UserPoolId=us-east-1_AbCdEfGhI".to_owned(),
        "UserPoolArn=arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI".to_owned(),
        "UserPoolProviderUrl=https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI".to_owned(),
        "CognitoDomainPrefix=hello-staging-login".to_owned(),
        "HostedZoneId=Z123".to_owned(),
        "DomainName=staging.example.com".to_owned(),
    ]
    .into_iter()
    .flat_map(|p| ["--parameter".to_owned(), p])
    .collect()
}

/// `deploy --stack-name STACK --template cfn/TEMPLATE` with `extra` arguments, offline.
fn offline_template(stack: &str, template: &str, extra: &[String]) -> Run {
    let template = root().join("cfn").join(template);
    let mut args = vec![
        "deploy".to_owned(),
        "--stack-name".to_owned(),
        stack.to_owned(),
        "--template".to_owned(),
        template.to_str().unwrap().to_owned(),
    ];
    args.extend_from_slice(extra);
    offline(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn parameters(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|p| ["--parameter".to_owned(), (*p).to_owned()])
        .collect()
}

#[test]
fn every_offline_problem_of_the_app_template_is_reported_at_once() {
    // The environment template (cfn/environment.yaml).
    let run = offline_template(
        "hello-staging",
        "environment.yaml",
        &parameters(&[
            "HostedZoneId=Z123",
            // Breaks its AllowedPattern (no leading hyphen).
            "CognitoDomainPrefix=-my-login",
            "NatGateways=3",
            // DomainName is missing.
        ]),
    )
    .expect_code(64);
    let e = &run.stderr;
    assert!(e.contains("problems with the parameters"), "{e}");
    for expected in [
        "parameter `DomainName` has no Default",
        "parameter `CognitoDomainPrefix`: value `-my-login` does not match AllowedPattern",
        "parameter `NatGateways`: value `3` is not one of the AllowedValues",
    ] {
        assert!(e.contains(expected), "{expected:?} missing in\n{e}");
    }

    // The service template (cfn/service.yaml), its environment's outputs given.
    let service = |extra: &[&str]| {
        let mut args = environment_outputs();
        args.extend(parameters(&[
            "HostName=app.staging.example.com",
            "ApiRulePriority=25000",
            "AppRulePriority=25001",
        ]));
        args.extend(parameters(extra));
        offline_template("hello-staging-web", "service.yaml", &args)
    };
    let run = service(&[
        "MinTasks=7",
        "MaxTasks=3",
        "DesiredCount=9",
        // The template's own rule (Rules: FargateMemoryFitsCpu512).
        "Cpu=512",
        "Memory=512",
        // ImageUri and PermissionsBoundaryArn are missing.
    ])
    .expect_code(64);
    let e = &run.stderr;
    assert!(e.contains("problems with the parameters"), "{e}");
    for expected in [
        "parameter `ImageUri` has no Default",
        "parameter `PermissionsBoundaryArn` has no Default",
        "template rule `FargateMemoryFitsCpu512`: With Cpu 512, Memory must be 1024, 2048, 3072 or 4096.",
        "parameter `MinTasks` (7) must not be more than `MaxTasks` (3)",
    ] {
        assert!(e.contains(expected), "{expected:?} missing in\n{e}");
    }
    // Not pinned (0) is exempt from the DesiredCount range, but not from Min <= Max.
    let run = service(&[
        "ImageUri=123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "PermissionsBoundaryArn=arn:aws:iam::123456789012:policy/app-role-boundary",
        "DesiredCount=9",
    ])
    .expect_code(64);
    assert!(
        run.stderr
            .contains("`DesiredCount` (9) must not be more than `MaxTasks` (6)")
            && run.stderr.contains("unless DesiredCount is 0"),
        "{}",
        run.stderr
    );
}

#[test]
fn failures_before_the_change_set_are_annotated_and_summarised_for_github() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let t = fixture("topic.yaml");
    let cases: [(&[&str], &str); 2] = [
        (
            &[
                "--template",
                t.to_str().unwrap(),
                "--parameter",
                "Greeting=Hello 2",
            ],
            "parameter `Greeting`: value `Hello 2` does not match AllowedPattern",
        ),
        (
            &["--template", "/nonexistent.yaml"],
            "cannot read template /nonexistent.yaml",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["deploy", "--stack-name", "web"];
        args.extend_from_slice(extra);
        let run = Run::from(
            deployer_at(&closed_port_endpoint(), &args)
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_OUTPUT", &outputs)
                .output()
                .unwrap(),
        )
        .expect_code(64);
        let streams = format!("{}{}", run.stdout, run.stderr);
        assert!(
            streams.contains(&format!("::error title=Deploy of web failed::{expected}")),
            "no annotation for {expected:?}:\n{streams}"
        );
        let text = std::fs::read_to_string(&summary).expect("the summary was written");
        assert!(
            text.contains(&format!("Deploy of stack web failed: {expected}"))
                && text.starts_with("**`"),
            "{text}"
        );
        let out = std::fs::read_to_string(&outputs).expect("the outputs were written");
        assert!(
            out.contains("has-changes<<") && out.contains("\nfalse\n"),
            "{out}"
        );
    }
}

#[test]
fn hostile_text_in_an_early_failure_stays_text_on_stderr_and_for_github() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, outputs) = (dir.path().join("summary.md"), dir.path().join("output"));
    let t = fixture("topic.yaml");
    // A value that breaks Greeting's AllowedPattern, so the failure quotes it.
    let hostile = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07 \x1b[31mred\x1b[0m\n::error::pwned\n  ::add-mask::x ##[add-mask]y %0A <img src=x onerror=alert(1)> [l](http://evil.example) @octocat\u{202e}";
    let parameter = format!("Greeting={hostile}");
    let run = Run::from(
        deployer_at(
            &closed_port_endpoint(),
            &[
                "deploy",
                "--stack-name",
                "web",
                "--template",
                t.to_str().unwrap(),
                "--parameter",
                &parameter,
            ],
        )
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .output()
        .unwrap(),
    )
    .expect_code(64);
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
            "{name} holds a control character: {text:?}"
        );
        assert!(!text.contains("##["), "{name}: {text}");
    }
    let commands: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("::"))
        .collect();
    assert_eq!(commands.len(), 1, "only our own annotation: {}", run.stderr);
    assert!(
        commands[0].starts_with("::error title=Deploy of web failed::")
            && commands[0].contains("%0A\\::error::pwned%0A")
            && commands[0].contains(" %250A "),
        "{}",
        commands[0]
    );
    // The failure is still readable: the value is shown, cleaned, where it broke a rule.
    assert!(run.stderr.contains("click red"), "{}", run.stderr);
    let text = std::fs::read_to_string(&summary).expect("the summary was written");
    for line in text.lines().filter(|l| !l.is_empty()) {
        let inner = line
            .trim_start_matches("**")
            .trim_end_matches("**")
            .trim_end();
        assert!(
            inner.starts_with('`') && inner.ends_with('`'),
            "a summary line outside a code span: {line:?}"
        );
    }
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

/// The environment template's (cfn/environment.yaml) arguments for stack `stack`.
fn app_args(stack: &str, zone: &str, domain: &str, prefix: &str) -> Vec<String> {
    let template = root().join("cfn/environment.yaml");
    [
        "deploy",
        "--stack-name",
        stack,
        "--template",
        template.to_str().unwrap(),
        "--parameter",
        &format!("HostedZoneId={zone}"),
        "--parameter",
        &format!("DomainName={domain}"),
        "--parameter",
        &format!("CognitoDomainPrefix={prefix}"),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run_args(moto: &Moto, args: &[String]) -> Run {
    moto.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn the_app_template_s_preflight_checks_refuse_before_any_change_set() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let public = moto.boto3(
        "import boto3; z = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='public'); print(z['HostedZone']['Id'].split('/')[-1])",
    );
    let private = moto.boto3(
        "import boto3\nvpc = boto3.client('ec2').create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']\nz = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='private', VPC={'VPCRegion': 'us-east-1', 'VPCId': vpc}, HostedZoneConfig={'PrivateZone': True})\nprint(z['HostedZone']['Id'].split('/')[-1])",
    );
    let changes = |stack: &'static str| {
        let cfn = cfn.clone();
        async move {
            cfn.list_change_sets()
                .stack_name(stack)
                .send()
                .await
                .map(|o| o.summaries().len())
                .unwrap_or(0)
        }
    };

    // A private zone, a zone that does not hold the domain, a zone that does not exist:
    // refused before any change set (no stack is even created).
    let run = run_args(
        &moto,
        &app_args("app", &private, "app.example.com", "example-app-login"),
    )
    .expect_code(64);
    assert!(
        run.stderr.contains(&format!(
            "hosted zone {private} (parameter `HostedZoneId`, example.com) is a private zone"
        )),
        "{}",
        run.stderr
    );
    let run = run_args(
        &moto,
        &app_args("app", &public, "app.example.org", "example-app-login"),
    )
    .expect_code(64);
    assert!(
        run.stderr.contains(&format!(
            "parameter `DomainName` `app.example.org` is not inside hosted zone {public}"
        )),
        "{}",
        run.stderr
    );
    let run = run_args(
        &moto,
        &app_args("app", "ZNOSUCHZONE", "app.example.com", "example-app-login"),
    )
    .expect_code(64);
    assert!(
        run.stderr
            .contains("parameter `HostedZoneId`: hosted zone ZNOSUCHZONE does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        cfn.describe_stacks()
            .stack_name("app")
            .send()
            .await
            .is_err()
    );

    // The public zone holding the domain deploys.
    run_args(
        &moto,
        &app_args("app", &public, "app.example.com", "example-app-login"),
    )
    .expect_code(0);
    let before = changes("app").await;

    // A new Cognito prefix is refused with the template's advice, before a change set.
    let run = run_args(
        &moto,
        &app_args("app", &public, "app.example.com", "other-app-login"),
    )
    .expect_code(64);
    assert!(
        run.stderr.contains("parameter `CognitoDomainPrefix` cannot change on the deployed stack app (it is `example-app-login`, this deploy says `other-app-login`)")
            && run.stderr.contains("delete the domain first")
            && run.stderr.contains("--allow-change CognitoDomainPrefix"),
        "{}",
        run.stderr
    );
    assert_eq!(changes("app").await, before, "no change set may be created");
    // --allow-change lets it through to the change set (a dry run here).
    let mut allowed = app_args("app", &public, "app.example.com", "other-app-login");
    allowed.extend(
        [
            "--allow-change",
            "CognitoDomainPrefix",
            "--dry-run",
            "--detailed-exitcode",
        ]
        .map(str::to_owned),
    );
    run_args(&moto, &allowed).expect_code(2);
    // Naming a parameter that is not immutable is a mistake.
    let mut wrong = app_args("app", &public, "app.example.com", "example-app-login");
    wrong.extend(["--allow-change", "DomainName"].map(str::to_owned));
    let run = run_args(&moto, &wrong).expect_code(64);
    assert!(
        run.stderr.contains("--allow-change DomainName: the template marks no such parameter immutable (its immutable parameters: CognitoDomainPrefix)"),
        "{}",
        run.stderr
    );

    // The service template checks its host against the same zone (its own certificate
    // is validated there): a host outside it is refused before any change set.
    let template = root().join("cfn/service.yaml");
    let mut service = vec![
        "deploy".to_owned(),
        "--stack-name".to_owned(),
        "app-web".to_owned(),
        "--template".to_owned(),
        template.to_str().unwrap().to_owned(),
    ];
    service.extend(
        environment_outputs()
            .into_iter()
            .map(|a| a.replace("HostedZoneId=Z123", &format!("HostedZoneId={public}"))),
    );
    service.extend(parameters(&[
        "HostName=web.example.org",
        "ApiRulePriority=25000",
        "AppRulePriority=25001",
        "ImageUri=123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "PermissionsBoundaryArn=arn:aws:iam::123456789012:policy/app-role-boundary",
    ]));
    let run = run_args(&moto, &service).expect_code(64);
    assert!(
        run.stderr.contains(&format!(
            "parameter `HostName` `web.example.org` is not inside hosted zone {public}"
        )),
        "{}",
        run.stderr
    );
    // No stack was even created (moto lists every stack's change sets, whatever stack is asked).
    assert!(
        cfn.describe_stacks()
            .stack_name("app-web")
            .send()
            .await
            .is_err()
    );
}
