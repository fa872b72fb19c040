//! Checks of what accounts own besides IAM: S3 buckets and their seed
//! objects, VPCs and subnets, RAM resource shares, and the accounts outside
//! the organization.
//!
//! Buckets and VPCs are checked account by account, with the names and ids
//! that are unique model-wide; shares are checked once every account is
//! built, because their principals and resources name other accounts, OUs
//! and subnets.

use std::sync::Arc;

use base64::Engine as _;
use orgtwin_policy::PolicyType;

use crate::check::{Checker, Names};
use crate::check_iam::tags as check_tags;
use crate::error::Problem;
use crate::model::Model;
use crate::raw::{RawBucket, RawExternalAccount, RawObject, RawResourceShare, RawVpc, Text};
use crate::resources::{
    Bucket, DEFAULT_REGION, ExternalAccount, ResourceShare, SeedObject, SharePrincipal, Subnet,
    Vpc, subnet_arn,
};
use crate::rules;
use crate::source::beside;

/// The largest seed object, so that a model stays a thing kept in git.
pub const MAX_SEED_OBJECT_BYTES: usize = 16 * 1024 * 1024;

/// The names and ids that are unique across the model.
pub struct ResourceNames {
    pub buckets: Names,
    pub vpcs: Names,
    pub subnets: Names,
}

impl Default for ResourceNames {
    fn default() -> Self {
        ResourceNames {
            buckets: Names::new("bucket name", false),
            vpcs: Names::new("VPC id", false),
            subnets: Names::new("subnet id", false),
        }
    }
}

fn region(checker: &mut Checker<'_>, text: Option<&Text>) -> String {
    match text {
        Some(text) => {
            checker.valid(text, "region", rules::region(&text.value));
            text.value.clone()
        }
        None => DEFAULT_REGION.to_string(),
    }
}

pub fn buckets(
    checker: &mut Checker<'_>,
    raws: &[RawBucket],
    names: &mut ResourceNames,
) -> Vec<Bucket> {
    let mut out = Vec::new();
    for raw in raws {
        let name = raw.name.as_ref().filter(|name| {
            checker.valid(name, "bucket name", rules::bucket_name(&name.value))
                && checker.unique(&mut names.buckets, name)
        });
        let region = region(checker, raw.region.as_ref());
        // `None`: no policy; `Some(None)`: a policy with problems (reported).
        let policy = raw
            .policy
            .as_ref()
            .map(|d| checker.document(d, &[PolicyType::Resource]));
        let tags = check_tags(checker, &raw.tags);
        let mut keys = Names::new("object key", false);
        let objects: Vec<SeedObject> = raw
            .objects
            .iter()
            .filter_map(|o| seed_object(checker, o, &mut keys))
            .collect();
        let (Some(name), false) = (name, matches!(policy, Some(None))) else {
            continue;
        };
        out.push(Bucket {
            name: name.value.clone(),
            region,
            policy: policy.flatten(),
            tags,
            objects,
        });
    }
    out
}

