//! The `apply` subcommand: read a plan file and the flags, check what can be checked
//! before any AWS call (the file, the image on disk against the plan, that someone can
//! confirm), then let the engine execute exactly the planned change set
//! (`crate::engine::apply`). A release plan (version 3, several stacks) goes to
//! `crate::engine::release`.

use std::time::Duration;

use crate::cfn::wait::duration_input;
use crate::cli::{ApplyArgs, ImageArgs};
use crate::engine::Ending;
use crate::engine::apply::{check_image_exists, digest_of, session};
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
    let images = release_images(args, release, printer).map_err(|f| failed_early(args, f))?;
    for (image, plan) in &images {
        check_digest_on_disk(image, plan)
            .await
            .map_err(|f| failed_early(args, f))?;
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
    push_release_images(release, &images, registry, &sdk, printer)
        .await
        .map_err(|f| failed_early(args, f))?;
    apply_plan_in(release, Some(&file), registry, &sdk, printer).await
}

/// `--image SERVICE=REF` of a release plan: each service's image, to its stack plan's
/// repository, checked against what that plan pinned.
fn release_images<'a>(
    args: &ApplyArgs,
    release: &'a ReleasePlan,
    printer: &Printer,
) -> Result<Vec<(ImageArgs, &'a PlanFile)>, Failure> {
    let mut out: Vec<(ImageArgs, &PlanFile)> = Vec::new();
    for given in &args.images {
        let Some((service, image)) = given.split_once('=') else {
            return Err(Failure::input(format!(
                "--image {given}: plan {} is a release plan; give SERVICE=REF (e.g. --image \
                 web=oci-archive:web.tar)",
                args.plan.display()
            )));
        };
        let stack = release
            .stacks
            .iter()
            .find(|s| s.service.as_deref() == Some(service))
            .ok_or_else(|| {
                Failure::input(format!(
                    "--image {given}: plan {} has no service `{service}`",
                    args.plan.display()
                ))
            })?;
        if out
            .iter()
            .any(|(_, p)| p.stack_name == stack.plan.stack_name)
        {
            return Err(Failure::input(format!("--image {service}=…: given twice")));
        }
        let (Some(_), Some(repository)) = (&stack.plan.image_uri, &stack.plan.repository) else {
            // CI passes every service's image; one this plan does not change (the stack
            // runs it already, or the service has no changes) has nothing to push.
            printer.note(&format!(
                "--image {service}=…: the plan does not change service `{service}`'s image; not pushed"
            ));
            continue;
        };
        let image_args = ImageArgs {
            image: Some(image.to_owned()),
            repository: Some(repository.clone()),
            tag: args.tag.clone(),
            transfer: args.transfer.clone(),
        };
        out.push((image_args, &stack.plan));
    }
    Ok(out)
}

/// Pushes the release's images given with `--image` (each must come out as the planned
/// URI), and checks that every other planned image is already in its repository.
async fn push_release_images(
    release: &ReleasePlan,
    images: &[(ImageArgs, &PlanFile)],
    registry: Option<&str>,
    sdk: &aws_config::SdkConfig,
    printer: &Printer,
) -> Result<(), Failure> {
    let ecr = aws_sdk_ecr::Client::new(sdk);
    for stack in release.stacks.iter().filter(|s| s.plan.has_changes) {
        let Some(planned) = &stack.plan.image_uri else {
            continue;
        };
        match images
            .iter()
            .find(|(_, p)| p.stack_name == stack.plan.stack_name)
        {
            Some((image, _)) => {
                let pushed = crate::commands::push::push_image(image, sdk, printer).await?;
                if pushed.uri != *planned {
                    return Err(Failure::failed(format!(
                        "the image was pushed as {}, but the plan deploys {planned} for stack {}: \
                         is --registry the one the plan used? Nothing was executed",
                        pushed.uri, stack.plan.stack_name
                    )));
                }
                printer.note(&format!("Pushed {}", pushed.uri));
            }
            None => check_image_exists(&ecr, registry, planned, &stack.plan).await?,
        }
    }
    Ok(())
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
    let image = match args.images.as_slice() {
        [] => None,
        [one] => Some(one),
        [_, ..] => {
            return Err(Failure::input(format!(
                "--image: plan {} deploys one stack, so it takes one --image",
                args.plan.display()
            )));
        }
    };
    match (image, &plan.image_uri, &plan.repository) {
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
