//! An application's environment resolved against its account: what the release engine
//! deploys ([`ReleaseSpec`]), with the environment stack's current outputs and the
//! listener rule priorities of every service, checked against the listener's rules
//! before any change set is made.
//!
//! Priorities already deployed are kept (read from each service stack's parameters), so
//! adding or removing a service never moves another one's rules; new services get the
//! deterministic slot of [`priorities::allocate`].

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::Stack;

use super::priorities::{self, Priorities};
use super::stacks;
use super::{Application, DEFAULT_CHANGE_SET_TIMEOUT};
use crate::cfn::stack;
use crate::engine::release::{ReleaseSpec, StackSpec};
use crate::error::Failure;
use crate::template::Template;

/// The ListenerRule resources a service stack owns (their physical ids are rule ARNs).
const LISTENER_RULE: &str = "AWS::ElasticLoadBalancingV2::ListenerRule";

/// The stacks of `environment`, resolved against the account `sdk` reaches (its region
/// must be the environment's).
pub(crate) async fn release_spec(
    app: &Application,
    environment: &str,
    sdk: &SdkConfig,
) -> Result<ReleaseSpec, Failure> {
    let env = app.environment(environment)?;
    if env.previews.is_some() {
        // The preview environment's own deploy is its environment stack alone: its
        // services reach it only through `deployer preview up`, one set per pull request.
        return Ok(ReleaseSpec {
            application: app.name.clone(),
            environment: env.name.clone(),
            region: env.region.clone(),
            stacks: vec![release_stack(stacks::environment_stack(app, &env))?],
        });
    }
    let cfn = Client::new(sdk);
    let env_stack = app.environment_stack(environment);
    let outputs = match stack::describe(&cfn, &env_stack).await? {
        Some(found) if !is_review_only(&found) => stack::outputs(&found),
        _ => BTreeMap::new(),
    };
    let mut existing: BTreeMap<String, Priorities> = BTreeMap::new();
    let mut own_rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in app.services.keys() {
        let stack_name = app.service_stack(environment, name);
        let Some(found) = stack::describe(&cfn, &stack_name).await? else {
            continue;
        };
        if let Some(p) = deployed_priorities(&found) {
            existing.insert(name.clone(), p);
        }
        own_rules.insert(name.clone(), rule_arns(&cfn, &stack_name).await?);
    }
    let wanted: Vec<(&str, bool)> = app
        .services
        .values()
        .map(|s| (s.name.as_str(), s.path.is_some()))
        .collect();
    let allocated = priorities::allocate(&app.name, &wanted, &existing)?;
    if let Some(listener) = outputs.get("HttpsListenerArn") {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
        let rules = priorities::listener_rules(&elb, listener).await?;
        priorities::check_free(&allocated, &own_rules, &rules)?;
    }
    let mut specs = Vec::new();
    for spec in stacks::stacks(app, environment, &outputs, &allocated)? {
        specs.push(release_stack(spec)?);
    }
    Ok(ReleaseSpec {
        application: app.name.clone(),
        environment: env.name.clone(),
        region: env.region.clone(),
        stacks: specs,
    })
}

/// The release engine's stack from the application's (its template read).
pub(crate) fn release_stack(spec: stacks::StackSpec) -> Result<StackSpec, Failure> {
    let template = Template::load(&spec.template)?;
    Ok(StackSpec {
        service: spec.service,
        stack_name: spec.stack_name,
        template,
        parameters: spec.parameters,
        tags: spec.tags,
        role_arn: spec.role_arn,
        termination_protection: spec.termination_protection,
        wait_timeout: spec.wait_timeout,
        change_set_timeout: DEFAULT_CHANGE_SET_TIMEOUT,
        repository: spec.repository,
        image_parameter: spec.image_parameter,
        // Releases never use express mode; only preview stacks do (`preview up` sets it).
        express_create: false,
    })
}

/// A stack that only holds a first plan's change set (REVIEW_IN_PROGRESS) has no
/// outputs yet.
pub(crate) fn is_review_only(found: &Stack) -> bool {
    found
        .stack_status()
        .is_some_and(|s| s.as_str() == "REVIEW_IN_PROGRESS")
}

/// The priorities a deployed service stack was given (none for a stack that never got
/// past its first plan).
pub(crate) fn deployed_priorities(found: &Stack) -> Option<Priorities> {
    if is_review_only(found) {
        return None;
    }
    let parameter = |key: &str| {
        found
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .and_then(|v| v.parse::<u32>().ok())
    };
    Some((parameter("ApiRulePriority")?, parameter("AppRulePriority")?))
}

/// The listener rules `stack_name` owns.
pub(crate) async fn rule_arns(cfn: &Client, stack_name: &str) -> Result<Vec<String>, Failure> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = cfn
            .list_stack_resources()
            .stack_name(stack_name)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                crate::aws::call_failed(&format!("listing the resources of stack {stack_name}"), &e)
            })?;
        arns.extend(
            page.stack_resource_summaries()
                .iter()
                .filter(|r| r.resource_type() == Some(LISTENER_RULE))
                .filter_map(|r| r.physical_resource_id().map(str::to_owned)),
        );
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(arns),
        }
    }
}
