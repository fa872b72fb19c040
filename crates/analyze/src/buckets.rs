//! The model's buckets indexed for the access analysis: for each caller,
//! the buckets some policy could let it act on, so that `grants` asks the
//! engine only where an allow is possible.
//!
//! IAM allows an action on a bucket or its objects only when an `Allow`
//! matches it: in the caller's identity policies, or in the bucket policy
//! with a `Principal` that names the caller (its ARN, its role, its
//! account, or `*`); across accounts, on both sides. [`Holder::could`]
//! tests exactly that, with the engine's own pattern and principal
//! matching, and leaves out only what can only take an allow away
//! (conditions, permissions boundaries, session policies, SCPs, RCPs, every
//! `Deny`). `NotPrincipal` and patterns with policy variables count as
//! matching. So it may pass an access the engine then denies, never skip
//! one the engine would allow; the engine decides every access reported.

use std::collections::HashMap;
use std::ops::Range;

use orgtwin_identity::Caller;
use orgtwin_model::Model;
use orgtwin_policy::pattern::Pattern;
use orgtwin_policy::policy::{MatchBlock, Statement};
use orgtwin_policy::principal::PrincipalEntry;
use orgtwin_policy::{Context, Effect, NamedPolicy, Principal};

use crate::access::S3_ACTIONS;

/// One bucket: its owner, its policy under the name decisions show, and
/// its resources' range in [`Buckets::resources`].
pub(crate) struct Entry<'m> {
    pub owner: &'m str,
    pub policy: Option<NamedPolicy>,
    pub resources: Range<usize>,
}

/// One resource an access is asked about.
pub(crate) struct Resource {
    pub action: &'static str,
    pub arn: String,
    pub bucket: usize,
}

pub(crate) struct Buckets<'m> {
    pub entries: Vec<Entry<'m>>,
    /// Every bucket's resources, in the order of `access::resources`.
    pub resources: Vec<Resource>,
    /// Buckets by name and by owner.
    by_name: HashMap<&'m str, usize>,
    own: HashMap<&'m str, Vec<usize>>,
    /// Buckets whose policy has an `Allow` naming a principal of the account.
    named: HashMap<String, Vec<usize>>,
    /// Buckets whose policy has an `Allow` that may name anyone.
    anyone: Vec<usize>,
    empty: Context,
}

impl<'m> Buckets<'m> {
    pub fn new(model: &'m Model) -> Self {
        let mut index = Buckets {
            entries: Vec::new(),
            resources: Vec::new(),
            by_name: HashMap::new(),
            own: HashMap::new(),
            named: HashMap::new(),
            anyone: Vec::new(),
            empty: Context::default(),
        };
        for account in model.accounts.values() {
            for bucket in &account.buckets {
                let id = index.entries.len();
                let arn = bucket.arn();
                let first = index.resources.len();
                for (action, on_objects) in S3_ACTIONS {
                    let mut push = |arn: String| {
                        index.resources.push(Resource {
                            action,
                            arn,
                            bucket: id,
                        })
                    };
                    if on_objects {
                        for object in &bucket.objects {
                            push(format!("{arn}/{}", object.key));
                        }
                        push(format!("{arn}/*"));
                    } else {
                        push(arn.clone());
                    }
                }
                let policy = bucket
                    .policy
                    .as_ref()
                    .map(|p| p.named(&format!("{} bucket policy", bucket.name)));
                let mut anyone = false;
                let mut accounts: Vec<String> = Vec::new();
                for statement in policy.iter().flat_map(|p| &p.policy.statements) {
                    if statement.effect != Effect::Allow {
                        continue;
                    }
                    let Some(block) = &statement.principal else {
                        continue;
                    };
                    if block.negated {
                        anyone = true;
                        continue;
                    }
                    for entry in &block.entries {
                        match named_account(&entry.value) {
                            Named::Account(a) => accounts.push(a.to_string()),
                            Named::Anyone => anyone = true,
                            Named::NoCaller => {}
                        }
                    }
                }
                if anyone {
                    index.anyone.push(id);
                }
                accounts.sort();
                accounts.dedup();
                for a in accounts {
                    index.named.entry(a).or_default().push(id);
                }
                index.by_name.insert(bucket.name.as_str(), id);
                index.own.entry(account.id.as_str()).or_default().push(id);
                index.entries.push(Entry {
                    owner: account.id.as_str(),
                    policy,
                    resources: first..index.resources.len(),
                });
            }
        }
        index
    }

