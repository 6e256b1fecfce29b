//! `deployer deploy --image`: push to a local registry (ECR calls to moto), then deploy
//! the digest-pinned URI. The same image again is a no-op; a new image is an update.

use std::path::Path;

use crate::helpers::{Moto, deployer_at, fixture, run};
use oci_push::layout::{ImageConfig, LayerSpec, write_image};
use oci_push::test_support::{TestRegistry, sample_layers};

fn build(dir: &Path, layers: &[LayerSpec]) -> String {
    let written = write_image(dir, layers, &ImageConfig::default(), Some("latest")).unwrap();
    written.manifest_digest.to_string()
}

#[tokio::test]
async fn a_new_image_is_an_update_and_the_same_image_a_no_op() {
    let moto = Moto::start();
    let registry = TestRegistry::start()
        .await
        .expect("starting docker-registry");
    let cfn = moto.cloudformation();
    let template = fixture("image.yaml");
    let host = registry.url.trim_start_matches("http://").to_owned();
    let deploy = |image_dir: &Path, tag: &str| {
        let image = format!("oci:{}:latest", image_dir.display());
        let args = [
            "deploy",
            "--stack-name",
            "img",
            "--template",
            template.to_str().unwrap(),
            "--image",
            &image,
            "--repository",
            "app",
            "--image-tag",
            tag,
            "--registry",
            &registry.url,
            "--output",
            "json",
        ]
        .map(str::to_owned);
        deployer_at(
            &moto.endpoint,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )
    };

    let first = tempfile::tempdir().unwrap();
    let digest = build(first.path(), &sample_layers(2, 64 * 1024));
    let report = run(deploy(first.path(), "build-1"))
        .await
        .expect_code(0)
        .json();
    let uri = format!("{host}/app@{digest}");
    assert_eq!(report["image_uri"], uri.as_str());
    assert_eq!(report["stack_status"], "CREATE_COMPLETE");
    assert_eq!(report["outputs"]["Image"], uri.as_str());

    // Same image: pushed again (nothing uploaded), same URI, no change.
    let again = run(deploy(first.path(), "build-1")).await.expect_code(0);
    assert!(again.stderr.contains("No changes"), "{}", again.stderr);
    assert_eq!(again.json()["has_changes"], false);

    // A new image (new tag needed: the repository's tags are immutable).
    let second = tempfile::tempdir().unwrap();
    let digest2 = build(second.path(), &sample_layers(2, 64 * 1024));
    let report = run(deploy(second.path(), "build-2"))
        .await
        .expect_code(0)
        .json();
    let uri2 = format!("{host}/app@{digest2}");
    assert_eq!(report["stack_status"], "UPDATE_COMPLETE");
    assert!(
        report["parameter_changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "ImageUri"
                && c["old"] == uri.as_str()
                && c["new"] == uri2.as_str()),
        "{report}"
    );
    let stack = cfn
        .describe_stacks()
        .stack_name("img")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .clone();
    assert!(
        stack
            .parameters()
            .iter()
            .any(|p| p.parameter_value() == Some(uri2.as_str()))
    );
}
