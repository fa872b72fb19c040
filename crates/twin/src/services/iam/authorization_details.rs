//! `GetAccountAuthorizationDetails`: the account's IAM in the standard
//! export format that auditing tools read (`UserDetailList`,
//! `GroupDetailList`, `RoleDetailList`, `Policies`), with every policy
//! document URL-encoded as AWS answers it.
//!
//! Users carry their inline policies (`UserPolicyList`), groups, attached
//! policies, boundary and tags; groups their inline and attached policies;
//! roles their trust policy, inline policies (`RolePolicyList`), attached
//! policies, boundary and tags, and an empty `InstanceProfileList` (the twin
//! has no instance profiles); `RoleLastUsed` is left out. `Policies` holds
//! the account's customer managed policies and the AWS managed policies its
//! identities use, each with its one version in `PolicyVersionList`.
//! `Filter` (`User`, `Role`, `Group`, `LocalManagedPolicy`,
//! `AWSManagedPolicy`) selects lists; `MaxItems` counts entities of every
//! list together.

use orgtwin_model::aws_managed;
use orgtwin_model::{Group, Iam, InlinePolicy, ManagedPolicy, Model, Role, User};
use orgtwin_policy::Context;

use super::entities::{Head, write_boundary};
use super::policies::{write_policy, write_version};
use super::roles::write_role_head;
use super::tags::write_tags;
use super::{Answer, Outcome, Page, authorize, encode_document, iam};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

const ENTITY_TYPES: [&str; 5] = [
    "User",
    "Role",
    "Group",
    "LocalManagedPolicy",
    "AWSManagedPolicy",
];

/// One entity of the answer.
#[derive(Clone, Copy)]
enum Item<'m> {
    User(&'m User),
    Group(&'m Group),
    Role(&'m Role),
    Policy(&'m ManagedPolicy),
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    authorize(
        call,
        "GetAccountAuthorizationDetails",
        "*",
        &Context::default(),
    )?;
    let page = Page::read(params)?;
    let filter = params.list("Filter");
    if let Some(unknown) = filter.iter().find(|f| !ENTITY_TYPES.contains(&f.as_str())) {
        return Err(ServiceError::validation(format!(
            "1 validation error detected: Value '[{}]' at 'filter' failed to satisfy \
             constraint: Member must satisfy constraint: [Member must satisfy enum value set: \
             [{}]] ({unknown})",
            filter.join(", "),
            ENTITY_TYPES.join(", ")
        )));
    }
    let wants = |t: &str| filter.is_empty() || filter.iter().any(|f| f == t);
    let model = call.twin.model();
    let iam = iam(&model, call.caller.account())?;
    let mut items: Vec<Item<'_>> = Vec::new();
    if wants("User") {
        items.extend(iam.users.iter().map(Item::User));
    }
    if wants("Group") {
        items.extend(iam.groups.iter().map(Item::Group));
    }
    if wants("Role") {
        items.extend(iam.roles.iter().map(Item::Role));
    }
    if wants("LocalManagedPolicy") {
        items.extend(iam.policies.iter().map(Item::Policy));
    }
    if wants("AWSManagedPolicy") {
        items.extend(aws_policies_in_use(iam).map(Item::Policy));
    }
    let (items, next) = page.window(items);
    let mut xml = Xml::default();
    xml.open("UserDetailList");
    for user in items.iter().filter_map(|i| match i {
        Item::User(u) => Some(*u),
        _ => None,
    }) {
        xml.open("member");
        write_user(call, &mut xml, &model, user)?;
        xml.close("member");
    }
    xml.close("UserDetailList").open("GroupDetailList");
    for group in items.iter().filter_map(|i| match i {
        Item::Group(g) => Some(*g),
        _ => None,
    }) {
        xml.open("member");
        write_group(call, &mut xml, &model, group)?;
        xml.close("member");
    }
    xml.close("GroupDetailList").open("RoleDetailList");
    for role in items.iter().filter_map(|i| match i {
        Item::Role(r) => Some(*r),
        _ => None,
    }) {
        xml.open("member");
        write_role(call, &mut xml, &model, role)?;
        xml.close("member");
    }
    xml.close("RoleDetailList").open("Policies");
    for policy in items.iter().filter_map(|i| match i {
        Item::Policy(p) => Some(*p),
        _ => None,
    }) {
        xml.open("member");
        write_policy(call, &mut xml, iam, policy, true)?;
        xml.open("PolicyVersionList").open("member");
        write_version(call, &mut xml, policy, true)?;
        xml.close("member").close("PolicyVersionList");
        xml.close("member");
    }
    xml.close("Policies").truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

/// The built-in AWS managed policies attached to, or bounding, an identity
/// of the account.
fn aws_policies_in_use<'m>(iam: &'m Iam) -> impl Iterator<Item = &'m ManagedPolicy> + 'm {
    let built_in: &'m [ManagedPolicy] = aws_managed::policies();
    built_in.iter().filter(move |p| {
        let arn = Some(p.arn.as_str());
        let attached = iam
            .users
            .iter()
            .flat_map(|u| &u.managed_policies)
            .chain(iam.groups.iter().flat_map(|g| &g.managed_policies))
            .chain(iam.roles.iter().flat_map(|r| &r.managed_policies))
            .any(|a| *a == p.arn);
        let bounding = iam
            .users
            .iter()
            .map(|u| u.permissions_boundary.as_deref())
            .chain(iam.roles.iter().map(|r| r.permissions_boundary.as_deref()))
            .any(|b| b == arn);
        attached || bounding
    })
}

fn write_inline(xml: &mut Xml, list: &str, policies: &[InlinePolicy]) {
    xml.list(list, policies, |xml, p| {
        xml.leaf("PolicyName", &p.name)
            .leaf("PolicyDocument", &encode_document(&p.document));
    });
}

fn write_attached(xml: &mut Xml, model: &Model, arns: &[String]) {
    xml.list("AttachedManagedPolicies", arns, |xml, arn| {
        let name = model.managed_policy(arn).map_or_else(
            || arn.rsplit('/').next().unwrap_or_default(),
            |p| p.name.as_str(),
        );
        xml.leaf("PolicyName", name).leaf("PolicyArn", arn);
    });
}

fn write_user(
    call: &Call<'_>,
    xml: &mut Xml,
    model: &Model,
    user: &User,
) -> Result<(), ServiceError> {
    Head::user(user).write(call, xml)?;
    write_inline(xml, "UserPolicyList", &user.inline_policies);
    xml.members("GroupList", &user.groups);
    write_attached(xml, model, &user.managed_policies);
    write_boundary(xml, user.permissions_boundary.as_deref());
    write_tags(xml, &user.tags);
    Ok(())
}

fn write_group(
    call: &Call<'_>,
    xml: &mut Xml,
    model: &Model,
    group: &Group,
) -> Result<(), ServiceError> {
    Head::group(group).write(call, xml)?;
    write_inline(xml, "GroupPolicyList", &group.inline_policies);
    write_attached(xml, model, &group.managed_policies);
    Ok(())
}

fn write_role(
    call: &Call<'_>,
    xml: &mut Xml,
    model: &Model,
    role: &Role,
) -> Result<(), ServiceError> {
    write_role_head(call, xml, role)?;
    xml.members("InstanceProfileList", std::iter::empty::<&str>());
    write_inline(xml, "RolePolicyList", &role.inline_policies);
    write_attached(xml, model, &role.managed_policies);
    write_boundary(xml, role.permissions_boundary.as_deref());
    write_tags(xml, &role.tags);
    Ok(())
}
