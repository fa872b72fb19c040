//! Findings about declared paths that break: each Pod Identity association
//! and each IRSA service account walked through the identity plane's own
//! code, and each role that trusts a Pod Identity role (or its account)
//! tried with the pod's session.
//!
//! - An association: [`pod_identity_session`], as EKS Auth in the twin. A
//!   refusal of the first hop is `association-role-untrusting`; of the
//!   target hop, `scp-blocks-path` (an SCP or RCP denied),
//!   `chain-missing-tag-session` (`sts:TagSession` refused),
//!   `target-role-untrusting` (the target's trust did not admit the role)
//!   or `pod-role-cannot-assume-target` (the role's identity policies do not
//!   allow it).
//! - A chain by hand: from the session of an association without a target
//!   role, [`assume_role`] into every role whose trust names the session's
//!   account or role (with each external id the trust asks for). A hop the
//!   trust refuses is no finding (the trust may mean to refuse that pod, as
//!   the example's traps do); a hop whose `sts:AssumeRole` passes but whose
//!   `sts:TagSession` does not is `chain-missing-tag-session`, and a hop the
//!   trust admits but an SCP or RCP denies is `scp-blocks-path`.
//! - An IRSA service account without an association (Pod Identity wins):
//!   see `irsa`.
//! - The packed size of the six pod tags, for a pod name of Kubernetes'
//!   longest (253 characters), by the twin's measure
//!   ([`orgtwin_identity::sts::PACKED_BUDGET`]): `session-tags-too-large`.

use std::collections::HashMap;

use orgtwin_identity::pod_identity::POD_TAGS;
use orgtwin_identity::sts::PACKED_BUDGET;
use orgtwin_identity::{
    AssumeRoleRequest, Authorization, Caller, EksAuthError, Pod, Session, StsError, assume_role,
    pod_identity_session,
};
use orgtwin_model::eks::POD_IDENTITY_PRINCIPAL;
use orgtwin_model::{Cluster, Model, PodIdentityAssociation, Role, ServiceAccount};
use orgtwin_policy::policy::Statement;
use orgtwin_policy::principal::PrincipalEntry;
use orgtwin_policy::{Effect, PolicySource, ResourcePolicyKind, StatementRef, Timestamp};

use super::{Finding, Owner, Severity, document_place, label, org_policy_arn, place_of};
use crate::reach::Counter;

/// The longest pod name Kubernetes accepts (a DNS subdomain).
const LONGEST_POD_NAME: usize = 253;
/// A pod's uid: a UUID.
const POD_UID_LENGTH: usize = 36;

/// One path to walk.
enum Job<'m> {
    Association(Path<'m>),
    Irsa(&'m Cluster, &'m ServiceAccount),
}

pub(super) fn check(model: &Model, now: Timestamp, out: &mut Vec<Finding>) {
    let trusts = TrustIndex::new(model);
    let mut jobs = Vec::new();
    for (account, cluster) in model.clusters() {
        for association in &cluster.pod_identity_associations {
            jobs.push(Job::Association(Path {
                model,
                trusts: &trusts,
                account,
                cluster,
                association,
            }));
        }
        for service_account in &cluster.service_accounts {
            let associated = cluster
                .association_for(&service_account.namespace, &service_account.name)
                .is_some();
            if !associated {
                jobs.push(Job::Irsa(cluster, service_account));
            }
        }
    }
    // Each job names its sessions with its own counter: the same names,
    // whichever thread takes it.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let found = crate::parallel::map(&jobs, threads, |job| {
        let mut found = Vec::new();
        let mut ids = Counter(0);
        match job {
            Job::Association(path) => {
                path.packed_size(&mut found);
                path.walk(now, &mut ids, &mut found);
            }
            Job::Irsa(cluster, service_account) => {
                super::irsa::walk(model, cluster, service_account, now, &mut ids, &mut found);
            }
        }
        found
    });
    out.extend(found.into_iter().flatten());
}

/// The roles whose trust names an account (as its root, or one of its
/// roles), by that account.
struct TrustIndex<'m> {
    by_account: HashMap<&'m str, Vec<&'m Role>>,
}

