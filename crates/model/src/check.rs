//! The checks that span fields and files, and the building of the checked
//! [`Model`] from the raw files.
//!
//! In order: the organization (ids, the OU tree and its cycles), the
//! accounts (ids, names, parents, the management account at the root), each
//! account's IAM ([`crate::check_iam`]), then the SCPs and RCPs (names, ids,
//! documents, targets). Every check runs even after others failed; a value
//! that is missing or wrong is skipped by the checks that depend on it, so
//! one mistake is reported once.

use std::collections::HashMap;

use orgtwin_policy::PolicyType;

use crate::document::{self, Document};
use crate::error::{Problem, Report};
use crate::load::describe;
use crate::model::{Account, Model, OrgPolicy, Organization, OrganizationalUnit, Parent, Target};
use crate::raw::{RawAccount, RawDocument, RawFile, RawOrgPolicy, RawOrganization, Text};
use crate::rules;
use crate::source::{Files, Loc, Sources};

/// What the checks share: where files come from, the files read so far,
/// the problems, and the ids that must be unique across the model.
pub struct Checker<'a> {
    pub files: &'a dyn Files,
    pub sources: &'a mut Sources,
    pub report: &'a mut Report,
    /// IAM unique ids and access key ids and secrets, model-wide.
    pub unique_ids: Names,
    pub access_keys: Names,
    pub secrets: Names,
}

/// The sets of values that are unique across the model.
#[derive(Clone, Copy)]
pub enum Global {
    UniqueIds,
    AccessKeys,
    Secrets,
}

/// Names seen so far, with where each was first seen.
pub struct Names {
    what: &'static str,
    ignore_case: bool,
    seen: HashMap<String, Loc>,
}

impl Names {
    pub fn new(what: &'static str, ignore_case: bool) -> Self {
        Names {
            what,
            ignore_case,
            seen: HashMap::new(),
        }
    }

    /// Records `name`; a repeat is reported (with `shown` as the value in
    /// the message) and gives false.
    pub fn insert(&mut self, checker: &mut Problems<'_>, name: &Text, shown: &str) -> bool {
        let key = if self.ignore_case {
            name.value.to_lowercase()
        } else {
            name.value.clone()
        };
        if let Some(first) = self.seen.get(&key) {
            let first = describe(checker.sources, first);
            checker.report.push(
                &name.loc,
                Problem::Duplicate {
                    what: self.what,
                    name: shown.to_string(),
                    first,
                },
            );
            return false;
        }
        self.seen.insert(key, name.loc.clone());
        true
    }
}

/// The part of [`Checker`] that reports.
pub struct Problems<'c> {
    pub sources: &'c Sources,
    pub report: &'c mut Report,
}

impl Checker<'_> {
    pub fn problems(&mut self) -> Problems<'_> {
        Problems {
            sources: self.sources,
            report: self.report,
        }
    }

    pub fn push(&mut self, loc: &Loc, problem: Problem) {
        self.report.push(loc, problem);
    }

    /// Reports `text` as an invalid `what` when `rule` is broken; true when
    /// the value is good.
    pub fn valid(&mut self, text: &Text, what: &'static str, rule: Option<String>) -> bool {
        let Some(rule) = rule else { return true };
        self.push(
            &text.loc,
            Problem::InvalidValue {
                what,
                value: text.value.clone(),
                rule,
            },
        );
        false
    }

    /// Records a model-wide id in its set, reporting a repeat (shown as
    /// `shown`, so that a secret is never printed).
    pub fn unique_in(&mut self, which: Global, name: &Text, shown: &str) -> bool {
        let names = match which {
            Global::UniqueIds => &mut self.unique_ids,
            Global::AccessKeys => &mut self.access_keys,
            Global::Secrets => &mut self.secrets,
        };
        let mut problems = Problems {
            sources: self.sources,
            report: self.report,
        };
        names.insert(&mut problems, name, shown)
    }

    /// Records a name in `names`, reporting a repeat.
    pub fn unique(&mut self, names: &mut Names, name: &Text) -> bool {
        let shown = name.value.clone();
        names.insert(&mut self.problems(), name, &shown)
    }

    /// Reads and validates a policy document as each of `types` (the first
    /// names the problems of a document that cannot be read).
    pub fn document(&mut self, raw: &RawDocument, types: &[PolicyType]) -> Option<Document> {
        document::resolve(raw, types, self.files, self.sources, self.report)
    }

    /// The given text, or `fallback` when absent.
    pub fn text_or(text: Option<&Text>, fallback: &str) -> String {
        text.map_or_else(|| fallback.to_string(), |t| t.value.clone())
    }
}

