//! Which image each service stack of an environment was deployed with: its `ImageUri`
//! parameter (DescribeStacks). `promote` plans the next environment with exactly these
//! digest-pinned URIs, so it refuses anything it could not promote faithfully: a stack
//! that is missing, busy, or whose last operation failed or rolled back, and an image
//! that is only a tag (a tag can move; a digest cannot).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackStatus;

use crate::aws::ecs_images::digest_of;
use crate::cfn::stack;
use crate::error::Failure;

/// The service stack's parameter holding its image (cfn/service.yaml).
pub(crate) const IMAGE_PARAMETER: &str = "ImageUri";

/// The service stack's name: `{application}-{environment}-{service}`.
pub(crate) fn service_stack_name(application: &str, environment: &str, service: &str) -> String {
    format!("{application}-{environment}-{service}")
}

/// Service → the `ImageUri` its stack in `environment` was last deployed with
/// successfully (digest-pinned). Refuses, saying what to do, when a service's stack is
/// missing, not settled in CREATE_COMPLETE / UPDATE_COMPLETE / IMPORT_COMPLETE, or its
/// image is not pinned by digest.
pub(crate) async fn deployed_images(
    cfn: &Client,
    application: &str,
    environment: &str,
    services: &[String],
) -> Result<BTreeMap<String, String>, Failure> {
    let deploy = format!("deployer deploy --config deploy.yaml --environment {environment}");
    let mut images = BTreeMap::new();
    for service in services {
        let name = service_stack_name(application, environment, service);
        let found = stack::describe(cfn, &name).await?.ok_or_else(|| {
            Failure::failed(format!(
                "service {service} is not deployed in {environment} (no stack {name}): deploy it there first (`{deploy}`)"
            ))
        })?;
        let status = stack::status(&found);
        if !matches!(
            status,
            StackStatus::CreateComplete | StackStatus::UpdateComplete | StackStatus::ImportComplete
        ) {
            let why = if crate::cfn::describe::is_in_progress(&status) {
                "an operation is still running: wait for it (`deployer status --config deploy.yaml --environment {environment}`) and run again".to_owned()
            } else {
                format!(
                    "its last operation failed, so the image it runs is not the one last deployed there: fix it and deploy {environment} again (`{deploy}`)"
                )
            };
            return Err(Failure::failed(format!(
                "stack {name} is {}: {}",
                status.as_str(),
                why.replace("{environment}", environment)
            )));
        }
        let image = found
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(IMAGE_PARAMETER))
            .and_then(|p| p.resolved_value().or(p.parameter_value()))
            .unwrap_or_default();
        if image.is_empty() {
            return Err(Failure::failed(format!(
                "stack {name} has no {IMAGE_PARAMETER} parameter: is it a cfn/service.yaml stack?"
            )));
        }
        if !is_digest_pinned(image) {
            return Err(Failure::failed(format!(
                "stack {name} runs {image}, which is not pinned by digest (REPOSITORY@sha256:…): a tag can move, \
                 so it cannot be promoted as it is. Deploy {environment} with the deployer (which pins digests) and run again"
            )));
        }
        images.insert(service.clone(), image.to_owned());
    }
    Ok(images)
}

/// `REPOSITORY@sha256:<64 lower-case hex>`.
fn is_digest_pinned(image: &str) -> bool {
    image.contains('@')
        && digest_of(image)
            .and_then(|d| d.strip_prefix("sha256:"))
            .is_some_and(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::{Parameter, Stack};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::error::ErrorMetadata;

    const PINNED: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn stack_rule(
        name: &'static str,
        status: &'static str,
        image: &'static str,
    ) -> aws_smithy_mocks::Rule {
        mock!(Client::describe_stacks)
            .match_requests(move |r| r.stack_name() == Some(name))
            .then_output(move || {
                DescribeStacksOutput::builder()
                    .stacks(
                        Stack::builder()
                            .stack_name(name)
                            .stack_status(StackStatus::from(status))
                            .parameters(
                                Parameter::builder()
                                    .parameter_key("ImageUri")
                                    .parameter_value(image)
                                    .build(),
                            )
                            .parameters(
                                Parameter::builder()
                                    .parameter_key("Cpu")
                                    .parameter_value("256")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
    }

    fn missing(name: &'static str) -> aws_smithy_mocks::Rule {
        mock!(Client::describe_stacks)
            .match_requests(move |r| r.stack_name() == Some(name))
            .then_error(move || {
                DescribeStacksError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationError")
                        .message(format!("Stack with id {name} does not exist"))
                        .build(),
                )
            })
    }

    fn services(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn each_service_gets_its_stacks_image_uri() {
        let web = stack_rule("hello-staging-web", "UPDATE_COMPLETE", PINNED);
        let docs = stack_rule("hello-staging-docs", "CREATE_COMPLETE", PINNED);
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&web, &docs]);
        let images = deployed_images(&cfn, "hello", "staging", &services(&["web", "docs"]))
            .await
            .unwrap();
        assert_eq!(
            images,
            BTreeMap::from([
                ("docs".to_owned(), PINNED.to_owned()),
                ("web".to_owned(), PINNED.to_owned())
            ])
        );
    }

    #[tokio::test]
    async fn a_missing_unsettled_failed_or_tag_only_stack_is_refused_with_what_to_do() {
        let gone = missing("hello-staging-gone");
        let busy = stack_rule("hello-staging-busy", "UPDATE_IN_PROGRESS", PINNED);
        let rolled = stack_rule("hello-staging-rolled", "UPDATE_ROLLBACK_COMPLETE", PINNED);
        let tagged = stack_rule("hello-staging-tagged", "UPDATE_COMPLETE", "nginx:latest");
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&gone, &busy, &rolled, &tagged]
        );
        for (service, expected) in [
            (
                "gone",
                "no stack hello-staging-gone): deploy it there first (`deployer deploy --config deploy.yaml --environment staging`)",
            ),
            (
                "busy",
                "is UPDATE_IN_PROGRESS: an operation is still running: wait for it (`deployer status --config deploy.yaml --environment staging`)",
            ),
            (
                "rolled",
                "is UPDATE_ROLLBACK_COMPLETE: its last operation failed",
            ),
            ("tagged", "runs nginx:latest, which is not pinned by digest"),
        ] {
            let e = deployed_images(&cfn, "hello", "staging", &services(&[service]))
                .await
                .unwrap_err();
            assert_eq!(e.exit_code(), 1, "{service}");
            assert!(e.message.contains(expected), "{service}: {}", e.message);
        }
    }

    #[test]
    fn digest_pinned_means_repository_at_a_full_sha256() {
        assert!(is_digest_pinned(PINNED));
        assert!(!is_digest_pinned("r@sha256:0123"));
        assert!(!is_digest_pinned(&PINNED.to_uppercase()));
        assert!(!is_digest_pinned("r:latest"));
        assert!(!is_digest_pinned(&PINNED.replace('@', ":")));
    }
}
