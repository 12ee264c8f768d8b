//! RFC 9457 problem+json for the native API: the one exhaustive mapping of service errors.

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToResponse, ToSchema};

use crate::error::{self, Chain, ServiceError};
use crate::metrics::PolicyRejection;
use crate::policy::PolicyViolation;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ProblemCode,
    pub detail: String,
    /// The policy rule that refused the request, if one did (counted in metrics).
    pub rejection: Option<&'static str>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
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

/// Every stable error code of the native API (docs/contract.md): clients branch on it,
/// never on `title` or `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemCode {
    Unauthorized,
    Forbidden,
    NotFound,
    ValidationFailed,
    ContactRequired,
    DelegatedAdminForbidden,
    OutOfScope,
    LicenseUnavailable,
    UsernameTaken,
    ContactInUse,
    VersionMismatch,
    SelfRegistrationDisabled,
    InvalidLicense,
    SitePrefixTaken,
    CapacityBelowUsed,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    WebhookUrlRefused,
    AlreadyDelivered,
    NotReady,
    InternalError,
    RateLimited,
    QueryTooCostly,
    RequestTimeout,
}

impl ProblemCode {
    pub const ALL: [ProblemCode; 25] = [
        ProblemCode::Unauthorized,
        ProblemCode::Forbidden,
        ProblemCode::NotFound,
        ProblemCode::ValidationFailed,
        ProblemCode::ContactRequired,
        ProblemCode::DelegatedAdminForbidden,
        ProblemCode::OutOfScope,
        ProblemCode::LicenseUnavailable,
        ProblemCode::UsernameTaken,
        ProblemCode::ContactInUse,
        ProblemCode::VersionMismatch,
        ProblemCode::SelfRegistrationDisabled,
        ProblemCode::InvalidLicense,
        ProblemCode::SitePrefixTaken,
        ProblemCode::CapacityBelowUsed,
        ProblemCode::PayloadTooLarge,
        ProblemCode::UnsupportedMediaType,
        ProblemCode::MethodNotAllowed,
        ProblemCode::WebhookUrlRefused,
        ProblemCode::AlreadyDelivered,
        ProblemCode::NotReady,
        ProblemCode::InternalError,
        ProblemCode::RateLimited,
        ProblemCode::QueryTooCostly,
        ProblemCode::RequestTimeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::Unauthorized => "unauthorized",
            ProblemCode::Forbidden => "forbidden",
            ProblemCode::NotFound => "not_found",
            ProblemCode::ValidationFailed => "validation_failed",
            ProblemCode::ContactRequired => "contact_required",
            ProblemCode::DelegatedAdminForbidden => "delegated_admin_forbidden",
            ProblemCode::OutOfScope => "out_of_scope",
            ProblemCode::LicenseUnavailable => "license_unavailable",
            ProblemCode::UsernameTaken => "username_taken",
            ProblemCode::ContactInUse => "contact_in_use",
            ProblemCode::VersionMismatch => "version_mismatch",
            ProblemCode::SelfRegistrationDisabled => "self_registration_disabled",
            ProblemCode::InvalidLicense => "invalid_license",
            ProblemCode::SitePrefixTaken => "site_prefix_taken",
            ProblemCode::CapacityBelowUsed => "capacity_below_used",
            ProblemCode::PayloadTooLarge => "payload_too_large",
            ProblemCode::UnsupportedMediaType => "unsupported_media_type",
            ProblemCode::MethodNotAllowed => "method_not_allowed",
            ProblemCode::WebhookUrlRefused => "webhook_url_refused",
            ProblemCode::AlreadyDelivered => "already_delivered",
            ProblemCode::NotReady => "not_ready",
            ProblemCode::InternalError => "internal_error",
            ProblemCode::RateLimited => "rate_limited",
            ProblemCode::QueryTooCostly => "query_too_costly",
            ProblemCode::RequestTimeout => "request_timeout",
        }
    }

    /// The status the code comes with. `validation_failed` is 422 for an invalid field and
    /// 400 for a request that cannot be read ([`ApiError::validation`] picks).
    pub fn status(self) -> StatusCode {
        match self {
            ProblemCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemCode::Forbidden
            | ProblemCode::DelegatedAdminForbidden
            | ProblemCode::OutOfScope
            | ProblemCode::SelfRegistrationDisabled => StatusCode::FORBIDDEN,
            ProblemCode::NotFound => StatusCode::NOT_FOUND,
            ProblemCode::ValidationFailed
            | ProblemCode::ContactRequired
            | ProblemCode::InvalidLicense
            | ProblemCode::WebhookUrlRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::LicenseUnavailable
            | ProblemCode::UsernameTaken
            | ProblemCode::ContactInUse
            | ProblemCode::SitePrefixTaken
            | ProblemCode::CapacityBelowUsed
            | ProblemCode::AlreadyDelivered => StatusCode::CONFLICT,
            ProblemCode::VersionMismatch => StatusCode::PRECONDITION_FAILED,
            ProblemCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::QueryTooCostly => StatusCode::BAD_REQUEST,
            ProblemCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// A short, fixed summary (the problem's `title`).
    pub fn title(self) -> &'static str {
        match self {
            ProblemCode::Unauthorized => "Unauthorized",
            ProblemCode::Forbidden => "Forbidden",
            ProblemCode::NotFound => "Not found",
            ProblemCode::ValidationFailed => "Validation failed",
            ProblemCode::ContactRequired => "Contact required",
            ProblemCode::DelegatedAdminForbidden => "Delegated admins cannot manage contactless users",
            ProblemCode::OutOfScope => "Outside the delegated admin's accounts",
            ProblemCode::LicenseUnavailable => "License unavailable",
            ProblemCode::UsernameTaken => "userName taken",
            ProblemCode::ContactInUse => "Contact in use",
            ProblemCode::VersionMismatch => "Version mismatch",
            ProblemCode::SelfRegistrationDisabled => "Self-registration disabled",
            ProblemCode::InvalidLicense => "Invalid license",
            ProblemCode::SitePrefixTaken => "Site path prefix taken",
            ProblemCode::CapacityBelowUsed => "Capacity below usage",
            ProblemCode::PayloadTooLarge => "Payload too large",
            ProblemCode::UnsupportedMediaType => "Unsupported media type",
            ProblemCode::MethodNotAllowed => "Method not allowed",
            ProblemCode::WebhookUrlRefused => "Webhook URL refused",
            ProblemCode::AlreadyDelivered => "Already delivered",
            ProblemCode::NotReady => "Not ready",
            ProblemCode::InternalError => "Internal error",
            ProblemCode::RateLimited => "Rate limited",
            ProblemCode::QueryTooCostly => "Query too costly",
            ProblemCode::RequestTimeout => "Request timeout",
        }
    }

    /// When a client gets it (the OpenAPI document's table).
    fn meaning(self) -> &'static str {
        match self {
            ProblemCode::Unauthorized => "missing, unknown, expired or revoked bearer token",
            ProblemCode::Forbidden => "the token's role may not use this endpoint",
            ProblemCode::NotFound => "no such resource (or path)",
            ProblemCode::ValidationFailed => "400: unreadable body or query; 422: a field is invalid",
            ProblemCode::ContactRequired => "a community license, or login-as, without a contact",
            ProblemCode::DelegatedAdminForbidden => {
                "a delegated admin targeting, creating or making (by downgrade) a contactless user"
            }
            ProblemCode::OutOfScope => "a delegated admin outside its accounts",
            ProblemCode::LicenseUnavailable => "the license pool is full",
            ProblemCode::UsernameTaken => "userName is taken (compared case-insensitively)",
            ProblemCode::ContactInUse => "the contact is linked to another user",
            ProblemCode::VersionMismatch => "If-Match names a stale version",
            ProblemCode::SelfRegistrationDisabled => "the site does not take self-registrations",
            ProblemCode::InvalidLicense => "not one of the four licenses",
            ProblemCode::SitePrefixTaken => "another site uses this urlPathPrefix",
            ProblemCode::CapacityBelowUsed => "the new capacity is below the licenses in use",
            ProblemCode::PayloadTooLarge => "the body exceeds server.max_body_bytes",
            ProblemCode::UnsupportedMediaType => "the body is not sent as application/json",
            ProblemCode::MethodNotAllowed => "the path does not take this method",
            ProblemCode::WebhookUrlRefused => {
                "the webhook URL is not http(s), or targets a private, link-local or loopback address"
            }
            ProblemCode::AlreadyDelivered => "a delivered webhook delivery cannot be retried",
            ProblemCode::NotReady => "(/readyz) the database is unreachable or not migrated",
            ProblemCode::InternalError => "a bug or an outage; the cause is logged, never returned",
            ProblemCode::RateLimited => {
                "too many failed authentications from this address, or the token's request quota is spent; \
                 `Retry-After` says when to retry"
            }
            ProblemCode::QueryTooCostly => {
                "a list query ran past `database.statement_timeout_ms`, or names more unindexed terms than allowed"
            }
            ProblemCode::RequestTimeout => "the body did not arrive within `server.body_timeout_ms`",
        }
    }

    /// The native code of a policy refusal.
    pub fn of_policy(v: &PolicyViolation) -> ProblemCode {
        match v {
            PolicyViolation::Forbidden { .. } => ProblemCode::Forbidden,
            PolicyViolation::OutOfScope => ProblemCode::OutOfScope,
            PolicyViolation::DelegatedAdminForbidden => ProblemCode::DelegatedAdminForbidden,
            PolicyViolation::ContactRequired { .. } => ProblemCode::ContactRequired,
            PolicyViolation::LicenseUnavailable { .. } => ProblemCode::LicenseUnavailable,
            PolicyViolation::InvalidLicense { .. } => ProblemCode::InvalidLicense,
            PolicyViolation::SelfRegistrationDisabled => ProblemCode::SelfRegistrationDisabled,
            PolicyViolation::ScimContactless | PolicyViolation::ScimAssignsContact => ProblemCode::ValidationFailed,
            PolicyViolation::WebhookUrlRefused { .. } => ProblemCode::WebhookUrlRefused,
        }
    }

    /// The native code of a conflict.
    pub fn of_conflict(c: &error::Conflict) -> ProblemCode {
        match c {
            error::Conflict::UserNameTaken => ProblemCode::UsernameTaken,
            error::Conflict::ContactInUse => ProblemCode::ContactInUse,
            error::Conflict::SitePrefixTaken => ProblemCode::SitePrefixTaken,
            error::Conflict::CapacityBelowUsed { .. } => ProblemCode::CapacityBelowUsed,
            error::Conflict::AlreadyDelivered => ProblemCode::AlreadyDelivered,
        }
    }
}

