//! What every SCIM resource type offers (RFC 7644 §3.3–§3.6): the operations a resource
//! type implements ([`ScimResource`]), written once for the HTTP endpoints ([`endpoints!`])
//! and for Bulk ([`run`]), and what its PATCH shares with every other (the operations of
//! the body, the optimistic retry).

use actix_web::http::StatusCode;
use serde_json::Value;

use super::error::ScimError;
use super::query::ListParams;
use super::{Ctx, PATCH_URN, Reply};
use crate::error::ServiceError;
use crate::scim::json::get_ci;
use crate::scim::patch::{OpKind, PatchOp};
use crate::scim::projection::parse_attr_list;

/// Projection parameters of a request (RFC 7644 §3.9, on reads and writes alike).
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

impl Projection {
    pub fn parse(attributes: Option<String>, excluded: Option<String>) -> Projection {
        let list = |s: Option<String>| s.map(|s| parse_attr_list(&s)).unwrap_or_default();
        Projection { attributes: list(attributes), excluded: list(excluded) }
    }

    pub fn none() -> Projection {
        Projection { attributes: vec![], excluded: vec![] }
    }

    /// Whether the projection asks for the whole default document.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }
}

/// A write of one existing resource: PUT or PATCH, from an HTTP request or a Bulk operation.
pub struct Write {
    pub id: String,
    pub body: Value,
    /// The version `If-Match` (or a Bulk operation's `version`) names.
    pub if_match: Option<i64>,
}

/// The operations of a SCIM resource type, each answering a [`Reply`].
pub trait ScimResource {
    /// The endpoint's name, `Users` or `Groups`.
    const ENDPOINT: &'static str;

