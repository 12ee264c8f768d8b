//! The frame and the schemas of `openapi/scim.json`. The User and Group schemas are
//! generated from the same attribute tables `/Schemas`, filters, PATCH and projection use
//! (`schema.rs`), so the document cannot drift from what the server accepts and returns.
//! SCIM resources are open content (extension URNs, attributes as sent): every object
//! allows more properties than it lists.

use std::borrow::Cow;

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat,
    Type,
};
use utoipa::{IntoParams, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::api::route::BearerAuth;
use crate::scim::attrs::{AttrType, Mutability};
use crate::scim::schema::AttrDef;
use crate::scim::schema::{
    COMMON_ATTRS, ENTERPRISE_USER_ATTRS, ENTERPRISE_USER_URN, GROUP_ATTRS, GROUP_URN, IDENTITY_USER_ATTRS,
    IDENTITY_USER_URN, USER_ATTRS, USER_URN,
};

fn open_object() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(AdditionalProperties::FreeForm(true)))
}

/// One SCIM attribute as JSON Schema. Values are constrained by type only: canonical values
/// are advisory in RFC 7643, except where the server enforces them (`license`, `origin`).
fn attribute(def: &AttrDef) -> Schema {
    let single: Schema = match def.kind {
        AttrType::Complex => {
            let mut o = open_object();
            for sub in def.sub {
                o = o.property(sub.name, attribute(sub));
            }
            o.build().into()
        }
        kind => {
            let mut o = ObjectBuilder::new().schema_type(match kind {
                AttrType::Boolean => Type::Boolean,
                AttrType::Decimal => Type::Number,
                AttrType::Integer => Type::Integer,
                _ => Type::String,
            });
            if kind == AttrType::DateTime {
                o = o.format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
            }
            if kind == AttrType::Binary {
                o = o.content_encoding("base64");
            }
            if def.case_exact && !def.canonical_values.is_empty() {
                o = o.enum_values(Some(def.canonical_values.iter().copied()));
            }
            o.build().into()
        }
    };
    let read_only = def.mutability == Mutability::ReadOnly;
    let write_only = def.mutability == Mutability::WriteOnly;
    let mut description = def.description.to_owned();
    if def.mutability == Mutability::Immutable {
        description.push_str(" (immutable: set at creation)");
    }
    if def.multi_valued {
        // OpenAPI's array schema has no readOnly: say it in words.
        if read_only {
            description.push_str(" (read-only)");
        }
        ArrayBuilder::new().items(RefOr::T(single)).description(Some(description)).build().into()
    } else {
        match single {
            Schema::Object(mut o) => {
                o.description = Some(description);
                o.read_only = read_only.then_some(true);
                o.write_only = write_only.then_some(true);
                Schema::Object(o)
            }
            other => other,
        }
    }
}

/// The attributes as properties. Nothing is `required` here: projection (`attributes`,
/// `excludedAttributes`) may leave any attribute out of a response; the write schemas
/// ([`ScimUserWrite`], [`ScimGroupWrite`]) add RFC 7643's required attributes.
fn with_attributes(mut o: ObjectBuilder, defs: &[AttrDef]) -> ObjectBuilder {
    for def in defs {
        o = o.property(def.name, attribute(def));
    }
    o
}

/// A write body: the resource schema plus its required attributes.
fn write_schema(resource: &str, defs: &[AttrDef], description: &str) -> RefOr<Schema> {
    let mut required = ObjectBuilder::new().schema_type(Type::Object);
    for def in defs.iter().filter(|d| d.required) {
        required = required.required(def.name);
    }
    AllOfBuilder::new()
        .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(resource)))
        .item(required)
        .description(Some(description))
        .into()
}

fn schemas_property(example: &[&str]) -> Schema {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some("The schema URNs of this message or resource"))
        .examples([json!(example)])
        .build()
        .into()
}

macro_rules! named_schema {
    ($name:ident, $label:literal) => {
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($label)
            }
        }
    };
}

/// A SCIM User (RFC 7643 §4.1) with the enterprise extension (§4.3) and ours.
pub struct ScimUser;

