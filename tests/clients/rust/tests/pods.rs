//! Applications written with the AWS SDK for Rust, unmodified, run as EKS
//! pods with `orgtwin run --pod`: `pod-app` (src/bin) loads the default
//! credential chain, asks STS who it is and reads the payroll bucket, with
//! the pod spec's environment and what the EKS webhooks inject.
//!
//! The guide's setup in the embedded example organization: the payroll pods
//! of ProductionCluster get account-a-role through Pod Identity and chain
//! into account-b-role in payroll-prod, whose trust checks the session tags
//! (cluster ARN, namespace, service account). The same service account name
//! in OtherNamespace and in StagingCluster gets account-a-role too and must
//! be refused at the chained hop.
//!
//! The endpoint tests put a recorder in place of STS with the pod spec's
//! `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_STS`, to see where aws-config's
//! web identity provider and the profile chain's `AssumeRole` send their
//! calls. The machine has no route to AWS: a call that went anywhere but
//! the twin or the recorder fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use orgtwin_client_tests::{Twin, credential_process_bin, orgtwin_bin};
use serde_json::Value;

const PAYROLL: &str = "ProductionCluster/PayrollNamespace/PayrollApplication";
const REPORTS: &str = "ProductionCluster/PayrollNamespace/payroll-reports";
const IRSA: &str = "ProductionCluster/PayrollNamespace/payroll-irsa";
const OTHER_NAMESPACE: &str = "ProductionCluster/OtherNamespace/PayrollApplication";
const STAGING: &str = "StagingCluster/PayrollNamespace/PayrollApplication";

const PAYROLL_PROD: &str = "444455556666";
const ACCOUNT_B_ROLE: &str = "arn:aws:iam::444455556666:role/account-b-role";
const IRSA_ROLE: &str = "arn:aws:iam::444455556666:role/payroll-irsa-role";
const REPORT: &str = "payroll-data-444455556666/reports/2026-11-summary.csv";
const ROSTER: &str = "payroll-data-444455556666/employees/roster.csv";

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The guide's credential_process script, unchanged.
const GUIDE_SCRIPT: &str = r#"#!/bin/bash
# Content of the eks-credential-processrole.sh
# This will retreive the credential from the pod identities agent,
# and return it to the AWS SDK when referenced in a profile
curl -H "Authorization: $(cat $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)" $AWS_CONTAINER_CREDENTIALS_FULL_URI | jq -c '{AccessKeyId: .AccessKeyId, SecretAccessKey: .SecretAccessKey, SessionToken: .Token, Expiration: .Expiration, Version: 1}'
"#;

/// How the pod's `account_b_role` profile gets account-a-role's credentials.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// `credential_process` = the guide's curl-and-jq script.
    GuideScript,
    /// `credential_process` = eks-credential-process.
    Helper,
    /// `credential_source = EcsContainer`, no script.
    EcsContainer,
}

/// The AWS config file of the guide's pod, in a directory of its own.
struct GuideConfig {
    dir: tempfile::TempDir,
}

impl GuideConfig {
    fn new(source: Source) -> GuideConfig {
        let dir = tempfile::Builder::new()
            .prefix("orgtwin-pod-")
            .tempdir()
            .expect("a temporary directory");
        let profile_b = format!("[profile account_b_role]\nrole_arn = {ACCOUNT_B_ROLE}\n");
        let config = match source {
            Source::GuideScript => {
                for tool in ["bash", "curl", "jq"] {
                    assert!(on_path(tool), "`{tool}` is required by the guide's script");
                }
                let script = dir.path().join("eks-credential-processrole.sh");
                std::fs::write(&script, GUIDE_SCRIPT).expect("the guide's script");
                std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod 755");
                guide_profiles(&profile_b, &script)
            }
            Source::Helper => {
                let helper = credential_process_bin();
                assert!(
                    helper.is_file(),
                    "no eks-credential-process at {}; run `cargo build -p eks-credential-process` \
                     or set ORGTWIN_CREDENTIAL_PROCESS_BIN",
                    helper.display()
                );
                guide_profiles(&profile_b, &helper)
            }
            Source::EcsContainer => format!("{profile_b}credential_source = EcsContainer\n"),
        };
        std::fs::write(dir.path().join("config"), config).expect("the AWS config file");
        GuideConfig { dir }
    }

