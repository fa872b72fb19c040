//! EKS Auth's `AssumeRoleForPodIdentity`: a pod's projected token exchanged
//! for the credentials of its service account's association.
//!
//! The order of EKS's checks: the cluster exists; the token is an RS256 JWT
//! signed by the cluster's issuer, issued by it (`iss`), for the audience
//! `pods.eks.amazonaws.com`, not expired, and bound to a pod; the service
//! account has an association. Then EKS, as the service principal
//! `pods.eks.amazonaws.com`, assumes the association's role: the role's
//! trust policy alone decides (a service principal has no identity side, and
//! neither SCPs nor RCPs restrict AWS service principals), with
//! `aws:SourceAccount` and `aws:SourceArn` naming the cluster. Unless the
//! association disables them, the session carries six transitive tags
//! ([`POD_TAGS`]); passing them is `sts:TagSession`, which the trust must
//! allow too. With a target role, EKS then assumes it with that first
//! session, exactly as `AssumeRole` would (the tags pass on as transitive
//! tags), with the association's external id, and hands out the target's
//! credentials. The association's session policy (only allowed with session
//! tags disabled) applies to the session the pod gets.

use orgtwin_model::Model;
use orgtwin_model::eks::{POD_IDENTITY_AUDIENCE, POD_IDENTITY_PRINCIPAL};
use orgtwin_policy::{
    Context, Policies, Principal, Request, ResourcePolicyKind, Timestamp, evaluate,
};

use crate::authorize::Authorization;
use crate::caller::{Caller, Session, SessionTag};
use crate::sts::{AssumeRoleRequest, IdSource, Issued, StsError};
use crate::tokens::{Parsed, TokenClaims, TokenError, parse};
use crate::web_identity::KeySource;

/// The session tags EKS Pod Identity sets, all transitive.
pub const POD_TAGS: [&str; 6] = [
    "eks-cluster-arn",
    "eks-cluster-name",
    "kubernetes-namespace",
    "kubernetes-service-account",
    "kubernetes-pod-name",
    "kubernetes-pod-uid",
];

/// How long the credentials of a Pod Identity session last. A target
/// role's session is a chained one, capped at an hour.
pub const SESSION_SECONDS: i64 = 6 * 3_600;
pub const CHAINED_SESSION_SECONDS: i64 = 3_600;

/// Clock skew tolerated on a token's `exp` and `nbf`.
pub const TOKEN_SKEW_SECONDS: i64 = 60;

/// EKS Auth's refusals, with its error codes.
#[derive(Debug, thiserror::Error)]
pub enum EksAuthError {
    #[error("{0}")]
    InvalidToken(String),
    #[error("{0}")]
    ExpiredToken(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{message}")]
    AccessDenied {
        message: String,
        authorizations: Vec<Authorization>,
    },
}

impl EksAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            EksAuthError::InvalidToken(_) => "InvalidTokenException",
            EksAuthError::ExpiredToken(_) => "ExpiredTokenException",
            EksAuthError::InvalidRequest(_) => "InvalidRequestException",
            EksAuthError::ResourceNotFound(_) => "ResourceNotFoundException",
            EksAuthError::AccessDenied { .. } => "AccessDeniedException",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            EksAuthError::InvalidToken(_)
            | EksAuthError::ExpiredToken(_)
            | EksAuthError::InvalidRequest(_) => 400,
            EksAuthError::ResourceNotFound(_) => 404,
            EksAuthError::AccessDenied { .. } => 403,
        }
    }

    pub fn authorizations(&self) -> &[Authorization] {
        match self {
            EksAuthError::AccessDenied { authorizations, .. } => authorizations,
            _ => &[],
        }
    }
}

struct BoundPod<'p> {
    name: &'p str,
    uid: &'p str,
}

/// What EKS Auth hands out.
#[derive(Debug)]
pub struct PodIdentityIssued {
    /// The session whose credentials the pod gets (the target role's, when
    /// the association has one).
    pub issued: Issued,
    /// Every decision along the way (first role, then target role).
    pub authorizations: Vec<Authorization>,
    pub namespace: String,
    pub service_account: String,
    pub audience: String,
    pub association_arn: String,
    pub association_id: String,
}

fn invalid(message: impl Into<String>) -> EksAuthError {
    EksAuthError::InvalidToken(message.into())
}

