//! The organization from the `aws organizations` outputs in one directory,
//! each file named after its command (docs/import.md has the script):
//!
//! | file | gives |
//! |---|---|
//! | `describe-organization.json` | the organization id, the management account, the feature set |
//! | `list-roots.json` | the root id, and whether SCPs are enabled (`PolicyTypes`) |
//! | `list-organizational-units-for-parent-PARENT.json` | the OUs under a parent (the root, then each OU) |
//! | `list-accounts.json` | every account: id, name, email, status |
//! | `list-accounts-for-parent-PARENT.json` | the accounts directly under a parent |
//! | `list-policies-FILTER.json` | the policies of a type (`SERVICE_CONTROL_POLICY`, `RESOURCE_CONTROL_POLICY`; others are reported) |
//! | `describe-policy-ID.json` | a policy's `Content` |
//! | `list-targets-for-policy-ID.json` | where a policy is attached |
//! | `list-aws-service-access-for-organization.json` | whether RAM shares with the organization (`ram.amazonaws.com`) |
//!
//! `describe-organization.json` and `list-roots.json` are required, and one
//! of the account listings. The model's OU and account names are unique, as
//! AWS's need not be: a repeated name gets its id appended, and is
//! reported. Every other `.json` file of the directory is reported as not
//! read.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use super::draft::{Account, Doc, OrgPolicy, Ou};
use super::error::{ImportError, Origin};
use super::input::{InputFile, Node};
use super::report::{Kind, Report};
use crate::rules;

/// The organization's tree and policies.
#[derive(Debug)]
pub struct Listing {
    pub organization_id: String,
    pub root_id: String,
    pub management_account: String,
    pub ous: Vec<Ou>,
    /// The listed accounts (no IAM yet), by id.
    pub accounts: BTreeMap<String, Account>,
    pub scps: Vec<OrgPolicy>,
    pub rcps: Vec<OrgPolicy>,
    /// Whether SCPs restrict anything: not with consolidated billing only,
    /// nor when the root has the SCP type disabled.
    pub scps_enforced: bool,
    /// Whether `list-policies-SERVICE_CONTROL_POLICY.json` was there.
    pub scps_listed: bool,
    /// Whether RAM shares within the organization without invitations.
    pub ram_sharing: bool,
    /// `describe-organization.json`.
    pub origin: Origin,
}

/// The directory, and which of its files were read.
struct Directory {
    dir: PathBuf,
    names: BTreeSet<String>,
    used: BTreeSet<String>,
}

impl Directory {
    fn open(dir: &Path) -> Result<Directory, ImportError> {
        let unreadable = |e: std::io::Error| ImportError::Unreadable {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        let mut names = BTreeSet::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            if let Some(name) = entry.file_name().to_str() {
                names.insert(name.to_string());
            }
        }
        Ok(Directory {
            dir: dir.to_path_buf(),
            names,
            used: BTreeSet::new(),
        })
    }

    fn optional(&mut self, name: &str) -> Result<Option<InputFile>, ImportError> {
        if !self.names.contains(name) {
            return Ok(None);
        }
        self.used.insert(name.to_string());
        InputFile::read(&self.dir.join(name)).map(Some)
    }

    fn required(&mut self, name: &str) -> Result<InputFile, ImportError> {
        self.optional(name)?.ok_or_else(|| {
            ImportError::inputs(
                format!("`{}` has no `{name}`", self.dir.display()),
                "docs/import.md has a script that writes every file of the organizations directory",
            )
        })
    }

    fn origin(&self, name: &str) -> Origin {
        Origin::file(self.dir.join(name).display().to_string())
    }
}

const SCP: &str = "SERVICE_CONTROL_POLICY";
const RCP: &str = "RESOURCE_CONTROL_POLICY";

/// AWS's `FullAWSAccess` content.
pub const FULL_AWS_ACCESS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// `FullAWSAccess` attached to `targets`, for an organization whose SCPs
/// restrict nothing (or are unknown).
pub fn full_aws_access(targets: Vec<String>, origin: Origin) -> OrgPolicy {
    OrgPolicy {
        name: "FullAWSAccess".into(),
        id: "p-FullAWSAccess".into(),
        description: Some("Allows access to every operation".into()),
        document: Doc {
            text: FULL_AWS_ACCESS.into(),
            origin: origin.clone(),
        },
        targets,
        origin,
    }
}

