//! `/api/v1/users…` handlers: DTO → validated command → service → DTO.

use crate::api::extract::Deferred;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use uuid::Uuid;

use super::dto::*;
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, PreconditionFailed, Problem, Unauthorized,
    Unprocessable, UnsupportedMediaType,
};
use super::{ApiError, UsersCaller, body_id, if_match, page, user_response};
use crate::api::{AppState, bearer};
use crate::domain::{AccountId, SessionId, UserId};
use crate::error::ServiceError;
use crate::service::users::{self as svc, ContactSpec, NewUser, UserChanges};

type Res = Result<HttpResponse, ApiError>;

use super::dto::license as parse_license;

/// Create a user
///
/// Without `contactId` or `contact` the user is **contactless** and holds `external_identity`; with a
/// contact it may hold a community license (from its pool). A delegated admin must name a contact in
/// one of its accounts (`403 delegated_admin_forbidden` for a contactless user, `403 out_of_scope`
/// outside its accounts).
#[utoipa::path(post, path = "/users", operation_id = "createUser", tag = "users",
    request_body(content = CreateUserRequest, examples(
        ("contactless" = (summary = "A contactless user (external_identity, no contact)",
            value = json!({"userName": "ana@example.com", "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz"}))),
        ("new contact" = (summary = "A community user with a new contact under an account",
            value = json!({"userName": "bo@acme.example", "email": "bo@acme.example", "license": "customer_community",
                "contact": {"accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10", "firstName": "Bo", "lastName": "Lind",
                    "email": "bo@acme.example"}}))),
        ("existing contact" = (summary = "A partner user linked to an existing contact",
            value = json!({"userName": "cy@partner.example", "email": "cy@partner.example", "license": "partner_community",
                "contactId": "0190f3a2-8d2f-7a6b-9c3e-1f2a3b4c5d6e"})))
    )),
    responses(
        (status = 201, description = "Created", body = UserResponse,
            headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String, description = "The user's URL")),
            links(("getUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id")))), ("updateUser" = (operation_id = "updateUser", parameters(("id" = "$response.body#/id")))), ("upgradeUser" = (operation_id = "upgradeUser", parameters(("id" = "$response.body#/id")))), ("downgradeUser" = (operation_id = "downgradeUser", parameters(("id" = "$response.body#/id")))), ("assignContact" = (operation_id = "assignContact", parameters(("id" = "$response.body#/id")))), ("loginAs" = (operation_id = "loginAs", parameters(("id" = "$response.body#/id")))), ("deleteUser" = (operation_id = "deleteUser", parameters(("id" = "$response.body#/id")))))),
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: UsersCaller,
    body: Deferred<web::Json<CreateUserRequest>>,
) -> Res {
    let body = body.get().await?;
    let cap = caller.0;
    let max = state.settings.limits.max_values;
    if body.site_ids.as_ref().is_some_and(|s| s.len() > max) {
        return Err(ApiError::validation(StatusCode::UNPROCESSABLE_ENTITY, format!("siteIds: more than {max} values")));
    }
    let cmd = NewUser::try_from(body.into_inner())?;
    let user = svc::create(&state.db, &cap, cmd).await?;
    Ok(user_response(StatusCode::CREATED, user))
}

