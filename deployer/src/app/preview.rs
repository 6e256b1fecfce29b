//! Pull-request previews: what `deployer preview` makes of pull request N on the
//! environment with `previews:` (its names, hosts, task counts, tags, image repository
//! and listener rule priorities), as pure functions; the commands
//! (`crate::commands::preview`) do the AWS calls.
//!
//! - A preview is `pr-N` (N = the pull request's number, 1..=[`MAX_PR`]); its service
//!   stacks are `{app}-{env}-pr-N-{service}`. Every preview stack of the environment
//!   starts with `{app}-{env}-pr-` ([`stack_prefix`]), and a preview command never
//!   touches a stack outside it ([`guard`]).
//! - Hosts: one service in deploy.yaml → `pr-N.{domain}`; several →
//!   `pr-N-{service}.{domain}`: one label under the domain, which the environment's
//!   wildcard certificate covers.
//! - Listener rule priorities come from N ([`allocate`]): the services sorted by name,
//!   k of them, slot width w = 2k, S = 49 999 / w slots; slot start =
//!   ((N - 1) mod S) · w + 1, and service i gets (start + 2i, start + 2i + 1). A slot
//!   held by another rule is skipped for the next one; a deployed preview keeps its own.

use std::collections::{BTreeMap, BTreeSet};

use super::priorities::Priorities;
use super::stacks::{StackSpec, environment_stack, service_stack, template_outputs};
use super::{Application, EnvironmentSettings, Host};
use crate::error::Failure;
use crate::template::Template;

/// The highest pull request number a preview takes.
pub(crate) const MAX_PR: u32 = 999_999;

/// The longest DNS label.
pub(crate) const MAX_LABEL: usize = 63;

/// The highest listener rule priority previews use (a listener takes 1..=50 000).
pub(crate) const PRIORITY_SPAN: u32 = 49_999;

/// The stack tag naming the preview (`pr-7`) on each of its stacks.
pub(crate) const TAG_PREVIEW: &str = "deployer:preview";

/// The suffix of the repository previews push to (never the one production pulls from).
pub(crate) const REPOSITORY_SUFFIX: &str = "-preview";

/// Checks a `--pr` value.
pub(crate) fn check_pr(pr: u32) -> Result<(), Failure> {
    if (1..=MAX_PR).contains(&pr) {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "--pr {pr}: a pull request number is 1 to {MAX_PR}"
        )))
    }
}

/// `pr-7`.
pub(crate) fn name(pr: u32) -> String {
    format!("pr-{pr}")
}

/// `{app}-{env}-pr-`: every preview stack of the environment starts with it.
pub(crate) fn stack_prefix(app: &str, environment: &str) -> String {
    format!("{app}-{environment}-pr-")
}

/// `{app}-{env}-pr-N-{service}`.
pub(crate) fn stack_name(app: &str, environment: &str, pr: u32, service: &str) -> String {
    format!("{}{pr}-{service}", stack_prefix(app, environment))
}

/// The pull request and service of a preview stack named with `prefix`
/// (`hello-preview-pr-7-web` → `(7, "web")`); `None` for any other stack.
pub(crate) fn parse_stack<'a>(prefix: &str, stack_name: &'a str) -> Option<(u32, &'a str)> {
    let rest = stack_name.strip_prefix(prefix)?;
    let (number, service) = rest.split_once('-')?;
    let ok = !number.is_empty()
        && !number.starts_with('0')
        && number.len() <= 6
        && number.bytes().all(|b| b.is_ascii_digit())
        && !service.is_empty();
    ok.then(|| (number.parse().ok(), service))
        .and_then(|(n, s)| Some((n?, s)))
}

/// Refuses any stack outside the preview prefix: the one check between a preview
/// command and every other stack of the account (the environment stack, production).
pub(crate) fn guard(prefix: &str, stack_name: &str) -> Result<(), Failure> {
    if parse_stack(prefix, stack_name).is_some() {
        Ok(())
    } else {
        Err(Failure::internal(format!(
            "refusing to touch stack {stack_name}: a preview command only changes stacks named \
             {prefix}N-SERVICE"
        )))
    }
}

/// The host label of `service` in preview `pr`: `pr-N` when the application has one
/// service, `pr-N-{service}` when it has several.
pub(crate) fn host_label(pr: u32, service: &str, several: bool) -> String {
    if several {
        format!("pr-{pr}-{service}")
    } else {
        format!("pr-{pr}")
    }
}

