//! End-to-end deploys against a local moto (the project's launcher): the real binary,
//! real CloudFormation API calls, and assertions through DescribeStacks.

use aws_sdk_cloudformation::types::ExecutionStatus;

use crate::helpers::{Moto, closed_port_endpoint, deployer_at, fixture};

async fn stack_events(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cfn.describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .expect("events")
        .stack_events()
        .len()
}

/// Change sets moto still holds for `stack` that were never executed (moto keeps
/// executed ones, real CloudFormation drops them).
async fn pending_change_sets(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Vec<String> {
    let Ok(out) = cfn.list_change_sets().stack_name(stack).send().await else {
        return Vec::new();
    };
    out.summaries()
        .iter()
        .filter(|s| s.stack_name() == Some(stack))
        .filter(|s| s.execution_status() != Some(&ExecutionStatus::ExecuteComplete))
        .map(|s| s.change_set_name().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn create_then_no_op_then_update_with_tags_protection_and_github_outputs() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let template = fixture("topic.yaml");
    let t = template.to_str().unwrap();

    // Create, with tags and termination protection.
    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            t,
            "--parameter",
            "Greeting=Hello",
            "--tag",
            "team=web",
            "--tag",
            "cost=a=b",
            "--termination-protection",
        ])
        .expect_code(0);
    assert!(
        run.stdout.contains("Deployed stack web: CREATE_COMPLETE"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Add") && run.stdout.contains("AWS::SNS::Topic"),
        "change table shown: {}",
        run.stdout
    );
    let stack = cfn
        .describe_stacks()
        .stack_name("web")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .clone();
    assert_eq!(stack.stack_status().unwrap().as_str(), "CREATE_COMPLETE");
    assert_eq!(stack.enable_termination_protection(), Some(true));
    let tags: Vec<(String, String)> = stack
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    assert!(
        tags.contains(&("team".into(), "web".into()))
            && tags.contains(&("cost".into(), "a=b".into())),
        "{tags:?}"
    );
    assert!(
        stack
            .outputs()
            .iter()
            .any(|o| o.output_key() == Some("TopicArn"))
    );
    let greeting = moto.boto3("import boto3; print(boto3.client('ssm').get_parameter(Name='/deployer-test/web/greeting')['Parameter']['Value'])");
    assert_eq!(greeting, "Hello (test, 1)");

    // Unchanged: success, nothing executed, no change set left.
    let events_before = stack_events(&cfn, "web").await;
    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            t,
            "--parameter",
            "Greeting=Hello",
            "--tag",
            "team=web",
            "--tag",
            "cost=a=b",
        ])
        .expect_code(0);
    assert!(
        run.stdout.contains("No changes: stack web is up to date."),
        "{}",
        run.stdout
    );
    assert_eq!(
        stack_events(&cfn, "web").await,
        events_before,
        "an unchanged deploy must not touch the stack"
    );
    assert!(pending_change_sets(&cfn, "web").await.is_empty());

    // Dry run with a change: exit 2 with --detailed-exitcode, nothing executed or left.
    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            t,
            "--parameter",
            "Greeting=Bye",
            "--dry-run",
            "--detailed-exitcode",
        ])
        .expect_code(2);
    assert!(
        run.stdout.contains("Greeting: Hello → Bye"),
        "{}",
        run.stdout
    );
    assert!(pending_change_sets(&cfn, "web").await.is_empty());
    assert_eq!(stack_events(&cfn, "web").await, events_before);
    // ... and without changes, exit 0.
    moto.run(&[
        "deploy",
        "--stack-name",
        "web",
        "--template",
        t,
        "--parameter",
        "Greeting=Hello",
        "--dry-run",
        "--detailed-exitcode",
    ])
    .expect_code(0);

    // Update a parameter, under GitHub Actions, with JSON output.
    let dir = std::env::temp_dir().join(format!("deployer-gh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out_file, summary_file) = (dir.join("output"), dir.join("summary"));
    let o = moto
        .deployer(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            t,
            "--parameter",
            "Greeting=Bye",
            "--parameter",
            "Retries=3",
            "--output",
            "json",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &out_file)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .output()
        .unwrap();
    let run = crate::helpers::Run::from(o).expect_code(0);
    let report = run.json();
    assert_eq!(report["stack_status"], "UPDATE_COMPLETE");
    assert_eq!(report["has_changes"], true);
    let changes = report["parameter_changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["name"] == "Greeting" && c["old"] == "Hello" && c["new"] == "Bye"),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["name"] == "Retries" && c["old"] == "1" && c["new"] == "3"),
        "{changes:?}"
    );
    let outputs = std::fs::read_to_string(&out_file).unwrap();
    for name in [
        "has-changes<<",
        "stack-status<<",
        "change-set-id<<",
        "image-uri<<",
        "TopicArn<<",
    ] {
        assert!(
            outputs.contains(name),
            "{name} missing in GITHUB_OUTPUT:\n{outputs}"
        );
    }
    assert!(
        outputs.contains("\nUPDATE_COMPLETE\n") && outputs.contains("\ntrue\n"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(&summary_file).unwrap();
    assert!(
        summary.contains("| Greeting | Hello | Bye |") && summary.contains("Deployed stack web"),
        "{summary}"
    );
    std::fs::remove_dir_all(dir).unwrap();
    let params = cfn
        .describe_stacks()
        .stack_name("web")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .parameters()
        .to_vec();
    assert!(
        params
            .iter()
            .any(|p| p.parameter_key() == Some("Greeting") && p.parameter_value() == Some("Bye"))
    );
    // (moto 5.2.5 does not apply property updates to SSM parameters, so the new value is
    // checked on the stack's parameters above, not in SSM.)

    // Status, then destroy refused while termination protection is on.
    let status = moto
        .run(&["status", "--stack-name", "web", "--output", "json"])
        .expect_code(0)
        .json();
    assert_eq!(status["status"], "UPDATE_COMPLETE");
    assert_eq!(status["termination_protection"], true);
    assert!(
        status["outputs"]["TopicArn"]
            .as_str()
            .unwrap()
            .contains(":web-events")
    );
    let run = moto
        .run(&["destroy", "--stack-name", "web", "--yes"])
        .expect_code(1);
    assert!(
        run.stderr.contains("termination protection")
            && run.stderr.contains(
                "update-termination-protection --no-enable-termination-protection --stack-name web"
            ),
        "{}",
        run.stderr
    );
    assert!(
        cfn.describe_stacks().stack_name("web").send().await.is_ok(),
        "the protected stack must still exist"
    );
}

#[tokio::test]
async fn first_dry_run_leaves_nothing_behind_and_destroy_deletes() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let t = fixture("topic.yaml");
    let t = t.to_str().unwrap();

    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "fresh",
            "--template",
            t,
            "--parameter",
            "Greeting=Hi",
            "--dry-run",
            "--detailed-exitcode",
        ])
        .expect_code(2);
    assert!(
        run.stdout.contains("Greeting: (none) → Hi"),
        "{}",
        run.stdout
    );
    let gone = cfn.describe_stacks().stack_name("fresh").send().await;
    assert!(
        gone.is_err(),
        "a first dry run must not leave its REVIEW_IN_PROGRESS stack: {gone:?}"
    );
    assert!(pending_change_sets(&cfn, "fresh").await.is_empty());

    // From a deploy.yaml, then destroy without protection.
    let dir = std::env::temp_dir().join(format!("deployer-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("deploy.yaml");
    std::fs::write(
        &config,
        format!("environments:\n  test:\n    stack_name: from-config\n    region: us-east-1\n    template: {t}\n    parameters:\n      Greeting: From config\n      Retries: 2\n    tags:\n      env: test\n"),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    moto.run(&["deploy", "--config", c, "--environment", "test"])
        .expect_code(0);
    let stack = cfn
        .describe_stacks()
        .stack_name("from-config")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .clone();
    assert!(
        stack
            .parameters()
            .iter()
            .any(|p| p.parameter_key() == Some("Retries") && p.parameter_value() == Some("2"))
    );
    assert!(
        stack
            .tags()
            .iter()
            .any(|t| t.key() == Some("env") && t.value() == Some("test"))
    );
    std::fs::remove_dir_all(dir).unwrap();

    let run = moto
        .run(&["destroy", "--stack-name", "from-config"])
        .expect_code(64);
    assert!(run.stderr.contains("pass --yes"), "{}", run.stderr);
    let run = moto
        .run(&["destroy", "--stack-name", "from-config", "--yes"])
        .expect_code(0);
    assert!(
        run.stdout.contains("Deleted stack from-config."),
        "{}",
        run.stdout
    );
    assert!(
        cfn.describe_stacks()
            .stack_name("from-config")
            .send()
            .await
            .is_err()
    );
    let run = moto
        .run(&["destroy", "--stack-name", "from-config", "--yes"])
        .expect_code(0);
    assert!(run.stdout.contains("nothing to delete"), "{}", run.stdout);
}

#[test]
fn bad_input_exits_64_before_any_aws_call() {
    // Nothing listens here: any AWS call would fail with exit 1, not 2.
    let endpoint = closed_port_endpoint();
    let t = fixture("topic.yaml");
    let t = t.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--parameter", "Greeting=Hello 2"],
            "parameter `Greeting`: value `Hello 2` does not match AllowedPattern `[A-Za-z ]+`",
        ),
        (
            &["--parameter", "Greeting=Hi", "--parameter", "Stage=dev"],
            "parameter `Stage`: value `dev` is not one of the AllowedValues: test, prod",
        ),
        (
            &["--parameter", "Greeting=Hi", "--parameter", "Retries=9"],
            "parameter `Retries`: value `9` is above MaxValue 5",
        ),
        (
            &["--parameter", "Greeting=Hi", "--parameter", "Colour=red"],
            "parameter `Colour` is not in the template",
        ),
        (
            &["--parameter", "Greeting"],
            "--parameter `Greeting` has no `=`",
        ),
        (&[], "parameter `Greeting` has no Default"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["deploy", "--stack-name", "web", "--template", t];
        args.extend_from_slice(extra);
        let run = crate::helpers::Run::from(deployer_at(&endpoint, &args).output().unwrap())
            .expect_code(64);
        assert!(
            run.stderr.contains(expected),
            "{extra:?}: expected {expected:?} in\n{}",
            run.stderr
        );
    }
    let run = crate::helpers::Run::from(
        deployer_at(
            &endpoint,
            &[
                "deploy",
                "--stack-name",
                "web",
                "--template",
                "/nonexistent.yaml",
            ],
        )
        .output()
        .unwrap(),
    )
    .expect_code(64);
    assert!(
        run.stderr
            .contains("cannot read template /nonexistent.yaml"),
        "{}",
        run.stderr
    );
}

/// The parameter `key` of stack `stack`.
async fn parameter(cfn: &aws_sdk_cloudformation::Client, stack: &str, key: &str) -> String {
    cfn.describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(key))
        .and_then(|p| p.parameter_value())
        .unwrap_or_default()
        .to_owned()
}

/// Whether the release summary in `stdout` shows `stack` with `result` (e.g.
/// `deployed (CREATE_COMPLETE)`, `no-changes`).
fn released(stdout: &str, stack: &str, result: &str) -> bool {
    stdout.lines().any(|l| {
        let mut words = l.split_whitespace().skip_while(|w| *w != stack);
        words.next().is_some() && words.collect::<Vec<_>>().join(" ").starts_with(result)
    })
}

/// What users run now: the repository's deploy.yaml (version 2) with the real templates
/// (cfn/environment.yaml, cfn/service.yaml for `web` and `public`), its staging filled
/// from the variables .github/workflows/deploy.yml passes; then a new image of one
/// service updates only that service's stack.
#[tokio::test]
async fn deploys_the_app_template_and_updates_its_image() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let zone = moto.boto3(
        "import boto3; z = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='deployer-tests'); print(z['HostedZone']['Id'].split('/')[-1])",
    );
    let config = crate::helpers::root().join("deploy.yaml");
    let (web_a, public_a) = (
        moto.ecr_image("hello-web", "a"),
        moto.ecr_image("hello-public", "a"),
    );
    let web_b = moto.ecr_image("hello-web", "b");
    // AWS_REGION is set by the helper (us-east-1), as configure-aws-credentials does.
    let deploy = |images: &[String]| {
        let mut args = vec![
            "deploy".to_owned(),
            "--config".into(),
            config.to_str().unwrap().into(),
            "--environment".into(),
            "staging".into(),
            "--yes".into(),
        ];
        for image in images {
            args.extend(["--image".to_owned(), image.clone()]);
        }
        let mut cmd = moto.deployer(&args.iter().map(String::as_str).collect::<Vec<_>>());
        cmd.env("HOSTED_ZONE_ID", &zone)
            .env(
                "CFN_ROLE_ARN_STAGING",
                "arn:aws:iam::123456789012:role/github-deploy-staging-CloudFormationRole-TEST",
            )
            .env(
                "PERMISSIONS_BOUNDARY_ARN_STAGING",
                "arn:aws:iam::123456789012:policy/github-deploy-staging-PermissionsBoundary-TEST",
            );
        crate::helpers::Run::from(cmd.output().expect("running deployer"))
    };
    let run = deploy(&[format!("web={web_a}"), format!("public={public_a}")]).expect_code(0);
    for stack in ["hello-staging", "hello-staging-public", "hello-staging-web"] {
        assert!(
            released(&run.stdout, stack, "deployed (CREATE_COMPLETE)"),
            "{stack}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    // Again, each service keeping the image its stack runs: nothing changes.
    let run = deploy(&[]).expect_code(0);
    for stack in ["hello-staging", "hello-staging-public", "hello-staging-web"] {
        assert!(
            released(&run.stdout, stack, "no-changes"),
            "{stack}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    // A new image of web updates web's stack only.
    let run = deploy(&[format!("web={web_b}")]).expect_code(0);
    assert!(
        released(
            &run.stdout,
            "hello-staging-web",
            "deployed (UPDATE_COMPLETE)"
        ) && released(&run.stdout, "hello-staging-public", "no-changes"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        parameter(&cfn, "hello-staging-web", "ImageUri").await,
        web_b
    );
    assert_eq!(
        parameter(&cfn, "hello-staging-public", "ImageUri").await,
        public_a
    );
}
