//! IAM over the Query protocol (namespace
//! `https://iam.amazonaws.com/doc/2010-05-08/`), on the caller's own account.
//!
//! Every action follows IAM's order:
//!
//! 1. the required parameters are read (a missing one is a `ValidationError`
//!    naming the member, as AWS's request validation words it);
//! 2. the caller is authorized by the engine for `iam:<Action>` on the
//!    entity's ARN (`*` for account-wide lists, decided within the caller's
//!    account, as are AWS managed policies), with the keys IAM puts in
//!    the request context: `aws:RequestTag/<key>` and `aws:TagKeys` when tags
//!    are set or removed, `iam:PermissionsBoundary` on the actions that set,
//!    keep or remove a boundary, `iam:PolicyARN` on attach and detach, and
//!    the entity's own tags as `aws:ResourceTag/<key>` and
//!    `iam:ResourceTag/<key>`. SCPs take part as in AWS: the example's
//!    `ProtectEksSessionTags` stops everyone but `platform-admin` from
//!    setting `kubernetes-*` and `eks-*` tags;
//! 3. the parameters are validated with AWS's codes and messages
//!    (`ValidationError` "1 validation error detected: ...",
//!    `MalformedPolicyDocument` with the engine's IAM messages for the
//!    document's policy type, `LimitExceeded`, `InvalidInput`);
//! 4. the change is applied with [`crate::state::Twin::update_model`]: the
//!    whole model is checked as a model file would be and committed to the
//!    state before the answer, so a change survives restarts and shows in
//!    `orgtwin export`; a refused change changes nothing. Conflicts found
//!    there (`NoSuchEntity`, `EntityAlreadyExists`, `DeleteConflict`) leave
//!    the model as it was.
//!
//! Names of users, groups, roles and policies are unique ignoring case, and
//! are looked up ignoring case, as IAM does. Paths default to `/`. Unique
//! ids are the model's (derived from the ARN, so a role deleted and created
//! again gets its old id back, unlike AWS). Policy documents are answered
//! URL-encoded, as AWS does; the text is the model's (indented JSON), not the
//! bytes the client sent. Creation dates and managed policy version numbers
//! are kept in the state beside the model; entities that came from the
//! model files carry the date the state first reported one.
//!
//! Lists are in the model's order (as the files declare the entities, then
//! in order of creation), take `MaxItems` (1 to 1000, default 100) and
//! answer `IsTruncated` and an opaque `Marker` to continue from.

mod access_keys;
mod authorization_details;
mod checks;
mod entities;
mod groups;
mod oidc;
mod permissions;
mod policies;
mod roles;
mod simulate;
mod tags;
mod users;

use orgtwin_model::{Document, Iam, Model};
use orgtwin_policy::{Context, PolicyError, PolicyType, Timestamp};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Call;
use crate::query::{Params, empty_response, response};
use crate::reply::{IAM_NAMESPACE, Reply, ServiceError};
use checks::Constraints;
use entities::Kind;

/// What an action answers: a result element, or only the request id.
enum Answer {
    Result(String),
    Empty,
}

type Outcome = Result<Answer, ServiceError>;

/// Dispatches one IAM action.
pub fn handle(call: &Call<'_>, action: &str, params: &Params) -> Result<Reply, ServiceError> {
    let answer = dispatch(call, action, params)?;
    let body = match answer {
        Answer::Result(result) => response(action, IAM_NAMESPACE, &result, call.request_id),
        Answer::Empty => empty_response(action, IAM_NAMESPACE, call.request_id),
    };
    Ok(Reply::xml(body))
}

