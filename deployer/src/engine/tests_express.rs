//! The express/standard choice end to end, against the project's moto launcher (which
//! reproduces express mode and cloudformation-coverage-roadmap #2538, and simulates ECS
//! rollouts): a stack whose spec allows express creation is created in express mode
//! (DescribeStacks says so) and its service becomes ready only through the deployer's
//! own wait (`aws::rollout`); its update is standard, and the service moves to the new
//! task definition, which the same update in express mode would never do.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_cloudformation::types::{ChangeSetType, DeploymentConfigMode};

use super::tests::deploy;
use super::*;
use crate::aws::rollout::{RolloutTarget, wait_until_ready};
use crate::cfn::change_set::{self, DeployMode, Outcome};
use crate::cfn::wait::Deadline;
use crate::template::Template;

/// The stack every test here deploys: a target group, a cluster, a task definition of
/// `Image` and a service behind the group (names from `Name`).
const SERVICE: &str = "\
Parameters:
  Image: {Type: String}
  Name: {Type: String}
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.4.0.0/16}}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {VpcId: !Ref Vpc, Port: 8080, Protocol: HTTP, TargetType: ip}
  Cluster: {Type: AWS::ECS::Cluster, Properties: {ClusterName: !Ref Name}}
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: !Ref Name
      ContainerDefinitions:
        - {Name: app, Image: !Ref Image, Memory: 512, Essential: true, PortMappings: [{ContainerPort: 8080}]}
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      ServiceName: !Ref Name
      DesiredCount: 1
      TaskDefinition: !Ref Task
      LoadBalancers: [{ContainerName: app, ContainerPort: 8080, TargetGroupArn: !Ref Group}]
Outputs:
  TargetGroupArn: {Value: !Ref Group}
";

/// The moto launcher, stopped when dropped.
struct Moto {
    child: Child,
    sdk: SdkConfig,
}

impl Moto {
    /// Starts `tools/moto/launcher.py` with ECS rollouts of `rollout_seconds`.
    fn start(rollout_seconds: &str) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the workspace")
            .to_owned();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/deps.sh",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(root.join("tools/moto/launcher.py"))
            .args(["--port", "0"])
            .env("MOTO_ECS_ROLLOUT_SECONDS", rollout_seconds)
            .current_dir(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the moto launcher");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the READY line");
        let endpoint = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("no READY line: {line:?}"))
            .to_owned();
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "tests",
            )))
            .build();
        Self { child, sdk }
    }

    fn cloudformation(&self) -> Client {
        Client::new(&self.sdk)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deploy of `SERVICE` as stack `app` with `image`, express creation allowed.
fn service_deploy(moto: &Moto, image: &str) -> Deploy {
    let mut d = deploy(moto.cloudformation());
    d.inputs.template = Template::parse(SERVICE).unwrap();
    d.inputs.parameters = BTreeMap::from([
        ("Image".to_owned(), image.to_owned()),
        ("Name".to_owned(), "app-web".to_owned()),
    ]);
    d.inputs.settings.express_create = true;
    d
}

/// The stack's DeploymentConfig mode, as the SDK reads DescribeStacks.
async fn stack_mode(cfn: &Client) -> Option<DeploymentConfigMode> {
    let out = cfn
        .describe_stacks()
        .stack_name("app")
        .send()
        .await
        .unwrap();
    out.stacks()[0]
        .deployment_config()
        .and_then(|c| c.mode())
        .cloned()
}

/// The service's target, with the stack's task definition: the family's newest ACTIVE
/// revision (a replaced one is deregistered), read as the deployer may read it
/// (DescribeTaskDefinition; a test reading DescribeStackResources would make the
/// roles' permission check think the deployer needs it).
async fn rollout_target(moto: &Moto) -> RolloutTarget {
    let ecs = aws_sdk_ecs::Client::new(&moto.sdk);
    let task_definition = ecs
        .describe_task_definition()
        .task_definition("app-web")
        .send()
        .await
        .unwrap()
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_owned);
    let stack = moto
        .cloudformation()
        .describe_stacks()
        .stack_name("app")
        .send()
        .await
        .unwrap();
    RolloutTarget {
        cluster: "app-web".into(),
        service: "app-web".into(),
        task_definition,
        target_group_arn: crate::cfn::stack::outputs(&stack.stacks()[0])
            .get("TargetGroupArn")
            .cloned(),
        label: "service web".into(),
    }
}

