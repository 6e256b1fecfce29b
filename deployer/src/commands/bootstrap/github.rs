//! What bootstrap asks of GitHub through the GitHub CLI (`gh`): the repository's numeric
//! ids, which the roles' trust pins (names can be renamed and reused; ids cannot), and
//! the production environment's deployment branches.
//!
//! The roles never depend on the environment setting: they trust only deploy.yml of the
//! deploy branch whatever GitHub allows. Restricting the environment to the branch is a
//! second lock that some plans do not offer (private repositories below Pro/Team), so a
//! failure there is a loud warning, never a failed bootstrap.

use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::Failure;

/// The owner's and the repository's numeric ids (GitHubOwnerId, GitHubRepoId).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct RepoIds {
    pub(super) owner_id: String,
    pub(super) repo_id: String,
}

/// What a run of `gh` gave: its stdout, or why it could not run or what it said.
#[derive(Debug)]
enum GhError {
    Missing,
    Failed(String),
}

fn gh(args: &[String]) -> Result<String, GhError> {
    let out = Command::new("gh")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GhError::Missing,
            _ => GhError::Failed(format!("cannot run gh: {e}")),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.trim();
        Err(GhError::Failed(if said.is_empty() {
            format!("gh exited with {}", out.status)
        } else {
            said.to_owned()
        }))
    }
}

/// A GitHub id as the template's AllowedPattern takes it.
fn is_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 20
        && !text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit())
}

/// The ids from `--github-owner-id`/`--github-repo-id`, else from `gh api`. `full` is
/// `OWNER/NAME` as given: GitHub's claims carry its own spelling, and the trust compares
/// exactly, so a repository GitHub spells otherwise (case, a rename) is refused here.
pub(super) fn resolve_ids(
    full: &str,
    owner_flag: Option<&str>,
    repo_flag: Option<&str>,
) -> Result<RepoIds, Failure> {
    let lookup = format!("gh api repos/{full} --jq '.owner.id, .id'");
    match (owner_flag, repo_flag) {
        (Some(owner), Some(repo)) => {
            for (flag, value) in [("--github-owner-id", owner), ("--github-repo-id", repo)] {
                if !is_id(value) {
                    return Err(Failure::input(format!(
                        "{flag} `{value}` is not a GitHub id (digits, e.g. 1296269): `{lookup}` prints the owner's, then the repository's"
                    )));
                }
            }
            return Ok(RepoIds {
                owner_id: owner.to_owned(),
                repo_id: repo.to_owned(),
            });
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Failure::input(format!(
                "pass both --github-owner-id and --github-repo-id, or neither (then gh looks them up: `{lookup}`)"
            )));
        }
        (None, None) => {}
    }
    let args = [
        "api".to_owned(),
        format!("repos/{full}"),
        "--jq".to_owned(),
        ".owner.id, .id, .full_name".to_owned(),
    ];
    let flags = "or pass --github-owner-id and --github-repo-id";
    let said = gh(&args).map_err(|e| match e {
        GhError::Missing => Failure::input(format!(
            "the roles trust {full} by its numeric ids, and `gh` (the GitHub CLI) is not on PATH to look them up: \
             install it (https://cli.github.com) and run `gh auth login`, {flags} \
             (owner.id and id of https://api.github.com/repos/{full})"
        )),
        GhError::Failed(why) => Failure::failed(format!(
            "cannot look up the ids of {full} with `{lookup}`: {why}\nCheck --github-repo and `gh auth status`, {flags}"
        )),
    })?;
    parse_ids(full, &said)
}

/// `gh api … --jq '.owner.id, .id, .full_name'`'s three lines.
fn parse_ids(full: &str, said: &str) -> Result<RepoIds, Failure> {
    let lines: Vec<&str> = said.lines().map(str::trim).collect();
    let [owner_id, repo_id, spelt] = lines[..] else {
        return Err(Failure::failed(format!(
            "gh api repos/{full} answered {said:?}, not the owner id, repository id and name"
        )));
    };
    if !is_id(owner_id) || !is_id(repo_id) {
        return Err(Failure::failed(format!(
            "gh api repos/{full} answered ids {owner_id:?} and {repo_id:?}, which are not GitHub ids"
        )));
    }
    if spelt != full {
        return Err(Failure::input(format!(
            "GitHub spells the repository {spelt}, not {full}: its tokens carry {spelt} and the roles compare exactly. \
             Run again with --github-repo {spelt}"
        )));
    }
    Ok(RepoIds {
        owner_id: owner_id.to_owned(),
        repo_id: repo_id.to_owned(),
    })
}