impl PartialSchema for ScimUser {
    fn schema() -> RefOr<Schema> {
        let identity = with_attributes(open_object(), IDENTITY_USER_ATTRS).description(Some(
            "The scimgate identity extension: license, contact and account. `contactless: true` on a create, \
             or on an update of a contact-backed user, is refused with 400 `invalidValue` (SCIM users are \
             always contact-backed).",
        ));
        let enterprise = with_attributes(open_object(), ENTERPRISE_USER_ATTRS)
            .description(Some("The enterprise User extension (RFC 7643 §4.3)"));
        let o = open_object()
            .description(Some(
                "A User. Writes accept `application/json` too, attribute names in any case and booleans as \
                 strings (`\"False\"`); unknown attributes are ignored.",
            ))
            .property("schemas", schemas_property(&[USER_URN, IDENTITY_USER_URN]));
        let o = with_attributes(o, COMMON_ATTRS);
        let o = with_attributes(o, USER_ATTRS);
        o.property(ENTERPRISE_USER_URN, enterprise)
            .property(IDENTITY_USER_URN, identity)
            .examples([json!({
                "schemas": [USER_URN, IDENTITY_USER_URN],
                "userName": "bjensen@example.com",
                "externalId": "701984",
                "name": {"givenName": "Barbara", "familyName": "Jensen"},
                "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
                "active": true,
                IDENTITY_USER_URN: {"license": "customer_community", "accountId": "0190f3a2-7c1e-7d51-a8a8-5d0f6c1b2e10"}
            })])
            .build()
            .into()
    }
}
named_schema!(ScimUser, "User");

/// A SCIM Group (RFC 7643 §4.2).
pub struct ScimGroup;

impl PartialSchema for ScimGroup {
    fn schema() -> RefOr<Schema> {
        let o = open_object().description(Some("A Group")).property("schemas", schemas_property(&[GROUP_URN]));
        with_attributes(with_attributes(o, COMMON_ATTRS), GROUP_ATTRS)
            .examples([json!({
                "schemas": [GROUP_URN],
                "displayName": "Partners",
                "members": [{"value": "0190f3a2-9b40-7c12-b6a1-3c9d2f5e8a01"}]
            })])
            .build()
            .into()
    }
}
named_schema!(ScimGroup, "Group");

/// A User as sent on create and replace (`userName` required).
pub struct ScimUserWrite;
impl PartialSchema for ScimUserWrite {
    fn schema() -> RefOr<Schema> {
        write_schema("User", USER_ATTRS, "A User to create or replace: `userName` is required")
    }
}
named_schema!(ScimUserWrite, "UserWrite");

/// A Group as sent on create and replace (`displayName` required).
pub struct ScimGroupWrite;
impl PartialSchema for ScimGroupWrite {
    fn schema() -> RefOr<Schema> {
        write_schema("Group", GROUP_ATTRS, "A Group to create or replace: `displayName` is required")
    }
}
named_schema!(ScimGroupWrite, "GroupWrite");

fn list_of(items: impl Into<RefOr<Schema>>, description: &str) -> RefOr<Schema> {
    let int = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0));
    open_object()
        .description(Some(description))
        .property("schemas", schemas_property(&["urn:ietf:params:scim:api:messages:2.0:ListResponse"]))
        .property("totalResults", int())
        .property("startIndex", int().description(Some("Index paging only")))
        .property("itemsPerPage", int())
        .property(
            "nextCursor",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Cursor paging (RFC 9865): the next page's cursor; absent on the last page")),
        )
        .property(
            "previousCursor",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("Cursor paging (RFC 9865): the previous page's cursor; absent on the first page")),
        )
        .property("Resources", ArrayBuilder::new().items(items.into()))
        .required("schemas")
        .required("totalResults")
        .build()
        .into()
}

/// A ListResponse of Users (RFC 7644 §3.4.2).
pub struct UserListResponse;
impl PartialSchema for UserListResponse {
    fn schema() -> RefOr<Schema> {
        list_of(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("User")), "A page of Users")
    }
}
named_schema!(UserListResponse, "UserListResponse");

/// A ListResponse of Groups.
pub struct GroupListResponse;
impl PartialSchema for GroupListResponse {
    fn schema() -> RefOr<Schema> {
        list_of(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Group")), "A page of Groups")
    }
}
named_schema!(GroupListResponse, "GroupListResponse");

/// A ListResponse of Users and Groups (`POST /.search`).
pub struct ResourceListResponse;
impl PartialSchema for ResourceListResponse {
    fn schema() -> RefOr<Schema> {
        let item = AnyOfBuilder::new()
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("User")))
            .item(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Group")));
        list_of(item, "Users, then Groups, matching the filter")
    }
}
named_schema!(ResourceListResponse, "ResourceListResponse");

