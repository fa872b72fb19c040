//! AWS Resource Access Manager (RAM) over rest-json: each operation is its
//! own `POST /lowercaseoperationname` with a JSON body (`DELETE
//! /deleteresourceshare?resourceShareArn=...` for deletion), answered with
//! the field names of AWS's service model (`ram` 2018-01-04); errors are
//! `{"__type", "message"}` with the `x-amzn-ErrorType` header, all HTTP 400
//! except denials (403).
//!
//! # Shares
//!
//! Shares are the model's (`Account.resource_shares`): every change goes
//! through [`crate::state::Twin::update_model`], so it is checked like a
//! model file, committed before the answer, kept across restarts and written
//! by `orgtwin export`. Only subnets (`ec2:Subnet`) are shareable, and only
//! by the account that owns them, in the region of the request. Principals
//! are account ids, OU ARNs and the organization's ARN.
//!
//! RAM's rules, checked here before the model is touched, so that the answer
//! is RAM's error and nothing changes:
//! - a principal outside the organization needs `allowExternalPrincipals`
//!   (`OperationNotPermittedException`), and is invited rather than
//!   associated: the invitation (`PENDING`) is state (SQLite, see
//!   `orgtwin_store::ShareInvitation`), and the account becomes a principal
//!   of the share in the model only when it accepts;
//! - subnets are shared only within the organization
//!   (`OperationNotPermittedException`, "The resource you are attempting to
//!   share can only be shared within your AWS organization."), so a share
//!   with subnets has no outside principal, accepted or invited;
//! - sharing subnets, and sharing with an OU or the organization, needs RAM
//!   sharing with the organization (`EnableSharingWithAwsOrganization`, a
//!   management account call);
//! - only the owner changes a share; only accounts of the organization own
//!   shares (the model keeps shares under organization accounts).
//!
//! # Authorization
//!
//! Every call is authorized by the policy engine first: `ram:<Action>` on
//! the share's ARN (`arn:aws:ram:REGION:ACCOUNT:resource-share/*` for
//! `CreateResourceShare`; `*` for the reads and
//! `EnableSharingWithAwsOrganization`; the invitation's ARN, in the
//! receiver's own account, for accepting and rejecting), with the RAM
//! condition keys the request sets: `ram:RequestedResourceType`,
//! `ram:ResourceShareName`, `ram:AllowsExternalPrincipals`, `ram:Principal`,
//! `aws:RequestTag/...` and `aws:TagKeys`. A share is not a resource with a
//! resource policy, so another account's call on it is denied by the engine
//! (cross-account, no resource policy). A denial is `AccessDeniedException`
//! (403) with IAM's message and an encoded authorization message.
//!
//! # Not emulated
//!
//! Resource types other than subnets, IAM roles and users as principals,
//! managed permissions, `sources`, client token idempotence (the token is
//! echoed), share statuses other than `ACTIVE`, creation and update times (a
//! fixed time, [`FIXED_TIME`]). Share names are unique per account (AWS
//! allows repeats). Shares created here get a random ARN, which the model
//! keeps (`arn:` in the share's entry); shares written in model files without
//! one have an ARN derived from their account, region and name, kept when
//! they are renamed.

use orgtwin_model::{Model, ResourceShare, SharePrincipal, Tag};
use orgtwin_policy::Context;
use orgtwin_store::{InvitationChanges, ShareInvitation};
use serde_json::{Map, Value, json};

use super::Call;
use crate::query::Params;
use crate::reply::{Reply, ServiceError};

mod changes;
mod invitations;
mod reads;
mod shares;
#[cfg(test)]
mod tests;

use changes::*;
use invitations::*;
use reads::*;
use shares::*;

/// The creation and update time of shares, associations and resources, as
/// epoch seconds (2020-01-01T00:00:00Z): the model does not record them.
pub const FIXED_TIME: i64 = 1_577_836_800;

/// The only resource type the twin shares.
const SUBNET_TYPE: &str = "ec2:Subnet";

const SUBNETS_ONLY_IN_ORG: &str =
    "The resource you are attempting to share can only be shared within your AWS organization.";

