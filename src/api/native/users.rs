//! `/api/v1/users…` handlers: DTO → validated command → service → DTO.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use uuid::Uuid;

use super::dto::*;
use super::{ApiError, Caller, body_id, if_match, page, user_response};
use crate::api::{AppState, bearer};
use crate::domain::{ContactDraft, Email, License, Origin, UserName, ValidationError};
use crate::error::ServiceError;
use crate::policy::PolicyViolation;
use crate::policy::access::Surface;
use crate::service::users::{self as svc, ContactSpec, NewUser, UserChanges, profile_text};

type Res = Result<HttpResponse, ApiError>;

fn invalid(e: ValidationError) -> ApiError {
    ServiceError::Validation(e).into()
}

pub fn parse_license(value: &str) -> Result<License, ApiError> {
    value.parse().map_err(|_| {
        ServiceError::Policy(PolicyViolation::InvalidLicense {
            why: format!(
                "unknown license {value:?}: use external_identity, customer_community, \
                 customer_community_plus or partner_community"
            ),
        })
        .into()
    })
}

pub fn contact_draft(c: ContactBody) -> Result<ContactDraft, ApiError> {
    let account = body_id("contact.accountId", &c.account_id)?;
    ContactDraft::parse(&account, &c.first_name, &c.last_name, &c.email, c.phone.as_deref()).map_err(invalid)
}

fn contact_spec(contact_id: Option<String>, contact: Option<ContactBody>) -> Result<Option<ContactSpec>, ApiError> {
    match (contact_id, contact) {
        (Some(_), Some(_)) => Err(invalid(ValidationError::new("contact", "give contactId or contact, not both"))),
        (Some(id), None) => Ok(Some(ContactSpec::Existing(body_id("contactId", &id)?))),
        (None, Some(c)) => Ok(Some(ContactSpec::New(contact_draft(c)?))),
        (None, None) => Ok(None),
    }
}

pub async fn create(state: web::Data<AppState>, caller: Caller, body: web::Json<CreateUserRequest>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let b = body.into_inner();
    let cmd = NewUser {
        user_name: UserName::parse(&b.user_name).map_err(invalid)?,
        emails: svc::single_email(Email::parse("email", &b.email).map_err(invalid)?),
        first_name: profile_text("firstName", b.first_name.as_deref()).map_err(invalid)?,
        last_name: profile_text("lastName", b.last_name.as_deref()).map_err(invalid)?,
        display_name: profile_text("displayName", b.display_name.as_deref()).map_err(invalid)?,
        external_id: profile_text("externalId", b.external_id.as_deref()).map_err(invalid)?,
        active: b.active.unwrap_or(true),
        license: b.license.as_deref().map(parse_license).transpose()?,
        contact: contact_spec(b.contact_id, b.contact)?,
        site_ids: b.site_ids.unwrap_or_default().iter().map(|s| body_id("siteIds", s)).collect::<Result<_, _>>()?,
        origin: Origin::Native,
        scim_attributes: None,
        password_hash: None,
    };
    let user = svc::create(&state.db, actor, cmd).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

pub async fn list(state: web::Data<AppState>, caller: Caller, q: web::Query<ListUsersQuery>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    let id_filter = |field: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        v.map(|v| {
            Uuid::parse_str(&v)
                .map(|u| u.to_string())
                .map_err(|_| ApiError::validation(StatusCode::BAD_REQUEST, format!("{field} is not an id")))
        })
        .transpose()
    };
    let query = svc::UserQuery {
        contactless: q.contactless,
        license: q.license.as_deref().map(parse_license).transpose()?,
        account_id: id_filter("accountId", q.account_id)?,
        site_id: id_filter("siteId", q.site_id)?,
        active: q.active,
        user_name: q.user_name,
        cursor,
        limit,
    };
    let page = svc::list(&state.db, actor, query).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: page.items.into_iter().map(UserResponse::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

pub async fn get(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let user = svc::get(&state.db, actor, id.to_string()).await?;
    Ok(user_response(StatusCode::OK, user))
}

fn required<T>(field: &str, v: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match v {
        Some(None) => Err(invalid(ValidationError::new(field, "must not be null"))),
        Some(Some(v)) => Ok(Some(v)),
        None => Ok(None),
    }
}

fn nullable_text(field: &str, v: Option<Option<String>>) -> Result<Option<Option<String>>, ApiError> {
    v.map(|inner| profile_text(field, inner.as_deref())).transpose().map_err(invalid)
}

pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<PatchUserRequest>,
) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let b = body.into_inner();
    let changes = UserChanges {
        user_name: required("userName", b.user_name)?.map(|n| UserName::parse(&n)).transpose().map_err(invalid)?,
        email: required("email", b.email)?.map(|e| Email::parse("email", &e)).transpose().map_err(invalid)?,
        first_name: nullable_text("firstName", b.first_name)?,
        last_name: nullable_text("lastName", b.last_name)?,
        display_name: nullable_text("displayName", b.display_name)?,
        external_id: nullable_text("externalId", b.external_id)?,
        active: required("active", b.active)?,
    };
    let user = svc::update(&state.db, actor, id.to_string(), changes, if_match(&req)).await?;
    Ok(user_response(StatusCode::OK, user))
}

