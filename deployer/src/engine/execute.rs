//! The execute phase: ask, execute the change set, follow it to its end (cancelling an
//! update on Ctrl-C), and finish with termination protection and the outputs.

use std::future::Future;

use aws_sdk_cloudformation::types::{ExecutionStatus, Stack};

use super::plan::Ready;
use super::{Deploy, Ending};
use crate::cfn::change_set::Described;
use crate::cfn::ecs::EcsWatch;
use crate::cfn::events::{EventFollower, clean_reason, root_cause};
use crate::cfn::wait::{Settled, follow};
use crate::cfn::{change_set, operations, stack};
use crate::error::Failure;
use crate::output::{format_elapsed, prompt};

impl<P> Deploy<P> {
    /// Confirms, executes and follows a ready change set.
    pub(crate) async fn execute(&mut self, ready: Ready) -> Result<Ending, Failure> {
        let Ready {
            described,
            name,
            updating,
            created_review_stack,
            operations_before,
        } = ready;
        match self.confirmed().await? {
            Some(true) => {}
            Some(false) => {
                self.clean_up(&described.id, &described.stack_id, created_review_stack)
                    .await?;
                return Err(Failure::failed(
                    "not executed: the answer was no; the change set was deleted",
                ));
            }
            None => {
                return Err(self
                    .abandon(&described.stack_id, &described.id, created_review_stack)
                    .await);
            }
        }
        // Only an AVAILABLE change set can be executed; the prompt may have waited long
        // enough for another deploy to make this one OBSOLETE.
        self.ensure_executable(&described).await?;
        // A stack this run created has only this operation's events, so there is no
        // history to skip (and one call fewer).
        let mut follower = if created_review_stack {
            EventFollower::from_marker(&described.stack_id, None)
        } else {
            EventFollower::start(&self.cloud.client, &described.stack_id).await?
        }
        .track_operations(operations_before);
        follower.ecs = self
            .cloud
            .ecs
            .clone()
            .map(|ecs| EcsWatch::new(ecs, self.view.printer.verbose() > 0));
        change_set::execute(
            &self.cloud.client,
            &described.stack_id,
            &described.id,
            &name,
            described.mode,
        )
        .await?;
        self.report.executed = true;
        self.progress.line(&format!("Executing change set {name}"));
        let mut interrupt = (self.cloud.interrupt)();
        let stack = self
            .watch(&described.stack_id, updating, &mut follower, &mut interrupt)
            .await?;
        self.ensure_termination_protection(&stack).await?;
        self.report.outputs = stack::outputs(&stack);
        Ok(Ending::Deployed)
    }

    /// Reads the change set's ExecutionStatus again and stops, in words, unless it is
    /// AVAILABLE. An OBSOLETE or UNAVAILABLE change set is deleted (best effort: it can
    /// never run); one someone else executed is left alone.
    async fn ensure_executable(&mut self, described: &Described) -> Result<(), Failure> {
        let status =
            change_set::execution_status(&self.cloud.client, &described.stack_id, &described.id)
                .await?;
        let name = self.stack_name().to_owned();
        let Some(why) = change_set::not_executable(status.as_ref(), &name) else {
            return Ok(());
        };
        let executed_elsewhere = matches!(
            status,
            Some(
                ExecutionStatus::ExecuteInProgress
                    | ExecutionStatus::ExecuteComplete
                    | ExecutionStatus::ExecuteFailed
            )
        );
        let mut message = format!("change set {} was not executed: {why}", described.name);
        if !executed_elsewhere {
            if let Err(failure) =
                change_set::delete(&self.cloud.client, &described.stack_id, &described.id).await
            {
                message.push_str(&format!("\n(it could not be deleted: {})", failure.message));
            } else {
                message.push_str("\nThe change set was deleted.");
            }
        }
        Err(Failure::failed(message))
    }

    /// Asks before executing: `Some(answer)`, or `None` when interrupted at the prompt.
    async fn confirmed(&mut self) -> Result<Option<bool>, Failure> {
        if !self.mode.ask {
            return Ok(Some(true));
        }
        self.progress.finish();
        prompt::confirm("Execute change set?", (self.cloud.interrupt)()).await
    }

