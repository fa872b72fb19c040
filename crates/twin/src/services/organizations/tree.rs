//! The organization's tree: the organization, its root, OUs and accounts,
//! read and (for `CreateOrganizationalUnit` and `MoveAccount`) changed.

use orgtwin_model::{Account, Model, OrganizationalUnit, Parent};
use serde_json::{Value, json};

use super::{Arns, IdForm, JOINED_AT, Node, OrgError, Request, arn_of_id, random_suffix};

/// AWS's limit on OU nesting: five levels under the root.
const MAX_OU_DEPTH: usize = 5;

/// The policy types enabled in the twin's organization and at its root.
fn enabled_policy_types() -> Value {
    json!([
        {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"},
        {"Type": "RESOURCE_CONTROL_POLICY", "Status": "ENABLED"},
    ])
}

/// Any account of the organization may call it.
pub(super) fn describe_organization(request: &Request<'_>) -> Result<Value, OrgError> {
    request.authorize("*", None)?;
    let model = &request.model;
    if model.account(request.call.caller.account()).is_none() {
        return Err(OrgError::new(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        ));
    }
    let org = &model.organization;
    let arns = Arns(model);
    let mut organization = json!({
        "Id": org.id,
        "Arn": arns.organization(),
        "FeatureSet": "ALL",
        "MasterAccountArn": arns.account(&org.management_account),
        "MasterAccountId": org.management_account,
        "AvailablePolicyTypes": enabled_policy_types(),
    });
    let email = model
        .account(&org.management_account)
        .and_then(|a| a.email.as_deref());
    if let (Some(email), Some(fields)) = (email, organization.as_object_mut()) {
        fields.insert("MasterAccountEmail".into(), email.into());
    }
    Ok(json!({ "Organization": organization }))
}

pub(super) fn list_roots(request: &Request<'_>) -> Result<Value, OrgError> {
    request.admit("*", None)?;
    let root = json!({
        "Id": request.model.organization.root_id,
        "Arn": request.arns().root(),
        "Name": "Root",
        "PolicyTypes": enabled_policy_types(),
    });
    request.paged("Roots", vec![root])
}

pub(super) fn describe_account(request: &Request<'_>) -> Result<Value, OrgError> {
    let id = id_of(request, "AccountId", &[IdForm::Account])?;
    request.admit(&request.arns().account(id), None)?;
    let account = request.model.account(id).ok_or_else(account_not_found)?;
    Ok(json!({ "Account": account_json(&request.model, account) }))
}

pub(super) fn list_accounts(request: &Request<'_>) -> Result<Value, OrgError> {
    request.admit("*", None)?;
    let model = &request.model;
    let accounts = model
        .accounts
        .values()
        .map(|a| account_json(model, a))
        .collect();
    request.paged("Accounts", accounts)
}

pub(super) fn list_accounts_for_parent(request: &Request<'_>) -> Result<Value, OrgError> {
    let parent = parent_of_request(request, "ParentId")?;
    let model = &request.model;
    let accounts = model
        .accounts
        .values()
        .filter(|a| a.parent == parent)
        .map(|a| account_json(model, a))
        .collect();
    request.paged("Accounts", accounts)
}

pub(super) fn list_ous_for_parent(request: &Request<'_>) -> Result<Value, OrgError> {
    let parent = parent_of_request(request, "ParentId")?;
    let model = &request.model;
    let ous = model
        .organization
        .organizational_units
        .iter()
        .filter(|ou| ou.parent == parent)
        .map(|ou| ou_json(model, ou))
        .collect();
    request.paged("OrganizationalUnits", ous)
}

pub(super) fn describe_ou(request: &Request<'_>) -> Result<Value, OrgError> {
    let id = id_of(request, "OrganizationalUnitId", &[IdForm::Ou])?;
    request.admit(&request.arns().ou(id), None)?;
    let Some(Node::Ou(ou)) = Node::find(&request.model, id) else {
        return Err(OrgError::new(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        ));
    };
    Ok(json!({ "OrganizationalUnit": ou_json(&request.model, ou) }))
}

pub(super) fn list_children(request: &Request<'_>) -> Result<Value, OrgError> {
    let child_type = request.input.required("ChildType")?;
    if !matches!(child_type, "ACCOUNT" | "ORGANIZATIONAL_UNIT") {
        return Err(OrgError::invalid(
            "INVALID_ENUM",
            format!("`{child_type}` is not a ChildType; use ACCOUNT or ORGANIZATIONAL_UNIT."),
        ));
    }
    let parent = parent_of_request(request, "ParentId")?;
    let model = &request.model;
    let children: Vec<Value> = if child_type == "ACCOUNT" {
        model
            .accounts
            .values()
            .filter(|a| a.parent == parent)
            .map(|a| json!({"Id": a.id, "Type": child_type}))
            .collect()
    } else {
        model
            .organization
            .organizational_units
            .iter()
            .filter(|ou| ou.parent == parent)
            .map(|ou| json!({"Id": ou.id, "Type": child_type}))
            .collect()
    };
    request.paged("Children", children)
}

pub(super) fn list_parents(request: &Request<'_>) -> Result<Value, OrgError> {
    let id = id_of(request, "ChildId", &[IdForm::Ou, IdForm::Account])?;
    let form = IdForm::of(id).unwrap_or(IdForm::Account);
    request.admit(&arn_of_id(&request.model, id, form), None)?;
    let model = &request.model;
    let parent = match Node::find(model, id) {
        Some(Node::Ou(ou)) => &ou.parent,
        Some(Node::Account(account)) => &account.parent,
        _ => {
            return Err(OrgError::new(
                "ChildNotFoundException",
                "We can't find an organizational unit (OU) or AWS account with the ChildId that \
                 you specified.",
            ));
        }
    };
    let parents = Node::of_parent(model, parent)
        .map(|node| {
            let kind = match node {
                Node::Root => "ROOT",
                _ => "ORGANIZATIONAL_UNIT",
            };
            json!({"Id": node.id(model), "Type": kind})
        })
        .into_iter()
        .collect();
    request.paged("Parents", parents)
}

pub(super) fn create_ou(request: &Request<'_>) -> Result<Value, OrgError> {
    let parent_id = id_of(request, "ParentId", &[IdForm::Root, IdForm::Ou])?;
    let name = request.input.required("Name")?.to_string();
    let mut context = orgtwin_policy::Context::default();
    super::policies::tag_context(&mut context, &request.input.tags()?);
    let form = IdForm::of(parent_id).unwrap_or(IdForm::Root);
    request.authorize_with(&arn_of_id(&request.model, parent_id, form), &context)?;
    request.management_only()?;
    if name.trim().is_empty() || name.chars().count() > 128 || name.contains('\n') {
        return Err(OrgError::invalid(
            "INVALID_PATTERN",
            "An OU name is 1 to 128 characters on one line.",
        ));
    }
    let ou = request.change(|model| {
        let parent = find_parent(model, parent_id, "ParentNotFoundException")?;
        if ou_chain(model, &parent).len() >= MAX_OU_DEPTH {
            return Err(OrgError::constraint(
                "OU_DEPTH_LIMIT_EXCEEDED",
                format!("You can nest OUs at most {MAX_OU_DEPTH} levels deep."),
            ));
        }
        let org = &model.organization;
        if org.organizational_units.iter().any(|ou| ou.name == name) || name == "root" {
            return Err(OrgError::new(
                "DuplicateOrganizationalUnitException",
                "An OU with the same name already exists.",
            ));
        }
        let root = org.root_id.strip_prefix("r-").unwrap_or(&org.root_id);
        let id = loop {
            let id = format!("ou-{root}-{}", random_suffix(8));
            if Node::find(model, &id).is_none() {
                break id;
            }
        };
        let ou = OrganizationalUnit {
            id,
            name: name.clone(),
            parent,
        };
        model.organization.organizational_units.push(ou.clone());
        Ok(ou_json(model, &ou))
    })?;
    Ok(json!({ "OrganizationalUnit": ou }))
}

pub(super) fn move_account(request: &Request<'_>) -> Result<Value, OrgError> {
    let parents = [IdForm::Root, IdForm::Ou];
    let account_id = id_of(request, "AccountId", &[IdForm::Account])?;
    let source_id = id_of(request, "SourceParentId", &parents)?;
    let destination_id = id_of(request, "DestinationParentId", &parents)?;
    let model = &request.model;
    request.authorize(&request.arns().account(account_id), None)?;
    for id in [source_id, destination_id] {
        let form = IdForm::of(id).unwrap_or(IdForm::Root);
        request.authorize(&arn_of_id(model, id, form), None)?;
    }
    request.management_only()?;
    request.change(|model| {
        let source = find_parent(model, source_id, "SourceParentNotFoundException")?;
        let destination = find_parent(model, destination_id, "DestinationParentNotFoundException")?;
        let account = model
            .accounts
            .get_mut(account_id)
            .filter(|a| a.parent == source)
            .ok_or_else(account_not_found)?;
        if account.parent == destination {
            return Err(OrgError::new(
                "DuplicateAccountException",
                "That account is already present in the specified destination.",
            ));
        }
        account.parent = destination;
        Ok(())
    })?;
    Ok(json!({}))
}

/// A required id field that must have one of `forms`.
fn id_of<'a>(request: &'a Request<'_>, field: &str, forms: &[IdForm]) -> Result<&'a str, OrgError> {
    let id = request.input.required(field)?;
    match IdForm::of(id) {
        Some(form) if forms.contains(&form) => Ok(id),
        _ => Err(OrgError::invalid(
            "INVALID_PATTERN",
            format!("You specified a value for {field} that doesn't match the required pattern."),
        )),
    }
}

/// The root or OU a read names, authorized and found.
fn parent_of_request(request: &Request<'_>, field: &str) -> Result<Parent, OrgError> {
    let id = id_of(request, field, &[IdForm::Root, IdForm::Ou])?;
    let form = IdForm::of(id).unwrap_or(IdForm::Root);
    request.admit(&arn_of_id(&request.model, id, form), None)?;
    find_parent(&request.model, id, "ParentNotFoundException")
}

fn find_parent(model: &Model, id: &str, code: &str) -> Result<Parent, OrgError> {
    Node::find(model, id)
        .and_then(Node::as_parent)
        .ok_or_else(|| {
            OrgError::new(
                code,
                "We can't find a root or OU with the ParentId that you specified.",
            )
        })
}

fn account_not_found() -> OrgError {
    OrgError::new(
        "AccountNotFoundException",
        "We can't find an AWS account with the AccountId that you specified, or the account \
         whose credentials you used to make this request isn't a member of an organization.",
    )
}

/// The OUs from the root down to `parent` (empty for the root).
fn ou_chain<'a>(model: &'a Model, parent: &Parent) -> Vec<&'a OrganizationalUnit> {
    let mut chain = Vec::new();
    let mut current = parent;
    while let Parent::OrganizationalUnit(name) = current {
        // INVARIANT: the model refuses cycles; the bound guards anyway.
        if chain.len() > model.organization.organizational_units.len() {
            break;
        }
        let Some(ou) = model.organizational_unit(name) else {
            break;
        };
        chain.push(ou);
        current = &ou.parent;
    }
    chain.reverse();
    chain
}

