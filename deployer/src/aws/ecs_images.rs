//! Which image a service's task definitions ran, read from ECS: the data `rollback`
//! plans with, and the running image `status` shows.
//!
//! Every `AWS::ECS::TaskDefinition` update registers a new revision of the service's
//! family, and each revision keeps its container image, so the family's history is the
//! service's image history. CloudFormation deregisters the replaced revision (INACTIVE,
//! still describable) unless the template sets `SkipDestroy`, so both ACTIVE and
//! INACTIVE revisions are walked, newest first.
//!
//! The image is the one of the essential container named `app` (as cfn/service.yaml
//! names it), else of the task definition's only container.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, TaskDefinition, TaskDefinitionStatus};
use aws_smithy_types::date_time::Format;
use serde::Serialize;

use crate::aws::call_failed;
use crate::error::Failure;

/// The container whose image is the service's (cfn/service.yaml's name for it).
pub(crate) const APP_CONTAINER: &str = "app";

/// Most revisions looked at (newest first) before giving up: a family older than that
/// has its earlier images far behind any rollback anyone means.
const MAX_REVISIONS: usize = 100;

/// An image a family's earlier revision ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PreviousImage {
    /// The container image, as the task definition names it (digest-pinned when the
    /// deployer deployed it: `…/repo@sha256:…`).
    pub uri: String,
    /// The task definition revision that ran it.
    pub revision: i32,
    /// The revision's ARN.
    pub task_definition_arn: String,
    /// When the revision was registered, RFC 3339 (when ECS says).
    pub registered_at: Option<String>,
}

/// The newest revision of `family` whose image differs from `current_image` (the
/// running one): what `rollback` goes back to. `Ok(None)` when every revision looked
/// at ran `current_image` (nothing to go back to). Images are compared by digest when
/// both have one (`repo@sha256:…`), else as written.
pub(crate) async fn previous_image(
    ecs: &Client,
    family: &str,
    current_image: &str,
) -> Result<Option<PreviousImage>, Failure> {
    for arn in revisions_newest_first(ecs, family).await? {
        let image = describe_image(ecs, &arn).await?;
        if !same_image(&image.uri, current_image) {
            return Ok(Some(image));
        }
    }
    Ok(None)
}

/// The newest revision of `family` that ran the image with `digest` (`rollback --to`):
/// `sha256:…` or a whole `repo@sha256:…` URI. Refuses (bad input) naming the digests
/// the family's revisions ran when none ran it.
pub(crate) async fn image_with_digest(
    ecs: &Client,
    family: &str,
    digest: &str,
) -> Result<PreviousImage, Failure> {
    let wanted = digest_of(digest).unwrap_or(digest);
    if !wanted.starts_with("sha256:") {
        return Err(Failure::input(format!(
            "--to `{digest}` is not an image digest: write it as sha256:<64 hex> (as `deployer status` shows it)"
        )));
    }
    // Each image once, at its newest revision.
    let mut seen = std::collections::HashSet::new();
    let mut known: Vec<String> = Vec::new();
    for arn in revisions_newest_first(ecs, family).await? {
        let image = describe_image(ecs, &arn).await?;
        if digest_of(&image.uri) == Some(wanted) {
            return Ok(image);
        }
        if seen.insert(image.uri.clone()) {
            known.push(match digest_of(&image.uri) {
                Some(d) => format!("{d} (revision {})", image.revision),
                None => format!(
                    "{} (revision {}, not digest-pinned)",
                    image.uri, image.revision
                ),
            });
        }
    }
    Err(Failure::input(if known.is_empty() {
        format!(
            "--to {wanted}: task definition family {family} has no revisions (is the service deployed?)"
        )
    } else {
        format!(
            "--to {wanted}: no revision of task definition family {family} ran that image. It ran (newest first):\n  {}",
            known.join("\n  ")
        )
    }))
}

/// The image a task definition runs (its [`APP_CONTAINER`], else its only container).
pub(crate) async fn image_of_task_definition(
    ecs: &Client,
    task_definition: &str,
) -> Result<PreviousImage, Failure> {
    describe_image(ecs, task_definition).await
}

/// The service's container in `task_definition`: the essential one named `app`, else
/// the only one.
pub(crate) fn app_container(task_definition: &TaskDefinition) -> Option<&ContainerDefinition> {
    let containers = task_definition.container_definitions();
    containers
        .iter()
        .find(|c| c.name() == Some(APP_CONTAINER) && c.essential().unwrap_or(true))
        .or(match containers {
            [only] => Some(only),
            _ => None,
        })
}

