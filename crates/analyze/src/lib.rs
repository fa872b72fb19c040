//! Analyses of an organization model that need no running twin.
//!
//! [`compare`]: the guide's comparison of a centralized layout (shared
//! clusters in a cluster account, workload accounts reaching in by role
//! chaining or IRSA, the cluster's subnets shared through RAM) and a
//! decentralized one (a cluster in each workload account), as numbers for
//! the model's own workloads.

pub mod compare;
pub mod workloads;

pub use compare::{Comparison, Layout, Quota, compare};
pub use workloads::{Mechanism, Workload, workloads};
