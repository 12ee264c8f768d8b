//! The OpenAPI 3.1 documents, generated from the routing itself: every route is declared
//! once, by the `#[utoipa::path]` of its handler, and `route::Endpoint` feeds both the
//! actix router and the document from that declaration. Never hand-maintained.

use actix_web::App;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt;

use super::{native, scim};

/// The native API document (`openapi/native.json`): `/api/v1`, operations and docs.
pub fn native() -> OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(native::openapi::NativeDoc::openapi())
        .configure(super::configure_native)
        .split_for_parts();
    api
}

/// The SCIM 2.0 document (`openapi/scim.json`): `/scim/v2`.
pub fn scim() -> OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(scim::openapi::ScimDoc::openapi())
        .configure(super::configure_scim)
        .split_for_parts();
    api
}

/// A document as served and checked in: pretty JSON, one trailing newline.
pub fn to_json(api: &OpenApi) -> String {
    let mut s = serde_json::to_string_pretty(api).unwrap_or_default();
    s.push('\n');
    s
}
