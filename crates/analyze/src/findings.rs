//! Findings: the mistakes the EKS multi-account guide warns about, found in
//! a model before anything runs, each with its severity, the ARN at fault,
//! the file, line and column of the statement at fault, why it matters and
//! how to fix it.
//!
//! Three kinds of rule:
//!
//! - **Trusts** (`trusts`), read from the trust policies' statements: an
//!   ABAC trust on Pod Identity's session tags that does not pin both the
//!   cluster ARN and the namespace (`abac-trust-unpinned`), an IRSA trust
//!   without an exact `:sub` or without `:aud` (`irsa-trust-unpinned`), a
//!   trust of an account root or `*` with no condition
//!   (`trust-without-condition`).
//! - **Permissions** (`permissions`): a Pod Identity role that chains into
//!   other accounts and may do anything else (`chaining-role-too-broad`,
//!   read from the actions its identity policies allow), and every principal
//!   that may set `kubernetes-*` or `eks-*` tags on IAM roles or users
//!   (`can-forge-pod-tags`, `tag-admin`), decided by the identity plane's
//!   [`orgtwin_identity::authorize`] with its SCPs and boundaries.
//! - **Paths** (`paths`): every Pod Identity association and IRSA service
//!   account walked through the same code as the twin's EKS Auth and STS
//!   (`orgtwin_identity::pod_identity_session`, `assume_role`,
//!   `web_identity_session`), and every role that trusts a Pod Identity
//!   role's account or the role itself tried with the pod's session: a hop
//!   that fails names the trust, permission, provider or SCP that broke it.
//!   IRSA service accounts (`irsa`) likewise. These break workloads
//!   rather than open access.
//!
//! The order of findings is deterministic: most severe first, then by id,
//! subject, place and title. Conditions on time are evaluated at
//! [`AS_OF`].

use std::fmt;

use orgtwin_model::{Document, Model, Place};
use orgtwin_policy::{PolicySource, StatementRef, Timestamp};
use serde::Serialize;

mod irsa;
mod paths;
mod permissions;
mod report;
mod trusts;

pub use report::{Format, render};

/// The instant the findings' decisions are made at (2026-01-01T00:00:00Z):
/// fixed, so that the same model gives the same findings.
pub const AS_OF: i64 = 1_767_225_600;

/// How much a finding matters, least first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// `low`, `medium`, `high` or `critical`, in any case.
    pub fn parse(text: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| format!("`{text}` is not a severity: use low, medium, high or critical"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// SARIF's `level`: `error` for high and critical, `warning` for
    /// medium, `note` for low.
    pub fn sarif_level(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::parse(text)
    }
}

impl Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One mistake, where it is, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's stable id, as [`RULES`] lists it.
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    /// The ARN at fault: a role, a policy, an association.
    pub subject: String,
    /// Where the statement (or the policy) at fault was written.
    pub place: Option<Place>,
    pub why: String,
    pub fix: String,
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let place = self
            .place
            .as_ref()
            .map(|p| serde_json::json!({"file": p.file, "line": p.line, "column": p.column}));
        let mut s = serializer.serialize_struct("Finding", 7)?;
        s.serialize_field("id", self.id)?;
        s.serialize_field("severity", &self.severity)?;
        s.serialize_field("title", &self.title)?;
        s.serialize_field("subject", &self.subject)?;
        s.serialize_field("place", &place)?;
        s.serialize_field("why", &self.why)?;
        s.serialize_field("fix", &self.fix)?;
        s.end()
    }
}

/// A rule: what its findings are about, in general.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    /// The severity of its findings (some rules report a case at another
    /// severity: see `docs/findings.md`).
    pub severity: Severity,
    pub summary: &'static str,
    pub help: &'static str,
}

