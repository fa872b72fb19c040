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
use orgtwin_store::ShareInvitation;
use serde_json::{Map, Value, json};

use super::Call;
use crate::query::Params;
use crate::reply::{Reply, ServiceError};

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

/// The share of this ARN in `region`, and its owner.
fn find_share<'m>(
    model: &'m Model,
    region: &str,
    arn: &str,
) -> Option<(&'m str, &'m ResourceShare)> {
    model.accounts.values().find_map(|a| {
        a.resource_shares
            .iter()
            .find(|s| s.arn == arn && s.region == region)
            .map(|s| (a.id.as_str(), s))
    })
}

/// A share the caller may change: authorized, found, owned.
fn owned_share(
    request: &Request<'_>,
    model: &Model,
    action: &str,
    arn: &str,
    keys: &RamKeys<'_>,
) -> Result<ResourceShare, ServiceError> {
    share_arn_form(arn)?;
    request.authorize(action, arn, &keys.context(), false)?;
    let (owner, share) = find_share(model, request.region, arn)
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    if owner != request.account() {
        return Err(not_permitted(format!(
            "Only the owner of resource share {arn} ({owner}) can change it."
        )));
    }
    Ok(share.clone())
}

fn organization_arn(model: &Model) -> String {
    let org = &model.organization;
    format!(
        "arn:aws:organizations::{}:organization/{}",
        org.management_account, org.id
    )
}

fn ou_arn(model: &Model, id: &str) -> String {
    let org = &model.organization;
    format!(
        "arn:aws:organizations::{}:ou/{}/{id}",
        org.management_account, org.id
    )
}

/// A principal as RAM names it: an account id, an OU's ARN, the
/// organization's ARN.
fn principal_text(model: &Model, principal: &SharePrincipal) -> String {
    match principal {
        SharePrincipal::Account(id) => id.clone(),
        SharePrincipal::OrganizationalUnit(name) => model
            .organizational_unit(name)
            .map_or_else(|| name.clone(), |ou| ou_arn(model, &ou.id)),
        SharePrincipal::Organization => organization_arn(model),
    }
}

/// Reads a principal given to the API.
fn parse_principal(model: &Model, text: &str) -> Result<SharePrincipal, ServiceError> {
    if is_account_id(text) {
        if model.knows_account(text) {
            return Ok(SharePrincipal::Account(text.to_string()));
        }
        return Err(unknown(format!(
            "The twin knows no account {text}: a principal is an account of the organization or one of the model's `external_accounts`."
        )));
    }
    if text == organization_arn(model) {
        return Ok(SharePrincipal::Organization);
    }
    if let Some(ou) = model
        .organization
        .organizational_units
        .iter()
        .find(|ou| ou_arn(model, &ou.id) == text)
    {
        return Ok(SharePrincipal::OrganizationalUnit(ou.name.clone()));
    }
    match arn_parts(text) {
        Some([_, "organizations", ..]) => Err(unknown(format!(
            "The organization or OU {text} could not be found in your organization."
        ))),
        Some(_) => Err(invalid(format!(
            "The principal {text} is not supported: the twin shares with account ids, OU ARNs and the organization's ARN."
        ))),
        None if text.starts_with("arn:") => Err(error(
            "MalformedArnException",
            format!("The principal ARN {text} is not valid."),
        )),
        None => Err(invalid(format!(
            "The principal {text} is not valid: give an account id, an OU ARN or the organization's ARN."
        ))),
    }
}

