//! Finding a share, checking a change to one against RAM's rules, and
//! writing it to the model; the JSON shapes of shares, associations and
//! invitations.

use super::*;

/// The share of this ARN in `region`, and its owner.
pub(super) fn find_share<'m>(
    model: &'m Model,
    region: &str,
    arn: &str,
) -> Option<(&'m str, &'m ResourceShare)> {
    model.accounts.values().find_map(|a| {
        a.resource_shares
            .iter()
            .find(|s| s.arn == arn && s.region == region)
            .map(|s| (a.id.as_str(), s))
    })
}

/// A share the caller may change: authorized, found, owned.
pub(super) fn owned_share(
    request: &Request<'_>,
    model: &Model,
    action: &str,
    arn: &str,
    keys: &RamKeys<'_>,
) -> Result<ResourceShare, ServiceError> {
    share_arn_form(arn)?;
    request.authorize(action, arn, &keys.context(), false)?;
    let (owner, share) = find_share(model, request.region, arn)
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    if owner != request.account() {
        return Err(not_permitted(format!(
            "Only the owner of resource share {arn} ({owner}) can change it."
        )));
    }
    Ok(share.clone())
}

pub(super) fn organization_arn(model: &Model) -> String {
    let org = &model.organization;
    format!(
        "arn:aws:organizations::{}:organization/{}",
        org.management_account, org.id
    )
}

pub(super) fn ou_arn(model: &Model, id: &str) -> String {
    let org = &model.organization;
    format!(
        "arn:aws:organizations::{}:ou/{}/{id}",
        org.management_account, org.id
    )
}

/// A principal as RAM names it: an account id, an OU's ARN, the
/// organization's ARN.
pub(super) fn principal_text(model: &Model, principal: &SharePrincipal) -> String {
    match principal {
        SharePrincipal::Account(id) => id.clone(),
        SharePrincipal::OrganizationalUnit(name) => model
            .organizational_unit(name)
            .map_or_else(|| name.clone(), |ou| ou_arn(model, &ou.id)),
        SharePrincipal::Organization => organization_arn(model),
    }
}

/// Reads a principal given to the API.
pub(super) fn parse_principal(model: &Model, text: &str) -> Result<SharePrincipal, ServiceError> {
    if is_account_id(text) {
        if model.knows_account(text) {
            return Ok(SharePrincipal::Account(text.to_string()));
        }
        return Err(unknown(format!(
            "The twin knows no account {text}: a principal is an account of the organization or one of the model's `external_accounts`."
        )));
    }
    if text == organization_arn(model) {
        return Ok(SharePrincipal::Organization);
    }
    if let Some(ou) = model
        .organization
        .organizational_units
        .iter()
        .find(|ou| ou_arn(model, &ou.id) == text)
    {
        return Ok(SharePrincipal::OrganizationalUnit(ou.name.clone()));
    }
    match arn_parts(text) {
        Some([_, "organizations", ..]) => Err(unknown(format!(
            "The organization or OU {text} could not be found in your organization."
        ))),
        Some(_) => Err(invalid(format!(
            "The principal {text} is not supported: the twin shares with account ids, OU ARNs and the organization's ARN."
        ))),
        None if text.starts_with("arn:") => Err(error(
            "MalformedArnException",
            format!("The principal ARN {text} is not valid."),
        )),
        None => Err(invalid(format!(
            "The principal {text} is not valid: give an account id, an OU ARN or the organization's ARN."
        ))),
    }
}

