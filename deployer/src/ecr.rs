//! The ECR side of a push: make sure the repository exists (with the settings we
//! want), and log in to its registry; and, for a dry run, where an image *would* go,
//! using read-only calls.
//!
//! A repository we create gets immutable tags (a tag, once pushed, always means the
//! same image), scan on push, and a lifecycle policy that expires only untagged images
//! ([`lifecycle`] explains why that keeps every deployed image). An existing repository
//! is used as it is, except that a lifecycle policy that is exactly our old default
//! ("keep the newest 30 images, any tag") is replaced, and any other policy that can
//! expire tagged images is warned about.
//!
//! Write calls (`CreateRepository`, `PutLifecyclePolicy`) are made only by
//! [`ensure_repository`], which only a real push calls; [`planned_uri`] (dry runs)
//! reads only: `DescribeRepositories`, `DescribeRegistry`.

pub(crate) mod lifecycle;

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine as _;

use self::lifecycle::Verdict;
use crate::aws::{call_failed, describe_error, is_access_denied};
use crate::error::Failure;

/// A repository ready to push to.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub uri: String,
    /// Whether this run created it.
    pub created: bool,
    /// What the user should know about its lifecycle policy (replaced, or risky).
    pub notices: Vec<Notice>,
}

/// A line for the user about the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Something we did.
    Note(String),
    /// Something the user should fix.
    Warn(String),
}

/// Credentials for the account's registry, from `GetAuthorizationToken` (valid 12 h).
pub(crate) struct RegistryLogin {
    /// Always `AWS` for ECR.
    pub username: String,
    /// The token.
    pub password: String,
    /// The registry's base URL, `https://ACCOUNT.dkr.ecr.REGION.amazonaws.com`.
    pub endpoint: String,
}

impl std::fmt::Debug for RegistryLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLogin")
            .field("username", &self.username)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Returns the repository `name`, creating it if it does not exist (and replacing our
/// old lifecycle policy on one that does).
pub(crate) async fn ensure_repository(client: &Client, name: &str) -> Result<Repository, Failure> {
    if let Some(uri) = describe(client, name).await? {
        let notices = review_policy(client, name).await;
        return Ok(Repository {
            uri,
            created: false,
            notices,
        });
    }
    let created = client
        .create_repository()
        .repository_name(name)
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await;
    let uri = match created {
        Ok(out) => out
            .repository()
            .and_then(|r| r.repository_uri())
            .unwrap_or_default()
            .to_owned(),
        // Someone else created it between our two calls: use theirs.
        Err(e) if e.code() == Some("RepositoryAlreadyExistsException") => {
            return describe(client, name)
                .await?
                .map(|uri| Repository {
                    uri,
                    created: false,
                    notices: Vec::new(),
                })
                .ok_or_else(|| {
                    Failure::failed(format!(
                        "ECR repository `{name}` exists and yet cannot be described"
                    ))
                });
        }
        Err(e) if is_access_denied(&e) => {
            return Err(Failure::failed(format!(
                "ECR repository `{name}` does not exist and this identity may not create it \
                 (it lacks ecr:CreateRepository): {}. Ask an administrator to create it once \
                 (`aws ecr create-repository --repository-name {name} --image-tag-mutability IMMUTABLE \
                 --image-scanning-configuration scanOnPush=true`), or grant ecr:CreateRepository \
                 and ecr:PutLifecyclePolicy",
                describe_error(&e)
            )));
        }
        Err(e) => {
            return Err(call_failed(
                &format!("creating ECR repository `{name}`"),
                &e,
            ));
        }
    };
    match client
        .put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(lifecycle::policy())
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if is_access_denied(&e) => {
            return Err(Failure::failed(format!(
                "created ECR repository `{name}` but may not give it a lifecycle policy (ecr:PutLifecyclePolicy \
                 is missing): {}. Grant it, or set a policy by hand; without one old images are never expired",
                describe_error(&e)
            )));
        }
        Err(e) => {
            return Err(call_failed(
                &format!("setting the lifecycle policy of ECR repository `{name}`"),
                &e,
            ));
        }
    }
    Ok(Repository {
        uri,
        created: true,
        notices: Vec::new(),
    })
}

