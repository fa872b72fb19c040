//! `orgtwin import`: a model built from what teams can export today
//! without orgtwin.
//!
//! | source | module | gives |
//! |---|---|---|
//! | a directory of `aws organizations` outputs | `organizations` | the organization, its OUs, accounts, SCPs and RCPs |
//! | `aws iam get-account-authorization-details`, `list-roles`, `get-open-id-connect-provider` | `iam` | each account's users, groups, roles, managed policies, OIDC providers |
//! | `aws eks describe-cluster`, `describe-pod-identity-association`, `list-pod-identity-associations`, `list-clusters` | `eks` | clusters and their Pod Identity associations |
//! | `kubectl get serviceaccounts -A -o json`, per cluster | `kubectl` | service accounts and their IRSA annotations |
//! | eksctl `ClusterConfig` files | `eksctl` | clusters, IRSA service accounts, associations |
//!
//! The import goes in three steps: read every export (a malformed one
//! stops the import, at its file, line and JSON path); assemble a draft of
//! the model (`assemble`), reporting what cannot be mapped
//! ([`report::Report`]) instead of dropping it; check the draft by
//! rendering it as model files and loading them with the model's own checks
//! (a problem is explained at the export it came from), then export the
//! checked model with [`crate::export_files`] and load those files back.
//! Only a model that survives all of it is handed out; nothing is written
//! here: the caller writes [`Imported::files`].
//!
//! Without an organization listing, `management_account` is required: the
//! import makes a minimal organization of that account and every account
//! the other exports name, all at the root, with `FullAWSAccess` attached
//! everywhere (SCPs unknown; reported). With a listing, an account the
//! listing lacks is not made part of the organization: what belongs to it
//! is reported and left out, and it is listed as an external account.

mod assemble;
mod clusters;
mod draft;
mod eks;
mod eksctl;
mod error;
mod iam;
mod input;
mod kubectl;
mod organizations;
mod report;

use std::path::PathBuf;

pub use error::{ImportError, Origin};
pub use report::{Kind, Report, Unmapped};

use crate::model::Model;

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// A directory of `aws organizations` outputs (docs/import.md).
    pub organizations: Option<PathBuf>,
    /// `aws iam` outputs, one `get-account-authorization-details` per
    /// account, with `list-roles` and `get-open-id-connect-provider`.
    pub iam: Vec<AccountFile>,
    /// `aws eks` outputs.
    pub eks: Vec<PathBuf>,
    /// `kubectl get serviceaccounts -A -o json`, per cluster.
    pub kubectl: Vec<ClusterFile>,
    /// eksctl `ClusterConfig` files.
    pub eksctl: Vec<AccountFile>,
    /// The management account, when there is no organization listing.
    pub management_account: Option<String>,
}

impl Inputs {
    fn count(&self) -> usize {
        usize::from(self.organizations.is_some())
            + self.iam.len()
            + self.eks.len()
            + self.kubectl.len()
            + self.eksctl.len()
    }
}

/// An export, and the account it belongs to when its content does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountFile {
    pub account: Option<String>,
    pub path: PathBuf,
}

impl AccountFile {
    /// `ACCOUNT=FILE` (the part before `=` is 12 digits) or `FILE`.
    pub fn parse(argument: &str) -> AccountFile {
        match argument.split_once('=') {
            Some((account, path)) if crate::rules::account_id(account).is_none() => AccountFile {
                account: Some(account.to_string()),
                path: PathBuf::from(path),
            },
            _ => AccountFile {
                account: None,
                path: PathBuf::from(argument),
            },
        }
    }
}

/// A `kubectl` output and the cluster it was taken from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterFile {
    pub cluster: String,
    pub path: PathBuf,
}

impl ClusterFile {
    /// `CLUSTER=FILE`.
    pub fn parse(argument: &str) -> Result<ClusterFile, ImportError> {
        argument
            .split_once('=')
            .filter(|(cluster, path)| !cluster.is_empty() && !path.is_empty())
            .map(|(cluster, path)| ClusterFile {
                cluster: cluster.to_string(),
                path: PathBuf::from(path),
            })
            .ok_or_else(|| {
                ImportError::inputs(
                    format!("`{argument}` is not `CLUSTER=FILE`"),
                    "name the cluster the service accounts were listed in: \
                     `--kubectl ProductionCluster=sa.json`",
                )
            })
    }
}

/// One step of an import, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Step<'a> {
    /// Steps done, this one included.
    pub done: usize,
    pub total: usize,
    pub what: &'a str,
}

/// A checked model, its files, and what could not be mapped.
#[derive(Debug)]
pub struct Imported {
    /// The model's files, as [`crate::export_files`] writes them.
    pub files: Vec<(PathBuf, String)>,
    /// The model, as loaded back from `files`.
    pub model: Model,
    pub report: Report,
}

