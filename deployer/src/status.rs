//! The `status` subcommand: where a stack stands and, if its last operation failed, why.

use std::collections::BTreeMap;
use std::process::ExitCode;

use aws_sdk_cloudformation::Client;
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::deploy::events;
use crate::deploy::stack_state::{self, is_failed, latest_operation, status_of};
use crate::error::{CommandResult, Failure};
use crate::output::OutputFormat;

/// What `status` prints.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// Stack name.
    pub stack_name: String,
    /// Stack id.
    pub stack_id: Option<String>,
    /// Current status.
    pub status: String,
    /// CloudFormation's reason for it.
    pub status_reason: Option<String>,
    /// Root cause of the last operation's failure, when it failed.
    pub last_failure: Option<String>,
    /// Stack outputs.
    pub outputs: BTreeMap<String, String>,
    /// Termination protection.
    pub termination_protection: bool,
    /// Last update (or creation) time, RFC 3339.
    pub last_updated: Option<String>,
}

/// Runs `deployer status`.
pub async fn run(args: StatusArgs) -> CommandResult {
    let sdk = crate::aws::sdk_config().await?;
    let client = Client::new(&sdk);
    let report = status(&client, &args.stack_name).await?;
    match args.output {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::internal(format!("printing JSON: {e}")))?;
            println!("{json}");
        }
        OutputFormat::Text => print!("{}", render(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the stack and its recent events.
pub async fn status(client: &Client, stack_name: &str) -> Result<StatusReport, Failure> {
    let stack = stack_state::describe(client, stack_name)
        .await?
        .ok_or_else(|| {
            Failure::failed(format!(
                "stack {stack_name} does not exist (in this account and region)"
            ))
        })?;
    let status = status_of(&stack).to_owned();
    let mut last_failure = None;
    let failed_recently = is_failed(&status) || status.contains("ROLLBACK");
    if failed_recently {
        let recent = events::recent(client, stack.stack_id().unwrap_or(stack_name)).await?;
        let operation = latest_operation(&recent, stack.stack_name().unwrap_or(stack_name));
        last_failure = events::root_cause(client, &operation).await;
    }
    Ok(StatusReport {
        stack_name: stack.stack_name().unwrap_or(stack_name).to_owned(),
        stack_id: stack.stack_id().map(str::to_owned),
        status,
        status_reason: stack.stack_status_reason().map(str::to_owned),
        last_failure,
        outputs: stack
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        last_updated: stack
            .last_updated_time()
            .or(stack.creation_time())
            .and_then(|t| t.fmt(Format::DateTime).ok()),
    })
}

/// The text form.
pub fn render(r: &StatusReport) -> String {
    let mut out = format!(
        "Stack:                  {}\nStatus:                 {}\n",
        r.stack_name, r.status
    );
    if let Some(reason) = &r.status_reason {
        out.push_str(&format!("Status reason:          {reason}\n"));
    }
    out.push_str(&format!(
        "Termination protection: {}\n",
        if r.termination_protection {
            "on"
        } else {
            "off"
        }
    ));
    if let Some(t) = &r.last_updated {
        out.push_str(&format!("Last updated:           {t}\n"));
    }
    if !r.outputs.is_empty() {
        out.push_str("Outputs:\n");
        for (k, v) in &r.outputs {
            out.push_str(&format!("  {k} = {v}\n"));
        }
    }
    if let Some(cause) = &r.last_failure {
        out.push_str(&format!("Last failure:           {cause}\n"));
    }
    out
}
