//! Clusters, from `describe-cluster` outputs and eksctl files, with their
//! service accounts (kubectl listings, eksctl's IRSA entries) and Pod
//! Identity associations (`describe-pod-identity-association`, eksctl).
//!
//! The model's cluster names are unique in the whole model (EKS's only per
//! account and region); an association's role must be in the cluster's
//! account and, like the target role and an IRSA annotation's role, exist
//! in the IAM export of its account when that account is in the
//! organization. What breaks these rules is reported and left out here,
//! where the export it came from is known. Described associations win over
//! eksctl's, and a kubectl listing's annotations over an eksctl file's.

use std::collections::{HashMap, HashSet};

use super::assemble::admit;
use super::draft::{Association, Cluster, Draft, ServiceAccount};
use super::eks::{Described, EksExport, Summary};
use super::eksctl::EksctlCluster;
use super::error::{ImportError, Origin};
use super::report::{Kind, Report};
use super::{AccountFile, ClusterFile, checked_tags};
use crate::eks::{
    AUDIENCE_ANNOTATION, IRSA_MIN_TOKEN_SECONDS, IRSA_TOKEN_SECONDS, REGIONAL_STS_ANNOTATION,
    ROLE_ARN_ANNOTATION, TOKEN_EXPIRATION_ANNOTATION, role_arn_parts,
};

/// Places the clusters, their service accounts and associations in
/// `draft`'s accounts.
pub fn place(
    draft: &mut Draft,
    eks: Vec<EksExport>,
    eksctl: Vec<(AccountFile, Vec<EksctlCluster>)>,
    kubectl: Vec<(ClusterFile, Vec<ServiceAccount>)>,
    open: bool,
    report: &mut Report,
) -> Result<(), ImportError> {
    let mut clusters = Clusters::default();
    let mut associations = Vec::new();
    let mut summaries = Vec::new();
    let mut listed_clusters = Vec::new();
    for export in eks {
        match export {
            EksExport::Cluster { account, cluster } => {
                clusters.add(draft, account, cluster, open, report)?;
            }
            EksExport::Association(described) => associations.push(described),
            EksExport::Summaries(list) => summaries.extend(list),
            EksExport::ClusterNames(names) => listed_clusters.extend(names),
        }
    }
    let mut from_eksctl = Vec::new();
    for (input, list) in eksctl {
        for found in list {
            from_eksctl.extend(clusters.eksctl(draft, &input, found, open, report)?);
        }
    }
    for (input, accounts) in kubectl {
        clusters.kubectl(&input, accounts, report)?;
    }
    // Every organization account is known now.
    let roles = Roles::of(draft);
    let mut external_ids = Vec::new();
    let described_keys: HashSet<(String, String, String)> = associations
        .iter()
        .map(|d| {
            let a = &d.association;
            (
                d.cluster.clone(),
                a.namespace.clone(),
                a.service_account.clone(),
            )
        })
        .collect();
    for described in associations {
        let Some(at) = clusters.find(&described) else {
            report.push(
                Kind::Incomplete,
                described.association.origin.clone(),
                format!(
                    "association of cluster `{}`, whose `describe-cluster` output (or eksctl \
                     file) was not given; left out",
                    described.cluster
                ),
            );
            continue;
        };
        if let Some(id) = &described.external_id
            && described.association.target_role_arn.is_some()
        {
            external_ids.push((id.clone(), described.association.origin.clone()));
        }
        clusters.associate(at, described.association, &roles, false, report);
    }
    for (at, association) in from_eksctl {
        clusters.associate(at, association, &roles, true, report);
    }
    for (_, cluster) in &mut clusters.list {
        annotations(cluster, &roles, report);
        if !clusters.listed.contains(&cluster.name) && !cluster.associations.is_empty() {
            report.push(
                Kind::Incomplete,
                cluster.origin.clone(),
                format!(
                    "cluster `{}` has no kubectl listing (`--kubectl {}=FILE`): only the \
                     service accounts its associations name are in the model",
                    cluster.name, cluster.name
                ),
            );
        }
    }
    external_id_pins(draft, &external_ids, report);
    unlisted(
        &clusters,
        &described_keys,
        &summaries,
        &listed_clusters,
        report,
    );
    for (account, cluster) in clusters.list {
        if let Some(entry) = draft.accounts.get_mut(&account) {
            entry.clusters.push(cluster);
        }
    }
    Ok(())
}

