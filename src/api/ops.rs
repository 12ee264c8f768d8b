//! Operations: liveness and readiness.

use actix_web::{HttpResponse, ResponseError, web};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::AppState;
use super::native::problem::{Forbidden, Problem, Unauthorized};
use super::native::{Admin, ApiError, ProblemCode};
use super::route::Endpoint;
use crate::service::health;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(Endpoint::new(__path_root, root))
        .service(Endpoint::new(__path_healthz, healthz))
        .service(Endpoint::new(__path_readyz, readyz))
        .service(Endpoint::new(__path_metrics, metrics));
}

/// Where things are: the body of `/` for API clients.
#[derive(Serialize, ToSchema)]
struct Directory {
    #[schema(example = "scimgate")]
    service: String,
    /// The Setup console (HTML).
    #[schema(example = "/setup")]
    console: String,
    /// The API documentation (HTML).
    #[schema(example = "/docs")]
    docs: String,
    /// The OpenAPI documents of the native API and of the SCIM provider.
    openapi: Vec<String>,
    /// The SCIM 2.0 base URL and the native API's.
    #[schema(example = "/scim/v2")]
    scim: String,
    #[schema(example = "/api/v1")]
    api: String,
}

/// Where things are
///
/// A browser (`Accept` naming `text/html`) is sent to the Setup console with `303 See Other`;
/// any other client gets the places of the docs, the OpenAPI documents and the two APIs.
/// No authentication.
#[utoipa::path(get, path = "/", operation_id = "root", tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Where the docs and the APIs are", body = Directory),
        (status = 303, description = "A browser: to the Setup console", headers(("Location" = String))),
    )
)]
pub async fn root(req: actix_web::HttpRequest) -> HttpResponse {
    let browser = req
        .headers()
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/html"));
    if browser {
        return HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, "/setup")).finish();
    }
    HttpResponse::Ok().json(Directory {
        service: "scimgate".into(),
        console: "/setup".into(),
        docs: "/docs".into(),
        openapi: vec!["/openapi/native.json".into(), "/openapi/scim.json".into()],
        scim: "/scim/v2".into(),
        api: "/api/v1".into(),
    })
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
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    security(()),
    responses((status = 200, description = "The process answers", body = Status, example = json!({"status": "ok"})))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Readiness: the database answers and every migration is applied
///
/// 503 otherwise. No authentication (load balancers and orchestrators probe it).
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready to serve", body = Status, example = json!({"status": "ready"})),
        (status = 503, description = "`not_ready`: the database is unreachable or not migrated", body = Problem,
            content_type = "application/problem+json"),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match health::ready(&state.db).await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), "not ready");
            ApiError::new(ProblemCode::NotReady, "the database is unreachable or not migrated").error_response()
        }
    }
}

/// Metrics in the Prometheus text format (admin token)
///
/// Requests and latency by route and status, DB pool usage, license pools, SCIM operations,
/// policy rejections, webhook deliveries. Pool gauges are read at scrape time.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses(
        (status = 200, description = "The Prometheus text exposition format", content_type = "text/plain", body = String,
            example = "# HELP scimgate_license_used Licenses in use per pool\n# TYPE scimgate_license_used gauge\nscimgate_license_used{license=\"customer_community\"} 1\n"),
        Unauthorized, Forbidden,
    )
)]
pub async fn metrics(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, ApiError> {
    let m = &state.metrics;
    for p in health::pools(&state.db) {
        m.db_connections.with_label_values(&[p.pool, "idle"]).set(i64::from(p.idle));
        m.db_connections.with_label_values(&[p.pool, "in_use"]).set(i64::from(p.in_use));
    }
    for p in crate::service::licenses::list(&state.db, &admin.0).await? {
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
    let (seeks, walks) = health::list_pages(&state.db);
    m.set_list_page_totals(&[("seek", seeks), ("walk", walks)]);
    let q = crate::service::webhooks::queue_stats(&state.db, &admin.0).await?;
    m.webhook_queue.with_label_values(&["pending"]).set(q.pending);
    m.webhook_queue.with_label_values(&["dead"]).set(q.dead);
    let age = q.oldest_pending_age.map_or(0.0, |a| a.num_milliseconds() as f64 / 1000.0);
    m.webhook_oldest_pending_seconds.set(age);
    let body = m.render().map_err(|e| crate::error::ServiceError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(body))
}
