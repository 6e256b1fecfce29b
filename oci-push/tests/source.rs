//! Opening image references: the accepted forms, and errors that name the bad input.

use oci_push::ImageSource;
use oci_push::layout::{ImageConfig, write_image};
use oci_push::test_support::sample_layers;

fn open_err(reference: &str) -> String {
    ImageSource::open(reference).unwrap_err().to_string()
}

#[test]
fn unknown_transports_and_missing_paths_list_the_accepted_forms() {
    for bad in [
        "docker://nginx",
        "oci",
        "oci:",
        "registry:foo",
        "/tmp/image",
    ] {
        let message = open_err(bad);
        assert!(message.contains(&format!("`{bad}`")), "{message}");
        assert!(
            message.contains("oci:DIR[:TAG]")
                && message.contains("oci-archive:FILE")
                && message.contains("docker-archive:FILE"),
            "{message}"
        );
    }
}

#[test]
fn missing_files_are_named() {
    let message = open_err("oci:/nonexistent/layout");
    assert!(
        message.contains("/nonexistent/layout") && message.contains("does not exist"),
        "{message}"
    );
    let message = open_err("oci-archive:/nonexistent/image.tar");
    assert!(message.contains("/nonexistent/image.tar"), "{message}");
    let message = open_err("docker-archive:/nonexistent/save.tar");
    assert!(message.contains("/nonexistent/save.tar"), "{message}");
}

#[test]
fn tags_pick_the_image_and_unknown_tags_list_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_image(
        dir.path(),
        &sample_layers(1, 100),
        &ImageConfig::default(),
        Some("v1"),
    )
    .unwrap();
    assert!(ImageSource::open(&format!("oci:{}:v1", dir.path().display())).is_ok());
    assert!(
        ImageSource::open(&format!("oci:{}", dir.path().display())).is_ok(),
        "the only image needs no tag"
    );
    let message = open_err(&format!("oci:{}:v2", dir.path().display()));
    assert!(
        message.contains("no image tagged `v2`") && message.contains("v1"),
        "{message}"
    );
}

#[test]
fn a_corrupt_manifest_is_caught_when_opening() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_image(
        dir.path(),
        &sample_layers(1, 100),
        &ImageConfig::default(),
        None,
    )
    .unwrap();
    let path = dir
        .path()
        .join("blobs/sha256")
        .join(written.manifest_digest.hex());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] = b' ';
    std::fs::write(&path, bytes).unwrap();
    let err = ImageSource::open(&format!("oci:{}", dir.path().display())).unwrap_err();
    assert!(err.is_input());
    let message = err.to_string();
    assert!(
        message.contains("corrupt") && message.contains(written.manifest_digest.as_str()),
        "{message}"
    );
}

#[test]
fn a_missing_layer_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_image(
        dir.path(),
        &sample_layers(1, 100),
        &ImageConfig::default(),
        None,
    )
    .unwrap();
    std::fs::remove_file(
        dir.path()
            .join("blobs/sha256")
            .join(written.layer_digests[0].hex()),
    )
    .unwrap();
    let message = open_err(&format!("oci:{}", dir.path().display()));
    assert!(
        message.contains("missing blob") && message.contains(written.layer_digests[0].as_str()),
        "{message}"
    );
}

#[test]
fn a_gzipped_archive_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    let message = open_err(&format!("oci-archive:{}", path.display()));
    assert!(
        message.contains("gzip") && message.contains("gunzip"),
        "{message}"
    );
}

#[test]
fn each_kind_of_bad_input_is_its_own_error_and_counts_as_input() {
    use oci_push::Error;
    let open = |r: &str| ImageSource::open(r).unwrap_err();
    let reference = open("docker://nginx");
    assert!(
        matches!(&reference, Error::BadReference { reference, .. } if reference == "docker://nginx"),
        "{reference}"
    );
    let unreadable = open("oci-archive:/nonexistent/image.tar");
    assert!(
        matches!(&unreadable, Error::Unreadable { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{unreadable}"
    );
    let dir = tempfile::tempdir().unwrap();
    let invalid = open(&format!("oci:{}", dir.path().display()));
    assert!(matches!(invalid, Error::InvalidImage(_)), "{invalid}");
    assert!(
        invalid.to_string().contains("no `oci-layout` file"),
        "{invalid}"
    );
    for err in [reference, unreadable, invalid] {
        assert!(err.is_input(), "{err}");
    }
}

/// A tar whose last entry's header claims `claimed` bytes that are not there: one pass
/// over the headers (as `oci-archive:` and `docker-archive:` do) sees the claim as is.
fn crafted_tar(path: &std::path::Path, files: &[(&str, &[u8])], lying: &str, claimed: u64) {
    use std::io::Write as _;
    let mut out = std::fs::File::create(path).unwrap();
    let header = |name: &str, size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_path(name).unwrap();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        h
    };
    for (name, data) in files {
        out.write_all(header(name, data.len() as u64).as_bytes())
            .unwrap();
        out.write_all(data).unwrap();
        out.write_all(&vec![0u8; (512 - data.len() % 512) % 512])
            .unwrap();
    }
    out.write_all(header(lying, claimed).as_bytes()).unwrap();
}

#[test]
fn archive_headers_claiming_huge_sizes_are_refused_before_anything_is_allocated() {
    // Before the cap, each of these asked the allocator for a terabyte at once, which
    // aborts the process ("memory allocation of 1099511627776 bytes failed").
    const TERABYTE: u64 = 1 << 40;
    let dir = tempfile::tempdir().unwrap();

    let oci = dir.path().join("oci.tar");
    crafted_tar(
        &oci,
        &[("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)],
        "index.json",
        TERABYTE,
    );
    let message = open_err(&format!("oci-archive:{}", oci.display()));
    assert!(
        message.contains("`index.json` claims 1099511627776 bytes")
            && message.contains("4 MiB limit for a manifest or index")
            && message.contains(&oci.display().to_string()),
        "{message}"
    );

    let save = dir.path().join("save.tar");
    crafted_tar(&save, &[], "manifest.json", TERABYTE);
    let message = open_err(&format!("docker-archive:{}", save.display()));
    assert!(
        message.contains("`manifest.json` claims 1099511627776 bytes")
            && message.contains("1 MiB limit"),
        "{message}"
    );

    // A docker-save archive whose config entry lies: the manifest is fine, the config not.
    let config = dir.path().join("config.tar");
    let manifest = br#"[{"Config":"config.json","Layers":[]}]"#;
    crafted_tar(
        &config,
        &[("manifest.json", manifest)],
        "config.json",
        TERABYTE,
    );
    let message = open_err(&format!("docker-archive:{}", config.display()));
    assert!(
        message.contains("`config.json` claims 1099511627776 bytes")
            && message.contains("4 MiB limit for an image config"),
        "{message}"
    );
}

#[test]
fn an_oversized_index_json_in_a_layout_directory_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    write_image(
        dir.path(),
        &sample_layers(1, 64),
        &ImageConfig::default(),
        None,
    )
    .unwrap();
    // Sparse: 5 MiB claimed on disk, nothing written (nothing to read either).
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("index.json"))
        .unwrap()
        .set_len(5 << 20)
        .unwrap();
    let message = open_err(&format!("oci:{}", dir.path().display()));
    assert!(
        message.contains("`index.json` claims 5242880 bytes") && message.contains("4 MiB limit"),
        "{message}"
    );
}
