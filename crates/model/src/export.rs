//! Writing a model back as files of the model format.
//!
//! The layout, the same for any model (so two exports of one model are
//! byte for byte identical):
//!
//! ```text
//! org.yaml                                    organization, OUs, SCPs, RCPs, includes
//! policies/scps/NAME.json, policies/rcps/NAME.json
//! accounts/ACCOUNT.yaml                       one account and its IAM
//! accounts/ACCOUNT/policies/NAME.json         customer managed policies
//! accounts/ACCOUNT/roles/ROLE/trust.json      trust policies
//! accounts/ACCOUNT/{roles,users,groups}/NAME/inline/POLICY.json
//! ```
//!
//! Every id is written out (derived ones included), every document as
//! indented JSON in its own file, and `org.yaml` includes each account file
//! by name (not by glob), so stale files in the directory are never read
//! back. Loading the export gives back an equal [`Model`].

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::document::{Document, push_string};
use base64::Engine as _;

use crate::model::{Account, InlinePolicy, Model, OrgPolicy, Parent, Tag, Target};
use crate::resources::SharePrincipal;
use crate::yaml::{Scalar, Style, scalar_to_json};

/// A file that could not be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot write `{path}`: {reason}")]
#[diagnostic(
    code(orgtwin::model::export),
    help("check that the directory is writable and has room")
)]
pub struct ExportError {
    pub path: PathBuf,
    pub reason: String,
}

/// Writes `model` under `dir` (created if needed); files of the same names
/// are replaced, others are left alone.
pub fn export(model: &Model, dir: impl AsRef<Path>) -> Result<(), ExportError> {
    let dir = dir.as_ref();
    for (relative, text) in export_files(model) {
        let path = dir.join(&relative);
        let error = |e: std::io::Error| ExportError {
            path: path.clone(),
            reason: e.to_string(),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(error)?;
        }
        std::fs::write(&path, text).map_err(error)?;
    }
    Ok(())
}

/// The files [`export`] writes, as `(relative path, text)`, root file first.
pub fn export_files(model: &Model) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut root = String::from("# Exported by orgtwin; the format is in docs/model.md.\n");
    let org = &model.organization;
    root.push_str("organization:\n");
    field(&mut root, 1, "id", &org.id);
    field(&mut root, 1, "root_id", &org.root_id);
    field(&mut root, 1, "management_account", &org.management_account);
    if org.ram_sharing_with_organization {
        line(&mut root, 1, "ram_sharing_with_organization: true");
    }
    if !org.organizational_units.is_empty() {
        line(&mut root, 1, "organizational_units:");
        for ou in &org.organizational_units {
            item(&mut root, 1, "name", &ou.name);
            field(&mut root, 2, "id", &ou.id);
            field(&mut root, 2, "parent", &parent(&ou.parent));
        }
    }
    if !model.accounts.is_empty() {
        root.push_str("include:\n");
        for id in model.accounts.keys() {
            list_item(&mut root, 0, &format!("accounts/{}.yaml", file_name(id)));
        }
    }
    for (key, policies) in [("scps", &model.scps), ("rcps", &model.rcps)] {
        org_policies(&mut root, &mut files, key, policies);
    }
    if !model.external_accounts.is_empty() {
        root.push_str("external_accounts:\n");
        for account in model.external_accounts.values() {
            item(&mut root, 0, "id", &account.id);
            field(&mut root, 1, "name", &account.name);
        }
    }
    files.insert(0, (PathBuf::from("org.yaml"), root));
    for account in model.accounts.values() {
        files.extend(account_files(account));
    }
    files
}

