//! Applying a release plan: check every planned stack first (each as `apply` checks a
//! single-stack plan) and refuse before executing anything if one changed; execute the
//! environment and follow it; re-read the environment's outputs and refuse the services
//! if one they were planned with changed; then execute the services in parallel (at
//! most `PARALLEL_SERVICES` at once), each followed and explained on its own.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::Poll;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;

use super::PARALLEL_SERVICES;
use super::file::{ReleasePlan, ReleaseStack};
use crate::cfn::stack;
use crate::engine::apply::session;
use crate::engine::{Deploy, Ending};
use crate::error::{CommandResult, Failure};
use crate::output::Printer;
use crate::output::release::{ReleaseReport, StackResult};

/// What to tell the user when a release plan can no longer be applied.
const PLAN_AGAIN: &str = "Plan the release again (`deployer deploy --config FILE --environment E \
     --plan-out FILE`) and apply that plan";

/// Applies `release` (read from `plan_path`, when from a file). `registry`: where the
/// planned images are looked up instead of ECR (`--registry`).
pub(crate) async fn apply_plan_in(
    release: &ReleasePlan,
    plan_path: Option<&str>,
    registry: Option<&str>,
    sdk: &SdkConfig,
    printer: &Printer,
) -> CommandResult {
    let mut report = ReleaseReport::new(&release.application, &release.environment);
    report.plan_file = plan_path.map(str::to_owned);
    let path = plan_path.unwrap_or("(release)");
    let open = |stack: &ReleaseStack| {
        session(
            &stack.plan,
            path,
            true,
            sdk,
            Duration::from_secs(stack.plan.wait_timeout_seconds),
            printer,
        )
    };
    // 1. Every stack as planned, before anything is executed.
    let mut refusals = Vec::new();
    for stack in release.stacks.iter().filter(|s| s.plan.has_changes) {
        let mut deploy = open(stack);
        let checked = match &stack.plan.recreate {
            Some(recreate) => deploy.check_dead_stack(&stack.plan, recreate).await,
            None => deploy.check_plan(&stack.plan).await.map(|_| ()),
        };
        if let Err(failure) = checked {
            refusals.push((stack, failure.message));
        }
    }
    if !refusals.is_empty() {
        for stack in &release.stacks {
            let mut result = planned_result(stack, "not-started");
            if let Some((_, why)) = refusals
                .iter()
                .find(|(s, _)| s.plan.stack_name == stack.plan.stack_name)
            {
                result.result = "refused".to_owned();
                result.error = Some(why.clone());
            }
            report.stacks.push(result);
        }
        let why: Vec<String> = refusals
            .iter()
            .map(|(s, m)| format!("{}: {m}", s.plan.stack_name))
            .collect();
        report.verdict = Some(format!(
            "Release of {} not applied: a planned stack changed since it was planned.",
            release.environment
        ));
        report.print(printer);
        return Err(Failure::failed(format!(
            "nothing was executed: {}\n{PLAN_AGAIN}",
            why.join("\n")
        )));
    }
    // 2. The environment, followed to its end.
    let environment = release.stacks.iter().find(|s| s.service.is_none());
    let services: Vec<&ReleaseStack> = release
        .stacks
        .iter()
        .filter(|s| s.service.is_some())
        .collect();
    if let Some(env) = environment {
        let (result, failed) = execute(open(env), env, registry, sdk).await;
        report.stacks.push(result);
        if failed {
            for s in &services {
                let mut r = planned_result(s, "not-started");
                r.error = Some("not started: the environment stack failed".to_owned());
                report.stacks.push(r);
            }
            return finish(report, release, printer);
        }
    }
    // 3. The environment's outputs now, against what the services were planned with.
    let client = Client::new(sdk);
    let env_name = format!("{}-{}", release.application, release.environment);
    let needs_outputs = services.iter().any(|s| {
        !s.environment_inputs.is_empty()
            || s.plan
                .recreate
                .as_ref()
                .is_some_and(|r| !r.wired.is_empty())
    });
    let outputs = if needs_outputs {
        match stack::describe(&client, &env_name).await {
            Ok(found) => found.as_ref().map(stack::outputs).unwrap_or_default(),
            Err(failure) => {
                for s in &services {
                    let mut r = planned_result(s, "not-started");
                    r.error = Some(format!(
                        "not started: the environment's outputs could not be read: {}",
                        failure.message
                    ));
                    report.stacks.push(r);
                }
                return finish(report, release, printer);
            }
        }
    } else {
        BTreeMap::new()
    };
    let mut runnable = Vec::new();
    for s in &services {
        let changed: Vec<String> = s
            .environment_inputs
            .iter()
            .filter(|(k, v)| outputs.get(*k) != Some(*v))
            .map(|(k, v)| {
                format!(
                    "{k} was {v}, is now {}",
                    outputs.get(k).map_or("absent", String::as_str)
                )
            })
            .collect();
        if !changed.is_empty() {
            let mut r = planned_result(s, "refused");
            r.error = Some(format!(
                "not started: the environment's outputs it was planned with changed when the \
                 environment was deployed ({}). {PLAN_AGAIN}",
                changed.join("; ")
            ));
            if let (Some(stack_id), Some(id)) = (&s.plan.stack_id, &s.plan.change_set_id) {
                let _ = crate::cfn::change_set::delete(&client, stack_id, id).await;
            }
            report.stacks.push(r);
            continue;
        }
        let mut stack = (*s).clone();
        if let Some(recreate) = stack.plan.recreate.as_mut() {
            let missing: Vec<String> = recreate
                .wired
                .iter()
                .filter(|p| !outputs.contains_key(*p))
                .cloned()
                .collect();
            if !missing.is_empty() {
                let mut r = planned_result(s, "refused");
                r.error = Some(format!(
                    "not started: the environment stack {env_name} has no output {}",
                    missing.join(", ")
                ));
                report.stacks.push(r);
                continue;
            }
            for p in std::mem::take(&mut recreate.wired) {
                let value = outputs[&p].clone();
                stack.environment_inputs.insert(p.clone(), value.clone());
                recreate.parameters.insert(p, value);
            }
        }
        runnable.push(stack);
    }
    // 4. The services, in parallel.
    let runs: Vec<_> = runnable
        .iter()
        .map(|s| execute(open(s), s, registry, sdk))
        .collect();
    for (result, _) in join_bounded(runs, PARALLEL_SERVICES).await {
        report.stacks.push(result);
    }
    // The environment first, then the services by name, whatever finished first.
    report.stacks.sort_by_key(|s| s.service.clone());
    finish(report, release, printer)
}