pub async fn delete(state: web::Data<AppState>, caller: Caller, req: HttpRequest, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    svc::delete(&state.db, actor, id.to_string(), if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn assign_contact(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<SetContactRequest>,
) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let b = body.into_inner();
    let spec = contact_spec(b.contact_id, b.contact)?
        .ok_or_else(|| invalid(ValidationError::new("contact", "give contactId or contact")))?;
    let user = svc::assign_contact(&state.db, actor, id.to_string(), spec).await?;
    Ok(user_response(StatusCode::OK, user))
}

pub async fn upgrade(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<UpgradeRequest>,
) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let license = parse_license(&body.license)?;
    let user = svc::upgrade(&state.db, actor, id.to_string(), license).await?;
    Ok(user_response(StatusCode::OK, user))
}

pub async fn downgrade(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let user = svc::downgrade(&state.db, actor, id.to_string()).await?;
    Ok(user_response(StatusCode::OK, user))
}

pub async fn bulk_downgrade(state: web::Data<AppState>, caller: Caller, body: web::Json<BulkDowngradeRequest>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let b = body.into_inner();
    let user_ids =
        b.user_ids.map(|ids| ids.iter().map(|i| body_id("userIds", i)).collect::<Result<Vec<_>, _>>()).transpose()?;
    let dry_run = b.dry_run.unwrap_or(false);
    let req = svc::BulkDowngrade { user_ids, inactive_only: b.inactive_only.unwrap_or(false), dry_run };
    let out = svc::bulk_downgrade(&state.db, actor, req).await?;
    Ok(HttpResponse::Ok().json(BulkDowngradeResponse {
        downgraded: out.downgraded,
        skipped: out.skipped.into_iter().map(|(id, code)| SkippedResponse { id, code }).collect(),
        dry_run,
    }))
}

pub async fn login_as(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeUsers)?.clone();
    let ttl = Duration::seconds(state.settings.auth.login_as_ttl_seconds.clamp(1, 86_400));
    let s = svc::login_as(&state.db, actor, id.to_string(), ttl).await?;
    Ok(HttpResponse::Created().json(LoginAsResponse {
        session_token: s.session_token,
        expires_at: s.expires_at,
        user_id: s.user_id,
    }))
}

/// `GET /api/v1/session` with a login-as session token: who the session acts as.
pub async fn session(state: web::Data<AppState>, req: HttpRequest) -> Res {
    let token = bearer(&req).ok_or(ServiceError::Unauthenticated)?.to_owned();
    let (session, user) = svc::use_session(&state.db, token).await?;
    Ok(HttpResponse::Ok().json(SessionResponse {
        session_id: session.id,
        user_id: session.user_id,
        started_by: session.actor,
        expires_at: session.expires_at,
        user: UserResponse::from(user),
    }))
}
