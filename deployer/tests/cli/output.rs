//! The output layer seen from outside: a closed stdout is a clean exit, colour follows
//! `--color`, `NO_COLOR` and `CLICOLOR_FORCE`, and the global flags work before or after
//! the subcommand.

use std::process::{Command, Stdio};

use crate::helpers::{Moto, Run, closed_port_endpoint, deployer_at, fixture};

/// Runs `command` with stdout a pipe whose reading end is already closed, as in
/// `deployer status | head -0`: every write to stdout fails with EPIPE.
fn with_closed_stdout(mut command: Command) -> Run {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = command
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("running deployer");
    Run::from(out)
}

fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && !run.stderr.contains("Broken pipe"),
        "{}",
        run.stderr
    );
}

/// Bytes of both streams, to look for escape codes.
fn escapes(run: &Run) -> bool {
    run.stdout.contains("\x1b[") || run.stderr.contains("\x1b[")
}

#[test]
fn a_closed_stdout_ends_status_and_deploy_cleanly() {
    let moto = Moto::start();
    let template = fixture("topic.yaml");
    let t = template.to_str().unwrap();
    let deploy = [
        "deploy",
        "--stack-name",
        "pipe",
        "--template",
        t,
        "--parameter",
        "Greeting=Hi",
    ];

    // `deploy --output json | true`: the deploy itself goes through.
    let mut args = deploy.to_vec();
    args.extend(["--output", "json"]);
    let run = with_closed_stdout(moto.deployer(&args));
    assert_no_panic(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("Creating change set"),
        "progress still shown: {}",
        run.stderr
    );

    // Text output (change table, outputs, verdict) into a closed pipe.
    let mut args = deploy.to_vec();
    args[6] = "Greeting=Bye";
    let run = with_closed_stdout(moto.deployer(&args));
    assert_no_panic(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // `deployer status STACK | head -1`, text and JSON.
    for extra in [&[][..], &["--output", "json"][..]] {
        let mut args = vec!["status", "--stack-name", "pipe"];
        args.extend(extra);
        let run = with_closed_stdout(moto.deployer(&args));
        assert_no_panic(&run);
        assert_eq!(run.code, 0, "{extra:?}: {}", run.stderr);
    }
    let stack = moto.run(&["status", "--stack-name", "pipe"]).expect_code(0);
    assert!(
        stack.stdout.contains("UPDATE_COMPLETE"),
        "the second deploy was executed: {}",
        stack.stdout
    );
}

#[test]
fn colour_follows_the_flag_then_no_color_then_clicolor_force() {
    // Bad input (exit 64, no AWS call): the `error:` prefix is the coloured part.
    let bad = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "deploy",
            "--stack-name",
            "no_underscores",
            "--template",
            "x.yaml",
        ];
        args.extend(extra);
        let mut cmd = deployer_at(&closed_port_endpoint(), &args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("running deployer")).expect_code(64)
    };
    // Into a pipe, auto means no colour.
    assert!(!escapes(&bad(&[], &[])));
    // CLICOLOR_FORCE asks for colour even into a pipe; so does --color always.
    let forced = bad(&[], &[("CLICOLOR_FORCE", "1")]);
    assert!(forced.stderr.contains("\x1b["), "{:?}", forced.stderr);
    assert!(bad(&["--color", "always"], &[]).stderr.contains("\x1b["));
    // NO_COLOR wins over CLICOLOR_FORCE; --color never wins over both.
    let no_color = bad(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!escapes(&no_color), "{:?}", no_color.stderr);
    assert!(
        no_color.stderr.starts_with("error: "),
        "{}",
        no_color.stderr
    );
    assert!(!escapes(&bad(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn a_whole_deploy_has_no_escape_codes_with_no_color_or_color_never() {
    let moto = Moto::start();
    let template = fixture("topic.yaml");
    let t = template.to_str().unwrap();
    let deploy = |stack: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "deploy",
            "--stack-name",
            stack,
            "--template",
            t,
            "--parameter",
            "Greeting=Hi",
        ];
        args.extend(extra);
        let mut cmd = moto.deployer(&args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("running deployer")).expect_code(0)
    };
    // Forced colour paints the event statuses and the verdict: the check below can fail.
    let coloured = deploy("painted", &["--color", "always"], &[]);
    assert!(
        coloured.stderr.contains("\x1b[32mCREATE_COMPLETE"),
        "{}",
        coloured.stderr
    );
    assert!(
        coloured.stdout.contains("\x1b[32mDeployed stack"),
        "{}",
        coloured.stdout
    );
    let run = deploy("plain1", &[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!escapes(&run), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("CREATE_COMPLETE"), "{}", run.stderr);
    let run = deploy("plain2", &["--color", "never"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!escapes(&run), "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn global_flags_go_before_or_after_the_subcommand() {
    let moto = Moto::start();
    let template = fixture("topic.yaml");
    let t = template.to_str().unwrap();
    // -q: results only; the progress lines are gone.
    let run = moto
        .run(&[
            "-q",
            "deploy",
            "--stack-name",
            "flags",
            "--template",
            t,
            "--parameter",
            "Greeting=Hi",
        ])
        .expect_code(0);
    assert!(
        run.stdout.contains("Deployed stack flags: CREATE_COMPLETE"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stderr.contains("Creating change set"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("CREATE_IN_PROGRESS"), "{}", run.stderr);
    // --output before the subcommand, as well as after it (the old place).
    for args in [
        &["--output", "json", "status", "--stack-name", "flags"][..],
        &["status", "--stack-name", "flags", "--output", "json"][..],
    ] {
        let status = moto.run(args).expect_code(0).json();
        assert_eq!(status["status"], "CREATE_COMPLETE", "{args:?}");
    }
    // -v: the AWS SDK's own log on stderr; without it, none.
    let quiet = moto
        .run(&["status", "--stack-name", "flags"])
        .expect_code(0);
    assert!(!quiet.stderr.contains("aws_"), "{}", quiet.stderr);
    let verbose = moto
        .run(&["-vv", "status", "--stack-name", "flags"])
        .expect_code(0);
    assert!(
        verbose.stderr.contains("aws_smithy_runtime"),
        "{}",
        verbose.stderr
    );
    // -q and -v contradict each other: bad usage.
    moto.run(&["-q", "-v", "status", "--stack-name", "flags"])
        .expect_code(64);
}
