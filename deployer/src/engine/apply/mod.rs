//! Applying a plan: execute the change set a plan names, and nothing else. Production
//! approves a change set someone has seen, not an intention: so before anything is
//! changed, apply refuses when
//!
//! - the stack is not as it was when planned (another deploy, a rollback or the
//!   console ran since: the fingerprint in the plan differs) or is gone;
//! - the change set is gone, or not `AVAILABLE`;
//! - the change set is not the one reviewed: CloudFormation's description of it now
//!   (stack, `deployer-release-` name, rows with property paths, parameters with the
//!   image digest, capabilities, its template's SHA-256) differs from the plan's
//!   (`verify`);
//! - with an image to push, the digest the push produced is not the planned one;
//!   without, the planned image is not in the repository.
//!
//! The rows shown and summarised are CloudFormation's own description, not the file's.
//! A plan over a dead first create (`recreate`) deletes it, creates the stack's change
//! set from what the plan carries, checks its rows against the plan, then executes.
//!
//! Then it executes, follows, explains failures and reports exactly as `deploy` does:
//! the phases after planning (execute, clean-up, report) run on a [`Deploy`] without
//! deploy inputs. `commands::apply` reads the file and the flags; `release` applies
//! several stacks' plans with the same checks.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::ImageIdentifier;

use crate::cfn::change_set::{self, Described};
use crate::cfn::{operations, review, stack};
use crate::cli::ImageArgs;
use crate::engine::plan_file::{Fingerprint, PlanFile};
use crate::engine::{Cloud, Deploy, DeployReport, Ending, Mode, Ready, Target, View};
use crate::error::Failure;
use crate::output::{Printer, prompt};

/// What to tell the user when a plan can no longer be applied.
pub(crate) const PLAN_AGAIN: &str = "Nothing was executed. Plan again (`deployer deploy … --plan-out FILE`) \
     to see the changes from the stack as it is now, and apply that plan";

/// The run, with the report filled in from the plan (read from `plan_path`); `yes`:
/// execute without asking.
pub(crate) fn session(
    plan: &PlanFile,
    plan_path: &str,
    yes: bool,
    sdk: &SdkConfig,
    wait_timeout: Duration,
    printer: &Printer,
) -> Deploy<()> {
    Deploy {
        cloud: Cloud::connect(sdk, wait_timeout),
        inputs: (),
        target: Target {
            stack_name: plan.stack_name.clone(),
            termination_protection: plan.termination_protection,
        },
        mode: Mode {
            dry_run: false,
            detailed_exitcode: false,
            ask: prompt::asks_to_execute(printer.terminal(), yes),
        },
        progress: printer.progress(),
        view: View::new(*printer),
        report: DeployReport {
            stack_name: plan.stack_name.clone(),
            stack_id: plan.stack_id.clone(),
            change_set_name: plan.change_set_name.clone(),
            change_set_id: plan.change_set_id.clone(),
            has_changes: plan.has_changes,
            capabilities: plan.capabilities.clone(),
            image_uri: plan.image_uri.clone(),
            changes: plan.changes.clone(),
            parameter_changes: plan.parameter_changes.clone(),
            plan_file: Some(plan_path.to_owned()),
            commit: plan.commit.clone(),
            recreates: plan.recreate.as_ref().and_then(|r| r.dead_stack_id.clone()),
            ..Default::default()
        },
    }
}

/// The digest after `@` in an image URI.
pub(crate) fn digest_of(uri: &str) -> &str {
    uri.rsplit_once('@').map_or("", |(_, d)| d)
}

impl Deploy<()> {
    /// The checks, the image, then execute and follow the planned change set.
    pub(crate) async fn apply(
        &mut self,
        plan: &PlanFile,
        image: Option<ImageArgs>,
        sdk: &SdkConfig,
        registry: Option<&str>,
    ) -> Result<Ending, Failure> {
        let mut checked = match &plan.recreate {
            Some(recreate) => {
                self.check_dead_stack(plan, recreate).await?;
                None
            }
            None => Some(self.check_plan(plan).await?),
        };
        match (&image, &plan.image_uri) {
            (Some(image), Some(planned)) => {
                let pushed =
                    crate::commands::push::push_image(image, sdk, &self.view.printer).await?;
                if pushed.uri != *planned {
                    return Err(Failure::failed(format!(
                        "the image was pushed as {}, but the plan deploys {planned}: the change set would \
                         run another image than the one pushed (is --registry the one the plan used?). \
                         Nothing was executed",
                        pushed.uri
                    )));
                }
                self.progress.line(&format!("Pushed {}", pushed.uri));
                // The push may have taken minutes: look again.
                checked = match &plan.recreate {
                    Some(recreate) => {
                        self.check_dead_stack(plan, recreate).await?;
                        None
                    }
                    None => Some(self.check_plan(plan).await?),
                };
            }
            (None, Some(planned)) => {
                let ecr = aws_sdk_ecr::Client::new(sdk);
                check_image_exists(&ecr, registry, planned, plan).await?;
            }
            _ => {}
        }
        let Some((described, operations_before)) = checked else {
            // A plan over a dead first create: there is no change set to execute yet.
            let recreate = plan.recreate.as_ref().ok_or_else(|| {
                Failure::internal("a plan without a change set and without a stack to recreate")
            })?;
            return self.recreate(plan, recreate).await;
        };
        // What the prompt and the summary show is CloudFormation's own description of
        // the change set (checked against the plan's rows above), not the file's.
        self.report.changes = described.changes.clone();
        self.show_changes();
        let ready = Ready {
            name: described.name.clone(),
            updating: !plan.creates_stack,
            // The plan's stack is never apply's to delete: a "no" leaves it as it is.
            created_review_stack: false,
            operations_before,
            described,
        };
        self.execute(ready).await
    }

