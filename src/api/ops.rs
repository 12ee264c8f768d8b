//! Operations: liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).route("/readyz", web::get().to(readyz));
}

/// Liveness: the process answers. No authentication.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied; 503 otherwise.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
