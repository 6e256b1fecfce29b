//! The `deploy` subcommand: resolve the flags and deploy.yaml into what the change-set
//! engine (`crate::engine`) deploys, and run it. A deploy.yaml of version 2 (an
//! application: an environment and its services) goes to the multi-stack release
//! (`crate::engine::release`); everything else is the single-stack flow.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::{DeployArgs, ImageArgs};
use crate::config;
use crate::engine::release::{self, ImageChoice, ReleaseMode, ReleaseRequest};
use crate::engine::{self, Deploy, Request};
use crate::error::{CommandResult, Failure};
use crate::output::Printer;
use crate::output::github::GitHub;
use crate::template::Template;

/// Runs `deployer deploy`.
pub(crate) async fn run(args: DeployArgs, printer: &Printer) -> CommandResult {
    if let Some(config) = &args.config
        && crate::config::format_version(config)? == crate::app::VERSION
    {
        return release(&args, config, printer).await;
    }
    if !args.services.is_empty() {
        return Err(Failure::input(
            "--service needs a version-2 deploy.yaml (an application with `services:`)",
        ));
    }
    let mut deploy = match start(&args, printer).await {
        Ok(deploy) => deploy,
        // Config, template, parameters, pre-flight checks, push: GitHub gets the same
        // annotation and summary as a failure after the change set.
        Err(failure) => return Err(failed_before_change_set(&args, failure)),
    };
    let result = deploy.run().await;
    deploy.finish(result)
}

/// Everything before the first change-set call: settings, offline checks, the checks
/// against the deployed stack and the hosted zone, and the push.
async fn start(args: &DeployArgs, printer: &Printer) -> Result<Deploy, Failure> {
    let (settings, warnings) = config::resolve_with_warnings(args)?;
    for warning in warnings {
        printer.warn(&warning);
    }
    let template = Template::load(&settings.template)?;
    let image = single_image(args)?;
    engine::prepare(
        Request {
            settings,
            template,
            image: Some(&image),
            dry_run: args.dry_run,
            detailed_exitcode: args.detailed_exitcode,
            yes: args.yes,
            allow_change: &args.allow_change,
            plan_out: args.plan_out.clone(),
            release: false,
            commit: args.commit.as_deref(),
            allow_out_of_order: args.allow_out_of_order,
        },
        printer,
    )
    .await
}

/// A failure before any change set (settings, template, parameters, pre-flight checks,
/// push): under GitHub Actions, the same summary line, outputs and `::error` annotation
/// as a later failure. Returns the failure for `main` to print and exit with.
fn failed_before_change_set(args: &DeployArgs, failure: Failure) -> Failure {
    if let Some(gh) = GitHub::detect() {
        // The stack name, when the flags and config give one (offline: no AWS call).
        let name = crate::config::resolve(args)
            .ok()
            .map(|s| s.stack_name)
            .or_else(|| args.stack_name.clone());
        let (verdict, title) = match &name {
            Some(name) => (
                format!("Deploy of stack {name} failed: {}", failure.message),
                format!("Deploy of {name} failed"),
            ),
            None => (
                format!("Deploy failed: {}", failure.message),
                "Deploy failed".to_owned(),
            ),
        };
        gh.verdict(&verdict);
        gh.outputs(&[
            ("image-uri".to_owned(), String::new()),
            ("change-set-id".to_owned(), String::new()),
            ("has-changes".to_owned(), "false".to_owned()),
            ("stack-status".to_owned(), String::new()),
        ]);
        gh.error(&title, &failure.message);
    }
    failure
}

/// The one `--image` of a single-stack deploy, with the registry flags.
fn single_image(args: &DeployArgs) -> Result<ImageArgs, Failure> {
    let mut image = args.image.clone();
    image.image = match args.images.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [..] => {
            return Err(Failure::input(
                "--image is given more than once: a single-stack deploy ships one image \
                 (`--image SERVICE=REF` per service needs a version-2 deploy.yaml)",
            ));
        }
    };
    Ok(image)
}