/// A ListResponse of ResourceTypes.
pub struct ResourceTypeListResponse;
impl PartialSchema for ResourceTypeListResponse {
    fn schema() -> RefOr<Schema> {
        list_of(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ResourceType")), "Every ResourceType")
    }
}
named_schema!(ResourceTypeListResponse, "ResourceTypeListResponse");

/// A ListResponse of Schemas.
pub struct SchemaListResponse;
impl PartialSchema for SchemaListResponse {
    fn schema() -> RefOr<Schema> {
        list_of(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Schema")), "Every Schema")
    }
}
named_schema!(SchemaListResponse, "SchemaListResponse");

/// A discovery document, as RFC 7643 defines it (open content: the RFC's attributes and more).
fn discovery_document(description: &str, urn: &str) -> RefOr<Schema> {
    open_object()
        .description(Some(description))
        .property("schemas", schemas_property(&[urn]))
        .required("schemas")
        .build()
        .into()
}

/// What this service provider supports (RFC 7643 §5).
pub struct ServiceProviderConfig;
impl PartialSchema for ServiceProviderConfig {
    fn schema() -> RefOr<Schema> {
        discovery_document(
            "What this service provider supports (RFC 7643 §5): patch, bulk (maxOperations, maxPayloadSize), \
             filter (maxResults), changePassword, sort, etag, authenticationSchemes, and pagination (RFC 9865 §4: \
             cursor, index, defaultPaginationMethod, defaultPageSize, maxPageSize, cursorTimeout)",
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        )
    }
}
named_schema!(ServiceProviderConfig, "ServiceProviderConfig");

/// A resource type (RFC 7643 §6).
pub struct ResourceType;
impl PartialSchema for ResourceType {
    fn schema() -> RefOr<Schema> {
        discovery_document(
            "A resource type (RFC 7643 §6): id, name, endpoint, schema, schemaExtensions",
            "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
        )
    }
}
named_schema!(ResourceType, "ResourceType");

/// A schema (RFC 7643 §7).
pub struct ScimSchema;
impl PartialSchema for ScimSchema {
    fn schema() -> RefOr<Schema> {
        discovery_document(
            "A schema (RFC 7643 §7): id (the URN), name, description, attributes with their characteristics",
            "urn:ietf:params:scim:schemas:core:2.0:Schema",
        )
    }
}
named_schema!(ScimSchema, "Schema");

/// The RFC 7644 §3.12 `scimType` values, and RFC 9865 §2.1's for cursors.
pub struct ScimType;
impl PartialSchema for ScimType {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                "invalidFilter",
                "tooMany",
                "uniqueness",
                "mutability",
                "invalidSyntax",
                "invalidPath",
                "noTarget",
                "invalidValue",
                "invalidVers",
                "sensitive",
                "invalidCursor",
                "expiredCursor",
            ]))
            .description(Some(
                "The RFC 7644 §3.12 error type, for 400 (and 409 `uniqueness`); `invalidCursor` and \
                 `expiredCursor` (RFC 9865 §2.1) for cursor paging",
            ))
            .into()
    }
}
named_schema!(ScimType, "ScimType");

/// A SCIM error (RFC 7644 §3.12): `status` is the HTTP status as a string.
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ScimErrorBody {
    #[schema(example = json!(["urn:ietf:params:scim:api:messages:2.0:Error"]))]
    pub schemas: Vec<String>,
    /// The HTTP status code, as a string.
    #[schema(pattern = "^[0-9]{3}$", example = "400")]
    pub status: String,
    #[schema(value_type = Option<ScimType>)]
    #[serde(rename = "scimType")]
    pub scim_type: Option<String>,
    pub detail: Option<String>,
}

/// One PATCH operation (RFC 7644 §3.5.2): `op` in any case; `path` optional for add and
/// replace (then `value` is an object of attributes, whose keys may be paths).
#[derive(ToSchema)]
pub struct PatchOperation {
    #[schema(value_type = String, example = "replace")]
    pub op: String,
    #[schema(example = "emails[type eq \"work\"].value")]
    pub path: Option<String>,
    #[schema(value_type = Value)]
    pub value: Option<Value>,
}

