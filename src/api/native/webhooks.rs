//! Webhook subscriptions and their deliveries (admin only), with their request and response
//! bodies. The secret is in the answer to the create request and nowhere else.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::dto::ListResponse;
use super::{ApiError, Caller, page};
use crate::api::AppState;
use crate::domain::{Delivery, DeliveryStatus, Subscription};
use crate::policy::access::Surface;
use crate::service::webhooks::{self, NewSubscription};

type Res = Result<HttpResponse, ApiError>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookRequest {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Subscription> for WebhookResponse {
    fn from(s: Subscription) -> Self {
        WebhookResponse { events: s.events.entries(), id: s.id, url: s.url, created_at: s.created_at }
    }
}

/// The answer to a create: the one time the secret is shown.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookResponse {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveriesQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    pub status: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        DeliveryResponse {
            status: d.status.as_str(),
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            subject: d.subject,
            attempts: d.attempts,
            last_error: d.last_error,
            last_status_code: d.last_status_code,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

pub async fn create(state: web::Data<AppState>, caller: Caller, body: web::Json<CreateWebhookRequest>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let b = body.into_inner();
    let req = NewSubscription { url: b.url, events: b.events, secret: b.secret };
    let w = &state.settings.webhooks;
    let timeout = std::time::Duration::from_millis(w.timeout_ms);
    let created = webhooks::create(&state.db, actor, req, w.allow_loopback, timeout).await?;
    let s = created.subscription;
    Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/webhooks/{}", s.id))).json(
        CreatedWebhookResponse {
            events: s.events.entries(),
            id: s.id,
            url: s.url,
            secret: created.secret,
            created_at: s.created_at,
        },
    ))
}

pub async fn list(state: web::Data<AppState>, caller: Caller) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let items = webhooks::list(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(ListResponse { items: items.into_iter().map(WebhookResponse::from).collect(), next_cursor: None }))
}

pub async fn get(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let s = webhooks::get(&state.db, id.to_string()).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(s)))
}

pub async fn delete(state: web::Data<AppState>, caller: Caller, id: web::Path<Uuid>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    webhooks::delete(&state.db, actor, id.to_string()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    q: web::Query<DeliveriesQuery>,
) -> Res {
    caller.may(Surface::NativeAdmin)?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    let status = q.status.map(|s| s.parse::<DeliveryStatus>()).transpose().map_err(|e| {
        ApiError::validation(StatusCode::BAD_REQUEST, format!("status: {e}: use pending, delivered or dead"))
    })?;
    let p = webhooks::deliveries(&state.db, id.to_string(), status, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: p.items.into_iter().map(DeliveryResponse::from).collect::<Vec<_>>(),
        next_cursor: p.next_cursor,
    }))
}

/// Re-queues a dead or pending delivery now: 202, the delivery as it stands.
pub async fn retry(state: web::Data<AppState>, caller: Caller, path: web::Path<(Uuid, Uuid)>) -> Res {
    let actor = caller.may(Surface::NativeAdmin)?.clone();
    let (id, delivery) = path.into_inner();
    let d = webhooks::retry(&state.db, actor, id.to_string(), delivery.to_string()).await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(d)))
}
