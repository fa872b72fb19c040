//! Findings about what principals may do: a Pod Identity role that chains
//! into other accounts and may do more, and every principal that may set
//! the tags Pod Identity sets.
//!
//! **Chaining roles.** A role trusted by `pods.eks.amazonaws.com` (or named
//! by an association) whose identity policies allow `sts:AssumeRole` on a
//! role of another account is the common first hop of a chain. Every
//! statement it has beyond `sts:AssumeRole` and `sts:TagSession` (by the
//! actions written: `sts:*`, `*` and `NotAction` are broader), and
//! `sts:AssumeRole` on `*`, is reported.
//!
//! **Forging pod tags.** Each user, and each role as a fresh session of it,
//! is asked by [`authorize`] (its identity policies, boundary, and its
//! account's SCPs) whether it may `iam:TagRole`, `iam:UntagRole`,
//! `iam:CreateRole` (tag on create) on its account's roles, and the same for
//! users, with `aws:TagKeys` (and `aws:RequestTag/KEY`) one of
//! `kubernetes-namespace`, `kubernetes-service-account` and
//! `eks-cluster-arn`. Only principals whose identity policies name one of
//! those actions (IAM has no resource policies, so no other principal can
//! be allowed) are asked. When one may, the same request is asked for a
//! principal of the same kind and account that is not in the model: an SCP
//! that denies that one exempts this one by name or tag (`tag-admin`, low);
//! otherwise nothing stops it (`can-forge-pod-tags`, critical), which is
//! always so in the management account, where SCPs do not apply.

use std::collections::BTreeSet;

use orgtwin_identity::{Ask, Authorization, Caller, Session, authorize};
use orgtwin_model::eks::POD_IDENTITY_PRINCIPAL;
use orgtwin_model::{Document, Model, Role};
use orgtwin_policy::principal::PrincipalKind;
use orgtwin_policy::{Context, Effect, PolicySource, Timestamp};

use super::trusts::allows_action;
use super::{Finding, Owner, Severity, label, place_of, statement_place};

pub(super) fn check(model: &Model, now: Timestamp, out: &mut Vec<Finding>) {
    chaining_roles(model, out);
    forgers(model, now, out);
}

fn is_chaining_action(item: &str) -> bool {
    item.eq_ignore_ascii_case("sts:AssumeRole") || item.eq_ignore_ascii_case("sts:TagSession")
}

/// The account of an ARN pattern, `None` when any account could match.
fn resource_account(resource: &str) -> Option<&str> {
    let account = resource.split(':').nth(4)?;
    (!account.is_empty() && !account.contains(['*', '?'])).then_some(account)
}

/// The role's identity policies, with the documents they were read from.
fn role_documents<'m>(model: &'m Model, role: &'m Role) -> Vec<(String, &'m Document)> {
    let inline = role
        .inline_policies
        .iter()
        .map(|p| (p.name.clone(), &p.document));
    let managed = role
        .managed_policies
        .iter()
        .filter_map(|arn| Some((arn.clone(), &model.managed_policy(arn)?.document)));
    inline.chain(managed).collect()
}

fn chaining_roles(model: &Model, out: &mut Vec<Finding>) {
    let association_roles: BTreeSet<&str> = model
        .clusters()
        .flat_map(|(_, c)| c.pod_identity_associations.iter())
        .map(|a| a.role_arn.as_str())
        .collect();
    for account in model.accounts.values() {
        for role in &account.iam.roles {
            let trusted_by_pods = role.trust_policy.policy.statements.iter().any(|s| {
                s.effect == Effect::Allow
                    && s.principal.iter().filter(|p| !p.negated).any(|p| {
                        p.written.iter().any(|(kind, value)| {
                            *kind == PrincipalKind::Service && value == POD_IDENTITY_PRINCIPAL
                        })
                    })
            });
            if !trusted_by_pods && !association_roles.contains(role.arn.as_str()) {
                continue;
            }
            chaining_role(&account.id, role, &role_documents(model, role), out);
        }
    }
}