/// A PatchOp request (RFC 7644 §3.5.2).
#[derive(ToSchema)]
#[schema(as = PatchOp)]
#[schema(example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "value": {"active": false}}]}))]
pub struct PatchRequest {
    pub schemas: Option<Vec<String>>,
    #[serde(rename = "Operations")]
    pub operations: Vec<PatchOperation>,
}

/// One Bulk operation (RFC 7644 §3.7): POST needs a `bulkId`; `bulkId:X` in a path or in
/// `data` refers to the resource another operation creates.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    #[schema(example = "POST")]
    pub method: String,
    pub bulk_id: Option<String>,
    /// An ETag, as If-Match.
    pub version: Option<String>,
    #[schema(example = "/Users")]
    pub path: String,
    #[schema(value_type = Option<Value>)]
    pub data: Option<Value>,
}

/// A BulkRequest (RFC 7644 §3.7).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "u1",
            "data": {"schemas": [USER_URN], "userName": "bjensen@example.com"}},
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
            "data": {"schemas": [GROUP_URN], "displayName": "Partners", "members": [{"value": "bulkId:u1"}]}}
    ]}))]
pub struct BulkRequest {
    pub schemas: Option<Vec<String>>,
    /// Stop after this many errors.
    #[schema(minimum = 1)]
    pub fail_on_errors: Option<u64>,
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperation>,
}

/// The result of one Bulk operation: `status` as a string, `response` a SCIM error when it failed.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResult {
    pub method: String,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub location: Option<String>,
    #[schema(example = "201")]
    pub status: String,
    pub response: Option<ScimErrorBody>,
}

/// A BulkResponse (RFC 7644 §3.7).
#[derive(ToSchema)]
pub struct BulkResponse {
    pub schemas: Vec<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResult>,
}

/// A search (RFC 7644 §3.4.3): the list parameters as a body.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
    "filter": "userName sw \"b\" and active eq true", "startIndex": 1, "count": 10}))]
pub struct SearchRequest {
    pub schemas: Option<Vec<String>>,
    /// Attribute names (an array, or one comma-separated string).
    pub attributes: Option<Vec<String>>,
    pub excluded_attributes: Option<Vec<String>>,
    /// An RFC 7644 §3.4.2.2 filter.
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    #[schema(example = "ascending")]
    pub sort_order: Option<String>,
    /// 1-based.
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// Cursor paging (RFC 9865): `""` for the first page, then a `nextCursor` or
    /// `previousCursor` received (not with `startIndex`).
    pub cursor: Option<String>,
}

// The error responses operations share.

crate::api::route::answers_at! {
    /// The SCIM API's shared error responses.
    ScimErrorResponses:
    ScimBadRequest = 400, ScimUnauthorized = 401, ScimForbidden = 403, ScimNotFound = 404, ScimConflict = 409,
    ScimPreconditionFailed = 412, ScimPayloadTooLarge = 413, ScimTooManyRequests = 429,
}

/// The request is invalid: `invalidSyntax` (body), `invalidFilter`, `invalidPath`,
/// `noTarget`, `invalidValue` (including SCIM's refusal of contactless users and a community
/// license without a contact), `mutability`, `tooMany`, and for cursor paging `invalidCursor`
/// and `expiredCursor` (RFC 9865).
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    examples(
        ("contactless refused" = (summary = "SCIM never creates a contactless user", value = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue",
            "detail": "SCIM cannot create contactless users: every SCIM user is contact-backed. Omit `contactless` (or set it to false) and name the contact's account in `accountId`; create contactless users through the native API (POST /api/v1/users without a contact) or self-registration"}))),
        ("bad filter" = (summary = "An unreadable filter", value = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidFilter",
            "detail": "expected an operator after userName"})))
    )
)]
pub struct ScimBadRequest(pub ScimErrorBody);

/// Too many failed authentications from this address, or the token's request quota is spent.
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    headers(("Retry-After" = u64, description = "seconds to wait")),
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "429",
        "detail": "too many requests: retry after 2 s"})
)]
pub struct ScimTooManyRequests(pub ScimErrorBody);

