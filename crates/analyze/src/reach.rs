//! Reachability: from every Kubernetes service account and every IAM user
//! of the model, the role sessions it can get, hop by hop, each hop decided
//! by the identity plane exactly as the twin decides it.
//!
//! - A service account with a Pod Identity association gets what EKS Auth
//!   hands out ([`pod_identity_session`]: the association's role, with the
//!   pod's six transitive tags, then its target role); otherwise, with an IRSA
//!   annotation, what `AssumeRoleWithWebIdentity` gives for its token
//!   ([`web_identity_session`]: `sub` `system:serviceaccount:NS:SA`, the
//!   annotation's audience, the cluster's issuer). Pod Identity wins, as in
//!   EKS.
//! - From every session (and user), `sts:AssumeRole` into every role whose
//!   trust could admit it, decided by [`assume_role`] with the session's real
//!   tags (transitive ones passed on, `sts:TagSession` required), its chained
//!   state and its source identity: the context that would really be there.
//!
//! A role's trust is only asked when it could allow: a trust none of whose
//! `Allow` statements names the caller (its account, role, ARN or `*`, by
//! the engine's own principal matching), covers `sts:AssumeRole`, and
//! requires (with `StringEquals`) only session tag values the session
//! carries, cannot, so it is skipped unasked. Roles are looked up by the
//! accounts their trusts name. That pruning never skips a role the engine
//! would let in; the engine decides every hop that is taken. A caller picks the `sts:ExternalId` it
//! passes, so a hop is tried with each external id the trust asks for (an
//! external id guards against confused deputies; it is not a secret).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use orgtwin_identity::{
    AssumeRoleRequest, Caller, IdSource, Pod, Session, TokenIdentity, WebIdentityRequest,
    assume_role, pod_identity_session, web_identity_session,
};
use orgtwin_model::{Cluster, Model, Role};
use orgtwin_policy::policy::Statement;
use orgtwin_policy::principal::PrincipalKind;
use orgtwin_policy::{Context, Decision, Principal, Timestamp};
use serde::Serialize;

use crate::buckets::{could_match, could_name};

/// Most `sts:AssumeRole` hops followed from one starting point.
pub const MAX_HOPS: usize = 6;

/// Where access starts: a workload's pods, or an IAM user's keys.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Start {
    Workload {
        cluster: String,
        namespace: String,
        service_account: String,
    },
    User {
        arn: String,
    },
}

impl Start {
    /// `CLUSTER/NAMESPACE/SERVICEACCOUNT`, or the user's ARN.
    pub fn label(&self) -> String {
        match self {
            Start::Workload {
                cluster,
                namespace,
                service_account,
            } => format!("{cluster}/{namespace}/{service_account}"),
            Start::User { arn } => arn.clone(),
        }
    }
}

/// One hop: who did what to get which session, and the statements that
/// allowed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The principal that acted: the pod (as the service principal or its
    /// token's provider), a session, a user.
    pub principal: String,
    /// `eks-auth:AssumeRoleForPodIdentity`, `sts:AssumeRoleWithWebIdentity`,
    /// `sts:AssumeRole`, or the action a last hop asks about.
    pub action: String,
    /// The role (or resource) reached.
    pub target: String,
    /// The statements that allowed it, as `trust policy NAME (Sid)`.
    pub allowed_by: Vec<String>,
}

/// A session a starting point can get, and the shortest way to it.
#[derive(Clone, Debug)]
pub struct Reached {
    pub node: usize,
    pub path: Vec<Hop>,
}

/// Why a starting point got nothing (a broken path), as the service said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub start: Start,
    pub action: String,
    pub target: String,
    pub code: String,
    pub message: String,
}

/// Every starting point, every session reached, and how.
#[derive(Debug)]
pub struct Analysis {
    pub starts: Vec<Start>,
    /// The callers reached, shared between starting points.
    pub nodes: Vec<Caller>,
    /// For each start (same index), what it reaches.
    pub reached: Vec<Vec<Reached>>,
    pub refusals: Vec<Refusal>,
    pub now: Timestamp,
    /// Hops decided by the engine: each start's way into its cluster's
    /// account (EKS Auth, or STS for a web identity), and each
    /// `sts:AssumeRole` tried (for the benchmark's figures).
    pub decisions: u64,
}

/// Names sessions and keys without randomness: the analysis is
/// deterministic, and its credentials are never used.
pub(crate) struct Counter(pub(crate) u64);

