//! Decisions per second on one core: orgtwin's IAM engine against the same
//! logic written as Cedar policies and evaluated by `cedar-policy`, in the
//! same run, on the same requests.
//!
//! Two scenarios (docs/benchmarks.md describes them in full):
//!
//! * (a) the ABAC trust policy of the AWS EKS multi-account guide: a Pod
//!   Identity session of `account-a-role` in 111122223333 assumes
//!   `account-b-role` in 444455556666; one allowed request and one denied
//!   (wrong `kubernetes-namespace` tag).
//! * (b) a 20-statement identity policy with wildcards and conditions under a
//!   three-level SCP chain; `s3:GetObject` allowed by statement 10 (the 11th),
//!   and the same request from outside the corporate network, denied.
//!
//! Everything is parsed and built before timing, for both engines. What is
//! timed is the decision call itself: `evaluate(&request, &policies)` for
//! orgtwin, `Authorizer::is_authorized(&request, &policy_set, &entities)` for
//! Cedar. Before any timing, both engines must agree on every request (and
//! on whether a deny was explicit), or the benchmark panics: comparing the
//! speed of different answers would mean nothing.
//!
//! Besides criterion's report, `cargo bench` prints one summary line per
//! scenario from a plain timed loop (`SUMMARY_ITERATIONS` calls per request
//! after `WARMUP_ITERATIONS`, single-threaded, not pinned to a core).
//!
//! ## How the Cedar side encodes IAM
//!
//! * Condition keys are context attributes under their lower-cased IAM names
//!   (`context["aws:principaltag/team"]`): orgtwin stores keys lower-cased
//!   since IAM key names ignore case, and the Cedar context is built from the
//!   very same map, so both engines see the same values. Typed keys become
//!   Cedar types: `aws:SourceIp` an `ip`, `aws:CurrentTime` a `datetime`,
//!   `aws:EpochTime` a Long, `Bool` keys booleans.
//! * Every condition on a key is guarded with `context has "..."`, because
//!   Cedar skips a policy whose evaluation errors (a forbid too), while IAM
//!   defines a missing key: false for a positive operator, true for a negated
//!   one (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`).
//! * Exact action names are scope constraints (`action in [Action::"..."]`);
//!   wildcard actions are `like` on the action entity's lower-cased `name`
//!   attribute (IAM action names ignore case). Resources are `like` on the
//!   resource entity's `arn` attribute. `NotAction`/`NotResource` are `!(...)`.
//! * Cedar's `like` has `*` but no `?`; a `?` is written as `*` (a superset).
//!   Its `*` also crosses the `:` between ARN segments, which orgtwin's does
//!   not. Neither difference changes any benchmarked decision, which the
//!   agreement check proves.
//! * An `Allow` in a policy type that must allow on its own (an SCP level; the
//!   cross-account identity side of (a)) is a `forbid ... unless { the allow
//!   statements of that level }`, one per level: Cedar has no "allow at every
//!   level" combinator, and one policy set with one forbid-unless per level
//!   keeps a single `is_authorized` call per decision, as orgtwin makes a
//!   single `evaluate` call. The principal hierarchy (user -> account -> OU
//!   -> root) scopes each SCP level with `principal in ...`. Allow statements
//!   that grant on their own are `permit`s; every `Deny` is a `forbid`.

// Benches are test code: the workspace denies these lints outside tests, and a
// benchmark is test code, where a failed set-up should stop the run loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy as cedar;
use criterion::Criterion;
use orgtwin_policy::{
    Context, ContextValue, NamedPolicy, OrgLevel, Policies, Policy, Principal, Request,
    ResourcePolicyKind, Timestamp, Verdict, evaluate,
};

/// Calls per request in the summary's timed loop, after the warm-up.
const SUMMARY_ITERATIONS: u32 = 200_000;
const WARMUP_ITERATIONS: u32 = 20_000;

/// The request time of every request: 2026-06-01T12:00:00Z.
const NOW: &str = "2026-06-01T12:00:00Z";

