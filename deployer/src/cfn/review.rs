//! What a reviewed change set is made of, besides its rows: its own template (GetTemplate
//! with the change set's name) and its parameters with NoEcho values masked, so a plan
//! can record them and `apply` can compare them again without ever handling a secret.
//!
//! Reading layer: may use `wait` only.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::TemplateStage;

use super::wait::retry_throttled;
use crate::aws::call_failed;
use crate::error::Failure;

/// How a NoEcho value is shown (as DescribeChangeSet shows it).
pub(crate) const MASK: &str = "****";

/// SHA-256 (hex) of the template of change set `change_set` of stack `stack_id`, as it
/// was given (GetTemplate, ChangeSetName, TemplateStage Original). Needs
/// `cloudformation:GetTemplate`.
pub(crate) async fn template_sha256(
    client: &Client,
    stack_id: &str,
    change_set: &str,
) -> Result<String, Failure> {
    let body = retry_throttled(|| {
        client
            .get_template()
            .stack_name(stack_id)
            .change_set_name(change_set)
            .template_stage(TemplateStage::Original)
            .send()
    })
    .await
    .map(|out| out.template_body().unwrap_or_default().to_owned())
    .map_err(|e| {
        call_failed(
            &format!("reading the template of change set {change_set}"),
            &e,
        )
    })?;
    Ok(oci_push::Digest::of_bytes(body.as_bytes()).hex().to_owned())
}

/// `parameters` with the values of the `no_echo` ones replaced by [`MASK`]: what a plan
/// may write, and what `apply` compares (CloudFormation masks them itself; a stand-in
/// that does not must not leak them into a plan file).
pub(crate) fn masked(
    parameters: &BTreeMap<String, String>,
    no_echo: &[String],
) -> BTreeMap<String, String> {
    parameters
        .iter()
        .map(|(k, v)| {
            let value = if no_echo.contains(k) {
                MASK.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_echo_values_are_masked_and_the_others_kept() {
        let given: BTreeMap<String, String> = [
            ("Secret".to_owned(), "hunter2".to_owned()),
            ("ImageUri".to_owned(), "r@sha256:1".to_owned()),
        ]
        .into();
        let out = masked(&given, &["Secret".to_owned()]);
        assert_eq!(out["Secret"], MASK);
        assert_eq!(out["ImageUri"], "r@sha256:1");
    }
}
