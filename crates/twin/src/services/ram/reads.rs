//! The calls that read shares: `GetResourceShares`,
//! `GetResourceShareAssociations` and `ListResources`, paginated.

use super::*;

/// `maxResults` (1 to 500) and `nextToken` (an offset this module wrote for
/// the same action).
pub(super) fn page(
    request: &Request<'_>,
    items: Vec<Value>,
    list: &str,
    kind: &str,
) -> Result<Value, ServiceError> {
    let max = request.input.integer("maxResults")?;
    if let Some(max) = max
        && !(1..=500).contains(&max)
    {
        return Err(invalid(format!(
            "The value {max} for maxResults is not valid: it is 1 to 500."
        )));
    }
    let max = max.and_then(|m| usize::try_from(m).ok()).unwrap_or(500);
    let token = request.input.text("nextToken")?;
    let start =
        crate::services::page_start(token.as_deref(), kind, items.len()).ok_or_else(|| {
            error(
                "InvalidNextTokenException",
                "The specified value for NextToken isn't valid.",
            )
        })?;
    let total = items.len();
    let taken: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let end = start + taken.len();
    let mut out = Map::new();
    out.insert(list.into(), Value::Array(taken));
    if end < total {
        out.insert("nextToken".into(), Value::String(format!("{kind}:{end}")));
    }
    Ok(Value::Object(out))
}

/// `resourceOwner`: `SELF` or `OTHER-ACCOUNTS`; whether it is `SELF`.
pub(super) fn resource_owner_is_self(request: &Request<'_>) -> Result<bool, ServiceError> {
    match request.input.required("resourceOwner")?.as_str() {
        "SELF" => Ok(true),
        "OTHER-ACCOUNTS" => Ok(false),
        other => Err(invalid(format!(
            "The value {other} for resourceOwner is not valid: it is SELF or OTHER-ACCOUNTS."
        ))),
    }
}

/// The shares in the request's region that the caller owns (`own`) or that
/// are shared with it, each with its owner.
pub(super) fn shares_seen<'m>(
    model: &'m Model,
    account: &str,
    region: &str,
    own: bool,
) -> Vec<(&'m str, &'m ResourceShare)> {
    model
        .accounts
        .values()
        .filter(|a| (a.id == account) == own)
        .flat_map(|a| a.resource_shares.iter().map(move |s| (a.id.as_str(), s)))
        .filter(|(_, s)| s.region == region)
        .filter(|(_, s)| {
            own || s
                .principals
                .iter()
                .any(|p| model.share_principal_includes(p, account))
        })
        .collect()
}

pub(super) fn get_shares(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize("GetResourceShares", "*", &Context::default(), false)?;
    let own = resource_owner_is_self(request)?;
    let input = &request.input;
    let arns = input.strings("resourceShareArns")?;
    for arn in &arns {
        share_arn_form(arn)?;
    }
    let name = input.text("name")?;
    let status = input.text("resourceShareStatus")?;
    let tag_filters: Vec<(String, Vec<String>)> = match input.body.get("tagFilters") {
        Some(Value::Array(filters)) => filters
            .iter()
            .map(|f| {
                let key = f.get("tagKey").and_then(Value::as_str).unwrap_or_default();
                let values = f
                    .get("tagValues")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                (key.to_string(), values)
            })
            .collect(),
        _ => Vec::new(),
    };
    if input.text("permissionArn")?.is_some() {
        return Err(invalid(
            "The twin does not emulate managed permissions; leave permissionArn out.",
        ));
    }
    let model = request.call.twin.model();
    let items: Vec<Value> = shares_seen(&model, request.account(), request.region, own)
        .into_iter()
        .filter(|(_, s)| arns.is_empty() || arns.contains(&s.arn))
        .filter(|(_, s)| name.as_ref().is_none_or(|n| *n == s.name))
        .filter(|_| status.as_deref().is_none_or(|st| st == "ACTIVE"))
        .filter(|(_, s)| {
            tag_filters.iter().all(|(key, values)| {
                s.tags
                    .iter()
                    .any(|t| t.key == *key && (values.is_empty() || values.contains(&t.value)))
            })
        })
        .map(|(owner, s)| share_json(owner, s))
        .collect();
    page(request, items, "resourceShares", "shares")
}

