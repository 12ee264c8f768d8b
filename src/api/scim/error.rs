//! SCIM errors (RFC 7644 §3.12): the one exhaustive mapping of service errors for the
//! SCIM surface. `status` is a string; `scimType` where the RFC defines one.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::error::{Chain, Conflict, ServiceError};
use crate::policy::Refusal;

pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SCIM_JSON: &str = "application/scim+json";

#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
    /// The policy rule that refused the request, if one did (counted in metrics).
    pub rejection: Option<&'static str>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into(), rejection: None, retry_after: None }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// The error as a JSON body (also used inside Bulk responses).
    pub fn body(&self) -> serde_json::Value {
        let mut b = json!({
            "schemas": [ERROR_URN],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            b["scimType"] = json!(t);
        }
        b
    }
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}: {}", self.status.as_u16(), self.scim_type, self.detail)
    }
}

impl From<ServiceError> for ScimError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Policy(v) => {
                let detail = v.to_string();
                let rejection = Some(v.rule());
                let e = match v.refusal() {
                    Refusal::NotAllowed => ScimError::new(StatusCode::FORBIDDEN, None, detail),
                    Refusal::Invalid => ScimError::bad("invalidValue", detail),
                    Refusal::Exhausted => ScimError::new(StatusCode::CONFLICT, None, detail),
                };
                ScimError { rejection, ..e }
            }
            ServiceError::Validation(v) => ScimError::bad("invalidValue", v.to_string()),
            ServiceError::NotFound(what) => ScimError::not_found(format!("no such {what}")),
            e @ ServiceError::FilterTooBroad { .. } => ScimError::bad("tooMany", e.to_string()),
            ServiceError::Conflict(c) => match c {
                Conflict::UserNameTaken | Conflict::ContactInUse | Conflict::SitePrefixTaken => {
                    ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), c.to_string())
                }
                Conflict::CapacityBelowUsed { .. } | Conflict::AlreadyDelivered => {
                    ScimError::new(StatusCode::CONFLICT, None, c.to_string())
                }
            },
            ServiceError::VersionMismatch { current } => ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                format!("If-Match does not match the current version W/\"{current}\""),
            ),
            e @ ServiceError::QueryTimeout => ScimError::bad("tooMany", e.to_string()),
            ServiceError::TooMany(detail) => ScimError::bad("tooMany", detail),
            ServiceError::Unauthenticated => {
                ScimError::new(StatusCode::UNAUTHORIZED, None, "a valid bearer token is required")
            }
            e @ ServiceError::AmbiguousCredentials => ScimError::new(StatusCode::BAD_REQUEST, None, e.to_string()),
            ServiceError::RateLimited { retry_after_secs } => ScimError {
                retry_after: Some(retry_after_secs),
                ..ScimError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    format!("too many requests: retry after {retry_after_secs} s"),
                )
            },
            ServiceError::Internal(err) => {
                tracing::error!(error = %Chain(err.as_ref()), "internal error");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res =
            crate::api::error_head(self.status, self.retry_after).content_type(SCIM_JSON).body(self.body().to_string());
        if let Some(rule) = self.rejection {
            res.extensions_mut().insert(crate::metrics::PolicyRejection(rule));
        }
        res.extensions_mut()
            .insert(crate::metrics::ErrorDetail { scim_type: self.scim_type, detail: self.detail.clone() });
        res
    }
}