/// The organization's accounts, and the roles of those whose IAM was
/// imported: what the model checks a role ARN against.
struct Roles {
    organization: HashSet<String>,
    imported: HashMap<String, HashSet<String>>,
}

impl Roles {
    fn of(draft: &Draft) -> Roles {
        let mut imported = HashMap::new();
        for account in draft.accounts.values() {
            if let Some(iam) = &account.iam {
                let arns = iam
                    .roles
                    .iter()
                    .map(|r| {
                        let (path, name) = (&r.principal.path, &r.principal.name);
                        crate::rules::iam_arn(&account.id, "role", path, name)
                    })
                    .collect();
                imported.insert(account.id.clone(), arns);
            }
        }
        Roles {
            organization: draft.accounts.keys().cloned().collect(),
            imported,
        }
    }

    /// Why the model would refuse `arn` as a role ARN, if it would: a
    /// malformed ARN, or a role of an organization account that its IAM
    /// export lacks (roles outside the organization are not checked).
    fn refusal(&self, arn: &str) -> Option<(Kind, String)> {
        let Some((account, _)) = role_arn_parts(arn) else {
            return Some((
                Kind::Refused,
                format!("`{arn}` is not a role ARN (`arn:aws:iam::ACCOUNT:role/NAME`)"),
            ));
        };
        if !self.organization.contains(account) {
            return None;
        }
        match self.imported.get(account) {
            Some(arns) if arns.contains(arn) => None,
            Some(_) => Some((
                Kind::Refused,
                format!("role `{arn}` is not in account {account}'s IAM export"),
            )),
            None => Some((
                Kind::Incomplete,
                format!(
                    "role `{arn}` cannot be checked: account {account}'s IAM was not imported \
                     (give its `get-account-authorization-details` with `--iam`)"
                ),
            )),
        }
    }
}

/// The clusters so far, each with its account.
#[derive(Default)]
struct Clusters {
    list: Vec<(String, Cluster)>,
    /// Clusters with a kubectl listing.
    listed: HashSet<String>,
}

impl Clusters {
    fn named(&self, name: &str) -> Option<&(String, Cluster)> {
        self.list.iter().find(|(_, c)| c.name == name)
    }

    /// A described cluster; the model's cluster names are unique in the
    /// whole model, EKS's only per account and region.
    fn add(
        &mut self,
        draft: &mut Draft,
        account: String,
        cluster: Cluster,
        open: bool,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        if let Some((other, existing)) = self.named(&cluster.name) {
            if *other == account && existing.region == cluster.region {
                return Err(ImportError::inputs(
                    format!(
                        "`{}` and `{}` both describe cluster `{}`",
                        existing.origin.file, cluster.origin.file, cluster.name
                    ),
                    "give one `describe-cluster` output per cluster",
                ));
            }
            report.push(
                Kind::Refused,
                cluster.origin.clone(),
                format!(
                    "cluster `{}` of account `{account}` ({}): account `{other}` has a cluster \
                     of that name, and the model's cluster names are unique; left out",
                    cluster.name, cluster.region
                ),
            );
            return Ok(());
        }
        let what = format!("cluster `{}`", cluster.name);
        if admit(draft, &account, &cluster.origin, &what, open, report) {
            self.list.push((account, cluster));
        }
        Ok(())
    }