/// The operations served: HTTP method, path, action.
const OPERATIONS: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/enablesharingwithawsorganization",
        "EnableSharingWithAwsOrganization",
    ),
    ("POST", "/createresourceshare", "CreateResourceShare"),
    ("POST", "/updateresourceshare", "UpdateResourceShare"),
    ("DELETE", "/deleteresourceshare", "DeleteResourceShare"),
    ("POST", "/associateresourceshare", "AssociateResourceShare"),
    (
        "POST",
        "/disassociateresourceshare",
        "DisassociateResourceShare",
    ),
    ("POST", "/getresourceshares", "GetResourceShares"),
    (
        "POST",
        "/getresourceshareassociations",
        "GetResourceShareAssociations",
    ),
    ("POST", "/listresources", "ListResources"),
    (
        "POST",
        "/getresourceshareinvitations",
        "GetResourceShareInvitations",
    ),
    (
        "POST",
        "/acceptresourceshareinvitation",
        "AcceptResourceShareInvitation",
    ),
    (
        "POST",
        "/rejectresourceshareinvitation",
        "RejectResourceShareInvitation",
    ),
];

/// The action of a RAM request, from its method and path.
pub fn operation(method: &str, path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    OPERATIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, action)| (*action).to_string())
}

fn error(code: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::new(400, code, message)
}

fn invalid(message: impl Into<String>) -> ServiceError {
    error("InvalidParameterException", message)
}

fn not_permitted(message: impl Into<String>) -> ServiceError {
    error("OperationNotPermittedException", message)
}

fn unknown(message: impl Into<String>) -> ServiceError {
    error("UnknownResourceException", message)
}

/// Answers one RAM action.
pub fn handle(
    call: &Call<'_>,
    region: &str,
    action: &str,
    params: &Params,
    body: &[u8],
) -> Result<Reply, ServiceError> {
    let input = Input::parse(body, params)?;
    let request = Request {
        call,
        region,
        input,
    };
    let answer = match action {
        "EnableSharingWithAwsOrganization" => enable_sharing(&request),
        "CreateResourceShare" => create_share(&request),
        "UpdateResourceShare" => update_share(&request),
        "DeleteResourceShare" => delete_share(&request),
        "AssociateResourceShare" => associate(&request),
        "DisassociateResourceShare" => disassociate(&request),
        "GetResourceShares" => get_shares(&request),
        "GetResourceShareAssociations" => get_associations(&request),
        "ListResources" => list_resources(&request),
        "GetResourceShareInvitations" => get_invitations(&request),
        "AcceptResourceShareInvitation" => answer_invitation(&request, true),
        "RejectResourceShareInvitation" => answer_invitation(&request, false),
        other => Err(error(
            "UnknownOperationException",
            format!("The twin does not implement the RAM operation `{other}`."),
        )),
    }?;
    Ok(Reply::json(200, answer.to_string()))
}

/// A request's JSON body, and its query string (for `DELETE`).
struct Input<'p> {
    body: Map<String, Value>,
    params: &'p Params,
}

impl<'p> Input<'p> {
    fn parse(body: &[u8], params: &'p Params) -> Result<Self, ServiceError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map,
                _ => {
                    return Err(ServiceError::new(
                        400,
                        "SerializationException",
                        "The request body is not a JSON object.",
                    ));
                }
            }
        };
        Ok(Input { body, params })
    }

    fn text(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(self.params.get(name).map(str::to_string)),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("The parameter {name} must be a string."))),
        }
    }

    fn required(&self, name: &str) -> Result<String, ServiceError> {
        self.text(name)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            error(
                "MissingRequiredParameterException",
                format!("The request is missing the required parameter {name}."),
            )
        })
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(format!("The parameter {name} must be a boolean."))),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    let Value::String(s) = item else {
                        return Err(invalid(format!(
                            "The parameter {name} must be a list of strings."
                        )));
                    };
                    if !out.contains(s) {
                        out.push(s.clone());
                    }
                }
                Ok(out)
            }
            Some(_) => Err(invalid(format!(
                "The parameter {name} must be a list of strings."
            ))),
        }
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(format!("The parameter {name} must be an integer."))),
        }
    }

    /// `tags`: `[{"key", "value"}]`, checked as RAM and the model check them.
    fn tags(&self) -> Result<Vec<Tag>, ServiceError> {
        let Some(value) = self.body.get("tags").filter(|v| !v.is_null()) else {
            return Ok(Vec::new());
        };
        let Value::Array(items) = value else {
            return Err(invalid("The parameter tags must be a list."));
        };
        if items.len() > 50 {
            return Err(error(
                "TagLimitExceededException",
                "A resource share has at most 50 tags.",
            ));
        }
        let mut tags: Vec<Tag> = Vec::new();
        for item in items {
            let key = item.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = item
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let tag_char = |c: char| {
                c.is_alphanumeric()
                    || (c.is_whitespace() && !c.is_control())
                    || "_.:/=+-@".contains(c)
            };
            if key.is_empty() || key.chars().count() > 128 || !key.chars().all(tag_char) {
                return Err(invalid(format!(
                    "The tag key `{key}` is not valid: a tag key is 1 to 128 letters, digits, spaces or `_ . : / = + - @`."
                )));
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(invalid(format!(
                    "The tag key `{key}` is not valid: keys starting with `aws:` are reserved for AWS."
                )));
            }
            if value.chars().count() > 256 || !value.chars().all(tag_char) {
                return Err(invalid(format!(
                    "The value of tag `{key}` is not valid: a tag value is 0 to 256 letters, digits, spaces or `_ . : / = + - @`."
                )));
            }
            if tags.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
                return Err(invalid(format!("The tag key `{key}` is given twice.")));
            }
            tags.push(Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        Ok(tags)
    }
}

