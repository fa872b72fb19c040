//! Amazon EKS's control-plane API over rest-json (`eks` 2017-11-01), for
//! what the identity plane needs: clusters (read only) and EKS Pod Identity
//! associations (read and write). Requests are REST paths
//! (`GET /clusters/{name}`, `POST /clusters/{name}/pod-identity-associations`,
//! ...) with query parameters and JSON bodies; answers use the field names
//! of AWS's service model, timestamps as epoch seconds. Errors are
//! `{"__type", "message"}` with the `x-amzn-ErrorType` header:
//! `ResourceNotFoundException` (404), `InvalidParameterException` (400),
//! `ResourceInUseException` (409), `AccessDeniedException` (403).
//!
//! # Clusters
//!
//! Clusters are the model's; they are neither created nor deleted here. A
//! cluster is seen only by its own account, in its own region, as in AWS:
//! any other caller is told it does not exist. `identity.oidc.issuer` is the
//! cluster's AWS-form issuer (`https://oidc.eks.REGION.amazonaws.com/id/ID`,
//! see [`orgtwin_model::Cluster::issuer`]); `endpoint` is the twin's own
//! address under `/_orgtwin/clusters/NAME` (there is no Kubernetes API).
//!
//! # Associations
//!
//! Associations are the model's too: every change goes through
//! [`crate::state::Twin::update_model`], so it is checked like a model file,
//! committed before the answer, kept across restarts and written by
//! `orgtwin export`. EKS's own rules are checked first and answered with
//! EKS's codes: the role is a role ARN in the cluster's account, a session
//! `policy` needs `disableSessionTags`, one association per service account
//! (`ResourceInUseException`). What the model check still refuses (a role
//! the model does not have, a bad tag) is `InvalidParameterException` with
//! the check's message.
//!
//! EKS does not require the service account to exist in Kubernetes; the
//! model does (an association names a declared service account), so
//! creating an association for an undeclared one declares it in the same
//! change, with no annotations. Deleting the association keeps it.
//!
//! New associations get a random id (`a-` and 17 lowercase letters or
//! digits). Creation and modification times are kept in the state's
//! metadata (`eks.created.ARN`, `eks.modified.ARN`); what the model files
//! declare dates from the first time the state was asked.
//!
//! # Authorization
//!
//! Every call is decided by the policy engine first, with the resource EKS
//! names: `eks:DescribeCluster` and `eks:ListPodIdentityAssociations` and
//! `eks:CreatePodIdentityAssociation` on the cluster's ARN (in the caller's
//! account and the request's region, whether it exists or not),
//! `eks:ListClusters` on `*`, and `eks:DescribePodIdentityAssociation`,
//! `eks:UpdatePodIdentityAssociation`, `eks:DeletePodIdentityAssociation`
//! on the association's ARN. Creating with tags sets `aws:RequestTag/...`
//! and `aws:TagKeys`. Creating and updating also need `iam:PassRole` on
//! `roleArn` and `targetRoleArn` (with `iam:PassedToService`
//! `pods.eks.amazonaws.com`), decided on the caller's side only, as IAM
//! decides `iam:PassRole`. A denial is `AccessDeniedException`.
//!
//! # Not emulated
//!
//! Cluster creation, update and deletion, node groups, Fargate profiles,
//! add-ons (associations have no `ownerArn`), access entries, the
//! certificate authority and VPC configuration of clusters, and
//! `clientRequestToken` idempotence (the token is accepted and ignored).

mod associations;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orgtwin_model::eks::POD_IDENTITY_PRINCIPAL;
use orgtwin_model::{Cluster, Model, Tag};
use orgtwin_policy::Context;
use serde_json::{Map, Value, json};

use self::associations::{
    create_association, delete_association, describe_association, list_associations,
    update_association,
};
use super::Call;
use crate::query::Params;
use crate::reply::{Reply, ServiceError};
use crate::sigv4::HttpParts;

/// The platform version every cluster reports.
const PLATFORM_VERSION: &str = "eks.1";
/// The most items a page holds, and the default.
const MAX_RESULTS: usize = 100;
/// The state's key of the date the model's clusters and associations date
/// from.
const MODEL_DATE_KEY: &str = "eks.created.model";

