//! Pod Identity associations: create, describe, list, update, delete (see
//! the parent module for the rules and their authorization).

use std::collections::BTreeMap;

use orgtwin_model::eks::role_arn_parts;
use orgtwin_model::{Cluster, Document, Model, PodIdentityAssociation, ServiceAccount};
use orgtwin_policy::{Context, PolicyType};
use serde_json::{Value, json};

use super::{Request, invalid, no_association, no_cluster, page, set_next_token, tag_map};
use crate::reply::ServiceError;

/// What a create or update asks an association to be.
struct Settings {
    role_arn: String,
    target_role_arn: Option<String>,
    disable_session_tags: bool,
    policy: Option<Document>,
}

impl Settings {
    /// EKS's rules: role ARNs, the role in the cluster's account, a session
    /// policy only with session tags disabled.
    fn check(&self, account: &str) -> Result<(), ServiceError> {
        let Some((role_account, _)) = role_arn_parts(&self.role_arn) else {
            return Err(invalid(format!(
                "The role ARN {} is not valid: a role ARN is arn:aws:iam::ACCOUNT:role/NAME.",
                self.role_arn
            )));
        };
        if role_account != account {
            return Err(invalid(format!(
                "The role {} is not in the cluster's account {account}: an association's role must be; reach a role of another account with targetRoleArn.",
                self.role_arn
            )));
        }
        if let Some(target) = &self.target_role_arn
            && role_arn_parts(target).is_none()
        {
            return Err(invalid(format!(
                "The target role ARN {target} is not valid: a role ARN is arn:aws:iam::ACCOUNT:role/NAME."
            )));
        }
        if self.policy.is_some() && !self.disable_session_tags {
            return Err(invalid(
                "A policy can be given only when disableSessionTags is true.",
            ));
        }
        Ok(())
    }
}

/// A session policy given as a string: checked as IAM checks session
/// policies.
fn session_policy(text: &str) -> Result<Document, ServiceError> {
    let message = |errors: &[orgtwin_policy::PolicyError]| {
        let first = errors
            .first()
            .map_or("Syntax errors in policy.", |e| e.message.as_str());
        invalid(format!("The policy is not valid: {first}"))
    };
    let document = Document::parse(text).map_err(|errors| message(&errors))?;
    let errors = orgtwin_policy::validate(&document.policy, PolicyType::Session);
    if errors.is_empty() {
        Ok(document)
    } else {
        Err(message(&errors))
    }
}

pub(super) fn create_association(
    request: &Request<'_>,
    cluster_name: &str,
) -> Result<Value, ServiceError> {
    let tags = request.tags()?;
    let mut context = Context::default();
    for tag in &tags {
        context.insert(&format!("aws:RequestTag/{}", tag.key), tag.value.clone());
    }
    if !tags.is_empty() {
        context.insert_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
    }
    request.authorize(
        "CreatePodIdentityAssociation",
        &request.cluster_arn(cluster_name),
        &context,
    )?;
    let model = request.call.twin.model();
    let cluster = request.cluster(&model, cluster_name)?;
    let namespace = request.required("namespace")?;
    let service_account = request.required("serviceAccount")?;
    let settings = Settings {
        role_arn: request.required("roleArn")?,
        target_role_arn: request.text("targetRoleArn")?.filter(|t| !t.is_empty()),
        disable_session_tags: request.flag("disableSessionTags")?.unwrap_or(false),
        policy: match request.text("policy")?.filter(|p| !p.is_empty()) {
            Some(text) => Some(session_policy(&text)?),
            None => None,
        },
    };
    settings.check(request.account())?;
    request.pass_role(&settings.role_arn)?;
    if let Some(target) = &settings.target_role_arn {
        request.pass_role(target)?;
    }
    if let Some(existing) = cluster.association_for(&namespace, &service_account) {
        return Err(ServiceError::new(
            409,
            "ResourceInUseException",
            format!(
                "Association already exists: {}",
                existing.arn(cluster, request.account())
            ),
        ));
    }
    let association = PodIdentityAssociation {
        id: new_association_id(cluster),
        namespace,
        service_account,
        role_arn: settings.role_arn,
        target_role_arn: settings.target_role_arn,
        disable_session_tags: settings.disable_session_tags,
        policy: settings.policy,
        tags,
    };
    let arn = association.arn(cluster, request.account());
    let id = association.id.clone();
    request.update_model(|model| {
        let cluster = cluster_mut(model, request, cluster_name)?;
        if cluster
            .service_account(&association.namespace, &association.service_account)
            .is_none()
        {
            cluster.namespaces.insert(association.namespace.clone());
            cluster.service_accounts.push(ServiceAccount {
                namespace: association.namespace.clone(),
                name: association.service_account.clone(),
                annotations: BTreeMap::new(),
            });
        }
        cluster.pod_identity_associations.push(association);
        Ok(())
    })?;
    request.record_time(&arn, true);
    answer_association(request, cluster_name, &id)
}

