//! The twin under load, as a client sees it over loopback HTTP: STS requests
//! per second and their latency, against moto in the same run.
//!
//! 1. `AssumeRole` (the example organization's administrator of 999988887777
//!    assuming `platform-admin` in 444455556666): the twin and `moto_server`
//!    in turn, the same load generator, the same kind of signed request.
//! 2. `GetCallerIdentity` signed with session credentials, with 1, 10,000 and
//!    1,000,000 live sessions written into the state before the twin starts;
//!    the requests are spread over up to [`SIGNING_SESSIONS`] of them. The
//!    twin's resident memory is read from `/proc/PID/status`.
//!
//! Each server is a child process on 127.0.0.1 (the release `orgtwin`
//! binary, `orgtwin up`, its log to a file in the temporary state directory),
//! killed when the benchmark ends or panics. The load generator runs in this
//! process on the same cores as the server. Every phase has a request count
//! and a time limit; every response is checked, and a phase with any failed
//! response is marked INVALID. Figures are printed, with the targets beside
//! them, never asserted. docs/benchmarks-twin.md explains the figures.
//!
//! Knobs (environment): `ORGTWIN_BENCH_CONNECTIONS` (16),
//! `ORGTWIN_BENCH_SECONDS` (time limit of a phase, 10),
//! `ORGTWIN_BENCH_REQUESTS` (request cap of a twin phase, 300,000),
//! `ORGTWIN_BENCH_MOTO_REQUESTS` (20,000), `ORGTWIN_BENCH_SESSIONS`
//! (`1,10000,1000000`), `ORGTWIN_BENCH_CLIENT_THREADS` (load generator
//! threads, 1), `ORGTWIN_BIN` (the binary; otherwise built with cargo),
//! `MOTO_SERVER` (`moto_server`). Run without `--bench` (as `cargo test
//! --benches` does) it makes a short smoke run.

// Benchmarks are test code: a failed setup step should stop them loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod load;
mod seed;
mod servers;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use load::{Outcome, Phase, Prepared};
use orgtwin_twin::sigv4::SigningKey;
use orgtwin_twin::{Clock, SystemClock};
use servers::Server;

/// At most this many of the seeded sessions sign the `GetCallerIdentity` load.
const SIGNING_SESSIONS: usize = 4_096;
/// Distinct pre-signed `AssumeRole` requests (distinct session names).
const ASSUME_ROLE_REQUESTS: usize = 4_096;
const CALLER_ACCOUNT: &str = "999988887777";
const ROLE_ARN: &str = "arn:aws:iam::444455556666:role/platform-admin";
/// moto's default account; moto does not check trust.
const MOTO_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/platform-admin";

const TARGET_RATIO: f64 = 50.0;
const TARGET_ASSUME_ROLE: f64 = 10_000.0;
const TARGET_P99: Duration = Duration::from_millis(5);
const TARGET_CALLER_IDENTITY: f64 = 30_000.0;

struct Settings {
    connections: usize,
    time_limit: Duration,
    warmup: Duration,
    twin_requests: u64,
    moto_requests: u64,
    session_counts: Vec<usize>,
    client_threads: usize,
}

impl Settings {
    fn from_env(full: bool) -> Settings {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or(default)
        }
        let sessions = std::env::var("ORGTWIN_BENCH_SESSIONS")
            .unwrap_or_else(|_| if full { "1,10000,1000000" } else { "1,1000" }.into());
        Settings {
            connections: var("ORGTWIN_BENCH_CONNECTIONS", 16),
            time_limit: Duration::from_secs(var(
                "ORGTWIN_BENCH_SECONDS",
                if full { 10 } else { 1 },
            )),
            warmup: Duration::from_secs(if full { 2 } else { 0 }),
            twin_requests: var("ORGTWIN_BENCH_REQUESTS", 300_000),
            moto_requests: var("ORGTWIN_BENCH_MOTO_REQUESTS", 20_000),
            session_counts: sessions
                .split(',')
                .map(|n| {
                    n.trim()
                        .replace('_', "")
                        .parse()
                        .expect("ORGTWIN_BENCH_SESSIONS")
                })
                .collect(),
            client_threads: var("ORGTWIN_BENCH_CLIENT_THREADS", 1),
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let settings = Settings::from_env(full);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.client_threads.max(1))
        .enable_all()
        .build()
        .expect("the load generator's runtime");
    print_machine(&settings);
    let binary = servers::orgtwin_binary();
    let scratch = tempfile::tempdir().expect("a temporary directory");

