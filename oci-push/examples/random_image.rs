//! Writes an OCI layout holding one image of random, incompressible data, for the push
//! benchmark (`scripts/bench/push.sh`):
//!
//! ```text
//! cargo run --release -p oci-push --example random_image -- DIR TOTAL_MB LAYERS
//! ```
//!
//! The image is tagged `latest`; every run writes a different image.

use oci_push::layout::{FileEntry, ImageConfig, LayerSpec, write_image};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, total_mb, layers] = args.as_slice() else {
        return Err("usage: random_image DIR TOTAL_MB LAYERS".to_owned());
    };
    let total_mb: usize = total_mb
        .parse()
        .map_err(|e| format!("TOTAL_MB `{total_mb}`: {e}"))?;
    let layers: usize = layers
        .parse()
        .map_err(|e| format!("LAYERS `{layers}`: {e}"))?;
    if layers == 0 {
        return Err("LAYERS must be at least 1".to_owned());
    }
    let per_layer = total_mb * 1024 * 1024 / layers;
    let specs: Vec<LayerSpec> = (0..layers)
        .map(|i| {
            let mut data = vec![0u8; per_layer];
            fastrand::fill(&mut data);
            LayerSpec {
                files: vec![FileEntry::new(format!("data/{i}.bin"), 0o644, data)],
            }
        })
        .collect();
    let written = write_image(
        dir.as_ref(),
        &specs,
        &ImageConfig::default(),
        Some("latest"),
    )
    .map_err(|e| format!("writing {dir}: {e}"))?;
    println!("{}", written.manifest_digest);
    Ok(())
}
