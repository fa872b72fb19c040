//! The `orgtwin` command line. Each subcommand parses its flags, calls the
//! library, and prints; no access decision is made here.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod analyze;
mod compare;
mod generate;
mod import;
mod log;
mod run;
mod simulate;
mod twin;
mod validate;

#[derive(Parser)]
#[command(
    name = "orgtwin",
    version,
    about = "A twin of an AWS organization's identity plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with IAM policy documents.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Evaluate policy unit tests: JSON Lines cases, one per line.
    Simulate {
        /// The case file, or `-` for standard input.
        #[arg(long)]
        cases: PathBuf,
    },
    /// Start the twin: STS, IAM and Organizations on one loopback address.
    Up {
        /// The model's root YAML file; the embedded example when absent.
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long, default_value = twin::DEFAULT_LISTEN)]
        listen: String,
        /// The state directory (SQLite); kept across restarts.
        #[arg(long, default_value = twin::DEFAULT_STATE)]
        state: PathBuf,
        /// Start over from the model, dropping the stored one.
        #[arg(long)]
        reset: bool,
        /// Let tests move the clock (`POST /_orgtwin/clock?advance=SECONDS`).
        #[arg(long)]
        test_clock: bool,
    },
    /// Run a command as a pod would run in a cluster: with the pod spec's
    /// environment, the EKS webhooks' variables and projected tokens, and
    /// its AWS SDK pointed at the twin.
    Run {
        /// The pod's `CLUSTER/NAMESPACE/SERVICEACCOUNT`.
        #[arg(long)]
        pod: String,
        /// The pod's name (its `kubernetes-pod-name` session tag); a
        /// generated one when absent.
        #[arg(long)]
        pod_name: Option<String>,
        /// A pod spec environment variable, `NAME=VALUE`; repeat as needed.
        #[arg(long = "env", value_name = "NAME=VALUE")]
        env: Vec<String>,
        /// Start a twin of this model for the command's lifetime, instead
        /// of using the running one.
        #[arg(long)]
        model: Option<PathBuf>,
        /// The running twin's state directory.
        #[arg(long, default_value = twin::DEFAULT_STATE)]
        state: PathBuf,
        /// The running twin's URL; else `ORGTWIN_ENDPOINT`, else the state's.
        #[arg(long, env = "ORGTWIN_ENDPOINT")]
        endpoint: Option<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Print shell `export` lines with credentials for the twin.
    Env {
        /// The account whose administrator (`orgtwin-admin`) to use.
        #[arg(long)]
        account: Option<String>,
        /// A modelled user, by name.
        #[arg(long)]
        user: Option<String>,
        /// A pod's environment instead: `CLUSTER/NAMESPACE/SERVICEACCOUNT`.
        #[arg(long, conflicts_with_all = ["account", "user"])]
        pod: Option<String>,
        /// With `--pod`: the pod's name.
        #[arg(long, requires = "pod")]
        pod_name: Option<String>,
        /// With `--pod`: a pod spec environment variable, `NAME=VALUE`.
        #[arg(long = "env", value_name = "NAME=VALUE", requires = "pod")]
        env: Vec<String>,
        /// With `--pod`: where to write the projected token files.
        #[arg(long, requires = "pod", default_value = ".orgtwin-pod")]
        token_dir: PathBuf,
        #[arg(long, default_value = twin::DEFAULT_STATE)]
        state: PathBuf,
        /// The twin's URL; else `ORGTWIN_ENDPOINT`, else the state's.
        #[arg(long, env = "ORGTWIN_ENDPOINT")]
        endpoint: Option<String>,
    },
    /// Check a model and report every problem with file, line and field;
    /// then the findings: the mistakes the EKS multi-account guide warns
    /// about (docs/findings.md).
    Check {
        /// The model's root YAML file; the embedded example when absent.
        model: Option<PathBuf>,
        /// How findings are printed: `table`, `json` or `sarif`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Exit 1 when a finding is at or above this severity: `low`,
        /// `medium`, `high` or `critical`. Findings alone never fail otherwise.
        #[arg(long, value_name = "SEVERITY")]
        fail_on: Option<String>,
    },
    /// Every workload and principal that can perform ACTION on RESOURCE, each
    /// with its shortest path and the statements that allow each hop.
    WhoCan {
        /// An action, as `s3:GetObject` or `sts:AssumeRole`.
        action: String,
        /// An ARN, as `arn:aws:s3:::bucket/key` or a role's ARN.
        resource: String,
        #[command(flatten)]
        input: AnalyzerInput,
    },
    /// What a workload (or user) can reach, and how: the roles it gets and
    /// the bucket actions they allow.
    Paths {
        /// `CLUSTER/NAMESPACE/SERVICEACCOUNT`, or a user's ARN.
        #[arg(long)]
        from: String,
        /// Only the paths ending at this ARN.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        input: AnalyzerInput,
    },
    /// One decision, explained: may PRINCIPAL (a role or user ARN, or
    /// CLUSTER/NAMESPACE/SERVICEACCOUNT) perform ACTION on RESOURCE? Exit 0
    /// when allowed, 1 when not. Formats: `table` or `json`.
    Can {
        principal: String,
        action: String,
        resource: String,
        #[command(flatten)]
        input: AnalyzerInput,
    },
    /// The access a change adds and removes, between two models (root
    /// files, or `REV:PATH` for git revisions). Exit 1 when it adds any.
    Diff {
        old: String,
        new: String,
        /// Exit 0 even when the change adds access.
        #[arg(long)]
        allow_new: bool,
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Build a model from AWS and Kubernetes exports (docs/import.md); what
    /// cannot be mapped is reported, and listed in OUT/IMPORT-REPORT.md.
    Import(import::Args),
    /// Compare the guide's centralized and decentralized EKS layouts for the
    /// model's workloads: clusters, VPCs, roles, trusts, providers,
    /// associations, blast radius, routes and quota headroom.
    Compare {
        /// The model's root YAML file; the embedded example when absent.
        model: Option<PathBuf>,
        /// `table` (for people) or `json` (for scripts).
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Write a synthetic organization of realistic shape as model files:
    /// cluster and workload accounts, clusters with service accounts, Pod
    /// Identity, ABAC chains, target roles, IRSA, buckets, users.
    Generate {
        /// Accounts, the management account included (at least 3).
        #[arg(long)]
        accounts: usize,
        /// EKS clusters: four in five shared, one in five in a workload account.
        #[arg(long)]
        clusters: usize,
        #[arg(long, default_value_t = orgtwin_analyze::generate::DEFAULT_ROLES_PER_ACCOUNT)]
        roles_per_account: usize,
        #[arg(long, default_value_t = orgtwin_analyze::generate::DEFAULT_SERVICE_ACCOUNTS_PER_CLUSTER)]
        service_accounts_per_cluster: usize,
        /// Workload roles admitting a shared cluster's service account;
        /// three per account (as many as fit) when absent.
        #[arg(long)]
        cross_account_trusts: Option<usize>,
        /// The same seed writes the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The directory to write `org.yaml` and the rest into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the decision trail: every authorization decision with its reason.
    Trail {
        #[arg(long, default_value = twin::DEFAULT_STATE)]
        state: PathBuf,
        /// Only denials.
        #[arg(long)]
        denied: bool,
        /// Keep printing new decisions.
        #[arg(long)]
        follow: bool,
    },
    /// Write the twin's current model back as model files.
    Export {
        #[arg(long, default_value = twin::DEFAULT_STATE)]
        state: PathBuf,
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
}

/// What the analyzer reads and how it answers.
#[derive(clap::Args)]
struct AnalyzerInput {
    /// The model's root file, a twin's state directory, or `REV:PATH` at a
    /// git revision; the embedded example when absent.
    #[arg(long)]
    model: Option<String>,
    /// `table`, `json`, `sarif`, `dot` or `mermaid`.
    #[arg(long, default_value = "table")]
    format: String,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check a policy document the way IAM would, and print each problem
    /// with its line and column.
    Validate {
        /// The policy document (JSON).
        file: PathBuf,
        /// identity, resource, trust, scp, rcp, session or permissions-boundary.
        #[arg(long = "type", default_value = "identity")]
        policy_type: String,
    },
}

/// The twin allocates and frees many small strings per request (XML, log
/// lines, identifiers); mimalloc serves them from thread-local pages, which
/// measured about a tenth less CPU per `AssumeRole` than glibc's allocator
/// (docs/benchmarks-twin.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The status of a Unix tool killed by SIGPIPE (128 + 13).
const CLOSED_STDOUT: i32 = 141;

/// A reader that stops early (`orgtwin check | head`) closes the pipe, and
/// Rust, which ignores SIGPIPE, makes the next `println!` panic. Such a
/// panic ends the command as SIGPIPE ends other tools: quietly, with
/// status 141. Any other panic keeps the default report.
fn end_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        // EPIPE is 32 on Linux; std's message says so in any locale.
        if message.starts_with("failed printing to stdout") && message.ends_with("(os error 32)") {
            std::process::exit(CLOSED_STDOUT);
        }
        report(info);
    }));
}