fn org_policies(
    out: &mut String,
    files: &mut Vec<(PathBuf, String)>,
    key: &str,
    policies: &[OrgPolicy],
) {
    if policies.is_empty() {
        return;
    }
    let mut names = FileNames::default();
    let _ = writeln!(out, "{key}:");
    for policy in policies {
        item(out, 0, "name", &policy.name);
        field(out, 1, "id", &policy.id);
        if let Some(description) = &policy.description {
            field(out, 1, "description", description);
        }
        let path = format!("policies/{key}/{}.json", names.next(&policy.name));
        document_file(out, files, 1, "document", &path, &path, &policy.document);
        if !policy.targets.is_empty() {
            line(out, 1, "targets:");
            for target in &policy.targets {
                let text = match target {
                    Target::Root => "root",
                    Target::OrganizationalUnit(name) => name,
                    Target::Account(id) => id,
                };
                list_item(out, 1, text);
            }
        }
    }
}

fn account_files(account: &Account) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let dir = file_name(&account.id);
    let mut out = String::from("accounts:\n");
    item(&mut out, 0, "id", &account.id);
    field(&mut out, 1, "name", &account.name);
    if let Some(email) = &account.email {
        field(&mut out, 1, "email", email);
    }
    field(&mut out, 1, "parent", &parent(&account.parent));
    let iam = &account.iam;
    let empty = iam.users.is_empty()
        && iam.groups.is_empty()
        && iam.roles.is_empty()
        && iam.policies.is_empty()
        && iam.oidc_providers.is_empty();
    if !empty {
        iam_section(&mut out, &mut files, &dir, iam);
    }
    resources_section(&mut out, &mut files, &dir, account);
    files.insert(0, (PathBuf::from(format!("accounts/{dir}.yaml")), out));
    files
}

fn iam_section(
    out: &mut String,
    files: &mut Vec<(PathBuf, String)>,
    dir: &str,
    iam: &crate::model::Iam,
) {
    line(out, 1, "iam:");
    // Paths of policy files: in the model, relative to `accounts/`.
    let mut doc = |out: &mut String, indent: usize, key: &str, relative: String, d: &Document| {
        let inside = format!("{dir}/{relative}");
        account_document(out, files, indent, key, &inside, d);
    };
    if !iam.users.is_empty() {
        line(out, 2, "users:");
        let mut names = FileNames::default();
        for user in &iam.users {
            let base = format!("users/{}", names.next(&user.name));
            item(out, 2, "name", &user.name);
            field(out, 3, "path", &user.path);
            field(out, 3, "id", &user.id);
            if !user.access_keys.is_empty() {
                line(out, 3, "access_keys:");
                for key in &user.access_keys {
                    item(out, 3, "id", &key.id);
                    field(out, 4, "secret", key.secret.expose());
                    field(out, 4, "status", key.status.as_str());
                }
            }
            strings(out, 3, "groups", &user.groups);
            inline(out, 3, &base, &user.inline_policies, &mut doc);
            strings(out, 3, "managed_policies", &user.managed_policies);
            if let Some(boundary) = &user.permissions_boundary {
                field(out, 3, "permissions_boundary", boundary);
            }
            tags(out, 3, &user.tags);
        }
    }
    if !iam.groups.is_empty() {
        line(out, 2, "groups:");
        let mut names = FileNames::default();
        for group in &iam.groups {
            let base = format!("groups/{}", names.next(&group.name));
            item(out, 2, "name", &group.name);
            field(out, 3, "path", &group.path);
            field(out, 3, "id", &group.id);
            inline(out, 3, &base, &group.inline_policies, &mut doc);
            strings(out, 3, "managed_policies", &group.managed_policies);
        }
    }
    if !iam.roles.is_empty() {
        line(out, 2, "roles:");
        let mut names = FileNames::default();
        for role in &iam.roles {
            let base = format!("roles/{}", names.next(&role.name));
            item(out, 2, "name", &role.name);
            field(out, 3, "path", &role.path);
            field(out, 3, "id", &role.id);
            if let Some(description) = &role.description {
                field(out, 3, "description", description);
            }
            doc(
                out,
                3,
                "trust_policy",
                format!("{base}/trust.json"),
                &role.trust_policy,
            );
            inline(out, 3, &base, &role.inline_policies, &mut doc);
            strings(out, 3, "managed_policies", &role.managed_policies);
            if let Some(boundary) = &role.permissions_boundary {
                field(out, 3, "permissions_boundary", boundary);
            }
            let _ = writeln!(
                out,
                "{}max_session_duration: {}",
                pad(3),
                role.max_session_duration
            );
            tags(out, 3, &role.tags);
        }
    }
    if !iam.policies.is_empty() {
        line(out, 2, "policies:");
        let mut names = FileNames::default();
        for policy in &iam.policies {
            let file = format!("policies/{}.json", names.next(&policy.name));
            item(out, 2, "name", &policy.name);
            field(out, 3, "path", &policy.path);
            field(out, 3, "id", &policy.id);
            if let Some(description) = &policy.description {
                field(out, 3, "description", description);
            }
            doc(out, 3, "document", file, &policy.document);
        }
    }
    if !iam.oidc_providers.is_empty() {
        line(out, 2, "oidc_providers:");
        for provider in &iam.oidc_providers {
            item(out, 2, "url", &provider.url);
            strings(out, 3, "client_ids", &provider.client_ids);
            strings(out, 3, "thumbprints", &provider.thumbprints);
            tags(out, 3, &provider.tags);
        }
    }
}

