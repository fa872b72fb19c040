//! `orgtwin run --pod CLUSTER/NAMESPACE/SERVICEACCOUNT -- COMMAND` and
//! `orgtwin env --pod ...`: a command started as the EKS webhooks start a
//! container, against a running twin or one started for the command.
//!
//! The command gets the pod spec's environment (`--env`), not the shell's,
//! plus `PATH` (to find the command), a fresh empty `HOME` (so no
//! `~/.aws` of the caller leaks in) and `HOSTNAME` (the pod's name), and
//! what the webhooks inject (`orgtwin_twin::pod`). Its token files are kept
//! fresh, as the kubelet does, at 80% of their lifetime.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orgtwin_model::Model;
use orgtwin_store::Store;
use orgtwin_twin::issuers::Issuers;
use orgtwin_twin::pod::{self, PodCredentials, PodEnvironment, PodSpec};

/// Where the command's twin is.
pub struct Target<'a> {
    pub model: Option<&'a Path>,
    pub state: &'a Path,
    pub endpoint: Option<&'a str>,
}

/// A twin reached for the command: its model, its store (for the issuers'
/// keys), its URL, and, when started here, the server to stop afterwards.
struct Reached {
    model: Arc<Model>,
    store: Arc<Store>,
    endpoint: String,
    /// Stops the twin started here, and removes its state, when dropped.
    _server: Option<Server>,
}

struct Server {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    state_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// A private directory that is removed when dropped.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new(purpose: &str) -> Result<PrivateDir, String> {
        let name = format!(
            "orgtwin-{purpose}-{}-{}",
            std::process::id(),
            hex(&rand_bytes())
        );
        let path = std::env::temp_dir().join(name);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder
            .create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(PrivateDir(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_bytes() -> Vec<u8> {
    orgtwin_twin::ids::random_bytes(6)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn reach(target: &Target<'_>) -> Result<Reached, String> {
    match target.model {
        Some(model) => start_in_process(model),
        None => {
            if !target.state.join("state.db").exists() {
                return Err(format!(
                    "no twin state in `{}`; start one with `orgtwin up`, or give `--model` to start one for this command",
                    target.state.display()
                ));
            }
            let store = Store::open(target.state).map_err(|e| e.to_string())?;
            let files = store.model_files().map_err(|e| e.to_string())?;
            let model = orgtwin_twin::start::load_model_files(&files)
                .map_err(|e| format!("the stored model does not load: {}", e.brief()))?;
            let endpoint = match target.endpoint {
                Some(e) => e.to_string(),
                None => store
                    .meta("endpoint")
                    .map_err(|e| e.to_string())?
                    .unwrap_or_else(|| format!("http://{}", crate::twin::DEFAULT_LISTEN)),
            };
            Ok(Reached {
                model: Arc::new(model),
                store: Arc::new(store),
                endpoint,
                _server: None,
            })
        }
    }
}

/// Starts a twin of `model` on a free loopback port, with a state of its
/// own that is removed afterwards.
fn start_in_process(model: &Path) -> Result<Reached, String> {
    let state = PrivateDir::new("state")?;
    let twin = orgtwin_twin::start::open(
        &state.0,
        &orgtwin_twin::start::ModelSource::Path(model.to_path_buf()),
        true,
        false,
    )
    .map_err(|e| match e {
        orgtwin_twin::start::StartError::Model(errors) => {
            for error in errors.iter() {
                eprintln!("{:?}", miette::Report::new(error.clone()));
            }
            format!("the model has {} problem(s); nothing was run", errors.len())
        }
        other => other.to_string(),
    })?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let endpoint = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = Arc::clone(&twin);
    let thread = std::thread::Builder::new()
        .name("orgtwin-twin".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the twin's runtime: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("error: cannot serve: {e}");
                        return;
                    }
                };
                let shutdown = async {
                    let _ = stopped.await;
                };
                if let Err(e) = orgtwin_twin::server::serve(served, listener, shutdown).await {
                    eprintln!("error: the twin stopped: {e}");
                }
            });
        })
        .map_err(|e| format!("cannot start the twin: {e}"))?;
    let model = twin.model();
    let store = Arc::clone(&twin.store);
    // The directory now belongs to the server, which removes it when done.
    let state_dir = state.0.clone();
    std::mem::forget(state);
    Ok(Reached {
        model,
        store,
        endpoint,
        _server: Some(Server {
            stop: Some(stop),
            thread: Some(thread),
            state_dir,
        }),
    })
}

