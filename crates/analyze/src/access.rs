//! Access to resources over the reachability of [`crate::reach`]: who can
//! perform an action on a resource and by which path (`who-can`), what a
//! workload reaches (`paths`), one decision explained (`can`), and every
//! access of the model as a set (what `diff` compares).
//!
//! The last hop is decided by [`orgtwin_identity::authorize`] for the
//! session the path ends in, with the resource's own policy (a bucket
//! policy) and the RCPs of its account: the same call the twin makes. It
//! is asked only for the sessions some `Allow` could let act on the bucket
//! (`crate::buckets`), which never leaves out one the engine would allow.
//! `grants` takes the starting points on all cores.

use std::collections::{BTreeSet, HashMap, HashSet};

use orgtwin_identity::{Ask, Caller, ResourcePolicy, authorize};
use orgtwin_model::Model;
use orgtwin_policy::{Context, Decision, NamedPolicy, ResourcePolicyKind};
use serde::Serialize;

use crate::buckets::{Buckets, Holder};
use crate::reach::{Analysis, Hop, Start, allowed_by, caller_label};

/// The S3 actions `paths` and `diff` look at, with whether each is on the
/// bucket or on its objects.
pub const S3_ACTIONS: [(&str, bool); 4] = [
    ("s3:ListBucket", false),
    ("s3:GetObject", true),
    ("s3:PutObject", true),
    ("s3:DeleteObject", true),
];

/// One way in: the starting point, the hops, and the last one.
#[derive(Clone, Debug, Serialize)]
pub struct Access {
    pub start: Start,
    /// Every hop, the action on the resource last.
    pub path: Vec<Hop>,
}

/// The resource policy that decides with the caller's side, for resources
/// the model holds: a bucket's policy for its bucket and objects.
fn resource_policy(model: &Model, resource: &str) -> (Option<NamedPolicy>, Option<String>) {
    let Some(rest) = resource.strip_prefix("arn:aws:s3:::") else {
        return (None, None);
    };
    let bucket = rest.split('/').next().unwrap_or_default();
    match model.bucket(bucket) {
        Some((owner, b)) => (
            b.policy
                .as_ref()
                .map(|p| p.named(&format!("{} bucket policy", b.name))),
            Some(owner.to_string()),
        ),
        None => (None, None),
    }
}

/// The decision for `caller` to perform `action` on `resource`. Assuming a
/// role of the model is decided by STS's `AssumeRole` itself (the trust
/// policy, the session's tags, chaining), the rest by `authorize` with the
/// resource's policy.
pub fn decide(
    model: &Model,
    caller: &Caller,
    action: &str,
    resource: &str,
    now: orgtwin_policy::Timestamp,
) -> Decision {
    if action.eq_ignore_ascii_case("sts:AssumeRole") && model.role_by_arn(resource).is_some() {
        return assume_decision(model, caller, resource, now);
    }
    let (policy, owner) = resource_policy(model, resource);
    let context = Context::default();
    let ask = Ask {
        action,
        resource,
        resource_account: owner.as_deref(),
        resource_policy: policy.as_ref().map(|p| ResourcePolicy {
            policy: p,
            kind: ResourcePolicyKind::Resource,
        }),
        context: &context,
    };
    authorize(model, caller, &ask, now).decision
}

/// [`decide`] for a resource in a bucket of the model, its owner and policy
/// looked up in the index: the same question to the engine.
fn decide_in_bucket(
    model: &Model,
    buckets: &Buckets<'_>,
    caller: &Caller,
    (action, resource, bucket): (&str, &str, usize),
    now: orgtwin_policy::Timestamp,
) -> Decision {
    let entry = buckets.entries.get(bucket);
    let context = Context::default();
    let ask = Ask {
        action,
        resource,
        resource_account: entry.map(|e| e.owner),
        resource_policy: entry
            .and_then(|e| e.policy.as_ref())
            .map(|p| ResourcePolicy {
                policy: p,
                kind: ResourcePolicyKind::Resource,
            }),
        context: &context,
    };
    authorize(model, caller, &ask, now).decision
}

