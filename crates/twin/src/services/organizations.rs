//! AWS Organizations over JSON 1.1: `POST /` with `X-Amz-Target:
//! AWSOrganizationsV20161128.<Action>` and a JSON body, answered with the
//! field names of AWS's service model.
//!
//! The organization is the model's: its root, OUs and accounts, its SCPs and
//! RCPs and where each is attached. Reads come from the current model; every
//! change goes through [`crate::state::Twin::update_model`], so it is checked
//! like a model file and committed before the answer, and survives restarts.
//! An SCP attached here decides the next request of the account's principals.
//!
//! # Who may call
//!
//! Each request is first authorized by the policy engine as
//! `organizations:<Action>` on the ARN of the entity it names (`*` for
//! `DescribeOrganization`, `ListRoots`, `ListAccounts`, `ListPolicies` and
//! `CreatePolicy`; both the policy and the target for `AttachPolicy` and
//! `DetachPolicy`), with `organizations:PolicyType` set for policy actions
//! and the caller's own account as the resource account (so identity
//! policies and the caller's SCPs decide, as in AWS); a denial is
//! `AccessDeniedException` with IAM's message. Then AWS's own
//! rule: only the management account may call anything but
//! `DescribeOrganization`, which any account of the organization may call.
//! AWS also lets a delegated administrator read; the model has none, so a
//! member account always gets `AccessDeniedException` ("You don't have
//! permissions to access this resource.").
//!
//! # Ids and ARNs
//!
//! ARNs are AWS's forms under the management account:
//! `organization/o-…`, `root/o-…/r-…`, `ou/o-…/ou-…`, `account/o-…/ID`,
//! `policy/o-…/service_control_policy/p-…`. The AWS managed SCP
//! `FullAWSAccess` (`p-FullAWSAccess`) and RCP `RCPFullAWSAccess`
//! (`p-RCPFullAWSAccess`) have `arn:aws:organizations::aws:policy/…` ARNs
//! and `AwsManaged: true`. `FullAWSAccess` is the model's SCP of that id
//! (listed, unattached, with AWS's content when the model has none);
//! `RCPFullAWSAccess` is attached everywhere and cannot be detached, as in
//! AWS. New policies and OUs get random ids of AWS's form.
//!
//! # Errors
//!
//! AWS's codes, as `{"__type", "message"}`, and `Reason` for
//! `InvalidInputException` and `ConstraintViolationException`. Policy
//! content is validated by `orgtwin_policy::validate` as an SCP or RCP:
//! problems are `MalformedPolicyDocumentException`, a document over 5,120
//! characters `ConstraintViolationException` (`POLICY_CONTENT_LIMIT_EXCEEDED`).
//! Every target keeps at least one SCP and at most five of each type. All
//! errors are HTTP 400, as Organizations answers client errors.
//!
//! # Pages
//!
//! `List*` calls return at most `MaxResults` (1 to 20, default 20) items and
//! an opaque `NextToken` that is good only for the same action.
//!
//! # Not emulated
//!
//! Policy types other than SCPs and RCPs (listed as empty, refused when
//! created); tags (accepted for authorization, not kept); delegated
//! administrators; account creation, invitations, closing. Accounts are
//! `ACTIVE`, joined at a fixed time ([`JOINED_AT`]), `INVITED` for the
//! management account and `CREATED` for the others. OU names are unique in
//! the whole organization (AWS: among siblings), and the management account
//! stays at the root, because the model requires both. A policy's `Content`
//! is answered as sent by `CreatePolicy` and `UpdatePolicy`, and afterwards
//! as the model stores it (the same JSON, indented).

mod policies;
mod tree;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgtwin_model::{Account, Model, OrganizationalUnit, Parent, Target};
use serde_json::{Map, Value, json};

use super::Call;
use crate::reply::{Protocol, Reply, ServiceError};

/// When every account joined, as epoch seconds (2020-01-01T00:00:00Z): the
/// model does not record it.
pub const JOINED_AT: i64 = 1_577_836_800;

