//! EKS Auth (`AssumeRoleForPodIdentity`, rest-json, SigV4 service
//! `eks-auth`) and the EKS Pod Identity agent in front of it.
//!
//! The agent answers pods at `GET /v1/credentials` with the projected token
//! in `Authorization`, as the real agent does at `169.254.170.23`; the
//! twin's agent serves every cluster of the model (the real one serves its
//! node's), telling them apart by the token's issuer. It calls EKS Auth as
//! a node would, and caches what it gets per token until five minutes
//! before the credentials expire: six hours for a role, one hour for a
//! target role (a chained session).

use std::collections::HashMap;
use std::sync::Mutex;

use orgtwin_identity::{EksAuthError, PodIdentityIssued, TokenClaims};
use sha2::Digest as _;

use crate::ids::RandomIds;
use crate::issuers::ServedIssuers;
use crate::reply::{Reply, ServiceError};
use crate::services::Call;
use crate::state::Twin;

/// Where pods ask the agent for credentials.
pub const AGENT_PATH: &str = "/v1/credentials";

/// Cached credentials are handed out until this close to their expiry.
const CACHE_MARGIN_SECONDS: i64 = 300;
/// Most tokens the agent keeps credentials for.
const CACHE_ENTRIES: usize = 10_000;

/// The operation a request names: `POST /clusters/{name}/assume-role-for-pod-identity`.
pub fn operation(method: &str, path: &str) -> Option<String> {
    cluster_of(path)
        .filter(|_| method == "POST")
        .map(|_| "AssumeRoleForPodIdentity".to_string())
}

fn cluster_of(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("/clusters/")?
        .strip_suffix("/assume-role-for-pod-identity")?;
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()?
        .into_owned();
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// `AssumeRoleForPodIdentity`, called by a principal allowed
/// `eks-auth:AssumeRoleForPodIdentity` on the cluster (a node's role).
pub fn handle(call: &Call<'_>, path: &str, body: &[u8]) -> Result<Reply, ServiceError> {
    let cluster_name = cluster_of(path)
        .ok_or_else(|| ServiceError::new(404, "ResourceNotFoundException", "No such operation."))?;
    let body: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        ServiceError::new(
            400,
            "InvalidRequestException",
            "The request body is not a JSON object.",
        )
    })?;
    let token = body.get("token").and_then(|t| t.as_str()).ok_or_else(|| {
        ServiceError::new(400, "InvalidRequestException", "The token is required.")
    })?;
    let model = call.twin.model();
    let cluster_arn = match model.cluster(&cluster_name) {
        Some((account, cluster)) if account == call.caller.account() => cluster.arn(account),
        _ => {
            return Err(ServiceError::new(
                404,
                "ResourceNotFoundException",
                format!("No cluster found for name: {cluster_name}."),
            ));
        }
    };
    call.authorize("eks-auth:AssumeRoleForPodIdentity", &cluster_arn)
        .map_err(super::as_access_denied_exception)?;
    let issued = exchange(call.twin, call.request_id, &cluster_name, token)?;
    Ok(Reply {
        status: 200,
        content_type: "application/json",
        body: response(&issued).to_string(),
        headers: Vec::new(),
    })
}

/// Exchanges a pod token through the identity plane, records every decision
/// and keeps the new session.
fn exchange(
    twin: &Twin,
    request_id: &str,
    cluster_name: &str,
    token: &str,
) -> Result<PodIdentityIssued, ServiceError> {
    let model = twin.model();
    let now = twin.now();
    let keys = ServedIssuers {
        issuers: &twin.issuers,
        store: &twin.store,
        model: &model,
        now: now.seconds(),
    };
    match orgtwin_identity::assume_role_for_pod_identity(
        &model,
        cluster_name,
        token,
        &keys,
        now,
        &mut RandomIds,
    ) {
        Ok(issued) => {
            twin.record(request_id, &issued.authorizations);
            super::sts::keep_session(twin, &issued.issued)?;
            tracing::info!(
                request_id = %request_id,
                cluster = %cluster_name,
                namespace = %issued.namespace,
                service_account = %issued.service_account,
                role = %issued.issued.session.identity_arn,
                "EKS Pod Identity credentials issued"
            );
            Ok(issued)
        }
        Err(e) => {
            twin.record(request_id, e.authorizations());
            Err(match &e {
                EksAuthError::AccessDenied {
                    message,
                    authorizations,
                } => {
                    let denied = super::access_denied(twin, authorizations, message);
                    ServiceError::new(403, e.code(), denied.message)
                }
                other => ServiceError::new(other.status(), other.code(), other.to_string()),
            })
        }
    }
}

