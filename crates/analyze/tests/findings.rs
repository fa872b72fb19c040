//! Findings: what the example produces, and for each rule a small model
//! that triggers it, with the finding pointing at the statement at fault.

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use orgtwin_analyze::findings::{Format, RULES, render, rule, worst};
use orgtwin_analyze::{Finding, Severity, findings};
use orgtwin_model::Model;

const ROOT: &str = r#"organization:
  id: o-test000001
  management_account: "100000000000"
include: [accounts.yaml]
scps:
  - name: FullAWSAccess
    id: p-FullAWSAccess
    document:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: "*"
          Resource: "*"
    targets: [root, "100000000000", "100000000001", "100000000002"]
"#;

const MANAGEMENT: &str = r#"accounts:
  - id: "100000000000"
    name: management
"#;

const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:100000000001:cluster/shared";
const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/AAAABBBBCCCCDDDDEEEEFFFF00001111";

fn model(extra_root: &str, accounts: &str) -> Model {
    let root = format!("{ROOT}{extra_root}");
    orgtwin_model::load_from_memory(
        "org.yaml",
        &[("org.yaml", &root), ("accounts.yaml", accounts)],
    )
    .unwrap_or_else(|e| panic!("{:#?}", e.iter().map(|x| x.brief()).collect::<Vec<_>>()))
}

/// The line (from 1) of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in the text"))
        + 1
}

fn of<'f>(found: &'f [Finding], id: &str, subject: &str) -> &'f Finding {
    for finding in found {
        assert!(rule(finding.id).is_some(), "`{}` has no rule", finding.id);
    }
    found
        .iter()
        .find(|f| f.id == id && f.subject == subject)
        .unwrap_or_else(|| panic!("no {id} for {subject} in {:#?}", ids(found)))
}

fn ids(found: &[Finding]) -> Vec<(String, String)> {
    found
        .iter()
        .map(|f| (f.id.to_string(), f.subject.clone()))
        .collect()
}

fn assert_at(finding: &Finding, file: &str, line: usize) {
    let place = finding
        .place
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no place", finding.id));
    assert_eq!(
        (place.file.as_str(), place.line),
        (file, line),
        "{finding:#?}"
    );
}

#[test]
fn the_example_has_only_its_platform_admins_to_report() {
    let model = orgtwin_model::embedded();
    let found = findings(&model);
    assert!(worst(&found) <= Some(Severity::Low), "{:#?}", ids(&found));
    let admins = [
        "arn:aws:iam::111122223333:role/platform-admin",
        "arn:aws:iam::444455556666:role/platform-admin",
        "arn:aws:iam::555566667777:role/platform-admin",
        "arn:aws:iam::777788889999:role/platform-admin",
    ];
    let mut expected: Vec<(String, String)> = Vec::new();
    for id in ["tag-admin", "trust-without-condition"] {
        expected.extend(admins.iter().map(|a| (id.to_string(), a.to_string())));
    }
    assert_eq!(ids(&found), expected);
    // The exemption is the SCP's first statement; the trust's statement
    // names the management account's root.
    let tag_admin = of(&found, "tag-admin", admins[0]);
    assert_at(tag_admin, "policies/scp-protect-eks-session-tags.json", 4);
    assert!(
        tag_admin.why.contains("AdministratorAccess"),
        "{tag_admin:#?}"
    );
    assert!(tag_admin.title.contains("ProtectEksSessionTags"));
    let trust = of(&found, "trust-without-condition", admins[1]);
    assert_at(trust, "policies/platform-admin-trust.json", 4);
    assert!(trust.why.contains("management account"));
    assert_eq!(findings(&model), found, "the same findings every time");
}

