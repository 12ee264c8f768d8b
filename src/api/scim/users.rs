//! `/Users`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3–§3.6).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::error::ScimError;
use super::mapping::{profile_from_json, render_user, user_json, version};
use super::openapi::{
    ListQuery, PatchRequest, ProjectionQuery, ScimBadRequest, ScimConflict, ScimForbidden, ScimNotFound,
    ScimPayloadTooLarge, ScimPreconditionFailed, ScimUnauthorized, ScimUser, ScimUserWrite, SearchRequest,
    UserListResponse,
};
use super::query::ListParams;
use super::resource::{
    PATCH_TRIES, Projection, ScimResource, Write, deleted, endpoints, not_modified, overtaken, patch_base,
    patch_contention, patch_error, patch_ops,
};
use super::{Body, Ctx, Reply, ScimRequest};
use crate::domain::UserId;
use crate::scim::json::lenient_bool;
use crate::scim::patch::{OpKind, PatchOp, apply};
use crate::scim::projection::project;
use crate::scim::schema::{IDENTITY_USER_URN, UserSchema};
use crate::service::scim::{self as svc, ScimProfile, UserWithGroups};

/// The `/Users` endpoint.
pub struct Users;

fn reply(ctx: &Ctx, u: &UserWithGroups, status: StatusCode, proj: &Projection) -> Reply {
    let body = if proj.is_default() {
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

/// A user document's profile, its password hashed (off the writer).
async fn profile(ctx: &Ctx, body: Value) -> Result<ScimProfile, ScimError> {
    ctx.check_size(&body, RENDERED)?;
    let (mut profile, password) = profile_from_json(body)?;
    if let Some(p) = password {
        profile.password_hash = Some(svc::hash_password(p).await?);
    }
    Ok(profile)
}

impl ScimResource for Users {
    const ENDPOINT: &'static str = "Users";

    async fn create(ctx: &Ctx, body: Value, proj: &Projection) -> Result<Reply, ScimError> {
        let profile = profile(ctx, body).await?;
        let user = svc::create(&ctx.state.db, &ctx.cap, profile, ctx.defaults()?).await?;
        Ok(reply(ctx, &user, StatusCode::CREATED, proj))
    }

    async fn get(ctx: &Ctx, id: String, if_none_match: Option<i64>, proj: &Projection) -> Result<Reply, ScimError> {
        let user = svc::get(&ctx.state.db, &ctx.cap, UserId::new(id)).await?;
        if if_none_match == Some(user.user.version) {
            return Ok(not_modified(user.user.version));
        }
        Ok(reply(ctx, &user, StatusCode::OK, proj))
    }

    async fn replace(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError> {
        let profile = profile(ctx, w.body).await?;
        let user = svc::replace(&ctx.state.db, &ctx.cap, UserId::new(w.id), profile, w.if_match).await?;
        Ok(reply(ctx, &user, StatusCode::OK, proj))
    }

    async fn patch(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError> {
        let ops = patch_ops(&w.body)?;
        ctx.check_operations(ops.len())?;
        let (ops, contactless) = contactless_asked(ops)?;
        // A password comes from the operations alone (it is never rendered): hashed once,
        // on the first try, whatever the retries.
        let mut hashed: Option<String> = None;
        let id = UserId::new(w.id);
        for _ in 0..PATCH_TRIES {
            // Read, apply and check outside any transaction: the writer only re-checks the
            // version and writes. A stale If-Match applies nothing (nor hashes a password).
            let current = svc::get(&ctx.state.db, &ctx.cap, id.clone()).await?;
            let base_version = patch_base(current.user.version, w.if_match)?;
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
            let written = svc::patch(&ctx.state.db, &ctx.cap, id.clone(), cmd).await;
            if let Some(user) = overtaken(written, w.if_match)? {
                return Ok(reply(ctx, &user, StatusCode::OK, proj));
            }
        }
        Err(patch_contention())
    }

    async fn delete(ctx: &Ctx, id: String, if_match: Option<i64>) -> Result<Reply, ScimError> {
        svc::delete(&ctx.state.db, &ctx.cap, UserId::new(id), if_match).await?;
        Ok(deleted())
    }

    /// Lists users (planned by `service::query`), projected.
    async fn list(ctx: &Ctx, p: ListParams) -> Result<Reply, ScimError> {
        let cap = ctx.state.settings.scim.max_filter_scan;
        let listing = p.query(&UserSchema, ctx.state.settings.scim.cursor_timeout_secs)?;
        let bounds = svc::ListBounds {
            cap,
            budget: ctx.limits().max_list_bytes,
            scan_terms: ctx.state.settings.scim.max_scan_terms,
            heavy: Some(ctx.state.heavy_lists.clone()),
        };
        let (base, json_base) = (ctx.base.clone(), ctx.base.clone());
        let render = svc::Render {
            doc: std::sync::Arc::new(move |u| render_user(u, &base)),
            json: (p.attributes.is_empty() && p.excluded.is_empty())
                .then(|| std::sync::Arc::new(move |u: &UserWithGroups| user_json(u, &json_base)) as _),
        };
        let page = svc::list(&ctx.state.db, &ctx.cap, listing.query, bounds, render).await?;
        super::offloaded_list_reply(page, p, &UserSchema, listing.fingerprint).await
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

endpoints! {
    resource = Users, tag = "Users", collection = "/Users", item = "/Users/{id}", search_path = "/Users/.search",
    id = "The user's id", schema = ScimUser, write = ScimUserWrite, page = UserListResponse,
    /// Create a user
    ///
    /// Always contact-backed: the gateway creates the contact (under the extension's `accountId`, else the
    /// token's account, else the default account) and grants the extension's `license` or
    /// `scim.default_license`; `contactless: true` is refused with 400 `invalidValue`.
    create = "createUser",
    /// Read a user
    get = ("getUser", "The user"),
    /// Replace a user
    ///
    /// PUT: attributes not sent are cleared (the password is kept unless sent).
    replace = ("replaceUser", "The replaced user"),
    /// Modify a user with a PatchOp (RFC 7644 §3.5.2), atomically
    patch = ("patchUser", "The modified user"),
    /// Delete a user
    delete = "deleteUser",
    /// List Users: filter, sort, page, project
    list = ("listUsers", "A page of Users"),
    /// Search Users with the list parameters in the body (RFC 7644 §3.4.3)
    search = "searchUsers",
}
