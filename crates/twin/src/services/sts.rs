//! STS over the Query protocol: `AssumeRole`, `GetCallerIdentity`,
//! `GetSessionToken`, `GetAccessKeyInfo`, `DecodeAuthorizationMessage`.
//! The rules live in `orgtwin_identity::sts`; this module decodes, stores the
//! session before answering, and encodes.

use orgtwin_identity::{AssumeRoleRequest, Issued, StsError};
use orgtwin_policy::Timestamp;
use orgtwin_store::StoredSession;

use super::Call;
use crate::ids::RandomIds;
use crate::query::{Params, Xml, response};
use crate::reply::{Reply, STS_NAMESPACE, ServiceError};

/// Dispatches one STS action.
pub fn handle(call: &Call<'_>, action: &str, params: &Params) -> Result<Reply, ServiceError> {
    let body = match action {
        "GetCallerIdentity" => get_caller_identity(call),
        "AssumeRole" => assume_role(call, params)?,
        "GetSessionToken" => get_session_token(call, params)?,
        "GetAccessKeyInfo" => get_access_key_info(call, params)?,
        "DecodeAuthorizationMessage" => decode_authorization_message(call, params)?,
        other => return Err(invalid_action(other, params)),
    };
    Ok(Reply::xml(response(
        action,
        STS_NAMESPACE,
        &body,
        call.request_id,
    )))
}

pub fn invalid_action(action: &str, params: &Params) -> ServiceError {
    ServiceError::new(
        400,
        "InvalidAction",
        format!(
            "Could not find operation {action} for version {}",
            params.get("Version").unwrap_or("NO_VERSION_SPECIFIED")
        ),
    )
}

/// Needs no permission and cannot be denied.
fn get_caller_identity(call: &Call<'_>) -> String {
    let model = call.twin.model();
    let mut xml = Xml::default();
    xml.leaf("Arn", &call.caller.arn())
        .leaf("UserId", &call.caller.userid(&model))
        .leaf("Account", call.caller.account());
    xml.finish()
}

fn assume_role(call: &Call<'_>, params: &Params) -> Result<String, ServiceError> {
    let request = AssumeRoleRequest {
        role_arn: params.required("RoleArn")?.to_string(),
        role_session_name: params.required("RoleSessionName")?.to_string(),
        duration_seconds: params.integer("DurationSeconds")?,
        tags: params.pairs("Tags", "Key", "Value"),
        transitive_tag_keys: params.list("TransitiveTagKeys"),
        external_id: params.get("ExternalId").map(str::to_string),
        source_identity: params.get("SourceIdentity").map(str::to_string),
        policy: params.get("Policy").map(str::to_string),
        policy_arns: params.member_fields("PolicyArns", "arn"),
    };
    let model = call.twin.model();
    let issued = orgtwin_identity::assume_role(
        &model,
        call.caller,
        &request,
        call.twin.now(),
        &mut RandomIds,
    );
    let issued = record_and_store(call, issued)?;
    let mut xml = Xml::default();
    xml.leaf_opt("SourceIdentity", issued.session.source_identity.as_deref())
        .open("AssumedRoleUser")
        .leaf("AssumedRoleId", &issued.session.userid())
        .leaf("Arn", &issued.session.arn())
        .close("AssumedRoleUser");
    credentials(&mut xml, &issued);
    if let Some(size) = issued.packed_policy_size {
        // STS's model deprecates PackedPolicySize for the two fields after
        // it (2026-06); clients of either age find what they read.
        xml.leaf("PackedPolicySize", &size.to_string())
            .leaf("SessionTokenUtilization", &size.to_string())
            .leaf(
                "SessionTokenSize",
                &issued.credentials.session_token.len().to_string(),
            );
    }
    Ok(xml.finish())
}

fn get_session_token(call: &Call<'_>, params: &Params) -> Result<String, ServiceError> {
    let duration = params.integer("DurationSeconds")?;
    let issued = orgtwin_identity::get_session_token(
        &call.twin.model(),
        call.caller,
        duration,
        call.twin.now(),
        &mut RandomIds,
    );
    let issued = record_and_store(call, issued)?;
    let mut xml = Xml::default();
    credentials(&mut xml, &issued);
    Ok(xml.finish())
}

/// Records the decisions, and on success commits the session before the
/// response is written.
fn record_and_store(
    call: &Call<'_>,
    issued: Result<Issued, StsError>,
) -> Result<Issued, ServiceError> {
    store_issued(call.twin, call.request_id, issued)
}

/// Stores a new session, so that its keys sign requests; committed before
/// the response that names it is sent.
pub(crate) fn keep_session(twin: &crate::state::Twin, issued: &Issued) -> Result<(), ServiceError> {
    let body = serde_json::to_string(&issued.session)
        .map_err(|e| ServiceError::new(500, "ServiceFailure", e.to_string()))?;
    twin.store_session(StoredSession {
        access_key_id: issued.credentials.access_key_id.clone(),
        secret: issued.credentials.secret_access_key.clone(),
        token_sha256: orgtwin_store::token_sha256(&issued.credentials.session_token),
        expires_at: issued.credentials.expiration,
        body,
    })
}

