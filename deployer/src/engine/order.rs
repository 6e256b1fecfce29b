//! Never out of order: the stack records the commit it was last deployed from (the
//! stack tag `deployer:commit`), and a deploy refuses a commit that does not descend
//! from it, so an older run that finishes its tests late cannot replace newer code.
//!
//! Stack tags are copied to every taggable resource, so a new commit tag alone shows
//! up as a `Modify` of each resource's Tags. A change set with nothing else in it is
//! treated as "no changes": deleted, nothing executed. The stack then keeps recording
//! the older commit, which is safe (every later commit still descends from it) and
//! keeps a docs-only push a real no-op.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::Stack;

use super::{Deploy, ParameterChange};
use crate::cfn::change_set::ResourceChange;
use crate::error::Failure;
use crate::git::{Ancestry, ancestry};

/// The stack tag holding the deployed commit.
pub(crate) const COMMIT_TAG: &str = "deployer:commit";

/// The commit a stack records, if any.
pub(crate) fn recorded_commit(stack: &Stack) -> Option<String> {
    stack
        .tags()
        .iter()
        .find(|t| t.key() == Some(COMMIT_TAG))
        .and_then(|t| t.value())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A stack's tags without the commit tag.
fn other_tags(tags: impl Iterator<Item = (String, String)>) -> BTreeMap<String, String> {
    tags.filter(|(k, _)| k != COMMIT_TAG).collect()
}

impl Deploy {
    /// Refuses (exit 1) a commit that is not a descendant of (or equal to) the one the
    /// stack records, or one git cannot place (a shallow clone), unless
    /// `--allow-out-of-order`. A dry run only warns: it changes nothing, and the
    /// deploy itself will refuse.
    pub(super) fn check_order(&mut self, existing: Option<&Stack>) -> Result<(), Failure> {
        let (Some(stack), Some(commit)) = (existing, self.inputs.commit.clone()) else {
            return Ok(());
        };
        let Some(recorded) = recorded_commit(stack) else {
            return Ok(());
        };
        let name = self.stack_name().to_owned();
        let problem = match ancestry(&recorded, &commit, &self.inputs.work_tree) {
            Ancestry::Ancestor => return Ok(()),
            Ancestry::NotAncestor => format!(
                "commit {commit} is not a descendant of {recorded}, the commit stack {name} was last \
                 deployed from (tag {COMMIT_TAG}): deploying it would replace newer code with older \
                 (an older run that finished late?)"
            ),
            Ancestry::Unknown(git_says) => format!(
                "cannot tell whether commit {commit} comes after {recorded}, the commit stack {name} \
                 was last deployed from (tag {COMMIT_TAG}): git cannot compare them ({git_says}). \
                 Run the deploy in the repository's work tree with the whole history (actions/checkout \
                 with `fetch-depth: 0`, or `git fetch --unshallow`)"
            ),
        };
        self.progress.finish();
        if self.inputs.allow_out_of_order {
            self.view.printer.warn(&format!(
                "{problem}; deploying anyway (--allow-out-of-order)"
            ));
            return Ok(());
        }
        if self.mode.dry_run {
            self.view.printer.warn(&format!(
                "{problem}. A deploy of this commit will be refused (unless --allow-out-of-order)"
            ));
            return Ok(());
        }
        Err(Failure::failed(format!(
            "{problem}. Nothing was changed. To deploy it anyway (a deliberate rollback), pass \
             --allow-out-of-order"
        )))
    }

    /// The stack tags to send: the configured ones, plus `deployer:commit` for this
    /// run's commit. Without a known commit the stack's recorded one is sent again, so
    /// a deploy from outside git does not erase the record the check relies on.
    pub(super) fn stack_tags(&self, existing: Option<&Stack>) -> BTreeMap<String, String> {
        let mut tags = self.inputs.settings.tags.clone();
        let commit = self
            .inputs
            .commit
            .clone()
            .or_else(|| existing.and_then(recorded_commit));
        if let Some(commit) = commit {
            tags.insert(COMMIT_TAG.to_owned(), commit);
        }
        tags
    }

    /// True when a change set changes nothing but the commit tag: every row is a
    /// Tags-only `Modify` (there may be none: a stack without taggable resources, or
    /// moto), the commit tag is what differs, every other tag, every parameter and the
    /// service role stay, and the template is the deployed one (GetTemplate). Where
    /// the template cannot be read, Tags-only rows alone decide, and a change set
    /// without rows is not folded (it may change only Outputs).
    pub(super) async fn only_the_commit_tag_changes(
        &mut self,
        existing: Option<&Stack>,
        changes: &[ResourceChange],
        parameters: &[ParameterChange],
    ) -> bool {
        let Some(stack) = existing else {
            return false;
        };
        let tags = self.stack_tags(existing);
        let commit_changes = tags.get(COMMIT_TAG) != recorded_commit(stack).as_ref();
        let role_stays = self
            .inputs
            .settings
            .role_arn
            .as_deref()
            .is_none_or(|role| stack.role_arn() == Some(role));
        if !commit_changes
            || !role_stays
            || !changes.iter().all(ResourceChange::is_tags_only)
            || parameters.iter().any(|p| !p.previous_value_kept)
        {
            return false;
        }
        let before = other_tags(stack.tags().iter().map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        }));
        if before != other_tags(tags.into_iter()) {
            return false;
        }
        let id = stack.stack_id().unwrap_or(self.stack_name()).to_owned();
        match crate::cfn::stack::template_body(&self.cloud.client, &id).await {
            Ok(deployed) => deployed == self.inputs.template.body,
            Err(failure) => {
                if self.view.printer.verbose() > 0 {
                    self.progress.line(&format!(
                        "cannot compare with the deployed template ({}); judging by the change rows alone",
                        failure.message
                    ));
                }
                !changes.is_empty()
            }
        }
    }
}