/// The `sha256:…` of an image reference pinned by digest (`repo@sha256:…`), or of a bare
/// digest.
pub(crate) fn digest_of(image: &str) -> Option<&str> {
    let digest = image.rsplit_once('@').map_or(image, |(_, d)| d);
    digest.starts_with("sha256:").then_some(digest)
}

/// Same image: the same digest when both are pinned, else the same text.
fn same_image(a: &str, b: &str) -> bool {
    match (digest_of(a), digest_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The revision number at the end of a task definition ARN (`…/family:12`).
fn revision_of(arn: &str) -> Option<i32> {
    arn.rsplit_once(':').and_then(|(_, r)| r.parse().ok())
}

/// The family's ACTIVE and INACTIVE revision ARNs, newest first, at most
/// [`MAX_REVISIONS`].
async fn revisions_newest_first(ecs: &Client, family: &str) -> Result<Vec<String>, Failure> {
    let mut arns = Vec::new();
    for status in [TaskDefinitionStatus::Active, TaskDefinitionStatus::Inactive] {
        let mut token: Option<String> = None;
        loop {
            let page = ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(status.clone())
                .sort(aws_sdk_ecs::types::SortOrder::Desc)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    call_failed(
                        &format!("cannot list the task definitions of family {family}"),
                        &e,
                    )
                })?;
            // familyPrefix is a prefix: `web` also lists `web-worker`'s revisions.
            arns.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|arn| family_of(arn) == Some(family))
                    .cloned(),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() || arns.len() >= 10 * MAX_REVISIONS {
                break;
            }
        }
    }
    arns.sort_by_key(|arn| std::cmp::Reverse(revision_of(arn).unwrap_or(0)));
    arns.dedup();
    arns.truncate(MAX_REVISIONS);
    Ok(arns)
}

/// The family name in a task definition ARN (`…:task-definition/FAMILY:REV`).
fn family_of(arn: &str) -> Option<&str> {
    let tail = arn.rsplit_once('/').map_or(arn, |(_, t)| t);
    tail.rsplit_once(':').map(|(f, _)| f)
}