/// Reads a resource ARN given to the API: a subnet of the caller's account
/// in the request's region.
fn parse_resource(
    model: &Model,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<String, ServiceError> {
    let Some([_, service, arn_region, arn_account, resource]) = arn_parts(arn) else {
        return Err(error(
            "MalformedArnException",
            format!("The specified resource ARN {arn} is not valid."),
        ));
    };
    let Some(subnet_id) = resource
        .strip_prefix("subnet/")
        .filter(|_| service == "ec2")
    else {
        return Err(invalid(format!(
            "The resource {arn} cannot be shared: the twin shares subnets (ec2:Subnet) only."
        )));
    };
    let owned = arn_account == account
        && arn_region == region
        && model.account(account).is_some_and(|a| {
            a.vpcs
                .iter()
                .filter(|v| v.region == region)
                .any(|v| v.subnets.iter().any(|s| s.id == subnet_id))
        });
    if !owned {
        return Err(unknown(format!(
            "Resource {arn} could not be found in account {account} in {region}."
        )));
    }
    Ok(orgtwin_model::subnet_arn(region, account, subnet_id))
}

/// The receivers of a share's pending invitations.
fn pending_receivers(request: &Request<'_>, share_arn: &str) -> Result<Vec<String>, ServiceError> {
    Ok(request
        .call
        .twin
        .store
        .share_invitations()?
        .into_iter()
        .filter(|i| i.share_arn == share_arn && i.status == "PENDING")
        .map(|i| i.receiver)
        .collect())
}

/// RAM's rules on what a share may hold, checked on the share as a change
/// would leave it (principals in the model, and receivers of pending
/// invitations).
fn check_share(
    model: &Model,
    owner: &str,
    allow_external: bool,
    resources: &[String],
    principals: &[SharePrincipal],
    pending: &[String],
) -> Result<(), ServiceError> {
    let external_accounts = principals
        .iter()
        .filter_map(|p| match p {
            SharePrincipal::Account(id) if !model.in_organization(id) => Some(id.as_str()),
            _ => None,
        })
        .chain(pending.iter().map(String::as_str));
    for id in external_accounts {
        if !allow_external {
            return Err(not_permitted(format!(
                "Account {id} is outside your AWS organization and the resource share does not allow external principals (allowExternalPrincipals is false)."
            )));
        }
        if !resources.is_empty() {
            return Err(not_permitted(SUBNETS_ONLY_IN_ORG));
        }
    }
    for principal in principals {
        match principal {
            SharePrincipal::Account(id) if id == owner => {
                return Err(invalid(
                    "A resource share cannot be shared with its owner's own account.",
                ));
            }
            SharePrincipal::Account(id) if !model.in_organization(id) => {}
            SharePrincipal::Account(_) if resources.is_empty() => {}
            _ if !model.organization.ram_sharing_with_organization => {
                return Err(not_permitted(
                    "Sharing with your AWS organization is not enabled: the management account enables it with EnableSharingWithAwsOrganization.",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A share name: 1 to 255 characters on one line, unique among the
/// account's shares (but for the share being renamed).
fn check_name(
    model: &Model,
    account: &str,
    name: &str,
    renamed: Option<&str>,
) -> Result<(), ServiceError> {
    if name.trim().is_empty() || name.chars().count() > 255 || name.contains('\n') {
        return Err(invalid(
            "A resource share's name is 1 to 255 characters on one line.",
        ));
    }
    let taken = model.account(account).is_some_and(|a| {
        a.resource_shares
            .iter()
            .any(|s| s.name == name && Some(s.arn.as_str()) != renamed)
    });
    if taken {
        return Err(invalid(format!(
            "The account already has a resource share named {name}: the twin keeps share names unique per account."
        )));
    }
    Ok(())
}

/// A change to the model, with the model check's refusals (which the rules
/// above should have caught) as RAM's `InvalidParameterException`.
fn update_model<T>(
    request: &Request<'_>,
    change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    request.call.twin.update_model(change).map_err(|mut e| {
        if e.code == "ValidationError" {
            e.code = "InvalidParameterException".into();
        }
        e
    })
}

/// The owner's share of this ARN, for a change.
fn share_mut<'m>(
    model: &'m mut Model,
    owner: &str,
    arn: &str,
) -> Result<&'m mut ResourceShare, ServiceError> {
    model
        .accounts
        .get_mut(owner)
        .and_then(|a| a.resource_shares.iter_mut().find(|s| s.arn == arn))
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))
}

fn share_json(owner: &str, share: &ResourceShare) -> Value {
    json!({
        "resourceShareArn": share.arn,
        "name": share.name,
        "owningAccountId": owner,
        "allowExternalPrincipals": share.allow_external_principals,
        "status": "ACTIVE",
        "tags": share.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>(),
        "creationTime": FIXED_TIME,
        "lastUpdatedTime": FIXED_TIME,
        "featureSet": "STANDARD",
    })
}

fn association_json(
    share: &ResourceShare,
    entity: &str,
    kind: &str,
    status: &str,
    external: bool,
) -> Value {
    let mut value = json!({
        "resourceShareArn": share.arn,
        "resourceShareName": share.name,
        "associatedEntity": entity,
        "associationType": kind,
        "status": status,
        "creationTime": FIXED_TIME,
        "lastUpdatedTime": FIXED_TIME,
    });
    if kind == "PRINCIPAL"
        && let Value::Object(map) = &mut value
    {
        map.insert("external".into(), Value::Bool(external));
    }
    value
}

fn invitation_json(invitation: &ShareInvitation) -> Value {
    json!({
        "resourceShareInvitationArn": invitation.arn,
        "resourceShareName": invitation.share_name,
        "resourceShareArn": invitation.share_arn,
        "senderAccountId": invitation.sender,
        "receiverAccountId": invitation.receiver,
        "invitationTimestamp": invitation.created_at,
        "status": invitation.status,
    })
}

fn random_uuid() -> String {
    let hex = hex::encode(crate::ids::random_bytes(16));
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default().to_string();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Invites each of `receivers` to a share; committed before the answer.
fn invite(
    request: &Request<'_>,
    share: &ResourceShare,
    owner: &str,
    receivers: &[String],
) -> Result<(), ServiceError> {
    if receivers.is_empty() {
        return Ok(());
    }
    let store = &request.call.twin.store;
    for receiver in receivers {
        store.delete_share_invitations(&share.arn, Some(receiver))?;
    }
    let now = request.call.twin.now().seconds();
    let invitations: Vec<ShareInvitation> = receivers
        .iter()
        .map(|receiver| ShareInvitation {
            arn: format!(
                "arn:aws:ram:{}:{owner}:resource-share-invitation/{}",
                share.region,
                random_uuid()
            ),
            share_arn: share.arn.clone(),
            share_name: share.name.clone(),
            sender: owner.to_string(),
            receiver: receiver.clone(),
            status: "PENDING".into(),
            created_at: now,
        })
        .collect();
    store.put_share_invitations(&invitations)?;
    Ok(())
}

/// Splits principals into those the model holds (the organization's, and
/// outside accounts that already accepted) and outside accounts to invite.
fn split_principals(
    model: &Model,
    principals: Vec<SharePrincipal>,
    already: &[SharePrincipal],
) -> (Vec<SharePrincipal>, Vec<String>) {
    let mut members = Vec::new();
    let mut invited = Vec::new();
    for principal in principals {
        match principal {
            SharePrincipal::Account(id)
                if !model.in_organization(&id)
                    && !already.contains(&SharePrincipal::Account(id.clone())) =>
            {
                invited.push(id);
            }
            other => members.push(other),
        }
    }
    (members, invited)
}

fn enable_sharing(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "EnableSharingWithAwsOrganization",
        "*",
        &Context::default(),
        false,
    )?;
    let model = request.call.twin.model();
    if request.account() != model.organization.management_account {
        return Err(not_permitted(
            "Only the management account of the organization can enable sharing with it.",
        ));
    }
    if !model.organization.ram_sharing_with_organization {
        update_model(request, |model| {
            model.organization.ram_sharing_with_organization = true;
            Ok(())
        })?;
    }
    Ok(json!({"returnValue": true}))
}

fn create_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let input = &request.input;
    let name = input.required("name")?;
    let allow_external = input.flag("allowExternalPrincipals")?.unwrap_or(true);
    let resource_arns = input.strings("resourceArns")?;
    let principal_texts = input.strings("principals")?;
    let tags = input.tags()?;
    if !input.strings("permissionArns")?.is_empty() || !input.strings("sources")?.is_empty() {
        return Err(invalid(
            "The twin does not emulate managed permissions or sources; leave permissionArns and sources out.",
        ));
    }
    let account = request.account().to_string();
    let keys = RamKeys {
        name: Some(&name),
        allows_external: Some(allow_external),
        principals: &principal_texts,
        resources: &resource_arns,
        tags: &tags,
    };
    request.authorize(
        "CreateResourceShare",
        &format!("arn:aws:ram:{}:{account}:resource-share/*", request.region),
        &keys.context(),
        false,
    )?;
    let model = request.call.twin.model();
    if model.account(&account).is_none() {
        return Err(not_permitted(
            "The twin keeps resource shares of the organization's accounts only; this account is outside the organization.",
        ));
    }
    check_name(&model, &account, &name, None)?;
    let resources = resource_arns
        .iter()
        .map(|arn| parse_resource(&model, &account, request.region, arn))
        .collect::<Result<Vec<_>, _>>()?;
    let principals = principal_texts
        .iter()
        .map(|text| parse_principal(&model, text))
        .collect::<Result<Vec<_>, _>>()?;
    let (members, invited) = split_principals(&model, principals, &[]);
    check_share(
        &model,
        &account,
        allow_external,
        &resources,
        &members,
        &invited,
    )?;
    let arn = format!(
        "arn:aws:ram:{}:{account}:resource-share/{}",
        request.region,
        random_uuid()
    );
    let share = ResourceShare {
        name: name.clone(),
        region: request.region.to_string(),
        arn: arn.clone(),
        allow_external_principals: allow_external,
        resources,
        principals: members,
        tags,
    };
    update_model(request, |model| {
        let owner = model
            .accounts
            .get_mut(&account)
            .ok_or_else(|| unknown(format!("Account {account} could not be found.")))?;
        owner.resource_shares.push(share);
        Ok(())
    })?;
    let model = request.call.twin.model();
    let created = find_share(&model, request.region, &arn)
        .map(|(_, s)| s.clone())
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    invite(request, &created, &account, &invited)?;
    Ok(json!({
        "resourceShare": share_json(&account, &created),
        "clientToken": request.client_token()?,
    }))
}

fn update_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let input = &request.input;
    let arn = input.required("resourceShareArn")?;
    let name = input.text("name")?;
    let allow_external = input.flag("allowExternalPrincipals")?;
    let model = request.call.twin.model();
    let keys = RamKeys {
        name: name.as_deref(),
        allows_external: allow_external,
        ..RamKeys::default()
    };
    let share = owned_share(request, &model, "UpdateResourceShare", &arn, &keys)?;
    let owner = request.account().to_string();
    let rename = name.filter(|n| *n != share.name);
    if let Some(new_name) = &rename {
        check_name(&model, &owner, new_name, Some(&arn))?;
    }
    let allow = allow_external.unwrap_or(share.allow_external_principals);
    if allow != share.allow_external_principals {
        let pending = pending_receivers(request, &arn)?;
        check_share(
            &model,
            &owner,
            allow,
            &share.resources,
            &share.principals,
            &pending,
        )?;
    }
    if rename.is_some() || allow != share.allow_external_principals {
        update_model(request, |model| {
            let target = share_mut(model, &owner, &arn)?;
            target.allow_external_principals = allow;
            if let Some(new_name) = rename.clone() {
                target.name = new_name;
            }
            Ok(())
        })?;
    }
    let model = request.call.twin.model();
    let (_, updated) = find_share(&model, request.region, &arn)
        .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
    Ok(json!({
        "resourceShare": share_json(&owner, updated),
        "clientToken": request.client_token()?,
    }))
}

fn delete_share(request: &Request<'_>) -> Result<Value, ServiceError> {
    let arn = request.input.required("resourceShareArn")?;
    let model = request.call.twin.model();
    let share = owned_share(
        request,
        &model,
        "DeleteResourceShare",
        &arn,
        &RamKeys::default(),
    )?;
    let owner = request.account().to_string();
    update_model(request, |model| {
        let account = model
            .accounts
            .get_mut(&owner)
            .ok_or_else(|| unknown(format!("ResourceShare {arn} could not be found.")))?;
        account.resource_shares.retain(|s| s.arn != share.arn);
        Ok(())
    })?;
    request
        .call
        .twin
        .store
        .delete_share_invitations(&arn, None)?;
    Ok(json!({"returnValue": true, "clientToken": request.client_token()?}))
}

/// `resourceArns` and `principals` of an association change, at least one.
fn association_input(
    request: &Request<'_>,
) -> Result<(String, Vec<String>, Vec<String>), ServiceError> {
    let input = &request.input;
    let arn = input.required("resourceShareArn")?;
    let resources = input.strings("resourceArns")?;
    let principals = input.strings("principals")?;
    if !input.strings("sources")?.is_empty() {
        return Err(invalid(
            "The twin does not emulate sources; leave sources out.",
        ));
    }
    if resources.is_empty() && principals.is_empty() {
        return Err(invalid("Give at least one of resourceArns and principals."));
    }
    Ok((arn, resources, principals))
}

/// What an association or disassociation names, with the share it
/// changes (authorized for `action`) and the share's owner.
struct ShareChange {
    arn: String,
    resource_arns: Vec<String>,
    principal_texts: Vec<String>,
    model: std::sync::Arc<Model>,
    share: ResourceShare,
    owner: String,
}

fn share_change(request: &Request<'_>, action: &str) -> Result<ShareChange, ServiceError> {
    let (arn, resource_arns, principal_texts) = association_input(request)?;
    let model = request.call.twin.model();
    let keys = RamKeys {
        principals: &principal_texts,
        resources: &resource_arns,
        ..RamKeys::default()
    };
    let share = owned_share(request, &model, action, &arn, &keys)?;
    Ok(ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner: request.account().to_string(),
    })
}

