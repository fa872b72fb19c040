//! Loading a model: the root file, the files it includes, the policy files
//! they name; then the checks, and the checked model or every problem.
//!
//! `include:` takes a list of paths or glob patterns (`accounts/*.yaml`),
//! relative to the file that includes them; `*` stays within one directory
//! and `**` crosses directories. Included files may include others. A
//! pattern that matches nothing, a missing file, and a file included twice
//! are problems. Files are read in order: the root file, then each include
//! in the order written, each expanded before the next (depth first), with
//! the matches of one pattern in path order.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use orgtwin_policy::json::Span;

use crate::check;
use crate::error::{LoadErrors, Problem, Report};
use crate::model::Model;
use crate::raw::RawFile;
use crate::read::read_file;
use crate::source::{Disk, Files, Loc, Memory, Sources, beside, normalize};
use crate::yaml;

/// Loads the model whose root file is `path`, with the files it includes
/// and the policy files they name, from disk.
pub fn load(path: impl AsRef<Path>) -> Result<Model, LoadErrors> {
    load_with(&Disk, path.as_ref())
}

/// Loads a model from texts in memory, `(relative path, text)`, the root
/// file being `root` (one of the paths).
pub fn load_from_memory(root: &str, files: &[(&str, &str)]) -> Result<Model, LoadErrors> {
    let memory = Memory {
        files: files
            .iter()
            .map(|(path, text)| (normalize(Path::new(path)), *text))
            .collect::<BTreeMap<_, _>>(),
    };
    load_with(&memory, Path::new(root))
}

fn load_with(files: &dyn Files, root: &Path) -> Result<Model, LoadErrors> {
    let mut sources = Sources::default();
    let mut report = Report::default();
    let raws = read_all(files, root, &mut sources, &mut report);
    let model = check::build(&raws, files, &mut sources, &mut report);
    if report.is_empty() {
        Ok(model)
    } else {
        Err(report.finish(&sources))
    }
}

/// Reads the root file and everything it includes, depth first.
fn read_all(
    files: &dyn Files,
    root: &Path,
    sources: &mut Sources,
    report: &mut Report,
) -> Vec<RawFile> {
    let mut raws = Vec::new();
    let mut included: HashMap<PathBuf, Option<Loc>> = HashMap::new();
    let root = normalize(root);
    included.insert(root.clone(), None);
    let mut pending = vec![(root, None::<Loc>)];
    while let Some((path, by)) = pending.pop() {
        let text = match files.read(&path) {
            Ok(text) => text,
            Err(reason) => {
                let problem = Problem::Unreadable {
                    path: path.display().to_string(),
                    reason,
                };
                let loc = by.unwrap_or_else(|| {
                    let id = sources.add(path.clone(), Arc::from(""));
                    Loc::new(id, Span::default(), "")
                });
                report.push(&loc, problem);
                continue;
            }
        };
        let id = sources.add(path.clone(), Arc::from(text));
        let Some(source) = sources.get(id) else {
            continue;
        };
        let node = match yaml::parse(source) {
            Ok(node) => node,
            Err(error) => {
                report_yaml(report, id, error);
                continue;
            }
        };
        let mut raw = read_file(id, &node, report);
        read_cluster_files(files, &path, &mut raw, sources, report);
        let mut children = Vec::new();
        for pattern in &raw.include {
            for found in expand(files, &path, pattern, report) {
                if let Some(first) = included.get(&found) {
                    let first = match first {
                        Some(loc) => describe(sources, loc),
                        None => "the root file".to_string(),
                    };
                    report.push(
                        &pattern.loc,
                        Problem::AlreadyIncluded {
                            path: found.display().to_string(),
                            first,
                        },
                    );
                    continue;
                }
                included.insert(found.clone(), Some(pattern.loc.clone()));
                children.push((found, Some(pattern.loc.clone())));
            }
        }
        pending.extend(children.into_iter().rev());
        raws.push(raw);
    }
    raws
}

