//! Planning a release: every stack in order (the environment, then the services by
//! name), each through the single-stack engine (`engine::prepare` + `Deploy::run`) as
//! `deploy --plan-out` plans one stack, its change set left for apply and its plan kept
//! for the release plan. Services get the environment's current outputs as parameters
//! (the wiring rule); a service whose environment does not exist yet cannot be planned
//! by a change set and becomes a deferred create (its rows worked out from the template).

use std::collections::BTreeMap;

use aws_sdk_cloudformation::Client;

use super::spec::{ReleaseSpec, StackSpec, output_names, wired_parameters};
use super::{ImageChoice, ReleaseMode, ReleaseRequest};
use crate::cfn::stack;
use crate::config::Settings;
use crate::engine::plan_file::{self, PlanFile, Recreate};
use crate::engine::plan_recreate::created_rows;
use crate::engine::{DeployReport, Ending, Request, View, prepare};
use crate::error::Failure;
use crate::output::Printer;
use crate::parameters::effective_values;

/// One stack as planned.
pub(crate) struct PlannedStack {
    /// `None`: the environment.
    pub service: Option<String>,
    /// How planning it ended.
    pub ending: Ending,
    /// What the single-stack engine reported (rows, parameters, change set).
    pub report: DeployReport,
    /// Its plan (not for a dry run).
    pub plan: Option<PlanFile>,
    /// The environment outputs it was planned with.
    pub environment_inputs: BTreeMap<String, String>,
    /// Planned before its environment existed: created at apply.
    pub deferred: bool,
}

/// What the images resolved to: service → digest-pinned URI.
pub(crate) type Images = BTreeMap<String, String>;