    /// The guide's pod spec: `AWS_CONFIG_FILE` and `AWS_PROFILE`.
    fn pod_env(&self) -> Vec<(String, String)> {
        let config = self.dir.path().join("config");
        vec![
            ("AWS_CONFIG_FILE".into(), config.display().to_string()),
            ("AWS_PROFILE".into(), "account_b_role".into()),
        ]
    }
}

fn guide_profiles(profile_b: &str, process: &Path) -> String {
    format!(
        "# Content of the AWS Config file\n{profile_b}source_profile = account_a_role\n\n\
         [profile account_a_role]\ncredential_process = {}\n",
        process.display()
    )
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Runs `pod-app OBJECTS...` as `pod` with the pod spec's `env`, and returns
/// the JSON line it printed.
fn run_app(twin: &Twin, pod: &str, env: &[(String, String)], objects: &[&str]) -> Value {
    let mut command = Command::new(orgtwin_bin());
    command
        .args(["run", "--pod", pod, "--state"])
        .arg(twin.state())
        .args(["--endpoint", &twin.endpoint]);
    for (name, value) in env {
        command.arg("--env").arg(format!("{name}={value}"));
    }
    command
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_pod-app"))
        .args(objects);
    let (status, stdout, stderr) = run_bounded(command);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("pod-app printed no JSON line ({e}), exit {status:?}\n{stdout}\n{stderr}")
    })
}

/// Runs `command` in a process group of its own; kills the group if it
/// outlives [`RUN_TIMEOUT`]. Returns the exit code, stdout and stderr.
fn run_bounded(mut command: Command) -> (Option<i32>, String, String) {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().expect("orgtwin run starts");
    let (sender, outputs) = mpsc::channel();
    let pipes: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().expect("a stdout pipe")),
        Box::new(child.stderr.take().expect("a stderr pipe")),
    ];
    for (index, mut pipe) in pipes.into_iter().enumerate() {
        let sender = sender.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let _ = sender.send((index, text));
        });
    }
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("orgtwin run can be waited for") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            panic!("`orgtwin run` did not finish within {RUN_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut texts = [String::new(), String::new()];
    for _ in 0..2 {
        let (index, text) = outputs
            .recv_timeout(Duration::from_secs(10))
            .expect("the pod's output pipes close once it has exited");
        texts[index] = text;
    }
    let [stdout, stderr] = texts;
    (status.code(), stdout, stderr)
}

fn arn(result: &Value) -> &str {
    result["arn"]
        .as_str()
        .unwrap_or_else(|| panic!("no ARN in {result}"))
}

fn body<'a>(result: &'a Value, object: &str) -> &'a str {
    result["objects"][object]["body"]
        .as_str()
        .unwrap_or_else(|| panic!("`{object}` was not read: {result}"))
}

fn assert_reaches_account_b_role_and_the_bucket(source: Source) {
    let twin = Twin::start(None);
    let config = GuideConfig::new(source);
    let result = run_app(&twin, PAYROLL, &config.pod_env(), &[REPORT]);
    assert!(
        arn(&result).starts_with("arn:aws:sts::444455556666:assumed-role/account-b-role/"),
        "{result}"
    );
    assert_eq!(result["account"], PAYROLL_PROD);
    assert!(body(&result, REPORT).starts_with("department,"), "{result}");
}

#[test]
fn the_guide_s_chain_with_its_curl_and_jq_script_reaches_account_b_role_and_the_bucket() {
    assert_reaches_account_b_role_and_the_bucket(Source::GuideScript);
}

#[test]
fn the_guide_s_chain_with_eks_credential_process_reaches_account_b_role_and_the_bucket() {
    assert_reaches_account_b_role_and_the_bucket(Source::Helper);
}