fn associate(request: &Request<'_>) -> Result<Value, ServiceError> {
    let ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner,
    } = share_change(request, "AssociateResourceShare")?;
    let new_resources = resource_arns
        .iter()
        .map(|a| parse_resource(&model, &owner, request.region, a))
        .collect::<Result<Vec<_>, _>>()?;
    let new_principals = principal_texts
        .iter()
        .map(|text| parse_principal(&model, text))
        .collect::<Result<Vec<_>, _>>()?;
    let (members, invited) = split_principals(&model, new_principals, &share.principals);
    let mut pending = pending_receivers(request, &arn)?;
    let to_invite: Vec<String> = invited
        .iter()
        .filter(|id| !pending.contains(id))
        .cloned()
        .collect();
    pending.extend(to_invite.iter().cloned());
    let mut resources = share.resources.clone();
    for r in &new_resources {
        if !resources.contains(r) {
            resources.push(r.clone());
        }
    }
    let mut principals = share.principals.clone();
    for p in &members {
        if !principals.contains(p) {
            principals.push(p.clone());
        }
    }
    check_share(
        &model,
        &owner,
        share.allow_external_principals,
        &resources,
        &principals,
        &pending,
    )?;
    if resources != share.resources || principals != share.principals {
        update_model(request, |model| {
            let target = share_mut(model, &owner, &arn)?;
            target.resources = resources;
            target.principals = principals;
            Ok(())
        })?;
    }
    invite(request, &share, &owner, &to_invite)?;
    let mut associations: Vec<Value> = new_resources
        .iter()
        .map(|r| association_json(&share, r, "RESOURCE", "ASSOCIATED", false))
        .collect();
    for p in &members {
        let external = matches!(p, SharePrincipal::Account(id) if !model.in_organization(id));
        associations.push(association_json(
            &share,
            &principal_text(&model, p),
            "PRINCIPAL",
            "ASSOCIATED",
            external,
        ));
    }
    for id in &invited {
        associations.push(association_json(
            &share,
            id,
            "PRINCIPAL",
            "ASSOCIATING",
            true,
        ));
    }
    Ok(json!({
        "resourceShareAssociations": associations,
        "clientToken": request.client_token()?,
    }))
}