/// Every rule, in the order `docs/findings.md` lists them.
pub const RULES: &[Rule] = &[
    Rule {
        id: "abac-trust-unpinned",
        severity: Severity::High,
        summary: "An ABAC trust on Pod Identity session tags does not pin the cluster ARN and the namespace",
        help: "Service account names repeat across namespaces and clusters. Check \
               `eks-cluster-arn` and `kubernetes-namespace` (and the service account) with \
               exact `StringEquals` values.",
    },
    Rule {
        id: "irsa-trust-unpinned",
        severity: Severity::High,
        summary: "An IRSA trust has no exact `:sub` or no `:aud` condition",
        help: "Without an exact `ISSUER:sub`, every service account of the cluster (or those a \
               wildcard matches) may assume the role. Pin `ISSUER:sub` to \
               `system:serviceaccount:NAMESPACE:NAME` and `ISSUER:aud` to `sts.amazonaws.com` \
               with `StringEquals`.",
    },
    Rule {
        id: "trust-without-condition",
        severity: Severity::High,
        summary: "A trust policy admits an account root or `*` with no condition",
        help: "Trusting an account's root delegates to every principal there that may call \
               `sts:AssumeRole`; `*` admits anyone. Name the roles that should come in, or add \
               conditions (`aws:PrincipalArn`, session tags, `sts:ExternalId`).",
    },
    Rule {
        id: "chaining-role-too-broad",
        severity: Severity::High,
        summary: "A Pod Identity role that chains into other accounts has other permissions",
        help: "With ABAC, the common role is shared by every workload of the cluster; give it \
               only `sts:AssumeRole` and `sts:TagSession` on the workload roles it chains into.",
    },
    Rule {
        id: "can-forge-pod-tags",
        severity: Severity::Critical,
        summary: "A principal may set `kubernetes-*` or `eks-*` tags on IAM roles or users, and no SCP stops it",
        help: "Whoever sets the tags Pod Identity sets passes every ABAC trust that checks them: \
               it impersonates any pod. Deny tagging with those keys in an SCP, except for a \
               break-glass platform role.",
    },
    Rule {
        id: "tag-admin",
        severity: Severity::Low,
        summary: "A principal the SCP exempts may set `kubernetes-*` or `eks-*` tags",
        help: "The exempted platform role can impersonate pods; keep it to break-glass use and \
               watch its use.",
    },
    Rule {
        id: "association-role-untrusting",
        severity: Severity::Medium,
        summary: "A Pod Identity association's role does not trust `pods.eks.amazonaws.com` for `sts:AssumeRole` and `sts:TagSession`",
        help: "EKS Auth assumes the role as `pods.eks.amazonaws.com` and tags the session; the \
               trust must allow both actions, or the pod gets no credentials.",
    },
    Rule {
        id: "target-role-untrusting",
        severity: Severity::Medium,
        summary: "An association's target role does not trust the association's role",
        help: "EKS assumes the target role with the first role's session; the target's trust \
               must name that role (or its account) for `sts:AssumeRole` and `sts:TagSession`.",
    },
    Rule {
        id: "pod-role-cannot-assume-target",
        severity: Severity::Medium,
        summary: "An association's role may not assume its target role",
        help: "Across accounts both sides must allow: the first role's identity policy needs \
               `sts:AssumeRole` and `sts:TagSession` on the target role.",
    },
    Rule {
        id: "chain-missing-tag-session",
        severity: Severity::Medium,
        summary: "A role chained from a Pod Identity session does not allow `sts:TagSession`",
        help: "Pod Identity's tags are transitive: every hop after it passes them on, which is \
               `sts:TagSession`; the next role's trust and the caller's identity policy must \
               both allow it.",
    },
    Rule {
        id: "irsa-no-provider",
        severity: Severity::Medium,
        summary: "An IRSA role's account has no OIDC provider for the cluster's issuer (or the provider refuses the audience)",
        help: "`AssumeRoleWithWebIdentity` needs the cluster's issuer registered as an IAM OIDC \
               provider in the role's account, with the token's audience among its client ids.",
    },
    Rule {
        id: "irsa-role-untrusting",
        severity: Severity::Medium,
        summary: "An IRSA role's trust does not admit the service account that names it",
        help: "The trust must allow the cluster's OIDC provider for \
               `sts:AssumeRoleWithWebIdentity` with this service account's `:sub` and `:aud`.",
    },
    Rule {
        id: "session-tags-too-large",
        severity: Severity::Medium,
        summary: "Pod Identity's six session tags can exceed STS's packed size",
        help: "Long cluster, namespace, service account and pod names fill the packed budget of \
               session tags; shorten the names or disable the session tags of the association.",
    },
    Rule {
        id: "association-refused",
        severity: Severity::Medium,
        summary: "EKS Auth refuses an association for another reason",
        help: "The message says what STS refused; fix the association or its roles.",
    },
    Rule {
        id: "scp-blocks-path",
        severity: Severity::Medium,
        summary: "An SCP or RCP denies a hop a declared Pod Identity or IRSA path needs",
        help: "The path is declared (an association, an IRSA annotation, a trust that admits \
               the pod), but an organization policy denies one of its actions; exempt the \
               path in the policy, or remove the declaration.",
    },
];