    /// An eksctl cluster: merged into its described cluster, or added. Its
    /// associations come back, to be placed after the described ones.
    fn eksctl(
        &mut self,
        draft: &mut Draft,
        input: &AccountFile,
        found: EksctlCluster,
        open: bool,
        report: &mut Report,
    ) -> Result<Vec<(usize, Association)>, ImportError> {
        let EksctlCluster {
            mut cluster,
            role_account,
        } = found;
        let associations = std::mem::take(&mut cluster.associations);
        let what = format!("cluster `{}`", cluster.name);
        let described = self.list.iter().position(|(account, c)| {
            c.name == cluster.name
                && c.region == cluster.region
                && input.account.as_ref().is_none_or(|a| a == account)
        });
        let at = match described {
            Some(at) => {
                if let Some((_, existing)) = self.list.get_mut(at) {
                    for sa in cluster.service_accounts {
                        merge_service_account(existing, sa, report);
                    }
                }
                at
            }
            None => {
                let account = input.account.clone().or(role_account).ok_or_else(|| {
                    ImportError::inputs(
                        format!(
                            "the account of cluster `{}` in `{}` is unknown: eksctl files do \
                             not name it",
                            cluster.name,
                            input.path.display()
                        ),
                        "give it as `--eksctl ACCOUNT=FILE`, or give the cluster's \
                         `describe-cluster` output with `--eks`",
                    )
                })?;
                if let Some((other, _)) = self.named(&cluster.name) {
                    report.push(
                        Kind::Refused,
                        cluster.origin.clone(),
                        format!(
                            "{what} of account `{account}`: account `{other}` has a cluster of \
                             that name, and the model's cluster names are unique; left out"
                        ),
                    );
                    return Ok(Vec::new());
                }
                if !admit(draft, &account, &cluster.origin, &what, open, report) {
                    return Ok(Vec::new());
                }
                report.push(
                    Kind::Assumed,
                    cluster.origin.clone(),
                    format!(
                        "{what} is known from its eksctl file only: its OIDC issuer id is \
                         derived, and IRSA trusts naming the real issuer will not match (give \
                         its `describe-cluster` output)"
                    ),
                );
                let tags = std::mem::take(&mut cluster.tags)
                    .into_iter()
                    .map(|(k, v)| (k, v, cluster.origin.clone()))
                    .collect();
                cluster.tags = checked_tags(tags, &what, report);
                self.list.push((account, cluster));
                self.list.len() - 1
            }
        };
        Ok(associations.into_iter().map(|a| (at, a)).collect())
    }

    /// A kubectl listing is what the cluster has: its service accounts,
    /// with their annotations, replace an eksctl file's. What the eksctl
    /// file adds (a service account the listing lacks, an annotation the
    /// listing's service account lacks or spells otherwise) is reported and
    /// left out. An eksctl service account with no annotation is dropped
    /// unreported: it carries only its name, and an association that needs
    /// it declares it again, with its own report.
    fn kubectl(
        &mut self,
        input: &ClusterFile,
        accounts: Vec<ServiceAccount>,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        let Some((_, cluster)) = self
            .list
            .iter_mut()
            .find(|(account, c)| c.name == input.cluster || c.arn(account) == input.cluster)
        else {
            report.push(
                Kind::Incomplete,
                Origin::file(input.path.display().to_string()),
                format!(
                    "service accounts of cluster `{}`, which no `describe-cluster` output or \
                     eksctl file of the organization describes; left out",
                    input.cluster
                ),
            );
            return Ok(());
        };
        if !self.listed.insert(cluster.name.clone()) {
            return Err(ImportError::inputs(
                format!(
                    "`{}` lists the service accounts of cluster `{}`, which an earlier \
                     `--kubectl` listed already",
                    input.path.display(),
                    cluster.name
                ),
                "give one kubectl listing per cluster",
            ));
        }
        let from_eksctl = std::mem::replace(&mut cluster.service_accounts, accounts);
        for old in from_eksctl {
            let live = cluster
                .service_accounts
                .iter()
                .find(|s| s.namespace == old.namespace && s.name == old.name);
            let Some(live) = live else {
                if !old.annotations.is_empty() {
                    report.push(
                        Kind::Incomplete,
                        old.origin.clone(),
                        format!(
                            "service account `{}/{}` is in the eksctl file but not in the \
                             cluster's kubectl listing; left out, with its annotations",
                            old.namespace, old.name
                        ),
                    );
                }
                continue;
            };
            for (key, value) in &old.annotations {
                let message = match live.annotations.iter().find(|(k, _)| k == key) {
                    Some((_, v)) if v == value => continue,
                    Some(_) => format!(
                        "service account `{}/{}`: annotation `{key}` is `{value}` here and \
                         differs in the kubectl listing, whose value is kept",
                        old.namespace, old.name
                    ),
                    None => format!(
                        "service account `{}/{}`: annotation `{key}` (`{value}`) is not on the \
                         service account in the kubectl listing; left out",
                        old.namespace, old.name
                    ),
                };
                report.push(Kind::Assumed, old.origin.clone(), message);
            }
        }
        Ok(())
    }

