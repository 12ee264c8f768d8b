//! The native REST API under `/api/v1` (JSON, camelCase, problem+json errors).

mod admin;
pub mod dto;
pub mod openapi;
pub mod problem;
mod users;
mod webhooks;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, error, web};
use utoipa_actix_web::service_config::ServiceConfig;

pub use problem::{ApiError, ProblemCode};

use super::authenticate;
use super::route::Endpoint;
use crate::domain::{Actor, User};
use crate::error::ServiceError;
use crate::policy::PolicyViolation;
use crate::policy::access::{self, AdminCap, Surface, UsersCap};

// Callers, by the role-table row they passed (the contract's "Authentication and roles").
// A handler gets its actor only from one of these extractors: 401 for a missing or unknown
// token, then 403 `forbidden` for a role outside the row, before the body is looked at.

/// An admin: carries the capability that admin-only services take.
pub struct Admin(pub AdminCap);

/// A caller of the native user endpoints (admins and delegated admins).
pub struct UsersCaller(pub UsersCap);

/// A registration caller of `/sites/{id}/register` for the site in the path.
pub struct Registrar(pub Actor);

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

fn checked<T: 'static>(
    req: &HttpRequest,
    check: impl FnOnce(Actor) -> Result<T, PolicyViolation> + 'static,
) -> Extracted<T> {
    let actor = authenticate(req);
    Box::pin(async move { Ok(check(actor.await?).map_err(ServiceError::Policy)?) })
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        checked(req, |actor| access::admin(actor).map(Admin))
    }
}

impl FromRequest for UsersCaller {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        checked(req, |actor| access::users(actor).map(UsersCaller))
    }
}

impl FromRequest for Registrar {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // The path's site id as the handler reads it (a uuid, canonical form).
        let raw = req.match_info().get("id").unwrap_or_default();
        let site_id = uuid::Uuid::parse_str(raw).map(|u| u.to_string()).unwrap_or_else(|_| raw.to_owned());
        checked(req, move |actor| {
            access::may_use(&actor, Surface::Register { site_id: &site_id }).map(|()| Registrar(actor))
        })
    }
}

/// Body, query and path extraction errors, as problem+json.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req| {
        let api = match &err {
            error::JsonPayloadError::Overflow { limit }
            | error::JsonPayloadError::OverflowKnownLength { limit, .. } => {
                ApiError::new(ProblemCode::PayloadTooLarge, format!("the body exceeds {limit} bytes"))
            }
            error::JsonPayloadError::ContentType => {
                ApiError::new(ProblemCode::UnsupportedMediaType, "send the body as application/json")
            }
            error::JsonPayloadError::Deserialize(e) => {
                ApiError::validation(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}"))
            }
            other => ApiError::validation(StatusCode::BAD_REQUEST, format!("unreadable body: {other}")),
        };
        api.into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        ApiError::validation(StatusCode::BAD_REQUEST, format!("invalid query: {err}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_err, req| ApiError::not_found(format!("nothing at {}", req.path())).into())
}

/// The weak ETag of a version (RFC 9110 §8.8.3).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The version an `If-Match` header names: `None` when absent or `*`. An unreadable
/// value matches no version (412), as RFC 9110 §13.1.1 has it for a non-matching tag.
pub fn if_match(req: &HttpRequest) -> Option<i64> {
    super::header_version(req, header::IF_MATCH)
}

/// A user response with its ETag.
pub fn user_response(status: StatusCode, user: User) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    if let Ok(v) = HeaderValue::from_str(&etag(user.version)) {
        res.insert_header((header::ETAG, v));
    }
    if status == StatusCode::CREATED {
        res.insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)));
    }
    res.json(dto::UserResponse::from(user))
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// Page size and cursor: limit 1–200 (default 50); a cursor is an id from `nextCursor`.
pub fn page(limit: Option<i64>, cursor: Option<String>) -> Result<(i64, Option<String>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::validation(StatusCode::BAD_REQUEST, format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let cursor = cursor
        .map(|c| {
            uuid::Uuid::parse_str(&c)
                .map(|u| u.to_string())
                .map_err(|_| ApiError::validation(StatusCode::BAD_REQUEST, "cursor is not one this API issued"))
        })
        .transpose()?;
    Ok((limit, cursor))
}

/// An id in a body or query: canonical UUID text, or a 422 naming the field.
pub fn body_id(field: &str, value: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, format!("{field}: {value:?} is not an id")))
}

/// The 404 of every unknown path.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(format!("nothing at {}", req.path())))
}

/// The routes of `/api/v1`; each path and method comes from its handler's `#[utoipa::path]`.
pub fn configure(cfg: &mut ServiceConfig) {
    use admin::*;
    use users::*;
    use webhooks as wh;
    cfg.service(Endpoint::new(__path_create_token, create_token).op(__path_list_tokens, list_tokens))
        .service(Endpoint::new(__path_revoke_token, revoke_token))
        .service(Endpoint::new(__path_rotate_token, rotate_token))
        .service(Endpoint::new(__path_create_account, create_account).op(__path_list_accounts, list_accounts))
        .service(Endpoint::new(__path_get_account, get_account))
        .service(Endpoint::new(__path_create_contact, create_contact))
        .service(Endpoint::new(__path_get_contact, get_contact))
        .service(Endpoint::new(__path_list_licenses, list_licenses))
        .service(Endpoint::new(__path_set_capacity, set_capacity))
        .service(Endpoint::new(__path_create, create).op(__path_list, list))
        .service(Endpoint::new(__path_bulk_downgrade, bulk_downgrade))
        .service(Endpoint::new(__path_get, get).op(__path_update, update).op(__path_delete, delete))
        .service(Endpoint::new(__path_assign_contact, assign_contact))
        .service(Endpoint::new(__path_move_account, move_account))
        .service(Endpoint::new(__path_upgrade, upgrade))
        .service(Endpoint::new(__path_downgrade, downgrade))
        .service(Endpoint::new(__path_login_as, login_as))
        .service(Endpoint::new(__path_session, session))
        .service(Endpoint::new(__path_revoke_session, revoke_session))
        .service(Endpoint::new(__path_create_site, create_site).op(__path_list_sites, list_sites))
        .service(Endpoint::new(__path_get_site, get_site))
        .service(Endpoint::new(__path_site_members, site_members))
        .service(Endpoint::new(__path_add_member, add_member).op(__path_remove_member, remove_member))
        .service(Endpoint::new(__path_register, register))
        .service(Endpoint::new(__path_audit, audit))
        .service(Endpoint::new(wh::__path_create, wh::create).op(wh::__path_list, wh::list))
        .service(Endpoint::new(wh::__path_get, wh::get).op(wh::__path_delete, wh::delete))
        .service(Endpoint::new(wh::__path_deliveries, wh::deliveries))
        .service(Endpoint::new(wh::__path_retry, wh::retry))
        .service(Endpoint::new(wh::__path_get_delivery, wh::get_delivery))
        .service(Endpoint::new(wh::__path_retry_dead, wh::retry_dead))
        .service(Endpoint::new(wh::__path_pause, wh::pause))
        .service(Endpoint::new(wh::__path_resume, wh::resume))
        .service(Endpoint::new(wh::__path_test_event, wh::test_event));
}
