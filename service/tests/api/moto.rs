//! A local AWS for the Cognito tests: the project's moto launcher on a free loopback
//! port (as deployer/tests/cli/helpers.rs starts it), and an SDK client aimed at it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Credentials, Region};

/// The region the tests create their user pools in.
pub const REGION: &str = "us-east-1";
/// Credentials moto accepts (it checks none); the service gets the same through env.
pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "test";

/// `tools/moto/launcher.py --port 0`, stopped when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("service/ has a parent")
        .to_path_buf()
}

impl Moto {
    /// Starts the launcher and waits for its `READY <url>` line.
    pub fn start() -> Self {
        let root = root();
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/deps.sh",
            python.display()
        );
        let mut child = Command::new(&python)
            .arg(root.join("tools/moto/launcher.py"))
            .args(["--port", "0"])
            .current_dir(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/deps.sh",
                    python.display()
                )
            });
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("reading the launcher's READY line");
        let Some(endpoint) = line.trim().strip_prefix("READY ").map(str::to_owned) else {
            let _ = child.kill();
            panic!("moto launcher did not print READY (got {line:?}); run scripts/deps.sh");
        };
        Self { child, endpoint }
    }

    /// A Cognito client for setting up pools and checking tokens.
    pub fn cognito(&self) -> aws_sdk_cognitoidentityprovider::Client {
        let config = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "tests",
            ))
            .build();
        aws_sdk_cognitoidentityprovider::Client::from_conf(config)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
