//! `--plan-out FILE`: the plan phase ends with the change set left AVAILABLE and a
//! plan file that says which change set it is, what CloudFormation said it is made of
//! (parameters, capabilities, its own template) and what the stack looked like once it
//! was made, for `deployer apply FILE` (`crate::engine::plan_file` has the format).

use super::Deploy;
use crate::cfn::change_set::Described;
use crate::cfn::{review, stack};
use crate::engine::plan_file::{self, Fingerprint, PlanFile, Reviewed};
use crate::error::Failure;

impl Deploy {
    /// Writes the plan file: for `described` (a change set left for `apply`), or
    /// without one when there is nothing to change. If the plan cannot be made or
    /// written the change set is deleted again (with the empty stack when this run
    /// created it: `created_review_stack`), since nobody could apply it.
    pub(super) async fn write_plan(
        &mut self,
        described: Option<&Described>,
        creates_stack: bool,
        created_review_stack: bool,
    ) -> Result<(), Failure> {
        if !self.inputs.plans() {
            return Ok(());
        }
        let path = self.inputs.plan_out.clone();
        let plan = match self.plan_of(described, creates_stack).await {
            Ok(plan) => match &path {
                Some(path) => plan_file::write(path, &plan).map(|()| plan),
                None => Ok(plan),
            },
            Err(failure) => Err(failure),
        };
        let plan = match plan {
            Ok(plan) => plan,
            Err(failure) => {
                if let Some(d) = described {
                    let (id, stack_id) = (d.id.clone(), d.stack_id.clone());
                    self.clean_up(&id, &stack_id, created_review_stack).await?;
                }
                return Err(Failure::failed(format!(
                    "{}; the change set was deleted again, nothing was executed",
                    failure.message
                )));
            }
        };
        match (&path, plan.has_changes) {
            (Some(path), true) => self.progress.line(&format!(
                "Plan written to {}; change set {} is left for `deployer apply {}`",
                path.display(),
                plan.change_set_name.as_deref().unwrap_or_default(),
                path.display()
            )),
            (Some(path), false) => self.progress.line(&format!(
                "Plan written to {} (no changes: applying it does nothing)",
                path.display()
            )),
            (None, true) => self.progress.line(&format!(
                "Change set {} of stack {} is left for the release plan",
                plan.change_set_name.as_deref().unwrap_or_default(),
                plan.stack_name
            )),
            (None, false) => {}
        }
        self.report.planned = Some(Box::new(plan));
        Ok(())
    }

    /// The plan of `described` (or of no changes).
    async fn plan_of(
        &mut self,
        described: Option<&Described>,
        creates_stack: bool,
    ) -> Result<PlanFile, Failure> {
        // The stack as it is now that the change set exists (a create's change set
        // made the REVIEW_IN_PROGRESS stack): any operation after this shows in it.
        let stack_ref = described
            .map(|d| d.stack_id.clone())
            .or_else(|| self.report.stack_id.clone())
            .unwrap_or_else(|| self.stack_name().to_owned());
        let now = stack::describe(&self.cloud.client, &stack_ref).await?;
        let reviewed = match described {
            Some(d) => Some(self.reviewed(d).await?),
            None => None,
        };
        let mut plan = self.plan_file();
        plan.stack_id = described
            .map(|d| d.stack_id.clone())
            .or_else(|| now.as_ref().and_then(|s| s.stack_id()).map(str::to_owned));
        plan.change_set_name = described.map(|d| d.name.clone());
        plan.change_set_id = described.map(|d| d.id.clone());
        plan.has_changes = described.is_some();
        plan.creates_stack = creates_stack;
        plan.stack = now.as_ref().map(Fingerprint::of);
        plan.reviewed = reviewed;
        Ok(plan)
    }

    /// What `apply` will compare the change set against: CloudFormation's own account
    /// of its parameters (NoEcho ones masked), capabilities and template.
    async fn reviewed(&self, described: &Described) -> Result<Reviewed, Failure> {
        let no_echo: Vec<String> = self
            .inputs
            .template
            .parameters
            .iter()
            .filter(|(_, spec)| spec.no_echo)
            .map(|(name, _)| name.clone())
            .collect();
        let mut capabilities = described.capabilities.clone();
        capabilities.sort();
        Ok(Reviewed {
            parameters: review::masked(&described.parameters, &no_echo),
            no_echo,
            capabilities,
            role_arn: self.inputs.settings.role_arn.clone(),
            template_sha256: review::template_sha256(
                &self.cloud.client,
                &described.stack_id,
                &described.id,
            )
            .await?,
        })
    }

    /// A plan with what every plan holds (settings, image, commit, rows); the caller
    /// fills in the stack, the change set and what to check.
    pub(super) fn plan_file(&self) -> PlanFile {
        let settings = &self.inputs.settings;
        PlanFile {
            version: plan_file::VERSION,
            created_at: plan_file::now(),
            stack_name: settings.stack_name.clone(),
            stack_id: None,
            region: self.inputs.region.clone(),
            change_set_name: None,
            change_set_id: None,
            has_changes: false,
            creates_stack: false,
            stack: None,
            image_uri: self.report.image_uri.clone(),
            repository: self
                .report
                .image_uri
                .as_ref()
                .and(settings.repository.clone()),
            commit: self.inputs.commit.clone(),
            template_sha256: plan_file::sha256_hex(self.inputs.template.body.as_bytes()),
            capabilities: self.inputs.capabilities.clone(),
            termination_protection: settings.termination_protection,
            wait_timeout_seconds: settings.wait_timeout.as_secs(),
            changes: self.report.changes.clone(),
            parameter_changes: self.report.parameter_changes.clone(),
            reviewed: None,
            recreate: None,
        }
    }
}
