//! One account's IAM from `aws iam` outputs, told apart by their shape:
//!
//! - `get-account-authorization-details`: users, groups, roles and
//!   customer managed policies (the default version of each), with their
//!   inline policies, attachments, boundaries and tags. The account is the
//!   one every ARN in the file names.
//! - `list-roles`: what the first leaves out, each role's `Description`
//!   and `MaxSessionDuration`.
//! - `get-open-id-connect-provider`: an OIDC provider (for IRSA). Its output
//!   names no account, so the file is given as `ACCOUNT=FILE`.
//!
//! AWS managed policies are references (`arn:aws:iam::aws:policy/NAME`),
//! never copied; one the model's built-in set lacks cannot be attached,
//! and is reported. Instance profiles, and users' access keys (never in an
//! export), are reported as not modelled.

use std::collections::HashSet;
use std::path::PathBuf;

use super::draft::{Doc, Iam, Inline, OidcProvider, Policy, Principal, Role, User};
use super::error::{ImportError, Origin};
use super::input::{InputFile, Node};
use super::report::{Kind, Report};
use super::{AccountFile, checked_tags};
use crate::aws_managed;
use crate::rules;

/// What one `--iam` file held.
#[derive(Debug)]
pub enum IamExport {
    Details {
        account: String,
        iam: Iam,
        file: Origin,
    },
    Roles {
        account: String,
        roles: Vec<ListedRole>,
        file: Origin,
    },
    OidcProvider {
        account: String,
        provider: OidcProvider,
    },
    /// An export with no ARN in it, given without `ACCOUNT=`.
    NoAccount { file: Origin },
}

/// A role as `list-roles` shows it.
#[derive(Debug)]
pub struct ListedRole {
    pub arn: String,
    pub description: Option<String>,
    pub max_session_duration: Option<u64>,
    pub origin: Origin,
}

const DETAIL_LISTS: [&str; 4] = [
    "UserDetailList",
    "GroupDetailList",
    "RoleDetailList",
    "Policies",
];

pub fn read(input: &AccountFile, report: &mut Report) -> Result<IamExport, ImportError> {
    let file = InputFile::read(&input.path)?;
    let root = file.root();
    if !root.is_object() {
        return Err(unknown(&input.path));
    }
    if DETAIL_LISTS.iter().any(|key| root.has(key)) {
        details(&file, input.account.as_deref(), report)
    } else if root.has("Roles") {
        let roles = root.items("Roles")?;
        let arns = roles
            .iter()
            .map(|r| Ok((r.required_text("Arn")?, r.clone())))
            .collect::<Result<Vec<_>, ImportError>>()?;
        let Some(account) = account_of(&arns, input.account.as_deref())? else {
            return Ok(IamExport::NoAccount {
                file: file.origin(),
            });
        };
        let roles = roles
            .iter()
            .map(|r| {
                Ok(ListedRole {
                    arn: r.required_text("Arn")?,
                    description: r.text("Description")?.filter(|d| !d.is_empty()),
                    max_session_duration: r.number("MaxSessionDuration")?,
                    origin: r.origin(),
                })
            })
            .collect::<Result<_, ImportError>>()?;
        Ok(IamExport::Roles {
            account,
            roles,
            file: file.origin(),
        })
    } else if root.has("Url") && root.has("ClientIDList") {
        let Some(account) = input.account.clone() else {
            return Err(ImportError::inputs(
                format!(
                    "`{}` is a `get-open-id-connect-provider` output, which names no account",
                    input.path.display()
                ),
                "give it as `--iam ACCOUNT=FILE`",
            ));
        };
        let url = root.required_text("Url")?;
        let url = if url.starts_with("https://") {
            url
        } else {
            format!("https://{url}")
        };
        let tags = checked_tags(
            root.tag_pairs("Tags")?,
            &format!("OIDC provider `{url}`"),
            report,
        );
        let provider = OidcProvider {
            client_ids: root.strings("ClientIDList")?,
            thumbprints: root.strings("ThumbprintList")?,
            url,
            tags,
            origin: file.origin(),
        };
        Ok(IamExport::OidcProvider { account, provider })
    } else {
        Err(unknown(&input.path))
    }
}

fn unknown(path: &std::path::Path) -> ImportError {
    ImportError::UnknownExport {
        path: PathBuf::from(path).display().to_string(),
        expected: "an `aws iam` output orgtwin reads",
        help: "`--iam` takes `get-account-authorization-details`, `list-roles` and \
               `get-open-id-connect-provider` (as ACCOUNT=FILE) outputs",
    }
}

