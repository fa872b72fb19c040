//! Principals: who makes a request, and the `Principal` element that names them.
//!
//! A resource-based policy can name a principal in four ways, and the way it
//! matched decides what an allow means (see [`PrincipalMatch`]): by its exact
//! ARN (a user, a role session, a service, a web-identity provider), by the
//! role a session belongs to, by its account (`"111122223333"` or
//! `arn:aws:iam::111122223333:root`, which delegates to the account's identity
//! policies), or by `"*"`.

use std::fmt;

/// The caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The account root user, `arn:aws:iam::ACCT:root`.
    Root {
        account: String,
        arn: String,
    },
    User {
        account: String,
        name: String,
        arn: String,
    },
    /// A role acting without a session name (as in `iam simulate-principal-policy`).
    Role {
        account: String,
        name: String,
        arn: String,
    },
    /// `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`.
    AssumedRole {
        account: String,
        role_name: String,
        session_name: String,
        arn: String,
    },
    FederatedUser {
        account: String,
        name: String,
        arn: String,
    },
    /// An AWS service principal such as `pods.eks.amazonaws.com`.
    Service(String),
    /// A web identity or SAML provider, by its IAM ARN or its well-known name.
    Federated(String),
    CanonicalUser(String),
    Anonymous,
}

impl Principal {
    /// Parses a caller ARN.
    pub fn from_arn(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let &["arn", partition, service, "", account, resource] = parts.as_slice() else {
            return Err(format!(
                "`{arn}` is not a principal ARN (arn:PARTITION:iam::ACCOUNT:...)"
            ));
        };
        if !is_partition(partition) {
            return Err(format!("`{partition}` is not an AWS partition in `{arn}`"));
        }
        if !is_account_id(account) {
            return Err(format!(
                "`{account}` in `{arn}` is not a 12-digit account id"
            ));
        }
        let account = account.to_string();
        let owned = arn.to_string();
        let last = |path: &str| path.rsplit('/').next().unwrap_or_default().to_string();
        match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => Ok(Principal::Root {
                account,
                arn: owned,
            }),
            ("iam", Some(("user", path))) if !path.is_empty() => Ok(Principal::User {
                account,
                name: last(path),
                arn: owned,
            }),
            ("iam", Some(("role", path))) if !path.is_empty() => Ok(Principal::Role {
                account,
                name: last(path),
                arn: owned,
            }),
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, session)) if !role.is_empty() && !session.is_empty() => {
                    Ok(Principal::AssumedRole {
                        account,
                        role_name: role.to_string(),
                        session_name: session.to_string(),
                        arn: owned,
                    })
                }
                _ => Err(format!("`{arn}` must be assumed-role/ROLE/SESSION")),
            },
            ("sts", Some(("federated-user", name))) if !name.is_empty() => {
                Ok(Principal::FederatedUser {
                    account,
                    name: name.to_string(),
                    arn: owned,
                })
            }
            _ => Err(format!("`{arn}` is not a user, role, session or root ARN")),
        }
    }

    /// The account the principal belongs to; none for services and providers.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Root { account, .. }
            | Principal::User { account, .. }
            | Principal::Role { account, .. }
            | Principal::AssumedRole { account, .. }
            | Principal::FederatedUser { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The caller's own ARN, as it appears in error messages.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { arn, .. }
            | Principal::User { arn, .. }
            | Principal::Role { arn, .. }
            | Principal::AssumedRole { arn, .. }
            | Principal::FederatedUser { arn, .. } => arn.clone(),
            Principal::Service(s) | Principal::Federated(s) | Principal::CanonicalUser(s) => {
                s.clone()
            }
            Principal::Anonymous => "anonymous".to_string(),
        }
    }

    /// True for principals that are IAM identities of an account, the ones
    /// that identity policies, boundaries and SCPs govern.
    pub fn is_iam_identity(&self) -> bool {
        self.account().is_some()
    }

    /// `aws:PrincipalArn`: for a session, the role's ARN (without the path,
    /// which a session ARN does not carry).
    pub fn principal_arn(&self) -> Option<String> {
        match self {
            Principal::AssumedRole {
                account,
                role_name,
                arn,
                ..
            } => {
                let partition = arn.split(':').nth(1).unwrap_or("aws");
                Some(format!("arn:{partition}:iam::{account}:role/{role_name}"))
            }
            Principal::Root { arn, .. }
            | Principal::User { arn, .. }
            | Principal::Role { arn, .. }
            | Principal::FederatedUser { arn, .. } => Some(arn.clone()),
            _ => None,
        }
    }

    /// `aws:PrincipalType`.
    pub fn principal_type(&self) -> Option<&'static str> {
        match self {
            Principal::Root { .. } => Some("Account"),
            Principal::User { .. } => Some("User"),
            Principal::Role { .. } | Principal::AssumedRole { .. } => Some("AssumedRole"),
            Principal::FederatedUser { .. } => Some("FederatedUser"),
            Principal::Anonymous => Some("Anonymous"),
            _ => None,
        }
    }

    /// `aws:userid`, with unique ids derived from the ARN when no model
    /// supplies the real ones.
    pub fn userid(&self) -> Option<String> {
        match self {
            Principal::Root { account, .. } => Some(account.clone()),
            Principal::User { arn, .. } => Some(stable_id("AIDA", arn)),
            Principal::Role { arn, .. } => Some(stable_id("AROA", arn)),
            Principal::AssumedRole { session_name, .. } => {
                let role_arn = self.principal_arn().unwrap_or_default();
                Some(format!("{}:{session_name}", stable_id("AROA", &role_arn)))
            }
            Principal::FederatedUser { account, name, .. } => Some(format!("{account}:{name}")),
            Principal::Anonymous => Some("anonymous".to_string()),
            _ => None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn())
    }
}