    let twin = assume_role_twin(&runtime, &settings, &binary, scratch.path());
    let moto = assume_role_moto(&runtime, &settings, scratch.path());
    print_assume_role(&settings, &twin, moto.as_ref());

    println!();
    println!(
        "GetCallerIdentity signed with session credentials, spread over up to {SIGNING_SESSIONS} sessions; {} connections, per size at most {} requests or {:?} after a {:?} warm-up",
        settings.connections, settings.twin_requests, settings.time_limit, settings.warmup
    );
    println!(
        "{:>9} {:>8} {:>7} {:>7} {:>10} {:>8} {:>8} {:>10} {:>10} {:>8} {:>8} {:>8} {:>6} {:>7}",
        "sessions",
        "db MiB",
        "seed s",
        "start s",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server us",
        "loadgen us",
        "RSS MiB",
        "after",
        "peak",
        "load",
        "errors"
    );
    let mut rates = Vec::new();
    let mut memory = Vec::new();
    for &count in &settings.session_counts {
        let state = scratch.path().join(format!("sessions-{count}"));
        let row = caller_identity_at(&runtime, &settings, &binary, &state, count);
        rates.push(row.outcome.per_second());
        memory.push(format!("{count}: {:.1} MiB", row.after.rss_mib()));
        row.print(count);
        std::fs::remove_dir_all(&state).ok();
    }
    let worst = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let best = rates.iter().copied().fold(0.0, f64::max);
    println!(
        "target >= {TARGET_CALLER_IDENTITY:.0} GetCallerIdentity/s at every size: slowest {worst:.0}/s ({}); slowest/fastest {:.2}",
        met(worst >= TARGET_CALLER_IDENTITY),
        worst / best.max(f64::EPSILON)
    );
    println!(
        "twin RSS after load by sessions held in the database: {} (SQLite's page cache and the twin's cache of sessions in use are bounded)",
        memory.join(", ")
    );
}

fn print_machine(settings: &Settings) {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "sts_load: {cpus} CPUs ({model}); the load generator ({} thread(s), {} keep-alive connections) shares them with the server under test",
        settings.client_threads, settings.connections
    );
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Sends a warm-up, then the measured phase.
fn measure(runtime: &tokio::runtime::Runtime, settings: &Settings, phase: Phase) -> Outcome {
    if !settings.warmup.is_zero() {
        let warmup = Phase {
            time_limit: settings.warmup,
            max_requests: (phase.max_requests / 10).max(1),
            requests: Arc::clone(&phase.requests),
            ..phase
        };
        let outcome = load::run(runtime, &warmup);
        if !outcome.is_valid() {
            return outcome;
        }
    }
    load::run(runtime, &phase)
}

struct PeerResult {
    outcome: Outcome,
    memory: servers::Memory,
    /// The 1-minute load average when the measured phase began.
    load_average: String,
}

fn assume_role_body(role_arn: &str, n: usize) -> String {
    let role_arn: String =
        percent_encoding::utf8_percent_encode(role_arn, percent_encoding::NON_ALPHANUMERIC)
            .collect();
    format!("Action=AssumeRole&Version=2011-06-15&RoleArn={role_arn}&RoleSessionName=bench-{n}")
}

fn check_assume_role(status: u16, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let fine = status == 200
        && text.contains("<AccessKeyId>ASIA")
        && text.contains("<SecretAccessKey>")
        && text.contains("<SessionToken>")
        && text.contains("</AssumeRoleResponse>");
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            text.chars().take(300).collect::<String>()
        ))
    }
}

