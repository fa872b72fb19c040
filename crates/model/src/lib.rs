//! orgtwin's organization model: the YAML files a platform team keeps in git
//! to describe its AWS organization (the tree of OUs and accounts, SCPs and
//! RCPs, and each account's IAM), loaded with every problem reported at its
//! file, line and field, checked, and exported back.
//!
//! Loading goes in three steps, each in its own module:
//!
//! 1. read: `yaml` reads each file with positions; `read` turns it into
//!    the raw model of `raw`, checking the shape of every field;
//! 2. check: `check` and `check_iam` check what spans fields and files
//!    (ids, unique names, references, the OU tree) and every policy document
//!    with `orgtwin_policy::validate`, through `document`;
//! 3. build: the same pass builds the checked [`Model`], which is returned
//!    only when no problem was found; otherwise [`LoadErrors`] has them all.
//!
//! ```
//! let model = orgtwin_model::embedded();
//! assert!(model.is_management("999988887777"));
//! let role = model.role("444455556666", "account-b-role").unwrap();
//! assert_eq!(role.arn, "arn:aws:iam::444455556666:role/account-b-role");
//! let levels = model.scp_levels("444455556666");
//! let names: Vec<&str> = levels.iter().map(|l| &*l.name).collect();
//! assert_eq!(names, ["root", "OU Workloads", "account 444455556666"]);
//! ```
//!
//! Accounts may also own S3 buckets (with seed objects), VPCs with subnets,
//! and RAM shares of those subnets (`check_resources`), and EKS clusters
//! with their service accounts and Pod Identity associations (`eks`,
//! `check_eks`; service accounts may come from Kubernetes manifests and
//! clusters from eksctl `ClusterConfig` files).
//!
//! The format is documented in `docs/model.md` and published as a JSON
//! Schema in `docs/model.schema.json`.

pub mod aws_managed;
mod check;
mod check_eks;
mod check_iam;
mod check_resources;
mod document;
pub mod eks;
mod embedded;
mod error;
mod export;
pub mod import;
mod load;
mod model;
mod raw;
mod read;
mod read_other;
mod resources;
mod rules;
mod source;
mod yaml;

#[cfg(test)]
mod schema_tests;

pub use document::{Document, Place, Places};
pub use eks::{Cluster, Irsa, PodIdentityAssociation, ServiceAccount};
pub use embedded::{embedded, embedded_sources};
pub use error::{LoadError, LoadErrors, Problem};
pub use export::{ExportError, export, export_files};
pub use load::{load, load_from_memory};
pub use model::{
    AccessKey, Account, AccountLevels, Group, Iam, InlinePolicy, KeyStatus, Level, LevelCache,
    ManagedPolicy, Model, OidcProvider, OrgPolicy, Organization, OrganizationalUnit, Parent, Role,
    Secret, Tag, Target, User,
};
/// The naming rules the model checks, for callers that create resources
/// (the twin's `CreateBucket`): each gives why a name is refused.
pub mod naming {
    pub use crate::rules::{bucket_name, derive_uuid, region};
}
pub use resources::{
    Bucket, DEFAULT_REGION, ExternalAccount, ResourceShare, SeedObject, SharePrincipal, Subnet,
    Vpc, subnet_arn,
};