async fn service_task_definition(moto: &Moto) -> String {
    let ecs = aws_sdk_ecs::Client::new(&moto.sdk);
    let out = ecs
        .describe_services()
        .cluster("app-web")
        .services("app-web")
        .send()
        .await
        .unwrap();
    out.services()[0].task_definition().unwrap().to_owned()
}

fn quiet() -> Progress {
    Progress::plain(Box::new(std::io::sink()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_stack_is_created_in_express_mode_and_updated_in_standard_mode() {
    let moto = Moto::start("1");
    let cfn = moto.cloudformation();

    // Created: express mode, and CloudFormation is done before the service is.
    let mut created = service_deploy(&moto, "repo/web:1");
    assert_eq!(created.run().await.unwrap(), Ending::Deployed);
    assert_eq!(created.report.deploy_mode, DeployMode::Express);
    assert_eq!(stack_mode(&cfn).await, Some(DeploymentConfigMode::Express));
    let target = rollout_target(&moto).await;
    let ecs = aws_sdk_ecs::Client::new(&moto.sdk);
    let first = ecs
        .describe_services()
        .cluster("app-web")
        .services("app-web")
        .send()
        .await
        .unwrap();
    let rollout = first.services()[0].deployments()[0]
        .rollout_state()
        .cloned();
    assert_eq!(
        rollout.as_ref().map(|r| r.as_str()),
        Some("IN_PROGRESS"),
        "express mode returned before the service was ready"
    );
    let ready = wait_until_ready(
        &moto.sdk,
        &target,
        Deadline::after(Duration::from_secs(60)),
        &mut quiet(),
    )
    .await
    .unwrap();
    assert_eq!((ready.running, ready.healthy_targets), (1, 1));

    // Updated with a new image (a replaced task definition): standard mode, and the
    // service runs the stack's new task definition when CloudFormation is done.
    let mut updated = service_deploy(&moto, "repo/web:2");
    assert_eq!(updated.run().await.unwrap(), Ending::Deployed);
    assert_eq!(updated.report.deploy_mode, DeployMode::Standard);
    assert_ne!(stack_mode(&cfn).await, Some(DeploymentConfigMode::Express));
    let target = rollout_target(&moto).await;
    assert_ne!(target.task_definition, rollout_target_first(&first));
    assert_eq!(
        Some(service_task_definition(&moto).await),
        target.task_definition
    );
    wait_until_ready(
        &moto.sdk,
        &target,
        Deadline::after(Duration::from_secs(60)),
        &mut quiet(),
    )
    .await
    .unwrap();

    // Why: the same kind of update in express mode (forced past the decision) leaves the
    // service on the old task definition (#2538), and the wait says so.
    let before = service_task_definition(&moto).await;
    let stack = cfn
        .describe_stacks()
        .stack_name("app")
        .send()
        .await
        .unwrap();
    let mut request = service_deploy(&moto, "repo/web:3")
        .request("deployer-release-express", stack.stacks().first())
        .unwrap();
    assert_eq!(
        (&request.kind, request.mode),
        (&ChangeSetType::Update, DeployMode::Standard)
    );
    request.mode = DeployMode::Express;
    let Outcome::Ready(described) = change_set::create(
        &cfn,
        &request,
        Deadline::after(Duration::from_secs(60)),
        Duration::from_secs(60),
        &mut quiet(),
    )
    .await
    .unwrap() else {
        panic!("the express change set was not ready");
    };
    assert_eq!(
        described.mode,
        DeployMode::Express,
        "DescribeChangeSet says so"
    );
    change_set::execute(
        &cfn,
        &described.stack_id,
        &described.id,
        &request.name,
        described.mode,
    )
    .await
    .unwrap();
    let target = rollout_target(&moto).await;
    assert_ne!(target.task_definition.as_deref(), Some(before.as_str()));
    assert_eq!(
        service_task_definition(&moto).await,
        before,
        "express left the service on the old task definition"
    );
    let failure = wait_until_ready(
        &moto.sdk,
        &target,
        Deadline::after(Duration::from_secs(3)),
        &mut quiet(),
    )
    .await
    .unwrap_err();
    assert!(failure.message.contains("#2538"), "{}", failure.message);
}

/// The task definition the service ran after its create.
fn rollout_target_first(
    first: &aws_sdk_ecs::operation::describe_services::DescribeServicesOutput,
) -> Option<String> {
    first.services()[0].task_definition().map(str::to_owned)
}
