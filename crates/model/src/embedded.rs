//! The example organization, compiled in: the layout of AWS's EKS
//! multi-account guide (`examples/org/`, described in `docs/model.md`), which
//! orgtwin runs when no model is given.

use crate::load::load_from_memory;
use crate::model::Model;

/// The example's files, `(path relative to examples/org, text)`, root first.
const SOURCES: &[(&str, &str)] = &[
    ("org.yaml", include_str!("../../../examples/org/org.yaml")),
    (
        "accounts/management.yaml",
        include_str!("../../../examples/org/accounts/management.yaml"),
    ),
    (
        "accounts/cluster-prod.yaml",
        include_str!("../../../examples/org/accounts/cluster-prod.yaml"),
    ),
    (
        "accounts/network.yaml",
        include_str!("../../../examples/org/accounts/network.yaml"),
    ),
    (
        "accounts/payroll-prod.yaml",
        include_str!("../../../examples/org/accounts/payroll-prod.yaml"),
    ),
    (
        "accounts/analytics-prod.yaml",
        include_str!("../../../examples/org/accounts/analytics-prod.yaml"),
    ),
    (
        "kubernetes/production-cluster-serviceaccounts.yaml",
        include_str!("../../../examples/org/kubernetes/production-cluster-serviceaccounts.yaml"),
    ),
    (
        "policies/scp-full-aws-access.json",
        include_str!("../../../examples/org/policies/scp-full-aws-access.json"),
    ),
    (
        "policies/scp-protect-eks-session-tags.json",
        include_str!("../../../examples/org/policies/scp-protect-eks-session-tags.json"),
    ),
    (
        "policies/platform-admin-trust.json",
        include_str!("../../../examples/org/policies/platform-admin-trust.json"),
    ),
    (
        "policies/cluster-prod/assume-deploy-role.json",
        include_str!("../../../examples/org/policies/cluster-prod/assume-deploy-role.json"),
    ),
    (
        "policies/payroll-prod/account-b-role-trust.json",
        include_str!("../../../examples/org/policies/payroll-prod/account-b-role-trust.json"),
    ),
    (
        "policies/payroll-prod/read-payroll-data.json",
        include_str!("../../../examples/org/policies/payroll-prod/read-payroll-data.json"),
    ),
    (
        "policies/payroll-prod/payroll-data-bucket-policy.json",
        include_str!("../../../examples/org/policies/payroll-prod/payroll-data-bucket-policy.json"),
    ),
    (
        "policies/payroll-prod/deploy-boundary.json",
        include_str!("../../../examples/org/policies/payroll-prod/deploy-boundary.json"),
    ),
];

/// The example's files, `(path relative to examples/org, text)`; the first
/// is the root file, `org.yaml`.
pub fn embedded_sources() -> &'static [(&'static str, &'static str)] {
    SOURCES
}

/// The example organization, checked. (Its files are tested to load without
/// a problem; were they ever not to, this gives an empty model rather than
/// stopping the program.)
pub fn embedded() -> Model {
    load_from_memory("org.yaml", SOURCES).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/org");
        let mut on_disk = Vec::new();
        let mut pending = vec![dir.clone()];
        while let Some(d) = pending.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&dir).unwrap();
                    on_disk.push(relative.display().to_string());
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = SOURCES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