fn seed_object(checker: &mut Checker<'_>, raw: &RawObject, keys: &mut Names) -> Option<SeedObject> {
    let key = raw.key.as_ref().filter(|key| {
        checker.valid(key, "object key", rules::object_key(&key.value)) && checker.unique(keys, key)
    });
    let given = [&raw.content, &raw.content_base64, &raw.file]
        .iter()
        .filter(|f| f.is_some())
        .count();
    if given != 1 {
        checker.push(
            &raw.loc,
            Problem::InvalidValue {
                what: "seed object",
                value: raw.key.as_ref().map(|k| k.value.clone()).unwrap_or_default(),
                rule: "give its body as exactly one of `content` (text), `content_base64` or `file` (a path relative to this file)".into(),
            },
        );
        return None;
    }
    let body: Vec<u8> = if let Some(text) = &raw.content {
        text.value.clone().into_bytes()
    } else if let Some(text) = &raw.content_base64 {
        match base64::engine::general_purpose::STANDARD.decode(text.value.trim()) {
            Ok(bytes) => bytes,
            Err(e) => {
                checker.push(
                    &text.loc,
                    Problem::InvalidValue {
                        what: "base64 content",
                        value: text.value.chars().take(20).collect(),
                        rule: format!("not standard base64: {e}"),
                    },
                );
                return None;
            }
        }
    } else {
        let path = raw.file.as_ref()?;
        let yaml = checker.sources.get(path.loc.file)?.path.clone();
        let full = beside(&yaml, &path.value);
        match checker.files.read_bytes(&full) {
            Ok(bytes) => bytes,
            Err(reason) => {
                checker.push(
                    &path.loc,
                    Problem::Unreadable {
                        path: full.display().to_string(),
                        reason,
                    },
                );
                return None;
            }
        }
    };
    if body.len() > MAX_SEED_OBJECT_BYTES {
        checker.push(
            &raw.loc,
            Problem::OutOfRange {
                what: "seed object size in bytes",
                value: body.len().to_string(),
                min: 0,
                max: MAX_SEED_OBJECT_BYTES as u64,
            },
        );
        return None;
    }
    if let Some(content_type) = &raw.content_type {
        checker.valid(
            content_type,
            "content type",
            rules::content_type(&content_type.value),
        );
    }
    Some(SeedObject {
        key: key?.value.clone(),
        body: Arc::from(body),
        content_type: raw.content_type.as_ref().map(|c| c.value.clone()),
    })
}

pub fn vpcs(checker: &mut Checker<'_>, raws: &[RawVpc], names: &mut ResourceNames) -> Vec<Vpc> {
    let mut out = Vec::new();
    for raw in raws {
        let id = raw.id.as_ref().filter(|id| {
            checker.valid(id, "VPC id", rules::resource_id(&id.value, "vpc"))
                && checker.unique(&mut names.vpcs, id)
        });
        let region = region(checker, raw.region.as_ref());
        let block =
            raw.cidr_block
                .as_ref()
                .and_then(|text| match rules::cidr_block(&text.value, 16, 28) {
                    Ok(block) => Some(block),
                    Err(rule) => {
                        checker.valid(text, "VPC CIDR block", Some(rule));
                        None
                    }
                });
        let tags = check_tags(checker, &raw.tags);
        let mut subnets = Vec::new();
        let mut taken: Vec<(rules::Cidr, String)> = Vec::new();
        for s in &raw.subnets {
            let id = s.id.as_ref().filter(|id| {
                checker.valid(id, "subnet id", rules::resource_id(&id.value, "subnet"))
                    && checker.unique(&mut names.subnets, id)
            });
            let zone = s.availability_zone.as_ref().filter(|zone| {
                let rule = (zone.value.len() != region.len() + 1
                    || !zone.value.starts_with(&region)
                    || !zone.value.ends_with(|c: char| c.is_ascii_lowercase()))
                .then(|| {
                    format!(
                        "an availability zone of {region} is `{region}` and a letter (`{region}a`)"
                    )
                });
                checker.valid(zone, "availability zone", rule)
            });
            let subnet_block = s.cidr_block.as_ref().and_then(|text| {
                let parsed = match rules::cidr_block(&text.value, 16, 28) {
                    Ok(b) => b,
                    Err(rule) => {
                        checker.valid(text, "subnet CIDR block", Some(rule));
                        return None;
                    }
                };
                if let Some(vpc) = block
                    && !vpc.contains(&parsed)
                {
                    checker.valid(
                        text,
                        "subnet CIDR block",
                        Some(format!("a subnet's block lies within its VPC's ({vpc})")),
                    );
                    return None;
                }
                if let Some((_, other)) = taken.iter().find(|(b, _)| b.overlaps(&parsed)) {
                    let other = other.clone();
                    checker.valid(
                        text,
                        "subnet CIDR block",
                        Some(format!("it overlaps subnet `{other}` of the same VPC")),
                    );
                    return None;
                }
                Some(parsed)
            });
            let tags = check_tags(checker, &s.tags);
            let (Some(id), Some(zone), Some(subnet_block)) = (id, zone, subnet_block) else {
                continue;
            };
            taken.push((subnet_block, id.value.clone()));
            subnets.push(Subnet {
                id: id.value.clone(),
                cidr_block: subnet_block.to_string(),
                availability_zone: zone.value.clone(),
                tags,
            });
        }
        let (Some(id), Some(block)) = (id, block) else {
            continue;
        };
        out.push(Vpc {
            id: id.value.clone(),
            region,
            cidr_block: block.to_string(),
            tags,
            subnets,
        });
    }
    out
}