impl PartialSchema for ProblemCode {
    fn schema() -> RefOr<Schema> {
        let mut description = String::from(
            "The stable error code: clients branch on it, never on `title` or `detail`.\n\n\
             | code | status | meaning |\n|---|---|---|\n",
        );
        for code in ProblemCode::ALL {
            let status = match code {
                ProblemCode::ValidationFailed => "400, 422".to_owned(),
                other => other.status().as_u16().to_string(),
            };
            description.push_str(&format!("| `{}` | {status} | {} |\n", code.as_str(), code.meaning()));
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ProblemCode::ALL.iter().map(|c| c.as_str())))
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
    /// An error with the code's status.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        ApiError { status: code.status(), code, detail: detail.into(), rejection: None, retry_after: None }
    }

    /// `validation_failed`: 400 for a request that cannot be read, 422 for an invalid field.
    pub fn validation(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError { status, ..ApiError::new(ProblemCode::ValidationFailed, detail) }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(ProblemCode::NotFound, detail)
    }

    /// The problem an error status means when nothing more is known (an answer that left
    /// actix with no body): its code where one has that status, else `validation_failed`
    /// (4xx) or `internal_error` (5xx), with the status kept.
    pub fn for_status(status: StatusCode, detail: impl Into<String>) -> Self {
        let code = match status {
            StatusCode::UNAUTHORIZED => ProblemCode::Unauthorized,
            StatusCode::FORBIDDEN => ProblemCode::Forbidden,
            StatusCode::NOT_FOUND => ProblemCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemCode::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemCode::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ProblemCode::RateLimited,
            StatusCode::REQUEST_TIMEOUT => ProblemCode::RequestTimeout,
            s if s.is_server_error() => ProblemCode::InternalError,
            _ => ProblemCode::ValidationFailed,
        };
        ApiError { status, ..ApiError::new(code, detail) }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code.as_str(), self.detail)
    }
}