/// The repository a preview's image of a service goes to: its own plus `-preview`.
pub(crate) fn repository(service_repository: &str) -> String {
    format!("{service_repository}{REPOSITORY_SUFFIX}")
}

/// Slots of width `2 * services` in 1..=[`PRIORITY_SPAN`].
pub(crate) fn slot_count(services: usize) -> u32 {
    PRIORITY_SPAN / (2 * services.max(1) as u32)
}

/// The first priority of preview `pr`'s slot after `probe` skipped slots.
pub(crate) fn slot_start(pr: u32, services: usize, probe: u32) -> u32 {
    let width = 2 * services.max(1) as u32;
    let slots = slot_count(services);
    ((pr - 1 + probe) % slots) * width + 1
}

/// Priorities chosen for a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allocation {
    /// Service → `(ApiRulePriority, AppRulePriority)`.
    pub priorities: BTreeMap<String, Priorities>,
    /// Slots skipped because another rule held a priority of them (0: the derived one).
    pub probed: u32,
}

/// The priorities of preview `pr` for `services` (any order; sorted by name here).
/// `existing`: the priorities its deployed stacks have (kept); `held`: priorities held
/// on the listener by rules that are not this preview's own.
pub(crate) fn allocate(
    pr: u32,
    services: &[&str],
    existing: &BTreeMap<String, Priorities>,
    held: &BTreeSet<u32>,
) -> Result<Allocation, Failure> {
    let mut sorted: Vec<&str> = services.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let kept: BTreeMap<String, Priorities> = sorted
        .iter()
        .filter_map(|s| existing.get(*s).map(|p| ((*s).to_owned(), *p)))
        .collect();
    let kept_set: BTreeSet<u32> = kept.values().flat_map(|&(a, b)| [a, b]).collect();
    let slots = slot_count(sorted.len());
    for probe in 0..slots {
        let start = slot_start(pr, sorted.len(), probe);
        let mut priorities = kept.clone();
        let mut free = true;
        for (i, service) in sorted.iter().enumerate() {
            if kept.contains_key(*service) {
                continue;
            }
            let pair = (start + 2 * i as u32, start + 2 * i as u32 + 1);
            if [pair.0, pair.1]
                .iter()
                .any(|p| held.contains(p) || kept_set.contains(p))
            {
                free = false;
                break;
            }
            priorities.insert((*service).to_owned(), pair);
        }
        if free {
            return Ok(Allocation {
                priorities,
                probed: probe,
            });
        }
    }
    Err(Failure::failed(format!(
        "no listener rule priorities are free for preview {}: every one of the {slots} slots \
         is held by another rule; remove previews (`deployer preview prune`)",
        name(pr)
    )))
}

/// The live previews among `stacks` (name, status) with `prefix`, not counting `pr`
/// itself: distinct pull requests whose stacks are not DELETE_COMPLETE.
pub(crate) fn live_previews(prefix: &str, stacks: &[(String, String)], pr: u32) -> BTreeSet<u32> {
    stacks
        .iter()
        .filter(|(_, status)| status != "DELETE_COMPLETE")
        .filter_map(|(name, _)| parse_stack(prefix, name).map(|(n, _)| n))
        .filter(|n| *n != pr)
        .collect()
}

/// Refuses a new preview when `live` (the others) already reach `max`.
pub(crate) fn check_limit(
    environment: &str,
    live: &BTreeSet<u32>,
    max: u32,
) -> Result<(), Failure> {
    if (live.len() as u64) < u64::from(max) {
        return Ok(());
    }
    let list: Vec<String> = live.iter().map(|n| name(*n)).collect();
    Err(Failure::failed(format!(
        "the {environment} environment already has {} live previews ({}), its maximum \
         (environments.{environment}.previews.max in deploy.yaml); remove one with `deployer \
         preview down --pr N` or `deployer preview prune`, or raise the maximum (each preview \
         uses 2 listener rules per service; a load balancer allows 100 rules by default)",
        live.len(),
        list.join(", ")
    )))
}

