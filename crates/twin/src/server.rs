//! The HTTP front: one loopback address for every service, routed by the
//! SigV4 credential scope's service (and by path for the twin's own
//! endpoints), one structured log line per request.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::auth::{AuthError, authenticate};
use crate::query::Params;
use crate::reply::{IAM_NAMESPACE, Protocol, Reply, STS_NAMESPACE, ServiceError};
use crate::services::s3::Body;
use crate::services::{self, Call};
use crate::sigv4::{self, HttpParts};
use crate::state::Twin;

/// Largest request body accepted by the Query and JSON services.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Serves until `shutdown` resolves.
pub async fn serve(
    twin: Arc<Twin>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let twin = Arc::clone(&twin);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let twin = Arc::clone(&twin);
                async move { Ok::<_, Infallible>(handle(&twin, request).await) }
            });
            if let Err(e) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(peer = %peer, error = %e, "connection closed with an error");
            }
        });
    }
}

async fn handle(twin: &Twin, request: Request<Incoming>) -> Response<Body> {
    let request_id = crate::ids::request_id();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/_orgtwin/health" {
        return to_response(
            Reply::json(200, r#"{"status":"ready"}"#.into()),
            &request_id,
        );
    }
    if path == "/_orgtwin/clock" && parts.method == hyper::Method::POST {
        let reply = move_clock(twin, parts.uri.query().unwrap_or_default());
        return to_response(reply, &request_id);
    }
    if path == services::eks_auth::AGENT_PATH {
        let authorization = parts
            .headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let _ = crate::state::take_pending_commits();
        let reply =
            services::eks_auth::agent(twin, parts.method.as_str(), authorization, &request_id);
        log_request(
            &request_id,
            "pod",
            "eks-auth",
            "AgentGetCredentials",
            reply.status,
            None,
        );
        let reply = commit_pending(reply, &request_id, Protocol::Json).await;
        return to_response(reply, &request_id);
    }
    if path.starts_with(crate::issuers::ISSUER_PREFIX) {
        return to_response(issuer_document(twin, &parts, &path), &request_id);
    }
    let query = parts.uri.query().unwrap_or_default();
    if services::s3::is_s3(&parts.method, &path, query, &parts.headers) {
        // S3 reads its own bodies: uploads are streamed, not collected.
        return services::s3::handle(twin, parts, body, &request_id).await;
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let head = Head::read(&HttpParts {
        method: parts.method.as_str(),
        path: &path,
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body_sha256: sigv4::EMPTY_SHA256,
    });
    let protocol = head.protocol;
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let error = ServiceError::new(
                413,
                "RequestEntityTooLarge",
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            );
            return to_response(error.reply(protocol, &request_id), &request_id);
        }
    };
    let body_sha256 = sigv4::sha256_hex(&body);
    let http = HttpParts {
        method: parts.method.as_str(),
        path: &path,
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body_sha256: &body_sha256,
    };
    let _ = crate::state::take_pending_commits();
    let reply = route(twin, &http, &body, head, &request_id);
    let reply = commit_pending(reply, &request_id, protocol).await;
    to_response(reply, &request_id)
}

/// The documents of a cluster's OIDC issuer, for anyone (as on AWS).
fn issuer_document(twin: &Twin, parts: &hyper::http::request::Parts, path: &str) -> Reply {
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let model = twin.model();
    let found = crate::issuers::document(
        &twin.issuers,
        &twin.store,
        &model,
        path,
        &base,
        twin.now().seconds(),
    );
    match found {
        Some(Ok(document)) => Reply {
            status: 200,
            content_type: "application/json",
            body: document.to_string(),
            headers: Vec::new(),
        },
        Some(Err(e)) => {
            tracing::error!(path = %path, error = %e, "an issuer document could not be made");
            Reply::json(
                500,
                r#"{"message":"the issuer's key is unavailable"}"#.into(),
            )
        }
        None => Reply::json(404, r#"{"message":"no such issuer document"}"#.into()),
    }
}

/// Waits for the sessions a response names to be committed; if one cannot
/// be, the response becomes a service failure.
async fn commit_pending(mut reply: Reply, request_id: &str, protocol: Protocol) -> Reply {
    for pending in crate::state::take_pending_commits() {
        let committed = pending
            .await
            .unwrap_or_else(|_| Err("the session committer stopped".into()));
        if let Err(e) = committed {
            tracing::error!(request_id = %request_id, error = %e, "a session could not be stored");
            let error = ServiceError::new(
                500,
                "ServiceFailure",
                "The request processing has failed because of an unknown error.",
            );
            reply = error.reply(protocol, request_id);
        }
    }
    reply
}

/// What a request's head says, read once before its body: the signature
/// (read, not yet verified), `X-Amz-Target`, the service (by the SigV4
/// scope, or, unsigned, by the target; STS otherwise) and the protocol of
/// its answers, so that even a refused body gets its service's format.
struct Head<'h> {
    signature: Result<Option<sigv4::Signature>, sigv4::SigV4Error>,
    target: Option<&'h str>,
    service: String,
    protocol: Protocol,
}

