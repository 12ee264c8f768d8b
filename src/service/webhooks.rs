//! Webhook subscriptions and their deliveries: create (URL checked, secret shown once),
//! list, delete, inspect and retry deliveries; the signature every delivery carries; the
//! queue's health for metrics.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{Conflict, Page, ServiceError, audit, auth, write_as};
use crate::domain::{
    Attempt, AuditAction, Delivery, DeliveryId, DeliveryStatus, EventFilter, Subscription, SubscriptionHealth,
    SubscriptionId, ValidationError, new_id, now,
};
use crate::policy::access::AdminCap;
use crate::policy::webhooks::check_target;
use crate::store::{Db, DbConnection, events};

/// The prefix of generated webhook secrets.
pub const SECRET_PREFIX: &str = "whsec_";
/// The header that carries a delivery's signature (see [`signature_header`]).
pub const SIGNATURE_HEADER: &str = "Scimgate-Signature";
const MAX_URL_LEN: usize = 2048;
const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;

/// A subscription to create, as the client asked for it. Its Debug leaves out the secret.
#[derive(Clone)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<String>,
}

impl std::fmt::Debug for NewSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSubscription")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// A created subscription and its secret (shown this once). Its Debug leaves out the secret.
pub struct Created {
    pub subscription: Subscription,
    pub secret: String,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created").field("subscription", &self.subscription).field("secret", &"***").finish()
    }
}

/// An absolute http(s) URL with a host and no credentials.
pub fn parse_url(value: &str) -> Result<reqwest::Url, ValidationError> {
    let invalid = |why: &str| ValidationError::new("url", why.to_owned());
    if value.len() > MAX_URL_LEN {
        return Err(invalid("must be at most 2048 characters"));
    }
    let url = reqwest::Url::parse(value).map_err(|e| invalid(&format!("is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must be an http or https URL"));
    }
    if url.host().is_none() {
        return Err(invalid("must name a host"));
    }
    // Credentials in a URL end up in listings and proxies' logs; the signature
    // authenticates the gateway instead.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials (user:password@)"));
    }
    Ok(url)
}

/// The addresses a URL's host stands for: itself when it is an IP literal, else what it
/// resolves to (within `timeout`).
pub async fn resolve(url: &reqwest::Url, timeout: Duration) -> Result<Vec<IpAddr>, ValidationError> {
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) => return Ok(vec![IpAddr::V4(ip)]),
        Some(url::Host::Ipv6(ip)) => return Ok(vec![IpAddr::V6(ip)]),
        Some(url::Host::Domain(name)) => name.to_owned(),
        None => return Err(ValidationError::new("url", "must name a host")),
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(addrs)) => Ok(addrs.map(|a| a.ip()).collect()),
        Ok(Err(e)) => Err(ValidationError::new("url", format!("cannot resolve {host}: {e}"))),
        Err(_) => Err(ValidationError::new("url", format!("resolving {host} timed out"))),
    }
}

/// Checks where a webhook URL leads (its host as resolved now): public addresses only,
/// loopback too when allowed. The dispatcher checks again at every attempt.
pub async fn check_url(url: &reqwest::Url, allow_loopback: bool, timeout: Duration) -> Result<(), ServiceError> {
    let addrs = resolve(url, timeout).await?;
    let host = url.host_str().unwrap_or_default();
    check_target(host, &addrs, allow_loopback)?;
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), ValidationError> {
    let n = secret.chars().count();
    if !SECRET_LEN.contains(&n) {
        return Err(ValidationError::new("secret", "must be 16 to 256 characters"));
    }
    if secret.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ValidationError::new("secret", "must not contain white space or control characters"));
    }
    Ok(())
}

pub async fn create(
    db: &Db,
    admin: &AdminCap,
    req: NewSubscription,
    allow_loopback: bool,
    resolve_timeout: Duration,
    sealer: &super::sealing::Sealer,
) -> Result<Created, ServiceError> {
    let actor = admin.actor().clone();
    let url = parse_url(req.url.trim())?;
    let events = EventFilter::parse(&req.events)?;
    let secret = match req.secret {
        Some(s) => {
            check_secret(&s)?;
            s
        }
        None => auth::generate_secret(SECRET_PREFIX)?,
    };
    check_url(&url, allow_loopback, resolve_timeout).await?;
    let subscription = Subscription { id: new_id(), url: url.to_string(), events, created_at: now(), paused_at: None };
    let stored_secret = sealer.seal(&secret).map_err(|e| ServiceError::Internal(e.into()))?;
    let subscription = db
        .write(move |conn| {
            events::insert_subscription(conn, &subscription, &stored_secret)?;
            audit::record(
                conn,
                &actor,
                AuditAction::WebhookCreated,
                &subscription.id,
                json!({ "url": subscription.url, "events": subscription.events.entries() }),
            )?;
            Ok::<_, ServiceError>(subscription)
        })
        .await?;
    Ok(Created { subscription, secret })
}

