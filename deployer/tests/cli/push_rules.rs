//! The push rules a real account needs, end to end on moto (ECR) and a Debian
//! docker-registry behind a fault-injecting proxy: a re-run of a commit never fails on
//! its tag, lifecycle policies never expire a deployed image, and the registry I/O
//! settings and refusals reach the user.

use http::Method;
use oci_push::layout::{ImageConfig, LayerSpec, WrittenImage, write_image};
use oci_push::test_support::{Fault, FaultAction, sample_layers};
use oci_push::{Digest, NoProgress};

use crate::helpers::{PushStack, Run, deployer_at, fixture, run};

/// The commit every test pretends to build.
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const SHA12: &str = "0123456789ab";

/// The shared push stack, with pushes that pretend to build [`SHA`].
struct Stack(PushStack);

impl std::ops::Deref for Stack {
    type Target = PushStack;
    fn deref(&self) -> &PushStack {
        &self.0
    }
}

impl Stack {
    async fn start() -> Self {
        Self(PushStack::start().await)
    }

    /// `deployer ARGS` built from commit [`SHA`], pushing through the proxy.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = deployer_at(&self.moto.endpoint, args);
        command
            .env("GITHUB_SHA", SHA)
            .env("DEPLOYER_REGISTRY", &self.proxy.url);
        command
    }

    async fn push(&self, image: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "push",
            "--image",
            image,
            "--repository",
            "app",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        run(self.command(&args)).await
    }

    async fn tag(&self, tag: &str) -> Option<Digest> {
        self.registry()
            .manifest_digest("app", tag, &NoProgress)
            .await
            .unwrap()
    }
}

/// A fresh build: every call gives an image with another digest, as a re-run's
/// non-reproducible build does.
fn build(dir: &std::path::Path, layers: &[LayerSpec]) -> WrittenImage {
    write_image(dir, layers, &ImageConfig::default(), Some("latest")).unwrap()
}

fn oci(dir: &tempfile::TempDir) -> String {
    format!("oci:{}:latest", dir.path().display())
}

#[tokio::test]
async fn a_re_run_of_a_commit_pushes_its_new_build_under_a_derived_tag() {
    let stack = Stack::start().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = build(a.path(), &sample_layers(1, 4096));
    let second = build(b.path(), &sample_layers(1, 4096));

    let pushed = stack.push(&oci(&a), &[]).await.expect_code(0).json();
    assert_eq!(pushed["tag"], SHA12);

    // The re-run built another image of the same commit: it must not fail.
    let rerun = stack.push(&oci(&b), &[]).await.expect_code(0);
    let json = rerun.json();
    let derived = format!("{SHA12}-{}", &second.manifest_digest.hex()[..12]);
    assert_eq!(json["tag"], derived.as_str());
    assert_eq!(json["tag_taken"], SHA12);
    let host = stack.proxy.url.trim_start_matches("http://");
    assert_eq!(
        json["uri"],
        format!("{host}/app@{}", second.manifest_digest).as_str(),
        "pinned by digest"
    );
    assert!(
        rerun.stderr.contains(&format!("is pushed as {derived}")),
        "the run says what it did:\n{}",
        rerun.stderr
    );
    // The commit tag did not move; the derived one names the new build.
    assert_eq!(stack.tag(SHA12).await, Some(first.manifest_digest.clone()));
    assert_eq!(
        stack.tag(&derived).await,
        Some(second.manifest_digest.clone())
    );

    // A third run of the same build: nothing to do, same tag, nothing uploaded.
    stack.proxy.clear();
    let again = stack.push(&oci(&b), &[]).await.expect_code(0).json();
    assert_eq!(again["tag"], derived.as_str());
    assert_eq!(again["blobs_uploaded"], 0);
    assert_eq!(stack.proxy.count(&Method::PUT, "/"), 0);

    // A tag the user chose still never names two images: that stays an error.
    let refused = stack.push(&oci(&b), &["--tag", SHA12]).await.expect_code(1);
    assert!(
        refused.stderr.contains("already points at"),
        "{}",
        refused.stderr
    );
}