    /// What the test needs of `caller`: its principal, its identity
    /// policies, and the buckets it could act on.
    pub fn holder(&self, model: &Model, caller: &Caller) -> Holder {
        let account = caller.account();
        let mut buckets: Vec<usize> = self
            .own
            .get(account)
            .into_iter()
            .flatten()
            .chain(self.named.get(account).into_iter().flatten())
            .chain(&self.anyone)
            .copied()
            .collect();
        buckets.sort_unstable();
        buckets.dedup();
        Holder {
            principal: caller.principal(),
            account: account.to_string(),
            identity: caller.policies(model).identity,
            buckets,
        }
    }

    /// The bucket an S3 ARN (`arn:aws:s3:::BUCKET` or `.../KEY`) is in,
    /// when the model has it.
    pub fn bucket_of(&self, arn: &str) -> Option<usize> {
        let rest = arn.strip_prefix("arn:aws:s3:::")?;
        let name = rest.split('/').next().unwrap_or(rest);
        self.by_name.get(name).copied()
    }

    /// Whether some `Allow` could let `holder` perform `action` on `arn`,
    /// in `bucket`.
    pub fn could(&self, holder: &Holder, action: &str, arn: &str, bucket: usize) -> bool {
        let Some(entry) = self.entries.get(bucket) else {
            return false;
        };
        let applies = |s: &Statement| could_apply(s, action, arn, &self.empty);
        let identity = holder
            .identity
            .iter()
            .flat_map(|p| &p.policy.statements)
            .any(applies);
        let same_account = holder.account == entry.owner;
        if identity && same_account {
            return true;
        }
        if !identity && !same_account {
            return false;
        }
        entry
            .policy
            .iter()
            .flat_map(|p| &p.policy.statements)
            .any(|s| applies(s) && could_name(s, &holder.principal))
    }
}

/// A caller, as [`Buckets::could`] sees it.
pub(crate) struct Holder {
    principal: Principal,
    account: String,
    identity: Vec<NamedPolicy>,
    /// The buckets it could act on, in model order.
    pub buckets: Vec<usize>,
}

enum Named<'a> {
    Account(&'a str),
    Anyone,
    /// Services, identity providers, canonical users and invalid entries
    /// never name an IAM user or role session.
    NoCaller,
}

/// The account of the users and role sessions a principal entry matches.
fn named_account(entry: &PrincipalEntry) -> Named<'_> {
    match entry {
        PrincipalEntry::Any => Named::Anyone,
        PrincipalEntry::Account(account) | PrincipalEntry::Role { account, .. } => {
            Named::Account(account)
        }
        PrincipalEntry::User(arn)
        | PrincipalEntry::Session(arn)
        | PrincipalEntry::FederatedUser(arn) => {
            orgtwin_policy::evaluate::arn_account(arn).map_or(Named::Anyone, Named::Account)
        }
        PrincipalEntry::Service(_)
        | PrincipalEntry::Federated(_)
        | PrincipalEntry::CanonicalUser(_)
        | PrincipalEntry::Invalid { .. } => Named::NoCaller,
    }
}

/// Whether an `Allow` statement could match the action and resource: the
/// engine's matching, except that a pattern with a policy variable counts
/// as matching (its value is only known per request).
fn could_apply(statement: &Statement, action: &str, resource: &str, empty: &Context) -> bool {
    statement.effect == Effect::Allow
        && could_match(statement.action.as_ref(), |p| {
            p.matches(action, empty, true)
        })
        && could_match(statement.resource.as_ref(), |p| {
            p.is_any() || p.matches_arn(resource, empty)
        })
}

/// A missing block never applies (the engine skips such an `Allow`).
pub(crate) fn could_match(block: Option<&MatchBlock>, matches: impl Fn(&Pattern) -> bool) -> bool {
    let Some(block) = block else {
        return false;
    };
    if block.patterns.iter().any(Pattern::has_variables) {
        return true;
    }
    block.patterns.iter().any(matches) != block.negated
}

/// Whether a resource policy statement's principal could name `caller`.
pub(crate) fn could_name(statement: &Statement, caller: &Principal) -> bool {
    match &statement.principal {
        None => false,
        Some(block) if block.negated => true,
        Some(block) => block
            .entries
            .iter()
            .any(|e| e.value.matches(caller).is_some()),
    }
}
