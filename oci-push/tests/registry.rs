//! Pushes images to a real Debian `docker-registry` on loopback, through a proxy that
//! counts requests and injects faults, and pulls them back to compare.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use oci_push::layout::{ImageConfig, LayerSpec, WrittenImage, write_image};
use oci_push::test_support::{
    Fault, FaultAction, Proxy, TestRegistry, sample_layers, write_docker_archive, write_oci_archive,
};
use oci_push::{
    Error, ImageSource, NoProgress, Progress, PushOptions, Registry, RetryPolicy, push_image,
};

struct Setup {
    _registry: TestRegistry,
    proxy: Proxy,
    client: Registry,
}

async fn setup() -> Setup {
    let registry = TestRegistry::start()
        .await
        .expect("starting docker-registry");
    let proxy = Proxy::start(&registry.url).await.expect("starting proxy");
    let fast = RetryPolicy {
        attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    };
    let client = Registry::new(&proxy.url, None).unwrap().with_retry(fast);
    Setup {
        _registry: registry,
        proxy,
        client,
    }
}

fn none() -> Arc<dyn Progress> {
    Arc::new(NoProgress)
}

fn tagged(tag: &str) -> PushOptions {
    PushOptions {
        tag: Some(tag.to_owned()),
        ..PushOptions::default()
    }
}

fn build(dir: &Path, layers: &[LayerSpec]) -> WrittenImage {
    let config = ImageConfig {
        entrypoint: vec!["/bin/app".into()],
        ..ImageConfig::default()
    };
    write_image(dir, layers, &config, Some("v1")).unwrap()
}

/// Pulls every layer of the manifest `reference` and returns the gunzipped tars.
async fn pull_layer_tars(
    client: &Registry,
    repo: &str,
    reference: &str,
) -> (serde_json::Value, Vec<Vec<u8>>) {
    let (_, bytes) = client
        .get_manifest(repo, reference, &NoProgress)
        .await
        .unwrap()
        .expect("manifest exists");
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let mut tars = Vec::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let digest = oci_push::Digest::parse(layer["digest"].as_str().unwrap()).unwrap();
        let gz = client.get_blob(repo, &digest, &NoProgress).await.unwrap();
        assert_eq!(
            oci_push::Digest::of_bytes(&gz),
            digest,
            "registry returned the blob it stored"
        );
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_ref()), &mut tar)
            .unwrap();
        tars.push(tar);
    }
    (manifest, tars)
}

#[tokio::test]
async fn push_then_repush_uploads_each_blob_once() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(3, 64 * 1024));
    let image = ImageSource::open(&format!("oci:{}:v1", dir.path().display())).unwrap();

    let first = push_image(&s.client, "team/app", &image, &tagged("v1"), none())
        .await
        .unwrap();
    assert_eq!(first.digest, written.manifest_digest);
    assert_eq!(
        (first.blobs_uploaded, first.blobs_skipped),
        (4, 0),
        "config + 3 layers"
    );
    assert_eq!(s.proxy.count(&Method::POST, "/blobs/uploads/"), 4);

    let (_, pulled) = s
        .client
        .get_manifest("team/app", "v1", &NoProgress)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pulled,
        image.root().bytes,
        "the registry serves the exact manifest bytes"
    );
    assert_eq!(
        s.client
            .manifest_digest("team/app", "v1", &NoProgress)
            .await
            .unwrap(),
        Some(written.manifest_digest.clone())
    );

    // Same tag, same image: done without uploading (or even checking) any blob.
    s.proxy.clear();
    let again = push_image(&s.client, "team/app", &image, &tagged("v1"), none())
        .await
        .unwrap();
    assert_eq!(
        (
            again.blobs_uploaded,
            again.blobs_skipped,
            again.bytes_uploaded
        ),
        (0, 4, 0)
    );
    assert_eq!(s.proxy.count(&Method::POST, "/blobs/uploads/"), 0);
    assert_eq!(s.proxy.count(&Method::PUT, "/manifests/"), 0);

    // A new tag for the same image: blobs are checked (HEAD) but none is uploaded.
    s.proxy.clear();
    let retag = push_image(&s.client, "team/app", &image, &tagged("v2"), none())
        .await
        .unwrap();
    assert_eq!((retag.blobs_uploaded, retag.blobs_skipped), (0, 4));
    assert_eq!(s.proxy.count(&Method::POST, "/blobs/uploads/"), 0);
    assert_eq!(s.proxy.count(&Method::HEAD, "/blobs/"), 4);
}

