//! `deployer push` end to end: the real binary, ECR calls to a local moto, blobs to a
//! local Debian docker-registry behind a proxy that counts requests and injects faults.

use std::path::Path;

use crate::helpers::{PushStack, Run, closed_port_endpoint, deployer_at, run};
use http::Method;
use oci_push::layout::{ImageConfig, LayerSpec, WrittenImage, write_image};
use oci_push::test_support::{Fault, FaultAction, sample_layers, write_docker_archive};
use oci_push::{Digest, NoProgress};

/// `deployer push` through the proxy, and what these tests read back.
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

    /// `deployer push ARGS --registry PROXY`.
    async fn push(&self, args: &[&str]) -> Run {
        let mut all = vec!["push", "--registry", &self.proxy.url];
        all.extend_from_slice(args);
        run(deployer_at(&self.moto.endpoint, &all)).await
    }

    /// `host:port` of the registry as the deployer sees it.
    fn host(&self) -> &str {
        self.proxy.url.trim_start_matches("http://")
    }
}

/// An OCI layout of `layers` with the sample app's config.
fn build(dir: &Path, layers: &[LayerSpec]) -> WrittenImage {
    let config = ImageConfig {
        entrypoint: vec!["/service".into()],
        user: Some("65532".into()),
        ..ImageConfig::default()
    };
    write_image(dir, layers, &config, Some("latest")).unwrap()
}

#[tokio::test]
async fn push_creates_the_repository_and_an_unchanged_repush_uploads_nothing() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(3, 128 * 1024));
    let image = format!("oci:{}:latest", dir.path().display());

    let first = stack
        .push(&[
            "--image",
            &image,
            "--repository",
            "team/app",
            "--tag",
            "build-1",
            "--output",
            "json",
        ])
        .await
        .expect_code(0);
    let json = first.json();
    let uri = format!("{}/team/app@{}", stack.host(), written.manifest_digest);
    assert_eq!(json["uri"], uri.as_str());
    assert_eq!(json["tag"], "build-1");
    assert_eq!(json["repository_created"], true);
    assert_eq!(
        (
            json["blobs_uploaded"].as_u64(),
            json["blobs_skipped"].as_u64()
        ),
        (Some(4), Some(0))
    );
    assert!(
        first.stderr.contains("created ECR repository"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("uploaded in"),
        "CI gets a line per blob:\n{}",
        first.stderr
    );
    assert_eq!(
        stack
            .registry()
            .manifest_digest("team/app", "build-1", &NoProgress)
            .await
            .unwrap(),
        Some(written.manifest_digest.clone())
    );

    // The repository has the settings we promise.
    let ecr = stack.ecr();
    let described = ecr
        .describe_repositories()
        .repository_names("team/app")
        .send()
        .await
        .unwrap();
    let repo = &described.repositories()[0];
    assert_eq!(
        repo.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE")
    );
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        Some(true)
    );
    let policy = ecr
        .get_lifecycle_policy()
        .repository_name("team/app")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    // Only untagged images expire (see ecr::lifecycle): never one a stack runs.
    assert_eq!(policy["rules"][0]["selection"]["tagStatus"], "untagged");
    assert_eq!(policy["rules"][0]["action"]["type"], "expire");

    // Unchanged re-push: same URI on stdout, nothing uploaded.
    stack.proxy.clear();
    let again = stack
        .push(&[
            "--image",
            &image,
            "--repository",
            "team/app",
            "--tag",
            "build-1",
        ])
        .await
        .expect_code(0);
    assert_eq!(
        again.stdout,
        format!("{uri}\n"),
        "text output is the URI alone"
    );
    assert_eq!(stack.proxy.count(&Method::POST, "/blobs/uploads/"), 0);
    assert_eq!(stack.proxy.count(&Method::PUT, "/"), 0);

    // Same image, new tag: blobs are only checked.
    stack.proxy.clear();
    let retag = stack
        .push(&[
            "--image",
            &image,
            "--repository",
            "team/app",
            "--tag",
            "build-2",
            "--output",
            "json",
        ])
        .await
        .expect_code(0);
    assert_eq!(retag.json()["blobs_uploaded"], 0);
    assert_eq!(
        retag.stderr.matches("exists, skipped").count(),
        4,
        "{}",
        retag.stderr
    );
    assert_eq!(retag.json()["repository_created"], false);
    assert_eq!(stack.proxy.count(&Method::POST, "/blobs/uploads/"), 0);
}

