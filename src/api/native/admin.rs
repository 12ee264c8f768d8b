//! Admin endpoints: tokens, accounts, contacts, licenses, sites, audit; and self-registration.

use crate::api::extract::Deferred;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use uuid::Uuid;

use super::dto::license as parse_license;
use super::dto::*;
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use super::{Admin, ApiError, Registrar, page, user_response};
use crate::api::AppState;
use crate::domain::{AccountId, ContactDraft, ContactId, SiteId, TokenId, UserId, ValidationError};
use crate::service::{accounts, audit, auth, licenses, sites};

type Res = Result<HttpResponse, ApiError>;

fn list<T, R: From<T> + serde::Serialize>(p: crate::service::Page<T>) -> HttpResponse {
    HttpResponse::Ok()
        .json(ListResponse { items: p.items.into_iter().map(R::from).collect::<Vec<R>>(), next_cursor: p.next_cursor })
}

/// Create a token (admin)
///
/// The secret is in the response, this once; only its hash is kept.
#[utoipa::path(post, path = "/tokens", operation_id = "createToken", tag = "tokens",
    request_body(content = CreateTokenRequest, examples(
        ("delegated admin" = (summary = "A delegated admin for one account",
            value = json!({"name": "acme-admin", "role": "delegated_admin", "accountIds": ["0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10"]}))),
        ("registration" = (summary = "A registration token bound to a site",
            value = json!({"name": "portal", "role": "registration", "siteId": "0190f3a2-6a0d-7e4f-8b1c-2d3e4f5a6b7c"}))),
        ("scim" = (summary = "A SCIM token for an IdP", value = json!({"name": "entra", "role": "scim"})))
    )),
    responses(
        (status = 201, description = "The token, with its secret", body = CreatedTokenResponse, links(("revokeToken" = (operation_id = "revokeToken", parameters(("id" = "$response.body#/id")))))),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden,
    )
)]
pub async fn create_token(
    state: web::Data<AppState>,
    admin: Admin,
    body: Deferred<web::Json<CreateTokenRequest>>,
) -> Res {
    let body = body.get().await?;
    let req = auth::NewToken::try_from(body.into_inner())?;
    let (info, secret) = auth::create(&state.db, &admin.0, req).await?;
    Ok(HttpResponse::Created().json(CreatedTokenResponse {
        id: info.id.into(),
        name: info.name,
        role: info.role.as_str(),
        token: secret,
    }))
}

/// List tokens (admin), never their secrets
#[utoipa::path(get, path = "/tokens", operation_id = "listTokens", tag = "tokens",
    responses((status = 200, description = "Every token", body = ListResponse<TokenResponse>), Unauthorized, Forbidden)
)]
pub async fn list_tokens(state: web::Data<AppState>, admin: Admin) -> Res {
    let items = auth::list(&state.db, &admin.0).await?;
    Ok(HttpResponse::Ok()
        .json(ListResponse { items: items.into_iter().map(TokenResponse::from).collect(), next_cursor: None }))
}

/// Revoke a token (admin)
///
/// It gets 401 from then on.
#[utoipa::path(delete, path = "/tokens/{id}", operation_id = "revokeToken", tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked"), Unauthorized, Forbidden, NotFound)
)]
pub async fn revoke_token(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    auth::revoke(&state.db, &admin.0, TokenId::new(id.to_string())).await?;
    state.tokens.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a token (admin)
///
/// A new token with the same name, role, accounts, sites and quota replaces it (its secret
/// in the answer, shown once); the old one is revoked in the same transaction and gets 401
/// from then on. A revoked token cannot be rotated (422).
#[utoipa::path(post, path = "/tokens/{id}/rotate", operation_id = "rotateToken", tag = "tokens",
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 201, description = "The new token, with its secret", body = CreatedTokenResponse),
        Unauthorized, Forbidden, NotFound, Unprocessable,
    )
)]
pub async fn rotate_token(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let (info, token) = auth::rotate(&state.db, &admin.0, TokenId::new(id.to_string())).await?;
    state.tokens.clear();
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/tokens/{}", info.id)))
        .json(CreatedTokenResponse { id: info.id.into(), name: info.name, role: info.role.as_str(), token }))
}

