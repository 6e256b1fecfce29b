//! Listener rule priorities: which two priorities each service's rules get on the
//! environment's HTTPS listener, and the check that no other rule holds them.
//!
//! A service's rules use `ApiRulePriority = p` and `AppRulePriority = p + 1`, where `p`
//! starts a *slot* of 10 priorities. Services with a `path` use slots in 1..=24999 and
//! services without one 25000..=49999, so a path rule on a host is evaluated before the
//! whole-host rule (a listener evaluates the lowest number first). The slot is FNV-1a-64
//! of `"{application}/{service}"` modulo the 2500 slots of the range, probing linearly
//! past taken slots, so the allocation depends only on deploy.yaml and the deployed
//! stacks: a service already deployed keeps its priorities (read from its stack's
//! parameters), and every deployed service's slots are taken.
//!
//! Before any change set, [`check_free`] compares the plan with the listener's rules
//! ([`listener_rules`], ELBv2 DescribeRules) and refuses if a priority is held by a rule
//! that is not the service's own (one made by hand, or by a stack outside deploy.yaml).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use aws_sdk_elasticloadbalancingv2::Client;

use crate::error::Failure;

/// A service's `(ApiRulePriority, AppRulePriority)`.
pub(crate) type Priorities = (u32, u32);

/// Priorities for services with a `path` (evaluated first).
pub(crate) const PATH_RANGE: RangeInclusive<u32> = 1..=24_999;
/// Priorities for services that answer a whole host.
pub(crate) const HOST_RANGE: RangeInclusive<u32> = 25_000..=49_999;
/// Priorities per slot (a service uses the first two).
pub(crate) const SLOT: u32 = 10;

/// The range a service's priorities come from.
pub(crate) fn range(has_path: bool) -> RangeInclusive<u32> {
    if has_path { PATH_RANGE } else { HOST_RANGE }
}

fn slots(range: &RangeInclusive<u32>) -> u32 {
    (range.end() - range.start()) / SLOT + 1
}