/// The page size when a request gives no `MaxResults`, and the largest
/// AWS accepts.
const MAX_PAGE: usize = 20;

/// Dispatches one Organizations action; `body` is the JSON request.
pub fn handle(call: &Call<'_>, action: &str, body: &[u8]) -> Result<Reply, ServiceError> {
    let answered = Input::parse(body).and_then(|input| {
        let request = Request {
            call,
            model: call.twin.model(),
            input,
            action,
        };
        dispatch(&request)
    });
    match answered {
        Ok(body) => Ok(Reply::json(200, body.to_string())),
        Err(error) => error.into_reply(call.request_id),
    }
}

fn dispatch(request: &Request<'_>) -> Result<Value, OrgError> {
    match request.action {
        "DescribeOrganization" => tree::describe_organization(request),
        "ListRoots" => tree::list_roots(request),
        "DescribeAccount" => tree::describe_account(request),
        "ListAccounts" => tree::list_accounts(request),
        "ListAccountsForParent" => tree::list_accounts_for_parent(request),
        "ListOrganizationalUnitsForParent" => tree::list_ous_for_parent(request),
        "DescribeOrganizationalUnit" => tree::describe_ou(request),
        "ListChildren" => tree::list_children(request),
        "ListParents" => tree::list_parents(request),
        "CreateOrganizationalUnit" => tree::create_ou(request),
        "MoveAccount" => tree::move_account(request),
        "ListPolicies" => policies::list_policies(request),
        "DescribePolicy" => policies::describe_policy(request),
        "ListPoliciesForTarget" => policies::list_policies_for_target(request),
        "ListTargetsForPolicy" => policies::list_targets_for_policy(request),
        "CreatePolicy" => policies::create_policy(request),
        "UpdatePolicy" => policies::update_policy(request),
        "DeletePolicy" => policies::delete_policy(request),
        "AttachPolicy" => policies::attach_policy(request),
        "DetachPolicy" => policies::detach_policy(request),
        other => Err(OrgError::new(
            "UnknownOperationException",
            format!("The twin does not implement the Organizations operation `{other}`."),
        )),
    }
}

/// One request: the caller, the model as it was when the request came in,
/// and the decoded body.
struct Request<'a> {
    call: &'a Call<'a>,
    model: Arc<Model>,
    input: Input,
    action: &'a str,
}

