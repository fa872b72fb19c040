//! STS: `AssumeRole` and `GetSessionToken`, with AWS's rules.
//!
//! `AssumeRole`:
//! - `RoleSessionName` is 2 to 64 of `[\w+=,.@-]`; `DurationSeconds` is 900 to
//!   43,200, defaults to 3,600, may not exceed the role's
//!   `MaxSessionDuration`, and may not exceed 3,600 when the caller is itself a
//!   role session (role chaining).
//! - The role's trust policy must allow the caller; across accounts, or when
//!   the trust names the caller's account, the caller's own policies must too.
//!   The role's account RCPs and the caller's account SCPs apply.
//! - Session tags: at most 50, keys 1-128 and values 0-256 characters, keys
//!   unique ignoring case; `TransitiveTagKeys` must name requested tags. The
//!   calling session's transitive tags pass on, cannot be set again, and count
//!   as tags of the new session: any tag, passed or inherited, needs
//!   `sts:TagSession`. In the trust policy tags appear as `aws:RequestTag/*`
//!   and `aws:TagKeys`; on the new session as `aws:PrincipalTag/*`.
//! - `SourceIdentity` needs `sts:SetSourceIdentity`; once set in a chain it
//!   is inherited and cannot change.
//! - Session policies (inline, at most 2,048 characters, and up to 10 managed
//!   ARNs) intersect with the role's permissions.
//! - The packed size of session tags and policies is limited
//!   ([`PACKED_BUDGET`] bytes, an approximation of AWS's compressed format).

use orgtwin_model::Model;
use orgtwin_policy::{Context, PolicyType, ResourcePolicyKind, Timestamp, validate};

use crate::authorize::{Ask, Authorization, ResourcePolicy, authorize};
use crate::caller::{Caller, Session, SessionKind, SessionTag};

/// The byte budget packed session tags and policies share.
pub const PACKED_BUDGET: usize = 2_048;

/// Generates the identifiers and secrets of new credentials.
pub trait IdSource {
    /// `prefix` and 16 characters of `[A-Z2-7]`.
    fn access_key_id(&mut self, prefix: &str) -> String;
    /// 40 characters.
    fn secret_access_key(&mut self) -> String;
    /// An opaque session token.
    fn session_token(&mut self) -> String;
}

/// Temporary credentials. `Debug` hides the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// A new session and its credentials, with the decisions that allowed it.
#[derive(Debug)]
pub struct Issued {
    pub session: Session,
    pub credentials: Credentials,
    /// Percentage of [`PACKED_BUDGET`] used, when tags or policies were passed.
    pub packed_policy_size: Option<u32>,
    pub authorizations: Vec<Authorization>,
}

/// `AssumeRole`'s parameters.
#[derive(Clone, Debug, Default)]
pub struct AssumeRoleRequest {
    pub role_arn: String,
    pub role_session_name: String,
    pub duration_seconds: Option<i64>,
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub external_id: Option<String>,
    pub source_identity: Option<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// STS's refusals, with AWS's codes.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("{0}")]
    ValidationError(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    #[error("{message}")]
    AccessDenied {
        message: String,
        authorizations: Vec<Authorization>,
    },
    #[error("{0}")]
    InvalidIdentityToken(String),
    #[error("{0}")]
    ExpiredToken(String),
    #[error("{0}")]
    IdpCommunicationError(String),
}

impl StsError {
    pub fn code(&self) -> &'static str {
        match self {
            StsError::ValidationError(_) => "ValidationError",
            StsError::InvalidParameterValue(_) => "InvalidParameterValue",
            StsError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            StsError::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
            StsError::AccessDenied { .. } => "AccessDenied",
            StsError::InvalidIdentityToken(_) => "InvalidIdentityToken",
            StsError::ExpiredToken(_) => "ExpiredTokenException",
            StsError::IdpCommunicationError(_) => "IDPCommunicationError",
        }
    }