/// FNV-1a, 64 bits: small, stable across releases and platforms (unlike `std`'s hasher).
pub(crate) fn fnv1a64(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Allocates priorities for `services` (`(name, has a path)`) of `application`.
/// `existing` holds the priorities of deployed services (deploy.yaml's and others whose
/// stacks still exist): a service keeps them while they are in its range, and their
/// slots are taken for everyone else. New services are placed in name order.
pub(crate) fn allocate(
    application: &str,
    services: &[(&str, bool)],
    existing: &BTreeMap<String, Priorities>,
) -> Result<BTreeMap<String, Priorities>, Failure> {
    // Taken slots per range, by slot start.
    let mut taken: BTreeSet<u32> = BTreeSet::new();
    for &(api, app) in existing.values() {
        for p in [api, app] {
            for r in [PATH_RANGE, HOST_RANGE] {
                if r.contains(&p) {
                    taken.insert(r.start() + (p - r.start()) / SLOT * SLOT);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut new = Vec::new();
    for &(name, has_path) in services {
        let r = range(has_path);
        match existing.get(name) {
            Some(&(api, app)) if r.contains(&api) && r.contains(&app) => {
                out.insert(name.to_owned(), (api, app));
            }
            _ => new.push((name, r)),
        }
    }
    new.sort_by_key(|(name, _)| *name);
    for (name, r) in new {
        let count = slots(&r);
        let first = (fnv1a64(&format!("{application}/{name}")) % u64::from(count)) as u32;
        let free = (0..count)
            .map(|i| r.start() + (first + i) % count * SLOT)
            .find(|start| !taken.contains(start))
            .ok_or_else(|| {
                Failure::input(format!(
                    "no listener rule priorities left for service `{name}`: all {count} slots of \
                     {}..={} are taken by deployed services; delete services you no longer need",
                    r.start(),
                    r.end()
                ))
            })?;
        taken.insert(free);
        out.insert(name.to_owned(), (free, free + 1));
    }
    Ok(out)
}

/// The listener's rules by priority (the default rule, which has none, left out).
pub(crate) async fn listener_rules(
    client: &Client,
    listener_arn: &str,
) -> Result<BTreeMap<u32, String>, Failure> {
    let mut rules = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .describe_rules()
            .listener_arn(listener_arn)
            .page_size(400)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| {
                crate::aws::call_failed(
                    &format!("listing the rules of listener {listener_arn}"),
                    &e,
                )
            })?;
        for rule in page.rules() {
            if rule.is_default() == Some(true) {
                continue;
            }
            if let Some(priority) = rule.priority().and_then(|p| p.parse::<u32>().ok()) {
                rules.insert(priority, rule.rule_arn().unwrap_or_default().to_owned());
            }
        }
        match page.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => return Ok(rules),
        }
    }
}

/// Refuses a plan whose priorities (`planned`: service → priorities) are held on the
/// listener (`listener`: priority → rule ARN) by a rule that is not among that
/// service's own (`own_rule_arns`: the rules its stack has, from its resources).
pub(crate) fn check_free(
    planned: &BTreeMap<String, Priorities>,
    own_rule_arns: &BTreeMap<String, Vec<String>>,
    listener: &BTreeMap<u32, String>,
) -> Result<(), Failure> {
    let mut users: BTreeMap<u32, &str> = BTreeMap::new();
    for (service, &(api, app)) in planned {
        for (priority, parameter) in [(api, "ApiRulePriority"), (app, "AppRulePriority")] {
            if let Some(other) = users.insert(priority, service) {
                return Err(Failure::internal(format!(
                    "listener rule priority {priority} was given to both `{other}` and `{service}`; \
                     this is a bug in the deployer's allocation, please report it"
                )));
            }
            let Some(rule) = listener.get(&priority) else {
                continue;
            };
            let own = own_rule_arns
                .get(service)
                .is_some_and(|arns| arns.iter().any(|a| a == rule));
            if !own {
                return Err(Failure::input(format!(
                    "listener rule priority {priority} ({parameter} of service `{service}`) is held by \
                     rule {rule}, which is not one of `{service}`'s rules. Nothing was changed. If that \
                     rule is left over or made by hand, delete it (`aws elbv2 delete-rule --rule-arn \
                     {rule}`) or move it (`aws elbv2 set-rule-priorities`), then deploy again"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(pairs: &[(&str, Priorities)]) -> BTreeMap<String, Priorities> {
        pairs.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect()
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors from the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a64(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn allocation_is_deterministic_in_its_range_and_slot_aligned() {
        let services = [("web", false), ("docs", true), ("public", false)];
        let a = allocate("hello", &services, &BTreeMap::new()).unwrap();
        let b = allocate(
            "hello",
            &[services[2], services[0], services[1]],
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(a, b);
        for (name, has_path) in services {
            let (api, app) = a[name];
            let r = range(has_path);
            assert!(r.contains(&api) && r.contains(&app), "{name}: {api}");
            assert_eq!(app, api + 1);
            assert_eq!((api - r.start()) % SLOT, 0);
        }
        // The slot is the hash's: nothing taken, no probing.
        let web = (fnv1a64("hello/web") % 2500) as u32;
        assert_eq!(a["web"].0, 25_000 + web * SLOT);
        // Another application places the same service elsewhere (almost surely).
        assert_ne!(
            allocate("other", &services, &BTreeMap::new()).unwrap()["web"],
            a["web"]
        );
    }

    #[test]
    fn a_taken_slot_is_probed_past_and_deployed_services_keep_theirs() {
        let fresh = allocate("hello", &[("web", false)], &BTreeMap::new()).unwrap()["web"];
        // Another deployed service sits in web's slot: web moves to the next one.
        let held = existing(&[("old", fresh)]);
        let moved = allocate("hello", &[("web", false)], &held).unwrap()["web"];
        let next = if fresh.0 == 49_990 {
            25_000
        } else {
            fresh.0 + SLOT
        };
        assert_eq!(moved, (next, next + 1));
        // A deployed service keeps what its stack has, even off the hash's slot.
        let kept = existing(&[("web", (30_000, 30_001))]);
        assert_eq!(
            allocate("hello", &[("web", false)], &kept).unwrap()["web"],
            (30_000, 30_001)
        );
        // ... unless its range changed (a path was added): then it moves into the path
        // range, and its old slot stays taken.
        let now = allocate("hello", &[("web", true)], &kept).unwrap()["web"];
        assert!(PATH_RANGE.contains(&now.0));
    }

    #[test]
    fn probing_wraps_around_and_a_full_range_is_an_error() {
        // Every path slot but the first is taken: a new path service wraps to it.
        let mut held = BTreeMap::new();
        for i in 1..2500u32 {
            let p = 1 + i * SLOT;
            held.insert(format!("s{i}"), (p, p + 1));
        }
        let got = allocate("hello", &[("docs", true)], &held).unwrap();
        assert_eq!(got["docs"], (1, 2));
        held.insert("s0".into(), (1, 2));
        let e = allocate("hello", &[("docs", true)], &held).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message
                .contains("no listener rule priorities left for service `docs`"),
            "{}",
            e.message
        );
        // The whole-host range is still free.
        allocate("hello", &[("web", false)], &held).unwrap();
    }

    #[test]
    fn two_new_services_in_one_slot_get_different_slots() {
        // Find two names that hash to the same path slot, then allocate both.
        let slot = |n: &str| fnv1a64(&format!("hello/{n}")) % 2500;
        let names: Vec<String> = (0..5000).map(|i| format!("s{i}")).collect();
        let (a, b) = names
            .iter()
            .enumerate()
            .find_map(|(i, a)| {
                names[i + 1..]
                    .iter()
                    .find(|b| slot(b) == slot(a))
                    .map(|b| (a, b))
            })
            .expect("a collision among 5000 names in 2500 slots");
        let got = allocate("hello", &[(a, true), (b, true)], &BTreeMap::new()).unwrap();
        assert_ne!(got[a.as_str()], got[b.as_str()]);
        // The first by name keeps the hash's slot.
        let first = a.min(b);
        assert_eq!(u64::from((got[first.as_str()].0 - 1) / SLOT), slot(first));
    }

    #[test]
    fn a_priority_held_by_a_rule_that_is_not_the_services_is_refused() {
        let planned = existing(&[("web", (25_010, 25_011)), ("docs", (11, 12))]);
        let own: BTreeMap<String, Vec<String>> = [(
            "web".to_owned(),
            vec!["arn:rule/web-api".to_owned(), "arn:rule/web-app".to_owned()],
        )]
        .into();
        let mut listener: BTreeMap<u32, String> = [
            (25_010, "arn:rule/web-api".to_owned()),
            (25_011, "arn:rule/web-app".to_owned()),
            (7, "arn:rule/by-hand".to_owned()),
        ]
        .into();
        check_free(&planned, &own, &listener).unwrap();
        listener.insert(12, "arn:rule/by-hand-2".into());
        let e = check_free(&planned, &own, &listener).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains(
                "priority 12 (AppRulePriority of service `docs`) is held by rule arn:rule/by-hand-2"
            ) && e
                .message
                .contains("aws elbv2 delete-rule --rule-arn arn:rule/by-hand-2"),
            "{}",
            e.message
        );
        // Another service's rule counts as foreign too.
        let planned = existing(&[("docs", (25_010, 25_011))]);
        assert!(check_free(&planned, &own, &listener).is_err());
    }

    mod listener {
        use super::super::*;
        use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
        use aws_sdk_elasticloadbalancingv2::types::Rule;
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        fn rule(priority: &str, arn: &str, default: bool) -> Rule {
            Rule::builder()
                .priority(priority)
                .rule_arn(arn)
                .is_default(default)
                .build()
        }

        #[tokio::test]
        async fn every_page_is_read_and_the_default_rule_is_left_out() {
            let first = mock!(Client::describe_rules)
                .match_requests(|r| {
                    r.marker().is_none() && r.listener_arn() == Some("arn:listener")
                })
                .then_output(|| {
                    DescribeRulesOutput::builder()
                        .rules(rule("25010", "arn:r1", false))
                        .rules(rule("default", "arn:default", true))
                        .next_marker("page-2")
                        .build()
                });
            let second = mock!(Client::describe_rules)
                .match_requests(|r| r.marker() == Some("page-2"))
                .then_output(|| {
                    DescribeRulesOutput::builder()
                        .rules(rule("11", "arn:r2", false))
                        .build()
                });
            let client = mock_client!(
                aws_sdk_elasticloadbalancingv2,
                RuleMode::MatchAny,
                [&first, &second]
            );
            let rules = listener_rules(&client, "arn:listener").await.unwrap();
            assert_eq!(
                rules,
                BTreeMap::from([(11, "arn:r2".to_owned()), (25_010, "arn:r1".to_owned())])
            );
            assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
        }

        #[tokio::test]
        async fn a_refused_call_says_what_was_being_done() {
            let denied = mock!(Client::describe_rules).then_error(|| {
                aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesError::ListenerNotFoundException(
                    aws_sdk_elasticloadbalancingv2::types::error::ListenerNotFoundException::builder()
                        .message("One or more listeners not found")
                        .build(),
                )
            });
            let client = mock_client!(
                aws_sdk_elasticloadbalancingv2,
                RuleMode::MatchAny,
                [&denied]
            );
            let e = listener_rules(&client, "arn:listener").await.unwrap_err();
            assert_eq!(e.exit_code(), 1);
            assert!(
                e.message
                    .starts_with("listing the rules of listener arn:listener: ")
                    && e.message.contains("One or more listeners not found"),
                "{}",
                e.message
            );
        }
    }
}