// ---------------------------------------------------------------------------
// Scenario (a): the EKS multi-account ABAC trust policy.

const A_CALLER: &str = "arn:aws:sts::111122223333:assumed-role/account-a-role/eks-ProductionC-pod";
const A_ROLE_B: &str = "arn:aws:iam::444455556666:role/account-b-role";

const A_TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
    "Condition": {"StringEquals": {
      "aws:PrincipalTag/kubernetes-service-account": "PayrollApplication",
      "aws:PrincipalTag/eks-cluster-arn": "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster",
      "aws:PrincipalTag/kubernetes-namespace": "PayrollNamespace"
    }}
  }]
}"#;

const A_IDENTITY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["sts:AssumeRole", "sts:TagSession"],
    "Resource": "arn:aws:iam::444455556666:role/account-b-role"
  }]
}"#;

const A_CEDAR: &str = r#"
// The trust policy of account-b-role: `arn:aws:iam::111122223333:root` is
// every principal of that account, which the entity hierarchy expresses.
@id("trust account-b-role statement 0")
permit (
  principal in Account::"111122223333",
  action in [Action::"sts:AssumeRole", Action::"sts:TagSession"],
  resource == Role::"arn:aws:iam::444455556666:role/account-b-role"
) when {
  context has "aws:principaltag/kubernetes-service-account" &&
  context["aws:principaltag/kubernetes-service-account"] == "PayrollApplication" &&
  context has "aws:principaltag/eks-cluster-arn" &&
  context["aws:principaltag/eks-cluster-arn"] ==
    "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster" &&
  context has "aws:principaltag/kubernetes-namespace" &&
  context["aws:principaltag/kubernetes-namespace"] == "PayrollNamespace"
};

// Across accounts the caller's identity policy must allow too: a forbid for
// whatever account-a-role's identity policy does not allow.
@id("identity account-a-role must allow")
forbid (
  principal in Role::"arn:aws:iam::111122223333:role/account-a-role",
  action,
  resource
) unless {
  action in [Action::"sts:AssumeRole", Action::"sts:TagSession"] &&
  resource == Role::"arn:aws:iam::444455556666:role/account-b-role"
};
"#;

/// The six tags EKS Pod Identity attaches to the session.
fn pod_identity_tags(namespace: &str) -> [(&'static str, String); 6] {
    [
        (
            "aws:PrincipalTag/eks-cluster-arn",
            "arn:aws:eks:us-east-1:111122223333:cluster/ProductionCluster".into(),
        ),
        (
            "aws:PrincipalTag/eks-cluster-name",
            "ProductionCluster".into(),
        ),
        ("aws:PrincipalTag/kubernetes-namespace", namespace.into()),
        (
            "aws:PrincipalTag/kubernetes-service-account",
            "PayrollApplication".into(),
        ),
        (
            "aws:PrincipalTag/kubernetes-pod-name",
            "payroll-app-7d9f8b6c5d-x2x4q".into(),
        ),
        (
            "aws:PrincipalTag/kubernetes-pod-uid",
            "3f8a2c1e-5b7d-4e9f-a1c3-0d2e4f6a8b9c".into(),
        ),
    ]
}

fn scenario_a() -> Scenario {
    let trust = NamedPolicy::new("account-b-role", parse(A_TRUST));
    let identity = NamedPolicy::new("account-a-role-policy", parse(A_IDENTITY));
    let entities = cedar_entities(vec![
        entity(
            "Session",
            A_CALLER,
            &[],
            &[("Role", "arn:aws:iam::111122223333:role/account-a-role")],
        ),
        entity(
            "Role",
            "arn:aws:iam::111122223333:role/account-a-role",
            &[],
            &[("Account", "111122223333")],
        ),
        entity("Role", A_ROLE_B, &[], &[("Account", "444455556666")]),
        entity("Account", "111122223333", &[], &[]),
        entity("Account", "444455556666", &[], &[]),
    ]);
    let case = |label: &'static str, namespace: &str, expect: Verdict| {
        let principal = Principal::from_arn(A_CALLER).unwrap();
        let context = iam_context(&principal, &pod_identity_tags(namespace));
        Case::new(
            label,
            expect,
            principal,
            ("Session", A_CALLER),
            "sts:AssumeRole",
            ("Role", A_ROLE_B),
            None,
            context,
            entities.clone(),
        )
    };
    Scenario {
        tag: "a",
        identity: vec![identity],
        resource: Some(trust),
        resource_kind: ResourcePolicyKind::Trust,
        scps: None,
        cedar_policies: cedar::PolicySet::from_str(A_CEDAR).unwrap(),
        cases: vec![
            case("allowed", "PayrollNamespace", Verdict::Allow),
            case(
                "denied (wrong namespace)",
                "OtherNamespace",
                Verdict::ImplicitDeny,
            ),
        ],
    }
}

