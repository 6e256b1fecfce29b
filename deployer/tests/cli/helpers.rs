//! Shared test helpers: a local moto (the project's launcher) per test, the real
//! `deployer` binary pointed at it, and a CloudFormation client to check what it did.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deployer/ has a parent")
        .to_path_buf()
}

/// A fixture file under `deployer/tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The region the tests deploy to.
pub const REGION: &str = "us-east-1";

/// A moto server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts `tools/moto/launcher.py --port 0` and waits for its READY line.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Like [`Moto::start`], with extra environment variables for the server (e.g.
    /// moto's request recorder: `MOTO_ENABLE_RECORDING`, `MOTO_RECORDER_FILEPATH`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let root = root();
        let python = root.join(".venv/bin/python");
        let launcher = root.join("tools/moto/launcher.py");
        assert!(
            python.exists(),
            "{} is missing: run scripts/deps.sh",
            python.display()
        );
        assert!(
            launcher.exists(),
            "{} is missing: the moto launcher is part of the repository",
            launcher.display()
        );
        let mut child = Command::new(&python)
            .arg(&launcher)
            .args(["--port", "0"])
            .envs(env.iter().copied())
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
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading the launcher's READY line");
        let endpoint = match line.trim().strip_prefix("READY ") {
            Some(url) => url.to_owned(),
            None => {
                let _ = child.kill();
                panic!(
                    "moto launcher did not print READY (got {line:?}); run scripts/deps.sh and check tools/moto/launcher.py"
                );
            }
        };
        Self { child, endpoint }
    }

    /// A `deployer` command aimed at this moto, as CI would run it.
    pub fn deployer(&self, args: &[&str]) -> Command {
        deployer_at(&self.endpoint, args)
    }

    /// Runs `deployer` and returns its output.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.deployer(args).output().expect("running deployer"))
    }

    /// A CloudFormation client for assertions.
    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        let config = aws_sdk_cloudformation::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .build();
        aws_sdk_cloudformation::Client::from_conf(config)
    }

    /// Runs a snippet of boto3 against this moto (for services the deployer has no client for).
    pub fn boto3(&self, code: &str) -> String {
        let out = Command::new(root().join(".venv/bin/python"))
            .args(["-c", code])
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .expect("running python");
        assert!(
            out.status.success(),
            "boto3 snippet failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Moto {
    /// Puts an image (a small manifest, its digest different per repository and `seed`) into ECR repository
    /// `repository`, creating it when needed, and returns its digest-pinned URI: what
    /// `--image SERVICE=URI` deploys as it is and `apply` finds in its repository.
    pub fn ecr_image(&self, repository: &str, seed: &str) -> String {
        self.boto3(&format!(
            r#"
import boto3, hashlib, json
ecr = boto3.client("ecr")
# moto names an image by its layers' digests.
layer = {{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1,
         "digest": "sha256:" + hashlib.sha256(b"{repository}/{seed}").hexdigest()}}
try:
    uri = ecr.create_repository(repositoryName="{repository}")["repository"]["repositoryUri"]
except ecr.exceptions.RepositoryAlreadyExistsException:
    uri = ecr.describe_repositories(repositoryNames=["{repository}"])["repositories"][0]["repositoryUri"]
manifest = json.dumps({{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {{"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:" + "0" * 64, "size": 2}},
                       "layers": [layer]}})
digest = ecr.put_image(repositoryName="{repository}", imageManifest=manifest,
                       imageTag="{seed}")["image"]["imageId"]["imageDigest"]
print(f"{{uri}}@{{digest}}")
"#
        ))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `deployer` command with a clean AWS environment aimed at `endpoint`.
pub fn deployer_at(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
    cmd.args(args)
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("CI", "true")
        .stdin(Stdio::null());
    cmd
}

/// A finished `deployer` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs a command off the async runtime (a test that also runs servers on it must not
/// block it while the deployer talks to them).
pub async fn run(mut command: Command) -> Run {
    tokio::task::spawn_blocking(move || Run::from(command.output().expect("running deployer")))
        .await
        .expect("the blocking task ran")
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let port = listener.local_addr().expect("local addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A moto for ECR and a Debian docker-registry behind the counting, fault-injecting
/// proxy: what every `push` test stands on. Each test module adds its own methods.
pub struct PushStack {
    pub moto: Moto,
    _registry: oci_push::test_support::TestRegistry,
    pub proxy: oci_push::test_support::Proxy,
}

impl PushStack {
    pub async fn start() -> Self {
        let moto = Moto::start();
        let registry = oci_push::test_support::TestRegistry::start()
            .await
            .expect("starting docker-registry");
        let proxy = oci_push::test_support::Proxy::start(&registry.url)
            .await
            .expect("starting the proxy");
        Self {
            moto,
            _registry: registry,
            proxy,
        }
    }

    /// A client of the registry, through the proxy.
    pub fn registry(&self) -> oci_push::Registry {
        oci_push::Registry::new(&self.proxy.url, None).unwrap()
    }

    /// An ECR client of the moto.
    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        ecr_client(&self.moto)
    }
}

/// An ECR client for `moto`.
pub fn ecr_client(moto: &Moto) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
        .region(aws_sdk_ecr::config::Region::new(REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}
