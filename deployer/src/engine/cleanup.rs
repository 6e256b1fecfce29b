//! The clean-up phase: what a dry run, a "no" at the prompt or an interrupt before
//! execution leaves behind is deleted again (the change set, and the empty
//! REVIEW_IN_PROGRESS stack when this run created it).

use super::Deploy;
use crate::cfn::{change_set, stack};
use crate::error::Failure;

impl<P> Deploy<P> {
    /// Deletes the change set and, when this run created it, the empty
    /// REVIEW_IN_PROGRESS stack, so a dry run leaves nothing behind.
    pub(crate) async fn clean_up(
        &mut self,
        change_set_id: &str,
        stack_id: &str,
        delete_stack: bool,
    ) -> Result<(), Failure> {
        change_set::delete(&self.cloud.client, stack_id, change_set_id).await?;
        if delete_stack {
            let name = self.stack_name().to_owned();
            let deleted = stack::delete_unless_denied(
                &self.cloud.client,
                stack_id,
                &name,
                self.cloud.deadline,
                &mut self.progress,
            )
            .await?;
            if let stack::Deleted::Denied(failure) = deleted {
                // A preview role may create and delete change sets but, on purpose, not
                // delete stacks. The empty stack holds no resources and the first real
                // deploy creates into it, so this is worth a warning, not a failure.
                self.progress.finish();
                self.view.printer.warn(&format!(
                    "the empty REVIEW_IN_PROGRESS stack {name} stays (it holds no resources; \
                     the first deploy creates into it): {}",
                    failure.message
                ));
            }
        }
        Ok(())
    }

    /// Interrupted before anything executed: deletes the change set (by name, so this
    /// works even before CreateChangeSet answered) and the empty stack this run created,
    /// and returns the failure to report (exit 130).
    pub(super) async fn abandon(
        &mut self,
        stack_id: &str,
        change_set: &str,
        created_review_stack: bool,
    ) -> Failure {
        self.progress.finish();
        let mut left = Vec::new();
        if let Err(failure) = change_set::delete(&self.cloud.client, stack_id, change_set).await {
            left.push(failure.message);
        }
        let name = self.stack_name().to_owned();
        if created_review_stack {
            left.extend(self.delete_review_stack(stack_id).await);
        }
        if left.is_empty() {
            Failure::interrupted(format!(
                "interrupted before anything was executed; change set {change_set} was deleted, stack {name} is unchanged"
            ))
        } else {
            Failure::interrupted(format!(
                "interrupted before anything was executed; cleaning up failed: {}",
                left.join("; ")
            ))
        }
    }

    /// A change set that never became ready: deletes it and, when this run created it,
    /// the empty stack, and returns `message` as the failure. CloudFormation may refuse
    /// to delete a change set it is still working on; that leaves only a change set
    /// behind (nothing executed), so the failure says how to remove it later.
    pub(crate) async fn give_up(
        &mut self,
        change_set_id: &str,
        stack_id: &str,
        delete_stack: bool,
        message: String,
    ) -> Failure {
        let mut left = Vec::new();
        // Deleting the REVIEW_IN_PROGRESS stack removes its change sets with it.
        if let Err(failure) = change_set::delete(&self.cloud.client, stack_id, change_set_id).await
            && !delete_stack
        {
            left.push(format!(
                "{}; remove it later with `aws cloudformation delete-change-set --stack-name {} --change-set-name {change_set_id}`",
                failure.message,
                self.stack_name()
            ));
        }
        if delete_stack {
            left.extend(self.delete_review_stack(stack_id).await);
        }
        if left.is_empty() {
            Failure::failed(format!(
                "{message}\nThe change set{} was deleted again.",
                if delete_stack {
                    " and the empty stack"
                } else {
                    ""
                }
            ))
        } else {
            Failure::failed(format!(
                "{message}\ncleaning up failed: {}",
                left.join("; ")
            ))
        }
    }

    /// Deletes the empty REVIEW_IN_PROGRESS stack this run created, in a path that is
    /// already failing: any refusal is returned as a sentence for the failure message,
    /// never a second error.
    async fn delete_review_stack(&mut self, stack_id: &str) -> Option<String> {
        let name = self.stack_name().to_owned();
        match stack::delete_unless_denied(
            &self.cloud.client,
            stack_id,
            &name,
            self.cloud.deadline,
            &mut self.progress,
        )
        .await
        {
            Ok(stack::Deleted::Yes) => None,
            Ok(stack::Deleted::Denied(failure)) | Err(failure) => Some(failure.message),
        }
    }
}