// ---------------------------------------------------------------------------
// Scenario (b): a 20-statement identity policy under three levels of SCPs.

const B_CALLER: &str = "arn:aws:iam::111122223333:user/alice";
const B_OBJECT: &str = "arn:aws:s3:::payroll-reports/2026/q1/summary.csv";

const B_IDENTITY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DescribeEc2", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
    {"Sid": "Metrics", "Effect": "Allow",
     "Action": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"], "Resource": "*"},
    {"Sid": "PayrollTables", "Effect": "Allow", "Action": "dynamodb:*Item",
     "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/payroll-*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payroll"}}},
    {"Sid": "PayrollIndexes", "Effect": "Allow", "Action": ["dynamodb:Query", "dynamodb:Scan"],
     "Resource": "arn:aws:dynamodb:*:111122223333:table/payroll-*/index/*"},
    {"Sid": "Queues", "Effect": "Allow", "Action": "sqs:SendMessage",
     "Resource": "arn:aws:sqs:us-east-1:111122223333:payroll-?-queue"},
    {"Sid": "KmsViaS3", "Effect": "Allow", "Action": "kms:Decrypt",
     "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
     "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}}},
    {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": "arn:aws:logs:*:111122223333:log-group:/payroll/*"},
    {"Sid": "ListPayrollBuckets", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::payroll-*",
     "Condition": {"StringLike": {"s3:prefix": ["reports/*", "exports/*"]}}},
    {"Sid": "Uploads", "Effect": "Allow", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::payroll-uploads/*",
     "Condition": {"Bool": {"aws:SecureTransport": "true"},
                   "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
    {"Sid": "ArchiveUntil2025", "Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::payroll-archive/*",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}},
    {"Sid": "ReadPayrollReports", "Effect": "Allow", "Action": "s3:Get*",
     "Resource": ["arn:aws:s3:::payroll-reports/*", "arn:aws:s3:::payroll-report?-archive/*"],
     "Condition": {
       "StringEquals": {"aws:PrincipalTag/team": "payroll"},
       "StringLike": {"aws:PrincipalTag/department": "fin*"},
       "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
       "Bool": {"aws:SecureTransport": "true"},
       "DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}},
    {"Sid": "ObjectMetadata", "Effect": "Allow",
     "Action": ["s3:GetObjectTagging", "s3:GetObjectVersion"],
     "Resource": "arn:aws:s3:::payroll-*/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    {"Sid": "InvokePayroll", "Effect": "Allow", "Action": "lambda:InvokeFunction",
     "Resource": "arn:aws:lambda:us-east-1:111122223333:function:payroll-*"},
    {"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
     "Resource": "arn:aws:secretsmanager:us-east-1:111122223333:secret:payroll/db-??????"},
    {"Sid": "Alerts", "Effect": "Allow", "Action": "sns:Publish",
     "Resource": "arn:aws:sns:*:111122223333:payroll-alerts"},
    {"Sid": "AdminsAllButIam", "Effect": "Allow",
     "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/role": "admin"}}},
    {"Sid": "NoDeletes", "Effect": "Deny",
     "Action": ["s3:DeleteObject*", "s3:PutBucketPolicy"], "Resource": "*"},
    {"Sid": "S3OnlyPayroll", "Effect": "Deny", "Action": "s3:*",
     "NotResource": ["arn:aws:s3:::payroll-*", "arn:aws:s3:::payroll-*/*"]},
    {"Sid": "TlsOnly", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "CorpNetworkOnly", "Effect": "Deny",
     "NotAction": ["sts:*", "iam:Get*", "iam:List*"], "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}}
  ]
}"#;