impl IdSource for Counter {
    fn access_key_id(&mut self, prefix: &str) -> String {
        self.0 += 1;
        format!("{prefix}{:016}", self.0)
    }
    fn secret_access_key(&mut self) -> String {
        String::new()
    }
    fn session_token(&mut self) -> String {
        String::new()
    }
}

/// The statements of a decision that allowed it (SCPs, which only ever
/// let through, left out).
pub fn allowed_by(decision: &Decision) -> Vec<String> {
    statements(std::iter::once(decision))
}

/// The allowing statements of several decisions (one hop's `sts:AssumeRole`
/// and `sts:TagSession`), each once.
fn statements<'d>(decisions: impl Iterator<Item = &'d Decision>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for decision in decisions {
        for s in &decision.explanation.allowed_by {
            if matches!(s.source, orgtwin_policy::PolicySource::Scp { .. }) {
                continue;
            }
            let label = match &s.sid {
                Some(sid) => format!("{} ({sid})", s.policy_label()),
                None => format!("{} (statement {})", s.policy_label(), s.index),
            };
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

/// A caller's identity for dedupe: the same role with the same tags,
/// source identity, session policy and chaining is the same node.
fn node_key(caller: &Caller) -> String {
    match caller {
        Caller::User { account, name, .. } => format!("user:{account}:{name}"),
        Caller::Session(s) => {
            let mut tags: Vec<String> = s
                .tags
                .iter()
                .map(|t| {
                    format!(
                        "{}={}{}",
                        t.key,
                        t.value,
                        if t.transitive { "*" } else { "" }
                    )
                })
                .collect();
            tags.sort();
            format!(
                "session:{}|{}|{:?}|{:?}|{}",
                s.identity_arn,
                tags.join(","),
                s.source_identity,
                s.session_policy,
                s.chained
            )
        }
    }
}

/// The ARN the caller acts as, in paths.
pub fn caller_label(caller: &Caller) -> String {
    match caller {
        Caller::User { .. } => caller.arn(),
        Caller::Session(s) => s.identity_arn.clone(),
    }
}

/// Roles by the accounts their trust policies could admit principals of;
/// roles whose trust admits any account (a wildcard) are in `anyone`.
struct TrustIndex<'m> {
    by_account: HashMap<String, Vec<(&'m str, &'m Role)>>,
    anyone: Vec<(&'m str, &'m Role)>,
}

impl<'m> TrustIndex<'m> {
    fn new(model: &'m Model) -> Self {
        let mut index = TrustIndex {
            by_account: HashMap::new(),
            anyone: Vec::new(),
        };
        for account in model.accounts.values() {
            for role in &account.iam.roles {
                let mut accounts = BTreeSet::new();
                let mut wildcard = false;
                for statement in allows(&role.trust_policy.policy.statements) {
                    let Some(block) = &statement.principal else {
                        continue;
                    };
                    if block.negated {
                        wildcard = true;
                        continue;
                    }
                    for (kind, value) in &block.written {
                        if *kind != PrincipalKind::Aws {
                            continue;
                        }
                        match principal_account(value) {
                            Some(id) if !id.contains(['*', '?']) => {
                                accounts.insert(id.to_string());
                            }
                            _ => wildcard = true,
                        }
                    }
                }
                if wildcard {
                    index.anyone.push((account.id.as_str(), role));
                }
                for id in accounts {
                    index
                        .by_account
                        .entry(id)
                        .or_default()
                        .push((account.id.as_str(), role));
                }
            }
        }
        index
    }

    fn candidates(&self, account: &str) -> impl Iterator<Item = &(&'m str, &'m Role)> {
        self.by_account
            .get(account)
            .into_iter()
            .flatten()
            .chain(self.anyone.iter())
    }
}

fn allows(statements: &[Statement]) -> impl Iterator<Item = &Statement> {
    statements
        .iter()
        .filter(|s| s.effect == orgtwin_policy::Effect::Allow)
}

/// The account an `AWS` principal names: `ACCT`, `arn:aws:iam::ACCT:...`,
/// `arn:aws:sts::ACCT:...`; `None` for `*`.
fn principal_account(value: &str) -> Option<&str> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value);
    }
    let rest = value
        .strip_prefix("arn:aws:iam::")
        .or_else(|| value.strip_prefix("arn:aws:sts::"))?;
    rest.split(':').next().filter(|a| !a.is_empty())
}

