//! Hostile input: arbitrary text and mutated policies never panic the reader,
//! the validator, the evaluator or the case parser.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_policy::cases::run_case;
use orgtwin_policy::{
    Context, NamedPolicy, Policies, Policy, PolicyType, Principal, Request, ResourcePolicyKind,
    Timestamp, evaluate, validate_source,
};
use proptest::prelude::*;

const SEED: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/x"]}, "Action": ["sts:AssumeRole", "s3:Get*"], "Resource": "arn:aws:s3:::b/${aws:username}/*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": ["a", "b"]}, "ForAnyValue:StringLike": {"aws:TagKeys": "k*"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}, "Null": {"aws:MultiFactorAuthAge": "true"}}}]}"#;

fn exercise(source: &str) {
    for ty in PolicyType::ALL {
        let _ = validate_source(source, ty);
    }
    let Ok(policy) = Policy::parse(source) else {
        return;
    };
    let named = NamedPolicy::new("fuzzed", policy);
    let principal = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/x/s").unwrap();
    let mut context = Context::default();
    context.insert("aws:PrincipalTag/team", "a");
    context.insert("aws:SourceIp", "10.1.2.3");
    context.insert_multi("aws:TagKeys", vec!["k1".into(), "z".into()]);
    context.derive_from_principal(&principal, Timestamp::from_unix_seconds(1_796_317_704));
    let request = Request {
        principal: &principal,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::b/u/k",
        resource_account: None,
        context: &context,
    };
    for kind in [ResourcePolicyKind::Resource, ResourcePolicyKind::Trust] {
        let identity = [named.clone()];
        let policies = Policies {
            identity: &identity,
            resource: Some(&named),
            resource_kind: kind,
            boundary: Some(&named),
            session: Some(&named),
            ..Policies::default()
        };
        let _ = evaluate(&request, &policies);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn arbitrary_text(text in ".{0,200}") {
        exercise(&text);
        let _ = run_case(&text, "fuzz", Timestamp::from_unix_seconds(0));
    }

    #[test]
    fn mutated_policies(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<char>(), 0..3u8), 1..6)) {
        let mut chars: Vec<char> = SEED.chars().collect();
        for (at, c, op) in edits {
            let i = at.index(chars.len().max(1));
            match op {
                0 if i < chars.len() => { chars[i] = c; }
                1 => chars.insert(i.min(chars.len()), c),
                _ if i < chars.len() => { chars.remove(i); }
                _ => {}
            }
        }
        exercise(&chars.into_iter().collect::<String>());
    }

    #[test]
    fn mutated_cases(cut in 0..400usize, junk in ".{0,8}") {
        let case = format!(r#"{{"principal": "arn:aws:iam::111122223333:user/a", "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "identity_policies": [{SEED}], "scps": [[{SEED}], {{"name": "OU", "policies": [{SEED}]}}], "rcps": [[]], "now": "2026-12-03T00:00:00Z", "expect": "Deny"}}"#);
        let at = cut.min(case.len());
        let mut mutated = case.clone();
        if mutated.is_char_boundary(at) {
            mutated.insert_str(at, &junk);
        }
        let _ = run_case(&mutated, "fuzz", Timestamp::from_unix_seconds(0));
    }
}

#[test]
fn the_seed_itself_evaluates() {
    exercise(SEED);
    assert!(Policy::parse(SEED).is_ok());
}
