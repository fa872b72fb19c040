//! EKS from `aws eks` outputs, told apart by their shape:
//!
//! - `describe-cluster` (`cluster`): the name, the ARN (account and
//!   region), the Kubernetes version, the OIDC issuer
//!   (`https://oidc.eks.REGION.amazonaws.com/id/ID`, whose `ID` is the
//!   model's `oidc_issuer_id`) and the tags;
//! - `describe-pod-identity-association` (`association`): one association,
//!   with its role, target role, session tags setting, session policy and
//!   tags;
//! - `list-pod-identity-associations` (`associations`) and `list-clusters`
//!   (`clusters`): summaries only, read to report what was listed but not
//!   described.

use std::path::Path;

use super::checked_tags;
use super::draft::{Association, Cluster, Doc};
use super::error::{ImportError, Origin};
use super::input::{InputFile, Node};
use super::report::{Kind, Report};

/// What one `--eks` file held.
#[derive(Debug)]
pub enum EksExport {
    Cluster { account: String, cluster: Cluster },
    Association(Described),
    Summaries(Vec<Summary>),
    ClusterNames(Vec<(String, Origin)>),
}

/// A described association, not yet placed in its cluster.
#[derive(Debug)]
pub struct Described {
    pub cluster: String,
    /// From the association's ARN, when it has one.
    pub account: Option<String>,
    pub region: Option<String>,
    pub association: Association,
    /// The external id EKS passes to the target role.
    pub external_id: Option<String>,
}

/// An association as `list-pod-identity-associations` shows it.
#[derive(Debug)]
pub struct Summary {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub origin: Origin,
}

pub fn read(path: &Path, report: &mut Report) -> Result<EksExport, ImportError> {
    let file = InputFile::read(path)?;
    let root = file.root();
    if let Some(cluster) = root.get("cluster") {
        cluster_of(&cluster, report)
    } else if let Some(association) = root.get("association") {
        association_of(&association, report).map(EksExport::Association)
    } else if root.has("associations") {
        let summaries = root
            .items("associations")?
            .iter()
            .map(|a| {
                Ok(Summary {
                    cluster: a.required_text("clusterName")?,
                    namespace: a.required_text("namespace")?,
                    service_account: a.required_text("serviceAccount")?,
                    origin: a.origin(),
                })
            })
            .collect::<Result<_, ImportError>>()?;
        Ok(EksExport::Summaries(summaries))
    } else if root.has("clusters") {
        let names = root
            .items("clusters")?
            .iter()
            .map(|n| Ok((n.as_str()?.to_string(), n.origin())))
            .collect::<Result<_, ImportError>>()?;
        Ok(EksExport::ClusterNames(names))
    } else {
        Err(ImportError::UnknownExport {
            path: path.display().to_string(),
            expected: "an `aws eks` output orgtwin reads",
            help: "`--eks` takes `describe-cluster`, `describe-pod-identity-association`, \
                   `list-pod-identity-associations` and `list-clusters` outputs",
        })
    }
}

/// `arn:aws:eks:REGION:ACCOUNT:KIND/...` as `(region, account)`.
fn eks_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:eks:")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next().filter(|r| !r.is_empty())?;
    let account = parts
        .next()
        .filter(|a| crate::rules::account_id(a).is_none())?;
    Some((region, account))
}

fn cluster_of(node: &Node<'_>, report: &mut Report) -> Result<EksExport, ImportError> {
    let name = node.required_text("name")?;
    let arn_node = node.required("arn")?;
    let arn = arn_node.as_str()?;
    let (region, account) = eks_arn(arn)
        .filter(|_| arn.ends_with(&format!(":cluster/{name}")))
        .ok_or_else(|| {
            arn_node.error(format!(
                "`{arn}` is not the ARN of an EKS cluster named `{name}`"
            ))
        })?;
    let mut oidc_issuer_id = None;
    if let Some(issuer) = node
        .get("identity")
        .and_then(|i| i.get("oidc")?.get("issuer"))
    {
        let url = issuer.as_str()?;
        let prefix = format!("https://oidc.eks.{region}.amazonaws.com/id/");
        match url.strip_prefix(&prefix) {
            Some(id)
                if id.len() == 32
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) =>
            {
                oidc_issuer_id = Some(id.to_string());
            }
            _ => report.push(
                Kind::Refused,
                issuer.origin(),
                format!(
                    "cluster `{name}`: issuer `{url}` is not `{prefix}` and 32 uppercase \
                     letters or digits; the model derives one, which IRSA trusts naming \
                     this issuer will not match"
                ),
            ),
        }
    } else {
        report.push(
            Kind::Incomplete,
            node.origin(),
            format!(
                "cluster `{name}` has no `identity.oidc.issuer`; the model derives one, which \
                 IRSA trusts naming the real issuer will not match"
            ),
        );
    }
    let tags = checked_tags(
        node.tag_pairs("tags")?,
        &format!("cluster `{name}`"),
        report,
    );
    let cluster = Cluster {
        region: region.to_string(),
        version: node.text("version")?,
        oidc_issuer_id,
        tags,
        service_accounts: Vec::new(),
        associations: Vec::new(),
        origin: node.origin(),
        name,
    };
    Ok(EksExport::Cluster {
        account: account.to_string(),
        cluster,
    })
}

fn association_of(node: &Node<'_>, report: &mut Report) -> Result<Described, ImportError> {
    let cluster = node.required_text("clusterName")?;
    let namespace = node.required_text("namespace")?;
    let service_account = node.required_text("serviceAccount")?;
    let (region, account) = match node.text("associationArn")? {
        Some(arn) => {
            let (region, account) = eks_arn(&arn).ok_or_else(|| {
                node.error(format!(
                    "`{arn}` is not the ARN of a Pod Identity association"
                ))
            })?;
            (Some(region.to_string()), Some(account.to_string()))
        }
        None => (None, None),
    };
    let policy = match node.get("policy") {
        Some(policy) => Some(Doc {
            text: policy.document()?,
            origin: policy.origin(),
        }),
        None => None,
    };
    let what = format!("association of `{namespace}/{service_account}` in `{cluster}`");
    let tags = checked_tags(node.tag_pairs("tags")?, &what, report);
    Ok(Described {
        account,
        region,
        external_id: node.text("externalId")?,
        association: Association {
            id: node.text("associationId")?,
            namespace,
            service_account,
            role_arn: node.required_text("roleArn")?,
            target_role_arn: node.text("targetRoleArn")?,
            disable_session_tags: node.flag("disableSessionTags")?.unwrap_or(false),
            policy,
            tags,
            origin: node.origin(),
        },
        cluster,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eks_arns_give_region_and_account() {
        assert_eq!(
            eks_arn("arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster"),
            Some(("us-east-1", "111122223333"))
        );
        assert_eq!(eks_arn("arn:aws:eks::111122223333:cluster/x"), None);
        assert_eq!(eks_arn("arn:aws:eks:us-east-1:1111:cluster/x"), None);
        assert_eq!(eks_arn("arn:aws:iam::111122223333:role/x"), None);
    }
}