/// An EKS request, from its method and path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    ListClusters,
    DescribeCluster { cluster: String },
    CreateAssociation { cluster: String },
    ListAssociations { cluster: String },
    DescribeAssociation { cluster: String, id: String },
    UpdateAssociation { cluster: String, id: String },
    DeleteAssociation { cluster: String, id: String },
}

impl Route {
    fn parse(method: &str, path: &str) -> Option<Route> {
        let segments = path
            .trim_end_matches('/')
            .strip_prefix('/')?
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()
                    .map(|d| d.into_owned())
                    .filter(|d| !d.is_empty())
            })
            .collect::<Option<Vec<String>>>()?;
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        let route = match (method, parts.as_slice()) {
            ("GET", ["clusters"]) => Route::ListClusters,
            ("GET", ["clusters", cluster]) => Route::DescribeCluster {
                cluster: (*cluster).to_string(),
            },
            (_, ["clusters", cluster, "pod-identity-associations"]) => {
                let cluster = (*cluster).to_string();
                match method {
                    "POST" => Route::CreateAssociation { cluster },
                    "GET" => Route::ListAssociations { cluster },
                    _ => return None,
                }
            }
            (_, ["clusters", cluster, "pod-identity-associations", id]) => {
                let (cluster, id) = ((*cluster).to_string(), (*id).to_string());
                match method {
                    "GET" => Route::DescribeAssociation { cluster, id },
                    "POST" => Route::UpdateAssociation { cluster, id },
                    "DELETE" => Route::DeleteAssociation { cluster, id },
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(route)
    }

    fn action(&self) -> &'static str {
        match self {
            Route::ListClusters => "ListClusters",
            Route::DescribeCluster { .. } => "DescribeCluster",
            Route::CreateAssociation { .. } => "CreatePodIdentityAssociation",
            Route::ListAssociations { .. } => "ListPodIdentityAssociations",
            Route::DescribeAssociation { .. } => "DescribePodIdentityAssociation",
            Route::UpdateAssociation { .. } => "UpdatePodIdentityAssociation",
            Route::DeleteAssociation { .. } => "DeletePodIdentityAssociation",
        }
    }
}

/// The action of an EKS request, from its method and path.
pub fn operation(method: &str, path: &str) -> Option<String> {
    Route::parse(method, path).map(|r| r.action().to_string())
}

fn not_found(message: impl Into<String>) -> ServiceError {
    ServiceError::new(404, "ResourceNotFoundException", message)
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(400, "InvalidParameterException", message)
}

fn no_cluster(name: &str) -> ServiceError {
    not_found(format!("No cluster found for name: {name}."))
}

fn no_association(id: &str) -> ServiceError {
    not_found(format!("No Pod Identity Association found for id: {id}."))
}

/// Answers one EKS request.
pub fn handle(
    call: &Call<'_>,
    region: &str,
    http: &HttpParts<'_>,
    params: &Params,
    body: &[u8],
) -> Result<Reply, ServiceError> {
    let route = Route::parse(http.method, http.path).ok_or_else(|| {
        ServiceError::new(
            404,
            "UnknownOperationException",
            format!(
                "The twin does not implement the EKS operation `{} {}`.",
                http.method, http.path
            ),
        )
    })?;
    let request = Request {
        call,
        region,
        body: json_body(body)?,
        params,
    };
    let answer = match &route {
        Route::ListClusters => list_clusters(&request),
        Route::DescribeCluster { cluster } => describe_cluster(&request, cluster, http),
        Route::CreateAssociation { cluster } => create_association(&request, cluster),
        Route::ListAssociations { cluster } => list_associations(&request, cluster),
        Route::DescribeAssociation { cluster, id } => describe_association(&request, cluster, id),
        Route::UpdateAssociation { cluster, id } => update_association(&request, cluster, id),
        Route::DeleteAssociation { cluster, id } => delete_association(&request, cluster, id),
    }?;
    Ok(Reply {
        status: 200,
        content_type: "application/json",
        body: answer.to_string(),
        headers: Vec::new(),
    })
}

fn json_body(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ServiceError::new(
            400,
            "SerializationException",
            "The request body is not a JSON object.",
        )),
    }
}

struct Request<'a> {
    call: &'a Call<'a>,
    region: &'a str,
    body: Map<String, Value>,
    params: &'a Params,
}

