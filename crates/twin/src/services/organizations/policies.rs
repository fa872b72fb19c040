//! SCPs and RCPs: listing, describing, creating, updating, deleting,
//! attaching and detaching them, with AWS's two managed policies.

use orgtwin_model::{Document, Model, OrgPolicy, Target};
use orgtwin_policy::{Context, ErrorCode};
use serde_json::{Value, json};

use super::{Arns, IdForm, Kind, Node, OrgError, Request, arn_of_id, random_suffix};

const FULL_AWS_ACCESS_ID: &str = "p-FullAWSAccess";
const RCP_FULL_AWS_ACCESS_ID: &str = "p-RCPFullAWSAccess";
const FULL_AWS_ACCESS_DESCRIPTION: &str = "Allows access to every operation";

/// AWS's `FullAWSAccess` SCP, as AWS shows it.
const FULL_AWS_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#;

/// AWS's `RCPFullAWSAccess` RCP.
const RCP_FULL_AWS_ACCESS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": "*",
      "Action": "*",
      "Resource": "*"
    }
  ]
}"#;

/// AWS's quota of policies of one type attached to one root, OU or account
/// (the AWS managed ones count).
const MAX_ATTACHED: usize = 5;

/// A policy as the API shows it: one of the model's, or one of AWS's.
#[derive(Clone, Debug)]
struct View<'a> {
    kind: Kind,
    id: &'a str,
    name: &'a str,
    description: &'a str,
    content: &'a str,
    aws_managed: bool,
    targets: Vec<Target>,
}

impl<'a> View<'a> {
    fn of(kind: Kind, policy: &'a OrgPolicy) -> Self {
        View {
            kind,
            id: &policy.id,
            name: &policy.name,
            description: policy.description.as_deref().unwrap_or_default(),
            content: &policy.document.text,
            aws_managed: kind == Kind::Scp && policy.id == FULL_AWS_ACCESS_ID,
            targets: policy.targets.clone(),
        }
    }

    fn arn(&self, model: &Model) -> String {
        Arns(model).policy(self.kind, self.id, self.aws_managed)
    }

    fn summary(&self, model: &Model) -> Value {
        json!({
            "Id": self.id,
            "Arn": self.arn(model),
            "Name": self.name,
            "Description": self.description,
            "Type": self.kind.wire(),
            "AwsManaged": self.aws_managed,
        })
    }

    fn policy(&self, model: &Model) -> Value {
        json!({"PolicySummary": self.summary(model), "Content": self.content})
    }
}

/// Every policy of `kind`: `FullAWSAccess` even when the model has none,
/// `RCPFullAWSAccess` attached everywhere.
fn views(model: &Model, kind: Kind) -> Vec<View<'_>> {
    let mut views: Vec<View<'_>> = policies(model, kind)
        .iter()
        .map(|p| View::of(kind, p))
        .collect();
    let synthesized = match kind {
        Kind::Scp if !views.iter().any(|v| v.aws_managed) => (
            FULL_AWS_ACCESS_ID,
            "FullAWSAccess",
            FULL_AWS_ACCESS,
            Vec::new(),
        ),
        Kind::Scp => return views,
        Kind::Rcp => (
            RCP_FULL_AWS_ACCESS_ID,
            "RCPFullAWSAccess",
            RCP_FULL_AWS_ACCESS,
            everywhere(model),
        ),
    };
    let (id, name, content, targets) = synthesized;
    views.insert(
        0,
        View {
            kind,
            id,
            name,
            description: FULL_AWS_ACCESS_DESCRIPTION,
            content,
            aws_managed: true,
            targets,
        },
    );
    views
}

fn find<'a>(model: &'a Model, id: &str) -> Option<View<'a>> {
    [Kind::Scp, Kind::Rcp]
        .into_iter()
        .find_map(|kind| views(model, kind).into_iter().find(|v| v.id == id))
}

fn policies(model: &Model, kind: Kind) -> &[OrgPolicy] {
    match kind {
        Kind::Scp => &model.scps,
        Kind::Rcp => &model.rcps,
    }
}

fn policies_mut(model: &mut Model, kind: Kind) -> &mut Vec<OrgPolicy> {
    match kind {
        Kind::Scp => &mut model.scps,
        Kind::Rcp => &mut model.rcps,
    }
}

/// The root, every OU and every account.
fn everywhere(model: &Model) -> Vec<Target> {
    let ous = model
        .organization
        .organizational_units
        .iter()
        .map(|ou| Target::OrganizationalUnit(ou.name.clone()));
    let accounts = model.accounts.keys().map(|id| Target::Account(id.clone()));
    std::iter::once(Target::Root)
        .chain(ous)
        .chain(accounts)
        .collect()
}

