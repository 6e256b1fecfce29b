//! `deployer preview up --pr N`: the limit, the environment's outputs, the priorities,
//! then every service stack of the preview through the release engine (the `--service`
//! path: the environment stack is only read for its outputs), created in express mode
//! or updated in standard mode, applied without asking; then the deployer's own wait
//! until every service's ECS deployment has completed and its targets are healthy.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Instant;

use super::{Context, PreviewStack};
use crate::app::preview;
use crate::app::resolve::{release_stack, rule_arns};
use crate::app::stacks::IMAGE_PARAMETER;
use crate::aws::rollout::{RolloutTarget, wait_until_ready};
use crate::cfn::stack;
use crate::cfn::wait::{Deadline, duration_input};
use crate::cli::PreviewUpArgs;
use crate::commands::deploy::image_choices;
use crate::engine::release::{self, ReleaseMode, ReleaseRequest, ReleaseSpec};
use crate::error::{CommandResult, Failure};
use crate::output::Printer;
use crate::output::preview::{UpReport, UpService};
use crate::template::Template;

/// Stack statuses of an environment stack services can be deployed against.
const SETTLED: [&str; 3] = [
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
];

/// Runs `deployer preview up`. A failure before the release (the limit, no environment
/// stack, a missing image) still prints a report (`state: failed`, the reason), so the
/// pull request's comment and the step outputs say why.
pub(crate) async fn run(args: PreviewUpArgs, printer: &Printer) -> CommandResult {
    let pr = args.pr;
    let config = args.at.clone();
    let mut reported = false;
    let result = up(args, printer, &mut reported).await;
    if let Err(failure) = &result
        && !reported
    {
        let app = crate::app::load(&config.config, &crate::config::process_env).ok();
        let report = UpReport {
            application: app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            environment: config
                .environment
                .clone()
                .or_else(|| {
                    app.as_ref()
                        .and_then(|a| a.preview_environment().map(str::to_owned))
                })
                .unwrap_or_default(),
            preview: preview::name(pr),
            pr,
            state: "failed".to_owned(),
            failure: Some(failure.message.clone()),
            ..Default::default()
        };
        report.print(printer);
    }
    result
}

