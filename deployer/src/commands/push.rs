//! The `push` subcommand: get an image from disk into ECR without a Docker daemon.
//!
//! Order of work: check the arguments and open the image (bad input exits 64 before any
//! AWS call), make sure the repository exists (`ecr` module), log in, then push with
//! `oci-push`: only missing blobs are uploaded, and the result is the digest-pinned URI
//! `REGISTRY/REPOSITORY@sha256:…` that `deploy` passes to the template.
//!
//! Tags never move (the repositories are immutable) and every pushed image gets one
//! (the lifecycle policy expires only untagged images):
//! - `--tag` given: that tag; if it already names another image, the push fails.
//! - default, the commit SHA: if a re-run of the same commit built another image
//!   (builds are not byte-reproducible), it is pushed under `<sha>-<12 hex of its
//!   digest>` instead, and the run says so; the stack gets the new image by digest.
//! - outside a git checkout: `digest-<12 hex of its digest>`.
//!
//! A dry run ([`plan_image`]) pushes nothing: the digest comes from the image on disk,
//! the registry host from `--registry` or read-only ECR calls.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use oci_push::{
    ClientOptions, Credentials, Digest, ImageSource, PushOptions, PushReport, Registry,
    USER_AGENT_PRODUCT,
};
use serde::Serialize;

use crate::cfn::wait::duration_input;
use crate::cli::{ImageArgs, PushArgs, TransferArgs};
use crate::ecr::{self, Notice};
use crate::error::{CommandResult, Failure};
use crate::output::push_progress::Reporter;
use crate::output::{OutputFormat, Printer};

/// How many blobs are uploaded at once.
const CONCURRENT_UPLOADS: usize = 3;

/// What a push did; `deploy` uses `uri`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PushedImage {
    /// `REGISTRY/REPOSITORY@sha256:…`: names exactly this image, whatever happens to tags.
    pub uri: String,
    /// The image's manifest (or index) digest.
    pub digest: String,
    /// The tag it is stored under.
    pub tag: Option<String>,
    /// The commit tag that already named another image, when `tag` was derived from it.
    pub tag_taken: Option<String>,
    /// The repository name.
    pub repository: String,
    /// Registry host (and port) the image went to.
    pub registry: String,
    /// Whether this push created the repository.
    pub repository_created: bool,
    /// Blobs sent.
    pub blobs_uploaded: usize,
    /// Blobs the registry already had.
    pub blobs_skipped: usize,
    /// Bytes sent.
    pub bytes_uploaded: u64,
}

