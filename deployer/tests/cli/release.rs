//! `deploy --config deploy.yaml --environment E` with a version-2 deploy.yaml (an
//! environment and two services) end to end against a local moto, with fixture
//! templates that follow the wiring rule (tests/fixtures/release): one plan for every
//! stack, the environment applied before any service, no changes the second time, and
//! a plan whose stack changed since is refused before anything is executed.

use std::path::{Path, PathBuf};

use aws_smithy_types::DateTime;

use crate::helpers::{Moto, fixture};

/// A copy of the fixture deploy.yaml in `dir` with `domain`, `nat` gateways and the
/// templates by path.
fn config(dir: &Path, name: &str, domain: &str, nat: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("release/deploy.yaml"))
        .unwrap()
        .replace(
            "environment: environment.yaml",
            &format!(
                "environment: {}",
                fixture("release/environment.yaml").display()
            ),
        )
        .replace(
            "service: service.yaml",
            &format!("service: {}", fixture("release/service.yaml").display()),
        )
        .replace("staging.example.com", domain)
        .replace("nat_gateways: 1", &format!("nat_gateways: {nat}"));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Every event of `stack`: (time, logical id, status).
async fn events(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Vec<(DateTime, String, String)> {
    cfn.describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .expect("events")
        .stack_events()
        .iter()
        .map(|e| {
            (
                *e.timestamp().expect("a time"),
                e.logical_resource_id().unwrap_or_default().to_owned(),
                e.resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// An image of each service in the moto's ECR (repository `hello-{service}`, the
/// default), as `SERVICE=URI` pinned by digest.
fn images(moto: &Moto) -> Vec<String> {
    ["docs", "web"]
        .map(|service| {
            format!(
                "{service}={}",
                moto.ecr_image(&format!("hello-{service}"), "v1")
            )
        })
        .to_vec()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn an_environment_and_two_services_plan_once_apply_in_order_and_refuse_a_stale_plan() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let dir = tempfile::tempdir().unwrap();
    let deploy_yaml = config(dir.path(), "deploy.yaml", "staging.example.com", "1");
    let cfg = deploy_yaml.to_str().unwrap();
    let plan = dir.path().join("release.json");
    let images = images(&moto);
    let (docs_image, web_image) = (&images[0], &images[1]);

    // One plan for all three stacks; the services are created after the environment.
    let planned = moto
        .run(&[
            "deploy",
            "--config",
            cfg,
            "--environment",
            "staging",
            "--image",
            docs_image,
            "--image",
            web_image,
            "--plan-out",
            plan.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .expect_code(2);
    for stack in [
        "hello-staging (environment)",
        "hello-staging-docs (service docs)",
        "hello-staging-web (service web)",
    ] {
        assert!(
            planned.stdout.contains(&format!("== Stack {stack} ==")),
            "{}",
            planned.stdout
        );
    }
    assert!(
        planned.stdout.contains("created after the environment"),
        "{}",
        planned.stdout
    );
    let doc = read_json(&plan);
    assert_eq!(
        (doc["version"].as_u64(), doc["kind"].as_str()),
        (Some(3), Some("release"))
    );
    let stacks = doc["stacks"].as_array().unwrap();
    let names: Vec<&str> = stacks
        .iter()
        .map(|s| s["plan"]["stack_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["hello-staging", "hello-staging-docs", "hello-staging-web"]
    );
    assert!(stacks[0]["plan"]["change_set_id"].is_string());
    let wired = &stacks[1]["plan"]["recreate"]["wired"];
    assert_eq!(
        wired,
        &serde_json::json!(["ClusterName", "DomainName", "HttpsListenerArn"])
    );

    // Apply: the environment completes before any service stack has an event.
    let applied = moto
        .run(&["apply", plan.to_str().unwrap(), "--output", "json"])
        .expect_code(0);
    let report = applied.json();
    let results: Vec<&str> = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["deployed", "deployed", "deployed"],
        "{}",
        applied.stderr
    );
    let env_done = events(&cfn, "hello-staging")
        .await
        .into_iter()
        .filter(|(_, id, status)| id == "hello-staging" && status == "CREATE_COMPLETE")
        .map(|(t, _, _)| t)
        .max()
        .expect("the environment completed");
    for service in ["hello-staging-docs", "hello-staging-web"] {
        let first = events(&cfn, service)
            .await
            .into_iter()
            .map(|(t, _, _)| t)
            .min()
            .unwrap();
        assert!(
            first.as_nanos() >= env_done.as_nanos(),
            "{service} started before the environment finished"
        );
    }
    // The services got the environment's outputs as parameters.
    let web = cfn
        .describe_stacks()
        .stack_name("hello-staging-web")
        .send()
        .await
        .unwrap();
    let params: Vec<(String, String)> = web.stacks()[0]
        .parameters()
        .iter()
        .map(|p| {
            (
                p.parameter_key().unwrap().to_owned(),
                p.parameter_value().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        params.contains(&("DomainName".into(), "staging.example.com".into())),
        "{params:?}"
    );
    assert!(
        params.contains(&("ImageUri".into(), web_image["web=".len()..].to_owned())),
        "{params:?}"
    );
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "HttpsListenerArn" && v.starts_with("arn:")),
        "{params:?}"
    );

    // The same again, without --image (each service keeps the image its stack runs):
    // no changes anywhere.
    let again = dir.path().join("again.json");
    let unchanged = moto
        .run(&[
            "deploy",
            "--config",
            cfg,
            "--environment",
            "staging",
            "--plan-out",
            again.to_str().unwrap(),
            "--detailed-exitcode",
            "--output",
            "json",
        ])
        .expect_code(0);
    let unchanged = unchanged.json();
    let results: Vec<&str> = unchanged["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["no-changes", "no-changes", "no-changes"]);

    // Two plans of an environment change; applying the second makes the first stale.
    let moved = config(dir.path(), "moved.yaml", "staging.example.com", "2");
    let (stale, fresh) = (dir.path().join("stale.json"), dir.path().join("fresh.json"));
    for out in [&stale, &fresh] {
        moto.run(&[
            "deploy",
            "--config",
            moved.to_str().unwrap(),
            "--environment",
            "staging",
            "--plan-out",
            out.to_str().unwrap(),
        ])
        .expect_code(0);
    }
    moto.run(&["apply", fresh.to_str().unwrap()]).expect_code(0);
    let before = events(&cfn, "hello-staging").await.len();
    let refused = moto.run(&["apply", stale.to_str().unwrap()]).expect_code(1);
    assert!(
        refused.stderr.contains("nothing was executed"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        events(&cfn, "hello-staging").await.len(),
        before,
        "nothing ran"
    );
}

#[tokio::test]
async fn a_dry_run_leaves_no_change_set_and_service_needs_the_environment() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let dir = tempfile::tempdir().unwrap();
    let deploy_yaml = config(dir.path(), "deploy.yaml", "staging.example.com", "1");
    let cfg = deploy_yaml.to_str().unwrap();
    let images = images(&moto);
    let (docs_image, web_image) = (&images[0], &images[1]);
    moto.run(&[
        "deploy",
        "--config",
        cfg,
        "--environment",
        "staging",
        "--service",
        "web",
        "--image",
        web_image,
        "--dry-run",
    ])
    .expect_code(64);
    let dry = moto
        .run(&[
            "deploy",
            "--config",
            cfg,
            "--environment",
            "staging",
            "--image",
            docs_image,
            "--image",
            web_image,
            "--dry-run",
            "--detailed-exitcode",
        ])
        .expect_code(2);
    assert!(dry.stdout.contains("Dry run"), "{}", dry.stdout);
    // Nothing is left: no stack, or only an empty one without change sets.
    for stack in ["hello-staging", "hello-staging-web"] {
        if let Ok(sets) = cfn.list_change_sets().stack_name(stack).send().await {
            assert!(sets.summaries().is_empty(), "{stack} keeps a change set");
        }
    }
}