impl Request<'_> {
    fn account(&self) -> &str {
        self.call.caller.account()
    }

    /// A string member of the body.
    fn text(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(format!("The parameter {name} must be a string."))),
        }
    }

    fn required(&self, name: &str) -> Result<String, ServiceError> {
        self.text(name)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid(format!("The request is missing the parameter {name}.")))
    }

    fn flag(&self, name: &str) -> Result<Option<bool>, ServiceError> {
        match self.body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(invalid(format!("The parameter {name} must be a boolean."))),
        }
    }

    /// `tags`: a map of strings; the model check applies IAM's character
    /// rules on the way in.
    fn tags(&self) -> Result<Vec<Tag>, ServiceError> {
        let map = match self.body.get("tags") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(invalid("The parameter tags must be a map of strings.")),
        };
        if map.len() > 50 {
            return Err(invalid("A resource has at most 50 tags."));
        }
        map.iter()
            .map(|(key, value)| match value {
                _ if key.to_ascii_lowercase().starts_with("aws:") => Err(invalid(format!(
                    "The tag key {key} is not valid: keys starting with aws: are reserved."
                ))),
                Value::String(value) => Ok(Tag {
                    key: key.clone(),
                    value: value.clone(),
                }),
                _ => Err(invalid(format!("The value of tag {key} must be a string."))),
            })
            .collect()
    }

    /// Decides `eks:ACTION` on `resource`.
    fn authorize(
        &self,
        action: &str,
        resource: &str,
        context: &Context,
    ) -> Result<(), ServiceError> {
        let action = format!("eks:{action}");
        let ask = orgtwin_identity::Ask::new(&action, resource, context);
        self.decide(&ask)
    }

    /// `iam:PassRole` on `role_arn`, decided on the caller's side (a role
    /// has no resource policy for passing it).
    fn pass_role(&self, role_arn: &str) -> Result<(), ServiceError> {
        let mut context = Context::default();
        context.insert("iam:PassedToService", POD_IDENTITY_PRINCIPAL);
        let mut ask = orgtwin_identity::Ask::new("iam:PassRole", role_arn, &context);
        ask.resource_account = Some(self.account());
        self.decide(&ask)
    }

    fn decide(&self, ask: &orgtwin_identity::Ask<'_>) -> Result<(), ServiceError> {
        self.call
            .decide(ask)
            .map(|_| ())
            .map_err(super::as_access_denied_exception)
    }

    fn cluster_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:eks:{}:{}:cluster/{name}",
            self.region,
            self.account()
        )
    }

    fn association_arn(&self, cluster: &str, id: &str) -> String {
        format!(
            "arn:aws:eks:{}:{}:podidentityassociation/{cluster}/{id}",
            self.region,
            self.account()
        )
    }

    /// The caller's cluster of this name in the request's region.
    fn cluster<'m>(&self, model: &'m Model, name: &str) -> Result<&'m Cluster, ServiceError> {
        model
            .account(self.account())
            .and_then(|a| {
                a.clusters
                    .iter()
                    .find(|c| c.name == name && c.region == self.region)
            })
            .ok_or_else(|| no_cluster(name))
    }

    /// A change to the model; the model check's refusals are EKS's
    /// `InvalidParameterException`.
    fn update_model<T>(
        &self,
        change: impl FnOnce(&mut Model) -> Result<T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.call.twin.update_model(change).map_err(|mut e| {
            if e.code == "ValidationError" {
                e.code = "InvalidParameterException".into();
            }
            e
        })
    }

    /// The date the model's own clusters and associations date from.
    fn model_date(&self) -> Result<i64, ServiceError> {
        let store = &self.call.twin.store;
        if let Some(seconds) = store.meta(MODEL_DATE_KEY)?.and_then(|s| s.parse().ok()) {
            return Ok(seconds);
        }
        let now = self.call.twin.now().seconds();
        store.set_meta(MODEL_DATE_KEY, &now.to_string())?;
        Ok(now)
    }

    /// When an association was created and last modified.
    fn times(&self, arn: &str) -> Result<(i64, i64), ServiceError> {
        let store = &self.call.twin.store;
        let read = |key: String| -> Result<Option<i64>, ServiceError> {
            Ok(store.meta(&key)?.and_then(|s| s.parse().ok()))
        };
        let created = match read(format!("eks.created.{arn}"))? {
            Some(seconds) => seconds,
            None => self.model_date()?,
        };
        let modified = read(format!("eks.modified.{arn}"))?.unwrap_or(created);
        Ok((created, modified))
    }

    /// Records that an association was created (and so modified) or
    /// modified now. The change itself is committed already; a failure
    /// here costs only the date.
    fn record_time(&self, arn: &str, created: bool) {
        let now = self.call.twin.now().seconds().to_string();
        let store = &self.call.twin.store;
        let mut result = store.set_meta(&format!("eks.modified.{arn}"), &now);
        if created {
            result = result.and_then(|()| store.set_meta(&format!("eks.created.{arn}"), &now));
        }
        if let Err(e) = result {
            tracing::warn!(association = arn, error = %e, "cannot record an association's date");
        }
    }
}