async fn describe_image(ecs: &Client, task_definition: &str) -> Result<PreviousImage, Failure> {
    let out = ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(|e| {
            call_failed(
                &format!("cannot describe task definition {task_definition}"),
                &e,
            )
        })?;
    let td = out.task_definition().ok_or_else(|| {
        Failure::failed(format!(
            "ECS described task definition {task_definition} without its definition"
        ))
    })?;
    let arn = td
        .task_definition_arn()
        .unwrap_or(task_definition)
        .to_owned();
    let container = app_container(td).ok_or_else(|| {
        let names: Vec<&str> = td
            .container_definitions()
            .iter()
            .filter_map(|c| c.name())
            .collect();
        Failure::failed(format!(
            "task definition {arn} has no essential container named `{APP_CONTAINER}` and not exactly one container \
             (it has: {}), so its service's image is not known",
            names.join(", ")
        ))
    })?;
    Ok(PreviousImage {
        uri: container.image().unwrap_or_default().to_owned(),
        revision: if td.revision() > 0 {
            td.revision()
        } else {
            revision_of(&arn).unwrap_or(0)
        },
        task_definition_arn: arn,
        registered_at: td
            .registered_at()
            .and_then(|t| t.fmt(Format::DateTime).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
    use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime;

    const REPO: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello-web";

    fn arn(rev: i32) -> String {
        format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/hello-staging-web:{rev}")
    }

    fn image(hex: char) -> String {
        format!("{REPO}@sha256:{}", hex.to_string().repeat(64))
    }

    /// A client whose family has `active` and `inactive` revisions, each with its image.
    fn client(active: &[(i32, String)], inactive: &[(i32, String)]) -> Client {
        let mut rules = Vec::new();
        for (status, revisions) in [
            (TaskDefinitionStatus::Active, active.to_vec()),
            (TaskDefinitionStatus::Inactive, inactive.to_vec()),
        ] {
            let listed: Vec<String> = revisions.iter().map(|(r, _)| arn(*r)).collect();
            rules.push(
                mock!(Client::list_task_definitions)
                    .match_requests(move |r| r.status() == Some(&status))
                    .then_output(move || {
                        ListTaskDefinitionsOutput::builder()
                            .set_task_definition_arns(Some(listed.clone()))
                            // Another family sharing the prefix is left out.
                            .task_definition_arns(
                                "arn:aws:ecs:eu-west-1:123456789012:task-definition/hello-staging-web-worker:99",
                            )
                            .build()
                    }),
            );
            for (rev, img) in revisions {
                rules.push(
                    mock!(Client::describe_task_definition)
                        .match_requests(move |r| r.task_definition() == Some(arn(rev).as_str()))
                        .then_output(move || {
                            DescribeTaskDefinitionOutput::builder()
                                .task_definition(
                                    TaskDefinition::builder()
                                        .task_definition_arn(arn(rev))
                                        .family("hello-staging-web")
                                        .revision(rev)
                                        .registered_at(DateTime::from_secs(
                                            1_700_000_000 + i64::from(rev),
                                        ))
                                        .container_definitions(
                                            ContainerDefinition::builder()
                                                .name("log-router")
                                                .image("fluent-bit")
                                                .essential(false)
                                                .build(),
                                        )
                                        .container_definitions(
                                            ContainerDefinition::builder()
                                                .name("app")
                                                .image(img.clone())
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build()
                        }),
                );
            }
        }
        let rules: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
        mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules)
    }

    #[tokio::test]
    async fn the_previous_image_is_the_newest_revision_with_another_image() {
        // Revision 4 runs b (as 3 did, a re-deploy of the same image); 2 ran a; 1 ran a.
        let ecs = client(
            &[(4, image('b'))],
            &[(3, image('b')), (1, image('a')), (2, image('a'))],
        );
        let previous = previous_image(&ecs, "hello-staging-web", &image('b'))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(previous.uri, image('a'));
        assert_eq!(previous.revision, 2);
        assert_eq!(previous.task_definition_arn, arn(2));
        assert_eq!(
            previous.registered_at.as_deref(),
            Some("2023-11-14T22:13:22Z")
        );
    }

    #[tokio::test]
    async fn nothing_to_go_back_to_when_every_revision_ran_the_current_image() {
        let ecs = client(&[(2, image('b'))], &[(1, image('b'))]);
        assert_eq!(
            previous_image(&ecs, "hello-staging-web", &image('b'))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn to_digest_finds_its_revision_or_names_the_digests_known() {
        let ecs = client(&[(3, image('c'))], &[(2, image('b')), (1, image('a'))]);
        let digest_b = format!("sha256:{}", "b".repeat(64));
        let found = image_with_digest(&ecs, "hello-staging-web", &digest_b)
            .await
            .unwrap();
        assert_eq!((found.revision, found.uri), (2, image('b')));
        // A whole URI works too.
        let found = image_with_digest(&ecs, "hello-staging-web", &image('a'))
            .await
            .unwrap();
        assert_eq!(found.revision, 1);

        let e = image_with_digest(
            &ecs,
            "hello-staging-web",
            &format!("sha256:{}", "f".repeat(64)),
        )
        .await
        .unwrap_err();
        assert_eq!(e.exit_code(), 64);
        for d in ['c', 'b', 'a'] {
            assert!(
                e.message
                    .contains(&format!("sha256:{}", d.to_string().repeat(64))),
                "{}",
                e.message
            );
        }
        assert!(e.message.contains("(revision 3)"), "{}", e.message);
        let e = image_with_digest(&ecs, "hello-staging-web", "latest")
            .await
            .unwrap_err();
        assert!(e.message.contains("not an image digest"), "{}", e.message);
    }

    #[test]
    fn the_app_container_is_the_essential_app_else_the_only_one() {
        let td = |containers: Vec<(&str, bool)>| {
            let mut b = TaskDefinition::builder();
            for (name, essential) in containers {
                b = b.container_definitions(
                    ContainerDefinition::builder()
                        .name(name)
                        .image(format!("{name}:1"))
                        .essential(essential)
                        .build(),
                );
            }
            b.build()
        };
        let t = td(vec![("sidecar", true), ("app", true)]);
        assert_eq!(app_container(&t).unwrap().name(), Some("app"));
        let t = td(vec![("web", true)]);
        assert_eq!(app_container(&t).unwrap().name(), Some("web"));
        assert!(app_container(&td(vec![("a", true), ("b", true)])).is_none());
        assert!(app_container(&td(vec![("app", false), ("b", true)])).is_none());
    }

    #[test]
    fn digests_families_and_revisions_are_read_from_their_strings() {
        assert_eq!(digest_of("r@sha256:ab"), Some("sha256:ab"));
        assert_eq!(digest_of("sha256:ab"), Some("sha256:ab"));
        assert_eq!(digest_of("r:latest"), None);
        assert!(same_image("x/r@sha256:ab", "y/r@sha256:ab"));
        assert!(!same_image("r:1", "r:2"));
        assert_eq!(revision_of(&arn(12)), Some(12));
        assert_eq!(family_of(&arn(12)), Some("hello-staging-web"));
    }
}