/// Checks the raw files of a model and builds it. The model is complete
/// only when no problem was reported.
pub fn build(
    raws: &[RawFile],
    files: &dyn Files,
    sources: &mut Sources,
    report: &mut Report,
) -> Model {
    let mut checker = Checker {
        files,
        sources,
        report,
        unique_ids: Names::new("unique id", false),
        access_keys: Names::new("access key id", false),
        secrets: Names::new("secret access key", false),
    };
    let organization = organization(&mut checker, raws);
    let accounts: Vec<&RawAccount> = raws.iter().flat_map(|r| &r.accounts).collect();
    let mut model = Model {
        organization,
        accounts: Default::default(),
        scps: Vec::new(),
        rcps: Vec::new(),
        external_accounts: Default::default(),
        levels: Default::default(),
    };
    let mut resource_names = crate::check_resources::ResourceNames::default();
    let mut ids = Names::new("account id", false);
    let mut names = Names::new("account name", false);
    let mut management_seen = false;
    let ous = ou_index(&model.organization);
    for raw in accounts {
        let unique = raw.id.as_ref().is_some_and(|id| {
            checker.valid(id, "account id", rules::account_id(&id.value))
                && checker.unique(&mut ids, id)
        });
        if let Some(name) = &raw.name
            && checker.valid(name, "account name", rules::account_name(&name.value))
        {
            checker.unique(&mut names, name);
        }
        if let Some(email) = &raw.email {
            checker.valid(email, "account email", rules::email(&email.value));
        }
        let parent = parent(&mut checker, raw.parent.as_ref(), &model.organization, &ous);
        // The IAM of an account whose id is missing, malformed or taken is
        // still checked, so that its problems are reported too.
        let id = Checker::text_or(raw.id.as_ref(), "");
        let iam = crate::check_iam::iam(&mut checker, &id, &raw.iam);
        let buckets =
            crate::check_resources::buckets(&mut checker, &raw.buckets, &mut resource_names);
        let vpcs = crate::check_resources::vpcs(&mut checker, &raw.vpcs, &mut resource_names);
        if !unique {
            continue;
        }
        if id == model.organization.management_account {
            management_seen = true;
            if let (Some(Parent::OrganizationalUnit(ou)), Some(text)) = (&parent, &raw.parent) {
                checker.push(
                    &text.loc,
                    Problem::ManagementAccountNotAtRoot {
                        id: id.clone(),
                        parent: ou.clone(),
                    },
                );
            }
        }
        model.accounts.insert(
            id.clone(),
            Account {
                id,
                name: Checker::text_or(raw.name.as_ref(), ""),
                email: raw.email.as_ref().map(|e| e.value.clone()),
                parent: parent.unwrap_or(Parent::Root),
                iam,
                buckets,
                vpcs,
                resource_shares: Vec::new(),
                clusters: Vec::new(),
            },
        );
    }
    for raw in raws.iter().skip(1) {
        if let Some(first) = raw.external_accounts.first()
            && let Some(id) = &first.id
        {
            checker.push(
                &id.loc,
                Problem::OnlyInRootFile {
                    field: "external_accounts",
                },
            );
        }
    }
    let external: Vec<&crate::raw::RawExternalAccount> = raws
        .first()
        .map(|r| r.external_accounts.iter().collect())
        .unwrap_or_default();
    model.external_accounts =
        crate::check_resources::external_accounts(&mut checker, &external, &model);
    // Shares name other accounts, OUs and subnets: checked once all are built.
    for raw in raws.iter().flat_map(|r| &r.accounts) {
        let Some(id) = &raw.id else { continue };
        if raw.resource_shares.is_empty() || !model.accounts.contains_key(&id.value) {
            continue;
        }
        let shares = crate::check_resources::resource_shares(
            &mut checker,
            &model,
            &id.value,
            &raw.resource_shares,
        );
        if let Some(account) = model.accounts.get_mut(&id.value) {
            account.resource_shares = shares;
        }
    }
    // Clusters name roles in any account: checked once all are built.
    let mut cluster_names = Names::new("cluster name", false);
    for raw in raws.iter().flat_map(|r| &r.accounts) {
        let Some(id) = &raw.id else { continue };
        if raw.eks.clusters.is_empty() || !model.accounts.contains_key(&id.value) {
            continue;
        }
        let listed: Vec<&crate::raw::RawCluster> = raw.eks.clusters.iter().collect();
        let clusters = crate::check_eks::clusters(
            &mut checker,
            &model,
            &id.value,
            &listed,
            &mut cluster_names,
        );
        if let Some(account) = model.accounts.get_mut(&id.value) {
            account.clusters = clusters;
        }
    }
    if let Some(text) = raws
        .first()
        .and_then(|r| r.organization.as_ref())
        .and_then(|o| o.management_account.as_ref())
        && !management_seen
        && rules::account_id(&text.value).is_none()
    {
        checker.push(
            &text.loc,
            Problem::ManagementAccountMissing {
                id: text.value.clone(),
            },
        );
    }
    let mut accounts: HashMap<String, String> = HashMap::new();
    for account in model.accounts.values() {
        accounts.insert(account.name.clone(), account.id.clone());
    }
    for id in model.accounts.keys() {
        accounts.insert(id.clone(), id.clone());
    }
    let lookup = Lookup {
        root_id: &model.organization.root_id,
        ous: ou_index(&model.organization),
        accounts,
    };
    let mut scps = Vec::new();
    let mut rcps = Vec::new();
    let mut policy_ids = Names::new("policy id", false);
    for (kind, policy_type) in [("scp", PolicyType::Scp), ("rcp", PolicyType::Rcp)] {
        let what = if kind == "scp" {
            "SCP name"
        } else {
            "RCP name"
        };
        let mut names = Names::new(what, false);
        let list = raws
            .iter()
            .flat_map(|r| if kind == "scp" { &r.scps } else { &r.rcps });
        let mut built = Vec::new();
        for raw in list {
            let policy = org_policy(
                &mut checker,
                &lookup,
                raw,
                policy_type,
                &mut names,
                &mut policy_ids,
            );
            built.extend(policy);
        }
        if kind == "scp" {
            scps = built;
        } else {
            rcps = built;
        }
    }
    model.scps = scps;
    model.rcps = rcps;
    model
}

