//! `orgtwin import`: model files from AWS and Kubernetes exports
//! (`orgtwin_model::import`, docs/import.md).
//!
//! Everything is built and checked in memory first; on any error nothing
//! is written and the exit code is 2. Into an absent directory the model
//! is written in a sibling staging directory and renamed into place, so
//! the directory appears whole or not at all. Into an existing directory
//! (empty, or any with `--force`) every file is written beside its place
//! first and moved in only when all are written, the files they replace
//! put back if a move fails; files of other names are left alone and never
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
    let written = if out.exists() {
        write_over(out, &files)
    } else {
        write_whole(out, &files)
    };
    written.map_err(Failure::Other)?;
    summarize(out, &imported);
    Ok(())
}

/// A name for this run's temporary files and directories that no earlier
/// run left behind (a process id alone repeats, as PID 1 in containers).
fn temporary_suffix() -> String {
    let random: String = orgtwin_twin::ids::random_bytes(4)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("orgtwin-import-{}-{random}", std::process::id())
}

/// Writes the files into a new sibling staging directory, then renames it
/// to `out`, which does not exist.
fn write_whole(out: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    // `foo/..` and `.` have no name to put a sibling beside.
    let out =
        std::path::absolute(out).map_err(|e| format!("cannot resolve `{}`: {e}", out.display()))?;
    let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
        return Err(format!("`{}` cannot be created", out.display()));
    };
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    let staging = parent.join(format!(
        ".{}.{}",
        name.to_string_lossy(),
        temporary_suffix()
    ));
    // `create_dir`, not `create_dir_all`: never into a leftover.
    std::fs::create_dir(&staging)
        .map_err(|e| format!("cannot create `{}`: {e}", staging.display()))?;
    let result = files
        .iter()
        .try_for_each(|(relative, text)| write_new(&staging.join(relative), text))
        .and_then(|()| {
            std::fs::rename(&staging, &out)
                .map_err(|e| format!("cannot move the model into `{}`: {e}", out.display()))
        });
    if result.is_err() {
        // Only the staging directory this process made.
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Writes `text` to a new file at `path`, creating its folders.
fn write_new(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
}

/// Replaces the model's files in the directory `out`, all or none: every
/// file is first written beside its place; only when all are written are
/// they moved in, `org.yaml` (which names the others) last, each file they
/// replace kept aside until every move is done and put back if one fails.
fn write_over(out: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let suffix = temporary_suffix();
    let mut replace = Replace::default();
    let mut ordered: Vec<&(PathBuf, String)> = files.iter().collect();
    // Stable: the other files keep their order.
    ordered.sort_by_key(|(relative, _)| relative == Path::new("org.yaml"));
    let result = ordered
        .iter()
        .try_for_each(|(relative, text)| replace.stage(out, relative, text, &suffix))
        .and_then(|()| replace.move_in(&suffix));
    match &result {
        Ok(()) => replace.forget_originals(),
        Err(_) => replace.undo(),
    }
    result
}

/// What [`write_over`] has done so far, to finish or undo it.
#[derive(Default)]
struct Replace {
    /// Folders it created, outermost first.
    folders: Vec<PathBuf>,
    /// Each file: its place and the new text's temporary name beside it.
    staged: Vec<(PathBuf, PathBuf)>,
    /// Files moved in, and where the file each replaced was kept.
    moved: Vec<(PathBuf, Option<PathBuf>)>,
}

impl Replace {
    fn stage(
        &mut self,
        out: &Path,
        relative: &Path,
        text: &str,
        suffix: &str,
    ) -> Result<(), String> {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            let missing: Vec<PathBuf> = parent
                .ancestors()
                .take_while(|a| !a.exists())
                .map(Path::to_path_buf)
                .collect();
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
            self.folders.extend(missing.into_iter().rev());
        }
        if path.symlink_metadata().is_ok_and(|m| !m.is_file()) {
            return Err(format!(
                "`{}` is in the way: the model has a file of that name",
                path.display()
            ));
        }
        let staged = beside(&path, suffix, "new");
        self.staged.push((path.clone(), staged.clone()));
        std::fs::write(&staged, text).map_err(|e| format!("cannot write `{}`: {e}", path.display()))
    }

    fn move_in(&mut self, suffix: &str) -> Result<(), String> {
        // Popped from the end: a file stays in `staged` until it is in.
        self.staged.reverse();
        while let Some((path, staged)) = self.staged.last().cloned() {
            let kept = if path.exists() {
                let kept = beside(&path, suffix, "old");
                std::fs::rename(&path, &kept)
                    .map_err(|e| format!("cannot replace `{}`: {e}", path.display()))?;
                Some(kept)
            } else {
                None
            };
            let moved = std::fs::rename(&staged, &path);
            self.moved.push((path.clone(), kept));
            moved.map_err(|e| format!("cannot replace `{}`: {e}", path.display()))?;
            self.staged.pop();
        }
        Ok(())
    }

    fn forget_originals(&self) {
        for (_, kept) in &self.moved {
            if let Some(kept) = kept {
                let _ = std::fs::remove_file(kept);
            }
        }
    }

    /// Puts back what was there: best effort, each step on its own.
    fn undo(&self) {
        for (path, kept) in self.moved.iter().rev() {
            match kept {
                Some(kept) => {
                    let _ = std::fs::rename(kept, path);
                }
                None => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        for (_, staged) in &self.staged {
            let _ = std::fs::remove_file(staged);
        }
        for folder in self.folders.iter().rev() {
            // Only folders this run made, and only if left empty.
            let _ = std::fs::remove_dir(folder);
        }
    }
}

/// `path` with `.SUFFIX.what` added to its name.
fn beside(path: &Path, suffix: &str, what: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{suffix}.{what}"));
    PathBuf::from(name)
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

#[cfg(test)]
mod tests {
    // Test code: a failed unwrap is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A move that fails after others went in: [`write_over`] undoes the
    /// moves already made, which this test runs by hand (a rename that
    /// fails on demand needs privileges a test does not have).
    #[test]
    fn undo_puts_back_every_file_a_move_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(out.join("org.yaml"), "old org\n").unwrap();
        let mut replace = Replace::default();
        for (relative, text) in [("accounts/a.yaml", "new a\n"), ("org.yaml", "new org\n")] {
            replace.stage(out, Path::new(relative), text, "t").unwrap();
        }
        replace.move_in("t").unwrap();
        assert_eq!(
            std::fs::read_to_string(out.join("org.yaml")).unwrap(),
            "new org\n"
        );
        replace.undo();
        assert_eq!(
            std::fs::read_to_string(out.join("org.yaml")).unwrap(),
            "old org\n"
        );
        let left: Vec<_> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["org.yaml"]);
    }
}
