//! The `rollback` subcommand: plan (or deploy) a service's previous image again. The
//! image comes from the service's ECS task definition revisions (each keeps the image
//! it ran), newest first: the first whose image differs from the running one, or the
//! one with `--to DIGEST`. Only the service stacks' `ImageUri` changes, through the
//! same release flow as a deploy (`crate::engine::release`): shown, then applied on
//! confirmation or written as a plan for `apply`.

use std::collections::BTreeMap;

use crate::app;
use crate::aws::ecs_images::{image_with_digest, previous_image};
use crate::cfn::stack;
use crate::cli::RollbackArgs;
use crate::commands::deploy::release_chosen_images;
use crate::engine::release::ImageChoice;
use crate::error::{CommandResult, Failure};
use crate::output::Printer;

/// Runs `deployer rollback`.
pub(crate) async fn run(args: RollbackArgs, printer: &Printer) -> CommandResult {
    let app = app::load(&args.config, &crate::config::process_env)?;
    app.refuse_previews(&args.environment, "rollback")?;
    let env = app.environment(&args.environment)?;
    let services = chosen_services(&app, &args)?;
    let sdk = crate::aws::sdk_config_in(Some(&env.region)).await?;
    let cfn = aws_sdk_cloudformation::Client::new(&sdk);
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let mut images = BTreeMap::new();
    for service in &services {
        let stack_name = app.service_stack(&args.environment, service);
        let found = stack::describe(&cfn, &stack_name).await?.ok_or_else(|| {
            Failure::failed(format!(
                "service {service} is not deployed in {} (no stack {stack_name}): there is nothing \
                 to roll back",
                args.environment
            ))
        })?;
        let current = found
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(app::stacks::IMAGE_PARAMETER))
            .and_then(|p| p.parameter_value())
            .unwrap_or_default()
            .to_owned();
        // The templates name the family after the stack (output TaskDefinitionFamily).
        let family = stack::outputs(&found)
            .remove("TaskDefinitionFamily")
            .unwrap_or_else(|| stack_name.clone());
        let target = match &args.to {
            Some(digest) => image_with_digest(&ecs, &family, digest).await?,
            None => previous_image(&ecs, &family, &current)
                .await?
                .ok_or_else(|| {
                    Failure::failed(format!(
                        "service {service}: every revision of task definition family {family} ran \
                     {current}, so there is no earlier image to go back to"
                    ))
                })?,
        };
        printer.note(&format!(
            "service {service}: {current} → {} (task definition {family}:{}{})",
            target.uri,
            target.revision,
            target
                .registered_at
                .as_deref()
                .map(|t| format!(", registered {t}"))
                .unwrap_or_default()
        ));
        images.insert(service.clone(), ImageChoice::Uri(target.uri));
    }
    let spec = app::resolve::release_spec(&app, &args.environment, &sdk).await?;
    release_chosen_images(spec, &services, &args.mode, images, printer).await
}

/// `--service` (each must exist), or every service; `--to` needs exactly one.
fn chosen_services(app: &app::Application, args: &RollbackArgs) -> Result<Vec<String>, Failure> {
    for service in &args.services {
        if !app.services.contains_key(service) {
            return Err(Failure::input(format!(
                "--service {service}: {} has no such service (it has: {})",
                app.path.display(),
                app.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    if args.to.is_some() && args.services.len() != 1 {
        return Err(Failure::input(
            "--to DIGEST names one image, so it needs exactly one --service",
        ));
    }
    Ok(if args.services.is_empty() {
        app.services.keys().cloned().collect()
    } else {
        args.services.clone()
    })
}