#[test]
fn trusts_that_do_not_pin_who_comes_in() {
    let accounts = format!(
        r#"{MANAGEMENT}  - id: "100000000001"
    name: cluster
  - id: "100000000002"
    name: workload
    iam:
      oidc_providers:
        - url: https://{ISSUER}
          client_ids: [sts.amazonaws.com]
      roles:
        - name: abac-unpinned
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: OnlyServiceAccount
                Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:root"}}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals:
                    aws:PrincipalTag/kubernetes-service-account: app
        - name: abac-namespace-like
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: NamespaceLike
                Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:root"}}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals:
                    aws:PrincipalTag/eks-cluster-arn: {CLUSTER_ARN}
                    aws:PrincipalTag/kubernetes-service-account: app
                  StringLike:
                    aws:PrincipalTag/kubernetes-namespace: team-*
        - name: abac-target-if-exists
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: TargetIfExists
                Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:role/pod-role"}}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals:
                    aws:RequestTag/eks-cluster-arn: {CLUSTER_ARN}
                  StringEqualsIfExists:
                    aws:RequestTag/kubernetes-namespace: apps
        - name: abac-pinned
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: Pinned
                Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:root"}}
                Action: [sts:AssumeRole, sts:TagSession]
                Condition:
                  StringEquals:
                    aws:PrincipalTag/eks-cluster-arn: {CLUSTER_ARN}
                    aws:PrincipalTag/kubernetes-namespace: [apps, jobs]
                    aws:PrincipalTag/kubernetes-service-account: app
        - name: irsa-sub-like
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: SubLike
                Effect: Allow
                Principal: {{Federated: "arn:aws:iam::100000000002:oidc-provider/{ISSUER}"}}
                Action: sts:AssumeRoleWithWebIdentity
                Condition:
                  StringLike:
                    "{ISSUER}:sub": "system:serviceaccount:apps:*"
                  StringEquals:
                    "{ISSUER}:aud": sts.amazonaws.com
        - name: irsa-no-aud
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: NoAudience
                Effect: Allow
                Principal: {{Federated: "arn:aws:iam::100000000002:oidc-provider/{ISSUER}"}}
                Action: sts:AssumeRoleWithWebIdentity
                Condition:
                  StringEquals:
                    "{ISSUER}:sub": "system:serviceaccount:apps:app"
        - name: irsa-pinned
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: IrsaPinned
                Effect: Allow
                Principal: {{Federated: "arn:aws:iam::100000000002:oidc-provider/{ISSUER}"}}
                Action: sts:AssumeRoleWithWebIdentity
                Condition:
                  StringEquals:
                    "{ISSUER}:sub": "system:serviceaccount:apps:app"
                    "{ISSUER}:aud": sts.amazonaws.com
        - name: open-to-all
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: Anyone
                Effect: Allow
                Principal: "*"
                Action: sts:AssumeRole
        - name: trusts-cluster-root
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: ClusterRoot
                Effect: Allow
                Principal: {{AWS: "100000000001"}}
                Action: sts:AssumeRole
        - name: trusts-own-root
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: OwnRoot
                Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000002:root"}}
                Action: sts:AssumeRole
        - name: trusts-a-service
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{Service: ec2.amazonaws.com}}
                Action: sts:AssumeRole
        - name: trusts-a-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{AWS: "arn:aws:iam::100000000001:role/deployer"}}
                Action: sts:AssumeRole
"#
    );
    let found = findings(&model("", &accounts));
    let arn = |name: &str| format!("arn:aws:iam::100000000002:role/{name}");
    let at = |sid: &str| line_of(&accounts, &format!("Sid: {sid}"));

    let unpinned = of(&found, "abac-trust-unpinned", &arn("abac-unpinned"));
    assert_eq!(unpinned.severity, Severity::High);
    assert_at(unpinned, "accounts.yaml", at("OnlyServiceAccount"));
    assert!(unpinned.title.contains("aws:PrincipalTag/eks-cluster-arn"));
    assert!(
        unpinned
            .title
            .contains("aws:PrincipalTag/kubernetes-namespace")
    );
    let like = of(&found, "abac-trust-unpinned", &arn("abac-namespace-like"));
    assert_at(like, "accounts.yaml", at("NamespaceLike"));
    assert!(like.title.contains("kubernetes-namespace") && !like.title.contains("eks-cluster-arn"));
    let if_exists = of(&found, "abac-trust-unpinned", &arn("abac-target-if-exists"));
    assert!(
        if_exists
            .title
            .contains("`aws:RequestTag/kubernetes-namespace`")
    );
    assert!(!if_exists.title.contains("eks-cluster-arn"));

    let sub = of(&found, "irsa-trust-unpinned", &arn("irsa-sub-like"));
    assert_at(sub, "accounts.yaml", at("SubLike"));
    assert!(
        sub.title.contains(":sub") && !sub.title.contains(":aud"),
        "{sub:#?}"
    );
    let aud = of(&found, "irsa-trust-unpinned", &arn("irsa-no-aud"));
    assert!(
        aud.title.contains(":aud") && !aud.title.contains(":sub"),
        "{aud:#?}"
    );

    let open = of(&found, "trust-without-condition", &arn("open-to-all"));
    assert_eq!(open.severity, Severity::Critical);
    assert_at(open, "accounts.yaml", at("Anyone"));
    let cluster = of(
        &found,
        "trust-without-condition",
        &arn("trusts-cluster-root"),
    );
    assert_eq!(cluster.severity, Severity::High);
    assert_at(cluster, "accounts.yaml", at("ClusterRoot"));
    let own = of(&found, "trust-without-condition", &arn("trusts-own-root"));
    assert_eq!(own.severity, Severity::Medium);

    let subjects: Vec<&str> = found.iter().map(|f| f.subject.as_str()).collect();
    for fine in [
        "abac-pinned",
        "irsa-pinned",
        "trusts-a-service",
        "trusts-a-role",
    ] {
        assert!(
            !subjects.contains(&arn(fine).as_str()),
            "{fine}: {:#?}",
            ids(&found)
        );
    }
    assert_eq!(found.len(), 8, "{:#?}", ids(&found));
    assert_eq!(found[0].severity, Severity::Critical, "most severe first");
}