/// A unique id in IAM's form: a four-letter prefix and 17 characters of
/// `[A-Z2-7]`, derived (FNV-1a) from `seed` so it is the same in every run.
pub fn stable_id(prefix: &str, seed: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for byte in seed.bytes() {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let mut id = String::with_capacity(prefix.len() + 17);
    id.push_str(prefix);
    for _ in 0..17 {
        let index = usize::try_from(hash % 32).unwrap_or(0);
        id.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
        hash /= 32;
    }
    id
}

pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_partition(text: &str) -> bool {
    matches!(
        text,
        "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-eusc"
    )
}

/// The key under `Principal` that an entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
}

impl PrincipalKind {
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "AWS" => Some(PrincipalKind::Aws),
            "Service" => Some(PrincipalKind::Service),
            "Federated" => Some(PrincipalKind::Federated),
            "CanonicalUser" => Some(PrincipalKind::CanonicalUser),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One principal named in a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers.
    Any,
    Account(String),
    User(String),
    Role {
        account: String,
        name: String,
        arn: String,
    },
    Session(String),
    FederatedUser(String),
    Service(String),
    Federated(String),
    CanonicalUser(String),
    /// A value IAM would refuse; it matches nothing in an allow and
    /// everything in a deny, so the engine never fails open.
    Invalid {
        value: String,
        reason: String,
    },
}

/// How a resource-based policy's `Principal` matched the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    /// The account (id or root ARN): a delegation to the account's identity
    /// policies, never a grant on its own.
    Account,
    /// `"*"`.
    Any,
    /// The role a session belongs to: a grant limited by the session's
    /// permissions boundary and session policy.
    RoleOfSession,
    /// The caller's own ARN: a grant on its own within an account.
    Exact,
}

impl PrincipalEntry {
    pub fn parse(kind: PrincipalKind, value: &str) -> Self {
        let invalid = |reason: &str| PrincipalEntry::Invalid {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        match kind {
            PrincipalKind::Aws => parse_aws_entry(value).unwrap_or_else(|reason| invalid(&reason)),
            PrincipalKind::Service if value == "*" => PrincipalEntry::Any,
            PrincipalKind::Service
                if value.ends_with(".amazonaws.com") || value.ends_with(".amazonaws.com.cn") =>
            {
                if value.contains(['*', '?']) {
                    invalid("wildcards are not allowed in a service principal")
                } else {
                    PrincipalEntry::Service(value.to_string())
                }
            }
            PrincipalKind::Service => invalid("a service principal ends in `.amazonaws.com`"),
            PrincipalKind::Federated => {
                let known = [
                    "accounts.google.com",
                    "graph.facebook.com",
                    "www.amazon.com",
                ];
                let provider = value
                    .split_once(":oidc-provider/")
                    .or(value.split_once(":saml-provider/"));
                let named = known.contains(&value) || value == "cognito-identity.amazonaws.com";
                if named || provider.is_some() && value.starts_with("arn:") {
                    PrincipalEntry::Federated(value.to_string())
                } else {
                    invalid("a federated principal is an OIDC or SAML provider ARN")
                }
            }
            PrincipalKind::CanonicalUser => {
                if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    PrincipalEntry::CanonicalUser(value.to_string())
                } else {
                    invalid("a canonical user id is 64 hexadecimal characters")
                }
            }
        }
    }

