//! Operations: liveness and readiness.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::AppState;
use super::native::problem::Problem;
use super::openapi::{self, Endpoint};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(Endpoint::new(openapi::resource, __path_healthz, healthz)).service(Endpoint::new(
        openapi::resource,
        __path_readyz,
        readyz,
    ));
}

/// The body of `/healthz` and `/readyz`.
#[derive(Serialize, ToSchema)]
struct Status {
    #[schema(example = "ok")]
    status: String,
}

/// Liveness: the process answers
///
/// No authentication.
#[utoipa::path(
    get,
    operation_id = "healthz",
    path = "/healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process answers", body = Status, example = json!({"status": "ok"})))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied
///
/// 503 otherwise. No authentication (load balancers and orchestrators probe it).
#[utoipa::path(
    get,
    operation_id = "readyz",
    path = "/readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Status, example = json!({"status": "ready"})),
        (status = 503, description = "`not_ready`: the database is unreachable or not migrated", body = Problem,
            content_type = "application/problem+json")
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "not ready");
            HttpResponse::ServiceUnavailable().content_type("application/problem+json").json(json!({
                "type": "urn:scimgate:problem:not_ready",
                "title": "Not ready",
                "status": 503,
                "detail": "the database is unreachable or not migrated",
                "code": "not_ready"
            }))
        }
    }
}