/// The value of session tag `key` the next hop's trust would see, as a
/// principal tag or (inherited transitive tags) as a request tag.
fn tag_value<'s>(
    session: &'s Session,
    role_tags: &'s [orgtwin_model::Tag],
    key: &str,
    request: bool,
) -> Option<&'s str> {
    let from_session = session
        .tags
        .iter()
        .find(|t| t.key.eq_ignore_ascii_case(key) && (!request || t.transitive))
        .map(|t| t.value.as_str());
    if request {
        return from_session;
    }
    from_session.or_else(|| {
        role_tags
            .iter()
            .find(|t| t.key.eq_ignore_ascii_case(key))
            .map(|t| t.value.as_str())
    })
}

/// What [`could_admit`] needs of a caller, computed once per node.
struct Candidate<'c> {
    principal: Principal,
    session: Option<&'c Session>,
    /// The tags of the session's role (principal tags under its session tags).
    role_tags: &'c [orgtwin_model::Tag],
}

impl<'c> Candidate<'c> {
    fn new(model: &'c Model, caller: &'c Caller) -> Self {
        let session = caller.session();
        Candidate {
            principal: caller.principal(),
            session,
            role_tags: session
                .and_then(|s| model.role(&s.account, &s.name))
                .map_or(&[][..], |r| r.tags.as_slice()),
        }
    }
}

/// Whether some `Allow` of the trust could admit the caller: one whose
/// `Principal` names it (the engine's own matching; `NotPrincipal` counts
/// as naming anyone), whose `Action` covers `sts:AssumeRole`, and which does
/// not require, with a plain `StringEquals`, a tag value the caller does not
/// carry.
fn could_admit(caller: &Candidate<'_>, role: &Role) -> bool {
    let empty = Context::default();
    allows(&role.trust_policy.policy.statements).any(|statement| {
        could_name(statement, &caller.principal)
            && could_match(statement.action.as_ref(), |p| {
                p.matches("sts:AssumeRole", &empty, true)
            })
            && statement.conditions.iter().all(|condition| {
                let c = &condition.value;
                let plain = c.operator.name == "StringEquals"
                    && !c.raw_values.iter().any(|v| v.contains("${"));
                if !plain {
                    return true;
                }
                let (key, request) = if let Some(k) = c.key_lower.strip_prefix("aws:principaltag/")
                {
                    (k, false)
                } else if let Some(k) = c.key_lower.strip_prefix("aws:requesttag/") {
                    (k, true)
                } else {
                    return true;
                };
                let value = match caller.session {
                    Some(s) => tag_value(s, caller.role_tags, key, request),
                    None => None,
                };
                value.is_some_and(|v| c.raw_values.iter().any(|r| r == v))
            })
    })
}

/// The external ids a role's trust asks for with `StringEquals`.
fn external_ids(role: &Role) -> Vec<String> {
    let mut out = BTreeSet::new();
    for statement in allows(&role.trust_policy.policy.statements) {
        for condition in &statement.conditions {
            let c = &condition.value;
            if c.key_lower == "sts:externalid" && c.operator.name == "StringEquals" {
                out.extend(c.raw_values.iter().cloned());
            }
        }
    }
    out.into_iter().collect()
}

/// Every starting point of the model: each service account of each
/// cluster, then each IAM user.
pub fn starts(model: &Model) -> Vec<Start> {
    let mut out = Vec::new();
    for (_, cluster) in model.clusters() {
        for sa in &cluster.service_accounts {
            out.push(Start::Workload {
                cluster: cluster.name.clone(),
                namespace: sa.namespace.clone(),
                service_account: sa.name.clone(),
            });
        }
    }
    for account in model.accounts.values() {
        for user in &account.iam.users {
            out.push(Start::User {
                arn: user.arn.clone(),
            });
        }
    }
    out
}

