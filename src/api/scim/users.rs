//! `/Users`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3–§3.6).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::error::ScimError;
use super::mapping::{profile_from_json, render_user, user_json, version};
use super::openapi::{
    ListQuery, PatchRequest, ProjectionQuery, ScimBadRequest, ScimConflict, ScimForbidden, ScimNotFound,
    ScimPayloadTooLarge, ScimPreconditionFailed, ScimUnauthorized, ScimUser, ScimUserWrite, SearchRequest,
    UserListResponse,
};
use super::query::ListParams;
use super::{Body, Ctx, PATCH_URN, Reply, ScimRequest, query_param};
use crate::error::ServiceError;
use crate::scim::json::{get_ci, lenient_bool};
use crate::scim::patch::{OpKind, PatchOp, apply};
use crate::scim::projection::project;
use crate::scim::schema::{IDENTITY_USER_URN, UserSchema};
use crate::service::scim::{self as svc, UserWithGroups};

/// Projection parameters of a request (RFC 7644 §3.9, on reads and writes alike).
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Projection {
    pub fn from_request(req: &HttpRequest) -> Projection {
        let list = |name: &str| {
            query_param(req, name).map(|s| crate::scim::projection::parse_attr_list(&s)).unwrap_or_default()
        };
        Projection { attributes: list("attributes"), excluded: list("excludedAttributes") }
    }

    pub fn none() -> Projection {
        Projection { attributes: vec![], excluded: vec![] }
    }
}

fn reply(ctx: &Ctx, u: &UserWithGroups, status: StatusCode, proj: &Projection) -> Reply {
    let body = if proj.attributes.is_empty() && proj.excluded.is_empty() {
        Body::Json(user_json(u, &ctx.base))
    } else {
        let mut doc = render_user(u, &ctx.base);
        project(&mut doc, &UserSchema, &proj.attributes, &proj.excluded);
        Body::Doc(doc)
    };
    Reply {
        status,
        location: Some(format!("{}/Users/{}", ctx.base, u.user.id)),
        version: Some(version(u.user.version)),
        body: Some(body),
    }
}

/// What a user document's size leaves out: what the gateway renders itself.
const RENDERED: &[&str] = &["meta", "groups"];

pub async fn create_op(ctx: &Ctx, body: Value, proj: &Projection) -> Result<Reply, ScimError> {
    ctx.check_size(&body, RENDERED)?;
    let (mut profile, password) = profile_from_json(body)?;
    if let Some(p) = password {
        profile.password_hash = Some(svc::hash_password(p).await?);
    }
    let user = svc::create(&ctx.state.db, ctx.actor.clone(), profile, ctx.defaults()?).await?;
    Ok(reply(ctx, &user, StatusCode::CREATED, proj))
}

pub async fn get_op(ctx: &Ctx, id: String, if_none_match: Option<i64>, proj: &Projection) -> Result<Reply, ScimError> {
    let user = svc::get(&ctx.state.db, ctx.actor.clone(), id).await?;
    if if_none_match == Some(user.user.version) {
        return Ok(Reply {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            location: None,
            version: Some(version(user.user.version)),
        });
    }
    Ok(reply(ctx, &user, StatusCode::OK, proj))
}

pub async fn replace_op(
    ctx: &Ctx,
    id: String,
    body: Value,
    if_match: Option<i64>,
    proj: &Projection,
) -> Result<Reply, ScimError> {
    ctx.check_size(&body, RENDERED)?;
    let (mut profile, password) = profile_from_json(body)?;
    if let Some(p) = password {
        profile.password_hash = Some(svc::hash_password(p).await?);
    }
    let user = svc::replace(&ctx.state.db, ctx.actor.clone(), id, profile, if_match).await?;
    Ok(reply(ctx, &user, StatusCode::OK, proj))
}