/// The stacks `preview up` deploys for pull request `pr` on `env` (the environment with
/// `previews:`): the environment stack first (only for the wiring: never planned), then
/// one stack per service of deploy.yaml, each as the environment's own service stack
/// would be, but named `{app}-{env}-pr-N-{service}`, on its preview host (its own DNS
/// record, no certificate of its own: the wildcard covers it), one task
/// (`DesiredCount`, `MinTasks`, `MaxTasks` = 1), tagged `deployer:preview=pr-N`,
/// pushing to the `-preview` repository, with `priorities` ([`allocate`]).
/// `outputs`: the environment stack's outputs; `template`: the service template.
pub(crate) fn stacks(
    app: &Application,
    env: &EnvironmentSettings,
    pr: u32,
    outputs: &BTreeMap<String, String>,
    priorities: &BTreeMap<String, Priorities>,
    template: &Template,
) -> Result<Vec<StackSpec>, Failure> {
    let env_outputs = template_outputs(&app.templates.environment)?;
    let several = app.services.len() > 1;
    let mut out = vec![environment_stack(app, env)];
    for service in app.services.values() {
        let label = host_label(pr, &service.name, several);
        let mut preview_service = service.clone();
        preview_service.host = Host::Label(label.clone());
        let mut spec = service_stack(
            app,
            env,
            &preview_service,
            template,
            &env_outputs,
            outputs,
            priorities,
        )?;
        spec.stack_name = stack_name(&app.name, &env.name, pr, &service.name);
        for (name, value) in [
            ("HostName", format!("{label}.{}", env.domain)),
            ("CreateDnsRecord", "true".to_owned()),
            ("CreateCertificate", "false".to_owned()),
            ("DesiredCount", "1".to_owned()),
            ("MinTasks", "1".to_owned()),
            ("MaxTasks", "1".to_owned()),
        ] {
            if template.parameters.contains_key(name) {
                spec.parameters.insert(name.to_owned(), value);
            }
        }
        spec.tags.insert(TAG_PREVIEW.to_owned(), name(pr));
        spec.repository = Some(repository(&service.repository));
        // A preview is thrown away: never protected against deletion.
        spec.termination_protection = false;
        out.push(spec);
    }
    Ok(out)
}

/// A preview stack that cannot be updated and is only good for deleting: its create
/// failed (express mode does not roll back: CREATE_FAILED; or it rolled back:
/// ROLLBACK_COMPLETE, ROLLBACK_FAILED). `preview up` deletes it and creates it again.
pub(crate) fn is_dead(status: &str) -> bool {
    matches!(
        status,
        "CREATE_FAILED" | "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED"
    )
}