fn response(issued: &PodIdentityIssued) -> serde_json::Value {
    let session = &issued.issued.session;
    let credentials = &issued.issued.credentials;
    serde_json::json!({
        "subject": {
            "namespace": issued.namespace,
            "serviceAccount": issued.service_account,
        },
        "audience": issued.audience,
        "podIdentityAssociation": {
            "associationArn": issued.association_arn,
            "associationId": issued.association_id,
        },
        "assumedRoleUser": {
            "arn": session.arn(),
            "assumeRoleId": session.userid(),
        },
        "credentials": {
            "sessionToken": credentials.session_token,
            "secretAccessKey": credentials.secret_access_key,
            "accessKeyId": credentials.access_key_id,
            "expiration": credentials.expiration,
        },
    })
}

/// What the agent caches for one token. `Debug` shows no secret.
struct Cached {
    body: String,
    expiration: i64,
}

/// The agent's credentials, by the SHA-256 of the token they were got for.
#[derive(Default)]
pub struct AgentCache {
    entries: Mutex<HashMap<[u8; 32], Cached>>,
}

impl std::fmt::Debug for AgentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentCache")
    }
}

impl AgentCache {
    fn get(&self, key: &[u8; 32], now: i64) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|c| c.expiration - CACHE_MARGIN_SECONDS > now)
            .map(|c| c.body.clone())
    }

    fn put(&self, key: [u8; 32], cached: Cached, now: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CACHE_ENTRIES {
                entries.retain(|_, c| c.expiration - CACHE_MARGIN_SECONDS > now);
            }
            if entries.len() >= CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(key, cached);
        }
    }
}

fn text(status: u16, message: &str) -> Reply {
    Reply {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{message}\n"),
        headers: Vec::new(),
    }
}

/// `GET /v1/credentials`: the agent's answer to a pod.
pub fn agent(twin: &Twin, method: &str, authorization: Option<&str>, request_id: &str) -> Reply {
    if method != "GET" {
        return text(405, "Method not allowed: the agent answers GET.");
    }
    let token = authorization.map(str::trim).unwrap_or_default();
    if token.is_empty() {
        return text(
            400,
            "Service account token cannot be empty: send the projected token in the Authorization header.",
        );
    }
    let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
    let now = twin.now().seconds();
    if let Some(body) = twin.agent_cache.get(&key, now) {
        tracing::debug!(request_id = %request_id, "agent credentials served from the cache");
        return Reply {
            status: 200,
            content_type: "application/json",
            body,
            headers: Vec::new(),
        };
    }
    // The cluster is the one whose issuer signed the token; EKS Auth then
    // checks the signature and everything else.
    let cluster = orgtwin_identity::tokens::parse::<TokenClaims>(token)
        .ok()
        .and_then(|parsed| {
            twin.model()
                .cluster_by_issuer(&parsed.claims.iss)
                .map(|(_, c)| c.name.clone())
        });
    let Some(cluster) = cluster else {
        return text(
            400,
            "InvalidTokenException: the token is not a service account token of a cluster this agent serves.",
        );
    };
    match exchange(twin, request_id, &cluster, token) {
        Ok(issued) => {
            let c = &issued.issued.credentials;
            let body = serde_json::json!({
                "AccessKeyId": c.access_key_id,
                "SecretAccessKey": c.secret_access_key,
                "Token": c.session_token,
                "AccountId": issued.issued.session.account,
                "Expiration": orgtwin_policy::Timestamp::from_unix_seconds(c.expiration).to_rfc3339(),
            })
            .to_string();
            twin.agent_cache.put(
                key,
                Cached {
                    body: body.clone(),
                    expiration: c.expiration,
                },
                now,
            );
            Reply {
                status: 200,
                content_type: "application/json",
                body,
                headers: Vec::new(),
            }
        }
        Err(e) => text(e.status, &format!("{}: {}", e.code, e.message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_is_read_from_the_path() {
        assert_eq!(
            operation(
                "POST",
                "/clusters/ProductionCluster/assume-role-for-pod-identity"
            )
            .as_deref(),
            Some("AssumeRoleForPodIdentity")
        );
        assert_eq!(
            operation("GET", "/clusters/x/assume-role-for-pod-identity"),
            None
        );
        assert_eq!(
            operation("POST", "/clusters/a/b/assume-role-for-pod-identity"),
            None
        );
        assert_eq!(
            cluster_of("/clusters/My%2DCluster/assume-role-for-pod-identity").as_deref(),
            Some("My-Cluster")
        );
    }

    #[test]
    fn the_cache_serves_until_five_minutes_before_expiry() {
        let cache = AgentCache::default();
        let key = [7u8; 32];
        cache.put(
            key,
            Cached {
                body: "b".into(),
                expiration: 10_000,
            },
            0,
        );
        assert_eq!(cache.get(&key, 9_000).as_deref(), Some("b"));
        assert_eq!(cache.get(&key, 9_700), None);
        assert_eq!(cache.get(&[8u8; 32], 0), None);
    }
}