pub fn read(dir: &Path, report: &mut Report) -> Result<Listing, ImportError> {
    let mut files = Directory::open(dir)?;
    let described = files.required("describe-organization.json")?;
    let org = described.root().required("Organization")?;
    let organization_id = org.required_text("Id")?;
    let management_account = org.required_text("MasterAccountId")?;
    let feature_set = org.text("FeatureSet")?;
    let roots_file = files.required("list-roots.json")?;
    let roots = roots_file.root().items("Roots")?;
    let root = roots
        .first()
        .ok_or_else(|| roots_file.root().error("`Roots` is empty"))?;
    let root_id = root.required_text("Id")?;
    let scp_enabled = match root.get("PolicyTypes") {
        Some(types) => types.elements()?.iter().try_fold(false, |found, t| {
            let enabled = t.text("Type")?.as_deref() == Some(SCP)
                && t.text("Status")?.as_deref() == Some("ENABLED");
            Ok::<_, ImportError>(found || enabled)
        })?,
        None => true,
    };
    let consolidated = feature_set.as_deref() == Some("CONSOLIDATED_BILLING");
    let scps_enforced = scp_enabled && !consolidated;

    let ous = organizational_units(&mut files, &root_id, report)?;
    let mut accounts = accounts(&mut files, &root_id, &ous, report)?;
    if !accounts.contains_key(&management_account) {
        report.push(
            Kind::Incomplete,
            described.origin(),
            format!(
                "the management account `{management_account}` is in no account listing; \
                 added at the root, named by its id"
            ),
        );
        accounts.insert(
            management_account.clone(),
            Account::bare(&management_account, described.origin()),
        );
    }
    if let Some(account) = accounts.get_mut(&management_account)
        && account.parent != "root"
    {
        report.push(
            Kind::Assumed,
            account.origin.clone(),
            format!(
                "the management account `{management_account}` sits in OU `{}`; the model keeps \
                 it at the root (SCPs never apply to it; only `aws:PrincipalOrgPaths` differs)",
                account.parent
            ),
        );
        account.parent = "root".into();
    }
    let known = Known {
        root_id: &root_id,
        ous: ous.iter().map(|ou| ou.id.clone()).collect(),
        accounts: accounts.keys().cloned().collect(),
    };
    let (scps, scps_listed) = policies(&mut files, SCP, &known, report)?;
    let (rcps, _) = policies(&mut files, RCP, &known, report)?;
    other_policy_types(&mut files, report)?;
    let ram_sharing = match files.optional("list-aws-service-access-for-organization.json")? {
        Some(file) => file
            .root()
            .items("EnabledServicePrincipals")?
            .iter()
            .map(|p| p.text("ServicePrincipal"))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .any(|p| p.as_deref() == Some("ram.amazonaws.com")),
        None => false,
    };
    if !scps_enforced && !scps.is_empty() {
        report.push(
            Kind::Assumed,
            files.origin(&format!("list-policies-{SCP}.json")),
            format!(
                "{} SCP(s) listed, but SCPs are not enabled in the organization; left out",
                scps.len()
            ),
        );
    }
    let scps = if scps_enforced { scps } else { Vec::new() };
    let unread: Vec<String> = files
        .names
        .iter()
        .filter(|n| n.ends_with(".json") && !files.used.contains(*n))
        .cloned()
        .collect();
    for name in unread {
        report.push(
            Kind::NotModelled,
            files.origin(&name),
            "not an `aws organizations` output that orgtwin reads; not read",
        );
    }
    Ok(Listing {
        organization_id,
        root_id,
        management_account,
        ous,
        accounts,
        scps,
        rcps,
        scps_enforced,
        scps_listed,
        ram_sharing,
        origin: described.origin(),
    })
}

/// The OUs, breadth first from the root, each parent's listing read once.
fn organizational_units(
    files: &mut Directory,
    root_id: &str,
    report: &mut Report,
) -> Result<Vec<Ou>, ImportError> {
    let mut ous: Vec<Ou> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut seen: HashSet<String> = HashSet::from([root_id.to_string()]);
    let mut queue = VecDeque::from([(root_id.to_string(), "the root".to_string())]);
    while let Some((parent, parent_name)) = queue.pop_front() {
        let name = format!("list-organizational-units-for-parent-{parent}.json");
        let Some(file) = files.optional(&name)? else {
            report.push(
                Kind::Incomplete,
                files.origin(&name),
                format!("missing: the OUs under {parent_name}, if any, are not in the model"),
            );
            continue;
        };
        for ou in file.root().items("OrganizationalUnits")? {
            let id = ou.required_text("Id")?;
            let listed = ou.required_text("Name")?;
            if !seen.insert(id.clone()) {
                return Err(ou.error(format!("OU `{id}` is listed twice")));
            }
            let mut name = listed.clone();
            if name == "root" || name == root_id || names.contains(&name) {
                name = with_id(&listed, &id, 128);
                report.push(
                    Kind::Assumed,
                    ou.origin(),
                    format!(
                        "OU `{listed}` (`{id}`) renamed `{name}`: the model's OU names are \
                         unique in the organization and never `root`"
                    ),
                );
            }
            names.insert(name.clone());
            let parent_ref = if parent == root_id {
                "root".to_string()
            } else {
                parent.clone()
            };
            queue.push_back((id.clone(), format!("OU `{name}`")));
            ous.push(Ou {
                id,
                name,
                parent: parent_ref,
                origin: ou.origin(),
            });
        }
    }
    Ok(ous)
}