#[test]
fn a_chaining_role_that_may_do_more() {
    let accounts = format!(
        r#"{MANAGEMENT}  - id: "100000000001"
    name: cluster
    iam:
      roles:
        - name: common-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{Service: pods.eks.amazonaws.com}}
                Action: [sts:AssumeRole, sts:TagSession]
          inline_policies:
            - name: Chain
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: Chain
                    Effect: Allow
                    Action: [sts:AssumeRole, sts:TagSession]
                    Resource: arn:aws:iam::100000000002:role/app
            - name: Extra
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: AlsoReadsBuckets
                    Effect: Allow
                    Action: s3:GetObject
                    Resource: "*"
        - name: sts-star-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{Service: pods.eks.amazonaws.com}}
                Action: [sts:AssumeRole, sts:TagSession]
          inline_policies:
            - name: Chain
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: StsStar
                    Effect: Allow
                    Action: sts:*
                    Resource: arn:aws:iam::100000000002:role/app
        - name: lean-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{Service: pods.eks.amazonaws.com}}
                Action: [sts:AssumeRole, sts:TagSession]
          inline_policies:
            - name: Chain
              document:
                Version: "2012-10-17"
                Statement:
                  - Effect: Allow
                    Action: [sts:AssumeRole, sts:TagSession]
                    Resource: arn:aws:iam::100000000002:role/app
        - name: workload-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {{Service: pods.eks.amazonaws.com}}
                Action: [sts:AssumeRole, sts:TagSession]
          inline_policies:
            - name: Reads
              document:
                Version: "2012-10-17"
                Statement:
                  - Effect: Allow
                    Action: s3:GetObject
                    Resource: "*"
  - id: "100000000002"
    name: workload
"#
    );
    let found = findings(&model("", &accounts));
    let arn = |name: &str| format!("arn:aws:iam::100000000001:role/{name}");
    let common = of(&found, "chaining-role-too-broad", &arn("common-role"));
    assert_eq!(common.severity, Severity::High);
    assert_at(
        common,
        "accounts.yaml",
        line_of(&accounts, "Sid: AlsoReadsBuckets"),
    );
    assert!(
        common
            .why
            .contains("`s3:GetObject` in Extra (AlsoReadsBuckets)"),
        "{common:#?}"
    );
    let star = of(&found, "chaining-role-too-broad", &arn("sts-star-role"));
    assert!(star.why.contains("`sts:*`"));
    assert_eq!(
        found.len(),
        2,
        "lean-role and workload-role are fine: {:#?}",
        ids(&found)
    );
}

