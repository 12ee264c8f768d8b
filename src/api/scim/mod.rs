//! The SCIM 2.0 service provider under `/scim/v2` (RFC 7643, RFC 7644): a translation
//! layer over the same services as the native API, so that every SCIM write passes the
//! contactless-user policy (rule 2: SCIM users are always contact-backed).

mod bulk;
pub mod cursor;
mod discovery;
pub mod error;
mod groups;
pub mod mapping;
pub mod openapi;
pub mod query;
mod resource;
mod users;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde_json::Value;
use utoipa_actix_web::service_config::ServiceConfig;

use self::error::{SCIM_JSON, ScimError};
use super::extract::within_body_deadline;
use super::route::Endpoint;
use super::{AppState, authenticate};
use crate::domain::License;
use crate::error::ServiceError;
use crate::policy::access::{self, ScimCap};
use crate::scim::attrs::SchemaInfo;
use crate::scim::limits::{DocLimits, LimitError};
use crate::scim::projection::project;
use crate::service::query::{Page, Resource};
use crate::service::scim::ScimDefaults;

pub const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// An authenticated caller allowed on the SCIM surface (`scim` and `admin` tokens): the
/// capability the SCIM services take.
pub struct ScimCaller(pub ScimCap);

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let actor = authenticate(req);
        Box::pin(async move { Ok(ScimCaller(access::scim(actor.await?).map_err(ServiceError::Policy)?)) })
    }
}

/// One request of a caller allowed on the SCIM surface (built only through [`ScimCaller`]'s
/// check): what the operation needs (`ctx`), and the request's own parts — its body
/// within `server.max_body_bytes` (Bulk's within `scim.bulk_max_payload_bytes`, through
/// [`ScimRequest::json_within`]), its conditional headers, its projection and its list
/// parameters.
pub struct ScimRequest {
    pub ctx: Ctx,
    req: HttpRequest,
}

impl FromRequest for ScimRequest {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = ScimCaller::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let ScimCaller(cap) = caller.await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ScimError::from(ServiceError::Internal(anyhow::anyhow!("the app state is missing"))))?;
            Ok(ScimRequest { ctx: Ctx::new(state, cap, &req), req })
        })
    }
}

impl ScimRequest {
    /// The JSON body (413 past `server.max_body_bytes`).
    pub async fn json(&self, body: web::Payload) -> Result<Value, ScimError> {
        self.json_within(body, self.ctx.state.settings.server.max_body_bytes).await
    }

    /// The JSON body (413 past `limit` bytes).
    pub async fn json_within(&self, body: web::Payload, limit: usize) -> Result<Value, ScimError> {
        read_json(&self.req, body, limit).await
    }

    /// The version `If-Match` names, if any.
    pub fn if_match(&self) -> Option<i64> {
        super::header_version(&self.req, header::IF_MATCH)
    }

    /// The version `If-None-Match` names, if any.
    pub fn if_none_match(&self) -> Option<i64> {
        super::header_version(&self.req, header::IF_NONE_MATCH)
    }

    /// A PUT or PATCH of the resource `id`: the body and `If-Match`.
    pub async fn write(&self, id: String, body: web::Payload) -> Result<resource::Write, ScimError> {
        Ok(resource::Write { id, body: self.json(body).await?, if_match: self.if_match() })
    }

    /// `attributes` / `excludedAttributes` of the query string.
    pub fn projection(&self) -> resource::Projection {
        let param = |name| query_param(&self.req, name);
        resource::Projection::parse(param("attributes"), param("excludedAttributes"))
    }

    /// The list parameters of the query string (RFC 7644 §3.4.2).
    pub fn list_params(&self) -> Result<query::ListParams, ScimError> {
        query::ListParams::parse(&query::RawParams::from_query(|n| query_param(&self.req, n)), self.ctx.max_results())
    }
}

/// What one SCIM operation needs, from an HTTP request or a Bulk operation alike.
pub struct Ctx {
    pub state: web::Data<AppState>,
    /// The caller, allowed on the SCIM surface.
    pub cap: ScimCap,
    /// The absolute base URL of `/scim/v2`, for `meta.location` and `$ref`.
    pub base: String,
}

