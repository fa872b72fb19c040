//! The analyzer on synthetic organizations of 10, 100 and 1,000 accounts
//! (`orgtwin_analyze::generate`, one cluster per five accounts, 20 roles per
//! account, 250 service accounts per cluster, three cross-account trusts per
//! account): the time to load and check the model, to find every path
//! (`analyze`), and to decide every access (`grants`), and the peak memory.
//!
//! Each size runs in a child process (this benchmark again, with
//! `ORGTWIN_ANALYSIS_CHILD=ACCOUNTS`), so that the peak resident set it
//! reports (`VmHWM` of `/proc/self/status`) is that size's own. The model is
//! generated in memory and loaded with `load_from_memory`: no disk I/O is
//! timed. Figures are printed with the targets beside them, never asserted.
//! docs/benchmarks-analyzer.md explains them.
//!
//! Knobs (environment): `ORGTWIN_BENCH_ACCOUNTS` (`10,100,1000`),
//! `ORGTWIN_BENCH_SEED` (1), `ORGTWIN_ANALYSIS_THREADS` (the analyzer's
//! threads; all cores when unset). Run without `--bench` (as `cargo test
//! --benches` does) it makes a smoke run of 10 accounts.

// Benchmarks are test code: a failed setup step should stop them loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::time::Instant;

use orgtwin_analyze::generate::{Spec, generate};
use orgtwin_policy::Timestamp;

/// The same allocator as the `orgtwin` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHILD: &str = "ORGTWIN_ANALYSIS_CHILD";
const NOW: i64 = 1_796_317_704;
const TARGET_SECONDS: f64 = 10.0;
const TARGET_MIB: f64 = 2_048.0;

