//! The calls that change shares: enabling sharing with the organization,
//! creating, updating and deleting shares, and associating and
//! disassociating resources and principals.

use super::*;

/// Invitations of `receivers` (outside accounts) to `share`, replacing any
/// earlier ones they had to it: rows to commit with the share's change.
pub(super) fn invitations(
    request: &Request<'_>,
    share: &ResourceShare,
    owner: &str,
    receivers: &[String],
) -> InvitationChanges {
    let now = request.call.twin.now().seconds();
    InvitationChanges {
        remove: receivers
            .iter()
            .map(|receiver| (share.arn.clone(), Some(receiver.clone())))
            .collect(),
        add: receivers
            .iter()
            .map(|receiver| ShareInvitation {
                arn: format!(
                    "arn:aws:ram:{}:{owner}:resource-share-invitation/{}",
                    share.region,
                    random_uuid()
                ),
                share_arn: share.arn.clone(),
                share_name: share.name.clone(),
                sender: owner.to_string(),
                receiver: receiver.clone(),
                status: "PENDING".into(),
                created_at: now,
            })
            .collect(),
        statuses: Vec::new(),
    }
}

/// Splits principals into those the model holds (the organization's, and
/// outside accounts that already accepted) and outside accounts to invite.
pub(super) fn split_principals(
    model: &Model,
    principals: Vec<SharePrincipal>,
    already: &[SharePrincipal],
) -> (Vec<SharePrincipal>, Vec<String>) {
    let mut members = Vec::new();
    let mut invited = Vec::new();
    for principal in principals {
        match principal {
            SharePrincipal::Account(id)
                if !model.in_organization(&id)
                    && !already.contains(&SharePrincipal::Account(id.clone())) =>
            {
                invited.push(id);
            }
            other => members.push(other),
        }
    }
    (members, invited)
}

pub(super) fn enable_sharing(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "EnableSharingWithAwsOrganization",
        "*",
        &Context::default(),
        false,
    )?;
    let model = request.call.twin.model();
    if request.account() != model.organization.management_account {
        return Err(not_permitted(
            "Only the management account of the organization can enable sharing with it.",
        ));
    }
    if !model.organization.ram_sharing_with_organization {
        update_model(request, |model| {
            model.organization.ram_sharing_with_organization = true;
            Ok(())
        })?;
    }
    Ok(json!({"returnValue": true}))
}

pub(super) fn create_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let input = &request.input;
    let name = input.required("name")?;
    let allow_external = input.flag("allowExternalPrincipals")?.unwrap_or(true);
    let resource_arns = input.strings("resourceArns")?;
    let principal_texts = input.strings("principals")?;
    let tags = input.tags()?;
    if !input.strings("permissionArns")?.is_empty() || !input.strings("sources")?.is_empty() {
        return Err(invalid(
            "The twin does not emulate managed permissions or sources; leave permissionArns and sources out.",
        ));
    }
    let account = request.account().to_string();
    let keys = RamKeys {
        name: Some(&name),
        allows_external: Some(allow_external),
        principals: &principal_texts,
        resources: &resource_arns,
        tags: &tags,
    };
    request.authorize(
        "CreateResourceShare",
        &format!("arn:aws:ram:{}:{account}:resource-share/*", request.region),
        &keys.context(),
        false,
    )?;
    let model = request.call.twin.model();
    if model.account(&account).is_none() {
        return Err(not_permitted(
            "The twin keeps resource shares of the organization's accounts only; this account is outside the organization.",
        ));
    }
    check_name(&model, &account, &name, None)?;
    let (resources, principals) = parse_members(
        &model,
        &account,
        request.region,
        &resource_arns,
        &principal_texts,
    )?;
    let (members, invited) = split_principals(&model, principals, &[]);
    check_share(
        &model,
        &account,
        allow_external,
        &resources,
        &members,
        &invited,
    )?;
    let arn = format!(
        "arn:aws:ram:{}:{account}:resource-share/{}",
        request.region,
        random_uuid()
    );
    let share = ResourceShare {
        name: name.clone(),
        region: request.region.to_string(),
        arn: arn.clone(),
        allow_external_principals: allow_external,
        resources,
        principals: members,
        tags,
    };
    let invited = invitations(request, &share, &account, &invited);
    update_model_and(
        request,
        |model| {
            let owner = model
                .accounts
                .get_mut(&account)
                .ok_or_else(|| unknown(format!("Account {account} could not be found.")))?;
            owner.resource_shares.push(share);
            Ok(())
        },
        &invited,
    )?;
    let model = request.call.twin.model();
    let created = find_share(&model, request.region, &arn)
        .map(|(_, s)| s.clone())
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    Ok(json!({
        "resourceShare": share_json(&account, &created),
        "clientToken": request.client_token()?,
    }))
}

