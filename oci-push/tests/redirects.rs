//! Credentials and the registry's `Location`s and redirects, against loopback stand-ins
//! that record every request's `Authorization`: the registry's own origin (scheme, host,
//! port) gets them, nothing else does, and storage redirects (ECR's 307 to pre-signed
//! S3 URLs) still work. (https → http is refused; no TLS stand-in here, so that rule is
//! tested in `redirect.rs`'s unit tests.)

use std::path::Path;
use std::sync::Arc;

use http::Method;
use oci_push::layout::{ImageConfig, write_image};
use oci_push::test_support::{Stub, StubReply, sample_layers};
use oci_push::{Blob, Credentials, Error, ImageSource, NoProgress, Registry, RetryPolicy};

fn client(url: &str) -> Registry {
    Registry::new(
        url,
        Some(Credentials::Basic {
            username: "AWS".into(),
            password: "registry-token".into(),
        }),
    )
    .unwrap()
    .with_retry(RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    })
}

fn a_blob(dir: &Path) -> Blob {
    write_image(dir, &sample_layers(1, 4096), &ImageConfig::default(), None).unwrap();
    let image = ImageSource::open(&format!("oci:{}", dir.display())).unwrap();
    image.blobs.last().unwrap().clone()
}

fn reply(status: u16, headers: &[(&str, String)], body: &[u8]) -> StubReply {
    StubReply {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        body: body.to_vec(),
    }
}

/// Storage: takes PUTs, serves `content` on GET/HEAD.
async fn storage(content: &'static [u8]) -> Stub {
    Stub::start(move |req| match req.method {
        Method::PUT => reply(201, &[], b""),
        _ => reply(
            200,
            &[("content-length", content.len().to_string())],
            content,
        ),
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn an_upload_location_on_another_port_or_host_gets_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let blob = a_blob(dir.path());
    let elsewhere = storage(b"").await;
    // Same host and scheme, another port: the case a host-only comparison got wrong.
    // Then another host name for the same address.
    for target in [
        format!("http://127.0.0.1:{}/upload/1?_state=s", elsewhere.port),
        format!("http://localhost:{}/upload/2?_state=s", elsewhere.port),
    ] {
        let location = target.clone();
        let registry = Stub::start(move |_| reply(202, &[("location", location.clone())], b""))
            .await
            .unwrap();
        client(&registry.url)
            .upload_blob("app", &blob, Arc::new(NoProgress))
            .await
            .unwrap();
        let post = &registry.requests()[0];
        assert_eq!(post.method, Method::POST);
        assert!(
            post.authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Basic ")),
            "the registry itself gets the credentials: {post:?}"
        );
        let put = elsewhere.requests().pop().unwrap();
        assert_eq!(
            (put.method.clone(), put.body_len as u64),
            (Method::PUT, blob.size)
        );
        assert_eq!(put.authorization, None, "{target}: {put:?}");
    }
}

#[tokio::test]
async fn a_same_origin_upload_location_keeps_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let blob = a_blob(dir.path());
    let registry = Stub::start(|req| match req.method {
        Method::POST => reply(
            202,
            &[("location", "/v2/app/blobs/uploads/u1?_state=s".into())],
            b"",
        ),
        _ => reply(201, &[], b""),
    })
    .await
    .unwrap();
    client(&registry.url)
        .upload_blob("app", &blob, Arc::new(NoProgress))
        .await
        .unwrap();
    let seen = registry.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|r| r.authorization.is_some()), "{seen:?}");
}

#[tokio::test]
async fn a_blob_redirected_to_storage_is_read_there_without_credentials() {
    const CONTENT: &[u8] = b"layer bytes";
    let s3 = storage(CONTENT).await;
    let presigned = format!(
        "http://127.0.0.1:{}/starport-layer-bucket/key?X-Amz-Signature=abc",
        s3.port
    );
    let registry = Stub::start(move |_| reply(307, &[("location", presigned.clone())], b""))
        .await
        .unwrap();
    let client = client(&registry.url);
    let digest = oci_push::Digest::of_bytes(CONTENT);
    let got = client.get_blob("app", &digest, &NoProgress).await.unwrap();
    assert_eq!(&got[..], CONTENT);
    assert!(
        client
            .blob_exists("app", &digest, &NoProgress)
            .await
            .unwrap()
    );

    let asked = registry.requests();
    assert!(asked.iter().all(|r| r.authorization.is_some()), "{asked:?}");
    let fetched = s3.requests();
    assert_eq!(
        fetched.iter().map(|r| r.method.clone()).collect::<Vec<_>>(),
        [Method::GET, Method::HEAD]
    );
    for r in &fetched {
        assert_eq!(r.authorization, None, "{r:?}");
        assert_eq!(r.query.as_deref(), Some("X-Amz-Signature=abc"));
    }
}

#[tokio::test]
async fn a_redirect_loop_ends_with_an_error_that_names_the_request() {
    let registry =
        Stub::start(|req| reply(302, &[("location", format!("{}?again", req.path))], b""))
            .await
            .unwrap();
    let digest = oci_push::Digest::of_bytes(b"x");
    let err = client(&registry.url)
        .get_blob("app", &digest, &NoProgress)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("redirected more than 5 times")
            && text.contains(&format!("/v2/app/blobs/{digest}")),
        "{text}"
    );
    assert_eq!(registry.requests().len(), 6);
}
