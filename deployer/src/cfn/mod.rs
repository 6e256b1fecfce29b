//! The CloudFormation conversation (modelled on rain's `internal/aws/cfn`): everything
//! the commands need to ask CloudFormation, and what its answers mean. Commands call
//! down into this layer; it never prints results itself, only progress lines.
//!
//! Its modules form layers; a module may only use the layers below it (and, within the
//! reading layer, the modules listed before it). `layering` (a test) reads these
//! sources and fails when a `super::`/`crate::cfn::` path breaks the order.
//!
//! 1. Polling, the bottom:
//!    - `wait`: the poll schedule, throttling, deadlines (`--wait-timeout`), expired
//!      credentials mid-wait
//! 2. Reading, one AWS conversation each:
//!    - `describe`: read a stack, what its status means, the single calls on it
//!    - `events`: a stack's events page by page, its latest operation, cleaned reasons
//!    - `operations`: DescribeEvents: early-validation findings, one operation's failures
//!    - `ecs`: an ECS service's events and stopped tasks while CloudFormation deploys it
//!    - `review`: a change set's own template hash and masked parameters (plan / apply)
//!    - `change_set`: create, wait until ready, describe, execute, delete
//! 3. Explaining: `explain`: a failure's root cause, validation findings as lines
//! 4. Following, the top:
//!    - `follow`: follow a running operation to its end, with its ECS services
//!    - `stack`: prepare a stack for a change set, roll it back, delete it (and the
//!      names of `describe`, re-exported for the commands)

pub(crate) mod wait;

pub(crate) mod change_set;
pub(crate) mod describe;
pub(crate) mod ecs;
pub(crate) mod events;
pub(crate) mod operations;
pub(crate) mod review;

pub(crate) mod explain;

pub(crate) mod follow;
pub(crate) mod stack;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod layering;