fn disassociate(request: &Request<'_>) -> Result<Value, ServiceError> {
    let ShareChange {
        arn,
        resource_arns,
        principal_texts,
        model,
        share,
        owner,
    } = share_change(request, "DisassociateResourceShare")?;
    let pending = pending_receivers(request, &arn)?;
    for r in &resource_arns {
        if !share.resources.contains(r) {
            return Err(unknown(format!(
                "Resource {r} is not associated with resource share {arn}."
            )));
        }
    }
    let mut removed_principals = Vec::new();
    let mut uninvited = Vec::new();
    for text in &principal_texts {
        let principal = parse_principal(&model, text)?;
        if share.principals.contains(&principal) {
            if let SharePrincipal::Account(id) = &principal {
                uninvited.push(id.clone());
            }
            removed_principals.push(principal);
        } else if pending.contains(text) {
            uninvited.push(text.clone());
        } else {
            return Err(unknown(format!(
                "Principal {text} is not associated with resource share {arn}."
            )));
        }
    }
    let resources: Vec<String> = share
        .resources
        .iter()
        .filter(|r| !resource_arns.contains(r))
        .cloned()
        .collect();
    let principals: Vec<SharePrincipal> = share
        .principals
        .iter()
        .filter(|p| !removed_principals.contains(p))
        .cloned()
        .collect();
    if resources != share.resources || principals != share.principals {
        update_model(request, |model| {
            let target = share_mut(model, &owner, &arn)?;
            target.resources = resources;
            target.principals = principals;
            Ok(())
        })?;
    }
    for receiver in &uninvited {
        request
            .call
            .twin
            .store
            .delete_share_invitations(&arn, Some(receiver))?;
    }
    let mut associations: Vec<Value> = resource_arns
        .iter()
        .map(|r| association_json(&share, r, "RESOURCE", "DISASSOCIATING", false))
        .collect();
    for text in &principal_texts {
        let external = is_account_id(text) && !model.in_organization(text);
        associations.push(association_json(
            &share,
            text,
            "PRINCIPAL",
            "DISASSOCIATING",
            external,
        ));
    }
    Ok(json!({
        "resourceShareAssociations": associations,
        "clientToken": request.client_token()?,
    }))
}

