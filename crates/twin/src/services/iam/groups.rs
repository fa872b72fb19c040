//! Groups: `CreateGroup`, `GetGroup` (with its users), `ListGroups`,
//! `DeleteGroup`, `AddUserToGroup`, `RemoveUserFromGroup`,
//! `ListGroupsForUser`.
//!
//! Membership is kept on the users (the model's `groups` of a user). As in
//! IAM: adding a member twice does nothing; a user is in at most 10 groups;
//! a group with members or policies cannot be deleted (`DeleteConflict`).

use orgtwin_model::{Group, User};
use orgtwin_policy::Context;
use orgtwin_policy::principal::stable_id;

use super::checks::Constraints;
use super::entities::{Head, Kind, Target, list_prologue, policies_remain, write_page};
use super::users::{self, write_user};
use super::{
    Answer, Outcome, Page, already_exists, authorize, delete_conflict, iam, iam_mut,
    limit_exceeded, record_creation, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// Groups a user may belong to.
const MAX_GROUPS_PER_USER: usize = 10;

fn find<'m>(iam: &'m orgtwin_model::Iam, name: &str) -> Result<&'m Group, ServiceError> {
    iam.groups
        .iter()
        .find(|g| same_name(&g.name, name))
        .ok_or_else(|| Kind::Group.not_found(name))
}

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("GroupName")?.to_string();
    let path = params.get("Path").unwrap_or("/").to_string();
    let arn = Kind::Group.arn(account, &path, &name);
    authorize(call, "CreateGroup", &arn, &Context::default())?;
    let mut checks = Constraints::default();
    checks.name("groupName", &name, 128);
    checks.path("path", &path);
    checks.finish()?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        if let Some(existing) = iam.groups.iter().find(|g| same_name(&g.name, &name)) {
            return Err(already_exists(format!(
                "Group with name {} already exists.",
                existing.name
            )));
        }
        iam.groups.push(Group {
            id: stable_id("AGPA", &arn),
            name: name.clone(),
            path: path.clone(),
            arn: arn.clone(),
            inline_policies: Vec::new(),
            managed_policies: Vec::new(),
        });
        Ok(())
    })?;
    record_creation(call, &arn);
    let model = call.twin.model();
    let group = find(iam(&model, account)?, &name)?;
    let mut xml = Xml::default();
    xml.open("Group");
    Head::group(group).write(call, &mut xml)?;
    xml.close("Group");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Group)?;
    target.authorize(call, "GetGroup")?;
    let page = Page::read(params)?;
    target.checks().finish()?;
    let iam = iam(&model, account)?;
    let group = find(iam, &target.name)?;
    let members: Vec<&User> = iam
        .users
        .iter()
        .filter(|u| u.groups.contains(&group.name))
        .collect();
    let mut xml = Xml::default();
    xml.open("Group");
    Head::group(group).write(call, &mut xml)?;
    xml.close("Group");
    let users = write_page(page, "Users", members, |xml, user| {
        write_user(call, xml, user, false)
    })?;
    Ok(Answer::Result(xml.finish() + &users))
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    let (page, prefix) = list_prologue(call, params, "ListGroups")?;
    let model = call.twin.model();
    let groups: Vec<&Group> = iam(&model, call.caller.account())?
        .groups
        .iter()
        .filter(|g| prefix.is_none_or(|p| g.path.starts_with(p)))
        .collect();
    write_groups(call, page, groups)
}

fn write_groups(call: &Call<'_>, page: Page, groups: Vec<&Group>) -> Outcome {
    let xml = write_page(page, "Groups", groups, |xml, group| {
        Head::group(group).write(call, xml)
    })?;
    Ok(Answer::Result(xml))
}

pub(super) fn list_for_user(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::User)?;
    let name = target.name.as_str();
    target.authorize(call, "ListGroupsForUser")?;
    let page = Page::read(params)?;
    target.checks_up_to(users::EXISTING_NAME_MAX).finish()?;
    let iam = iam(&model, account)?;
    if users::is_builtin_admin(&model, account, name) {
        return write_groups(call, page, Vec::new());
    }
    let user = users::find(iam, name)?;
    let groups: Vec<&Group> = iam
        .groups
        .iter()
        .filter(|g| user.groups.contains(&g.name))
        .collect();
    write_groups(call, page, groups)
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Group)?;
    let name = target.name.as_str();
    target.authorize(call, "DeleteGroup")?;
    target.checks().finish()?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        let group = find(iam, name)?;
        let conflict = if iam.users.iter().any(|u| u.groups.contains(&group.name)) {
            Some("Cannot delete entity, must remove users from group first.")
        } else {
            policies_remain(&group.managed_policies, &group.inline_policies)
        };
        if let Some(conflict) = conflict {
            return Err(delete_conflict(conflict));
        }
        iam.groups.retain(|g| !same_name(&g.name, name));
        Ok(())
    })?;
    Ok(Answer::Empty)
}

/// `AddUserToGroup` and `RemoveUserFromGroup` (authorized on the group).
fn membership(call: &Call<'_>, params: &Params, add: bool) -> Outcome {
    let account = call.caller.account();
    let model = call.twin.model();
    let target = Target::named(call, &model, params, Kind::Group)?;
    let user_name = params.required("UserName")?;
    let action = if add {
        "AddUserToGroup"
    } else {
        "RemoveUserFromGroup"
    };
    target.authorize(call, action)?;
    let mut checks = target.checks();
    checks.name("userName", user_name, users::EXISTING_NAME_MAX);
    checks.finish()?;
    call.twin.update_model(|model| {
        let group = find(iam_mut(model, account)?, &target.name)?.name.clone();
        let user = users::find_mut(model, account, user_name)?;
        let member = user.groups.contains(&group);
        if add && !member {
            if user.groups.len() >= MAX_GROUPS_PER_USER {
                return Err(limit_exceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
                )));
            }
            user.groups.push(group);
        } else if !add {
            if !member {
                return Err(super::no_such_entity(format!(
                    "The user with name {} cannot be found in group {group}.",
                    user.name
                )));
            }
            user.groups.retain(|g| *g != group);
        }
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn add_user(call: &Call<'_>, params: &Params) -> Outcome {
    membership(call, params, true)
}

pub(super) fn remove_user(call: &Call<'_>, params: &Params) -> Outcome {
    membership(call, params, false)
}
