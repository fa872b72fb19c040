//! The checked model: an AWS organization's tree, its accounts, and each
//! account's IAM, as the twin server and the analyzer use them.
//!
//! Everything here has passed every check of `docs/model.md`: ids are well
//! formed and unique, every name a policy, group, boundary, parent or target
//! refers to exists, and every policy document is valid for its policy type.
//! Ids the files leave out are derived from names and ARNs, the same in
//! every run. Names and ARNs use the `aws` partition.
//!
//! Lookups by name are exact (IAM's names are unique ignoring case, which
//! the checks enforce, but ARNs compare case-sensitively).

use std::collections::BTreeMap;
use std::fmt;

use orgtwin_policy::{NamedPolicy, OrgLevel};

use crate::aws_managed;
use crate::document::Document;
use crate::resources::{Bucket, ExternalAccount, ResourceShare, Vpc};

/// A checked organization model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub organization: Organization,
    /// Every account, by account id.
    pub accounts: BTreeMap<String, Account>,
    pub scps: Vec<OrgPolicy>,
    pub rcps: Vec<OrgPolicy>,
    /// Accounts outside the organization that the model knows of (to share
    /// with, to call from), by account id.
    pub external_accounts: BTreeMap<String, ExternalAccount>,
    /// Each account's SCP and RCP levels, built on first use.
    pub levels: LevelCache,
}

/// An account's SCPs and RCPs, level by level, root first, and its
/// `aws:PrincipalOrgPaths` entry (`o-.../r-.../ou-.../ACCOUNT/`).
#[derive(Clone, Debug, Default)]
pub struct AccountLevels {
    pub scps: Vec<OrgLevel>,
    pub rcps: Vec<OrgLevel>,
    pub org_path: String,
}

/// The levels of every account, computed once per model. A copy of a model
/// may be changed, so it starts with an empty cache; cached or not, two
/// models compare by their content alone.
#[derive(Default)]
pub struct LevelCache(std::sync::OnceLock<BTreeMap<String, std::sync::Arc<AccountLevels>>>);

impl Clone for LevelCache {
    fn clone(&self) -> Self {
        LevelCache::default()
    }
}

impl PartialEq for LevelCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for LevelCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LevelCache")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organization {
    /// `o-` and 10 to 32 lowercase letters or digits.
    pub id: String,
    /// `r-` and 4 to 32 lowercase letters or digits.
    pub root_id: String,
    pub management_account: String,
    /// In the order the file declares them; parents may come later.
    pub organizational_units: Vec<OrganizationalUnit>,
    /// Whether RAM shares with the organization, its OUs and accounts
    /// without invitations (`EnableSharingWithAwsOrganization`).
    pub ram_sharing_with_organization: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationalUnit {
    /// `ou-` + the root id's suffix + `-` + 8 to 32 lowercase letters or digits.
    pub id: String,
    pub name: String,
    pub parent: Parent,
}

/// Where an OU or an account sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    Root,
    /// An OU, by name.
    OrganizationalUnit(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// 12 digits.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub parent: Parent,
    pub iam: Iam,
    /// S3 buckets this account owns.
    pub buckets: Vec<Bucket>,
    /// VPCs this account owns, with their subnets.
    pub vpcs: Vec<Vpc>,
    /// RAM resource shares this account owns.
    pub resource_shares: Vec<ResourceShare>,
    /// EKS clusters in this account.
    pub clusters: Vec<crate::eks::Cluster>,
}

/// An account's IAM entities, each in the order its file declares them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Iam {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    /// Customer managed policies.
    pub policies: Vec<ManagedPolicy>,
    pub oidc_providers: Vec<OidcProvider>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    pub arn: String,
    /// `AIDA` and 17 characters.
    pub id: String,
    pub access_keys: Vec<AccessKey>,
    /// Group names, in this account.
    pub groups: Vec<String>,
    pub inline_policies: Vec<InlinePolicy>,
    /// Managed policy ARNs: this account's, or AWS managed ones.
    pub managed_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKey {
    /// `AKIA` and 16 characters of `A-Z2-7`.
    pub id: String,
    pub secret: Secret,
    pub status: KeyStatus,
}

/// A secret access key. `Debug` and `Display` print `** redacted **`; only
/// [`Secret::expose`] gives the value (to sign requests, or to export).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// `AGPA` and 17 characters.
    pub id: String,
    pub inline_policies: Vec<InlinePolicy>,
    pub managed_policies: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// `AROA` and 17 characters.
    pub id: String,
    pub description: Option<String>,
    pub trust_policy: Document,
    pub inline_policies: Vec<InlinePolicy>,
    pub managed_policies: Vec<String>,
    pub permissions_boundary: Option<String>,
    /// Seconds, 3600 to 43200.
    pub max_session_duration: u32,
    pub tags: Vec<Tag>,
}