fn assume_decision(
    model: &Model,
    caller: &Caller,
    role_arn: &str,
    now: orgtwin_policy::Timestamp,
) -> Decision {
    let request = orgtwin_identity::AssumeRoleRequest {
        role_arn: role_arn.to_string(),
        role_session_name: "orgtwin-analyze".into(),
        ..orgtwin_identity::AssumeRoleRequest::default()
    };
    let mut ids = crate::reach::Counter(0);
    match orgtwin_identity::assume_role(model, caller, &request, now, &mut ids) {
        Ok(issued) => issued
            .authorizations
            .last()
            .map(|a| a.decision.clone())
            .unwrap_or_else(|| denied("STS gave no decision")),
        Err(e) => match e.authorizations().last() {
            Some(last) => last.decision.clone(),
            None => denied(&format!("{}: {e}", e.code())),
        },
    }
}

/// A denial for a refusal that came before any policy was evaluated.
fn denied(reason: &str) -> Decision {
    Decision {
        decision: orgtwin_policy::Verdict::ImplicitDeny,
        explanation: orgtwin_policy::Explanation {
            errors: vec![reason.to_string()],
            ..orgtwin_policy::Explanation::default()
        },
    }
}

fn is_role_action(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    lower.starts_with("sts:assumerole")
}

/// Every starting point that can perform `action` on `resource`, each with
/// its shortest path.
pub fn who_can(model: &Model, analysis: &Analysis, action: &str, resource: &str) -> Vec<Access> {
    let mut out = Vec::new();
    let buckets = Buckets::new(model);
    let bucket = buckets.bucket_of(resource);
    let mut holders: HashMap<usize, Holder> = HashMap::new();
    for (start, reached) in analysis.starts.iter().zip(&analysis.reached) {
        if is_role_action(action) {
            // Getting the role's session is the access; the path says how.
            if let Some(r) = reached.iter().find(|r| {
                analysis
                    .nodes
                    .get(r.node)
                    .and_then(Caller::session)
                    .is_some_and(|s| s.identity_arn == resource)
            }) {
                out.push(Access {
                    start: start.clone(),
                    path: r.path.clone(),
                });
            }
            continue;
        }
        // `reached` is in breadth-first order: the first that may is the
        // shortest way. In a bucket of the model, only the sessions some
        // policy could allow are asked.
        for r in reached {
            let Some(caller) = analysis.nodes.get(r.node) else {
                continue;
            };
            let decision = match bucket {
                Some(bucket) => {
                    let holder = holders
                        .entry(r.node)
                        .or_insert_with(|| buckets.holder(model, caller));
                    if !buckets.could(holder, action, resource, bucket) {
                        continue;
                    }
                    decide_in_bucket(
                        model,
                        &buckets,
                        caller,
                        (action, resource, bucket),
                        analysis.now,
                    )
                }
                None => decide(model, caller, action, resource, analysis.now),
            };
            if decision.is_allowed() {
                let mut path = r.path.clone();
                path.push(Hop {
                    principal: caller_label(caller),
                    action: action.to_string(),
                    target: resource.to_string(),
                    allowed_by: allowed_by(&decision),
                });
                out.push(Access {
                    start: start.clone(),
                    path,
                });
                break;
            }
        }
    }
    out
}

/// An access as `diff` compares them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    pub start: String,
    pub action: String,
    pub resource: String,
}

/// The resources the model holds that `paths` and `diff` look at: every
/// role (to assume), and every bucket and its objects (the seed objects by
/// name, and any other object as `BUCKET/*`).
pub fn resources(model: &Model) -> Vec<(String, String)> {
    Buckets::new(model)
        .resources
        .into_iter()
        .map(|r| (r.action.to_string(), r.arn))
        .collect()
}

/// Everything a starting point can do, with the path of each: the roles
/// it gets and the bucket actions those sessions allow.
pub fn accesses_of(model: &Model, analysis: &Analysis, start: usize) -> Vec<Access> {
    let buckets = Buckets::new(model);
    let holders: HashMap<usize, Holder> = analysis
        .reached
        .get(start)
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r.node, buckets.holder(model, analysis.nodes.get(r.node)?))))
        .collect();
    accesses_in(model, analysis, start, &buckets, &|node| holders.get(&node))
}

