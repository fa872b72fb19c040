//! Reading one YAML file's tree into the raw model: the shape of every
//! field (known names, required fields, mappings, lists, scalars), with
//! every problem reported and the rest of the file still read.
//!
//! Each section lists the fields it knows; anything else is an unknown
//! field, so a typo never silently drops a policy. A field written with no
//! value (`description:`) counts as absent.

use crate::document;
use crate::error::{Problem, Report};
use crate::raw::{
    DocumentBody, Number, RawAccessKey, RawAccount, RawDocument, RawFile, RawGroup, RawIam,
    RawInlinePolicy, RawManagedPolicy, RawOidcProvider, RawOrgPolicy, RawOrganization, RawOu,
    RawPrincipal, RawRole, RawTags, RawUser, Text,
};
use crate::raw::{
    Flag, RawAssociation, RawBucket, RawCluster, RawEks, RawExternalAccount, RawObject,
    RawResourceShare, RawServiceAccount, RawSubnet, RawVpc,
};
use crate::source::{FileId, Loc};
use crate::yaml::{Entry, Node, Style, Value};

pub(crate) const FILE: &[&str] = &[
    "organization",
    "include",
    "accounts",
    "scps",
    "rcps",
    "external_accounts",
];
pub(crate) const ORGANIZATION: &[&str] = &[
    "id",
    "root_id",
    "management_account",
    "organizational_units",
    "ram_sharing_with_organization",
];
pub(crate) const OU: &[&str] = &["name", "id", "parent"];
pub(crate) const EXTERNAL_ACCOUNT: &[&str] = &["id", "name"];
pub(crate) const ACCOUNT: &[&str] = &[
    "id", "name", "email", "parent", "iam", "s3", "ec2", "ram", "eks",
];
pub(crate) const EKS: &[&str] = &["clusters", "eksctl_configs"];
pub(crate) const CLUSTER: &[&str] = &[
    "name",
    "region",
    "version",
    "oidc_issuer_id",
    "tags",
    "namespaces",
    "service_accounts",
    "kubernetes_manifests",
    "pod_identity_associations",
];
pub(crate) const SERVICE_ACCOUNT: &[&str] = &["namespace", "name", "annotations"];
pub(crate) const ASSOCIATION: &[&str] = &[
    "id",
    "namespace",
    "service_account",
    "role_arn",
    "target_role_arn",
    "disable_session_tags",
    "policy",
    "tags",
];
pub(crate) const S3: &[&str] = &["buckets"];
pub(crate) const BUCKET: &[&str] = &["name", "region", "policy", "tags", "objects"];
pub(crate) const OBJECT: &[&str] = &["key", "content", "content_base64", "file", "content_type"];
pub(crate) const EC2: &[&str] = &["vpcs"];
pub(crate) const VPC: &[&str] = &["id", "region", "cidr_block", "tags", "subnets"];
pub(crate) const SUBNET: &[&str] = &["id", "cidr_block", "availability_zone", "tags"];
pub(crate) const RAM: &[&str] = &["resource_shares"];
pub(crate) const RESOURCE_SHARE: &[&str] = &[
    "name",
    "arn",
    "region",
    "allow_external_principals",
    "resources",
    "principals",
    "tags",
];
pub(crate) const IAM: &[&str] = &["users", "groups", "roles", "policies", "oidc_providers"];
pub(crate) const USER: &[&str] = &[
    "name",
    "path",
    "id",
    "access_keys",
    "groups",
    "inline_policies",
    "managed_policies",
    "permissions_boundary",
    "tags",
];
pub(crate) const ACCESS_KEY: &[&str] = &["id", "secret", "status"];
pub(crate) const GROUP: &[&str] = &["name", "path", "id", "inline_policies", "managed_policies"];
pub(crate) const ROLE: &[&str] = &[
    "name",
    "path",
    "id",
    "description",
    "trust_policy",
    "inline_policies",
    "managed_policies",
    "permissions_boundary",
    "max_session_duration",
    "tags",
];
pub(crate) const MANAGED_POLICY: &[&str] = &["name", "path", "id", "description", "document"];
pub(crate) const OIDC_PROVIDER: &[&str] = &["url", "client_ids", "thumbprints", "tags"];
pub(crate) const INLINE_POLICY: &[&str] = &["name", "document"];
pub(crate) const ORG_POLICY: &[&str] = &["name", "id", "description", "document", "targets"];

