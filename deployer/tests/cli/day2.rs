//! `deployer status --config --environment` and `deployer logs` against a local moto:
//! an environment stack and one service stack (of two in deploy.yaml) whose outputs name
//! a real ECS cluster and service (task definition revisions with two images), a target
//! group with a target, and a log group with the service's JSON lines.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::helpers::Moto;

const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// deploy.yaml (version 2): staging has `web` deployed and `docs` not.
const DEPLOY_YAML: &str = "\
version: 2
application: hello
environments:
  staging:
    region: us-east-1
    domain: staging.example.com
    hosted_zone_id: Z0123456789ABCDEFGHIJ
    cognito_domain_prefix: hello-staging
    permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary
services:
  web: { image: { context: . }, port: 8080, health_path: /healthz, host: app, login: cognito,
         cpu: 256, memory: 512, scaling: { min: 1, max: 2 } }
  docs: { image: { context: . }, port: 8080, health_path: /healthz, host: docs, login: none,
          cpu: 256, memory: 512, scaling: { min: 1, max: 2 } }
";

/// Builds the environment in moto with boto3.
fn environment(moto: &Moto) {
    moto.boto3(&format!(
        r#"
import boto3, json, time
ecs = boto3.client("ecs"); logs = boto3.client("logs"); elb = boto3.client("elbv2")
ec2 = boto3.client("ec2"); cfn = boto3.client("cloudformation")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
tg = elb.create_target_group(Name="hello-staging-web", Protocol="HTTP", Port=8080, VpcId=vpc,
                             TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
elb.register_targets(TargetGroupArn=tg, Targets=[{{"Id": "10.0.1.5", "Port": 8080}}])
ecs.create_cluster(clusterName="hello-staging")
repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello-web@"
for digest in ["{DIGEST_A}", "{DIGEST_B}"]:
    ecs.register_task_definition(family="hello-staging-web", containerDefinitions=[
        {{"name": "app", "image": repo + digest, "essential": True, "memory": 512}}])
ecs.create_service(cluster="hello-staging", serviceName="hello-staging-web",
                   taskDefinition="hello-staging-web:2", desiredCount=2)
group = "/ecs/hello-staging-web"
logs.create_log_group(logGroupName=group)
logs.create_log_stream(logGroupName=group, logStreamName="web/app/0123456789abcdef")
now = int(time.time() * 1000)
line = {{"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": "request",
        "method": "GET", "path": "/api/me", "status": 200, "latency_us": 1234}}
logs.put_log_events(logGroupName=group, logStreamName="web/app/0123456789abcdef", logEvents=[
    {{"timestamp": now - 3_600_000, "message": "an hour ago"}},
    {{"timestamp": now - 2000, "message": json.dumps(line)}},
    {{"timestamp": now - 1000, "message": "listening on 0.0.0.0:8080"}}])
def stack(name, outputs, parameters={{}}):
    params = {{k: {{"Type": "String"}} for k in parameters}}
    body = {{"Parameters": params, "Resources": {{"Topic": {{"Type": "AWS::SNS::Topic"}}}},
            "Outputs": {{k: {{"Value": v}} for k, v in outputs.items()}}}}
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(body),
                     Parameters=[{{"ParameterKey": k, "ParameterValue": v}} for k, v in parameters.items()])
stack("hello-staging", {{"EnvironmentUrl": "https://staging.example.com/", "ClusterName": "hello-staging"}})
stack("hello-staging-web", {{"ServiceUrl": "https://app.staging.example.com/", "ClusterName": "hello-staging",
      "ServiceName": "hello-staging-web", "TargetGroupArn": tg, "LogGroupName": group}},
      {{"ImageUri": repo + "{DIGEST_B}"}})
"#
    ));
}

/// A deploy.yaml in a temporary directory.
fn config() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deploy.yaml");
    std::fs::write(&path, DEPLOY_YAML).unwrap();
    let shown = path.to_str().unwrap().to_owned();
    (dir, shown)
}