impl<'h> Head<'h> {
    /// The signature does not cover the body's hash, so `http` may be read
    /// before the body is.
    fn read(http: &HttpParts<'h>) -> Head<'h> {
        let target = http
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-target"))
            .map(|(_, v)| v.as_str());
        let signature = sigv4::read_signature(http);
        let service = match &signature {
            Ok(Some(s)) => s.credential.service.clone(),
            _ if target.is_some_and(|t| t.starts_with("AWSOrganizations")) => {
                "organizations".into()
            }
            _ => "sts".into(),
        };
        let protocol = match service.as_str() {
            "iam" => Protocol::Query {
                namespace: IAM_NAMESPACE,
            },
            "organizations" | "ram" | "eks" | "eks-auth" => Protocol::Json,
            "ec2" => Protocol::Ec2,
            _ => Protocol::Query {
                namespace: STS_NAMESPACE,
            },
        };
        Head {
            signature,
            target,
            service,
            protocol,
        }
    }
}

fn route(
    twin: &Twin,
    http: &HttpParts<'_>,
    body: &[u8],
    head: Head<'_>,
    request_id: &str,
) -> Reply {
    let _ = crate::state::take_decision();
    let Head {
        signature,
        target,
        service,
        protocol,
    } = head;
    let service = service.as_str();
    let is_form = http.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("content-type") && v.starts_with("application/x-www-form-urlencoded")
    });
    let form = if is_form {
        std::str::from_utf8(body).ok()
    } else {
        None
    };
    if let Some(message) =
        Params::malformed(http.query).or_else(|| form.and_then(Params::malformed))
    {
        let error = ServiceError::new(400, "MalformedQueryString", message);
        log_request(
            request_id,
            "anonymous",
            service,
            "",
            error.status,
            Some(&error.code),
        );
        return error.reply(protocol, request_id);
    }
    let params = Params::parse(http.query, form);
    let action = match protocol {
        Protocol::Json if service == "ram" => services::ram::operation(http.method, http.path),
        Protocol::Json if service == "eks" => services::eks::operation(http.method, http.path),
        Protocol::Json if service == "eks-auth" => {
            services::eks_auth::operation(http.method, http.path)
        }
        Protocol::Json => target
            .and_then(|t| t.split_once('.'))
            .map(|(_, a)| a.to_string()),
        Protocol::Query { .. } | Protocol::Ec2 => params.get("Action").map(str::to_string),
    };
    let fail = |error: ServiceError, caller: &str, action: &str| {
        log_request(
            request_id,
            caller,
            service,
            action,
            error.status,
            Some(&error.code),
        );
        error.reply(protocol, request_id)
    };
    let auth_fail = |e: AuthError| {
        let mut error = ServiceError::from(&e);
        if protocol == Protocol::Json {
            error.code = e.json_code().to_string();
        }
        error
    };
    let action_name = action.clone().unwrap_or_default();
    let signature = match signature {
        Ok(Some(signature)) => signature,
        Ok(None) if service == "sts" => {
            let unsigned = action
                .as_deref()
                .and_then(|a| services::sts::handle_unsigned(twin, request_id, a, &params));
            match unsigned {
                Some(Ok(reply)) => {
                    log_request(
                        request_id,
                        "anonymous",
                        service,
                        &action_name,
                        reply.status,
                        None,
                    );
                    return reply;
                }
                Some(Err(error)) => return fail(error, "anonymous", &action_name),
                None => {
                    let e = AuthError {
                        code: "MissingAuthenticationToken",
                        message: "Request is missing Authentication Token".into(),
                        status: 403,
                    };
                    return fail(auth_fail(e), "anonymous", &action_name);
                }
            }
        }
        Ok(None) => {
            let e = AuthError {
                code: "MissingAuthenticationToken",
                message: "Request is missing Authentication Token".into(),
                status: 403,
            };
            return fail(auth_fail(e), "anonymous", &action_name);
        }
        Err(e) => return fail(auth_fail(AuthError::from(e)), "anonymous", &action_name),
    };
    let global = matches!(service, "iam" | "organizations");
    if global && signature.credential.region != "us-east-1" {
        let e = AuthError {
            code: "SignatureDoesNotMatch",
            message: format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                signature.credential.region
            ),
            status: 403,
        };
        return fail(
            auth_fail(e),
            &signature.credential.access_key_id,
            &action_name,
        );
    }
    let caller = match authenticate(twin, http, &signature) {
        Ok(caller) => caller,
        Err(e) => {
            return fail(
                auth_fail(e),
                &signature.credential.access_key_id,
                &action_name,
            );
        }
    };
    let caller_arn = caller.arn();
    let Some(action) = action else {
        let error = ServiceError::new(
            400,
            "MissingAction",
            "The request must contain the parameter Action.",
        );
        return fail(error, &caller_arn, "");
    };
    let call = Call {
        twin,
        caller: &caller,
        request_id,
    };
    let result = match service {
        "sts" => services::sts::handle(&call, &action, &params),
        "iam" => services::iam::handle(&call, &action, &params),
        "organizations" => services::organizations::handle(&call, &action, body),
        "ec2" => services::ec2::handle(&call, &signature.credential.region, &action, &params),
        "ram" => services::ram::handle(&call, &signature.credential.region, &action, &params, body),
        "eks" => services::eks::handle(&call, &signature.credential.region, http, &params, body),
        "eks-auth" => services::eks_auth::handle(&call, http.path, body),
        other => Err(ServiceError::new(
            400,
            "UnknownService",
            format!("The twin does not serve `{other}`."),
        )),
    };
    match result {
        Ok(reply) => {
            log_request(
                request_id,
                &caller_arn,
                service,
                &action,
                reply.status,
                None,
            );
            reply
        }
        Err(error) => fail(error, &caller_arn, &action),
    }
}

