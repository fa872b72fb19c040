//! Authentication: from a request's SigV4 signature to the [`Caller`].
//!
//! Access keys are found in three places: temporary keys (`ASIA...`) in the
//! store's sessions, which need their session token; keys declared in the
//! model for its users; keys the twin issued (each account's administrator,
//! `CreateAccessKey`). An unknown key, a wrong token, an inactive key, an
//! expired session and a bad signature get AWS's codes and messages.

use orgtwin_identity::{Caller, Session};

use crate::sigv4::{self, HttpParts, SigV4Error, Signature};
use crate::state::Twin;

/// Why a request was not authenticated, with AWS's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthError {
    pub code: &'static str,
    pub message: String,
    pub status: u16,
}

impl AuthError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        AuthError {
            code,
            message: message.into(),
            status: 403,
        }
    }

    /// The codes JSON-protocol services use for the same failures.
    pub fn json_code(&self) -> &'static str {
        match self.code {
            "SignatureDoesNotMatch" => "InvalidSignatureException",
            "InvalidClientTokenId" => "UnrecognizedClientException",
            "ExpiredToken" => "ExpiredTokenException",
            "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
            "IncompleteSignature" => "IncompleteSignatureException",
            other => other,
        }
    }
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> Self {
        AuthError {
            code: e.code(),
            message: e.to_string(),
            status: e.status(),
        }
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

/// Verifies `signature` and returns the caller.
pub fn authenticate(
    twin: &Twin,
    parts: &HttpParts<'_>,
    signature: &Signature,
) -> Result<Caller, AuthError> {
    authenticate_with_secret(twin, parts, signature).map(|(caller, _)| caller)
}

/// The caller's secret access key, verified: what signed chunks of an S3
/// upload are checked with.
pub struct VerifiedSecret(String);

impl VerifiedSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for VerifiedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("** redacted **")
    }
}

/// Like [`authenticate`], also giving the secret the signature was checked
/// with.
pub fn authenticate_with_secret(
    twin: &Twin,
    parts: &HttpParts<'_>,
    signature: &Signature,
) -> Result<(Caller, VerifiedSecret), AuthError> {
    let key_id = signature.credential.access_key_id.as_str();
    let now = twin.now();
    let (secret, caller) = if key_id.starts_with("ASIA") {
        let cached = match twin.session_cache.get(key_id) {
            Some(cached) => cached,
            None => {
                let stored = twin
                    .store
                    .session(key_id)
                    .map_err(|e| internal(&e))?
                    .ok_or_else(|| AuthError::new("InvalidClientTokenId", INVALID_TOKEN))?;
                let session: Session = serde_json::from_str(&stored.body).map_err(|e| {
                    tracing::error!(access_key_id = key_id, error = %e, "a stored session cannot be read");
                    AuthError::new("InvalidClientTokenId", INVALID_TOKEN)
                })?;
                let cached = std::sync::Arc::new(crate::state::CachedSession { stored, session });
                twin.session_cache
                    .put(key_id, std::sync::Arc::clone(&cached));
                cached
            }
        };
        let Some(token) = &signature.security_token else {
            return Err(AuthError::new("InvalidClientTokenId", INVALID_TOKEN));
        };
        if !cached.stored.token_matches(token) {
            return Err(AuthError::new("InvalidClientTokenId", INVALID_TOKEN));
        }
        if cached.stored.expires_at <= now.seconds() {
            return Err(AuthError::new(
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
        (
            cached.stored.secret.clone(),
            Caller::Session(Box::new(cached.session.clone())),
        )
    } else {
        let model = twin.model();
        if let Some((account, user, key)) = model.user_by_access_key(key_id) {
            if key.status != orgtwin_model::KeyStatus::Active {
                return Err(AuthError::new("InvalidClientTokenId", INVALID_TOKEN));
            }
            let caller = Caller::User {
                account: account.id.clone(),
                name: user.name.clone(),
                arn: user.arn.clone(),
            };
            (key.secret.expose().to_string(), caller)
        } else {
            let key = twin
                .store
                .access_key(key_id)
                .map_err(|e| internal(&e))?
                .filter(|k| k.active)
                .ok_or_else(|| AuthError::new("InvalidClientTokenId", INVALID_TOKEN))?;
            (
                key.secret.clone(),
                Caller::user(&model, &key.account, &key.user_name),
            )
        }
    };
    sigv4::verify(parts, signature, &secret, now)?;
    Ok((caller, VerifiedSecret(secret)))
}

fn internal(e: &orgtwin_store::StoreError) -> AuthError {
    tracing::error!(error = %e, "state lookup failed during authentication");
    AuthError {
        code: "InternalFailure",
        message: "The request processing has failed because of an unknown error.".into(),
        status: 500,
    }
}
