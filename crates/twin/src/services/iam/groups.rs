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
use super::entities::{self, Kind};
use super::users::{self, write_user};
use super::{
    Answer, Outcome, Page, already_exists, authorize, creation_date, delete_conflict, iam, iam_mut,
    limit_exceeded, record_creation, same_name,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

/// Groups a user may belong to.
const MAX_GROUPS_PER_USER: usize = 10;

fn write_group(call: &Call<'_>, xml: &mut Xml, group: &Group) -> Result<(), ServiceError> {
    xml.leaf("Path", &group.path)
        .leaf("GroupName", &group.name)
        .leaf("GroupId", &group.id)
        .leaf("Arn", &group.arn)
        .leaf("CreateDate", &creation_date(call, &group.arn)?);
    Ok(())
}

fn find<'m>(iam: &'m orgtwin_model::Iam, name: &str) -> Result<&'m Group, ServiceError> {
    iam.groups
        .iter()
        .find(|g| same_name(&g.name, name))
        .ok_or_else(|| Kind::Group.not_found(name))
}

/// The group's ARN to authorize against.
fn target_arn(call: &Call<'_>, name: &str) -> String {
    let model = call.twin.model();
    let account = call.caller.account();
    let entity = entities::find(&model, account, Kind::Group, name);
    entities::target_arn(entity.as_ref(), account, Kind::Group, name)
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
    write_group(call, &mut xml, group)?;
    xml.close("Group");
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("GroupName")?;
    authorize(
        call,
        "GetGroup",
        &target_arn(call, name),
        &Context::default(),
    )?;
    let page = Page::read(params)?;
    let mut checks = Constraints::default();
    checks.name("groupName", name, 128);
    checks.finish()?;
    let model = call.twin.model();
    let iam = iam(&model, account)?;
    let group = find(iam, name)?;
    let members: Vec<&User> = iam
        .users
        .iter()
        .filter(|u| u.groups.contains(&group.name))
        .collect();
    let (members, next) = page.window(members);
    let mut xml = Xml::default();
    xml.open("Group");
    write_group(call, &mut xml, group)?;
    xml.close("Group").open("Users");
    for user in members {
        xml.open("member");
        write_user(call, &mut xml, user, false)?;
        xml.close("member");
    }
    xml.close("Users").truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list(call: &Call<'_>, params: &Params) -> Outcome {
    authorize(call, "ListGroups", "*", &Context::default())?;
    let page = Page::read(params)?;
    let prefix = params.get("PathPrefix");
    let mut checks = Constraints::default();
    if let Some(prefix) = prefix {
        checks.path_prefix("pathPrefix", prefix);
    }
    checks.finish()?;
    let model = call.twin.model();
    let groups: Vec<&Group> = iam(&model, call.caller.account())?
        .groups
        .iter()
        .filter(|g| prefix.is_none_or(|p| g.path.starts_with(p)))
        .collect();
    write_groups(call, page, groups)
}

fn write_groups(call: &Call<'_>, page: Page, groups: Vec<&Group>) -> Outcome {
    let (groups, next) = page.window(groups);
    let mut xml = Xml::default();
    xml.open("Groups");
    for group in groups {
        xml.open("member");
        write_group(call, &mut xml, group)?;
        xml.close("member");
    }
    xml.close("Groups").truncation(next.as_deref());
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list_for_user(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let name = params.required("UserName")?;
    let model = call.twin.model();
    let entity = entities::find(&model, account, Kind::User, name);
    let arn = entities::target_arn(entity.as_ref(), account, Kind::User, name);
    authorize(
        call,
        "ListGroupsForUser",
        &arn,
        &entities::resource_context(entity.as_ref()),
    )?;
    let page = Page::read(params)?;
    let mut checks = Constraints::default();
    checks.name("userName", name, 128);
    checks.finish()?;
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
    let name = params.required("GroupName")?;
    authorize(
        call,
        "DeleteGroup",
        &target_arn(call, name),
        &Context::default(),
    )?;
    let mut checks = Constraints::default();
    checks.name("groupName", name, 128);
    checks.finish()?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        let group = find(iam, name)?;
        let conflict = if iam.users.iter().any(|u| u.groups.contains(&group.name)) {
            Some("Cannot delete entity, must remove users from group first.")
        } else if !group.managed_policies.is_empty() {
            Some("Cannot delete entity, must detach all policies first.")
        } else if !group.inline_policies.is_empty() {
            Some("Cannot delete entity, must delete policies first.")
        } else {
            None
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
    let group_name = params.required("GroupName")?;
    let user_name = params.required("UserName")?;
    let action = if add {
        "AddUserToGroup"
    } else {
        "RemoveUserFromGroup"
    };
    authorize(
        call,
        action,
        &target_arn(call, group_name),
        &Context::default(),
    )?;
    let mut checks = Constraints::default();
    checks.name("groupName", group_name, 128);
    checks.name("userName", user_name, 128);
    checks.finish()?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        let group = find(iam, group_name)?.name.clone();
        let user = iam
            .users
            .iter_mut()
            .find(|u| same_name(&u.name, user_name))
            .ok_or_else(|| Kind::User.not_found(user_name))?;
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
