//! Authorizing one action of one caller: gathering every policy that decides
//! it from the model (identity policies, boundary, session policy, SCPs of
//! the caller's account, RCPs of the resource's account, the resource's own
//! policy) and asking the engine.

use orgtwin_model::Model;
use orgtwin_policy::{
    Context, Decision, NamedPolicy, Policies, Request, ResourcePolicyKind, Timestamp, evaluate,
};

use crate::caller::Caller;

/// The resource's own policy, when it has one.
#[derive(Clone, Copy, Debug)]
pub struct ResourcePolicy<'a> {
    pub policy: &'a NamedPolicy,
    pub kind: ResourcePolicyKind,
}

/// A decision, and what it was about.
#[derive(Clone, Debug)]
pub struct Authorization {
    pub caller_arn: String,
    pub action: String,
    pub resource: String,
    pub decision: Decision,
}

impl Authorization {
    pub fn allowed(&self) -> bool {
        self.decision.is_allowed()
    }
}

/// What is asked: an action on a resource, with what the request itself
/// sets in the context (`aws:RequestTag/...`, `sts:ExternalId`).
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    /// For ARNs without an account (S3).
    pub resource_account: Option<&'a str>,
    pub resource_policy: Option<ResourcePolicy<'a>>,
    pub context: &'a Context,
}

impl<'a> Ask<'a> {
    /// An action on a resource with no resource policy and no request keys.
    pub fn new(action: &'a str, resource: &'a str, context: &'a Context) -> Self {
        Ask {
            action,
            resource,
            resource_account: None,
            resource_policy: None,
            context,
        }
    }
}

/// Decides `ask` for `caller`; the caller's context keys are added here.
pub fn authorize(model: &Model, caller: &Caller, ask: &Ask<'_>, now: Timestamp) -> Authorization {
    let Ask {
        action,
        resource,
        resource_account,
        resource_policy,
        context: request_context,
    } = *ask;
    let principal = caller.principal();
    let mut context = caller.context(model, now);
    for (key, value) in request_context.iter() {
        match value {
            orgtwin_policy::ContextValue::Single(v) => context.insert(key, v.clone()),
            orgtwin_policy::ContextValue::Multi(vs) => context.insert_multi(key, vs.clone()),
        }
    }
    // An action on `*`, or on an AWS managed policy (`arn:aws:iam::aws:...`),
    // happens in the caller's own account.
    let resource_account = resource_account
        .or_else(|| orgtwin_policy::evaluate::arn_account(resource).filter(|a| *a != "aws"))
        .unwrap_or(caller.account())
        .to_string();
    let resource_account = Some(resource_account);
    if let Some(account) = &resource_account {
        context.insert("aws:ResourceAccount", account.clone());
        if model.account(account).is_some() {
            context.insert("aws:ResourceOrgID", model.organization.id.clone());
        }
    }
    let policies = caller.policies(model);
    let caller_levels = model.org_levels(caller.account());
    let resource_levels = resource_account
        .as_deref()
        .map(|a| model.org_levels(a))
        .unwrap_or_default();
    let request = Request {
        principal: &principal,
        action,
        resource,
        resource_account: resource_account.as_deref(),
        context: &context,
    };
    let engine_policies = Policies {
        identity: &policies.identity,
        resource: resource_policy.map(|r| r.policy),
        resource_kind: resource_policy.map(|r| r.kind).unwrap_or_default(),
        boundary: policies.boundary.as_ref(),
        session: policies.session.as_ref(),
        scps: Some(&caller_levels.scps),
        rcps: Some(&resource_levels.rcps),
        management_account: Some(&model.organization.management_account),
    };
    Authorization {
        caller_arn: caller.arn(),
        action: action.to_string(),
        resource: resource.to_string(),
        decision: evaluate(&request, &engine_policies),
    }
}