/// At start: with a key, seals the secrets stored in plain text (before a key was
/// configured); without one, refuses to run when sealed secrets exist (no delivery could
/// be signed).
pub async fn seal_stored_secrets(db: &Db, sealer: &super::sealing::Sealer) -> Result<(), ServiceError> {
    let sealer = sealer.clone();
    db.write(move |conn| {
        let stored = events::subscription_secrets(conn)?;
        for (id, secret) in stored {
            match (super::sealing::Sealer::is_sealed(&secret), sealer.has_key()) {
                (false, true) => {
                    let sealed = sealer.seal(&secret).map_err(|e| ServiceError::Internal(e.into()))?;
                    events::set_subscription_secret(conn, &id, &sealed)?;
                }
                (true, _) => {
                    sealer.open(&secret).map_err(|e| ServiceError::Internal(anyhow::anyhow!("webhook {id}: {e}")))?;
                }
                (false, false) => {}
            }
        }
        Ok(())
    })
    .await
}

pub async fn list(db: &Db, _admin: &AdminCap) -> Result<Vec<Subscription>, ServiceError> {
    db.read(|conn| Ok(events::list_subscriptions(conn)?)).await
}

pub async fn get(db: &Db, _admin: &AdminCap, id: SubscriptionId) -> Result<Subscription, ServiceError> {
    db.read(move |conn| events::find_subscription(conn, id.as_str())?.ok_or(ServiceError::NotFound("webhook"))).await
}

/// Deletes a subscription and its deliveries (pending ones are never sent).
pub async fn delete(db: &Db, admin: &AdminCap, id: SubscriptionId) -> Result<(), ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        let sub = events::find_subscription(conn, id.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        // A delete that committed since the read leaves nothing to delete, nor to audit.
        if !events::delete_subscription(conn, id.as_str(), now())? {
            return Ok(());
        }
        audit::record(conn, actor, AuditAction::WebhookDeleted, id.as_str(), json!({ "url": sub.url }))
    })
    .await
}

/// A subscription's deliveries, newest first.
pub async fn deliveries(
    db: &Db,
    _admin: &AdminCap,
    subscription_id: SubscriptionId,
    status: Option<DeliveryStatus>,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<Delivery>, ServiceError> {
    db.read(move |conn| {
        events::find_subscription(conn, subscription_id.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        let rows = events::list_deliveries(conn, subscription_id.as_str(), status, cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |d| d.id.clone()))
    })
    .await
}

/// Re-queues a delivery now: a dead one gets a fresh series of attempts, a pending one's
/// wait is cut short. A delivered one stays delivered (`already_delivered`).
pub async fn retry(
    db: &Db,
    admin: &AdminCap,
    subscription: SubscriptionId,
    delivery: DeliveryId,
) -> Result<Delivery, ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        events::find_subscription(conn, subscription.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        let d = events::find_delivery(conn, &subscription, &delivery)?.ok_or(ServiceError::NotFound("delivery"))?;
        let at = now();
        // Each change is conditional on the status read. When the dispatcher moved the
        // delivery on since (delivered it, or dead-lettered it), it is re-queued as it is
        // now, once; when another retry did the same first, nothing is done nor audited.
        let requeue = |conn: &mut DbConnection, status: DeliveryStatus| -> Result<bool, ServiceError> {
            match status {
                DeliveryStatus::Delivered => Err(Conflict::AlreadyDelivered.into()),
                DeliveryStatus::Dead => Ok(events::revive(conn, &d.id, at)?),
                DeliveryStatus::Pending => Ok(events::hasten(conn, &d.id, at)?),
            }
        };
        let find = |conn: &mut DbConnection| {
            events::find_delivery(conn, &subscription, &delivery)?.ok_or(ServiceError::NotFound("delivery"))
        };
        let mut changed = requeue(conn, d.status)?;
        let mut now_is = find(conn)?;
        if !changed && now_is.status != d.status {
            changed = requeue(conn, now_is.status)?;
            now_is = find(conn)?;
        }
        if !changed {
            return Ok(now_is);
        }
        audit::record(
            conn,
            actor,
            AuditAction::WebhookDeliveryRetried,
            subscription.as_str(),
            json!({ "deliveryId": d.id, "status": d.status.as_str() }),
        )?;
        Ok(now_is)
    })
    .await
}

