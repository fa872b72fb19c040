//! Kubernetes service account tokens: the RS256 JWTs a cluster's issuer
//! signs and projects into pods, for IRSA (audience `sts.amazonaws.com`) and
//! for EKS Pod Identity (audience `pods.eks.amazonaws.com`).
//!
//! Signing is here so that the twin (and `orgtwin run`, which plays the
//! kubelet) mint tokens the same way STS and EKS Auth then read them. The
//! private key is the caller's: the twin keeps one per cluster in its state.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::web_identity::Jwk;

/// A pod a token is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundObject {
    pub name: String,
    pub uid: String,
}

/// The `kubernetes.io` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesClaims {
    pub namespace: String,
    pub serviceaccount: BoundObject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<BoundObject>,
}

/// The claims of a projected service account token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    pub iss: String,
    /// `system:serviceaccount:NAMESPACE:NAME`.
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubernetesClaims,
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Malformed(String),
    #[error("the token's signature does not verify with the issuer's keys")]
    BadSignature,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

/// Signs `claims` with RS256 under key id `kid`.
pub fn sign(key: &RsaPrivateKey, kid: &str, claims: &TokenClaims) -> Result<String, String> {
    let header = Header {
        alg: "RS256".into(),
        kid: Some(kid.to_string()),
        typ: Some("JWT".into()),
    };
    let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = SigningKey::<Sha256>::new(key.clone())
        .try_sign(signed.as_bytes())
        .map_err(|e| format!("cannot sign the token: {e}"))?;
    Ok(format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// The public half of `key` as a JWK with id `kid`.
pub fn jwk(key: &RsaPublicKey, kid: &str) -> Jwk {
    Jwk {
        kid: Some(kid.to_string()),
        n: key.n().to_bytes_be(),
        e: key.e().to_bytes_be(),
    }
}

/// A JWK as the issuer publishes it in its JWKS document.
pub fn jwk_json(key: &Jwk) -> serde_json::Value {
    serde_json::json!({
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "kid": key.kid,
        "n": URL_SAFE_NO_PAD.encode(&key.n),
        "e": URL_SAFE_NO_PAD.encode(&key.e),
    })
}

/// A token split into its parts, not yet verified.
pub struct Parsed<T> {
    pub kid: Option<String>,
    pub claims: T,
    signed: String,
    signature: Vec<u8>,
}

impl<T> Parsed<T> {
    /// Whether one of `keys` (the one named by `kid`, when the token names
    /// one) verifies the signature.
    pub fn verify(&self, keys: &[Jwk]) -> Result<(), TokenError> {
        let verified = keys
            .iter()
            .filter(|k| self.kid.is_none() || k.kid == self.kid)
            .any(|k| verify_rs256(k, self.signed.as_bytes(), &self.signature));
        if verified {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

/// Splits a JWT and reads its header and claims (as `T`); only RS256 is
/// accepted.
pub fn parse<T: serde::de::DeserializeOwned>(token: &str) -> Result<Parsed<T>, TokenError> {
    let malformed = |what: &str| TokenError::Malformed(what.to_string());
    let mut segments = token.trim().split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed("the token is not a JWT (three base64url parts)"));
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('='));
    let header: Header = decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the token's header cannot be read"))?;
    if header.alg != "RS256" {
        return Err(TokenError::Malformed(format!(
            "the token is signed with `{}`; RS256 is required",
            header.alg
        )));
    }
    let claims: T = decode(claims_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("the token's claims cannot be read"))?;
    let signature =
        decode(signature_b64).map_err(|_| malformed("the token's signature is not base64url"))?;
    Ok(Parsed {
        kid: header.kid,
        claims,
        signed: format!("{header_b64}.{claims_b64}"),
        signature,
    })
}

pub(crate) fn verify_rs256(key: &Jwk, message: &[u8], signature: &[u8]) -> bool {
    let Ok(public) = RsaPublicKey::new(
        BigUint::from_bytes_be(&key.n),
        BigUint::from_bytes_be(&key.e),
    ) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(public)
        .verify(message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    pub(crate) fn claims() -> TokenClaims {
        TokenClaims {
            iss: "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
                .into(),
            sub: "system:serviceaccount:PayrollNamespace:PayrollApplication".into(),
            aud: vec!["pods.eks.amazonaws.com".into()],
            exp: 2_000,
            iat: 1_000,
            nbf: 1_000,
            kubernetes: KubernetesClaims {
                namespace: "PayrollNamespace".into(),
                serviceaccount: BoundObject {
                    name: "PayrollApplication".into(),
                    uid: "sa-uid".into(),
                },
                pod: Some(BoundObject {
                    name: "payroll-0".into(),
                    uid: "pod-uid".into(),
                }),
            },
        }
    }

    #[test]
    fn a_signed_token_reads_back_and_verifies_only_with_its_key() {
        let mut rng = rand::thread_rng();
        let key = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let other = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let token = sign(&key, "k1", &claims()).unwrap();
        let parsed: Parsed<TokenClaims> = parse(&token).unwrap();
        assert_eq!(parsed.claims, claims());
        assert_eq!(parsed.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.verify(&[jwk(&key.to_public_key(), "k1")]), Ok(()));
        assert_eq!(
            parsed.verify(&[jwk(&other.to_public_key(), "k1")]),
            Err(TokenError::BadSignature)
        );
        // A key under another id is not tried.
        assert_eq!(
            parsed.verify(&[jwk(&key.to_public_key(), "k2")]),
            Err(TokenError::BadSignature)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&TokenClaims {
                sub: "system:serviceaccount:PayrollNamespace:admin".into(),
                ..claims()
            })
            .unwrap(),
        );
        parts[1] = &forged;
        let forged: Parsed<TokenClaims> = parse(&parts.join(".")).unwrap();
        assert_eq!(
            forged.verify(&[jwk(&key.to_public_key(), "k1")]),
            Err(TokenError::BadSignature)
        );
        let jwk_json = jwk_json(&jwk(&key.to_public_key(), "k1"));
        assert_eq!(jwk_json["kty"], "RSA");
        assert_eq!(jwk_json["e"], "AQAB");
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        assert!(matches!(
            parse::<TokenClaims>("a.b"),
            Err(TokenError::Malformed(_))
        ));
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap())
        );
        match parse::<TokenClaims>(&none) {
            Err(TokenError::Malformed(m)) => assert!(m.contains("none"), "{m}"),
            _ => unreachable!("`none` must be refused"),
        }
    }
}
