//! Users, groups and roles seen alike: what the inline policy, managed
//! policy, boundary and tag actions share, looked up by name ignoring case.

use orgtwin_model::{InlinePolicy, Model, Tag};
use orgtwin_policy::Context;

use super::{no_such_entity, same_name};
use crate::reply::ServiceError;

/// The kind of IAM identity an action is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Role,
    User,
    Group,
}

impl Kind {
    /// As in ARNs and messages: `role`, `user`, `group`.
    pub(super) fn noun(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::User => "user",
            Kind::Group => "group",
        }
    }

    /// As in action names: `Role`, `User`, `Group`.
    pub(super) fn title(self) -> &'static str {
        match self {
            Kind::Role => "Role",
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    /// The request parameter naming the entity: `RoleName`, ...
    pub(super) fn name_param(self) -> &'static str {
        match self {
            Kind::Role => "RoleName",
            Kind::User => "UserName",
            Kind::Group => "GroupName",
        }
    }

    /// The same parameter as request validation names it: `roleName`, ...
    pub(super) fn name_field(self) -> &'static str {
        match self {
            Kind::Role => "roleName",
            Kind::User => "userName",
            Kind::Group => "groupName",
        }
    }

    pub(super) fn max_name(self) -> usize {
        match self {
            Kind::Role | Kind::User => 64,
            Kind::Group => 128,
        }
    }

    /// Managed policies an entity may have attached (the model's quotas:
    /// the raised 20 for users and roles, IAM's 10 for groups).
    pub(super) fn max_managed(self) -> usize {
        match self {
            Kind::Role | Kind::User => 20,
            Kind::Group => 10,
        }
    }

    /// IAM's quota of the inline policies' total size, in characters that
    /// are not whitespace.
    pub(super) fn max_inline_total(self) -> usize {
        match self {
            Kind::Role => 10_240,
            Kind::User => 2_048,
            Kind::Group => 5_120,
        }
    }

    pub(super) fn arn(self, account: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:{}{path}{name}", self.noun())
    }

    /// `NoSuchEntity` "The role with name X cannot be found."
    pub(super) fn not_found(self, name: &str) -> ServiceError {
        no_such_entity(format!(
            "The {} with name {name} cannot be found.",
            self.noun()
        ))
    }
}

/// What users, groups and roles share, borrowed from the model.
#[derive(Clone, Copy, Debug)]
pub(super) struct Entity<'m> {
    pub(super) name: &'m str,
    pub(super) arn: &'m str,
    pub(super) inline_policies: &'m [InlinePolicy],
    pub(super) managed_policies: &'m [String],
    pub(super) permissions_boundary: Option<&'m str>,
    /// Groups have none.
    pub(super) tags: &'m [Tag],
}

/// The same, to change.
pub(super) struct EntityMut<'m> {
    pub(super) name: &'m str,
    pub(super) inline_policies: &'m mut Vec<InlinePolicy>,
    pub(super) managed_policies: &'m mut Vec<String>,
    /// `None` for groups, which have no boundary.
    pub(super) permissions_boundary: Option<&'m mut Option<String>>,
    /// `None` for groups, which have no tags.
    pub(super) tags: Option<&'m mut Vec<Tag>>,
}

/// The entity of `kind` named `name` (ignoring case) in `account`.
pub(super) fn find<'m>(
    model: &'m Model,
    account: &str,
    kind: Kind,
    name: &str,
) -> Option<Entity<'m>> {
    let iam = &model.account(account)?.iam;
    match kind {
        Kind::Role => iam
            .roles
            .iter()
            .find(|r| same_name(&r.name, name))
            .map(|r| Entity {
                name: &r.name,
                arn: &r.arn,
                inline_policies: &r.inline_policies,
                managed_policies: &r.managed_policies,
                permissions_boundary: r.permissions_boundary.as_deref(),
                tags: &r.tags,
            }),
        Kind::User => iam
            .users
            .iter()
            .find(|u| same_name(&u.name, name))
            .map(|u| Entity {
                name: &u.name,
                arn: &u.arn,
                inline_policies: &u.inline_policies,
                managed_policies: &u.managed_policies,
                permissions_boundary: u.permissions_boundary.as_deref(),
                tags: &u.tags,
            }),
        Kind::Group => iam
            .groups
            .iter()
            .find(|g| same_name(&g.name, name))
            .map(|g| Entity {
                name: &g.name,
                arn: &g.arn,
                inline_policies: &g.inline_policies,
                managed_policies: &g.managed_policies,
                permissions_boundary: None,
                tags: &[],
            }),
    }
}

/// [`find`], to change; `NoSuchEntity` when there is none.
pub(super) fn find_mut<'m>(
    model: &'m mut Model,
    account: &str,
    kind: Kind,
    name: &str,
) -> Result<EntityMut<'m>, ServiceError> {
    let iam = super::iam_mut(model, account)?;
    let found = match kind {
        Kind::Role => iam
            .roles
            .iter_mut()
            .find(|r| same_name(&r.name, name))
            .map(|r| EntityMut {
                name: &r.name,
                inline_policies: &mut r.inline_policies,
                managed_policies: &mut r.managed_policies,
                permissions_boundary: Some(&mut r.permissions_boundary),
                tags: Some(&mut r.tags),
            }),
        Kind::User => iam
            .users
            .iter_mut()
            .find(|u| same_name(&u.name, name))
            .map(|u| EntityMut {
                name: &u.name,
                inline_policies: &mut u.inline_policies,
                managed_policies: &mut u.managed_policies,
                permissions_boundary: Some(&mut u.permissions_boundary),
                tags: Some(&mut u.tags),
            }),
        Kind::Group => iam
            .groups
            .iter_mut()
            .find(|g| same_name(&g.name, name))
            .map(|g| EntityMut {
                name: &g.name,
                inline_policies: &mut g.inline_policies,
                managed_policies: &mut g.managed_policies,
                permissions_boundary: None,
                tags: None,
            }),
    };
    found.ok_or_else(|| kind.not_found(name))
}

/// The ARN an action on `name` is authorized against: the entity's own
/// (with its path) when it exists, `/` + name otherwise.
pub(super) fn target_arn(
    entity: Option<&Entity<'_>>,
    account: &str,
    kind: Kind,
    name: &str,
) -> String {
    entity.map_or_else(|| kind.arn(account, "/", name), |e| e.arn.to_string())
}

/// The request context an existing entity adds: its tags, as
/// `aws:ResourceTag/<key>` and `iam:ResourceTag/<key>`.
pub(super) fn resource_context(entity: Option<&Entity<'_>>) -> Context {
    let mut context = Context::default();
    for tag in entity.map(|e| e.tags).unwrap_or_default() {
        context.insert(&format!("aws:ResourceTag/{}", tag.key), tag.value.clone());
        context.insert(&format!("iam:ResourceTag/{}", tag.key), tag.value.clone());
    }
    context
}

/// Adds `iam:PermissionsBoundary` with the entity's current boundary, as IAM
/// does for the actions that change a user's or role's permissions.
pub(super) fn boundary_context(context: &mut Context, entity: Option<&Entity<'_>>) {
    if let Some(boundary) = entity.and_then(|e| e.permissions_boundary) {
        context.insert("iam:PermissionsBoundary", boundary);
    }
}