fn main() {
    if let Ok(accounts) = std::env::var(CHILD) {
        child(accounts.parse().expect("ORGTWIN_ANALYSIS_CHILD"));
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("ORGTWIN_BENCH_ACCOUNTS")
        .unwrap_or_else(|_| if full { "10,100,1000" } else { "10" }.into())
        .split(',')
        .map(|n| {
            n.trim()
                .replace('_', "")
                .parse()
                .expect("ORGTWIN_BENCH_ACCOUNTS")
        })
        .collect();
    print_machine();
    println!(
        "{:>8} {:>7} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>10} \
         {:>9}",
        "accounts",
        "roles",
        "clusters",
        "svc accts",
        "trusts",
        "edges",
        "grants",
        "gen s",
        "load s",
        "reach s",
        "grants s",
        "us/edge",
        "loaded MiB",
        "peak MiB"
    );
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let mut rows = Vec::new();
    for accounts in sizes {
        let output = Command::new(&exe)
            .env(CHILD, accounts.to_string())
            .output()
            .expect("the benchmark's child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            panic!(
                "{accounts} accounts failed: {}\n{stdout}{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let row = stdout
            .lines()
            .find_map(Row::parse)
            .unwrap_or_else(|| panic!("{accounts} accounts: no figures in\n{stdout}"));
        row.print();
        rows.push(row);
    }
    println!();
    for row in &rows {
        let analysis = row.reach + row.grants_seconds;
        println!(
            "{} accounts: full analysis (analyze + grants) {:.2} s, with load {:.2} s \
             (target < {TARGET_SECONDS} s: {}); peak {:.0} MiB (target < {TARGET_MIB} MiB: {}); \
             {:.2} us per edge, {:.2} us per grant",
            row.accounts,
            analysis,
            analysis + row.load,
            met(analysis + row.load < TARGET_SECONDS),
            row.peak_mib,
            met(row.peak_mib < TARGET_MIB),
            row.per_edge_us(),
            analysis * 1e6 / row.grant_count.max(1) as f64,
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && rows.len() > 1
    {
        println!(
            "growth from {} to {} accounts: edges x{:.1}, time x{:.1}, cost per edge x{:.2} \
             (at most ~1 means no worse than linear in edges)",
            first.accounts,
            last.accounts,
            last.edges as f64 / first.edges.max(1) as f64,
            (last.reach + last.grants_seconds) / (first.reach + first.grants_seconds),
            last.per_edge_us() / first.per_edge_us()
        );
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn print_machine() {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("analysis: {cpus} CPUs ({model}); each size in its own process");
}

/// One size's figures, as the child prints them on one `ROW` line.
struct Row {
    accounts: usize,
    roles: usize,
    clusters: usize,
    service_accounts: usize,
    trusts: usize,
    edges: u64,
    grant_count: usize,
    generate: f64,
    load: f64,
    reach: f64,
    grants_seconds: f64,
    /// Resident after loading, before the analysis.
    loaded_mib: f64,
    peak_mib: f64,
}

impl Row {
    fn parse(line: &str) -> Option<Row> {
        let mut f = line.strip_prefix("ROW ")?.split(' ');
        let mut next = || f.next().unwrap_or_default().to_string();
        Some(Row {
            accounts: next().parse().ok()?,
            roles: next().parse().ok()?,
            clusters: next().parse().ok()?,
            service_accounts: next().parse().ok()?,
            trusts: next().parse().ok()?,
            edges: next().parse().ok()?,
            grant_count: next().parse().ok()?,
            generate: next().parse().ok()?,
            load: next().parse().ok()?,
            reach: next().parse().ok()?,
            grants_seconds: next().parse().ok()?,
            loaded_mib: next().parse().ok()?,
            peak_mib: next().parse().ok()?,
        })
    }

    fn per_edge_us(&self) -> f64 {
        (self.reach + self.grants_seconds) * 1e6 / self.edges.max(1) as f64
    }

    fn print(&self) {
        println!(
            "{:>8} {:>7} {:>8} {:>9} {:>7} {:>9} {:>7} {:>7.2} {:>8.2} {:>8.2} {:>8.2} \
             {:>9.2} {:>10.0} {:>9.0}",
            self.accounts,
            self.roles,
            self.clusters,
            self.service_accounts,
            self.trusts,
            self.edges,
            self.grant_count,
            self.generate,
            self.load,
            self.reach,
            self.grants_seconds,
            self.per_edge_us(),
            self.loaded_mib,
            self.peak_mib
        );
    }
}

/// One size, in this process: generate, load, analyze, grants; then the
/// figures on one line.
fn child(accounts: usize) {
    let seed = std::env::var("ORGTWIN_BENCH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let spec = Spec {
        seed,
        ..Spec::new(accounts, (accounts / 5).max(1))
    };
    let started = Instant::now();
    let generated = generate(&spec).expect("the spec generates");
    let generate_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let model = orgtwin_model::load_from_memory("org.yaml", &generated.file_refs())
        .unwrap_or_else(|e| panic!("the generated model loads: {e:?}"));
    let load_s = started.elapsed().as_secs_f64();
    drop(generated.files);
    let loaded_mib = status_mib("VmRSS:");

    let now = Timestamp::from_unix_seconds(NOW);
    let started = Instant::now();
    let analysis = orgtwin_analyze::analyze(&model, now);
    let reach_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let grants = orgtwin_analyze::grants(&model, &analysis);
    let grants_s = started.elapsed().as_secs_f64();

    let s = &generated.summary;
    println!(
        "ROW {} {} {} {} {} {} {} {generate_s:.3} {load_s:.3} {reach_s:.3} {grants_s:.3} {:.1} \
         {:.1}",
        s.accounts,
        s.roles,
        s.clusters,
        s.service_accounts,
        s.cross_account_trusts,
        analysis.decisions,
        grants.len(),
        loaded_mib,
        status_mib("VmHWM:")
    );
}

/// A figure of `/proc/self/status` in MiB: `VmHWM:` (the peak resident
/// set) or `VmRSS:` (the resident set now).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                let kb = l.strip_prefix(field)?.trim().strip_suffix("kB")?;
                kb.trim().parse::<f64>().ok()
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
