//! The commit being deployed: change-set names, default image tags, and the commit
//! order a deploy keeps (`git merge-base --is-ancestor`).

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

/// The commit a deploy records on the stack: `--commit` (or `DEPLOYER_COMMIT`) when
/// given, else [`commit_sha`]. A given value must be a full SHA (40 hex digits, or 64
/// in a SHA-256 repository): the tag is compared with `git merge-base` later, where a
/// short or symbolic name could mean another commit.
pub(crate) fn deploy_commit(given: Option<&str>) -> Result<Option<String>, crate::error::Failure> {
    match given.map(str::trim).filter(|s| !s.is_empty()) {
        Some(sha) if is_full_sha(sha) => Ok(Some(sha.to_ascii_lowercase())),
        Some(other) => Err(crate::error::Failure::input(format!(
            "--commit `{other}` (or DEPLOYER_COMMIT) is not a full commit SHA: pass the 40 hex digits \
             `git rev-parse HEAD` prints"
        ))),
        None => Ok(commit_sha()
            .filter(|s| is_full_sha(s))
            .map(|s| s.to_ascii_lowercase())),
    }
}

fn is_full_sha(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// What git says about "is `older` an ancestor of (or equal to) `newer`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ancestry {
    /// Yes: deploying `newer` moves the stack forward.
    Ancestor,
    /// No: `newer` does not contain `older` (older, or on another branch).
    NotAncestor,
    /// git cannot tell: a commit is not in the local history (a shallow clone), or
    /// there is no git / no repository here. The text is git's own words.
    Unknown(String),
}

/// `git merge-base --is-ancestor OLDER NEWER` in `dir`: exit 0 yes, 1 no, anything
/// else (128: unknown commit, not a repository) unknown.
pub(crate) fn ancestry(older: &str, newer: &str, dir: &std::path::Path) -> Ancestry {
    if older.eq_ignore_ascii_case(newer) {
        return Ancestry::Ancestor;
    }
    let out = std::process::Command::new("git")
        .args(["merge-base", "--is-ancestor", older, newer])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Ok(out) => match out.status.code() {
            Some(0) => Ancestry::Ancestor,
            Some(1) => Ancestry::NotAncestor,
            _ => Ancestry::Unknown(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        },
        Err(e) => Ancestry::Unknown(format!("cannot run git: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_commit_must_be_a_full_sha() {
        let sha = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            deploy_commit(Some(sha)).unwrap().as_deref(),
            Some(sha.to_ascii_lowercase().as_str())
        );
        for bad in ["HEAD", "main", "0123456", &"g".repeat(40)] {
            let e = deploy_commit(Some(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(e.message.contains(&format!("`{bad}`")), "{}", e.message);
        }
    }

    #[test]
    fn the_same_commit_needs_no_git_and_no_repository_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ancestry("abc", "ABC", dir.path()), Ancestry::Ancestor);
        assert!(matches!(
            ancestry(&"a".repeat(40), &"b".repeat(40), dir.path()),
            Ancestry::Unknown(_)
        ));
    }
}
