//! What accounts own besides IAM: S3 buckets (with seed objects), VPCs and
//! their subnets, and RAM resource shares; and the accounts outside the
//! organization that the model knows of.

use std::fmt;
use std::sync::Arc;

use crate::document::Document;
use crate::model::{Model, Parent, Tag};

/// The region of buckets, VPCs and shares that do not name one.
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalAccount {
    /// 12 digits.
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    /// Globally unique, S3's naming rules.
    pub name: String,
    pub region: String,
    /// The bucket policy (a resource policy).
    pub policy: Option<Document>,
    pub tags: Vec<Tag>,
    /// Objects put in the bucket when a state is created from the model.
    pub objects: Vec<SeedObject>,
}

impl Bucket {
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.name)
    }
}

/// An object a bucket starts with.
#[derive(Clone, PartialEq, Eq)]
pub struct SeedObject {
    pub key: String,
    pub body: Arc<[u8]>,
    pub content_type: Option<String>,
}

impl fmt::Debug for SeedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedObject")
            .field("key", &self.key)
            .field("bytes", &self.body.len())
            .field("content_type", &self.content_type)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vpc {
    /// `vpc-` and 8 or 17 hexadecimal digits.
    pub id: String,
    pub region: String,
    /// IPv4, `/16` to `/28`.
    pub cidr_block: String,
    pub tags: Vec<Tag>,
    pub subnets: Vec<Subnet>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subnet {
    /// `subnet-` and 8 or 17 hexadecimal digits.
    pub id: String,
    /// Within the VPC's block; subnets of one VPC do not overlap.
    pub cidr_block: String,
    /// The region and a letter (`us-east-1a`).
    pub availability_zone: String,
    pub tags: Vec<Tag>,
}

/// `arn:aws:ec2:REGION:ACCOUNT:subnet/ID`.
pub fn subnet_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}:{account}:subnet/{id}")
}

/// A RAM resource share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceShare {
    pub name: String,
    pub region: String,
    /// `arn:aws:ram:REGION:ACCOUNT:resource-share/UUID`.
    pub arn: String,
    pub allow_external_principals: bool,
    /// ARNs of the shared resources (subnets), all owned by the share's
    /// account.
    pub resources: Vec<String>,
    pub principals: Vec<SharePrincipal>,
    pub tags: Vec<Tag>,
}

/// Whom a share is with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SharePrincipal {
    /// A 12-digit account id, in the organization or outside it.
    Account(String),
    /// An OU, by name.
    OrganizationalUnit(String),
    /// The whole organization.
    Organization,
}

impl Model {
    /// The bucket named `name` and its owner's account id.
    pub fn bucket(&self, name: &str) -> Option<(&str, &Bucket)> {
        self.accounts.values().find_map(|a| {
            a.buckets
                .iter()
                .find(|b| b.name == name)
                .map(|b| (a.id.as_str(), b))
        })
    }

    /// Whether `account` is a member of the organization.
    pub fn in_organization(&self, account: &str) -> bool {
        self.accounts.contains_key(account)
    }

    /// Whether `account` is known, in the organization or outside it.
    pub fn knows_account(&self, account: &str) -> bool {
        self.in_organization(account) || self.external_accounts.contains_key(account)
    }

    /// Whether `principal` of a share includes `account`: the account
    /// itself, an OU it is in (at any depth), or the organization.
    pub fn share_principal_includes(&self, principal: &SharePrincipal, account: &str) -> bool {
        match principal {
            SharePrincipal::Account(id) => id == account,
            SharePrincipal::Organization => self.in_organization(account),
            SharePrincipal::OrganizationalUnit(name) => {
                let Some(member) = self.account(account) else {
                    return false;
                };
                let mut parent = member.parent.clone();
                // Bounded by the number of OUs: the checks broke any cycle.
                for _ in 0..=self.organization.organizational_units.len() {
                    match parent {
                        Parent::Root => return false,
                        Parent::OrganizationalUnit(ou) if &ou == name => return true,
                        Parent::OrganizationalUnit(ou) => match self.organizational_unit(&ou) {
                            Some(unit) => parent = unit.parent.clone(),
                            None => return false,
                        },
                    }
                }
                false
            }
        }
    }

    /// The subnets `account` sees: its own, then those shared with it (each
    /// with its owner's account id and its VPC), in account order.
    pub fn visible_subnets(&self, account: &str) -> Vec<(&str, &Vpc, &Subnet)> {
        let mut out = Vec::new();
        for owner in self.accounts.values() {
            let shared: Vec<&str> = if owner.id == account {
                Vec::new()
            } else {
                owner
                    .resource_shares
                    .iter()
                    .filter(|share| {
                        share
                            .principals
                            .iter()
                            .any(|p| self.share_principal_includes(p, account))
                    })
                    .flat_map(|share| share.resources.iter().map(String::as_str))
                    .collect()
            };
            for vpc in &owner.vpcs {
                for subnet in &vpc.subnets {
                    let visible = owner.id == account
                        || shared
                            .contains(&subnet_arn(&vpc.region, &owner.id, &subnet.id).as_str());
                    if visible {
                        out.push((owner.id.as_str(), vpc, subnet));
                    }
                }
            }
        }
        out
    }
}