fn pod_spec(pod: &str, pod_name: Option<&str>, env: &[String]) -> Result<PodSpec, String> {
    let (cluster, namespace, service_account) = pod::parse_pod(pod)?;
    let mut pairs = Vec::new();
    for item in env {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("`--env {item}` is not NAME=VALUE"))?;
        if key.is_empty() {
            return Err(format!("`--env {item}` has no name"));
        }
        // A name a shell can export: `orgtwin env --pod` prints it in an
        // `export` line that scripts `eval`.
        let mut chars = key.chars();
        let identifier = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(format!(
                "`--env {item}`: `{key}` is not a variable name (letters, digits and `_`, \
                 not starting with a digit)"
            ));
        }
        pairs.retain(|(k, _): &(String, String)| k != key);
        pairs.push((key.to_string(), value.to_string()));
    }
    let suffix = hex(&rand_bytes());
    let pod_name = pod_name.map_or_else(
        || {
            let base: String = service_account
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect();
            format!("{base}-{}", suffix.get(..5).unwrap_or("00000"))
        },
        str::to_string,
    );
    Ok(PodSpec {
        cluster,
        namespace,
        service_account,
        pod_name,
        pod_uid: orgtwin_model::naming::derive_uuid(&format!(
            "pod/{suffix}/{}",
            std::process::id()
        )),
        env: pairs,
    })
}

fn now() -> i64 {
    #[allow(
        clippy::disallowed_methods,
        reason = "tokens carry the wall clock, as the kubelet's"
    )]
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn describe(credentials: &PodCredentials) -> String {
    match credentials {
        PodCredentials::PodIdentity {
            role_arn,
            target_role_arn: Some(target),
        } => format!("EKS Pod Identity: {role_arn}, then the target role {target}"),
        PodCredentials::PodIdentity { role_arn, .. } => format!("EKS Pod Identity: {role_arn}"),
        PodCredentials::Irsa { role_arn } => format!("IRSA: {role_arn}"),
        PodCredentials::None => "no association and no IRSA annotation: no AWS credentials".into(),
        PodCredentials::PodSpec => "the pod spec's own agent variables".into(),
    }
}

