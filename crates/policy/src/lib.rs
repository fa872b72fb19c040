//! orgtwin's IAM policy engine: the policy language as AWS defines it, read
//! with source positions, validated per policy type, and evaluated with the
//! reasons for every decision.
//!
//! The engine is pure: no I/O, no async, no clock. The request time reaches it
//! as context keys the caller sets ([`Context::derive_from_principal`]).
//!
//! ```
//! use orgtwin_policy::{
//!     evaluate, Context, NamedPolicy, Policies, Policy, Principal, Request, ResourcePolicyKind,
//!     Verdict,
//! };
//!
//! let trust = Policy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
//!     "Action": ["sts:AssumeRole", "sts:TagSession"]}}"#).unwrap();
//! let trust = NamedPolicy::new("account-a-role", trust);
//! let caller = Principal::Service("pods.eks.amazonaws.com".into());
//! let context = Context::default();
//! let request = Request {
//!     principal: &caller,
//!     action: "sts:AssumeRole",
//!     resource: "arn:aws:iam::111122223333:role/account-a-role",
//!     resource_account: None,
//!     context: &context,
//! };
//! let policies = Policies {
//!     resource: Some(&trust),
//!     resource_kind: ResourcePolicyKind::Trust,
//!     ..Policies::default()
//! };
//! assert_eq!(evaluate(&request, &policies).decision, Verdict::Allow);
//! ```

pub mod cases;
pub mod condition;
pub mod context;
pub mod error;
pub mod evaluate;
pub mod json;
pub mod pattern;
pub mod policy;
pub mod principal;
pub mod validate;

pub use context::{Context, ContextValue, Timestamp};
pub use error::{ErrorCode, PolicyError};
pub use evaluate::{
    Decision, Explanation, NamedPolicy, OrgLevel, Policies, PolicySource, Request,
    ResourcePolicyKind, StatementRef, Verdict, evaluate,
};
pub use policy::{Effect, Policy, Statement};
pub use principal::Principal;
pub use validate::{PolicyType, validate, validate_source};
