//! Analyses of an organization model that need no running twin.
//!
//! [`reach`]: from every service account and IAM user, the role sessions it
//! can get and by which hops, each hop decided by the identity plane as the
//! twin decides it; [`access`]: who can perform an action on a resource,
//! what a workload can do, and every access as a set (for `diff`).
//!
//! [`compare`]: the guide's comparison of a centralized layout (shared
//! clusters in a cluster account, workload accounts reaching in by role
//! chaining or IRSA, the cluster's subnets shared through RAM) and a
//! decentralized one (a cluster in each workload account), as numbers for
//! the model's own workloads.

pub mod access;
mod buckets;
pub mod compare;
pub mod findings;
pub mod generate;
mod parallel;
pub mod reach;
pub mod render;
pub mod workloads;

pub use access::{Access, Grant, diff, grants, who_can};
pub use compare::{Comparison, Layout, Quota, compare};
pub use findings::{Finding, Severity, findings};
pub use reach::{Analysis, Hop, Refusal, Start, analyze};
pub use workloads::{Mechanism, Workload, workloads};