/// `AssumeRoleForPodIdentity` for `cluster_name` with the pod's `token`.
pub fn assume_role_for_pod_identity(
    model: &Model,
    cluster_name: &str,
    token: &str,
    keys: &dyn KeySource,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<PodIdentityIssued, EksAuthError> {
    let (_, cluster) = model.cluster(cluster_name).ok_or_else(|| {
        EksAuthError::ResourceNotFound(format!("No cluster found for name: {cluster_name}."))
    })?;
    if token.is_empty() || token.len() > 65_536 {
        return Err(EksAuthError::InvalidRequest(
            "The token must be 1 to 65,536 characters.".into(),
        ));
    }
    let parsed: Parsed<TokenClaims> = parse(token).map_err(|e| invalid(token_reason(&e)))?;
    let claims = &parsed.claims;
    if claims.iss != cluster.issuer() {
        return Err(invalid(format!(
            "The token was not issued by cluster {cluster_name}'s issuer."
        )));
    }
    let issuer_keys = keys.keys(&claims.iss).map_err(invalid)?;
    parsed
        .verify(&issuer_keys)
        .map_err(|e| invalid(token_reason(&e)))?;
    if !claims.aud.iter().any(|a| a == POD_IDENTITY_AUDIENCE) {
        return Err(invalid(format!(
            "The token's audience is not {POD_IDENTITY_AUDIENCE}."
        )));
    }
    let now_s = now.seconds();
    if now_s > claims.exp + TOKEN_SKEW_SECONDS {
        return Err(EksAuthError::ExpiredToken(
            "The token has expired; the pod's projected token must be refreshed.".into(),
        ));
    }
    if claims.nbf > now_s + TOKEN_SKEW_SECONDS {
        return Err(invalid("The token is not valid yet."));
    }
    let k8s = &claims.kubernetes;
    let expected_sub = format!(
        "system:serviceaccount:{}:{}",
        k8s.namespace, k8s.serviceaccount.name
    );
    if claims.sub != expected_sub {
        return Err(invalid(
            "The token's subject does not match its service account.",
        ));
    }
    let Some(pod) = &k8s.pod else {
        return Err(invalid("The token is not bound to a pod."));
    };
    let pod = Pod {
        cluster: cluster_name.to_string(),
        namespace: k8s.namespace.clone(),
        service_account: k8s.serviceaccount.name.clone(),
        pod_name: pod.name.clone(),
        pod_uid: pod.uid.clone(),
    };
    pod_identity_session(model, &pod, now, ids)
}

/// A pod, as its verified token names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pod {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub pod_name: String,
    pub pod_uid: String,
}