/// The operations of a PatchOp request (RFC 7644 §3.5.2).
pub fn patch_ops(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let Value::Object(o) = body else {
        return Err(ScimError::bad("invalidSyntax", "the body must be a JSON object"));
    };
    if let Some(Value::Array(schemas)) = get_ci(o, "schemas")
        && !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_URN)))
    {
        return Err(ScimError::bad("invalidSyntax", format!("schemas must contain {PATCH_URN}")));
    }
    let Some(Value::Array(ops)) = get_ci(o, "Operations") else {
        return Err(ScimError::bad("invalidSyntax", "Operations must be an array of operations"));
    };
    if ops.is_empty() {
        return Err(ScimError::bad("invalidSyntax", "Operations is empty"));
    }
    ops.iter()
        .map(|op| {
            let Value::Object(op) = op else {
                return Err(ScimError::bad("invalidSyntax", "each operation must be an object"));
            };
            let name = get_ci(op, "op").and_then(Value::as_str).unwrap_or_default();
            let kind = OpKind::parse(name)
                .ok_or_else(|| ScimError::bad("invalidSyntax", format!("op {name:?}: use add, remove or replace")))?;
            let path = match get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(p.clone()),
                Some(_) => return Err(ScimError::bad("invalidPath", "path must be a string")),
            };
            Ok(PatchOp { op: kind, path, value: get_ci(op, "value").cloned() })
        })
        .collect()
}

/// How many times a PATCH without `If-Match` is re-applied when another write changed the
/// resource between its read and its write (each try re-reads, so the operations apply to
/// the current resource, atomically: RFC 7644 §3.5.2). Every lost try means another write
/// of the same resource committed, so only that many concurrent writers of one resource
/// can exhaust it; the client then gets 409 and may retry.
pub const PATCH_TRIES: usize = 32;

/// The answer when [`PATCH_TRIES`] writes of the same resource kept overtaking a PATCH.
pub fn patch_contention() -> ScimError {
    ScimError::new(
        StatusCode::CONFLICT,
        None,
        format!("the resource changed {PATCH_TRIES} times while this PATCH was applied: retry it"),
    )
}

pub async fn patch_op(
    ctx: &Ctx,
    id: String,
    body: Value,
    if_match: Option<i64>,
    proj: &Projection,
) -> Result<Reply, ScimError> {
    let ops = patch_ops(&body)?;
    ctx.check_operations(ops.len())?;
    let (ops, contactless) = contactless_asked(ops)?;
    // A password comes from the operations alone (it is never rendered): hashed once,
    // on the first try, whatever the retries.
    let mut hashed: Option<String> = None;
    let mut tries = 0;
    loop {
        tries += 1;
        // Read, apply and check outside any transaction: the writer only re-checks the
        // version and writes.
        let current = svc::get(&ctx.state.db, ctx.actor.clone(), id.clone()).await?;
        let base_version = if_match.unwrap_or(current.user.version);
        if base_version != current.user.version {
            // A stale If-Match: nothing to apply (nor a password to hash).
            return Err(ServiceError::VersionMismatch { current: current.user.version }.into());
        }
        let mut doc = render_user(&current, &ctx.base);
        apply(&mut doc, &ops, &UserSchema).map_err(patch_error)?;
        ctx.check_size(&doc, RENDERED)?;
        let (mut profile, password) = profile_from_json(doc)?;
        if let Some(p) = password {
            if hashed.is_none() {
                hashed = Some(svc::hash_password(p).await?);
            }
            profile.password_hash = hashed.clone();
        }
        let cmd = svc::ScimPatch { base_version, profile, contactless };
        match svc::patch(&ctx.state.db, ctx.actor.clone(), id.clone(), cmd).await {
            Err(ServiceError::VersionMismatch { .. }) if if_match.is_none() => {
                if tries == PATCH_TRIES {
                    return Err(patch_contention());
                }
            }
            result => return Ok(reply(ctx, &result?, StatusCode::OK, proj)),
        }
    }
}