const B_SCP_ROOT: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;

const B_SCP_OU: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "*", "Resource": "*"},
  {"Sid": "RegionLock", "Effect": "Deny",
   "Action": ["ec2:*", "s3:*", "dynamodb:*", "lambda:*"], "Resource": "*",
   "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}]}"#;

const B_SCP_ACCOUNT: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "*", "Resource": "*"},
  {"Sid": "IamOnlyBreakGlass", "Effect": "Deny", "Action": "iam:*", "Resource": "*",
   "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}]}"#;

const B_CEDAR: &str = r#"
// The identity policy attached to alice: one Cedar policy per statement, in
// order; `@id` names the statement index and Sid.
@id("identity 0 DescribeEc2")
permit (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when { action.name like "ec2:describe*" };

@id("identity 1 Metrics")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action in [Action::"cloudwatch:GetMetricData", Action::"cloudwatch:ListMetrics"],
  resource
);

@id("identity 2 PayrollTables")
permit (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when {
  action.name like "dynamodb:*item" &&
  resource.arn like "arn:aws:dynamodb:us-east-1:111122223333:table/payroll-*" &&
  context has "aws:principaltag/team" && context["aws:principaltag/team"] == "payroll"
};

@id("identity 3 PayrollIndexes")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action in [Action::"dynamodb:Query", Action::"dynamodb:Scan"],
  resource
) when { resource.arn like "arn:aws:dynamodb:*:111122223333:table/payroll-*/index/*" };

@id("identity 4 Queues")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"sqs:SendMessage",
  resource
) when { resource.arn like "arn:aws:sqs:us-east-1:111122223333:payroll-*-queue" };

@id("identity 5 KmsViaS3")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"kms:Decrypt",
  resource
) when {
  resource.arn like "arn:aws:kms:us-east-1:111122223333:key/*" &&
  context has "kms:viaservice" && context["kms:viaservice"] like "s3.*.amazonaws.com"
};

@id("identity 6 Logs")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action in [Action::"logs:CreateLogStream", Action::"logs:PutLogEvents"],
  resource
) when { resource.arn like "arn:aws:logs:*:111122223333:log-group:/payroll/*" };

@id("identity 7 ListPayrollBuckets")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"s3:ListBucket",
  resource
) when {
  resource.arn like "arn:aws:s3:::payroll-*" &&
  context has "s3:prefix" &&
  (context["s3:prefix"] like "reports/*" || context["s3:prefix"] like "exports/*")
};

@id("identity 8 Uploads")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"s3:PutObject",
  resource
) when {
  resource.arn like "arn:aws:s3:::payroll-uploads/*" &&
  context has "aws:securetransport" && context["aws:securetransport"] == true &&
  context has "s3:x-amz-server-side-encryption" &&
  context["s3:x-amz-server-side-encryption"] == "aws:kms"
};

@id("identity 9 ArchiveUntil2025")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"s3:GetObject",
  resource
) when {
  resource.arn like "arn:aws:s3:::payroll-archive/*" &&
  context has "aws:currenttime" &&
  context["aws:currenttime"] < datetime("2025-01-01T00:00:00Z")
};

