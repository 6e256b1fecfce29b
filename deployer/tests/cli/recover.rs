//! Issue 17 items 5 and contract 4, end to end against moto: a failed first create
//! (ROLLBACK_COMPLETE) recovers through plan and apply, the reviewer seeing that the
//! dead stack will be deleted and what will be created; and `discard` deletes a plan's
//! change set (twice is fine).

use aws_sdk_cloudformation::types::StackStatus;

use crate::helpers::{Moto, fixture, root};

/// The template holding the user pool and its Cognito domain.
const ENVIRONMENT: &str = "cfn/environment.yaml";

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the plan file exists"))
        .expect("the plan file is JSON")
}

async fn status(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> (String, String) {
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    let s = &out.stacks()[0];
    (
        s.stack_status()
            .map(StackStatus::as_str)
            .unwrap_or_default()
            .to_owned(),
        s.stack_id().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_failed_first_create_is_recovered_by_plan_and_apply() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    // The first create fails as on AWS: another user pool owns the Cognito prefix, so
    // the domain is refused after the pool was made, and the stack rolls back.
    let zone = moto.boto3(&format!(
        r#"
import boto3, botocore
idp = boto3.client('cognito-idp')
owner = idp.create_user_pool(PoolName='owner')['UserPool']['Id']
idp.create_user_pool_domain(UserPoolId=owner, Domain='taken-login')
zone = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='recover')['HostedZone']['Id'].split('/')[-1]
cfn = boto3.client('cloudformation')
values = dict(HostedZoneId=zone, DomainName='app.example.com', CognitoDomainPrefix='taken-login')
cs = cfn.create_change_set(StackName='app', ChangeSetName='first', ChangeSetType='CREATE',
    TemplateBody=open('{app}').read(), Capabilities=['CAPABILITY_IAM'],
    Parameters=[dict(ParameterKey=k, ParameterValue=v) for k, v in values.items()])
cfn.get_waiter('change_set_create_complete').wait(ChangeSetName=cs['Id'], WaiterConfig=dict(Delay=1, MaxAttempts=60))
cfn.execute_change_set(ChangeSetName=cs['Id'])
try:
    cfn.get_waiter('stack_create_complete').wait(StackName='app', WaiterConfig=dict(Delay=1, MaxAttempts=60))
except botocore.exceptions.WaiterError:
    pass
# The owner gives the prefix up: the next push can succeed.
idp.delete_user_pool_domain(UserPoolId=owner, Domain='taken-login')
print(zone)
"#,
        app = root().join(ENVIRONMENT).display()
    ));
    let (state, dead_id) = status(&cfn, "app").await;
    assert_eq!(state, "ROLLBACK_COMPLETE");

    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let app = root().join(ENVIRONMENT);
    let planned = moto
        .run(&[
            "deploy",
            "--stack-name",
            "app",
            "--template",
            app.to_str().unwrap(),
            "--parameter",
            &format!("HostedZoneId={zone}"),
            "--parameter",
            "DomainName=app.example.com",
            "--parameter",
            "CognitoDomainPrefix=taken-login",
            "--plan-out",
            plan.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .expect_code(2);
    // The reviewer sees the dead stack go and what comes instead.
    assert!(
        planned.stdout.contains(&format!(
            "the dead stack {dead_id} will be deleted, then created:"
        )) && planned.stdout.contains("UserPoolDomain"),
        "{}\n{}",
        planned.stdout,
        planned.stderr
    );
    // Nothing changed yet.
    assert_eq!(
        status(&cfn, "app").await,
        ("ROLLBACK_COMPLETE".to_owned(), dead_id.clone())
    );
    let written = read_json(&plan);
    assert_eq!(written["recreate"]["dead_stack_id"], dead_id.as_str());
    assert_eq!(written["change_set_id"], serde_json::Value::Null);
    assert!(
        written["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "Add"),
        "{written}"
    );

    let applied = moto.run(&["apply", plan.to_str().unwrap()]).expect_code(0);
    assert!(
        applied
            .stdout
            .contains("Deployed stack app: CREATE_COMPLETE"),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    let (state, id) = status(&cfn, "app").await;
    assert_eq!(state, "CREATE_COMPLETE");
    assert_ne!(id, dead_id, "a new stack");
    // Applying the same plan again finds its dead stack gone: refused, nothing changed.
    let again = moto.run(&["apply", plan.to_str().unwrap()]).expect_code(1);
    assert!(
        again.stderr.contains("no longer exists"),
        "{}",
        again.stderr
    );
}

#[tokio::test]
async fn discard_deletes_the_plans_change_set_and_a_second_discard_is_fine() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.json");
    let template = fixture("topic.yaml");
    moto.run(&[
        "deploy",
        "--stack-name",
        "web",
        "--template",
        template.to_str().unwrap(),
        "--parameter",
        "Greeting=Hello",
        "--plan-out",
        plan.to_str().unwrap(),
        "--detailed-exitcode",
    ])
    .expect_code(2);
    let id = read_json(&plan)["change_set_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = moto
        .run(&["discard", plan.to_str().unwrap()])
        .expect_code(0);
    assert!(
        first
            .stdout
            .contains("Discarded change set deployer-release-"),
        "{}",
        first.stdout
    );
    assert!(
        cfn.describe_change_set()
            .change_set_name(&id)
            .send()
            .await
            .is_err(),
        "the change set is gone"
    );
    moto.run(&["discard", plan.to_str().unwrap()])
        .expect_code(0);
    // Apply of a discarded plan is refused.
    let refused = moto.run(&["apply", plan.to_str().unwrap()]).expect_code(1);
    assert!(
        refused.stderr.contains("no longer exists"),
        "{}",
        refused.stderr
    );
    // Not a plan: bad input.
    std::fs::write(&plan, "{}").unwrap();
    moto.run(&["discard", plan.to_str().unwrap()])
        .expect_code(64);
    // The help says what it does and how it exits.
    let help = moto.run(&["discard", "--help"]).expect_code(0);
    assert!(
        help.stdout.contains("already gone counts as discarded") && help.stdout.contains("64"),
        "{}",
        help.stdout
    );
}

#[tokio::test]
async fn a_cognito_prefix_another_pool_owns_is_refused_before_any_change() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let zone = moto.boto3(
        r#"
import boto3
idp = boto3.client('cognito-idp')
owner = idp.create_user_pool(PoolName='owner')['UserPool']['Id']
idp.create_user_pool_domain(UserPoolId=owner, Domain='someone-else')
print(boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='prefix')['HostedZone']['Id'].split('/')[-1])
"#,
    );
    let app = root().join(ENVIRONMENT);
    let refused = moto
        .run(&[
            "deploy",
            "--stack-name",
            "app",
            "--template",
            app.to_str().unwrap(),
            "--parameter",
            &format!("HostedZoneId={zone}"),
            "--parameter",
            "DomainName=app.example.com",
            "--parameter",
            "CognitoDomainPrefix=someone-else",
            "--dry-run",
        ])
        .expect_code(64);
    assert!(
        refused
            .stderr
            .contains("the Cognito domain prefix `someone-else` is already taken by user pool")
            && refused.stderr.contains("stack app does not exist yet")
            && refused
                .stderr
                .contains("--parameter CognitoDomainPrefix=OTHER"),
        "{}",
        refused.stderr
    );
    assert!(
        cfn.describe_stacks()
            .stack_name("app")
            .send()
            .await
            .is_err(),
        "nothing was created"
    );
}