pub(super) fn list_policies(request: &Request<'_>) -> Result<Value, OrgError> {
    let kind = Kind::parse(request.input.required("Filter")?)?;
    request.admit("*", kind)?;
    let model = &request.model;
    let summaries = kind
        .map(|kind| {
            views(model, kind)
                .iter()
                .map(|v| v.summary(model))
                .collect()
        })
        .unwrap_or_default();
    request.paged("Policies", summaries)
}

pub(super) fn describe_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let view = policy_of_request(request)?;
    Ok(json!({ "Policy": view.policy(&request.model) }))
}

pub(super) fn list_policies_for_target(request: &Request<'_>) -> Result<Value, OrgError> {
    let (target_id, form) = target_id(request)?;
    let kind = Kind::parse(request.input.required("Filter")?)?;
    let model = &request.model;
    request.admit(&arn_of_id(model, target_id, form), kind)?;
    let target = Node::find(model, target_id)
        .ok_or_else(target_not_found)?
        .target();
    let summaries = kind
        .map(|kind| {
            views(model, kind)
                .iter()
                .filter(|v| v.targets.contains(&target))
                .map(|v| v.summary(model))
                .collect()
        })
        .unwrap_or_default();
    request.paged("Policies", summaries)
}

pub(super) fn list_targets_for_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let view = policy_of_request(request)?;
    let model = &request.model;
    let targets = view
        .targets
        .iter()
        .filter_map(|target| Node::of_target(model, target))
        .map(|node| {
            json!({
                "TargetId": node.id(model),
                "Arn": node.arn(model),
                "Name": node.name(),
                "Type": node.target_type(),
            })
        })
        .collect();
    request.paged("Targets", targets)
}

pub(super) fn create_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let input = &request.input;
    let content = input.required("Content")?;
    let description = input.required("Description")?.to_string();
    let name = input.required("Name")?.to_string();
    let Some(kind) = Kind::parse(input.required("Type")?)? else {
        return Err(OrgError::new(
            "PolicyTypeNotAvailableForOrganizationException",
            "The twin keeps only service control policies and resource control policies.",
        ));
    };
    let mut context = Context::default();
    context.insert("organizations:PolicyType", kind.wire());
    tag_context(&mut context, &input.tags()?);
    request.authorize_with("*", &context)?;
    request.management_only()?;
    check_name_and_description(&name, &description)?;
    let document = document(kind, content)?;
    let created = request.change(|model| {
        refuse_duplicate_name(model, kind, &name, None)?;
        let id = loop {
            let id = format!("p-{}", random_suffix(8));
            if find(model, &id).is_none() {
                break id;
            }
        };
        let policy = OrgPolicy {
            name,
            id,
            description: (!description.is_empty()).then_some(description),
            document,
            targets: Vec::new(),
        };
        let answer = View::of(kind, &policy).policy(model);
        policies_mut(model, kind).push(policy);
        Ok(answer)
    })?;
    Ok(json!({ "Policy": created }))
}

pub(super) fn update_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let view = policy_of_request(request)?;
    refuse_aws_managed(&view)?;
    let (kind, id) = (view.kind, view.id.to_string());
    let input = &request.input;
    let name = input.text("Name")?.map(str::to_string);
    let description = input.text("Description")?.map(str::to_string);
    check_name_and_description(
        name.as_deref().unwrap_or(view.name),
        description.as_deref().unwrap_or_default(),
    )?;
    let document = input
        .text("Content")?
        .map(|content| document(kind, content))
        .transpose()?;
    let updated = request.change(|model| {
        if let Some(name) = &name {
            refuse_duplicate_name(model, kind, name, Some(&id))?;
        }
        let policy = policies_mut(model, kind)
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(policy_not_found)?;
        if let Some(name) = name {
            policy.name = name;
        }
        if let Some(description) = description {
            policy.description = (!description.is_empty()).then_some(description);
        }
        if let Some(document) = document {
            policy.document = document;
        }
        let policy = policy.clone();
        Ok(View::of(kind, &policy).policy(model))
    })?;
    Ok(json!({ "Policy": updated }))
}