pub(super) fn update_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let input = &request.input;
    let arn = input.required("resourceShareArn")?;
    let name = input.text("name")?;
    let allow_external = input.flag("allowExternalPrincipals")?;
    let model = request.call.twin.model();
    let keys = RamKeys {
        name: name.as_deref(),
        allows_external: allow_external,
        ..RamKeys::default()
    };
    let share = owned_share(request, &model, "UpdateResourceShare", &arn, &keys)?;
    let owner = request.account().to_string();
    let rename = name.filter(|n| *n != share.name);
    if let Some(new_name) = &rename {
        check_name(&model, &owner, new_name, Some(&arn))?;
    }
    let allow = allow_external.unwrap_or(share.allow_external_principals);
    if allow != share.allow_external_principals {
        let pending = pending_receivers(request, &arn)?;
        check_share(
            &model,
            &owner,
            allow,
            &share.resources,
            &share.principals,
            &pending,
        )?;
    }
    if rename.is_some() || allow != share.allow_external_principals {
        update_model(request, |model| {
            let target = share_mut(model, &owner, &arn)?;
            target.allow_external_principals = allow;
            if let Some(new_name) = rename.clone() {
                target.name = new_name;
            }
            Ok(())
        })?;
    }
    let model = request.call.twin.model();
    let (_, updated) = find_share(&model, request.region, &arn)
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    Ok(json!({
        "resourceShare": share_json(&owner, updated),
        "clientToken": request.client_token()?,
    }))
}

pub(super) fn delete_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let arn = request.input.required("resourceShareArn")?;
    let model = request.call.twin.model();
    let share = owned_share(
        request,
        &model,
        "DeleteResourceShare",
        &arn,
        &RamKeys::default(),
    )?;
    let owner = request.account().to_string();
    let invitations = InvitationChanges {
        remove: vec![(arn.clone(), None)],
        ..InvitationChanges::default()
    };
    update_model_and(
        request,
        |model| {
            let account = model
                .accounts
                .get_mut(&owner)
                .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
            account.resource_shares.retain(|s| s.arn != share.arn);
            Ok(())
        },
        &invitations,
    )?;
    Ok(json!({"returnValue": true, "clientToken": request.client_token()?}))
}

/// `resourceArns` and `principals` of an association change, at least one.
pub(super) fn association_input(
    request: &Request<'_>,
) -> Result<(String, Vec<String>, Vec<String>), ServiceError> {
    let input = &request.input;
    let arn = input.required("resourceShareArn")?;
    let resources = input.strings("resourceArns")?;
    let principals = input.strings("principals")?;
    if !input.strings("sources")?.is_empty() {
        return Err(invalid(
            "The twin does not emulate sources; leave sources out.",
        ));
    }
    if resources.is_empty() && principals.is_empty() {
        return Err(invalid("Give at least one of resourceArns and principals."));
    }
    Ok((arn, resources, principals))
}

/// What an association or disassociation names, with the share it
/// changes (authorized for `action`) and the share's owner.
pub(super) struct ShareChange {
    arn: String,
    resource_arns: Vec<String>,
    principal_texts: Vec<String>,
    model: std::sync::Arc<Model>,
    share: ResourceShare,
    owner: String,
}

pub(super) fn share_change(
    request: &Request<'_>,
    action: &str,
) -> Result<ShareChange, ServiceError> {
    let (arn, resource_arns, principal_texts) = association_input(request)?;
    let model = request.call.twin.model();
    let keys = RamKeys {
        principals: &principal_texts,
        resources: &resource_arns,
        ..RamKeys::default()
    };
    let share = owned_share(request, &model, action, &arn, &keys)?;
    Ok(ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner: request.account().to_string(),
    })
}