/// Counts steps for `progress`.
struct Steps<'p> {
    done: usize,
    total: usize,
    progress: &'p mut dyn FnMut(Step<'_>),
}

impl Steps<'_> {
    fn next(&mut self, what: &str) {
        self.done += 1;
        (self.progress)(Step {
            done: self.done,
            total: self.total,
            what,
        });
    }
}

/// Builds and checks a model from `inputs`; `progress` hears of each
/// export read and of the checks.
pub fn import(
    inputs: &Inputs,
    progress: &mut dyn FnMut(Step<'_>),
) -> Result<Imported, ImportError> {
    let mut steps = Steps {
        done: 0,
        total: inputs.count() + 2,
        progress,
    };
    if inputs.organizations.is_none() && inputs.management_account.is_none() {
        // Known before any export is read.
        return Err(assemble::no_management_account());
    }
    let mut report = Report::default();
    let mut read = assemble::Read::default();
    if let Some(dir) = &inputs.organizations {
        steps.next(&dir.display().to_string());
        read.listing = Some(organizations::read(dir, &mut report)?);
    }
    for input in &inputs.iam {
        steps.next(&input.path.display().to_string());
        read.iam.push(iam::read(input, &mut report)?);
    }
    for path in &inputs.eks {
        steps.next(&path.display().to_string());
        read.eks.push(eks::read(path, &mut report)?);
    }
    for input in &inputs.eksctl {
        steps.next(&input.path.display().to_string());
        let clusters = eksctl::read(&input.path, &mut report)?;
        read.eksctl.push((input.clone(), clusters));
    }
    for input in &inputs.kubectl {
        steps.next(&input.path.display().to_string());
        let accounts = kubectl::read(&input.path, &mut report)?;
        read.kubectl.push((input.clone(), accounts));
    }
    read.management_account = inputs.management_account.clone();
    let draft = assemble::assemble(read, &mut report)?;

    steps.next("checking the model");
    let rendered = draft.render();
    let model = crate::load_from_memory("org.yaml", &rendered.borrowed()).map_err(|errors| {
        ImportError::Model {
            problems: rendered.explain(&errors),
        }
    })?;
    steps.next("checking the model's files");
    let files = crate::export_files(&model);
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let texts: Vec<(&str, &str)> = names
        .iter()
        .zip(&files)
        .map(|(name, (_, text))| (name.as_str(), text.as_str()))
        .collect();
    let back =
        crate::load_from_memory("org.yaml", &texts).map_err(|errors| ImportError::RoundTrip {
            reason: errors.brief(),
        })?;
    if back != model {
        return Err(ImportError::RoundTrip {
            reason: "the model loaded back differs".into(),
        });
    }
    Ok(Imported {
        files,
        model: back,
        report,
    })
}

/// Tags as the model takes them: IAM's rules for keys and values, no
/// `aws:` prefix, keys unique ignoring case, at most 50. The rest are
/// reported and left out.
fn checked_tags(
    pairs: Vec<(String, String, Origin)>,
    owner: &str,
    report: &mut Report,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value, origin) in pairs {
        let why = crate::rules::tag_key(&key)
            .or_else(|| crate::rules::tag_value(&value))
            .or_else(|| {
                out.iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case(&key))
                    .then(|| "a tag key repeated ignoring case".to_string())
            })
            .or_else(|| (out.len() >= 50).then(|| "more than 50 tags".to_string()));
        match why {
            Some(why) => report.push(
                Kind::Refused,
                origin,
                format!("{owner}: tag `{key}` left out: {why}"),
            ),
            None => out.push((key, value)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_prefixes_are_twelve_digits() {
        let given = AccountFile::parse("111122223333=exports/oidc.json");
        assert_eq!(given.account.as_deref(), Some("111122223333"));
        assert_eq!(given.path, PathBuf::from("exports/oidc.json"));
        let plain = AccountFile::parse("dir/a=b.json");
        assert_eq!(plain.account, None);
        assert_eq!(plain.path, PathBuf::from("dir/a=b.json"));
        assert!(ClusterFile::parse("ProductionCluster=sa.json").is_ok());
        assert!(ClusterFile::parse("sa.json").is_err());
    }

    #[test]
    fn tags_the_model_refuses_are_reported() {
        let mut report = Report::default();
        let pairs = vec![
            ("team".to_string(), "payroll".to_string(), Origin::default()),
            (
                "aws:cloudformation:stack-name".into(),
                "x".into(),
                Origin::default(),
            ),
            ("Team".into(), "other".into(), Origin::default()),
        ];
        let tags = checked_tags(pairs, "role `r`", &mut report);
        assert_eq!(tags, [("team".to_string(), "payroll".to_string())]);
        assert_eq!(report.items.len(), 2);
        assert!(report.items[0].message.contains("reserved for AWS"));
    }
}
