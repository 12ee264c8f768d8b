//! Bulk (RFC 7644 §3.7) and the root `/.search` (§3.4.3).
//!
//! Bulk operations run in order through the same functions as single requests. A
//! `bulkId:X` reference (in a path or anywhere in `data`) waits until the POST that
//! declares X has succeeded, so forward references work; references that can never be
//! resolved — circular ones, or to a failed or undeclared bulkId — fail with 409.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::error::{SCIM_JSON, ScimError};
use super::groups::Groups;
use super::openapi::{
    BulkRequest, BulkResponse, ResourceListResponse, ScimBadRequest, ScimForbidden, ScimPayloadTooLarge,
    ScimUnauthorized, SearchRequest,
};
use super::query::ListParams;
use super::resource::{self, ScimResource};
use super::users::Users;
use super::{Ctx, Reply, ScimRequest, list_response};
use crate::scim::json::get_ci;

pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

struct Op {
    method: String,
    bulk_id: Option<String>,
    version: Option<String>,
    path: String,
    data: Option<Value>,
}

/// Every `bulkId:X` reference in a value.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                out.push(id.to_owned());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        Value::Object(o) => o.values().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

/// The `bulkId:X` references among a path's segments (`/Groups/bulkId:qwerty`).
fn path_references(path: &str, out: &mut Vec<String>) {
    out.extend(path.split('/').filter_map(|seg| seg.strip_prefix("bulkId:")).map(str::to_owned));
}

fn substitute_path(path: &str, ids: &HashMap<String, String>) -> String {
    path.split('/')
        .map(|seg| seg.strip_prefix("bulkId:").and_then(|b| ids.get(b)).map_or(seg, String::as_str))
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs one operation whose references are resolved.
async fn run(ctx: &Ctx, op: &Op) -> Result<Reply, ScimError> {
    let segments: Vec<&str> = op.path.trim_matches('/').split('/').collect();
    let method = op.method.to_ascii_uppercase();
    let data = || op.data.clone().ok_or_else(|| ScimError::bad("invalidSyntax", "this operation needs data"));
    let if_match = op.version.as_deref().and_then(crate::api::entity_version);
    let done = match segments.split_first() {
        Some((kind, rest)) if kind.eq_ignore_ascii_case(Users::ENDPOINT) => {
            resource::run::<Users>(ctx, &method, rest, data, if_match).await?
        }
        Some((kind, rest)) if kind.eq_ignore_ascii_case(Groups::ENDPOINT) => {
            resource::run::<Groups>(ctx, &method, rest, data, if_match).await?
        }
        _ => None,
    };
    done.ok_or_else(|| {
        ScimError::bad("invalidPath", format!("{} {} is not a bulk operation this server supports", op.method, op.path))
    })
}

fn parse_ops(body: &Value, max: usize) -> Result<(Vec<Op>, Option<usize>), ScimError> {
    let Value::Object(o) = body else {
        return Err(ScimError::bad("invalidSyntax", "the body must be a JSON object"));
    };
    if let Some(Value::Array(schemas)) = get_ci(o, "schemas")
        && !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST_URN)))
    {
        return Err(ScimError::bad("invalidSyntax", format!("schemas must contain {BULK_REQUEST_URN}")));
    }
    let fail_on_errors = match get_ci(o, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| ScimError::bad("invalidValue", "failOnErrors must be a positive integer"))?
                as usize,
        ),
    };
    let Some(Value::Array(list)) = get_ci(o, "Operations") else {
        return Err(ScimError::bad("invalidSyntax", "Operations must be an array"));
    };
    if list.len() > max {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("{} operations exceed maxOperations {max}", list.len()),
        ));
    }
    let ops = list
        .iter()
        .map(|op| {
            let Value::Object(op) = op else {
                return Err(ScimError::bad("invalidSyntax", "each operation must be an object"));
            };
            let s = |k: &str| get_ci(op, k).and_then(Value::as_str).map(str::to_owned);
            let method = s("method").ok_or_else(|| ScimError::bad("invalidSyntax", "each operation needs a method"))?;
            let path = s("path").ok_or_else(|| ScimError::bad("invalidSyntax", "each operation needs a path"))?;
            let bulk_id = s("bulkId");
            if method.eq_ignore_ascii_case("POST") && bulk_id.is_none() {
                return Err(ScimError::bad("invalidValue", "a POST operation needs a bulkId"));
            }
            Ok(Op { method, bulk_id, version: s("version"), path, data: get_ci(op, "data").cloned() })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ops, fail_on_errors))
}

