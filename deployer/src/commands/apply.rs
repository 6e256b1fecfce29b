//! The `apply` subcommand: read a plan file and the flags, check what can be checked
//! before any AWS call (the file, the image on disk against the plan, that someone can
//! confirm), then let the engine execute exactly the planned change set
//! (`crate::engine::apply`). A release plan (version 3, several stacks) goes to
//! `crate::engine::release`.

use std::time::Duration;

use crate::cfn::wait::duration_input;
use crate::cli::{ApplyArgs, ImageArgs};
use crate::engine::Ending;
use crate::engine::apply::{digest_of, session};
use crate::engine::plan_file::{self, PlanFile};
use crate::engine::release::apply_plan_in;
use crate::engine::release::file::{AnyPlan, ReleasePlan, read_any};
use crate::error::{CommandResult, Failure};
use crate::output::github::GitHub;
use crate::output::{Printer, prompt};

/// Runs `deployer apply`.
pub(crate) async fn run(args: ApplyArgs, printer: &Printer) -> CommandResult {
    if let AnyPlan::Release(release) =
        read_any(&args.plan).map_err(|failure| failed_early(&args, failure))?
    {
        return apply_release(&args, &release, printer).await;
    }
    let (plan, image, wait_timeout) = match read_and_check(&args, printer).await {
        Ok(checked) => checked,
        Err(failure) => return Err(failed_early(&args, failure)),
    };
    let sdk = match crate::aws::sdk_config_in(Some(&plan.region)).await {
        Ok(sdk) => sdk,
        Err(failure) => return Err(failed_early(&args, failure)),
    };
    let mut apply = session(
        &plan,
        &args.plan.display().to_string(),
        args.yes,
        &sdk,
        wait_timeout,
        printer,
    );
    let result = if plan.has_changes {
        let registry = args.transfer.registry.as_deref();
        apply.apply(&plan, image, &sdk, registry).await
    } else {
        apply.progress.line(&format!(
            "Nothing to apply: plan {} has no changes (stack {} was up to date when planned)",
            args.plan.display(),
            plan.stack_name
        ));
        Ok(Ending::NoChanges)
    };
    apply.finish(result)
}

/// Applies a release plan (version 3): every stack checked first, the environment,
/// then the services in parallel (`engine::release`).
async fn apply_release(
    args: &ApplyArgs,
    release: &ReleasePlan,
    printer: &Printer,
) -> CommandResult {
    let file = args.plan.display().to_string();
    if args.image.is_some() {
        return Err(failed_early(
            args,
            Failure::input(format!(
                "--image: plan {file} is a release plan, whose images were pushed when it was planned \
                 (`deploy --image SERVICE=REF`); drop --image"
            )),
        ));
    }
    if !release.has_changes() {
        printer.result_line(
            &format!(
                "Nothing to apply: plan {file} has no changes (environment {} was up to date when planned).",
                release.environment
            ),
            true,
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    prompt::check_someone_answers(printer.terminal(), args.yes, "")
        .map_err(|failure| failed_early(args, failure))?;
    if prompt::asks_to_execute(printer.terminal(), args.yes) {
        let question = format!(
            "Execute the change sets of {} stack(s) of {} {}?",
            release.stacks.iter().filter(|s| s.plan.has_changes).count(),
            release.application,
            release.environment
        );
        match prompt::confirm(&question, crate::engine::signal_interrupt()).await? {
            Some(true) => {}
            Some(false) => return Err(Failure::failed("not executed: the answer was no")),
            None => {
                return Err(Failure::interrupted(
                    "interrupted before anything was executed",
                ));
            }
        }
    }
    let sdk = crate::aws::sdk_config_in(Some(&release.region))
        .await
        .map_err(|failure| failed_early(args, failure))?;
    let registry = args.transfer.registry.as_deref();
    apply_plan_in(release, Some(&file), registry, &sdk, printer).await
}

/// Everything checked before the first AWS call: the plan file, the flags, the image
/// on disk against the plan, and that someone can confirm.
async fn read_and_check(
    args: &ApplyArgs,
    printer: &Printer,
) -> Result<(PlanFile, Option<ImageArgs>, Duration), Failure> {
    let plan = plan_file::read(&args.plan)?;
    let wait_timeout = match &args.wait_timeout {
        Some(text) => duration_input("--wait-timeout", text)?,
        None => Duration::from_secs(plan.wait_timeout_seconds),
    };
    let image = image_to_push(args, &plan)?;
    if let Some(image) = &image {
        check_digest_on_disk(image, &plan).await?;
    }
    if plan.has_changes {
        prompt::check_someone_answers(printer.terminal(), args.yes, "")?;
    }
    Ok((plan, image, wait_timeout))
}

/// A failure before anything was looked up in AWS: under GitHub Actions, the summary
/// line and `::error` annotation a later failure gets too.
fn failed_early(args: &ApplyArgs, failure: Failure) -> Failure {
    if let Some(gh) = GitHub::detect() {
        let verdict = format!(
            "Apply of plan {} failed: {}",
            args.plan.display(),
            failure.message
        );
        gh.verdict(&verdict);
        gh.error("Apply failed", &failure.message);
    }
    failure
}

/// The image `apply` pushes: `--image` to the plan's repository. `None` when the plan
/// has no image, or when `--image` was not given (then the image must already be in
/// the repository).
pub(crate) fn image_to_push(
    args: &ApplyArgs,
    plan: &PlanFile,
) -> Result<Option<ImageArgs>, Failure> {
    match (&args.image, &plan.image_uri, &plan.repository) {
        (None, _, _) => Ok(None),
        (Some(_), None, _) => Err(Failure::input(format!(
            "--image: plan {} was made without an image, so there is nothing to push; drop --image",
            args.plan.display()
        ))),
        (Some(_), Some(_), None) => Err(Failure::input(format!(
            "plan {} has an image but no repository: it was not written by `deploy --plan-out`; plan again",
            args.plan.display()
        ))),
        (Some(image), Some(_), Some(repository)) => Ok(Some(ImageArgs {
            image: Some(image.clone()),
            repository: Some(repository.clone()),
            tag: args.tag.clone(),
            transfer: args.transfer.clone(),
        })),
    }
}

/// `--image` must be the image the plan was made with: compared by digest, from the
/// files on disk, before any AWS call (bad input, exit 64, nothing changed).
pub(crate) async fn check_digest_on_disk(
    image: &ImageArgs,
    plan: &PlanFile,
) -> Result<(), Failure> {
    let planned = plan.image_uri.as_deref().unwrap_or_default();
    let on_disk = crate::commands::push::image_digest(image).await?;
    if on_disk != digest_of(planned) {
        return Err(Failure::input(format!(
            "--image {} is {on_disk}, but the plan deploys {planned}: pass the image the plan was made \
             with (or plan again with this one). Nothing was pushed or executed",
            image.image.as_deref().unwrap_or_default()
        )));
    }
    Ok(())
}