/// `NAME (ID)`, the name shortened so that the whole fits `max`.
fn with_id(name: &str, id: &str, max: usize) -> String {
    let room = max.saturating_sub(id.len() + 3);
    let short: String = name.chars().take(room).collect();
    format!("{short} ({id})")
}

fn accounts(
    files: &mut Directory,
    root_id: &str,
    ous: &[Ou],
    report: &mut Report,
) -> Result<BTreeMap<String, Account>, ImportError> {
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    if let Some(file) = files.optional("list-accounts.json")? {
        for node in file.root().items("Accounts")? {
            let account = account(&node, &mut names, report)?;
            accounts.entry(account.id.clone()).or_insert(account);
        }
    }
    let parents = std::iter::once(root_id).chain(ous.iter().map(|ou| ou.id.as_str()));
    let mut placed: HashSet<String> = HashSet::new();
    let mut any_parent_listing = false;
    for parent in parents {
        let name = format!("list-accounts-for-parent-{parent}.json");
        let Some(file) = files.optional(&name)? else {
            continue;
        };
        any_parent_listing = true;
        let parent_ref = if parent == root_id { "root" } else { parent };
        for node in file.root().items("Accounts")? {
            let id = node.required_text("Id")?;
            if !placed.insert(id.clone()) {
                return Err(node.error(format!("account `{id}` is listed under two parents")));
            }
            if !accounts.contains_key(&id) {
                let account = account(&node, &mut names, report)?;
                accounts.insert(id.clone(), account);
            }
            if let Some(account) = accounts.get_mut(&id) {
                account.parent = parent_ref.to_string();
            }
        }
    }
    if accounts.is_empty() && !files.names.contains("list-accounts.json") && !any_parent_listing {
        return Err(ImportError::inputs(
            format!(
                "`{}` has no account listing: neither `list-accounts.json` nor any \
                 `list-accounts-for-parent-PARENT.json`",
                files.dir.display()
            ),
            "docs/import.md has a script that writes every file of the organizations directory",
        ));
    }
    if !any_parent_listing {
        report.push(
            Kind::Assumed,
            files.origin("list-accounts.json"),
            "no `list-accounts-for-parent-PARENT.json`: every account is placed at the root",
        );
    } else {
        for account in accounts.values().filter(|a| !placed.contains(&a.id)) {
            report.push(
                Kind::Incomplete,
                account.origin.clone(),
                format!(
                    "account `{}` is in no `list-accounts-for-parent-PARENT.json`; placed at \
                     the root",
                    account.id
                ),
            );
        }
    }
    Ok(accounts)
}

/// One account of a listing; `names` holds the names taken so far.
fn account(
    node: &Node<'_>,
    names: &mut HashMap<String, String>,
    report: &mut Report,
) -> Result<Account, ImportError> {
    let id = node.required_text("Id")?;
    if rules::account_id(&id).is_some() {
        return Err(node.error(format!("`{id}` is not an account id (12 digits)")));
    }
    let listed = node.required_text("Name")?;
    let mut name = listed.clone();
    if rules::account_name(&name).is_some() {
        name = id.clone();
        report.push(
            Kind::Refused,
            node.origin(),
            format!(
                "account name `{listed}` is not 1 to 50 printable ASCII characters; \
                 the account `{id}` is named by its id"
            ),
        );
    } else if let Some(first) = names.get(&name) {
        name = with_id(&listed, &id, 50);
        report.push(
            Kind::Assumed,
            node.origin(),
            format!(
                "account `{id}` renamed `{name}`: account `{first}` has the name `{listed}`, \
                 and the model's account names are unique"
            ),
        );
    }
    names.insert(name.clone(), id.clone());
    let email = match node.text("Email")? {
        Some(email) if rules::email(&email).is_some() => {
            report.push(
                Kind::Refused,
                node.origin(),
                format!("account `{id}`: email `{email}` is not one the model accepts; left out"),
            );
            None
        }
        other => other,
    };
    if let Some(status) = node.text("Status")?.filter(|s| s != "ACTIVE") {
        report.push(
            Kind::Assumed,
            node.origin(),
            format!("account `{id}` is `{status}`; the model has it as an active account"),
        );
    }
    Ok(Account {
        id,
        name,
        email,
        parent: "root".into(),
        origin: node.origin(),
        iam: None,
        clusters: Vec::new(),
    })
}