fn main() -> ExitCode {
    end_quietly_when_stdout_closes();
    let cli = Cli::parse();
    match cli.command {
        Command::Policy {
            command: PolicyCommand::Validate { file, policy_type },
        } => validate::run(&file, &policy_type),
        Command::Simulate { cases } => simulate::run(&cases),
        Command::Up {
            model,
            listen,
            state,
            reset,
            test_clock,
        } => twin::up(model.as_deref(), &listen, &state, reset, test_clock),
        Command::Run {
            pod,
            pod_name,
            env,
            model,
            state,
            endpoint,
            command,
        } => run::run(
            &run::Target {
                model: model.as_deref(),
                state: &state,
                endpoint: endpoint.as_deref(),
            },
            &pod,
            pod_name.as_deref(),
            &env,
            &command,
        ),
        Command::Env {
            pod: Some(pod),
            pod_name,
            env,
            token_dir,
            state,
            endpoint,
            ..
        } => run::env(
            &run::Target {
                model: None,
                state: &state,
                endpoint: endpoint.as_deref(),
            },
            &pod,
            pod_name.as_deref(),
            &env,
            &token_dir,
        ),
        Command::Env {
            account,
            user,
            state,
            endpoint,
            ..
        } => twin::env(
            &state,
            account.as_deref(),
            user.as_deref(),
            endpoint.as_deref(),
        ),
        Command::Check {
            model,
            format,
            fail_on,
        } => twin::check(model.as_deref(), &format, fail_on.as_deref()),
        Command::WhoCan {
            action,
            resource,
            input,
        } => analyze::who_can_command(input.model.as_deref(), &action, &resource, &input.format),
        Command::Paths { from, to, input } => {
            analyze::paths(input.model.as_deref(), &from, to.as_deref(), &input.format)
        }
        Command::Can {
            principal,
            action,
            resource,
            input,
        } => analyze::can(
            input.model.as_deref(),
            &principal,
            &action,
            &resource,
            &input.format,
        ),
        Command::Diff {
            old,
            new,
            allow_new,
            format,
        } => analyze::diff(&old, &new, allow_new, &format),
        Command::Import(args) => import::run(args),
        Command::Compare { model, format } => compare::run(model.as_deref(), &format),
        Command::Generate {
            accounts,
            clusters,
            roles_per_account,
            service_accounts_per_cluster,
            cross_account_trusts,
            seed,
            out,
        } => generate::run(
            &orgtwin_analyze::generate::Spec {
                accounts,
                clusters,
                roles_per_account,
                service_accounts_per_cluster,
                cross_account_trusts,
                seed,
            },
            &out,
        ),
        Command::Trail {
            state,
            denied,
            follow,
        } => twin::trail(&state, denied, follow),
        Command::Export { state, output } => twin::export(&state, &output),
    }
}

/// Reads a file, or standard input for `-`.
fn read_input(path: &PathBuf) -> std::io::Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(std::io::stdin().lock()))
    } else {
        Ok(Box::new(std::io::BufReader::new(std::fs::File::open(
            path,
        )?)))
    }
}

/// Writes a line to standard output; a closed pipe ends the program quietly.
fn emit(out: &mut impl Write, line: &str) -> bool {
    writeln!(out, "{line}").is_ok()
}