pub(super) fn delete_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let view = policy_of_request(request)?;
    refuse_aws_managed(&view)?;
    let (kind, id) = (view.kind, view.id.to_string());
    request.change(|model| {
        let list = policies_mut(model, kind);
        let at = list
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(policy_not_found)?;
        if list.get(at).is_some_and(|p| !p.targets.is_empty()) {
            return Err(OrgError::new(
                "PolicyInUseException",
                "The policy is attached to one or more entities. You must detach it from all \
                 roots, OUs, and accounts before performing this operation.",
            ));
        }
        list.remove(at);
        Ok(())
    })?;
    Ok(json!({}))
}

pub(super) fn attach_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let (policy_id, target_id) = admit_attachment(request)?;
    request.change(|model| {
        let (view, target) = attachment(model, &policy_id, &target_id)?;
        let kind = view.kind;
        if view.targets.contains(&target) {
            return Err(OrgError::new(
                "DuplicatePolicyAttachmentException",
                "The selected policy is already attached to the specified target.",
            ));
        }
        if attached_count(model, kind, &target) >= MAX_ATTACHED {
            return Err(OrgError::constraint(
                "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                format!(
                    "A root, OU or account can have at most {MAX_ATTACHED} policies of one \
                     type attached."
                ),
            ));
        }
        if view.id == FULL_AWS_ACCESS_ID && !model.scps.iter().any(|p| p.id == FULL_AWS_ACCESS_ID) {
            model.scps.insert(0, full_aws_access()?);
        }
        let policy = policies_mut(model, kind)
            .iter_mut()
            .find(|p| p.id == policy_id)
            .ok_or_else(policy_not_found)?;
        policy.targets.push(target);
        Ok(())
    })?;
    Ok(json!({}))
}

pub(super) fn detach_policy(request: &Request<'_>) -> Result<Value, OrgError> {
    let (policy_id, target_id) = admit_attachment(request)?;
    request.change(|model| {
        let (view, target) = attachment(model, &policy_id, &target_id)?;
        let kind = view.kind;
        if view.id == RCP_FULL_AWS_ACCESS_ID {
            return Err(OrgError::invalid(
                "NON_DETACHABLE_POLICY",
                "You can't detach this AWS Managed Policy.",
            ));
        }
        if !view.targets.contains(&target) {
            return Err(OrgError::new(
                "PolicyNotAttachedException",
                "The policy isn't attached to the specified target in the specified root.",
            ));
        }
        if kind == Kind::Scp && attached_count(model, kind, &target) <= 1 {
            return Err(OrgError::constraint(
                "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                "Every root, OU and account must keep at least one SCP; attach another before \
                 detaching this one.",
            ));
        }
        let policy = policies_mut(model, kind)
            .iter_mut()
            .find(|p| p.id == policy_id)
            .ok_or_else(policy_not_found)?;
        policy.targets.retain(|t| t != &target);
        Ok(())
    })?;
    Ok(json!({}))
}

/// `aws:RequestTag/KEY` and `aws:TagKeys` for the tags a request sets.
pub(super) fn tag_context(context: &mut Context, tags: &[(String, String)]) {
    for (key, value) in tags {
        context.insert(&format!("aws:RequestTag/{key}"), value.clone());
    }
    if !tags.is_empty() {
        context.insert_multi("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect());
    }
}

/// The policy a request names by `PolicyId`: authorized (on its ARN, or on
/// an SCP's ARN of that id when there is none), admitted, found.
fn policy_of_request<'a>(request: &'a Request<'_>) -> Result<View<'a>, OrgError> {
    let id = policy_id(request)?;
    let model = &request.model;
    let view = find(model, id);
    let (arn, kind) = match &view {
        Some(view) => (view.arn(model), view.kind),
        None => (Arns(model).policy(Kind::Scp, id, false), Kind::Scp),
    };
    request.admit(&arn, Some(kind))?;
    view.ok_or_else(policy_not_found)
}

/// Checks and authorizes `AttachPolicy` and `DetachPolicy` on both the
/// policy and the target; returns their ids.
fn admit_attachment(request: &Request<'_>) -> Result<(String, String), OrgError> {
    let policy_id = policy_id(request)?;
    let (target_id, form) = target_id(request)?;
    let model = &request.model;
    let (arn, kind) = match find(model, policy_id) {
        Some(view) => (view.arn(model), view.kind),
        None => (Arns(model).policy(Kind::Scp, policy_id, false), Kind::Scp),
    };
    request.authorize(&arn, Some(kind))?;
    request.admit(&arn_of_id(model, target_id, form), Some(kind))?;
    Ok((policy_id.to_string(), target_id.to_string()))
}

/// The policy and the target of an attachment, as the model being changed
/// has them.
fn attachment<'a>(
    model: &'a Model,
    policy_id: &str,
    target_id: &str,
) -> Result<(View<'a>, Target), OrgError> {
    let view = find(model, policy_id).ok_or_else(policy_not_found)?;
    let target = Node::find(model, target_id)
        .ok_or_else(target_not_found)?
        .target();
    Ok((view, target))
}

