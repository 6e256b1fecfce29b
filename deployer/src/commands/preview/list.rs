//! `deployer preview list`: the live previews, one line per pull request.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::{Context, PreviewStack, now_secs, rfc3339};
use crate::app::preview;
use crate::cli::PreviewWhere;
use crate::error::CommandResult;
use crate::output::Printer;
use crate::output::preview::{ListReport, ListedPreview};

/// Runs `deployer preview list`.
pub(crate) async fn run(args: PreviewWhere, printer: &Printer) -> CommandResult {
    let ctx = Context::open(&args).await?;
    let stacks = ctx.stacks().await?;
    report(&ctx, &stacks, now_secs()).print(printer);
    Ok(ExitCode::SUCCESS)
}

/// The stacks grouped by pull request.
pub(crate) fn group(stacks: &[PreviewStack]) -> BTreeMap<u32, Vec<&PreviewStack>> {
    let mut by_pr: BTreeMap<u32, Vec<&PreviewStack>> = BTreeMap::new();
    for s in stacks {
        by_pr.entry(s.pr).or_default().push(s);
    }
    by_pr
}

/// Last update of a preview: the latest of its stacks'.
pub(crate) fn last_update(stacks: &[&PreviewStack]) -> i64 {
    stacks.iter().map(|s| s.updated).max().unwrap_or(0)
}

fn report(ctx: &Context, stacks: &[PreviewStack], now: i64) -> ListReport {
    let previews = group(stacks)
        .into_iter()
        .map(|(pr, stacks)| {
            let created = stacks.iter().map(|s| s.created).min().unwrap_or(0);
            let mut statuses: Vec<String> = stacks.iter().map(|s| s.status.clone()).collect();
            statuses.sort();
            statuses.dedup();
            ListedPreview {
                pr,
                preview: preview::name(pr),
                services: stacks.iter().map(|s| s.service.clone()).collect(),
                created: rfc3339(created),
                updated: rfc3339(last_update(&stacks)),
                age_seconds: now - created,
                commit: stacks.iter().find_map(|s| s.commit.clone()),
                status: statuses.join(","),
                urls: stacks
                    .iter()
                    .filter_map(|s| s.outputs.get("ServiceUrl").cloned())
                    .collect(),
            }
        })
        .collect();
    ListReport {
        application: ctx.app.name.clone(),
        environment: ctx.env.name.clone(),
        max: ctx.previews.max,
        previews,
    }
}
