//! `/Groups`: create, read, replace, patch (members add/remove/replace), delete, list.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::error::ScimError;
use super::mapping::{group_from_json, render_group, version};
use super::openapi::{
    GroupListResponse, ListQuery, PatchRequest, ProjectionQuery, ScimBadRequest, ScimConflict, ScimForbidden,
    ScimGroup, ScimGroupWrite, ScimNotFound, ScimPayloadTooLarge, ScimPreconditionFailed, ScimUnauthorized,
    SearchRequest,
};
use super::query::ListParams;
use super::users::{PATCH_TRIES, Projection, patch_contention, patch_error, patch_ops};
use super::{Body, Ctx, Reply, ScimRequest};
use crate::domain::Group;
use crate::error::ServiceError;
use crate::scim::patch::apply;
use crate::scim::projection::project;
use crate::scim::schema::{GROUP_URN, GroupSchema};
use crate::service::groups as svc;

/// Whether a projection leaves `members` out (then they are not even loaded: Entra lists
/// groups with `excludedAttributes=members`).
fn wants_members(proj: &Projection) -> bool {
    // `members`, `members.value`, `members[type eq "User"]`, also core-URN-qualified.
    let core = format!("{}:", GROUP_URN.to_ascii_lowercase());
    let name = |a: &String| {
        let a = a.trim().to_ascii_lowercase();
        a.strip_prefix(&core).map(str::to_owned).unwrap_or(a)
    };
    let whole = |list: &[String]| list.iter().any(|a| name(a) == "members");
    let some =
        |list: &[String]| list.iter().map(name).any(|a| a.starts_with("members") && a[7..].starts_with(['.', '[']));
    !whole(&proj.excluded) && (proj.attributes.is_empty() || whole(&proj.attributes) || some(&proj.attributes))
}

async fn render_many(ctx: &Ctx, groups: &[Group], with_members: bool) -> Result<Vec<Value>, ScimError> {
    let ids: Vec<String> = if with_members {
        groups.iter().flat_map(|g| g.members.iter().map(|m| m.id.clone())).collect()
    } else {
        vec![]
    };
    let names = if ids.is_empty() { Default::default() } else { svc::display_names(&ctx.state.db, ids).await? };
    Ok(groups.iter().map(|g| render_group(g, &names, &ctx.base, with_members)).collect())
}

async fn reply(ctx: &Ctx, g: &Group, status: StatusCode, proj: &Projection) -> Result<Reply, ScimError> {
    let mut body = render_many(ctx, std::slice::from_ref(g), wants_members(proj)).await?.remove(0);
    project(&mut body, &GroupSchema, &proj.attributes, &proj.excluded);
    Ok(Reply {
        status,
        location: Some(format!("{}/Groups/{}", ctx.base, g.id)),
        version: Some(version(g.version)),
        body: Some(Body::Doc(body)),
    })
}

/// What a group document's size leaves out: `meta` (rendered) and `members` (bounded per request).
const UNSIZED: &[&str] = &["meta", "members"];

pub async fn create_op(ctx: &Ctx, body: Value, proj: &Projection) -> Result<Reply, ScimError> {
    ctx.check_size(&body, UNSIZED)?;
    let draft = group_from_json(body)?;
    ctx.check_members(draft.member_ids.len())?;
    let g = svc::create(&ctx.state.db, ctx.actor.clone(), draft).await?;
    reply(ctx, &g, StatusCode::CREATED, proj).await
}

pub async fn get_op(ctx: &Ctx, id: String, if_none_match: Option<i64>, proj: &Projection) -> Result<Reply, ScimError> {
    let g = svc::get(&ctx.state.db, &ctx.actor, id, wants_members(proj)).await?;
    if if_none_match == Some(g.version) {
        return Ok(Reply {
            status: StatusCode::NOT_MODIFIED,
            body: None,
            location: None,
            version: Some(version(g.version)),
        });
    }
    reply(ctx, &g, StatusCode::OK, proj).await
}

pub async fn replace_op(
    ctx: &Ctx,
    id: String,
    body: Value,
    if_match: Option<i64>,
    proj: &Projection,
) -> Result<Reply, ScimError> {
    ctx.check_size(&body, UNSIZED)?;
    let draft = group_from_json(body)?;
    ctx.check_members(draft.member_ids.len())?;
    let g = svc::replace(&ctx.state.db, ctx.actor.clone(), id, draft, if_match).await?;
    reply(ctx, &g, StatusCode::OK, proj).await
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
    let mut tries = 0;
    loop {
        tries += 1;
        // Read and apply outside any transaction; the write re-checks the version.
        let current = svc::get(&ctx.state.db, &ctx.actor, id.clone(), true).await?;
        let base_version = if_match.unwrap_or(current.version);
        if base_version != current.version {
            return Err(ServiceError::VersionMismatch { current: current.version }.into());
        }
        // Members' display names do not matter to the patch: render without them.
        let mut doc = render_group(&current, &Default::default(), &ctx.base, true);
        apply(&mut doc, &ops, &GroupSchema).map_err(patch_error)?;
        ctx.check_size(&doc, UNSIZED)?;
        let draft = group_from_json(doc)?;
        let before: Vec<&str> = current.members.iter().map(|m| m.id.as_str()).collect();
        ctx.check_members(members_changed(&before, &draft.member_ids))?;
        match svc::patch(&ctx.state.db, ctx.actor.clone(), id.clone(), &current, draft).await {
            Err(ServiceError::VersionMismatch { .. }) if if_match.is_none() => {
                if tries == PATCH_TRIES {
                    return Err(patch_contention());
                }
            }
            result => return reply(ctx, &result?, StatusCode::OK, proj).await,
        }
    }
}