    async fn create(ctx: &Ctx, body: Value, proj: &Projection) -> Result<Reply, ScimError>;
    async fn get(ctx: &Ctx, id: String, if_none_match: Option<i64>, proj: &Projection) -> Result<Reply, ScimError>;
    async fn replace(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError>;
    async fn patch(ctx: &Ctx, w: Write, proj: &Projection) -> Result<Reply, ScimError>;
    async fn delete(ctx: &Ctx, id: String, if_match: Option<i64>) -> Result<Reply, ScimError>;
    async fn list(ctx: &Ctx, p: ListParams) -> Result<Reply, ScimError>;
}

/// One Bulk operation (RFC 7644 §3.7) on a resource type: `segments` is its path below the
/// endpoint (`[]` or `[id]`); `None` when the method and path name no operation.
pub async fn run<R: ScimResource>(
    ctx: &Ctx,
    method: &str,
    segments: &[&str],
    data: impl FnOnce() -> Result<Value, ScimError>,
    if_match: Option<i64>,
) -> Result<Option<Reply>, ScimError> {
    let none = Projection::none();
    let write = |id: &str, body| Write { id: id.to_owned(), body, if_match };
    Ok(Some(match (method, segments) {
        ("POST", []) => R::create(ctx, data()?, &none).await?,
        ("PUT", [id]) => R::replace(ctx, write(id, data()?), &none).await?,
        ("PATCH", [id]) => R::patch(ctx, write(id, data()?), &none).await?,
        ("DELETE", [id]) => R::delete(ctx, (*id).to_owned(), if_match).await?,
        _ => return Ok(None),
    }))
}

/// The answer to a conditional GET whose `If-None-Match` names the current version.
pub fn not_modified(version: i64) -> Reply {
    Reply {
        status: StatusCode::NOT_MODIFIED,
        body: None,
        location: None,
        version: Some(super::mapping::version(version)),
    }
}

/// The answer to a DELETE.
pub fn deleted() -> Reply {
    Reply { status: StatusCode::NO_CONTENT, body: None, location: None, version: None }
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

pub fn patch_error(e: crate::scim::patch::PatchError) -> ScimError {
    ScimError::bad(e.scim_type(), e.to_string())
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

/// The outcome of one PATCH try: `None` when another write overtook it and it may be
/// tried again (no `If-Match`: the client asked for the current resource, whatever it is).
pub fn overtaken<T>(written: Result<T, ServiceError>, if_match: Option<i64>) -> Result<Option<T>, ScimError> {
    match written {
        Err(ServiceError::VersionMismatch { .. }) if if_match.is_none() => Ok(None),
        written => Ok(Some(written?)),
    }
}

/// The version a PATCH applies to: the current one, unless `If-Match` names another (then
/// nothing is applied: 412).
pub fn patch_base(current: i64, if_match: Option<i64>) -> Result<i64, ScimError> {
    match if_match {
        Some(v) if v != current => Err(ServiceError::VersionMismatch { current }.into()),
        _ => Ok(current),
    }
}

/// The seven HTTP endpoints of a resource type (`R: ScimResource`), each documented for the
/// OpenAPI document: create and list on the collection, search, and get, replace, patch
/// and delete on an item. The strings name operations and describe answers; the doc
/// comments become the operations' summaries.
macro_rules! endpoints {
    (
        resource = $R:ty, tag = $tag:tt, collection = $coll:tt, item = $item:tt, search_path = $spath:tt,
        id = $id_desc:tt, schema = $schema:ident, write = $write:ident, page = $page:ident,
        $(#[doc = $create_doc:tt])* create = $create_id:tt,
        $(#[doc = $get_doc:tt])* get = ($get_id:tt, $get_desc:tt),
        $(#[doc = $replace_doc:tt])* replace = ($replace_id:tt, $replace_desc:tt),
        $(#[doc = $patch_doc:tt])* patch = ($patch_id:tt, $patch_desc:tt),
        $(#[doc = $delete_doc:tt])* delete = $delete_id:tt,
        $(#[doc = $list_doc:tt])* list = ($list_id:tt, $page_desc:tt),
        $(#[doc = $search_doc:tt])* search = $search_id:tt $(,)?
    ) => {
        $(#[doc = $create_doc])*
        #[utoipa::path(post, path = $coll, operation_id = $create_id, tag = $tag,
            params(ProjectionQuery),
            request_body(content(($write = "application/scim+json"), ($write = "application/json"))),
            responses(
                (status = 201, description = "Created", content_type = "application/scim+json", body = $schema, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String)),
                    links(($get_id = (operation_id = $get_id, parameters(("id" = "$response.body#/id")))), ($replace_id = (operation_id = $replace_id, parameters(("id" = "$response.body#/id")))), ($patch_id = (operation_id = $patch_id, parameters(("id" = "$response.body#/id")))), ($delete_id = (operation_id = $delete_id, parameters(("id" = "$response.body#/id")))))),
                ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimConflict, ScimPayloadTooLarge,
            )
        )]
        pub async fn create(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
            let body = r.json(body).await?;
            Ok(<$R as ScimResource>::create(&r.ctx, body, &r.projection()).await?.into_response())
        }

        $(#[doc = $get_doc])*
        #[utoipa::path(get, path = $item, operation_id = $get_id, tag = $tag,
            params(("id" = String, Path, description = $id_desc), ("If-None-Match" = Option<String>, Header, description = "`W/\"version\"`: 304 when unchanged"), ProjectionQuery),
            responses(
                (status = 200, description = $get_desc, content_type = "application/scim+json", body = $schema, headers(("ETag" = String, description = "`W/\"version\"`"))),
                (status = 304, description = "Not modified (If-None-Match)", headers(("ETag" = String, description = "`W/\"version\"`"))),
                ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimNotFound,
            )
        )]
        pub async fn get(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
            let inm = r.if_none_match();
            Ok(<$R as ScimResource>::get(&r.ctx, id.into_inner(), inm, &r.projection()).await?.into_response())
        }

        $(#[doc = $replace_doc])*
        #[utoipa::path(put, path = $item, operation_id = $replace_id, tag = $tag,
            params(("id" = String, Path, description = $id_desc), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
            request_body(content(($write = "application/scim+json"), ($write = "application/json"))),
            responses(
                (status = 200, description = $replace_desc, content_type = "application/scim+json", body = $schema, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
                ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimNotFound, ScimConflict, ScimPreconditionFailed, ScimPayloadTooLarge,
            )
        )]
        pub async fn replace(r: ScimRequest, id: web::Path<String>, body: web::Payload) -> Result<HttpResponse, ScimError> {
            let w = r.write(id.into_inner(), body).await?;
            Ok(<$R as ScimResource>::replace(&r.ctx, w, &r.projection()).await?.into_response())
        }

        $(#[doc = $patch_doc])*
        #[utoipa::path(patch, path = $item, operation_id = $patch_id, tag = $tag,
            params(("id" = String, Path, description = $id_desc), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`"), ProjectionQuery),
            request_body(content((PatchRequest = "application/scim+json"), (PatchRequest = "application/json"))),
            responses(
                (status = 200, description = $patch_desc, content_type = "application/scim+json", body = $schema, headers(("ETag" = String, description = "`W/\"version\"`"), ("Location" = String))),
                ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimNotFound, ScimConflict, ScimPreconditionFailed, ScimPayloadTooLarge,
            )
        )]
        pub async fn patch(r: ScimRequest, id: web::Path<String>, body: web::Payload) -> Result<HttpResponse, ScimError> {
            let w = r.write(id.into_inner(), body).await?;
            Ok(<$R as ScimResource>::patch(&r.ctx, w, &r.projection()).await?.into_response())
        }

        $(#[doc = $delete_doc])*
        #[utoipa::path(delete, path = $item, operation_id = $delete_id, tag = $tag,
            params(("id" = String, Path, description = $id_desc), ("If-Match" = Option<String>, Header, description = "`W/\"version\"` (the ETag), or `*`")),
            responses(
                (status = 204, description = "Deleted"),
                ScimUnauthorized, ScimForbidden, ScimNotFound, ScimPreconditionFailed,
            )
        )]
        pub async fn delete(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
            let im = r.if_match();
            Ok(<$R as ScimResource>::delete(&r.ctx, id.into_inner(), im).await?.into_response())
        }

        $(#[doc = $list_doc])*
        #[utoipa::path(get, path = $coll, operation_id = $list_id, tag = $tag,
            params(ListQuery),
            responses(
                (status = 200, description = $page_desc, content_type = "application/scim+json", body = $page),
                ScimBadRequest, ScimUnauthorized, ScimForbidden,
            )
        )]
        pub async fn list(r: ScimRequest) -> Result<HttpResponse, ScimError> {
            let params = r.list_params()?;
            Ok(<$R as ScimResource>::list(&r.ctx, params).await?.into_response())
        }

        $(#[doc = $search_doc])*
        #[utoipa::path(post, path = $spath, operation_id = $search_id, tag = $tag,
            request_body(content((SearchRequest = "application/scim+json"), (SearchRequest = "application/json"))),
            responses(
                (status = 200, description = $page_desc, content_type = "application/scim+json", body = $page),
                ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimPayloadTooLarge,
            )
        )]
        pub async fn search(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
            let body = r.json(body).await?;
            let params = ListParams::from_search(&body, r.ctx.max_results())?;
            Ok(<$R as ScimResource>::list(&r.ctx, params).await?.into_response())
        }

        /// The endpoints' routes: the collection, its search, an item.
        pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
            use crate::api::route::Endpoint;
            cfg.service(Endpoint::new(__path_list, list).op(__path_create, create))
                .service(Endpoint::new(__path_search, search))
                .service(
                    Endpoint::new(__path_get, get)
                        .op(__path_replace, replace)
                        .op(__path_patch, patch)
                        .op(__path_delete, delete),
                );
        }
    };
}
pub(crate) use endpoints;