pub(super) fn associate(request: &Request<'_>) -> Result<Value, ServiceError> {
    let ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner,
    } = share_change(request, "AssociateResourceShare")?;
    let (new_resources, new_principals) = parse_members(
        &model,
        &owner,
        request.region,
        &resource_arns,
        &principal_texts,
    )?;
    let (members, invited) = split_principals(&model, new_principals, &share.principals);
    let mut pending = pending_receivers(request, &arn)?;
    let to_invite: Vec<String> = invited
        .iter()
        .filter(|id| !pending.contains(id))
        .cloned()
        .collect();
    pending.extend(to_invite.iter().cloned());
    // Merged into the share as it is when the change is made, not as it
    // was read above: a concurrent change to the same share is kept.
    let invitations_made = invitations(request, &share, &owner, &to_invite);
    update_model_and(
        request,
        |model| {
            let current = share_mut(model, &owner, &arn)?.clone();
            let mut resources = current.resources.clone();
            for r in &new_resources {
                if !resources.contains(r) {
                    resources.push(r.clone());
                }
            }
            let mut principals = current.principals.clone();
            for p in &members {
                if !principals.contains(p) {
                    principals.push(p.clone());
                }
            }
            check_share(
                model,
                &owner,
                current.allow_external_principals,
                &resources,
                &principals,
                &pending,
            )?;
            let target = share_mut(model, &owner, &arn)?;
            target.resources = resources;
            target.principals = principals;
            Ok(())
        },
        &invitations_made,
    )?;
    let mut associations: Vec<Value> = new_resources
        .iter()
        .map(|r| association_json(&share, r, "RESOURCE", "ASSOCIATED", false))
        .collect();
    for p in &members {
        let external = matches!(p, SharePrincipal::Account(id) if !model.in_organization(id));
        associations.push(association_json(
            &share,
            &principal_text(&model, p),
            "PRINCIPAL",
            "ASSOCIATED",
            external,
        ));
    }
    for id in &invited {
        associations.push(association_json(
            &share,
            id,
            "PRINCIPAL",
            "ASSOCIATING",
            true,
        ));
    }
    Ok(json!({
        "resourceShareAssociations": associations,
        "clientToken": request.client_token()?,
    }))
}

pub(super) fn disassociate(request: &Request<'_>) -> Result<Value, ServiceError> {
    let ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner,
    } = share_change(request, "DisassociateResourceShare")?;
    let pending = pending_receivers(request, &arn)?;
    for r in &resource_arns {
        if !share.resources.contains(r) {
            return Err(unknown(format!(
                "Resource {r} is not associated with resource share {arn}."
            )));
        }
    }
    let mut removed_principals = Vec::new();
    let mut uninvited = Vec::new();
    for text in &principal_texts {
        let principal = parse_principal(&model, text)?;
        if share.principals.contains(&principal) {
            if let SharePrincipal::Account(id) = &principal {
                uninvited.push(id.clone());
            }
            removed_principals.push(principal);
        } else if pending.contains(text) {
            uninvited.push(text.clone());
        } else {
            return Err(unknown(format!(
                "Principal {text} is not associated with resource share {arn}."
            )));
        }
    }
    let removes_any =
        share.resources.iter().any(|r| resource_arns.contains(r)) || !removed_principals.is_empty();
    let uninvited = InvitationChanges {
        remove: uninvited
            .iter()
            .map(|receiver| (arn.clone(), Some(receiver.clone())))
            .collect(),
        ..InvitationChanges::default()
    };
    if removes_any {
        // Removed from the share as it is when the change is made, with
        // the invitations in the same transaction.
        update_model_and(
            request,
            |model| {
                let target = share_mut(model, &owner, &arn)?;
                target.resources.retain(|r| !resource_arns.contains(r));
                target
                    .principals
                    .retain(|p| !removed_principals.contains(p));
                Ok(())
            },
            &uninvited,
        )?;
    } else if !uninvited.is_empty() {
        request
            .call
            .twin
            .store
            .change_share_invitations(&uninvited)?;
    }
    let mut associations: Vec<Value> = resource_arns
        .iter()
        .map(|r| association_json(&share, r, "RESOURCE", "DISASSOCIATING", false))
        .collect();
    for text in &principal_texts {
        let external = is_account_id(text) && !model.in_organization(text);
        associations.push(association_json(
            &share,
            text,
            "PRINCIPAL",
            "DISASSOCIATING",
            external,
        ));
    }
    Ok(json!({
        "resourceShareAssociations": associations,
        "clientToken": request.client_token()?,
    }))
}