    /// How this entry matches `caller`, if it does.
    pub fn matches(&self, caller: &Principal) -> Option<PrincipalMatch> {
        use PrincipalEntry as E;
        match (self, caller) {
            (E::Any, _) => Some(PrincipalMatch::Any),
            (E::Account(account), _) if caller.account() == Some(account.as_str()) => {
                Some(PrincipalMatch::Account)
            }
            (
                E::User(arn),
                Principal::User {
                    arn: caller_arn, ..
                },
            ) if arn == caller_arn => Some(PrincipalMatch::Exact),
            (
                E::Role { arn, .. },
                Principal::Role {
                    arn: caller_arn, ..
                },
            ) if arn == caller_arn => Some(PrincipalMatch::Exact),
            (
                E::Role { account, name, .. },
                Principal::AssumedRole {
                    account: caller_account,
                    role_name,
                    ..
                },
            ) if account == caller_account && name == role_name => {
                Some(PrincipalMatch::RoleOfSession)
            }
            (
                E::Session(arn),
                Principal::AssumedRole {
                    arn: caller_arn, ..
                },
            )
            | (
                E::FederatedUser(arn),
                Principal::FederatedUser {
                    arn: caller_arn, ..
                },
            )
            | (E::Service(arn), Principal::Service(caller_arn))
            | (E::Federated(arn), Principal::Federated(caller_arn))
            | (E::CanonicalUser(arn), Principal::CanonicalUser(caller_arn))
                if arn == caller_arn =>
            {
                Some(PrincipalMatch::Exact)
            }
            _ => None,
        }
    }

    /// True when the entry names exactly this caller (its own ARN, not its
    /// role or account): the test `NotPrincipal` uses to exempt a caller.
    pub fn names_exactly(&self, caller: &Principal) -> bool {
        self.matches(caller) == Some(PrincipalMatch::Exact)
    }
}

fn parse_aws_entry(value: &str) -> Result<PrincipalEntry, String> {
    if value == "*" {
        return Ok(PrincipalEntry::Any);
    }
    if is_account_id(value) {
        return Ok(PrincipalEntry::Account(value.to_string()));
    }
    if value.contains(['*', '?']) {
        return Err(
            "wildcards are not allowed in a principal ARN; use `*` alone or a condition \
                    on `aws:PrincipalArn`"
                .to_string(),
        );
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let &["arn", partition, service, "", account, resource] = parts.as_slice() else {
        return Err("an AWS principal is an account id, `*`, or an IAM or STS ARN".to_string());
    };
    if !is_partition(partition) {
        return Err(format!("`{partition}` is not an AWS partition"));
    }
    if !is_account_id(account) {
        return Err(format!("`{account}` is not a 12-digit account id"));
    }
    let (account, arn) = (account.to_string(), value.to_string());
    match (service, resource.split_once('/')) {
        ("iam", None) if resource == "root" => Ok(PrincipalEntry::Account(account)),
        ("iam", Some(("user", path))) if !path.is_empty() => Ok(PrincipalEntry::User(arn)),
        ("iam", Some(("role", path))) if !path.is_empty() => {
            let name = path.rsplit('/').next().unwrap_or_default().to_string();
            Ok(PrincipalEntry::Role { account, name, arn })
        }
        ("sts", Some(("assumed-role", rest))) if rest.contains('/') => {
            Ok(PrincipalEntry::Session(arn))
        }
        ("sts", Some(("federated-user", name))) if !name.is_empty() => {
            Ok(PrincipalEntry::FederatedUser(arn))
        }
        _ => Err(
            "an AWS principal names a root, user, role, assumed-role or federated-user".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_callers() {
        let s = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/app/s1").unwrap();
        assert_eq!(
            s.principal_arn().unwrap(),
            "arn:aws:iam::111122223333:role/app"
        );
        assert!(s.userid().unwrap().starts_with("AROA"));
        assert!(Principal::from_arn("arn:aws:iam::1111:root").is_err());
        assert!(Principal::from_arn("arn:aws:iam::111122223333:group/x").is_err());
    }

    #[test]
    fn match_kinds() {
        let session = Principal::from_arn("arn:aws:sts::111122223333:assumed-role/app/s1").unwrap();
        let role =
            PrincipalEntry::parse(PrincipalKind::Aws, "arn:aws:iam::111122223333:role/x/app");
        assert_eq!(role.matches(&session), Some(PrincipalMatch::RoleOfSession));
        let acct = PrincipalEntry::parse(PrincipalKind::Aws, "111122223333");
        assert_eq!(acct.matches(&session), Some(PrincipalMatch::Account));
        let other = PrincipalEntry::parse(PrincipalKind::Aws, "arn:aws:iam::444455556666:root");
        assert_eq!(other.matches(&session), None);
        let bad = PrincipalEntry::parse(PrincipalKind::Aws, "arn:aws:iam::111122223333:role/*");
        assert!(matches!(bad, PrincipalEntry::Invalid { .. }));
    }

    #[test]
    fn stable_ids_look_like_iam() {
        let id = stable_id("AIDA", "arn:aws:iam::111122223333:user/alice");
        assert_eq!(id.len(), 21);
        assert_eq!(
            id,
            stable_id("AIDA", "arn:aws:iam::111122223333:user/alice")
        );
        assert_ne!(id, stable_id("AIDA", "arn:aws:iam::111122223333:user/bob"));
    }
}
