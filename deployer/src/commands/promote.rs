//! The `promote` subcommand: plan (or deploy) one environment with exactly the image
//! digests another one runs. The images are read from the source environment's service
//! stacks (their `ImageUri` parameters); nothing is built or pushed, so what reaches
//! production is byte for byte what was tested in staging. The change sets go through
//! the same release flow as `deploy` (`crate::engine::release`).

use std::collections::BTreeMap;

use crate::app;
use crate::aws::stack_images::deployed_images;
use crate::cli::PromoteArgs;
use crate::commands::deploy::release_chosen_images;
use crate::engine::release::ImageChoice;
use crate::error::{CommandResult, Failure};
use crate::output::Printer;

/// Runs `deployer promote`.
pub(crate) async fn run(args: PromoteArgs, printer: &Printer) -> CommandResult {
    let app = app::load(&args.config, &crate::config::process_env)?;
    app.refuse_previews(&args.to, "promote")?;
    app.refuse_previews(&args.from, "promote")?;
    check_promotion(&app, &args.from, &args.to)?;
    let target = app.environment(&args.to)?;
    // The source's region is its own when its variables are set; where promote runs in
    // CI only the target's are (README "Promotion": both live in one account and region).
    let source_region = app
        .environment(&args.from)
        .map(|e| e.region)
        .unwrap_or_else(|_| target.region.clone());
    let source_sdk = crate::aws::sdk_config_in(Some(&source_region)).await?;
    let services: Vec<String> = app.services.keys().cloned().collect();
    let cfn = aws_sdk_cloudformation::Client::new(&source_sdk);
    let running = deployed_images(&cfn, &app.name, &args.from, &services).await?;
    printer.note(&format!(
        "deployer promote: {} gets the images {} runs (nothing is built or pushed)",
        args.to, args.from
    ));
    let mut images = BTreeMap::new();
    for (service, uri) in running {
        printer.note(&format!(
            "service {service}: {uri} (what {} runs)",
            args.from
        ));
        images.insert(service, ImageChoice::Uri(uri));
    }
    let sdk = crate::aws::sdk_config_in(Some(&target.region)).await?;
    let spec = app::resolve::release_spec(&app, &args.to, &sdk).await?;
    release_chosen_images(spec, &[], &args.mode, images, printer).await
}

/// `from` must name `to` as its `promotes_to`: the promotion path is part of the
/// reviewed configuration, not a choice made on the command line.
fn check_promotion(app: &app::Application, from: &str, to: &str) -> Result<(), Failure> {
    // Both must exist (named in the error with the ones there are).
    for name in [from, to] {
        if !app.environment_names().any(|e| e == name) {
            return Err(Failure::input(format!(
                "environment `{name}` is not in {}; it has: {}",
                app.path.display(),
                app.environment_names().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    match app.promotes_to(from) {
        Some(next) if next == to => Ok(()),
        Some(next) => Err(Failure::input(format!(
            "environment `{from}` promotes to `{next}`, not `{to}` (deploy.yaml \
             `environments.{from}.promotes_to`): promote to `{next}`, or change promotes_to"
        ))),
        None => Err(Failure::input(format!(
            "environment `{from}` promotes to nothing: add `promotes_to: {to}` under \
             `environments.{from}` in {} to allow this promotion",
            app.path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "
version: 2
application: hello
environments:
  staging: { region: eu-west-1, domain: s.example.com, hosted_zone_id: Z1, cognito_domain_prefix: hs,
             permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/b', promotes_to: production }
  production: { region: eu-west-1, domain: example.com, hosted_zone_id: Z2, cognito_domain_prefix: hp,
                permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/b' }
  qa: { region: eu-west-1, domain: qa.example.com, hosted_zone_id: Z3, cognito_domain_prefix: hq,
        permissions_boundary_arn: 'arn:aws:iam::123456789012:policy/b' }
services:
  web: { image: { context: . }, port: 8080, health_path: /healthz, host: app, login: cognito, cpu: 256,
         memory: 512, scaling: { min: 1, max: 2 } }
";

    fn app() -> (tempfile::TempDir, app::Application) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deploy.yaml");
        std::fs::write(&path, FILE).unwrap();
        let app = app::load(&path, &|_| None).unwrap();
        (dir, app)
    }

    #[test]
    fn only_the_configured_promotion_is_allowed() {
        let (_dir, app) = app();
        assert!(check_promotion(&app, "staging", "production").is_ok());
        let e = check_promotion(&app, "staging", "qa").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("promotes to `production`, not `qa`"),
            "{}",
            e.message
        );
        let e = check_promotion(&app, "production", "staging").unwrap_err();
        assert!(
            e.message.contains("add `promotes_to: staging`"),
            "{}",
            e.message
        );
        let e = check_promotion(&app, "staging", "prod").unwrap_err();
        assert!(
            e.message.contains("it has: production, qa, staging"),
            "{}",
            e.message
        );
    }
}