/// List users, filtered, one page at a time (a delegated admin sees its accounts' users)
#[utoipa::path(get, path = "/users", operation_id = "listUsers", tag = "users",
    params(ListUsersQuery),
    responses(
        (status = 200, description = "One page of users", body = ListResponse<UserResponse>),
        BadRequest, Unauthorized, Forbidden, Unprocessable,
    )
)]
pub async fn list(state: web::Data<AppState>, caller: UsersCaller, q: Deferred<web::Query<ListUsersQuery>>) -> Res {
    let q = q.get().await?;
    let cap = caller.0;
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
    let page = svc::list(&state.db, &cap, query).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: page.items.into_iter().map(UserResponse::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Read a user
#[utoipa::path(get, path = "/users/{id}", operation_id = "getUser", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserResponse, headers(("ETag" = String, description = "`W/\"version\"`"))),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn get(state: web::Data<AppState>, caller: UsersCaller, id: web::Path<Uuid>) -> Res {
    let cap = caller.0;
    let user = svc::get(&state.db, &cap, UserId::new(id.to_string())).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Change a user's profile or active flag
///
/// Absent fields stay; `null` clears a nullable one. With `If-Match`, a stale version gets 412.
#[utoipa::path(patch, path = "/users/{id}", operation_id = "updateUser", tag = "users",
    params(
        ("id" = uuid::Uuid, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the user's ETag), or `*`"),
    ),
    request_body = PatchUserRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse, headers(("ETag" = String, description = "`W/\"version\"`"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: UsersCaller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    body: Deferred<web::Json<PatchUserRequest>>,
) -> Res {
    let body = body.get().await?;
    let cap = caller.0;
    let changes = UserChanges::try_from(body.into_inner())?;
    let user = svc::update(&state.db, &cap, UserId::new(id.to_string()), changes, if_match(&req)).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Delete a user; its license returns to its pool (the contact stays)
#[utoipa::path(delete, path = "/users/{id}", operation_id = "deleteUser", tag = "users",
    params(
        ("id" = uuid::Uuid, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the user's ETag), or `*`"),
    ),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound, PreconditionFailed)
)]
pub async fn delete(state: web::Data<AppState>, caller: UsersCaller, req: HttpRequest, id: web::Path<Uuid>) -> Res {
    let cap = caller.0;
    svc::delete(&state.db, &cap, UserId::new(id.to_string()), if_match(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Link a contact to the user
///
/// An existing one by `contactId`, or a new one from `contact`. The license is unchanged: upgrade afterwards.
#[utoipa::path(put, path = "/users/{id}/contact", operation_id = "assignContact", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body(content = SetContactRequest, examples(
        ("new contact" = (summary = "Create the contact under an account",
            value = json!({"contact": {"accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10", "firstName": "Ana",
                "lastName": "Ruiz", "email": "ana@example.com"}}))),
        ("existing contact" = (summary = "Link an existing contact",
            value = json!({"contactId": "0190f3a2-8d2f-7a6b-9c3e-1f2a3b4c5d6e"})))
    )),
    responses(
        (status = 200, description = "The user, now contact-backed", body = UserResponse, headers(("ETag" = String, description = "`W/\"version\"`"))),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
    )
)]
pub async fn assign_contact(
    state: web::Data<AppState>,
    caller: UsersCaller,
    id: web::Path<Uuid>,
    body: Deferred<web::Json<SetContactRequest>>,
) -> Res {
    let body = body.get().await?;
    let cap = caller.0;
    let spec = ContactSpec::try_from(body.into_inner())?;
    let user = svc::assign_contact(&state.db, &cap, UserId::new(id.to_string()), spec).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Move a user to another account
///
/// The user's contact moves to the account; licenses and pools are unchanged, and moving to the
/// account the user is in is a no-op. A contactless user has no contact to move (`422
/// contact_required`); a delegated admin moves only between its own accounts (`403 out_of_scope`).
/// Honours `If-Match`. Audited as `user.account_moved`.
#[utoipa::path(put, path = "/users/{id}/account", operation_id = "moveUserAccount", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id"),
        ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the user's ETag), or `*`")),
    request_body(content = MoveAccountRequest),
    responses(
        (status = 200, description = "The user, under the account", body = UserResponse, headers(("ETag" = String, description = "`W/\"version\"`"))),
        (status = 422, description = "`contact_required` (a contactless user) or `validation_failed` (no such account)",
            body = Problem, content_type = "application/problem+json"),
        BadRequest, Unauthorized, Forbidden, NotFound, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType,
    )
)]
pub async fn move_account(
    state: web::Data<AppState>,
    caller: UsersCaller,
    id: web::Path<Uuid>,
    req: HttpRequest,
    body: Deferred<web::Json<MoveAccountRequest>>,
) -> Res {
    let body = body.get().await?;
    let to = body_id("accountId", &body.account_id)?;
    let (user, to) = (UserId::new(id.to_string()), AccountId::new(to));
    let user = svc::move_to_account(&state.db, &caller.0, user, to, if_match(&req)).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Upgrade to a community license
///
/// A contactless user needs a contact first (`422 contact_required`: `PUT /api/v1/users/{id}/contact`);
/// the license comes from its pool (`409 license_unavailable` when full); `external_identity` is not an
/// upgrade (`422 invalid_license`: downgrade instead). Upgrading to the license the user holds is a
/// no-op.
#[utoipa::path(post, path = "/users/{id}/upgrade", operation_id = "upgradeUser", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body(content = UpgradeRequest, example = json!({"license": "customer_community"})),
    responses(
        (status = 200, description = "The upgraded user", body = UserResponse,
            headers(("ETag" = String, description = "`W/\"version\"`")),
            example = json!({"id": "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01", "userName": "ana@example.com",
                "externalId": null, "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz",
                "displayName": null, "active": true, "license": "customer_community",
                "contactId": "0190f3a2-8d2f-7a6b-9c3e-1f2a3b4c5d6e", "accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10",
                "contactless": false, "origin": "self_registration", "siteIds": ["0190f3a2-6a0d-7e4f-8b1c-2d3e4f5a6b7c"],
                "createdAt": "2025-01-15T09:30:00.123456Z", "updatedAt": "2025-01-16T10:00:00.654321Z", "version": 3})),
        (status = 422, description = "`contact_required` (contactless: assign a contact first) or `invalid_license`",
            body = Problem, content_type = "application/problem+json",
            example = json!({"type": "urn:scimgate:problem:contact_required", "title": "Contact required", "status": 422,
                "detail": "upgrading a contactless user to a community license requires a contact: assign one first with PUT /api/v1/users/{id}/contact",
                "code": "contact_required"})),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge, UnsupportedMediaType,
    )
)]
pub async fn upgrade(
    state: web::Data<AppState>,
    caller: UsersCaller,
    id: web::Path<Uuid>,
    body: Deferred<web::Json<UpgradeRequest>>,
) -> Res {
    let body = body.get().await?;
    let cap = caller.0;
    let license = parse_license(&body.license)?;
    let user = svc::upgrade(&state.db, &cap, UserId::new(id.to_string()), license).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Downgrade to contactless
///
/// The license becomes `external_identity`, the user is unlinked from its contact (the contact stays)
/// and the community license returns to its pool. A contactless user is left as it is (a no-op that
/// succeeds). Delegated admins cannot (`403 delegated_admin_forbidden`: it would make a contactless
/// user).
#[utoipa::path(post, path = "/users/{id}/downgrade", operation_id = "downgradeUser", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, now contactless", body = UserResponse,
            headers(("ETag" = String, description = "`W/\"version\"`")),
            example = json!({"id": "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01", "userName": "ana@example.com",
                "externalId": null, "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz",
                "displayName": null, "active": false, "license": "external_identity", "contactId": null,
                "accountId": null, "contactless": true, "origin": "self_registration",
                "siteIds": ["0190f3a2-6a0d-7e4f-8b1c-2d3e4f5a6b7c"], "createdAt": "2025-01-15T09:30:00.123456Z",
                "updatedAt": "2025-02-01T08:00:00.000001Z", "version": 5})),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn downgrade(state: web::Data<AppState>, caller: UsersCaller, id: web::Path<Uuid>) -> Res {
    let cap = caller.0;
    let user = svc::downgrade(&state.db, &cap, UserId::new(id.to_string())).await?;
    Ok(user_response(StatusCode::OK, user))
}