/// Principals that may tag: a member account's user and roles, and a user
/// of the management account.
const TAGGERS: &str = r#"accounts:
  - id: "100000000000"
    name: management
    iam:
      users:
        - name: mgmt-tagger
          inline_policies:
            - name: TagUsers
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: TagUsers
                    Effect: Allow
                    Action: iam:TagUser
                    Resource: "*"
  - id: "100000000001"
    name: cluster
    iam:
      users:
        - name: iam-admin
          managed_policies: [arn:aws:iam::aws:policy/IAMFullAccess]
        - name: reader
          managed_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]
      roles:
        - name: tagger
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: ec2.amazonaws.com}
                Action: sts:AssumeRole
          inline_policies:
            - name: TagRoles
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: TagRoles
                    Effect: Allow
                    Action: iam:TagRole
                    Resource: arn:aws:iam::100000000001:role/*
        - name: platform-admin
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: ec2.amazonaws.com}
                Action: sts:AssumeRole
          managed_policies: [arn:aws:iam::aws:policy/AdministratorAccess]
  - id: "100000000002"
    name: workload
"#;

fn protect(patterns: &str) -> String {
    format!(
        r#"  - name: ProtectEksSessionTags
    document:
      Version: "2012-10-17"
      Statement:
        - Sid: DenyEksTags
          Effect: Deny
          Action: [iam:TagRole, iam:TagUser, iam:UntagRole, iam:UntagUser, iam:CreateRole, iam:CreateUser]
          Resource: "*"
          Condition:
            ForAnyValue:StringLike:
              aws:TagKeys: {patterns}
            ArnNotLike:
              aws:PrincipalArn: arn:aws:iam::*:role/platform-admin
    targets: [root]
"#
    )
}

#[test]
fn principals_that_can_forge_pod_tags() {
    let user = |account: &str, name: &str| format!("arn:aws:iam::{account}:user/{name}");
    let role = |name: &str| format!("arn:aws:iam::100000000001:role/{name}");

    // No SCP protects the tags: everyone who may tag is critical.
    let found = findings(&model("", TAGGERS));
    for subject in [
        user("100000000000", "mgmt-tagger"),
        user("100000000001", "iam-admin"),
        role("tagger"),
        role("platform-admin"),
    ] {
        let f = of(&found, "can-forge-pod-tags", &subject);
        assert_eq!(f.severity, Severity::Critical);
    }
    let tagger = of(&found, "can-forge-pod-tags", &role("tagger"));
    assert_at(tagger, "accounts.yaml", line_of(TAGGERS, "Sid: TagRoles"));
    assert!(
        tagger.why.contains("identity policy TagRoles (TagRoles)"),
        "{tagger:#?}"
    );
    let mgmt = of(
        &found,
        "can-forge-pod-tags",
        &user("100000000000", "mgmt-tagger"),
    );
    assert!(mgmt.why.contains("management account"), "{mgmt:#?}");
    assert_eq!(found.len(), 4, "the reader may not tag: {:#?}", ids(&found));

    // The guide's SCP: only platform-admin, which it exempts, and the
    // management account, where SCPs do not apply, are left.
    let extra = protect("[kubernetes-*, eks-*]");
    let root = format!("{ROOT}{extra}");
    let found = findings(&model(&extra, TAGGERS));
    assert_eq!(
        ids(&found),
        [
            (
                "can-forge-pod-tags".into(),
                user("100000000000", "mgmt-tagger")
            ),
            ("tag-admin".into(), role("platform-admin")),
        ]
    );
    let admin = of(&found, "tag-admin", &role("platform-admin"));
    assert_eq!(admin.severity, Severity::Low);
    assert_at(admin, "org.yaml", line_of(&root, "Sid: DenyEksTags"));

    // An SCP that protects only `kubernetes-*` leaves `eks-cluster-arn`.
    let found = findings(&model(&protect("[kubernetes-*]"), TAGGERS));
    let tagger = of(&found, "can-forge-pod-tags", &role("tagger"));
    assert!(tagger.title.contains("eks-cluster-arn"), "{tagger:#?}");
}

/// A cluster in 100000000001 whose associations and IRSA service accounts
/// each break one way; the workload roles live in 100000000002.
fn broken_paths() -> String {
    let pod_trust = r#"          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Principal: {Service: pods.eks.amazonaws.com}
                Action: [sts:AssumeRole, sts:TagSession]
"#;
    let chain = |name: &str, target: &str, sid: &str, actions: &str| {
        format!(
            r#"        - name: {name}
{pod_trust}          inline_policies:
            - name: Chain
              document:
                Version: "2012-10-17"
                Statement:
                  - Sid: {sid}
                    Effect: Allow
                    Action: {actions}
                    Resource: arn:aws:iam::100000000002:role/{target}
"#
        )
    };
    let target = |name: &str, principal: &str, sid: &str, actions: &str| {
        format!(
            r#"        - name: {name}
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: {sid}
                Effect: Allow
                Principal: {{AWS: "{principal}"}}
                Action: {actions}
                Condition:
                  StringEquals:
                    aws:PrincipalTag/eks-cluster-arn: {CLUSTER_ARN}
                    aws:PrincipalTag/kubernetes-namespace: apps
"#
        )
    };
    let pod = |name: &str| format!("arn:aws:iam::100000000001:role/{name}");
    let both = "[sts:AssumeRole, sts:TagSession]";
    let association = |sa: &str, role: &str, target: Option<&str>| {
        let mut out = format!(
            "            - namespace: apps\n              service_account: {sa}\n              role_arn: {}\n",
            pod(role)
        );
        if let Some(t) = target {
            out.push_str(&format!(
                "              target_role_arn: arn:aws:iam::100000000002:role/{t}\n"
            ));
        }
        out
    };
    let mut sas = String::new();
    for sa in ["sa1", "sa2", "sa3", "sa4", "sa5", "sa6", "sa7"] {
        sas.push_str(&format!(
            "            - namespace: apps\n              name: {sa}\n"
        ));
    }
    // The trap: the same name in another namespace.
    sas.push_str("            - namespace: other\n              name: sa7\n");
    let trap = association("sa7", "pod-p7", None).replace("namespace: apps", "namespace: other");
    let irsa = [
        ("irsa-a", "irsa-no-provider"),
        ("irsa-b", "irsa-other-sub"),
        ("irsa-c", "irsa-fenced"),
    ];
    for (sa, role) in irsa {
        let account = if sa == "irsa-a" {
            "100000000002"
        } else {
            "100000000001"
        };
        sas.push_str(&format!(
            "            - namespace: apps\n              name: {sa}\n              annotations:\n                eks.amazonaws.com/role-arn: arn:aws:iam::{account}:role/{role}\n"
        ));
    }
    let irsa_trust = |account: &str, sid: &str, sub: &str| {
        format!(
            r#"          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: {sid}
                Effect: Allow
                Principal: {{Federated: "arn:aws:iam::{account}:oidc-provider/{ISSUER}"}}
                Action: sts:AssumeRoleWithWebIdentity
                Condition:
                  StringEquals:
                    "{ISSUER}:sub": "system:serviceaccount:apps:{sub}"
                    "{ISSUER}:aud": sts.amazonaws.com
"#
        )
    };
    format!(
        r#"{MANAGEMENT}  - id: "100000000001"
    name: cluster
    eks:
      clusters:
        - name: shared
          oidc_issuer_id: AAAABBBBCCCCDDDDEEEEFFFF00001111
          service_accounts:
{sas}          pod_identity_associations:
{a1}{a2}{a3}{a4}{a5}{a6}{a7}{trap}    iam:
      oidc_providers:
        - url: https://{ISSUER}
          client_ids: [sts.amazonaws.com]
      roles:
        - name: no-tag-role
          trust_policy:
            Version: "2012-10-17"
            Statement:
              - Sid: PodsWithoutTags
                Effect: Allow
                Principal: {{Service: pods.eks.amazonaws.com}}
                Action: sts:AssumeRole
{p2}{p3}        - name: pod-p4
{pod_trust}{p5}{p6}{p7}        - name: irsa-other-sub
{irsa_b}        - name: irsa-fenced
{irsa_c}  - id: "100000000002"
    name: workload
    iam:
      roles:
{t2}{t3}{t4}{t5}{t6}{t7}        - name: irsa-no-provider
{irsa_a}"#,
        a1 = association("sa1", "no-tag-role", None),
        a2 = association("sa2", "pod-p2", Some("target-no-tag")),
        a3 = association("sa3", "pod-p3", Some("target-other")),
        a4 = association("sa4", "pod-p4", Some("target-p4")),
        a5 = association("sa5", "pod-p5", None),
        a6 = association("sa6", "pod-p6", Some("blocked-target")),
        a7 = association("sa7", "pod-p7", None),
        p2 = chain("pod-p2", "target-no-tag", "ChainP2", both),
        p3 = chain("pod-p3", "target-other", "ChainP3", both),
        p5 = chain(
            "pod-p5",
            "chain-target",
            "ChainWithoutTags",
            "sts:AssumeRole"
        ),
        p6 = chain("pod-p6", "blocked-target", "ChainP6", both),
        p7 = chain("pod-p7", "fenced-chain", "ChainP7", both),
        t2 = target(
            "target-no-tag",
            &pod("pod-p2"),
            "TargetWithoutTags",
            "sts:AssumeRole"
        ),
        t3 = target("target-other", &pod("someone-else"), "SomeoneElse", both),
        t4 = target("target-p4", &pod("pod-p4"), "TrustsP4", both),
        t5 = target(
            "chain-target",
            "arn:aws:iam::100000000001:root",
            "ClusterPods",
            both
        ),
        t6 = target("blocked-target", &pod("pod-p6"), "TrustsP6", both),
        t7 = target(
            "fenced-chain",
            "arn:aws:iam::100000000001:root",
            "FencedChain",
            both
        ),
        irsa_a = irsa_trust("100000000002", "IrsaWithoutProvider", "irsa-a"),
        irsa_b = irsa_trust("100000000001", "IrsaOtherSub", "someone-else"),
        irsa_c = irsa_trust("100000000001", "IrsaFenced", "irsa-c"),
    )
}

const BLOCK: &str = r#"  - name: BlockTarget
    id: p-blocktarget
    document:
      Version: "2012-10-17"
      Statement:
        - Sid: DenyBlockedTarget
          Effect: Deny
          Action: sts:AssumeRole
          Resource:
            - arn:aws:iam::100000000002:role/blocked-target
            - arn:aws:iam::100000000002:role/fenced-chain
    targets: ["100000000001"]
rcps:
  - name: FenceIrsa
    id: p-fenceirsa
    document:
      Version: "2012-10-17"
      Statement:
        - Sid: DenyIrsaFenced
          Effect: Deny
          Principal: "*"
          Action: sts:AssumeRoleWithWebIdentity
          Resource: arn:aws:iam::100000000001:role/irsa-fenced
    targets: ["100000000001"]
"#;

#[test]
fn paths_that_break_name_what_breaks_them() {
    let accounts = broken_paths();
    let found = findings(&model(BLOCK, &accounts));
    let cluster = |name: &str| format!("arn:aws:iam::100000000001:role/{name}");
    let workload = |name: &str| format!("arn:aws:iam::100000000002:role/{name}");
    let at = |sid: &str| line_of(&accounts, &format!("Sid: {sid}"));

    let untrusting = of(
        &found,
        "association-role-untrusting",
        &cluster("no-tag-role"),
    );
    assert_eq!(untrusting.severity, Severity::Medium);
    assert!(
        untrusting.title.contains("sts:TagSession"),
        "{untrusting:#?}"
    );
    assert_at(untrusting, "accounts.yaml", at("PodsWithoutTags"));

    let target_tags = of(
        &found,
        "chain-missing-tag-session",
        &workload("target-no-tag"),
    );
    assert!(
        target_tags.title.contains("the trust of"),
        "{target_tags:#?}"
    );
    assert_at(target_tags, "accounts.yaml", at("TargetWithoutTags"));

    let other = of(&found, "target-role-untrusting", &workload("target-other"));
    assert!(other.title.contains("pod-p3"));

    let p4 = of(&found, "pod-role-cannot-assume-target", &cluster("pod-p4"));
    assert!(p4.title.contains("target-p4"));

    // By hand: pod-p5's session may assume chain-target but not pass its tags.
    let by_hand = of(
        &found,
        "chain-missing-tag-session",
        &workload("chain-target"),
    );
    assert!(by_hand.title.contains("identity policies"), "{by_hand:#?}");
    assert!(by_hand.title.contains("shared/apps/sa5"));
    assert_at(by_hand, "accounts.yaml", at("ChainWithoutTags"));

    // The SCP blocks the target hop of sa6 and the chain by hand of sa7;
    // the same chain from `other/sa7`, which the trust refuses, is no path.
    let blocks: Vec<&Finding> = found.iter().filter(|f| f.id == "scp-blocks-path").collect();
    let root = format!("{ROOT}{BLOCK}");
    let scp = "arn:aws:organizations::100000000000:policy/o-test000001/service_control_policy/p-blocktarget";
    let rcp = "arn:aws:organizations::100000000000:policy/o-test000001/resource_control_policy/p-fenceirsa";
    let titles: Vec<(&str, &str)> = blocks
        .iter()
        .map(|f| (f.subject.as_str(), f.title.as_str()))
        .collect();
    assert_eq!(titles.len(), 3, "{titles:#?}");
    assert!(
        titles
            .iter()
            .any(|(s, t)| *s == scp && t.contains("shared/apps/sa6"))
    );
    assert!(
        titles
            .iter()
            .any(|(s, t)| *s == scp && t.contains("shared/apps/sa7"))
    );
    assert!(
        titles
            .iter()
            .any(|(s, t)| *s == rcp && t.contains("shared/apps/irsa-c"))
    );
    assert!(!titles.iter().any(|(_, t)| t.contains("other/sa7")));
    for block in &blocks {
        let sid = if block.subject == scp {
            "DenyBlockedTarget"
        } else {
            "DenyIrsaFenced"
        };
        assert_at(block, "org.yaml", line_of(&root, &format!("Sid: {sid}")));
    }

    let provider = of(&found, "irsa-no-provider", &workload("irsa-no-provider"));
    assert_at(provider, "accounts.yaml", at("IrsaWithoutProvider"));
    assert!(provider.why.contains("InvalidIdentityToken"));
    let sub = of(&found, "irsa-role-untrusting", &cluster("irsa-other-sub"));
    assert_at(sub, "accounts.yaml", at("IrsaOtherSub"));

    let path_ids = [
        "association-role-untrusting",
        "chain-missing-tag-session",
        "target-role-untrusting",
        "pod-role-cannot-assume-target",
        "scp-blocks-path",
        "irsa-no-provider",
        "irsa-role-untrusting",
    ];
    let unexpected: Vec<_> = found
        .iter()
        .filter(|f| !path_ids.contains(&f.id))
        .map(|f| (f.id, &f.subject))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!(found.len(), 10, "{:#?}", ids(&found));
}

#[test]
fn severities_parse_and_order() {
    assert_eq!(Severity::parse("HIGH"), Ok(Severity::High));
    assert!(Severity::parse("severe").is_err());
    assert!(Severity::Low < Severity::Medium && Severity::High < Severity::Critical);
    assert_eq!(Severity::Critical.sarif_level(), "error");
    assert_eq!(Severity::Medium.sarif_level(), "warning");
    assert_eq!(Severity::Low.sarif_level(), "note");
}

#[test]
fn reports_as_json_and_sarif() {
    let model = orgtwin_model::embedded();
    let found = findings(&model);
    let json: serde_json::Value = serde_json::from_str(&render(Format::Json, &found)).unwrap();
    assert_eq!(json["findings"][0]["id"], "tag-admin");
    assert_eq!(json["findings"][0]["severity"], "low");
    assert_eq!(
        json["findings"][0]["place"]["file"],
        "policies/scp-protect-eks-session-tags.json"
    );
    assert_eq!(json["counts"]["low"], 8);

    let sarif: serde_json::Value = serde_json::from_str(&render(Format::Sarif, &found)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "orgtwin");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), RULES.len());
    let result = &run["results"][0];
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], result["ruleId"]);
    assert_eq!(result["level"], "note");
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        location["artifactLocation"]["uri"],
        "policies/scp-protect-eks-session-tags.json"
    );
    assert_eq!(location["region"]["startLine"], 4);
    assert_eq!(location["region"]["startColumn"], 5);

    let table = render(Format::Table, &found);
    assert!(table.starts_with("8 finding(s): 0 critical, 0 high, 0 medium, 8 low"));
    assert!(table.contains("why: ") && table.contains("fix: "));
    assert_eq!(render(Format::Table, &[]), "no findings\n");
    for finding in &found {
        assert!(rule(finding.id).is_some(), "{} has a rule", finding.id);
    }
}
