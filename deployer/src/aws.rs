//! One way to configure the AWS SDK for every subcommand.
//!
//! Region and credentials come from the standard chain (environment, profile, SSO, web
//! identity for GitHub OIDC). `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables are honoured by the SDK itself, which is how
//! the tests point us at a local moto server.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

use crate::error::Failure;

/// Loads the shared SDK configuration, failing with a message that says what to set
/// when no region can be found (the SDK would otherwise fail later and less clearly).
pub async fn sdk_config() -> Result<SdkConfig, Failure> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        // Adaptive retries back off on throttling (CloudFormation's Describe* APIs
        // throttle quickly when polled), on top of the standard transient-error retries.
        .retry_config(RetryConfig::adaptive().with_max_attempts(8))
        .load()
        .await;
    if config.region().is_none() {
        return Err(Failure::input(
            "no AWS region configured: set AWS_REGION (e.g. `export AWS_REGION=eu-west-1`) \
             or a region in your AWS profile",
        ));
    }
    Ok(config)
}