impl From<crate::api::extract::Refused> for ApiError {
    fn from(r: crate::api::extract::Refused) -> Self {
        use crate::api::extract::Refused;
        match r {
            Refused::Timeout { limit } => ApiError::new(
                ProblemCode::RequestTimeout,
                format!("the body did not arrive within {} ms", limit.as_millis()),
            ),
            Refused::Extract(e) => match e.as_error::<ApiError>() {
                Some(api) => api.clone(),
                None => ApiError::validation(StatusCode::BAD_REQUEST, e.to_string()),
            },
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Policy(v) => {
                ApiError { rejection: Some(v.rule()), ..ApiError::new(ProblemCode::of_policy(&v), v.to_string()) }
            }
            ServiceError::Validation(v) => ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, v.to_string()),
            ServiceError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
            e @ ServiceError::FilterTooBroad { .. } => ApiError::validation(StatusCode::BAD_REQUEST, e.to_string()),
            ServiceError::Conflict(c) => ApiError::new(ProblemCode::of_conflict(&c), c.to_string()),
            ServiceError::VersionMismatch { current } => ApiError::new(
                ProblemCode::VersionMismatch,
                format!("If-Match does not match the current version W/\"{current}\""),
            ),
            e @ ServiceError::QueryTimeout => ApiError::new(ProblemCode::QueryTooCostly, e.to_string()),
            ServiceError::TooMany(detail) => ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, detail),
            ServiceError::Unauthenticated => {
                ApiError::new(ProblemCode::Unauthorized, "a valid bearer token is required (Authorization: Bearer …)")
            }
            e @ ServiceError::AmbiguousCredentials => ApiError::validation(StatusCode::BAD_REQUEST, e.to_string()),
            ServiceError::RateLimited { retry_after_secs } => ApiError {
                retry_after: Some(retry_after_secs),
                ..ApiError::new(
                    ProblemCode::RateLimited,
                    format!("too many requests: retry after {retry_after_secs} s"),
                )
            },
            ServiceError::Internal(err) => {
                tracing::error!(error = %Chain(err.as_ref()), "internal error");
                ApiError::new(ProblemCode::InternalError, "internal error")
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
            kind: format!("urn:scimgate:problem:{}", self.code.as_str()),
            title: self.code.title(),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code.as_str(),
        };
        let mut res =
            crate::api::error_head(self.status, self.retry_after).content_type("application/problem+json").json(body);
        if let Some(rule) = self.rejection {
            res.extensions_mut().insert(PolicyRejection(rule));
        }
        res
    }
}