impl Ctx {
    pub fn new(state: web::Data<AppState>, cap: ScimCap, req: &HttpRequest) -> Ctx {
        let base = format!("{}/scim/v2", state.network.base_url(req));
        Ctx { state, cap, base }
    }

    pub fn defaults(&self) -> Result<ScimDefaults, ScimError> {
        let s = &self.state.settings.scim;
        let license: License = s.default_license.parse().map_err(|_| {
            ScimError::from(ServiceError::Internal(anyhow::anyhow!(
                "scim.default_license {:?} is not a license",
                s.default_license
            )))
        })?;
        Ok(ScimDefaults { license, account_name: s.default_account_name.clone() })
    }

    pub fn max_results(&self) -> i64 {
        self.state.settings.scim.max_results.max(1)
    }

    pub fn limits(&self) -> &crate::config::LimitSettings {
        &self.state.settings.limits
    }

    /// Holds a User or Group document to the size limits; `skip` names attributes the
    /// gateway renders itself (`meta`, a user's `groups`) or bounds per request (`members`).
    pub fn check_size(&self, doc: &Value, skip: &[&str]) -> Result<(), ScimError> {
        let l = self.limits();
        let limits = DocLimits {
            max_string_bytes: l.max_string_bytes,
            max_values: l.max_values,
            max_resource_bytes: l.max_resource_bytes,
        };
        limits.check(doc, skip).map_err(|e| match e {
            LimitError::ResourceTooLarge { .. } => ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, e.to_string()),
            LimitError::StringTooLong { .. } | LimitError::TooManyValues { .. } => {
                ScimError::bad("invalidValue", e.to_string())
            }
        })
    }

    /// A PATCH request's operations, at most `limits.max_patch_operations` of them.
    pub fn check_operations(&self, count: usize) -> Result<(), ScimError> {
        let max = self.limits().max_patch_operations;
        if count > max {
            return Err(ScimError::bad("tooMany", format!("{count} operations: at most {max} per PATCH request")));
        }
        Ok(())
    }

    /// Members one group write changes, at most `limits.max_members_per_request`.
    pub fn check_members(&self, changed: usize) -> Result<(), ScimError> {
        let max = self.limits().max_members_per_request;
        if changed > max {
            return Err(ScimError::bad(
                "tooMany",
                format!("{changed} members changed: at most {max} per request (send them in several requests)"),
            ));
        }
        Ok(())
    }
}

/// The outcome of one operation, before it becomes an HTTP response or a Bulk result.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<Body>,
    pub location: Option<String>,
    pub version: Option<String>,
}

/// A reply's body: a document, or JSON already written (a resource with the default
/// projection, a list page) — the two forms a list page's resources take.
pub use crate::service::query::Resource as Body;

impl Reply {
    pub fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if let Some(v) = &self.version {
            res.insert_header((header::ETAG, v.as_str()));
        }
        if let Some(l) = &self.location {
            res.insert_header((header::LOCATION, l.as_str()));
        }
        match self.body {
            Some(Body::Doc(doc)) => res.content_type(SCIM_JSON).body(doc.to_string()),
            Some(Body::Json(bytes)) => res.content_type(SCIM_JSON).body(bytes),
            None => res.finish(),
        }
    }
}

/// Reads a JSON body of at most `limit` bytes (413 past it; `invalidSyntax` when not JSON).
pub async fn read_json(req: &HttpRequest, payload: web::Payload, limit: usize) -> Result<Value, ScimError> {
    let bytes = within_body_deadline(req, payload.to_bytes_limited(limit))
        .await
        .map_err(|_| {
            let ms = super::extract::body_timeout(req).as_millis();
            ScimError::new(StatusCode::REQUEST_TIMEOUT, None, format!("the body did not arrive within {ms} ms"))
        })?
        .map_err(|_| ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, format!("the body exceeds {limit} bytes")))?
        .map_err(|e| ScimError::bad("invalidSyntax", format!("unreadable body: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not valid JSON: {e}")))
}

/// A query-string parameter, by case-insensitive name.
pub fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    url_pairs(req.query_string()).into_iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found(format!("nothing at {}", req.path())))
}

