//! `orgtwin import`: model files from AWS and Kubernetes exports
//! (`orgtwin_model::import`), written only when the whole model loads.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use orgtwin_model::import::{Inputs, import};

/// The flags of `orgtwin import`.
pub struct Flags<'a> {
    pub out: &'a Path,
    pub organizations: Option<PathBuf>,
    pub iam: Vec<PathBuf>,
    pub eks: Vec<PathBuf>,
    pub kubectl: &'a [String],
    pub eksctl: &'a [String],
    pub management_account: Option<String>,
    pub force: bool,
}

fn pairs(flag: &str, items: &[String]) -> Result<Vec<(String, PathBuf)>, String> {
    items
        .iter()
        .map(|item| {
            item.split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .map(|(k, v)| (k.to_string(), PathBuf::from(v)))
                .ok_or_else(|| format!("`--{flag} {item}` is not NAME=FILE"))
        })
        .collect()
}

pub fn run(flags: Flags<'_>) -> ExitCode {
    match run_inner(flags) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(flags: Flags<'_>) -> Result<ExitCode, String> {
    let out = flags.out;
    let occupied = out
        .read_dir()
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    if occupied && !flags.force {
        return Err(format!(
            "{} is not empty; give an empty directory, or `--force` to write over it",
            out.display()
        ));
    }
    let inputs = Inputs {
        organizations: flags.organizations,
        iam: flags.iam,
        eks: flags.eks,
        kubectl: pairs("kubectl", flags.kubectl)?,
        eksctl: pairs("eksctl", flags.eksctl)?,
        management_account: flags.management_account,
    };
    let total = usize::from(inputs.organizations.is_some())
        + inputs.iam.len()
        + inputs.eks.len()
        + inputs.kubectl.len()
        + inputs.eksctl.len();
    let terminal = std::io::stderr().is_terminal();
    let mut done = 0usize;
    let mut progress = |what: &str| {
        done += 1;
        if terminal {
            let width = 30;
            let filled = (done * width) / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total} {what:.40}\x1b[K",
                "#".repeat(filled),
                " ".repeat(width - filled.min(width))
            );
            let _ = std::io::stderr().flush();
        }
    };
    let imported = import(&inputs, &mut progress).map_err(|e| e.to_string())?;
    if terminal {
        eprintln!();
    }
    let mut report = String::from("# What `orgtwin import` could not map\n\n");
    if imported.unmapped.is_empty() {
        report.push_str("Everything given was mapped.\n");
    }
    for line in &imported.unmapped {
        report.push_str(&format!("- {line}\n"));
    }
    let mut files = imported.files;
    files.push((PathBuf::from("IMPORT-REPORT.md"), report));
    // Everything was checked in memory; write it now, each file whole.
    for (relative, text) in &files {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let model = &imported.model;
    println!(
        "imported {} accounts, {} roles, {} clusters into {} ({} item(s) not mapped: see IMPORT-REPORT.md)",
        model.accounts.len(),
        model
            .accounts
            .values()
            .map(|a| a.iam.roles.len())
            .sum::<usize>(),
        model.clusters().count(),
        out.display(),
        imported.unmapped.len()
    );
    for line in &imported.unmapped {
        eprintln!("not mapped: {line}");
    }
    Ok(ExitCode::SUCCESS)
}