    /// The stack is as planned and the change set still AVAILABLE and the one reviewed;
    /// returns it, with the stack's operation ids now (any new one is this run's).
    pub(crate) async fn check_plan(
        &mut self,
        plan: &PlanFile,
    ) -> Result<(Described, Vec<String>), Failure> {
        let name = plan.stack_name.clone();
        let (Some(stack_id), Some(change_set_id), Some(planned)) =
            (&plan.stack_id, &plan.change_set_id, &plan.stack)
        else {
            return Err(Failure::input(
                "the plan has changes but no stack id, change set id or stack fingerprint: \
                 it was not written by `deploy --plan-out`; plan again",
            ));
        };
        let Some(now) = stack::describe(&self.cloud.client, stack_id).await? else {
            return Err(Failure::failed(format!(
                "stack {name} no longer exists: it was deleted after the plan was made. {PLAN_AGAIN}"
            )));
        };
        if stack::status_of(&now) == "DELETE_COMPLETE" {
            return Err(Failure::failed(format!(
                "stack {name} was deleted after the plan was made. {PLAN_AGAIN}"
            )));
        }
        let differences = planned.differences(&Fingerprint::of(&now));
        if !differences.is_empty() {
            return Err(Failure::failed(format!(
                "stack {name} changed after the plan was made ({}): another deploy, a rollback or the \
                 console ran, so the planned change set no longer says what would happen. {PLAN_AGAIN}",
                differences.join("; ")
            )));
        }
        let change_set_name = plan.change_set_name.as_deref().unwrap_or(change_set_id);
        let Some(described) =
            change_set::describe_if_exists(&self.cloud.client, stack_id, change_set_id).await?
        else {
            return Err(Failure::failed(format!(
                "change set {change_set_name} of stack {name} no longer exists (someone deleted it, or \
                 a deploy cleaned it up). {PLAN_AGAIN}"
            )));
        };
        if let Some(why) = change_set::not_executable(described.execution_status.as_ref(), &name) {
            return Err(Failure::failed(format!(
                "change set {change_set_name} cannot be applied: {why}. {PLAN_AGAIN}"
            )));
        }
        let Some(reviewed) = &plan.reviewed else {
            return Err(Failure::input(
                "the plan has a change set but no record of what was reviewed: it was not written \
                 by `deploy --plan-out` of this deployer; plan again",
            ));
        };
        let template = review::template_sha256(&self.cloud.client, stack_id, change_set_id).await?;
        let differences = verify::differences(plan, reviewed, &described, &template);
        if !differences.is_empty() {
            return Err(Failure::failed(format!(
                "change set {change_set_name} of stack {name} is not the change set that was reviewed: {}. \
                 Nothing was executed. Discard it (`deployer discard PLAN_FILE`) and plan again \
                 (`deployer deploy … --plan-out FILE`), then review and apply that plan",
                differences.join("; ")
            )));
        }
        Ok((described, operations::operation_ids(&now)))
    }
}

/// Without `--image`: the planned image must already be in the repository, by digest
/// (ECR DescribeImages; with `--registry`, a HEAD of the manifest in that registry).
pub(crate) async fn check_image_exists(
    ecr: &aws_sdk_ecr::Client,
    registry: Option<&str>,
    planned: &str,
    plan: &PlanFile,
) -> Result<(), Failure> {
    let repository = plan.repository.clone().unwrap_or_default();
    let digest = digest_of(planned).to_owned();
    let missing = || {
        Failure::input(format!(
            "the plan deploys {planned}, which is not in repository {repository}: pass --image REF \
                 (the image the plan was made with) so apply pushes it. Nothing was executed"
        ))
    };
    if let Some(url) = registry {
        let registry = oci_push::Registry::new(url, None)
            .map_err(|e| Failure::input(format!("--registry: {e}")))?;
        let found = registry
            .manifest_digest(&repository, &digest, &oci_push::NoProgress)
            .await
            .map_err(|e| Failure::failed(format!("looking up {planned}: {e}")))?;
        return found.map(|_| ()).ok_or_else(missing);
    }
    let found = ecr
        .describe_images()
        .repository_name(&repository)
        .image_ids(ImageIdentifier::builder().image_digest(&digest).build())
        .send()
        .await;
    match found {
        Ok(out) if !out.image_details().is_empty() => Ok(()),
        Ok(_) => Err(missing()),
        Err(e)
            if matches!(
                e.code(),
                Some("ImageNotFoundException" | "RepositoryNotFoundException")
            ) =>
        {
            Err(missing())
        }
        Err(e) => Err(crate::aws::call_failed(
            &format!("looking up image {digest} in ECR repository {repository}"),
            &e,
        )),
    }
}

mod recreate;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_verify;
mod verify;