/// [`accesses_of`] with the index built and each node's [`Holder`] at hand.
///
/// The sessions are taken in breadth-first order, and each asks about the
/// resources of the buckets it could act on that no earlier session was
/// allowed: for every resource, the first session allowed is the one the
/// shortest path ends in, as when each resource asks the sessions in turn.
/// The accesses come out in the order of [`resources`].
fn accesses_in<'h>(
    model: &Model,
    analysis: &Analysis,
    start: usize,
    buckets: &Buckets<'_>,
    holder_of: &dyn Fn(usize) -> Option<&'h Holder>,
) -> Vec<Access> {
    let (Some(origin), Some(reached)) = (analysis.starts.get(start), analysis.reached.get(start))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for r in reached {
        if !r.path.is_empty() {
            out.push(Access {
                start: origin.clone(),
                path: r.path.clone(),
            });
        }
    }
    let mut found: Vec<(usize, Access)> = Vec::new();
    let mut granted: HashSet<usize> = HashSet::new();
    for r in reached {
        let (Some(caller), Some(holder)) = (analysis.nodes.get(r.node), holder_of(r.node)) else {
            continue;
        };
        for &bucket in &holder.buckets {
            let Some(entry) = buckets.entries.get(bucket) else {
                continue;
            };
            for index in entry.resources.clone() {
                let Some(resource) = buckets.resources.get(index) else {
                    continue;
                };
                let asked = (resource.action, resource.arn.as_str(), resource.bucket);
                if granted.contains(&index) || !buckets.could(holder, asked.0, asked.1, bucket) {
                    continue;
                }
                let decision = decide_in_bucket(model, buckets, caller, asked, analysis.now);
                if decision.is_allowed() {
                    granted.insert(index);
                    let mut path = r.path.clone();
                    path.push(Hop {
                        principal: caller_label(caller),
                        action: resource.action.to_string(),
                        target: resource.arn.clone(),
                        allowed_by: allowed_by(&decision),
                    });
                    found.push((
                        index,
                        Access {
                            start: origin.clone(),
                            path,
                        },
                    ));
                }
            }
        }
    }
    found.sort_by_key(|(index, _)| *index);
    out.extend(found.into_iter().map(|(_, access)| access));
    out
}

/// The grant an access amounts to: a role got counts as `sts:AssumeRole`
/// on it, whatever the hop's own action.
pub fn grant_of(access: &Access) -> Option<Grant> {
    let last = access.path.last()?;
    let action = if last.action.starts_with("s3:") {
        last.action.clone()
    } else {
        "sts:AssumeRole".to_string()
    };
    Some(Grant {
        start: access.start.label(),
        action,
        resource: last.target.clone(),
    })
}

/// Every access of the model: for each starting point, the roles it gets
/// and the bucket actions it may take, each with its shortest path.
pub fn all_accesses(model: &Model, analysis: &Analysis) -> Vec<Access> {
    each_start(model, analysis, |accesses| accesses)
}

/// Every access of the model as a set, as `diff` compares them.
pub fn grants(model: &Model, analysis: &Analysis) -> BTreeSet<Grant> {
    each_start(model, analysis, |accesses| {
        accesses.iter().filter_map(grant_of).collect()
    })
    .into_iter()
    .collect()
}

/// The accesses of every starting point, each start's turned into `keep`,
/// in start order. The starts are shared out among the machine's cores in
/// small batches; every batch's result goes back in its place, so the
/// result does not depend on which thread took which.
fn each_start<T: Send>(
    model: &Model,
    analysis: &Analysis,
    keep: impl Fn(Vec<Access>) -> Vec<T> + Sync,
) -> Vec<T> {
    const BATCH: usize = 64;
    let buckets = Buckets::new(model);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let holders: Vec<Holder> = crate::parallel::map(&analysis.nodes, threads, |caller| {
        buckets.holder(model, caller)
    });
    let batches = analysis.starts.len().div_ceil(BATCH);
    let done = crate::parallel::run(batches, threads, |batch| {
        let first = batch * BATCH;
        let last = (first + BATCH).min(analysis.starts.len());
        (first..last)
            .flat_map(|start| {
                keep(accesses_in(model, analysis, start, &buckets, &|node| {
                    holders.get(node)
                }))
            })
            .collect::<Vec<T>>()
    });
    done.into_iter().flatten().collect()
}

/// What going from `old` to `new` adds (with the new paths) and removes.
pub fn diff(old: &Model, new: &Model, now: orgtwin_policy::Timestamp) -> crate::render::Change {
    let before = grants(old, &crate::reach::analyze(old, now));
    let after_analysis = crate::reach::analyze(new, now);
    let after_accesses = all_accesses(new, &after_analysis);
    let after: BTreeSet<Grant> = after_accesses.iter().filter_map(grant_of).collect();
    let mut added = Vec::new();
    let mut shown = BTreeSet::new();
    for access in after_accesses {
        if let Some(grant) = grant_of(&access)
            && !before.contains(&grant)
            && shown.insert(grant)
        {
            added.push(access);
        }
    }
    crate::render::Change {
        added,
        removed: before.difference(&after).cloned().collect(),
    }
}
