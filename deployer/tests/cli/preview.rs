//! `deployer preview up|down|list|prune` end to end on one local moto world: the
//! preview environment (the real cfn/environment.yaml) deployed alone, then pull request
//! 7's two services (the real cfn/service.yaml) created in express mode and updated in
//! standard mode, each waited for until ready; its hosts, its own user pool clients
//! with the preview hosts' callbacks; the limit; prune's choices; and `down`, after
//! which nothing of the preview is left (checked resource by resource).

use serde_json::Value;

use crate::helpers::{Moto, Run};

/// deploy.yaml with the preview environment (at most 2 previews) and two services.
fn deploy_yaml(zone: &str, boundary: &str) -> String {
    let root = crate::helpers::root();
    format!(
        "version: 2
application: hello
templates: {{ environment: {env}, service: {svc} }}
environments:
  preview:
    region: us-east-1
    domain: preview.example.com
    hosted_zone_id: {zone}
    cognito_domain_prefix: hello-preview-login
    permissions_boundary_arn: {boundary}
    nat_gateways: 1
    approval: false
    previews: {{ max: 2, max_age: 7d }}
services:
  web: {{ image: {{ context: . }}, port: 8080, health_path: /healthz, host: app, login: cognito,
         cpu: 256, memory: 512, scaling: {{ min: 1, max: 4 }} }}
  public: {{ image: {{ context: . }}, port: 8080, health_path: /healthz, host: www, login: none,
            cpu: 256, memory: 512, scaling: {{ min: 1, max: 2 }} }}
",
        env = root.join("cfn/environment.yaml").display(),
        svc = root.join("cfn/service.yaml").display(),
    )
}

/// Runs `deployer ARGS --config FILE` against the moto.
fn run(moto: &Moto, config: &str, args: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--config", config]);
    Run::from(moto.deployer(&all).output().expect("running deployer"))
}