/// Pauses or resumes a subscription: while paused its deliveries wait (new events still
/// queue for it); resumed, they go out in order. The state changes in one transaction
/// (audited once, when it changed); the pending deliveries then move in batches of
/// `events::MOVE_BATCH`, each in a transaction of its own, so a large backlog neither holds
/// the writer nor outlasts the statement limit. The batches run in a task of their own: a
/// client that hangs up does not stop them. A batch that fails, or that a stopping gateway
/// leaves behind, is moved by the next pause or resume of the subscription, or by the next
/// gateway start (`backlogs_in_place`).
pub async fn set_paused(
    db: &Db,
    admin: &AdminCap,
    id: SubscriptionId,
    paused: bool,
) -> Result<Subscription, ServiceError> {
    let sub = id.clone();
    write_as(db, admin.actor(), move |conn, actor| {
        let found = events::find_subscription(conn, sub.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        let at = now();
        if found.paused_at.is_some() != paused && events::set_paused(conn, sub.as_str(), paused.then_some(at))? {
            let action = if paused { AuditAction::WebhookPaused } else { AuditAction::WebhookResumed };
            audit::record(conn, actor, action, sub.as_str(), json!({ "url": found.url }))?;
        }
        Ok(())
    })
    .await?;
    let (mover, moving) = (db.clone(), id.clone());
    if let Ok(Err(e)) = tokio::spawn(async move { move_backlog(&mover, &moving).await }).await {
        tracing::warn!(error = %crate::error::Chain(&e), subscription = %id, "moving a webhook backlog stopped; the next pause, resume or start moves the rest");
    }
    db.read_short(move |conn| events::find_subscription(conn, id.as_str())?.ok_or(ServiceError::NotFound("webhook")))
        .await
}

/// Moves a subscription's pending deliveries to where its state wants them, a batch per
/// transaction, each after the last id the one before it looked at, until none is left.
async fn move_backlog(db: &Db, id: &SubscriptionId) -> Result<(), ServiceError> {
    let mut after: Option<String> = None;
    loop {
        let sub = id.clone();
        let from = after.take();
        after = db
            .write(move |conn| {
                Ok::<_, ServiceError>(events::move_backlog(
                    conn,
                    sub.as_str(),
                    now(),
                    from.as_deref(),
                    events::MOVE_BATCH,
                )?)
            })
            .await?;
        if after.is_none() {
            return Ok(());
        }
    }
}

/// Puts the backlogs a pause or resume cut short where their subscription's state wants
/// them (a gateway runs it when it starts, beside its dispatcher); how many subscriptions
/// it found misplaced. One that fails is logged and the others still move.
pub async fn backlogs_in_place(db: &Db) -> Result<usize, ServiceError> {
    let ids = db.read(|conn| Ok::<_, ServiceError>(events::misplaced_backlogs(conn)?)).await?;
    for id in &ids {
        let id = SubscriptionId::new(id.clone());
        if let Err(e) = move_backlog(db, &id).await {
            tracing::warn!(error = %crate::error::Chain(&e), subscription = %id, "moving a webhook backlog failed");
        }
    }
    Ok(ids.len())
}

/// The most dead letters one "retry all" revives (another call takes the rest).
pub const RETRY_ALL_LIMIT: i64 = 1000;

/// Gives every dead letter of a subscription (up to [`RETRY_ALL_LIMIT`]) a fresh series
/// of attempts; how many.
pub async fn retry_dead(db: &Db, admin: &AdminCap, id: SubscriptionId) -> Result<usize, ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        events::find_subscription(conn, id.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        let n = events::revive_dead(conn, id.as_str(), now(), RETRY_ALL_LIMIT)?;
        if n > 0 {
            audit::record(conn, actor, AuditAction::WebhookDeadLettersRetried, id.as_str(), json!({ "count": n }))?;
        }
        Ok(n)
    })
    .await
}