fn assume_role_twin(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    binary: &Path,
    scratch: &Path,
) -> PeerResult {
    let state = scratch.join("assume-role");
    let server = servers::start_twin(binary, &state);
    let admin = {
        let store = orgtwin_store::Store::open(&state).expect("open the twin's state");
        orgtwin_twin::start::admin_key(&store, CALLER_ACCOUNT)
            .expect("read the administrator's key")
            .expect("the administrator has a key")
    };
    let key = SigningKey {
        access_key_id: &admin.access_key_id,
        secret: &admin.secret,
        session_token: None,
        region: "us-east-1",
        service: "sts",
    };
    let requests = (0..ASSUME_ROLE_REQUESTS)
        .map(|n| load::prepare(server.addr, assume_role_body(ROLE_ARN, n), &key))
        .collect();
    let load_average = servers::load_average();
    let outcome = measure(
        runtime,
        settings,
        Phase {
            addr: server.addr,
            server_pid: server.pid(),
            requests: Arc::new(requests),
            connections: settings.connections,
            max_requests: settings.twin_requests,
            time_limit: settings.time_limit,
            check: check_assume_role,
        },
    );
    PeerResult {
        memory: server.memory(),
        outcome,
        load_average,
    }
}

/// moto: creates the role through moto's IAM API first, then the same load.
fn assume_role_moto(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    scratch: &Path,
) -> Option<PeerResult> {
    let Some(server) = servers::start_moto(scratch) else {
        println!("moto_server is not installed (or MOTO_SERVER is wrong): no peer figures");
        return None;
    };
    // moto accepts any credentials; these are AWS's documented example key.
    let key = |service| SigningKey {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session_token: None,
        region: "us-east-1",
        service,
    };
    create_moto_role(runtime, &server, &key("iam"));
    let requests = (0..ASSUME_ROLE_REQUESTS)
        .map(|n| load::prepare(server.addr, assume_role_body(MOTO_ROLE_ARN, n), &key("sts")))
        .collect();
    let load_average = servers::load_average();
    let outcome = measure(
        runtime,
        settings,
        Phase {
            addr: server.addr,
            server_pid: server.pid(),
            requests: Arc::new(requests),
            connections: settings.connections,
            max_requests: settings.moto_requests,
            time_limit: settings.time_limit,
            check: check_assume_role,
        },
    );
    Some(PeerResult {
        memory: server.memory(),
        outcome,
        load_average,
    })
}

fn create_moto_role(runtime: &tokio::runtime::Runtime, server: &Server, key: &SigningKey<'_>) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
    let encode = |text: &str| -> String {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).collect()
    };
    let body = format!(
        "Action=CreateRole&Version=2010-05-08&RoleName=platform-admin&AssumeRolePolicyDocument={}",
        encode(trust)
    );
    let phase = Phase {
        addr: server.addr,
        server_pid: server.pid(),
        requests: Arc::new(vec![load::prepare(server.addr, body, key)]),
        connections: 1,
        max_requests: 1,
        time_limit: Duration::from_secs(30),
        check: |status, body| {
            if status == 200 && String::from_utf8_lossy(body).contains("<CreateRoleResult>") {
                Ok(())
            } else {
                Err(format!("{status}: {}", String::from_utf8_lossy(body)))
            }
        },
    };
    let outcome = load::run(runtime, &phase);
    assert!(
        outcome.is_valid(),
        "moto's CreateRole failed: {:?}",
        outcome.first_errors
    );
}

fn print_errors(outcome: &Outcome) {
    for e in &outcome.first_errors {
        println!("    error: {e}");
    }
}

fn print_assume_role(settings: &Settings, twin: &PeerResult, moto: Option<&PeerResult>) {
    println!();
    println!(
        "AssumeRole: {} keep-alive connections, at most {} requests (moto {}) or {:?} per peer after a {:?} warm-up",
        settings.connections,
        settings.twin_requests,
        settings.moto_requests,
        settings.time_limit,
        settings.warmup
    );
    println!(
        "{:<8} {:>9} {:>7} {:>10} {:>8} {:>8} {:>10} {:>10} {:>8} {:>6}  valid",
        "peer",
        "responses",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server us",
        "loadgen us",
        "RSS MiB",
        "load",
    );
    let rows = std::iter::once(("orgtwin", twin)).chain(moto.map(|m| ("moto", m)));
    for (name, peer) in rows {
        let o = &peer.outcome;
        let (server_us, client_us) = o.cpu_per_request();
        println!(
            "{name:<8} {:>9} {:>7} {:>10.0} {:>8.3} {:>8.3} {server_us:>10.1} {client_us:>10.1} {:>8.1} {:>6}  {}",
            o.ok,
            o.errors,
            o.per_second(),
            ms(o.percentile(50)),
            ms(o.percentile(99)),
            peer.memory.rss_mib(),
            peer.load_average,
            if o.is_valid() { "yes" } else { "INVALID" }
        );
        if o.reconnects > 0 {
            println!(
                "    {} connections reopened after the server closed them",
                o.reconnects
            );
        }
        print_errors(o);
    }
    let rate = twin.outcome.per_second();
    if let Some(moto) = moto.filter(|m| m.outcome.is_valid() && twin.outcome.is_valid()) {
        let ratio = rate / moto.outcome.per_second().max(f64::EPSILON);
        println!(
            "ratio orgtwin/moto: {ratio:.1}x (target >= {TARGET_RATIO:.0}x: {})",
            met(ratio >= TARGET_RATIO)
        );
    }
    println!(
        "target >= {TARGET_ASSUME_ROLE:.0} AssumeRole/s: {rate:.0}/s ({}); target p99 < {} ms: {:.3} ms ({})",
        met(rate >= TARGET_ASSUME_ROLE),
        TARGET_P99.as_millis(),
        ms(twin.outcome.percentile(99)),
        met(twin.outcome.percentile(99) < TARGET_P99)
    );
}