/// Checks an existing repository's lifecycle policy: our old default is replaced, a
/// policy that can expire tagged images is warned about. Never fails the push: the
/// image can be pushed whatever the policy says.
async fn review_policy(client: &Client, name: &str) -> Vec<Notice> {
    let text = match client
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(out) => out.lifecycle_policy_text().map(str::to_owned),
        Err(e) if e.code() == Some("LifecyclePolicyNotFoundException") => None,
        Err(e) => {
            return vec![Notice::Warn(format!(
                "could not read the lifecycle policy of ECR repository `{name}` ({}); if it counts \
                 tagged images it can expire an image a stack runs (grant ecr:GetLifecyclePolicy so \
                 the deployer can check)",
                describe_error(&e)
            ))];
        }
    };
    match lifecycle::judge(text.as_deref()) {
        Verdict::Keep => Vec::new(),
        Verdict::Warn(why) => vec![Notice::Warn(format!("ECR repository `{name}`: {why}"))],
        Verdict::Replace => match client
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(lifecycle::policy())
            .send()
            .await
        {
            Ok(_) => vec![Notice::Note(format!(
                "replaced the old lifecycle policy of ECR repository `{name}` (keep the newest 30 \
                 images, any tag: it could expire a deployed image) with: untagged images expire \
                 after {} days, tagged images never",
                lifecycle::UNTAGGED_EXPIRE_DAYS
            ))],
            Err(e) => vec![Notice::Warn(format!(
                "ECR repository `{name}` still has the old lifecycle policy (keep the newest 30 images, \
                 any tag), which can expire the image a stack runs, and it could not be replaced ({}): \
                 grant ecr:PutLifecyclePolicy, or put the policy from the README's push section by hand",
                describe_error(&e)
            ))],
        },
    }
}