/// Reads the files an account's `eks:` section names: eksctl
/// `ClusterConfig` files (each one more cluster) and each cluster's
/// Kubernetes manifests (more service accounts and namespaces).
fn read_cluster_files(
    files: &dyn Files,
    from: &Path,
    raw: &mut crate::raw::RawFile,
    sources: &mut Sources,
    report: &mut Report,
) {
    for account in &mut raw.accounts {
        let configs = account.eks.eksctl_configs.clone();
        for config in &configs {
            let Some((id, nodes)) = read_other(files, from, config, sources, report) else {
                continue;
            };
            for node in &nodes {
                let Some(cluster) = crate::read_other::read_eksctl(id, node, report) else {
                    continue;
                };
                // A model without the access such a role gives would say
                // less than the cluster does; add-on associations are
                // documented as not read.
                for created in cluster
                    .eksctl_passed_over
                    .iter()
                    .filter(|p| p.kind == crate::raw::PassedOver::CreatedRole)
                {
                    report.push(
                        &created.loc,
                        Problem::Refused {
                            message: created.what.clone(),
                            help: "give the role eksctl made (`attachRoleARN`, or `roleARN` for \
                                   an association), or declare this service account in the \
                                   model with its role"
                                .into(),
                        },
                    );
                }
                account.eks.clusters.push(cluster);
            }
        }
        for cluster in &mut account.eks.clusters {
            let manifests = cluster.kubernetes_manifests.clone();
            for manifest in &manifests {
                let Some((id, nodes)) = read_other(files, from, manifest, sources, report) else {
                    continue;
                };
                let (namespaces, accounts) = crate::read_other::read_manifest(id, &nodes, report);
                cluster.namespaces.extend(namespaces);
                cluster.service_accounts.extend(accounts);
            }
        }
    }
}

/// Reads a file another tool wrote (a manifest, an eksctl config), named
/// by `text` relative to the model file `from`, as a stream of YAML
/// documents (JSON is YAML too).
fn read_other(
    files: &dyn Files,
    from: &Path,
    text: &crate::raw::Text,
    sources: &mut Sources,
    report: &mut Report,
) -> Option<(crate::source::FileId, Vec<yaml::Node>)> {
    let full = beside(from, &text.value);
    let content = match files.read(&full) {
        Ok(content) => content,
        Err(reason) => {
            report.push(
                &text.loc,
                Problem::Unreadable {
                    path: full.display().to_string(),
                    reason,
                },
            );
            return None;
        }
    };
    let id = sources.add(full, Arc::from(content));
    let source = sources.get(id)?;
    match yaml::parse_stream(source) {
        Ok(nodes) => Some((id, nodes)),
        Err(error) => {
            report_yaml(report, id, error);
            None
        }
    }
}

/// A file that is not YAML the model reads, reported where it went wrong.
fn report_yaml(report: &mut Report, file: crate::source::FileId, error: yaml::YamlError) {
    let problem = if error.unsupported {
        Problem::UnsupportedYaml {
            reason: error.message,
        }
    } else {
        Problem::YamlSyntax {
            reason: error.message,
        }
    };
    report.push(&Loc::new(file, error.span, ""), problem);
}

/// The files one `include:` entry names.
fn expand(
    files: &dyn Files,
    from: &Path,
    pattern: &crate::raw::Text,
    report: &mut Report,
) -> Vec<PathBuf> {
    let text = pattern.value.as_str();
    if !text.contains(['*', '?', '[']) {
        return vec![beside(from, text)];
    }
    if let Err(e) = glob::Pattern::new(text) {
        report.push(
            &pattern.loc,
            Problem::BadGlob {
                pattern: text.to_string(),
                reason: e.msg.to_string(),
            },
        );
        return Vec::new();
    }
    let dir = normalize(from.parent().unwrap_or_else(|| Path::new("")));
    let joined = normalize(&dir.join(text));
    let full = match joined.strip_prefix(&dir) {
        Ok(rest) if !dir.as_os_str().is_empty() => {
            let dir = glob::Pattern::escape(&dir.display().to_string());
            format!("{dir}/{}", rest.display())
        }
        _ => joined.display().to_string(),
    };
    match files.glob(&full) {
        Ok(found) if found.is_empty() => {
            report.push(
                &pattern.loc,
                Problem::IncludeMatchesNothing {
                    pattern: text.to_string(),
                },
            );
            Vec::new()
        }
        Ok(found) => found,
        Err(reason) => {
            report.push(
                &pattern.loc,
                Problem::BadGlob {
                    pattern: text.to_string(),
                    reason,
                },
            );
            Vec::new()
        }
    }
}

/// `file:line` of a location, for messages that point at a second place.
pub fn describe(sources: &Sources, loc: &Loc) -> String {
    match sources.get(loc.file) {
        Some(file) => {
            let (line, _) = file.line_column(loc.span.start);
            format!("{}:{line}", file.path.display())
        }
        None => "an earlier file".to_string(),
    }
}