impl Request<'_> {
    /// Asks the engine for `organizations:<Action>` on `resource`.
    fn authorize(&self, resource: &str, policy_type: Option<Kind>) -> Result<(), OrgError> {
        let mut context = orgtwin_policy::Context::default();
        if let Some(kind) = policy_type {
            context.insert("organizations:PolicyType", kind.wire());
        }
        self.authorize_with(resource, &context)
    }

    /// Like [`Call::authorize_with`], but with the caller's own account as
    /// the resource account. The organization's ARNs name the management
    /// account, yet to IAM they are not another account's resources: a
    /// member's call is decided by its own policies and SCPs, and then
    /// refused by Organizations' rule, not by a cross-account check. The
    /// decision is recorded in the trail.
    fn authorize_with(
        &self,
        resource: &str,
        context: &orgtwin_policy::Context,
    ) -> Result<(), OrgError> {
        let action = format!("organizations:{}", self.action);
        let ask = orgtwin_identity::Ask {
            resource_account: Some(self.call.caller.account()),
            ..orgtwin_identity::Ask::new(&action, resource, context)
        };
        self.call.decide(&ask).map(|_| ()).map_err(OrgError::from)
    }

    /// AWS's rule for everything but `DescribeOrganization`.
    fn management_only(&self) -> Result<(), OrgError> {
        if self.model.is_management(self.call.caller.account()) {
            Ok(())
        } else {
            Err(OrgError::new(
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            ))
        }
    }

    /// Authorizes, then applies AWS's rule: what every action but
    /// `DescribeOrganization` starts with.
    fn admit(&self, resource: &str, policy_type: Option<Kind>) -> Result<(), OrgError> {
        self.authorize(resource, policy_type)?;
        self.management_only()
    }

    /// Applies `change` to the model under the twin's write lock; a refusal
    /// changes nothing.
    fn change<T>(
        &self,
        change: impl FnOnce(&mut Model) -> Result<T, OrgError>,
    ) -> Result<T, OrgError> {
        let mut refused = None;
        let changed = self.call.twin.update_model(|model| {
            change(model).map_err(|e| {
                let error = e.error.clone();
                refused = Some(e);
                error
            })
        });
        if changed.is_ok() {
            tracing::info!(
                request_id = self.call.request_id,
                caller = %self.call.caller.arn(),
                action = self.action,
                "organization changed"
            );
        }
        changed.map_err(|error| match refused.take() {
            Some(refusal) => refusal,
            None if error.code == "ValidationError" => {
                OrgError::new("InvalidInputException", error.message)
            }
            None => OrgError::from(error),
        })
    }

    fn arns(&self) -> Arns<'_> {
        Arns(&self.model)
    }

    /// The page of `items` this request asks for, under `key`, with the
    /// `NextToken` of the next page when there is one.
    fn paged(&self, key: &str, items: Vec<Value>) -> Result<Value, OrgError> {
        let size = match self.input.integer("MaxResults")? {
            None => MAX_PAGE,
            Some(n) if n < 1 => {
                return Err(OrgError::invalid(
                    "MIN_VALUE_EXCEEDED",
                    "MaxResults must be at least 1.",
                ));
            }
            Some(n) if n > MAX_PAGE as i64 => {
                return Err(OrgError::invalid(
                    "MAX_VALUE_EXCEEDED",
                    format!("MaxResults must be at most {MAX_PAGE}."),
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE),
        };
        let start = match self.input.text("NextToken")? {
            None => 0,
            Some(token) => read_token(token, self.action).ok_or_else(|| {
                OrgError::invalid(
                    "INVALID_NEXT_TOKEN",
                    "You specified an invalid value for nextToken. You must get the value from the \
                     response to a previous call to the API.",
                )
            })?,
        };
        let end = start.saturating_add(size).min(items.len());
        let page: Vec<Value> = items
            .get(start.min(end)..end)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let mut out = Map::new();
        out.insert(key.to_string(), Value::Array(page));
        if end < items.len() {
            let token = URL_SAFE_NO_PAD.encode(format!("{}:{end}", self.action));
            out.insert("NextToken".into(), Value::String(token));
        }
        Ok(Value::Object(out))
    }
}

/// The offset a `NextToken` of `action` stands for.
fn read_token(token: &str, action: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (of, offset) = text.split_once(':')?;
    (of == action).then_some(())?;
    offset.parse().ok()
}

/// A request body: a JSON object (an empty body is an empty object).
struct Input(Map<String, Value>);

impl Input {
    fn parse(body: &[u8]) -> Result<Input, OrgError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Input(Map::new()));
        }
        match serde_json::from_slice(body) {
            Ok(Value::Object(map)) => Ok(Input(map)),
            _ => Err(OrgError::new(
                "SerializationException",
                "The request body is not a JSON object.",
            )),
        }
    }

    fn text(&self, name: &str) -> Result<Option<&str>, OrgError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    fn required(&self, name: &str) -> Result<&str, OrgError> {
        self.text(name)?.ok_or_else(|| {
            OrgError::invalid(
                "INPUT_REQUIRED",
                format!("You must specify a value for {name}."),
            )
        })
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, OrgError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, "an integer")),
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    /// `Tags`: a list of `{Key, Value}`.
    fn tags(&self) -> Result<Vec<(String, String)>, OrgError> {
        let Some(tags) = self.0.get("Tags") else {
            return Ok(Vec::new());
        };
        let list = tags
            .as_array()
            .ok_or_else(|| wrong_type("Tags", "a list"))?;
        list.iter()
            .map(|tag| {
                let key = tag.get("Key").and_then(Value::as_str);
                let value = tag.get("Value").and_then(Value::as_str);
                match (key, value) {
                    (Some(k), Some(v)) => Ok((k.to_string(), v.to_string())),
                    _ => Err(wrong_type("Tags", "a list of {Key, Value}")),
                }
            })
            .collect()
    }
}

