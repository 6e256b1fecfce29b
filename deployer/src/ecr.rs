//! The ECR side of a push: make sure the repository exists (with the settings we
//! want), and log in to its registry.
//!
//! A repository we create gets immutable tags (a tag, once pushed, always means the
//! same image), scan on push, and a lifecycle policy that keeps the newest
//! [`KEEP_IMAGES`] images and expires older ones. An existing repository is used as it is.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageScanningConfiguration, ImageTagMutability};
use base64::Engine as _;

use crate::aws::{call_failed, describe_error, is_access_denied};
use crate::error::Failure;

/// How many images the lifecycle policy of a repository we create keeps.
pub(crate) const KEEP_IMAGES: i32 = 30;

/// A repository ready to push to.
#[derive(Debug, Clone)]
pub(crate) struct Repository {
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub uri: String,
    /// Whether this run created it.
    pub created: bool,
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

/// The lifecycle policy of a repository we create: expire all but the newest images.
pub(crate) fn lifecycle_policy() -> String {
    serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("Keep the last {KEEP_IMAGES} images"),
            "selection": { "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES },
            "action": { "type": "expire" },
        }]
    })
    .to_string()
}

/// Returns the repository `name`, creating it if it does not exist.
pub(crate) async fn ensure_repository(client: &Client, name: &str) -> Result<Repository, Failure> {
    if let Some(uri) = describe(client, name).await? {
        return Ok(Repository {
            uri,
            created: false,
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
        .lifecycle_policy_text(lifecycle_policy())
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
    Ok(Repository { uri, created: true })
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
                "may not log in to ECR (ecr:GetAuthorizationToken is missing): {}",
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
            .match_requests(|r| r.lifecycle_policy_text() == Some(lifecycle_policy().as_str()))
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

    #[test]
    fn lifecycle_policy_keeps_the_newest_images() {
        let policy: serde_json::Value = serde_json::from_str(&lifecycle_policy()).unwrap();
        let rule = &policy["rules"][0];
        assert_eq!(rule["selection"]["countType"], "imageCountMoreThan");
        assert_eq!(rule["selection"]["countNumber"], KEEP_IMAGES);
        assert_eq!(rule["action"]["type"], "expire");
    }
}