/// `orgtwin run`.
pub fn run(
    target: &Target<'_>,
    pod: &str,
    pod_name: Option<&str>,
    env: &[String],
    command: &[String],
) -> ExitCode {
    match run_inner(target, pod, pod_name, env, command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(
    target: &Target<'_>,
    pod: &str,
    pod_name: Option<&str>,
    env: &[String],
    command: &[String],
) -> Result<ExitCode, String> {
    let Some((program, args)) = command.split_first() else {
        return Err("give the command to run after `--`".into());
    };
    let spec = pod_spec(pod, pod_name, env)?;
    let reached = reach(target)?;
    let tokens = PrivateDir::new("pod")?;
    let home = PrivateDir::new("home")?;
    let environment = pod::environment(&reached.model, &spec, &reached.endpoint, &tokens.0)?;
    let (cluster, _) = pod::service_account(&reached.model, &spec)?;
    let issuers = Issuers::default();
    pod::project_tokens(
        &issuers,
        &reached.store,
        cluster,
        &spec,
        &environment.projections,
        now(),
    )?;
    eprintln!(
        "orgtwin: running `{program}` as pod {} of {}/{}/{} ({}) against {}",
        spec.pod_name,
        spec.cluster,
        spec.namespace,
        spec.service_account,
        describe(&environment.credentials),
        reached.endpoint
    );
    let mut child_env: Vec<(String, String)> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        child_env.push(("PATH".into(), path.to_string_lossy().into_owned()));
    }
    child_env.push(("HOME".into(), home.0.display().to_string()));
    child_env.push(("HOSTNAME".into(), spec.pod_name.clone()));
    for (key, value) in &environment.env {
        child_env.retain(|(k, _)| k != key);
        child_env.push((key.clone(), value.clone()));
    }
    // Listening before the command starts: a signal in between would
    // otherwise end this process and leave the tokens behind.
    let signals = Signals::listen()?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(child_env)
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let signals = signals.forward_to(child.id());

    // Keep the tokens fresh while the command runs.
    let done = Arc::new(AtomicBool::new(false));
    let refresher = refresh_tokens(
        Arc::clone(&done),
        Arc::clone(&reached.model),
        Arc::clone(&reached.store),
        spec.clone(),
        environment.clone(),
    );
    let status = child.wait().map_err(|e| e.to_string());
    drop(signals);
    done.store(true, Ordering::SeqCst);
    if let Some(refresher) = refresher {
        refresher.thread().unpark();
        let _ = refresher.join();
    }
    drop(reached);
    let status = status?;
    Ok(exit_code(&status))
}

/// While the command runs, Ctrl-C, SIGTERM and SIGHUP are the command's to
/// act on, not this process's: Ctrl-C reaches the command from the
/// terminal (the whole foreground group gets it), SIGTERM and SIGHUP sent
/// to `orgtwin run` are passed on to it. This process ends when the
/// command does, after removing the token files and the state it made.
struct Signals {
    child: Option<tokio::sync::oneshot::Sender<u32>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Signals {
    /// Listens on a thread of its own; the listeners are in place when
    /// this returns.
    fn listen() -> Result<Signals, String> {
        let (ready, is_ready) = std::sync::mpsc::channel::<Result<(), String>>();
        let (child, child_started) = tokio::sync::oneshot::channel::<u32>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("orgtwin-run-signals".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                        return;
                    }
                };
                runtime.block_on(pass_signals_on(ready, child_started, stopped));
            })
            .map_err(|e| format!("cannot listen for signals: {e}"))?;
        match is_ready.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("cannot listen for signals: {e}")),
            Err(_) => return Err("cannot listen for signals".into()),
        }
        Ok(Signals {
            child: Some(child),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The command has started: signals go to it from now on.
    fn forward_to(mut self, child: u32) -> Signals {
        if let Some(sender) = self.child.take() {
            let _ = sender.send(child);
        }
        self
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The listening loop of [`Signals`]: a signal that comes before the
/// command has started is passed on once it has.
async fn pass_signals_on(
    ready: std::sync::mpsc::Sender<Result<(), String>>,
    child_started: tokio::sync::oneshot::Receiver<u32>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listeners = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        );
        let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = listeners else {
            let _ = ready.send(Err("the signal handlers cannot be installed".into()));
            return;
        };
        let _ = ready.send(Ok(()));
        tokio::pin!(stopped);
        tokio::pin!(child_started);
        let mut child: Option<u32> = None;
        let mut pending: Vec<&'static str> = Vec::new();
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                started = &mut child_started, if child.is_none() => {
                    let Ok(started) = started else { return };
                    child = Some(started);
                    for signal in pending.drain(..) {
                        pass_on(started, signal);
                    }
                }
                // The terminal sent it to the command too.
                _ = interrupt.recv() => {}
                _ = terminate.recv() => match child {
                    Some(pid) => pass_on(pid, "TERM"),
                    None => pending.push("TERM"),
                },
                _ = hangup.recv() => match child {
                    Some(pid) => pass_on(pid, "HUP"),
                    None => pending.push("HUP"),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ready.send(Ok(()));
        let _ = (child_started, stopped.await);
    }
}

/// Sends `signal` to the command through `kill(1)`: the standard library
/// can only send SIGKILL, which would give the command no chance to stop
/// cleanly.
#[cfg(unix)]
fn pass_on(child: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.to_string())
        .status();
    if !sent.is_ok_and(|s| s.success()) {
        tracing::warn!(
            pid = child,
            signal,
            "cannot pass a signal on to the command"
        );
    }
}

fn refresh_tokens(
    done: Arc<AtomicBool>,
    model: Arc<Model>,
    store: Arc<Store>,
    spec: PodSpec,
    environment: PodEnvironment,
) -> Option<std::thread::JoinHandle<()>> {
    let shortest = environment
        .projections
        .iter()
        .map(|p| p.lifetime_seconds)
        .min()?;
    // As the kubelet: a new token once 80% of the lifetime has passed.
    let every = Duration::from_secs(u64::try_from(shortest * 8 / 10).unwrap_or(60).max(1));
    std::thread::Builder::new()
        .name("orgtwin-tokens".into())
        .spawn(move || {
            let issuers = Issuers::default();
            while !done.load(Ordering::SeqCst) {
                std::thread::park_timeout(every);
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let Ok((cluster, _)) = pod::service_account(&model, &spec) else {
                    break;
                };
                match pod::project_tokens(
                    &issuers,
                    &store,
                    cluster,
                    &spec,
                    &environment.projections,
                    now(),
                ) {
                    Ok(()) => tracing::debug!(pod = %spec.pod_name, "projected tokens refreshed"),
                    Err(e) => eprintln!("orgtwin: cannot refresh the pod's tokens: {e}"),
                }
            }
        })
        .ok()
}

fn exit_code(status: &std::process::ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return ExitCode::from(u8::try_from(128 + (signal & 0x7f)).unwrap_or(1));
        }
    }
    ExitCode::from(1)
}

