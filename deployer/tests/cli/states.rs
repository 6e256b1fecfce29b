//! Stack and change-set states end to end on moto: what a deploy does with parameters
//! it is not given again (NoEcho values keep their previous value).

use crate::helpers::{Moto, fixture};

#[tokio::test]
async fn a_no_echo_parameter_not_given_again_keeps_its_previous_value() {
    let moto = Moto::start();
    let t = fixture("secret.yaml");
    let t = t.to_str().unwrap();
    let stored = |moto: &Moto| {
        moto.boto3(
            "import boto3; print(boto3.client('ssm').get_parameter(Name='/deployer-test/keep/secret')['Parameter']['Value'])",
        )
    };

    // A new stack has no previous value: leaving the secret out is refused up front.
    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "keep",
            "--template",
            t,
            "--parameter",
            "Greeting=Hi",
        ])
        .expect_code(64);
    assert!(
        run.stderr
            .contains("parameter `Secret` (NoEcho) has no Default")
            && run.stderr.contains("--parameter Secret=VALUE"),
        "{}",
        run.stderr
    );

    moto.run(&[
        "deploy",
        "--stack-name",
        "keep",
        "--template",
        t,
        "--parameter",
        "Greeting=Hi",
        "--parameter",
        "Secret=s3cret",
    ])
    .expect_code(0);
    assert_eq!(stored(&moto), "Hi:s3cret");

    // The update leaves the secret out: the stack keeps it, and the diff says so.
    let run = moto
        .run(&[
            "deploy",
            "--stack-name",
            "keep",
            "--template",
            t,
            "--parameter",
            "Greeting=Hello",
        ])
        .expect_code(0);
    assert!(
        run.stdout
            .contains("Secret: unchanged (NoEcho, previous value kept)")
            && run.stdout.contains("Greeting: Hi → Hello"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
    assert_eq!(stored(&moto), "Hello:s3cret");

    // JSON says it too.
    let run = moto
        .run(&[
            "--output",
            "json",
            "deploy",
            "--stack-name",
            "keep",
            "--template",
            t,
            "--parameter",
            "Greeting=Hey",
            "--dry-run",
        ])
        .expect_code(0);
    let kept = run.json()["parameter_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Secret")
        .cloned()
        .unwrap();
    assert_eq!(kept["previous_value_kept"], true, "{kept}");
    assert_eq!(stored(&moto), "Hello:s3cret");
}