pub fn external_accounts(
    checker: &mut Checker<'_>,
    raws: &[&RawExternalAccount],
    model: &Model,
) -> std::collections::BTreeMap<String, ExternalAccount> {
    let mut out = std::collections::BTreeMap::new();
    let mut ids = Names::new("external account id", false);
    for raw in raws {
        let Some(id) = &raw.id else { continue };
        if !checker.valid(id, "account id", rules::account_id(&id.value))
            || !checker.unique(&mut ids, id)
        {
            continue;
        }
        if model.in_organization(&id.value) {
            checker.valid(
                id,
                "external account id",
                Some("this account is a member of the organization; list it under `accounts`, not `external_accounts`".into()),
            );
            continue;
        }
        let name = match &raw.name {
            Some(name) if checker.valid(name, "account name", rules::account_name(&name.value)) => {
                name.value.clone()
            }
            Some(_) => continue,
            None => id.value.clone(),
        };
        out.insert(
            id.value.clone(),
            ExternalAccount {
                id: id.value.clone(),
                name,
            },
        );
    }
    out
}

/// Checks one account's shares against the built model and returns them.
pub fn resource_shares(
    checker: &mut Checker<'_>,
    model: &Model,
    account: &str,
    raws: &[RawResourceShare],
) -> Vec<ResourceShare> {
    let mut out = Vec::new();
    let mut names = Names::new("resource share name", false);
    let mut arns = Names::new("resource share ARN", false);
    let owned: Vec<(String, String, String)> = model
        .account(account)
        .map(|a| {
            a.vpcs
                .iter()
                .flat_map(|v| {
                    v.subnets.iter().map(|s| {
                        (
                            s.id.clone(),
                            v.region.clone(),
                            subnet_arn(&v.region, account, &s.id),
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    for raw in raws {
        let name = raw.name.as_ref().filter(|name| {
            checker.valid(
                name,
                "resource share name",
                rules::display_name(&name.value, 255),
            ) && checker.unique(&mut names, name)
        });
        let region = region(checker, raw.region.as_ref());
        let given_arn = raw.arn.as_ref().filter(|text| {
            let prefix = format!("arn:aws:ram:{region}:{account}:resource-share/");
            let rule = text
                .value
                .strip_prefix(&prefix)
                .is_none_or(|id| {
                    id.is_empty()
                        || id.len() > 64
                        || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
                })
                .then(|| {
                    format!("a share's ARN is `{prefix}` and its id (hexadecimal digits and `-`)")
                });
            checker.valid(text, "resource share ARN", rule) && checker.unique(&mut arns, text)
        });
        if raw.arn.is_some() && given_arn.is_none() {
            continue;
        }
        let allow_external = raw
            .allow_external_principals
            .as_ref()
            .is_none_or(|f| f.value);
        let mut resources = Vec::new();
        for text in &raw.resources {
            let found = owned
                .iter()
                .find(|(id, _, arn)| *id == text.value || *arn == text.value);
            match found {
                Some((_, subnet_region, arn)) if *subnet_region == region => {
                    if !resources.contains(arn) {
                        resources.push(arn.clone());
                    }
                }
                Some((_, subnet_region, _)) => {
                    checker.valid(
                        text,
                        "shared resource",
                        Some(format!("a share in {region} shares resources of {region}; this subnet is in {subnet_region}")),
                    );
                }
                None => checker.push(
                    &text.loc,
                    Problem::UnresolvedReference {
                        what: "shared resource",
                        name: text.value.clone(),
                        scope: format!("among the subnets of account {account}"),
                        hint: "a share names subnets its own account owns, by id (`subnet-...`) or ARN".into(),
                    },
                ),
            }
        }
        let mut principals = Vec::new();
        for text in &raw.principals {
            let Some(principal) = share_principal(checker, model, text) else {
                continue;
            };
            let external =
                matches!(&principal, SharePrincipal::Account(id) if !model.in_organization(id));
            if matches!(&principal, SharePrincipal::Account(id) if id == account) {
                checker.valid(
                    text,
                    "share principal",
                    Some("a share's own account cannot be its principal".into()),
                );
                continue;
            }
            if external && !allow_external {
                checker.valid(
                    text,
                    "share principal",
                    Some("this account is outside the organization and the share has `allow_external_principals: false`".into()),
                );
                continue;
            }
            if external && !resources.is_empty() {
                checker.valid(
                    text,
                    "share principal",
                    Some("subnets are shared only within the organization; this account is outside it".into()),
                );
                continue;
            }
            if !external
                && !model.organization.ram_sharing_with_organization
                && !resources.is_empty()
            {
                checker.valid(
                    text,
                    "share principal",
                    Some("sharing subnets needs RAM sharing with the organization: set `organization.ram_sharing_with_organization: true`".into()),
                );
                continue;
            }
            if !principals.contains(&principal) {
                principals.push(principal);
            }
        }
        let tags = check_tags(checker, &raw.tags);
        let Some(name) = name else { continue };
        let arn = given_arn.map_or_else(
            || derived_share_arn(account, &region, &name.value),
            |text| text.value.clone(),
        );
        out.push(ResourceShare {
            name: name.value.clone(),
            region,
            arn,
            allow_external_principals: allow_external,
            resources,
            principals,
            tags,
        });
    }
    out
}

/// The ARN of a share whose model entry gives none: derived from its
/// account, region and name, so the same in every run.
pub fn derived_share_arn(account: &str, region: &str, name: &str) -> String {
    format!(
        "arn:aws:ram:{region}:{account}:resource-share/{}",
        rules::derive_uuid(&format!("resource-share {account} {region} {name}"))
    )
}

/// A share principal: an account id, an OU (name, id or ARN), or the
/// organization (`organization`, its id or its ARN).
fn share_principal(
    checker: &mut Checker<'_>,
    model: &Model,
    text: &Text,
) -> Option<SharePrincipal> {
    let value = text.value.as_str();
    let org = &model.organization;
    let org_arn = format!(
        "arn:aws:organizations::{}:organization/{}",
        org.management_account, org.id
    );
    if value == "organization" || value == org.id || value == org_arn {
        return Some(SharePrincipal::Organization);
    }
    if rules::account_id(value).is_none() {
        if model.knows_account(value) {
            return Some(SharePrincipal::Account(value.to_string()));
        }
        checker.push(
            &text.loc,
            Problem::UnresolvedReference {
                what: "share principal",
                name: value.to_string(),
                scope: "among the organization's accounts and `external_accounts`".into(),
                hint: "list an account outside the organization under `external_accounts` to share with it".into(),
            },
        );
        return None;
    }
    let ou_id = value.rsplit('/').next().unwrap_or(value);
    let by_name = org.organizational_units.iter().find(|ou| ou.name == value);
    let by_id = org.organizational_units.iter().find(|ou| ou.id == ou_id);
    if let Some(ou) = by_name.or(by_id) {
        let wanted = format!(
            "arn:aws:organizations::{}:ou/{}/{}",
            org.management_account, org.id, ou.id
        );
        if value.starts_with("arn:") && value != wanted {
            checker.valid(text, "OU ARN", Some(format!("this OU's ARN is `{wanted}`")));
            return None;
        }
        return Some(SharePrincipal::OrganizationalUnit(ou.name.clone()));
    }
    checker.push(
        &text.loc,
        Problem::UnresolvedReference {
            what: "share principal",
            name: value.to_string(),
            scope: "among accounts, OUs and the organization".into(),
            hint: "write an account id, an OU's name, id or ARN, or `organization`".into(),
        },
    );
    None
}
