//! A fake agent on a loopback socket, token files, and a way to run the built
//! binary with nothing but the environment a test gives it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.pod-identity-token.signature";
pub const ACCESS_KEY_ID: &str = "ASIAQEXAMPLEEXAMPLE1";
pub const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN==";
pub const EXPIRATION: &str = "2025-03-01T18:34:56.123456789Z";

/// The agent's success body, as the real agent writes it.
pub fn agent_body() -> String {
    format!(
        r#"{{"AccessKeyId":"{ACCESS_KEY_ID}","SecretAccessKey":"{SECRET_ACCESS_KEY}","Token":"{SESSION_TOKEN}","AccountId":"111122223333","Expiration":"{EXPIRATION}"}}"#
    )
}

/// The exact stdout of a successful run.
pub fn expected_output() -> String {
    format!(
        r#"{{"Version":1,"AccessKeyId":"{ACCESS_KEY_ID}","SecretAccessKey":"{SECRET_ACCESS_KEY}","SessionToken":"{SESSION_TOKEN}","Expiration":"{EXPIRATION}"}}"#
    ) + "\n"
}

/// A response with `Content-Length`, as Go's net/http sends a small body.
pub fn with_length(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

pub fn ok_json(body: &str) -> Vec<u8> {
    with_length("200 OK", "application/json", body)
}

pub fn plain(status: &str, message: &str) -> Vec<u8> {
    with_length(status, "text/plain; charset=utf-8", message)
}

/// A chunked response, the body cut into `pieces` chunks of about equal size.
pub fn chunked(status: &str, body: &str, pieces: usize) -> Vec<u8> {
    let mut raw = format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    let size = body.len().div_ceil(pieces);
    for chunk in body.as_bytes().chunks(size) {
        raw.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
        raw.extend(chunk);
        raw.extend(b"\r\n");
    }
    raw.extend(b"0\r\n\r\n");
    raw
}

/// What the fake agent does with one connection.
pub enum Act {
    /// Send these bytes and close.
    Reply(Vec<u8>),
    /// Send these bytes and keep the connection open until the client closes.
    ReplyAndKeepOpen(Vec<u8>),
    /// Read the request, answer nothing, and wait for the client to give up.
    Hang,
}

/// A fake agent: answers one connection per act, in order, then accepts no
/// more. Records the head of every request it got.
pub struct FakeAgent {
    pub address: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeAgent {
    pub fn start(acts: Vec<Act>) -> FakeAgent {
        FakeAgent::start_on("127.0.0.1:0", acts)
    }

    pub fn start_on(bind: &str, acts: Vec<Act>) -> FakeAgent {
        let listener = TcpListener::bind(bind).unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&requests);
        thread::spawn(move || {
            for act in acts {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let record = Arc::clone(&record);
                thread::spawn(move || serve(stream, act, &record));
            }
        });
        FakeAgent { address, requests }
    }

    pub fn uri(&self) -> String {
        format!("http://{}/v1/credentials", self.address)
    }

    /// The requests received so far. A request is recorded before it is
    /// answered, so after a run that got answers every request is in.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// The requests received, once there are `count` of them or 10 s have
    /// passed: for requests that were never answered, whose recording may
    /// trail the client's giving up.
    pub fn wait_for_requests(&self, count: usize) -> Vec<String> {
        let limit = Instant::now() + Duration::from_secs(10);
        while self.requests().len() < count && Instant::now() < limit {
            thread::sleep(Duration::from_millis(10));
        }
        self.requests()
    }
}

fn serve(mut stream: TcpStream, act: Act, record: &Mutex<Vec<String>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    record
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    match act {
        Act::Reply(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.shutdown(Shutdown::Write);
        }
        Act::ReplyAndKeepOpen(bytes) => {
            let _ = stream.write_all(&bytes);
            drain_until_closed(&mut stream);
        }
        Act::Hang => drain_until_closed(&mut stream),
    }
}

fn drain_until_closed(stream: &mut TcpStream) {
    let mut sink = [0_u8; 256];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

/// The value of header `name` in a recorded request head.
pub fn header<'a>(request: &'a str, name: &str) -> Option<&'a str> {
    request.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// A directory of its own for one test's files.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("credential-process")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A token file holding `content`, as the kubelet would mount it.
pub fn token_file(test: &str, content: &str) -> PathBuf {
    let path = scratch(test).join("eks-pod-identity-token");
    std::fs::write(&path, content).unwrap();
    path
}

/// What a run of the binary left behind.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Asserts a failed run: the exit code, nothing on stdout, one prefixed
    /// line on stderr; returns that line without the prefix.
    pub fn failure_line(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{self:?}"));
        assert!(!line.contains('\n'), "more than one line: {self:?}");
        for secret in [TOKEN, SECRET_ACCESS_KEY, SESSION_TOKEN] {
            assert!(
                !self.stderr.contains(secret),
                "a secret on stderr: {self:?}"
            );
        }
        line.strip_prefix("eks-credential-process: ")
            .unwrap_or_else(|| panic!("{self:?}"))
    }
}

/// Runs the binary with exactly `env` as its environment.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eks-credential-process"));
    command.env_clear().envs(env.iter().copied()).args(args);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A guard, not an assertion on timing: a hung binary fails the test
    // instead of hanging the suite.
    let limit = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > limit {
            let _ = child.kill();
            panic!("eks-credential-process did not finish");
        }
        thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    Ran {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs the binary against `agent` with a token file holding [`TOKEN`].
pub fn run_against(test: &str, agent: &FakeAgent, args: &[&str]) -> Ran {
    let token = token_file(test, &format!("{TOKEN}\n"));
    let uri = agent.uri();
    let token = token.to_str().unwrap();
    run(
        args,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token),
        ],
    )
}
