//! `promote` and `rollback` end to end against a local moto, with fixture templates
//! (tests/fixtures/promote) whose service runs its image in a task definition family
//! named after the stack, as cfn/service.yaml does: production gets exactly the digest
//! staging runs, and a rollback returns a service to its previous image (or the one
//! `--to` names) through a change set on its stack.

use crate::helpers::{Moto, fixture};

const REPO: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-web";

/// Puts three images into moto's ECR repository `shop-web` (apply checks a planned
/// image is there) and returns their digest-pinned URIs.
fn images(moto: &Moto) -> Vec<String> {
    let digests = moto.boto3(
        r#"
import boto3, hashlib, json
ecr = boto3.client("ecr")
ecr.create_repository(repositoryName="shop-web")
for n in range(3):
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": n, "digest": "sha256:" + str(n) * 64},
        "layers": []})
    # moto does not hash the manifest itself: give it the digest ECR would compute.
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    image = ecr.put_image(repositoryName="shop-web", imageManifest=manifest, imageTag=f"v{n}",
                          imageDigest=digest)["image"]
    print(image["imageId"]["imageDigest"])
"#,
    );
    digests.lines().map(|d| format!("{REPO}@{d}")).collect()
}

/// The `ImageUri` parameter of `stack`.
async fn image_of(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> String {
    let out = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    out.stacks()[0]
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some("ImageUri"))
        .and_then(|p| p.parameter_value())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn promote_ships_stagings_digest_and_rollback_returns_to_the_previous_image() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let config = fixture("promote/deploy.yaml");
    let cfg = config.to_str().unwrap();
    let images = images(&moto);
    let (a, b, never) = (&images[0], &images[1], &images[2]);
    let deploy = |env: &str, image: &str| {
        let web = format!("web={image}");
        moto.run(&[
            "deploy",
            "--config",
            cfg,
            "--environment",
            env,
            "--image",
            &web,
            "--yes",
        ])
        .expect_code(0);
    };
    deploy("staging", a);
    deploy("staging", b);
    assert_eq!(image_of(&cfn, "shop-staging-web").await, *b);

    // Promotion only along promotes_to, before any AWS call.
    let refused = moto
        .run(&[
            "promote",
            "--config",
            cfg,
            "--from",
            "production",
            "--to",
            "staging",
            "--yes",
        ])
        .expect_code(64);
    assert!(
        refused.stderr.contains("add `promotes_to: staging`"),
        "{}",
        refused.stderr
    );

    // Production gets exactly what staging runs; nothing is pushed or built.
    let promoted = moto
        .run(&[
            "promote",
            "--config",
            cfg,
            "--from",
            "staging",
            "--to",
            "production",
            "--yes",
        ])
        .expect_code(0);
    assert!(promoted.stderr.contains(b.as_str()), "{}", promoted.stderr);
    assert_eq!(image_of(&cfn, "shop-production-web").await, *b);

    // Rollback: the previous image of the family, through a change set on the service's
    // stack only (the environment stack is left as it is).
    let env_before = cfn
        .describe_stacks()
        .stack_name("shop-staging")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .last_updated_time()
        .cloned();
    let back = moto
        .run(&[
            "rollback",
            "--config",
            cfg,
            "--environment",
            "staging",
            "--service",
            "web",
            "--yes",
        ])
        .expect_code(0);
    assert!(
        back.stderr.contains(&format!("{} → {}", *b, *a)),
        "{}",
        back.stderr
    );
    assert_eq!(
        image_of(&cfn, "shop-staging-web").await,
        *a,
        "{}",
        back.stderr
    );
    let env_after = cfn
        .describe_stacks()
        .stack_name("shop-staging")
        .send()
        .await
        .unwrap()
        .stacks()[0]
        .last_updated_time()
        .cloned();
    assert_eq!(
        env_before, env_after,
        "the environment stack was not touched"
    );

    // --to a digest the family ran; an unknown one is refused naming those it knows.
    let b_digest = b.rsplit_once('@').unwrap().1.to_owned();
    moto.run(&[
        "rollback",
        "--config",
        cfg,
        "--environment",
        "staging",
        "--service",
        "web",
        "--to",
        &b_digest,
        "--yes",
    ])
    .expect_code(0);
    assert_eq!(image_of(&cfn, "shop-staging-web").await, *b);
    let unknown = never.rsplit_once('@').unwrap().1.to_owned();
    let refused = moto
        .run(&[
            "rollback",
            "--config",
            cfg,
            "--environment",
            "staging",
            "--service",
            "web",
            "--to",
            &unknown,
            "--dry-run",
        ])
        .expect_code(64);
    assert!(
        refused.stderr.contains(&b_digest[..19]),
        "{}",
        refused.stderr
    );
    // --to needs exactly one service.
    moto.run(&[
        "rollback",
        "--config",
        cfg,
        "--environment",
        "staging",
        "--to",
        &unknown,
    ])
    .expect_code(64);
}