/// Missing, unknown or revoked bearer token.
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer`")),
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401",
        "detail": "a valid bearer token is required"})
)]
pub struct ScimUnauthorized(pub ScimErrorBody);

/// The token's role may not use SCIM (only `scim` and `admin` tokens may).
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403",
        "detail": "a registration token may not use SCIM"})
)]
pub struct ScimForbidden(pub ScimErrorBody);

/// No such resource.
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404",
        "detail": "no such user"})
)]
pub struct ScimNotFound(pub ScimErrorBody);

/// `uniqueness` (userName taken, contact in use), or the license pool is full.
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409",
        "scimType": "uniqueness", "detail": "userName is already taken (compared case-insensitively)"})
)]
pub struct ScimConflict(pub ScimErrorBody);

/// `If-Match` names a stale version.
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "412",
        "detail": "If-Match does not match the current version W/\"3\""})
)]
pub struct ScimPreconditionFailed(pub ScimErrorBody);

/// The body exceeds the size limit (or Bulk's `maxOperations` / `maxPayloadSize`).
#[derive(ToResponse)]
#[response(
    content_type = "application/scim+json",
    example = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "413",
        "detail": "the body exceeds 1048576 bytes"})
)]
pub struct ScimPayloadTooLarge(pub ScimErrorBody);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scimgate SCIM 2.0 API",
        description = "The SCIM 2.0 service provider of scimgate (RFC 7643, RFC 7644) under `/scim/v2`, for \
identity providers (Entra ID, Okta, …).

* `Authorization: Bearer TOKEN` with a `scim` (or `admin`) token; other roles get 403.
* Content type `application/scim+json`; request bodies are also accepted as `application/json`.
* Errors per RFC 7644 §3.12: `status` as a string, `scimType` where the RFC defines one.
* Users are always **contact-backed** over SCIM: a create is routed into the contact-backed path (the \
gateway creates the contact under the extension's `accountId`, the token's account or the default account, \
and keeps name, email and phone in sync). Asking for a contactless user (`contactless: true`) is refused \
with 400 `invalidValue`; contactless users made natively are readable and updatable here.
* Filters (the whole §3.4.2.2 grammar), sorting, paging by index and by cursor (RFC 9865), projection \
(`attributes`, `excludedAttributes` on every read and write), PATCH, ETags (`If-Match` → 412, \
`If-None-Match` → 304) and Bulk are supported, as `/ServiceProviderConfig` advertises. `/Me` is not (501).
* Endpoint names match in any case and with one trailing slash; `HEAD` is answered wherever `GET` is.

The native API is described by `/openapi/native.json`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth, &ScimErrorResponses),
    security(("bearer" = [])),
    components(schemas(ScimErrorBody, ScimType, ResourceType, ScimSchema)),
    tags(
        (name = "Users", description = "User resources (with the enterprise and scimgate identity extensions)"),
        (name = "Groups", description = "Group resources"),
        (name = "Bulk and search", description = "Bulk operations and the root search"),
        (name = "Discovery", description = "ServiceProviderConfig, ResourceTypes, Schemas")
    )
)]
pub struct ScimDoc;

/// The list parameters (RFC 7644 §3.4.2), names compared case-insensitively.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ListQuery {
    /// An RFC 7644 §3.4.2.2 filter, e.g. `userName eq "bjensen@example.com"`.
    pub filter: Option<String>,
    /// The attribute to sort by (any attribute; missing values last).
    pub sort_by: Option<String>,
    /// `ascending` (default) or `descending`.
    pub sort_order: Option<String>,
    /// 1-based index of the first result (below 1 reads as 1).
    pub start_index: Option<i64>,
    /// Page size, at most `filter.maxResults` (negative reads as 0).
    pub count: Option<i64>,
    /// Cursor paging (RFC 9865) instead of `startIndex`: empty for the first page, then the
    /// `nextCursor` or `previousCursor` of the last answer (`400 invalidCursor` for another
    /// query's cursor, `400 expiredCursor` past `pagination.cursorTimeout`).
    pub cursor: Option<String>,
    /// Comma-separated attributes to return (plus those always returned).
    pub attributes: Option<String>,
    /// Comma-separated attributes to leave out.
    pub excluded_attributes: Option<String>,
}

/// Projection (RFC 7644 §3.9), on reads and writes alike.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ProjectionQuery {
    /// Comma-separated attributes to return (plus those always returned).
    pub attributes: Option<String>,
    /// Comma-separated attributes to leave out.
    pub excluded_attributes: Option<String>,
}