/// Queues a test event (`scimgate.webhook.test`) for this subscription only; the id of
/// its delivery.
pub async fn send_test(db: &Db, admin: &AdminCap, id: SubscriptionId) -> Result<String, ServiceError> {
    write_as(db, admin.actor(), move |conn, actor| {
        // Its row locked: two test events at once draw distinct sequence numbers.
        if !events::lock_subscription(conn, id.as_str())? {
            return Err(ServiceError::NotFound("webhook"));
        }
        let delivery = super::events::record_test(conn, actor, id.as_str())?;
        audit::record(conn, actor, AuditAction::WebhookTestSent, id.as_str(), json!({ "deliveryId": delivery }))?;
        Ok(delivery)
    })
    .await
}

/// One delivery with its attempts, oldest first.
pub async fn delivery(
    db: &Db,
    _admin: &AdminCap,
    subscription: SubscriptionId,
    delivery: DeliveryId,
) -> Result<(Delivery, Vec<Attempt>), ServiceError> {
    db.read(move |conn| {
        events::find_subscription(conn, subscription.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        let d = events::find_delivery(conn, &subscription, &delivery)?.ok_or(ServiceError::NotFound("delivery"))?;
        let attempts = events::attempts_of(conn, &d.id)?;
        Ok((d, attempts))
    })
    .await
}

/// The most deliveries of one kind a health read counts: a larger figure reads "more than".
pub use crate::store::events::HEALTH_CAP;

/// One subscription's downstream health.
pub async fn health_of(db: &Db, _admin: &AdminCap, id: SubscriptionId) -> Result<SubscriptionHealth, ServiceError> {
    db.read(move |conn| {
        events::find_subscription(conn, id.as_str())?.ok_or(ServiceError::NotFound("webhook"))?;
        Ok(events::health(conn, id.as_str(), now())?)
    })
    .await
}

/// Every live subscription with its downstream health (bounded index reads per
/// subscription; see `store::events::health`).
pub async fn health(db: &Db, _admin: &AdminCap) -> Result<Vec<(Subscription, SubscriptionHealth)>, ServiceError> {
    db.read(|conn| {
        let at = now();
        let mut out = vec![];
        for sub in events::list_subscriptions(conn)? {
            let h = events::health(conn, &sub.id, at)?;
            out.push((sub, h));
        }
        Ok(out)
    })
    .await
}

/// The delivery queue's health, for metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    /// Deliveries not yet delivered nor dead (queue depth).
    pub pending: i64,
    /// How long the oldest pending delivery has waited.
    pub oldest_pending_age: Option<chrono::Duration>,
    /// Dead-lettered deliveries (waiting for a manual retry).
    pub dead: i64,
}

pub async fn queue_stats(db: &Db, _admin: &AdminCap) -> Result<QueueStats, ServiceError> {
    let (pending, oldest, dead) = db.read(|conn| Ok::<_, ServiceError>(events::queue(conn)?)).await?;
    let at = now();
    Ok(QueueStats { pending, oldest_pending_age: oldest.map(|o| (at - o).max(chrono::Duration::zero())), dead })
}

/// Lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Scimgate-Signature` header value: `t=UNIX_SECONDS,v1=HEX`.
pub fn signature_header(secret: &str, at: DateTime<Utc>, body: &[u8]) -> String {
    let t = at.timestamp();
    format!("t={t},v1={}", signature(secret, t, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value: python3 -c 'import hmac,hashlib;
        //   print(hmac.new(b"whsec_test_secret_0123", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest())'
        let sig = signature("whsec_test_secret_0123", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(sig, "b1e06771f9a20c020fc4b9be257996790d615bbe4d030159b6a5669fdada024c");
        assert_eq!(sig.len(), 64);
        assert!(sig.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(signature_header("whsec_test_secret_0123", at, br#"{"a":1}"#), format!("t=1700000000,v1={sig}"));
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/scimgate?x=1").is_ok());
        assert!(parse_url("http://127.0.0.1:9000/in").is_ok());
        for bad in ["ftp://example.com/", "example.com/hook", "https://user:pw@example.com/", "file:///etc/passwd", ""]
        {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(parse_url(&format!("https://example.com/{}", "a".repeat(2100))).is_err());
    }

    #[test]
    fn secrets_are_long_and_printable() {
        assert!(check_secret("0123456789abcdef").is_ok());
        assert!(check_secret("short").is_err());
        assert!(check_secret("0123456789 abcdef").is_err());
    }
}