/// `contactless` is readOnly in the schema, but asking for a value is a question for rule
/// 2 (the policy answers it), not a bare `mutability` error: the operations that name it
/// are taken out, and the value they ask for is returned.
fn contactless_asked(ops: Vec<PatchOp>) -> Result<(Vec<PatchOp>, Option<bool>), ScimError> {
    let qualified = format!("{IDENTITY_USER_URN}:contactless");
    let mut asked = None;
    let mut ask = |v: &Value| -> Result<(), ScimError> {
        let b = lenient_bool(v).ok_or_else(|| ScimError::bad("invalidValue", "contactless must be a boolean"))?;
        asked = Some(b);
        Ok(())
    };
    let mut out = Vec::with_capacity(ops.len());
    for mut op in ops {
        let path = op.path.as_deref().unwrap_or("");
        if path.eq_ignore_ascii_case(&qualified) {
            if op.op != OpKind::Remove {
                ask(op.value.as_ref().unwrap_or(&Value::Null))?;
            }
            continue;
        }
        // The same attribute inside a path-less value or a whole-extension value.
        let holder = if path.is_empty() {
            op.value.as_mut().and_then(Value::as_object_mut).map(|o| {
                if let Some(k) = o.keys().find(|k| k.eq_ignore_ascii_case(&qualified)).cloned() {
                    let v = o.remove(&k).unwrap_or(Value::Null);
                    return Some(v);
                }
                o.iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case(IDENTITY_USER_URN))
                    .and_then(|(_, e)| e.as_object_mut())
                    .and_then(|e| {
                        e.keys().find(|k| k.eq_ignore_ascii_case("contactless")).cloned().and_then(|k| e.remove(&k))
                    })
            })
        } else if path.eq_ignore_ascii_case(IDENTITY_USER_URN) {
            op.value
                .as_mut()
                .and_then(Value::as_object_mut)
                .map(|e| e.keys().find(|k| k.eq_ignore_ascii_case("contactless")).cloned().and_then(|k| e.remove(&k)))
        } else {
            None
        };
        if let Some(Some(v)) = holder {
            ask(&v)?;
        }
        out.push(op);
    }
    Ok((out, asked))
}

pub fn patch_error(e: crate::scim::patch::PatchError) -> ScimError {
    ScimError::bad(e.scim_type(), e.to_string())
}

pub async fn delete_op(ctx: &Ctx, id: String, if_match: Option<i64>) -> Result<Reply, ScimError> {
    crate::service::users::delete(&ctx.state.db, ctx.actor.clone(), id, if_match).await?;
    Ok(Reply { status: StatusCode::NO_CONTENT, body: None, location: None, version: None })
}

/// Lists users (planned by `service::query`), projected.
pub async fn list_op(ctx: &Ctx, p: ListParams) -> Result<Reply, ScimError> {
    let cap = ctx.state.settings.scim.max_filter_scan;
    let listing = p.query(&UserSchema, ctx.state.settings.scim.cursor_timeout_secs)?;
    let page = svc::list(
        &ctx.state.db,
        &ctx.actor,
        listing.query,
        svc::ListBounds {
            cap,
            budget: ctx.limits().max_list_bytes,
            scan_terms: ctx.state.settings.scim.max_scan_terms,
            heavy: Some(ctx.state.heavy_lists.clone()),
        },
        {
            let base = ctx.base.clone();
            let json_base = base.clone();
            let default_projection = p.attributes.is_empty() && p.excluded.is_empty();
            svc::Render {
                doc: std::sync::Arc::new(move |u| render_user(u, &base)),
                json: default_projection
                    .then(|| std::sync::Arc::new(move |u: &UserWithGroups| user_json(u, &json_base)) as _),
            }
        },
    )
    .await?;
    super::offloaded_list_reply(page, p, &UserSchema, listing.fingerprint).await
}

/// Create a user
///
/// Always contact-backed: the gateway creates the contact (under the extension's `accountId`, else the
/// token's account, else the default account) and grants the extension's `license` or
/// `scim.default_license`; `contactless: true` is refused with 400 `invalidValue`.
#[utoipa::path(
    post,
    operation_id = "createUser",
    path = "/Users",
    tag = "Users",
    params(ProjectionQuery),
    request_body(content((ScimUserWrite = "application/scim+json"), (ScimUserWrite = "application/json"))),
    responses(
        (status = 201, description = "Created", content_type = "application/scim+json", body = ScimUser, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String)),
            links(("getUser" = (operation_id = "getUser", parameters(("id" = "$response.body#/id")))), ("replaceUser" = (operation_id = "replaceUser", parameters(("id" = "$response.body#/id")))), ("patchUser" = (operation_id = "patchUser", parameters(("id" = "$response.body#/id")))), ("deleteUser" = (operation_id = "deleteUser", parameters(("id" = "$response.body#/id")))))),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 409, response = ScimConflict),
        (status = 413, response = ScimPayloadTooLarge),
    )
)]
pub async fn create(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json(body).await?;
    Ok(create_op(&r.ctx, body, &r.projection()).await?.into_response())
}