/// `maxResults` (1 to 500) and `nextToken` (an offset this module wrote for
/// the same action).
fn page(
    request: &Request<'_>,
    items: Vec<Value>,
    list: &str,
    kind: &str,
) -> Result<Value, ServiceError> {
    let max = request.input.integer("maxResults")?;
    if let Some(max) = max
        && !(1..=500).contains(&max)
    {
        return Err(invalid(format!(
            "The value {max} for maxResults is not valid: it is 1 to 500."
        )));
    }
    let max = max.and_then(|m| usize::try_from(m).ok()).unwrap_or(500);
    let token = request.input.text("nextToken")?;
    let start = super::page_start(token.as_deref(), kind, items.len()).ok_or_else(|| {
        error(
            "InvalidNextTokenException",
            "The specified value for NextToken isn't valid.",
        )
    })?;
    let total = items.len();
    let taken: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let end = start + taken.len();
    let mut out = Map::new();
    out.insert(list.into(), Value::Array(taken));
    if end < total {
        out.insert("nextToken".into(), Value::String(format!("{kind}:{end}")));
    }
    Ok(Value::Object(out))
}

/// `resourceOwner`: `SELF` or `OTHER-ACCOUNTS`; whether it is `SELF`.
fn resource_owner_is_self(request: &Request<'_>) -> Result<bool, ServiceError> {
    match request.input.required("resourceOwner")?.as_str() {
        "SELF" => Ok(true),
        "OTHER-ACCOUNTS" => Ok(false),
        other => Err(invalid(format!(
            "The value {other} for resourceOwner is not valid: it is SELF or OTHER-ACCOUNTS."
        ))),
    }
}

