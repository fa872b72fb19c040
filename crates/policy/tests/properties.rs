//! Invariants of the evaluation logic over generated policies and requests:
//! a deny never turns into an allow by adding a deny, removing an allow never
//! creates an allow, and the order of statements does not matter.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_policy::{
    Context, NamedPolicy, OrgLevel, Policies, Policy, Principal, Request, ResourcePolicyKind,
    Timestamp, Verdict, evaluate,
};
use proptest::prelude::*;

const ACTIONS: [&str; 6] = [
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "*",
    "sts:AssumeRole",
    "s3:PutObject",
];
const RESOURCES: [&str; 5] = [
    "*",
    "arn:aws:s3:::payroll/*",
    "arn:aws:s3:::payroll/2026/*",
    "arn:aws:s3:::other/*",
    "arn:aws:iam::*:role/app",
];
const PRINCIPALS: [&str; 5] = [
    "*",
    "111122223333",
    "arn:aws:iam::444455556666:root",
    "arn:aws:iam::111122223333:role/app",
    "arn:aws:sts::111122223333:assumed-role/app/s1",
];
const CALLERS: [&str; 4] = [
    "arn:aws:sts::111122223333:assumed-role/app/s1",
    "arn:aws:iam::111122223333:user/alice",
    "arn:aws:iam::444455556666:user/bob",
    "arn:aws:iam::111122223333:root",
];

#[derive(Clone, Debug)]
struct StatementSpec {
    allow: bool,
    not_action: bool,
    actions: Vec<usize>,
    resources: Vec<usize>,
    principal: usize,
    team: Option<(bool, usize)>,
}

impl StatementSpec {
    fn render(&self, sid: usize, with_principal: bool) -> String {
        let list = |ix: &[usize], names: &[&str]| {
            let items: Vec<String> = ix.iter().map(|&i| format!("\"{}\"", names[i])).collect();
            format!("[{}]", items.join(","))
        };
        let action_key = if self.not_action {
            "NotAction"
        } else {
            "Action"
        };
        let principal = if with_principal {
            format!(
                r#""Principal": {{"AWS": "{}"}},"#,
                PRINCIPALS[self.principal]
            )
        } else {
            String::new()
        };
        let condition = match self.team {
            None => String::new(),
            Some((negated, team)) => {
                let op = if negated {
                    "StringNotEquals"
                } else {
                    "StringEquals"
                };
                format!(
                    r#", "Condition": {{"{op}": {{"aws:PrincipalTag/team": "{}"}}}}"#,
                    ["payroll", "analytics"][team]
                )
            }
        };
        format!(
            r#"{{"Sid": "S{sid}", "Effect": "{}", {principal} "{action_key}": {}, "Resource": {}{condition}}}"#,
            if self.allow { "Allow" } else { "Deny" },
            list(&self.actions, &ACTIONS),
            list(&self.resources, &RESOURCES),
        )
    }
}

fn statement_spec() -> impl Strategy<Value = StatementSpec> {
    (
        prop::bool::weighted(0.75),
        prop::bool::weighted(0.1),
        prop::collection::vec(0..ACTIONS.len(), 1..3),
        prop::collection::vec(0..RESOURCES.len(), 1..3),
        0..PRINCIPALS.len(),
        prop::option::of((any::<bool>(), 0..2usize)),
    )
        .prop_map(
            |(allow, not_action, actions, resources, principal, team)| StatementSpec {
                allow,
                not_action,
                actions,
                resources,
                principal,
                team,
            },
        )
}

/// Every policy a request may meet; a `None` is an absent policy.
#[derive(Clone, Debug)]
struct Scenario {
    identity: Vec<StatementSpec>,
    resource: Option<Vec<StatementSpec>>,
    boundary: Option<Vec<StatementSpec>>,
    scp_levels: Option<Vec<Vec<StatementSpec>>>,
    caller: usize,
    action: usize,
    object: usize,
    team: Option<usize>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let statements = || prop::collection::vec(statement_spec(), 0..5);
    (
        statements(),
        prop::option::of(statements()),
        prop::option::of(statements()),
        prop::option::of(prop::collection::vec(statements(), 1..4)),
        0..CALLERS.len(),
        0..3usize,
        0..3usize,
        prop::option::of(0..2usize),
    )
        .prop_map(
            |(identity, resource, boundary, scp_levels, caller, action, object, team)| Scenario {
                identity,
                resource,
                boundary,
                scp_levels,
                caller,
                action,
                object,
                team,
            },
        )
}