/// The ids a policy target may name.
struct Known<'a> {
    root_id: &'a str,
    ous: HashSet<String>,
    accounts: HashSet<String>,
}

/// The SCPs or RCPs, and whether their listing was there at all.
fn policies(
    files: &mut Directory,
    filter: &str,
    known: &Known<'_>,
    report: &mut Report,
) -> Result<(Vec<OrgPolicy>, bool), ImportError> {
    let Some(listing) = files.optional(&format!("list-policies-{filter}.json"))? else {
        return Ok((Vec::new(), false));
    };
    let label = if filter == SCP { "SCP" } else { "RCP" };
    let mut out = Vec::new();
    for node in listing.root().items("Policies")? {
        let id = node.required_text("Id")?;
        let name = node.required_text("Name")?;
        let described_name = format!("describe-policy-{id}.json");
        let targets_name = format!("list-targets-for-policy-{id}.json");
        if filter == RCP && node.flag("AwsManaged")? == Some(true) {
            // RCPFullAWSAccess: AWS attaches it everywhere and the policy
            // engine supplies it; the model lists only the RCPs that deny.
            files.used.insert(described_name);
            files.used.insert(targets_name);
            continue;
        }
        let Some(described) = files.optional(&described_name)? else {
            report.push(
                Kind::Incomplete,
                files.origin(&described_name),
                format!("missing: {label} `{name}` (`{id}`) has no content; left out"),
            );
            continue;
        };
        let content = described.root().required("Policy")?.required("Content")?;
        let document = Doc {
            text: content.document()?,
            origin: content.origin(),
        };
        let mut targets = Vec::new();
        match files.optional(&targets_name)? {
            Some(file) => {
                for target in file.root().items("Targets")? {
                    if let Some(t) = target_of(&target, known, label, &name, report)? {
                        targets.push(t);
                    }
                }
            }
            None => report.push(
                Kind::Incomplete,
                files.origin(&targets_name),
                format!("missing: {label} `{name}` (`{id}`) is attached nowhere in the model"),
            ),
        }
        out.push(OrgPolicy {
            name,
            id,
            description: node.text("Description")?.filter(|d| !d.is_empty()),
            document,
            targets,
            origin: node.origin(),
        });
    }
    Ok((out, true))
}

/// A target as the model names it: `root`, an OU id or an account id.
fn target_of(
    target: &Node<'_>,
    known: &Known<'_>,
    label: &str,
    policy: &str,
    report: &mut Report,
) -> Result<Option<String>, ImportError> {
    let id = target.required_text("TargetId")?;
    let kind = target.required_text("Type")?;
    let mapped = match kind.as_str() {
        "ROOT" if id == known.root_id => Some("root".to_string()),
        "ORGANIZATIONAL_UNIT" if known.ous.contains(&id) => Some(id.clone()),
        "ACCOUNT" if known.accounts.contains(&id) => Some(id.clone()),
        _ => None,
    };
    if mapped.is_none() {
        report.push(
            Kind::OutsideOrganization,
            target.origin(),
            format!(
                "{label} `{policy}` is attached to {kind} `{id}`, which the organization \
                 listing does not have; that attachment is left out"
            ),
        );
    }
    Ok(mapped)
}

/// Tag, backup, AI opt-out, chatbot and declarative policies: listed, so
/// reported, never read.
fn other_policy_types(files: &mut Directory, report: &mut Report) -> Result<(), ImportError> {
    let others: Vec<String> = files
        .names
        .iter()
        .filter_map(|n| n.strip_prefix("list-policies-")?.strip_suffix(".json"))
        .filter(|filter| *filter != SCP && *filter != RCP)
        .map(str::to_string)
        .collect();
    for filter in others {
        let Some(listing) = files.optional(&format!("list-policies-{filter}.json"))? else {
            continue;
        };
        for node in listing.root().items("Policies")? {
            let id = node.required_text("Id")?;
            let name = node.required_text("Name")?;
            files.used.insert(format!("describe-policy-{id}.json"));
            files
                .used
                .insert(format!("list-targets-for-policy-{id}.json"));
            report.push(
                Kind::NotModelled,
                node.origin(),
                format!("{filter} `{name}` (`{id}`): the model has only SCPs and RCPs"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_ids_fit_their_limit() {
        assert_eq!(
            with_id("Prod", "ou-a1b2-abcdefgh", 128),
            "Prod (ou-a1b2-abcdefgh)"
        );
        let long = with_id(&"x".repeat(50), "111122223333", 50);
        assert_eq!(long.chars().count(), 50);
        assert!(long.ends_with(" (111122223333)"));
    }
}