/// The members of one mapping, with its field path.
pub(crate) struct Fields<'n> {
    node: &'n Node,
    entries: &'n [Entry],
    field: String,
}

impl<'n> Fields<'n> {
    /// The value of `key`; a null value counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
            .filter(|v| v.value != Value::Null)
    }

    pub(crate) fn path(&self, key: &str) -> String {
        join(&self.field, key)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Reads the tree of one file into its raw model.
pub fn read_file(file: FileId, root: &Node, report: &mut Report) -> RawFile {
    let mut reader = Reader {
        file,
        report,
        lenient: false,
    };
    reader.file(root)
}

pub(crate) struct Reader<'r> {
    pub(crate) file: FileId,
    pub(crate) report: &'r mut Report,
    /// Unknown fields pass without a problem: for files of other tools.
    pub(crate) lenient: bool,
}

impl Reader<'_> {
    pub(crate) fn loc(&self, node: &Node, field: &str) -> Loc {
        Loc::new(self.file, node.span, field)
    }

    pub(crate) fn problem(&mut self, node: &Node, field: &str, problem: Problem) {
        let loc = self.loc(node, field);
        self.report.push(&loc, problem);
    }

    fn wrong_type(&mut self, node: &Node, field: &str, expected: &'static str) {
        self.problem(
            node,
            field,
            Problem::WrongType {
                expected,
                found: node.kind(),
            },
        );
    }

    /// The mapping at `node`, reporting unknown keys.
    pub(crate) fn fields<'n>(
        &mut self,
        node: &'n Node,
        field: &str,
        known: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        let Some(entries) = node.as_mapping() else {
            self.wrong_type(node, field, "a mapping");
            return None;
        };
        for entry in entries.iter().filter(|_| !self.lenient) {
            if !known.contains(&entry.key.as_str()) {
                let loc = Loc::new(self.file, entry.key_span, join(field, &entry.key));
                self.report.push(
                    &loc,
                    Problem::UnknownField {
                        field: entry.key.clone(),
                        expected: known,
                    },
                );
            }
        }
        Some(Fields {
            node,
            entries,
            field: field.to_string(),
        })
    }

    pub(crate) fn scalar(&mut self, node: &Node, field: &str) -> Option<Text> {
        match &node.value {
            Value::Scalar(s) => Some(Text {
                value: s.text.clone(),
                loc: self.loc(node, field),
            }),
            _ => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    pub(crate) fn text(&mut self, fields: &Fields<'_>, key: &str) -> Option<Text> {
        let node = fields.get(key)?;
        self.scalar(node, &fields.path(key))
    }

    pub(crate) fn required_text(&mut self, fields: &Fields<'_>, key: &'static str) -> Option<Text> {
        if fields.get(key).is_none() {
            let loc = self.loc(fields.node, &fields.field);
            self.report.push(&loc, Problem::MissingField { field: key });
            return None;
        }
        self.text(fields, key)
    }

    /// The items of a list field, with their field paths; absent is empty.
    pub(crate) fn list<'n>(&mut self, fields: &Fields<'n>, key: &str) -> Vec<(&'n Node, String)> {
        let Some(node) = fields.get(key) else {
            return Vec::new();
        };
        let field = fields.path(key);
        match &node.value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (item, format!("{field}[{i}]")))
                .collect(),
            _ => {
                self.wrong_type(node, &field, "a list");
                Vec::new()
            }
        }
    }

    fn texts(&mut self, fields: &Fields<'_>, key: &str) -> Vec<Text> {
        self.list(fields, key)
            .into_iter()
            .filter_map(|(node, field)| self.scalar(node, &field))
            .collect()
    }

    fn number(&mut self, fields: &Fields<'_>, key: &str) -> Option<Number> {
        let node = fields.get(key)?;
        let field = fields.path(key);
        match &node.value {
            Value::Scalar(s) if s.style == Style::Plain => match s.text.parse::<u64>() {
                Ok(value) => Some(Number {
                    value,
                    loc: self.loc(node, &field),
                }),
                Err(_) => {
                    self.wrong_type(node, &field, "a whole number");
                    None
                }
            },
            _ => {
                self.wrong_type(node, &field, "a whole number");
                None
            }
        }
    }

    pub(crate) fn flag(&mut self, fields: &Fields<'_>, key: &str) -> Option<Flag> {
        let node = fields.get(key)?;
        let field = fields.path(key);
        match &node.value {
            Value::Scalar(s)
                if s.style == Style::Plain && (s.text == "true" || s.text == "false") =>
            {
                Some(Flag {
                    value: s.text == "true",
                    loc: self.loc(node, &field),
                })
            }
            _ => {
                self.wrong_type(node, &field, "`true` or `false`");
                None
            }
        }
    }

    /// The mapping of an optional section (`s3:`, `ec2:`, `ram:`) holding
    /// one list, and that list's items.
    fn section_list<'n>(
        &mut self,
        fields: &Fields<'n>,
        section: &str,
        known: &'static [&'static str],
        list: &str,
    ) -> Vec<(&'n Node, String)> {
        let Some(node) = fields.get(section) else {
            return Vec::new();
        };
        match self.fields(node, &fields.path(section), known) {
            Some(inner) => self.list(&inner, list),
            None => Vec::new(),
        }
    }

    pub(crate) fn tags(&mut self, fields: &Fields<'_>, key: &str) -> RawTags {
        let field = fields.path(key);
        let mut tags = RawTags {
            loc: self.loc(fields.get(key).unwrap_or(fields.node), &field),
            tags: Vec::new(),
        };
        let Some(node) = fields.get(key) else {
            return tags;
        };
        let Some(entries) = node.as_mapping() else {
            self.wrong_type(node, &field, "a mapping of tag keys to values");
            return tags;
        };
        for entry in entries {
            let key_field = join(&field, &entry.key);
            let key = Text {
                value: entry.key.clone(),
                loc: Loc::new(self.file, entry.key_span, key_field.clone()),
            };
            let value = match &entry.value.value {
                Value::Null => Text {
                    value: String::new(),
                    loc: self.loc(&entry.value, &key_field),
                },
                _ => match self.scalar(&entry.value, &key_field) {
                    Some(text) => text,
                    None => continue,
                },
            };
            tags.tags.push((key, value));
        }
        tags
    }

    fn document(&mut self, fields: &Fields<'_>, key: &str) -> Option<RawDocument> {
        let node = fields.get(key)?;
        let field = fields.path(key);
        let loc = self.loc(node, &field);
        let body = match &node.value {
            Value::Mapping(entries) if entries.iter().any(|e| e.key == "file") => {
                let file = self.fields(node, &field, &["file"])?;
                let path = self.text(&file, "file")?;
                DocumentBody::File { path }
            }
            Value::Mapping(_) => {
                let (json, spans) = document::yaml_to_json(node);
                DocumentBody::Yaml { json, spans }
            }
            Value::Scalar(s) => DocumentBody::JsonString {
                text: s.text.clone(),
                style: s.style,
                span: node.span,
            },
            _ => {
                self.wrong_type(
                    node,
                    &field,
                    "a policy document (a mapping, a JSON string, or `{file: path.json}`)",
                );
                return None;
            }
        };
        Some(RawDocument { loc, body })
    }

    fn file(&mut self, root: &Node) -> RawFile {
        let mut raw = RawFile {
            file: self.file,
            shapeless: false,
            organization: None,
            include: Vec::new(),
            accounts: Vec::new(),
            scps: Vec::new(),
            rcps: Vec::new(),
            external_accounts: Vec::new(),
        };
        if root.value == Value::Null {
            return raw;
        }
        let Some(fields) = self.fields(root, "", FILE) else {
            raw.shapeless = true;
            return raw;
        };
        if let Some(node) = fields.get("organization") {
            raw.organization = self.organization(node);
        }
        raw.include = self.texts(&fields, "include");
        for (node, field) in self.list(&fields, "accounts") {
            if let Some(account) = self.account(node, &field) {
                raw.accounts.push(account);
            }
        }
        for (node, field) in self.list(&fields, "external_accounts") {
            if let Some(f) = self.fields(node, &field, EXTERNAL_ACCOUNT) {
                raw.external_accounts.push(RawExternalAccount {
                    id: self.required_text(&f, "id"),
                    name: self.text(&f, "name"),
                });
            }
        }
        for (key, out) in [("scps", &mut raw.scps), ("rcps", &mut raw.rcps)] {
            for (node, field) in self.list(&fields, key) {
                if let Some(policy) = self.org_policy(node, &field) {
                    out.push(policy);
                }
            }
        }
        raw
    }

    fn organization(&mut self, node: &Node) -> Option<RawOrganization> {
        let fields = self.fields(node, "organization", ORGANIZATION)?;
        let mut units = Vec::new();
        for (node, field) in self.list(&fields, "organizational_units") {
            let Some(ou) = self.fields(node, &field, OU) else {
                continue;
            };
            units.push(RawOu {
                name: self.required_text(&ou, "name"),
                id: self.text(&ou, "id"),
                parent: self.text(&ou, "parent"),
            });
        }
        Some(RawOrganization {
            loc: self.loc(node, "organization"),
            id: self.text(&fields, "id"),
            root_id: self.text(&fields, "root_id"),
            management_account: self.required_text(&fields, "management_account"),
            organizational_units: units,
            ram_sharing_with_organization: self.flag(&fields, "ram_sharing_with_organization"),
        })
    }

    fn account(&mut self, node: &Node, field: &str) -> Option<RawAccount> {
        let fields = self.fields(node, field, ACCOUNT)?;
        let iam = match fields.get("iam") {
            Some(iam) => self.iam(iam, &fields.path("iam")),
            None => RawIam::default(),
        };
        Some(RawAccount {
            id: self.required_text(&fields, "id"),
            name: self.required_text(&fields, "name"),
            email: self.text(&fields, "email"),
            parent: self.text(&fields, "parent"),
            iam,
            buckets: self.buckets(&fields),
            vpcs: self.vpcs(&fields),
            resource_shares: self.resource_shares(&fields),
            eks: self.eks(&fields),
        })
    }

    fn eks(&mut self, account: &Fields<'_>) -> RawEks {
        let Some(node) = account.get("eks") else {
            return RawEks::default();
        };
        let Some(fields) = self.fields(node, &account.path("eks"), EKS) else {
            return RawEks::default();
        };
        let mut clusters = Vec::new();
        for (node, field) in self.list(&fields, "clusters") {
            clusters.extend(self.cluster(node, &field));
        }
        RawEks {
            clusters,
            eksctl_configs: self.texts(&fields, "eksctl_configs"),
        }
    }

    fn cluster(&mut self, node: &Node, field: &str) -> Option<RawCluster> {
        let f = self.fields(node, field, CLUSTER)?;
        let mut service_accounts = Vec::new();
        for (node, field) in self.list(&f, "service_accounts") {
            let Some(s) = self.fields(node, &field, SERVICE_ACCOUNT) else {
                continue;
            };
            service_accounts.push(RawServiceAccount {
                namespace: self.required_text(&s, "namespace"),
                name: self.required_text(&s, "name"),
                annotations: self.tags(&s, "annotations"),
            });
        }
        let mut associations = Vec::new();
        for (node, field) in self.list(&f, "pod_identity_associations") {
            let Some(a) = self.fields(node, &field, ASSOCIATION) else {
                continue;
            };
            associations.push(RawAssociation {
                id: self.text(&a, "id"),
                namespace: self.required_text(&a, "namespace"),
                service_account: self.required_text(&a, "service_account"),
                role_arn: self.required_text(&a, "role_arn"),
                target_role_arn: self.text(&a, "target_role_arn"),
                disable_session_tags: self.flag(&a, "disable_session_tags"),
                policy: self.document(&a, "policy"),
                tags: self.tags(&a, "tags"),
            });
        }
        Some(RawCluster {
            name: self.required_text(&f, "name"),
            region: self.text(&f, "region"),
            version: self.text(&f, "version"),
            oidc_issuer_id: self.text(&f, "oidc_issuer_id"),
            tags: self.tags(&f, "tags"),
            namespaces: self.texts(&f, "namespaces"),
            service_accounts,
            kubernetes_manifests: self.texts(&f, "kubernetes_manifests"),
            pod_identity_associations: associations,
            eksctl_passed_over: Vec::new(),
        })
    }

    fn buckets(&mut self, account: &Fields<'_>) -> Vec<RawBucket> {
        let mut buckets = Vec::new();
        for (node, field) in self.section_list(account, "s3", S3, "buckets") {
            let Some(f) = self.fields(node, &field, BUCKET) else {
                continue;
            };
            let mut objects = Vec::new();
            for (node, field) in self.list(&f, "objects") {
                let Some(o) = self.fields(node, &field, OBJECT) else {
                    continue;
                };
                objects.push(RawObject {
                    loc: self.loc(node, &field),
                    key: self.required_text(&o, "key"),
                    content: self.text(&o, "content"),
                    content_base64: self.text(&o, "content_base64"),
                    file: self.text(&o, "file"),
                    content_type: self.text(&o, "content_type"),
                });
            }
            buckets.push(RawBucket {
                name: self.required_text(&f, "name"),
                region: self.text(&f, "region"),
                policy: self.document(&f, "policy"),
                tags: self.tags(&f, "tags"),
                objects,
            });
        }
        buckets
    }

    fn vpcs(&mut self, account: &Fields<'_>) -> Vec<RawVpc> {
        let mut vpcs = Vec::new();
        for (node, field) in self.section_list(account, "ec2", EC2, "vpcs") {
            let Some(f) = self.fields(node, &field, VPC) else {
                continue;
            };
            let mut subnets = Vec::new();
            for (node, field) in self.list(&f, "subnets") {
                let Some(s) = self.fields(node, &field, SUBNET) else {
                    continue;
                };
                subnets.push(RawSubnet {
                    id: self.required_text(&s, "id"),
                    cidr_block: self.required_text(&s, "cidr_block"),
                    availability_zone: self.required_text(&s, "availability_zone"),
                    tags: self.tags(&s, "tags"),
                });
            }
            vpcs.push(RawVpc {
                id: self.required_text(&f, "id"),
                region: self.text(&f, "region"),
                cidr_block: self.required_text(&f, "cidr_block"),
                tags: self.tags(&f, "tags"),
                subnets,
            });
        }
        vpcs
    }

    fn resource_shares(&mut self, account: &Fields<'_>) -> Vec<RawResourceShare> {
        let mut shares = Vec::new();
        for (node, field) in self.section_list(account, "ram", RAM, "resource_shares") {
            let Some(f) = self.fields(node, &field, RESOURCE_SHARE) else {
                continue;
            };
            shares.push(RawResourceShare {
                name: self.required_text(&f, "name"),
                arn: self.text(&f, "arn"),
                region: self.text(&f, "region"),
                allow_external_principals: self.flag(&f, "allow_external_principals"),
                resources: self.texts(&f, "resources"),
                principals: self.texts(&f, "principals"),
                tags: self.tags(&f, "tags"),
            });
        }
        shares
    }

    fn iam(&mut self, node: &Node, field: &str) -> RawIam {
        let mut iam = RawIam::default();
        let Some(fields) = self.fields(node, field, IAM) else {
            return iam;
        };
        for (node, field) in self.list(&fields, "users") {
            let Some(f) = self.fields(node, &field, USER) else {
                continue;
            };
            let access_keys = self
                .list(&f, "access_keys")
                .into_iter()
                .filter_map(|(node, field)| {
                    let key = self.fields(node, &field, ACCESS_KEY)?;
                    let secret = self.required_text(&key, "secret");
                    if let Some(secret) = &secret {
                        self.report.redact(&secret.loc);
                    }
                    Some(RawAccessKey {
                        loc: self.loc(node, &field),
                        id: self.required_text(&key, "id"),
                        secret,
                        status: self.text(&key, "status"),
                    })
                })
                .collect();
            iam.users.push(RawUser {
                common: self.principal(&f),
                access_keys,
                groups: self.texts(&f, "groups"),
                permissions_boundary: self.text(&f, "permissions_boundary"),
                tags: self.tags(&f, "tags"),
            });
        }
        for (node, field) in self.list(&fields, "groups") {
            if let Some(f) = self.fields(node, &field, GROUP) {
                iam.groups.push(RawGroup {
                    common: self.principal(&f),
                });
            }
        }
        for (node, field) in self.list(&fields, "roles") {
            let Some(f) = self.fields(node, &field, ROLE) else {
                continue;
            };
            let trust_policy = self.required_document(&f, "trust_policy");
            iam.roles.push(RawRole {
                common: self.principal(&f),
                description: self.text(&f, "description"),
                trust_policy,
                permissions_boundary: self.text(&f, "permissions_boundary"),
                max_session_duration: self.number(&f, "max_session_duration"),
                tags: self.tags(&f, "tags"),
            });
        }
        for (node, field) in self.list(&fields, "policies") {
            let Some(f) = self.fields(node, &field, MANAGED_POLICY) else {
                continue;
            };
            let document = self.required_document(&f, "document");
            iam.policies.push(RawManagedPolicy {
                name: self.required_text(&f, "name"),
                path: self.text(&f, "path"),
                id: self.text(&f, "id"),
                description: self.text(&f, "description"),
                document,
            });
        }
        for (node, field) in self.list(&fields, "oidc_providers") {
            let Some(f) = self.fields(node, &field, OIDC_PROVIDER) else {
                continue;
            };
            iam.oidc_providers.push(RawOidcProvider {
                loc: self.loc(node, &field),
                url: self.required_text(&f, "url"),
                client_ids: self.texts(&f, "client_ids"),
                thumbprints: self.texts(&f, "thumbprints"),
                tags: self.tags(&f, "tags"),
            });
        }
        iam
    }

    fn required_document(&mut self, fields: &Fields<'_>, key: &'static str) -> Option<RawDocument> {
        if fields.get(key).is_none() {
            let loc = self.loc(fields.node, &fields.field);
            self.report.push(&loc, Problem::MissingField { field: key });
            return None;
        }
        self.document(fields, key)
    }

    /// The fields users, groups and roles share.
    fn principal(&mut self, fields: &Fields<'_>) -> RawPrincipal {
        let inline_policies = self
            .list(fields, "inline_policies")
            .into_iter()
            .filter_map(|(node, field)| {
                let f = self.fields(node, &field, INLINE_POLICY)?;
                Some(RawInlinePolicy {
                    name: self.required_text(&f, "name"),
                    document: self.required_document(&f, "document"),
                })
            })
            .collect();
        RawPrincipal {
            loc: self.loc(fields.node, &fields.field),
            name: self.required_text(fields, "name"),
            path: self.text(fields, "path"),
            id: self.text(fields, "id"),
            inline_policies,
            managed_policies: self.texts(fields, "managed_policies"),
        }
    }

    fn org_policy(&mut self, node: &Node, field: &str) -> Option<RawOrgPolicy> {
        let fields = self.fields(node, field, ORG_POLICY)?;
        Some(RawOrgPolicy {
            name: self.required_text(&fields, "name"),
            id: self.text(&fields, "id"),
            description: self.text(&fields, "description"),
            document: self.required_document(&fields, "document"),
            targets: self.texts(&fields, "targets"),
        })
    }
}