/// Plans every stack of `spec` in scope; on a failure the change sets already made are
/// deleted again (`Err` carries what was planned so far, for the report).
pub(crate) async fn plan_all(
    request: &ReleaseRequest<'_>,
    spec: &ReleaseSpec,
    images: &Images,
    client: &Client,
    printer: &Printer,
) -> Result<Vec<PlannedStack>, (Vec<PlannedStack>, Failure)> {
    let mut planned = Vec::new();
    let env_spec = spec.environment_stack();
    let env_outputs_declared = env_spec
        .map(|e| output_names(&e.template))
        .unwrap_or_default();
    if request.services.is_empty()
        && let Some(env) = env_spec
    {
        section(printer, env);
        match plan_stack(request, env, BTreeMap::new(), printer).await {
            Ok(stack) => planned.push(stack),
            Err(failure) => return Err((planned, failure)),
        }
    }
    // The environment as it is now: what the services are planned against.
    let env_now = match env_spec {
        Some(env) => match stack::describe(client, &env.stack_name).await {
            Ok(found) => found.filter(|s| {
                let status = stack::status_of(s);
                status != "REVIEW_IN_PROGRESS"
                    && status != "DELETE_COMPLETE"
                    && status != "ROLLBACK_COMPLETE"
            }),
            Err(failure) => return Err((planned, failure)),
        },
        None => None,
    };
    if !request.services.is_empty() && env_now.is_none() {
        let name = env_spec.map_or("(none)", |e| e.stack_name.as_str());
        return Err((
            planned,
            Failure::input(format!(
                "--service: the environment stack {name} does not exist yet; deploy the whole \
                 environment first (without --service)"
            )),
        ));
    }
    let env_outputs = env_now.as_ref().map(stack::outputs);
    for service in spec.stacks.iter().filter(|s| s.service.is_some()) {
        let name = service.service.clone().unwrap_or_default();
        if !request.services.is_empty() && !request.services.contains(&name) {
            continue;
        }
        section(printer, service);
        let wired = wired_parameters(&service.template, &env_outputs_declared);
        let mut parameters = service.parameters.clone();
        if let (Some(param), Some(uri)) = (&service.image_parameter, images.get(&name)) {
            parameters.insert(param.clone(), uri.clone());
        }
        let result = match &env_outputs {
            Some(outputs) => {
                let mut inputs = BTreeMap::new();
                let missing: Vec<&String> =
                    wired.iter().filter(|p| !outputs.contains_key(*p)).collect();
                if !missing.is_empty() {
                    return Err((
                        planned,
                        Failure::failed(format!(
                            "service {name}: the environment stack has no output {} yet (this \
                             release adds it): deploy the environment first (`--service` cannot \
                             be used for it; deploy without it), then plan the services again",
                            missing
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    ));
                }
                for p in &wired {
                    inputs.insert(p.clone(), outputs[p].clone());
                }
                parameters.extend(inputs.clone());
                let mut with = service.clone();
                with.parameters = parameters;
                plan_stack(request, &with, inputs, printer).await
            }
            None => plan_deferred(request, spec, service, parameters, wired, client, printer).await,
        };
        match result {
            Ok(stack) => planned.push(stack),
            Err(failure) => return Err((planned, failure)),
        }
    }
    Ok(planned)
}

/// The section header of one stack in the combined preview (stdout, like the tables).
fn section(printer: &Printer, spec: &StackSpec) {
    let line = format!("\n== Stack {} ({}) ==\n", spec.stack_name, spec.role());
    match printer.format() {
        crate::output::OutputFormat::Text => printer.stdout(&line),
        crate::output::OutputFormat::Json => printer.note(line.trim()),
    }
}

/// The engine's settings for one stack.
pub(crate) fn settings_of(spec: &StackSpec, region: &str) -> Settings {
    Settings {
        stack_name: spec.stack_name.clone(),
        region: Some(region.to_owned()),
        template: std::path::PathBuf::from(format!("{}.yaml", spec.stack_name)),
        parameters: spec.parameters.clone(),
        tags: spec.tags.clone(),
        capabilities: None,
        termination_protection: spec.termination_protection,
        role_arn: spec.role_arn.clone(),
        image_parameter: spec
            .image_parameter
            .clone()
            .unwrap_or_else(|| crate::config::DEFAULT_IMAGE_PARAMETER.to_owned()),
        repository: spec.repository.clone(),
        wait_timeout: spec.wait_timeout,
        change_set_timeout: spec.change_set_timeout,
        express_create: spec.express_create,
    }
}

/// Plans one stack through the single-stack engine.
async fn plan_stack(
    request: &ReleaseRequest<'_>,
    spec: &StackSpec,
    environment_inputs: BTreeMap<String, String>,
    printer: &Printer,
) -> Result<PlannedStack, Failure> {
    let dry_run = matches!(request.mode, ReleaseMode::DryRun);
    let mut deploy = prepare(
        Request {
            settings: settings_of(spec, &request.spec.region),
            template: spec.template.clone(),
            image: None,
            dry_run,
            detailed_exitcode: request.detailed_exitcode,
            yes: true,
            allow_change: &[],
            plan_out: None,
            release: !dry_run,
            commit: request.commit,
            allow_out_of_order: request.allow_out_of_order,
        },
        printer,
    )
    .await?;
    let ending = deploy.run().await;
    deploy.progress.finish();
    let ending = ending?;
    if ending == Ending::NoChanges {
        // On stdout only as text: with --output json, stdout is the one JSON document.
        match printer.format() {
            crate::output::OutputFormat::Text => printer.stdout("No changes.\n"),
            crate::output::OutputFormat::Json => printer.note("No changes."),
        }
    }
    let mut report = std::mem::take(&mut deploy.report);
    let mut plan = report.planned.take().map(|p| *p);
    // A service's image reaches its stack as a parameter, not through the single-stack
    // `--image`: when the plan changes it, record it and its repository in the stack's
    // plan, so `apply` pushes it (`--image SERVICE=REF`, checked against this digest) or
    // finds it in the repository. An image the stack already runs needs neither.
    if let (Some(plan), Some(param)) = (plan.as_mut(), &spec.image_parameter)
        && let Some(uri) = spec.parameters.get(param)
        && plan.parameter_changes.iter().any(|c| c.name == *param)
    {
        plan.image_uri = Some(uri.clone());
        plan.repository = spec.repository.clone();
    }
    Ok(PlannedStack {
        service: spec.service.clone(),
        ending,
        report,
        plan,
        environment_inputs,
        deferred: false,
    })
}

/// A service whose environment does not exist yet: no change set can be made (its
/// parameters need the environment's outputs), so the plan carries the template and
/// parameters, and the rows are the template's resources, all `Add`; apply fills the
/// wired parameters once the environment is deployed and checks CloudFormation's rows
/// against these before executing.
async fn plan_deferred(
    request: &ReleaseRequest<'_>,
    release: &ReleaseSpec,
    spec: &StackSpec,
    parameters: BTreeMap<String, String>,
    wired: Vec<String>,
    client: &Client,
    printer: &Printer,
) -> Result<PlannedStack, Failure> {
    let name = &spec.stack_name;
    if let Some(existing) = stack::describe(client, name).await? {
        let status = stack::status_of(&existing);
        if status != "REVIEW_IN_PROGRESS" && status != "DELETE_COMPLETE" {
            return Err(Failure::failed(format!(
                "stack {name} exists ({status}) but its environment stack does not: deploy the \
                 environment alone first, or remove {name} (`deployer destroy --stack-name {name}`)"
            )));
        }
    }
    let specs = &spec.template.parameters;
    let values = effective_values(specs, &parameters);
    let rows = created_rows(&spec.template.body, specs, &values).map_err(|why| {
        Failure::failed(format!(
            "stack {name} is created after its environment, and what it creates cannot be worked \
             out before: {why}"
        ))
    })?;
    let parameter_changes = crate::engine::plan::parameter_changes(specs, &parameters, None);
    let commit = crate::git::deploy_commit(request.commit)?;
    let mut tags = spec.tags.clone();
    if let Some(commit) = &commit {
        tags.insert(crate::engine::order::COMMIT_TAG.to_owned(), commit.clone());
    }
    let capabilities = spec.template.capabilities.clone();
    let mut report = DeployReport {
        stack_name: name.clone(),
        has_changes: true,
        dry_run: matches!(request.mode, ReleaseMode::DryRun),
        capabilities: capabilities.clone(),
        changes: rows.clone(),
        parameter_changes: parameter_changes.clone(),
        commit: commit.clone(),
        image_uri: spec
            .image_parameter
            .as_ref()
            .and_then(|p| parameters.get(p))
            .cloned(),
        ..Default::default()
    };
    crate::redact::changes(&mut report.changes);
    let env_name = release
        .environment_stack()
        .map_or_else(String::new, |e| e.stack_name.clone());
    let note = format!(
        "Stack {name} is created after the environment stack {env_name}, which does not exist yet: \
         its parameters {} come from the environment's outputs, so CloudFormation is asked for its \
         change set at apply. It will create:\n",
        wired.join(", ")
    );
    let table = crate::output::changes::render_text(&report.changes, &report.parameter_changes);
    match printer.format() {
        crate::output::OutputFormat::Text => printer.stdout(&format!("{note}{table}")),
        crate::output::OutputFormat::Json => printer.note(&format!("{note}{table}")),
    }
    let view = View::new(*printer);
    if let Some(gh) = &view.github {
        gh.summary(&format!(
            "### Stack {} (created after its environment)\n\n{}\n",
            crate::output::markdown::code(name),
            crate::output::changes::render_markdown(&report.changes, &report.parameter_changes)
        ));
    }
    let plan = PlanFile {
        version: plan_file::VERSION,
        created_at: plan_file::now(),
        stack_name: name.clone(),
        stack_id: None,
        region: release.region.clone(),
        change_set_name: None,
        change_set_id: None,
        has_changes: true,
        creates_stack: true,
        stack: None,
        image_uri: report.image_uri.clone(),
        repository: report.image_uri.as_ref().and(spec.repository.clone()),
        commit,
        template_sha256: plan_file::sha256_hex(spec.template.body.as_bytes()),
        capabilities,
        termination_protection: spec.termination_protection,
        wait_timeout_seconds: spec.wait_timeout.as_secs(),
        changes: report.changes.clone(),
        parameter_changes,
        reviewed: None,
        recreate: Some(Recreate {
            dead_stack_id: None,
            template_body: spec.template.body.clone(),
            parameters,
            tags,
            role_arn: spec.role_arn.clone(),
            change_set_timeout_seconds: spec.change_set_timeout.as_secs(),
            wired,
        }),
    };
    Ok(PlannedStack {
        service: spec.service.clone(),
        ending: Ending::Pending,
        report,
        plan: Some(plan),
        environment_inputs: BTreeMap::new(),
        deferred: true,
    })
}

/// The image each service in scope deploys: pushed (or, for a dry run, only its
/// digest worked out), given, or the one its stack runs now.
pub(crate) async fn resolve_images(
    request: &ReleaseRequest<'_>,
    spec: &ReleaseSpec,
    sdk: &aws_config::SdkConfig,
    client: &Client,
    printer: &Printer,
) -> Result<Images, Failure> {
    let mut images = Images::new();
    for service in spec.stacks.iter().filter(|s| s.service.is_some()) {
        let name = service.service.clone().unwrap_or_default();
        if !request.services.is_empty() && !request.services.contains(&name) {
            continue;
        }
        let Some(param) = &service.image_parameter else {
            continue;
        };
        let uri = match request.images.get(&name).unwrap_or(&ImageChoice::Keep) {
            ImageChoice::Uri(uri) => uri.clone(),
            ImageChoice::Push(image) => {
                let Some(transfer) = request.transfer else {
                    return Err(Failure::internal(
                        "an image to push without the transfer settings",
                    ));
                };
                let Some(repository) = &service.repository else {
                    return Err(Failure::input(format!("service {name} has no repository")));
                };
                let args = crate::cli::ImageArgs {
                    image: Some(image.clone()),
                    repository: Some(repository.clone()),
                    tag: None,
                    transfer: transfer.clone(),
                };
                if matches!(request.mode, ReleaseMode::DryRun | ReleaseMode::PlanOut(_)) {
                    // A plan only pins the digest: the role that plans cannot write to
                    // ECR (README "Security model"), `apply --image SERVICE=REF` pushes.
                    let planned = crate::commands::push::plan_image(&args, sdk).await?;
                    let what = if matches!(request.mode, ReleaseMode::DryRun) {
                        "Dry run: image of service {name} not pushed; a deploy pushes it as"
                    } else {
                        "Image of service {name} not pushed; `apply --image {name}=REF` pushes it as"
                    };
                    printer.note(&format!(
                        "{} {}",
                        what.replace("{name}", &name),
                        planned.uri
                    ));
                    planned.uri
                } else {
                    let pushed = crate::commands::push::push_image(&args, sdk, printer).await?;
                    printer.note(&format!("Pushed {} (service {name})", pushed.uri));
                    pushed.uri
                }
            }
            ImageChoice::Keep => {
                let current = stack::describe(client, &service.stack_name)
                    .await?
                    .and_then(|s| {
                        s.parameters()
                            .iter()
                            .find(|p| p.parameter_key() == Some(param.as_str()))
                            .and_then(|p| p.parameter_value().map(str::to_owned))
                    })
                    .filter(|v| !v.is_empty());
                match current {
                    Some(uri) => uri,
                    None => {
                        return Err(Failure::input(format!(
                            "service {name} has no stack yet ({}), so there is no image to keep: \
                             give it one with --image {name}=REF",
                            service.stack_name
                        )));
                    }
                }
            }
        };
        images.insert(name, uri);
    }
    Ok(images)
}