pub async fn delete_op(ctx: &Ctx, id: String, if_match: Option<i64>) -> Result<Reply, ScimError> {
    svc::delete(&ctx.state.db, ctx.actor.clone(), id, if_match).await?;
    Ok(Reply { status: StatusCode::NO_CONTENT, body: None, location: None, version: None })
}

/// Lists groups (planned by `service::query`), projected.
pub async fn list_op(ctx: &Ctx, p: ListParams) -> Result<Reply, ScimError> {
    let proj = Projection { attributes: p.attributes.clone(), excluded: p.excluded.clone() };
    let with_members = wants_members(&proj);
    let cap = ctx.state.settings.scim.max_filter_scan;
    let render = |g: &Group, names: &svc::MemberNames, members: bool| render_group(g, names, &ctx.base, members);
    let listing = p.query(&GroupSchema, ctx.state.settings.scim.cursor_timeout_secs)?;
    let page =
        svc::list(&ctx.state.db, &ctx.actor, listing.query, cap, ctx.limits().max_list_bytes, with_members, render)
            .await?;
    super::offloaded_list_reply(page, p, &GroupSchema, listing.fingerprint).await
}

/// Create a group
#[utoipa::path(
    post,
    operation_id = "createGroup",
    path = "/Groups",
    tag = "Groups",
    params(ProjectionQuery),
    request_body(content((ScimGroupWrite = "application/scim+json"), (ScimGroupWrite = "application/json"))),
    responses(
        (status = 201, description = "Created", content_type = "application/scim+json", body = ScimGroup, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String)),
            links(("getGroup" = (operation_id = "getGroup", parameters(("id" = "$response.body#/id")))), ("replaceGroup" = (operation_id = "replaceGroup", parameters(("id" = "$response.body#/id")))), ("patchGroup" = (operation_id = "patchGroup", parameters(("id" = "$response.body#/id")))), ("deleteGroup" = (operation_id = "deleteGroup", parameters(("id" = "$response.body#/id")))))),
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

/// Read a group
#[utoipa::path(
    get,
    operation_id = "getGroup",
    path = "/Groups/{id}",
    tag = "Groups",
    params(("id" = String, Path, description = "The group's id"), ("If-None-Match" = Option<String>, Header, description = "`W/\"version\"`: 304 when unchanged"), ProjectionQuery),
    responses(
        (status = 200, description = "The group", content_type = "application/scim+json", body = ScimGroup, headers(("ETag" = String, description = "`W/\"version\"`"))),
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

/// Replace a group
///
/// PUT: attributes not sent are cleared.
#[utoipa::path(
    put,
    operation_id = "replaceGroup",
    path = "/Groups/{id}",
    tag = "Groups",
    params(("id" = String, Path, description = "The group's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
    request_body(content((ScimGroupWrite = "application/scim+json"), (ScimGroupWrite = "application/json"))),
    responses(
        (status = 200, description = "The replaced group", content_type = "application/scim+json", body = ScimGroup, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
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

/// Modify a group with a PatchOp (RFC 7644 §3.5.2), atomically
#[utoipa::path(
    patch,
    operation_id = "patchGroup",
    path = "/Groups/{id}",
    tag = "Groups",
    params(("id" = String, Path, description = "The group's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
    request_body(content((PatchRequest = "application/scim+json"), (PatchRequest = "application/json"))),
    responses(
        (status = 200, description = "The modified group", content_type = "application/scim+json", body = ScimGroup, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
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

/// Delete a group
#[utoipa::path(
    delete,
    operation_id = "deleteGroup",
    path = "/Groups/{id}",
    tag = "Groups",
    params(("id" = String, Path, description = "The group's id"), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`")),
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

/// List Groups: filter, sort, page, project
#[utoipa::path(
    get,
    operation_id = "listGroups",
    path = "/Groups",
    tag = "Groups",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of Groups", content_type = "application/scim+json", body = GroupListResponse),
        (status = 400, response = ScimBadRequest),
        (status = 401, response = ScimUnauthorized),
        (status = 403, response = ScimForbidden),
    )
)]
pub async fn list(r: ScimRequest) -> Result<HttpResponse, ScimError> {
    let params = r.list_params()?;
    Ok(list_op(&r.ctx, params).await?.into_response())
}

/// Search Groups with the list parameters in the body (RFC 7644 §3.4.3)
#[utoipa::path(
    post,
    operation_id = "searchGroups",
    path = "/Groups/.search",
    tag = "Groups",
    request_body(content((SearchRequest = "application/scim+json"), (SearchRequest = "application/json"))),
    responses(
        (status = 200, description = "A page of Groups", content_type = "application/scim+json", body = GroupListResponse),
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

/// How many members a write changes: those added plus those removed.
fn members_changed(before: &[&str], after: &[String]) -> usize {
    let before: std::collections::HashSet<&str> = before.iter().copied().collect();
    let after: std::collections::HashSet<&str> = after.iter().map(String::as_str).collect();
    before.symmetric_difference(&after).count()
}
