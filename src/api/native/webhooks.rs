//! Webhook subscriptions and their deliveries (admin only), with their request and response
//! bodies. The secret is in the answer to the create request and nowhere else.

use crate::api::extract::Deferred;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::dto::ListResponse;
use super::problem::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, Unprocessable, UnsupportedMediaType,
};
use super::{Admin, ApiError, page};
use crate::api::AppState;
use crate::domain::{Delivery, DeliveryId, DeliveryStatus, Subscription, SubscriptionId};
use crate::service::webhooks::{self, NewSubscription};

type Res = Result<HttpResponse, ApiError>;

/// A webhook subscription. `events` lists event types (`scimgate.user.created`,
/// `scimgate.user.downgraded`, …) or `["*"]`; `secret` is generated when absent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/scimgate",
    "events": ["scimgate.user.created", "scimgate.user.downgraded"]}))]
pub struct CreateWebhookRequest {
    /// An http(s) URL; private, link-local and loopback targets are refused
    /// (`422 webhook_url_refused`) unless `webhooks.allow_loopback`.
    pub url: String,
    pub events: Vec<String>,
    /// The HMAC-SHA256 key of the `Scimgate-Signature` header.
    pub secret: Option<String>,
}

impl From<CreateWebhookRequest> for NewSubscription {
    /// The URL and events are checked by the service (the URL's target at creation time).
    fn from(b: CreateWebhookRequest) -> Self {
        NewSubscription { url: b.url, events: b.events, secret: b.secret }
    }
}

/// A webhook subscription, without its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Paused: deliveries wait (new events still queue) until it is resumed.
    pub paused: bool,
    pub paused_at: Option<DateTime<Utc>>,
}

impl From<Subscription> for WebhookResponse {
    fn from(s: Subscription) -> Self {
        WebhookResponse {
            events: s.events.entries(),
            paused: s.paused_at.is_some(),
            paused_at: s.paused_at,
            id: s.id,
            url: s.url,
            created_at: s.created_at,
        }
    }
}

/// The answer to a create: the one time the secret is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

super::dto::paged_query! {
    pub struct DeliveriesQuery {
        /// `pending`, `delivered` or `dead`.
        pub status: Option<String>,
    }
}

/// One delivery of one event to one subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    #[schema(format = Uuid)]
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub subject: String,
    /// `pending`, `delivered` or `dead`.
    #[schema(value_type = String, example = "pending")]
    pub status: &'static str,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_status_code: Option<i64>,
    /// When the next attempt is due (pending deliveries only; null while the subscription
    /// is paused).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        DeliveryResponse {
            status: d.status.as_str(),
            next_attempt_at: (d.status == DeliveryStatus::Pending && !d.waits_for_resume())
                .then_some(d.next_attempt_at),
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

/// Subscribe a webhook (admin)
///
/// Every matching event is POSTed to `url` as one CloudEvents 1.0 JSON event
/// (`application/cloudevents+json`), signed with `Scimgate-Signature: t=UNIX_SECONDS,v1=HEX`
/// (HMAC-SHA256 of `UNIX_SECONDS + "." + BODY` under the secret). The secret is shown once.
#[utoipa::path(post, path = "/webhooks", operation_id = "createWebhook", tag = "webhooks",
    request_body = CreateWebhookRequest,
    responses(
        (status = 201, description = "The subscription, with its secret", body = CreatedWebhookResponse,
            headers(("Location" = String)),
            links(("getWebhook" = (operation_id = "getWebhook", parameters(("id" = "$response.body#/id")))),
                ("listDeliveries" = (operation_id = "listDeliveries", parameters(("id" = "$response.body#/id")))),
                ("deleteWebhook" = (operation_id = "deleteWebhook", parameters(("id" = "$response.body#/id")))))),
        BadRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
    )
)]
pub async fn create(state: web::Data<AppState>, admin: Admin, body: Deferred<web::Json<CreateWebhookRequest>>) -> Res {
    let body = body.get().await?;
    let req = NewSubscription::from(body.into_inner());
    let w = &state.settings.webhooks;
    let timeout = std::time::Duration::from_millis(w.timeout_ms);
    let created = webhooks::create(&state.db, &admin.0, req, w.allow_loopback, timeout, &state.sealer).await?;
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

/// List webhook subscriptions (admin), never their secrets
#[utoipa::path(get, path = "/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    responses(
        (status = 200, description = "Every subscription", body = ListResponse<WebhookResponse>),
        Unauthorized, Forbidden,
    )
)]
pub async fn list(state: web::Data<AppState>, admin: Admin) -> Res {
    let items = webhooks::list(&state.db, &admin.0).await?;
    Ok(HttpResponse::Ok()
        .json(ListResponse { items: items.into_iter().map(WebhookResponse::from).collect(), next_cursor: None }))
}

/// Read a webhook subscription (admin)
#[utoipa::path(get, path = "/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The subscription", body = WebhookResponse),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn get(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let s = webhooks::get(&state.db, &admin.0, SubscriptionId::new(id.to_string())).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(s)))
}