    /// The cluster a described association belongs to.
    fn find(&self, described: &Described) -> Option<usize> {
        self.list.iter().position(|(account, c)| {
            c.name == described.cluster
                && described.account.as_ref().is_none_or(|a| a == account)
                && described.region.as_ref().is_none_or(|r| *r == c.region)
        })
    }

    /// Places an association in cluster `at`, if the model would take it.
    fn associate(
        &mut self,
        at: usize,
        association: Association,
        roles: &Roles,
        from_eksctl: bool,
        report: &mut Report,
    ) {
        let listed = self.listed.clone();
        let Some((account, cluster)) = self.list.get_mut(at) else {
            return;
        };
        let what = format!(
            "association of `{}/{}` in cluster `{}`",
            association.namespace, association.service_account, cluster.name
        );
        let exists = cluster.associations.iter().any(|a| {
            a.namespace == association.namespace && a.service_account == association.service_account
        });
        if exists {
            if !from_eksctl {
                report.push(
                    Kind::Refused,
                    association.origin,
                    format!("{what}: the service account has an association already; left out"),
                );
            }
            return;
        }
        let mut refusals = Vec::new();
        match role_arn_parts(&association.role_arn) {
            Some((role_account, _)) if role_account != account.as_str() => refusals.push((
                Kind::Refused,
                format!(
                    "role `{}` is not in the cluster's account {account}, as EKS requires",
                    association.role_arn
                ),
            )),
            _ => refusals.extend(roles.refusal(&association.role_arn)),
        }
        if let Some(target) = &association.target_role_arn {
            let refusal = roles.refusal(target);
            refusals.extend(refusal.map(|(k, m)| (k, format!("target {m}"))));
        }
        if !refusals.is_empty() {
            for (kind, message) in refusals {
                report.push(
                    kind,
                    association.origin.clone(),
                    format!("{what}: {message}; left out"),
                );
            }
            return;
        }
        if cluster
            .service_account(&association.namespace, &association.service_account)
            .is_none()
        {
            if listed.contains(&cluster.name) {
                report.push(
                    Kind::Incomplete,
                    association.origin.clone(),
                    format!(
                        "{what}: the kubectl listing has no such service account; it is \
                         declared so that the association is kept"
                    ),
                );
            }
            cluster.service_accounts.push(ServiceAccount {
                namespace: association.namespace.clone(),
                name: association.service_account.clone(),
                annotations: Vec::new(),
                origin: association.origin.clone(),
            });
        }
        let mut association = association;
        if from_eksctl {
            let tags = std::mem::take(&mut association.tags)
                .into_iter()
                .map(|(k, v)| (k, v, association.origin.clone()))
                .collect();
            association.tags = checked_tags(tags, &what, report);
        }
        cluster.associations.push(association);
    }
}

