//! The twin server: one loopback address serving STS (and, as they land, IAM
//! and Organizations) the way AWS does, for unmodified AWS clients, with
//! every call authorized by the policy engine through the identity plane and
//! every session kept in SQLite.

pub mod auth;
pub mod authmsg;
pub mod ids;
pub mod issuers;
pub mod pod;
pub mod query;
pub mod reply;
pub mod server;
pub mod services;
pub mod sigv4;
pub mod start;
pub mod state;

pub use state::{Clock, SystemClock, Twin};