pub(super) fn describe_association(
    request: &Request<'_>,
    cluster_name: &str,
    id: &str,
) -> Result<Value, ServiceError> {
    request.authorize(
        "DescribePodIdentityAssociation",
        &request.association_arn(cluster_name, id),
        &Context::default(),
    )?;
    answer_association(request, cluster_name, id)
}

/// `{"association": ...}` as the model holds it now.
fn answer_association(
    request: &Request<'_>,
    cluster_name: &str,
    id: &str,
) -> Result<Value, ServiceError> {
    let model = request.call.twin.model();
    let cluster = request.cluster(&model, cluster_name)?;
    let association = cluster.association(id).ok_or_else(|| no_association(id))?;
    Ok(json!({ "association": association_json(request, cluster, association)? }))
}

pub(super) fn list_associations(
    request: &Request<'_>,
    cluster_name: &str,
) -> Result<Value, ServiceError> {
    request.authorize(
        "ListPodIdentityAssociations",
        &request.cluster_arn(cluster_name),
        &Context::default(),
    )?;
    let model = request.call.twin.model();
    let cluster = request.cluster(&model, cluster_name)?;
    let namespace = request.params.get("namespace");
    let service_account = request.params.get("serviceAccount");
    let account = request.account();
    let summaries: Vec<(String, Value)> = cluster
        .pod_identity_associations
        .iter()
        .filter(|a| namespace.is_none_or(|n| n == a.namespace))
        .filter(|a| service_account.is_none_or(|s| s == a.service_account))
        .map(|a| {
            let key = format!("{}/{}", a.namespace, a.service_account);
            let summary = json!({
                "clusterName": cluster.name,
                "namespace": a.namespace,
                "serviceAccount": a.service_account,
                "associationArn": a.arn(cluster, account),
                "associationId": a.id,
            });
            (key, summary)
        })
        .collect();
    let (summaries, next) = page(request.params, summaries)?;
    let mut out = json!({ "associations": summaries });
    set_next_token(&mut out, next);
    Ok(out)
}

pub(super) fn update_association(
    request: &Request<'_>,
    cluster_name: &str,
    id: &str,
) -> Result<Value, ServiceError> {
    request.authorize(
        "UpdatePodIdentityAssociation",
        &request.association_arn(cluster_name, id),
        &Context::default(),
    )?;
    let model = request.call.twin.model();
    let cluster = request.cluster(&model, cluster_name)?;
    let current = cluster.association(id).ok_or_else(|| no_association(id))?;
    let role_arn = request.text("roleArn")?.filter(|r| !r.is_empty());
    // An empty string removes the target role or the policy.
    let target_role_arn = request.text("targetRoleArn")?;
    let policy = request.text("policy")?;
    let settings = Settings {
        role_arn: role_arn.clone().unwrap_or_else(|| current.role_arn.clone()),
        target_role_arn: match &target_role_arn {
            None => current.target_role_arn.clone(),
            Some(t) if t.is_empty() => None,
            Some(t) => Some(t.clone()),
        },
        disable_session_tags: request
            .flag("disableSessionTags")?
            .unwrap_or(current.disable_session_tags),
        policy: match &policy {
            None => current.policy.clone(),
            Some(p) if p.is_empty() => None,
            Some(p) => Some(session_policy(p)?),
        },
    };
    settings.check(request.account())?;
    if let Some(role) = &role_arn {
        request.pass_role(role)?;
    }
    if let Some(target) = target_role_arn.as_ref().filter(|t| !t.is_empty()) {
        request.pass_role(target)?;
    }
    let arn = current.arn(cluster, request.account());
    request.update_model(|model| {
        let association = cluster_mut(model, request, cluster_name)?
            .pod_identity_associations
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| no_association(id))?;
        association.role_arn = settings.role_arn;
        association.target_role_arn = settings.target_role_arn;
        association.disable_session_tags = settings.disable_session_tags;
        association.policy = settings.policy;
        Ok(())
    })?;
    request.record_time(&arn, false);
    answer_association(request, cluster_name, id)
}

