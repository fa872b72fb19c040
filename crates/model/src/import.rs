//! `orgtwin import`: a model built from what teams can export today without
//! orgtwin — the AWS CLI's `organizations` listings, `iam
//! get-account-authorization-details` per account, `eks describe-cluster`
//! and `describe-pod-identity-association`, `kubectl get serviceaccounts -A
//! -o json`, and eksctl `ClusterConfig` files.
//!
//! The import writes model files in memory (YAML, with policy documents
//! inline as JSON mappings, which YAML reads as they are), loads them back
//! through the model's own checks, and only then hands them out: a model
//! that would not load is an error, and nothing is written. Kubernetes and
//! eksctl files are copied beside the model and named by it
//! (`kubernetes_manifests`, `eksctl_configs`), so the model's own readers
//! read them. What cannot be mapped is reported, never dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::model::Model;

/// What to import.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// A directory of `aws organizations` outputs (docs/import.md).
    pub organizations: Option<PathBuf>,
    /// `aws iam get-account-authorization-details` outputs, one per account.
    pub iam: Vec<PathBuf>,
    /// `aws eks describe-cluster` and `describe-pod-identity-association`
    /// outputs.
    pub eks: Vec<PathBuf>,
    /// `kubectl get serviceaccounts -A -o json` outputs, by cluster name.
    pub kubectl: Vec<(String, PathBuf)>,
    /// eksctl `ClusterConfig` files, with the account that runs each.
    pub eksctl: Vec<(String, PathBuf)>,
    /// Without an organization listing: the management account.
    pub management_account: Option<String>,
}

/// The model's files, the model they load into, and what was not mapped.
#[derive(Debug)]
pub struct Imported {
    pub files: Vec<(PathBuf, String)>,
    pub model: Model,
    pub unmapped: Vec<String>,
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error("{0}")]
    Input(String),
    #[error("the imported model does not load:\n{0}")]
    Model(String),
}

fn read_json(path: &Path) -> Result<Value, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| ImportError::Malformed {
        path: path.display().to_string(),
        reason: format!("not JSON: {e}"),
    })
}

fn field<'v>(value: &'v Value, path: &Path, pointer: &str) -> Result<&'v Value, ImportError> {
    value
        .pointer(pointer)
        .ok_or_else(|| ImportError::Malformed {
            path: path.display().to_string(),
            reason: format!("no `{}`", pointer.trim_start_matches('/').replace('/', ".")),
        })
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn items<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The account of an ARN: `arn:aws:SERVICE:REGION:ACCOUNT:...`.
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12)
}