/// The largest step of the test clock: about a century.
const MAX_CLOCK_STEP_SECONDS: u64 = 3_155_760_000;

/// `POST /_orgtwin/clock?advance=SECONDS`, only with a test clock.
fn move_clock(twin: &Twin, query: &str) -> Reply {
    let Some(clock) = &twin.test_clock else {
        let body =
            r#"{"message":"the clock can only be moved when the twin runs with --test-clock"}"#;
        return Reply::json(404, body.into());
    };
    let seconds = sigv4::query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "advance")
        .and_then(|(_, v)| v.parse::<i64>().ok())
        // A century either way is more than any test needs, and keeps the
        // clock's arithmetic far from overflow.
        .filter(|s| s.unsigned_abs() <= MAX_CLOCK_STEP_SECONDS);
    match seconds {
        Some(seconds) => {
            let now = clock.advance(seconds);
            tracing::info!(advanced = seconds, now = %now.to_rfc3339(), "test clock moved");
            Reply::json(
                200,
                serde_json::json!({"now": now.to_rfc3339()}).to_string(),
            )
        }
        None => Reply::json(
            400,
            format!(
                r#"{{"message":"give ?advance=SECONDS, at most {MAX_CLOCK_STEP_SECONDS} either way"}}"#
            ),
        ),
    }
}

/// The one log line of a request: who, what, on which resource, the
/// decision, and how it was answered.
pub(crate) fn log_request(
    request_id: &str,
    caller: &str,
    service: &str,
    action: &str,
    status: u16,
    error: Option<&str>,
) {
    let (resource, decision) = crate::state::take_decision()
        .map_or((String::new(), String::new()), |(r, d)| (r, d.to_string()));
    tracing::info!(
        request_id,
        caller,
        service,
        action,
        resource = %resource,
        decision = %decision,
        status,
        error = error.unwrap_or(""),
        "request"
    );
}

fn to_response(reply: Reply, request_id: &str) -> Response<Body> {
    let mut response = Response::new(services::s3::full(Bytes::from(reply.body)));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = reply.content_type.parse() {
        headers.insert("content-type", v);
    }
    if let Ok(v) = request_id.parse() {
        headers.insert("x-amzn-requestid", v);
    }
    for (name, value) in reply.headers {
        if let Ok(v) = value.parse() {
            headers.insert(name, v);
        }
    }
    response
}
