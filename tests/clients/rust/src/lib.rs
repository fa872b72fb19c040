//! Runs a real `orgtwin up` for tests written with the AWS SDK for Rust.
//!
//! [`Twin::start`] starts a twin on a fresh temporary state directory, on
//! 127.0.0.1 with a port the kernel picks (port 0; [`Twin::restart`] reuses
//! it), with `--test-clock`, in a process group of its own, and returns once
//! `GET /_orgtwin/health` answers 200. Dropping the [`Twin`] (also while a
//! failed test unwinds) ends the whole process group and removes the state.
//!
//! Environment: `ORGTWIN_BIN` (default: the repository's
//! `target/debug/orgtwin`) and `ORGTWIN_CREDENTIAL_PROCESS_BIN` (default:
//! `eks-credential-process` next to it).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_sts::config::Credentials;
use aws_sdk_sts::types::Credentials as StsCredentials;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

pub const REGION: &str = "us-east-1";
pub const MANAGEMENT_ACCOUNT: &str = "999988887777";

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The `orgtwin` binary the tests run.
pub fn orgtwin_bin() -> PathBuf {
    std::env::var_os("ORGTWIN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/debug/orgtwin"))
}

/// The `eks-credential-process` binary the pod tests name in AWS config
/// files.
pub fn credential_process_bin() -> PathBuf {
    std::env::var_os("ORGTWIN_CREDENTIAL_PROCESS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| orgtwin_bin().with_file_name("eks-credential-process"))
}

/// The guardrail fixture organization (tests/clients/fixtures/org).
pub fn fixture_org() -> PathBuf {
    repo().join("tests/clients/fixtures/org/org.yaml")
}

/// One running `orgtwin up` and its state directory.
pub struct Twin {
    pub endpoint: String,
    pub port: u16,
    model: Option<PathBuf>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Twin {
    /// Starts a twin of `model`, or of the embedded example organization.
    pub fn start(model: Option<&Path>) -> Twin {
        let bin = orgtwin_bin();
        assert!(
            bin.is_file(),
            "no orgtwin binary at {}; run `cargo build -p orgtwin` or set ORGTWIN_BIN",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("orgtwin-rust-")
            .tempdir()
            .expect("a temporary directory");
        let mut twin = Twin {
            endpoint: String::new(),
            port: 0,
            model: model.map(Path::to_path_buf),
            dir,
            child: None,
        };
        twin.spawn();
        twin
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("orgtwin.log")
    }

    fn spawn(&mut self) {
        use std::os::unix::process::CommandExt;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("the twin's log file");
        let mut command = Command::new(orgtwin_bin());
        command
            .arg("up")
            .arg("--state")
            .arg(self.state())
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--test-clock")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .process_group(0);
        if let Some(model) = &self.model {
            command.arg("--model").arg(model);
        }
        let mut child = command.spawn().expect("orgtwin starts");
        let stdout = child.stdout.take().expect("a stdout pipe");
        self.child = Some(child);

        // A reader thread keeps draining stdout, so the pipe never fills.
        let (lines, ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let prefix = "orgtwin serving on ";
        let endpoint = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match ready.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                    }
                }
                Err(_) => panic!("orgtwin did not report ready in time\n{}", self.log_tail()),
            }
        };
        let port = endpoint
            .strip_prefix("http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("orgtwin serves on {endpoint}, not on 127.0.0.1"));
        self.endpoint = endpoint;
        self.port = port;
        loop {
            if let Ok((200, _)) = self.http("GET", "/_orgtwin/health") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/_orgtwin/health never answered 200\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the process group: SIGINT (clean shutdown), then SIGKILL.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = Pid::from_raw(child.id() as i32);
        if killpg(group, Signal::SIGINT).is_ok() {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }

    /// Stops the twin and starts it again on the same state and port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A plain HTTP/1.1 request to the twin's own endpoints.
    fn http(&self, method: &str, path: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
        Ok((status, body.unwrap_or_default()))
    }

    /// Moves the twin's clock by `seconds`; returns its answer (JSON).
    pub fn advance_clock(&self, seconds: i64) -> String {
        let (status, body) = self
            .http("POST", &format!("/_orgtwin/clock?advance={seconds}"))
            .expect("the clock endpoint answers");
        assert_eq!(status, 200, "moving the clock failed: {body}");
        body
    }

    /// What `orgtwin env` exports for an account's administrator (the
    /// management account's when neither is given) or a modelled user.
    pub fn env(&self, account: Option<&str>, user: Option<&str>) -> HashMap<String, String> {
        let mut command = Command::new(orgtwin_bin());
        command.arg("env").arg("--state").arg(self.state());
        match (account, user) {
            (None, None) => {
                command.args(["--account", MANAGEMENT_ACCOUNT]);
            }
            (account, user) => {
                if let Some(account) = account {
                    command.args(["--account", account]);
                }
                if let Some(user) = user {
                    command.args(["--user", user]);
                }
            }
        }
        let output = command.output().expect("orgtwin env runs");
        assert!(
            output.status.success(),
            "orgtwin env failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// An STS client with the long-term keys of [`Twin::env`], configured
    /// through aws-config with `endpoint_url`.
    pub async fn client(&self, account: Option<&str>, user: Option<&str>) -> aws_sdk_sts::Client {
        let env = self.env(account, user);
        self.client_with(Credentials::new(
            &env["AWS_ACCESS_KEY_ID"],
            &env["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "orgtwin-env",
        ))
        .await
    }

    /// An STS client with temporary credentials as STS returned them.
    pub async fn session_client(&self, creds: &StsCredentials) -> aws_sdk_sts::Client {
        self.client_with(Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "orgtwin-session",
        ))
        .await
    }

    async fn client_with(&self, credentials: Credentials) -> aws_sdk_sts::Client {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        aws_sdk_sts::Client::new(&config)
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        self.stop();
    }
}
