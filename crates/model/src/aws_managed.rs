//! The AWS managed policies a model may attach without defining them.
//!
//! AWS keeps hundreds of managed policies under `arn:aws:iam::aws:policy/`;
//! orgtwin ships the few that platform teams attach most, with their real
//! documents (the files under `crates/model/aws-managed/`):
//!
//! | policy | document |
//! |---|---|
//! | `AdministratorAccess` | AWS's: allow `*` on `*` |
//! | `PowerUserAccess` | AWS's: everything but `iam:*`, `organizations:*`, `account:*`, plus the few IAM, Organizations and Account reads AWS adds back |
//! | `ReadOnlyAccess` | **abbreviated**: AWS's lists thousands of read actions of every service; orgtwin's keeps the same `Describe*`/`Get*`/`List*` grants for the services it models (EC2, EKS, IAM, Organizations, RAM, S3, STS) only |
//! | `IAMFullAccess` | AWS's: `iam:*` and the Organizations reads IAM's console uses |
//! | `AmazonS3ReadOnlyAccess` | AWS's: `s3:Get*`, `s3:List*`, `s3:Describe*` and the S3 Object Lambda reads |
//! | `AmazonS3FullAccess` | AWS's: `s3:*` and `s3-object-lambda:*` |
//!
//! Their unique ids are derived from their ARNs, not AWS's real ids.

use std::sync::LazyLock;

use orgtwin_policy::principal::stable_id;

use crate::document::Document;
use crate::model::ManagedPolicy;

/// The ARN prefix of AWS managed policies.
pub const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

const SOURCES: [(&str, &str, &str); 6] = [
    (
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        include_str!("../aws-managed/AdministratorAccess.json"),
    ),
    (
        "PowerUserAccess",
        "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        include_str!("../aws-managed/PowerUserAccess.json"),
    ),
    (
        "ReadOnlyAccess",
        "Provides read-only access to AWS services and resources.",
        include_str!("../aws-managed/ReadOnlyAccess.json"),
    ),
    (
        "IAMFullAccess",
        "Provides full access to IAM via the AWS Management Console.",
        include_str!("../aws-managed/IAMFullAccess.json"),
    ),
    (
        "AmazonS3ReadOnlyAccess",
        "Provides read only access to all buckets via the AWS Management Console.",
        include_str!("../aws-managed/AmazonS3ReadOnlyAccess.json"),
    ),
    (
        "AmazonS3FullAccess",
        "Provides full access to all buckets via the AWS Management Console.",
        include_str!("../aws-managed/AmazonS3FullAccess.json"),
    ),
];

static POLICIES: LazyLock<Vec<ManagedPolicy>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter_map(|(name, description, text)| {
            let arn = format!("{ARN_PREFIX}{name}");
            Some(ManagedPolicy {
                name: (*name).to_string(),
                path: "/".to_string(),
                id: stable_id("ANPA", &arn),
                arn,
                description: Some((*description).to_string()),
                document: Document::parse(text).ok()?,
            })
        })
        .collect()
});

/// Every built-in AWS managed policy.
pub fn policies() -> &'static [ManagedPolicy] {
    &POLICIES
}

/// A built-in AWS managed policy, by ARN.
pub fn policy(arn: &str) -> Option<&'static ManagedPolicy> {
    POLICIES.iter().find(|p| p.arn == arn)
}

/// The names of the built-in set, for messages.
pub fn names() -> Vec<&'static str> {
    SOURCES.iter().map(|(name, _, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use orgtwin_policy::{PolicyType, validate};

    use super::*;

    #[test]
    fn every_built_in_policy_is_a_valid_identity_policy() {
        assert_eq!(policies().len(), SOURCES.len());
        for policy in policies() {
            let errors = validate(&policy.document.policy, PolicyType::Identity);
            assert!(errors.is_empty(), "{}: {errors:?}", policy.name);
            assert!(policy.id.starts_with("ANPA") && policy.id.len() == 21);
        }
        assert!(policy("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(policy("arn:aws:iam::aws:policy/SecurityAudit").is_none());
    }
}