async fn up(args: PreviewUpArgs, printer: &Printer, reported: &mut bool) -> CommandResult {
    let started = Instant::now();
    preview::check_pr(args.pr)?;
    let ready_timeout = duration_input("--ready-timeout", &args.ready_timeout)?;
    let ctx = Context::open(&args.at).await?;
    let (app, env) = (&ctx.app, &ctx.env);
    let images = image_choices(&args.images, app)?;
    let name = preview::name(args.pr);

    // 1. The limit, before anything is changed.
    let stacks = ctx.stacks().await?;
    let listed: Vec<(String, String)> = stacks
        .iter()
        .map(|s| (s.stack_name.clone(), s.status.clone()))
        .collect();
    let live = preview::live_previews(&ctx.prefix, &listed, args.pr);
    preview::check_limit(&env.name, &live, ctx.previews.max)?;
    let mine: BTreeMap<&str, &PreviewStack> = stacks
        .iter()
        .filter(|s| {
            s.pr == args.pr && s.status != "REVIEW_IN_PROGRESS" && !preview::is_dead(&s.status)
        })
        .map(|s| (s.service.as_str(), s))
        .collect();

    // 2. A new preview needs an image for every service.
    let missing: Vec<&str> = app
        .services
        .keys()
        .map(String::as_str)
        .filter(|s| !images.contains_key(*s) && !mine.contains_key(s))
        .collect();
    if !missing.is_empty() {
        return Err(Failure::input(format!(
            "preview {name} has no stack yet for {}, so there is no image to keep: give {} \
             (e.g. --image {}=oci-archive:image.tar)",
            missing.join(", "),
            missing
                .iter()
                .map(|s| format!("--image {s}=REF"))
                .collect::<Vec<_>>()
                .join(" "),
            missing[0]
        )));
    }

    // A preview stack whose create failed (express mode does not roll back) is thrown
    // away and created again.
    let dead: Vec<&PreviewStack> = stacks
        .iter()
        .filter(|s| s.pr == args.pr && preview::is_dead(&s.status))
        .collect();
    if !dead.is_empty() && !args.dry_run {
        printer.warn(&format!(
            "preview {name}: {} failed before; deleting {} to create again",
            dead.iter()
                .map(|s| format!("{} ({})", s.stack_name, s.status))
                .collect::<Vec<_>>()
                .join(", "),
            if dead.len() == 1 { "it" } else { "them" }
        ));
        for (stack, error) in super::delete_stacks(&ctx, &dead, ready_timeout, printer).await? {
            if let Some(error) = error {
                return Err(Failure::failed(format!(
                    "preview {name}: {stack} could not be deleted: {error}"
                )));
            }
        }
    }

    // 3. The environment stack: its outputs wire the services.
    let env_stack = app.environment_stack(&env.name);
    let outputs = match stack::describe(&ctx.cfn, &env_stack).await? {
        Some(found) if SETTLED.contains(&stack::status_of(&found)) => stack::outputs(&found),
        found => {
            return Err(Failure::failed(format!(
                "the preview environment's stack {env_stack} {}: deploy it from main first \
                 (`deployer deploy --config {} --environment {}`), then run this again",
                found.map_or_else(
                    || "does not exist".to_owned(),
                    |s| format!("is {}", stack::status_of(&s))
                ),
                app.path.display(),
                env.name
            )));
        }
    };

    // 4. Priorities: its own kept, else derived from N, past slots other rules hold.
    let mut existing = BTreeMap::new();
    let mut own_rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (service, s) in &mine {
        let p = |k: &str| s.parameters.get(k).and_then(|v| v.parse::<u32>().ok());
        if let (Some(api), Some(app_p)) = (p("ApiRulePriority"), p("AppRulePriority")) {
            existing.insert((*service).to_owned(), (api, app_p));
        }
        own_rules.insert(
            (*service).to_owned(),
            rule_arns(&ctx.cfn, &s.stack_name).await?,
        );
    }
    let listener = match outputs.get("HttpsListenerArn") {
        Some(arn) => {
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(&ctx.sdk);
            crate::app::priorities::listener_rules(&elb, arn).await?
        }
        None => BTreeMap::new(),
    };
    let own: BTreeSet<&String> = own_rules.values().flatten().collect();
    let held: BTreeSet<u32> = listener
        .iter()
        .filter(|(_, arn)| !own.contains(arn))
        .map(|(p, _)| *p)
        .collect();
    let services: Vec<&str> = app.services.keys().map(String::as_str).collect();
    let allocation = preview::allocate(args.pr, &services, &existing, &held)?;
    if allocation.probed > 0 {
        printer.warn(&format!(
            "preview {name}: the listener rule priorities derived from {} are held by other \
             rules; using the slot {} further on",
            args.pr, allocation.probed
        ));
    }
    crate::app::priorities::check_free(&allocation.priorities, &own_rules, &listener)?;

    // 5. The release: the service stacks only (the environment stack is read, never planned).
    let template = Template::load(&app.templates.service)?;
    let specs = preview::stacks(
        app,
        env,
        args.pr,
        &outputs,
        &allocation.priorities,
        &template,
    )?;
    let mut release_specs = Vec::new();
    for spec in specs {
        if spec.service.is_some() {
            preview::guard(&ctx.prefix, &spec.stack_name)?;
        }
        let mut stack = release_stack(spec)?;
        stack.express_create = stack.service.is_some();
        release_specs.push(stack);
    }
    let modes: BTreeMap<String, &str> = services
        .iter()
        .map(|s| ((*s).to_owned(), preview::mode_word(mine.contains_key(s))))
        .collect();
    let names: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
    let mode = if args.dry_run {
        ReleaseMode::DryRun
    } else {
        ReleaseMode::Yes
    };
    printer.note(&format!(
        "deployer preview up: {name} on {} ({}), {} service(s)",
        env.name,
        services
            .iter()
            .map(|s| format!("{s}: {}", modes[*s]))
            .collect::<Vec<_>>()
            .join(", "),
        services.len()
    ));
    let released = release::run(
        ReleaseRequest {
            spec: ReleaseSpec {
                application: app.name.clone(),
                environment: env.name.clone(),
                region: env.region.clone(),
                stacks: release_specs,
            },
            services: &names,
            mode,
            images,
            transfer: Some(&args.transfer),
            commit: args.commit.as_deref(),
            detailed_exitcode: false,
            // A pull request's branch is force-pushed: its latest push wins.
            allow_out_of_order: true,
        },
        &printer.results_to_stderr(),
    )
    .await;

    let mut report = UpReport {
        application: app.name.clone(),
        environment: env.name.clone(),
        preview: name.clone(),
        pr: args.pr,
        ..Default::default()
    };
    if args.dry_run {
        report.state = "dry-run".to_owned();
        for service in &services {
            report.services.push(UpService {
                service: (*service).to_owned(),
                stack_name: preview::stack_name(&app.name, &env.name, args.pr, service),
                mode: modes[*service].to_owned(),
                state: "dry-run".to_owned(),
                ..Default::default()
            });
        }
        report.print(printer);
        *reported = true;
        return released.map(|_| ExitCode::SUCCESS);
    }
    if let Err(failure) = &released {
        report.failure = Some(failure.message.clone());
    }

    // 6. The deployer's own wait: every deployed service ready (express mode reports a
    // stack complete before its service is).
    let deadline = Deadline::after(ready_timeout);
    let mut waits = Vec::new();
    for service in &services {
        let stack_name = preview::stack_name(&app.name, &env.name, args.pr, service);
        let mut entry = UpService {
            service: (*service).to_owned(),
            stack_name: stack_name.clone(),
            mode: modes[*service].to_owned(),
            ..Default::default()
        };
        let found = stack::describe(&ctx.cfn, &stack_name).await?;
        let target = match &found {
            Some(s) if matches!(stack::status_of(s), "CREATE_COMPLETE" | "UPDATE_COMPLETE") => {
                let outputs = stack::outputs(s);
                entry.url = outputs.get("ServiceUrl").cloned();
                entry.image = stack::parameters(s).remove(IMAGE_PARAMETER);
                Some(RolloutTarget {
                    cluster: outputs.get("ClusterName").cloned().unwrap_or_default(),
                    service: outputs.get("ServiceName").cloned().unwrap_or_default(),
                    task_definition: task_definition(&ctx, &stack_name).await,
                    target_group_arn: outputs.get("TargetGroupArn").cloned(),
                    label: format!("service {service} ({stack_name})"),
                })
            }
            Some(s) => {
                entry.state = "failed".to_owned();
                entry.error = Some(format!(
                    "stack {stack_name} is {}{}",
                    stack::status_of(s),
                    s.stack_status_reason()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
                None
            }
            None => {
                entry.state = "not-started".to_owned();
                entry.error = Some(format!("stack {stack_name} was not created"));
                None
            }
        };
        waits.push((entry, target));
    }
    let sdk = &ctx.sdk;
    let runs: Vec<_> = waits
        .into_iter()
        .map(|(mut entry, target)| async move {
            if let Some(target) = target {
                let mut progress = printer.progress();
                match wait_until_ready(sdk, &target, deadline, &mut progress).await {
                    Ok(_) => {
                        entry.state = "ready".to_owned();
                        entry.ready_seconds =
                            Some((started.elapsed().as_secs_f64() * 10.0).round() / 10.0);
                    }
                    Err(failure) => {
                        entry.state = "failed".to_owned();
                        entry.error = Some(failure.message);
                    }
                }
                progress.finish();
            }
            entry
        })
        .collect();
    report.services = release::join_bounded(runs, 4).await;
    report.url = report.services.iter().find_map(|s| s.url.clone());
    let failed: Vec<&UpService> = report
        .services
        .iter()
        .filter(|s| s.state != "ready")
        .collect();
    report.state = if failed.is_empty() && released.is_ok() {
        "ready"
    } else {
        "failed"
    }
    .to_owned();
    if report.failure.is_none() && !failed.is_empty() {
        report.failure = Some(
            failed
                .iter()
                .map(|s| {
                    format!(
                        "service {}: {}",
                        s.service,
                        s.error.as_deref().unwrap_or("not ready")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    report.print(printer);
    *reported = true;
    match (&report.failure, report.state.as_str()) {
        (Some(why), "failed") => Err(Failure::failed(format!(
            "preview {name} is not ready: {why}"
        ))),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The task definition a service stack made (its `TaskDefinition` resource), if readable.
async fn task_definition(ctx: &Context, stack_name: &str) -> Option<String> {
    let page = ctx
        .cfn
        .list_stack_resources()
        .stack_name(stack_name)
        .send()
        .await
        .ok()?;
    page.stack_resource_summaries()
        .iter()
        .find(|r| r.logical_resource_id() == Some("TaskDefinition"))
        .and_then(|r| r.physical_resource_id())
        .map(str::to_owned)
}