impl<'m> TrustIndex<'m> {
    fn new(model: &'m Model) -> Self {
        let mut by_account: HashMap<&'m str, Vec<&'m Role>> = HashMap::new();
        for account in model.accounts.values() {
            for role in &account.iam.roles {
                let mut named: Vec<&'m str> = allowed_entries(role)
                    .filter_map(|entry| match entry {
                        PrincipalEntry::Account(a) | PrincipalEntry::Role { account: a, .. } => {
                            Some(a.as_str())
                        }
                        _ => None,
                    })
                    .collect();
                named.sort_unstable();
                named.dedup();
                for trusted in named {
                    by_account.entry(trusted).or_default().push(role);
                }
            }
        }
        TrustIndex { by_account }
    }

    fn naming(&self, account: &str) -> impl Iterator<Item = &&'m Role> {
        self.by_account.get(account).into_iter().flatten()
    }
}

/// The principals the `Allow` statements of a role's trust name.
fn allowed_entries(role: &Role) -> impl Iterator<Item = &PrincipalEntry> {
    role.trust_policy
        .policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .filter_map(|s| s.principal.as_ref().filter(|p| !p.negated))
        .flat_map(|p| p.entries.iter().map(|e| &e.value))
}

/// Why a hop was refused, from its decision.
pub(super) enum Refusal<'d> {
    /// An SCP or RCP denied.
    Organization(&'d StatementRef),
    TagSession,
    /// The trust did not admit the caller (or denied it).
    Trust,
    /// The trust admitted, the caller's own policies did not allow.
    Identity,
}

pub(super) fn refusal(authorization: &Authorization) -> Refusal<'_> {
    let explanation = &authorization.decision.explanation;
    let organization = explanation.denied_by.iter().find(|s| {
        matches!(
            s.source,
            PolicySource::Scp { .. } | PolicySource::Rcp { .. }
        )
    });
    if let Some(statement) = organization {
        return Refusal::Organization(statement);
    }
    if authorization.action.eq_ignore_ascii_case("sts:TagSession") {
        return Refusal::TagSession;
    }
    let trust = PolicySource::Resource(ResourcePolicyKind::Trust);
    let trust_denies = explanation.denied_by.iter().any(|s| s.source == trust);
    if trust_denies || !admitted_by_trust(authorization) {
        Refusal::Trust
    } else {
        Refusal::Identity
    }
}

fn admitted_by_trust(authorization: &Authorization) -> bool {
    let trust = PolicySource::Resource(ResourcePolicyKind::Trust);
    authorization
        .decision
        .explanation
        .allowed_by
        .iter()
        .any(|s| s.source == trust)
}

fn allowed_by(authorization: &Authorization, source: &PolicySource) -> Option<StatementRef> {
    authorization
        .decision
        .explanation
        .allowed_by
        .iter()
        .find(|s| s.source == *source)
        .cloned()
}

fn owner_of(session: &Session) -> Owner<'_> {
    Owner::Role {
        account: &session.account,
        name: &session.name,
    }
}

/// One association's path.
struct Path<'m> {
    model: &'m Model,
    trusts: &'m TrustIndex<'m>,
    account: &'m str,
    cluster: &'m Cluster,
    association: &'m PodIdentityAssociation,
}