/// The `gh api` calls that let only `branch` deploy to `environment`: custom deployment
/// branch policies on, then a policy naming the branch.
pub(super) fn environment_commands(
    full: &str,
    environment: &str,
    branch: &str,
) -> Vec<Vec<String>> {
    let path = format!("repos/{full}/environments/{environment}");
    let put = [
        "gh",
        "api",
        "--method",
        "PUT",
        &path,
        "-F",
        "deployment_branch_policy[protected_branches]=false",
        "-F",
        "deployment_branch_policy[custom_branch_policies]=true",
    ];
    let policies = format!("{path}/deployment-branch-policies");
    let name = format!("name={branch}");
    let post = [
        "gh",
        "api",
        "--method",
        "POST",
        &policies,
        "-f",
        &name,
        "-f",
        "type=branch",
    ];
    [put, post]
        .iter()
        .map(|argv| argv.iter().map(|a| (*a).to_owned()).collect())
        .collect()
}

/// Why the environment setting matters, for the warning when it could not be made.
pub(super) fn why_it_matters(environment: &str, branch: &str) -> String {
    format!(
        "The deploy role still trusts only deploy.yml on {branch}, but without this any branch's job may \
         enter the {environment} environment (and read its secrets). Set it by hand: Settings, Environments, \
         {environment}, Deployment branches and tags, Selected branches, add {branch}; on plans without the \
         setting, keep environment secrets out of {environment}"
    )
}

/// Runs the environment commands; `Err` says which failed and what gh said (nothing is
/// rolled back: the first only switches custom policies on).
pub(super) fn configure_environment(commands: &[Vec<String>]) -> Result<(), String> {
    for argv in commands {
        let shown = argv.join(" ");
        gh(&argv[1..]).map_err(|e| match e {
            GhError::Missing => "`gh` (the GitHub CLI) is not on PATH".to_owned(),
            GhError::Failed(why) => format!("`{shown}` failed: {why}"),
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_gh_with_the_name_github_spells() {
        let ids = parse_ids("octo-org/web-app", "9919\n1296269\nocto-org/web-app\n").unwrap();
        assert_eq!(
            ids,
            RepoIds {
                owner_id: "9919".into(),
                repo_id: "1296269".into()
            }
        );
        let e = parse_ids("octo-org/web-app", "9919\n1296269\nOcto-Org/Web-App\n").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message.contains("--github-repo Octo-Org/Web-App"),
            "{}",
            e.message
        );
        for bad in ["", "9919\n", "x\n1\no/r", "9919\n012\nocto-org/web-app"] {
            let e = parse_ids("octo-org/web-app", bad).unwrap_err();
            assert_eq!(e.exit_code(), 1, "{bad:?}");
        }
    }

    #[test]
    fn flags_give_both_ids_or_neither() {
        let ids = resolve_ids("o/r", Some("1"), Some("22")).unwrap();
        assert_eq!((ids.owner_id.as_str(), ids.repo_id.as_str()), ("1", "22"));
        let e = resolve_ids("o/r", Some("1"), None).unwrap_err();
        assert!(
            e.message
                .contains("both --github-owner-id and --github-repo-id")
        );
        for bad in ["0", "01", "octo-org", "-1", "123456789012345678901"] {
            let e = resolve_ids("o/r", Some("1"), Some(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(
                e.message.contains(&format!("--github-repo-id `{bad}`")),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn the_environment_is_restricted_to_the_branch_with_two_calls() {
        let commands = environment_commands("o/r", "production", "main");
        assert_eq!(
            commands[0][2..],
            [
                "--method",
                "PUT",
                "repos/o/r/environments/production",
                "-F",
                "deployment_branch_policy[protected_branches]=false",
                "-F",
                "deployment_branch_policy[custom_branch_policies]=true"
            ]
        );
        assert_eq!(
            commands[1][2..],
            [
                "--method",
                "POST",
                "repos/o/r/environments/production/deployment-branch-policies",
                "-f",
                "name=main",
                "-f",
                "type=branch"
            ]
        );
    }
}
