//! `deployer bootstrap` against a local moto: the real binary deploys the built-in
//! cfn/github-oidc.yaml through the change-set flow and prints the `gh variable set`
//! commands with the stack's real outputs; `--set-variables` runs them with a fake `gh`
//! (a script first on PATH that records its argv). The same fake answers `gh api` for
//! the repository's ids and the environment's deployment branches, or fails as GitHub
//! does on a plan without them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::helpers::{Moto, REGION, Run};

const STACK: &str = "github-deploy";
const REPO: &str = "octo-org/web-app";

/// The repository's ids, as GitHub (and the fake gh) gives them.
const OWNER_ID: &str = "9919";
const REPO_ID: &str = "1296269";

/// The flags every run here passes (a re-run passes the same ones), ids included.
fn bootstrap_args(extra: &[&str]) -> Vec<String> {
    let mut argv = bootstrap_args_without_ids(extra);
    argv.extend(["--github-owner-id", OWNER_ID, "--github-repo-id", REPO_ID].map(str::to_owned));
    argv
}

/// The same without the ids: gh looks them up.
fn bootstrap_args_without_ids(extra: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "bootstrap",
        "--github-repo",
        REPO,
        "--parameter",
        "AppStackName=web-prod",
        "--parameter",
        "EcrRepositoryPrefix=web",
        "--hosted-zone-id",
        "Z0123456789ABCDEFGHIJ",
        "--domain-name",
        "app.example.com",
    ];
    argv.extend_from_slice(extra);
    argv.into_iter().map(str::to_owned).collect()
}

