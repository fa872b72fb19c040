//! Callers: the principal behind a request's access key.
//!
//! A long-term key belongs to an IAM user (or to the administrator every
//! account has in the twin, see [`ADMIN_USER`]). A temporary key belongs to
//! a [`Session`]: a role session from `AssumeRole` (and later Pod Identity and
//! web identity), or a user's session from `GetSessionToken`.

use orgtwin_model::Model;
use orgtwin_policy::{Context, NamedPolicy, Principal, Timestamp};
use serde::{Deserialize, Serialize};

/// The IAM user every account has in the twin, with `AdministratorAccess`,
/// whose keys `orgtwin env --account ID` prints.
pub const ADMIN_USER: &str = "orgtwin-admin";

/// A session tag, as the session carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTag {
    pub key: String,
    pub value: String,
    /// Transitive tags pass to sessions this one assumes.
    pub transitive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// `AssumeRole` and its web-identity and Pod Identity cousins.
    AssumedRole,
    /// `GetSessionToken`: the user's own identity, temporary keys.
    UserSession,
}

/// What a temporary key stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub kind: SessionKind,
    pub account: String,
    /// The role (assumed-role sessions) or user (user sessions).
    pub name: String,
    /// The role's or user's ARN, with its path.
    pub identity_arn: String,
    /// The role's or user's unique id.
    pub identity_id: String,
    /// For role sessions: `RoleSessionName`.
    pub session_name: Option<String>,
    pub tags: Vec<SessionTag>,
    pub source_identity: Option<String>,
    /// Inline session policy (JSON) and managed session policy ARNs.
    pub session_policy: Option<String>,
    pub session_policy_arns: Vec<String>,
    /// Whether a role session assumed this role (role chaining).
    pub chained: bool,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    /// Extra request context the session carries (web identity claims).
    #[serde(default)]
    pub context: Vec<(String, String)>,
}

impl Session {
    /// A new session of `role`, issued at `now` for `duration` seconds, with
    /// no tags, source identity or session policy yet.
    pub fn of_role(
        role: &orgtwin_model::Role,
        account: &str,
        session_name: &str,
        now: i64,
        duration: i64,
    ) -> Session {
        Session {
            kind: SessionKind::AssumedRole,
            account: account.to_string(),
            name: role.name.clone(),
            identity_arn: role.arn.clone(),
            identity_id: role.id.clone(),
            session_name: Some(session_name.to_string()),
            tags: Vec::new(),
            source_identity: None,
            session_policy: None,
            session_policy_arns: Vec::new(),
            chained: false,
            issued_at: now,
            expires_at: now + duration,
            context: Vec::new(),
        }
    }

    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, or the user's ARN.
    pub fn arn(&self) -> String {
        match (&self.kind, &self.session_name) {
            (SessionKind::AssumedRole, Some(session)) => {
                format!(
                    "arn:aws:sts::{}:assumed-role/{}/{session}",
                    self.account, self.name
                )
            }
            _ => self.identity_arn.clone(),
        }
    }

    /// `aws:userid`: `AROA...:SESSION`, or the user's id.
    pub fn userid(&self) -> String {
        match (&self.kind, &self.session_name) {
            (SessionKind::AssumedRole, Some(session)) => format!("{}:{session}", self.identity_id),
            _ => self.identity_id.clone(),
        }
    }

    pub fn transitive_tags(&self) -> impl Iterator<Item = &SessionTag> {
        self.tags.iter().filter(|t| t.transitive)
    }
}

/// The authenticated principal of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// An IAM user with a long-term key; `arn` carries the user's path.
    /// Made by [`Caller::user`].
    User {
        account: String,
        name: String,
        arn: String,
    },
    Session(Box<Session>),
}

impl Caller {
    /// The user `name` of `account`, named by its ARN in the model (with
    /// its path), or `arn:aws:iam::ACCOUNT:user/NAME` for a user the model
    /// does not hold (the built-in administrator).
    pub fn user(model: &Model, account: &str, name: &str) -> Caller {
        Caller::User {
            account: account.to_string(),
            name: name.to_string(),
            arn: model
                .user(account, name)
                .map_or_else(|| user_arn(account, name, None), |u| u.arn.clone()),
        }
    }

    pub fn account(&self) -> &str {
        match self {
            Caller::User { account, .. } => account,
            Caller::Session(s) => &s.account,
        }
    }

    /// The ARN AWS names the caller by (in `GetCallerIdentity` and errors).
    pub fn arn(&self) -> String {
        match self {
            Caller::User { arn, .. } => arn.clone(),
            Caller::Session(s) => s.arn(),
        }
    }

    pub fn session(&self) -> Option<&Session> {
        match self {
            Caller::Session(s) => Some(s),
            Caller::User { .. } => None,
        }
    }

    /// The engine's view of the caller.
    pub fn principal(&self) -> Principal {
        match self {
            Caller::User { account, name, arn } => Principal::User {
                account: account.clone(),
                name: name.clone(),
                arn: arn.clone(),
            },
            Caller::Session(s) => match (&s.kind, &s.session_name) {
                (SessionKind::AssumedRole, Some(session)) => Principal::AssumedRole {
                    account: s.account.clone(),
                    role_name: s.name.clone(),
                    session_name: session.clone(),
                    arn: s.arn(),
                },
                _ => Principal::User {
                    account: s.account.clone(),
                    name: s.name.clone(),
                    arn: s.identity_arn.clone(),
                },
            },
        }
    }