/// The rule of an id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Every finding of `model`, most severe first.
pub fn findings(model: &Model) -> Vec<Finding> {
    let now = Timestamp::from_unix_seconds(AS_OF);
    let mut out = Vec::new();
    trusts::check(model, &mut out);
    permissions::check(model, now, &mut out);
    paths::check(model, now, &mut out);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(b.id))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.place.cmp(&b.place))
            .then_with(|| a.title.cmp(&b.title))
    });
    out.dedup_by(|a, b| a.id == b.id && a.subject == b.subject && a.title == b.title);
    out
}

/// The most severe finding's severity.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

/// What the statement is, for people: `identity policy NAME (Sid)`.
pub(crate) fn label(statement: &StatementRef) -> String {
    match &statement.sid {
        Some(sid) => format!("{} ({sid})", statement.policy_label()),
        None => format!(
            "{} (statement {})",
            statement.policy_label(),
            statement.index
        ),
    }
}

/// Where a statement of `document` was written.
fn statement_place(document: &Document, index: usize) -> Option<Place> {
    document.place_of_statement(index).cloned()
}

/// Where a document was written.
fn document_place(document: &Document) -> Option<Place> {
    document.places.as_ref().map(|p| p.document.clone())
}

/// Whose identity policies a decision's statements come from.
#[derive(Clone, Copy)]
enum Owner<'a> {
    Role { account: &'a str, name: &'a str },
    User { account: &'a str, name: &'a str },
}

/// The document an identity policy's name stands for, as
/// `Model::identity_policies_of_role` and `_of_user` name them: an inline
/// policy by name (`GROUP/NAME` for a group's), a managed one by ARN.
fn identity_document<'m>(model: &'m Model, owner: Owner<'_>, name: &str) -> Option<&'m Document> {
    if let Some(managed) = model.managed_policy(name) {
        return Some(&managed.document);
    }
    match owner {
        Owner::Role {
            account,
            name: role,
        } => model
            .role(account, role)?
            .inline_policies
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.document),
        Owner::User {
            account,
            name: user,
        } => {
            let user = model.user(account, user)?;
            if let Some(p) = user.inline_policies.iter().find(|p| p.name == name) {
                return Some(&p.document);
            }
            let (group, policy) = name.split_once('/')?;
            model
                .group(account, group)?
                .inline_policies
                .iter()
                .find(|p| p.name == policy)
                .map(|p| &p.document)
        }
    }
}

/// Where a statement a decision names was written: an identity policy of
/// `owner`, an SCP or RCP of the model, or `trust` (the role whose trust
/// policy was asked).
fn place_of(
    model: &Model,
    statement: &StatementRef,
    owner: Option<Owner<'_>>,
    trust: Option<&Document>,
) -> Option<Place> {
    let document = match &statement.source {
        PolicySource::Identity => identity_document(model, owner?, &statement.policy)?,
        PolicySource::Boundary => &model.managed_policy(&statement.policy)?.document,
        PolicySource::Scp { .. } => {
            &model
                .scps
                .iter()
                .find(|p| *p.name == *statement.policy)?
                .document
        }
        PolicySource::Rcp { .. } => {
            &model
                .rcps
                .iter()
                .find(|p| *p.name == *statement.policy)?
                .document
        }
        PolicySource::Resource(_) => trust?,
        PolicySource::Session => return None,
    };
    statement_place(document, statement.index)
}

/// An SCP's or RCP's ARN, as Organizations names it.
fn org_policy_arn(model: &Model, statement: &StatementRef) -> String {
    let (list, kind) = match statement.source {
        PolicySource::Rcp { .. } => (&model.rcps, "resource_control_policy"),
        _ => (&model.scps, "service_control_policy"),
    };
    let id = list
        .iter()
        .find(|p| *p.name == *statement.policy)
        .map_or_else(|| statement.policy.to_string(), |p| p.id.clone());
    format!(
        "arn:aws:organizations::{}:policy/{}/{kind}/{id}",
        model.organization.management_account, model.organization.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_kebab_case() {
        for (n, rule) in RULES.iter().enumerate() {
            assert!(
                RULES.iter().skip(n + 1).all(|r| r.id != rule.id),
                "{}",
                rule.id
            );
            assert!(
                rule.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                rule.id
            );
        }
    }
}