/// Create an account (a customer or partner company)
#[utoipa::path(post, path = "/accounts", operation_id = "createAccount", tag = "accounts",
    request_body = CreateAccountRequest,
    responses(
        (status = 201, description = "Created", body = AccountResponse, headers(("Location" = String)), links(("getAccount" = (operation_id = "getAccount", parameters(("id" = "$response.body#/id")))))),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden,
    )
)]
pub async fn create_account(
    state: web::Data<AppState>,
    admin: Admin,
    body: Deferred<web::Json<CreateAccountRequest>>,
) -> Res {
    let body = body.get().await?;
    let account = accounts::create_account(&state.db, &admin.0, body.into_inner().name).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/accounts/{}", account.id)))
        .json(AccountResponse::from(account)))
}

/// List accounts
#[utoipa::path(get, path = "/accounts", operation_id = "listAccounts", tag = "accounts",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of accounts", body = ListResponse<AccountResponse>),
        BadRequest, Unauthorized, Forbidden,
    )
)]
pub async fn list_accounts(state: web::Data<AppState>, admin: Admin, q: Deferred<web::Query<PageQuery>>) -> Res {
    let q = q.get().await?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, AccountResponse>(accounts::list_accounts(&state.db, &admin.0, cursor, limit).await?))
}

/// Read an account
#[utoipa::path(get, path = "/accounts/{id}", operation_id = "getAccount", tag = "accounts",
    params(("id" = uuid::Uuid, Path, description = "The account's id")),
    responses((status = 200, description = "The account", body = AccountResponse), Unauthorized, Forbidden, NotFound)
)]
pub async fn get_account(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let account = accounts::get_account(&state.db, &admin.0, AccountId::new(id.to_string())).await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(account)))
}

/// Create a contact under an account
#[utoipa::path(post, path = "/contacts", operation_id = "createContact", tag = "contacts",
    request_body = ContactBody,
    responses(
        (status = 201, description = "Created", body = ContactResponse, headers(("Location" = String)), links(("getContact" = (operation_id = "getContact", parameters(("id" = "$response.body#/id")))))),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden,
    )
)]
pub async fn create_contact(state: web::Data<AppState>, admin: Admin, body: Deferred<web::Json<ContactBody>>) -> Res {
    let body = body.get().await?;
    let draft = ContactDraft::try_from(body.into_inner())?;
    let contact = accounts::create_contact(&state.db, &admin.0, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/contacts/{}", contact.id)))
        .json(ContactResponse::from(contact)))
}

/// Read a contact
#[utoipa::path(get, path = "/contacts/{id}", operation_id = "getContact", tag = "contacts",
    params(("id" = uuid::Uuid, Path, description = "The contact's id")),
    responses((status = 200, description = "The contact", body = ContactResponse), Unauthorized, Forbidden, NotFound)
)]
pub async fn get_contact(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let contact = accounts::get_contact(&state.db, &admin.0, ContactId::new(id.to_string())).await?;
    Ok(HttpResponse::Ok().json(ContactResponse::from(contact)))
}

/// The four license pools: capacity (null: unlimited), used, available
#[utoipa::path(get, path = "/licenses", operation_id = "listLicenses", tag = "licenses",
    responses((status = 200, description = "Every pool", body = LicensesResponse), Unauthorized, Forbidden)
)]
pub async fn list_licenses(state: web::Data<AppState>, admin: Admin) -> Res {
    let pools = licenses::list(&state.db, &admin.0).await?;
    Ok(HttpResponse::Ok().json(LicensesResponse { items: pools.into_iter().map(LicenseResponse::from).collect() }))
}

