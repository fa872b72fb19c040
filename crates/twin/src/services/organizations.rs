//! AWS Organizations over JSON 1.1 (`X-Amz-Target:
//! AWSOrganizationsV20161128.<Action>`). Reads are open to every account of
//! the organization; changes only to the management account, as in AWS.

use super::Call;
use crate::reply::{Reply, ServiceError};

/// Dispatches one Organizations action; `body` is the JSON request.
pub fn handle(_call: &Call<'_>, action: &str, _body: &[u8]) -> Result<Reply, ServiceError> {
    Err(ServiceError::new(
        400,
        "InvalidAction",
        format!("Could not find operation {action}"),
    ))
}
