//! The model as the exports describe it, before the model's checks: what
//! each source module fills in, and how it becomes model files.
//!
//! A draft is rendered as model files in memory (JSON, which the model's
//! YAML reader reads as it is; every policy document in a file of its own,
//! with the text the export gave) and loaded with the model's own checks.
//! Every entity remembers the export it came from ([`Origin`]), and the
//! rendering remembers which file and field each entity went to, so that a
//! problem the checks find (`accounts[0].iam.roles[3].tags`) is explained
//! at the export (`iam.json:120:7, at RoleDetailList[3]`).

use std::collections::{BTreeMap, HashMap};

use super::error::Origin;
use crate::error::LoadErrors;
use crate::source::normalize;

/// A policy document's JSON text and where the export had it.
#[derive(Clone, Debug)]
pub struct Doc {
    pub text: String,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Inline {
    pub name: String,
    pub document: Doc,
    pub origin: Origin,
}

/// What roles, users and groups have in common.
#[derive(Clone, Debug, Default)]
pub struct Principal {
    pub name: String,
    pub path: String,
    pub id: Option<String>,
    pub inline: Vec<Inline>,
    pub managed: Vec<String>,
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Role {
    pub principal: Principal,
    pub trust: Doc,
    pub description: Option<String>,
    pub max_session_duration: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct User {
    pub principal: Principal,
    pub groups: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub path: String,
    pub id: Option<String>,
    pub description: Option<String>,
    pub document: Doc,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct OidcProvider {
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub origin: Origin,
}

#[derive(Clone, Debug, Default)]
pub struct Iam {
    pub users: Vec<User>,
    pub groups: Vec<Principal>,
    pub roles: Vec<Role>,
    pub policies: Vec<Policy>,
    pub oidc_providers: Vec<OidcProvider>,
    /// ARNs of roles the export has but the import left out, already
    /// reported: `list-roles` does not report them again.
    pub left_out_roles: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ServiceAccount {
    pub namespace: String,
    pub name: String,
    pub annotations: Vec<(String, String)>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Association {
    pub id: Option<String>,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub disable_session_tags: bool,
    pub policy: Option<Doc>,
    pub tags: Vec<(String, String)>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Cluster {
    pub name: String,
    pub region: String,
    pub version: Option<String>,
    pub oidc_issuer_id: Option<String>,
    pub tags: Vec<(String, String)>,
    pub service_accounts: Vec<ServiceAccount>,
    pub associations: Vec<Association>,
    pub origin: Origin,
}

impl Cluster {
    pub fn arn(&self, account: &str) -> String {
        format!(
            "arn:aws:eks:{}:{account}:cluster/{}",
            self.region, self.name
        )
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    /// `root` or an OU id.
    pub parent: String,
    pub origin: Origin,
    /// `None` when no IAM export of the account was given.
    pub iam: Option<Iam>,
    pub clusters: Vec<Cluster>,
}

impl Account {
    /// An account known by its id only, at the root, named by its id.
    pub fn bare(id: &str, origin: Origin) -> Account {
        Account {
            id: id.to_string(),
            name: id.to_string(),
            email: None,
            parent: "root".into(),
            origin,
            iam: None,
            clusters: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Ou {
    pub id: String,
    pub name: String,
    /// `root` or an OU id.
    pub parent: String,
    pub origin: Origin,
}

/// An SCP or an RCP.
#[derive(Clone, Debug)]
pub struct OrgPolicy {
    pub name: String,
    pub id: String,
    pub description: Option<String>,
    pub document: Doc,
    /// `root`, OU ids and account ids.
    pub targets: Vec<String>,
    pub origin: Origin,
}

#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub organization_id: Option<String>,
    pub root_id: Option<String>,
    pub management_account: String,
    pub ram_sharing_with_organization: bool,
    pub ous: Vec<Ou>,
    pub accounts: BTreeMap<String, Account>,
    /// Accounts outside the organization the exports name: id → name.
    pub external_accounts: BTreeMap<String, String>,
    pub scps: Vec<OrgPolicy>,
    pub rcps: Vec<OrgPolicy>,
}

/// A value of a generated model file.
enum Out {
    Text(String),
    Number(u64),
    Flag(bool),
    List(Vec<Out>),
    Map(Vec<(&'static str, Out)>),
    /// A mapping with keys from the exports (tags, annotations).
    Pairs(Vec<(String, String)>),
}

impl Out {
    fn text(text: &str) -> Out {
        Out::Text(text.to_string())
    }

    fn texts(texts: &[String]) -> Out {
        Out::List(texts.iter().map(|t| Out::text(t)).collect())
    }

    fn is_empty(&self) -> bool {
        match self {
            Out::List(items) => items.is_empty(),
            Out::Map(items) => items.is_empty(),
            Out::Pairs(items) => items.is_empty(),
            _ => false,
        }
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            Out::Text(text) => crate::document::push_string(out, text),
            Out::Number(n) => out.push_str(&n.to_string()),
            Out::Flag(b) => out.push_str(if *b { "true" } else { "false" }),
            Out::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(indent + 1));
                    item.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&pad(indent));
                out.push(']');
            }
            Out::Map(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    out.push_str(&pad(indent + 1));
                    crate::document::push_string(out, key);
                    out.push_str(": ");
                    value.write(out, indent + 1);
                }
                out.push('\n');
                out.push_str(&pad(indent));
                out.push('}');
            }
            Out::Pairs(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if i == 0 { "" } else { ", " });
                    crate::document::push_string(out, key);
                    out.push_str(": ");
                    crate::document::push_string(out, value);
                }
                out.push('}');
            }
        }
    }
}

/// A mapping under construction; empty lists and mappings are left out.
#[derive(Default)]
struct Fields(Vec<(&'static str, Out)>);

impl Fields {
    fn put(mut self, key: &'static str, value: Out) -> Self {
        if !value.is_empty() {
            self.0.push((key, value));
        }
        self
    }

    fn text(self, key: &'static str, value: &str) -> Self {
        self.put(key, Out::text(value))
    }

    fn maybe(self, key: &'static str, value: Option<&String>) -> Self {
        match value {
            Some(v) => self.text(key, v),
            None => self,
        }
    }

    /// `path`, unless it is the default `/`.
    fn path(self, path: &str) -> Self {
        if path == "/" {
            self
        } else {
            self.text("path", path)
        }
    }

    fn done(self) -> Out {
        Out::Map(self.0)
    }
}

/// The generated files, and which export each entity in them came from.
#[derive(Debug, Default)]
pub struct Rendered {
    /// `(relative path, text)`, the root file `org.yaml` first.
    pub files: Vec<(String, String)>,
    /// Per file, `(field path, what, origin)`.
    fields: HashMap<String, Vec<(String, String, Origin)>>,
    /// Policy document files and the export each came from.
    documents: HashMap<String, Origin>,
}

/// Renders one file at a time, collecting documents and origins.
struct Renderer<'r> {
    rendered: &'r mut Rendered,
    file: String,
    /// How this file names the documents' directory.
    docs_prefix: &'static str,
}

impl Renderer<'_> {
    fn origin(&mut self, field: String, what: String, origin: &Origin) {
        self.rendered
            .fields
            .entry(self.file.clone())
            .or_default()
            .push((field, what, origin.clone()));
    }

    fn document(&mut self, doc: &Doc) -> Out {
        let name = format!("docs/{}.json", self.rendered.documents.len());
        self.rendered
            .documents
            .insert(name.clone(), doc.origin.clone());
        self.rendered.files.push((name.clone(), doc.text.clone()));
        Fields::default()
            .text("file", &format!("{}{name}", self.docs_prefix))
            .done()
    }

    fn inline(&mut self, field: &str, owner: &str, policies: &[Inline]) -> Out {
        let mut items = Vec::new();
        for (i, policy) in policies.iter().enumerate() {
            let what = format!("inline policy `{}` of {owner}", policy.name);
            self.origin(
                format!("{field}.inline_policies[{i}]"),
                what,
                &policy.origin,
            );
            let document = self.document(&policy.document);
            items.push(
                Fields::default()
                    .text("name", &policy.name)
                    .put("document", document)
                    .done(),
            );
        }
        Out::List(items)
    }

    fn principal(&mut self, field: &str, what: &str, p: &Principal) -> Fields {
        let owner = format!("{what} `{}`", p.name);
        self.origin(field.to_string(), owner.clone(), &p.origin);
        let inline = self.inline(field, &owner, &p.inline);
        Fields::default()
            .text("name", &p.name)
            .path(&p.path)
            .maybe("id", p.id.as_ref())
            .put("inline_policies", inline)
            .put("managed_policies", Out::texts(&p.managed))
            .maybe("permissions_boundary", p.boundary.as_ref())
            .put("tags", Out::Pairs(p.tags.clone()))
    }

    fn iam(&mut self, field: &str, iam: &Iam) -> Out {
        let mut roles = Vec::new();
        for (i, role) in iam.roles.iter().enumerate() {
            let f = format!("{field}.roles[{i}]");
            let trust = self.document(&role.trust);
            let mut entry = self
                .principal(&f, "role", &role.principal)
                .maybe("description", role.description.as_ref())
                .put("trust_policy", trust);
            if let Some(max) = role.max_session_duration {
                entry = entry.put("max_session_duration", Out::Number(max));
            }
            roles.push(entry.done());
        }
        let mut users = Vec::new();
        for (i, user) in iam.users.iter().enumerate() {
            let f = format!("{field}.users[{i}]");
            let entry = self.principal(&f, "user", &user.principal);
            users.push(entry.put("groups", Out::texts(&user.groups)).done());
        }
        let mut groups = Vec::new();
        for (i, group) in iam.groups.iter().enumerate() {
            let f = format!("{field}.groups[{i}]");
            groups.push(self.principal(&f, "group", group).done());
        }
        let mut policies = Vec::new();
        for (i, policy) in iam.policies.iter().enumerate() {
            let what = format!("managed policy `{}`", policy.name);
            self.origin(format!("{field}.policies[{i}]"), what, &policy.origin);
            let document = self.document(&policy.document);
            let entry = Fields::default()
                .text("name", &policy.name)
                .path(&policy.path)
                .maybe("id", policy.id.as_ref())
                .maybe("description", policy.description.as_ref())
                .put("document", document);
            policies.push(entry.done());
        }
        let mut providers = Vec::new();
        for (i, provider) in iam.oidc_providers.iter().enumerate() {
            let what = format!("OIDC provider `{}`", provider.url);
            self.origin(
                format!("{field}.oidc_providers[{i}]"),
                what,
                &provider.origin,
            );
            let entry = Fields::default()
                .text("url", &provider.url)
                .put("client_ids", Out::texts(&provider.client_ids))
                .put("thumbprints", Out::texts(&provider.thumbprints))
                .put("tags", Out::Pairs(provider.tags.clone()));
            providers.push(entry.done());
        }
        Fields::default()
            .put("users", Out::List(users))
            .put("groups", Out::List(groups))
            .put("roles", Out::List(roles))
            .put("policies", Out::List(policies))
            .put("oidc_providers", Out::List(providers))
            .done()
    }

    fn cluster(&mut self, field: &str, cluster: &Cluster) -> Out {
        self.origin(
            field.to_string(),
            format!("cluster `{}`", cluster.name),
            &cluster.origin,
        );
        let mut accounts = Vec::new();
        for (i, sa) in cluster.service_accounts.iter().enumerate() {
            let what = format!("service account `{}/{}`", sa.namespace, sa.name);
            self.origin(format!("{field}.service_accounts[{i}]"), what, &sa.origin);
            let entry = Fields::default()
                .text("namespace", &sa.namespace)
                .text("name", &sa.name)
                .put("annotations", Out::Pairs(sa.annotations.clone()));
            accounts.push(entry.done());
        }
        let mut associations = Vec::new();
        for (i, a) in cluster.associations.iter().enumerate() {
            let what = format!(
                "Pod Identity association of `{}/{}`",
                a.namespace, a.service_account
            );
            let f = format!("{field}.pod_identity_associations[{i}]");
            self.origin(f, what, &a.origin);
            let policy = a.policy.as_ref().map(|d| self.document(d));
            let mut entry = Fields::default()
                .maybe("id", a.id.as_ref())
                .text("namespace", &a.namespace)
                .text("service_account", &a.service_account)
                .text("role_arn", &a.role_arn)
                .maybe("target_role_arn", a.target_role_arn.as_ref());
            if a.disable_session_tags {
                entry = entry.put("disable_session_tags", Out::Flag(true));
            }
            if let Some(policy) = policy {
                entry = entry.put("policy", policy);
            }
            associations.push(entry.put("tags", Out::Pairs(a.tags.clone())).done());
        }
        Fields::default()
            .text("name", &cluster.name)
            .text("region", &cluster.region)
            .maybe("version", cluster.version.as_ref())
            .maybe("oidc_issuer_id", cluster.oidc_issuer_id.as_ref())
            .put("tags", Out::Pairs(cluster.tags.clone()))
            .put("service_accounts", Out::List(accounts))
            .put("pod_identity_associations", Out::List(associations))
            .done()
    }

    fn org_policies(&mut self, key: &str, label: &str, policies: &[OrgPolicy]) -> Out {
        let mut items = Vec::new();
        for (i, policy) in policies.iter().enumerate() {
            let what = format!("{label} `{}`", policy.name);
            self.origin(format!("{key}[{i}]"), what, &policy.origin);
            let document = self.document(&policy.document);
            let entry = Fields::default()
                .text("name", &policy.name)
                .text("id", &policy.id)
                .maybe("description", policy.description.as_ref())
                .put("document", document)
                .put("targets", Out::texts(&policy.targets));
            items.push(entry.done());
        }
        Out::List(items)
    }
}

impl Draft {
    /// The draft as model files in memory, root file `org.yaml` first.
    pub fn render(&self) -> Rendered {
        let mut rendered = Rendered::default();
        let mut root = Renderer {
            rendered: &mut rendered,
            file: "org.yaml".into(),
            docs_prefix: "",
        };
        let mut ous = Vec::new();
        for (i, ou) in self.ous.iter().enumerate() {
            let field = format!("organization.organizational_units[{i}]");
            root.origin(field, format!("OU `{}`", ou.name), &ou.origin);
            let entry = Fields::default()
                .text("name", &ou.name)
                .text("id", &ou.id)
                .text("parent", &ou.parent);
            ous.push(entry.done());
        }
        let mut organization = Fields::default()
            .maybe("id", self.organization_id.as_ref())
            .maybe("root_id", self.root_id.as_ref())
            .text("management_account", &self.management_account);
        if self.ram_sharing_with_organization {
            organization = organization.put("ram_sharing_with_organization", Out::Flag(true));
        }
        let organization = organization
            .put("organizational_units", Out::List(ous))
            .done();
        let includes: Vec<String> = self
            .accounts
            .keys()
            .map(|id| format!("accounts/{id}.yaml"))
            .collect();
        let scps = root.org_policies("scps", "SCP", &self.scps);
        let rcps = root.org_policies("rcps", "RCP", &self.rcps);
        let external: Vec<Out> = self
            .external_accounts
            .iter()
            .map(|(id, name)| Fields::default().text("id", id).text("name", name).done())
            .collect();
        let root_file = Fields::default()
            .put("organization", organization)
            .put("include", Out::texts(&includes))
            .put("scps", scps)
            .put("rcps", rcps)
            .put("external_accounts", Out::List(external))
            .done();
        let mut files = vec![("org.yaml".to_string(), text_of(&root_file))];
        for account in self.accounts.values() {
            let file = format!("accounts/{}.yaml", account.id);
            let mut r = Renderer {
                rendered: &mut rendered,
                file: file.clone(),
                docs_prefix: "../",
            };
            r.origin(
                "accounts[0]".into(),
                format!("account `{}`", account.id),
                &account.origin,
            );
            let iam = account
                .iam
                .as_ref()
                .map(|iam| r.iam("accounts[0].iam", iam));
            let clusters: Vec<Out> = account
                .clusters
                .iter()
                .enumerate()
                .map(|(i, c)| r.cluster(&format!("accounts[0].eks.clusters[{i}]"), c))
                .collect();
            let mut entry = Fields::default()
                .text("id", &account.id)
                .text("name", &account.name)
                .maybe("email", account.email.as_ref())
                .text("parent", &account.parent);
            if let Some(iam) = iam {
                entry = entry.put("iam", iam);
            }
            let eks = Fields::default()
                .put("clusters", Out::List(clusters))
                .done();
            let entry = entry.put("eks", eks).done();
            let text = text_of(
                &Fields::default()
                    .put("accounts", Out::List(vec![entry]))
                    .done(),
            );
            files.push((file, text));
        }
        files.append(&mut rendered.files);
        rendered.files = files;
        rendered
    }
}

fn text_of(value: &Out) -> String {
    let mut out = String::from("# Made by `orgtwin import` to be checked; JSON is YAML.\n");
    value.write(&mut out, 0);
    out.push('\n');
    out
}

impl Rendered {
    /// Each problem the model's checks found, at the export it came from.
    pub fn explain(&self, errors: &LoadErrors) -> Vec<String> {
        errors
            .iter()
            .map(|error| {
                let file = normalize(&error.file).display().to_string();
                if let Some(origin) = self.documents.get(&file) {
                    return format!("{origin}: {}", error.problem);
                }
                let best = self.fields.get(&file).and_then(|fields| {
                    fields
                        .iter()
                        .filter(|(field, _, _)| is_prefix(field, &error.field))
                        .max_by_key(|(field, _, _)| field.len())
                });
                match best {
                    Some((_, what, origin)) => format!("{origin}: {what}: {}", error.problem),
                    None => format!(
                        "the imported model's `{file}`, at `{}`: {}",
                        error.field, error.problem
                    ),
                }
            })
            .collect()
    }

    /// The files as `load_from_memory` takes them.
    pub fn borrowed(&self) -> Vec<(&str, &str)> {
        self.files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect()
    }
}

/// Whether `field` is `path` or one of its parts (`a.b` of `a.b[0].c`).
fn is_prefix(field: &str, path: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}