/// The session a workload's pods get, and the hops to it; `Ok(None)` when
/// its service account has neither an association nor an IRSA annotation.
fn entry(
    model: &Model,
    clusters: &HashMap<&str, &Cluster>,
    start: &Start,
    now: Timestamp,
    ids: &mut Counter,
) -> Result<Option<(Caller, Vec<Hop>)>, Box<Refusal>> {
    let Start::Workload {
        cluster,
        namespace,
        service_account,
    } = start
    else {
        let Start::User { arn } = start else {
            return Ok(None);
        };
        let user = model.accounts.values().find_map(|a| {
            a.iam
                .users
                .iter()
                .find(|u| &u.arn == arn)
                .map(|u| (a.id.clone(), u.name.clone()))
        });
        return Ok(user.map(|(account, name)| (Caller::user(model, &account, &name), Vec::new())));
    };
    let Some(found) = clusters.get(cluster.as_str()).copied() else {
        return Ok(None);
    };
    let pod_name = format!("{service_account}-pod");
    if found.association_for(namespace, service_account).is_some() {
        let pod = Pod {
            cluster: cluster.clone(),
            namespace: namespace.clone(),
            service_account: service_account.clone(),
            pod_name,
            pod_uid: "00000000-0000-0000-0000-000000000000".into(),
        };
        return match pod_identity_session(model, &pod, now, ids) {
            Ok(issued) => {
                let path = vec![Hop {
                    principal: orgtwin_model::eks::POD_IDENTITY_PRINCIPAL.into(),
                    action: "eks-auth:AssumeRoleForPodIdentity".into(),
                    target: issued.issued.session.identity_arn.clone(),
                    allowed_by: statements(issued.authorizations.iter().map(|a| &a.decision)),
                }];
                Ok(Some((
                    Caller::Session(Box::new(issued.issued.session)),
                    path,
                )))
            }
            Err(e) => Err(Box::new(Refusal {
                start: start.clone(),
                action: "eks-auth:AssumeRoleForPodIdentity".into(),
                target: found
                    .association_for(namespace, service_account)
                    .map(|a| a.role_arn.clone())
                    .unwrap_or_default(),
                code: e.code().into(),
                message: e.to_string(),
            })),
        };
    }
    let Some(irsa) = found
        .service_account(namespace, service_account)
        .and_then(|sa| sa.irsa())
    else {
        return Ok(None);
    };
    let request = WebIdentityRequest {
        role_arn: irsa.role_arn.clone(),
        role_session_name: "orgtwin-analyze".into(),
        ..WebIdentityRequest::default()
    };
    let identity = TokenIdentity {
        issuer: found.issuer(),
        subject: format!("system:serviceaccount:{namespace}:{service_account}"),
        audiences: vec![irsa.audience.clone()],
        amr: Vec::new(),
    };
    match web_identity_session(model, &request, &identity, now, ids) {
        Ok(issued) => {
            let path = vec![Hop {
                principal: issued
                    .issued
                    .session
                    .context
                    .iter()
                    .find(|(k, _)| k == "aws:FederatedProvider")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                action: "sts:AssumeRoleWithWebIdentity".into(),
                target: issued.issued.session.identity_arn.clone(),
                allowed_by: statements(issued.issued.authorizations.iter().map(|a| &a.decision)),
            }];
            Ok(Some((
                Caller::Session(Box::new(issued.issued.session)),
                path,
            )))
        }
        Err(e) => Err(Box::new(Refusal {
            start: start.clone(),
            action: "sts:AssumeRoleWithWebIdentity".into(),
            target: irsa.role_arn,
            code: e.code().into(),
            message: e.to_string(),
        })),
    }
}

/// Computes what every starting point reaches.
///
/// Every start's way in is decided first, each independently (with its own
/// id counter), on all cores. Then every start walks breadth-first, all
/// together in waves: a walk goes on while the nodes at the front of its
/// queue have their onward hops, and otherwise waits; the nodes the waiting
/// walks need get their onward hops, decided on all cores and interned in
/// the order they were asked for; and so on until no walk waits. Each node's
/// onward hops are decided once and shared by every start that reaches it.
/// The result does not depend on the number of threads.
pub fn analyze(model: &Model, now: Timestamp) -> Analysis {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let index = TrustIndex::new(model);
    let starts = starts(model);
    // Cluster names are unique in the model.
    let clusters: HashMap<&str, &Cluster> = model
        .clusters()
        .map(|(_, c)| (c.name.as_str(), c))
        .collect();
    let entries = crate::parallel::map(&starts, threads, |start| {
        entry(model, &clusters, start, now, &mut Counter(0))
    });
    let mut analysis = Analysis {
        starts,
        nodes: Vec::new(),
        reached: Vec::new(),
        refusals: Vec::new(),
        now,
        decisions: 0,
    };
    let mut keys: HashMap<String, usize> = HashMap::new();
    let mut walks = Vec::with_capacity(entries.len());
    for entered in entries {
        if entered
            .as_ref()
            .map_or(true, |e| e.as_ref().is_some_and(|(_, p)| !p.is_empty()))
        {
            analysis.decisions += 1;
        }
        walks.push(match entered {
            Ok(Some((caller, path))) => {
                Walk::new(intern(&mut analysis.nodes, &mut keys, caller), path)
            }
            Ok(None) => Walk::default(),
            Err(refusal) => {
                analysis.refusals.push(*refusal);
                Walk::default()
            }
        });
    }
    let mut onward: Vec<Option<Vec<(usize, Hop)>>> = Vec::new();
    loop {
        let mut wanted = Vec::new();
        let mut asked = HashSet::new();
        for walk in &mut walks {
            walk.go(&onward, &mut wanted, &mut asked);
        }
        if wanted.is_empty() {
            break;
        }
        let decided =
            crate::parallel::map(&wanted, threads, |&node| match analysis.nodes.get(node) {
                Some(caller) => hops_from(model, &index, caller, now),
                None => (Vec::new(), 0),
            });
        for (node, (hops, decisions)) in wanted.into_iter().zip(decided) {
            analysis.decisions += decisions;
            let hops = hops
                .into_iter()
                .map(|(caller, hop)| (intern(&mut analysis.nodes, &mut keys, caller), hop))
                .collect();
            if onward.len() <= node {
                onward.resize_with(node + 1, || None);
            }
            if let Some(slot) = onward.get_mut(node) {
                *slot = Some(hops);
            }
        }
    }
    analysis.reached = walks.into_iter().map(|w| w.reached).collect();
    analysis
}