/// Where an image pushed to repository `name` would be, `HOST/NAME`, found with
/// read-only calls: the repository's URI if it exists, else
/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME` with the account from DescribeRegistry.
/// A dry run uses this instead of pushing.
pub(crate) async fn planned_uri(
    client: &Client,
    name: &str,
    region: &str,
) -> Result<String, Failure> {
    if let Some(uri) = describe(client, name).await? {
        return Ok(uri);
    }
    let out = client.describe_registry().send().await.map_err(|e| {
        if is_access_denied(&e) {
            Failure::failed(format!(
                "ECR repository `{name}` does not exist yet and this identity may not look up the \
                 registry's account (ecr:DescribeRegistry is missing): {}. Grant it, or create the \
                 repository first",
                describe_error(&e)
            ))
        } else {
            call_failed("looking up the ECR registry (DescribeRegistry)", &e)
        }
    })?;
    let account = out
        .registry_id()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Failure::failed("ECR DescribeRegistry returned no registry id"))?;
    Ok(format!("{}/{name}", registry_host(account, region)))
}

/// The registry host of an account in a region. China's regions use their own domain.
fn registry_host(account: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("{account}.dkr.ecr.{region}.{domain}")
}

/// The repository's URI, or `None` if it does not exist.
async fn describe(client: &Client, name: &str) -> Result<Option<String>, Failure> {
    match client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .repositories()
            .first()
            .and_then(|r| r.repository_uri())
            .map(str::to_owned)),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => Ok(None),
        Err(e) if is_access_denied(&e) => Err(Failure::failed(format!(
            "may not look up ECR repository `{name}` (ecr:DescribeRepositories is missing): {}",
            describe_error(&e)
        ))),
        Err(e) => Err(call_failed(
            &format!("looking up ECR repository `{name}`"),
            &e,
        )),
    }
}

/// Logs in to the account's registry.
pub(crate) async fn login(client: &Client) -> Result<RegistryLogin, Failure> {
    let out = client.get_authorization_token().send().await.map_err(|e| {
        if is_access_denied(&e) {
            Failure::failed(format!(
                "may not log in to ECR (ecr:GetAuthorizationToken is missing): {}. Grant it on `*` \
                 (cfn/github-oidc.yaml's deploy role has it; the plan role for previews deliberately not)",
                describe_error(&e)
            ))
        } else if is_expired_credentials(e.code()) {
            Failure::failed(format!(
                "the AWS credentials have expired, so no ECR login token can be had: {}. Get fresh \
                 ones (`aws sso login`, or re-run the job: GitHub's OIDC sessions last 1 hour) and run again",
                describe_error(&e)
            ))
        } else {
            call_failed("getting an ECR login token", &e)
        }
    })?;
    let data = out.authorization_data().first().ok_or_else(|| {
        Failure::failed("ECR GetAuthorizationToken returned no authorization data")
    })?;
    let token = data.authorization_token().unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            Failure::failed(
                "ECR returned an authorization token that is not base64 `user:password`",
            )
        })?;
    let (username, password) = decoded.split_once(':').ok_or_else(|| {
        Failure::failed("ECR returned an authorization token without a `user:password` pair")
    })?;
    let endpoint = data
        .proxy_endpoint()
        .ok_or_else(|| Failure::failed("ECR GetAuthorizationToken returned no proxyEndpoint"))?;
    Ok(RegistryLogin {
        username: username.to_owned(),
        password: password.to_owned(),
        endpoint: endpoint.to_owned(),
    })
}

/// The codes AWS answers when the caller's own (temporary) credentials have expired.
fn is_expired_credentials(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecr::error::ErrorMetadata;
    use aws_sdk_ecr::operation::create_repository::{
        CreateRepositoryError, CreateRepositoryOutput,
    };
    use aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesError;
    use aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenOutput;
    use aws_sdk_ecr::operation::put_lifecycle_policy::PutLifecyclePolicyOutput;
    use aws_sdk_ecr::types::AuthorizationData;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn not_found() -> aws_smithy_mocks::Rule {
        mock!(Client::describe_repositories).then_error(|| {
            DescribeRepositoriesError::generic(
                ErrorMetadata::builder()
                    .code("RepositoryNotFoundException")
                    .message("no repo")
                    .build(),
            )
        })
    }

    #[tokio::test]
    async fn a_missing_repository_is_created_immutable_with_scanning_and_a_lifecycle_policy() {
        let describe = not_found();
        let create = mock!(Client::create_repository)
            .match_requests(|r| {
                r.repository_name() == Some("app")
                    && r.image_tag_mutability() == Some(&ImageTagMutability::Immutable)
                    && r.image_scanning_configuration().map(|c| c.scan_on_push()) == Some(true)
            })
            .then_output(|| {
                CreateRepositoryOutput::builder()
                    .repository(
                        aws_sdk_ecr::types::Repository::builder()
                            .repository_uri("1.dkr.ecr.us-east-1.amazonaws.com/app")
                            .build(),
                    )
                    .build()
            });
        let policy = mock!(Client::put_lifecycle_policy)
            .match_requests(|r| r.lifecycle_policy_text() == Some(lifecycle::policy().as_str()))
            .then_output(|| PutLifecyclePolicyOutput::builder().build());
        let client = mock_client!(
            aws_sdk_ecr,
            RuleMode::MatchAny,
            [&describe, &create, &policy]
        );
        let repo = ensure_repository(&client, "app").await.unwrap();
        assert!(repo.created);
        assert_eq!(repo.uri, "1.dkr.ecr.us-east-1.amazonaws.com/app");
        assert_eq!((create.num_calls(), policy.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn without_create_permission_the_message_says_which_and_what_to_do() {
        let describe = not_found();
        let create = mock!(Client::create_repository).then_error(|| {
            CreateRepositoryError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform: ecr:CreateRepository")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe, &create]);
        let failure = ensure_repository(&client, "app").await.unwrap_err();
        assert_eq!(failure.exit_code(), 1);
        assert!(
            failure.message.contains("lacks ecr:CreateRepository"),
            "{}",
            failure.message
        );
        assert!(
            failure
                .message
                .contains("aws ecr create-repository --repository-name app"),
            "{}",
            failure.message
        );
    }

    #[tokio::test]
    async fn login_decodes_the_token_into_user_and_password() {
        let token = mock!(Client::get_authorization_token).then_output(|| {
            GetAuthorizationTokenOutput::builder()
                .authorization_data(
                    AuthorizationData::builder()
                        .authorization_token(
                            base64::engine::general_purpose::STANDARD
                                .encode("AWS:secret:with:colons"),
                        )
                        .proxy_endpoint("https://1.dkr.ecr.us-east-1.amazonaws.com")
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&token]);
        let login = login(&client).await.unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("AWS", "secret:with:colons")
        );
        assert_eq!(login.endpoint, "https://1.dkr.ecr.us-east-1.amazonaws.com");
        assert!(
            !format!("{login:?}").contains("secret"),
            "the password never reaches Debug output"
        );
    }

    fn repository_exists() -> aws_smithy_mocks::Rule {
        mock!(Client::describe_repositories).then_output(|| {
            aws_sdk_ecr::operation::describe_repositories::DescribeRepositoriesOutput::builder()
                .repositories(
                    aws_sdk_ecr::types::Repository::builder()
                        .repository_uri("1.dkr.ecr.us-east-1.amazonaws.com/app")
                        .build(),
                )
                .build()
        })
    }

    #[tokio::test]
    async fn an_existing_repository_with_the_old_policy_gets_the_new_one() {
        let describe = repository_exists();
        let get = mock!(Client::get_lifecycle_policy).then_output(|| {
            aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyOutput::builder()
                .lifecycle_policy_text(lifecycle::legacy_policy().to_string())
                .build()
        });
        let put = mock!(Client::put_lifecycle_policy)
            .match_requests(|r| r.lifecycle_policy_text() == Some(lifecycle::policy().as_str()))
            .then_output(|| PutLifecyclePolicyOutput::builder().build());
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe, &get, &put]);
        let repo = ensure_repository(&client, "app").await.unwrap();
        assert!(!repo.created);
        assert_eq!(put.num_calls(), 1);
        assert!(
            matches!(&repo.notices[..], [Notice::Note(n)] if n.contains("replaced the old lifecycle policy")),
            "{:?}",
            repo.notices
        );
    }

    #[tokio::test]
    async fn the_old_policy_that_may_not_be_replaced_is_a_warning_not_a_failure() {
        let describe = repository_exists();
        let get = mock!(Client::get_lifecycle_policy).then_output(|| {
            aws_sdk_ecr::operation::get_lifecycle_policy::GetLifecyclePolicyOutput::builder()
                .lifecycle_policy_text(lifecycle::legacy_policy().to_string())
                .build()
        });
        let put = mock!(Client::put_lifecycle_policy).then_error(|| {
            aws_sdk_ecr::operation::put_lifecycle_policy::PutLifecyclePolicyError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform: ecr:PutLifecyclePolicy")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe, &get, &put]);
        let repo = ensure_repository(&client, "app").await.unwrap();
        assert!(
            matches!(&repo.notices[..], [Notice::Warn(w)] if w.contains("grant ecr:PutLifecyclePolicy")),
            "{:?}",
            repo.notices
        );
    }

    #[tokio::test]
    async fn a_dry_run_uri_comes_from_the_repository_or_else_the_registry_account() {
        let describe = repository_exists();
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe]);
        assert_eq!(
            planned_uri(&client, "app", "us-east-1").await.unwrap(),
            "1.dkr.ecr.us-east-1.amazonaws.com/app"
        );

        let describe = not_found();
        let registry = mock!(Client::describe_registry).then_output(|| {
            aws_sdk_ecr::operation::describe_registry::DescribeRegistryOutput::builder()
                .registry_id("123456789012")
                .build()
        });
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&describe, &registry]);
        assert_eq!(
            planned_uri(&client, "team/app", "eu-west-1").await.unwrap(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app"
        );
        assert_eq!(
            registry_host("1", "cn-north-1"),
            "1.dkr.ecr.cn-north-1.amazonaws.com.cn"
        );
    }

    #[tokio::test]
    async fn expired_aws_credentials_and_a_missing_login_permission_read_differently() {
        use aws_sdk_ecr::operation::get_authorization_token::GetAuthorizationTokenError;
        let fail = |code: &'static str| {
            mock!(Client::get_authorization_token).then_error(move || {
                GetAuthorizationTokenError::generic(
                    ErrorMetadata::builder().code(code).message("nope").build(),
                )
            })
        };
        let expired = fail("ExpiredTokenException");
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&expired]);
        let message = login(&client).await.unwrap_err().message;
        assert!(message.contains("credentials have expired"), "{message}");
        let denied = fail("AccessDeniedException");
        let client = mock_client!(aws_sdk_ecr, RuleMode::MatchAny, [&denied]);
        let message = login(&client).await.unwrap_err().message;
        assert!(
            message.contains("ecr:GetAuthorizationToken is missing"),
            "{message}"
        );
        assert!(!message.contains("expired"), "{message}");
    }
}