pub(super) fn get_associations(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "GetResourceShareAssociations",
        "*",
        &Context::default(),
        false,
    )?;
    let input = &request.input;
    let kind = input.required("associationType")?;
    if !matches!(kind.as_str(), "PRINCIPAL" | "RESOURCE" | "SOURCE") {
        return Err(invalid(format!(
            "The value {kind} for associationType is not valid: it is PRINCIPAL, RESOURCE or SOURCE."
        )));
    }
    let arns = input.strings("resourceShareArns")?;
    for arn in &arns {
        share_arn_form(arn)?;
    }
    let principal = input.text("principal")?;
    let resource = input.text("resourceArn")?;
    if kind == "PRINCIPAL" && resource.is_some() {
        return Err(invalid(
            "resourceArn is given only with associationType RESOURCE.",
        ));
    }
    if kind == "RESOURCE" && principal.is_some() {
        return Err(invalid(
            "principal is given only with associationType PRINCIPAL.",
        ));
    }
    let status = input.text("associationStatus")?;
    let model = request.call.twin.model();
    let invitations = request.call.twin.store.share_invitations()?;
    let mut items = Vec::new();
    for (_, share) in shares_seen(&model, request.account(), request.region, true) {
        if !arns.is_empty() && !arns.contains(&share.arn) {
            continue;
        }
        match kind.as_str() {
            "PRINCIPAL" => {
                for p in &share.principals {
                    let external =
                        matches!(p, SharePrincipal::Account(id) if !model.in_organization(id));
                    items.push((principal_text(&model, p), "ASSOCIATED", external, share));
                }
                for invitation in invitations
                    .iter()
                    .filter(|i| i.share_arn == share.arn && i.status == "PENDING")
                {
                    items.push((invitation.receiver.clone(), "ASSOCIATING", true, share));
                }
            }
            "RESOURCE" => {
                for r in &share.resources {
                    items.push((r.clone(), "ASSOCIATED", false, share));
                }
            }
            _ => {}
        }
    }
    let values: Vec<Value> = items
        .into_iter()
        .filter(|(entity, ..)| principal.as_ref().is_none_or(|p| p == entity))
        .filter(|(entity, ..)| resource.as_ref().is_none_or(|r| r == entity))
        .filter(|(_, st, ..)| status.as_deref().is_none_or(|s| s == *st))
        .map(|(entity, st, external, share)| association_json(share, &entity, &kind, st, external))
        .collect();
    page(request, values, "resourceShareAssociations", "associations")
}

pub(super) fn list_resources(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize("ListResources", "*", &Context::default(), false)?;
    let own = resource_owner_is_self(request)?;
    let input = &request.input;
    let resource_type = input.text("resourceType")?;
    if let Some(t) = &resource_type
        && !t
            .split_once(':')
            .is_some_and(|(s, r)| !s.is_empty() && !r.is_empty())
    {
        return Err(error(
            "InvalidResourceTypeException",
            format!("The specified resource type {t} is not valid."),
        ));
    }
    let principal = input.text("principal")?;
    if principal.is_some() && !own {
        return Err(invalid("principal is given only with resourceOwner SELF."));
    }
    let arns = input.strings("resourceArns")?;
    let share_arns = input.strings("resourceShareArns")?;
    for arn in &share_arns {
        share_arn_form(arn)?;
    }
    let model = request.call.twin.model();
    let type_matches = resource_type
        .as_ref()
        .is_none_or(|t| t.eq_ignore_ascii_case(SUBNET_TYPE));
    let mut items = Vec::new();
    for (_, share) in shares_seen(&model, request.account(), request.region, own) {
        if !type_matches || (!share_arns.is_empty() && !share_arns.contains(&share.arn)) {
            continue;
        }
        if let Some(p) = &principal
            && !share
                .principals
                .iter()
                .any(|sp| principal_text(&model, sp) == *p)
        {
            continue;
        }
        for r in &share.resources {
            if !arns.is_empty() && !arns.contains(r) {
                continue;
            }
            items.push(json!({
                "arn": r,
                "type": SUBNET_TYPE,
                "resourceShareArn": share.arn,
                "status": "AVAILABLE",
                "creationTime": FIXED_TIME,
                "lastUpdatedTime": FIXED_TIME,
                "resourceRegionScope": "REGIONAL",
            }));
        }
    }
    page(request, items, "resources", "resources")
}