/// Buckets (`s3:`), VPCs (`ec2:`) and resource shares (`ram:`).
fn resources_section(
    out: &mut String,
    files: &mut Vec<(PathBuf, String)>,
    dir: &str,
    account: &Account,
) {
    if !account.buckets.is_empty() {
        line(out, 1, "s3:");
        line(out, 2, "buckets:");
        for bucket in &account.buckets {
            item(out, 2, "name", &bucket.name);
            field(out, 3, "region", &bucket.region);
            if let Some(policy) = &bucket.policy {
                let inside = format!("{dir}/buckets/{}/policy.json", file_name(&bucket.name));
                account_document(out, files, 3, "policy", &inside, policy);
            }
            tags(out, 3, &bucket.tags);
            if !bucket.objects.is_empty() {
                line(out, 3, "objects:");
                for object in &bucket.objects {
                    item(out, 3, "key", &object.key);
                    match std::str::from_utf8(&object.body) {
                        Ok(text) => field(out, 4, "content", text),
                        Err(_) => field(
                            out,
                            4,
                            "content_base64",
                            &base64::engine::general_purpose::STANDARD.encode(&object.body),
                        ),
                    }
                    if let Some(content_type) = &object.content_type {
                        field(out, 4, "content_type", content_type);
                    }
                }
            }
        }
    }
    if !account.vpcs.is_empty() {
        line(out, 1, "ec2:");
        line(out, 2, "vpcs:");
        for vpc in &account.vpcs {
            item(out, 2, "id", &vpc.id);
            field(out, 3, "region", &vpc.region);
            field(out, 3, "cidr_block", &vpc.cidr_block);
            tags(out, 3, &vpc.tags);
            if !vpc.subnets.is_empty() {
                line(out, 3, "subnets:");
                for subnet in &vpc.subnets {
                    item(out, 3, "id", &subnet.id);
                    field(out, 4, "cidr_block", &subnet.cidr_block);
                    field(out, 4, "availability_zone", &subnet.availability_zone);
                    tags(out, 4, &subnet.tags);
                }
            }
        }
    }
    if !account.resource_shares.is_empty() {
        line(out, 1, "ram:");
        line(out, 2, "resource_shares:");
        for share in &account.resource_shares {
            item(out, 2, "name", &share.name);
            let derived =
                crate::check_resources::derived_share_arn(&account.id, &share.region, &share.name);
            if share.arn != derived {
                field(out, 3, "arn", &share.arn);
            }
            field(out, 3, "region", &share.region);
            let allow = if share.allow_external_principals {
                "true"
            } else {
                "false"
            };
            let _ = writeln!(out, "{}allow_external_principals: {allow}", pad(3));
            strings(out, 3, "resources", &share.resources);
            let principals: Vec<String> = share
                .principals
                .iter()
                .map(|p| match p {
                    SharePrincipal::Account(id) => id.clone(),
                    SharePrincipal::OrganizationalUnit(name) => name.clone(),
                    SharePrincipal::Organization => "organization".to_string(),
                })
                .collect();
            strings(out, 3, "principals", &principals);
            tags(out, 3, &share.tags);
        }
    }
    eks_section(out, files, dir, account);
}

