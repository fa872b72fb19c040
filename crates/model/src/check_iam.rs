//! The checks of one account's IAM, and the building of its checked
//! entities.
//!
//! Names are IAM's: user and role names up to 64 characters, group and
//! policy names up to 128, unique within the account ignoring case (as IAM
//! keeps them). Paths are `/` or `/.../`. ARNs and unique ids follow, the
//! ids derived from the ARN (`orgtwin_policy::principal::stable_id`) when
//! the file gives none. References resolve within the account: groups by
//! name; managed policies and permissions boundaries by ARN, to this
//! account's customer managed policies or to AWS managed policies of the
//! built-in set ([`crate::aws_managed`]). Quotas are IAM's: 2 access keys
//! and 10 groups per user, 10 managed policies per group, 20 per user or
//! role (the raised quota), 50 tags, 5 thumbprints and 100 client ids per
//! OIDC provider. Access key ids, secrets and unique ids are unique across
//! the model.

use std::collections::{HashMap, HashSet};

use orgtwin_policy::PolicyType;
use orgtwin_policy::principal::stable_id;

use crate::aws_managed::{self, ARN_PREFIX};
use crate::check::{Checker, Global, Names};
use crate::error::Problem;
use crate::model::{
    AccessKey, Group, Iam, InlinePolicy, KeyStatus, ManagedPolicy, OidcProvider, Role, Secret, Tag,
    User,
};
use crate::raw::{RawIam, RawInlinePolicy, RawPrincipal, RawTags, Text};
use crate::rules;

/// The default and the bounds of a role's maximum session duration, seconds.
const SESSION_DEFAULT: u32 = 3_600;
const SESSION_MAX: u32 = 43_200;

