//! The draft model from everything read: accounts from the organization
//! listing (or, without one, the management account and every account the
//! exports name), each account's IAM, the clusters (`clusters`), and the
//! SCPs.
//!
//! What the model would refuse is caught where the export it came from is
//! known, and reported: an account outside the organization listing, a
//! `list-roles` entry without its role, a second export of one account.
//! The model's checks run afterwards on the rest.

use std::collections::{HashMap, HashSet};

use super::draft::{Account, Draft, ServiceAccount};
use super::eks::EksExport;
use super::eksctl::EksctlCluster;
use super::error::{ImportError, Origin};
use super::iam::{IamExport, ListedRole};
use super::organizations::{Listing, full_aws_access};
use super::report::{Kind, Report};
use super::{AccountFile, ClusterFile};

/// Everything read, before it is put together.
#[derive(Default)]
pub struct Read {
    pub listing: Option<Listing>,
    pub management_account: Option<String>,
    pub iam: Vec<IamExport>,
    pub eks: Vec<EksExport>,
    pub eksctl: Vec<(AccountFile, Vec<EksctlCluster>)>,
    pub kubectl: Vec<(ClusterFile, Vec<ServiceAccount>)>,
}

pub fn assemble(read: Read, report: &mut Report) -> Result<Draft, ImportError> {
    let mut draft = organization(read.listing.as_ref(), read.management_account.as_deref())?;
    let open = read.listing.is_none();
    iam(&mut draft, read.iam, open, report)?;
    super::clusters::place(
        &mut draft,
        read.eks,
        read.eksctl,
        read.kubectl,
        open,
        report,
    )?;
    scps(&mut draft, read.listing.as_ref(), report);
    Ok(draft)
}

/// The organization as listed, or the minimal one of the management account.
fn organization(listing: Option<&Listing>, management: Option<&str>) -> Result<Draft, ImportError> {
    let mut draft = Draft::default();
    match (listing, management) {
        (Some(listing), Some(given)) if given != listing.management_account => {
            Err(ImportError::inputs(
                format!(
                    "`--management-account {given}` differs from the organization listing's \
                     management account `{}`",
                    listing.management_account
                ),
                "leave `--management-account` out when the organization listing is given",
            ))
        }
        (Some(listing), _) => {
            draft.organization_id = Some(listing.organization_id.clone());
            draft.root_id = Some(listing.root_id.clone());
            draft.management_account = listing.management_account.clone();
            draft.ram_sharing_with_organization = listing.ram_sharing;
            draft.ous = listing.ous.clone();
            draft.accounts = listing.accounts.clone();
            draft.rcps = listing.rcps.clone();
            draft.scps = listing.scps.clone();
            Ok(draft)
        }
        (None, Some(id)) if crate::rules::account_id(id).is_none() => {
            draft.management_account = id.to_string();
            draft
                .accounts
                .insert(id.to_string(), Account::bare(id, Origin::default()));
            Ok(draft)
        }
        (None, Some(id)) => Err(ImportError::inputs(
            format!("`--management-account {id}` is not an account id"),
            "an account id is 12 digits",
        )),
        (None, None) => Err(no_management_account()),
    }
}

pub fn no_management_account() -> ImportError {
    ImportError::inputs(
        "without `--organizations`, the management account is unknown",
        "give `--management-account ID`, or the organization listing (docs/import.md)",
    )
}

/// Whether `account` is (or, without a listing, becomes) an organization
/// account; if not, `what` is reported and the account listed as external.
pub fn admit(
    draft: &mut Draft,
    account: &str,
    origin: &Origin,
    what: &str,
    open: bool,
    report: &mut Report,
) -> bool {
    if draft.accounts.contains_key(account) {
        return true;
    }
    if open {
        draft
            .accounts
            .insert(account.to_string(), Account::bare(account, origin.clone()));
        return true;
    }
    draft
        .external_accounts
        .insert(account.to_string(), account.to_string());
    report.push(
        Kind::OutsideOrganization,
        origin.clone(),
        format!(
            "{what} of account `{account}`, which the organization listing does not have; \
             left out (the account is listed as an external account)"
        ),
    );
    false
}