/// Delete a webhook subscription (admin); its pending deliveries are dropped
#[utoipa::path(delete, path = "/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses((status = 204, description = "Deleted"), Unauthorized, Forbidden, NotFound)
)]
pub async fn delete(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    webhooks::delete(&state.db, &admin.0, SubscriptionId::new(id.to_string())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The deliveries of a subscription (admin), newest first
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", operation_id = "listDeliveries", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id"), DeliveriesQuery),
    responses(
        (status = 200, description = "One page of deliveries", body = ListResponse<DeliveryResponse>),
        BadRequest, Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<Uuid>,
    q: Deferred<web::Query<DeliveriesQuery>>,
) -> Res {
    let q = q.get().await?;
    let q = q.into_inner();
    let (limit, cursor) = page(q.limit, q.cursor)?;
    let status = q.status.map(|s| s.parse::<DeliveryStatus>()).transpose().map_err(|e| {
        ApiError::validation(StatusCode::BAD_REQUEST, format!("status: {e}: use pending, delivered or dead"))
    })?;
    let p =
        webhooks::deliveries(&state.db, &admin.0, SubscriptionId::new(id.to_string()), status, cursor, limit).await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: p.items.into_iter().map(DeliveryResponse::from).collect::<Vec<_>>(),
        next_cursor: p.next_cursor,
    }))
}

/// Retry a delivery now (admin)
///
/// A dead or pending delivery is re-queued (202, the delivery as it stands); a delivered one
/// cannot be (`409 already_delivered`).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/retry", operation_id = "retryDelivery", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id"), ("delivery_id" = uuid::Uuid, Path, description = "The delivery's id")),
    responses(
        (status = 202, description = "Re-queued", body = DeliveryResponse),
        Unauthorized, Forbidden, NotFound, Conflict,
    )
)]
pub async fn retry(state: web::Data<AppState>, admin: Admin, path: web::Path<(Uuid, Uuid)>) -> Res {
    let (id, delivery) = path.into_inner();
    let d = webhooks::retry(
        &state.db,
        &admin.0,
        SubscriptionId::new(id.to_string()),
        DeliveryId::new(delivery.to_string()),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(d)))
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResponse {
    /// 1 for the first attempt of a series (a retried dead letter starts a new series).
    pub attempt: i64,
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// Why it failed, with the start of the receiver's answer (`null`: delivered).
    pub error: Option<String>,
}

/// A delivery with every attempt made at it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDetailResponse {
    #[serde(flatten)]
    pub delivery: DeliveryResponse,
    pub attempt_log: Vec<AttemptResponse>,
}

/// The answer to retrying every dead letter.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetriedResponse {
    /// How many dead letters were re-queued (at most 1000 per call).
    pub retried: usize,
}

/// The answer to sending a test event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSentResponse {
    /// The test event's delivery (see its attempts with `getDelivery`).
    #[schema(format = Uuid)]
    pub delivery_id: String,
}

/// One delivery, with its attempts (admin)
#[utoipa::path(get, path = "/webhooks/{id}/deliveries/{delivery_id}", operation_id = "getDelivery", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id"), ("delivery_id" = uuid::Uuid, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery and its attempts, oldest first", body = DeliveryDetailResponse),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn get_delivery(state: web::Data<AppState>, admin: Admin, path: web::Path<(Uuid, Uuid)>) -> Res {
    let (id, delivery) = path.into_inner();
    let (d, attempts) = webhooks::delivery(
        &state.db,
        &admin.0,
        SubscriptionId::new(id.to_string()),
        DeliveryId::new(delivery.to_string()),
    )
    .await?;
    Ok(HttpResponse::Ok().json(DeliveryDetailResponse {
        delivery: DeliveryResponse::from(d),
        attempt_log: attempts
            .into_iter()
            .map(|a| AttemptResponse { attempt: a.attempt, at: a.at, status_code: a.status_code, error: a.error })
            .collect(),
    }))
}

/// Retry every dead letter (admin)
///
/// Each dead delivery of the subscription gets a fresh series of attempts, due now (at most
/// 1000 per call: call again for more).
#[utoipa::path(post, path = "/webhooks/{id}/dead-letters/retry", operation_id = "retryDeadLetters", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses((status = 202, description = "Re-queued", body = RetriedResponse), Unauthorized, Forbidden, NotFound)
)]
pub async fn retry_dead(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let retried = webhooks::retry_dead(&state.db, &admin.0, SubscriptionId::new(id.to_string())).await?;
    Ok(HttpResponse::Accepted().json(RetriedResponse { retried }))
}

/// Pause a subscription (admin)
///
/// Its deliveries wait, and new events still queue for it, until it is resumed.
#[utoipa::path(post, path = "/webhooks/{id}/pause", operation_id = "pauseWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The subscription, paused", body = WebhookResponse),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn pause(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let s = webhooks::set_paused(&state.db, &admin.0, SubscriptionId::new(id.to_string()), true).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(s)))
}

/// Resume a paused subscription (admin)
#[utoipa::path(post, path = "/webhooks/{id}/resume", operation_id = "resumeWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses(
        (status = 200, description = "The subscription, delivering again", body = WebhookResponse),
        Unauthorized, Forbidden, NotFound,
    )
)]
pub async fn resume(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let s = webhooks::set_paused(&state.db, &admin.0, SubscriptionId::new(id.to_string()), false).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(s)))
}

/// Send a test event (admin)
///
/// Queues one `scimgate.webhook.test` event for this subscription only, whatever events it
/// asked for, signed like every delivery.
#[utoipa::path(post, path = "/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "The webhook's id")),
    responses((status = 202, description = "Queued", body = TestSentResponse), Unauthorized, Forbidden, NotFound)
)]
pub async fn test_event(state: web::Data<AppState>, admin: Admin, id: web::Path<Uuid>) -> Res {
    let delivery_id = webhooks::send_test(&state.db, &admin.0, SubscriptionId::new(id.to_string())).await?;
    Ok(HttpResponse::Accepted().json(TestSentResponse { delivery_id }))
}