/// Clusters are written whole: service accounts read from manifests or
/// eksctl files come back as the model's own entries.
fn eks_section(out: &mut String, files: &mut Vec<(PathBuf, String)>, dir: &str, account: &Account) {
    if account.clusters.is_empty() {
        return;
    }
    line(out, 1, "eks:");
    line(out, 2, "clusters:");
    for cluster in &account.clusters {
        item(out, 2, "name", &cluster.name);
        field(out, 3, "region", &cluster.region);
        field(out, 3, "version", &cluster.version);
        field(out, 3, "oidc_issuer_id", &cluster.oidc_issuer_id);
        tags(out, 3, &cluster.tags);
        let namespaces: Vec<String> = cluster.namespaces.iter().cloned().collect();
        strings(out, 3, "namespaces", &namespaces);
        if !cluster.service_accounts.is_empty() {
            line(out, 3, "service_accounts:");
            for sa in &cluster.service_accounts {
                item(out, 3, "namespace", &sa.namespace);
                field(out, 4, "name", &sa.name);
                if !sa.annotations.is_empty() {
                    line(out, 4, "annotations:");
                    for (key, value) in &sa.annotations {
                        let _ = writeln!(out, "{}{}: {}", pad(5), scalar(key), scalar(value));
                    }
                }
            }
        }
        if !cluster.pod_identity_associations.is_empty() {
            line(out, 3, "pod_identity_associations:");
            for association in &cluster.pod_identity_associations {
                item(out, 3, "id", &association.id);
                field(out, 4, "namespace", &association.namespace);
                field(out, 4, "service_account", &association.service_account);
                field(out, 4, "role_arn", &association.role_arn);
                if let Some(target) = &association.target_role_arn {
                    field(out, 4, "target_role_arn", target);
                }
                if association.disable_session_tags {
                    line(out, 4, "disable_session_tags: true");
                }
                if let Some(policy) = &association.policy {
                    let inside = format!(
                        "{dir}/clusters/{}/{}-policy.json",
                        file_name(&cluster.name),
                        association.id
                    );
                    account_document(out, files, 4, "policy", &inside, policy);
                }
                tags(out, 4, &association.tags);
            }
        }
    }
}

type DocWriter<'w> = dyn FnMut(&mut String, usize, &str, String, &Document) + 'w;

fn inline(
    out: &mut String,
    indent: usize,
    base: &str,
    policies: &[InlinePolicy],
    doc: &mut DocWriter<'_>,
) {
    if policies.is_empty() {
        return;
    }
    line(out, indent, "inline_policies:");
    let mut names = FileNames::default();
    for policy in policies {
        item(out, indent, "name", &policy.name);
        let file = format!("{base}/inline/{}.json", names.next(&policy.name));
        doc(out, indent + 1, "document", file, &policy.document);
    }
}

/// A document of an account's file, kept under `accounts/`: the account
/// file names it relative to itself (`inside`).
fn account_document(
    out: &mut String,
    files: &mut Vec<(PathBuf, String)>,
    indent: usize,
    key: &str,
    inside: &str,
    document: &Document,
) {
    document_file(
        out,
        files,
        indent,
        key,
        inside,
        &format!("accounts/{inside}"),
        document,
    );
}

