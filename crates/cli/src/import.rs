//! `orgtwin import`: model files from AWS and Kubernetes exports
//! (`orgtwin_model::import`, docs/import.md).
//!
//! Everything is built and checked in memory first; on any error nothing
//! is written and the exit code is 2. Into an absent or empty directory
//! the model is written in a sibling staging directory and renamed into
//! place, so the directory appears whole or not at all. With `--force`
//! into a directory that is not empty, each file is replaced whole (written
//! beside it, then renamed); files of other names are left alone and never
//! read back (`org.yaml` names every file it includes).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use orgtwin_model::import::{
    AccountFile, ClusterFile, ImportError, Imported, Inputs, Step, import,
};

/// The flags of `orgtwin import`.
#[derive(clap::Args)]
pub struct Args {
    /// The directory to write the model into: absent or empty, unless
    /// `--force`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// A directory of `aws organizations` outputs, one file per command.
    #[arg(long, value_name = "DIR")]
    organizations: Option<PathBuf>,
    /// `aws iam get-account-authorization-details`, `list-roles` or
    /// `get-open-id-connect-provider` output (the last as ACCOUNT=FILE);
    /// repeat for each file.
    #[arg(long, value_name = "[ACCOUNT=]FILE")]
    iam: Vec<String>,
    /// `aws eks describe-cluster`, `describe-pod-identity-association`,
    /// `list-pod-identity-associations` or `list-clusters` output; repeat.
    #[arg(long, value_name = "FILE")]
    eks: Vec<PathBuf>,
    /// `kubectl get serviceaccounts -A -o json` output of a cluster; repeat.
    #[arg(long, value_name = "CLUSTER=FILE")]
    kubectl: Vec<String>,
    /// An eksctl ClusterConfig file; its account is found from the
    /// cluster's describe-cluster output or its Pod Identity roles unless
    /// given; repeat.
    #[arg(long, value_name = "[ACCOUNT=]FILE")]
    eksctl: Vec<String>,
    /// The management account; required without `--organizations`.
    #[arg(long, value_name = "ID")]
    management_account: Option<String>,
    /// Write into a directory that is not empty.
    #[arg(long)]
    force: bool,
}

/// What stopped the command; nothing was written.
enum Failure {
    Import(ImportError),
    Other(String),
}

pub fn run(args: Args) -> ExitCode {
    match import_into(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Import(e)) => {
            // Plain lines, not wrapped: they name files and JSON paths.
            eprintln!("error: {e}");
            if let Some(help) = miette::Diagnostic::help(&e) {
                eprintln!("help: {help}");
            }
            eprintln!("nothing was written");
            ExitCode::from(2)
        }
        Err(Failure::Other(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn import_into(args: Args) -> Result<(), Failure> {
    let out = args.out.as_path();
    let empty = match std::fs::read_dir(out) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            return Err(Failure::Other(format!(
                "cannot read `{}`: {e}",
                out.display()
            )));
        }
    };
    if !empty && !args.force {
        return Err(Failure::Other(format!(
            "`{}` is not empty; give an empty or new directory, or `--force` to replace the \
             model's files in it",
            out.display()
        )));
    }
    let kubectl = args
        .kubectl
        .iter()
        .map(|a| ClusterFile::parse(a))
        .collect::<Result<_, _>>()
        .map_err(Failure::Import)?;
    let inputs = Inputs {
        organizations: args.organizations,
        iam: args.iam.iter().map(|a| AccountFile::parse(a)).collect(),
        eks: args.eks,
        kubectl,
        eksctl: args.eksctl.iter().map(|a| AccountFile::parse(a)).collect(),
        management_account: args.management_account,
    };
    let mut bar = Bar::new();
    let imported = import(&inputs, &mut |step| bar.show(step));
    bar.finish();
    let imported = imported.map_err(Failure::Import)?;
    let mut files = imported.files.clone();
    files.push((
        PathBuf::from("IMPORT-REPORT.md"),
        imported.report.markdown(),
    ));
    let written = if empty {
        write_whole(out, &files)
    } else {
        write_over(out, &files)
    };
    written.map_err(Failure::Other)?;
    summarize(out, &imported);
    Ok(())
}

/// Writes the files into a sibling staging directory, then renames it to
/// `out` (which is absent or empty).
fn write_whole(out: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let name = out
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let staging = out.with_file_name(format!(".{name}.orgtwin-import-{}", std::process::id()));
    let result = write_files(&staging, files).and_then(|()| {
        if out.exists() {
            std::fs::remove_dir(out)
                .map_err(|e| format!("cannot replace `{}`: {e}", out.display()))?;
        }
        std::fs::rename(&staging, out)
            .map_err(|e| format!("cannot move the model into `{}`: {e}", out.display()))
    });
    if result.is_err() {
        // Only the staging directory this process made.
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn write_files(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// Replaces each file whole: written beside itself, then renamed.
fn write_over(out: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    for (relative, text) in files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        let mut temporary = path.clone().into_os_string();
        temporary.push(format!(".orgtwin-import-{}", std::process::id()));
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                format!("cannot write `{}`: {e}", path.display())
            })?;
    }
    Ok(())
}

fn summarize(out: &Path, imported: &Imported) {
    let model = &imported.model;
    let roles: usize = model.accounts.values().map(|a| a.iam.roles.len()).sum();
    let associations: usize = model
        .clusters()
        .map(|(_, c)| c.pod_identity_associations.len())
        .sum();
    println!(
        "imported {} accounts, {} roles, {} clusters, {} Pod Identity associations into {}",
        model.accounts.len(),
        roles,
        model.clusters().count(),
        associations,
        out.join("org.yaml").display()
    );
    let items = &imported.report.items;
    if items.is_empty() {
        println!("everything in the exports was mapped");
        return;
    }
    println!(
        "{} item(s) not mapped (also in {}):",
        items.len(),
        out.join("IMPORT-REPORT.md").display()
    );
    for item in items {
        println!("  - {item}");
    }
}

/// A progress bar on standard error, drawn only on a terminal.
struct Bar {
    terminal: bool,
    drawn: bool,
}

impl Bar {
    const WIDTH: usize = 30;

    fn new() -> Bar {
        Bar {
            terminal: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    fn show(&mut self, step: Step<'_>) {
        if !self.terminal {
            return;
        }
        let filled = (step.done * Bar::WIDTH) / step.total.max(1);
        let what: String = step
            .what
            .chars()
            .rev()
            .take(50)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r[{}{}] {}/{} {what}\x1b[K",
            "#".repeat(filled.min(Bar::WIDTH)),
            " ".repeat(Bar::WIDTH.saturating_sub(filled)),
            step.done,
            step.total
        );
        let _ = stderr.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
        }
    }
}
