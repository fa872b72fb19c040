//! `AssumeRoleWithWebIdentity`: an OIDC token (IRSA's projected service
//! account token) exchanged for a role session.
//!
//! STS's checks, in order: the token is a JWT signed with RS256; the role's
//! account has an IAM OIDC provider for the token's issuer (`iss`, matched
//! without `https://`); one of the token's audiences is among the provider's
//! client ids; the signature verifies with the issuer's key (found by `kid`);
//! the token has not expired and is not used before `nbf`/`iat` (five
//! minutes of skew either way); the role's trust policy allows the provider
//! (`"Federated": "arn:aws:iam::ACCT:oidc-provider/ISSUER"`) with the token's
//! claims as `ISSUER:sub`, `ISSUER:aud` and `ISSUER:amr` condition keys.
//!
//! Where the keys come from is the caller's business ([`KeySource`]): the
//! twin serves its clusters' issuers itself.

use orgtwin_model::Model;
use orgtwin_policy::{
    Context, NamedPolicy, Policies, Principal, Request, ResourcePolicyKind, Timestamp, evaluate,
};
use serde::Deserialize;

use crate::authorize::Authorization;
use crate::caller::Session;
use crate::sts::{IdSource, Issued, StsError};

/// Clock skew STS tolerates on `exp`, `nbf` and `iat`.
pub const SKEW_SECONDS: i64 = 300;

/// One RSA public key of an issuer (a JWK with `kty` `RSA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// Modulus and exponent, big-endian.
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// Finds the signing keys of an issuer.
pub trait KeySource {
    /// The issuer's keys; `Err` says why they could not be had.
    fn keys(&self, issuer: &str) -> Result<Vec<Jwk>, String>;
}

/// `AssumeRoleWithWebIdentity`'s parameters. `Debug` hides the token.
#[derive(Clone, Default)]
pub struct WebIdentityRequest {
    pub role_arn: String,
    pub role_session_name: String,
    pub web_identity_token: String,
    pub duration_seconds: Option<i64>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

impl std::fmt::Debug for WebIdentityRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebIdentityRequest")
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &"** redacted **")
            .field("duration_seconds", &self.duration_seconds)
            .field("policy", &self.policy)
            .field("policy_arns", &self.policy_arns)
            .finish()
    }
}

/// The new session, and what the token said.
#[derive(Debug)]
pub struct WebIdentityIssued {
    pub issued: Issued,
    pub subject: String,
    pub provider: String,
    pub audience: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    amr: Option<Audience>,
}

fn invalid(message: impl Into<String>) -> StsError {
    StsError::InvalidIdentityToken(message.into())
}

/// `AssumeRoleWithWebIdentity`.
pub fn assume_role_with_web_identity(
    model: &Model,
    request: &WebIdentityRequest,
    keys: &dyn KeySource,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<WebIdentityIssued, StsError> {
    crate::sts::check_session_name(&request.role_session_name)?;
    let token = request.web_identity_token.trim();
    if token.len() < 4 || token.len() > 20_000 {
        return Err(crate::sts::constraint(
            "[token]",
            "webIdentityToken",
            "Member must have length between 4 and 20000",
        ));
    }
    let parsed: crate::tokens::Parsed<Claims> = crate::tokens::parse(token).map_err(|e| {
        invalid(format!(
            "The web identity token is invalid: {e} (an RS256 JWT with an `iss` is required)."
        ))
    })?;
    let claims = &parsed.claims;

    let audiences = match &claims.aud {
        Some(Audience::One(a)) => vec![a.clone()],
        Some(Audience::Many(list)) => list.clone(),
        None => Vec::new(),
    };
    let target = target(model, &request.role_arn, &claims.iss, &audiences)?;
    let issuer_keys = keys.keys(&claims.iss).map_err(|reason| {
        StsError::IdpCommunicationError(format!(
            "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements ({reason})"
        ))
    })?;
    let verified = parsed.verify(&issuer_keys).is_ok();
    if !verified {
        return Err(invalid(
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
        ));
    }
    let now_s = now.seconds();
    let exp = claims
        .exp
        .ok_or_else(|| invalid("The web identity token has no `exp`."))?;
    if now_s > exp + SKEW_SECONDS {
        return Err(StsError::ExpiredToken(format!(
            "Token expired: current date/time {} must be before the expiration date/time {}",
            now.to_rfc3339(),
            Timestamp::from_unix_seconds(exp).to_rfc3339()
        )));
    }
    if claims
        .nbf
        .or(claims.iat)
        .is_some_and(|t| t > now_s + SKEW_SECONDS)
    {
        return Err(invalid(
            "The web identity token is not valid yet (`nbf`/`iat` is in the future).",
        ));
    }

    let identity = TokenIdentity {
        issuer: claims.iss.clone(),
        subject: claims.sub.clone().unwrap_or_default(),
        audiences,
        amr: match &claims.amr {
            Some(Audience::One(a)) => vec![a.clone()],
            Some(Audience::Many(list)) => list.clone(),
            None => Vec::new(),
        },
    };
    issue(model, request, &target, &identity, now, ids)
}

/// What a verified token says about its bearer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenIdentity {
    /// `iss`, as the token carries it (`https://...`).
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub amr: Vec<String>,
}