#[test]
fn status_shows_each_service_with_its_image_tasks_rollout_targets_and_url() {
    let moto = Moto::start();
    let (_dir, config) = config();
    // Before the environment exists: a failure that says how to deploy it.
    let run = moto
        .run(&["status", "--config", &config, "--environment", "staging"])
        .expect_code(1);
    assert!(
        run.stderr
            .contains("environment staging is not deployed (no stack hello-staging")
            && run
                .stderr
                .contains("deployer deploy --config deploy.yaml --environment staging"),
        "{}",
        run.stderr
    );
    environment(&moto);
    let run = moto
        .run(&["status", "--config", &config, "--environment", "staging"])
        .expect_code(0);
    let out = &run.stdout;
    assert!(
        out.starts_with("Environment staging (hello-staging, us-east-1): CREATE_COMPLETE  https://staging.example.com/\n"),
        "{out}"
    );
    let web = out.lines().find(|l| l.starts_with("web ")).expect(out);
    for expected in [
        "CREATE_COMPLETE",
        "sha256:bbbbbbbbbbbb (r2)",
        "1 healthy",
        "https://app.staging.example.com/",
    ] {
        assert!(web.contains(expected), "{expected} in {web}");
    }
    let docs = out.lines().find(|l| l.starts_with("docs ")).expect(out);
    assert!(docs.contains("not deployed"), "{docs}");

    let run = moto
        .run(&[
            "status",
            "--config",
            &config,
            "--environment",
            "staging",
            "--output",
            "json",
        ])
        .expect_code(0);
    let json = run.json();
    assert_eq!(json["environment_stack"]["status"], "CREATE_COMPLETE");
    let web = &json["services"][1];
    assert_eq!(web["service"], "web");
    assert_eq!(web["ecs"]["image_digest"], DIGEST_B);
    assert_eq!(web["ecs"]["revision"], 2);
    assert_eq!(web["ecs"]["desired"], 2);
    assert_eq!(web["ecs"]["current"]["status"], "PRIMARY");
    assert_eq!(web["targets"]["counts"]["healthy"], 1);
    assert!(json["services"][0]["stack"]["status"].is_null());

    // `status --stack-name` is as it was.
    let run = moto
        .run(&["status", "--stack-name", "hello-staging-web"])
        .expect_code(0);
    assert!(
        run.stdout.contains("LogGroupName = /ecs/hello-staging-web"),
        "{}",
        run.stdout
    );
    // Neither, or both: usage errors.
    moto.run(&["status"]).expect_code(64);
    moto.run(&[
        "status",
        "--stack-name",
        "x",
        "--config",
        &config,
        "--environment",
        "staging",
    ])
    .expect_code(64);
}

#[test]
fn logs_shows_the_services_json_lines_readably_and_as_json() {
    let moto = Moto::start();
    let (_dir, config) = config();
    environment(&moto);
    let args = [
        "logs",
        "--config",
        &config,
        "--environment",
        "staging",
        "--service",
        "web",
    ];
    let run = moto.run(&args).expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "the last 10 minutes only: {}", run.stdout);
    assert!(
        lines[0].ends_with(
            " [01234567] INFO  request method=GET path=/api/me status=200 latency_us=1234"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(" [01234567] listening on 0.0.0.0:8080"),
        "{}",
        lines[1]
    );
    assert!(
        run.stderr.contains("Log group /ecs/hello-staging-web"),
        "{}",
        run.stderr
    );

    let run = moto
        .run(&[&args[..], &["--since", "2h", "--output", "json"]].concat())
        .expect_code(0);
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect(l))
        .collect();
    assert_eq!(events.len(), 3, "{}", run.stdout);
    assert_eq!(events[0]["message"], "an hour ago");
    assert!(events[0]["fields"].is_null());
    assert_eq!(events[1]["fields"]["status"], 200);
    assert_eq!(events[1]["stream"], "web/app/0123456789abcdef");

    // The same group by --log-group and --stack-name; a service deploy.yaml lacks.
    let run = moto
        .run(&["logs", "--log-group", "/ecs/hello-staging-web", "-q"])
        .expect_code(0);
    assert_eq!(run.stdout.lines().count(), 2);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    moto.run(&["logs", "--stack-name", "hello-staging-web"])
        .expect_code(0);
    let run = moto
        .run(&[
            "logs",
            "--config",
            &config,
            "--environment",
            "staging",
            "--service",
            "api",
        ])
        .expect_code(64);
    assert!(run.stderr.contains("it has: docs, web"), "{}", run.stderr);
    let run = moto
        .run(&["logs", "--log-group", "/ecs/nope"])
        .expect_code(1);
    assert!(
        run.stderr.contains("log group /ecs/nope does not exist"),
        "{}",
        run.stderr
    );
    moto.run(&["logs", "--log-group", "g", "--since", "soon"])
        .expect_code(64);
}

#[test]
fn logs_follow_shows_new_events_once_and_stops_cleanly_on_ctrl_c() {
    let moto = Moto::start();
    let (_dir, config) = config();
    environment(&moto);
    let mut child = moto
        .deployer(&[
            "logs",
            "--config",
            &config,
            "--environment",
            "staging",
            "--service",
            "web",
            "--follow",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("a line within 20 s")
    };
    assert!(next().contains("request method=GET"));
    assert!(next().contains("listening on"));
    moto.boto3(
        r#"
import boto3, time
boto3.client("logs").put_log_events(logGroupName="/ecs/hello-staging-web",
    logStreamName="web/app/0123456789abcdef",
    logEvents=[{"timestamp": int(time.time() * 1000), "message": "a new line"}])
"#,
    );
    assert!(next().ends_with("a new line"));
    // Several more polls: nothing is shown twice.
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).is_err(),
        "a line came twice"
    );
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C ends --follow cleanly");
}
