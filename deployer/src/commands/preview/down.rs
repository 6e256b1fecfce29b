//! `deployer preview down --pr N`: delete every stack of the preview (found by name),
//! in express mode, and wait until they are gone.

use std::process::ExitCode;

use super::{Context, delete_stacks};
use crate::app::preview;
use crate::cfn::wait::duration_input;
use crate::cli::PreviewDownArgs;
use crate::error::{CommandResult, Failure};
use crate::output::Printer;
use crate::output::preview::{RemoveReport, RemovedPreview};

/// Runs `deployer preview down`.
pub(crate) async fn run(args: PreviewDownArgs, printer: &Printer) -> CommandResult {
    preview::check_pr(args.pr)?;
    let timeout = duration_input("--wait-timeout", &args.wait_timeout)?;
    let ctx = Context::open(&args.at).await?;
    let stacks = ctx.stacks().await?;
    let mine: Vec<_> = stacks.iter().filter(|s| s.pr == args.pr).collect();
    let name = preview::name(args.pr);
    let mut report = RemoveReport {
        application: ctx.app.name.clone(),
        environment: ctx.env.name.clone(),
        ..Default::default()
    };
    if !mine.is_empty() {
        let mut removed = RemovedPreview {
            preview: name.clone(),
            pr: args.pr,
            reason: None,
            stacks: mine.iter().map(|s| s.stack_name.clone()).collect(),
            failed: Vec::new(),
        };
        for (stack, error) in delete_stacks(&ctx, &mine, timeout, printer).await? {
            if let Some(error) = error {
                removed.failed.push(format!("{stack}: {error}"));
            }
        }
        report.removed.push(removed);
    }
    report.print(
        printer,
        &format!("No preview {name} on {}: nothing to remove.", ctx.env.name),
    );
    if report.failed() {
        return Err(Failure::failed(format!(
            "preview {name} was not fully removed: {}",
            report.removed[0].failed.join("; ")
        )));
    }
    Ok(ExitCode::SUCCESS)
}