fn dispatch(call: &Call<'_>, action: &str, params: &Params) -> Outcome {
    use Kind::{Group, Role, User};
    match action {
        "CreateRole" => roles::create(call, params),
        "GetRole" => roles::get(call, params),
        "ListRoles" => roles::list(call, params),
        "DeleteRole" => roles::delete(call, params),
        "UpdateRole" => roles::update(call, params, false),
        "UpdateRoleDescription" => roles::update(call, params, true),
        "UpdateAssumeRolePolicy" => roles::update_trust(call, params),
        "CreateUser" => users::create(call, params),
        "GetUser" => users::get(call, params),
        "ListUsers" => users::list(call, params),
        "DeleteUser" => users::delete(call, params),
        "CreateGroup" => groups::create(call, params),
        "GetGroup" => groups::get(call, params),
        "ListGroups" => groups::list(call, params),
        "DeleteGroup" => groups::delete(call, params),
        "AddUserToGroup" => groups::add_user(call, params),
        "RemoveUserFromGroup" => groups::remove_user(call, params),
        "ListGroupsForUser" => groups::list_for_user(call, params),
        "PutRolePolicy" => permissions::put_inline(call, params, Role),
        "PutUserPolicy" => permissions::put_inline(call, params, User),
        "PutGroupPolicy" => permissions::put_inline(call, params, Group),
        "GetRolePolicy" => permissions::get_inline(call, params, Role),
        "GetUserPolicy" => permissions::get_inline(call, params, User),
        "GetGroupPolicy" => permissions::get_inline(call, params, Group),
        "ListRolePolicies" => permissions::list_inline(call, params, Role),
        "ListUserPolicies" => permissions::list_inline(call, params, User),
        "ListGroupPolicies" => permissions::list_inline(call, params, Group),
        "DeleteRolePolicy" => permissions::delete_inline(call, params, Role),
        "DeleteUserPolicy" => permissions::delete_inline(call, params, User),
        "DeleteGroupPolicy" => permissions::delete_inline(call, params, Group),
        "AttachRolePolicy" => permissions::attach(call, params, Role),
        "AttachUserPolicy" => permissions::attach(call, params, User),
        "AttachGroupPolicy" => permissions::attach(call, params, Group),
        "DetachRolePolicy" => permissions::detach(call, params, Role),
        "DetachUserPolicy" => permissions::detach(call, params, User),
        "DetachGroupPolicy" => permissions::detach(call, params, Group),
        "ListAttachedRolePolicies" => permissions::list_attached(call, params, Role),
        "ListAttachedUserPolicies" => permissions::list_attached(call, params, User),
        "ListAttachedGroupPolicies" => permissions::list_attached(call, params, Group),
        "PutRolePermissionsBoundary" => permissions::put_boundary(call, params, Role),
        "PutUserPermissionsBoundary" => permissions::put_boundary(call, params, User),
        "DeleteRolePermissionsBoundary" => permissions::delete_boundary(call, params, Role),
        "DeleteUserPermissionsBoundary" => permissions::delete_boundary(call, params, User),
        "TagRole" => tags::tag(call, params, Role),
        "TagUser" => tags::tag(call, params, User),
        "UntagRole" => tags::untag(call, params, Role),
        "UntagUser" => tags::untag(call, params, User),
        "ListRoleTags" => tags::list(call, params, Role),
        "ListUserTags" => tags::list(call, params, User),
        "CreateAccessKey" => access_keys::create(call, params),
        "ListAccessKeys" => access_keys::list(call, params),
        "UpdateAccessKey" => access_keys::update(call, params),
        "DeleteAccessKey" => access_keys::delete(call, params),
        "CreatePolicy" => policies::create(call, params),
        "GetPolicy" => policies::get(call, params),
        "ListPolicies" => policies::list(call, params),
        "DeletePolicy" => policies::delete(call, params),
        "GetPolicyVersion" => policies::get_version(call, params),
        "ListPolicyVersions" => policies::list_versions(call, params),
        "CreatePolicyVersion" => policies::create_version(call, params),
        "DeletePolicyVersion" => policies::delete_version(call, params),
        "SetDefaultPolicyVersion" => policies::set_default_version(call, params),
        "CreateOpenIDConnectProvider" => oidc::create(call, params),
        "GetOpenIDConnectProvider" => oidc::get(call, params),
        "ListOpenIDConnectProviders" => oidc::list(call, params),
        "DeleteOpenIDConnectProvider" => oidc::delete(call, params),
        "AddClientIDToOpenIDConnectProvider" => oidc::add_client_id(call, params),
        "RemoveClientIDFromOpenIDConnectProvider" => oidc::remove_client_id(call, params),
        "UpdateOpenIDConnectProviderThumbprint" => oidc::update_thumbprints(call, params),
        "GetAccountAuthorizationDetails" => authorization_details::get(call, params),
        "SimulatePrincipalPolicy" => simulate::principal(call, params),
        "SimulateCustomPolicy" => simulate::custom(call, params),
        other => Err(super::sts::invalid_action(other, params)),
    }
}