/// What EKS Auth does once a pod's token is verified: find the service
/// account's association, assume its role as `pods.eks.amazonaws.com` with
/// the pod's tags, then its target role. The analyzer asks this for every
/// association, so that it decides exactly as EKS Auth in the twin does.
pub fn pod_identity_session(
    model: &Model,
    pod: &Pod,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<PodIdentityIssued, EksAuthError> {
    let cluster_name = pod.cluster.as_str();
    let (account, cluster) = model.cluster(cluster_name).ok_or_else(|| {
        EksAuthError::ResourceNotFound(format!("No cluster found for name: {cluster_name}."))
    })?;
    let namespace = pod.namespace.clone();
    let service_account = pod.service_account.clone();
    let pod = BoundPod {
        name: &pod.pod_name,
        uid: &pod.pod_uid,
    };
    let association = cluster
        .association_for(&namespace, &service_account)
        .ok_or_else(|| {
            EksAuthError::ResourceNotFound(format!(
                "No Pod Identity Association found for service account {service_account} in namespace {namespace} of cluster {cluster_name}."
            ))
        })?;
    let cluster_arn = cluster.arn(account);
    let association_arn = association.arn(cluster, account);

    // The first hop: EKS, as its service principal, assumes the role.
    let role =
        model
            .role_by_arn(&association.role_arn)
            .ok_or_else(|| EksAuthError::AccessDenied {
                message: format!(
                    "EKS Pod Identity cannot assume {}: no such role.",
                    association.role_arn
                ),
                authorizations: Vec::new(),
            })?;
    let tags: Vec<SessionTag> = if association.disable_session_tags {
        Vec::new()
    } else {
        let values = [
            cluster_arn.clone(),
            cluster.name.clone(),
            namespace.clone(),
            service_account.clone(),
            pod.name.to_string(),
            pod.uid.to_string(),
        ];
        POD_TAGS
            .iter()
            .zip(values)
            .map(|(key, value)| SessionTag {
                key: (*key).to_string(),
                value,
                transitive: true,
            })
            .collect()
    };
    let mut context = Context::default();
    let session_name = session_name(&cluster.name, pod.name, ids);
    context.insert("sts:RoleSessionName", session_name.clone());
    context.insert("aws:SourceAccount", account);
    context.insert("aws:SourceArn", cluster_arn.clone());
    context.insert("aws:ResourceAccount", account);
    for tag in &tags {
        context.insert(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
    }
    if !tags.is_empty() {
        context.insert_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
        context.insert_multi(
            "sts:TransitiveTagKeys",
            tags.iter().map(|t| t.key.clone()).collect(),
        );
    }
    let principal = Principal::Service(POD_IDENTITY_PRINCIPAL.to_string());
    context.derive_from_principal(&principal, now);
    let trust = role
        .trust_policy
        .named(&format!("{} trust policy", role.name));
    let policies = Policies {
        resource: Some(&trust),
        resource_kind: ResourcePolicyKind::Trust,
        management_account: Some(&model.organization.management_account),
        ..Policies::default()
    };
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    let mut authorizations = Vec::new();
    for action in actions {
        let request = Request {
            principal: &principal,
            action,
            resource: &role.arn,
            resource_account: Some(account),
            context: &context,
        };
        let authorization = Authorization {
            caller_arn: POD_IDENTITY_PRINCIPAL.to_string(),
            action: action.to_string(),
            resource: role.arn.clone(),
            decision: evaluate(&request, &policies),
        };
        let allowed = authorization.allowed();
        authorizations.push(authorization);
        if !allowed {
            return Err(EksAuthError::AccessDenied {
                message: format!(
                    "EKS Pod Identity ({POD_IDENTITY_PRINCIPAL}) is not authorized to perform: {action} on resource: {}",
                    role.arn
                ),
                authorizations,
            });
        }
    }
    let final_policy = association.policy.as_ref().map(|p| p.text.to_string());
    let mut first = Session {
        tags,
        ..Session::of_role(role, account, &session_name, now.seconds(), SESSION_SECONDS)
    };
    let handed_out = |issued: Issued, authorizations: Vec<Authorization>| PodIdentityIssued {
        issued,
        authorizations,
        namespace,
        service_account,
        audience: POD_IDENTITY_AUDIENCE.to_string(),
        association_arn,
        association_id: association.id.clone(),
    };
    let Some(target) = &association.target_role_arn else {
        first.session_policy = final_policy;
        let credentials = crate::sts::new_credentials(ids, first.expires_at);
        let issued = Issued {
            session: first,
            credentials,
            packed_policy_size: None,
            authorizations: authorizations.clone(),
        };
        return Ok(handed_out(issued, authorizations));
    };

    // The second hop: the first session assumes the target role, as any
    // role session would, with the association's external id.
    let request = AssumeRoleRequest {
        role_arn: target.clone(),
        role_session_name: session_name,
        duration_seconds: Some(CHAINED_SESSION_SECONDS),
        external_id: association.external_id(cluster, account),
        policy: final_policy,
        ..AssumeRoleRequest::default()
    };
    let caller = Caller::Session(Box::new(first));
    let issued = crate::sts::assume_role(model, &caller, &request, now, ids).map_err(|e| {
        let mut all = authorizations.clone();
        all.extend(e.authorizations().iter().cloned());
        match e {
            StsError::AccessDenied { message, .. } => EksAuthError::AccessDenied {
                message,
                authorizations: all,
            },
            other => EksAuthError::AccessDenied {
                message: format!(
                    "EKS Pod Identity could not assume the target role {target}: {} ({other})",
                    other.code()
                ),
                authorizations: all,
            },
        }
    })?;
    authorizations.extend(issued.authorizations.iter().cloned());
    Ok(handed_out(issued, authorizations))
}

fn token_reason(error: &TokenError) -> String {
    match error {
        TokenError::Malformed(reason) => format!("The token is invalid: {reason}."),
        TokenError::BadSignature => {
            "The token's signature does not verify with the cluster's keys.".into()
        }
    }
}

/// `eks-CLUSTER-POD-ID`, at most STS's 64 characters: the cluster and pod
/// names are shortened so that the random part stays whole.
fn session_name(cluster: &str, pod: &str, ids: &mut dyn IdSource) -> String {
    let clean = |s: &str, max: usize| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
            .take(max)
            .collect()
    };
    let random: String = ids
        .access_key_id("")
        .to_lowercase()
        .chars()
        .take(10)
        .collect();
    format!("eks-{}-{}-{random}", clean(cluster, 24), clean(pod, 24))
}