impl Path<'_> {
    fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.cluster.name, self.association.namespace, self.association.service_account
        )
    }

    fn arn(&self) -> String {
        self.association.arn(self.cluster, self.account)
    }

    fn packed_size(&self, out: &mut Vec<Finding>) {
        if self.association.disable_session_tags {
            return;
        }
        let values = [
            self.cluster.arn(self.account).len(),
            self.cluster.name.len(),
            self.association.namespace.len(),
            self.association.service_account.len(),
            LONGEST_POD_NAME,
            POD_UID_LENGTH,
        ];
        let percent = packed_percent(POD_TAGS.iter().map(|k| k.len()).zip(values));
        if percent <= 100 {
            return;
        }
        out.push(Finding {
            id: "session-tags-too-large",
            severity: Severity::Medium,
            title: format!(
                "`{}`'s session tags can take {percent}% of STS's packed size",
                self.label()
            ),
            subject: self.arn(),
            place: None,
            why: format!(
                "EKS Pod Identity tags the session with the cluster's ARN and name, the \
                 namespace, the service account, and the pod's name and uid. With a pod name \
                 of Kubernetes' longest, they take {percent}% of the {PACKED_BUDGET}-byte \
                 budget STS shares between session tags and policies: EKS Auth's \
                 `AssumeRole` fails with `PackedPolicyTooLarge`."
            ),
            fix: "Shorten the cluster, namespace or service account names, keep pod names \
                  short, or set `disable_session_tags: true` on the association (and pin \
                  the target's trust with the association's external id instead)."
                .to_string(),
        });
    }

    fn walk(&self, now: Timestamp, ids: &mut Counter, out: &mut Vec<Finding>) {
        let pod = Pod {
            cluster: self.cluster.name.clone(),
            namespace: self.association.namespace.clone(),
            service_account: self.association.service_account.clone(),
            pod_name: format!("{}-pod", self.association.service_account),
            pod_uid: "00000000-0000-0000-0000-000000000000".into(),
        };
        match pod_identity_session(self.model, &pod, now, ids) {
            Ok(issued) if self.association.target_role_arn.is_none() => {
                self.chains(issued.issued.session, now, ids, out);
            }
            Ok(_) => {}
            Err(EksAuthError::AccessDenied {
                message,
                authorizations,
            }) => self.refused(&message, &authorizations, out),
            Err(_) => {}
        }
    }

    /// EKS Auth refused: which hop, and why.
    fn refused(&self, message: &str, authorizations: &[Authorization], out: &mut Vec<Finding>) {
        let role_arn = &self.association.role_arn;
        let role = self.model.role_by_arn(role_arn);
        let Some(last) = authorizations.last() else {
            out.push(self.untrusting(role_arn, role, "sts:AssumeRole", None, message));
            return;
        };
        if last.allowed() {
            // Every decision allowed: STS refused the target hop for
            // another reason (its message says which).
            if !message.contains("PackedPolicyTooLarge") {
                out.push(self.refused_otherwise(message));
            }
            return;
        }
        if last.caller_arn == POD_IDENTITY_PRINCIPAL {
            // The statement that denied, else the one that let
            // `sts:AssumeRole` through (where `sts:TagSession` belongs),
            // else the trust policy.
            let trust = PolicySource::Resource(ResourcePolicyKind::Trust);
            let statement = last
                .decision
                .explanation
                .denied_by
                .first()
                .cloned()
                .or_else(|| authorizations.iter().find_map(|a| allowed_by(a, &trust)));
            let place = role.and_then(|r| {
                statement
                    .and_then(|s| place_of(self.model, &s, None, Some(&r.trust_policy)))
                    .or_else(|| document_place(&r.trust_policy))
            });
            out.push(self.untrusting(role_arn, role, &last.action, place, message));
            return;
        }
        let target_arn = last.resource.as_str();
        let target = self.model.role_by_arn(target_arn);
        let first = role.map(|r| Owner::Role {
            account: self.account,
            name: &r.name,
        });
        let finding = match refusal(last) {
            Refusal::Organization(statement) => self.blocked(statement, last, target),
            Refusal::TagSession => {
                match tag_session_missing(self.model, &self.label(), authorizations, first, target)
                {
                    Some(finding) => finding,
                    None => return,
                }
            }
            Refusal::Trust => Finding {
                id: "target-role-untrusting",
                severity: Severity::Medium,
                title: format!(
                    "the target role `{target_arn}` of `{}` does not trust `{role_arn}`",
                    self.label()
                ),
                subject: target_arn.to_string(),
                place: target.and_then(|t| document_place(&t.trust_policy)),
                why: format!(
                    "EKS assumes the association's role, then the target role with that \
                     session (`{}` on `{target_arn}`), passing the pod's tags on; no \
                     statement of the target's trust admits it, so the pod gets no \
                     credentials. STS said: {message}",
                    last.action
                ),
                fix: format!(
                    "Add a statement to the trust of `{target_arn}` allowing `{role_arn}` \
                     `sts:AssumeRole` and `sts:TagSession`, with exact conditions on \
                     `aws:RequestTag/eks-cluster-arn` and `aws:RequestTag/kubernetes-namespace`."
                ),
            },
            Refusal::Identity => Finding {
                id: "pod-role-cannot-assume-target",
                severity: Severity::Medium,
                title: format!(
                    "`{role_arn}` may not `{}` its target `{target_arn}` (`{}`)",
                    last.action,
                    self.label()
                ),
                subject: role_arn.clone(),
                place: None,
                why: format!(
                    "The target's trust admits `{role_arn}`, but across accounts the caller's \
                     own policies must allow too, and none of `{role_arn}`'s identity \
                     policies allows `{}` on `{target_arn}` (or a boundary or SCP level has \
                     no allow). STS said: {message}",
                    last.action
                ),
                fix: format!(
                    "Give `{role_arn}` an identity policy statement allowing `sts:AssumeRole` \
                     and `sts:TagSession` on `{target_arn}`."
                ),
            },
        };
        out.push(finding);
    }

    fn untrusting(
        &self,
        role_arn: &str,
        role: Option<&Role>,
        action: &str,
        place: Option<orgtwin_model::Place>,
        message: &str,
    ) -> Finding {
        let reason = match role {
            None => format!("`{role_arn}` is not a role of the model."),
            Some(_) => format!(
                "Its trust does not allow `{POD_IDENTITY_PRINCIPAL}` `{action}`: EKS Auth \
                 refuses the pod (\"{message}\")."
            ),
        };
        Finding {
            id: "association-role-untrusting",
            severity: Severity::Medium,
            title: format!(
                "the role `{role_arn}` of `{}` does not trust Pod Identity for `{action}`",
                self.label()
            ),
            subject: role_arn.to_string(),
            place,
            why: format!(
                "EKS Pod Identity assumes the association's role as the service principal \
                 `{POD_IDENTITY_PRINCIPAL}` and tags the session with the pod's six tags, \
                 which is `sts:TagSession`. {reason}"
            ),
            fix: format!(
                "Trust `{{\"Service\": \"{POD_IDENTITY_PRINCIPAL}\"}}` for `sts:AssumeRole` and \
                 `sts:TagSession` in the role's trust policy."
            ),
        }
    }

    fn refused_otherwise(&self, message: &str) -> Finding {
        Finding {
            id: "association-refused",
            severity: Severity::Medium,
            title: format!("EKS Auth refuses `{}`", self.label()),
            subject: self.arn(),
            place: None,
            why: format!("Every policy allowed the association's hops, but STS refused: {message}"),
            fix: "Fix what the message names in the association or its roles.".to_string(),
        }
    }

    fn blocked(
        &self,
        statement: &StatementRef,
        authorization: &Authorization,
        target: Option<&Role>,
    ) -> Finding {
        blocked(
            self.model,
            &self.label(),
            statement,
            authorization,
            target.map(|t| &t.trust_policy),
        )
    }

    /// Every role that trusts the session's account or role, tried.
    fn chains(&self, session: Session, now: Timestamp, ids: &mut Counter, out: &mut Vec<Finding>) {
        let caller = Caller::Session(Box::new(session));
        let Some(session) = caller.session() else {
            return;
        };
        for role in self.trusts.naming(&session.account) {
            if role.arn == session.identity_arn || !could_admit(self.model, role, session) {
                continue;
            }
            let Some(denied) = try_assume(self.model, &caller, role, now, ids) else {
                continue;
            };
            let Some(last) = denied.last() else { continue };
            let first = Some(owner_of(session));
            let same_account = role.arn.contains(&format!(":{}:", session.account));
            match refusal(last) {
                // Declared: the trust admits the session and its role's own
                // policies allow the hop (or need not, in one account).
                Refusal::Organization(statement)
                    if admitted_by_trust(last)
                        && (same_account
                            || allowed_by(last, &PolicySource::Identity).is_some()) =>
                {
                    out.push(self.blocked(statement, last, Some(role)));
                }
                Refusal::TagSession => out.extend(tag_session_missing(
                    self.model,
                    &self.label(),
                    &denied,
                    first,
                    Some(role),
                )),
                _ => {}
            }
        }
    }
}