fn attached_count(model: &Model, kind: Kind, target: &Target) -> usize {
    views(model, kind)
        .iter()
        .filter(|v| v.targets.contains(target))
        .count()
}

fn policy_id<'a>(request: &'a Request<'_>) -> Result<&'a str, OrgError> {
    let id = request.input.required("PolicyId")?;
    let ok = id.strip_prefix("p-").is_some_and(|s| {
        (8..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if ok {
        Ok(id)
    } else {
        Err(OrgError::invalid(
            "INVALID_SYNTAX_POLICY_ID",
            "You specified an invalid policy ID.",
        ))
    }
}

fn target_id<'a>(request: &'a Request<'_>) -> Result<(&'a str, IdForm), OrgError> {
    let id = request.input.required("TargetId")?;
    let form = IdForm::of(id).ok_or_else(|| {
        OrgError::invalid(
            "INVALID_PATTERN_TARGET_ID",
            "You specified a policy target ID that doesn't match the required pattern.",
        )
    })?;
    Ok((id, form))
}

fn check_name_and_description(name: &str, description: &str) -> Result<(), OrgError> {
    if name.chars().count() > 128 {
        return Err(OrgError::invalid(
            "MAX_LENGTH_EXCEEDED",
            "A policy name has at most 128 characters.",
        ));
    }
    if name.trim().is_empty() || name.contains('\n') {
        return Err(OrgError::invalid(
            "INVALID_PATTERN",
            "A policy name is 1 to 128 characters on one line.",
        ));
    }
    if description.chars().count() > 512 {
        return Err(OrgError::invalid(
            "MAX_LENGTH_EXCEEDED",
            "A policy description has at most 512 characters.",
        ));
    }
    Ok(())
}

/// Parses and validates `content` as a policy of `kind`.
fn document(kind: Kind, content: &str) -> Result<Document, OrgError> {
    let malformed = |detail: &str| {
        OrgError::new(
            "MalformedPolicyDocumentException",
            format!(
                "The provided policy document does not meet the requirements of the specified \
                 policy type: {detail}"
            ),
        )
    };
    let document = Document::parse(content).map_err(|problems| {
        malformed(
            problems
                .first()
                .map_or("not a policy", |p| p.message.as_str()),
        )
    })?;
    let problems = orgtwin_policy::validate(&document.policy, kind.policy_type());
    if let Some(limit) = problems.iter().find(|p| p.code == ErrorCode::LimitExceeded) {
        return Err(OrgError::constraint(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            limit.message.clone(),
        ));
    }
    match problems.first() {
        Some(problem) => Err(malformed(&problem.message)),
        None => Ok(document),
    }
}

fn full_aws_access() -> Result<OrgPolicy, OrgError> {
    Ok(OrgPolicy {
        name: "FullAWSAccess".into(),
        id: FULL_AWS_ACCESS_ID.into(),
        description: Some(FULL_AWS_ACCESS_DESCRIPTION.into()),
        document: document(Kind::Scp, FULL_AWS_ACCESS)?,
        targets: Vec::new(),
    })
}

fn refuse_duplicate_name(
    model: &Model,
    kind: Kind,
    name: &str,
    except: Option<&str>,
) -> Result<(), OrgError> {
    let taken = views(model, kind)
        .iter()
        .any(|v| v.name == name && Some(v.id) != except);
    if taken {
        return Err(OrgError::new(
            "DuplicatePolicyException",
            "A policy with the same name already exists.",
        ));
    }
    Ok(())
}

fn refuse_aws_managed(view: &View<'_>) -> Result<(), OrgError> {
    if view.aws_managed {
        return Err(OrgError::invalid(
            "IMMUTABLE_POLICY",
            "You specified a policy that is managed by AWS and can't be modified.",
        ));
    }
    Ok(())
}

fn policy_not_found() -> OrgError {
    OrgError::new(
        "PolicyNotFoundException",
        "We can't find a policy with the PolicyId that you specified.",
    )
}

fn target_not_found() -> OrgError {
    OrgError::new(
        "TargetNotFoundException",
        "We can't find a root, OU, account, or email that you specified.",
    )
}