fn wrong_type(name: &str, expected: &str) -> OrgError {
    OrgError::new(
        "SerializationException",
        format!("`{name}` must be {expected}."),
    )
}

/// An error as Organizations answers it: the service error, and the
/// `Reason` some codes carry.
#[derive(Debug)]
struct OrgError {
    error: ServiceError,
    reason: Option<&'static str>,
}

impl OrgError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        OrgError {
            error: ServiceError::new(400, code, message),
            reason: None,
        }
    }

    fn invalid(reason: &'static str, message: impl Into<String>) -> Self {
        OrgError {
            reason: Some(reason),
            ..OrgError::new("InvalidInputException", message)
        }
    }

    fn constraint(reason: &'static str, message: impl Into<String>) -> Self {
        OrgError {
            reason: Some(reason),
            ..OrgError::new("ConstraintViolationException", message)
        }
    }

    /// The response. An error with a reason is written here, as the shared
    /// JSON error body has no `Reason`.
    fn into_reply(self, request_id: &str) -> Result<Reply, ServiceError> {
        let Some(reason) = self.reason else {
            return Err(self.error);
        };
        let mut reply = self.error.reply(Protocol::Json, request_id);
        reply.body = json!({
            "__type": self.error.code,
            "message": self.error.message,
            "Reason": reason,
        })
        .to_string();
        Ok(reply)
    }
}

impl From<ServiceError> for OrgError {
    /// The engine's `AccessDenied` and the twin's `ServiceFailure` under
    /// Organizations' names.
    fn from(mut error: ServiceError) -> Self {
        match error.code.as_str() {
            "AccessDenied" => {
                error.code = "AccessDeniedException".into();
                error.status = 400;
            }
            "ServiceFailure" => error.code = "ServiceException".into(),
            _ => {}
        }
        OrgError {
            error,
            reason: None,
        }
    }
}

/// The two policy types the twin keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scp,
    Rcp,
}

/// Every policy type of the service model, for telling a type the twin does
/// not keep from a misspelt one.
const POLICY_TYPES: [&str; 13] = [
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
    "SECURITYHUB_POLICY",
    "INSPECTOR_POLICY",
    "UPGRADE_ROLLOUT_POLICY",
    "BEDROCK_POLICY",
    "S3_POLICY",
    "NETWORK_SECURITY_DIRECTOR_POLICY",
];

impl Kind {
    /// `Some` for SCPs and RCPs, `None` for another type of the service
    /// model, an error for anything else.
    fn parse(text: &str) -> Result<Option<Kind>, OrgError> {
        match text {
            "SERVICE_CONTROL_POLICY" => Ok(Some(Kind::Scp)),
            "RESOURCE_CONTROL_POLICY" => Ok(Some(Kind::Rcp)),
            other if POLICY_TYPES.contains(&other) => Ok(None),
            other => Err(OrgError::invalid(
                "INVALID_ENUM_POLICY_TYPE",
                format!("`{other}` is not a policy type."),
            )),
        }
    }

    fn wire(self) -> &'static str {
        match self {
            Kind::Scp => "SERVICE_CONTROL_POLICY",
            Kind::Rcp => "RESOURCE_CONTROL_POLICY",
        }
    }

    /// The type as policy ARNs spell it.
    fn slug(self) -> &'static str {
        match self {
            Kind::Scp => "service_control_policy",
            Kind::Rcp => "resource_control_policy",
        }
    }

    fn policy_type(self) -> orgtwin_policy::PolicyType {
        match self {
            Kind::Scp => orgtwin_policy::PolicyType::Scp,
            Kind::Rcp => orgtwin_policy::PolicyType::Rcp,
        }
    }
}

/// The ARNs of the organization's entities.
struct Arns<'a>(&'a Model);