/// Whether some `Allow` of the trust names the session's account or role
/// and could admit it: one that requires, with a plain `StringEquals`, a
/// session tag value the session does not carry cannot. (Only a trust that
/// admits can make a finding, so this skips none.)
fn could_admit(model: &Model, role: &Role, session: &Session) -> bool {
    let role_tags = model
        .role(&session.account, &session.name)
        .map_or(&[][..], |r| r.tags.as_slice());
    let tag = |key: &str, request: bool| {
        let carried = session
            .tags
            .iter()
            .find(|t| t.key.eq_ignore_ascii_case(key) && (!request || t.transitive))
            .map(|t| t.value.as_str());
        if request {
            return carried;
        }
        carried.or_else(|| {
            role_tags
                .iter()
                .find(|t| t.key.eq_ignore_ascii_case(key))
                .map(|t| t.value.as_str())
        })
    };
    role.trust_policy
        .policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow && names(s, session))
        .any(|statement| {
            statement.conditions.iter().all(|condition| {
                let c = &condition.value;
                let plain = c.operator.name == "StringEquals"
                    && !c.raw_values.iter().any(|v| v.contains("${"));
                let key = c
                    .key_lower
                    .strip_prefix("aws:principaltag/")
                    .map(|k| (k, false))
                    .or_else(|| {
                        c.key_lower
                            .strip_prefix("aws:requesttag/")
                            .map(|k| (k, true))
                    });
                match key {
                    Some((key, request)) if plain => tag(key, request)
                        .is_some_and(|value| c.raw_values.iter().any(|r| r == value)),
                    _ => true,
                }
            })
        })
}