fn organization(checker: &mut Checker<'_>, raws: &[RawFile]) -> Organization {
    for raw in raws.iter().skip(1) {
        if let Some(org) = &raw.organization {
            checker.push(
                &org.loc,
                Problem::OnlyInRootFile {
                    field: "organization",
                },
            );
        }
    }
    let Some(root) = raws.first() else {
        return Organization {
            id: String::new(),
            root_id: String::new(),
            management_account: String::new(),
            organizational_units: Vec::new(),
            ram_sharing_with_organization: false,
        };
    };
    let Some(raw) = &root.organization else {
        if !root.shapeless {
            let loc = Loc::new(root.file, Default::default(), "");
            checker.push(
                &loc,
                Problem::MissingField {
                    field: "organization",
                },
            );
        }
        return Organization {
            id: String::new(),
            root_id: String::new(),
            management_account: String::new(),
            organizational_units: Vec::new(),
            ram_sharing_with_organization: false,
        };
    };
    organization_of(checker, raw)
}

fn organization_of(checker: &mut Checker<'_>, raw: &RawOrganization) -> Organization {
    let management_account = match &raw.management_account {
        Some(text) if checker.valid(text, "account id", rules::account_id(&text.value)) => {
            text.value.clone()
        }
        _ => String::new(),
    };
    let id = match &raw.id {
        Some(text) => {
            checker.valid(text, "organization id", rules::organization_id(&text.value));
            text.value.clone()
        }
        None => rules::derive_organization_id(&management_account),
    };
    let root_id = match &raw.root_id {
        Some(text) => {
            checker.valid(text, "root id", rules::root_id(&text.value));
            text.value.clone()
        }
        None => rules::derive_root_id(&id),
    };
    let mut organization = Organization {
        id,
        root_id,
        management_account,
        organizational_units: Vec::new(),
        ram_sharing_with_organization: raw
            .ram_sharing_with_organization
            .as_ref()
            .is_some_and(|f| f.value),
    };
    let mut names = Names::new("OU name", false);
    let mut ids = Names::new("OU id", false);
    let mut accepted = Vec::new();
    for ou in &raw.organizational_units {
        let Some(name) = &ou.name else { continue };
        let good = checker.valid(name, "OU name", rules::display_name(&name.value, 128));
        let reserved = good && (name.value == "root" || name.value == organization.root_id);
        if reserved {
            checker.push(
                &name.loc,
                Problem::InvalidValue {
                    what: "OU name",
                    value: name.value.clone(),
                    rule: "`root` names the organization's root; give the OU another name".into(),
                },
            );
        }
        if !good || reserved || !checker.unique(&mut names, name) {
            continue;
        }
        let id = match &ou.id {
            Some(text) => {
                if checker.valid(
                    text,
                    "OU id",
                    rules::ou_id(&text.value, &organization.root_id),
                ) {
                    checker.unique(&mut ids, text);
                }
                text.value.clone()
            }
            None => rules::derive_ou_id(&organization.root_id, &name.value),
        };
        organization.organizational_units.push(OrganizationalUnit {
            id,
            name: name.value.clone(),
            parent: Parent::Root,
        });
        accepted.push((name.value.clone(), ou.parent.clone()));
    }
    // Parents are resolved once every OU is known, so they may come in any order.
    let mut resolved = Vec::new();
    let ous = ou_index(&organization);
    for (name, text) in accepted {
        let parent = parent(checker, text.as_ref(), &organization, &ous);
        resolved.push((name, parent.unwrap_or(Parent::Root), text));
    }
    // INVARIANT: `resolved` lists the accepted OUs in declaration order,
    // one for each entry of `organizational_units`.
    for (unit, (_, parent, _)) in organization.organizational_units.iter_mut().zip(&resolved) {
        unit.parent = parent.clone();
    }
    report_cycles(checker, &mut organization, &resolved);
    organization
}