pub fn iam(checker: &mut Checker<'_>, account: &str, raw: &RawIam) -> Iam {
    let boundaries: HashSet<&str> = raw
        .users
        .iter()
        .filter_map(|u| u.permissions_boundary.as_ref())
        .chain(
            raw.roles
                .iter()
                .filter_map(|r| r.permissions_boundary.as_ref()),
        )
        .map(|t| t.value.as_str())
        .collect();
    let mut iam = Iam::default();
    let mut names = Names::new("managed policy name", true);
    for raw in &raw.policies {
        let name = raw.name.as_ref().filter(|name| {
            checker.valid(name, "policy name", rules::iam_name(&name.value, 128))
                && checker.unique(&mut names, name)
        });
        let path = path(checker, raw.path.as_ref());
        if let Some(description) = &raw.description {
            checker.valid(
                description,
                "description",
                rules::description(&description.value, 1000),
            );
        }
        let arn = name.map(|n| rules::iam_arn(account, "policy", &path, &n.value));
        let id = unique_id(checker, raw.id.as_ref(), "ANPA", arn.as_deref());
        let mut types = vec![PolicyType::Identity];
        if arn.as_deref().is_some_and(|arn| boundaries.contains(arn)) {
            types.push(PolicyType::PermissionsBoundary);
        }
        let document = raw
            .document
            .as_ref()
            .and_then(|d| checker.document(d, &types));
        if let (Some(name), Some(arn), Some(document)) = (name, arn, document) {
            iam.policies.push(ManagedPolicy {
                name: name.value.clone(),
                path,
                arn,
                id,
                description: raw.description.as_ref().map(|d| d.value.clone()),
                document,
            });
        }
    }
    let index = PolicyIndex {
        arns: iam.policies.iter().map(|p| p.arn.clone()).collect(),
        by_name: iam
            .policies
            .iter()
            .map(|p| (p.name.to_lowercase(), p.arn.clone()))
            .collect(),
    };
    let mut names = Names::new("group name", true);
    for raw in &raw.groups {
        let common = common(
            checker,
            account,
            &raw.common,
            Kind::GROUP,
            &mut names,
            &index,
        );
        if let Some(c) = common {
            iam.groups.push(Group {
                name: c.name,
                path: c.path,
                arn: c.arn,
                id: c.id,
                inline_policies: c.inline_policies,
                managed_policies: c.managed_policies,
            });
        }
    }
    let groups_by_name: HashSet<String> = iam.groups.iter().map(|g| g.name.clone()).collect();
    let mut names = Names::new("user name", true);
    for raw in &raw.users {
        let common = common(
            checker,
            account,
            &raw.common,
            Kind::USER,
            &mut names,
            &index,
        );
        let access_keys = access_keys(checker, &raw.access_keys);
        let mut group_names = Names::new("group membership", true);
        let mut groups = Vec::new();
        if raw.groups.len() > 10 {
            checker.push(&raw.common.loc, too_many("groups", raw.groups.len(), 10));
        }
        for text in &raw.groups {
            if groups_by_name.contains(&text.value) {
                if checker.unique(&mut group_names, text) {
                    groups.push(text.value.clone());
                }
                continue;
            }
            let known: Vec<String> = iam
                .groups
                .iter()
                .take(10)
                .map(|g| format!("`{}`", g.name))
                .collect();
            checker.push(
                &text.loc,
                Problem::UnresolvedReference {
                    what: "group",
                    name: text.value.clone(),
                    scope: format!("in account `{account}`"),
                    hint: if known.is_empty() {
                        "define the group under `iam.groups` of this account".to_string()
                    } else {
                        format!("this account's groups are {}", known.join(", "))
                    },
                },
            );
        }
        let boundary = raw
            .permissions_boundary
            .as_ref()
            .and_then(|t| managed_reference(checker, account, t, &index));
        let tags = tags(checker, &raw.tags);
        if let Some(c) = common {
            iam.users.push(User {
                name: c.name,
                path: c.path,
                arn: c.arn,
                id: c.id,
                access_keys,
                groups,
                inline_policies: c.inline_policies,
                managed_policies: c.managed_policies,
                permissions_boundary: boundary,
                tags,
            });
        }
    }
    let mut names = Names::new("role name", true);
    for raw in &raw.roles {
        let common = common(
            checker,
            account,
            &raw.common,
            Kind::ROLE,
            &mut names,
            &index,
        );
        if let Some(description) = &raw.description {
            checker.valid(
                description,
                "description",
                rules::description(&description.value, 1000),
            );
        }
        let trust_policy = raw
            .trust_policy
            .as_ref()
            .and_then(|d| checker.document(d, &[PolicyType::Trust]));
        let boundary = raw
            .permissions_boundary
            .as_ref()
            .and_then(|t| managed_reference(checker, account, t, &index));
        let max_session_duration = match &raw.max_session_duration {
            None => SESSION_DEFAULT,
            Some(n) => match u32::try_from(n.value) {
                Ok(value) if (SESSION_DEFAULT..=SESSION_MAX).contains(&value) => value,
                _ => {
                    checker.push(
                        &n.loc,
                        Problem::OutOfRange {
                            what: "max_session_duration",
                            value: n.value.to_string(),
                            min: u64::from(SESSION_DEFAULT),
                            max: u64::from(SESSION_MAX),
                        },
                    );
                    SESSION_DEFAULT
                }
            },
        };
        let tags = tags(checker, &raw.tags);
        if let (Some(c), Some(trust_policy)) = (common, trust_policy) {
            iam.roles.push(Role {
                name: c.name,
                path: c.path,
                arn: c.arn,
                id: c.id,
                description: raw.description.as_ref().map(|d| d.value.clone()),
                trust_policy,
                inline_policies: c.inline_policies,
                managed_policies: c.managed_policies,
                permissions_boundary: boundary,
                max_session_duration,
                tags,
            });
        }
    }
    let mut urls = Names::new("OIDC provider", false);
    for raw in &raw.oidc_providers {
        let tags = tags(checker, &raw.tags);
        check_list(
            checker,
            &raw.loc,
            &raw.client_ids,
            "client ids",
            100,
            rules::client_id,
            "client id",
        );
        check_list(
            checker,
            &raw.loc,
            &raw.thumbprints,
            "thumbprints",
            5,
            rules::thumbprint,
            "thumbprint",
        );
        let Some(url) = &raw.url else { continue };
        let host_path = match rules::oidc_url(&url.value) {
            Ok(host_path) => host_path,
            Err(rule) => {
                checker.valid(url, "OIDC provider URL", Some(rule));
                continue;
            }
        };
        if !checker.unique(&mut urls, url) {
            continue;
        }
        iam.oidc_providers.push(OidcProvider {
            url: url.value.clone(),
            arn: format!("arn:aws:iam::{account}:oidc-provider/{host_path}"),
            client_ids: raw.client_ids.iter().map(|t| t.value.clone()).collect(),
            thumbprints: raw.thumbprints.iter().map(|t| t.value.clone()).collect(),
            tags,
        });
    }
    iam
}