/// Whether creating (`exists` false) or updating a preview stack: `express` or
/// `standard` (the words the result shows).
pub(crate) fn mode_word(exists: bool) -> &'static str {
    if exists { "standard" } else { "express" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[u32]) -> BTreeSet<u32> {
        values.iter().copied().collect()
    }

    #[test]
    fn names_and_the_prefix_guard() {
        assert_eq!(name(7), "pr-7");
        assert_eq!(
            stack_name("hello", "preview", 7, "web"),
            "hello-preview-pr-7-web"
        );
        let prefix = stack_prefix("hello", "preview");
        assert_eq!(prefix, "hello-preview-pr-");
        assert_eq!(
            parse_stack(&prefix, "hello-preview-pr-7-web"),
            Some((7, "web"))
        );
        assert_eq!(
            parse_stack(&prefix, "hello-preview-pr-12-my-api"),
            Some((12, "my-api"))
        );
        for other in [
            "hello-preview",
            "hello-preview-web",
            "hello-production-pr-7-web",
            "hello-preview-pr-7",
            "hello-preview-pr--web",
            "hello-preview-pr-07-web",
            "hello-preview-pr-x-web",
            "hello-preview-pr-1234567-web",
        ] {
            assert_eq!(parse_stack(&prefix, other), None, "{other}");
            assert!(guard(&prefix, other).is_err(), "{other}");
        }
        guard(&prefix, "hello-preview-pr-7-web").unwrap();
        check_pr(1).unwrap();
        check_pr(MAX_PR).unwrap();
        assert_eq!(check_pr(0).unwrap_err().exit_code(), 64);
        assert_eq!(check_pr(MAX_PR + 1).unwrap_err().exit_code(), 64);
    }

    #[test]
    fn hosts_for_one_service_and_for_several() {
        assert_eq!(host_label(7, "web", false), "pr-7");
        assert_eq!(host_label(7, "web", true), "pr-7-web");
        assert_eq!(host_label(MAX_PR, "public", true).len(), 16);
        assert_eq!(repository("hello-web"), "hello-web-preview");
    }

    #[test]
    fn priorities_are_derived_from_the_number_in_name_order() {
        // Two services: width 4, 12 499 slots.
        assert_eq!(slot_count(2), 12_499);
        let a = allocate(1, &["web", "public"], &BTreeMap::new(), &BTreeSet::new()).unwrap();
        assert_eq!(a.probed, 0);
        assert_eq!(a.priorities["public"], (1, 2));
        assert_eq!(a.priorities["web"], (3, 4));
        let b = allocate(7, &["public", "web"], &BTreeMap::new(), &BTreeSet::new()).unwrap();
        assert_eq!(b.priorities["public"], (25, 26));
        assert_eq!(b.priorities["web"], (27, 28));
        // One service: width 2, 24 999 slots, all within 1..=49 999.
        let c = allocate(MAX_PR, &["web"], &BTreeMap::new(), &BTreeSet::new()).unwrap();
        let (api, app) = c.priorities["web"];
        assert!(
            api >= 1 && app <= PRIORITY_SPAN && app == api + 1,
            "{api} {app}"
        );
        assert_eq!(slot_start(24_999, 1, 0), 49_997);
        assert_eq!(slot_start(25_000, 1, 0), 1);
    }

    #[test]
    fn n_and_n_plus_s_collide_so_the_second_probes_the_next_slot() {
        let s = slot_count(2);
        let first = allocate(3, &["public", "web"], &BTreeMap::new(), &BTreeSet::new()).unwrap();
        let held: BTreeSet<u32> = first
            .priorities
            .values()
            .flat_map(|&(a, b)| [a, b])
            .collect();
        let second = allocate(3 + s, &["public", "web"], &BTreeMap::new(), &held).unwrap();
        assert_eq!(second.probed, 1);
        assert_eq!(second.priorities["public"], (13, 14));
        assert_eq!(second.priorities["web"], (15, 16));
        // Only one priority of the slot held is enough to move on.
        let third = allocate(3, &["public", "web"], &BTreeMap::new(), &set(&[12])).unwrap();
        assert_eq!(third.probed, 1);
        // The last slot wraps round to the first.
        let last = allocate(
            s,
            &["public", "web"],
            &BTreeMap::new(),
            &set(&[slot_start(s, 2, 0)]),
        )
        .unwrap();
        assert_eq!(last.priorities["public"], (1, 2));
    }

    #[test]
    fn a_deployed_preview_keeps_its_priorities() {
        let existing = BTreeMap::from([
            ("public".to_owned(), (13, 14)),
            ("web".to_owned(), (15, 16)),
        ]);
        let a = allocate(3, &["public", "web"], &existing, &set(&[9, 10])).unwrap();
        assert_eq!(a.priorities, existing);
        assert_eq!(a.probed, 0);
        // A service added since gets the derived slot's place, never a kept priority.
        let one = BTreeMap::from([("public".to_owned(), (11, 12))]);
        let b = allocate(3, &["public", "web"], &one, &BTreeSet::new()).unwrap();
        assert_eq!(b.priorities["public"], (11, 12));
        assert_eq!(b.priorities["web"], (15, 16));
        assert_eq!(b.probed, 1);
    }

    /// The repository's deploy.yaml (with CI's variables) and its real templates.
    fn repository_app() -> (Application, EnvironmentSettings, Template) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let vars = crate::app::tests::vars(&crate::app::tests::CI);
        let app = crate::app::load(&root.join("deploy.yaml"), &vars).unwrap();
        let env = app.environment("preview").unwrap();
        let template = Template::load(&app.templates.service).unwrap();
        (app, env, template)
    }

    #[test]
    fn preview_stacks_are_named_hosted_sized_and_tagged_per_pull_request() {
        let (app, env, template) = repository_app();
        let outputs: BTreeMap<String, String> = template
            .parameters
            .keys()
            .filter(|k| {
                template_outputs(&app.templates.environment)
                    .unwrap()
                    .contains(*k)
            })
            .map(|k| (k.clone(), format!("out-{k}")))
            .collect();
        let priorities = allocate(7, &["public", "web"], &BTreeMap::new(), &BTreeSet::new())
            .unwrap()
            .priorities;
        let specs = stacks(&app, &env, 7, &outputs, &priorities, &template).unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.stack_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "hello-preview",
                "hello-preview-pr-7-public",
                "hello-preview-pr-7-web"
            ]
        );
        let web = &specs[2];
        let p = |k: &str| web.parameters.get(k).map(String::as_str);
        assert_eq!(p("HostName"), Some("pr-7-web.preview.example.com"));
        assert_eq!(p("CreateDnsRecord"), Some("true"));
        assert_eq!(p("CreateCertificate"), Some("false"));
        assert_eq!(
            (p("DesiredCount"), p("MinTasks"), p("MaxTasks")),
            (Some("1"), Some("1"), Some("1"))
        );
        assert_eq!(p("Login"), Some("cognito"));
        assert_eq!(
            (p("ApiRulePriority"), p("AppRulePriority")),
            (Some("27"), Some("28"))
        );
        assert_eq!(p("HttpsListenerArn"), Some("out-HttpsListenerArn"));
        assert_eq!(web.tags.get(TAG_PREVIEW).map(String::as_str), Some("pr-7"));
        assert_eq!(
            web.tags.get("deployer:service").map(String::as_str),
            Some("web")
        );
        assert_eq!(web.repository.as_deref(), Some("hello-web-preview"));
        assert_eq!(
            specs[1].parameters.get("HostName").map(String::as_str),
            Some("pr-7-public.preview.example.com")
        );
        for spec in &specs[1..] {
            guard(&stack_prefix("hello", "preview"), &spec.stack_name).unwrap();
        }
        // One service: `pr-N.{domain}`, its path kept.
        let mut one = app.clone();
        one.services.remove("public");
        one.services.get_mut("web").unwrap().path = Some("/docs".into());
        let priorities = allocate(7, &["web"], &BTreeMap::new(), &BTreeSet::new())
            .unwrap()
            .priorities;
        let specs = stacks(&one, &env, 7, &outputs, &priorities, &template).unwrap();
        let p = |k: &str| specs[1].parameters.get(k).cloned();
        assert_eq!(p("HostName").as_deref(), Some("pr-7.preview.example.com"));
        assert_eq!(p("PathPrefix").as_deref(), Some("/docs"));
    }

    #[test]
    fn deploying_the_preview_environment_deploys_its_environment_stack_only() {
        let (app, _, _) = repository_app();
        let specs = crate::app::stacks::stacks(&app, "preview", &BTreeMap::new(), &BTreeMap::new())
            .unwrap();
        let names: Vec<&str> = specs.iter().map(|s| s.stack_name.as_str()).collect();
        assert_eq!(names, ["hello-preview"]);
        assert_eq!(
            specs[0]
                .parameters
                .get("WildcardCertificate")
                .map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn every_slot_held_is_a_failure() {
        let all: BTreeSet<u32> = (1..=PRIORITY_SPAN).collect();
        let e = allocate(1, &["web"], &BTreeMap::new(), &all).unwrap_err();
        assert!(
            e.message.contains("no listener rule priorities"),
            "{}",
            e.message
        );
    }

    #[test]
    fn the_limit_counts_other_live_previews() {
        let prefix = "hello-preview-pr-";
        let stacks: Vec<(String, String)> = [
            ("hello-preview-pr-3-web", "CREATE_COMPLETE"),
            ("hello-preview-pr-3-public", "UPDATE_COMPLETE"),
            ("hello-preview-pr-5-web", "CREATE_FAILED"),
            ("hello-preview-pr-6-web", "DELETE_COMPLETE"),
            ("hello-preview-pr-7-web", "CREATE_COMPLETE"),
            ("hello-preview", "CREATE_COMPLETE"),
            ("hello-staging-web", "CREATE_COMPLETE"),
        ]
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
        let live = live_previews(prefix, &stacks, 7);
        assert_eq!(live, set(&[3, 5]));
        check_limit("preview", &live, 3).unwrap();
        let e = check_limit("preview", &live, 2).unwrap_err();
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.message,
            "the preview environment already has 2 live previews (pr-3, pr-5), its maximum \
             (environments.preview.previews.max in deploy.yaml); remove one with `deployer \
             preview down --pr N` or `deployer preview prune`, or raise the maximum (each \
             preview uses 2 listener rules per service; a load balancer allows 100 rules by \
             default)"
        );
        // At the limit (pr-3, pr-5, pr-7 live, max 3), updating pr-3 is fine: it is not
        // counted, and the others are below the maximum.
        check_limit("preview", &live_previews(prefix, &stacks, 3), 3).unwrap();
        assert!(check_limit("preview", &live_previews(prefix, &stacks, 9), 3).is_err());
        assert_eq!(mode_word(false), "express");
        for dead in ["CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED"] {
            assert!(is_dead(dead), "{dead}");
        }
        for alive in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "UPDATE_FAILED",
        ] {
            assert!(!is_dead(alive), "{alive}");
        }
        assert_eq!(mode_word(true), "standard");
    }
}