// Clusters ------------------------------------------------------------------

fn list_clusters(request: &Request<'_>) -> Result<Value, ServiceError> {
    request.authorize("ListClusters", "*", &Context::default())?;
    let model = request.call.twin.model();
    let names: Vec<(String, String)> = model
        .account(request.account())
        .map(|a| {
            a.clusters
                .iter()
                .filter(|c| c.region == request.region)
                .map(|c| (c.name.clone(), c.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (names, next) = page(request.params, names)?;
    let mut out = json!({ "clusters": names });
    set_next_token(&mut out, next);
    Ok(out)
}

fn describe_cluster(
    request: &Request<'_>,
    name: &str,
    http: &HttpParts<'_>,
) -> Result<Value, ServiceError> {
    request.authorize(
        "DescribeCluster",
        &request.cluster_arn(name),
        &Context::default(),
    )?;
    let model = request.call.twin.model();
    let cluster = request.cluster(&model, name)?;
    let base = twin_address(request, http)?;
    Ok(json!({
        "cluster": {
            "name": cluster.name,
            "arn": cluster.arn(request.account()),
            "createdAt": request.model_date()?,
            "version": cluster.version,
            "endpoint": format!("{base}/_orgtwin/clusters/{}", cluster.name),
            "identity": {"oidc": {"issuer": cluster.issuer()}},
            "status": "ACTIVE",
            "platformVersion": PLATFORM_VERSION,
            "tags": tag_map(&cluster.tags),
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        }
    }))
}

/// `http://HOST` as the client reached the twin, else the address the twin
/// recorded when it started.
fn twin_address(request: &Request<'_>, http: &HttpParts<'_>) -> Result<String, ServiceError> {
    let host = http
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty());
    if let Some(host) = host {
        return Ok(format!("http://{host}"));
    }
    Ok(request
        .call
        .twin
        .store
        .meta("endpoint")?
        .unwrap_or_else(|| "http://127.0.0.1:4577".to_string()))
}

/// Tags as EKS writes them: a map.
fn tag_map(tags: &[Tag]) -> Value {
    Value::Object(
        tags.iter()
            .map(|t| (t.key.clone(), Value::String(t.value.clone())))
            .collect(),
    )
}

// Pages ---------------------------------------------------------------------

/// One page of `items`, each with the key it sorts by: `maxResults` (1 to
/// 100, default 100) of them after the key the `nextToken` names. Tokens
/// name the last key returned, so that a change between two pages neither
/// skips nor repeats the items that stay.
fn page<T>(
    params: &Params,
    mut items: Vec<(String, T)>,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let max = match params.get("maxResults") {
        None => MAX_RESULTS,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_RESULTS).contains(n))
            .ok_or_else(|| {
                invalid(format!(
                    "The value {text} for maxResults is not valid: it is 1 to {MAX_RESULTS}."
                ))
            })?,
    };
    let after = match params.get("nextToken") {
        None => None,
        Some(token) => Some(
            URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|text| text.strip_prefix("after:").map(str::to_string))
                .ok_or_else(|| invalid("The nextToken is not valid."))?,
        ),
    };
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(key, _)| after.as_ref().is_none_or(|a| key > a))
        .collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next = more
        .then(|| {
            rest.last()
                .map(|(key, _)| URL_SAFE_NO_PAD.encode(format!("after:{key}")))
        })
        .flatten();
    Ok((rest.into_iter().map(|(_, item)| item).collect(), next))
}

fn set_next_token(out: &mut Value, next: Option<String>) {
    if let (Value::Object(map), Some(token)) = (out, next) {
        map.insert("nextToken".into(), Value::String(token));
    }
}

#[cfg(test)]
mod tests;