fn policy(statements: &[StatementSpec], with_principal: bool) -> NamedPolicy {
    let body: Vec<String> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| s.render(i, with_principal))
        .collect();
    let source = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        body.join(",")
    );
    NamedPolicy::new("generated", Policy::parse(&source).unwrap())
}

fn decide(s: &Scenario) -> Verdict {
    let principal = Principal::from_arn(CALLERS[s.caller]).unwrap();
    let mut context = Context::default();
    if let Some(team) = s.team {
        context.insert("aws:PrincipalTag/team", ["payroll", "analytics"][team]);
    }
    context.derive_from_principal(&principal, Timestamp::from_unix_seconds(1_796_317_704));
    let identity = vec![policy(&s.identity, false)];
    let resource = s.resource.as_deref().map(|st| policy(st, true));
    let boundary = s.boundary.as_deref().map(|st| policy(st, false));
    let scps: Option<Vec<OrgLevel>> = s.scp_levels.as_ref().map(|levels| {
        levels
            .iter()
            .enumerate()
            .map(|(i, st)| OrgLevel {
                name: format!("level {i}").into(),
                policies: vec![policy(st, false)],
            })
            .collect()
    });
    let request = Request {
        principal: &principal,
        action: ["s3:GetObject", "s3:PutObject", "sts:AssumeRole"][s.action],
        resource: [
            "arn:aws:s3:::payroll/2026/june.csv",
            "arn:aws:s3:::other/x",
            "arn:aws:iam::111122223333:role/app",
        ][s.object],
        resource_account: Some("111122223333"),
        context: &context,
    };
    let policies = Policies {
        identity: &identity,
        resource: resource.as_ref(),
        resource_kind: ResourcePolicyKind::Resource,
        boundary: boundary.as_ref(),
        session: None,
        scps: scps.as_deref(),
        rcps: None,
        management_account: None,
    };
    evaluate(&request, &policies).decision
}

/// Every place a statement can be added to or removed from.
fn statement_lists(s: &mut Scenario) -> Vec<&mut Vec<StatementSpec>> {
    let mut lists = vec![&mut s.identity];
    lists.extend(s.resource.as_mut());
    lists.extend(s.boundary.as_mut());
    if let Some(levels) = s.scp_levels.as_mut() {
        lists.extend(levels.iter_mut());
    }
    lists
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn adding_a_deny_never_allows(s in scenario(), extra in statement_spec(), at in any::<prop::sample::Index>()) {
        let before = decide(&s);
        let mut changed = s.clone();
        let mut lists = statement_lists(&mut changed);
        let target = at.index(lists.len());
        lists[target].push(StatementSpec { allow: false, ..extra });
        let after = decide(&changed);
        if before != Verdict::Allow {
            prop_assert_ne!(after, Verdict::Allow);
        }
        if before == Verdict::ExplicitDeny {
            prop_assert_eq!(after, Verdict::ExplicitDeny);
        }
    }

    #[test]
    fn a_matching_deny_everywhere_is_explicit(s in scenario()) {
        let mut changed = s.clone();
        changed.identity.push(StatementSpec { allow: false, not_action: false, actions: vec![3], resources: vec![0], principal: 0, team: None });
        prop_assert_eq!(decide(&changed), Verdict::ExplicitDeny);
    }

    #[test]
    fn removing_an_allow_never_allows(s in scenario(), at in any::<prop::sample::Index>(), which in any::<prop::sample::Index>()) {
        let before = decide(&s);
        let mut changed = s.clone();
        let mut lists = statement_lists(&mut changed);
        let target = at.index(lists.len());
        let allows: Vec<usize> = lists[target].iter().enumerate().filter(|(_, st)| st.allow).map(|(i, _)| i).collect();
        if !allows.is_empty() {
            lists[target].remove(allows[which.index(allows.len())]);
        }
        if before != Verdict::Allow {
            prop_assert_ne!(decide(&changed), Verdict::Allow);
        }
    }

    #[test]
    fn statement_order_does_not_matter(s in scenario()) {
        let before = decide(&s);
        let mut changed = s.clone();
        for list in statement_lists(&mut changed) {
            list.reverse();
        }
        if let Some(levels) = changed.scp_levels.as_mut() {
            levels.rotate_left(1);
        }
        prop_assert_eq!(decide(&changed), before);
    }
}