/// Set a pool's capacity (admin)
///
/// `null` makes it unlimited. Below the licenses in use: `409 capacity_below_used`.
#[utoipa::path(put, path = "/licenses/{license}", operation_id = "setCapacity", tag = "licenses",
    params(("license" = LicenseName, Path, description = "The license")),
    request_body = SetCapacityRequest,
    responses(
        (status = 200, description = "The pool", body = LicenseResponse),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden, NotFound, Conflict,
    )
)]
pub async fn set_capacity(
    state: web::Data<AppState>,
    admin: Admin,
    license: web::Path<String>,
    body: Deferred<web::Json<SetCapacityRequest>>,
) -> Res {
    let body = body.get().await?;
    let license = parse_license(&license).map_err(|_| ApiError::not_found(format!("no license {license}")))?;
    let capacity = body
        .into_inner()
        .capacity
        .ok_or_else(|| invalid(ValidationError::new("capacity", "is required (a number, or null for unlimited)")))?;
    let pool = licenses::set_capacity(&state.db, &admin.0, license, capacity).await?;
    Ok(HttpResponse::Ok().json(LicenseResponse::from(pool)))
}

/// Create a site (portal)
///
/// `selfRegistration: true` lets registration tokens bound to it register contactless users.
#[utoipa::path(post, path = "/sites", operation_id = "createSite", tag = "sites",
    request_body = CreateSiteRequest,
    responses(
        (status = 201, description = "Created", body = SiteResponse, headers(("Location" = String)), links(("getSite" = (operation_id = "getSite", parameters(("id" = "$response.body#/id")))), ("listSiteMembers" = (operation_id = "listSiteMembers", parameters(("id" = "$response.body#/id")))), ("register" = (operation_id = "register", parameters(("id" = "$response.body#/id")))))),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden, Conflict,
    )
)]
pub async fn create_site(
    state: web::Data<AppState>,
    admin: Admin,
    body: Deferred<web::Json<CreateSiteRequest>>,
) -> Res {
    let body = body.get().await?;
    let site = sites::create(&state.db, &admin.0, sites::NewSite::try_from(body.into_inner())?).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/sites/{}", site.id)))
        .json(SiteResponse::from(site)))
}

/// List sites
#[utoipa::path(get, path = "/sites", operation_id = "listSites", tag = "sites",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of sites", body = ListResponse<SiteResponse>),
        BadRequest, Unauthorized, Forbidden,
    )
)]
pub async fn list_sites(state: web::Data<AppState>, admin: Admin, q: Deferred<web::Query<PageQuery>>) -> Res {
    let q = q.get().await?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, SiteResponse>(sites::list(&state.db, &admin.0, cursor, limit).await?))
}

/// Read a site
#[utoipa::path(get, path = "/sites/{id}", operation_id = "getSite", tag = "sites",
    params(("id" = uuid::Uuid, Path, description = "The site's id")),
    responses((status = 200, description = "The site", body = SiteResponse), Unauthorized, Forbidden, NotFound)
)]
pub async fn get_site(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    Ok(HttpResponse::Ok().json(SiteResponse::from(sites::get(&state.db, &admin.0, SiteId::new(id.to_string())).await?)))
}