/// What boto3 sees of the preview's resources: stacks, user pool clients, listener
/// rules, DNS records and ECS services named after pull request `pr`.
fn leftovers(moto: &Moto, pr: u32) -> Value {
    let out = moto.boto3(&format!(
        r#"
import boto3, json
cfn = boto3.client("cloudformation"); idp = boto3.client("cognito-idp")
elb = boto3.client("elbv2"); r53 = boto3.client("route53"); ecs = boto3.client("ecs")
prefix = "hello-preview-pr-{pr}-"
stacks = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
          if s["StackName"].startswith(prefix) and s["StackStatus"] != "DELETE_COMPLETE"]
env = {{o["OutputKey"]: o["OutputValue"] for o in
       cfn.describe_stacks(StackName="hello-preview")["Stacks"][0].get("Outputs", [])}}
clients = [c["ClientName"] for c in idp.list_user_pool_clients(UserPoolId=env["UserPoolId"], MaxResults=60)["UserPoolClients"]
           if c["ClientName"].startswith(prefix)]
rules = [r["Conditions"] for r in elb.describe_rules(ListenerArn=env["HttpsListenerArn"])["Rules"]
         if not r["IsDefault"]]
hosts = [v for c in rules for cond in c for v in cond.get("HostHeaderConfig", {{}}).get("Values", [])
         if v.startswith("pr-{pr}")]
zone = env.get("HostedZoneId") or r53.list_hosted_zones()["HostedZones"][0]["Id"].split("/")[-1]
records = [r["Name"] for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
           if r["Name"].startswith("pr-{pr}")]
arns = ecs.list_services(cluster=env["ClusterName"])["serviceArns"]
services = [s["serviceName"] for s in (ecs.describe_services(cluster=env["ClusterName"], services=arns)["services"] if arns else [])
            if s["status"] == "ACTIVE" and "-pr-{pr}-" in s["serviceName"]]
print(json.dumps({{"stacks": stacks, "clients": clients, "rule_hosts": hosts, "records": records,
                  "services": services}}))
"#
    ));
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn a_preview_comes_up_updates_lists_is_limited_pruned_and_goes_without_a_trace() {
    // ECS rollouts that take a second (the launcher simulates them).
    let moto = Moto::start_with_env(&[("MOTO_ECS_ROLLOUT_SECONDS", "1")]);
    let zone = moto.boto3(
        "import boto3; z = boto3.client('route53').create_hosted_zone(Name='example.com.', CallerReference='preview-tests'); print(z['HostedZone']['Id'].split('/')[-1])",
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("deploy.yaml");
    std::fs::write(
        &config_path,
        deploy_yaml(&zone, "arn:aws:iam::123456789012:policy/boundary"),
    )
    .unwrap();
    let config = config_path.to_str().unwrap();

    // Before the environment exists: a clear refusal, nothing created.
    let web_a = moto.ecr_image("hello-web-preview", "a");
    let public_a = moto.ecr_image("hello-public-preview", "a");
    let (web_img, public_img) = (format!("web={web_a}"), format!("public={public_a}"));
    let up = |pr: &str, images: &[&str]| {
        let mut args = vec![
            "preview",
            "up",
            "--pr",
            pr,
            "--output",
            "json",
            "--ready-timeout",
            "60s",
        ];
        for image in images {
            args.extend(["--image", image]);
        }
        run(&moto, config, &args)
    };
    let refused = up("7", &[&web_img, &public_img]).expect_code(1);
    assert!(
        refused.stderr.contains("deploy it from main first"),
        "{}",
        refused.stderr
    );

    // Services reach the preview environment only through `preview up`; rollback refuses it.
    for args in [
        &[
            "deploy",
            "--environment",
            "preview",
            "--service",
            "web",
            "--yes",
        ][..],
        &[
            "rollback",
            "--environment",
            "preview",
            "--service",
            "web",
            "--yes",
        ][..],
    ] {
        let refused = run(&moto, config, args).expect_code(64);
        assert!(
            refused.stderr.contains("deployer preview up --pr N"),
            "{args:?}: {}",
            refused.stderr
        );
    }

    // The preview environment's own deploy: its environment stack only.
    let deployed = run(
        &moto,
        config,
        &["deploy", "--environment", "preview", "--yes"],
    )
    .expect_code(0);
    assert!(
        deployed
            .stderr
            .contains("deploying its environment stack only"),
        "{}",
        deployed.stderr
    );
    assert!(
        !deployed.stdout.contains("hello-preview-web"),
        "{}",
        deployed.stdout
    );

    // A new preview without an image for every service is refused, naming it.
    let refused = up("7", &[&web_img]).expect_code(64);
    assert!(
        refused.stderr.contains("--image public=REF"),
        "{}",
        refused.stderr
    );

    // A rule made by hand holds a priority of pr-7's derived slot (25..=28): the preview
    // probes the next slot and says so.
    moto.boto3(
        r#"
import boto3
cfn = boto3.client("cloudformation"); elb = boto3.client("elbv2")
env = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hello-preview")["Stacks"][0]["Outputs"]}
elb.create_rule(ListenerArn=env["HttpsListenerArn"], Priority=27,
                Conditions=[{"Field": "host-header", "Values": ["by-hand.preview.example.com"]}],
                Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
"#,
    );

    // Create: express mode, both services ready, their own hosts.
    let created = up("7", &[&web_img, &public_img]).expect_code(0);
    assert!(
        created
            .stderr
            .contains("the listener rule priorities derived from 7 are held by other rules"),
        "{}",
        created.stderr
    );
    let doc = created.json();
    assert_eq!(doc["state"], "ready", "{}", created.stderr);
    assert_eq!(doc["preview"], "pr-7");
    let services = doc["services"].as_array().unwrap();
    let by = |name: &str| services.iter().find(|s| s["service"] == name).unwrap();
    assert_eq!(by("web")["mode"], "express");
    assert_eq!(by("public")["mode"], "express");
    assert_eq!(by("web")["url"], "https://pr-7-web.preview.example.com/");
    assert_eq!(
        by("public")["url"],
        "https://pr-7-public.preview.example.com/"
    );
    assert_eq!(by("web")["stack_name"], "hello-preview-pr-7-web");
    assert_eq!(by("web")["image"], web_a.as_str());
    assert_eq!(doc["url"], "https://pr-7-public.preview.example.com/");
    eprintln!(
        "preview create (express) ready after {}s",
        by("web")["ready_seconds"]
    );
    let created_with = moto.boto3(
        r#"
import boto3, json
cfn = boto3.client("cloudformation"); idp = boto3.client("cognito-idp")
stack = cfn.describe_stacks(StackName="hello-preview-pr-7-web")["Stacks"][0]
out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
env = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hello-preview")["Stacks"][0]["Outputs"]}
client = idp.describe_user_pool_client(UserPoolId=env["UserPoolId"], ClientId=out["UserPoolClientId"])["UserPoolClient"]
print(json.dumps({"callbacks": client["CallbackURLs"], "params": params, "tags": tags}))
"#,
    );
    let created_with: Value = serde_json::from_str(&created_with).unwrap();
    assert_eq!(
        created_with["callbacks"],
        serde_json::json!(["https://pr-7-web.preview.example.com/oauth2/idpresponse"])
    );
    let params = &created_with["params"];
    assert_eq!(params["HostName"], "pr-7-web.preview.example.com");
    assert_eq!(
        (
            &params["DesiredCount"],
            &params["MinTasks"],
            &params["MaxTasks"]
        ),
        (&Value::from("1"), &Value::from("1"), &Value::from("1"))
    );
    assert_eq!(params["CreateCertificate"], "false");
    // The next slot: public (29, 30), web (31, 32).
    assert_eq!(
        (&params["ApiRulePriority"], &params["AppRulePriority"]),
        (&Value::from("31"), &Value::from("32"))
    );
    assert_eq!(created_with["tags"]["deployer:preview"], "pr-7");
    // The stacks were created in express mode (boto3's model has no DeploymentConfig yet).
    let cfn = moto.cloudformation();
    for stack in ["hello-preview-pr-7-web", "hello-preview-pr-7-public"] {
        let described = cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .unwrap();
        let mode = described.stacks()[0]
            .deployment_config()
            .and_then(|c| c.mode())
            .map(|m| m.as_str().to_owned());
        assert_eq!(mode.as_deref(), Some("EXPRESS"), "{stack}");
    }

    // Update: a new image of web, in standard mode; public keeps its image.
    let web_b = moto.ecr_image("hello-web-preview", "b");
    // Under GitHub Actions: the step outputs and a job-summary section.
    let (outputs, summary) = (dir.path().join("output"), dir.path().join("summary"));
    let web_b_arg = format!("web={web_b}");
    let mut cmd = moto.deployer(&[
        "preview", "up", "--pr", "7", "--image", &web_b_arg, "--output", "json", "--config", config,
    ]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary);
    let updated = Run::from(cmd.output().expect("running deployer")).expect_code(0);
    let doc = updated.json();
    // A deployed preview keeps its priorities: no probing again.
    assert!(
        !updated.stderr.contains("held by other rules"),
        "{}",
        updated.stderr
    );
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    for (name, value) in [
        ("preview-url", "https://pr-7-public.preview.example.com/"),
        ("preview-state", "ready"),
    ] {
        let at = outputs
            .find(&format!("{name}<<"))
            .unwrap_or_else(|| panic!("{outputs}"));
        assert!(outputs[at..].lines().nth(1) == Some(value), "{outputs}");
    }
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("### Preview ` pr-7 ` (` ready `)"),
        "{summary}"
    );
    assert_eq!(doc["state"], "ready", "{}", updated.stderr);
    let services = doc["services"].as_array().unwrap();
    let by = |name: &str| services.iter().find(|s| s["service"] == name).unwrap();
    assert_eq!(by("web")["mode"], "standard");
    assert_eq!(by("web")["image"], web_b.as_str());
    assert_eq!(by("public")["image"], public_a.as_str());
    eprintln!(
        "preview update (standard) ready after {}s",
        by("web")["ready_seconds"]
    );

    // List.
    let listed = run(&moto, config, &["preview", "list", "--output", "json"]).expect_code(0);
    let doc = listed.json();
    let previews = doc["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 1, "{doc}");
    assert_eq!(previews[0]["pr"], 7);
    assert_eq!(
        previews[0]["services"],
        serde_json::json!(["public", "web"])
    );
    assert_eq!(previews[0]["urls"].as_array().unwrap().len(), 2);
    let text = run(&moto, config, &["preview", "list"]).expect_code(0);
    assert!(text.stdout.contains("pr-7 "), "{}", text.stdout);

    // A second live preview (a stack by hand, cheap) fills the maximum of 2: pr 8 is refused.
    moto.boto3(
        r#"
import boto3, json
body = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
boto3.client("cloudformation").create_stack(StackName="hello-preview-pr-9-web", TemplateBody=json.dumps(body))
"#,
    );
    let limited = up("8", &[&web_img, &public_img]).expect_code(1);
    assert!(
        limited.stderr.contains(
            "the preview environment already has 2 live previews (pr-7, pr-9), its maximum \
             (environments.preview.previews.max in deploy.yaml)"
        ),
        "{}",
        limited.stderr
    );
    // The refusal is a report too (for the pull request's comment).
    let doc = limited.json();
    assert_eq!(
        (&doc["state"], &doc["preview"]),
        (&Value::from("failed"), &Value::from("pr-8"))
    );
    assert!(
        doc["failure"]
            .as_str()
            .unwrap()
            .contains("already has 2 live previews"),
        "{doc}"
    );
    assert!(leftovers(&moto, 8)["stacks"].as_array().unwrap().is_empty());

    // Prune: a dry run lists, --older-than spares fresh previews, --keep removes the rest.
    let dry = run(
        &moto,
        config,
        &["preview", "prune", "--keep", "7", "--dry-run"],
    )
    .expect_code(0);
    assert!(
        dry.stdout
            .contains("pr-9 would remove (not in --keep): hello-preview-pr-9-web"),
        "{}",
        dry.stdout
    );
    let fresh = run(&moto, config, &["preview", "prune", "--older-than", "7d"]).expect_code(0);
    assert!(
        fresh.stdout.contains("No previews to remove."),
        "{}",
        fresh.stdout
    );
    let pruned = run(
        &moto,
        config,
        &["preview", "prune", "--keep", "7", "--output", "json"],
    )
    .expect_code(0);
    let doc = pruned.json();
    assert_eq!(doc["removed"][0]["preview"], "pr-9", "{doc}");
    assert_eq!(doc["kept"], serde_json::json!(["pr-7"]));
    assert!(leftovers(&moto, 9)["stacks"].as_array().unwrap().is_empty());
    let before = leftovers(&moto, 7);
    assert_eq!(before["stacks"].as_array().unwrap().len(), 2, "{before}");
    assert_eq!(before["clients"].as_array().unwrap().len(), 1, "{before}");
    assert!(
        !before["rule_hosts"].as_array().unwrap().is_empty(),
        "{before}"
    );
    assert!(
        !before["records"].as_array().unwrap().is_empty(),
        "{before}"
    );
    assert_eq!(before["services"].as_array().unwrap().len(), 2, "{before}");

    // Down: nothing of pr-7 is left; the environment stack stays.
    run(&moto, config, &["preview", "down", "--pr", "7"]).expect_code(0);
    assert_eq!(
        leftovers(&moto, 7),
        serde_json::json!({"stacks": [], "clients": [], "rule_hosts": [], "records": [], "services": []})
    );
    let env = moto.boto3(
        "import boto3; print(boto3.client('cloudformation').describe_stacks(StackName='hello-preview')['Stacks'][0]['StackStatus'])",
    );
    assert_eq!(env, "CREATE_COMPLETE");
    let again = run(&moto, config, &["preview", "down", "--pr", "7"]).expect_code(0);
    assert!(
        again.stdout.contains("No preview pr-7 on preview"),
        "{}",
        again.stdout
    );
}