/// ECR refuses a manifest PUT for a tag that exists with `TAG_INVALID` (400); the
/// docker-registry would accept it and move the tag, so the proxy answers as ECR does
/// when the tag appears between our check and our PUT (another run pushed it).
#[tokio::test]
async fn a_tag_taken_between_the_check_and_the_put_is_derived_too() {
    let stack = Stack::start().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = build(a.path(), &sample_layers(1, 4096));
    let second = build(b.path(), &sample_layers(1, 4096));
    stack.push(&oci(&a), &[]).await.expect_code(0);

    let manifest = format!("/manifests/{SHA12}");
    stack.proxy.inject(Fault {
        method: Method::HEAD,
        path_contains: manifest.clone(),
        times: 1,
        action: FaultAction::Status(404),
    });
    stack.proxy.inject(Fault {
        method: Method::PUT,
        path_contains: manifest.clone(),
        times: 1,
        action: FaultAction::Reply {
            status: 400,
            body: r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag '0123456789ab' already exists in the 'app' repository and cannot be overwritten because the repository is immutable."}]}"#,
        },
    });
    let rerun = stack.push(&oci(&b), &[]).await.expect_code(0).json();
    let derived = format!("{SHA12}-{}", &second.manifest_digest.hex()[..12]);
    assert_eq!(rerun["tag"], derived.as_str());
    assert_eq!(stack.tag(SHA12).await, Some(first.manifest_digest));
    assert_eq!(stack.tag(&derived).await, Some(second.manifest_digest));
}

