//! The OIDC issuers of the model's clusters, served by the twin: one RSA
//! signing key per cluster, made on first use and kept in the state; the
//! discovery document and JWKS of each; and service account tokens signed
//! with them, as a cluster's API server projects them into pods.
//!
//! A token's `iss` is the cluster's AWS issuer URL
//! (`https://oidc.eks.REGION.amazonaws.com/id/ID`), so that IAM OIDC
//! providers and trust policies written for AWS match unchanged. The twin
//! serves that issuer's documents over loopback HTTP at
//! `/_orgtwin/oidc/oidc.eks.REGION.amazonaws.com/id/ID/...`, not at the
//! https URL (see docs/differences.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use orgtwin_identity::tokens::{jwk, jwk_json, sign};
use orgtwin_identity::{BoundObject, Jwk, KubernetesClaims, TokenClaims};
use orgtwin_model::{Cluster, Model};
use orgtwin_store::{IssuerKey, Store};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};

/// The path under which the twin serves its issuers.
pub const ISSUER_PREFIX: &str = "/_orgtwin/oidc/";

/// Bits of the issuers' RSA keys, as Kubernetes' service account signers.
const KEY_BITS: usize = 2048;

/// An issuer's key, ready to sign and to publish.
pub struct SigningKey {
    pub kid: String,
    pub private: RsaPrivateKey,
    pub public: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The issuers' keys, read from the store once per process.
#[derive(Default)]
pub struct Issuers {
    keys: Mutex<HashMap<String, Arc<SigningKey>>>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Issuers")
    }
}

impl Issuers {
    /// The signing key of `issuer`, made and kept if it has none yet.
    pub fn key(&self, store: &Store, issuer: &str, now: i64) -> Result<Arc<SigningKey>, String> {
        if let Ok(keys) = self.keys.lock()
            && let Some(key) = keys.get(issuer)
        {
            return Ok(Arc::clone(key));
        }
        let kept = match store.issuer_key(issuer).map_err(|e| e.to_string())? {
            Some(kept) => kept,
            None => {
                let made = new_key()?;
                tracing::info!(issuer = %issuer, kid = %made.kid, "made a signing key for an OIDC issuer");
                store
                    .keep_issuer_key(issuer, &made, now)
                    .map_err(|e| e.to_string())?
            }
        };
        let private = RsaPrivateKey::from_pkcs8_der(&kept.private_key_der)
            .map_err(|e| format!("the stored key of {issuer} cannot be read: {e}"))?;
        let key = Arc::new(SigningKey {
            public: jwk(&private.to_public_key(), &kept.kid),
            kid: kept.kid,
            private,
        });
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(issuer.to_string(), Arc::clone(&key));
        }
        Ok(key)
    }
}

fn new_key() -> Result<IssuerKey, String> {
    let mut rng = rand::rngs::OsRng;
    let private = RsaPrivateKey::new(&mut rng, KEY_BITS)
        .map_err(|e| format!("cannot make an RSA key: {e}"))?;
    let der = private
        .to_pkcs8_der()
        .map_err(|e| format!("cannot encode the RSA key: {e}"))?;
    Ok(IssuerKey {
        kid: hex::encode(crate::ids::random_bytes(20)),
        private_key_der: der.as_bytes().to_vec(),
    })
}

/// What a token is for.
#[derive(Clone, Debug)]
pub struct TokenRequest<'a> {
    pub namespace: &'a str,
    pub service_account: &'a str,
    pub audience: &'a str,
    pub lifetime_seconds: i64,
    pub pod_name: &'a str,
    pub pod_uid: &'a str,
}

/// A projected service account token of `cluster`, as its API server would
/// sign it for a pod.
pub fn service_account_token(
    issuers: &Issuers,
    store: &Store,
    cluster: &Cluster,
    request: &TokenRequest<'_>,
    now: i64,
) -> Result<String, String> {
    let key = issuers.key(store, &cluster.issuer(), now)?;
    let service_account_uid = orgtwin_model::naming::derive_uuid(&format!(
        "{}/{}/{}",
        cluster.name, request.namespace, request.service_account
    ));
    let claims = TokenClaims {
        iss: cluster.issuer(),
        sub: format!(
            "system:serviceaccount:{}:{}",
            request.namespace, request.service_account
        ),
        aud: vec![request.audience.to_string()],
        exp: now + request.lifetime_seconds,
        iat: now,
        nbf: now,
        kubernetes: KubernetesClaims {
            namespace: request.namespace.to_string(),
            serviceaccount: BoundObject {
                name: request.service_account.to_string(),
                uid: service_account_uid,
            },
            pod: Some(BoundObject {
                name: request.pod_name.to_string(),
                uid: request.pod_uid.to_string(),
            }),
        },
    };
    sign(&key.private, &key.kid, &claims)
}