struct Request<'a> {
    call: &'a Call<'a>,
    region: &'a str,
    input: Input<'a>,
}

impl Request<'_> {
    fn account(&self) -> &str {
        self.call.caller.account()
    }

    /// Authorizes `ram:ACTION` on `resource`; a denial is
    /// `AccessDeniedException`. `own_account` evaluates the request in the
    /// caller's account whatever the ARN says (invitations, which the
    /// receiver answers).
    fn authorize(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
        own_account: bool,
    ) -> Result<(), ServiceError> {
        let action = format!("ram:{action}");
        let mut ask = orgtwin_identity::Ask::new(&action, resource, context);
        if own_account {
            ask.resource_account = Some(self.account());
        }
        self.call.decide(&ask).map(|_| ()).map_err(|mut e| {
            if e.code == "AccessDenied" {
                e.code = "AccessDeniedException".into();
            }
            e
        })
    }

    fn client_token(&self) -> Result<Value, ServiceError> {
        Ok(self
            .input
            .text("clientToken")?
            .map_or(Value::Null, Value::String))
    }
}

/// The request keys RAM defines, as far as the request sets them.
#[derive(Default)]
struct RamKeys<'a> {
    name: Option<&'a str>,
    allows_external: Option<bool>,
    principals: &'a [String],
    resources: &'a [String],
    tags: &'a [Tag],
}

impl RamKeys<'_> {
    fn context(&self) -> Context {
        let mut context = Context::default();
        if let Some(name) = self.name {
            context.insert("ram:ResourceShareName", name);
        }
        if let Some(allows) = self.allows_external {
            context.insert("ram:AllowsExternalPrincipals", allows.to_string());
        }
        if !self.principals.is_empty() {
            context.insert_multi("ram:Principal", self.principals.to_vec());
        }
        if !self.resources.is_empty() {
            context.insert("ram:RequestedResourceType", SUBNET_TYPE);
        }
        for tag in self.tags {
            context.insert(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
        }
        if !self.tags.is_empty() {
            context.insert_multi(
                "aws:TagKeys",
                self.tags.iter().map(|t| t.key.clone()).collect(),
            );
        }
        context
    }
}

/// The parts of an ARN: partition, service, region, account, resource.
fn arn_parts(arn: &str) -> Option<[&str; 5]> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    (*prefix == "arn" && !partition.is_empty() && !service.is_empty() && !resource.is_empty())
        .then_some([*partition, *service, *region, *account, *resource])
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a share ARN's form: `MalformedArnException` otherwise.
fn share_arn_form(arn: &str) -> Result<(), ServiceError> {
    let ok = arn_parts(arn).is_some_and(|[partition, service, region, account, resource]| {
        partition == "aws"
            && service == "ram"
            && !region.is_empty()
            && is_account_id(account)
            && resource
                .strip_prefix("resource-share/")
                .is_some_and(|id| !id.is_empty())
    });
    if ok {
        Ok(())
    } else {
        Err(error(
            "MalformedArnException",
            format!("The specified resource share ARN {arn} is not valid."),
        ))
    }
}
