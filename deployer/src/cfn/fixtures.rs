//! Test builders for CloudFormation API values, shared by the deploy, status and
//! stack-state tests (all about one stack, `app`).

use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
use aws_smithy_types::DateTime;

/// The id of the stack `app` in every test.
pub(crate) const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:1:stack/app/1";

/// DescribeStacks answering with stack `app` in `status`.
pub(crate) fn stack(status: &str) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("app")
                .stack_id(STACK_ID)
                .stack_status(StackStatus::from(status))
                .creation_time(DateTime::from_secs(0))
                .build(),
        )
        .build()
}

/// A stack event of `app`: `reason` may be a `&str`, `Some(&str)` or `None`; `t` is
/// its time in seconds.
pub(crate) fn event<'a>(
    id: &str,
    logical: &str,
    kind: &str,
    status: &str,
    reason: impl Into<Option<&'a str>>,
    t: i64,
) -> StackEvent {
    let mut b = StackEvent::builder()
        .event_id(id)
        .stack_name("app")
        .stack_id(STACK_ID)
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(ResourceStatus::from(status))
        .timestamp(DateTime::from_secs(t));
    if let Some(r) = reason.into() {
        b = b.resource_status_reason(r);
    }
    b.build()
}