impl Arns<'_> {
    fn prefix(&self) -> String {
        format!(
            "arn:aws:organizations::{}",
            self.0.organization.management_account
        )
    }

    fn organization(&self) -> String {
        format!("{}:organization/{}", self.prefix(), self.0.organization.id)
    }

    fn root(&self) -> String {
        let org = &self.0.organization;
        format!("{}:root/{}/{}", self.prefix(), org.id, org.root_id)
    }

    fn ou(&self, id: &str) -> String {
        format!("{}:ou/{}/{id}", self.prefix(), self.0.organization.id)
    }

    fn account(&self, id: &str) -> String {
        format!("{}:account/{}/{id}", self.prefix(), self.0.organization.id)
    }

    fn policy(&self, kind: Kind, id: &str, aws_managed: bool) -> String {
        if aws_managed {
            format!("arn:aws:organizations::aws:policy/{}/{id}", kind.slug())
        } else {
            let org = &self.0.organization.id;
            format!("{}:policy/{org}/{}/{id}", self.prefix(), kind.slug())
        }
    }
}

/// A root, OU or account: what parents, children and policy targets are.
#[derive(Clone, Copy, Debug)]
enum Node<'a> {
    Root,
    Ou(&'a OrganizationalUnit),
    Account(&'a Account),
}

/// How an id looks, before it is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdForm {
    Root,
    Ou,
    Account,
}