/// Downgrade many users at once (see the single downgrade)
///
/// Those named by `userIds`, else every community-license user the token manages; `inactiveOnly` keeps
/// only inactive ones; `dryRun` reports without changing anything. Users left alone are listed in
/// `skipped`.
#[utoipa::path(post, path = "/users/downgrade", operation_id = "downgradeUsers", tag = "users",
    request_body(content = BulkDowngradeRequest, examples(
        ("preview inactive" = (summary = "Preview: which inactive community users would be downgraded",
            value = json!({"inactiveOnly": true, "dryRun": true}))),
        ("inactive" = (summary = "Downgrade every inactive community user", value = json!({"inactiveOnly": true}))),
        ("by id" = (summary = "Downgrade named users",
            value = json!({"userIds": ["0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01"]})))
    )),
    responses(
        (status = 200, description = "What was (or would be) downgraded", body = BulkDowngradeResponse),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
    )
)]
pub async fn bulk_downgrade(
    state: web::Data<AppState>,
    caller: UsersCaller,
    body: Deferred<web::Json<BulkDowngradeRequest>>,
) -> Res {
    let body = body.get().await?;
    let cap = caller.0;
    let req = svc::BulkDowngrade::try_from(body.into_inner())?;
    let dry_run = req.dry_run;
    let out = svc::bulk_downgrade(&state.db, &cap, req).await?;
    Ok(HttpResponse::Ok().json(BulkDowngradeResponse {
        downgraded: out.downgraded,
        skipped: out.skipped.into_iter().map(|(id, code)| SkippedResponse { id, code }).collect(),
        dry_run,
    }))
}

