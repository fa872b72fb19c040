//! The identity plane: who a caller is, what a session carries, and the STS
//! rules, over the organization model, with every decision made by the
//! policy engine.
//!
//! The exchanges: `AssumeRole` and `GetSessionToken` (`sts`),
//! `AssumeRoleWithWebIdentity` (`web_identity`, IRSA) and EKS Auth's
//! `AssumeRoleForPodIdentity` (`pod_identity`), over service account tokens
//! (`tokens`).
//!
//! The twin server's handlers and (later) the analyzer call these functions,
//! so the two never disagree. Nothing here does I/O or reads a clock: the
//! request time and the generator of ids and secrets are arguments.

pub mod authorize;
pub mod caller;
pub mod pod_identity;
pub mod sts;
pub mod tokens;
pub mod web_identity;

pub use authorize::{Ask, Authorization, ResourcePolicy, authorize};
pub use caller::{Caller, Session, SessionKind, SessionTag};
pub use pod_identity::{
    EksAuthError, Pod, PodIdentityIssued, assume_role_for_pod_identity, pod_identity_session,
};
pub use sts::{
    AssumeRoleRequest, Credentials, IdSource, Issued, StsError, assume_role, get_session_token,
};
pub use tokens::{BoundObject, KubernetesClaims, TokenClaims};
pub use web_identity::{
    Jwk, KeySource, TokenIdentity, WebIdentityIssued, WebIdentityRequest,
    assume_role_with_web_identity, web_identity_session,
};
