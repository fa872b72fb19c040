//! IAM OIDC identity providers, which `AssumeRoleWithWebIdentity` (IRSA)
//! trusts: `CreateOpenIDConnectProvider`, `GetOpenIDConnectProvider`,
//! `ListOpenIDConnectProviders`, `DeleteOpenIDConnectProvider`,
//! `AddClientIDToOpenIDConnectProvider`,
//! `RemoveClientIDFromOpenIDConnectProvider`,
//! `UpdateOpenIDConnectProviderThumbprint`.
//!
//! As in IAM: the URL is `https://` and the issuer's host and path, and the
//! ARN is `arn:aws:iam::ACCOUNT:oidc-provider/` and the URL without
//! `https://` (which is also how `GetOpenIDConnectProvider` answers the
//! URL); a provider has up to 100 client ids (audiences) and up to 5
//! thumbprints of 40 hex digits (none is fine: AWS no longer needs them for
//! well-known issuers); one provider per URL and account. The twin never
//! contacts the issuer.

use orgtwin_model::{Model, OidcProvider, Tag};
use orgtwin_policy::Context;

use super::checks::{Constraints, read_tags};
use super::tags::write_tags;
use super::{
    Answer, Outcome, already_exists, authorize, creation_date, iam, iam_mut, invalid_input,
    limit_exceeded, no_such_entity, record_creation, request_tags_context,
};
use crate::query::{Params, Xml};
use crate::reply::ServiceError;
use crate::services::Call;

const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;

/// The host and path of an issuer URL, `https://` removed.
fn host_and_path(url: &str) -> Result<&str, ServiceError> {
    let invalid = || {
        invalid_input(format!(
            "Invalid URL {url}: an OpenID Connect provider URL is https:// and a host with an \
             optional path, without a query, fragment or trailing /."
        ))
    };
    let rest = url.strip_prefix("https://").ok_or_else(invalid)?;
    let host = rest.split('/').next().unwrap_or_default();
    let ok = !host.is_empty()
        && !rest.ends_with('/')
        && !rest.contains(['?', '#', ' '])
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':');
    if ok { Ok(rest) } else { Err(invalid()) }
}

fn check_client_ids(checks: &mut Constraints, ids: &[String]) {
    for (i, id) in ids.iter().enumerate() {
        checks.length(&format!("clientIDList.{}.member", i + 1), id, 1, 255);
    }
}

fn check_thumbprints(checks: &mut Constraints, thumbprints: &[String]) -> Result<(), ServiceError> {
    if thumbprints.len() > MAX_THUMBPRINTS {
        return Err(limit_exceeded(format!(
            "Thumbprint list must contain fewer than {} entries.",
            MAX_THUMBPRINTS + 1
        )));
    }
    for (i, thumbprint) in thumbprints.iter().enumerate() {
        let field = format!("thumbprintList.{}.member", i + 1);
        if checks.length(&field, thumbprint, 40, 40)
            && !thumbprint.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(invalid_input(format!(
                "Thumbprint {thumbprint} is not 40 hex digits (a certificate's SHA-1 hash)."
            )));
        }
    }
    Ok(())
}

/// Keeps the first of each repeated value.
fn distinct(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

pub(super) fn create(call: &Call<'_>, params: &Params) -> Outcome {
    let account = call.caller.account();
    let url = params.required("Url")?.to_string();
    let client_ids = distinct(params.list("ClientIDList"));
    let thumbprints = distinct(params.list("ThumbprintList"));
    let tags = read_tags(params);
    let arn = format!(
        "arn:aws:iam::{account}:oidc-provider/{}",
        url.strip_prefix("https://").unwrap_or(&url)
    );
    let mut context = Context::default();
    request_tags_context(&mut context, &tags);
    authorize(call, "CreateOpenIDConnectProvider", &arn, &context)?;
    let mut checks = Constraints::default();
    checks.length("url", &url, 1, 255);
    check_client_ids(&mut checks, &client_ids);
    check_thumbprints(&mut checks, &thumbprints)?;
    checks.tags(&tags)?;
    checks.finish()?;
    host_and_path(&url)?;
    if client_ids.len() > MAX_CLIENT_IDS {
        return Err(too_many_client_ids());
    }
    call.twin.update_model(|model| {
        let iam = iam_mut(model, account)?;
        if iam.oidc_providers.iter().any(|p| p.arn == arn) {
            return Err(already_exists(format!(
                "Provider with url {url} already exists."
            )));
        }
        iam.oidc_providers.push(OidcProvider {
            url: url.clone(),
            arn: arn.clone(),
            client_ids,
            thumbprints,
            tags: tags.clone(),
        });
        Ok(())
    })?;
    record_creation(call, &arn);
    let mut xml = Xml::default();
    xml.leaf("OpenIDConnectProviderArn", &arn);
    if !tags.is_empty() {
        write_tags(&mut xml, &tags);
    }
    Ok(Answer::Result(xml.finish()))
}

fn too_many_client_ids() -> ServiceError {
    limit_exceeded(format!(
        "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
    ))
}

/// The provider ARN a request names, authorized for `action` with the
/// provider's tags as context.
fn target(call: &Call<'_>, params: &Params, action: &str) -> Result<String, ServiceError> {
    let arn = params.required("OpenIDConnectProviderArn")?.to_string();
    let model = call.twin.model();
    let mut context = Context::default();
    let tags: &[Tag] = find(&model, call.caller.account(), &arn)
        .map(|p| p.tags.as_slice())
        .unwrap_or_default();
    for tag in tags {
        context.insert(&format!("aws:ResourceTag/{}", tag.key), tag.value.clone());
    }
    authorize(call, action, &arn, &context)?;
    let mut checks = Constraints::default();
    checks.arn("openIDConnectProviderArn", &arn);
    checks.finish()?;
    let well_formed = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.split_once(":oidc-provider/"))
        .is_some_and(|(owner, url)| owner.len() == 12 && !url.is_empty());
    if !well_formed {
        return Err(invalid_input(format!("ARN {arn} is not valid.")));
    }
    Ok(arn)
}