#[tokio::test]
async fn a_tag_naming_another_image_is_refused_before_uploading() {
    let s = setup().await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = build(a.path(), &sample_layers(1, 1024));
    build(b.path(), &sample_layers(1, 1024));
    let image_a = ImageSource::open(&format!("oci:{}", a.path().display())).unwrap();
    let image_b = ImageSource::open(&format!("oci:{}", b.path().display())).unwrap();
    push_image(&s.client, "app", &image_a, &tagged("release"), none())
        .await
        .unwrap();

    s.proxy.clear();
    let err = push_image(&s.client, "app", &image_b, &tagged("release"), none())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::TagConflict { .. }), "{message}");
    assert!(
        message.contains("tag `release` already points at")
            && message.contains(first.manifest_digest.as_str()),
        "{message}"
    );
    assert!(message.contains("use a new --tag"), "{message}");
    assert_eq!(s.proxy.count(&Method::POST, "/blobs/uploads/"), 0);
    assert_eq!(
        s.client
            .manifest_digest("app", "release", &NoProgress)
            .await
            .unwrap(),
        Some(first.manifest_digest)
    );
}

#[tokio::test]
async fn pushing_by_digest_only_needs_no_tag() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(2, 1024));
    let image = ImageSource::open(&format!("oci:{}", dir.path().display())).unwrap();
    let report = push_image(&s.client, "app", &image, &PushOptions::default(), none())
        .await
        .unwrap();
    assert_eq!(report.tag, None);
    assert_eq!(
        s.client
            .manifest_digest("app", written.manifest_digest.as_str(), &NoProgress)
            .await
            .unwrap(),
        Some(written.manifest_digest)
    );
}

#[tokio::test]
async fn oci_and_docker_archives_push_the_same_content_as_the_layout() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let layers = sample_layers(3, 32 * 1024);
    let written = build(dir.path().join("layout").as_path(), &layers);
    let layout = dir.path().join("layout");
    let oci_archive = dir.path().join("image.tar");
    let docker_archive = dir.path().join("docker.tar");
    write_oci_archive(&layout, &oci_archive).unwrap();
    write_docker_archive(&layout, &written, &layers, &docker_archive).unwrap();

    let from_oci_archive =
        ImageSource::open(&format!("oci-archive:{}:v1", oci_archive.display())).unwrap();
    let report = push_image(
        &s.client,
        "from-oci-archive",
        &from_oci_archive,
        &tagged("v1"),
        none(),
    )
    .await
    .unwrap();
    assert_eq!(
        report.digest, written.manifest_digest,
        "an oci-archive holds the very same image"
    );

    let from_docker =
        ImageSource::open(&format!("docker-archive:{}", docker_archive.display())).unwrap();
    push_image(
        &s.client,
        "from-docker",
        &from_docker,
        &tagged("v1"),
        none(),
    )
    .await
    .unwrap();

    let expected: Vec<Vec<u8>> = layers.iter().map(|l| l.tar().unwrap()).collect();
    let (_, oci_tars) = pull_layer_tars(&s.client, "from-oci-archive", "v1").await;
    let (docker_manifest, docker_tars) = pull_layer_tars(&s.client, "from-docker", "v1").await;
    assert_eq!(oci_tars, expected);
    assert_eq!(
        docker_tars, expected,
        "docker-archive layers, gzipped by us, unpack to the saved tars"
    );
    assert_eq!(
        docker_manifest["config"]["digest"],
        written.config_digest.as_str(),
        "config pushed unchanged"
    );
    for layer in docker_manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
    }
}

#[tokio::test]
async fn a_failed_upload_is_retried_from_a_new_session() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(2, 256 * 1024));
    let image = ImageSource::open(&format!("oci:{}", dir.path().display())).unwrap();
    s.proxy.inject(Fault {
        method: Method::PUT,
        path_contains: "/blobs/uploads/".into(),
        times: 1,
        action: FaultAction::Status(500),
    });
    s.proxy.inject(Fault {
        method: Method::PUT,
        path_contains: "/blobs/uploads/".into(),
        times: 1,
        action: FaultAction::Drop,
    });
    s.proxy.inject(Fault {
        method: Method::HEAD,
        path_contains: "/blobs/".into(),
        times: 1,
        action: FaultAction::Status(503),
    });

    let report = push_image(&s.client, "app", &image, &tagged("v1"), none())
        .await
        .unwrap();
    assert_eq!(report.blobs_uploaded, 3);
    assert_eq!(
        s.proxy.count(&Method::POST, "/blobs/uploads/"),
        3 + 2,
        "two failed sessions were restarted"
    );
    let (_, tars) = pull_layer_tars(&s.client, "app", "v1").await;
    assert_eq!(tars.len(), 2);
    assert_eq!(
        s.client
            .manifest_digest("app", "v1", &NoProgress)
            .await
            .unwrap(),
        Some(written.manifest_digest)
    );
}

