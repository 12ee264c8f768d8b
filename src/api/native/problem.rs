//! RFC 9457 problem+json for the native API: the one exhaustive mapping of service errors.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::{Chain, ServiceError};
use crate::metrics::PolicyRejection;
use crate::policy::PolicyViolation;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// The policy rule that refused the request, if one did (counted in metrics).
    pub rejection: Option<&'static str>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError { status, code, detail: detail.into(), rejection: None }
    }

    pub fn validation(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError::new(status, "validation_failed", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

/// The title of each stable code.
fn title(code: &str) -> &'static str {
    match code {
        "unauthorized" => "Unauthorized",
        "forbidden" => "Forbidden",
        "not_found" => "Not found",
        "validation_failed" => "Validation failed",
        "contact_required" => "Contact required",
        "delegated_admin_forbidden" => "Delegated admins cannot manage contactless users",
        "out_of_scope" => "Outside the delegated admin's accounts",
        "license_unavailable" => "License unavailable",
        "username_taken" => "userName taken",
        "contact_in_use" => "Contact in use",
        "version_mismatch" => "Version mismatch",
        "self_registration_disabled" => "Self-registration disabled",
        "invalid_license" => "Invalid license",
        "site_prefix_taken" => "Site path prefix taken",
        "capacity_below_used" => "Capacity below usage",
        "payload_too_large" => "Payload too large",
        "unsupported_media_type" => "Unsupported media type",
        "method_not_allowed" => "Method not allowed",
        "webhook_url_refused" => "Webhook URL refused",
        "already_delivered" => "Already delivered",
        _ => "Internal error",
    }
}

fn policy_status(v: &PolicyViolation) -> StatusCode {
    match v {
        PolicyViolation::Forbidden { .. }
        | PolicyViolation::OutOfScope
        | PolicyViolation::DelegatedAdminForbidden
        | PolicyViolation::SelfRegistrationDisabled => StatusCode::FORBIDDEN,
        PolicyViolation::ContactRequired { .. }
        | PolicyViolation::InvalidLicense { .. }
        | PolicyViolation::ScimContactless
        | PolicyViolation::WebhookUrlRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        PolicyViolation::LicenseUnavailable { .. } => StatusCode::CONFLICT,
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Policy(v) => {
                ApiError { rejection: Some(v.rule()), ..ApiError::new(policy_status(&v), v.code(), v.to_string()) }
            }
            ServiceError::Validation(v) => ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, v.to_string()),
            ServiceError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
            e @ ServiceError::Immutable(_) => ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            ServiceError::Conflict(c) => ApiError::new(StatusCode::CONFLICT, c.code(), c.to_string()),
            ServiceError::VersionMismatch { current } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                format!("If-Match does not match the current version W/\"{current}\""),
            ),
            ServiceError::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required (Authorization: Bearer …)",
            ),
            ServiceError::Internal(err) => {
                tracing::error!(error = %Chain(err.as_ref()), "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "internal error")
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = Problem {
            kind: format!("urn:scimgate:problem:{}", self.code),
            title: title(self.code),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        };
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        let mut res = res.content_type("application/problem+json").json(body);
        if let Some(rule) = self.rejection {
            res.extensions_mut().insert(PolicyRejection(rule));
        }
        res
    }
}
