//! Admin endpoints: tokens, accounts, contacts, licenses, sites, audit; and self-registration.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::dto::*;
use super::users::{contact_draft, parse_license};
use super::{ApiError, Caller, page, user_response};
use crate::api::AppState;
use crate::domain::{Email, Role, UserName, ValidationError};
use crate::error::ServiceError;
use crate::policy::access::Surface;
use crate::service::{audit, auth, directory, licenses, sites, users::profile_text};

type Res = Result<HttpResponse, ApiError>;

fn invalid(e: ValidationError) -> ApiError {
    ServiceError::Validation(e).into()
}

fn list<T, R: From<T> + serde::Serialize>(p: crate::service::Page<T>) -> HttpResponse {
    HttpResponse::Ok()
        .json(ListResponse { items: p.items.into_iter().map(R::from).collect::<Vec<R>>(), next_cursor: p.next_cursor })
}

pub async fn create_token(state: web::Data<AppState>, caller: Caller, body: web::Json<CreateTokenRequest>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let b = body.into_inner();
    let role: Role = b.role.parse().map_err(|e: String| {
        invalid(ValidationError::new("role", format!("{e}: use admin, delegated_admin, scim or registration")))
    })?;
    let account_ids = b
        .account_ids
        .unwrap_or_default()
        .iter()
        .map(|a| super::body_id("accountIds", a))
        .collect::<Result<Vec<_>, _>>()?;
    let site_id = b.site_id.map(|s| super::body_id("siteId", &s)).transpose()?;
    let req = auth::NewToken { name: b.name, role, account_ids, site_id };
    let (info, secret) = auth::create(&state.db, actor, req).await?;
    Ok(HttpResponse::Created().json(CreatedTokenResponse {
        id: info.id,
        name: info.name,
        role: info.role.as_str(),
        token: secret,
    }))
}

pub async fn list_tokens(state: web::Data<AppState>, caller: Caller) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let items = auth::list(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(ListResponse { items: items.into_iter().map(TokenResponse::from).collect(), next_cursor: None }))
}

pub async fn revoke_token(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    auth::revoke(&state.db, actor, id.to_string()).await?;
    state.tokens.clear();
    Ok(HttpResponse::NoContent().finish())
}

pub async fn create_account(state: web::Data<AppState>, caller: Caller, body: web::Json<CreateAccountRequest>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let account = directory::create_account(&state.db, actor, body.into_inner().name).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/accounts/{}", account.id)))
        .json(AccountResponse::from(account)))
}

pub async fn list_accounts(state: web::Data<AppState>, caller: Caller, q: web::Query<PageQuery>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, AccountResponse>(directory::list_accounts(&state.db, cursor, limit).await?))
}

pub async fn get_account(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let account = directory::get_account(&state.db, id.to_string()).await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(account)))
}

pub async fn create_contact(state: web::Data<AppState>, caller: Caller, body: web::Json<ContactBody>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let draft = contact_draft(body.into_inner())?;
    let contact = directory::create_contact(&state.db, actor, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/contacts/{}", contact.id)))
        .json(ContactResponse::from(contact)))
}

pub async fn get_contact(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let contact = directory::get_contact(&state.db, id.to_string()).await?;
    Ok(HttpResponse::Ok().json(ContactResponse::from(contact)))
}

pub async fn list_licenses(state: web::Data<AppState>, caller: Caller) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let pools = licenses::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(LicensesResponse { items: pools.into_iter().map(LicenseResponse::from).collect() }))
}

pub async fn set_capacity(
    state: web::Data<AppState>,
    caller: Caller,
    license: web::Path<String>,
    body: web::Json<SetCapacityRequest>,
) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let license = parse_license(&license).map_err(|_| ApiError::not_found(format!("no license {license}")))?;
    let capacity = body
        .into_inner()
        .capacity
        .ok_or_else(|| invalid(ValidationError::new("capacity", "is required (a number, or null for unlimited)")))?;
    let pool = licenses::set_capacity(&state.db, actor, license, capacity).await?;
    Ok(HttpResponse::Ok().json(LicenseResponse::from(pool)))
}

pub async fn create_site(state: web::Data<AppState>, caller: Caller, body: web::Json<CreateSiteRequest>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let b = body.into_inner();
    let site = sites::create(&state.db, actor, b.name, b.url_path_prefix, b.self_registration.unwrap_or(false)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/sites/{}", site.id)))
        .json(SiteResponse::from(site)))
}

pub async fn list_sites(state: web::Data<AppState>, caller: Caller, q: web::Query<PageQuery>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, SiteResponse>(sites::list(&state.db, cursor, limit).await?))
}

pub async fn get_site(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    Ok(HttpResponse::Ok().json(SiteResponse::from(sites::get(&state.db, id.to_string()).await?)))
}

pub async fn site_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, UserResponse>(sites::members(&state.db, id.to_string(), cursor, limit).await?))
}

pub async fn add_member(state: web::Data<AppState>, caller: Caller, path: web::Path<(Uuid, Uuid)>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let (site, user) = path.into_inner();
    sites::add_member(&state.db, actor, site.to_string(), user.to_string()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_member(state: web::Data<AppState>, caller: Caller, path: web::Path<(Uuid, Uuid)>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let (site, user) = path.into_inner();
    sites::remove_member(&state.db, actor, site.to_string(), user.to_string()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<RegisterRequest>,
) -> Res {
    let site_id = id.to_string();
    let actor = caller.may(Surface::Register { site_id: &site_id })?.clone();
    let b = body.into_inner();
    let reg = sites::Registration {
        user_name: UserName::parse(&b.user_name).map_err(invalid)?,
        email: Email::parse("email", &b.email).map_err(invalid)?,
        first_name: profile_text("firstName", b.first_name.as_deref()).map_err(invalid)?,
        last_name: profile_text("lastName", b.last_name.as_deref()).map_err(invalid)?,
    };
    let user = sites::register(&state.db, actor, site_id, reg).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

pub async fn audit(state: web::Data<AppState>, caller: Caller, q: web::Query<AuditQuery>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, AuditEventResponse>(audit::list(&state.db, q.target_id, q.action, cursor, limit).await?))
}