/// The site's members
///
/// Contactless or not: same access for everyone.
#[utoipa::path(get, path = "/sites/{id}/members", operation_id = "listSiteMembers", tag = "sites",
    params(("id" = uuid::Uuid, Path, description = "The site's id"), PageQuery),
    responses(
        (status = 200, description = "One page of members", body = ListResponse<UserResponse>),
        BadRequest, Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn site_members(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    q: Deferred<web::Query<PageQuery>>,
) -> Res {
    let q = q.get().await?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    Ok(list::<_, UserResponse>(sites::members(&state.db, &admin.0, SiteId::new(id.to_string()), cursor, limit).await?))
}

/// Make a user a member of the site (idempotent)
#[utoipa::path(put, path = "/sites/{id}/members/{user_id}", operation_id = "addSiteMember", tag = "sites",
    params(("id" = uuid::Uuid, Path, description = "The site's id"), ("user_id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 204, description = "The user is a member"), Unauthorized, Forbidden, NotFound)
)]
pub async fn add_member(state: web::Data<AppState>, admin: Admin, path: web::Path<(Uuid, Uuid)>) -> Res {
    let (site, user) = path.into_inner();
    sites::add_member(&state.db, &admin.0, SiteId::new(site.to_string()), UserId::new(user.to_string())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user from the site (idempotent)
#[utoipa::path(delete, path = "/sites/{id}/members/{user_id}", operation_id = "removeSiteMember", tag = "sites",
    params(("id" = uuid::Uuid, Path, description = "The site's id"), ("user_id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 204, description = "The user is not a member"), Unauthorized, Forbidden, NotFound)
)]
pub async fn remove_member(state: web::Data<AppState>, admin: Admin, path: web::Path<(Uuid, Uuid)>) -> Res {
    let (site, user) = path.into_inner();
    sites::remove_member(&state.db, &admin.0, SiteId::new(site.to_string()), UserId::new(user.to_string())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Self-registration on a site
///
/// With a `registration` token bound to the site. Creates a **contactless** `external_identity` user (`origin: self_registration`), member of the
/// site. A site without self-registration: `403 self_registration_disabled`.
#[utoipa::path(post, path = "/sites/{id}/register", operation_id = "register", tag = "sites",
    params(("id" = uuid::Uuid, Path, description = "The site's id")),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The new contactless user", body = UserResponse,
            headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String)),
            links(("getUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id")))), ("updateUser" = (operation_id = "updateUser", parameters(("id" = "$response.body#/id")))), ("upgradeUser" = (operation_id = "upgradeUser", parameters(("id" = "$response.body#/id")))), ("downgradeUser" = (operation_id = "downgradeUser", parameters(("id" = "$response.body#/id")))), ("assignContact" = (operation_id = "assignContact", parameters(("id" = "$response.body#/id")))), ("loginAs" = (operation_id = "loginAs", parameters(("id" = "$response.body#/id")))), ("deleteUser" = (operation_id = "deleteUser", parameters(("id" = "$response.body#/id"))))),
            example = json!({"id": "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01", "userName": "ana@example.com",
                "externalId": null, "email": "ana@example.com", "firstName": null, "lastName": null,
                "displayName": null, "active": true, "license": "external_identity", "contactId": null,
                "accountId": null, "contactless": true, "origin": "self_registration",
                "siteIds": ["0190f3a2-6a0d-7e4f-8b1c-2d3e4f5a6b7c"], "createdAt": "2025-01-15T09:30:00.123456Z",
                "updatedAt": "2025-01-15T09:30:00.123456Z", "version": 1})),
        BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable, Unauthorized, Forbidden, NotFound, Conflict,
    )
)]
pub async fn register(
    state: web::Data<AppState>,
    caller: Registrar,
    id: web::Path<Uuid>,
    body: Deferred<web::Json<RegisterRequest>>,
) -> Res {
    let body = body.get().await?;
    let site_id = id.to_string();
    let actor = caller.0;
    let reg = sites::Registration::try_from(body.into_inner())?;
    let user = sites::register(&state.db, actor, SiteId::new(site_id), reg).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

/// The audit trail, newest first
///
/// Every mutation with its actor and before/after.
#[utoipa::path(get, path = "/audit", operation_id = "listAudit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of events", body = ListResponse<AuditEventResponse>),
        BadRequest, Unauthorized, Forbidden, Unprocessable,
    )
)]
pub async fn audit(state: web::Data<AppState>, admin: Admin, q: Deferred<web::Query<AuditQuery>>) -> Res {
    let q = q.get().await?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    let filter =
        audit::AuditFilter { target_id: q.target_id, action: q.action, actor: q.actor, from: q.from, to: q.to };
    Ok(list::<_, AuditEventResponse>(audit::list(&state.db, &admin.0, filter, cursor, limit).await?))
}
