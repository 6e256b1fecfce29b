//! `deploy --plan-out` and `apply` end to end (issue 13 items 2 and 4): the real binary
//! against a local moto, a real git repository for the commit order, and a local
//! registry behind the counting proxy for the image.

use std::path::Path;
use std::process::Command;

use aws_sdk_cloudformation::types::ExecutionStatus;
use oci_push::layout::{ImageConfig, write_image};
use oci_push::test_support::sample_layers;

use crate::helpers::{Moto, PushStack, closed_port_endpoint, deployer_at, fixture, run};

async fn stack_events(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> usize {
    cfn.describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .expect("events")
        .stack_events()
        .len()
}

async fn stack_tag(cfn: &aws_sdk_cloudformation::Client, stack: &str, key: &str) -> Option<String> {
    let out = cfn.describe_stacks().stack_name(stack).send().await.ok()?;
    out.stacks()[0]
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .map(str::to_owned)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("the plan file exists"))
        .expect("the plan file is JSON")
}

#[tokio::test]
async fn plan_then_apply_creates_the_stack_and_a_plan_made_before_another_apply_is_refused() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let dir = tempfile::tempdir().unwrap();
    let (p1, p2) = (dir.path().join("p1.json"), dir.path().join("p2.json"));
    let template = fixture("topic.yaml");
    let plan = |greeting: &str, out: &Path| {
        let greeting = format!("Greeting={greeting}");
        moto.run(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            template.to_str().unwrap(),
            "--parameter",
            &greeting,
            "--plan-out",
            out.to_str().unwrap(),
            "--detailed-exitcode",
            "--output",
            "json",
        ])
    };

    // A plan of a new stack: the change set is left AVAILABLE, the stack empty.
    let first = plan("Hello", &p1).expect_code(2);
    let report = first.json();
    assert_eq!(report["has_changes"], true);
    assert_eq!(report["executed"], false);
    assert_eq!(report["plan_file"], p1.to_str().unwrap());
    let written = read_json(&p1);
    assert_eq!(written["version"], 2);
    assert!(
        written["change_set_name"]
            .as_str()
            .unwrap()
            .starts_with("deployer-release-"),
        "{written}"
    );
    assert_eq!(written["creates_stack"], true);
    assert_eq!(written["stack"]["status"], "REVIEW_IN_PROGRESS");
    assert_eq!(written["region"], "us-east-1");
    assert!(
        written["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["logical_id"] == "Topic" && c["action"] == "Add"),
        "{written}"
    );
    let change_set = written["change_set_id"].as_str().unwrap().to_owned();
    let described = cfn
        .describe_change_set()
        .change_set_name(&change_set)
        .send()
        .await
        .expect("the planned change set is left");
    assert_eq!(
        described.execution_status(),
        Some(&ExecutionStatus::Available)
    );

    // Applied: the stack is created from exactly that change set.
    let applied = moto.run(&["apply", p1.to_str().unwrap()]).expect_code(0);
    assert!(
        applied
            .stdout
            .contains("Deployed stack web: CREATE_COMPLETE"),
        "{}",
        applied.stdout
    );
    let greeting = || {
        moto.boto3("import boto3; print(boto3.client('ssm').get_parameter(Name='/deployer-test/web/greeting')['Parameter']['Value'])")
    };
    assert_eq!(greeting(), "Hello (test, 1)");

    // No changes: exit 0, the plan says so, and applying it does nothing at all
    // (pointed at a closed port, it still succeeds: it makes no AWS call).
    let p3 = dir.path().join("p3.json");
    plan("Hello", &p3).expect_code(0);
    assert_eq!(read_json(&p3)["has_changes"], false);
    let noop = crate::helpers::Run::from(
        deployer_at(&closed_port_endpoint(), &["apply", p3.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .expect_code(0);
    assert!(noop.stderr.contains("Nothing to apply"), "{}", noop.stderr);
    assert!(
        noop.stdout.contains("No changes: stack web is up to date."),
        "{}",
        noop.stdout
    );

    // Two plans of the same stack, as two pushes' plan jobs make them; the first is
    // applied, so the second describes a stack that no longer exists as it was.
    plan("Bye", &p2).expect_code(2);
    let p2b = dir.path().join("p2b.json");
    plan("Ciao", &p2b).expect_code(2);
    moto.run(&["apply", p2.to_str().unwrap()]).expect_code(0);
    assert_eq!(greeting(), "Bye (test, 1)");
    let events = stack_events(&cfn, "web").await;
    let stale = moto.run(&["apply", p2b.to_str().unwrap()]).expect_code(1);
    assert!(
        stale
            .stderr
            .contains("stack web changed after the plan was made")
            && stale.stderr.contains("Plan again"),
        "{}",
        stale.stderr
    );
    assert_eq!(
        stack_events(&cfn, "web").await,
        events,
        "nothing was executed"
    );
    assert_eq!(greeting(), "Bye (test, 1)");

    // A plan file that is not one, or of another version: bad input, named.
    std::fs::write(
        &p3,
        read_json(&p1)
            .to_string()
            .replace("\"version\":2", "\"version\":7"),
    )
    .unwrap();
    let bad = moto.run(&["apply", p3.to_str().unwrap()]).expect_code(64);
    assert!(bad.stderr.contains("is version 7"), "{}", bad.stderr);
    // And --plan-out cannot be combined with --dry-run or --yes.
    for extra in ["--dry-run", "--yes"] {
        moto.run(&[
            "deploy",
            "--stack-name",
            "web",
            "--template",
            template.to_str().unwrap(),
            "--plan-out",
            p3.to_str().unwrap(),
            extra,
        ])
        .expect_code(64);
    }
}

/// A git repository with two commits: `(dir, older, newer)`.
fn git_repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    let older = git(&["rev-parse", "HEAD"]);
    git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    let newer = git(&["rev-parse", "HEAD"]);
    (dir, older, newer)
}

#[tokio::test]
async fn an_older_commit_is_refused_and_deployed_with_allow_out_of_order() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let (repo, older, newer) = git_repo();
    let template = fixture("topic.yaml");
    let deploy = |greeting: &str, extra: &[&str]| {
        let greeting = format!("Greeting={greeting}");
        let mut args = vec![
            "deploy",
            "--stack-name",
            "web",
            "--template",
            template.to_str().unwrap(),
            "--parameter",
            &greeting,
        ];
        args.extend_from_slice(extra);
        let mut cmd = moto.deployer(&args);
        cmd.current_dir(repo.path());
        crate::helpers::Run::from(cmd.output().unwrap())
    };

    // The newer commit is deployed first (its tests finished first); the commit is
    // taken from `git rev-parse HEAD` in the work tree.
    deploy("Hello", &[]).expect_code(0);
    assert_eq!(
        stack_tag(&cfn, "web", "deployer:commit").await,
        Some(newer.clone())
    );

    // The older one comes late: refused, naming both, with nothing created.
    let events = stack_events(&cfn, "web").await;
    let refused = deploy("Bye", &["--commit", &older]).expect_code(1);
    assert!(
        refused
            .stderr
            .contains(&format!("commit {older} is not a descendant of {newer}"))
            && refused.stderr.contains("--allow-out-of-order"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        stack_events(&cfn, "web").await,
        events,
        "nothing was executed"
    );
    let listed = cfn
        .list_change_sets()
        .stack_name("web")
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .summaries()
            .iter()
            .all(|s| s.execution_status() == Some(&ExecutionStatus::ExecuteComplete)),
        "no change set was made: {listed:?}"
    );
    // DEPLOYER_COMMIT says the same as --commit; a plan is refused alike.
    let mut cmd = moto.deployer(&[
        "deploy",
        "--stack-name",
        "web",
        "--template",
        template.to_str().unwrap(),
        "--parameter",
        "Greeting=Bye",
        "--plan-out",
        "plan.json",
    ]);
    cmd.current_dir(repo.path()).env("DEPLOYER_COMMIT", &older);
    crate::helpers::Run::from(cmd.output().unwrap()).expect_code(1);
    assert!(!repo.path().join("plan.json").exists());

    // A deliberate rollback: allowed, with a warning, and recorded.
    let allowed = deploy("Bye", &["--commit", &older, "--allow-out-of-order"]).expect_code(0);
    assert!(
        allowed.stderr.contains("deploying anyway"),
        "{}",
        allowed.stderr
    );
    assert_eq!(
        stack_tag(&cfn, "web", "deployer:commit").await,
        Some(older.clone())
    );

    // A recorded commit git does not know (a shallow clone): refused, saying to fetch.
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    deploy("Ciao", &["--commit", unknown, "--allow-out-of-order"]).expect_code(0);
    let refused = deploy("Hello", &[]).expect_code(1);
    assert!(
        refused.stderr.contains("cannot tell whether commit")
            && refused.stderr.contains("fetch-depth: 0"),
        "{}",
        refused.stderr
    );
    // A --commit that is not a full SHA is bad input.
    deploy("Hello", &["--commit", "HEAD"]).expect_code(64);
}

fn image(dir: &Path) -> (String, String) {
    let written = write_image(
        dir,
        &sample_layers(2, 4096),
        &ImageConfig::default(),
        Some("latest"),
    )
    .unwrap();
    (
        format!("oci:{}:latest", dir.display()),
        written.manifest_digest.to_string(),
    )
}

#[tokio::test]
async fn a_plan_pushes_nothing_and_apply_pushes_and_deploys_exactly_the_planned_image() {
    let stack = PushStack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let plan_path = dir.path().join("plan.json");
    let (planned_dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (planned, digest) = image(planned_dir.path());
    let (other, _) = image(other_dir.path());
    let template = fixture("image.yaml");
    let cmd = |args: &[&str]| {
        let mut c = deployer_at(&stack.moto.endpoint, args);
        c.env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567");
        c
    };

    let report = run(cmd(&[
        "deploy",
        "--stack-name",
        "img",
        "--template",
        template.to_str().unwrap(),
        "--image",
        &planned,
        "--repository",
        "app",
        "--registry",
        &stack.proxy.url,
        "--plan-out",
        plan_path.to_str().unwrap(),
        "--output",
        "json",
    ]))
    .await
    .expect_code(0)
    .json();
    let host = stack.proxy.url.trim_start_matches("http://");
    let uri = format!("{host}/app@{digest}");
    assert_eq!(report["image_uri"], uri.as_str());
    assert_eq!(
        stack.proxy.requests(),
        vec![],
        "a plan sends nothing to the registry"
    );
    let written = read_json(&plan_path);
    assert_eq!(written["image_uri"], uri.as_str());
    assert_eq!(written["repository"], "app");
    assert_eq!(
        written["commit"],
        "0123456789abcdef0123456789abcdef01234567"
    );

    // Another image than the planned one: refused from the files, nothing pushed.
    let plan_arg = plan_path.to_str().unwrap();
    let wrong = run(cmd(&[
        "apply",
        plan_arg,
        "--image",
        &other,
        "--registry",
        &stack.proxy.url,
    ]))
    .await
    .expect_code(64);
    assert!(
        wrong.stderr.contains("but the plan deploys"),
        "{}",
        wrong.stderr
    );
    assert_eq!(stack.proxy.requests(), vec![]);
    // No image at all, and the registry does not have it: refused.
    let missing = run(cmd(&["apply", plan_arg, "--registry", &stack.proxy.url]))
        .await
        .expect_code(64);
    assert!(
        missing.stderr.contains("pass --image REF"),
        "{}",
        missing.stderr
    );
    // Pushed somewhere else than planned (another registry host): the change set would
    // run an image nobody pushed there, so nothing is executed.
    // (The same registry, named `localhost` instead of 127.0.0.1.)
    let elsewhere = stack.proxy.url.replace("127.0.0.1", "localhost");
    let moved = run(cmd(&[
        "apply",
        plan_arg,
        "--image",
        &planned,
        "--registry",
        &elsewhere,
    ]))
    .await
    .expect_code(1);
    assert!(
        moved.stderr.contains("but the plan deploys")
            && moved.stderr.contains("Nothing was executed"),
        "{}",
        moved.stderr
    );
    let cfn = stack.moto.cloudformation();
    let status = cfn
        .describe_stacks()
        .stack_name("img")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .stack_status()
        .unwrap()
        .as_str()
        .to_owned();
    assert_eq!(status, "REVIEW_IN_PROGRESS", "nothing was executed");

    // The planned image: pushed, checked, and the planned change set executed.
    let applied = run(cmd(&[
        "apply",
        plan_arg,
        "--image",
        &planned,
        "--registry",
        &stack.proxy.url,
        "--output",
        "json",
    ]))
    .await
    .expect_code(0)
    .json();
    assert_eq!(applied["stack_status"], "CREATE_COMPLETE", "{applied}");
    assert_eq!(applied["outputs"]["Image"], uri.as_str());
    assert_eq!(applied["change_set_id"], written["change_set_id"]);
    assert!(!stack.proxy.requests().is_empty(), "apply pushed the image");
}