/// An account's customer managed policies, by ARN and by name (ignoring
/// case, for hints).
struct PolicyIndex {
    arns: HashSet<String>,
    by_name: HashMap<String, String>,
}

/// What differs between users, groups and roles.
struct Kind {
    /// In ARNs: `user`, `group`, `role`.
    arn: &'static str,
    id_prefix: &'static str,
    max_name: usize,
    max_managed: usize,
}

impl Kind {
    const USER: Kind = Kind {
        arn: "user",
        id_prefix: "AIDA",
        max_name: 64,
        max_managed: 20,
    };
    const GROUP: Kind = Kind {
        arn: "group",
        id_prefix: "AGPA",
        max_name: 128,
        max_managed: 10,
    };
    const ROLE: Kind = Kind {
        arn: "role",
        id_prefix: "AROA",
        max_name: 64,
        max_managed: 20,
    };
}

struct Common {
    name: String,
    path: String,
    arn: String,
    id: String,
    inline_policies: Vec<InlinePolicy>,
    managed_policies: Vec<String>,
}

/// Checks what users, groups and roles share; `None` when the entity has
/// no usable name (its other fields are still checked).
fn common(
    checker: &mut Checker<'_>,
    account: &str,
    raw: &RawPrincipal,
    kind: Kind,
    names: &mut Names,
    policies: &PolicyIndex,
) -> Option<Common> {
    let name = raw.name.as_ref().filter(|name| {
        checker.valid(
            name,
            "IAM name",
            rules::iam_name(&name.value, kind.max_name),
        ) && checker.unique(names, name)
    });
    let path = path(checker, raw.path.as_ref());
    let arn = name.map(|n| rules::iam_arn(account, kind.arn, &path, &n.value));
    let id = unique_id(checker, raw.id.as_ref(), kind.id_prefix, arn.as_deref());
    let inline_policies = inline_policies(checker, &raw.inline_policies);
    if raw.managed_policies.len() > kind.max_managed {
        checker.push(
            &raw.loc,
            too_many(
                "managed policies",
                raw.managed_policies.len(),
                kind.max_managed,
            ),
        );
    }
    let mut attached = Names::new("managed policy attachment", false);
    let mut managed_policies = Vec::new();
    for text in &raw.managed_policies {
        if let Some(arn) = managed_reference(checker, account, text, policies)
            && checker.unique(&mut attached, text)
        {
            managed_policies.push(arn);
        }
    }
    Some(Common {
        name: name?.value.clone(),
        path,
        arn: arn?,
        id,
        inline_policies,
        managed_policies,
    })
}

fn path(checker: &mut Checker<'_>, text: Option<&Text>) -> String {
    match text {
        Some(text) if checker.valid(text, "IAM path", rules::iam_path(&text.value)) => {
            text.value.clone()
        }
        _ => "/".to_string(),
    }
}

/// The given unique id (checked, and unique across the model), or one
/// derived from the ARN.
fn unique_id(
    checker: &mut Checker<'_>,
    text: Option<&Text>,
    prefix: &str,
    arn: Option<&str>,
) -> String {
    match text {
        Some(text) => {
            if checker.valid(text, "unique id", rules::unique_id(&text.value, prefix)) {
                checker.unique_in(Global::UniqueIds, text, &text.value);
            }
            text.value.clone()
        }
        None => stable_id(prefix, arn.unwrap_or_default()),
    }
}

fn inline_policies(checker: &mut Checker<'_>, raw: &[RawInlinePolicy]) -> Vec<InlinePolicy> {
    let mut names = Names::new("inline policy name", true);
    let mut out = Vec::new();
    for policy in raw {
        let name = policy.name.as_ref().filter(|name| {
            checker.valid(name, "policy name", rules::iam_name(&name.value, 128))
                && checker.unique(&mut names, name)
        });
        let document = policy
            .document
            .as_ref()
            .and_then(|d| checker.document(d, &[PolicyType::Identity]));
        if let (Some(name), Some(document)) = (name, document) {
            out.push(InlinePolicy {
                name: name.value.clone(),
                document,
            });
        }
    }
    out
}

