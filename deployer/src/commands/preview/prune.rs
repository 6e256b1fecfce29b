//! `deployer preview prune`: remove every preview not in `--keep` (the open pull
//! requests) and every one whose last update is older than `--older-than`.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use super::list::{group, last_update};
use super::{Context, delete_stacks, now_secs};
use crate::app::preview;
use crate::cfn::wait::duration_input;
use crate::cli::PreviewPruneArgs;
use crate::error::{CommandResult, Failure};
use crate::output::Printer;
use crate::output::preview::{RemoveReport, RemovedPreview};

/// Runs `deployer preview prune`.
pub(crate) async fn run(args: PreviewPruneArgs, printer: &Printer) -> CommandResult {
    let keep = args.keep.as_deref().map(parse_keep).transpose()?;
    let older_than = args
        .older_than
        .as_deref()
        .map(|t| duration_input("--older-than", t))
        .transpose()?;
    let timeout = duration_input("--wait-timeout", &args.wait_timeout)?;
    let ctx = Context::open(&args.at).await?;
    let stacks = ctx.stacks().await?;
    let by_pr = group(&stacks);
    let now = now_secs();
    let mut report = RemoveReport {
        application: ctx.app.name.clone(),
        environment: ctx.env.name.clone(),
        dry_run: args.dry_run,
        ..Default::default()
    };
    let mut doomed = Vec::new();
    for (pr, stacks) in &by_pr {
        match reason(*pr, last_update(stacks), keep.as_ref(), older_than, now) {
            Some(why) => {
                report.removed.push(RemovedPreview {
                    preview: preview::name(*pr),
                    pr: *pr,
                    reason: Some(why),
                    stacks: stacks.iter().map(|s| s.stack_name.clone()).collect(),
                    failed: Vec::new(),
                });
                doomed.extend(stacks.iter().copied());
            }
            None => report.kept.push(preview::name(*pr)),
        }
    }
    if !args.dry_run && !doomed.is_empty() {
        for (stack, error) in delete_stacks(&ctx, &doomed, timeout, printer).await? {
            if let Some(error) = error
                && let Some(r) = report
                    .removed
                    .iter_mut()
                    .find(|r| r.stacks.contains(&stack))
            {
                r.failed.push(format!("{stack}: {error}"));
            }
        }
    }
    report.print(printer, "No previews to remove.");
    if report.failed() {
        return Err(Failure::failed(
            "some preview stacks could not be deleted; see above, fix the cause and run prune again",
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--keep 7,12` (spaces allowed; empty: keep none).
fn parse_keep(text: &str) -> Result<BTreeSet<u32>, Failure> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<u32>()
                .ok()
                .filter(|n| (1..=preview::MAX_PR).contains(n))
                .ok_or_else(|| {
                    Failure::input(format!(
                        "--keep {text}: `{t}` is not a pull request number; give numbers \
                         separated by commas, e.g. --keep 7,12"
                    ))
                })
        })
        .collect()
}

/// Why preview `pr` (last updated at `updated`) goes, or `None` when it stays.
fn reason(
    pr: u32,
    updated: i64,
    keep: Option<&BTreeSet<u32>>,
    older_than: Option<Duration>,
    now: i64,
) -> Option<String> {
    if let Some(keep) = keep
        && !keep.contains(&pr)
    {
        return Some("not in --keep".to_owned());
    }
    if let Some(limit) = older_than
        && now - updated > limit.as_secs() as i64
    {
        return Some(format!("last updated {} ago", super::age(now - updated)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_lists_are_numbers() {
        assert_eq!(parse_keep("7, 12,").unwrap(), BTreeSet::from([7, 12]));
        assert!(parse_keep("").unwrap().is_empty());
        assert_eq!(parse_keep("7,x").unwrap_err().exit_code(), 64);
        assert!(parse_keep("0").is_err());
    }

    #[test]
    fn a_preview_goes_when_not_kept_or_too_old() {
        let day = Duration::from_secs(86_400);
        let now = 10 * 86_400;
        let keep = BTreeSet::from([7]);
        assert_eq!(reason(7, now, Some(&keep), None, now), None);
        assert_eq!(
            reason(8, now, Some(&keep), None, now).as_deref(),
            Some("not in --keep")
        );
        assert_eq!(reason(8, now - 3600, None, Some(day), now), None);
        assert_eq!(
            reason(8, now - 2 * 86_400, None, Some(day), now).as_deref(),
            Some("last updated 2d 0h ago")
        );
        // Kept but too old: goes too (the scheduled workflow's max_age).
        assert!(reason(7, now - 2 * 86_400, Some(&keep), Some(day), now).is_some());
        assert_eq!(reason(7, now, Some(&keep), Some(day), now), None);
    }
}