/// Start a login-as (impersonation) session for the user
///
/// Needs a contact (`422 contact_required` for a contactless user).
#[utoipa::path(post, path = "/users/{id}/login-as", operation_id = "loginAs", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 201, description = "The session", body = LoginAsResponse),
        (status = 422, description = "`contact_required`: the user is contactless", body = Problem,
            content_type = "application/problem+json",
            example = json!({"type": "urn:scimgate:problem:contact_required", "title": "Contact required", "status": 422,
                "detail": "login-as requires a contact and this user is contactless: assign a contact first with PUT /api/v1/users/{id}/contact",
                "code": "contact_required"})),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn login_as(state: web::Data<AppState>, caller: UsersCaller, id: web::Path<Uuid>) -> Res {
    let cap = caller.0;
    let ttl = Duration::seconds(state.settings.auth.login_as_ttl_seconds.clamp(1, 86_400));
    let s = svc::login_as(&state.db, &cap, UserId::new(id.to_string()), ttl).await?;
    Ok(HttpResponse::Created().json(LoginAsResponse {
        session_token: s.session_token,
        expires_at: s.expires_at,
        user_id: s.user_id,
    }))
}

/// Who a login-as session acts as
///
/// Call it with the `sessionToken` as the bearer token.
#[utoipa::path(get, path = "/session", operation_id = "getSession", tag = "users",
    responses((status = 200, description = "The session and its user", body = SessionResponse), Unauthorized)
)]
pub async fn session(state: web::Data<AppState>, req: HttpRequest) -> Res {
    let token = bearer(&req)?.ok_or(ServiceError::Unauthenticated)?.to_owned();
    // Session secrets are guessed like tokens: failures count toward the address's allowance.
    let ip = state.network.client_ip(&req);
    let (session, user) = crate::api::guarded_attempt(&state, ip, svc::use_session(&state.db, token)).await?;
    Ok(HttpResponse::Ok().json(SessionResponse {
        session_id: session.id.into(),
        user_id: session.user_id.into(),
        started_by: session.actor,
        expires_at: session.expires_at,
        user: UserResponse::from(user),
    }))
}

/// End a login-as session (admin)
///
/// The session's token gets 401 from then on. Sessions also end when the token that
/// started them is revoked, and when their user is downgraded to contactless.
#[utoipa::path(delete, path = "/sessions/{id}", operation_id = "revokeSession", tag = "users",
    params(("id" = uuid::Uuid, Path, description = "The session's id (`sessionId`)")),
    responses((status = 204, description = "Ended"), Unauthorized, Forbidden, NotFound)
)]
pub async fn revoke_session(state: web::Data<AppState>, admin: super::Admin, id: web::Path<Uuid>) -> Res {
    svc::revoke_login_session(&state.db, &admin.0, SessionId::new(id.to_string())).await?;
    Ok(HttpResponse::NoContent().finish())
}