/// Reads a resource ARN given to the API: a subnet of the caller's account
/// in the request's region.
pub(super) fn parse_resource(
    model: &Model,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<String, ServiceError> {
    let Some([_, service, arn_region, arn_account, resource]) = arn_parts(arn) else {
        return Err(error(
            "MalformedArnException",
            format!("The specified resource ARN {arn} is not valid."),
        ));
    };
    let Some(subnet_id) = resource
        .strip_prefix("subnet/")
        .filter(|_| service == "ec2")
    else {
        return Err(invalid(format!(
            "The resource {arn} cannot be shared: the twin shares subnets (ec2:Subnet) only."
        )));
    };
    let owned = arn_account == account
        && arn_region == region
        && model.account(account).is_some_and(|a| {
            a.vpcs
                .iter()
                .filter(|v| v.region == region)
                .any(|v| v.subnets.iter().any(|s| s.id == subnet_id))
        });
    if !owned {
        return Err(unknown(format!(
            "Resource {arn} could not be found in account {account} in {region}."
        )));
    }
    Ok(orgtwin_model::subnet_arn(region, account, subnet_id))
}

/// A request's resource ARNs and principals, each checked as above, for a
/// share of `account` in `region`.
pub(super) fn parse_members(
    model: &Model,
    account: &str,
    region: &str,
    resource_arns: &[String],
    principal_texts: &[String],
) -> Result<(Vec<String>, Vec<SharePrincipal>), ServiceError> {
    let resources = resource_arns
        .iter()
        .map(|arn| parse_resource(model, account, region, arn))
        .collect::<Result<_, _>>()?;
    let principals = principal_texts
        .iter()
        .map(|text| parse_principal(model, text))
        .collect::<Result<_, _>>()?;
    Ok((resources, principals))
}

/// The receivers of a share's pending invitations.
pub(super) fn pending_receivers(
    request: &Request<'_>,
    share_arn: &str,
) -> Result<Vec<String>, ServiceError> {
    Ok(request
        .call
        .twin
        .store
        .share_invitations()?
        .into_iter()
        .filter(|i| i.share_arn == share_arn && i.status == "PENDING")
        .map(|i| i.receiver)
        .collect())
}

/// RAM's rules on what a share may hold, checked on the share as a change
/// would leave it (principals in the model, and receivers of pending
/// invitations).
pub(super) fn check_share(
    model: &Model,
    owner: &str,
    allow_external: bool,
    resources: &[String],
    principals: &[SharePrincipal],
    pending: &[String],
) -> Result<(), ServiceError> {
    let external_accounts = principals
        .iter()
        .filter_map(|p| match p {
            SharePrincipal::Account(id) if !model.in_organization(id) => Some(id.as_str()),
            _ => None,
        })
        .chain(pending.iter().map(String::as_str));
    for id in external_accounts {
        if !allow_external {
            return Err(not_permitted(format!(
                "Account {id} is outside your AWS organization and the resource share does not allow external principals (allowExternalPrincipals is false)."
            )));
        }
        if !resources.is_empty() {
            return Err(not_permitted(SUBNETS_ONLY_IN_ORG));
        }
    }
    for principal in principals {
        match principal {
            SharePrincipal::Account(id) if id == owner => {
                return Err(invalid(
                    "A resource share cannot be shared with its owner's own account.",
                ));
            }
            SharePrincipal::Account(id) if !model.in_organization(id) => {}
            SharePrincipal::Account(_) if resources.is_empty() => {}
            _ if !model.organization.ram_sharing_with_organization => {
                return Err(not_permitted(
                    "Sharing with your AWS organization is not enabled: the management account enables it with EnableSharingWithAwsOrganization.",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A share name: 1 to 255 characters on one line, unique among the
/// account's shares (but for the share being renamed).
pub(super) fn check_name(
    model: &Model,
    account: &str,
    name: &str,
    renamed: Option<&str>,
) -> Result<(), ServiceError> {
    if name.trim().is_empty() || name.chars().count() > 255 || name.contains('\n') {
        return Err(invalid(
            "A resource share's name is 1 to 255 characters on one line.",
        ));
    }
    let taken = model.account(account).is_some_and(|a| {
        a.resource_shares
            .iter()
            .any(|s| s.name == name && Some(s.arn.as_str()) != renamed)
    });
    if taken {
        return Err(invalid(format!(
            "The account already has a resource share named {name}: the twin keeps share names unique per account."
        )));
    }
    Ok(())
}

/// A change to the model, with the model check's refusals (which the rules
/// above should have caught) as RAM's `InvalidParameterException`.
pub(super) fn update_model<T>(
    request: &Request<'_>,
    change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    update_model_and(request, change, &InvitationChanges::default())
}

/// [`update_model`], with invitation rows changed in the same transaction.
pub(super) fn update_model_and<T>(
    request: &Request<'_>,
    change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
    invitations: &InvitationChanges,
) -> Result<T, ServiceError> {
    let twin = &request.call.twin;
    twin.update_model_and(change, invitations).map_err(|mut e| {
        if e.code == "ValidationError" {
            e.code = "InvalidParameterException".into();
        }
        e
    })
}

/// The owner's share of this ARN, for a change.
pub(super) fn share_mut<'m>(
    model: &'m mut Model,
    owner: &str,
    arn: &str,
) -> Result<&'m mut ResourceShare, ServiceError> {
    model
        .accounts
        .get_mut(owner)
        .and_then(|a| a.resource_shares.iter_mut().find(|s| s.arn == arn))
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))
}

pub(super) fn share_json(owner: &str, share: &ResourceShare) -> Value {
    json!({
        "resourceShareArn": share.arn,
        "name": share.name,
        "owningAccountId": owner,
        "allowExternalPrincipals": share.allow_external_principals,
        "status": "ACTIVE",
        "tags": share.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        "creationTime": FIXED_TIME,
        "lastUpdatedTime": FIXED_TIME,
        "featureSet": "STANDARD",
    })
}

pub(super) fn association_json(
    share: &ResourceShare,
    entity: &str,
    kind: &str,
    status: &str,
    external: bool,
) -> Value {
    let mut value = json!({
        "resourceShareArn": share.arn,
        "resourceShareName": share.name,
        "associatedEntity": entity,
        "associationType": kind,
        "status": status,
        "creationTime": FIXED_TIME,
        "lastUpdatedTime": FIXED_TIME,
    });
    if kind == "PRINCIPAL"
        && let Value::Object(map) = &mut value
    {
        map.insert("external".into(), Value::Bool(external));
    }
    value
}

pub(super) fn invitation_json(invitation: &ShareInvitation) -> Value {
    json!({
        "resourceShareInvitationArn": invitation.arn,
        "resourceShareName": invitation.share_name,
        "resourceShareArn": invitation.share_arn,
        "senderAccountId": invitation.sender,
        "receiverAccountId": invitation.receiver,
        "invitationTimestamp": invitation.created_at,
        "status": invitation.status,
    })
}

pub(super) fn random_uuid() -> String {
    let hex = hex::encode(crate::ids::random_bytes(16));
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default().to_string();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}