impl IdForm {
    fn of(id: &str) -> Option<IdForm> {
        let lower_alnum = |s: &str, min: usize| {
            s.len() >= min
                && s.len() <= 32
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if let Some(rest) = id.strip_prefix("r-") {
            lower_alnum(rest, 4).then_some(IdForm::Root)
        } else if let Some(rest) = id.strip_prefix("ou-") {
            let (root, own) = rest.split_once('-')?;
            (lower_alnum(root, 4) && lower_alnum(own, 8)).then_some(IdForm::Ou)
        } else {
            (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then_some(IdForm::Account)
        }
    }
}

impl<'a> Node<'a> {
    fn find(model: &'a Model, id: &str) -> Option<Node<'a>> {
        match IdForm::of(id)? {
            IdForm::Root => (id == model.organization.root_id).then_some(Node::Root),
            IdForm::Ou => model
                .organization
                .organizational_units
                .iter()
                .find(|ou| ou.id == id)
                .map(Node::Ou),
            IdForm::Account => model.account(id).map(Node::Account),
        }
    }

    /// The node a policy target or a parent names.
    fn of_target(model: &'a Model, target: &Target) -> Option<Node<'a>> {
        match target {
            Target::Root => Some(Node::Root),
            Target::OrganizationalUnit(name) => model.organizational_unit(name).map(Node::Ou),
            Target::Account(id) => model.account(id).map(Node::Account),
        }
    }

    fn of_parent(model: &'a Model, parent: &Parent) -> Option<Node<'a>> {
        match parent {
            Parent::Root => Some(Node::Root),
            Parent::OrganizationalUnit(name) => model.organizational_unit(name).map(Node::Ou),
        }
    }

    fn id(self, model: &'a Model) -> &'a str {
        match self {
            Node::Root => &model.organization.root_id,
            Node::Ou(ou) => &ou.id,
            Node::Account(account) => &account.id,
        }
    }

    fn name(self) -> &'a str {
        match self {
            Node::Root => "Root",
            Node::Ou(ou) => &ou.name,
            Node::Account(account) => &account.name,
        }
    }

    fn arn(self, model: &Model) -> String {
        let arns = Arns(model);
        match self {
            Node::Root => arns.root(),
            Node::Ou(ou) => arns.ou(&ou.id),
            Node::Account(account) => arns.account(&account.id),
        }
    }

    fn target_type(self) -> &'static str {
        match self {
            Node::Root => "ROOT",
            Node::Ou(_) => "ORGANIZATIONAL_UNIT",
            Node::Account(_) => "ACCOUNT",
        }
    }

    fn target(self) -> Target {
        match self {
            Node::Root => Target::Root,
            Node::Ou(ou) => Target::OrganizationalUnit(ou.name.clone()),
            Node::Account(account) => Target::Account(account.id.clone()),
        }
    }

    /// The model's form of this node as a parent (`None` for an account).
    fn as_parent(self) -> Option<Parent> {
        match self {
            Node::Root => Some(Parent::Root),
            Node::Ou(ou) => Some(Parent::OrganizationalUnit(ou.name.clone())),
            Node::Account(_) => None,
        }
    }
}

/// The ARN an id would have, found or not, so that a request for a missing
/// entity is authorized like any other.
fn arn_of_id(model: &Model, id: &str, form: IdForm) -> String {
    let arns = Arns(model);
    match form {
        IdForm::Root => format!("{}:root/{}/{id}", arns.prefix(), model.organization.id),
        IdForm::Ou => arns.ou(id),
        IdForm::Account => arns.account(id),
    }
}

/// `count` random characters of `a-z 0-9`, for new policy and OU ids.
fn random_suffix(count: usize) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // The largest multiple of 36 that fits a byte: bytes from it up would
    // favour the first characters, so they are drawn again.
    const UNBIASED: u8 = 252;
    let mut out = String::with_capacity(count);
    while out.len() < count {
        for byte in crate::ids::random_bytes(count) {
            if byte >= UNBIASED || out.len() >= count {
                continue;
            }
            if let Some(c) = ALPHABET.get(usize::from(byte % 36)) {
                out.push(char::from(*c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_told_apart_by_their_form() {
        assert_eq!(IdForm::of("r-a1b2"), Some(IdForm::Root));
        assert_eq!(IdForm::of("ou-a1b2-abcd1234"), Some(IdForm::Ou));
        assert_eq!(IdForm::of("444455556666"), Some(IdForm::Account));
        for bad in [
            "r-A1B2",
            "r-a1",
            "ou-a1b2-abc",
            "ou-a1b2",
            "44445555666",
            "p-abcd1234",
            "",
        ] {
            assert_eq!(IdForm::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_next_token_is_good_only_for_its_action() {
        let token = URL_SAFE_NO_PAD.encode("ListAccounts:20");
        assert_eq!(read_token(&token, "ListAccounts"), Some(20));
        assert_eq!(read_token(&token, "ListRoots"), None);
        assert_eq!(read_token("not base64!", "ListAccounts"), None);
    }

    #[test]
    fn policy_types_the_twin_does_not_keep_are_not_misspellings() {
        assert_eq!(
            Kind::parse("SERVICE_CONTROL_POLICY").ok(),
            Some(Some(Kind::Scp))
        );
        assert_eq!(Kind::parse("TAG_POLICY").ok(), Some(None));
        let error = Kind::parse("SCP").err().map(|e| e.reason);
        assert_eq!(error, Some(Some("INVALID_ENUM_POLICY_TYPE")));
    }

    #[test]
    fn bodies_are_json_objects() {
        assert!(Input::parse(b"").is_ok());
        assert!(Input::parse(b"[]").is_err());
        let input = Input::parse(br#"{"MaxResults": "5"}"#).unwrap();
        let error = input.integer("MaxResults").unwrap_err();
        assert_eq!(error.error.code, "SerializationException");
        let input = Input::parse(br#"{"AccountId": "444455556666"}"#).unwrap();
        assert_eq!(input.required("AccountId").unwrap(), "444455556666");
        assert_eq!(
            input.required("ParentId").unwrap_err().reason,
            Some("INPUT_REQUIRED")
        );
    }

    #[test]
    fn random_suffixes_are_lowercase_letters_and_digits() {
        let suffix = random_suffix(32);
        assert_eq!(suffix.len(), 32);
        assert!(IdForm::of(&format!("ou-a1b2-{suffix}")).is_some());
    }

    #[test]
    fn a_reasoned_error_carries_its_reason_in_the_body() {
        let reply = OrgError::invalid("INVALID_PATTERN", "bad")
            .into_reply("req")
            .unwrap();
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["__type"], "InvalidInputException");
        assert_eq!(body["Reason"], "INVALID_PATTERN");
        assert_eq!(reply.status, 400);
        let plain = OrgError::new("PolicyNotFoundException", "gone").into_reply("req");
        assert_eq!(plain.unwrap_err().code, "PolicyNotFoundException");
    }
}