/// A version-2 deploy.yaml: the environment and its services as one release.
async fn release(args: &DeployArgs, config: &Path, printer: &Printer) -> CommandResult {
    let environment = args
        .environment
        .as_deref()
        .ok_or_else(|| Failure::input("--config needs --environment NAME"))?;
    for (flag, given) in [
        ("--stack-name", args.stack_name.is_some()),
        ("--template", args.template.is_some()),
        ("--parameter", !args.parameters.is_empty()),
        ("--repository", args.image.repository.is_some()),
        ("--image-parameter", args.image_parameter.is_some()),
        ("--allow-change", !args.allow_change.is_empty()),
    ] {
        if given {
            return Err(Failure::input(format!(
                "{flag}: {} is an application (version 2), whose stacks, templates and \
                 parameters come from the file; leave {flag} out",
                config.display()
            )));
        }
    }
    let app = crate::app::load(config, &crate::config::process_env)?;
    let env = app.environment(environment)?;
    if env.previews.is_some() {
        if !args.services.is_empty() || !args.images.is_empty() {
            return Err(Failure::input(format!(
                "--service/--image: environment `{environment}` hosts pull-request previews \
                 (`previews:` in {}), so deploying it deploys only its environment stack; a \
                 pull request's services are deployed with `deployer preview up --pr N --image \
                 SERVICE=REF` (README \"Previews\")",
                config.display()
            )));
        }
        printer.note(&format!(
            "environment `{environment}` hosts pull-request previews: deploying its environment \
             stack only (services arrive with `deployer preview up --pr N`)"
        ));
    }
    let sdk = crate::aws::sdk_config_in(Some(&env.region)).await?;
    let spec = crate::app::resolve::release_spec(&app, environment, &sdk).await?;
    let images = image_choices(&args.images, &app)?;
    let mode = release_mode(args.dry_run, args.plan_out.as_ref(), args.yes);
    release::run(
        ReleaseRequest {
            spec,
            services: &args.services,
            mode,
            images,
            transfer: Some(&args.image.transfer),
            commit: args.commit.as_deref(),
            detailed_exitcode: args.detailed_exitcode,
            allow_out_of_order: args.allow_out_of_order,
        },
        printer,
    )
    .await
}

/// `REGISTRY/REPOSITORY@sha256:HEX`: an image already pushed, named by its digest.
pub(crate) fn is_pinned_uri(image: &str) -> bool {
    let transports = ["oci:", "oci-archive:", "docker-archive:"];
    !transports.iter().any(|t| image.starts_with(t))
        && image
            .split_once("@sha256:")
            .is_some_and(|(repo, hex)| repo.contains('/') && hex.len() == 64)
}

/// How far a release goes, from the flags `deploy`, `promote` and `rollback` share.
pub(crate) fn release_mode(dry_run: bool, plan_out: Option<&PathBuf>, yes: bool) -> ReleaseMode {
    if dry_run {
        ReleaseMode::DryRun
    } else if let Some(path) = plan_out {
        ReleaseMode::PlanOut(path.clone())
    } else if yes {
        ReleaseMode::Yes
    } else {
        ReleaseMode::Ask
    }
}

/// Runs a release whose images were chosen by the command (`promote`, `rollback`):
/// nothing is pushed, every image is already in its repository.
pub(crate) async fn release_chosen_images(
    spec: release::ReleaseSpec,
    services: &[String],
    mode: &crate::cli::ReleaseModeArgs,
    images: BTreeMap<String, ImageChoice>,
    printer: &Printer,
) -> CommandResult {
    release::run(
        ReleaseRequest {
            spec,
            services,
            mode: release_mode(mode.dry_run, mode.plan_out.as_ref(), mode.yes),
            images,
            transfer: None,
            commit: mode.commit.as_deref(),
            detailed_exitcode: mode.detailed_exitcode,
            allow_out_of_order: false,
        },
        printer,
    )
    .await
}

/// `--image SERVICE=REF` of each service of `app` (deploy and `preview up`): a
/// digest-pinned URI already in a registry is deployed as it is; anything else is an
/// image on disk (`oci:`, `oci-archive:`, `docker-archive:`) to push.
pub(crate) fn image_choices(
    given: &[String],
    app: &crate::app::Application,
) -> Result<BTreeMap<String, ImageChoice>, Failure> {
    let mut images = BTreeMap::new();
    for item in given {
        let Some((service, image)) = item.split_once('=') else {
            return Err(Failure::input(format!(
                "--image {item}: with an application deploy.yaml, give SERVICE=REF \
                 (e.g. --image web=oci-archive:web.tar)"
            )));
        };
        if !app.services.contains_key(service) {
            return Err(Failure::input(format!(
                "--image {item}: deploy.yaml has no service `{service}` (its services: {})",
                app.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        let choice = if is_pinned_uri(image) {
            ImageChoice::Uri(image.to_owned())
        } else {
            ImageChoice::Push(image.to_owned())
        };
        if images.insert(service.to_owned(), choice).is_some() {
            return Err(Failure::input(format!("--image {service}=…: given twice")));
        }
    }
    Ok(images)
}