#[tokio::test]
async fn retries_give_up_with_a_message_naming_the_request() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &sample_layers(1, 1024));
    let image = ImageSource::open(&format!("oci:{}", dir.path().display())).unwrap();
    s.proxy.inject(Fault {
        method: Method::POST,
        path_contains: "/blobs/uploads/".into(),
        times: 100,
        action: FaultAction::Status(502),
    });
    let err = push_image(&s.client, "app", &image, &tagged("v1"), none())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("failed after 4 attempts") && err.contains("502"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_layer_fails_the_push_naming_the_file() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &sample_layers(1, 4096));
    let layer = dir
        .path()
        .join("blobs/sha256")
        .join(written.layer_digests[0].hex());
    let mut bytes = std::fs::read(&layer).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();

    let image = ImageSource::open(&format!("oci:{}", dir.path().display())).unwrap();
    let err = push_image(&s.client, "app", &image, &tagged("v1"), none())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(err.is_input(), "{message}");
    assert!(
        message.contains(written.layer_digests[0].as_str())
            && message.contains(&layer.display().to_string()),
        "{message}"
    );
    assert_eq!(
        s.client
            .manifest_digest("app", "v1", &NoProgress)
            .await
            .unwrap(),
        None,
        "nothing was tagged"
    );
}

#[tokio::test]
async fn a_multi_platform_index_is_pushed_with_its_children() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    // Two single-image layouts written into one directory, then an index over both,
    // which is how buildx lays out a multi-platform image.
    let amd = write_image(
        dir.path(),
        &sample_layers(1, 1024),
        &ImageConfig {
            architecture: "amd64".into(),
            ..ImageConfig::default()
        },
        None,
    )
    .unwrap();
    let arm = write_image(
        dir.path(),
        &sample_layers(1, 1024),
        &ImageConfig {
            architecture: "arm64".into(),
            ..ImageConfig::default()
        },
        None,
    )
    .unwrap();
    let size = |d: &oci_push::Digest| {
        std::fs::metadata(dir.path().join("blobs/sha256").join(d.hex()))
            .unwrap()
            .len()
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd.manifest_digest, "size": size(&amd.manifest_digest), "platform": { "os": "linux", "architecture": "amd64" } },
            { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm.manifest_digest, "size": size(&arm.manifest_digest), "platform": { "os": "linux", "architecture": "arm64" } },
        ],
    });
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let index_digest = oci_push::Digest::of_bytes(&index_bytes);
    std::fs::write(
        dir.path().join("blobs/sha256").join(index_digest.hex()),
        &index_bytes,
    )
    .unwrap();
    let top = serde_json::json!({ "schemaVersion": 2, "manifests": [
        { "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest, "size": index_bytes.len(), "annotations": { "org.opencontainers.image.ref.name": "multi" } }
    ]});
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&top).unwrap(),
    )
    .unwrap();

    let image = ImageSource::open(&format!("oci:{}:multi", dir.path().display())).unwrap();
    assert_eq!(image.manifests.len(), 3);
    let report = push_image(&s.client, "multi", &image, &tagged("v1"), none())
        .await
        .unwrap();
    assert_eq!(report.digest, index_digest);
    assert_eq!(report.media_type, "application/vnd.oci.image.index.v1+json");
    let (media, bytes) = s
        .client
        .get_manifest("multi", "v1", &NoProgress)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (media.as_str(), bytes.as_ref()),
        (
            "application/vnd.oci.image.index.v1+json",
            index_bytes.as_slice()
        )
    );
    for child in [&amd.manifest_digest, &arm.manifest_digest] {
        assert_eq!(
            s.client
                .manifest_digest("multi", child.as_str(), &NoProgress)
                .await
                .unwrap()
                .as_ref(),
            Some(child)
        );
    }
}
