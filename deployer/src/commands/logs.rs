//! The `logs` subcommand: a service's CloudWatch log events from `--since` ago, and
//! with `--follow` new ones every two seconds until Ctrl-C (or until the reader of
//! stdout goes away: `deployer logs … | head` ends quietly).
//!
//! The log group is the service stack's output `LogGroupName` (stack
//! `{application}-{environment}-{service}` with `--config`, or `--stack-name`), or
//! `--log-group` as it is.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudformation::Client as CfnClient;
use aws_sdk_cloudwatchlogs::Client as LogsClient;

use crate::aws::logs::Tail;
use crate::cfn::stack;
use crate::cfn::wait::duration_input;
use crate::cli::LogsArgs;
use crate::commands::app_env;
use crate::error::{CommandResult, Failure};
use crate::output::logs::{json_event, render_event};
use crate::output::{OutputFormat, Printer};

/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The service stack's output naming its log group (cfn/service.yaml).
const LOG_GROUP_OUTPUT: &str = "LogGroupName";

/// Runs `deployer logs`.
pub(crate) async fn run(args: LogsArgs, printer: &Printer) -> CommandResult {
    let since = duration_input("--since", &args.since)?;
    let mut region = args.region.clone();
    let source = match (&args.config, &args.stack_name, &args.log_group) {
        (Some(config), _, _) => {
            let (Some(environment), Some(service)) = (&args.environment, &args.service) else {
                return Err(Failure::input(
                    "--config needs --environment and --service: whose logs to show",
                ));
            };
            let app = app_env::load(config, environment)?;
            app.check_service(service)?;
            region = region.or(app.region.clone());
            Source::Stack(app.service_stack(service))
        }
        (None, Some(stack_name), _) => Source::Stack(stack_name.clone()),
        (None, None, Some(group)) => Source::Group(group.clone()),
        (None, None, None) => {
            return Err(Failure::input(
                "say whose logs: --config deploy.yaml --environment E --service S, --stack-name NAME or --log-group NAME",
            ));
        }
    };
    let sdk = crate::aws::sdk_config_in(region.as_deref()).await?;
    let group = match source {
        Source::Group(group) => group,
        Source::Stack(name) => log_group_of(&CfnClient::new(&sdk), &name).await?,
    };
    let start_ms = now_ms().saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX));
    printer.note(&format!(
        "Log group {group}, from {} ago{}",
        args.since,
        if args.follow {
            " (following: Ctrl-C stops)"
        } else {
            ""
        }
    ));
    follow(
        &LogsClient::new(&sdk),
        Tail::new(&group, start_ms),
        args.follow,
        printer,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Where the log group's name comes from.
enum Source {
    /// A stack's `LogGroupName` output.
    Stack(String),
    /// `--log-group`.
    Group(String),
}

/// The stack's `LogGroupName` output.
async fn log_group_of(cfn: &CfnClient, stack_name: &str) -> Result<String, Failure> {
    let found = stack::describe(cfn, stack_name).await?.ok_or_else(|| {
        Failure::failed(format!(
            "stack {stack_name} does not exist (in this account and region): is the service deployed?"
        ))
    })?;
    stack::outputs(&found)
        .remove(LOG_GROUP_OUTPUT)
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            Failure::input(format!(
                "stack {stack_name} has no output {LOG_GROUP_OUTPUT}: pass the log group with --log-group NAME"
            ))
        })
}

/// Prints every page of the tail; with `follow`, passes again every [`FOLLOW_EVERY`]
/// until Ctrl-C/SIGTERM or a closed stdout.
async fn follow(
    client: &LogsClient,
    mut tail: Tail,
    follow: bool,
    printer: &Printer,
) -> Result<(), Failure> {
    let stop = support::shutdown_signal();
    tokio::pin!(stop);
    loop {
        let page = tokio::select! {
            () = &mut stop => return Ok(()),
            page = tail.next_page(client) => page?,
        };
        match page {
            Some(events) => {
                for event in &events {
                    match printer.format() {
                        OutputFormat::Json => printer.json_line(&json_event(event))?,
                        OutputFormat::Text => {
                            printer.stdout(&render_event(event, printer.color_stdout()));
                        }
                    }
                }
                if printer.stdout_closed() {
                    return Ok(());
                }
            }
            None if !follow => return Ok(()),
            None => {
                tokio::select! {
                    () = &mut stop => return Ok(()),
                    () = tokio::time::sleep(FOLLOW_EVERY) => {}
                }
                tail.next_pass();
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