/// Runs `deployer push`.
pub(crate) async fn run(args: PushArgs, printer: &Printer) -> CommandResult {
    let mut image = args.image.clone();
    image.image = args.image_ref.clone();
    image.tag = args.tag().map(str::to_owned);
    let sdk = crate::aws::sdk_config().await?;
    let pushed = push_image(&image, &sdk, printer).await?;
    match printer.format() {
        OutputFormat::Text => printer.stdout(&format!("{}\n", pushed.uri)),
        OutputFormat::Json => printer.json(&pushed)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Which tag to push under, and what a conflict means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TagChoice {
    /// `--tag`: a name the user chose for one image; a conflict is an error.
    Given(String),
    /// The commit SHA: several builds of one commit may exist; a conflict derives a
    /// unique tag from the digest.
    Commit(String),
    /// No tag asked for and no commit: `digest-<12 hex>`.
    Digest,
}

impl TagChoice {
    /// The first tag to try for an image with `digest`.
    fn tag(&self, digest: &Digest) -> String {
        match self {
            TagChoice::Given(tag) | TagChoice::Commit(tag) => tag.clone(),
            TagChoice::Digest => format!("digest-{}", short_hex(digest)),
        }
    }
}

/// The first 12 hex digits of a digest.
fn short_hex(digest: &Digest) -> &str {
    let hex = digest.hex();
    &hex[..hex.len().min(12)]
}

/// The tag a re-run's different build of `commit_tag` is pushed under.
fn derived_tag(commit_tag: &str, digest: &Digest) -> String {
    format!("{commit_tag}-{}", short_hex(digest))
}

/// Everything checked and read before the first AWS call.
struct Prepared {
    repository: String,
    tag: TagChoice,
    image: ImageSource,
    client: ClientOptions,
    deadline: Option<Duration>,
}

/// Checks the arguments and opens the image: bad input fails here, before any AWS call.
async fn prepare(args: &ImageArgs) -> Result<Prepared, Failure> {
    let reference = args.image.as_deref().ok_or_else(|| {
        Failure::input("--image is required, e.g. `--image oci:build/image:latest` (or `oci-archive:FILE`, `docker-archive:FILE`)")
    })?;
    let repository = args.repository.as_deref().ok_or_else(|| {
        Failure::input(
            "--repository is required: the ECR repository name, e.g. `--repository my-app`",
        )
    })?;
    check_repository_name(repository)?;
    let tag = match &args.tag {
        Some(tag) => {
            check_tag(tag)?;
            TagChoice::Given(tag.clone())
        }
        None => default_tag().map_or(TagChoice::Digest, TagChoice::Commit),
    };
    let (client, deadline) = io_settings(&args.transfer)?;
    if let Some(url) = &args.transfer.registry {
        Registry::with_options(url, None, client.clone())
            .map_err(|e| Failure::input(format!("--registry: {e}")))?;
    }
    let image = open_image(reference).await?;
    Ok(Prepared {
        repository: repository.to_owned(),
        tag,
        image,
        client,
        deadline,
    })
}

/// The registry client's options and the push deadline, from the flags (or their
/// environment variables).
fn io_settings(args: &TransferArgs) -> Result<(ClientOptions, Option<Duration>), Failure> {
    let duration = |flag: &str, text: &str, zero_ok: bool| {
        let parsed = duration_input(&format!("--{flag}"), text)?;
        if parsed.is_zero() && !zero_ok {
            return Err(Failure::input(format!(
                "--{flag}: must be more than 0 s, e.g. `60s`"
            )));
        }
        Ok(parsed)
    };
    let deadline = duration("push-timeout", &args.push_timeout, true)?;
    let options = ClientOptions {
        user_agent: user_agent(),
        connect_timeout: duration(
            "registry-connect-timeout",
            &args.registry_connect_timeout,
            false,
        )?,
        idle_timeout: duration("registry-idle-timeout", &args.registry_idle_timeout, false)?,
        request_timeout: duration(
            "registry-request-timeout",
            &args.registry_request_timeout,
            false,
        )?,
        ..ClientOptions::default()
    };
    Ok((options, (!deadline.is_zero()).then_some(deadline)))
}

/// `deployer/<version> oci-push/<version>`, so registry logs (and CloudTrail for ECR)
/// show what pushed.
pub(crate) fn user_agent() -> String {
    format!(
        "deployer/{} {USER_AGENT_PRODUCT}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Pushes `args.image` to ECR repository `args.repository` and returns what was
/// pushed. Progress goes to stderr (a live line on a terminal, a line per blob
/// otherwise). `deploy --image` calls this.
pub(crate) async fn push_image(
    args: &ImageArgs,
    sdk: &SdkConfig,
    printer: &Printer,
) -> Result<PushedImage, Failure> {
    let prepared = prepare(args).await?;
    let repository = prepared.repository.as_str();
    let client = aws_sdk_ecr::Client::new(sdk);
    let repo = ecr::ensure_repository(&client, repository).await?;
    if repo.created {
        printer.note(&format!(
            "created ECR repository {} (immutable tags, scan on push; untagged images expire after {} days, \
             tagged ones never)",
            repo.uri,
            ecr::lifecycle::UNTAGGED_EXPIRE_DAYS
        ));
    }
    for notice in &repo.notices {
        match notice {
            Notice::Note(text) => printer.note(text),
            Notice::Warn(text) => printer.warn(text),
        }
    }
    let login = ecr::login(&client).await?;
    let base = args.transfer.registry.clone().unwrap_or(login.endpoint);
    let registry = Registry::with_options(
        &base,
        Some(Credentials::Basic {
            username: login.username,
            password: login.password,
        }),
        prepared.client.clone(),
    )
    .map_err(|e| Failure::failed(e.to_string()))?;

    let digest = prepared.image.root().digest.clone();
    let first = prepared.tag.tag(&digest);
    let mut tag_taken = None;
    let report = match push_tagged(printer, &registry, &prepared, &first).await {
        Err(error) if matches!(prepared.tag, TagChoice::Commit(_)) && is_tag_conflict(&error) => {
            let oci_push::Error::TagConflict { tag, existing, .. } = *error else {
                unreachable!("checked by is_tag_conflict")
            };
            let derived = derived_tag(&tag, &digest);
            printer.note(&format!(
                "tag {tag} already names another build of this commit ({existing}); tags never move, \
                 so this image ({digest}) is pushed as {derived}"
            ));
            tag_taken = Some(tag);
            push_tagged(printer, &registry, &prepared, &derived).await
        }
        other => other,
    }
    .map_err(push_failure)?;

    Ok(PushedImage {
        uri: format!("{}/{}@{}", registry.host(), repository, report.digest),
        digest: report.digest.to_string(),
        tag: report.tag,
        tag_taken,
        repository: repository.to_owned(),
        registry: registry.host(),
        repository_created: repo.created,
        blobs_uploaded: report.blobs_uploaded,
        blobs_skipped: report.blobs_skipped,
        bytes_uploaded: report.bytes_uploaded,
    })
}

/// Whether the push failed because the tag names another image.
fn is_tag_conflict(error: &oci_push::Error) -> bool {
    matches!(error, oci_push::Error::TagConflict { .. })
}

/// One push under `tag`, with progress on stderr. (The error is boxed: it is large.)
async fn push_tagged(
    printer: &Printer,
    registry: &Registry,
    prepared: &Prepared,
    tag: &str,
) -> Result<PushReport, Box<oci_push::Error>> {
    let reporter = Arc::new(Reporter::new(printer));
    let options = PushOptions {
        tag: Some(tag.to_owned()),
        concurrency: CONCURRENT_UPLOADS,
        deadline: prepared.deadline,
    };
    let pushed = oci_push::push_image(
        registry,
        &prepared.repository,
        &prepared.image,
        &options,
        reporter.clone(),
    )
    .await;
    reporter.finish();
    pushed.map_err(Box::new)
}

/// A failed push as a [`Failure`]: oci-push's message, plus which of our flags or
/// permissions it is about.
fn push_failure(e: Box<oci_push::Error>) -> Failure {
    if e.is_input() {
        return Failure::input(e.to_string());
    }
    let hint = match e.as_ref() {
        oci_push::Error::DeadlineExceeded { .. } => {
            " (the deadline is --push-timeout, or DEPLOYER_PUSH_TIMEOUT)"
        }
        oci_push::Error::Timeout { .. } => {
            " (the limits are --registry-connect-timeout, --registry-idle-timeout and \
             --registry-request-timeout)"
        }
        oci_push::Error::TokenExpired { .. } | oci_push::Error::Unauthorized { .. } => {
            ". This is not a missing permission: the deployer gets a new token at the start of \
             every push, so running it again is the fix"
        }
        // An answer to HEAD has no body, so the registry cannot say "expired" there.
        oci_push::Error::Denied { request, .. } if request.starts_with("HEAD ") => {
            ". A HEAD answer carries no explanation, so this may also be an expired token: if \
             running again ends the same way, it is the permission. cfn/github-oidc.yaml's deploy \
             role grants these (EcrPushImage); the plan role used by previews does not, by design"
        }
        oci_push::Error::Denied { .. } => {
            ". This is not an expired token: running again will not help. cfn/github-oidc.yaml's \
             deploy role grants these (EcrPushImage); the plan role used by previews does not, by \
             design, and previews (--dry-run) never push"
        }
        _ => "",
    };
    Failure::failed(format!("{e}{hint}"))
}

/// What a dry run would push, found without writing anything.
#[derive(Debug, Clone)]
pub(crate) struct PlannedImage {
    /// `REGISTRY/REPOSITORY@sha256:…`, exactly what the real push will produce.
    pub uri: String,
}

/// Works out the digest-pinned URI `args.image` would get, without pushing or creating
/// anything: the digest from the image on disk, the host from `--registry` or from
/// read-only ECR calls ([`ecr::planned_uri`]). `deploy --dry-run --image` calls this.
pub(crate) async fn plan_image(args: &ImageArgs, sdk: &SdkConfig) -> Result<PlannedImage, Failure> {
    let prepared = prepare(args).await?;
    let digest = &prepared.image.root().digest;
    let repository_uri = match &args.transfer.registry {
        Some(url) => {
            let registry = Registry::with_options(url, None, prepared.client.clone())
                .map_err(|e| Failure::input(format!("--registry: {e}")))?;
            format!("{}/{}", registry.host(), prepared.repository)
        }
        None => {
            let region = sdk.region().map(|r| r.as_ref().to_owned()).ok_or_else(|| {
                Failure::input(
                    "no AWS region configured: set AWS_REGION (e.g. `export AWS_REGION=eu-west-1`)",
                )
            })?;
            let client = aws_sdk_ecr::Client::new(sdk);
            ecr::planned_uri(&client, &prepared.repository, &region).await?
        }
    };
    Ok(PlannedImage {
        uri: format!("{repository_uri}@{digest}"),
    })
}

/// The digest (`sha256:…`) `args.image` will be pushed under, from the files on disk
/// alone: no AWS or registry call. `apply --image` checks it against the plan first.
pub(crate) async fn image_digest(args: &ImageArgs) -> Result<String, Failure> {
    let prepared = prepare(args).await?;
    Ok(prepared.image.root().digest.to_string())
}

/// Opens the image on a blocking thread (it reads and hashes files).
async fn open_image(reference: &str) -> Result<ImageSource, Failure> {
    let owned = reference.to_owned();
    tokio::task::spawn_blocking(move || {
        ImageSource::open(&owned).map_err(|e| {
            if e.is_input() {
                Failure::input(e.to_string())
            } else {
                Failure::failed(e.to_string())
            }
        })
    })
    .await
    .map_err(|e| Failure::internal(format!("reading the image stopped unexpectedly: {e}")))?
}

/// ECR's rule for repository names (2-256 characters, lowercase, `/`-separated parts).
fn check_repository_name(name: &str) -> Result<(), Failure> {
    let pattern =
        regex::Regex::new(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
            .expect("valid pattern");
    if (2..=256).contains(&name.len()) && pattern.is_match(name) {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "--repository `{name}` is not a valid ECR repository name: use 2-256 lowercase letters, digits \
             and `.`, `_`, `-` between them, with `/` for namespaces (e.g. `team/my-app`)"
        )))
    }
}

/// The OCI rule for tags: up to 128 of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
fn check_tag(tag: &str) -> Result<(), Failure> {
    let mut chars = tag.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok && tag.len() <= 128 {
        Ok(())
    } else {
        Err(Failure::input(format!(
            "image tag `{tag}` is not valid: use up to 128 letters, digits, `_`, `.` and `-`, \
             not starting with `.` or `-`"
        )))
    }
}

/// The default tag: the commit being built (`GITHUB_SHA` in Actions, else
/// `git rev-parse HEAD`), shortened to 12 characters; none outside a git checkout (the
/// image is then tagged `digest-<12 hex>`).
fn default_tag() -> Option<String> {
    crate::git::short_commit_sha(12).filter(|short| check_tag(short).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_ecr_rules() {
        for ok in ["app", "team/my-app", "a.b_c-d/e"] {
            assert!(check_repository_name(ok).is_ok(), "{ok}");
        }
        for bad in ["A", "My-App", "app/", "-app", "a//b", "a..b", "x"] {
            let err = check_repository_name(bad).unwrap_err();
            assert!(err.message.contains(&format!("`{bad}`")), "{}", err.message);
            assert_eq!(err.exit_code(), 64);
        }
    }

    #[test]
    fn a_derived_tag_is_the_commit_tag_and_the_digest_and_a_valid_tag() {
        let digest = Digest::of_bytes(b"image");
        let derived = derived_tag("0123456789ab", &digest);
        assert_eq!(derived, format!("0123456789ab-{}", &digest.hex()[..12]));
        assert!(check_tag(&derived).is_ok());
        let fallback = TagChoice::Digest.tag(&digest);
        assert_eq!(fallback, format!("digest-{}", &digest.hex()[..12]));
        assert!(check_tag(&fallback).is_ok());
    }

    #[test]
    fn the_user_agent_names_the_deployer_and_oci_push() {
        let agent = user_agent();
        assert!(
            agent.starts_with(concat!(
                "deployer/",
                env!("CARGO_PKG_VERSION"),
                " oci-push/"
            )),
            "{agent}"
        );
    }

    #[test]
    fn tags_follow_the_oci_rule() {
        assert!(check_tag("v1.2.3").is_ok());
        assert!(check_tag("0123456789ab").is_ok());
        for bad in ["", "-x", ".x", "a/b", "a:b", &"x".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