// The error responses operations share; each operation lists the ones it can return and
// its description names the codes specific to it.

crate::api::route::answers_at! {
    /// The native API's shared error responses.
    ErrorResponses:
    BadRequest = 400, Unauthorized = 401, Forbidden = 403, NotFound = 404, Conflict = 409, PreconditionFailed = 412,
    PayloadTooLarge = 413, UnsupportedMediaType = 415, Unprocessable = 422, RateLimited = 429,
}

/// The body, a query parameter or a field cannot be read (`validation_failed`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    example = json!({"type": "urn:scimgate:problem:validation_failed", "title": "Validation failed", "status": 400,
        "detail": "invalid JSON body: missing field `userName` at line 1 column 2", "code": "validation_failed"})
)]
pub struct BadRequest(pub Problem<'static>);

/// Too many failed authentications from this address, or the token's request quota is
/// spent (`rate_limited`).
#[derive(ToResponse)]
#[response(
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "seconds to wait")),
    example = json!({"type": "urn:scimgate:problem:rate_limited", "title": "Rate limited", "status": 429,
        "detail": "too many requests: retry after 2 s", "code": "rate_limited"})
)]
pub struct RateLimited(pub Problem<'static>);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::License;

    #[test]
    fn codes_are_unique_and_keep_the_contract_statuses() {
        let mut names: Vec<&str> = ProblemCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ProblemCode::ALL.len());
        let contract = [
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("validation_failed", 422),
            ("contact_required", 422),
            ("delegated_admin_forbidden", 403),
            ("out_of_scope", 403),
            ("license_unavailable", 409),
            ("username_taken", 409),
            ("contact_in_use", 409),
            ("version_mismatch", 412),
            ("self_registration_disabled", 403),
            ("invalid_license", 422),
        ];
        for (name, status) in contract {
            let code = ProblemCode::ALL.into_iter().find(|c| c.as_str() == name).unwrap();
            assert_eq!(code.status().as_u16(), status, "{name}");
        }
    }

    #[test]
    fn policy_refusals_keep_their_codes_and_statuses() {
        let all = [
            PolicyViolation::Forbidden { role: "scim", surface: "x" },
            PolicyViolation::OutOfScope,
            PolicyViolation::DelegatedAdminForbidden,
            PolicyViolation::ContactRequired { why: "x" },
            PolicyViolation::LicenseUnavailable { license: License::CustomerCommunity },
            PolicyViolation::InvalidLicense { why: "x".into() },
            PolicyViolation::SelfRegistrationDisabled,
            PolicyViolation::ScimContactless,
            PolicyViolation::ScimAssignsContact,
            PolicyViolation::WebhookUrlRefused { why: "x".into() },
        ];
        for v in all {
            let e = ApiError::from(ServiceError::Policy(v.clone()));
            assert_eq!(e.code.as_str(), v.code(), "{v:?}");
            let want = match v.refusal() {
                crate::policy::Refusal::NotAllowed => 403,
                crate::policy::Refusal::Invalid => 422,
                crate::policy::Refusal::Exhausted => 409,
            };
            assert_eq!(e.status.as_u16(), want, "{v:?}");
        }
    }
}