/// Authorizes `iam:{action}` on `resource`.
///
/// `*` (the account-wide lists) and AWS managed policies
/// (`arn:aws:iam::aws:policy/...`) name no account; IAM decides them within
/// the caller's account, by its identity policies, so they are asked with
/// the caller's account as the resource's.
fn authorize(
    call: &Call<'_>,
    action: &str,
    resource: &str,
    context: &Context,
) -> Result<(), ServiceError> {
    call.authorize_with(&format!("iam:{action}"), resource, context)
        .map(|_| ())
}

/// The caller's account's IAM, to change.
fn iam_mut<'m>(model: &'m mut Model, account: &str) -> Result<&'m mut Iam, ServiceError> {
    model
        .accounts
        .get_mut(account)
        .map(|a| &mut a.iam)
        .ok_or_else(|| unknown_account(account))
}

/// The caller's account's IAM.
fn iam<'m>(model: &'m Model, account: &str) -> Result<&'m Iam, ServiceError> {
    model
        .account(account)
        .map(|a| &a.iam)
        .ok_or_else(|| unknown_account(account))
}

fn unknown_account(account: &str) -> ServiceError {
    tracing::error!(
        account,
        "an authenticated caller's account is not in the model"
    );
    ServiceError::new(
        500,
        "ServiceFailure",
        "The request processing has failed because of an unknown error.",
    )
}

fn no_such_entity(message: impl Into<String>) -> ServiceError {
    ServiceError::new(404, "NoSuchEntity", message)
}

fn already_exists(message: impl Into<String>) -> ServiceError {
    ServiceError::new(409, "EntityAlreadyExists", message)
}

fn limit_exceeded(message: impl Into<String>) -> ServiceError {
    ServiceError::new(409, "LimitExceeded", message)
}

fn delete_conflict(message: impl Into<String>) -> ServiceError {
    ServiceError::new(409, "DeleteConflict", message)
}

fn invalid_input(message: impl Into<String>) -> ServiceError {
    ServiceError::new(400, "InvalidInput", message)
}

/// Two IAM names are the same name when they differ only in case.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Reads a policy document and validates it as each of `types`, answering
/// the first problem with IAM's code (`MalformedPolicyDocument`, or
/// `LimitExceeded` for a size quota) and the engine's IAM message.
fn policy_document(text: &str, types: &[PolicyType]) -> Result<Document, ServiceError> {
    let document = Document::parse(text).map_err(|errors| policy_problem(errors.first()))?;
    for &policy_type in types {
        let errors = orgtwin_policy::validate(&document.policy, policy_type);
        if let Some(first) = errors.iter().find(|e| e.is_limit()).or(errors.first()) {
            return Err(policy_problem(Some(first)));
        }
    }
    Ok(document)
}

fn policy_problem(error: Option<&PolicyError>) -> ServiceError {
    match error {
        Some(e) if e.is_limit() => limit_exceeded(e.message.clone()),
        Some(e) => ServiceError::new(400, "MalformedPolicyDocument", e.message.clone()),
        None => ServiceError::new(400, "MalformedPolicyDocument", "Syntax errors in policy."),
    }
}

/// Characters a policy document keeps unescaped in a response.
const DOCUMENT_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*');

/// A policy document as IAM answers it: URL-encoded JSON.
fn encode_document(document: &Document) -> String {
    utf8_percent_encode(&document.text, DOCUMENT_SAFE).to_string()
}

/// The state's key of an entity's creation date (by ARN or key id).
fn created_key(id: &str) -> String {
    format!("iam.created.{id}")
}

/// The date the state first reported a date for entities of the model files.
const MODEL_DATE_KEY: &str = "iam.created.model";

/// Records that the entity `id` was created now.
fn record_creation(call: &Call<'_>, id: &str) {
    let now = call.twin.now().seconds().to_string();
    if let Err(e) = call.twin.store.set_meta(&created_key(id), &now) {
        tracing::warn!(entity = id, error = %e, "cannot record a creation date");
    }
}