/// `orgtwin env --pod`: the same environment as `export` lines, with the
/// token files written to `token_dir` (once: run it again before they
/// expire).
pub fn env(
    target: &Target<'_>,
    pod: &str,
    pod_name: Option<&str>,
    vars: &[String],
    token_dir: &Path,
) -> ExitCode {
    let result = (|| -> Result<(), String> {
        if target.model.is_some() {
            return Err("`orgtwin env --pod` needs a running twin (`orgtwin up`); `--model` is for `orgtwin run`".into());
        }
        let spec = pod_spec(pod, pod_name, vars)?;
        let reached = reach(target)?;
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder
            .create(token_dir)
            .map_err(|e| format!("cannot create {}: {e}", token_dir.display()))?;
        let token_dir = std::fs::canonicalize(token_dir).map_err(|e| e.to_string())?;
        let environment = pod::environment(&reached.model, &spec, &reached.endpoint, &token_dir)?;
        let (cluster, _) = pod::service_account(&reached.model, &spec)?;
        pod::project_tokens(
            &Issuers::default(),
            &reached.store,
            cluster,
            &spec,
            &environment.projections,
            now(),
        )?;
        println!(
            "# pod {} of {}/{}/{}: {}",
            spec.pod_name,
            spec.cluster,
            spec.namespace,
            spec.service_account,
            describe(&environment.credentials)
        );
        for projection in &environment.projections {
            println!(
                "# {} expires in {} s; run this again to renew it",
                projection.path.display(),
                projection.lifetime_seconds
            );
        }
        // The pod's AWS settings and no others: every `AWS_*` of the shell
        // goes (credentials, profiles, `AWS_ENDPOINT_URL_STS`, ...), and so
        // do the shared files, which a shell's `~/.aws` would otherwise give.
        println!(
            "for name in $(env | sed -n 's/^\\(AWS_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$name\"; done"
        );
        for (key, value) in &environment.env {
            println!("export {key}={}", shell_quote(value));
        }
        for file in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
            if !environment.env.iter().any(|(key, _)| key == file) {
                println!("export {file}=/dev/null");
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `value` quoted for a POSIX shell.
fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/:._-=+,@".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pod_specs_read_env_pairs_and_name_the_pod() {
        let spec = pod_spec(
            "ProductionCluster/PayrollNamespace/PayrollApplication",
            None,
            &["A=1".into(), "A=2".into(), "B=x=y".into()],
        )
        .unwrap();
        assert_eq!(
            spec.env,
            [
                ("A".to_string(), "2".to_string()),
                ("B".into(), "x=y".into())
            ]
        );
        assert!(spec.pod_name.starts_with("payrollapplication-"));
        assert!(pod_spec("a/b/c", None, &["=1".into()]).is_err());
        assert!(pod_spec("a/b/c", None, &["A".into()]).is_err());
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(
            shell_quote("http://127.0.0.1:1/v1"),
            "http://127.0.0.1:1/v1"
        );
    }
}