@id("identity 10 ReadPayrollReports")
permit (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when {
  action.name like "s3:get*" &&
  (resource.arn like "arn:aws:s3:::payroll-reports/*" ||
   resource.arn like "arn:aws:s3:::payroll-report*-archive/*") &&
  context has "aws:principaltag/team" && context["aws:principaltag/team"] == "payroll" &&
  context has "aws:principaltag/department" &&
  context["aws:principaltag/department"] like "fin*" &&
  context has "aws:sourceip" &&
  (context["aws:sourceip"].isInRange(ip("10.0.0.0/8")) ||
   context["aws:sourceip"].isInRange(ip("192.168.0.0/16"))) &&
  context has "aws:securetransport" && context["aws:securetransport"] == true &&
  context has "aws:currenttime" &&
  context["aws:currenttime"] < datetime("2027-01-01T00:00:00Z")
};

@id("identity 11 ObjectMetadata")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action in [Action::"s3:GetObjectTagging", Action::"s3:GetObjectVersion"],
  resource
) when {
  resource.arn like "arn:aws:s3:::payroll-*/*" &&
  context has "aws:sourceip" && context["aws:sourceip"].isInRange(ip("10.0.0.0/8"))
};

@id("identity 12 InvokePayroll")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"lambda:InvokeFunction",
  resource
) when { resource.arn like "arn:aws:lambda:us-east-1:111122223333:function:payroll-*" };

@id("identity 13 Secrets")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"secretsmanager:GetSecretValue",
  resource
) when {
  resource.arn like "arn:aws:secretsmanager:us-east-1:111122223333:secret:payroll/db-*"
};

@id("identity 14 Alerts")
permit (
  principal == User::"arn:aws:iam::111122223333:user/alice",
  action == Action::"sns:Publish",
  resource
) when { resource.arn like "arn:aws:sns:*:111122223333:payroll-alerts" };

