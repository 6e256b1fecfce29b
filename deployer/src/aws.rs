//! One way to configure the AWS SDK for every subcommand, and how SDK errors are told.
//!
//! Region and credentials come from the standard chain (environment, profile, SSO, web
//! identity for GitHub OIDC). `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables are honoured by the SDK itself, which is how
//! the tests point us at a local moto server.
//!
//! Below it, the reads the day-2 commands and promote/rollback make of running services:
//! - `ecs_images`: the image a task definition runs; a family's previous image (rollback)
//! - `stack_images`: the `ImageUri` each service stack was deployed with (promote)
//! - `service_state`: an ECS service's deployments and its targets' health (status)
//! - `logs`: a log group's events, page by page and pass after pass (logs --follow)
//! - `rollout`: waiting until a service's ECS deployment has completed and its targets
//!   are healthy (what express mode does not wait for)

pub(crate) mod ecs_images;
pub(crate) mod logs;
pub(crate) mod rollout;
pub(crate) mod service_state;
pub(crate) mod stack_images;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::error::{ProvideErrorMetadata, SdkError};

use crate::error::{Failure, FailureKind};

/// Loads the shared SDK configuration, failing with a message that says what to set
/// when no region can be found (the SDK would otherwise fail later and less clearly).
pub(crate) async fn sdk_config() -> Result<SdkConfig, Failure> {
    sdk_config_in(None).await
}

/// Like [`sdk_config`], with an explicit region (from `deploy.yaml`) that wins over the
/// environment.
pub(crate) async fn sdk_config_in(region: Option<&str>) -> Result<SdkConfig, Failure> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // Adaptive retries back off on throttling (CloudFormation's Describe* APIs
        // throttle quickly when polled), on top of the standard transient-error retries.
        .retry_config(RetryConfig::adaptive().with_max_attempts(8));
    if let Some(region) = region {
        loader = loader.region(Region::new(region.to_owned()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(Failure::input(
            "no AWS region configured: set AWS_REGION (e.g. `export AWS_REGION=eu-west-1`) \
             or a region in your AWS profile",
        ));
    }
    Ok(config)
}

/// The error codes AWS uses for "slow down"; a poll loop waits longer and tries again.
pub(crate) fn is_throttling<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err.code(),
        Some(
            "Throttling"
                | "ThrottlingException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
        )
    )
}

/// The error codes AWS uses for "you may not do this" (a missing IAM permission), in
/// every service we call (CloudFormation says `AccessDenied`, ECR `AccessDeniedException`).
pub(crate) fn is_access_denied<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    is_access_denied_code(err.code())
}

/// [`is_access_denied`] on the error code alone.
pub(crate) fn is_access_denied_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
    )
}

/// True when AWS refused the call because the credentials have expired (a 1 h GitHub
/// OIDC session running out mid-wait): STS and most services say `ExpiredToken`, some
/// `ExpiredTokenException`, and the message is always the same sentence.
pub(crate) fn is_expired_credentials<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(err.code(), Some("ExpiredToken" | "ExpiredTokenException"))
        || err
            .message()
            .is_some_and(|m| m.contains("security token included in the request is expired"))
}

/// The service's own words for an error ("ValidationError: Stack with id x does not
/// exist"), or the whole error chain on one line when the call never got an answer
/// ("dispatch failure: io error: …: Connection refused").
pub(crate) fn describe_error<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => support::error_chain(err),
    }
}

/// A failed AWS call as a [`Failure`], saying what we were doing.
pub(crate) fn call_failed<E, R>(doing: &str, err: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let message = format!("{doing}: {}", describe_error(err));
    if is_expired_credentials(err) {
        // Kept apart so a wait can say the operation goes on (exit 3) instead of failing.
        Failure {
            kind: FailureKind::CredentialsExpired,
            message,
        }
    } else {
        Failure::failed(message)
    }
}