/// Read a user
#[utoipa::path(
    get,
    operation_id = "getUser",
    path = "/Users/{id}",
    tag = "Users",
    params(("id" = String, Path, description = "The user's id"), ("If-None-Match" = Option<String>, Header, description = "`W/\"version\"`: 304 when unchanged"), ProjectionQuery),
    responses(
        (status = 200, description = "The user", content_type = "application/scim+json", body = ScimUser, headers(("ETag" = String, description = "`W/\"version\"`"))),
        (status = 304, description = "Not modified (If-None-Match)", headers(("ETag" = String, description = "`W/\"version\"`"))),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 404, response = ScimNotFound),
    )
)]
pub async fn get(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    let inm = r.if_none_match();
    Ok(get_op(&r.ctx, id.into_inner(), inm, &r.projection()).await?.into_response())
}

/// Replace a user
///
/// PUT: attributes not sent are cleared (the password is kept unless sent).
#[utoipa::path(
    put,
    operation_id = "replaceUser",
    path = "/Users/{id}",
    tag = "Users",
    params(("id" = String, Path, description = "The user's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
    request_body(content((ScimUserWrite = "application/scim+json"), (ScimUserWrite = "application/json"))),
    responses(
        (status = 200, description = "The replaced user", content_type = "application/scim+json", body = ScimUser, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 404, response = ScimNotFound),
        (status = 409, response = ScimConflict),
        (status = 412, response = ScimPreconditionFailed),
        (status = 413, response = ScimPayloadTooLarge),
    )
)]
pub async fn replace(r: ScimRequest, id: web::Path<String>, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json(body).await?;
    let im = r.if_match();
    Ok(replace_op(&r.ctx, id.into_inner(), body, im, &r.projection()).await?.into_response())
}

/// Modify a user with a PatchOp (RFC 7644 §3.5.2), atomically
#[utoipa::path(
    patch,
    operation_id = "patchUser",
    path = "/Users/{id}",
    tag = "Users",
    params(("id" = String, Path, description = "The user's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
    request_body(content((PatchRequest = "application/scim+json"), (PatchRequest = "application/json"))),
    responses(
        (status = 200, description = "The modified user", content_type = "application/scim+json", body = ScimUser, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 404, response = ScimNotFound),
        (status = 409, response = ScimConflict),
        (status = 412, response = ScimPreconditionFailed),
        (status = 413, response = ScimPayloadTooLarge),
    )
)]
pub async fn patch(r: ScimRequest, id: web::Path<String>, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json(body).await?;
    let im = r.if_match();
    Ok(patch_op(&r.ctx, id.into_inner(), body, im, &r.projection()).await?.into_response())
}

/// Delete a user
#[utoipa::path(
    delete,
    operation_id = "deleteUser",
    path = "/Users/{id}",
    tag = "Users",
    params(("id" = String, Path, description = "The user's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 404, response = ScimNotFound),
        (status = 412, response = ScimPreconditionFailed),
    )
)]
pub async fn delete(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    let im = r.if_match();
    Ok(delete_op(&r.ctx, id.into_inner(), im).await?.into_response())
}

/// List Users: filter, sort, page, project
#[utoipa::path(
    get,
    operation_id = "listUsers",
    path = "/Users",
    tag = "Users",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of Users", content_type = "application/scim+json", body = UserListResponse),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
    )
)]
pub async fn list(r: ScimRequest) -> Result<HttpResponse, ScimError> {
    let params = r.list_params()?;
    Ok(list_op(&r.ctx, params).await?.into_response())
}

/// Search Users with the list parameters in the body (RFC 7644 §3.4.3)
#[utoipa::path(
    post,
    operation_id = "searchUsers",
    path = "/Users/.search",
    tag = "Users",
    request_body(content((SearchRequest = "application/scim+json"), (SearchRequest = "application/json"))),
    responses(
        (status = 200, description = "A page of Users", content_type = "application/scim+json", body = UserListResponse),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
        (status = 413, response = ScimPayloadTooLarge),
    )
)]
pub async fn search(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json(body).await?;
    let params = ListParams::from_search(&body, r.ctx.max_results())?;
    Ok(list_op(&r.ctx, params).await?.into_response())
}