/// Writes `key: {file: in_yaml}` and adds the document's file at `path`.
fn document_file(
    out: &mut String,
    files: &mut Vec<(PathBuf, String)>,
    indent: usize,
    key: &str,
    in_yaml: &str,
    path: &str,
    document: &Document,
) {
    let _ = writeln!(out, "{}{key}:", pad(indent));
    field(out, indent + 1, "file", in_yaml);
    files.push((PathBuf::from(path), document.pretty()));
}

fn parent(parent: &Parent) -> String {
    match parent {
        Parent::Root => "root".to_string(),
        Parent::OrganizationalUnit(name) => name.clone(),
    }
}

fn pad(indent: usize) -> String {
    "  ".repeat(indent)
}

fn line(out: &mut String, indent: usize, text: &str) {
    let _ = writeln!(out, "{}{text}", pad(indent));
}

fn field(out: &mut String, indent: usize, key: &str, value: &str) {
    let _ = writeln!(out, "{}{key}: {}", pad(indent), scalar(value));
}

/// The first field of a list item, `- key: value`, at the indentation of
/// the list's key (the item's other fields go one level deeper).
fn item(out: &mut String, indent: usize, key: &str, value: &str) {
    let _ = writeln!(out, "{}- {key}: {}", pad(indent), scalar(value));
}

fn list_item(out: &mut String, indent: usize, value: &str) {
    let _ = writeln!(out, "{}- {}", pad(indent), scalar(value));
}

fn strings(out: &mut String, indent: usize, key: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}{key}:", pad(indent));
    for value in values {
        list_item(out, indent, value);
    }
}

fn tags(out: &mut String, indent: usize, tags: &[Tag]) {
    if tags.is_empty() {
        return;
    }
    line(out, indent, "tags:");
    for tag in tags {
        let _ = writeln!(
            out,
            "{}{}: {}",
            pad(indent + 1),
            scalar(&tag.key),
            scalar(&tag.value)
        );
    }
}

/// `text` as a YAML scalar that reads back as the same string: plain when
/// that is unambiguous, double-quoted (JSON escapes) otherwise.
fn scalar(text: &str) -> String {
    let plain_chars = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./@+=,-:".contains(c));
    let starts_well = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '_');
    let reads_as_string = scalar_to_json(&Scalar {
        text: text.to_string(),
        style: Style::Plain,
    }) == serde_json::Value::String(text.to_string());
    let yaml11_word = matches!(
        text.to_ascii_lowercase().as_str(),
        "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "true" | "false"
    );
    if plain_chars && starts_well && reads_as_string && !yaml11_word && !text.ends_with(':') {
        text.to_string()
    } else {
        let mut out = String::new();
        push_string(&mut out, text);
        out
    }
}

/// File names made from entity names: characters outside
/// `A-Z a-z 0-9 _ + = , @ . -` become `_`, a leading `.` gets a `_` before
/// it, and a repeat gets `-2`, `-3`, ... (compared ignoring case, for file
/// systems that do).
#[derive(Default)]
struct FileNames {
    used: HashSet<String>,
}

impl FileNames {
    fn next(&mut self, name: &str) -> String {
        let base = file_name(name);
        let mut candidate = base.clone();
        let mut n = 1;
        while !self.used.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        candidate
    }
}

fn file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,@.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_strings() {
        for (text, written) in [
            ("account-a-role", "account-a-role"),
            ("/", "/"),
            ("111122223333", "\"111122223333\""),
            ("yes", "\"yes\""),
            ("", "\"\""),
            ("a: b", "\"a: b\""),
            (
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "arn:aws:iam::aws:policy/ReadOnlyAccess",
            ),
            ("two\nlines", "\"two\\nlines\""),
            ("-x", "\"-x\""),
        ] {
            assert_eq!(scalar(text), written);
        }
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let mut names = FileNames::default();
        assert_eq!(names.next(".."), "_..");
        assert_eq!(names.next("a/b"), "a_b");
        assert_eq!(names.next("a_b"), "a_b-2");
        assert_eq!(names.next("A_B"), "A_B-3");
    }
}