#[test]
fn the_guide_s_chain_with_credential_source_ecs_container_reaches_account_b_role() {
    assert_reaches_account_b_role_and_the_bucket(Source::EcsContainer);
}

#[test]
fn the_native_target_role_is_the_pod_s_default_identity() {
    let twin = Twin::start(None);
    let result = run_app(&twin, REPORTS, &[], &[REPORT, ROSTER]);
    assert!(
        arn(&result).starts_with(
            "arn:aws:sts::444455556666:assumed-role/payroll-reports-role/eks-ProductionCluster-"
        ),
        "{result}"
    );
    assert!(body(&result, REPORT).starts_with("department,"), "{result}");
    assert_eq!(
        result["objects"][ROSTER]["error"]["code"], "AccessDenied",
        "{result}"
    );
}

#[test]
fn cross_account_irsa_reaches_payroll_irsa_role_and_the_bucket() {
    let twin = Twin::start(None);
    let result = run_app(&twin, IRSA, &[], &[REPORT]);
    assert!(
        arn(&result).starts_with("arn:aws:sts::444455556666:assumed-role/payroll-irsa-role/"),
        "{result}"
    );
    assert!(body(&result, REPORT).starts_with("department,"), "{result}");
}

async fn assert_refused_at_the_chained_hop(pod: &str) {
    let twin = Twin::start(None);
    let config = GuideConfig::new(Source::Helper);
    let result = run_app(&twin, pod, &config.pod_env(), &[REPORT]);
    let error = &result["error"];
    assert_eq!(error["code"], "AccessDenied", "{result}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(ACCOUNT_B_ROLE), "{result}");
    assert!(
        message.contains(":assumed-role/account-a-role/"),
        "the caller is the pod's Pod Identity session: {result}"
    );
    let encoded = message
        .split("Encoded authorization failure message: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no encoded authorization message in {message}"));
    let decoded = twin
        .client(Some(PAYROLL_PROD), None)
        .await
        .decode_authorization_message()
        .encoded_message(encoded)
        .send()
        .await
        .expect("DecodeAuthorizationMessage");
    let decoded = decoded.decoded_message().unwrap_or_default();
    assert!(decoded.contains("account-b-role trust policy"), "{decoded}");
}

#[tokio::test]
async fn the_same_service_account_in_another_namespace_is_refused_account_b_role() {
    assert_refused_at_the_chained_hop(OTHER_NAMESPACE).await;
}

#[tokio::test]
async fn the_same_service_account_in_the_staging_cluster_is_refused_account_b_role() {
    assert_refused_at_the_chained_hop(STAGING).await;
}

/// A stand-in STS endpoint on 127.0.0.1: it writes down each request's
/// form parameters and refuses it with the error code `NotTheTwin`.
struct Recorder {
    url: String,
    requests: Arc<Mutex<Vec<Vec<(String, String)>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const NOT_THE_TWIN: &str = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
    <Error><Type>Sender</Type><Code>NotTheTwin</Code>\
    <Message>this endpoint only records requests</Message></Error>\
    <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the recorder");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (requests, stop) = (requests.clone(), stop.clone());
            move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some(form) = refuse(stream) {
                                requests.lock().expect("the recorder's list").push(form);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
        });
        Recorder {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The `Action` and `RoleArn` of each request it received.
    fn calls(&self) -> Vec<(String, String)> {
        let requests = self.requests.lock().expect("the recorder's list");
        let param = |form: &[(String, String)], name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        requests
            .iter()
            .map(|form| (param(form, "Action"), param(form, "RoleArn")))
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request's form body and answers it with `NotTheTwin`.
fn refuse(stream: TcpStream) -> Option<Vec<(String, String)>> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{NOT_THE_TWIN}",
        NOT_THE_TWIN.len()
    );
    let form = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (percent_decode(key), percent_decode(value)))
        .collect();
    Some(form)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[index], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                index += 1;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A credential chain whose STS call the endpoint variables steer.
