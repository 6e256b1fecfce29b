//! Pre-flight: the Cognito hosted-UI domain prefix (`Metadata.Deployer.CognitoDomainPrefix`
//! names its parameter) must be free, or already this stack's. Prefixes are unique per
//! region across all AWS accounts; one that another user pool owns fails the first
//! create half way (the pool is made, then the domain is refused, and the stack ends
//! ROLLBACK_COMPLETE). DescribeUserPoolDomain says who owns it; the stack's own
//! `AWS::Cognito::UserPool` resources say whether that is us.

use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::StackStatus;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;

use crate::aws::{describe_error, is_access_denied_code};
use crate::cfn::stack;
use crate::cfn::wait::retry_throttled;
use crate::error::Failure;

/// What the check found.
#[derive(Debug, PartialEq)]
pub(super) enum Prefix {
    /// Free, or this stack's.
    Fine,
    /// Taken by a pool that is not this stack's: refuse, with what to do.
    Taken(String),
    /// The check could not be made: warn, CloudFormation decides.
    Unchecked(String),
}

/// Checks that `prefix` (the value of parameter `param`) is free or stack
/// `stack_name`'s.
pub(super) async fn check(
    sdk: &SdkConfig,
    stack_name: &str,
    param: &str,
    prefix: &str,
) -> Result<Prefix, Failure> {
    let idp = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let owner = match retry_throttled(|| idp.describe_user_pool_domain().domain(prefix).send())
        .await
    {
        Ok(out) => out
            .domain_description()
            .and_then(|d| d.user_pool_id())
            .filter(|id| !id.is_empty())
            .map(str::to_owned),
        Err(e) => {
            let why = if is_access_denied_code(e.code()) {
                "cognito-idp:DescribeUserPoolDomain is not allowed"
            } else {
                "DescribeUserPoolDomain failed"
            };
            return Ok(Prefix::Unchecked(format!(
                "cannot check whether the Cognito domain prefix `{prefix}` (parameter `{param}`) is \
                 free ({why}: {}); CloudFormation will find out",
                describe_error(&e)
            )));
        }
    };
    let Some(pool) = owner else {
        return Ok(Prefix::Fine);
    };
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let deployed = stack::describe(&cfn, stack_name).await?;
    let live = deployed.as_ref().filter(|s| {
        !matches!(
            stack::status(s),
            StackStatus::ReviewInProgress
                | StackStatus::RollbackComplete
                | StackStatus::DeleteComplete
        )
    });
    let whose = match live {
        None => match deployed.as_ref().map(stack::status) {
            Some(StackStatus::RollbackComplete) => {
                format!("stack {stack_name}'s first create failed, so it owns no pool")
            }
            _ => format!("stack {stack_name} does not exist yet, so it owns no pool"),
        },
        Some(s) => {
            let id = s.stack_id().unwrap_or(stack_name);
            match user_pools(&cfn, id).await {
                Ok(pools) if pools.contains(&pool) => return Ok(Prefix::Fine),
                Ok(_) => format!("it is not a user pool of stack {stack_name}"),
                Err(e) => {
                    return Ok(Prefix::Unchecked(format!(
                        "the Cognito domain prefix `{prefix}` belongs to user pool {pool}, and whether \
                         that is stack {stack_name}'s cannot be checked ({e}); CloudFormation will find out"
                    )));
                }
            }
        }
    };
    Ok(Prefix::Taken(taken(param, prefix, &pool, &whose)))
}

/// The refusal of a taken prefix, with what to do.
pub(super) fn taken(param: &str, prefix: &str, pool: &str, whose: &str) -> String {
    format!(
        "parameter `{param}`: the Cognito domain prefix `{prefix}` is already taken by user pool \
         {pool} ({whose}). Prefixes are unique per region across all AWS accounts, and CloudFormation \
         would fail half way. Pick another prefix (--parameter {param}=OTHER, or under `parameters:` \
         in deploy.yaml); if that pool is yours and unused, delete its domain first \
         (`aws cognito-idp delete-user-pool-domain --user-pool-id {pool} --domain {prefix}`; a deleted \
         prefix may take a while to become free)"
    )
}

/// The physical ids of the stack's `AWS::Cognito::UserPool` resources (all pages).
async fn user_pools(
    cfn: &aws_sdk_cloudformation::Client,
    stack_id: &str,
) -> Result<Vec<String>, String> {
    let mut pools = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..20 {
        let page = retry_throttled(|| {
            cfn.list_stack_resources()
                .stack_name(stack_id)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .map_err(|e| describe_error(&e))?;
        pools.extend(
            page.stack_resource_summaries()
                .iter()
                .filter(|r| r.resource_type() == Some("AWS::Cognito::UserPool"))
                .filter_map(|r| r.physical_resource_id().map(str::to_owned)),
        );
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    Ok(pools)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_taken_prefix_says_which_pool_and_what_to_do() {
        let m = super::taken(
            "CognitoDomainPrefix",
            "taken-login",
            "us-east-1_abc",
            "stack app does not exist yet, so it owns no pool",
        );
        assert!(
            m.contains("`taken-login` is already taken by user pool us-east-1_abc")
                && m.contains("--parameter CognitoDomainPrefix=OTHER")
                && m.contains(
                    "delete-user-pool-domain --user-pool-id us-east-1_abc --domain taken-login"
                ),
            "{m}"
        );
    }
}
