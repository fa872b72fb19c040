//! Invitations of accounts outside the organization: listing, accepting
//! and rejecting them.

use super::*;

/// The invitations the caller's account received in the request's region.
pub(super) fn received(request: &Request<'_>) -> Result<Vec<ShareInvitation>, ServiceError> {
    let prefix = format!("arn:aws:ram:{}:", request.region);
    Ok(request
        .call
        .twin
        .store
        .share_invitations()?
        .into_iter()
        .filter(|i| i.receiver == request.account() && i.arn.starts_with(&prefix))
        .collect())
}

pub(super) fn invitation_not_found(arn: &str) -> ServiceError {
    error(
        "ResourceShareInvitationArnNotFoundException",
        format!("ResourceShareInvitationArn {arn} could not be found."),
    )
}

pub(super) fn get_invitations(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "GetResourceShareInvitations",
        "*",
        &Context::default(),
        false,
    )?;
    let input = &request.input;
    let arns = input.strings("resourceShareInvitationArns")?;
    let share_arns = input.strings("resourceShareArns")?;
    for arn in &share_arns {
        share_arn_form(arn)?;
    }
    let invitations = received(request)?;
    if let Some(missing) = arns
        .iter()
        .find(|a| !invitations.iter().any(|i| i.arn == **a))
    {
        return Err(invitation_not_found(missing));
    }
    let items: Vec<Value> = invitations
        .iter()
        .filter(|i| arns.is_empty() || arns.contains(&i.arn))
        .filter(|i| share_arns.is_empty() || share_arns.contains(&i.share_arn))
        .map(invitation_json)
        .collect();
    page(request, items, "resourceShareInvitations", "invitations")
}

pub(super) fn answer_invitation(
    request: &Request<'_>,
    accept: bool,
) -> Result<Value, ServiceError> {
    let arn = request.input.required("resourceShareInvitationArn")?;
    let action = if accept {
        "AcceptResourceShareInvitation"
    } else {
        "RejectResourceShareInvitation"
    };
    request.authorize(action, &arn, &Context::default(), true)?;
    let mut invitation = received(request)?
        .into_iter()
        .find(|i| i.arn == arn)
        .ok_or_else(|| invitation_not_found(&arn))?;
    match invitation.status.as_str() {
        "PENDING" => {}
        "ACCEPTED" => {
            return Err(error(
                "ResourceShareInvitationAlreadyAcceptedException",
                format!("ResourceShareInvitation {arn} has already been accepted."),
            ));
        }
        _ => {
            return Err(error(
                "ResourceShareInvitationAlreadyRejectedException",
                format!("ResourceShareInvitation {arn} has already been rejected."),
            ));
        }
    }
    invitation.status = if accept { "ACCEPTED" } else { "REJECTED" }.into();
    let answered = InvitationChanges {
        statuses: vec![(arn.clone(), invitation.status.clone())],
        ..InvitationChanges::default()
    };
    if accept {
        let model = request.call.twin.model();
        let (owner, share) =
            find_share(&model, request.region, &invitation.share_arn).ok_or_else(|| {
                unknown(format!(
                    "ResourceShare {} could not be found.",
                    invitation.share_arn
                ))
            })?;
        let receiver = SharePrincipal::Account(invitation.receiver.clone());
        let owner = owner.to_string();
        let share_arn = share.arn.clone();
        // The receiver joins the share as it is when the change is made,
        // and the invitation is answered in the same transaction.
        update_model_and(
            request,
            |model| {
                let current = share_mut(model, &owner, &share_arn)?.clone();
                let mut principals = current.principals.clone();
                if !principals.contains(&receiver) {
                    principals.push(receiver);
                }
                check_share(
                    model,
                    &owner,
                    current.allow_external_principals,
                    &current.resources,
                    &principals,
                    &[],
                )?;
                share_mut(model, &owner, &share_arn)?.principals = principals;
                Ok(())
            },
            &answered,
        )?;
    } else {
        request
            .call
            .twin
            .store
            .change_share_invitations(&answered)?;
    }
    Ok(json!({
        "resourceShareInvitation": invitation_json(&invitation),
        "clientToken": request.client_token()?,
    }))
}
