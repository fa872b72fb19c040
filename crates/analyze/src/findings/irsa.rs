//! IRSA service accounts that cannot get their role: a service account
//! annotated with `eks.amazonaws.com/role-arn` (and no Pod Identity
//! association, which would win) exchanges its token with STS's
//! `AssumeRoleWithWebIdentity`.
//!
//! The role's account must have the cluster's issuer as an IAM OIDC provider
//! whose client ids include the annotation's audience (`irsa-no-provider`);
//! then [`web_identity_session`], the twin's own code, decides with the
//! token's `sub` (`system:serviceaccount:NAMESPACE:NAME`) and `aud`: a
//! refusal by the role's trust is `irsa-role-untrusting`, by an RCP
//! `scp-blocks-path`.

use orgtwin_identity::{StsError, TokenIdentity, WebIdentityRequest, web_identity_session};
use orgtwin_model::{Cluster, Model, ServiceAccount};
use orgtwin_policy::Timestamp;

use super::paths::{Refusal, blocked, refusal};
use super::{Finding, Severity, document_place, statement_place};
use crate::reach::Counter;

/// The IRSA path of one service account.
pub(super) fn walk(
    model: &Model,
    cluster: &Cluster,
    service_account: &ServiceAccount,
    now: Timestamp,
    ids: &mut Counter,
    out: &mut Vec<Finding>,
) {
    let Some(annotation) = service_account.irsa() else {
        return;
    };
    let role_arn = annotation.role_arn.as_str();
    let Some(role) = model.role_by_arn(role_arn) else {
        return;
    };
    let Some(role_account) = role_arn.split(':').nth(4) else {
        return;
    };
    let who = format!(
        "{}/{}/{}",
        cluster.name, service_account.namespace, service_account.name
    );
    let issuer = cluster.issuer_host_path();
    let providers = model
        .account(role_account)
        .map(|a| a.iam.oidc_providers.as_slice())
        .unwrap_or_default();
    let provider = providers
        .iter()
        .find(|p| p.url.strip_prefix("https://") == Some(issuer.as_str()));
    let trust_place = || {
        let statements = &role.trust_policy.policy.statements;
        statements
            .iter()
            .position(|s| {
                s.principal
                    .iter()
                    .flat_map(|p| p.written.iter())
                    .any(|(_, v)| v.ends_with(&format!(":oidc-provider/{issuer}")))
            })
            .and_then(|i| statement_place(&role.trust_policy, i))
            .or_else(|| document_place(&role.trust_policy))
    };
    let no_provider = |title: String, why: String| Finding {
        id: "irsa-no-provider",
        severity: Severity::Medium,
        title,
        subject: role_arn.to_string(),
        place: trust_place(),
        why,
        fix: format!(
            "Register `https://{issuer}` as an IAM OIDC provider in account `{role_account}` \
             with the client id `{}`.",
            annotation.audience
        ),
    };
    match provider {
        None => {
            out.push(no_provider(
                format!("account `{role_account}` has no OIDC provider for `{who}`'s issuer"),
                format!(
                    "`{who}` is annotated with `{role_arn}`: its pods exchange their token, \
                     issued by `https://{issuer}`, with `AssumeRoleWithWebIdentity`. STS \
                     accepts it only when the role's account has that issuer as an IAM OIDC \
                     provider, and account `{role_account}` has none: the pods get \
                     `InvalidIdentityToken`."
                ),
            ));
            return;
        }
        Some(p) if !p.client_ids.contains(&annotation.audience) => {
            out.push(no_provider(
                format!(
                    "the OIDC provider for `{who}`'s issuer in `{role_account}` does not accept \
                     the audience `{}`",
                    annotation.audience
                ),
                format!(
                    "STS accepts a token only when one of its audiences is among the \
                     provider's client ids; `{who}`'s tokens carry `{}`, the provider lists \
                     {:?}: the pods get `InvalidIdentityToken`.",
                    annotation.audience, p.client_ids
                ),
            ));
            return;
        }
        Some(_) => {}
    }
    let request = WebIdentityRequest {
        role_arn: role_arn.to_string(),
        role_session_name: "orgtwin-findings".into(),
        ..WebIdentityRequest::default()
    };
    let identity = TokenIdentity {
        issuer: cluster.issuer(),
        subject: service_account.subject(),
        audiences: vec![annotation.audience.clone()],
        amr: Vec::new(),
    };
    let Err(StsError::AccessDenied { authorizations, .. }) =
        web_identity_session(model, &request, &identity, now, ids)
    else {
        return;
    };
    let Some(last) = authorizations.last() else {
        return;
    };
    match refusal(last) {
        Refusal::Organization(statement) => out.push(blocked(
            model,
            &who,
            statement,
            last,
            Some(&role.trust_policy),
        )),
        _ => out.push(Finding {
            id: "irsa-role-untrusting",
            severity: Severity::Medium,
            title: format!("the trust of `{role_arn}` does not admit `{who}`"),
            subject: role_arn.to_string(),
            place: trust_place(),
            why: format!(
                "`{who}` is annotated with `{role_arn}`, but no statement of its trust allows \
                 the cluster's OIDC provider `sts:AssumeRoleWithWebIdentity` for the subject \
                 `{}` and the audience `{}`: the pods get `AccessDenied`.",
                service_account.subject(),
                annotation.audience
            ),
            fix: format!(
                "Allow `arn:aws:iam::{role_account}:oidc-provider/{issuer}` \
                 `sts:AssumeRoleWithWebIdentity` with `StringEquals` `{issuer}:sub` = `{}` \
                 and `{issuer}:aud` = `{}`, or fix the annotation.",
                service_account.subject(),
                annotation.audience
            ),
        }),
    }
}