pub(super) fn delete_association(
    request: &Request<'_>,
    cluster_name: &str,
    id: &str,
) -> Result<Value, ServiceError> {
    request.authorize(
        "DeletePodIdentityAssociation",
        &request.association_arn(cluster_name, id),
        &Context::default(),
    )?;
    let answer = answer_association(request, cluster_name, id)?;
    request.update_model(|model| {
        let associations =
            &mut cluster_mut(model, request, cluster_name)?.pod_identity_associations;
        let before = associations.len();
        associations.retain(|a| a.id != id);
        if associations.len() == before {
            return Err(no_association(id));
        }
        Ok(())
    })?;
    Ok(answer)
}

/// The caller's cluster of this name in the request's region, for a change.
fn cluster_mut<'m>(
    model: &'m mut Model,
    request: &Request<'_>,
    name: &str,
) -> Result<&'m mut Cluster, ServiceError> {
    model
        .accounts
        .get_mut(request.account())
        .and_then(|a| {
            a.clusters
                .iter_mut()
                .find(|c| c.name == name && c.region == request.region)
        })
        .ok_or_else(|| no_cluster(name))
}

fn association_json(
    request: &Request<'_>,
    cluster: &Cluster,
    association: &PodIdentityAssociation,
) -> Result<Value, ServiceError> {
    let account = request.account();
    let arn = association.arn(cluster, account);
    let (created, modified) = request.times(&arn)?;
    let mut out = json!({
        "clusterName": cluster.name,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "roleArn": association.role_arn,
        "associationArn": arn,
        "associationId": association.id,
        "tags": tag_map(&association.tags),
        "createdAt": created,
        "modifiedAt": modified,
        "disableSessionTags": association.disable_session_tags,
    });
    if let Value::Object(map) = &mut out {
        if let Some(target) = &association.target_role_arn {
            map.insert("targetRoleArn".into(), Value::String(target.clone()));
        }
        if let Some(external_id) = association.external_id(cluster, account) {
            map.insert("externalId".into(), Value::String(external_id));
        }
        if let Some(policy) = &association.policy {
            map.insert("policy".into(), Value::String(policy.text.to_string()));
        }
    }
    Ok(out)
}

/// A new association id, `a-` and 17 lowercase letters or digits, not yet
/// used in the cluster.
fn new_association_id(cluster: &Cluster) -> String {
    loop {
        let id = random_association_id();
        if cluster.association(&id).is_none() {
            return id;
        }
    }
}

pub(super) fn random_association_id() -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    const LEN: usize = 2 + 17;
    // 252 is the largest multiple of 36 under 256: bytes from it up are
    // drawn again, so that every character is as likely.
    let mut id = String::from("a-");
    while id.len() < LEN {
        for byte in crate::ids::random_bytes(24) {
            if id.len() == LEN {
                break;
            }
            if byte < 252
                && let Some(&c) = ALPHABET.get(usize::from(byte % 36))
            {
                id.push(char::from(c));
            }
        }
    }
    id
}
