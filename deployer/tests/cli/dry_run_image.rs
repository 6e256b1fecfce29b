//! `deploy --dry-run --image` writes nothing to ECR or the registry (a pull request's
//! preview must not change what production pulls), and previews exactly the image URI
//! the real deploy then deploys. ECR calls are read from moto's own request recorder.

use std::path::Path;

use oci_push::layout::{ImageConfig, write_image};
use oci_push::test_support::{Proxy, TestRegistry, sample_layers};

use crate::helpers::{Moto, deployer_at, fixture, run};

/// The ECR operations (X-Amz-Target) moto recorded, in order.
fn ecr_calls(recording: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(recording) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let headers = entry["headers"].as_object()?;
            let target = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))?
                .1
                .as_str()?;
            target
                .strip_prefix("AmazonEC2ContainerRegistry_V20150921.")
                .map(str::to_owned)
        })
        .collect()
}

/// ECR operations that change nothing.
fn is_read(operation: &str) -> bool {
    ["Describe", "Get", "List", "BatchCheck"]
        .iter()
        .any(|p| operation.starts_with(p))
        && operation != "GetAuthorizationToken"
}

fn deploy_args(template: &Path, image: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "deploy",
        "--stack-name",
        "preview",
        "--template",
        template.to_str().unwrap(),
        "--image",
        image,
        "--repository",
        "app",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_owned).collect()
}

fn command(moto: &Moto, args: &[String]) -> std::process::Command {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = deployer_at(&moto.endpoint, &args);
    command.env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567");
    command
}

#[tokio::test]
async fn a_dry_run_pushes_and_creates_nothing_and_previews_the_uri_the_deploy_uses() {
    let recording_dir = tempfile::tempdir().unwrap();
    let recording = recording_dir.path().join("moto.jsonl");
    let moto = Moto::start_with_env(&[
        ("MOTO_ENABLE_RECORDING", "true"),
        ("MOTO_RECORDER_FILEPATH", recording.to_str().unwrap()),
    ]);
    let registry = TestRegistry::start()
        .await
        .expect("starting docker-registry");
    let proxy = Proxy::start(&registry.url)
        .await
        .expect("starting the proxy");
    let dir = tempfile::tempdir().unwrap();
    let written = write_image(
        dir.path(),
        &sample_layers(2, 4096),
        &ImageConfig::default(),
        Some("latest"),
    )
    .unwrap();
    let image = format!("oci:{}:latest", dir.path().display());
    let template = fixture("image.yaml");

    // Without --registry: the URI comes from ECR's read-only calls (the repository
    // does not exist yet, so the account from DescribeRegistry).
    let preview = run(command(
        &moto,
        &deploy_args(&template, &image, &["--dry-run"]),
    ))
    .await
    .expect_code(0);
    let report = preview.json();
    let expected = format!(
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{}",
        written.manifest_digest
    );
    assert_eq!(report["image_uri"], expected.as_str(), "{}", preview.stderr);
    assert!(
        report["parameter_changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "ImageUri" && c["new"] == expected.as_str()),
        "the change set shows the image: {report}"
    );
    assert!(
        preview.stderr.contains("image not pushed"),
        "{}",
        preview.stderr
    );
    let calls = ecr_calls(&recording);
    assert!(!calls.is_empty(), "the recorder saw the ECR calls");
    let writes: Vec<&String> = calls.iter().filter(|c| !is_read(c)).collect();
    assert!(
        writes.is_empty(),
        "a dry run made ECR calls that are not reads: {writes:?} (all: {calls:?})"
    );
    let ecr = crate::helpers::ecr_client(&moto);
    let repositories = ecr.describe_repositories().send().await.unwrap();
    assert!(
        repositories.repositories().is_empty(),
        "no repository was created"
    );
    // The URI is the one ECR gives the repository once it exists.
    let created = ecr
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert!(expected.starts_with(created.repository().unwrap().repository_uri().unwrap()));

    // With --registry: nothing at all reaches the registry, and the real deploy then
    // deploys exactly the previewed URI.
    let registry_arg = ["--registry", proxy.url.as_str()];
    let preview = run(command(
        &moto,
        &deploy_args(
            &template,
            &image,
            &[&["--dry-run"][..], &registry_arg].concat(),
        ),
    ))
    .await
    .expect_code(0);
    let previewed = preview.json()["image_uri"].as_str().unwrap().to_owned();
    assert_eq!(
        proxy.requests(),
        vec![],
        "a dry run sends nothing to the registry"
    );
    let catalog = reqwest_catalog(&registry.url).await;
    assert_eq!(
        catalog, "{\"repositories\":[]}",
        "the registry holds nothing"
    );
    let deployed = run(command(
        &moto,
        &deploy_args(&template, &image, &registry_arg),
    ))
    .await
    .expect_code(0)
    .json();
    assert_eq!(deployed["image_uri"], previewed.as_str());
    assert_eq!(deployed["outputs"]["Image"], previewed.as_str());
    let calls = ecr_calls(&recording);
    assert!(
        calls
            .iter()
            .any(|c| c == "PutImage" || c == "GetAuthorizationToken"),
        "the real deploy is visible to the recorder, so an empty list above meant something: {calls:?}"
    );
}

/// `GET /v2/_catalog` of the registry itself (not through the proxy).
async fn reqwest_catalog(base: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let host = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("GET /v2/_catalog HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
        .unwrap_or_default()
}