/// One start's breadth-first walk.
#[derive(Default)]
struct Walk {
    queue: VecDeque<(usize, Vec<Hop>)>,
    seen: HashSet<usize>,
    reached: Vec<Reached>,
}

impl Walk {
    fn new(node: usize, path: Vec<Hop>) -> Self {
        Walk {
            queue: VecDeque::from([(node, path)]),
            seen: HashSet::from([node]),
            reached: Vec::new(),
        }
    }

    /// Walks on while the front of the queue has its onward hops; then asks
    /// for those of every node in the queue that lacks them, and waits.
    fn go(
        &mut self,
        onward: &[Option<Vec<(usize, Hop)>>],
        wanted: &mut Vec<usize>,
        asked: &mut HashSet<usize>,
    ) {
        let known = |node: usize| onward.get(node).and_then(Option::as_ref);
        while let Some((node, path)) = self.queue.front() {
            let last = assume_role_hops(path) >= MAX_HOPS;
            let hops = known(*node);
            if !last && hops.is_none() {
                for (node, path) in &self.queue {
                    if assume_role_hops(path) < MAX_HOPS
                        && known(*node).is_none()
                        && asked.insert(*node)
                    {
                        wanted.push(*node);
                    }
                }
                return;
            }
            let Some((node, path)) = self.queue.pop_front() else {
                return;
            };
            if !last {
                for (to, hop) in hops.into_iter().flatten() {
                    if self.seen.insert(*to) {
                        let mut longer = path.clone();
                        longer.push(hop.clone());
                        self.queue.push_back((*to, longer));
                    }
                }
            }
            self.reached.push(Reached { node, path });
        }
    }
}

fn assume_role_hops(path: &[Hop]) -> usize {
    path.iter().filter(|h| h.action == "sts:AssumeRole").count()
}

fn intern(nodes: &mut Vec<Caller>, keys: &mut HashMap<String, usize>, caller: Caller) -> usize {
    let key = node_key(&caller);
    if let Some(&found) = keys.get(&key) {
        return found;
    }
    nodes.push(caller);
    let id = nodes.len() - 1;
    keys.insert(key, id);
    id
}

/// The roles a caller can assume, decided by STS's `AssumeRole`, with the
/// sessions it gets; and how many decisions that took.
fn hops_from(
    model: &Model,
    index: &TrustIndex<'_>,
    caller: &Caller,
    now: Timestamp,
) -> (Vec<(Caller, Hop)>, u64) {
    let mut out = Vec::new();
    let mut decisions = 0;
    let mut ids = Counter(0);
    let candidate = Candidate::new(model, caller);
    for (_, role) in index.candidates(caller.account()) {
        if !could_admit(&candidate, role) {
            continue;
        }
        // The caller chooses the external id it passes: without one, then
        // with each the trust asks for (an external id is not a secret).
        let mut tried = None;
        for external_id in std::iter::once(None).chain(external_ids(role).into_iter().map(Some)) {
            let request = AssumeRoleRequest {
                role_arn: role.arn.clone(),
                role_session_name: "orgtwin-analyze".into(),
                external_id,
                ..AssumeRoleRequest::default()
            };
            decisions += 1;
            if let Ok(issued) = assume_role(model, caller, &request, now, &mut ids) {
                tried = Some(issued);
                break;
            }
        }
        if let Some(issued) = tried {
            let hop = Hop {
                principal: caller_label(caller),
                action: "sts:AssumeRole".into(),
                target: role.arn.clone(),
                allowed_by: statements(issued.authorizations.iter().map(|a| &a.decision)),
            };
            out.push((Caller::Session(Box::new(issued.session)), hop));
        }
    }
    (out, decisions)
}