@id("identity 15 AdminsAllButIam")
permit (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when {
  !(action.name like "iam:*" || action.name like "organizations:*" ||
    action.name like "account:*") &&
  context has "aws:principaltag/role" && context["aws:principaltag/role"] == "admin"
};

@id("identity 16 NoDeletes")
forbid (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when { action.name like "s3:deleteobject*" || action == Action::"s3:PutBucketPolicy" };

@id("identity 17 S3OnlyPayroll")
forbid (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when {
  action.name like "s3:*" &&
  !(resource.arn like "arn:aws:s3:::payroll-*" || resource.arn like "arn:aws:s3:::payroll-*/*")
};

@id("identity 18 TlsOnly")
forbid (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when { context has "aws:securetransport" && context["aws:securetransport"] == false };

@id("identity 19 CorpNetworkOnly")
forbid (principal == User::"arn:aws:iam::111122223333:user/alice", action, resource)
when {
  !(action.name like "sts:*" || action.name like "iam:get*" || action.name like "iam:list*") &&
  (!(context has "aws:sourceip") ||
   !(context["aws:sourceip"].isInRange(ip("10.0.0.0/8")) ||
     context["aws:sourceip"].isInRange(ip("192.168.0.0/16"))))
};

// SCPs: each level must allow, so each level is a forbid unless one of its
// Allow statements matches; its Deny statements are forbids.
@id("SCP root: FullAWSAccess must allow")
forbid (principal in OrgRoot::"r-a1b2", action, resource)
unless { action.name like "*" };

@id("SCP OU Workloads: must allow")
forbid (principal in OU::"ou-a1b2-workloads", action, resource)
unless { action.name like "*" };

@id("SCP OU Workloads: RegionLock")
forbid (principal in OU::"ou-a1b2-workloads", action, resource)
when {
  (action.name like "ec2:*" || action.name like "s3:*" ||
   action.name like "dynamodb:*" || action.name like "lambda:*") &&
  (!(context has "aws:requestedregion") ||
   !(context["aws:requestedregion"] == "us-east-1" ||
     context["aws:requestedregion"] == "eu-west-1"))
};

@id("SCP account 111122223333: must allow")
forbid (principal in Account::"111122223333", action, resource)
unless { action.name like "*" };

@id("SCP account 111122223333: IamOnlyBreakGlass")
forbid (principal in Account::"111122223333", action, resource)
when {
  action.name like "iam:*" &&
  (!(context has "aws:principalarn") ||
   !(context["aws:principalarn"] like "arn:aws:iam::*:role/BreakGlass"))
};
"#;

fn scenario_b() -> Scenario {
    let level = |name: &str, policy: &str, source: &str| OrgLevel {
        name: name.into(),
        policies: vec![NamedPolicy::new(policy, parse(source))],
    };
    let scps = vec![
        level("root", "FullAWSAccess", B_SCP_ROOT),
        level("OU Workloads", "RegionLock", B_SCP_OU),
        level("account 111122223333", "IamOnlyBreakGlass", B_SCP_ACCOUNT),
    ];
    let entities = cedar_entities(vec![
        entity("User", B_CALLER, &[], &[("Account", "111122223333")]),
        entity(
            "Account",
            "111122223333",
            &[],
            &[("OU", "ou-a1b2-workloads")],
        ),
        entity("OU", "ou-a1b2-workloads", &[], &[("OrgRoot", "r-a1b2")]),
        entity("OrgRoot", "r-a1b2", &[], &[]),
        entity("Resource", B_OBJECT, &[("arn", B_OBJECT)], &[]),
        entity("Action", "s3:GetObject", &[("name", "s3:getobject")], &[]),
    ]);
    let case = |label: &'static str, source_ip: &str, expect: Verdict| {
        let principal = Principal::from_arn(B_CALLER).unwrap();
        let context = iam_context(
            &principal,
            &[
                ("aws:PrincipalTag/team", "payroll".into()),
                ("aws:PrincipalTag/department", "finance".into()),
                ("aws:PrincipalTag/role", "analyst".into()),
                ("aws:SourceIp", source_ip.into()),
                ("aws:SecureTransport", "true".into()),
                ("aws:RequestedRegion", "us-east-1".into()),
            ],
        );
        Case::new(
            label,
            expect,
            principal,
            ("User", B_CALLER),
            "s3:GetObject",
            ("Resource", B_OBJECT),
            Some("111122223333"),
            context,
            entities.clone(),
        )
    };
    Scenario {
        tag: "b",
        identity: vec![NamedPolicy::new("PayrollAnalyst", parse(B_IDENTITY))],
        resource: None,
        resource_kind: ResourcePolicyKind::Resource,
        scps: Some(scps),
        cedar_policies: cedar::PolicySet::from_str(B_CEDAR).unwrap(),
        cases: vec![
            case("allowed", "10.1.2.3", Verdict::Allow),
            case(
                "denied (outside the corporate network)",
                "203.0.113.7",
                Verdict::ExplicitDeny,
            ),
        ],
    }
}

// ---------------------------------------------------------------------------
// Shared set-up.

struct Scenario {
    tag: &'static str,
    identity: Vec<NamedPolicy>,
    resource: Option<NamedPolicy>,
    resource_kind: ResourcePolicyKind,
    scps: Option<Vec<OrgLevel>>,
    cedar_policies: cedar::PolicySet,
    cases: Vec<Case>,
}

impl Scenario {
    fn policies(&self) -> Policies<'_> {
        Policies {
            identity: &self.identity,
            resource: self.resource.as_ref(),
            resource_kind: self.resource_kind,
            scps: self.scps.as_deref(),
            ..Policies::default()
        }
    }
}

/// One request, ready for both engines.
struct Case {
    label: &'static str,
    expect: Verdict,
    principal: Principal,
    action: &'static str,
    resource: &'static str,
    resource_account: Option<&'static str>,
    context: Context,
    cedar_request: cedar::Request,
    cedar_entities: cedar::Entities,
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(
        label: &'static str,
        expect: Verdict,
        principal: Principal,
        cedar_principal: (&str, &str),
        action: &'static str,
        cedar_resource: (&str, &'static str),
        resource_account: Option<&'static str>,
        context: Context,
        cedar_entities: cedar::Entities,
    ) -> Self {
        let cedar_request = cedar::Request::new(
            uid(cedar_principal.0, cedar_principal.1),
            uid("Action", action),
            uid(cedar_resource.0, cedar_resource.1),
            cedar_context(&context),
            None,
        )
        .unwrap();
        Case {
            label,
            expect,
            principal,
            action,
            resource: cedar_resource.1,
            resource_account,
            context,
            cedar_request,
            cedar_entities,
        }
    }

    fn request(&self) -> Request<'_> {
        Request {
            principal: &self.principal,
            action: self.action,
            resource: self.resource,
            resource_account: self.resource_account,
            context: &self.context,
        }
    }
}

fn parse(source: &str) -> Policy {
    Policy::parse(source).unwrap_or_else(|e| panic!("benchmark policy does not parse: {e:?}"))
}

/// The IAM context: the given keys plus those IAM derives from the caller and
/// the request time.
fn iam_context(principal: &Principal, keys: &[(&str, String)]) -> Context {
    let mut context = Context::default();
    for (key, value) in keys {
        context.insert(key, value.clone());
    }
    context.derive_from_principal(principal, Timestamp::parse(NOW).unwrap());
    context
}

/// The Cedar context: the same keys (lower-cased, as orgtwin stores them) and
/// values, typed where IAM's operators read them as a type.
fn cedar_context(context: &Context) -> cedar::Context {
    use cedar::RestrictedExpression as R;
    let pairs = context.iter().map(|(key, value)| {
        let expr = match value {
            ContextValue::Multi(values) => R::new_set(values.iter().cloned().map(R::new_string)),
            ContextValue::Single(v) => match key {
                "aws:sourceip" => R::new_ip(v),
                "aws:currenttime" => R::new_datetime(v),
                "aws:epochtime" => R::new_long(v.parse().unwrap()),
                "aws:securetransport" | "aws:principalisawsservice" => R::new_bool(v == "true"),
                _ => R::new_string(v.clone()),
            },
        };
        (key.to_string(), expr)
    });
    cedar::Context::from_pairs(pairs).unwrap()
}

fn uid(kind: &str, id: &str) -> cedar::EntityUid {
    cedar::EntityUid::from_type_name_and_id(
        cedar::EntityTypeName::from_str(kind).unwrap(),
        cedar::EntityId::new(id),
    )
}

fn entity(kind: &str, id: &str, attrs: &[(&str, &str)], parents: &[(&str, &str)]) -> cedar::Entity {
    let attrs: HashMap<String, cedar::RestrictedExpression> = attrs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                cedar::RestrictedExpression::new_string(v.to_string()),
            )
        })
        .collect();
    let parents: HashSet<cedar::EntityUid> = parents.iter().map(|(k, i)| uid(k, i)).collect();
    cedar::Entity::new(uid(kind, id), attrs, parents).unwrap()
}