#[tokio::test]
async fn a_tag_that_names_another_image_is_a_clear_error() {
    let stack = Stack::start().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = build(a.path(), &sample_layers(1, 1024));
    build(b.path(), &sample_layers(1, 1024));
    let image_a = format!("oci:{}", a.path().display());
    let image_b = format!("oci:{}", b.path().display());
    stack
        .push(&["--image", &image_a, "--repository", "app", "--tag", "v1"])
        .await
        .expect_code(0);

    let refused = stack
        .push(&["--image", &image_b, "--repository", "app", "--tag", "v1"])
        .await
        .expect_code(1);
    assert!(
        refused.stderr.contains("tag `v1` already points at"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains(first.manifest_digest.as_str()),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("use a new --tag"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn the_default_tag_is_the_commit_sha() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    let image = format!("oci:{}", dir.path().display());
    let mut command = deployer_at(
        &stack.moto.endpoint,
        &[
            "push",
            "--registry",
            &stack.proxy.url,
            "--image",
            &image,
            "--repository",
            "app",
            "--output",
            "json",
        ],
    );
    command.env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567");
    let pushed = run(command).await.expect_code(0);
    assert_eq!(pushed.json()["tag"], "0123456789ab");
}

#[tokio::test]
async fn a_docker_save_archive_is_pushed_with_the_same_content() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let layers = sample_layers(2, 64 * 1024);
    let written = build(&layout, &layers);
    let archive = dir.path().join("saved.tar");
    write_docker_archive(&layout, &written, &layers, &archive).unwrap();

    let image = format!("docker-archive:{}", archive.display());
    let pushed = stack
        .push(&[
            "--image",
            &image,
            "--repository",
            "saved",
            "--tag",
            "v1",
            "--output",
            "json",
        ])
        .await
        .expect_code(0);
    let digest = Digest::parse(pushed.json()["digest"].as_str().unwrap()).unwrap();

    let registry = stack.registry();
    let (_, bytes) = registry
        .get_manifest("saved", digest.as_str(), &NoProgress)
        .await
        .unwrap()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        manifest["config"]["digest"],
        written.config_digest.as_str(),
        "the config is pushed unchanged"
    );
    for (layer, spec) in manifest["layers"].as_array().unwrap().iter().zip(&layers) {
        let blob = registry
            .get_blob(
                "saved",
                &Digest::parse(layer["digest"].as_str().unwrap()).unwrap(),
                &NoProgress,
            )
            .await
            .unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2_decoder(&blob), &mut tar).unwrap();
        assert_eq!(tar, spec.tar().unwrap());
    }
}

fn flate2_decoder(bytes: &[u8]) -> impl std::io::Read + '_ {
    flate2::read::GzDecoder::new(bytes)
}

#[tokio::test]
async fn a_registry_failure_mid_upload_is_retried() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(2, 256 * 1024));
    let image = format!("oci:{}", dir.path().display());
    stack.proxy.inject(Fault {
        method: Method::PUT,
        path_contains: "/blobs/uploads/".into(),
        times: 1,
        action: FaultAction::Status(500),
    });
    stack.proxy.inject(Fault {
        method: Method::PUT,
        path_contains: "/blobs/uploads/".into(),
        times: 1,
        action: FaultAction::Drop,
    });

    let pushed = stack
        .push(&["--image", &image, "--repository", "app", "--tag", "v1"])
        .await
        .expect_code(0);
    assert!(pushed.stderr.contains("retrying"), "{}", pushed.stderr);
    assert_eq!(
        stack.proxy.count(&Method::POST, "/blobs/uploads/"),
        3 + 2,
        "each failure restarts its upload session"
    );
    assert_eq!(
        stack
            .registry()
            .manifest_digest("app", "v1", &NoProgress)
            .await
            .unwrap(),
        Some(written.manifest_digest)
    );
}

/// Bad input exits 64 and names the input, before any AWS call (the endpoint here is a
/// closed port: reaching it would fail differently).
#[tokio::test]
async fn bad_input_exits_64_naming_the_input() {
    let nowhere = closed_port_endpoint();
    let push = |args: &[&str]| {
        let mut all = vec!["push", "--registry", "http://127.0.0.1:9"];
        all.extend_from_slice(args);
        deployer_at(&nowhere, &all)
    };

    let missing = run(push(&[
        "--image",
        "oci-archive:/no/such/image.tar",
        "--repository",
        "app",
    ]))
    .await
    .expect_code(64);
    assert!(
        missing.stderr.contains("/no/such/image.tar"),
        "{}",
        missing.stderr
    );

    let transport = run(push(&[
        "--image",
        "docker://nginx:latest",
        "--repository",
        "app",
    ]))
    .await
    .expect_code(64);
    assert!(
        transport.stderr.contains("docker://nginx:latest")
            && transport.stderr.contains("oci:DIR[:TAG]"),
        "{}",
        transport.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(1, 1024));
    let image = format!("oci:{}", dir.path().display());
    let name = run(push(&["--image", &image, "--repository", "My_App"]))
        .await
        .expect_code(64);
    assert!(name.stderr.contains("`My_App`"), "{}", name.stderr);
    let tag = run(push(&[
        "--image",
        &image,
        "--repository",
        "app",
        "--tag=-bad",
    ]))
    .await
    .expect_code(64);
    assert!(tag.stderr.contains("`-bad`"), "{}", tag.stderr);

    let manifest = dir
        .path()
        .join("blobs/sha256")
        .join(written.manifest_digest.hex());
    let mut bytes = std::fs::read(&manifest).unwrap();
    bytes[5] ^= 0x20;
    std::fs::write(&manifest, bytes).unwrap();
    let corrupt = run(push(&["--image", &image, "--repository", "app"]))
        .await
        .expect_code(64);
    assert!(
        corrupt.stderr.contains("corrupt")
            && corrupt.stderr.contains(&manifest.display().to_string()),
        "{}",
        corrupt.stderr
    );
}

#[tokio::test]
async fn a_corrupt_layer_stops_the_push_naming_the_file() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(1, 4096));
    let layer = dir
        .path()
        .join("blobs/sha256")
        .join(written.layer_digests[0].hex());
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let image = format!("oci:{}", dir.path().display());
    let failed = stack
        .push(&["--image", &image, "--repository", "app", "--tag", "v1"])
        .await
        .expect_code(64);
    assert!(
        failed.stderr.contains(&layer.display().to_string()) && failed.stderr.contains("corrupt"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        stack
            .registry()
            .manifest_digest("app", "v1", &NoProgress)
            .await
            .unwrap(),
        None
    );
}
