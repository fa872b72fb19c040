//! `orgtwin up`, `env`, `check`, `trail` and `export`: the twin's commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use orgtwin_twin::Twin;
use orgtwin_twin::start::{self, ModelSource};

/// The twin's default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4577";
/// The state directory when none is given.
pub const DEFAULT_STATE: &str = ".orgtwin";

fn source(model: Option<&Path>) -> ModelSource {
    model.map_or(ModelSource::Embedded, |p| {
        ModelSource::Path(p.to_path_buf())
    })
}

fn report_start_error(e: &start::StartError) {
    match e {
        start::StartError::Model(errors) => {
            for error in errors.iter() {
                eprintln!("{:?}", miette::Report::new(error.clone()));
            }
            eprintln!(
                "error: the model has {} problem(s); nothing was started",
                errors.len()
            );
        }
        other => eprintln!("error: {other}"),
    }
}

/// `orgtwin up`.
pub fn up(
    model: Option<&Path>,
    listen: &str,
    state: &Path,
    reset: bool,
    test_clock: bool,
) -> ExitCode {
    let _log_guard = init_tracing();
    let addr: SocketAddr = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: `{listen}` is not an address such as {DEFAULT_LISTEN}: {e}");
            return ExitCode::from(2);
        }
    };
    if !addr.ip().is_loopback() {
        tracing::warn!(listen = %addr, "listening beyond loopback: anyone who can reach this address can use the twin's credentials");
    }
    let twin = match start::open(state, &source(model), reset, test_clock) {
        Ok(t) => t,
        Err(e) => {
            report_start_error(&e);
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move { serve(twin, addr, state).await })
}

async fn serve(twin: Arc<Twin>, addr: SocketAddr, state: &Path) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let endpoint = format!("http://{bound}");
    if let Err(e) = twin.store.set_meta("endpoint", &endpoint) {
        eprintln!("error: cannot record the endpoint in the state: {e}");
        return ExitCode::from(1);
    }
    println!("orgtwin serving on {endpoint} (state {})", state.display());
    tracing::info!(endpoint = %endpoint, state = %state.display(), "ready");
    let shutdown = stop_signal();
    match orgtwin_twin::server::serve(twin, listener, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: the server stopped: {e}");
            ExitCode::from(1)
        }
    }
}

/// Logs to standard error through a background writer, so a request never
/// waits on the terminal; the guard flushes what is queued when `up` ends.
/// Ctrl-C or, on Unix, SIGTERM: the server stops accepting, and the log
/// writer flushes when `up` returns.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(term) => term,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop the twin with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_tracing() -> Option<crate::log::LogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = crate::log::stderr_writer()
        .map_err(|e| eprintln!("error: cannot start the log writer: {e}"))
        .ok()?;
    // Colours only for a terminal; a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .try_init()
        .ok()
        .map(|()| guard)
}