fn cedar_entities(entities: Vec<cedar::Entity>) -> cedar::Entities {
    cedar::Entities::from_entities(entities, None).unwrap()
}

/// Both engines must give the same answer on every request, and the one the
/// scenario expects, or the timings compare different work.
fn assert_agreement(scenario: &Scenario) {
    let policies = scenario.policies();
    let authorizer = cedar::Authorizer::new();
    for case in &scenario.cases {
        let what = format!("scenario ({}) {}", scenario.tag, case.label);
        let ours = evaluate(&case.request(), &policies);
        assert!(
            ours.explanation.errors.is_empty(),
            "{what}: orgtwin errors {:?}",
            ours.explanation
        );
        assert_eq!(
            ours.decision, case.expect,
            "{what}: orgtwin {:?}",
            ours.explanation
        );
        let theirs = authorizer.is_authorized(
            &case.cedar_request,
            &scenario.cedar_policies,
            &case.cedar_entities,
        );
        let errors: Vec<String> = theirs
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{what}: cedar errors {errors:?}");
        let reasons: Vec<String> = theirs
            .diagnostics()
            .reason()
            .map(|p| p.to_string())
            .collect();
        let cedar_verdict = match theirs.decision() {
            cedar::Decision::Allow => Verdict::Allow,
            // A deny with a determining policy was a forbid: explicit.
            cedar::Decision::Deny if reasons.is_empty() => Verdict::ImplicitDeny,
            cedar::Decision::Deny => Verdict::ExplicitDeny,
        };
        assert_eq!(
            ours.decision, cedar_verdict,
            "{what}: the engines disagree; orgtwin {:?}, cedar {reasons:?}",
            ours.explanation
        );
    }
}