/// An eksctl service account joins a described cluster's.
fn merge_service_account(cluster: &mut Cluster, sa: ServiceAccount, report: &mut Report) {
    match cluster
        .service_accounts
        .iter_mut()
        .find(|s| s.namespace == sa.namespace && s.name == sa.name)
    {
        Some(existing) => {
            for (key, value) in sa.annotations {
                if !existing.annotations.iter().any(|(k, _)| *k == key) {
                    existing.annotations.push((key, value));
                } else if !existing.annotations.contains(&(key.clone(), value.clone())) {
                    report.push(
                        Kind::Assumed,
                        sa.origin.clone(),
                        format!(
                            "service account `{}/{}`: annotation `{key}` differs; the first kept",
                            sa.namespace, sa.name
                        ),
                    );
                }
            }
        }
        None => cluster.service_accounts.push(sa),
    }
}

/// IRSA annotations the model would refuse are left out, and reported.
fn annotations(cluster: &mut Cluster, roles: &Roles, report: &mut Report) {
    for sa in &mut cluster.service_accounts {
        let what = format!(
            "service account `{}/{}` of cluster `{}`",
            sa.namespace, sa.name, cluster.name
        );
        sa.annotations.retain(|(key, value)| {
            let why = match key.as_str() {
                ROLE_ARN_ANNOTATION => roles.refusal(value),
                AUDIENCE_ANNOTATION if value.is_empty() => {
                    Some((Kind::Refused, "an empty audience".to_string()))
                }
                REGIONAL_STS_ANNOTATION if value != "true" && value != "false" => {
                    Some((Kind::Refused, format!("`{value}` is not `true` or `false`")))
                }
                TOKEN_EXPIRATION_ANNOTATION
                    if value
                        .parse::<u64>()
                        .ok()
                        .filter(|s| (IRSA_MIN_TOKEN_SECONDS..=IRSA_TOKEN_SECONDS).contains(s))
                        .is_none() =>
                {
                    Some((
                        Kind::Refused,
                        format!(
                            "`{value}` is not {IRSA_MIN_TOKEN_SECONDS} to \
                             {IRSA_TOKEN_SECONDS} seconds"
                        ),
                    ))
                }
                _ => None,
            };
            match why {
                Some((kind, message)) => {
                    report.push(
                        kind,
                        sa.origin.clone(),
                        format!("{what}: annotation `{key}` left out: {message}"),
                    );
                    false
                }
                None => true,
            }
        });
    }
}

/// A target role's trust that pins EKS's external id will not match the
/// one the model derives.
fn external_id_pins(draft: &Draft, ids: &[(String, Origin)], report: &mut Report) {
    let trusts: Vec<&str> = draft
        .accounts
        .values()
        .filter_map(|a| a.iam.as_ref())
        .flat_map(|iam| iam.roles.iter().map(|r| r.trust.text.as_str()))
        .collect();
    for (id, origin) in ids {
        if trusts.iter().any(|t| t.contains(id.as_str())) {
            report.push(
                Kind::Assumed,
                origin.clone(),
                format!(
                    "a trust policy pins this association's external id `{id}`; the model \
                     derives external ids from the association's ARN, so that condition will \
                     not match in the twin"
                ),
            );
        }
    }
}

/// Associations and clusters listed but not described (those described
/// and left out are reported already).
fn unlisted(
    clusters: &Clusters,
    described: &HashSet<(String, String, String)>,
    summaries: &[Summary],
    names: &[(String, Origin)],
    report: &mut Report,
) {
    for summary in summaries {
        let key = (
            summary.cluster.clone(),
            summary.namespace.clone(),
            summary.service_account.clone(),
        );
        if !described.contains(&key) {
            report.push(
                Kind::Incomplete,
                summary.origin.clone(),
                format!(
                    "association of `{}/{}` in cluster `{}` is listed, but no \
                     `describe-pod-identity-association` output of it was given; left out",
                    summary.namespace, summary.service_account, summary.cluster
                ),
            );
        }
    }
    for (name, origin) in names {
        if clusters.named(name).is_none() {
            report.push(
                Kind::Incomplete,
                origin.clone(),
                format!(
                    "cluster `{name}` is listed, but no `describe-cluster` output of it was given"
                ),
            );
        }
    }
}