/// The result of a stack that was not executed.
fn planned_result(stack: &ReleaseStack, result: &str) -> StackResult {
    let plan = &stack.plan;
    StackResult {
        service: stack.service.clone(),
        stack_name: plan.stack_name.clone(),
        result: if plan.has_changes {
            result
        } else {
            "no-changes"
        }
        .to_owned(),
        has_changes: plan.has_changes,
        deferred: plan
            .recreate
            .as_ref()
            .is_some_and(|r| r.dead_stack_id.is_none()),
        change_set_name: plan.change_set_name.clone(),
        image_uri: plan.image_uri.clone(),
        changes: plan.changes.clone(),
        parameter_changes: plan.parameter_changes.clone(),
        ..Default::default()
    }
}

/// Executes one stack's plan; returns its result and whether it failed.
async fn execute(
    mut deploy: Deploy<()>,
    stack: &ReleaseStack,
    registry: Option<&str>,
    sdk: &SdkConfig,
) -> (StackResult, bool) {
    if !stack.plan.has_changes {
        return (planned_result(stack, "no-changes"), false);
    }
    let ended = deploy.apply(&stack.plan, None, sdk, registry).await;
    deploy.progress.finish();
    let deferred = stack
        .plan
        .recreate
        .as_ref()
        .is_some_and(|r| r.dead_stack_id.is_none());
    match ended {
        Ok(ending) => {
            let result = if ending == Ending::NoChanges {
                "no-changes"
            } else {
                "deployed"
            };
            (
                StackResult::from_report(stack.service.clone(), &deploy.report, result, deferred),
                false,
            )
        }
        Err(failure) => {
            let mut r =
                StackResult::from_report(stack.service.clone(), &deploy.report, "failed", deferred);
            r.error = Some(failure.message);
            (r, true)
        }
    }
}

/// Prints the report and picks the exit code: 1 when any stack failed or was not run.
fn finish(mut report: ReleaseReport, release: &ReleasePlan, printer: &Printer) -> CommandResult {
    let env_ok = report
        .stacks
        .iter()
        .find(|s| s.service.is_none())
        .is_none_or(|s| !matches!(s.result.as_str(), "failed" | "refused" | "not-started"));
    let bad: Vec<&StackResult> = report
        .stacks
        .iter()
        .filter(|s| matches!(s.result.as_str(), "failed" | "refused" | "not-started"))
        .collect();
    if bad.is_empty() {
        report.verdict = Some(format!(
            "Released {} {}: {} stack(s) deployed.",
            release.application,
            release.environment,
            report.stacks.iter().filter(|s| s.executed).count()
        ));
        report.print(printer);
        return Ok(ExitCode::SUCCESS);
    }
    let lines: Vec<String> = bad
        .iter()
        .map(|s| {
            let who = match &s.service {
                None => format!("environment stack {}", s.stack_name),
                Some(name) if env_ok => format!(
                    "service {name} (stack {}), after the environment succeeded,",
                    s.stack_name
                ),
                Some(name) => format!("service {name} (stack {})", s.stack_name),
            };
            format!(
                "{who} {}: {}",
                s.result,
                s.error.as_deref().unwrap_or("no reason given")
            )
        })
        .collect();
    let message = lines.join("\n");
    report.failure = Some(message.clone());
    report.verdict = Some(format!(
        "Release of {} {} failed: {} of {} stack(s) did not deploy.",
        release.application,
        release.environment,
        bad.len(),
        report.stacks.len()
    ));
    report.print(printer);
    Err(Failure::failed(format!(
        "{message}\nThe stacks that succeeded stay deployed; fix the cause and deploy again (a \
         re-run plans only what still differs)."
    )))
}

/// Runs `futures` concurrently, at most `limit` at a time (in order), and returns their
/// outputs in the same order.
pub(crate) async fn join_bounded<F: Future>(futures: Vec<F>, limit: usize) -> Vec<F::Output> {
    let mut pending: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut results: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        // Futures start when first polled: only the first `limit` unfinished ones are.
        let mut active = 0;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if active == limit.max(1) {
                break;
            }
            let Some(future) = slot.as_mut() else {
                continue;
            };
            active += 1;
            if let Poll::Ready(out) = future.as_mut().poll(cx) {
                *result = Some(out);
                *slot = None;
                active -= 1;
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    results.into_iter().flatten().collect()
}
