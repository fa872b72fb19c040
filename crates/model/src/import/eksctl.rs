//! Clusters from eksctl `ClusterConfig` files, read by the model's own
//! eksctl reader (the one `eksctl_configs` uses, docs/model.md): the
//! cluster's name, region, version and tags, its `iam.serviceAccounts`
//! (each annotated with its `attachRoleARN`) and its
//! `iam.podIdentityAssociations`. A problem that reader finds stops the
//! import, at its line in the file. A service account or association whose
//! role eksctl creates (its ARN is not in the file), and an add-on's
//! associations (its namespace is not in the file), are reported instead:
//! the kubectl listing and `describe-pod-identity-association` outputs give
//! them as they are.
//!
//! An eksctl file does not name its account. It is given as
//! `ACCOUNT=FILE`, or the account is taken from a `describe-cluster` output
//! of the same cluster, or else from the roles of its Pod Identity
//! associations (EKS requires them in the cluster's account).

use std::path::Path;
use std::sync::Arc;

use super::draft::{Association, Cluster, ServiceAccount};
use super::error::{ImportError, Origin};
use super::report::{Kind, Report};
use crate::error::Report as Problems;
use crate::raw::{RawCluster, RawTags};
use crate::source::Loc;
use crate::source::{SourceFile, Sources};

/// A cluster an eksctl file describes.
#[derive(Debug)]
pub struct EksctlCluster {
    pub cluster: Cluster,
    /// The account of its Pod Identity roles, if they agree on one.
    pub role_account: Option<String>,
}

pub fn read(path: &Path, report: &mut Report) -> Result<Vec<EksctlCluster>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut sources = Sources::default();
    let id = sources.add(path.to_path_buf(), Arc::from(text.as_str()));
    let mut problems = Problems::default();
    let mut raws = Vec::new();
    if let Some(source) = sources.get(id) {
        match crate::yaml::parse_stream(source) {
            Ok(nodes) => {
                for node in &nodes {
                    raws.extend(crate::read_other::read_eksctl(id, node, &mut problems));
                }
            }
            Err(error) => {
                return Err(ImportError::Eksctl {
                    path: path.display().to_string(),
                    problems: format!("invalid YAML: {}", error.message),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Eksctl {
            path: path.display().to_string(),
            problems: problems.finish(&sources).brief(),
        });
    }
    let Some(source) = sources.get(id) else {
        return Ok(Vec::new());
    };
    for passed in raws.iter().flat_map(|raw| &raw.eksctl_passed_over) {
        report.push(
            Kind::NotModelled,
            origin(source, &passed.loc),
            format!("{}; not read from this file", passed.what),
        );
    }
    Ok(raws.iter().filter_map(|raw| convert(source, raw)).collect())
}

fn origin(source: &SourceFile, loc: &Loc) -> Origin {
    let (line, column) = source.line_column(loc.span.start);
    Origin {
        file: source.path.display().to_string(),
        line,
        column,
        json_path: loc.field.clone(),
    }
}

fn pairs(tags: &RawTags) -> Vec<(String, String)> {
    tags.tags
        .iter()
        .map(|(k, v)| (k.value.clone(), v.value.clone()))
        .collect()
}

/// The reader reported every field it could not read, so what is missing
/// here was reported (and stopped the import) already.
fn convert(source: &SourceFile, raw: &RawCluster) -> Option<EksctlCluster> {
    let name = raw.name.as_ref()?;
    let service_accounts = raw
        .service_accounts
        .iter()
        .filter_map(|sa| {
            let (namespace, sa_name) = (sa.namespace.as_ref()?, sa.name.as_ref()?);
            Some(ServiceAccount {
                namespace: namespace.value.clone(),
                name: sa_name.value.clone(),
                annotations: pairs(&sa.annotations),
                origin: origin(source, &sa_name.loc),
            })
        })
        .collect();
    let associations: Vec<Association> = raw
        .pod_identity_associations
        .iter()
        .filter_map(|a| {
            let role = a.role_arn.as_ref()?;
            Some(Association {
                id: None,
                namespace: a.namespace.as_ref()?.value.clone(),
                service_account: a.service_account.as_ref()?.value.clone(),
                role_arn: role.value.clone(),
                target_role_arn: a.target_role_arn.as_ref().map(|t| t.value.clone()),
                disable_session_tags: a.disable_session_tags.as_ref().is_some_and(|f| f.value),
                policy: None,
                tags: pairs(&a.tags),
                origin: origin(source, &role.loc),
            })
        })
        .collect();
    let mut role_accounts = associations
        .iter()
        .filter_map(|a| crate::eks::role_arn_parts(&a.role_arn).map(|(account, _)| account));
    let first = role_accounts.next().map(str::to_string);
    let role_account = first.filter(|f| role_accounts.all(|a| a == f));
    Some(EksctlCluster {
        cluster: Cluster {
            name: name.value.clone(),
            region: raw.region.as_ref()?.value.clone(),
            version: raw.version.as_ref().map(|v| v.value.clone()),
            oidc_issuer_id: None,
            tags: pairs(&raw.tags),
            service_accounts,
            associations,
            origin: origin(source, &name.loc),
        },
        role_account,
    })
}
