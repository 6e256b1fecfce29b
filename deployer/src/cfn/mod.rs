//! The CloudFormation conversation (modelled on rain's `internal/aws/cfn`): everything
//! the commands need to ask CloudFormation, and what its answers mean. Commands call
//! down into this layer; it never prints results itself, only progress lines.
//!
//! - `stack`: read a stack, what its status means, delete / cancel / protect it
//! - `change_set`: create, wait until ready, describe, execute, delete
//! - `events`: follow new events, find the root cause of a failure
//! - `operations`: DescribeEvents: early-validation findings, one operation's failures
//! - `review`: a change set's own template hash and masked parameters (plan / apply)
//! - `ecs`: an ECS service's events and stopped tasks while CloudFormation deploys it
//! - `wait`: the poll schedule, throttling, deadlines, following an operation to its end

pub(crate) mod change_set;
pub(crate) mod ecs;
pub(crate) mod events;
#[cfg(test)]
pub(crate) mod fixtures;
pub(crate) mod operations;
pub(crate) mod review;
pub(crate) mod stack;
pub(crate) mod wait;