fn find<'m>(model: &'m Model, account: &str, arn: &str) -> Result<&'m OidcProvider, ServiceError> {
    iam(model, account)?
        .oidc_providers
        .iter()
        .find(|p| p.arn == arn)
        .ok_or_else(|| not_found(arn))
}

fn not_found(arn: &str) -> ServiceError {
    no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

/// Changes the provider `arn` of the caller's account.
fn change(
    call: &Call<'_>,
    arn: &str,
    change: impl FnOnce(&mut OidcProvider) -> Result<(), ServiceError>,
) -> Outcome {
    call.twin.update_model(|model| {
        let provider = iam_mut(model, call.caller.account())?
            .oidc_providers
            .iter_mut()
            .find(|p| p.arn == arn)
            .ok_or_else(|| not_found(arn))?;
        change(provider)
    })?;
    Ok(Answer::Empty)
}

pub(super) fn get(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = target(call, params, "GetOpenIDConnectProvider")?;
    let model = call.twin.model();
    let provider = find(&model, call.caller.account(), &arn)?;
    let mut xml = Xml::default();
    xml.leaf(
        "Url",
        provider
            .url
            .strip_prefix("https://")
            .unwrap_or(&provider.url),
    )
    .members("ClientIDList", &provider.client_ids)
    .members("ThumbprintList", &provider.thumbprints)
    .leaf("CreateDate", &creation_date(call, &provider.arn)?);
    write_tags(&mut xml, &provider.tags);
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn list(call: &Call<'_>, _params: &Params) -> Outcome {
    authorize(call, "ListOpenIDConnectProviders", "*", &Context::default())?;
    let model = call.twin.model();
    let providers = &iam(&model, call.caller.account())?.oidc_providers;
    let mut xml = Xml::default();
    xml.list("OpenIDConnectProviderList", providers, |xml, p| {
        xml.leaf("Arn", &p.arn);
    });
    Ok(Answer::Result(xml.finish()))
}

pub(super) fn delete(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = target(call, params, "DeleteOpenIDConnectProvider")?;
    call.twin.update_model(|model| {
        let iam = iam_mut(model, call.caller.account())?;
        if !iam.oidc_providers.iter().any(|p| p.arn == arn) {
            return Err(not_found(&arn));
        }
        iam.oidc_providers.retain(|p| p.arn != arn);
        Ok(())
    })?;
    Ok(Answer::Empty)
}

pub(super) fn add_client_id(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = target(call, params, "AddClientIDToOpenIDConnectProvider")?;
    let client_id = params.required("ClientID")?.to_string();
    let mut checks = Constraints::default();
    checks.length("clientID", &client_id, 1, 255);
    checks.finish()?;
    change(call, &arn, |provider| {
        if !provider.client_ids.contains(&client_id) {
            if provider.client_ids.len() >= MAX_CLIENT_IDS {
                return Err(too_many_client_ids());
            }
            provider.client_ids.push(client_id);
        }
        Ok(())
    })
}

pub(super) fn remove_client_id(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = target(call, params, "RemoveClientIDFromOpenIDConnectProvider")?;
    let client_id = params.required("ClientID")?.to_string();
    let mut checks = Constraints::default();
    checks.length("clientID", &client_id, 1, 255);
    checks.finish()?;
    change(call, &arn, |provider| {
        provider.client_ids.retain(|c| *c != client_id);
        Ok(())
    })
}

pub(super) fn update_thumbprints(call: &Call<'_>, params: &Params) -> Outcome {
    let arn = target(call, params, "UpdateOpenIDConnectProviderThumbprint")?;
    let thumbprints = distinct(params.list("ThumbprintList"));
    if thumbprints.is_empty() {
        params.required("ThumbprintList")?;
    }
    let mut checks = Constraints::default();
    check_thumbprints(&mut checks, &thumbprints)?;
    checks.finish()?;
    change(call, &arn, |provider| {
        provider.thumbprints = thumbprints;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls() {
        assert_eq!(
            host_and_path("https://oidc.eks.us-east-1.amazonaws.com/id/ABC").unwrap(),
            "oidc.eks.us-east-1.amazonaws.com/id/ABC"
        );
        for bad in [
            "http://x.example",
            "https://",
            "https://x.example/",
            "https://x?y",
        ] {
            assert_eq!(
                host_and_path(bad).unwrap_err().code,
                "InvalidInput",
                "{bad}"
            );
        }
    }
}