/// The stack's outputs, from CloudFormation itself.
async fn outputs(moto: &Moto) -> BTreeMap<String, String> {
    let stacks = moto
        .cloudformation()
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .expect("the bootstrap stack exists");
    let stack = &stacks.stacks()[0];
    assert_eq!(
        stack.stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE")
    );
    stack
        .outputs()
        .iter()
        .map(|o| {
            (
                o.output_key().unwrap().to_owned(),
                o.output_value().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The `gh variable set` commands a run printed, as argv.
fn commands(run: &Run) -> Vec<Vec<String>> {
    printed(run, "gh variable set ")
}

/// The printed commands that start with `prefix`, as argv.
fn printed(run: &Run, prefix: &str) -> Vec<Vec<String>> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| shlex::split(l).unwrap_or_else(|| panic!("not a shell line: {l}")))
        .collect()
}

/// What the environment commands must be: production, deployable from main only.
fn environment_commands() -> Vec<Vec<String>> {
    [
        vec![
            "gh",
            "api",
            "--method",
            "PUT",
            "repos/octo-org/web-app/environments/production",
            "-F",
            "deployment_branch_policy[protected_branches]=false",
            "-F",
            "deployment_branch_policy[custom_branch_policies]=true",
        ],
        vec![
            "gh",
            "api",
            "--method",
            "POST",
            "repos/octo-org/web-app/environments/production/deployment-branch-policies",
            "-f",
            "name=main",
            "-f",
            "type=branch",
        ],
    ]
    .map(|argv| argv.into_iter().map(str::to_owned).collect())
    .to_vec()
}

/// What the commands must be, from the stack's real outputs.
fn expected(outputs: &BTreeMap<String, String>) -> Vec<Vec<String>> {
    [
        ("AWS_REGION", REGION),
        ("AWS_DEPLOY_ROLE_ARN", outputs["DeployRoleArn"].as_str()),
        ("AWS_PLAN_ROLE_ARN", outputs["PlanRoleArn"].as_str()),
        ("AWS_PREVIEW_ROLE_ARN", outputs["PreviewRoleArn"].as_str()),
        ("CFN_ROLE_ARN", outputs["CloudFormationRoleArn"].as_str()),
        (
            "PERMISSIONS_BOUNDARY_ARN",
            outputs["PermissionsBoundaryArn"].as_str(),
        ),
        ("STACK_NAME", "web-prod"),
        ("ECR_REPOSITORY", "web"),
        ("HOSTED_ZONE_ID", "Z0123456789ABCDEFGHIJ"),
        ("DOMAIN_NAME", "app.example.com"),
    ]
    .iter()
    .map(|(name, value)| {
        [
            "gh", "variable", "set", name, "--body", value, "--repo", REPO,
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .collect()
}

/// A fake `gh` in `dir`: appends its arguments (tab-separated) to `dir/gh.log`; `gh auth
/// status` exits with FAKE_GH_AUTH_EXIT (default 0), saying why on stderr; `gh variable
/// set $FAKE_GH_FAIL_ON` fails as GitHub refusing it would; `gh api repos/…` prints the
/// ids and the name (FAKE_GH_NAME, default octo-org/web-app) as its --jq would; `gh api
/// --method …` (the environment) fails when FAKE_GH_ENV_FAIL is set, as GitHub does for
/// a private repository on a plan without deployment branch policies.
fn fake_gh(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("gh");
    std::fs::write(
        &script,
        "#!/bin/sh\n\
         (IFS=\"$(printf '\\t')\"; printf '%s\\n' \"$*\") >> \"$(dirname \"$0\")/gh.log\"\n\
         if [ \"$1 $2\" = \"auth status\" ] && [ \"${FAKE_GH_AUTH_EXIT:-0}\" != 0 ]; then\n\
           echo 'You are not logged into any GitHub hosts. To log in, run: gh auth login' >&2\n\
           exit \"$FAKE_GH_AUTH_EXIT\"\n\
         fi\n\
         if [ \"$1 $2\" = \"variable set\" ] && [ \"$3\" = \"${FAKE_GH_FAIL_ON:-}\" ]; then\n\
           echo 'HTTP 403: Resource not accessible by integration' >&2\n\
           exit 1\n\
         fi\n\
         if [ \"$1 $3\" = \"api --jq\" ]; then\n\
           printf '9919\\n1296269\\n%s\\n' \"${FAKE_GH_NAME:-octo-org/web-app}\"\n\
           exit 0\n\
         fi\n\
         if [ \"$1 $2\" = \"api --method\" ] && [ -n \"${FAKE_GH_ENV_FAIL:-}\" ]; then\n\
           echo 'HTTP 422: Deployment branch policies are not available for this repository' >&2\n\
           exit 1\n\
         fi\n\
         exit 0\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The invocations the fake `gh` recorded.
fn gh_calls(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("gh.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn with_path(moto: &Moto, args: &[String], path: &str, env: &[(&str, &str)]) -> Run {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = moto.deployer(&argv);
    cmd.env("PATH", path).envs(env.iter().copied());
    Run::from(cmd.output().expect("running deployer"))
}

#[tokio::test]
async fn bootstrap_deploys_the_oidc_stack_prints_its_variables_and_a_rerun_is_a_no_op() {
    let moto = Moto::start();
    let cfn = moto.cloudformation();
    let argv = |extra: &[&str]| bootstrap_args(extra);
    let run = |args: Vec<String>| {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        moto.run(&argv)
    };

    // A dry run creates nothing and prints what is known before any output exists.
    let dry = run(argv(&["--dry-run"])).expect_code(0);
    assert!(
        cfn.describe_stacks()
            .stack_name(STACK)
            .send()
            .await
            .is_err(),
        "a dry run leaves no stack behind"
    );
    let names: Vec<String> = commands(&dry).iter().map(|c| c[3].clone()).collect();
    // The environment commands are known before any stack exists.
    assert_eq!(
        printed(&dry, "gh api "),
        environment_commands(),
        "{}",
        dry.stdout
    );
    assert_eq!(
        names,
        [
            "AWS_REGION",
            "STACK_NAME",
            "ECR_REPOSITORY",
            "HOSTED_ZONE_ID",
            "DOMAIN_NAME"
        ]
    );
    assert!(
        dry.stdout.contains(
            "#   AWS_DEPLOY_ROLE_ARN: output DeployRoleArn, known once the stack is deployed"
        ),
        "{}",
        dry.stdout
    );

    // The real thing: the stack is created through a change set.
    let created = run(argv(&["-y"])).expect_code(0);
    let outputs = outputs(&moto).await;
    assert_eq!(commands(&created), expected(&outputs), "{}", created.stdout);
    assert!(
        outputs["DeployRoleArn"].starts_with("arn:aws:iam::"),
        "{outputs:?}"
    );
    // The deploy's own report is on stderr; stdout is only the commands and comments.
    assert!(
        created.stderr.contains("AWS::IAM::Role")
            && created
                .stderr
                .contains("Deployed stack github-deploy: CREATE_COMPLETE"),
        "{}",
        created.stderr
    );
    assert!(
        created
            .stdout
            .lines()
            .all(|l| l.starts_with("gh variable set ")
                || l.starts_with("gh api --method ")
                || l.starts_with('#')),
        "{}",
        created.stdout
    );
    assert!(
        created
            .stdout
            .contains("#   COGNITO_DOMAIN_PREFIX: only you know it: pass --cognito-domain-prefix"),
        "{}",
        created.stdout
    );
    let events_after_create = cfn
        .describe_stack_events()
        .stack_name(STACK)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len();

    // The same flags again: nothing to change, nothing executed, the same commands.
    let again = run(argv(&["-y"])).expect_code(0);
    assert!(
        again
            .stderr
            .contains("No changes: stack github-deploy is up to date."),
        "{}",
        again.stderr
    );
    assert_eq!(commands(&again), expected(&outputs));
    let stacks = cfn
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stacks.stacks()[0].stack_status().map(|s| s.as_str()),
        Some("CREATE_COMPLETE"),
        "not updated"
    );
    let events = cfn
        .describe_stack_events()
        .stack_name(STACK)
        .send()
        .await
        .unwrap()
        .stack_events()
        .len();
    assert_eq!(
        events, events_after_create,
        "a no-op re-run executes nothing"
    );

    // --output json: the variables as one document, the commands with them.
    let json = run(argv(&[
        "-y",
        "--output",
        "json",
        "--cognito-domain-prefix",
        "web-login",
    ]))
    .expect_code(0)
    .json();
    assert_eq!(
        json["variables"]["AWS_DEPLOY_ROLE_ARN"],
        outputs["DeployRoleArn"]
    );
    assert_eq!(
        json["variables"]["CFN_ROLE_ARN"],
        outputs["CloudFormationRoleArn"]
    );
    assert_eq!(json["variables"]["COGNITO_DOMAIN_PREFIX"], "web-login");
    assert_eq!(json["variables"].as_object().unwrap().len(), 11);
    assert_eq!(json["to_fill"], serde_json::json!([]));
    assert_eq!(json["commands"].as_array().unwrap().len(), 11);
    assert_eq!(json["variables_set"], false);
    assert_eq!(
        json["github_ids"],
        serde_json::json!({"owner_id": OWNER_ID, "repo_id": REPO_ID})
    );
    assert_eq!(json["environment_commands"].as_array().unwrap().len(), 2);
    assert_eq!(json["environment_restricted"], false);
    assert_eq!(json["region"], REGION);
}

#[tokio::test]
async fn set_variables_runs_exactly_the_printed_commands_and_says_when_gh_cannot() {
    let moto = Moto::start();
    let bin = tempfile::tempdir().unwrap();
    fake_gh(bin.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // gh not logged in: nothing set, the commands printed, exit 1 with what to do.
    let refused = with_path(
        &moto,
        &bootstrap_args(&["-y", "--set-variables"]),
        &path,
        &[("FAKE_GH_AUTH_EXIT", "1")],
    )
    .expect_code(1);
    assert!(
        refused.stderr.contains("gh is not logged in")
            && refused
                .stderr
                .contains("You are not logged into any GitHub hosts")
            && refused.stderr.contains("gh auth login"),
        "{}",
        refused.stderr
    );
    let outputs = outputs(&moto).await;
    assert_eq!(commands(&refused), expected(&outputs));
    assert_eq!(gh_calls(bin.path()), [["auth", "status"]], "only asked");
    std::fs::remove_file(bin.path().join("gh.log")).unwrap();

    // Logged in: `gh auth status`, then exactly the printed commands, in order.
    let set = with_path(
        &moto,
        &bootstrap_args(&["-y", "--set-variables"]),
        &path,
        &[],
    )
    .expect_code(0);
    assert!(
        set.stderr
            .contains("Set 10 variables on octo-org/web-app with gh"),
        "{}",
        set.stderr
    );
    let mut wanted = vec![vec!["auth".to_owned(), "status".to_owned()]];
    wanted.extend(commands(&set).into_iter().map(|argv| argv[1..].to_vec()));
    wanted.extend(
        environment_commands()
            .into_iter()
            .map(|argv| argv[1..].to_vec()),
    );
    assert_eq!(gh_calls(bin.path()), wanted);
    assert!(
        set.stderr.contains(
            "Only main may deploy to the GitHub environment production (deployment branch policy set with gh)"
        ),
        "{}",
        set.stderr
    );
    assert_eq!(commands(&set), expected(&outputs));

    // gh refuses one variable: stop there, saying how many were set.
    std::fs::remove_file(bin.path().join("gh.log")).unwrap();
    let partial = with_path(
        &moto,
        &bootstrap_args(&["-y", "--set-variables"]),
        &path,
        &[("FAKE_GH_FAIL_ON", "CFN_ROLE_ARN")],
    )
    .expect_code(1);
    assert!(
        partial
            .stderr
            .contains("`gh variable set CFN_ROLE_ARN` failed")
            && partial
                .stderr
                .contains("HTTP 403: Resource not accessible by integration")
            && partial.stderr.contains("4 of 10 variables were set"),
        "{}",
        partial.stderr
    );
    assert_eq!(
        gh_calls(bin.path()).len(),
        1 + 5,
        "auth status, then up to the refused one (and no environment change)"
    );

    // No gh on PATH at all: the same, saying so.
    let empty = tempfile::tempdir().unwrap();
    let missing = with_path(
        &moto,
        &bootstrap_args(&["-y", "--set-variables", "--output", "json"]),
        empty.path().to_str().unwrap(),
        &[],
    )
    .expect_code(1);
    assert!(
        missing
            .stderr
            .contains("`gh` (the GitHub CLI) is not on PATH")
            && missing.stderr.contains("https://cli.github.com"),
        "{}",
        missing.stderr
    );
    let json = missing.json();
    assert_eq!(json["variables_set"], false);
    assert_eq!(json["commands"].as_array().unwrap().len(), 10);
}

/// The stack's GitHubOwnerId and GitHubRepoId parameters, from CloudFormation.
async fn deployed_ids(moto: &Moto) -> (String, String) {
    let stacks = moto
        .cloudformation()
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .unwrap();
    let value = |key: &str| {
        stacks.stacks()[0]
            .parameters()
            .iter()
            .find(|p| p.parameter_key() == Some(key))
            .and_then(|p| p.parameter_value())
            .unwrap_or_default()
            .to_owned()
    };
    (value("GitHubOwnerId"), value("GitHubRepoId"))
}

#[tokio::test]
async fn ids_come_from_gh_and_the_environment_is_restricted_to_main_or_a_warning_says_why_not() {
    let moto = Moto::start();
    let bin = tempfile::tempdir().unwrap();
    fake_gh(bin.path());
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // No ids given: gh looks them up first, and they reach the template.
    let set = with_path(
        &moto,
        &bootstrap_args_without_ids(&["-y", "--set-variables"]),
        &path,
        &[],
    )
    .expect_code(0);
    let calls = gh_calls(bin.path());
    assert_eq!(
        calls[0],
        [
            "api",
            "repos/octo-org/web-app",
            "--jq",
            ".owner.id, .id, .full_name"
        ]
    );
    assert_eq!(
        calls[calls.len() - 2..],
        environment_commands()
            .into_iter()
            .map(|argv| argv[1..].to_vec())
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(
        deployed_ids(&moto).await,
        (OWNER_ID.to_owned(), REPO_ID.to_owned())
    );
    assert!(!set.stderr.contains("warning:"), "{}", set.stderr);

    // GitHub refuses the environment setting: a loud warning naming what and why, exit 0.
    std::fs::remove_file(bin.path().join("gh.log")).unwrap();
    let refused = with_path(
        &moto,
        &bootstrap_args(&["-y", "--set-variables", "--output", "json"]),
        &path,
        &[("FAKE_GH_ENV_FAIL", "1")],
    )
    .expect_code(0);
    assert!(
        refused.stderr.contains(
            "warning: could not restrict the GitHub environment production to the branch main"
        ) && refused
            .stderr
            .contains("HTTP 422: Deployment branch policies are not available")
            && refused
                .stderr
                .contains("The deploy role still trusts only deploy.yml on main")
            && refused.stderr.contains("Selected branches, add main"),
        "{}",
        refused.stderr
    );
    let json = refused.json();
    assert_eq!(json["variables_set"], true);
    assert_eq!(json["environment_restricted"], false);
    assert!(
        json["environment_warning"]
            .as_str()
            .unwrap()
            .contains("HTTP 422"),
        "{json}"
    );
    assert!(
        !gh_calls(bin.path())
            .iter()
            .any(|c| c[0] == "api" && c[2] == "--jq"),
        "with the id flags, gh is not asked for them"
    );

    // GitHub spells the repository otherwise: the trust would never match, so refuse.
    let renamed = with_path(
        &moto,
        &bootstrap_args_without_ids(&["-y"]),
        &path,
        &[("FAKE_GH_NAME", "Octo-Org/web-app")],
    )
    .expect_code(64);
    assert!(
        renamed
            .stderr
            .contains("GitHub spells the repository Octo-Org/web-app, not octo-org/web-app")
            && renamed.stderr.contains("--github-repo Octo-Org/web-app"),
        "{}",
        renamed.stderr
    );

    // No gh and no ids: stop before any AWS call, naming the flags.
    let empty = tempfile::tempdir().unwrap();
    let missing = with_path(
        &moto,
        &bootstrap_args_without_ids(&["-y"]),
        empty.path().to_str().unwrap(),
        &[],
    )
    .expect_code(64);
    assert!(
        missing
            .stderr
            .contains("`gh` (the GitHub CLI) is not on PATH to look them up")
            && missing
                .stderr
                .contains("pass --github-owner-id and --github-repo-id"),
        "{}",
        missing.stderr
    );
}