/// RFC 7644 §3.11: `/Me` needs a subject that owns the token; our tokens are clients'.
async fn me(_caller: ScimCaller) -> Result<HttpResponse, ScimError> {
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "/Me is not supported: bearer tokens here belong to clients, not users",
    ))
}

/// `/scim/v2`; each path and method comes from its handler's `#[utoipa::path]`. `/Me` is left
/// out of the document (501 for every method: RFC 7644 §3.11).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        utoipa_actix_web::scope("/scim/v2")
            .configure(routes)
            .map(|scope| scope.service(web::resource("/Me").to(me)))
            .default_service(web::to(not_found)),
    );
}

fn routes(cfg: &mut ServiceConfig) {
    use discovery as d;
    cfg.service(Endpoint::new(d::__path_service_provider_config, d::service_provider_config))
        .service(Endpoint::new(d::__path_resource_types, d::resource_types))
        .service(Endpoint::new(d::__path_resource_type, d::resource_type))
        .service(Endpoint::new(d::__path_schemas, d::schemas))
        .service(Endpoint::new(d::__path_schema, d::schema))
        .configure(users::routes)
        .configure(groups::routes)
        .service(Endpoint::new(bulk::__path_bulk, bulk::bulk))
        .service(Endpoint::new(bulk::__path_root_search, bulk::root_search));
}

/// A ListResponse (RFC 7644 §3.4.2) of a page, projected (RFC 7644 §3.9).
/// Replies larger than this are projected and serialized off the HTTP workers (smaller
/// ones cost less than the hop to a blocking thread).
const OFFLOAD_BYTES: usize = 1 << 20;

/// [`list_reply`] on a blocking thread when the page is large.
pub async fn offloaded_list_reply(
    page: Page,
    p: query::ListParams,
    schema: &'static (dyn SchemaInfo + Sync),
    fingerprint: Option<String>,
) -> Result<Reply, ScimError> {
    if page.bytes <= OFFLOAD_BYTES {
        return Ok(list_reply(page, &p, schema, fingerprint.as_deref()));
    }
    web::block(move || list_reply(page, &p, schema, fingerprint.as_deref()))
        .await
        .map_err(|e| ScimError::from(ServiceError::Internal(anyhow::anyhow!("projecting a page: {e}"))))
}

/// A page as a ListResponse: with `startIndex`, or, cursor-paged (`fingerprint` set), with
/// `nextCursor` unless it is the last page and `previousCursor` unless it is the first
/// (RFC 9865 §2). Written as bytes: resources already written are copied, documents are
/// projected and written.
pub fn list_reply(page: Page, p: &query::ListParams, schema: &dyn SchemaInfo, fingerprint: Option<&str>) -> Reply {
    let mut out = Vec::with_capacity(page.bytes + 512);
    out.extend_from_slice(format!(r#"{{"schemas":["{LIST_URN}"],"totalResults":{}"#, page.total).as_bytes());
    match (&page.edges, fingerprint) {
        (Some(edges), Some(fp)) => {
            let now = chrono::Utc::now().timestamp();
            let cursors = [("nextCursor", &edges.next), ("previousCursor", &edges.previous)];
            for (name, c) in cursors {
                if let Some(text) = c.as_ref().and_then(|c| cursor::encode(c, fp, now)) {
                    out.extend_from_slice(format!(r#","{name}":"#).as_bytes());
                    let _ = serde_json::to_writer(&mut out, &text);
                }
            }
        }
        _ => out.extend_from_slice(format!(r#","startIndex":{}"#, p.start_index).as_bytes()),
    }
    out.extend_from_slice(format!(r#","itemsPerPage":{},"Resources":["#, page.resources.len()).as_bytes());
    for (i, r) in page.resources.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match r {
            Resource::Json(bytes) => out.extend_from_slice(&bytes),
            Resource::Doc(mut doc) => {
                project(&mut doc, schema, &p.attributes, &p.excluded);
                // Writing a document into a Vec cannot fail (its keys are strings).
                let _ = serde_json::to_writer(&mut out, &doc);
            }
        }
    }
    out.extend_from_slice(b"]}");
    Reply { status: StatusCode::OK, body: Some(Body::Json(out)), location: None, version: None }
}

/// A ListResponse (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [LIST_URN],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
