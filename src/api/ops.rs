//! Operations: liveness and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use super::native::{ApiError, Caller};
use crate::policy::access::Surface;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
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

/// Prometheus text format (admin token). Pool gauges are read at scrape time.
async fn metrics(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.may(Surface::NativeAdmin)?;
    let m = &state.metrics;
    let (writer, reader) = state.db.pool_state();
    for (pool, s) in [("writer", writer), ("reader", reader)] {
        m.db_connections.with_label_values(&[pool, "idle"]).set(i64::from(s.idle_connections));
        m.db_connections.with_label_values(&[pool, "in_use"]).set(i64::from(s.connections - s.idle_connections));
    }
    for p in crate::service::licenses::list(&state.db).await? {
        m.license_used.with_label_values(&[p.license.as_str()]).set(p.used);
        match p.capacity {
            Some(c) => m.license_capacity.with_label_values(&[p.license.as_str()]).set(c),
            None => {
                let _ = m.license_capacity.remove_label_values(&[p.license.as_str()]);
            }
        }
    }
    let d = state.deliveries.snapshot();
    m.set_webhook_totals(&[
        ("sent", d.sent),
        ("failed", d.failed),
        ("retried", d.retried),
        ("dead_lettered", d.dead_lettered),
    ]);
    let q = crate::service::webhooks::queue_stats(&state.db).await?;
    m.webhook_queue.with_label_values(&["pending"]).set(q.pending);
    m.webhook_queue.with_label_values(&["dead"]).set(q.dead);
    let age = q.oldest_pending_age.map_or(0.0, |a| a.num_milliseconds() as f64 / 1000.0);
    m.webhook_oldest_pending_seconds.set(age);
    let body = m.render().map_err(|e| crate::error::ServiceError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body))
}