/// Reports each cycle of OU parents once, at its first-declared OU, and
/// moves that OU to the root so that later walks up the tree end. Each OU
/// is walked once (linear in the number of OUs).
fn report_cycles(
    checker: &mut Checker<'_>,
    organization: &mut Organization,
    resolved: &[(String, Parent, Option<Text>)],
) {
    let position: HashMap<&str, usize> = resolved
        .iter()
        .enumerate()
        .map(|(i, (name, _, _))| (name.as_str(), i))
        .collect();
    let parent_of = |i: usize| match resolved.get(i) {
        Some((_, Parent::OrganizationalUnit(p), _)) => position.get(p.as_str()).copied(),
        _ => None,
    };
    // 0: not seen, 1: on the current walk, 2: done.
    let mut state = vec![0u8; resolved.len()];
    let mut broken = Vec::new();
    for start in 0..resolved.len() {
        let mut walk = Vec::new();
        let mut current = Some(start);
        while let Some(i) = current {
            match state.get(i) {
                Some(0) => {
                    if let Some(s) = state.get_mut(i) {
                        *s = 1;
                    }
                    walk.push(i);
                    current = parent_of(i);
                }
                Some(1) => {
                    let from = walk.iter().position(|&w| w == i).unwrap_or(0);
                    let cycle = walk.get(from..).unwrap_or_default();
                    if let Some(&first) = cycle.iter().min() {
                        broken.push((first, cycle.len()));
                    }
                    break;
                }
                _ => break,
            }
        }
        for i in walk {
            if let Some(s) = state.get_mut(i) {
                *s = 2;
            }
        }
    }
    for (first, length) in broken {
        let mut names = Vec::new();
        let mut current = Some(first);
        for _ in 0..=length {
            let Some(i) = current else { break };
            if let Some((name, _, _)) = resolved.get(i) {
                names.push(format!("`{name}`"));
            }
            current = parent_of(i);
        }
        if names.len() > 12 {
            let last = names.pop().unwrap_or_default();
            names.truncate(10);
            names.push(format!("… ({} OUs in all)", length));
            names.push(last);
        }
        if let Some((_, _, Some(text))) = resolved.get(first) {
            checker.push(
                &text.loc,
                Problem::OuCycle {
                    cycle: names.join(" → "),
                },
            );
        }
        if let Some(unit) = organization.organizational_units.get_mut(first) {
            unit.parent = Parent::Root;
        }
    }
}

