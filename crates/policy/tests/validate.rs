//! IAM's refusals, one per common mistake, each pointing at the right place.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_policy::{ErrorCode, PolicyType, validate_source};

/// The messages of `source` validated as `ty`, with the text each points at.
fn problems(source: &str, ty: PolicyType) -> Vec<(String, String)> {
    validate_source(source, ty)
        .into_iter()
        .map(|e| {
            let span = e.span.unwrap();
            (e.message, source[span.start..span.end].to_string())
        })
        .collect()
}

fn statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{body}]}}"#)
}

#[test]
fn valid_policies_of_each_type() {
    let cases = [
        (
            PolicyType::Identity,
            r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#,
        ),
        (
            PolicyType::Trust,
            r#"{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}"#,
        ),
        (
            PolicyType::Resource,
            r#"{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}"#,
        ),
        (
            PolicyType::Scp,
            r#"{"Effect": "Allow", "Action": "*", "Resource": "*"}"#,
        ),
        (
            PolicyType::Rcp,
            r#"{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}}"#,
        ),
        (
            PolicyType::Session,
            r#"{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}"#,
        ),
        (
            PolicyType::PermissionsBoundary,
            r#"{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}"#,
        ),
    ];
    for (ty, body) in cases {
        assert_eq!(problems(&statement(body), ty), vec![], "{ty}: {body}");
    }
}

#[test]
fn missing_actions_and_resources() {
    let p = problems(&statement(r#"{"Effect": "Allow"}"#), PolicyType::Identity);
    let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Policy statement must contain actions.",
            "Policy statement must contain resources."
        ]
    );
}

#[test]
fn duplicate_sids_point_at_the_second() {
    let source = statement(
        r#"{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
           {"Sid": "Read", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}"#,
    );
    let p = problems(&source, PolicyType::Identity);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].0,
        "Statement IDs (SID) in a single policy must be unique."
    );
    let second = source.rfind("\"Read\"").unwrap();
    let e = &validate_source(&source, PolicyType::Identity)[0];
    assert_eq!(e.span.unwrap().start, second);
}

#[test]
fn action_without_vendor_prefix() {
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}"#),
        PolicyType::Identity,
    );
    assert_eq!(
        p,
        [(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into(),
            "\"GetObject\"".into()
        )]
    );
}

#[test]
fn resource_in_trust_and_principal_in_identity() {
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole", "Resource": "*"}"#,
        ),
        PolicyType::Trust,
    );
    assert_eq!(
        p,
        [(
            "Has prohibited field Resource.".into(),
            "\"Resource\"".into()
        )]
    );
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}"#),
        PolicyType::Identity,
    );
    assert_eq!(
        p,
        [(
            "Policy document should not specify a principal.".into(),
            "\"Principal\"".into()
        )]
    );
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}"#),
        PolicyType::Trust,
    );
    assert_eq!(
        p[0].0,
        "AssumeRole policy may only specify STS AssumeRole actions."
    );
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Action": "sts:AssumeRole"}"#),
        PolicyType::Trust,
    );
    assert_eq!(p[0].0, "Missing required field Principal");
}

#[test]
fn bad_arns_and_principals() {
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "bucket/key"}"#),
        PolicyType::Identity,
    );
    assert_eq!(
        p[0].0,
        "Resource bucket/key must be in ARN format or \"*\"."
    );
    let p = problems(
        &statement(r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:nope:s3:::b"}"#),
        PolicyType::Identity,
    );
    assert_eq!(
        p[0].0,
        "Resource arn:nope:s3:::b must be in ARN format or \"*\"."
    );
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}, "Action": "sts:AssumeRole"}"#,
        ),
        PolicyType::Trust,
    );
    assert_eq!(
        p,
        [(
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:role/*\"".into(),
            "\"arn:aws:iam::111122223333:role/*\"".into()
        )]
    );
}

#[test]
fn unknown_operator_and_bad_values() {
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualz": {"aws:username": "a"}}}"#,
        ),
        PolicyType::Identity,
    );
    assert_eq!(p[0].0, "Invalid Condition type : StringEqualz.");
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": "ten"}}}"#,
        ),
        PolicyType::Identity,
    );
    assert_eq!(
        p[0].0,
        "Invalid value for condition key s3:max-keys under NumericLessThan."
    );
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Null": {"username": "true"}}}"#,
        ),
        PolicyType::Identity,
    );
    assert_eq!(
        p[0].0,
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    );
}

#[test]
fn variables_need_the_2012_version() {
    let source = r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}}"#;
    let p = problems(source, PolicyType::Identity);
    assert_eq!(
        p,
        [(
            "Policy variables require Version 2012-10-17.".into(),
            "\"2008-10-17\"".into()
        )]
    );
}

#[test]
fn size_limits_count_non_whitespace() {
    let statement_text = r#"{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket-with-a-long-name/*"}"#;
    let many = |n: usize| {
        let body: Vec<String> = (0..n).map(|_| statement_text.to_string()).collect();
        statement(&body.join(",\n      "))
    };
    let limit = |source: &str, ty| {
        validate_source(source, ty)
            .into_iter()
            .filter(|e| e.code == ErrorCode::LimitExceeded)
            .count()
    };
    let small = many(60);
    assert!(small.chars().filter(|c| !c.is_whitespace()).count() < 6_144);
    assert!(small.len() > 6_144, "whitespace must not count");
    assert_eq!(limit(&small, PolicyType::Identity), 0);
    assert_eq!(limit(&many(80), PolicyType::Identity), 1);
    assert_eq!(limit(&many(60), PolicyType::Scp), 1);
    let trust = statement(&vec![r#"{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}"#; 30].join(","));
    let e = validate_source(&trust, PolicyType::Trust);
    assert!(
        e.iter()
            .any(|e| e.message == "Cannot exceed quota for ACLSizePerRole: 2048")
    );
}

#[test]
fn rcp_rules() {
    let p = problems(
        &statement(
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}"#,
        ),
        PolicyType::Rcp,
    );
    assert_eq!(p[0].0, "RCPs support only Deny statements.");
    let p = problems(
        &statement(
            r#"{"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "ec2:*", "Resource": "*"}"#,
        ),
        PolicyType::Rcp,
    );
    let messages: Vec<&str> = p.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(
        messages,
        [
            "RCPs do not support the service ec2.",
            "RCPs require \"Principal\": \"*\"."
        ]
    );
}

#[test]
fn shape_errors_are_all_reported() {
    let source = r#"{"Version": "2012-10-17", "Statment": [], "Statement": {"Effect": "allow", "Action": 3, "Resource": "*", "Extra": 1}}"#;
    let errors = validate_source(source, PolicyType::Identity);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.code == ErrorCode::MalformedPolicyDocument)
    );
    let e = validate_source("{\"Statement\": [", PolicyType::Identity);
    assert_eq!(e[0].message, "This policy contains invalid Json");
    let e = validate_source(
        r#"{"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Action": "s3:Get"}}"#,
        PolicyType::Identity,
    );
    assert!(
        e.iter()
            .any(|e| e.help.as_deref() == Some("duplicate key `Action` in a statement"))
    );
}
