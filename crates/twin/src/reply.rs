//! What a handler answers, before it becomes an HTTP response.

use crate::auth::AuthError;
use crate::query;

/// A response body with its status and content type. `Debug` leaves the
/// body out: STS's and IAM's carry secret keys.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_bytes", &self.body.len())
            .field("headers", &self.headers)
            .finish()
    }
}

impl Reply {
    pub fn xml(body: String) -> Reply {
        Reply {
            status: 200,
            content_type: "text/xml",
            body,
            headers: Vec::new(),
        }
    }

    pub fn json(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "application/x-amz-json-1.1",
            body,
            headers: Vec::new(),
        }
    }
}

/// The wire protocol of a service, which decides how errors look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// STS and IAM, with the XML namespace of their responses.
    Query { namespace: &'static str },
    /// Organizations (JSON 1.1) and RAM (rest-json): `{"__type", "message"}`
    /// and the `x-amzn-ErrorType` header.
    Json,
    /// EC2's own Query dialect: `<Response><Errors><Error>`.
    Ec2,
}

pub const STS_NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
pub const IAM_NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
pub const EC2_NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// An error as the service answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ServiceError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        ServiceError::new(400, "ValidationError", message)
    }

    pub fn reply(&self, protocol: Protocol, request_id: &str) -> Reply {
        match protocol {
            Protocol::Query { namespace } => Reply {
                status: self.status,
                content_type: "text/xml",
                body: query::error(
                    self.status,
                    &self.code,
                    &self.message,
                    request_id,
                    namespace,
                ),
                headers: Vec::new(),
            },
            Protocol::Json => {
                let body =
                    serde_json::json!({"__type": self.code, "message": self.message}).to_string();
                let mut reply = Reply::json(self.status, body);
                reply.headers.push(("x-amzn-ErrorType", self.code.clone()));
                reply
            }
            Protocol::Ec2 => Reply {
                status: self.status,
                content_type: "text/xml;charset=UTF-8",
                body: ec2_error(&self.code, &self.message, request_id),
                headers: Vec::new(),
            },
        }
    }
}

/// EC2's error body, which differs from STS's and IAM's:
/// `<Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors><RequestID>..</RequestID></Response>`.
pub fn ec2_error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
        query::escape(code),
        query::escape(message)
    )
}

impl From<query::ParamError> for ServiceError {
    fn from(e: query::ParamError) -> Self {
        ServiceError::validation(e.0)
    }
}

impl From<&AuthError> for ServiceError {
    fn from(e: &AuthError) -> Self {
        ServiceError::new(e.status, e.code, e.message.clone())
    }
}

impl From<orgtwin_store::StoreError> for ServiceError {
    fn from(e: orgtwin_store::StoreError) -> Self {
        tracing::error!(error = %e, "state write failed");
        ServiceError::new(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error.",
        )
    }
}
