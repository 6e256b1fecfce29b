//! apply executes exactly what was reviewed: the change set as CloudFormation
//! describes it now must be the one the plan recorded — the same stack, a release
//! change set (`deployer-release-*`), the same rows (action, logical id, type,
//! replacement, property paths), parameters (the image digest among them; NoEcho
//! values compared masked), capabilities and template (GetTemplate of the change set).
//! Values before → after are not compared: CloudFormation may truncate them or resolve
//! them differently from one description to the next; the paths say what changes.

use crate::cfn::change_set::{Described, RELEASE_PREFIX, ResourceChange};
use crate::cfn::review;
use crate::engine::plan_file::{PlanFile, Reviewed};

/// At most this many rows are named when the rows differ.
const ROWS_NAMED: usize = 5;

/// What differs between the change set `now` (whose template hashes to
/// `template_sha256`) and what `plan` recorded; empty when it is the reviewed one.
pub(super) fn differences(
    plan: &PlanFile,
    reviewed: &Reviewed,
    now: &Described,
    template_sha256: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    if plan.stack_id.as_deref() != Some(now.stack_id.as_str()) {
        out.push(format!(
            "it belongs to stack {}, the plan to {}",
            now.stack_id,
            plan.stack_id.as_deref().unwrap_or("none")
        ));
    }
    if !now.name.starts_with(RELEASE_PREFIX) {
        out.push(format!(
            "its name {} does not start with {RELEASE_PREFIX}: it was not made to be executed",
            now.name
        ));
    } else if plan.change_set_name.as_deref() != Some(now.name.as_str()) {
        out.push(format!(
            "it is named {}, the plan's is {}",
            now.name,
            plan.change_set_name.as_deref().unwrap_or("none")
        ));
    }
    out.extend(row_differences(&plan.changes, &now.changes));
    let parameters = review::masked(&now.parameters, &reviewed.no_echo);
    let mut changed: Vec<String> = reviewed
        .parameters
        .keys()
        .chain(parameters.keys())
        .filter(|k| reviewed.parameters.get(*k) != parameters.get(*k))
        .cloned()
        .collect();
    changed.sort();
    changed.dedup();
    if !changed.is_empty() {
        let image = plan.image_uri.as_deref();
        let named: Vec<String> = changed
            .iter()
            .map(|k| {
                if image.is_some() && reviewed.parameters.get(k).map(String::as_str) == image {
                    format!("{k} (the image {})", image.unwrap_or_default())
                } else {
                    k.clone()
                }
            })
            .collect();
        out.push(format!("its parameters differ: {}", named.join(", ")));
    }
    let mut capabilities = now.capabilities.clone();
    capabilities.sort();
    if capabilities != reviewed.capabilities {
        out.push(format!(
            "its capabilities are [{}], the plan's [{}]",
            capabilities.join(", "),
            reviewed.capabilities.join(", ")
        ));
    }
    if template_sha256 != reviewed.template_sha256 {
        out.push(format!(
            "its template differs (SHA-256 {template_sha256}, planned {})",
            reviewed.template_sha256
        ));
    }
    out
}

/// How a row is compared: what happens to which resource, and which paths.
pub(super) fn row_key(row: &ResourceChange) -> String {
    let mut paths: Vec<&str> = row.details.iter().map(|d| d.path.as_str()).collect();
    paths.sort_unstable();
    paths.dedup();
    let replacement = if row.replacement.is_empty() {
        String::new()
    } else {
        format!(" replacement {}", row.replacement)
    };
    let paths = if paths.is_empty() {
        String::new()
    } else {
        format!(" [{}]", paths.join(", "))
    };
    format!(
        "{} {} ({}){replacement}{paths}",
        row.action, row.logical_id, row.resource_type
    )
}

/// The keys of `x` that `y` lacks, counted as a multiset (a key twice in `x` and once
/// in `y` is left once).
pub(super) fn only_in(x: &[String], y: &[String]) -> Vec<String> {
    let mut y = y.to_vec();
    x.iter()
        .filter(|k| match y.iter().position(|o| o == *k) {
            Some(i) => {
                y.remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

/// The rows only in the plan and only in the change set, named (a few of each).
pub(super) fn row_differences(planned: &[ResourceChange], now: &[ResourceChange]) -> Vec<String> {
    let mut a: Vec<String> = planned.iter().map(row_key).collect();
    let mut b: Vec<String> = now.iter().map(row_key).collect();
    a.sort();
    b.sort();
    if a == b {
        return Vec::new();
    }
    let name = |rows: Vec<String>| {
        let n = rows.len();
        let mut shown: Vec<String> = rows.into_iter().take(ROWS_NAMED).collect();
        if n > ROWS_NAMED {
            shown.push(format!("and {} more", n - ROWS_NAMED));
        }
        shown.join("; ")
    };
    let mut out = Vec::new();
    let (missing, extra) = (only_in(&a, &b), only_in(&b, &a));
    if !missing.is_empty() {
        out.push(format!("planned rows it no longer has: {}", name(missing)));
    }
    if !extra.is_empty() {
        out.push(format!("rows that were not planned: {}", name(extra)));
    }
    out
}