/// The issuer's keys for token checks: only the issuers of the model's
/// clusters, whose keys the twin holds; it reaches no other.
pub struct ServedIssuers<'a> {
    pub issuers: &'a Issuers,
    pub store: &'a Store,
    pub model: &'a Model,
    pub now: i64,
}

impl orgtwin_identity::KeySource for ServedIssuers<'_> {
    fn keys(&self, issuer: &str) -> Result<Vec<Jwk>, String> {
        if self.model.cluster_by_issuer(issuer).is_none() {
            return Err(format!(
                "the twin serves no OIDC issuer `{issuer}` and reaches no other"
            ));
        }
        let issuer = format!(
            "https://{}",
            issuer.strip_prefix("https://").unwrap_or(issuer)
        );
        let key = self.issuers.key(self.store, &issuer, self.now)?;
        Ok(vec![key.public.clone()])
    }
}

/// `GET /_orgtwin/oidc/{issuer host and path}/.well-known/openid-configuration`
/// and `.../keys`: the documents of the issuer, or `None` when the path
/// names no cluster's issuer. `base` is the twin's URL as the client
/// reached it.
pub fn document(
    issuers: &Issuers,
    store: &Store,
    model: &Model,
    path: &str,
    base: &str,
    now: i64,
) -> Option<Result<serde_json::Value, String>> {
    let rest = path.strip_prefix(ISSUER_PREFIX)?;
    let (host_path, document) = rest
        .strip_suffix("/.well-known/openid-configuration")
        .map(|h| (h, "discovery"))
        .or_else(|| rest.strip_suffix("/keys").map(|h| (h, "keys")))?;
    let (_, cluster) = model.cluster_by_issuer(host_path)?;
    let jwks_uri = format!("{base}{ISSUER_PREFIX}{}/keys", cluster.issuer_host_path());
    Some(match document {
        "discovery" => Ok(serde_json::json!({
            "issuer": cluster.issuer(),
            "jwks_uri": jwks_uri,
            "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "iss"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })),
        _ => issuers
            .key(store, &cluster.issuer(), now)
            .map(|key| serde_json::json!({"keys": [jwk_json(&key.public)]})),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use orgtwin_identity::KeySource;

    #[test]
    fn tokens_verify_with_the_published_key_and_the_key_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let model = orgtwin_model::embedded();
        let (_, cluster) = model.cluster("ProductionCluster").unwrap();
        let issuers = Issuers::default();
        let request = TokenRequest {
            namespace: "PayrollNamespace",
            service_account: "payroll-irsa",
            audience: "sts.amazonaws.com",
            lifetime_seconds: 600,
            pod_name: "p",
            pod_uid: "u",
        };
        let token = service_account_token(&issuers, &store, cluster, &request, 1_000).unwrap();
        let parsed: orgtwin_identity::tokens::Parsed<TokenClaims> =
            orgtwin_identity::tokens::parse(&token).unwrap();
        assert_eq!(parsed.claims.iss, cluster.issuer());
        assert_eq!(parsed.claims.exp, 1_600);
        let served = ServedIssuers {
            issuers: &issuers,
            store: &store,
            model: &model,
            now: 1_000,
        };
        let keys = served.keys(&cluster.issuer()).unwrap();
        parsed.verify(&keys).unwrap();
        assert!(served.keys("https://example.com").is_err());

        // Another process (a restart) reads the same key from the state.
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let again = Issuers::default();
        let served = ServedIssuers {
            issuers: &again,
            store: &store,
            model: &model,
            now: 2_000,
        };
        parsed
            .verify(&served.keys(&cluster.issuer()).unwrap())
            .unwrap();

        let path = format!(
            "{ISSUER_PREFIX}{}/.well-known/openid-configuration",
            cluster.issuer_host_path()
        );
        let discovery = document(&again, &store, &model, &path, "http://127.0.0.1:1", 0)
            .unwrap()
            .unwrap();
        assert_eq!(discovery["issuer"], cluster.issuer().as_str());
        assert!(
            discovery["jwks_uri"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:1/_orgtwin/oidc/oidc.eks.us-east-1")
        );
        let keys_path = format!("{ISSUER_PREFIX}{}/keys", cluster.issuer_host_path());
        let jwks = document(&again, &store, &model, &keys_path, "", 0)
            .unwrap()
            .unwrap();
        assert_eq!(
            jwks["keys"][0]["kid"],
            keys[0].kid.clone().unwrap().as_str()
        );
        assert!(document(&again, &store, &model, "/_orgtwin/oidc/x/keys", "", 0).is_none());
    }
}