fn iam(
    draft: &mut Draft,
    exports: Vec<IamExport>,
    open: bool,
    report: &mut Report,
) -> Result<(), ImportError> {
    let mut details: HashMap<String, Origin> = HashMap::new();
    let mut listed: Vec<(String, Vec<ListedRole>, Origin)> = Vec::new();
    for export in exports {
        match export {
            IamExport::Details {
                account,
                mut iam,
                file,
            } => {
                if let Some(first) = details.get(&account) {
                    return Err(ImportError::inputs(
                        format!(
                            "`{}` and `{}` are both `get-account-authorization-details` of \
                             account {account}",
                            first.file, file.file
                        ),
                        "give one export per account",
                    ));
                }
                details.insert(account.clone(), file.clone());
                if !admit(draft, &account, &file, "IAM", open, report) {
                    continue;
                }
                if let Some(entry) = draft.accounts.get_mut(&account) {
                    let earlier = entry.iam.take().unwrap_or_default();
                    iam.oidc_providers.extend(earlier.oidc_providers);
                    entry.iam = Some(iam);
                }
            }
            IamExport::Roles {
                account,
                roles,
                file,
            } => listed.push((account, roles, file)),
            IamExport::OidcProvider { account, provider } => {
                let what = format!("OIDC provider `{}`", provider.url);
                if admit(draft, &account, &provider.origin, &what, open, report)
                    && let Some(entry) = draft.accounts.get_mut(&account)
                {
                    entry
                        .iam
                        .get_or_insert_default()
                        .oidc_providers
                        .push(provider);
                }
            }
            IamExport::NoAccount { file } => report.push(
                Kind::Incomplete,
                file,
                "no ARN in it names its account, so nothing is imported from it; give it as \
                 `--iam ACCOUNT=FILE`",
            ),
        }
    }
    let mut with_list = HashSet::new();
    for (account, roles, file) in listed {
        let Some(iam) = draft
            .accounts
            .get_mut(&account)
            .and_then(|a| a.iam.as_mut())
        else {
            if !open && !draft.accounts.contains_key(&account) {
                admit(draft, &account, &file, "`list-roles`", open, report);
            } else {
                report.push(
                    Kind::Incomplete,
                    file,
                    format!(
                        "`list-roles` of account `{account}`, whose \
                         `get-account-authorization-details` was not given; not read"
                    ),
                );
            }
            continue;
        };
        with_list.insert(account.clone());
        for listed in roles {
            let role = iam.roles.iter_mut().find(|r| {
                crate::rules::iam_arn(&account, "role", &r.principal.path, &r.principal.name)
                    == listed.arn
            });
            match role {
                Some(role) => {
                    role.description = listed.description.or(role.description.take());
                    role.max_session_duration =
                        listed.max_session_duration.or(role.max_session_duration);
                }
                None if iam.left_out_roles.contains(&listed.arn) => {}
                None => report.push(
                    Kind::Incomplete,
                    listed.origin,
                    format!(
                        "role `{}` is in `list-roles` but not in the account's \
                         `get-account-authorization-details`; left out",
                        listed.arn
                    ),
                ),
            }
        }
    }
    for (account, file) in details {
        let has_roles = draft
            .accounts
            .get(&account)
            .and_then(|a| a.iam.as_ref())
            .is_some_and(|iam| !iam.roles.is_empty());
        if has_roles && !with_list.contains(&account) {
            report.push(
                Kind::Incomplete,
                file,
                format!(
                    "account `{account}`: no `list-roles` output, so its roles have no \
                     description and IAM's default maximum session duration (3600 s)"
                ),
            );
        }
    }
    Ok(())
}
/// SCPs the model can evaluate: the listing's, or, where SCPs restrict
/// nothing or are unknown, `FullAWSAccess` at every level.
fn scps(draft: &mut Draft, listing: Option<&Listing>, report: &mut Report) {
    let why = match listing {
        None => Some((
            Kind::Assumed,
            Origin::default(),
            "no organization listing: SCPs are unknown",
        )),
        Some(l) if !l.scps_enforced => Some((
            Kind::Assumed,
            l.origin.clone(),
            "SCPs are not enabled in the organization",
        )),
        Some(l) if !l.scps_listed => Some((
            Kind::Incomplete,
            l.origin.clone(),
            "no `list-policies-SERVICE_CONTROL_POLICY.json`: SCPs are unknown",
        )),
        Some(_) => None,
    };
    let Some((kind, origin, why)) = why else {
        return;
    };
    let targets = std::iter::once("root".to_string())
        .chain(draft.ous.iter().map(|ou| ou.id.clone()))
        .chain(draft.accounts.keys().cloned())
        .collect();
    draft.scps = vec![full_aws_access(targets, origin.clone())];
    report.push(
        kind,
        origin,
        format!(
            "{why}; `FullAWSAccess` is attached at the root, every OU and every account, \
             which restricts nothing"
        ),
    );
}