/// Resolves a managed policy ARN (an attachment or a permissions boundary):
/// this account's customer managed policies, or the built-in AWS ones.
fn managed_reference(
    checker: &mut Checker<'_>,
    account: &str,
    text: &Text,
    policies: &PolicyIndex,
) -> Option<String> {
    let arn = text.value.as_str();
    if let Some(name) = arn.strip_prefix(ARN_PREFIX) {
        if aws_managed::policy(arn).is_some() {
            return Some(arn.to_string());
        }
        checker.push(
            &text.loc,
            Problem::UnresolvedReference {
                what: "AWS managed policy",
                name: name.to_string(),
                scope: "in orgtwin's built-in set".to_string(),
                hint: format!(
                    "orgtwin ships {}; define the others as customer managed policies under `iam.policies`",
                    aws_managed::names().join(", ")
                ),
            },
        );
        return None;
    }
    let owner = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":policy/"))
        .map(|(owner, _)| owner);
    let Some(owner) = owner else {
        checker.valid(
            text,
            "managed policy ARN",
            Some(
                "write `arn:aws:iam::ACCOUNT:policy/NAME` or `arn:aws:iam::aws:policy/NAME`"
                    .to_string(),
            ),
        );
        return None;
    };
    if policies.arns.contains(arn) {
        return Some(arn.to_string());
    }
    let name = arn.rsplit('/').next().unwrap_or_default();
    let hint = if owner != account {
        format!(
            "a managed policy attaches only to identities of its own account; define it in `{account}`"
        )
    } else if let Some(similar) = policies.by_name.get(&name.to_lowercase()) {
        format!("did you mean `{similar}`?")
    } else {
        "define it under `iam.policies` of this account, or use an AWS managed policy ARN"
            .to_string()
    };
    checker.push(
        &text.loc,
        Problem::UnresolvedReference {
            what: "managed policy",
            name: arn.to_string(),
            scope: format!("in account `{account}`"),
            hint,
        },
    );
    None
}

fn access_keys(checker: &mut Checker<'_>, raw: &[crate::raw::RawAccessKey]) -> Vec<AccessKey> {
    let mut out = Vec::new();
    if let Some(third) = raw.get(2) {
        checker.push(&third.loc, too_many("access keys", raw.len(), 2));
    }
    for key in raw {
        let id = key.id.as_ref().filter(|id| {
            checker.valid(id, "access key id", rules::access_key_id(&id.value))
                && checker.unique_in(Global::AccessKeys, id, &id.value)
        });
        let secret = key.secret.as_ref().filter(|secret| {
            if !rules::secret_access_key(&secret.value) {
                checker.push(&secret.loc, Problem::InvalidSecretAccessKey);
                return false;
            }
            checker.unique_in(Global::Secrets, secret, "** redacted **")
        });
        let status = match key.status.as_ref().map(|s| s.value.as_str()) {
            None | Some("Active") => Some(KeyStatus::Active),
            Some("Inactive") => Some(KeyStatus::Inactive),
            Some(_) => {
                if let Some(text) = &key.status {
                    checker.valid(
                        text,
                        "access key status",
                        Some("write `Active` or `Inactive`".to_string()),
                    );
                }
                None
            }
        };
        if let (Some(id), Some(secret), Some(status)) = (id, secret, status) {
            out.push(AccessKey {
                id: id.value.clone(),
                secret: Secret::new(secret.value.clone()),
                status,
            });
        }
    }
    out
}

pub(crate) fn tags(checker: &mut Checker<'_>, raw: &RawTags) -> Vec<Tag> {
    if raw.tags.len() > 50 {
        checker.push(&raw.loc, too_many("tags", raw.tags.len(), 50));
    }
    let mut keys = Names::new("tag key", true);
    let mut out = Vec::new();
    for (key, value) in &raw.tags {
        let good_key = checker.valid(key, "tag key", rules::tag_key(&key.value))
            && checker.unique(&mut keys, key);
        let good_value = checker.valid(value, "tag value", rules::tag_value(&value.value));
        if good_key && good_value {
            out.push(Tag {
                key: key.value.clone(),
                value: value.value.clone(),
            });
        }
    }
    out
}

fn check_list(
    checker: &mut Checker<'_>,
    at: &crate::source::Loc,
    items: &[Text],
    what: &'static str,
    max: usize,
    rule: fn(&str) -> Option<String>,
    item: &'static str,
) {
    if items.len() > max {
        checker.push(at, too_many(what, items.len(), max));
    }
    let mut seen = Names::new(item, false);
    for text in items {
        if checker.valid(text, item, rule(&text.value)) {
            checker.unique(&mut seen, text);
        }
    }
}

fn too_many(what: &'static str, count: usize, max: usize) -> Problem {
    Problem::TooMany { what, count, max }
}