// ---------------------------------------------------------------------------
// Timing.

fn criterion_benches(c: &mut Criterion, scenario: &Scenario) {
    let policies = scenario.policies();
    let authorizer = cedar::Authorizer::new();
    let mut group = c.benchmark_group(format!("scenario_{}", scenario.tag));
    for case in &scenario.cases {
        let request = case.request();
        let label = case.label.split(' ').next().unwrap_or(case.label);
        group.bench_function(format!("orgtwin/{label}"), |b| {
            b.iter(|| evaluate(black_box(&request), black_box(&policies)))
        });
        group.bench_function(format!("cedar/{label}"), |b| {
            b.iter(|| {
                authorizer.is_authorized(
                    black_box(&case.cedar_request),
                    black_box(&scenario.cedar_policies),
                    black_box(&case.cedar_entities),
                )
            })
        });
    }
    group.finish();
}

/// Nanoseconds per call of `decide`, from a plain loop after a warm-up.
fn ns_per_call<T>(mut decide: impl FnMut() -> T) -> f64 {
    for _ in 0..WARMUP_ITERATIONS {
        black_box(decide());
    }
    let start = Instant::now();
    for _ in 0..SUMMARY_ITERATIONS {
        black_box(decide());
    }
    start.elapsed().as_nanos() as f64 / f64::from(SUMMARY_ITERATIONS)
}

/// Prints one line per request and the scenario's summary line (the mean over
/// its requests).
fn summary(scenario: &Scenario) {
    let policies = scenario.policies();
    let authorizer = cedar::Authorizer::new();
    let (mut ours_total, mut theirs_total) = (0.0, 0.0);
    for case in &scenario.cases {
        let request = case.request();
        let ours = ns_per_call(|| evaluate(black_box(&request), black_box(&policies)));
        let theirs = ns_per_call(|| {
            authorizer.is_authorized(
                black_box(&case.cedar_request),
                black_box(&scenario.cedar_policies),
                black_box(&case.cedar_entities),
            )
        });
        println!(
            "  ({}) {}: orgtwin {ours:.0} ns, cedar {theirs:.0} ns",
            scenario.tag, case.label
        );
        ours_total += ours;
        theirs_total += theirs;
    }
    let n = scenario.cases.len() as f64;
    let (ours, theirs) = (ours_total / n, theirs_total / n);
    println!(
        "scenario ({}) orgtwin: {:.0} decisions/s ({ours:.0} ns/decision); cedar: {:.0} decisions/s \
         ({theirs:.0} ns); orgtwin/cedar speed ratio {:.2}",
        scenario.tag,
        1e9 / ours,
        1e9 / theirs,
        theirs / ours
    );
}

fn main() {
    let scenarios = [scenario_a(), scenario_b()];
    for scenario in &scenarios {
        assert_agreement(scenario);
    }
    let mut criterion = Criterion::default().configure_from_args();
    for scenario in &scenarios {
        criterion_benches(&mut criterion, scenario);
    }
    // `cargo test --benches` runs this binary without `--bench`: criterion
    // then runs each benchmark once as a test, and the summary loop is
    // skipped; so it is under `--profile-time` (running under a profiler).
    let args: Vec<String> = std::env::args().collect();
    let profiling = args.iter().any(|arg| arg.starts_with("--profile-time"));
    if args.iter().any(|arg| arg == "--bench") && !profiling {
        println!(
            "\nsummary: mean over each scenario's requests, {SUMMARY_ITERATIONS} calls per request \
             after {WARMUP_ITERATIONS} warm-up calls, one thread; speed ratio = cedar time / \
             orgtwin time (above 1: orgtwin is faster)"
        );
        for scenario in &scenarios {
            summary(scenario);
        }
    }
    criterion.final_summary();
}
