//! Discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas — generated
//! from the same schema definitions the filters, PATCH and projection use, so they
//! advertise exactly what works.

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::error::{SCIM_JSON, ScimError};
use super::openapi::{
    ResourceType, ResourceTypeListResponse, SchemaListResponse, ScimForbidden, ScimNotFound, ScimSchema,
    ScimUnauthorized, ServiceProviderConfig,
};
use super::{Ctx, ScimRequest, list_response};
use crate::scim::schema;

fn ok(body: Value) -> HttpResponse {
    HttpResponse::Ok().content_type(SCIM_JSON).body(body.to_string())
}

/// What this service provider supports (RFC 7643 §5)
#[utoipa::path(get, path = "/ServiceProviderConfig", operation_id = "getServiceProviderConfig", tag = "Discovery",
    responses(
        (status = 200, description = "The configuration", content_type = "application/scim+json", body = ServiceProviderConfig),
        ScimUnauthorized, ScimForbidden,
    )
)]
pub async fn service_provider_config(r: ScimRequest) -> HttpResponse {
    let ctx = r.ctx;
    let s = &ctx.state.settings.scim;
    let options = schema::SpcOptions {
        bulk_max_operations: s.bulk_max_operations,
        bulk_max_payload_bytes: s.bulk_max_payload_bytes,
        filter_max_results: ctx.max_results() as usize,
        etag: true,
        sort: true,
        change_password: true,
        patch: true,
        cursor_timeout_secs: s.cursor_timeout_secs,
    };
    // The limits RFC 7643 §5 has attributes for are here (bulk, filter.maxResults), and RFC
    // 9865's `pagination`; the others are in the README. Strict clients (e.g. scim2-models)
    // refuse any attribute beyond these schemas, so none is added.
    ok(schema::service_provider_config(&ctx.base, &options))
}

/// The resource types: User and Group (RFC 7643 §6)
#[utoipa::path(get, path = "/ResourceTypes", operation_id = "listResourceTypes", tag = "Discovery",
    responses(
        (status = 200, description = "Every resource type", content_type = "application/scim+json", body = ResourceTypeListResponse),
        ScimUnauthorized, ScimForbidden,
    )
)]
pub async fn resource_types(r: ScimRequest) -> HttpResponse {
    let all = schema::resource_types(&r.ctx.base);
    ok(list_response(all.len() as i64, 1, all))
}

/// One resource type: User or Group
#[utoipa::path(get, path = "/ResourceTypes/{id}", operation_id = "getResourceType", tag = "Discovery",
    params(("id" = String, Path, description = "`User` or `Group`")),
    responses(
        (status = 200, description = "The resource type", content_type = "application/scim+json", body = ResourceType),
        ScimUnauthorized, ScimForbidden, ScimNotFound,
    )
)]
pub async fn resource_type(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    schema::resource_type(&id, &r.ctx.base)
        .map(ok)
        .ok_or_else(|| ScimError::not_found(format!("no resource type {id}")))
}

/// The most accounts listed as `accountId` canonical values.
const ACCOUNT_SUGGESTIONS: i64 = 100;

/// Our extension's `accountId` suggests where contacts can go: the configured default
/// account and the first accounts (IdP attribute-mapping screens show canonical values
/// as choices).
async fn with_account_suggestions(ctx: &Ctx, mut doc: Value) -> Result<Value, ScimError> {
    if doc["id"] != schema::IDENTITY_USER_URN {
        return Ok(doc);
    }
    // A confined token is shown its own accounts, and no other.
    let ids = match crate::service::scim::confined_scim(ctx.cap.actor()) {
        Some(scope) => scope.to_vec(),
        None => {
            let default = crate::service::scim::default_account_id(&ctx.state.settings.scim.default_account_name);
            let accounts =
                crate::service::accounts::account_ids_for_scim(&ctx.state.db, &ctx.cap, ACCOUNT_SUGGESTIONS).await?;
            let mut ids = vec![default.clone()];
            ids.extend(accounts.into_iter().filter(|id| *id != default));
            ids
        }
    };
    if let Some(Value::Array(attrs)) = doc.get_mut("attributes") {
        for a in attrs.iter_mut().filter(|a| a["name"] == "accountId") {
            a["canonicalValues"] = Value::from(ids.clone());
        }
    }
    Ok(doc)
}

/// The schemas (RFC 7643 §7)
///
/// Core User, the enterprise extension, the scimgate identity extension, Group.
#[utoipa::path(get, path = "/Schemas", operation_id = "listSchemas", tag = "Discovery",
    responses(
        (status = 200, description = "Every schema", content_type = "application/scim+json", body = SchemaListResponse),
        ScimUnauthorized, ScimForbidden,
    )
)]
pub async fn schemas(r: ScimRequest) -> Result<HttpResponse, ScimError> {
    let mut all = vec![];
    for doc in schema::schemas(&r.ctx.base) {
        all.push(with_account_suggestions(&r.ctx, doc).await?);
    }
    Ok(ok(list_response(all.len() as i64, 1, all)))
}

/// One schema, by URN
#[utoipa::path(get, path = "/Schemas/{id}", operation_id = "getSchema", tag = "Discovery",
    params(("id" = String, Path, description = "The schema URN, e.g. `urn:scimgate:schemas:extension:identity:2.0:User`")),
    responses(
        (status = 200, description = "The schema", content_type = "application/scim+json", body = ScimSchema),
        ScimUnauthorized, ScimForbidden, ScimNotFound,
    )
)]
pub async fn schema(r: ScimRequest, id: web::Path<String>) -> Result<HttpResponse, ScimError> {
    let doc = schema::schema(&id, &r.ctx.base).ok_or_else(|| ScimError::not_found(format!("no schema {id}")))?;
    Ok(ok(with_account_suggestions(&r.ctx, doc).await?))
}