/// `AssumeRoleWithWebIdentity` for a bearer whose token has been verified:
/// the provider, audience and trust checks and the new session, without the
/// token. The analyzer asks this for every IRSA service account, so that
/// it decides exactly as STS in the twin does.
pub fn web_identity_session(
    model: &Model,
    request: &WebIdentityRequest,
    identity: &TokenIdentity,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<WebIdentityIssued, StsError> {
    crate::sts::check_session_name(&request.role_session_name)?;
    let target = target(
        model,
        &request.role_arn,
        &identity.issuer,
        &identity.audiences,
    )?;
    issue(model, request, &target, identity, now, ids)
}

/// The role a token asks for, the provider of its issuer in the role's
/// account, and the audience that provider accepts.
struct Target<'m> {
    account: &'m str,
    role: &'m orgtwin_model::Role,
    provider: &'m orgtwin_model::OidcProvider,
    audience: String,
}

fn target<'m>(
    model: &'m Model,
    role_arn: &str,
    iss: &str,
    audiences: &[String],
) -> Result<Target<'m>, StsError> {
    let denied = || StsError::AccessDenied {
        message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
        authorizations: Vec::new(),
    };
    let (account, role_name) = crate::sts::role_arn_parts(role_arn).ok_or_else(denied)?;
    let (account, role) = model
        .account(account)
        .and_then(|a| {
            a.iam
                .roles
                .iter()
                .find(|r| r.name == role_name)
                .map(|r| (a.id.as_str(), r))
        })
        .ok_or_else(denied)?;
    let issuer = iss
        .strip_prefix("https://")
        .unwrap_or(iss)
        .trim_end_matches('/');
    let provider = model
        .account(account)
        .and_then(|a| {
            a.iam
                .oidc_providers
                .iter()
                .find(|p| p.url.strip_prefix("https://") == Some(issuer))
        })
        .ok_or_else(|| {
            invalid(format!(
                "No OpenIDConnect provider found in your account for {iss}"
            ))
        })?;
    let audience = audiences
        .iter()
        .find(|a| provider.client_ids.contains(a))
        .cloned()
        .ok_or_else(|| invalid("Incorrect token audience"))?;
    Ok(Target {
        account,
        role,
        provider,
        audience,
    })
}

/// The trust decision and the new session.
fn issue(
    model: &Model,
    request: &WebIdentityRequest,
    target: &Target<'_>,
    identity: &TokenIdentity,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<WebIdentityIssued, StsError> {
    let Target {
        account,
        role,
        provider,
        ..
    } = *target;
    let audience = target.audience.clone();
    let issuer = identity
        .issuer
        .strip_prefix("https://")
        .unwrap_or(&identity.issuer)
        .trim_end_matches('/');
    let now_s = now.seconds();
    let subject = identity.subject.clone();
    let principal = Principal::Federated(provider.arn.clone());
    let mut context = Context::default();
    context.insert(&format!("{issuer}:sub"), subject.clone());
    context.insert(&format!("{issuer}:aud"), audience.clone());
    context.insert(&format!("{issuer}:oaud"), audience.clone());
    match identity.amr.as_slice() {
        [] => {}
        [one] => context.insert(&format!("{issuer}:amr"), one.clone()),
        many => context.insert_multi(&format!("{issuer}:amr"), many.to_vec()),
    }
    context.insert("sts:RoleSessionName", request.role_session_name.clone());
    context.insert("aws:ResourceAccount", account);
    context.derive_from_principal(&principal, now);
    let trust: NamedPolicy = role
        .trust_policy
        .named(&format!("{} trust policy", role.name));
    let rcps = model.rcp_levels(account);
    let engine_request = Request {
        principal: &principal,
        action: "sts:AssumeRoleWithWebIdentity",
        resource: &role.arn,
        resource_account: Some(account),
        context: &context,
    };
    let policies = Policies {
        resource: Some(&trust),
        resource_kind: ResourcePolicyKind::Trust,
        rcps: Some(&rcps),
        management_account: Some(&model.organization.management_account),
        ..Policies::default()
    };
    let authorization = Authorization {
        caller_arn: provider.arn.clone(),
        action: "sts:AssumeRoleWithWebIdentity".into(),
        resource: role.arn.clone(),
        decision: evaluate(&engine_request, &policies),
    };
    if !authorization.allowed() {
        return Err(StsError::AccessDenied {
            message: "Not authorized to perform sts:AssumeRoleWithWebIdentity".into(),
            authorizations: vec![authorization],
        });
    }
    let duration = request.duration_seconds.unwrap_or(3_600);
    crate::sts::check_duration(duration)?;
    crate::sts::check_role_duration(role, duration)?;
    let (session_policy, _) =
        crate::sts::session_policy(model, &request.policy, &request.policy_arns)?;
    let session = Session {
        session_policy,
        session_policy_arns: request.policy_arns.clone(),
        context: vec![("aws:FederatedProvider".into(), provider.arn.clone())],
        ..Session::of_role(role, account, &request.role_session_name, now_s, duration)
    };
    let credentials = crate::sts::new_credentials(ids, session.expires_at);
    Ok(WebIdentityIssued {
        issued: Issued {
            session,
            credentials,
            packed_policy_size: None,
            authorizations: vec![authorization],
        },
        subject,
        provider: identity.issuer.clone(),
        audience,
    })
}