/// Whether a trust statement names the session's account or its role.
fn names(statement: &Statement, session: &Session) -> bool {
    statement
        .principal
        .iter()
        .filter(|p| !p.negated)
        .flat_map(|p| p.entries.iter())
        .any(|entry| match &entry.value {
            PrincipalEntry::Account(account) => *account == session.account,
            PrincipalEntry::Role { account, name, .. } => {
                *account == session.account && *name == session.name
            }
            _ => false,
        })
}

/// `AssumeRole` into `role`, without an external id and then with each the
/// trust asks for; the refusal that got furthest, or `None` when allowed.
fn try_assume(
    model: &Model,
    caller: &Caller,
    role: &Role,
    now: Timestamp,
    ids: &mut Counter,
) -> Option<Vec<Authorization>> {
    let mut external_ids: Vec<String> = role
        .trust_policy
        .policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .flat_map(|s| s.conditions.iter())
        .filter(|c| {
            c.value.key_lower == "sts:externalid" && c.value.operator.name == "StringEquals"
        })
        .flat_map(|c| c.value.raw_values.iter().cloned())
        .collect();
    external_ids.sort();
    external_ids.dedup();
    let mut furthest: Option<Vec<Authorization>> = None;
    for external_id in std::iter::once(None).chain(external_ids.into_iter().map(Some)) {
        let request = AssumeRoleRequest {
            role_arn: role.arn.clone(),
            role_session_name: "orgtwin-findings".into(),
            external_id,
            ..AssumeRoleRequest::default()
        };
        match assume_role(model, caller, &request, now, ids) {
            Ok(_) => return None,
            Err(StsError::AccessDenied { authorizations, .. }) => {
                let further = furthest
                    .as_ref()
                    .is_none_or(|f| authorizations.len() > f.len());
                if further {
                    furthest = Some(authorizations);
                }
            }
            Err(_) => {}
        }
    }
    furthest
}

pub(super) fn blocked(
    model: &Model,
    who: &str,
    statement: &StatementRef,
    authorization: &Authorization,
    trust: Option<&orgtwin_model::Document>,
) -> Finding {
    let kind = match statement.source {
        PolicySource::Rcp { .. } => "RCP",
        _ => "SCP",
    };
    Finding {
        id: "scp-blocks-path",
        severity: Severity::Medium,
        title: format!(
            "{kind} `{}` denies `{}` on `{}` to `{who}`",
            statement.policy, authorization.action, authorization.resource
        ),
        subject: org_policy_arn(model, statement),
        place: place_of(model, statement, None, trust),
        why: format!(
            "`{who}` is declared to reach `{}` (its association, annotation or the role's \
             trust says so), but {} denies the hop's `{}`: the pod gets no credentials for it.",
            authorization.resource,
            label(statement),
            authorization.action
        ),
        fix: format!(
            "Exempt this path in {kind} `{}` (a condition on `aws:PrincipalArn` or the \
             session's tags), or remove the declaration if the path is not meant to work.",
            statement.policy
        ),
    }
}