    /// `aws:userid`.
    pub fn userid(&self, model: &Model) -> String {
        match self {
            Caller::User { account, name, .. } => model.user(account, name).map_or_else(
                || orgtwin_policy::principal::stable_id("AIDA", &self.arn()),
                |u| u.id.clone(),
            ),
            Caller::Session(s) => s.userid(),
        }
    }

    /// The caller's identity policies, permissions boundary and session
    /// policy, as the model and the session hold them.
    pub fn policies(&self, model: &Model) -> CallerPolicies {
        match self {
            Caller::User { account, name, .. }
                if name == ADMIN_USER && model.user(account, name).is_none() =>
            {
                CallerPolicies {
                    identity: admin_policies(model),
                    boundary: None,
                    session: None,
                }
            }
            Caller::User { account, name, .. } => CallerPolicies {
                identity: model.identity_policies_of_user(account, name),
                boundary: model.boundary_of_user(account, name),
                session: None,
            },
            Caller::Session(s) => {
                let (identity, boundary) = match s.kind {
                    SessionKind::AssumedRole => (
                        model.identity_policies_of_role(&s.account, &s.name),
                        model.boundary_of_role(&s.account, &s.name),
                    ),
                    SessionKind::UserSession
                        if s.name == ADMIN_USER && model.user(&s.account, &s.name).is_none() =>
                    {
                        (admin_policies(model), None)
                    }
                    SessionKind::UserSession => (
                        model.identity_policies_of_user(&s.account, &s.name),
                        model.boundary_of_user(&s.account, &s.name),
                    ),
                };
                CallerPolicies {
                    identity,
                    boundary,
                    session: session_policy(model, s),
                }
            }
        }
    }

    /// Request context keys that come from the caller: the derived principal
    /// keys, principal tags (session tags over the role's or user's tags),
    /// the organization, the source identity.
    pub fn context(&self, model: &Model, now: Timestamp) -> Context {
        let mut context = Context::default();
        let principal = self.principal();
        context.insert("aws:userid", self.userid(model));
        let mut tags: Vec<(String, String)> = match self {
            Caller::User { account, name, .. } => model
                .user(account, name)
                .map(|u| {
                    u.tags
                        .iter()
                        .map(|t| (t.key.clone(), t.value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            Caller::Session(s) => {
                let base = match s.kind {
                    SessionKind::AssumedRole => model.role(&s.account, &s.name).map(|r| &r.tags),
                    SessionKind::UserSession => model.user(&s.account, &s.name).map(|u| &u.tags),
                };
                base.map(|tags| {
                    tags.iter()
                        .map(|t| (t.key.clone(), t.value.clone()))
                        .collect()
                })
                .unwrap_or_default()
            }
        };
        if let Caller::Session(s) = self {
            for tag in &s.tags {
                tags.retain(|(k, _)| !k.eq_ignore_ascii_case(&tag.key));
                tags.push((tag.key.clone(), tag.value.clone()));
            }
            if let Some(source) = &s.source_identity {
                context.insert("aws:SourceIdentity", source.clone());
            }
            context.insert(
                "aws:TokenIssueTime",
                Timestamp::from_unix_seconds(s.issued_at).to_rfc3339(),
            );
            for (k, v) in &s.context {
                context.insert(k, v.clone());
            }
        }
        for (key, value) in &tags {
            context.insert(&format!("aws:PrincipalTag/{key}"), value.clone());
        }
        if model.account(self.account()).is_some() {
            context.insert("aws:PrincipalOrgID", model.organization.id.clone());
            let org_path = model.org_levels(self.account()).org_path.clone();
            context.insert_multi("aws:PrincipalOrgPaths", vec![org_path]);
        }
        context.insert("aws:SecureTransport", "true");
        context.insert("aws:ViaAWSService", "false");
        context.derive_from_principal(&principal, now);
        context
    }
}

/// The caller's policies.
#[derive(Clone, Debug, Default)]
pub struct CallerPolicies {
    pub identity: Vec<NamedPolicy>,
    pub boundary: Option<NamedPolicy>,
    pub session: Option<NamedPolicy>,
}

fn user_arn(account: &str, name: &str, path: Option<&str>) -> String {
    format!("arn:aws:iam::{account}:user{}{name}", path.unwrap_or("/"))
}

fn admin_policies(model: &Model) -> Vec<NamedPolicy> {
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
    model
        .managed_policy(ADMIN)
        .map(|p| p.document.named(ADMIN))
        .into_iter()
        .collect()
}

/// The inline and managed session policies, as one policy whose statements
/// are all of theirs (the session may do what any of them allows).
fn session_policy(model: &Model, session: &Session) -> Option<NamedPolicy> {
    let mut statements = Vec::new();
    let mut any = false;
    if let Some(text) = &session.session_policy {
        any = true;
        if let Ok(policy) = orgtwin_policy::Policy::parse(text) {
            statements.extend(policy.statements);
        }
    }
    for arn in &session.session_policy_arns {
        any = true;
        if let Some(managed) = model.managed_policy(arn) {
            statements.extend(managed.document.policy.statements.iter().cloned());
        }
    }
    if !any {
        return None;
    }
    let mut policy =
        orgtwin_policy::Policy::parse(r#"{"Version": "2012-10-17", "Statement": []}"#).ok()?;
    for (index, mut statement) in statements.into_iter().enumerate() {
        statement.index = index;
        policy.statements.push(statement);
    }
    Some(NamedPolicy::new("session", policy))
}
