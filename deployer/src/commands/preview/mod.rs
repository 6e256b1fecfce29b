//! `deployer preview up|down|list|prune`: pull-request previews on the environment of
//! deploy.yaml that has `previews:` (the model: `crate::app::preview`).
//!
//! Every command finds a preview's stacks by their names (`{app}-{env}-pr-N-{service}`,
//! CloudFormation ListStacks), not from deploy.yaml, so a service removed since is still
//! seen and removed; and every stack it changes passes the prefix guard first
//! ([`preview::guard`]).

mod down;
mod list;
mod prune;
mod up;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::StackStatus;

use crate::app::preview;
use crate::app::{self, Application, EnvironmentSettings, Previews};
use crate::cfn::stack;
use crate::cfn::wait::Deadline;
use crate::cli::{PreviewArgs, PreviewCommand, PreviewWhere};
use crate::engine::order::COMMIT_TAG;
use crate::error::{CommandResult, Failure};
use crate::output::Printer;

/// Runs `deployer preview …`.
pub(crate) async fn run(args: PreviewArgs, printer: &Printer) -> CommandResult {
    match args.command {
        PreviewCommand::Up(args) => up::run(args, printer).await,
        PreviewCommand::Down(args) => down::run(args, printer).await,
        PreviewCommand::List(args) => list::run(args, printer).await,
        PreviewCommand::Prune(args) => prune::run(args, printer).await,
    }
}

/// The application, its preview environment and a CloudFormation client in its region.
pub(crate) struct Context {
    pub app: Application,
    pub env: EnvironmentSettings,
    pub previews: Previews,
    pub sdk: SdkConfig,
    pub cfn: Client,
    /// `{app}-{env}-pr-`.
    pub prefix: String,
}

impl Context {
    /// Reads deploy.yaml and picks the environment: `--environment`, else the one with
    /// `previews:`; it must have `previews:`.
    pub(crate) async fn open(at: &PreviewWhere) -> Result<Self, Failure> {
        let app = app::load(&at.config, &crate::config::process_env)?;
        let name = match (&at.environment, app.preview_environment()) {
            (Some(name), _) => name.clone(),
            (None, Some(name)) => name.to_owned(),
            (None, None) => {
                return Err(Failure::input(format!(
                    "{} has no environment with `previews:`, so there is nowhere to put a \
                     preview: add one (README \"Previews\": an environment with `previews: {{ \
                     max: 10, max_age: 7d }}`), deploy it from main, then run this again",
                    at.config.display()
                )));
            }
        };
        let env = app.environment(&name)?;
        let Some(previews) = env.previews else {
            return Err(Failure::input(format!(
                "--environment {name}: environment `{name}` has no `previews:` in {}, so it does \
                 not host previews{}",
                at.config.display(),
                app.preview_environment()
                    .map(|p| format!(" (`{p}` does: leave --environment out)"))
                    .unwrap_or_default()
            )));
        };
        let sdk = crate::aws::sdk_config_in(Some(&env.region)).await?;
        let cfn = Client::new(&sdk);
        let prefix = preview::stack_prefix(&app.name, &name);
        Ok(Self {
            app,
            env,
            previews,
            sdk,
            cfn,
            prefix,
        })
    }

    /// Every preview stack of the environment (not DELETE_COMPLETE), described.
    pub(crate) async fn stacks(&self) -> Result<Vec<PreviewStack>, Failure> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        // Every status but DELETE_COMPLETE (deleted stacks stay listed for 90 days).
        let live: Vec<StackStatus> = StackStatus::values()
            .iter()
            .map(|s| StackStatus::from(*s))
            .filter(|s| *s != StackStatus::DeleteComplete)
            .collect();
        loop {
            let page = self
                .cfn
                .list_stacks()
                .set_stack_status_filter(Some(live.clone()))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| crate::aws::call_failed("listing the stacks", &e))?;
            for summary in page.stack_summaries() {
                let name = summary.stack_name().unwrap_or_default();
                let gone = summary.stack_status() == Some(&StackStatus::DeleteComplete);
                if !gone && preview::parse_stack(&self.prefix, name).is_some() {
                    names.push(name.to_owned());
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            let Some(found) = stack::describe(&self.cfn, &name).await? else {
                continue; // deleted since it was listed
            };
            let Some((pr, service)) = preview::parse_stack(&self.prefix, &name) else {
                continue;
            };
            let tag = |key: &str| {
                found
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(key))
                    .and_then(|t| t.value())
                    .map(str::to_owned)
            };
            let created = found.creation_time().map_or(0, |t| t.secs());
            out.push(PreviewStack {
                pr,
                service: service.to_owned(),
                stack_id: found.stack_id().unwrap_or(&name).to_owned(),
                status: stack::status_of(&found).to_owned(),
                created,
                updated: found.last_updated_time().map_or(created, |t| t.secs()),
                commit: tag(COMMIT_TAG),
                outputs: stack::outputs(&found),
                parameters: stack::parameters(&found),
                stack_name: name,
            });
        }
        Ok(out)
    }
}

/// One preview stack as found.
#[derive(Debug, Clone)]
pub(crate) struct PreviewStack {
    pub pr: u32,
    pub service: String,
    pub stack_name: String,
    pub stack_id: String,
    pub status: String,
    /// Creation time, seconds since the epoch.
    pub created: i64,
    /// Last update (or creation), seconds since the epoch.
    pub updated: i64,
    pub commit: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// Deletes `stacks` (each through the prefix guard) in express mode, at most four at a
/// time, each followed until gone; returns each stack's name and its failure, if any.
pub(crate) async fn delete_stacks(
    ctx: &Context,
    stacks: &[&PreviewStack],
    timeout: Duration,
    printer: &Printer,
) -> Result<Vec<(String, Option<String>)>, Failure> {
    for s in stacks {
        preview::guard(&ctx.prefix, &s.stack_name)?;
    }
    let runs: Vec<_> = stacks
        .iter()
        .map(|s| async move {
            let mut progress = printer.progress();
            progress.line(&format!("Deleting stack {} (express mode)", s.stack_name));
            let result = delete_express(
                &ctx.cfn,
                &s.stack_id,
                &s.stack_name,
                Deadline::after(timeout),
                &mut progress,
            )
            .await;
            progress.finish();
            (s.stack_name.clone(), result.err().map(|f| f.message))
        })
        .collect();
    Ok(crate::engine::release::join_bounded(runs, 4).await)
}

/// DeleteStack in express mode, followed until the stack is gone.
async fn delete_express(
    cfn: &Client,
    stack_id: &str,
    stack_name: &str,
    deadline: Deadline,
    progress: &mut crate::output::Progress,
) -> Result<(), Failure> {
    stack::delete_and_wait_with(
        cfn,
        stack_id,
        stack_name,
        &[],
        crate::cfn::change_set::DeployMode::Express,
        deadline,
        progress,
    )
    .await
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `3d 4h`, `2h 5m`, `40s`: an age for people.
pub(crate) fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// RFC 3339 of seconds since the epoch.
pub(crate) fn rfc3339(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(age(40), "40s");
        assert_eq!(age(125), "2m");
        assert_eq!(age(2 * 3600 + 5 * 60), "2h 5m");
        assert_eq!(age(3 * 86_400 + 4 * 3600), "3d 4h");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
