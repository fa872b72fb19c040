//! The twin server: one loopback address serving STS, IAM and Organizations
//! the way AWS does, for unmodified AWS clients.

pub mod sigv4;