    /// Follows the executed change set to its end; failures come back with their root cause.
    pub(super) async fn watch<I>(
        &mut self,
        stack_id: &str,
        updating: bool,
        follower: &mut EventFollower,
        interrupt: &mut I,
    ) -> Result<Stack, Failure>
    where
        I: Future<Output = ()> + Unpin,
    {
        let name = self.stack_name().to_owned();
        let settled = follow(
            &self.cloud.client,
            stack_id,
            follower,
            self.cloud.deadline,
            &mut self.progress,
            interrupt,
        )
        .await?;
        match settled {
            Settled::Done(found) => {
                let status = stack::status_of(&found).to_owned();
                self.report.stack_status = Some(status.clone());
                if !stack::is_failed(&stack::status(&found)) {
                    self.progress.line(&format!("Stack {name}: {status}"));
                    return Ok(*found);
                }
                // This run's operation by its id where CloudFormation lists it; else
                // the events followed since executing.
                let by_operation =
                    operations::root_cause_of(&self.cloud.client, &follower.operations).await;
                let cause = match by_operation {
                    Some(cause) => Some(cause),
                    None => root_cause(&self.cloud.client, &follower.seen).await,
                };
                let cause = cause
                    .map(|c| with_stopped_tasks(c, follower))
                    .or_else(|| found.stack_status_reason().map(clean_reason))
                    .unwrap_or_else(|| {
                        "CloudFormation gave no reason; see the events above".to_owned()
                    });
                self.report.root_cause = Some(cause.clone());
                Err(Failure::failed(format!(
                    "stack {name} is {status}\nroot cause: {cause}"
                )))
            }
            Settled::Gone => Err(Failure::failed(format!(
                "stack {name} was deleted while deploying (a failed create with rollback set to delete)"
            ))),
            Settled::TimedOut(status) => {
                self.report.stack_status = Some(status.clone());
                Err(Failure::failed(format!(
                    "gave up waiting after {} (--wait-timeout): the stack is still {status}; it will go on. \
                     Watch it with `deployer status --stack-name {name}`",
                    format_elapsed(self.cloud.deadline.timeout())
                )))
            }
            Settled::Interrupted(status) if updating => {
                self.cancel_update(stack_id, &status, follower).await
            }
            Settled::Interrupted(status) => Err(Failure::interrupted(format!(
                "interrupted: the create of stack {name} goes on in CloudFormation ({status}; a create cannot be cancelled). \
                 Watch it with `deployer status --stack-name {name}`, or remove it with `deployer destroy --stack-name {name} --yes`"
            ))),
        }
    }

    /// Ctrl-C during an update: cancel it, follow the rollback, report exit 130.
    async fn cancel_update(
        &mut self,
        stack_id: &str,
        status: &str,
        follower: &mut EventFollower,
    ) -> Result<Stack, Failure> {
        let name = self.stack_name().to_owned();
        self.progress.line(&format!(
            "Interrupted: cancelling the update of stack {name} (CancelUpdateStack)"
        ));
        stack::cancel_update(&self.cloud.client, stack_id)
            .await
            .map_err(|reason| {
                // Too late to cancel (e.g. already cleaning up): the update goes on.
                Failure::interrupted(format!(
                    "interrupted: the update of stack {name} could not be cancelled ({reason}); it was {status} \
                     and goes on. Watch it with `deployer status --stack-name {name}`"
                ))
            })?;
        let mut again = Box::pin(support::shutdown_signal());
        let after = match follow(
            &self.cloud.client,
            stack_id,
            follower,
            self.cloud.deadline,
            &mut self.progress,
            &mut again,
        )
        .await?
        {
            Settled::Done(found) => stack::status_of(&found).to_owned(),
            Settled::TimedOut(s) | Settled::Interrupted(s) => format!("still {s}"),
            Settled::Gone => "gone".to_owned(),
        };
        self.report.stack_status = Some(after.clone());
        Err(Failure::interrupted(format!(
            "interrupted: the update of stack {name} was cancelled; the stack is {after}"
        )))
    }

    /// Turns termination protection on when asked (a deploy never turns it off), and
    /// records whether it is on.
    pub(super) async fn ensure_termination_protection(
        &mut self,
        found: &Stack,
    ) -> Result<(), Failure> {
        let on = found.enable_termination_protection().unwrap_or(false);
        if self.target.termination_protection && !on {
            let id = found.stack_id().unwrap_or(self.stack_name()).to_owned();
            stack::enable_termination_protection(&self.cloud.client, &id).await?;
            self.progress.line("Termination protection: on");
            self.report.termination_protection = Some(true);
        } else {
            self.report.termination_protection = Some(on);
        }
        Ok(())
    }
}

/// A failed ECS service's root cause says why its tasks stopped: the circuit breaker's
/// own event only says it was triggered.
fn with_stopped_tasks(cause: String, follower: &EventFollower) -> String {
    let Some(ecs) = &follower.ecs else {
        return cause;
    };
    let Some((path, _)) = cause.split_once(" (AWS::ECS::Service) ") else {
        return cause;
    };
    let logical_id = path.rsplit('/').next().unwrap_or(path);
    let reasons = ecs.stopped_reasons(logical_id);
    if reasons.is_empty() {
        return cause;
    }
    format!("{cause}; tasks stopped: {}", reasons.join(" | "))
}