fn chaining_role(
    account: &str,
    role: &Role,
    documents: &[(String, &Document)],
    out: &mut Vec<Finding>,
) {
    let allows = || {
        documents.iter().flat_map(|(name, document)| {
            document
                .policy
                .statements
                .iter()
                .enumerate()
                .filter(|(_, s)| s.effect == Effect::Allow)
                .map(move |(position, s)| (name, *document, position, s))
        })
    };
    // Chains: names `sts:AssumeRole` (not through `*` alone) on a role of
    // another account, or on any.
    let chains = allows().any(|(_, _, _, s)| {
        let names_assume = s
            .action
            .as_ref()
            .is_some_and(|a| !a.negated && a.items.iter().any(|i| i.value != "*"))
            && allows_action(s, "sts:assumerole");
        let elsewhere = s.resource.as_ref().is_some_and(|r| {
            r.negated
                || r.items
                    .iter()
                    .any(|i| resource_account(&i.value) != Some(account))
        });
        names_assume && elsewhere
    });
    if !chains {
        return;
    }
    let mut broader: Vec<String> = Vec::new();
    let mut place = None;
    let mut any_role = false;
    for (name, document, position, s) in allows() {
        let Some(actions) = &s.action else { continue };
        let extra: Vec<String> = if actions.negated {
            vec![format!(
                "everything but {}",
                actions
                    .items
                    .iter()
                    .map(|i| format!("`{}`", i.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        } else {
            actions
                .items
                .iter()
                .filter(|i| !is_chaining_action(&i.value))
                .map(|i| format!("`{}`", i.value))
                .collect()
        };
        let on_any_role = allows_action(s, "sts:assumerole")
            && s.resource
                .as_ref()
                .is_some_and(|r| !r.negated && r.items.iter().any(|i| i.value == "*"));
        if extra.is_empty() && !on_any_role {
            continue;
        }
        if place.is_none() {
            place = statement_place(document, position);
        }
        let statement = match &s.sid {
            Some(sid) => format!("{name} ({sid})"),
            None => format!("{name} (statement {})", s.index),
        };
        if !extra.is_empty() {
            broader.push(format!("{} in {statement}", extra.join(", ")));
        }
        if on_any_role {
            any_role = true;
            broader.push(format!("`sts:AssumeRole` on `*` in {statement}"));
        }
    }
    if broader.is_empty() {
        return;
    }
    let mut why = format!(
        "`{}` is the first hop of a role chain: EKS Pod Identity gives it to pods, and it \
         assumes roles in other accounts. With ABAC it is shared by every workload of the \
         cluster, so whatever else it may do, every pod that gets it may do too, tags or \
         not. It also allows: {}.",
        role.name,
        broader.join("; ")
    );
    if any_role {
        why.push_str(
            " On `*`, it may assume any role whose trust admits its account: every trust of \
             the cluster account's root becomes reachable from every pod.",
        );
    }
    out.push(Finding {
        id: "chaining-role-too-broad",
        severity: Severity::High,
        title: format!(
            "the chaining role `{}` may do more than `sts:AssumeRole` and `sts:TagSession` on its targets",
            role.name
        ),
        subject: role.arn.clone(),
        place,
        why,
        fix: "Leave the role one statement: `sts:AssumeRole` and `sts:TagSession` on the ARNs \
              of the workload roles it chains into. Give other permissions to those roles, \
              or to a role of a Pod Identity association of its own."
            .to_string(),
    });
}

/// The IAM actions that set or remove tags, and whether they act on roles.
const TAG_ACTIONS: [(&str, bool); 6] = [
    ("iam:TagRole", true),
    ("iam:UntagRole", true),
    ("iam:CreateRole", true),
    ("iam:TagUser", false),
    ("iam:UntagUser", false),
    ("iam:CreateUser", false),
];

/// The tags an ABAC trust checks, asked one at a time (an SCP may protect
/// some and not others).
const PROBE_TAGS: [&str; 3] = [
    "kubernetes-namespace",
    "kubernetes-service-account",
    "eks-cluster-arn",
];

/// The name of the principal no policy names, for the SCP's side.
const UNNAMED: &str = "orgtwin-findings-unnamed";

/// A principal the model has, as the identity plane calls it.
struct Principal<'m> {
    caller: Caller,
    owner: Owner<'m>,
    arn: &'m str,
}

fn principals<'m>(model: &'m Model, now: Timestamp) -> Vec<Principal<'m>> {
    let mut out = Vec::new();
    for account in model.accounts.values() {
        for user in &account.iam.users {
            out.push(Principal {
                caller: Caller::user(model, &account.id, &user.name),
                owner: Owner::User {
                    account: &account.id,
                    name: &user.name,
                },
                arn: &user.arn,
            });
        }
        for role in &account.iam.roles {
            let session =
                Session::of_role(role, &account.id, "orgtwin-findings", now.seconds(), 3600);
            out.push(Principal {
                caller: Caller::Session(Box::new(session)),
                owner: Owner::Role {
                    account: &account.id,
                    name: &role.name,
                },
                arn: &role.arn,
            });
        }
    }
    out
}

/// The same kind of principal in the same account, named by no policy.
fn unnamed(caller: &Caller) -> Caller {
    match caller {
        Caller::User { account, .. } => Caller::User {
            account: account.clone(),
            name: UNNAMED.to_string(),
            arn: format!("arn:aws:iam::{account}:user/{UNNAMED}"),
        },
        Caller::Session(session) => {
            let mut other = (**session).clone();
            other.name = UNNAMED.to_string();
            other.identity_arn = format!("arn:aws:iam::{}:role/{UNNAMED}", session.account);
            other.identity_id = orgtwin_policy::principal::stable_id("AROA", &other.identity_arn);
            Caller::Session(Box::new(other))
        }
    }
}

/// A request to set (or remove) `tag`.
fn probe_context(action: &str, tag: &str, account: &str) -> Context {
    let mut context = Context::default();
    if !action.starts_with("iam:Untag") {
        let value = if tag == "eks-cluster-arn" {
            format!("arn:aws:eks:us-east-1:{account}:cluster/forged")
        } else {
            "forged".to_string()
        };
        context.insert(&format!("aws:RequestTag/{tag}"), value);
    }
    context.insert_multi("aws:TagKeys", vec![tag.to_string()]);
    context
}

/// The first tagging request `principal` is allowed, if any.
fn first_allowed(
    model: &Model,
    principal: &Principal<'_>,
    now: Timestamp,
) -> Option<(Authorization, &'static str)> {
    let account = principal.caller.account();
    let iam = &model.account(account)?.iam;
    let identity = principal.caller.policies(model).identity;
    let named = |action: &str| {
        let action = action.to_ascii_lowercase();
        identity.iter().any(|p| {
            p.policy
                .statements
                .iter()
                .any(|s| s.effect == Effect::Allow && allows_action(s, &action))
        })
    };
    for (action, on_roles) in TAG_ACTIONS {
        if !named(action) {
            continue;
        }
        let kind = if on_roles { "role" } else { "user" };
        let mut resources: Vec<&str> = if on_roles {
            iam.roles.iter().map(|r| r.arn.as_str()).collect()
        } else {
            iam.users.iter().map(|u| u.arn.as_str()).collect()
        };
        let new = format!("arn:aws:iam::{account}:{kind}/orgtwin-findings-new");
        resources.push(&new);
        for tag in PROBE_TAGS {
            let context = probe_context(action, tag, account);
            for resource in &resources {
                let ask = Ask::new(action, resource, &context);
                let authorization = authorize(model, &principal.caller, &ask, now);
                if authorization.allowed() {
                    return Some((authorization, tag));
                }
            }
        }
    }
    None
}

fn forgers(model: &Model, now: Timestamp, out: &mut Vec<Finding>) {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let principals = principals(model, now);
    let found = crate::parallel::map(&principals, threads, |p| forger(model, p, now));
    out.extend(found.into_iter().flatten());
}

fn forger(model: &Model, principal: &Principal<'_>, now: Timestamp) -> Option<Finding> {
    let (allowed, tag) = first_allowed(model, principal, now)?;
    let account = principal.caller.account();
    let context = probe_context(&allowed.action, tag, account);
    let ask = Ask::new(&allowed.action, &allowed.resource, &context);
    let other = authorize(model, &unnamed(&principal.caller), &ask, now);
    let guard = other
        .decision
        .explanation
        .denied_by
        .iter()
        .find(|s| matches!(s.source, PolicySource::Scp { .. }));
    let by: Vec<String> = allowed
        .decision
        .explanation
        .allowed_by
        .iter()
        .filter(|s| !matches!(s.source, PolicySource::Scp { .. }))
        .map(label)
        .collect();
    let what = format!(
        "`{}` with the tag `{tag}` on `{}`",
        allowed.action, allowed.resource
    );
    let impersonates = "ABAC trusts believe the `kubernetes-*` and `eks-*` tags of a \
                        session because only EKS Pod Identity sets them. A principal \
                        that can put them on a role or user it can use passes every such \
                        trust: it impersonates any pod of any cluster.";
    let finding = match guard {
        Some(scp) => Finding {
            id: "tag-admin",
            severity: Severity::Low,
            title: format!(
                "`{}` may set Pod Identity's tags: {} exempts it",
                principal.arn,
                scp.policy_label()
            ),
            subject: principal.arn.to_string(),
            place: place_of(model, scp, None, None),
            why: format!(
                "{impersonates} It may perform {what} (allowed by {}), which {} denies to \
                 the principals it does not exempt.",
                by.join(", "),
                label(scp)
            ),
            fix: "Keep this principal for break-glass use: few people, MFA, alerts on its \
                  use. It can impersonate pods."
                .to_string(),
        },
        None => {
            let management = model.is_management(account);
            let unstopped = if management {
                "SCPs never apply to the management account, so no SCP can stop it."
            } else {
                "No SCP of its account denies it."
            };
            let place = allowed
                .decision
                .explanation
                .allowed_by
                .iter()
                .filter(|s| s.source == PolicySource::Identity)
                .find_map(|s| place_of(model, s, Some(principal.owner), None));
            Finding {
                id: "can-forge-pod-tags",
                severity: Severity::Critical,
                title: format!(
                    "`{}` may set the `{tag}` tag Pod Identity sets, and nothing stops it",
                    principal.arn
                ),
                subject: principal.arn.to_string(),
                place,
                why: format!(
                    "{impersonates} It may perform {what}, allowed by {}. {unstopped}",
                    by.join(", ")
                ),
                fix: if management {
                    "Take IAM tagging rights away from principals of the management \
                     account; run nothing there that needs them."
                        .to_string()
                } else {
                    "Attach an SCP that denies `iam:TagRole`, `iam:TagUser`, \
                     `iam:UntagRole`, `iam:UntagUser`, `iam:CreateRole` and \
                     `iam:CreateUser` when `aws:TagKeys` has a key like `kubernetes-*` \
                     or `eks-*` (`ForAnyValue:StringLike`), except for one break-glass \
                     platform role (`ArnNotLike` on `aws:PrincipalArn`), or take those \
                     actions away from this principal."
                        .to_string()
                },
            }
        }
    };
    Some(finding)
}