/// A policy document as the CLI prints it (an object) or as the API gives
/// it (URL-encoded JSON).
fn document(value: &Value) -> Option<Value> {
    match value {
        Value::Object(_) => Some(value.clone()),
        Value::String(encoded) => {
            let decoded = percent_decode(encoded);
            serde_json::from_str(&decoded).ok()
        }
        _ => None,
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tags(value: &Value) -> Value {
    let mut map = Map::new();
    for tag in items(value, "Tags") {
        if let (Some(k), Some(v)) = (text(tag, "Key"), text(tag, "Value")) {
            map.insert(k, Value::String(v));
        }
    }
    Value::Object(map)
}

fn inline_policies(
    value: &Value,
    key: &str,
    owner: &str,
    unmapped: &mut Vec<String>,
) -> Vec<Value> {
    let mut out = Vec::new();
    for policy in items(value, key) {
        let name = text(policy, "PolicyName").unwrap_or_default();
        match policy.get("PolicyDocument").and_then(document) {
            Some(doc) => out.push(json!({"name": name, "document": doc})),
            None => unmapped.push(format!(
                "{owner}: inline policy `{name}` has no readable document"
            )),
        }
    }
    out
}

fn managed(value: &Value) -> Vec<Value> {
    items(value, "AttachedManagedPolicies")
        .iter()
        .filter_map(|p| text(p, "PolicyArn"))
        .map(Value::String)
        .collect()
}

fn path_of(value: &Value, key: &str) -> Option<Value> {
    text(value, key).filter(|p| p != "/").map(Value::String)
}

/// What roles, users and groups have in common: name, path, inline and
/// attached policies, and (roles and users) boundary and tags.
fn principal(
    value: &Value,
    kind: &str,
    name: &str,
    inline_key: &str,
    unmapped: &mut Vec<String>,
) -> Value {
    let mut entry = json!({"name": name});
    if let Some(p) = path_of(value, "Path") {
        set(&mut entry, "path", p);
    }
    let inline = inline_policies(value, inline_key, &format!("{kind} {name}"), unmapped);
    if !inline.is_empty() {
        set(&mut entry, "inline_policies", Value::Array(inline));
    }
    let attached = managed(value);
    if !attached.is_empty() {
        set(&mut entry, "managed_policies", Value::Array(attached));
    }
    if let Some(boundary) = value
        .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
        .and_then(Value::as_str)
    {
        set(
            &mut entry,
            "permissions_boundary",
            Value::String(boundary.into()),
        );
    }
    let t = tags(value);
    if t.as_object().is_some_and(|m| !m.is_empty()) {
        set(&mut entry, "tags", t);
    }
    entry
}

/// One account's IAM from `get-account-authorization-details`.
fn iam_account(
    path: &Path,
    value: &Value,
    unmapped: &mut Vec<String>,
) -> Result<Option<(String, Value)>, ImportError> {
    let mut account = None;
    let mut roles = Vec::new();
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut policies = Vec::new();
    let arns = items(value, "RoleDetailList")
        .iter()
        .chain(items(value, "UserDetailList"))
        .chain(items(value, "GroupDetailList"))
        .chain(items(value, "Policies"))
        .filter_map(|v| text(v, "Arn"))
        .filter(|arn| !arn.starts_with("arn:aws:iam::aws:"));
    for arn in arns {
        if let Some(id) = arn_account(&arn) {
            account.get_or_insert_with(|| id.to_string());
        }
    }
    for role in items(value, "RoleDetailList") {
        let name = text(role, "RoleName").unwrap_or_default();
        let Some(trust) = role.get("AssumeRolePolicyDocument").and_then(document) else {
            unmapped.push(format!(
                "{}: role {name} has no readable trust policy; left out",
                path.display()
            ));
            continue;
        };
        let mut entry = principal(role, "role", &name, "RolePolicyList", unmapped);
        set(&mut entry, "trust_policy", trust);
        if let Some(max) = role.get("MaxSessionDuration").and_then(Value::as_u64) {
            set(&mut entry, "max_session_duration", max.into());
        }
        if !items(role, "InstanceProfileList").is_empty() {
            unmapped.push(format!(
                "role {name}: instance profiles are not part of the model"
            ));
        }
        roles.push(entry);
    }
    for user in items(value, "UserDetailList") {
        let name = text(user, "UserName").unwrap_or_default();
        let mut entry = principal(user, "user", &name, "UserPolicyList", unmapped);
        let group_names: Vec<Value> = items(user, "GroupList").to_vec();
        if !group_names.is_empty() {
            set(&mut entry, "groups", Value::Array(group_names));
        }
        users.push(entry);
    }
    for group in items(value, "GroupDetailList") {
        let name = text(group, "GroupName").unwrap_or_default();
        groups.push(principal(
            group,
            "group",
            &name,
            "GroupPolicyList",
            unmapped,
        ));
    }
    for policy in items(value, "Policies") {
        let arn = text(policy, "Arn").unwrap_or_default();
        if arn.starts_with("arn:aws:iam::aws:") {
            continue;
        }
        let name = text(policy, "PolicyName").unwrap_or_default();
        let doc = items(policy, "PolicyVersionList")
            .iter()
            .find(|v| v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true))
            .and_then(|v| v.get("Document"))
            .and_then(document);
        let Some(doc) = doc else {
            unmapped.push(format!(
                "policy {arn}: no default version document; left out"
            ));
            continue;
        };
        let mut entry = json!({"name": name, "document": doc});
        if let Some(p) = path_of(policy, "Path") {
            set(&mut entry, "path", p);
        }
        if let Some(description) = text(policy, "Description").filter(|d| !d.is_empty()) {
            set(&mut entry, "description", Value::String(description));
        }
        policies.push(entry);
    }
    let Some(account) = account else {
        unmapped.push(format!(
            "{}: no role, user, group or policy, so no ARN names its account; nothing to import from it",
            path.display()
        ));
        return Ok(None);
    };
    let mut iam = Map::new();
    for (key, list) in [
        ("roles", roles),
        ("users", users),
        ("groups", groups),
        ("policies", policies),
    ] {
        if !list.is_empty() {
            iam.insert(key.into(), Value::Array(list));
        }
    }
    Ok(Some((account, Value::Object(iam))))
}

/// The organization's tree and policies from the `organizations` outputs.
struct Organization {
    id: Option<String>,
    root_id: Option<String>,
    management: String,
    ous: Vec<Value>,
    /// Account id → (name, email, parent OU name or `root`).
    accounts: BTreeMap<String, (String, Option<String>, String)>,
    scps: Vec<Value>,
    rcps: Vec<Value>,
}

fn organization(dir: &Path, unmapped: &mut Vec<String>) -> Result<Organization, ImportError> {
    let file = |name: &str| dir.join(name);
    let described = read_json(&file("describe-organization.json"))?;
    let management = field(
        &described,
        &file("describe-organization.json"),
        "/Organization/MasterAccountId",
    )?
    .as_str()
    .unwrap_or_default()
    .to_string();
    let org_id = described
        .pointer("/Organization/Id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let roots = read_json(&file("list-roots.json"))?;
    let root_id = items(&roots, "Roots").first().and_then(|r| text(r, "Id"));
    let mut ous = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut parents: Vec<(String, String)> = root_id
        .iter()
        .map(|r| (r.clone(), "root".to_string()))
        .collect();
    // Breadth first from the root: each parent's listing names its OUs.
    let mut at = 0;
    while let Some((parent_id, parent_name)) = parents.get(at).cloned() {
        at += 1;
        let listing = file(&format!(
            "list-organizational-units-for-parent-{parent_id}.json"
        ));
        if !listing.exists() {
            continue;
        }
        for ou in items(&read_json(&listing)?, "OrganizationalUnits") {
            let (Some(id), Some(name)) = (text(ou, "Id"), text(ou, "Name")) else {
                continue;
            };
            ous.push(json!({"name": name, "id": id, "parent": parent_name}));
            names.insert(id.clone(), name.clone());
            parents.push((id, name));
        }
    }
    let mut accounts = BTreeMap::new();
    for account in items(&read_json(&file("list-accounts.json"))?, "Accounts") {
        if let (Some(id), Some(name)) = (text(account, "Id"), text(account, "Name")) {
            accounts.insert(id, (name, text(account, "Email"), "root".to_string()));
        }
    }
    for (parent_id, parent_name) in &parents {
        let listing = file(&format!("list-accounts-for-parent-{parent_id}.json"));
        if !listing.exists() {
            continue;
        }
        for account in items(&read_json(&listing)?, "Accounts") {
            if let Some(id) = text(account, "Id")
                && let Some(entry) = accounts.get_mut(&id)
            {
                entry.2.clone_from(parent_name);
            }
        }
    }
    let mut scps = Vec::new();
    let mut rcps = Vec::new();
    for (kind, out) in [
        ("SERVICE_CONTROL_POLICY", &mut scps),
        ("RESOURCE_CONTROL_POLICY", &mut rcps),
    ] {
        let listing = file(&format!("list-policies-{kind}.json"));
        if !listing.exists() {
            continue;
        }
        for policy in items(&read_json(&listing)?, "Policies") {
            let (Some(id), Some(name)) = (text(policy, "Id"), text(policy, "Name")) else {
                continue;
            };
            let aws_managed = policy.get("AwsManaged").and_then(Value::as_bool) == Some(true);
            if aws_managed && kind == "RESOURCE_CONTROL_POLICY" {
                // RCPFullAWSAccess is everywhere; the model leaves it out.
                continue;
            }
            let described_path = file(&format!("describe-policy-{id}.json"));
            let content = read_json(&described_path)
                .ok()
                .and_then(|d| d.pointer("/Policy/Content").and_then(document));
            let Some(content) = content else {
                unmapped.push(format!(
                    "{kind} {name} ({id}): no describe-policy-{id}.json content; left out"
                ));
                continue;
            };
            let mut targets = Vec::new();
            let target_path = file(&format!("list-targets-for-policy-{id}.json"));
            if target_path.exists() {
                for target in items(&read_json(&target_path)?, "Targets") {
                    let target_id = text(target, "TargetId").unwrap_or_default();
                    let mapped = match text(target, "Type").as_deref() {
                        Some("ROOT") => Some("root".to_string()),
                        Some("ORGANIZATIONAL_UNIT") => names.get(&target_id).cloned(),
                        Some("ACCOUNT") => {
                            accounts.contains_key(&target_id).then(|| target_id.clone())
                        }
                        _ => None,
                    };
                    match mapped {
                        Some(t) => targets.push(Value::String(t)),
                        None => unmapped.push(format!(
                            "{kind} {name}: target {target_id} is not in the organization listing"
                        )),
                    }
                }
            }
            let mut entry = json!({"name": name, "id": id, "document": content});
            if let Some(description) = text(policy, "Description").filter(|d| !d.is_empty()) {
                set(&mut entry, "description", Value::String(description));
            }
            if !targets.is_empty() {
                set(&mut entry, "targets", Value::Array(targets));
            }
            out.push(entry);
        }
    }
    Ok(Organization {
        id: org_id,
        root_id,
        management,
        ous,
        accounts,
        scps,
        rcps,
    })
}

/// Clusters and associations from the EKS outputs, by account.
fn eks(
    paths: &[PathBuf],
    listed: &BTreeMap<String, BTreeSet<(String, String)>>,
    unmapped: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<Value>>, ImportError> {
    let mut clusters: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut associations = Vec::new();
    for path in paths {
        let value = read_json(path)?;
        if let Some(cluster) = value.get("cluster") {
            let arn = text(cluster, "arn").unwrap_or_default();
            let (Some(account), Some(name)) = (arn_account(&arn), text(cluster, "name")) else {
                return Err(ImportError::Malformed {
                    path: path.display().to_string(),
                    reason: "cluster.arn and cluster.name are required".into(),
                });
            };
            let region = arn.split(':').nth(3).unwrap_or("us-east-1").to_string();
            let mut entry = json!({"name": name, "region": region});
            if let Some(version) = text(cluster, "version") {
                set(&mut entry, "version", Value::String(version));
            }
            if let Some(issuer) = cluster
                .pointer("/identity/oidc/issuer")
                .and_then(Value::as_str)
                && let Some(id) = issuer.rsplit('/').next()
            {
                set(&mut entry, "oidc_issuer_id", Value::String(id.to_string()));
            }
            if let Some(t) = cluster
                .get("tags")
                .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
            {
                set(&mut entry, "tags", t.clone());
            }
            clusters.insert(name, (account.to_string(), entry));
        } else if let Some(association) = value.get("association") {
            associations.push((path.clone(), association.clone()));
        } else if value.get("associations").is_some() {
            unmapped.push(format!(
                "{}: a list of association summaries; import each `describe-pod-identity-association` instead",
                path.display()
            ));
        } else {
            return Err(ImportError::Malformed {
                path: path.display().to_string(),
                reason: "neither a `describe-cluster` (`cluster`) nor a `describe-pod-identity-association` (`association`) output".into(),
            });
        }
    }
    for (path, association) in associations {
        let cluster_name = text(&association, "clusterName").unwrap_or_default();
        let Some((_, cluster)) = clusters.get_mut(&cluster_name) else {
            unmapped.push(format!(
                "{}: association of cluster {cluster_name}, whose describe-cluster output was not given",
                path.display()
            ));
            continue;
        };
        let (Some(namespace), Some(sa), Some(role)) = (
            text(&association, "namespace"),
            text(&association, "serviceAccount"),
            text(&association, "roleArn"),
        ) else {
            unmapped.push(format!(
                "{}: association without namespace, serviceAccount or roleArn",
                path.display()
            ));
            continue;
        };
        let mut entry = json!({"namespace": namespace, "service_account": sa, "role_arn": role});
        if let Some(id) = text(&association, "associationId") {
            set(&mut entry, "id", Value::String(id));
        }
        if let Some(target) = text(&association, "targetRoleArn") {
            set(&mut entry, "target_role_arn", Value::String(target));
        }
        if association
            .get("disableSessionTags")
            .and_then(Value::as_bool)
            == Some(true)
        {
            set(&mut entry, "disable_session_tags", Value::Bool(true));
        }
        if let Some(policy) = association.get("policy").and_then(document) {
            set(&mut entry, "policy", policy);
        }
        if let Some(t) = association
            .get("tags")
            .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
        {
            set(&mut entry, "tags", t.clone());
        }
        push(cluster, "pod_identity_associations", entry);
        // EKS does not look at Kubernetes; the model needs the service
        // account declared, unless the cluster's kubectl listing has it.
        let known = listed
            .get(&cluster_name)
            .is_some_and(|set| set.contains(&(namespace.clone(), sa.clone())));
        if !known {
            push(
                cluster,
                "service_accounts",
                json!({"namespace": namespace, "name": sa}),
            );
        }
    }
    let mut by_account: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (_, (account, cluster)) in clusters {
        by_account.entry(account).or_default().push(cluster);
    }
    Ok(by_account)
}

/// Sets `key` of an object (the values built here always are objects).
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(key.to_string(), value);
    }
}

fn push(object: &mut Value, key: &str, item: Value) {
    if let Some(map) = object.as_object_mut() {
        let list = map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut()
            && !list.contains(&item)
        {
            list.push(item);
        }
    }
}

/// Builds the model's files from `inputs`, checks them by loading them, and
/// reports what could not be mapped. `progress` hears of each input read.
pub fn import(inputs: &Inputs, progress: &mut dyn FnMut(&str)) -> Result<Imported, ImportError> {
    let mut unmapped = Vec::new();
    let org = match &inputs.organizations {
        Some(dir) => {
            progress("organizations");
            Some(organization(dir, &mut unmapped)?)
        }
        None => None,
    };
    let management = match (&org, &inputs.management_account) {
        (Some(org), _) => org.management.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            return Err(ImportError::Input(
                "without `--organizations`, give `--management-account ID`".into(),
            ));
        }
    };
    let mut accounts: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    if let Some(org) = &org {
        for (id, (name, email, parent)) in &org.accounts {
            let mut account = Map::new();
            account.insert("id".into(), Value::String(id.clone()));
            account.insert("name".into(), Value::String(name.clone()));
            if let Some(email) = email {
                account.insert("email".into(), Value::String(email.clone()));
            }
            account.insert("parent".into(), Value::String(parent.clone()));
            accounts.insert(id.clone(), account);
        }
    }
    let ensure = |accounts: &mut BTreeMap<String, Map<String, Value>>,
                  id: &str,
                  unmapped: &mut Vec<String>,
                  what: &str| {
        if !accounts.contains_key(id) {
            if org.is_some() {
                unmapped.push(format!(
                    "{what}: account {id} is not in the organization listing; placed at the root"
                ));
            }
            let mut account = Map::new();
            account.insert("id".into(), Value::String(id.to_string()));
            account.insert("name".into(), Value::String(format!("account-{id}")));
            accounts.insert(id.to_string(), account);
        }
    };
    ensure(
        &mut accounts,
        &management,
        &mut unmapped,
        "the management account",
    );
    for path in &inputs.iam {
        progress(&path.display().to_string());
        let value = read_json(path)?;
        let Some((account, iam)) = iam_account(path, &value, &mut unmapped)? else {
            continue;
        };
        ensure(
            &mut accounts,
            &account,
            &mut unmapped,
            &path.display().to_string(),
        );
        if let Some(entry) = accounts.get_mut(&account) {
            entry.insert("iam".into(), iam);
        }
    }
    for path in &inputs.eks {
        progress(&path.display().to_string());
    }
    // The service accounts each cluster's kubectl listing holds.
    let mut listed: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for (cluster, path) in &inputs.kubectl {
        let value = read_json(path)?;
        let set = listed.entry(cluster.clone()).or_default();
        for item in items(&value, "items") {
            if item.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str)
            {
                let namespace = item
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("default");
                set.insert((namespace.to_string(), name.to_string()));
            }
        }
    }
    let mut clusters = eks(&inputs.eks, &listed, &mut unmapped)?;
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut copied = BTreeSet::new();
    for (cluster_name, path) in &inputs.kubectl {
        progress(&path.display().to_string());
        let Some(cluster) = clusters
            .values_mut()
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(cluster_name.as_str()))
        else {
            unmapped.push(format!(
                "{}: no cluster {cluster_name} among the describe-cluster outputs",
                path.display()
            ));
            continue;
        };
        let name = format!("kubernetes/{cluster_name}-serviceaccounts.json");
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        push(
            cluster,
            "kubernetes_manifests",
            Value::String(format!("../{name}")),
        );
        if copied.insert(name.clone()) {
            files.push((PathBuf::from(name), text));
        }
    }
    let mut eksctl: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (account, path) in &inputs.eksctl {
        progress(&path.display().to_string());
        ensure(
            &mut accounts,
            account,
            &mut unmapped,
            &path.display().to_string(),
        );
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("eksctl/{account}-{base}");
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        eksctl
            .entry(account.clone())
            .or_default()
            .push(Value::String(format!("../{name}")));
        files.push((PathBuf::from(name), text));
    }
    for account in clusters
        .keys()
        .chain(eksctl.keys())
        .cloned()
        .collect::<BTreeSet<_>>()
    {
        ensure(&mut accounts, &account, &mut unmapped, "EKS");
        let mut section = Map::new();
        if let Some(list) = clusters.remove(&account) {
            section.insert("clusters".into(), Value::Array(list));
        }
        if let Some(list) = eksctl.remove(&account) {
            section.insert("eksctl_configs".into(), Value::Array(list));
        }
        if let Some(entry) = accounts.get_mut(&account) {
            entry.insert("eks".into(), Value::Object(section));
        }
    }
    let mut organization = json!({"management_account": management});
    if let Some(org) = &org {
        if let Some(id) = &org.id {
            set(&mut organization, "id", Value::String(id.clone()));
        }
        if let Some(root) = &org.root_id {
            set(&mut organization, "root_id", Value::String(root.clone()));
        }
        if !org.ous.is_empty() {
            set(
                &mut organization,
                "organizational_units",
                Value::Array(org.ous.clone()),
            );
        }
    }
    let mut root = json!({"organization": organization, "include": ["accounts/*.yaml"]});
    if let Some(org) = &org {
        if !org.scps.is_empty() {
            set(&mut root, "scps", Value::Array(org.scps.clone()));
        }
        if !org.rcps.is_empty() {
            set(&mut root, "rcps", Value::Array(org.rcps.clone()));
        }
    }
    let header = "# Imported by `orgtwin import`; the format is in docs/model.md. JSON is YAML.\n";
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    files.insert(
        0,
        (
            PathBuf::from("org.yaml"),
            format!("{header}{}\n", pretty(&root)),
        ),
    );
    for (id, account) in accounts {
        let text = format!(
            "{header}{}\n",
            pretty(&json!({"accounts": [Value::Object(account)]}))
        );
        files.push((PathBuf::from(format!("accounts/{id}.yaml")), text));
    }
    let borrowed: Vec<(String, &str)> = files
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let refs: Vec<(&str, &str)> = borrowed.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let model =
        crate::load_from_memory("org.yaml", &refs).map_err(|e| ImportError::Model(e.brief()))?;
    Ok(Imported {
        files,
        model,
        unmapped,
    })
}