/// The shares in the request's region that the caller owns (`own`) or that
/// are shared with it, each with its owner.
fn shares_seen<'m>(
    model: &'m Model,
    account: &str,
    region: &str,
    own: bool,
) -> Vec<(&'m str, &'m ResourceShare)> {
    model
        .accounts
        .values()
        .filter(|a| (a.id == account) == own)
        .flat_map(|a| a.resource_shares.iter().map(move |s| (a.id.as_str(), s)))
        .filter(|(_, s)| s.region == region)
        .filter(|(_, s)| {
            own || s
                .principals
                .iter()
                .any(|p| model.share_principal_includes(p, account))
        })
        .collect()
}

fn get_shares(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize("GetResourceShares", "*", &Context::default(), false)?;
    let own = resource_owner_is_self(request)?;
    let input = &request.input;
    let arns = input.strings("resourceShareArns")?;
    for arn in &arns {
        share_arn_form(arn)?;
    }
    let name = input.text("name")?;
    let status = input.text("resourceShareStatus")?;
    let tag_filters: Vec<(String, Vec<String>)> = match input.body.get("tagFilters") {
        Some(Value::Array(filters)) => filters
            .iter()
            .map(|f| {
                let key = f.get("tagKey").and_then(Value::as_str).unwrap_or_default();
                let values = f
                    .get("tagValues")
                    .and_then(Value::as_array)
                    .map(|vs| {
                        vs.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                (key.to_string(), values)
            })
            .collect(),
        _ => Vec::new(),
    };
    if input.text("permissionArn")?.is_some() {
        return Err(invalid(
            "The twin does not emulate managed permissions; leave permissionArn out.",
        ));
    }
    let model = request.call.twin.model();
    let items: Vec<Value> = shares_seen(&model, request.account(), request.region, own)
        .into_iter()
        .filter(|(_, s)| arns.is_empty() || arns.contains(&s.arn))
        .filter(|(_, s)| name.as_ref().is_none_or(|n| *n == s.name))
        .filter(|_| status.as_deref().is_none_or(|st| st == "ACTIVE"))
        .filter(|(_, s)| {
            tag_filters.iter().all(|(key, values)| {
                s.tags
                    .iter()
                    .any(|t| t.key == *key && (values.is_empty() || values.contains(&t.value)))
            })
        })
        .map(|(owner, s)| share_json(owner, s))
        .collect();
    page(request, items, "resourceShares", "shares")
}

fn get_associations(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "GetResourceShareAssociations",
        "*",
        &Context::default(),
        false,
    )?;
    let input = &request.input;
    let kind = input.required("associationType")?;
    if !matches!(kind.as_str(), "PRINCIPAL" | "RESOURCE" | "SOURCE") {
        return Err(invalid(format!(
            "The value {kind} for associationType is not valid: it is PRINCIPAL, RESOURCE or SOURCE."
        )));
    }
    let arns = input.strings("resourceShareArns")?;
    for arn in &arns {
        share_arn_form(arn)?;
    }
    let principal = input.text("principal")?;
    let resource = input.text("resourceArn")?;
    if kind == "PRINCIPAL" && resource.is_some() {
        return Err(invalid(
            "resourceArn is given only with associationType RESOURCE.",
        ));
    }
    if kind == "RESOURCE" && principal.is_some() {
        return Err(invalid(
            "principal is given only with associationType PRINCIPAL.",
        ));
    }
    let status = input.text("associationStatus")?;
    let model = request.call.twin.model();
    let invitations = request.call.twin.store.share_invitations()?;
    let mut items = Vec::new();
    for (_, share) in shares_seen(&model, request.account(), request.region, true) {
        if !arns.is_empty() && !arns.contains(&share.arn) {
            continue;
        }
        match kind.as_str() {
            "PRINCIPAL" => {
                for p in &share.principals {
                    let external =
                        matches!(p, SharePrincipal::Account(id) if !model.in_organization(id));
                    items.push((principal_text(&model, p), "ASSOCIATED", external, share));
                }
                for invitation in invitations
                    .iter()
                    .filter(|i| i.share_arn == share.arn && i.status == "PENDING")
                {
                    items.push((invitation.receiver.clone(), "ASSOCIATING", true, share));
                }
            }
            "RESOURCE" => {
                for r in &share.resources {
                    items.push((r.clone(), "ASSOCIATED", false, share));
                }
            }
            _ => {}
        }
    }
    let values: Vec<Value> = items
        .into_iter()
        .filter(|(entity, ..)| principal.as_ref().is_none_or(|p| p == entity))
        .filter(|(entity, ..)| resource.as_ref().is_none_or(|r| r == entity))
        .filter(|(_, st, ..)| status.as_deref().is_none_or(|s| s == *st))
        .map(|(entity, st, external, share)| association_json(share, &entity, &kind, st, external))
        .collect();
    page(request, values, "resourceShareAssociations", "associations")
}

fn list_resources(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize("ListResources", "*", &Context::default(), false)?;
    let own = resource_owner_is_self(request)?;
    let input = &request.input;
    let resource_type = input.text("resourceType")?;
    if let Some(t) = &resource_type
        && !t
            .split_once(':')
            .is_some_and(|(s, r)| !s.is_empty() && !r.is_empty())
    {
        return Err(error(
            "InvalidResourceTypeException",
            format!("The specified resource type {t} is not valid."),
        ));
    }
    let principal = input.text("principal")?;
    if principal.is_some() && !own {
        return Err(invalid("principal is given only with resourceOwner SELF."));
    }
    let arns = input.strings("resourceArns")?;
    let share_arns = input.strings("resourceShareArns")?;
    for arn in &share_arns {
        share_arn_form(arn)?;
    }
    let model = request.call.twin.model();
    let type_matches = resource_type
        .as_ref()
        .is_none_or(|t| t.eq_ignore_ascii_case(SUBNET_TYPE));
    let mut items = Vec::new();
    for (_, share) in shares_seen(&model, request.account(), request.region, own) {
        if !type_matches || (!share_arns.is_empty() && !share_arns.contains(&share.arn)) {
            continue;
        }
        if let Some(p) = &principal
            && !share
                .principals
                .iter()
                .any(|sp| principal_text(&model, sp) == *p)
        {
            continue;
        }
        for r in &share.resources {
            if !arns.is_empty() && !arns.contains(r) {
                continue;
            }
            items.push(json!({
                "arn": r,
                "type": SUBNET_TYPE,
                "resourceShareArn": share.arn,
                "status": "AVAILABLE",
                "creationTime": FIXED_TIME,
                "lastUpdatedTime": FIXED_TIME,
                "resourceRegionScope": "REGIONAL",
            }));
        }
    }
    page(request, items, "resources", "resources")
}

/// The invitations the caller's account received in the request's region.
fn received(request: &Request<'_>) -> Result<Vec<ShareInvitation>, ServiceError> {
    let prefix = format!("arn:aws:ram:{}:", request.region);
    Ok(request
        .call
        .twin
        .store
        .share_invitations()?
        .into_iter()
        .filter(|i| i.receiver == request.account() && i.arn.starts_with(&prefix))
        .collect())
}

fn invitation_not_found(arn: &str) -> ServiceError {
    error(
        "ResourceShareInvitationArnNotFoundException",
        format!("ResourceShareInvitationArn {arn} could not be found."),
    )
}

fn get_invitations(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize(
        "GetResourceShareInvitations",
        "*",
        &Context::default(),
        false,
    )?;
    let input = &request.input;
    let arns = input.strings("resourceShareInvitationArns")?;
    let share_arns = input.strings("resourceShareArns")?;
    for arn in &share_arns {
        share_arn_form(arn)?;
    }
    let invitations = received(request)?;
    if let Some(missing) = arns
        .iter()
        .find(|a| !invitations.iter().any(|i| i.arn == **a))
    {
        return Err(invitation_not_found(missing));
    }
    let items: Vec<Value> = invitations
        .iter()
        .filter(|i| arns.is_empty() || arns.contains(&i.arn))
        .filter(|i| share_arns.is_empty() || share_arns.contains(&i.share_arn))
        .map(invitation_json)
        .collect();
    page(request, items, "resourceShareInvitations", "invitations")
}

fn answer_invitation(request: &Request<'_>, accept: bool) -> Result<Value, ServiceError> {
    let arn = request.input.required("resourceShareInvitationArn")?;
    let action = if accept {
        "AcceptResourceShareInvitation"
    } else {
        "RejectResourceShareInvitation"
    };
    request.authorize(action, &arn, &Context::default(), true)?;
    let mut invitation = received(request)?
        .into_iter()
        .find(|i| i.arn == arn)
        .ok_or_else(|| invitation_not_found(&arn))?;
    match invitation.status.as_str() {
        "PENDING" => {}
        "ACCEPTED" => {
            return Err(error(
                "ResourceShareInvitationAlreadyAcceptedException",
                format!("ResourceShareInvitation {arn} has already been accepted."),
            ));
        }
        _ => {
            return Err(error(
                "ResourceShareInvitationAlreadyRejectedException",
                format!("ResourceShareInvitation {arn} has already been rejected."),
            ));
        }
    }
    if accept {
        let model = request.call.twin.model();
        let (owner, share) =
            find_share(&model, request.region, &invitation.share_arn).ok_or_else(|| {
                unknown(format!(
                    "ResourceShare {} could not be found.",
                    invitation.share_arn
                ))
            })?;
        let receiver = SharePrincipal::Account(invitation.receiver.clone());
        let mut principals = share.principals.clone();
        if !principals.contains(&receiver) {
            principals.push(receiver);
        }
        check_share(
            &model,
            owner,
            share.allow_external_principals,
            &share.resources,
            &principals,
            &[],
        )?;
        let owner = owner.to_string();
        let share_arn = share.arn.clone();
        update_model(request, |model| {
            share_mut(model, &owner, &share_arn)?.principals = principals;
            Ok(())
        })?;
    }
    invitation.status = if accept { "ACCEPTED" } else { "REJECTED" }.into();
    request
        .call
        .twin
        .store
        .set_share_invitation_status(&arn, &invitation.status)?;
    Ok(json!({
        "resourceShareInvitation": invitation_json(&invitation),
        "clientToken": request.client_token()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_by_method_and_path() {
        assert_eq!(
            operation("POST", "/createresourceshare").as_deref(),
            Some("CreateResourceShare")
        );
        assert_eq!(
            operation("DELETE", "/deleteresourceshare").as_deref(),
            Some("DeleteResourceShare")
        );
        assert_eq!(operation("GET", "/createresourceshare"), None);
        assert_eq!(operation("POST", "/deleteresourceshare"), None);
    }

    #[test]
    fn subnets_stay_in_the_organization() {
        let model = orgtwin_model::embedded();
        let subnet =
            "arn:aws:ec2:us-east-1:555566667777:subnet/subnet-0b2c3d4e5f6a70021".to_string();
        let outside = "210987654321".to_string();
        let refused = check_share(
            &model,
            "555566667777",
            true,
            std::slice::from_ref(&subnet),
            &[],
            std::slice::from_ref(&outside),
        );
        assert_eq!(
            refused.map_err(|e| (e.code, e.message)),
            Err((
                "OperationNotPermittedException".into(),
                SUBNETS_ONLY_IN_ORG.into()
            ))
        );
        let closed = check_share(
            &model,
            "555566667777",
            false,
            &[],
            &[],
            std::slice::from_ref(&outside),
        );
        assert_eq!(
            closed.map_err(|e| e.code),
            Err("OperationNotPermittedException".into())
        );
        assert!(check_share(&model, "555566667777", true, &[], &[], &[outside]).is_ok());
        assert!(
            check_share(
                &model,
                "555566667777",
                false,
                &[subnet],
                &[SharePrincipal::Account("777788889999".into())],
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn principals_are_read_as_ram_names_them() {
        let model = orgtwin_model::embedded();
        assert_eq!(
            parse_principal(&model, "444455556666").ok(),
            Some(SharePrincipal::Account("444455556666".into()))
        );
        assert_eq!(
            parse_principal(&model, &organization_arn(&model)).ok(),
            Some(SharePrincipal::Organization)
        );
        assert_eq!(
            parse_principal(&model, "123456789012").map_err(|e| e.code),
            Err("UnknownResourceException".into())
        );
        assert_eq!(
            parse_principal(&model, "arn:aws:iam::444455556666:role/x").map_err(|e| e.code),
            Err("InvalidParameterException".into())
        );
        for ou in &model.organization.organizational_units {
            let text = ou_arn(&model, &ou.id);
            let parsed = parse_principal(&model, &text).unwrap();
            assert_eq!(principal_text(&model, &parsed), text);
        }
    }
}