fn store_issued(
    twin: &crate::state::Twin,
    request_id: &str,
    issued: Result<Issued, StsError>,
) -> Result<Issued, ServiceError> {
    match issued {
        Ok(issued) => {
            twin.record(request_id, &issued.authorizations);
            keep_session(twin, &issued)?;
            Ok(issued)
        }
        Err(e) => {
            twin.record(request_id, e.authorizations());
            match &e {
                StsError::AccessDenied {
                    message,
                    authorizations,
                } => Err(super::access_denied(twin, authorizations, message)),
                other => Err(ServiceError::new(
                    other.status(),
                    other.code(),
                    other.to_string(),
                )),
            }
        }
    }
}

fn credentials(xml: &mut Xml, issued: &Issued) {
    let c = &issued.credentials;
    xml.open("Credentials")
        .leaf("AccessKeyId", &c.access_key_id)
        .leaf("SecretAccessKey", &c.secret_access_key)
        .leaf("SessionToken", &c.session_token)
        .leaf(
            "Expiration",
            &Timestamp::from_unix_seconds(c.expiration).to_rfc3339(),
        )
        .close("Credentials");
}

fn get_access_key_info(call: &Call<'_>, params: &Params) -> Result<String, ServiceError> {
    let key_id = params.required("AccessKeyId")?;
    // An action of the service authorization reference, on no resource.
    call.authorize("sts:GetAccessKeyInfo", "*")?;
    let model = call.twin.model();
    let account = if let Some((account, _, _)) = model.user_by_access_key(key_id) {
        Some(account.id.clone())
    } else if let Some(key) = call.twin.store.access_key(key_id)? {
        Some(key.account)
    } else {
        call.twin.store.session(key_id)?.and_then(|s| {
            serde_json::from_str::<orgtwin_identity::Session>(&s.body)
                .ok()
                .map(|s| s.account)
        })
    };
    let account = account.ok_or_else(|| {
        ServiceError::new(
            400,
            "InvalidParameterValue",
            format!("The access key `{key_id}` is not one this twin knows."),
        )
    })?;
    let mut xml = Xml::default();
    xml.leaf("Account", &account);
    Ok(xml.finish())
}

fn decode_authorization_message(call: &Call<'_>, params: &Params) -> Result<String, ServiceError> {
    let encoded = params.required("EncodedMessage")?;
    call.authorize("sts:DecodeAuthorizationMessage", "*")?;
    let decoded = crate::authmsg::decode(&call.twin.message_key, encoded).ok_or_else(|| {
        ServiceError::new(
            400,
            "InvalidAuthorizationMessageException",
            "The encoded message is not valid.",
        )
    })?;
    let mut xml = Xml::default();
    xml.leaf("DecodedMessage", &decoded);
    Ok(xml.finish())
}

/// The actions STS takes unsigned: `AssumeRoleWithWebIdentity`.
pub fn handle_unsigned(
    twin: &crate::state::Twin,
    request_id: &str,
    action: &str,
    params: &Params,
) -> Option<Result<Reply, ServiceError>> {
    (action == "AssumeRoleWithWebIdentity")
        .then(|| assume_role_with_web_identity(twin, request_id, params))
}

fn assume_role_with_web_identity(
    twin: &crate::state::Twin,
    request_id: &str,
    params: &Params,
) -> Result<Reply, ServiceError> {
    let request = orgtwin_identity::WebIdentityRequest {
        role_arn: params.required("RoleArn")?.to_string(),
        role_session_name: params.required("RoleSessionName")?.to_string(),
        web_identity_token: params.required("WebIdentityToken")?.to_string(),
        duration_seconds: params.integer("DurationSeconds")?,
        policy: params.get("Policy").map(str::to_string),
        policy_arns: params.member_fields("PolicyArns", "arn"),
    };
    let model = twin.model();
    let result = orgtwin_identity::assume_role_with_web_identity(
        &model,
        &request,
        &crate::issuers::ServedIssuers {
            issuers: &twin.issuers,
            store: &twin.store,
            model: &model,
            now: twin.now().seconds(),
        },
        twin.now(),
        &mut RandomIds,
    );
    let (issued, subject, provider, audience) = match result {
        Ok(w) => (Ok(w.issued), w.subject, w.provider, w.audience),
        Err(e) => (Err(e), String::new(), String::new(), String::new()),
    };
    let issued = store_issued(twin, request_id, issued)?;
    let mut xml = Xml::default();
    xml.leaf("SubjectFromWebIdentityToken", &subject)
        .leaf("Audience", &audience)
        .open("AssumedRoleUser")
        .leaf("AssumedRoleId", &issued.session.userid())
        .leaf("Arn", &issued.session.arn())
        .close("AssumedRoleUser");
    credentials(&mut xml, &issued);
    xml.leaf("Provider", &provider);
    Ok(Reply::xml(response(
        "AssumeRoleWithWebIdentity",
        STS_NAMESPACE,
        &xml.finish(),
        request_id,
    )))
}