/// A hop whose `sts:AssumeRole` passed and whose `sts:TagSession` did not
/// (the last of `authorizations`).
fn tag_session_missing(
    model: &Model,
    who: &str,
    authorizations: &[Authorization],
    caller: Option<Owner<'_>>,
    target: Option<&Role>,
) -> Option<Finding> {
    let tag_session = authorizations.last()?;
    let target_arn = tag_session.resource.as_str();
    let assume = authorizations
        .iter()
        .rev()
        .find(|a| a.allowed() && a.action.eq_ignore_ascii_case("sts:AssumeRole"));
    let trust = PolicySource::Resource(ResourcePolicyKind::Trust);
    let identity = PolicySource::Identity;
    let trust_allows = admitted_by_trust(tag_session);
    let identity_allows = allowed_by(tag_session, &identity).is_some();
    let cross_account = caller.is_some_and(|owner| {
        let (Owner::Role { account, .. } | Owner::User { account, .. }) = owner;
        !target_arn.contains(&format!(":{account}:"))
    });
    let mut sides = Vec::new();
    if !trust_allows {
        sides.push(format!("the trust of `{target_arn}`"));
    }
    if trust_allows || (!identity_allows && cross_account) {
        sides.push("the calling role's identity policies".to_string());
    }
    // Where the statements that let `sts:AssumeRole` through are: the one
    // to add `sts:TagSession` to.
    let place = if trust_allows {
        assume
            .and_then(|a| allowed_by(a, &identity))
            .and_then(|s| place_of(model, &s, caller, None))
    } else {
        let trust_document = target.map(|t| &t.trust_policy);
        assume
            .and_then(|a| allowed_by(a, &trust))
            .and_then(|s| place_of(model, &s, None, trust_document))
            .or_else(|| trust_document.and_then(document_place))
    };
    let verb = if sides.len() == 1 && !trust_allows {
        "does"
    } else {
        "do"
    };
    let fix = match (trust_allows, sides.len()) {
        (false, 1) => "Add `sts:TagSession` beside `sts:AssumeRole` in the target's trust \
                       statement that admits the pod's role."
            .to_string(),
        (true, _) => "Add `sts:TagSession` beside `sts:AssumeRole` in the calling role's \
                      identity policy statement on the target."
            .to_string(),
        _ => "Add `sts:TagSession` beside `sts:AssumeRole` in the target's trust statement \
              and in the calling role's identity policy statement."
            .to_string(),
    };
    Some(Finding {
        id: "chain-missing-tag-session",
        severity: Severity::Medium,
        title: format!(
            "`{target_arn}` cannot be assumed with `{who}`'s session tags: {} {verb} not allow \
             `sts:TagSession`",
            sides.join(" and ")
        ),
        subject: target_arn.to_string(),
        place,
        why: format!(
            "EKS Pod Identity's six session tags are transitive: every `AssumeRole` after \
             it passes them on, and passing tags is `sts:TagSession`, which the target's \
             trust and (across accounts) the caller's identity policy must both allow. \
             `sts:AssumeRole` on `{target_arn}` passes for `{who}`, `sts:TagSession` does \
             not, so the chain breaks here."
        ),
        fix,
    })
}

/// The packed size, in percent of [`PACKED_BUDGET`], of tags of these key
/// and value lengths, measured as the twin's STS measures it.
fn packed_percent(tags: impl Iterator<Item = (usize, usize)>) -> u64 {
    let bytes: usize = tags.map(|(key, value)| key + value + 4).sum();
    let percent = bytes.saturating_mul(100).div_ceil(PACKED_BUDGET);
    u64::try_from(percent).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_size_is_measured_as_sts_measures_it() {
        assert_eq!(packed_percent([(10, 10)].into_iter()), 2);
        let long = POD_TAGS.iter().map(|k| (k.len(), 400));
        assert!(packed_percent(long) > 100);
    }
}