/// OUs by name and by id (both give the name), for lookups without scans.
fn ou_index(organization: &Organization) -> HashMap<String, String> {
    let mut index = HashMap::new();
    for ou in &organization.organizational_units {
        index.insert(ou.id.clone(), ou.name.clone());
    }
    for ou in &organization.organizational_units {
        index.insert(ou.name.clone(), ou.name.clone());
    }
    index
}

/// Resolves a `parent:` (absent means the root): `root`, the root id, an OU
/// name or an OU id.
fn parent(
    checker: &mut Checker<'_>,
    text: Option<&Text>,
    organization: &Organization,
    ous: &HashMap<String, String>,
) -> Option<Parent> {
    let Some(text) = text else {
        return Some(Parent::Root);
    };
    let value = text.value.as_str();
    if value == "root" || value == organization.root_id {
        return Some(Parent::Root);
    }
    if let Some(name) = ous.get(value) {
        return Some(Parent::OrganizationalUnit(name.clone()));
    }
    let names: Vec<String> = std::iter::once("`root`".to_string())
        .chain(
            organization
                .organizational_units
                .iter()
                .take(10)
                .map(|o| format!("`{}`", o.name)),
        )
        .collect();
    checker.push(
        &text.loc,
        Problem::UnresolvedReference {
            what: "parent",
            name: value.to_string(),
            scope: "among the root and the organizational units".to_string(),
            hint: format!("use one of {} (or an OU id)", names.join(", ")),
        },
    );
    None
}

fn org_policy(
    checker: &mut Checker<'_>,
    lookup: &Lookup<'_>,
    raw: &RawOrgPolicy,
    policy_type: PolicyType,
    names: &mut Names,
    ids: &mut Names,
) -> Option<OrgPolicy> {
    let kind = if policy_type == PolicyType::Scp {
        "scp"
    } else {
        "rcp"
    };
    let name = raw.name.as_ref().filter(|name| {
        checker.valid(name, "policy name", rules::display_name(&name.value, 128))
            && checker.unique(names, name)
    });
    if let Some(description) = &raw.description {
        checker.valid(
            description,
            "description",
            rules::description(&description.value, 512),
        );
    }
    let id = match (&raw.id, name) {
        (Some(text), _) => {
            if checker.valid(text, "policy id", rules::policy_id(&text.value)) {
                checker.unique(ids, text);
            }
            text.value.clone()
        }
        (None, Some(name)) => rules::derive_policy_id(kind, &name.value),
        (None, None) => String::new(),
    };
    let document = raw
        .document
        .as_ref()
        .and_then(|d| checker.document(d, &[policy_type]));
    let mut targets = Vec::new();
    let mut seen = Names::new("target", false);
    for text in &raw.targets {
        let Some(target) = target(checker, lookup, text) else {
            continue;
        };
        let canonical = Text {
            value: format!("{target:?}"),
            loc: text.loc.clone(),
        };
        if seen.insert(&mut checker.problems(), &canonical, &text.value) {
            targets.push(target);
        }
    }
    Some(OrgPolicy {
        name: name?.value.clone(),
        id,
        description: raw.description.as_ref().map(|d| d.value.clone()),
        document: document?,
        targets,
    })
}

/// Resolves an SCP or RCP target: `root` or the root id, an OU name or id,
/// an account id or name.
fn target(checker: &mut Checker<'_>, lookup: &Lookup<'_>, text: &Text) -> Option<Target> {
    let value = text.value.as_str();
    if value == "root" || value == lookup.root_id {
        return Some(Target::Root);
    }
    if let Some(name) = lookup.ous.get(value) {
        return Some(Target::OrganizationalUnit(name.clone()));
    }
    if let Some(id) = lookup.accounts.get(value) {
        return Some(Target::Account(id.clone()));
    }
    checker.push(
        &text.loc,
        Problem::UnresolvedReference {
            what: "target",
            name: value.to_string(),
            scope: "among the root, the OUs and the accounts".to_string(),
            hint: "write `root`, an OU's name or id, or an account's id or name".to_string(),
        },
    );
    None
}

/// What targets are resolved against.
struct Lookup<'m> {
    root_id: &'m str,
    ous: HashMap<String, String>,
    /// Account ids and names, to the id.
    accounts: HashMap<String, String>,
}