struct Chain {
    pod: &'static str,
    env: Vec<(String, String)>,
    action: &'static str,
    role_arn: &'static str,
    arn_prefix: &'static str,
}

/// Where the chain's STS call goes, with the pod spec's endpoint variables:
/// - `AWS_ENDPOINT_URL` alone (the recorder): there;
/// - `AWS_ENDPOINT_URL` (the recorder) and `AWS_ENDPOINT_URL_STS` (the
///   twin): the twin, and S3 follows `AWS_ENDPOINT_URL_S3`;
/// - `AWS_ENDPOINT_URL` (the twin) and `AWS_ENDPOINT_URL_STS` (the
///   recorder): the recorder, the per-service variable wins;
/// - the same with `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`: still the
///   recorder. aws-config builds its providers' STS clients with the flag
///   off (aws-config 1.13.0, `ProviderConfig::client_config`); only the
///   application's own clients obey it.
fn assert_endpoint_variables_steer(chain: Chain) {
    let twin = Twin::start(None);
    let with = |vars: &[(&str, &str)]| {
        let mut env = chain.env.clone();
        env.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    };

    let recorder = Recorder::start();
    let result = run_app(
        &twin,
        chain.pod,
        &with(&[("AWS_ENDPOINT_URL", &recorder.url)]),
        &[],
    );
    assert_eq!(result["error"]["code"], "NotTheTwin", "{result}");
    assert_eq!(
        recorder.calls(),
        [(chain.action.to_string(), chain.role_arn.to_string())],
        "{result}"
    );

    let recorder = Recorder::start();
    let result = run_app(
        &twin,
        chain.pod,
        &with(&[
            ("AWS_ENDPOINT_URL", &recorder.url),
            ("AWS_ENDPOINT_URL_STS", &twin.endpoint),
            ("AWS_ENDPOINT_URL_S3", &twin.endpoint),
        ]),
        &[REPORT],
    );
    assert!(arn(&result).starts_with(chain.arn_prefix), "{result}");
    assert!(body(&result, REPORT).starts_with("department,"), "{result}");
    assert_eq!(recorder.calls(), [], "nothing reached AWS_ENDPOINT_URL");

    for ignore in ["false", "true"] {
        let recorder = Recorder::start();
        let result = run_app(
            &twin,
            chain.pod,
            &with(&[
                ("AWS_ENDPOINT_URL_STS", &recorder.url),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", ignore),
            ]),
            &[],
        );
        assert_eq!(result["error"]["code"], "NotTheTwin", "{result}");
        assert_eq!(
            recorder.calls(),
            [(chain.action.to_string(), chain.role_arn.to_string())],
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS={ignore}: {result}"
        );
    }
}

#[test]
fn the_web_identity_provider_sends_its_call_where_the_endpoint_variables_say() {
    assert_endpoint_variables_steer(Chain {
        pod: IRSA,
        env: Vec::new(),
        action: "AssumeRoleWithWebIdentity",
        role_arn: IRSA_ROLE,
        arn_prefix: "arn:aws:sts::444455556666:assumed-role/payroll-irsa-role/",
    });
}

#[test]
fn the_profile_chain_s_assume_role_after_credential_process_follows_the_endpoint_variables() {
    let config = GuideConfig::new(Source::Helper);
    assert_endpoint_variables_steer(Chain {
        pod: PAYROLL,
        env: config.pod_env(),
        action: "AssumeRole",
        role_arn: ACCOUNT_B_ROLE,
        arn_prefix: "arn:aws:sts::444455556666:assumed-role/account-b-role/",
    });
}

#[test]
fn the_profile_chain_s_assume_role_after_ecs_container_follows_the_endpoint_variables() {
    let config = GuideConfig::new(Source::EcsContainer);
    assert_endpoint_variables_steer(Chain {
        pod: PAYROLL,
        env: config.pod_env(),
        action: "AssumeRole",
        role_arn: ACCOUNT_B_ROLE,
        arn_prefix: "arn:aws:sts::444455556666:assumed-role/account-b-role/",
    });
}