#[tokio::test]
async fn a_re_run_deploy_of_a_commit_deploys_the_image_it_built() {
    let stack = Stack::start().await;
    let template = fixture("image.yaml");
    let deploy = |dir: &tempfile::TempDir| {
        let image = oci(dir);
        let args = [
            "deploy",
            "--stack-name",
            "rerun",
            "--template",
            template.to_str().unwrap(),
            "--image",
            &image,
            "--repository",
            "app",
            "--output",
            "json",
        ]
        .map(str::to_owned);
        stack.command(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    build(a.path(), &sample_layers(1, 4096));
    let second = build(b.path(), &sample_layers(1, 4096));
    run(deploy(&a)).await.expect_code(0);

    let report = run(deploy(&b)).await.expect_code(0).json();
    let host = stack.proxy.url.trim_start_matches("http://");
    let uri = format!("{host}/app@{}", second.manifest_digest);
    assert_eq!(report["stack_status"], "UPDATE_COMPLETE");
    assert_eq!(report["outputs"]["Image"], uri.as_str());
}

#[tokio::test]
async fn a_new_repository_gets_a_policy_that_expires_only_untagged_images() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    let pushed = stack.push(&oci(&dir), &[]).await.expect_code(0);
    assert!(
        pushed.stderr.contains("tagged ones never"),
        "{}",
        pushed.stderr
    );
    let policy = stack
        .ecr()
        .get_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    let rules = policy["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["selection"]["tagStatus"] == "untagged"),
        "no rule may select tagged images: {policy}"
    );
    assert_eq!(rules[0]["selection"]["countType"], "sinceImagePushed");
}

const OLD_POLICY: &str = r#"{"rules":[{"rulePriority":1,"description":"Keep the last 30 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}}]}"#;

#[tokio::test]
async fn an_existing_repository_with_our_old_policy_gets_the_new_one_and_another_is_warned_about() {
    let stack = Stack::start().await;
    let ecr = stack.ecr();
    let theirs = r#"{"rules":[{"rulePriority":3,"selection":{"tagStatus":"tagged","tagPatternList":["*"],"countType":"imageCountMoreThan","countNumber":50},"action":{"type":"expire"}}]}"#;
    for (name, policy) in [("old", OLD_POLICY), ("theirs", theirs)] {
        ecr.create_repository()
            .repository_name(name)
            .send()
            .await
            .unwrap();
        ecr.put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(policy)
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    let policy_of = |name: &'static str| {
        let ecr = ecr.clone();
        async move {
            let text = ecr
                .get_lifecycle_policy()
                .repository_name(name)
                .send()
                .await
                .unwrap()
                .lifecycle_policy_text()
                .unwrap()
                .to_owned();
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };

    let old = run(stack.command(&["push", "--image", &oci(&dir), "--repository", "old"]))
        .await
        .expect_code(0);
    assert!(
        old.stderr.contains("replaced the old lifecycle policy"),
        "{}",
        old.stderr
    );
    assert_eq!(
        policy_of("old").await["rules"][0]["selection"]["tagStatus"],
        "untagged"
    );

    let other = run(stack.command(&["push", "--image", &oci(&dir), "--repository", "theirs"]))
        .await
        .expect_code(0);
    assert!(
        other.stderr.contains("can expire tagged images (rule 3)"),
        "{}",
        other.stderr
    );
    assert_eq!(
        policy_of("theirs").await,
        serde_json::from_str::<serde_json::Value>(theirs).unwrap(),
        "someone else's policy is left alone"
    );
}

#[tokio::test]
async fn the_registry_sees_the_deployers_user_agent() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    stack.push(&oci(&dir), &[]).await.expect_code(0);
    let seen = stack.proxy.requests();
    assert!(!seen.is_empty());
    let expected = concat!("deployer/", env!("CARGO_PKG_VERSION"), " oci-push/");
    for request in seen {
        assert!(
            request
                .user_agent
                .as_deref()
                .is_some_and(|ua| ua.starts_with(expected)),
            "{request:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_token_and_a_missing_permission_are_told_apart() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    // On an upload (a HEAD answer has no body to say "expired" in: see below).
    stack.proxy.inject(Fault {
        method: Method::POST,
        path_contains: "/blobs/uploads/".into(),
        times: 100,
        action: FaultAction::Reply {
            status: 403,
            body: r#"{"errors":[{"code":"DENIED","message":"Your authorization token has expired. Reauthenticate and try again."}]}"#,
        },
    });
    let expired = stack.push(&oci(&dir), &[]).await.expect_code(1);
    assert!(
        expired.stderr.contains("login token has expired")
            && expired.stderr.contains("running it again is the fix"),
        "{}",
        expired.stderr
    );

    let stack = Stack::start().await;
    stack.proxy.inject(Fault {
        method: Method::POST,
        path_contains: "/blobs/uploads/".into(),
        times: 100,
        action: FaultAction::Reply {
            status: 403,
            body: r#"{"errors":[{"code":"DENIED","message":"User: arn:aws:sts::123456789012:assumed-role/plan/ci is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/app because no identity-based policy allows the ecr:InitiateLayerUpload action"}]}"#,
        },
    });
    let denied = stack.push(&oci(&dir), &[]).await.expect_code(1);
    assert!(
        denied.stderr.contains("lacks a permission")
            && denied.stderr.contains("ecr:InitiateLayerUpload")
            && denied.stderr.contains("running again will not help"),
        "{}",
        denied.stderr
    );
    assert!(!denied.stderr.contains("has expired"), "{}", denied.stderr);

    // A 403 to a HEAD says nothing more: the message admits both causes.
    let stack = Stack::start().await;
    stack.proxy.inject(Fault {
        method: Method::HEAD,
        path_contains: "/blobs/".into(),
        times: 100,
        action: FaultAction::Status(403),
    });
    let unclear = stack.push(&oci(&dir), &[]).await.expect_code(1);
    assert!(
        unclear.stderr.contains("may also be an expired token")
            && unclear
                .stderr
                .contains("if running again ends the same way"),
        "{}",
        unclear.stderr
    );
}

#[tokio::test]
async fn the_push_deadline_and_timeouts_come_from_flags_and_environment() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    stack.proxy.inject(Fault {
        method: Method::HEAD,
        path_contains: "/blobs/".into(),
        times: 100,
        action: FaultAction::Stall,
    });
    let started = std::time::Instant::now();
    let mut command = stack.command(&["push", "--image", &oci(&dir), "--repository", "app"]);
    command.env("DEPLOYER_PUSH_TIMEOUT", "2s");
    let stalled = run(command).await.expect_code(1);
    assert!(
        stalled.stderr.contains("deadline of 2 s") && stalled.stderr.contains("--push-timeout"),
        "{}",
        stalled.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    let idle = stack
        .push(
            &oci(&dir),
            &["--registry-idle-timeout", "1s", "--push-timeout", "0"],
        )
        .await
        .expect_code(1);
    assert!(
        idle.stderr.contains("idle timeout") && idle.stderr.contains("--registry-idle-timeout"),
        "{}",
        idle.stderr
    );

    let bad = stack
        .push(&oci(&dir), &["--push-timeout", "soon"])
        .await
        .expect_code(64);
    assert!(
        bad.stderr.contains("--push-timeout") && bad.stderr.contains("`soon`"),
        "{}",
        bad.stderr
    );
}
