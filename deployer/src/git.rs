//! The commit being deployed, for change-set names and default image tags.

/// The full commit SHA: `GITHUB_SHA` in GitHub Actions, else `git rev-parse HEAD` in
/// the current directory; `None` outside a git checkout (or without git).
pub(crate) fn commit_sha() -> Option<String> {
    let sha = std::env::var("GITHUB_SHA")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "HEAD"])
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })?;
    sha.chars().all(|c| c.is_ascii_hexdigit()).then_some(sha)
}

/// The first `len` characters of [`commit_sha`], when there is one that long.
pub(crate) fn short_commit_sha(len: usize) -> Option<String> {
    let short: String = commit_sha()?.chars().take(len).collect();
    (short.len() == len).then_some(short)
}
