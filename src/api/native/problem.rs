//! RFC 9457 problem+json for the native API: the one exhaustive mapping of service errors.

use std::borrow::Cow;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToResponse, ToSchema};

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

/// An error of the native API (RFC 9457 problem details, `application/problem+json`).
#[derive(Serialize, ToSchema)]
pub struct Problem<'a> {
    /// `urn:scimgate:problem:` followed by the code.
    #[serde(rename = "type")]
    #[schema(example = "urn:scimgate:problem:contact_required")]
    kind: String,
    /// A short, fixed summary of the code.
    #[schema(example = "Contact required")]
    title: &'static str,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599, example = 422)]
    status: u16,
    /// What went wrong with this request and what to do instead.
    #[schema(
        example = "upgrading a contactless user to a community license requires a contact: assign one first with PUT /api/v1/users/{id}/contact"
    )]
    detail: &'a str,
    #[schema(value_type = ProblemCode)]
    code: &'static str,
}

/// Every stable error code of the native API: (code, status it comes with, title, meaning).
pub const CODES: &[(&str, &str, &str, &str)] = &[
    ("unauthorized", "401", "Unauthorized", "missing, unknown, expired or revoked bearer token"),
    ("forbidden", "403", "Forbidden", "the token's role may not use this endpoint"),
    ("not_found", "404", "Not found", "no such resource (or path)"),
    ("validation_failed", "400, 422", "Validation failed", "400: unreadable body or query; 422: a field is invalid"),
    ("contact_required", "422", "Contact required", "a community license, or login-as, without a contact"),
    (
        "delegated_admin_forbidden",
        "403",
        "Delegated admins cannot manage contactless users",
        "a delegated admin targeting, creating or making (by downgrade) a contactless user",
    ),
    ("out_of_scope", "403", "Outside the delegated admin's accounts", "a delegated admin outside its accounts"),
    ("license_unavailable", "409", "License unavailable", "the license pool is full"),
    ("username_taken", "409", "userName taken", "userName is taken (compared case-insensitively)"),
    ("contact_in_use", "409", "Contact in use", "the contact is linked to another user"),
    ("version_mismatch", "412", "Version mismatch", "If-Match names a stale version"),
    ("self_registration_disabled", "403", "Self-registration disabled", "the site does not take self-registrations"),
    ("invalid_license", "422", "Invalid license", "not one of the four licenses"),
    ("site_prefix_taken", "409", "Site path prefix taken", "another site uses this urlPathPrefix"),
    ("capacity_below_used", "409", "Capacity below usage", "the new capacity is below the licenses in use"),
    ("payload_too_large", "413", "Payload too large", "the body exceeds server.max_body_bytes"),
    ("unsupported_media_type", "415", "Unsupported media type", "the body is not sent as application/json"),
    ("method_not_allowed", "405", "Method not allowed", "the path does not take this method"),
    (
        "webhook_url_refused",
        "422",
        "Webhook URL refused",
        "the webhook URL is not http(s), or targets a private, link-local or loopback address",
    ),
    ("already_delivered", "409", "Already delivered", "a delivered webhook delivery cannot be retried"),
    ("not_ready", "503", "Not ready", "(/readyz) the database is unreachable or not migrated"),
    ("internal_error", "500", "Internal error", "a bug or an outage; the cause is logged, never returned"),
];

/// The `code` of a [`Problem`]: an enum of [`CODES`].
pub struct ProblemCode;

impl PartialSchema for ProblemCode {
    fn schema() -> RefOr<Schema> {
        let mut description = String::from(
            "The stable error code: clients branch on it, never on `title` or `detail`.\n\n\
             | code | status | meaning |\n|---|---|---|\n",
        );
        for (code, status, _, meaning) in CODES {
            description.push_str(&format!("| `{code}` | {status} | {meaning} |\n"));
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(CODES.iter().map(|c| c.0)))
            .description(Some(description))
            .into()
    }
}

impl ToSchema for ProblemCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ProblemCode")
    }
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
    CODES.iter().find(|c| c.0 == code).map_or("Internal error", |c| c.2)
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
        | PolicyViolation::ScimAssignsContact
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
            e @ ServiceError::FilterTooBroad { .. } => ApiError::validation(StatusCode::BAD_REQUEST, e.to_string()),
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

// The error responses operations share; each operation lists the ones it can return and
// its description names the codes specific to it.

/// The body, a query parameter or a field cannot be read (`validation_failed`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:validation_failed", "title": "Validation failed", "status": 400,
        "detail": "invalid JSON body: missing field `userName` at line 1 column 2", "code": "validation_failed"})
)]
pub struct BadRequest(pub Problem<'static>);

/// Missing, unknown, expired or revoked bearer token (`unauthorized`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer`")),
    example = json!({"type": "urn:scimgate:problem:unauthorized", "title": "Unauthorized", "status": 401,
        "detail": "a valid bearer token is required (Authorization: Bearer …)", "code": "unauthorized"})
)]
pub struct Unauthorized(pub Problem<'static>);

/// The token may not do this: `forbidden` (role), `out_of_scope` or `delegated_admin_forbidden`
/// (delegated admins), `self_registration_disabled` (registration).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:delegated_admin_forbidden",
        "title": "Delegated admins cannot manage contactless users", "status": 403,
        "detail": "delegated admins cannot manage contactless users (nor create or make one)",
        "code": "delegated_admin_forbidden"})
)]
pub struct Forbidden(pub Problem<'static>);

/// No such resource, or a path id that is not an id (`not_found`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:not_found", "title": "Not found", "status": 404,
        "detail": "no such user", "code": "not_found"})
)]
pub struct NotFound(pub Problem<'static>);

/// A uniqueness or capacity conflict: `username_taken`, `contact_in_use`,
/// `license_unavailable`, `site_prefix_taken`, `capacity_below_used`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:license_unavailable", "title": "License unavailable",
        "status": 409, "detail": "the customer_community license pool has no license available",
        "code": "license_unavailable"})
)]
pub struct Conflict(pub Problem<'static>);

/// `If-Match` names a stale version (`version_mismatch`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:version_mismatch", "title": "Version mismatch", "status": 412,
        "detail": "If-Match does not match the current version W/\"3\"", "code": "version_mismatch"})
)]
pub struct PreconditionFailed(pub Problem<'static>);

/// The body exceeds `server.max_body_bytes` (`payload_too_large`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:payload_too_large", "title": "Payload too large", "status": 413,
        "detail": "the body exceeds 1048576 bytes", "code": "payload_too_large"})
)]
pub struct PayloadTooLarge(pub Problem<'static>);

/// The body is not sent as `application/json` (`unsupported_media_type`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:unsupported_media_type", "title": "Unsupported media type",
        "status": 415, "detail": "send the body as application/json", "code": "unsupported_media_type"})
)]
pub struct UnsupportedMediaType(pub Problem<'static>);

/// A field is invalid: `validation_failed`, `invalid_license`, `contact_required`.
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:contact_required", "title": "Contact required", "status": 422,
        "detail": "upgrading a contactless user to a community license requires a contact: assign one first with PUT /api/v1/users/{id}/contact",
        "code": "contact_required"})
)]
pub struct Unprocessable(pub Problem<'static>);