struct SessionRow {
    outcome: Outcome,
    db_mib: f64,
    seed: Duration,
    startup: Duration,
    idle: servers::Memory,
    after: servers::Memory,
    load_average: String,
}

impl SessionRow {
    fn print(&self, count: usize) {
        let o = &self.outcome;
        let (server_us, client_us) = o.cpu_per_request();
        println!(
            "{count:>9} {:>8.1} {:>7.1} {:>7.2} {:>10.0} {:>8.3} {:>8.3} {server_us:>10.1} {client_us:>10.1} {:>8.1} {:>8.1} {:>8.1} {:>6} {:>7}{}",
            self.db_mib,
            self.seed.as_secs_f64(),
            self.startup.as_secs_f64(),
            o.per_second(),
            ms(o.percentile(50)),
            ms(o.percentile(99)),
            self.idle.rss_mib(),
            self.after.rss_mib(),
            self.after.peak_mib(),
            self.load_average,
            o.errors,
            if o.is_valid() { "" } else { "  INVALID" }
        );
        print_errors(o);
    }
}

fn check_caller_identity(status: u16, body: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(body);
    let arn = format!(
        "<Arn>arn:aws:sts::{}:assumed-role/{}/bench-",
        seed::ACCOUNT,
        seed::ROLE
    );
    if status == 200 && text.contains(&arn) && text.contains("</GetCallerIdentityResponse>") {
        Ok(())
    } else {
        Err(format!(
            "{status}: {}",
            text.chars().take(300).collect::<String>()
        ))
    }
}

fn file_mib(path: &Path) -> f64 {
    ["state.db", "state.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(path.join(f)).ok())
        .map(|m| m.len() as f64 / (1024.0 * 1024.0))
        .sum()
}

fn caller_identity_at(
    runtime: &tokio::runtime::Runtime,
    settings: &Settings,
    binary: &Path,
    state: &Path,
    count: usize,
) -> SessionRow {
    let seed = seed::seed(state, count, SystemClock.now().seconds());
    let db_mib = file_mib(state);
    let server = servers::start_twin(binary, state);
    let idle = server.memory();
    let signers = count.clamp(1, SIGNING_SESSIONS);
    let requests: Vec<Prepared> = (0..signers)
        .map(|i| {
            let key = seed::key(i * count / signers);
            let signing = SigningKey {
                access_key_id: &key.access_key_id,
                secret: &key.secret,
                session_token: Some(&key.session_token),
                region: "us-east-1",
                service: "sts",
            };
            load::prepare(
                server.addr,
                "Action=GetCallerIdentity&Version=2011-06-15".into(),
                &signing,
            )
        })
        .collect();
    let load_average = servers::load_average();
    let outcome = measure(
        runtime,
        settings,
        Phase {
            addr: server.addr,
            server_pid: server.pid(),
            requests: Arc::new(requests),
            connections: settings.connections,
            max_requests: settings.twin_requests,
            time_limit: settings.time_limit,
            check: check_caller_identity,
        },
    );
    SessionRow {
        after: server.memory(),
        outcome,
        db_mib,
        seed,
        startup: server.startup,
        idle,
        load_average,
    }
}