/// The one account the ARNs name (and `given`, if any); `None` when there
/// is neither.
fn account_of(
    arns: &[(String, Node<'_>)],
    given: Option<&str>,
) -> Result<Option<String>, ImportError> {
    let mut account = given.map(str::to_string);
    for (arn, node) in arns {
        if arn.starts_with("arn:aws:iam::aws:") {
            continue;
        }
        let Some(of) = arn
            .split(':')
            .nth(4)
            .filter(|a| rules::account_id(a).is_none())
        else {
            return Err(node.error(format!("`{arn}` is not an IAM ARN")));
        };
        match &account {
            Some(a) if a != of => {
                return Err(node.error(format!(
                    "`{arn}` is of account {of}, but this export is of account {a}: \
                     give one export per account"
                )));
            }
            Some(_) => {}
            None => account = Some(of.to_string()),
        }
    }
    Ok(account)
}

/// A `get-account-authorization-details` output.
fn details(
    file: &InputFile,
    given: Option<&str>,
    report: &mut Report,
) -> Result<IamExport, ImportError> {
    let root = file.root();
    let mut arns = Vec::new();
    for key in DETAIL_LISTS {
        for node in root.items(key)? {
            arns.push((node.required_text("Arn")?, node));
        }
    }
    let Some(account) = account_of(&arns, given)? else {
        return Ok(IamExport::NoAccount {
            file: file.origin(),
        });
    };
    let mut iam = Iam::default();
    for node in root.items("Policies")? {
        let arn = node.required_text("Arn")?;
        if arn.starts_with("arn:aws:iam::aws:") {
            continue;
        }
        iam.policies.push(policy(&node, report)?);
    }
    let customer: HashSet<String> = root
        .items("Policies")?
        .iter()
        .filter_map(|n| n.text("Arn").ok().flatten())
        .filter(|arn| !arn.starts_with("arn:aws:iam::aws:"))
        .collect();
    let scope = Scope {
        account: &account,
        customer: &customer,
    };
    let group_names: HashSet<String> = root
        .items("GroupDetailList")?
        .iter()
        .map(|g| g.required_text("GroupName"))
        .collect::<Result<_, _>>()?;
    for node in root.items("GroupDetailList")? {
        let name = node.required_text("GroupName")?;
        // Groups have no permissions boundary.
        if let Some(group) = principal(
            &node,
            "group",
            name,
            "GroupPolicyList",
            "AGPA",
            &scope,
            report,
        )? {
            iam.groups.push(group);
        }
    }
    for node in root.items("UserDetailList")? {
        let name = node.required_text("UserName")?;
        let Some(user) = principal(
            &node,
            "user",
            name,
            "UserPolicyList",
            "AIDA",
            &scope,
            report,
        )?
        else {
            continue;
        };
        let mut groups = Vec::new();
        for group in node.items("GroupList")? {
            let group_name = group.as_str()?.to_string();
            if group_names.contains(&group_name) {
                groups.push(group_name);
            } else {
                report.push(
                    Kind::Incomplete,
                    group.origin(),
                    format!(
                        "user `{}` is in group `{group_name}`, which the export does not \
                         have; membership left out",
                        user.name
                    ),
                );
            }
        }
        iam.users.push(User {
            principal: user,
            groups,
        });
    }
    if !iam.users.is_empty() {
        report.push(
            Kind::NotModelled,
            file.origin(),
            format!(
                "account `{account}`: access keys of {} user(s) are not in the export (IAM never \
                 exports secrets); add them to the model by hand for users that sign requests",
                iam.users.len()
            ),
        );
    }
    for node in root.items("RoleDetailList")? {
        let name = node.required_text("RoleName")?;
        let trust_node = node.required("AssumeRolePolicyDocument")?;
        let trust = Doc {
            text: trust_node.document()?,
            origin: trust_node.origin(),
        };
        let Some(principal) = principal(
            &node,
            "role",
            name,
            "RolePolicyList",
            "AROA",
            &scope,
            report,
        )?
        else {
            iam.left_out_roles.push(node.required_text("Arn")?);
            continue;
        };
        let profiles: Vec<String> = node
            .items("InstanceProfileList")?
            .iter()
            .map(|p| p.text("InstanceProfileName").map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        if !profiles.is_empty() {
            report.push(
                Kind::NotModelled,
                node.origin(),
                format!(
                    "role `{}`: instance profile(s) `{}` are not part of the model; EC2 \
                     instances' use of the role is not modelled",
                    principal.name,
                    profiles.join("`, `")
                ),
            );
        }
        iam.roles.push(Role {
            principal,
            trust,
            description: node.text("Description")?.filter(|d| !d.is_empty()),
            max_session_duration: node.number("MaxSessionDuration")?,
        });
    }
    Ok(IamExport::Details {
        account,
        iam,
        file: file.origin(),
    })
}

/// What an attachment may name: AWS managed policies of the built-in set,
/// and this account's customer managed policies.
struct Scope<'a> {
    account: &'a str,
    customer: &'a HashSet<String>,
}

impl Scope<'_> {
    /// Whether `arn` can be attached; if not, why it is reported.
    fn attachable(&self, arn: &str, what: &str, at: &Node<'_>, report: &mut Report) -> bool {
        if arn.starts_with("arn:aws:iam::aws:policy/") {
            if aws_managed::policy(arn).is_some() {
                return true;
            }
            report.push(
                Kind::NotModelled,
                at.origin(),
                format!(
                    "{what}: AWS managed policy `{arn}` is not among the model's built-in ones \
                     ({}); left out (copy its document into `iam.policies` to keep it)",
                    aws_managed::names().join(", ")
                ),
            );
            return false;
        }
        if self.customer.contains(arn) {
            return true;
        }
        let of_account = arn.split(':').nth(4) == Some(self.account);
        report.push(
            Kind::Incomplete,
            at.origin(),
            if of_account {
                format!(
                    "{what}: managed policy `{arn}` is not in the export's `Policies`; left out"
                )
            } else {
                format!(
                    "{what}: `{arn}` is not a managed policy of account {}; left out",
                    self.account
                )
            },
        );
        false
    }
}

/// What roles, users and groups have in common; `None` (reported) for one
/// whose permissions boundary cannot be imported.
fn principal(
    node: &Node<'_>,
    kind: &str,
    name: String,
    inline_key: &str,
    id_prefix: &str,
    scope: &Scope<'_>,
    report: &mut Report,
) -> Result<Option<Principal>, ImportError> {
    let what = format!("{kind} `{name}`");
    let mut inline = Vec::new();
    for policy in node.items(inline_key)? {
        let document = policy.required("PolicyDocument")?;
        inline.push(Inline {
            name: policy.required_text("PolicyName")?,
            document: Doc {
                text: document.document()?,
                origin: document.origin(),
            },
            origin: policy.origin(),
        });
    }
    let mut managed = Vec::new();
    for attached in node.items("AttachedManagedPolicies")? {
        let arn = attached.required_text("PolicyArn")?;
        if scope.attachable(&arn, &what, &attached, report) {
            managed.push(arn);
        }
    }
    let mut boundary = None;
    if let Some(b) = node.get("PermissionsBoundary") {
        let arn = b.required_text("PermissionsBoundaryArn")?;
        if !scope.attachable(&arn, &format!("{what}'s permissions boundary"), &b, report) {
            // Without its boundary it would be allowed more than in AWS.
            report.push(
                Kind::Refused,
                node.origin(),
                format!(
                    "{what} is left out with its permissions boundary: without it, it would be \
                     allowed more than in AWS"
                ),
            );
            return Ok(None);
        }
        boundary = Some(arn);
    }
    let id_key = match kind {
        "role" => "RoleId",
        "user" => "UserId",
        _ => "GroupId",
    };
    let id = unique_id(node, id_key, id_prefix, &what, report)?;
    let tags = checked_tags(node.tag_pairs("Tags")?, &what, report);
    Ok(Some(Principal {
        path: node.text("Path")?.unwrap_or_else(|| "/".into()),
        name,
        id,
        inline,
        managed,
        boundary,
        tags,
        origin: node.origin(),
    }))
}

/// IAM's unique id, kept when it has IAM's form (else derived, reported).
fn unique_id(
    node: &Node<'_>,
    key: &str,
    prefix: &str,
    what: &str,
    report: &mut Report,
) -> Result<Option<String>, ImportError> {
    let Some(id) = node.text(key)? else {
        return Ok(None);
    };
    if rules::unique_id(&id, prefix).is_some() {
        report.push(
            Kind::Refused,
            node.origin(),
            format!(
                "{what}: unique id `{id}` is not `{prefix}` and 17 characters; the model \
                 derives one"
            ),
        );
        return Ok(None);
    }
    Ok(Some(id))
}

/// A customer managed policy: its default version.
fn policy(node: &Node<'_>, report: &mut Report) -> Result<Policy, ImportError> {
    let name = node.required_text("PolicyName")?;
    let default = node.text("DefaultVersionId")?;
    let mut document = None;
    for version in node.items("PolicyVersionList")? {
        let is_default = version.flag("IsDefaultVersion")? == Some(true)
            || (default.is_some() && version.text("VersionId")? == default);
        if is_default {
            let doc = version.required("Document")?;
            document = Some(Doc {
                text: doc.document()?,
                origin: doc.origin(),
            });
            break;
        }
    }
    let document = document.ok_or_else(|| {
        node.error(format!(
            "policy `{name}` has no default version in `PolicyVersionList`"
        ))
    })?;
    let id = unique_id(
        node,
        "PolicyId",
        "ANPA",
        &format!("policy `{name}`"),
        report,
    )?;
    Ok(Policy {
        path: node.text("Path")?.unwrap_or_else(|| "/".into()),
        description: node.text("Description")?.filter(|d| !d.is_empty()),
        name,
        id,
        document,
        origin: node.origin(),
    })
}
