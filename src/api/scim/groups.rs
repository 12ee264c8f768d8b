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
use super::resource::{
    PATCH_TRIES, Projection, ScimResource, Write, deleted, endpoints, not_modified, overtaken, patch_base,
    patch_contention, patch_error, patch_ops,
};
use super::{Body, Ctx, Reply, ScimRequest};
use crate::domain::{Group, GroupId};
use crate::scim::patch::apply;
use crate::scim::projection::project;
use crate::scim::schema::{GROUP_URN, GroupSchema};
use crate::service::groups as svc;

/// The `/Groups` endpoint.
pub struct Groups;

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
    let names =
        if ids.is_empty() { Default::default() } else { svc::display_names(&ctx.state.db, &ctx.cap, ids).await? };
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

/// A group document as a draft, within the size limits and the bound on members changed:
/// all those it lists, or, for a PATCH, those added and removed from `before`.
fn draft(ctx: &Ctx, doc: Value, before: Option<&[&str]>) -> Result<svc::GroupDraft, ScimError> {
    ctx.check_size(&doc, UNSIZED)?;
    let draft = group_from_json(doc)?;
    ctx.check_members(before.map_or(draft.member_ids.len(), |b| members_changed(b, &draft.member_ids)))?;
    Ok(draft)
}

impl ScimResource for Groups {
    const ENDPOINT: &'static str = "Groups";

    async fn create(ctx: &Ctx, body: Value, proj: &Projection) -> Result<Reply, ScimError> {
        let draft = draft(ctx, body, None)?;
        let g = svc::create(&ctx.state.db, &ctx.cap, draft).await?;
        reply(ctx, &g, StatusCode::CREATED, proj).await
    }

    async fn get(ctx: &Ctx, id: String, if_none_match: Option<i64>, proj: &Projection) -> Result<Reply, ScimError> {
        let g = svc::get(&ctx.state.db, &ctx.cap, GroupId::new(id), wants_members(proj)).await?;
        if if_none_match == Some(g.version) {
            return Ok(not_modified(g.version));
        }
        reply(ctx, &g, StatusCode::OK, proj).await
    }

    async fn replace(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError> {
        let draft = draft(ctx, w.body, None)?;
        let g = svc::replace(&ctx.state.db, &ctx.cap, GroupId::new(w.id), draft, w.if_match).await?;
        reply(ctx, &g, StatusCode::OK, proj).await
    }

    async fn patch(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError> {
        let ops = patch_ops(&w.body)?;
        ctx.check_operations(ops.len())?;
        let id = GroupId::new(w.id);
        for _ in 0..PATCH_TRIES {
            // Read and apply outside any transaction; the write re-checks the version.
            let current = svc::get(&ctx.state.db, &ctx.cap, id.clone(), true).await?;
            patch_base(current.version, w.if_match)?;
            // Members' display names do not matter to the patch: render without them.
            let mut doc = render_group(&current, &Default::default(), &ctx.base, true);
            apply(&mut doc, &ops, &GroupSchema).map_err(patch_error)?;
            let before: Vec<&str> = current.members.iter().map(|m| m.id.as_str()).collect();
            let draft = draft(ctx, doc, Some(&before))?;
            let written = svc::patch(&ctx.state.db, &ctx.cap, id.clone(), &current, draft).await;
            if let Some(g) = overtaken(written, w.if_match)? {
                return reply(ctx, &g, StatusCode::OK, proj).await;
            }
        }
        Err(patch_contention())
    }

    async fn delete(ctx: &Ctx, id: String, if_match: Option<i64>) -> Result<Reply, ScimError> {
        svc::delete(&ctx.state.db, &ctx.cap, GroupId::new(id), if_match).await?;
        Ok(deleted())
    }

    /// Lists groups (planned by `service::query`), projected.
    async fn list(ctx: &Ctx, p: ListParams) -> Result<Reply, ScimError> {
        let proj = Projection { attributes: p.attributes.clone(), excluded: p.excluded.clone() };
        let with_members = wants_members(&proj);
        let cap = ctx.state.settings.scim.max_filter_scan;
        let render = |g: &Group, names: &svc::MemberNames, members: bool| render_group(g, names, &ctx.base, members);
        let listing = p.query(&GroupSchema, ctx.state.settings.scim.cursor_timeout_secs)?;
        let budget = ctx.limits().max_list_bytes;
        let page = svc::list(&ctx.state.db, &ctx.cap, listing.query, cap, budget, with_members, render).await?;
        super::offloaded_list_reply(page, p, &GroupSchema, listing.fingerprint).await
    }
}

endpoints! {
    resource = Groups, tag = "Groups", collection = "/Groups", item = "/Groups/{id}", search_path = "/Groups/.search",
    id = "The group's id", schema = ScimGroup, write = ScimGroupWrite, page = GroupListResponse,
    /// Create a group
    create = "createGroup",
    /// Read a group
    get = ("getGroup", "The group"),
    /// Replace a group
    ///
    /// PUT: attributes not sent are cleared.
    replace = ("replaceGroup", "The replaced group"),
    /// Modify a group with a PatchOp (RFC 7644 §3.5.2), atomically
    patch = ("patchGroup", "The modified group"),
    /// Delete a group
    delete = "deleteGroup",
    /// List Groups: filter, sort, page, project
    list = ("listGroups", "A page of Groups"),
    /// Search Groups with the list parameters in the body (RFC 7644 §3.4.3)
    search = "searchGroups",
}

/// How many members a write changes: those added plus those removed.
fn members_changed(before: &[&str], after: &[String]) -> usize {
    let before: std::collections::HashSet<&str> = before.iter().copied().collect();
    let after: std::collections::HashSet<&str> = after.iter().map(String::as_str).collect();
    before.symmetric_difference(&after).count()
}