fn open_store(state: &Path) -> Result<orgtwin_store::Store, ExitCode> {
    if !state.join("state.db").exists() {
        eprintln!(
            "error: no twin state in `{}`; start one with `orgtwin up --state {}`",
            state.display(),
            state.display()
        );
        return Err(ExitCode::from(2));
    }
    orgtwin_store::Store::open(state).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// `orgtwin env`: shell `export` lines for an account's administrator or a
/// modelled user.
pub fn env(
    state: &Path,
    account: Option<&str>,
    user: Option<&str>,
    endpoint: Option<&str>,
) -> ExitCode {
    let store = match open_store(state) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let endpoint = match endpoint
        .map(str::to_string)
        .or_else(|| store.meta("endpoint").ok().flatten())
    {
        Some(e) => e,
        None => format!("http://{DEFAULT_LISTEN}"),
    };
    let (key_id, secret) = match (account, user) {
        (Some(account), None) => match start::admin_key(&store, account) {
            Ok(Some(key)) => (key.access_key_id, key.secret),
            Ok(None) => {
                eprintln!("error: the twin has no account `{account}`");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        (account, Some(user)) => match model_user_key(&store, account, user) {
            Ok(key) => key,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        },
        (None, None) => {
            eprintln!("error: give `--account ID` (the account's administrator) or `--user NAME`");
            return ExitCode::from(2);
        }
    };
    println!("export AWS_ACCESS_KEY_ID={key_id}");
    println!("export AWS_SECRET_ACCESS_KEY={secret}");
    println!("unset AWS_SESSION_TOKEN AWS_PROFILE");
    println!("export AWS_REGION=us-east-1");
    println!("export AWS_DEFAULT_REGION=us-east-1");
    println!("export AWS_ENDPOINT_URL={endpoint}");
    println!("export ORGTWIN_ENDPOINT={endpoint}");
    ExitCode::SUCCESS
}

fn stored_model(store: &orgtwin_store::Store) -> Result<orgtwin_model::Model, String> {
    let files = store.model_files().map_err(|e| e.to_string())?;
    start::load_model_files(&files)
        .map_err(|e| format!("the stored model does not load: {}", e.brief()))
}

fn model_user_key(
    store: &orgtwin_store::Store,
    account: Option<&str>,
    user: &str,
) -> Result<(String, String), String> {
    let model = stored_model(store)?;
    let found: Vec<_> = model
        .accounts
        .values()
        .filter(|a| account.is_none_or(|id| a.id == id))
        .filter_map(|a| model.user(&a.id, user).map(|u| (a, u)))
        .collect();
    let [(account, user)] = found.as_slice() else {
        return Err(if found.is_empty() {
            format!("no user `{user}` in the model")
        } else {
            format!("`{user}` is a user in several accounts; add `--account ID`")
        });
    };
    if let Some(key) = user
        .access_keys
        .iter()
        .find(|k| k.status == orgtwin_model::KeyStatus::Active)
    {
        return Ok((key.id.clone(), key.secret.expose().to_string()));
    }
    let issued = store
        .access_keys_of(&account.id, &user.name)
        .map_err(|e| e.to_string())?;
    issued
        .into_iter()
        .find(|k| k.active)
        .map(|k| (k.access_key_id, k.secret))
        .ok_or_else(|| format!("user `{}` has no active access key", user.name))
}

/// `orgtwin check [MODEL] [--format table|json|sarif] [--fail-on SEVERITY]`:
/// the model's problems (exit 1), or its summary and its findings (exit 1
/// only when one is at or above `--fail-on`); exit 2 for a bad flag.
pub fn check(model: Option<&Path>, format: &str, fail_on: Option<&str>) -> ExitCode {
    use orgtwin_analyze::findings::{self, Format, Severity};
    let format = match Format::parse(format) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --format: {e}");
            return ExitCode::from(2);
        }
    };
    let fail_on = match fail_on.map(Severity::parse).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --fail-on: {e}");
            return ExitCode::from(2);
        }
    };
    let loaded = match model {
        Some(path) => orgtwin_model::load(path),
        None => Ok(orgtwin_model::embedded()),
    };
    match loaded {
        Ok(m) => {
            let roles: usize = m.accounts.values().map(|a| a.iam.roles.len()).sum();
            let users: usize = m.accounts.values().map(|a| a.iam.users.len()).sum();
            let clusters: Vec<_> = m.clusters().map(|(_, c)| c).collect();
            let service_accounts: usize = clusters.iter().map(|c| c.service_accounts.len()).sum();
            let associations: usize = clusters
                .iter()
                .map(|c| c.pod_identity_associations.len())
                .sum();
            let summary = format!(
                "{}: {} accounts, {} OUs, {} roles, {} users, {} SCPs, {} RCPs, {} clusters, {} service accounts, {} Pod Identity associations; no problems",
                model.map_or_else(
                    || "embedded example".to_string(),
                    |p| p.display().to_string()
                ),
                m.accounts.len(),
                m.organization.organizational_units.len(),
                roles,
                users,
                m.scps.len(),
                m.rcps.len(),
                clusters.len(),
                service_accounts,
                associations
            );
            let found = findings::findings(&m);
            // Machine formats keep standard output to the report alone.
            if format == Format::Table {
                println!("{summary}\n");
            } else {
                eprintln!("{summary}");
            }
            print!("{}", findings::render(format, &found));
            match (fail_on, findings::worst(&found)) {
                (Some(threshold), Some(worst)) if worst >= threshold => {
                    let count = found.iter().filter(|f| f.severity >= threshold).count();
                    eprintln!("error: {count} finding(s) at or above {threshold}");
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{:?}", miette::Report::new(error.clone()));
            }
            eprintln!("{} problem(s)", errors.len());
            ExitCode::from(1)
        }
    }
}

/// `orgtwin trail [--denied] [--follow]`.
pub fn trail(state: &Path, denied: bool, follow: bool) -> ExitCode {
    let store = match open_store(state) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut after = 0;
    loop {
        let entries = match store.trail(after, denied, 1000) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        for e in &entries {
            let line = serde_json::json!({
                "time": e.time, "request_id": e.request_id, "caller": e.caller, "action": e.action,
                "resource": e.resource, "decision": e.decision,
                "explanation": serde_json::from_str::<serde_json::Value>(&e.explanation).unwrap_or_default(),
            });
            println!("{line}");
            after = e.id;
        }
        if entries.len() < 1000 {
            if !follow {
                return ExitCode::SUCCESS;
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }
}

/// `orgtwin export --state DIR -o DIR`.
pub fn export(state: &Path, out: &PathBuf) -> ExitCode {
    let store = match open_store(state) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match stored_model(&store)
        .and_then(|m| orgtwin_model::export(&m, out).map_err(|e| e.to_string()))
    {
        Ok(()) => {
            println!("wrote the model to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