/// An entity's creation date, as IAM writes dates.
fn creation_date(call: &Call<'_>, id: &str) -> Result<String, ServiceError> {
    let store = &call.twin.store;
    let seconds = match store.meta(&created_key(id))? {
        Some(seconds) => seconds,
        None => match store.meta(MODEL_DATE_KEY)? {
            Some(seconds) => seconds,
            None => {
                let now = call.twin.now().seconds().to_string();
                store.set_meta(MODEL_DATE_KEY, &now)?;
                now
            }
        },
    };
    Ok(Timestamp::from_unix_seconds(seconds.parse().unwrap_or(0)).to_rfc3339())
}

/// `aws:RequestTag/<key>` for each tag and `aws:TagKeys`, as IAM sets them
/// when a request sets tags.
fn request_tags_context(context: &mut Context, tags: &[orgtwin_model::Tag]) {
    for tag in tags {
        context.insert(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
    }
    if !tags.is_empty() {
        context.insert_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
    }
}

/// A window of a list: `MaxItems` and the `Marker` of an earlier page.
#[derive(Clone, Copy, Debug)]
struct Page {
    start: usize,
    max: usize,
}

impl Page {
    const DEFAULT_MAX_ITEMS: usize = 100;

    fn read(params: &Params) -> Result<Page, ServiceError> {
        let mut checks = Constraints::default();
        let max = params.integer("MaxItems")?;
        if let Some(max) = max {
            checks.range("maxItems", max, 1, 1000);
        }
        if let Some(marker) = params.get("Marker") {
            checks.length("marker", marker, 1, 320);
        }
        checks.finish()?;
        let start = match params.get("Marker") {
            None => 0,
            Some(marker) => parse_marker(marker)
                .ok_or_else(|| invalid_input(format!("Invalid Marker: {marker}")))?,
        };
        let max = max
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(Self::DEFAULT_MAX_ITEMS);
        Ok(Page { start, max })
    }

    /// The items of this page, and the marker of the next when there is one.
    fn window<T>(self, items: Vec<T>) -> (Vec<T>, Option<String>) {
        let (range, next) = self.range(items.len());
        let page = items
            .into_iter()
            .skip(range.start)
            .take(range.len())
            .collect();
        (page, next)
    }

    /// The positions of this page among `total` items, and the marker of
    /// the next page: for answers whose items cost work to make.
    fn range(self, total: usize) -> (std::ops::Range<usize>, Option<String>) {
        let start = self.start.min(total);
        let end = self.start.saturating_add(self.max).min(total);
        let next = (end < total).then(|| marker(end));
        (start..end, next)
    }
}

/// Markers are opaque to clients; the twin's are the offset of the next item.
fn marker(offset: usize) -> String {
    format!("orgtwin-{offset}")
}

fn parse_marker(marker: &str) -> Option<usize> {
    marker.strip_prefix("orgtwin-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_continue_where_the_marker_says() {
        let page = Page { start: 0, max: 2 };
        let (items, next) = page.window(vec![1, 2, 3]);
        assert_eq!(items, [1, 2]);
        let next = next.unwrap();
        let page = Page {
            start: parse_marker(&next).unwrap(),
            max: 2,
        };
        assert_eq!(page.window(vec![1, 2, 3]), (vec![3], None));
    }

    #[test]
    fn documents_are_url_encoded_as_iam_answers_them() {
        let document = Document::parse(r#"{"Statement": []}"#).unwrap();
        assert_eq!(
            encode_document(&document),
            "%7B%22Statement%22%3A%20%5B%5D%7D"
        );
    }

    #[test]
    fn policy_problems_carry_iam_codes() {
        let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole", "Resource": "*"}]}"#;
        let error = policy_document(trust, &[PolicyType::Trust]).unwrap_err();
        assert_eq!(error.code, "MalformedPolicyDocument");
        assert_eq!(error.message, "Has prohibited field Resource.");
        let error = policy_document("{", &[PolicyType::Identity]).unwrap_err();
        assert_eq!(error.code, "MalformedPolicyDocument");
    }
}