/// `o-…/r-…/ou-…/…/`: where in the organization `parent` is.
fn path_to(model: &Model, parent: &Parent) -> String {
    let org = &model.organization;
    let mut path = format!("{}/{}/", org.id, org.root_id);
    for ou in ou_chain(model, parent) {
        path.push_str(&ou.id);
        path.push('/');
    }
    path
}

fn account_json(model: &Model, account: &Account) -> Value {
    let joined = if model.is_management(&account.id) {
        "INVITED"
    } else {
        "CREATED"
    };
    let mut value = json!({
        "Id": account.id,
        "Arn": Arns(model).account(&account.id),
        "Name": account.name,
        "Status": "ACTIVE",
        "State": "ACTIVE",
        "Paths": [format!("{}{}/", path_to(model, &account.parent), account.id)],
        "JoinedMethod": joined,
        "JoinedTimestamp": JOINED_AT,
    });
    if let (Some(email), Some(fields)) = (&account.email, value.as_object_mut()) {
        fields.insert("Email".into(), email.as_str().into());
    }
    value
}

fn ou_json(model: &Model, ou: &OrganizationalUnit) -> Value {
    json!({
        "Id": ou.id,
        "Arn": Arns(model).ou(&ou.id),
        "Name": ou.name,
        "Path": format!("{}{}/", path_to(model, &ou.parent), ou.id),
    })
}
