//! The OpenAPI 3.1 documents, generated from the routing itself: every route is declared
//! once, by the `#[utoipa::path]` of its handler, and `route::Endpoint` feeds both the
//! actix router and the document from that declaration. Never hand-maintained.

use actix_web::App;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;

use super::{native, scim};

/// The native API document (`openapi/native.json`): `/api/v1`, operations and docs.
pub fn native() -> OpenApi {
    document(native::openapi::NativeDoc::openapi(), super::configure_native, "RateLimited")
}

/// The SCIM 2.0 document (`openapi/scim.json`): `/scim/v2`.
pub fn scim() -> OpenApi {
    document(scim::openapi::ScimDoc::openapi(), super::configure_scim, "ScimTooManyRequests")
}

/// A document: `base` (info, components, tags) with the paths of the routes `configure`
/// declares; every operation that answers 401 also answers the `throttled` response.
fn document(base: OpenApi, configure: fn(&mut ServiceConfig), throttled_response: &str) -> OpenApi {
    let (_, mut api) = App::new().into_utoipa_app().openapi(base).configure(configure).split_for_parts();
    throttled(&mut api, throttled_response);
    api
}

/// Every operation that authenticates (it answers 401) may also answer 429: too many
/// failed authentications from the client's address, or its token's quota spent.
fn throttled(api: &mut OpenApi, response: &str) {
    use utoipa::openapi::{Ref, RefOr};
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            if op.responses.responses.contains_key("401") {
                op.responses
                    .responses
                    .insert("429".into(), RefOr::Ref(Ref::new(format!("#/components/responses/{response}"))));
            }
        }
    }
}

/// A document as served and checked in: pretty JSON, one trailing newline.
pub fn to_json(api: &OpenApi) -> String {
    let mut s = serde_json::to_string_pretty(api).unwrap_or_default();
    s.push('\n');
    s
}