    /// The HTTP status, as STS's service model gives it per error:
    /// `InvalidIdentityToken` and `ExpiredTokenException` are 400.
    pub fn status(&self) -> u16 {
        match self {
            StsError::AccessDenied { .. } => 403,
            _ => 400,
        }
    }

    /// The decisions behind the refusal (for the trail and
    /// `DecodeAuthorizationMessage`).
    pub fn authorizations(&self) -> &[Authorization] {
        match self {
            StsError::AccessDenied { authorizations, .. } => authorizations,
            _ => &[],
        }
    }
}

pub(crate) fn constraint(value: &str, field: &str, rule: &str) -> StsError {
    StsError::ValidationError(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {rule}"
    ))
}

fn check_text(
    value: &str,
    field: &str,
    min: usize,
    max: usize,
    extra: &str,
) -> Result<(), StsError> {
    let len = value.chars().count();
    if len < min {
        return Err(constraint(
            value,
            field,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(constraint(
            value,
            field,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    let ok = value
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c) || extra.contains(c));
    if !ok {
        let pattern = format!("[\\w+=,.@{extra}-]*");
        return Err(constraint(
            value,
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

/// `RoleSessionName`: 2 to 64 of `[\w+=,.@-]`.
pub(crate) fn check_session_name(name: &str) -> Result<(), StsError> {
    check_text(name, "roleSessionName", 2, 64, "")
}

/// `DurationSeconds`: 900 to 43,200.
pub(crate) fn check_duration(duration: i64) -> Result<(), StsError> {
    if duration < 900 {
        return Err(constraint(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > 43_200 {
        return Err(constraint(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value less than or equal to 43200",
        ));
    }
    Ok(())
}

/// A role's `MaxSessionDuration` caps the requested duration.
pub(crate) fn check_role_duration(
    role: &orgtwin_model::Role,
    duration: i64,
) -> Result<(), StsError> {
    if duration > i64::from(role.max_session_duration) {
        return Err(StsError::ValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    Ok(())
}

/// `AssumeRole`.
pub fn assume_role(
    model: &Model,
    caller: &Caller,
    request: &AssumeRoleRequest,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<Issued, StsError> {
    check_session_name(&request.role_session_name)?;
    if request.role_arn.chars().count() < 20 {
        return Err(constraint(
            &request.role_arn,
            "roleArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    if let Some(external_id) = &request.external_id {
        check_text(external_id, "externalId", 2, 1224, ":/")?;
    }
    if let Some(source) = &request.source_identity {
        check_text(source, "sourceIdentity", 2, 64, "")?;
    }
    let duration = request.duration_seconds.unwrap_or(3_600);
    check_duration(duration)?;
    let calling_session = caller.session();
    let chained = calling_session.is_some_and(|s| s.kind == SessionKind::AssumedRole);
    let tags = session_tags(request, calling_session)?;
    let (session_policy, policy_chars) =
        session_policy(model, &request.policy, &request.policy_arns)?;
    let packed = packed_percent(&tags, policy_chars, &request.policy_arns);
    if packed > 100 {
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed size of session tags and policies consumes {packed}% of allotted space."
        )));
    }
    let source_identity = match (
        calling_session.and_then(|s| s.source_identity.clone()),
        &request.source_identity,
    ) {
        (Some(inherited), Some(asked)) if &inherited != asked => {
            return Err(StsError::InvalidParameterValue(format!(
                "The source identity of the calling session is `{inherited}`; a session cannot change its source identity."
            )));
        }
        (Some(inherited), _) => Some(inherited),
        (None, asked) => asked.clone(),
    };

    // Who and what: the role, its trust, and the caller's side.
    let denied = |action: &str, authorizations: Vec<Authorization>| StsError::AccessDenied {
        message: format!(
            "User: {} is not authorized to perform: {action} on resource: {}",
            caller.arn(),
            request.role_arn
        ),
        authorizations,
    };
    let Some((account, role_name)) = role_arn_parts(&request.role_arn) else {
        return Err(denied("sts:AssumeRole", Vec::new()));
    };
    let Some(role) = model
        .role(account, role_name)
        .filter(|r| r.arn == request.role_arn || role_arn_without_path(r) == request.role_arn)
    else {
        return Err(denied("sts:AssumeRole", Vec::new()));
    };
    let trust = role
        .trust_policy
        .named(&format!("{} trust policy", role.name));
    let mut context = Context::default();
    context.insert("sts:RoleSessionName", request.role_session_name.clone());
    if let Some(external_id) = &request.external_id {
        context.insert("sts:ExternalId", external_id.clone());
    }
    if let Some(source) = &request.source_identity {
        context.insert("sts:SourceIdentity", source.clone());
    }
    for tag in &tags {
        context.insert(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
    }
    if !tags.is_empty() {
        context.insert_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
    }
    if !request.transitive_tag_keys.is_empty() {
        context.insert_multi("sts:TransitiveTagKeys", request.transitive_tag_keys.clone());
    }
    let mut actions = vec!["sts:AssumeRole"];
    if !tags.is_empty() {
        actions.push("sts:TagSession");
    }
    if request.source_identity.is_some()
        && calling_session
            .and_then(|s| s.source_identity.as_ref())
            .is_none()
    {
        actions.push("sts:SetSourceIdentity");
    }
    let mut authorizations = Vec::with_capacity(actions.len());
    for action in actions {
        let resource_policy = ResourcePolicy {
            policy: &trust,
            kind: ResourcePolicyKind::Trust,
        };
        let ask = Ask {
            action,
            resource: &role.arn,
            resource_account: Some(account),
            resource_policy: Some(resource_policy),
            context: &context,
        };
        let authorization = authorize(model, caller, &ask, now);
        let allowed = authorization.allowed();
        authorizations.push(authorization);
        if !allowed {
            return Err(denied(action, authorizations));
        }
    }
    if chained && duration > 3_600 {
        return Err(StsError::ValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }
    check_role_duration(role, duration)?;

    let session = Session {
        tags,
        source_identity,
        session_policy,
        session_policy_arns: request.policy_arns.clone(),
        chained,
        ..Session::of_role(
            role,
            account,
            &request.role_session_name,
            now.seconds(),
            duration,
        )
    };
    let passed_any =
        !session.tags.is_empty() || request.policy.is_some() || !request.policy_arns.is_empty();
    Ok(Issued {
        credentials: new_credentials(ids, session.expires_at),
        session,
        packed_policy_size: passed_any.then_some(packed),
        authorizations,
    })
}

/// `GetSessionToken`: temporary keys for an IAM user's own identity.
pub fn get_session_token(
    model: &Model,
    caller: &Caller,
    duration_seconds: Option<i64>,
    now: Timestamp,
    ids: &mut dyn IdSource,
) -> Result<Issued, StsError> {
    let Caller::User { account, name, .. } = caller else {
        return Err(StsError::AccessDenied {
            message: "Cannot call GetSessionToken with session credentials".into(),
            authorizations: Vec::new(),
        });
    };
    let duration = duration_seconds.unwrap_or(43_200);
    if duration < 900 {
        return Err(constraint(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if duration > 129_600 {
        return Err(constraint(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value less than or equal to 129600",
        ));
    }
    let issued_at = now.seconds();
    let identity_arn = caller.arn();
    let session = Session {
        kind: SessionKind::UserSession,
        account: account.clone(),
        name: name.clone(),
        // The user's own unique id, so `aws:userid` is the same as with
        // its long-term key.
        identity_id: caller.userid(model),
        identity_arn,
        session_name: None,
        tags: Vec::new(),
        source_identity: None,
        session_policy: None,
        session_policy_arns: Vec::new(),
        chained: false,
        issued_at,
        expires_at: issued_at + duration,
        context: Vec::new(),
    };
    Ok(Issued {
        credentials: new_credentials(ids, session.expires_at),
        session,
        packed_policy_size: None,
        authorizations: Vec::new(),
    })
}

pub(crate) fn new_credentials(ids: &mut dyn IdSource, expiration: i64) -> Credentials {
    Credentials {
        access_key_id: ids.access_key_id("ASIA"),
        secret_access_key: ids.secret_access_key(),
        session_token: ids.session_token(),
        expiration,
    }
}

/// `arn:aws:iam::ACCT:role/path/NAME` to (ACCT, NAME).
pub(crate) fn role_arn_parts(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path = resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (account.len() == 12 && !name.is_empty()).then_some((account, name))
}

fn role_arn_without_path(role: &orgtwin_model::Role) -> String {
    let account = role.arn.split(':').nth(4).unwrap_or_default();
    format!("arn:aws:iam::{account}:role/{}", role.name)
}

/// The new session's tags: the requested ones, then the calling session's
/// transitive ones, with STS's checks.
fn session_tags(
    request: &AssumeRoleRequest,
    calling: Option<&Session>,
) -> Result<Vec<SessionTag>, StsError> {
    if request.tags.len() > 50 {
        return Err(constraint(
            "[...]",
            "tags",
            "Member must have length less than or equal to 50",
        ));
    }
    let mut tags: Vec<SessionTag> = Vec::with_capacity(request.tags.len() + 6);
    for (key, value) in &request.tags {
        let key_len = key.chars().count();
        if !(1..=128).contains(&key_len) {
            return Err(constraint(
                key,
                "tags.member.key",
                "Member must have length between 1 and 128",
            ));
        }
        if value.chars().count() > 256 {
            return Err(constraint(
                value,
                "tags.member.value",
                "Member must have length less than or equal to 256",
            ));
        }
        if tags.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
            return Err(StsError::InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
        let transitive = request
            .transitive_tag_keys
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key));
        tags.push(SessionTag {
            key: key.clone(),
            value: value.clone(),
            transitive,
        });
    }
    for key in &request.transitive_tag_keys {
        if !request
            .tags
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            return Err(StsError::InvalidParameterValue(format!(
                "The specified transitive tag key `{key}` must be included in the requested tags."
            )));
        }
    }
    for inherited in calling.into_iter().flat_map(Session::transitive_tags) {
        if tags
            .iter()
            .any(|t| t.key.eq_ignore_ascii_case(&inherited.key))
        {
            return Err(StsError::InvalidParameterValue(
                "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.".into(),
            ));
        }
        tags.push(inherited.clone());
    }
    Ok(tags)
}

/// Validates the inline session policy and the managed ARNs; returns the
/// policy text and its size in non-whitespace characters.
pub(crate) fn session_policy(
    model: &Model,
    inline: &Option<String>,
    policy_arns: &[String],
) -> Result<(Option<String>, usize), StsError> {
    if policy_arns.len() > 10 {
        return Err(constraint(
            "[...]",
            "policyArns",
            "Member must have length less than or equal to 10",
        ));
    }
    for arn in policy_arns {
        if model.managed_policy(arn).is_none() {
            return Err(StsError::InvalidParameterValue(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }
    let Some(text) = inline else {
        return Ok((None, 0));
    };
    let policy = orgtwin_policy::Policy::parse(text).map_err(|errors| {
        StsError::MalformedPolicyDocument(
            errors
                .first()
                .map_or_else(|| "Syntax errors in policy.".into(), |e| e.message.clone()),
        )
    })?;
    if let Some(error) = validate(&policy, PolicyType::Session).first() {
        return Err(StsError::MalformedPolicyDocument(error.message.clone()));
    }
    Ok((Some(text.clone()), policy.size))
}

fn packed_percent(tags: &[SessionTag], policy_chars: usize, policy_arns: &[String]) -> u32 {
    let tag_bytes: usize = tags.iter().map(|t| t.key.len() + t.value.len() + 4).sum();
    let arn_bytes: usize = policy_arns.iter().map(String::len).sum();
    let used = tag_bytes + policy_chars + arn_bytes;
    u32::try_from(used.saturating_mul(100).div_ceil(PACKED_BUDGET)).unwrap_or(u32::MAX)
}
