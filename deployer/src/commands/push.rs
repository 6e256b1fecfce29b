//! The `push` subcommand: get an image from disk into ECR without a Docker daemon.
//!
//! Order of work: check the arguments and open the image (bad input exits 64 before any
//! AWS call), make sure the repository exists (`ecr` module), log in, then push with
//! `oci-push`: only missing blobs are uploaded, and the result is the digest-pinned URI
//! `REGISTRY/REPOSITORY@sha256:…` that `deploy` passes to the template.

use std::process::ExitCode;
use std::sync::Arc;

use aws_config::SdkConfig;
use oci_push::{Credentials, ImageSource, PushOptions, Registry};
use serde::Serialize;

use crate::cli::{ImageArgs, PushArgs};
use crate::ecr;
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
    /// The tag it was stored under, if any.
    pub tag: Option<String>,
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
    image.tag = args.tag().map(str::to_owned);
    let sdk = crate::aws::sdk_config().await?;
    let pushed = push_image(&image, &sdk, printer).await?;
    match printer.format() {
        OutputFormat::Text => printer.stdout(&format!("{}\n", pushed.uri)),
        OutputFormat::Json => printer.json(&pushed)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Pushes `args.image` to ECR repository `args.repository` and returns what was
/// pushed. Progress goes to stderr (a live line on a terminal, a line per blob
/// otherwise). `deploy --image` calls this.
pub(crate) async fn push_image(
    args: &ImageArgs,
    sdk: &SdkConfig,
    printer: &Printer,
) -> Result<PushedImage, Failure> {
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
            Some(tag.clone())
        }
        None => default_tag(),
    };
    if let Some(url) = &args.registry {
        Registry::new(url, None).map_err(|e| Failure::input(format!("--registry: {e}")))?;
    }
    let image = open_image(reference).await?;

    let client = aws_sdk_ecr::Client::new(sdk);
    let repo = ecr::ensure_repository(&client, repository).await?;
    if repo.created {
        printer.note(&format!(
            "created ECR repository {} (immutable tags, scan on push, keeps the last {} images)",
            repo.uri,
            ecr::KEEP_IMAGES
        ));
    }
    let login = ecr::login(&client).await?;
    let base = args.registry.clone().unwrap_or(login.endpoint);
    let registry = Registry::new(
        &base,
        Some(Credentials::Basic {
            username: login.username,
            password: login.password,
        }),
    )
    .map_err(|e| Failure::failed(e.to_string()))?;

    let reporter = Arc::new(Reporter::new(printer));
    let options = PushOptions {
        tag: tag.clone(),
        concurrency: CONCURRENT_UPLOADS,
        ..PushOptions::default()
    };
    let pushed =
        oci_push::push_image(&registry, repository, &image, &options, reporter.clone()).await;
    reporter.finish();
    let report = pushed.map_err(|e| {
        if e.is_input() {
            Failure::input(e.to_string())
        } else {
            Failure::failed(e.to_string())
        }
    })?;

    Ok(PushedImage {
        uri: format!("{}/{}@{}", registry.host(), repository, report.digest),
        digest: report.digest.to_string(),
        tag: report.tag,
        repository: repository.to_owned(),
        registry: registry.host(),
        repository_created: repo.created,
        blobs_uploaded: report.blobs_uploaded,
        blobs_skipped: report.blobs_skipped,
        bytes_uploaded: report.bytes_uploaded,
    })
}

/// Opens the image on a blocking thread (it reads and hashes files).
async fn open_image(reference: &str) -> Result<ImageSource, Failure> {
    let owned = reference.to_owned();
    tokio::task::spawn_blocking(move || ImageSource::open(&owned))
        .await
        .map_err(|e| Failure::internal(format!("reading the image stopped unexpectedly: {e}")))?
        .map_err(|e| {
            if e.is_input() {
                Failure::input(e.to_string())
            } else {
                Failure::failed(e.to_string())
            }
        })
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
/// `git rev-parse HEAD`), shortened to 12 characters; none outside a git checkout, in
/// which case the image is pushed by digest only.
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
    fn tags_follow_the_oci_rule() {
        assert!(check_tag("v1.2.3").is_ok());
        assert!(check_tag("0123456789ab").is_ok());
        for bad in ["", "-x", ".x", "a/b", "a:b", &"x".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