async fn run_bulk(ctx: &Ctx, body: Value) -> Result<Value, ScimError> {
    let (ops, fail_on_errors) = parse_ops(&body, ctx.state.settings.scim.bulk_max_operations)?;
    let declared: Vec<String> = ops.iter().filter_map(|o| o.bulk_id.clone()).collect();
    let mut created: HashMap<String, String> = HashMap::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut errors = 0usize;
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    'passes: loop {
        let mut progressed = false;
        let mut still = vec![];
        for i in std::mem::take(&mut pending) {
            let op = &ops[i];
            let mut refs = vec![];
            path_references(&op.path, &mut refs);
            if let Some(d) = &op.data {
                references(d, &mut refs);
            }
            if refs.iter().any(|r| !created.contains_key(r)) {
                still.push(i);
                continue;
            }
            progressed = true;
            let mut resolved = Op {
                method: op.method.clone(),
                bulk_id: op.bulk_id.clone(),
                version: op.version.clone(),
                path: op.path.clone(),
                data: op.data.clone(),
            };
            resolved.path = substitute_path(&resolved.path, &created);
            if let Some(d) = resolved.data.as_mut() {
                substitute(d, &created);
            }
            let outcome = run(ctx, &resolved).await;
            let mut entry = json!({ "method": op.method });
            if let Some(b) = &op.bulk_id {
                entry["bulkId"] = json!(b);
            }
            match outcome {
                Ok(reply) => {
                    if let (Some(b), Some(Value::String(id))) =
                        (&op.bulk_id, reply.body.as_ref().and_then(|b| b.to_value().get("id").cloned()))
                    {
                        created.insert(b.clone(), id);
                    }
                    if let Some(l) = reply.location {
                        entry["location"] = json!(l);
                    }
                    if let Some(v) = reply.version {
                        entry["version"] = json!(v);
                    }
                    entry["status"] = json!(reply.status.as_u16().to_string());
                }
                Err(e) => {
                    errors += 1;
                    entry["status"] = json!(e.status.as_u16().to_string());
                    entry["response"] = e.body();
                }
            }
            results[i] = Some(entry);
            if fail_on_errors.is_some_and(|n| errors >= n) {
                break 'passes;
            }
        }
        pending = still;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    // What is left waits on a reference that never resolved: circular, failed, or undeclared.
    if fail_on_errors.is_none_or(|n| errors < n) {
        for i in pending {
            let op = &ops[i];
            let mut refs = vec![];
            path_references(&op.path, &mut refs);
            if let Some(d) = &op.data {
                references(d, &mut refs);
            }
            let missing: Vec<&String> = refs.iter().filter(|r| !created.contains_key(*r)).collect();
            let why = if missing.iter().any(|m| !declared.contains(m)) {
                format!("bulkId reference to an undeclared bulkId: {missing:?}")
            } else {
                format!("bulkId reference that cannot be resolved (circular, or its operation failed): {missing:?}")
            };
            let e = ScimError::new(StatusCode::CONFLICT, None, why);
            let mut entry = json!({ "method": op.method, "status": "409", "response": e.body() });
            if let Some(b) = &op.bulk_id {
                entry["bulkId"] = json!(b);
            }
            results[i] = Some(entry);
            errors += 1;
            if fail_on_errors.is_some_and(|n| errors >= n) {
                break;
            }
        }
    }
    Ok(json!({ "schemas": [BULK_RESPONSE_URN], "Operations": results.into_iter().flatten().collect::<Vec<_>>() }))
}

/// Run many operations in one request (RFC 7644 §3.7)
///
/// In order, with `bulkId` references (forward ones too); unresolvable references fail with a
/// per-operation 409.
#[utoipa::path(post, path = "/Bulk", operation_id = "bulk", tag = "Bulk and search",
    request_body(content((BulkRequest = "application/scim+json"), (BulkRequest = "application/json"))),
    responses(
        (status = 200, description = "One result per operation", content_type = "application/scim+json", body = BulkResponse),
        ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimPayloadTooLarge,
    )
)]
pub async fn bulk(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json_within(body, r.ctx.state.settings.scim.bulk_max_payload_bytes).await?;
    let out = run_bulk(&r.ctx, body).await?;
    Ok(HttpResponse::Ok().content_type(SCIM_JSON).body(out.to_string()))
}

/// Search Users and Groups at once (RFC 7644 §3.4.3)
#[utoipa::path(post, path = "/.search", operation_id = "search", tag = "Bulk and search",
    request_body(content((SearchRequest = "application/scim+json"), (SearchRequest = "application/json"))),
    responses(
        (status = 200, description = "Users, then Groups", content_type = "application/scim+json", body = ResourceListResponse),
        ScimBadRequest, ScimUnauthorized, ScimForbidden, ScimPayloadTooLarge,
    )
)]
pub async fn root_search(r: ScimRequest, body: web::Payload) -> Result<HttpResponse, ScimError> {
    let body = r.json(body).await?;
    let ctx = &r.ctx;
    let max = ctx.max_results();
    let params = ListParams::from_search(&body, max)?;
    if params.cursor.is_some() {
        // A cursor is a place in one resource type's order; a search of the root spans two.
        return Err(ScimError::bad("invalidValue", "cursor paging is offered on /Users and /Groups, not on the root"));
    }
    let all = ListParams { start_index: 1, count: max, ..params.clone() };
    let mut total = 0;
    let mut resources = vec![];
    for reply in [Users::list(ctx, all.clone()).await?, Groups::list(ctx, all).await?] {
        let body = reply.body.map(|b| b.to_value()).unwrap_or_default();
        total += body["totalResults"].as_i64().unwrap_or(0);
        if let Some(Value::Array(r)) = body.get("Resources") {
            resources.extend(r.iter().cloned());
        }
    }
    let page: Vec<Value> =
        resources.into_iter().skip((params.start_index - 1) as usize).take(params.count as usize).collect();
    Ok(HttpResponse::Ok().content_type(SCIM_JSON).body(list_response(total, params.start_index, page).to_string()))
}
