//! Users, groups and roles seen alike: what the inline policy, managed
//! policy, boundary and tag actions share, looked up by name ignoring case;
//! the prologue of an action on one of them (the [`Target`] it names, the
//! ARN and request context it is authorized with, the check of its name);
//! and the XML members their structures share.

use orgtwin_model::{Group, InlinePolicy, Model, Role, Tag, User};
use orgtwin_policy::Context;

use super::checks::Constraints;
use super::tags::write_tags;
use super::{Page, authorize, creation_date, no_such_entity, same_name};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

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

/// Why a user, group or role cannot be deleted while policies remain on it
/// (attached ones first, then inline), in IAM's words for the
/// `DeleteConflict`.
pub(super) fn policies_remain(managed: &[String], inline: &[InlinePolicy]) -> Option<&'static str> {
    if !managed.is_empty() {
        Some("Cannot delete entity, must detach all policies first.")
    } else if !inline.is_empty() {
        Some("Cannot delete entity, must delete policies first.")
    } else {
        None
    }
}

/// The user, group or role an action names (it may not exist), the ARN the
/// action is authorized against and the request context it adds.
pub(super) struct Target<'m> {
    pub(super) kind: Kind,
    pub(super) name: String,
    /// The entity's own (with its path) when it exists, `/` + name otherwise.
    pub(super) arn: String,
    pub(super) entity: Option<Entity<'m>>,
    /// The existing entity's tags, as `aws:ResourceTag/<key>` and
    /// `iam:ResourceTag/<key>`; an action adds its own keys.
    pub(super) context: Context,
}

impl<'m> Target<'m> {
    /// The entity of `kind` named `name` in the caller's account.
    pub(super) fn new(call: &Call<'_>, model: &'m Model, kind: Kind, name: &str) -> Target<'m> {
        let account = call.caller.account();
        let entity = find(model, account, kind, name);
        let mut context = Context::default();
        for tag in entity.map(|e| e.tags).unwrap_or_default() {
            context.insert(&format!("aws:ResourceTag/{}", tag.key), tag.value.clone());
            context.insert(&format!("iam:ResourceTag/{}", tag.key), tag.value.clone());
        }
        Target {
            kind,
            name: name.to_string(),
            arn: entity.map_or_else(|| kind.arn(account, "/", name), |e| e.arn.to_string()),
            entity,
            context,
        }
    }

    /// The entity the request's `RoleName`, `UserName` or `GroupName` names
    /// (required).
    pub(super) fn named(
        call: &Call<'_>,
        model: &'m Model,
        params: &Params,
        kind: Kind,
    ) -> Result<Target<'m>, ServiceError> {
        let name = params.required(kind.name_param())?;
        Ok(Target::new(call, model, kind, name))
    }

    /// Adds `iam:PermissionsBoundary` with the entity's current boundary, as
    /// IAM does for the actions that change a user's or role's permissions.
    pub(super) fn with_boundary(mut self) -> Self {
        if let Some(boundary) = self.entity.and_then(|e| e.permissions_boundary) {
            self.context.insert("iam:PermissionsBoundary", boundary);
        }
        self
    }

    /// Authorizes `iam:{action}` on the target, with its context.
    pub(super) fn authorize(&self, call: &Call<'_>, action: &str) -> Result<(), ServiceError> {
        authorize(call, action, &self.arn, &self.context)
    }

    /// The request's constraints, starting with the name's (at most the
    /// kind's [`Kind::max_name`] characters).
    pub(super) fn checks(&self) -> Constraints {
        self.checks_up_to(self.kind.max_name())
    }

    /// The same, with the name at most `max` characters.
    pub(super) fn checks_up_to(&self, max: usize) -> Constraints {
        let mut checks = Constraints::default();
        checks.name(self.kind.name_field(), &self.name, max);
        checks
    }

    /// The entity, or `NoSuchEntity` when there is none.
    pub(super) fn existing(&self) -> Result<Entity<'m>, ServiceError> {
        self.entity.ok_or_else(|| self.kind.not_found(&self.name))
    }
}

/// The start of `ListRoles`, `ListUsers` and `ListGroups`: authorizes
/// `iam:{action}` on `*`, reads the page and validates `PathPrefix`.
pub(super) fn list_prologue<'p>(
    call: &Call<'_>,
    params: &'p Params,
    action: &str,
) -> Result<(Page, Option<&'p str>), ServiceError> {
    authorize(call, action, "*", &Context::default())?;
    let page = Page::read(params)?;
    let prefix = params.get("PathPrefix");
    let mut checks = Constraints::default();
    if let Some(prefix) = prefix {
        checks.path_prefix("pathPrefix", prefix);
    }
    checks.finish()?;
    Ok((page, prefix))
}

/// The page of `items` as the list `name`, each `write`n in its `<member>`,
/// then `IsTruncated` and `Marker`.
pub(super) fn write_page<T>(
    page: Page,
    name: &str,
    items: Vec<T>,
    mut write: impl FnMut(&mut Xml, T) -> Result<(), ServiceError>,
) -> Result<String, ServiceError> {
    let (items, next) = page.window(items);
    let mut xml = Xml::default();
    xml.open(name);
    for item in items {
        xml.open("member");
        write(&mut xml, item)?;
        xml.close("member");
    }
    xml.close(name).truncation(next.as_deref());
    Ok(xml.finish())
}

/// What every `User`, `Group` and `Role` structure opens with.
pub(super) struct Head<'a> {
    pub(super) kind: Kind,
    pub(super) path: &'a str,
    pub(super) name: &'a str,
    pub(super) id: &'a str,
    pub(super) arn: &'a str,
}

impl<'a> Head<'a> {
    pub(super) fn role(role: &'a Role) -> Self {
        Head {
            kind: Kind::Role,
            path: &role.path,
            name: &role.name,
            id: &role.id,
            arn: &role.arn,
        }
    }

    pub(super) fn user(user: &'a User) -> Self {
        Head {
            kind: Kind::User,
            path: &user.path,
            name: &user.name,
            id: &user.id,
            arn: &user.arn,
        }
    }

    pub(super) fn group(group: &'a Group) -> Self {
        Head {
            kind: Kind::Group,
            path: &group.path,
            name: &group.name,
            id: &group.id,
            arn: &group.arn,
        }
    }

    /// `Path`, `RoleName`/`UserName`/`GroupName`, `RoleId`/..., `Arn` and
    /// `CreateDate`.
    pub(super) fn write(&self, call: &Call<'_>, xml: &mut Xml) -> Result<(), ServiceError> {
        let title = self.kind.title();
        xml.leaf("Path", self.path)
            .leaf(&format!("{title}Name"), self.name)
            .leaf(&format!("{title}Id"), self.id)
            .leaf("Arn", self.arn)
            .leaf("CreateDate", &creation_date(call, self.arn)?);
        Ok(())
    }
}

/// `<PermissionsBoundary>` when there is one.
pub(super) fn write_boundary(xml: &mut Xml, boundary: Option<&str>) {
    if let Some(arn) = boundary {
        xml.open("PermissionsBoundary")
            .leaf("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
            .leaf("PermissionsBoundaryArn", arn)
            .close("PermissionsBoundary");
    }
}

/// What `GetRole` and `GetUser` add to `ListRoles` and `ListUsers`: the
/// boundary, and the tags when there are any.
pub(super) fn write_boundary_and_tags(xml: &mut Xml, boundary: Option<&str>, tags: &[Tag]) {
    write_boundary(xml, boundary);
    if !tags.is_empty() {
        write_tags(xml, tags);
    }
}
