//! `cargo xtask`: the project's build helpers.
//!
//! `cargo xtask image --binary target/…/service --out .local/image` packages a static
//! binary as a one-layer OCI image layout (what `docker build` of `service/Dockerfile`
//! produces, minus the build stages), so the local run needs no Docker daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oci_push::layout::{FileEntry, ImageConfig, LayerSpec, write_image};

/// The project's build helpers.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Package a static binary as an OCI image layout (readable as `oci:DIR:TAG`).
    Image(ImageArgs),
}

#[derive(Debug, clap::Args)]
struct ImageArgs {
    /// The static binary to package; it becomes `/<name>` and the image's entrypoint.
    #[arg(long, value_name = "FILE")]
    binary: PathBuf,
    /// Name of the binary inside the image.
    #[arg(long, default_value = "service")]
    name: String,
    /// Where to write the OCI layout (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The tag recorded in the layout's index.json.
    #[arg(long, default_value = "latest")]
    tag: String,
    /// The port the image declares (`ExposedPorts`).
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Image(args) => match package(&args) {
            Ok(reference) => {
                println!("{reference}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Writes the image and returns `oci:DIR:TAG@sha256:…` for the caller to show.
fn package(args: &ImageArgs) -> Result<String, String> {
    let binary = std::fs::read(&args.binary).map_err(|e| {
        format!(
            "cannot read --binary {}: {e}; build it first (scripts/local.sh builds it with \
             `cargo build --release` and crt-static)",
            args.binary.display()
        )
    })?;
    let layer = LayerSpec {
        files: vec![FileEntry::new(args.name.clone(), 0o755, binary)],
    };
    // The same runtime settings as service/Dockerfile's final stage: the binary as
    // entrypoint, a non-root numeric user (scratch has no /etc/passwd), the port.
    let config = ImageConfig {
        entrypoint: vec![format!("/{}", args.name)],
        exposed_ports: vec![format!("{}/tcp", args.port)],
        user: Some("65532:65532".to_owned()),
        ..ImageConfig::default()
    };
    let image = write_image(&args.out, &[layer], &config, Some(&args.tag))
        .map_err(|e| format!("cannot write the OCI layout to {}: {e}", args.out.display()))?;
    Ok(format!(
        "oci:{}:{} ({})",
        args.out.display(),
        args.tag,
        image.manifest_digest.as_str()
    ))
}