/// A customer managed policy, or one of AWS's (see [`crate::aws_managed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// `ANPA` and 17 characters.
    pub id: String,
    pub description: Option<String>,
    pub document: Document,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InlinePolicy {
    pub name: String,
    pub document: Document,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProvider {
    /// `https://` and the issuer's host and path.
    pub url: String,
    /// `arn:aws:iam::ACCOUNT:oidc-provider/` and the URL without `https://`.
    pub arn: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An SCP or an RCP, and where it is attached.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgPolicy {
    pub name: String,
    /// `p-` and 8 to 128 letters, digits or `_` (`p-FullAWSAccess` for AWS's).
    pub id: String,
    pub description: Option<String>,
    pub document: Document,
    pub targets: Vec<Target>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Root,
    /// By name.
    OrganizationalUnit(String),
    /// By account id.
    Account(String),
}

impl Model {
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn account_by_name(&self, name: &str) -> Option<&Account> {
        self.accounts.values().find(|a| a.name == name)
    }

    pub fn organizational_unit(&self, name: &str) -> Option<&OrganizationalUnit> {
        self.organization
            .organizational_units
            .iter()
            .find(|ou| ou.name == name)
    }

    pub fn is_management(&self, account: &str) -> bool {
        self.organization.management_account == account
    }

    pub fn role(&self, account: &str, name: &str) -> Option<&Role> {
        self.account(account)?
            .iam
            .roles
            .iter()
            .find(|r| r.name == name)
    }

    pub fn user(&self, account: &str, name: &str) -> Option<&User> {
        self.account(account)?
            .iam
            .users
            .iter()
            .find(|u| u.name == name)
    }

    pub fn group(&self, account: &str, name: &str) -> Option<&Group> {
        self.account(account)?
            .iam
            .groups
            .iter()
            .find(|g| g.name == name)
    }

    /// The account, user and key an access key id belongs to.
    pub fn user_by_access_key(&self, key_id: &str) -> Option<(&Account, &User, &AccessKey)> {
        self.accounts.values().find_map(|account| {
            account.iam.users.iter().find_map(|user| {
                let key = user.access_keys.iter().find(|k| k.id == key_id)?;
                Some((account, user, key))
            })
        })
    }

    /// A customer managed policy of any account, or an AWS managed policy
    /// from the built-in set, by ARN.
    pub fn managed_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        if let Some(policy) = aws_managed::policy(arn) {
            return Some(policy);
        }
        let account = arn.split(':').nth(4)?;
        self.account(account)?
            .iam
            .policies
            .iter()
            .find(|p| p.arn == arn)
    }

    pub fn oidc_provider(&self, account: &str, arn: &str) -> Option<&OidcProvider> {
        self.account(account)?
            .iam
            .oidc_providers
            .iter()
            .find(|p| p.arn == arn)
    }

    /// The levels from the root to the account: `root`, `OU NAME` for each
    /// OU from the top down, `account ID`. Empty for an unknown account.
    pub fn ancestors(&self, account: &str) -> Vec<Level> {
        let Some(account) = self.account(account) else {
            return Vec::new();
        };
        let mut ous = Vec::new();
        let mut parent = &account.parent;
        while let Parent::OrganizationalUnit(name) = parent {
            // INVARIANT: the checks refuse cycles; the bound guards anyway.
            if ous.len() > self.organization.organizational_units.len() {
                break;
            }
            ous.push(Level::OrganizationalUnit(name.clone()));
            parent = match self.organizational_unit(name) {
                Some(ou) => &ou.parent,
                None => break,
            };
        }
        let mut levels = vec![Level::Root];
        levels.extend(ous.into_iter().rev());
        levels.push(Level::Account(account.id.clone()));
        levels
    }

    /// The SCPs of each level above and at the account, root first, as the
    /// policy engine takes them. Empty for an unknown account.
    /// The SCP and RCP levels of `account` (empty for an account outside the
    /// model), computed once for every account and shared: what each
    /// authorization needs, without rebuilding it per request. Use it on a
    /// model that is no longer being changed.
    pub fn org_levels(&self, account: &str) -> std::sync::Arc<AccountLevels> {
        let all = self.levels.0.get_or_init(|| {
            self.accounts
                .keys()
                .map(|id| {
                    let levels = AccountLevels {
                        scps: self.scp_levels(id),
                        rcps: self.rcp_levels(id),
                        org_path: self.org_path(id),
                    };
                    (id.clone(), std::sync::Arc::new(levels))
                })
                .collect()
        });
        all.get(account).cloned().unwrap_or_default()
    }

    /// `aws:PrincipalOrgPaths` of an account: the organization id, then the
    /// root, each OU and the account, `/`-separated and ending in `/`.
    pub fn org_path(&self, account: &str) -> String {
        let mut path = format!("{}/", self.organization.id);
        for level in self.ancestors(account) {
            let id = match level {
                Level::Root => self.organization.root_id.clone(),
                Level::OrganizationalUnit(name) => self
                    .organizational_unit(&name)
                    .map(|ou| ou.id.clone())
                    .unwrap_or_default(),
                Level::Account(id) => id,
            };
            path.push_str(&id);
            path.push('/');
        }
        path
    }

    pub fn scp_levels(&self, account: &str) -> Vec<OrgLevel> {
        self.levels(account, &self.scps)
    }

    /// The RCPs of each level, root first (`RCPFullAWSAccess`, which AWS
    /// attaches everywhere, is left to the engine).
    pub fn rcp_levels(&self, account: &str) -> Vec<OrgLevel> {
        self.levels(account, &self.rcps)
    }

    fn levels(&self, account: &str, policies: &[OrgPolicy]) -> Vec<OrgLevel> {
        self.ancestors(account)
            .into_iter()
            .map(|level| {
                let target = level.target();
                OrgLevel {
                    name: level.to_string().into(),
                    policies: policies
                        .iter()
                        .filter(|p| p.targets.contains(&target))
                        .map(|p| p.document.named(&p.name))
                        .collect(),
                }
            })
            .collect()
    }

    /// A role's inline policies (by name) and attached managed policies (by
    /// ARN). Empty for an unknown role.
    pub fn identity_policies_of_role(&self, account: &str, name: &str) -> Vec<NamedPolicy> {
        let Some(role) = self.role(account, name) else {
            return Vec::new();
        };
        self.identity_policies(&role.inline_policies, &role.managed_policies, None)
    }

    /// A user's inline and managed policies, then each of its groups'
    /// (inline ones named `GROUP/NAME`). Empty for an unknown user.
    pub fn identity_policies_of_user(&self, account: &str, name: &str) -> Vec<NamedPolicy> {
        let Some(user) = self.user(account, name) else {
            return Vec::new();
        };
        let mut policies =
            self.identity_policies(&user.inline_policies, &user.managed_policies, None);
        for group in user.groups.iter().filter_map(|g| self.group(account, g)) {
            let more = self.identity_policies(
                &group.inline_policies,
                &group.managed_policies,
                Some(&group.name),
            );
            policies.extend(more);
        }
        policies
    }

    fn identity_policies(
        &self,
        inline: &[InlinePolicy],
        managed: &[String],
        group: Option<&str>,
    ) -> Vec<NamedPolicy> {
        let inline = inline.iter().map(|p| match group {
            Some(group) => p.document.named(&format!("{group}/{}", p.name)),
            None => p.document.named(&p.name),
        });
        let managed = managed
            .iter()
            .filter_map(|arn| Some(self.managed_policy(arn)?.document.named(arn)));
        inline.chain(managed).collect()
    }

    /// A role's permissions boundary, named by its ARN.
    pub fn boundary_of_role(&self, account: &str, name: &str) -> Option<NamedPolicy> {
        let arn = self.role(account, name)?.permissions_boundary.as_ref()?;
        Some(self.managed_policy(arn)?.document.named(arn))
    }

    pub fn boundary_of_user(&self, account: &str, name: &str) -> Option<NamedPolicy> {
        let arn = self.user(account, name)?.permissions_boundary.as_ref()?;
        Some(self.managed_policy(arn)?.document.named(arn))
    }

    /// A role's trust policy, named `ROLE trust`.
    pub fn trust_policy_of_role(&self, account: &str, name: &str) -> Option<NamedPolicy> {
        let role = self.role(account, name)?;
        Some(role.trust_policy.named(&format!("{} trust", role.name)))
    }
}

/// One level of the organization tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Level {
    Root,
    OrganizationalUnit(String),
    Account(String),
}

impl Level {
    fn target(&self) -> Target {
        match self {
            Level::Root => Target::Root,
            Level::OrganizationalUnit(name) => Target::OrganizationalUnit(name.clone()),
            Level::Account(id) => Target::Account(id.clone()),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Root => f.write_str("root"),
            Level::OrganizationalUnit(name) => write!(f, "OU {name}"),
            Level::Account(id) => write!(f, "account {id}"),
        }
    }
}
