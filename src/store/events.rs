//! The outbox (one row per downstream event), webhook subscriptions and deliveries, and the
//! dispatcher's claims on deliveries.
//!
//! Claims: on PostgreSQL the due deliveries are selected `FOR UPDATE OF d SKIP LOCKED`, so
//! gateways claiming at once take disjoint rows without waiting on each other; on SQLite
//! the claim runs in a `BEGIN IMMEDIATE` transaction (one writer at a time, also across
//! processes), which makes a plain select-then-update safe.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::{count_star, max, min};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::conn::DbConnection;
use super::conn::native;
use super::schema::{outbox_events, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use super::{StoreError, to_utc};
use crate::domain::{
    Attempt, Delivery, DeliveryId, DeliveryStatus, EventFilter, Subscription, SubscriptionHealth, SubscriptionId,
};

/// An event as written to the outbox.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxEvent {
    pub id: String,
    pub event_type: String,
    pub subject: String,
    pub subject_seq: i64,
    pub occurred_at: NaiveDateTime,
    pub body: String,
}

/// The next number in the subject's event sequence (1 for its first event). The caller
/// holds the subject's row lock, so two transactions never draw the same number; the
/// unique key (subject, subject_seq) backs that.
pub fn next_subject_seq(conn: &mut DbConnection, subject: &str) -> Result<i64, StoreError> {
    let last: Option<i64> = native!(conn, |c| outbox_events::table
        .filter(outbox_events::subject.eq(subject))
        .select(max(outbox_events::subject_seq))
        .first(c))?;
    Ok(last.unwrap_or(0) + 1)
}

pub fn insert_event(conn: &mut DbConnection, e: &OutboxEvent) -> Result<(), StoreError> {
    native!(conn, |c| diesel::insert_into(outbox_events::table).values(e).execute(c))?;
    Ok(())
}

// --- subscriptions

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_subscriptions)]
struct SubscriptionRow {
    id: String,
    url: String,
    events: String,
    created_at: NaiveDateTime,
    paused_at: Option<NaiveDateTime>,
}

/// Event lists are stored space-separated (event types hold no spaces), like token scopes.
fn encode_filter(f: &EventFilter) -> String {
    f.entries().join(" ")
}

fn decode_filter(s: &str) -> Result<EventFilter, StoreError> {
    let entries: Vec<String> = s.split_whitespace().map(str::to_owned).collect();
    EventFilter::parse(&entries).map_err(|e| StoreError::Corrupt(format!("webhook events {s:?}: {e}")))
}

impl SubscriptionRow {
    fn into_subscription(self) -> Result<Subscription, StoreError> {
        Ok(Subscription {
            events: decode_filter(&self.events)?,
            id: self.id,
            url: self.url,
            created_at: to_utc(self.created_at),
            paused_at: self.paused_at.map(to_utc),
        })
    }
}

/// Every live subscription's stored secret: (id, stored value).
pub fn subscription_secrets(conn: &mut DbConnection) -> Result<Vec<(String, String)>, StoreError> {
    // In id order, as every writer of several subscription rows takes them.
    Ok(webhook_subscriptions::table
        .filter(webhook_subscriptions::deleted_at.is_null())
        .order(webhook_subscriptions::id)
        .select((webhook_subscriptions::id, webhook_subscriptions::secret))
        .load(conn)?)
}

pub fn set_subscription_secret(conn: &mut DbConnection, id: &str, stored: &str) -> Result<(), StoreError> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set(webhook_subscriptions::secret.eq(stored))
        .execute(conn)?;
    Ok(())
}

pub fn insert_subscription(conn: &mut DbConnection, s: &Subscription, secret: &str) -> Result<(), StoreError> {
    diesel::insert_into(webhook_subscriptions::table)
        .values((
            webhook_subscriptions::id.eq(&s.id),
            webhook_subscriptions::url.eq(&s.url),
            webhook_subscriptions::events.eq(encode_filter(&s.events)),
            webhook_subscriptions::secret.eq(secret),
            webhook_subscriptions::created_at.eq(s.created_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Live subscriptions, oldest first.
pub fn list_subscriptions(conn: &mut DbConnection) -> Result<Vec<Subscription>, StoreError> {
    native!(conn, |c| webhook_subscriptions::table
        .filter(webhook_subscriptions::deleted_at.is_null())
        .order(webhook_subscriptions::id)
        .select(SubscriptionRow::as_select())
        .load(c))?
    .into_iter()
    .map(SubscriptionRow::into_subscription)
    .collect()
}

/// The live subscriptions among `ids`, re-read; on PostgreSQL their rows are locked `FOR
/// SHARE` until the transaction ends, so a pause, resume or delete of one (an `UPDATE` of
/// its row) waits for this transaction, and then sees the deliveries it wrote.
pub fn share_subscriptions(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<Subscription>, StoreError> {
    // The query is written per backend: `as_select` takes the backend's type.
    macro_rules! live {
        () => {
            webhook_subscriptions::table
                .filter(webhook_subscriptions::id.eq_any(ids))
                .filter(webhook_subscriptions::deleted_at.is_null())
                .order(webhook_subscriptions::id)
                .select(SubscriptionRow::as_select())
        };
    }
    let rows = match conn {
        DbConnection::Sqlite(c) => live!().load(c)?,
        DbConnection::Pg(c) => live!().for_share().load(c)?,
    };
    rows.into_iter().map(SubscriptionRow::into_subscription).collect()
}

pub fn find_subscription(conn: &mut DbConnection, id: &str) -> Result<Option<Subscription>, StoreError> {
    webhook_subscriptions::table
        .find(id)
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?
        .map(SubscriptionRow::into_subscription)
        .transpose()
}

/// Deletes a subscription: its deliveries go, its row stays (marked, secret wiped) so that
/// an event written concurrently cannot fail on a vanished foreign key; deliveries such a
/// race leaves behind are never claimed (claims join live subscriptions only).
pub fn delete_subscription(conn: &mut DbConnection, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = diesel::update(webhook_subscriptions::table.find(id).filter(webhook_subscriptions::deleted_at.is_null()))
        .set((webhook_subscriptions::deleted_at.eq(Some(at.naive_utc())), webhook_subscriptions::secret.eq("")))
        .execute(conn)?;
    if n == 1 {
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::subscription_id.eq(id))).execute(conn)?;
    }
    Ok(n == 1)
}

// --- deliveries

/// A delivery to create at fan-out.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub id: String,
    pub subscription_id: &'a str,
    pub event: &'a OutboxEvent,
    pub at: NaiveDateTime,
    /// When it is first due: `at`, or [`PAUSED_UNTIL`] for a paused subscription.
    pub due: NaiveDateTime,
}

/// The due time of a paused subscription's pending deliveries: past the end of the due
/// index's range, so that the dispatcher's scan for due deliveries never walks a paused
/// backlog. Resuming makes them due now.
pub fn paused_until() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or(NaiveDateTime::MAX)
}

pub fn insert_delivery(conn: &mut DbConnection, d: &NewDelivery<'_>) -> Result<(), StoreError> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(&d.id),
            webhook_deliveries::subscription_id.eq(d.subscription_id),
            webhook_deliveries::event_id.eq(&d.event.id),
            webhook_deliveries::event_type.eq(&d.event.event_type),
            webhook_deliveries::subject.eq(&d.event.subject),
            webhook_deliveries::subject_seq.eq(d.event.subject_seq),
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::attempts.eq(0i64),
            webhook_deliveries::next_attempt_at.eq(d.due),
            webhook_deliveries::created_at.eq(d.at),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: String,
    subscription_id: String,
    event_id: String,
    event_type: String,
    subject: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    last_status_code: Option<i64>,
    next_attempt_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            status: self.status.parse().map_err(StoreError::Corrupt)?,
            id: self.id,
            subscription_id: self.subscription_id,
            event_id: self.event_id,
            event_type: self.event_type,
            subject: self.subject,
            attempts: self.attempts,
            last_error: self.last_error,
            last_status_code: self.last_status_code,
            next_attempt_at: to_utc(self.next_attempt_at),
            delivered_at: self.delivered_at.map(to_utc),
            created_at: to_utc(self.created_at),
        })
    }
}

/// A subscription's deliveries, newest first: ids lower than `before`, at most `limit`.
pub fn list_deliveries(
    conn: &mut DbConnection,
    subscription_id: &str,
    status: Option<DeliveryStatus>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id.to_owned()))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(webhook_deliveries::status.eq(s.as_str()));
    }
    if let Some(b) = before {
        q = q.filter(webhook_deliveries::id.lt(b.to_owned()));
    }
    q.order(webhook_deliveries::id.desc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(DeliveryRow::into_delivery)
        .collect()
}

pub fn find_delivery(
    conn: &mut DbConnection,
    subscription: &SubscriptionId,
    delivery: &DeliveryId,
) -> Result<Option<Delivery>, StoreError> {
    webhook_deliveries::table
        .find(delivery.as_str())
        .filter(webhook_deliveries::subscription_id.eq(subscription.as_str()))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?
        .map(DeliveryRow::into_delivery)
        .transpose()
}

/// Makes a dead delivery pending again with a fresh series of attempts, due now.
pub fn revive(conn: &mut DbConnection, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = diesel::update(
        webhook_deliveries::table.find(id).filter(webhook_deliveries::status.eq(DeliveryStatus::Dead.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::attempts.eq(0i64),
        webhook_deliveries::next_attempt_at.eq(at.naive_utc()),
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::lease_owner.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Brings a pending delivery's next attempt forward to now. A lease is left alone: a
/// delivery being attempted right now finishes that attempt first.
pub fn hasten(conn: &mut DbConnection, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = diesel::update(
        webhook_deliveries::table.find(id).filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set(webhook_deliveries::next_attempt_at.eq(at.naive_utc()))
    .execute(conn)?;
    Ok(n == 1)
}

/// A delivery claimed for one attempt, with what sending it needs. Its Debug leaves out
/// the secret.
#[derive(Clone, Queryable)]
pub struct Claimed {
    pub id: String,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    /// Counts this attempt.
    pub attempts: i64,
    pub url: String,
    pub secret: String,
    pub body: String,
}

impl std::fmt::Debug for Claimed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("id", &self.id)
            .field("subscription_id", &self.subscription_id)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("attempts", &self.attempts)
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The due deliveries an instance may attempt now: pending, due, not under a live lease,
/// of a live subscription, and the oldest pending delivery of their subject to their
/// subscription (an older one still pending — due later, or being attempted — holds the
/// newer ones back; a dead one does not).
fn due_sql(placeholder: impl Fn(usize) -> String, lock: &str) -> String {
    format!(
        "SELECT d.id AS id FROM webhook_deliveries d \
         JOIN webhook_subscriptions s ON s.id = d.subscription_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= {now1} \
           AND (d.lease_until IS NULL OR d.lease_until <= {now2}) \
           AND s.deleted_at IS NULL AND s.paused_at IS NULL \
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o \
               WHERE o.subscription_id = d.subscription_id AND o.subject = d.subject \
                 AND o.status = 'pending' AND o.subject_seq < d.subject_seq) \
         ORDER BY d.next_attempt_at, d.id LIMIT {limit}{lock}",
        now1 = placeholder(1),
        now2 = placeholder(2),
        limit = placeholder(3),
    )
}

/// Claims up to `limit` due deliveries for one attempt each: sets their lease (until
/// `lease_until`, owned by `owner`) and counts the attempt. Call in a write transaction.
pub fn claim(
    conn: &mut DbConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, StoreError> {
    let now = now.naive_utc();
    let rows: Vec<IdRow> = match conn {
        DbConnection::Pg(c) => diesel::sql_query(due_sql(|i| format!("${i}"), " FOR UPDATE OF d SKIP LOCKED"))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
        DbConnection::Sqlite(c) => diesel::sql_query(due_sql(|_| "?".to_owned(), ""))
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(limit)
            .load(c)?,
    };
    let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(vec![]);
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((
            webhook_deliveries::lease_until.eq(Some(lease_until.naive_utc())),
            webhook_deliveries::lease_owner.eq(Some(owner)),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        ))
        .execute(conn)?;
    Ok(webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .inner_join(outbox_events::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order((webhook_deliveries::next_attempt_at, webhook_deliveries::id))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::subscription_id,
            webhook_deliveries::event_id,
            webhook_deliveries::event_type,
            webhook_deliveries::attempts,
            webhook_subscriptions::url,
            webhook_subscriptions::secret,
            outbox_events::body,
        ))
        .load::<Claimed>(conn)?)
}

/// How an attempt ended, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered {
        status_code: i64,
    },
    /// Failed; tried again at `next_attempt_at`.
    Retry {
        error: String,
        status_code: Option<i64>,
        next_attempt_at: DateTime<Utc>,
    },
    /// Failed for the last time.
    Dead {
        error: String,
        status_code: Option<i64>,
    },
}

/// Records an attempt's outcome, if the claim still holds (`false`: the lease ran out and
/// another instance may have claimed the delivery since; its record wins).
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    owner: &str,
    outcome: &Outcome,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let attempt: Option<i64> = webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::lease_owner.eq(owner))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .select(webhook_deliveries::attempts)
        .first(conn)
        .optional()?;
    let Some(attempt) = attempt else {
        return Ok(false);
    };
    let (status_code, error) = match outcome {
        Outcome::Delivered { status_code } => (Some(*status_code), None),
        Outcome::Retry { error, status_code, .. } | Outcome::Dead { error, status_code } => (*status_code, Some(error)),
    };
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::id.eq(crate::domain::new_id()),
            webhook_attempts::delivery_id.eq(id),
            webhook_attempts::attempt.eq(attempt),
            webhook_attempts::at.eq(at.naive_utc()),
            webhook_attempts::status_code.eq(status_code),
            webhook_attempts::error.eq(error),
        ))
        .execute(conn)?;
    let target = webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::lease_owner.eq(owner))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
    let released =
        (webhook_deliveries::lease_until.eq(None::<NaiveDateTime>), webhook_deliveries::lease_owner.eq(None::<String>));
    let n = match outcome {
        Outcome::Delivered { status_code } => diesel::update(target)
            .set((
                released,
                webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
                webhook_deliveries::delivered_at.eq(Some(at.naive_utc())),
                webhook_deliveries::last_status_code.eq(Some(*status_code)),
                webhook_deliveries::last_error.eq(None::<String>),
            ))
            .execute(conn)?,
        Outcome::Retry { error, status_code, next_attempt_at } => diesel::update(target)
            .set((
                released,
                webhook_deliveries::next_attempt_at.eq(next_attempt_at.naive_utc()),
                webhook_deliveries::last_status_code.eq(*status_code),
                webhook_deliveries::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
        Outcome::Dead { error, status_code } => diesel::update(target)
            .set((
                released,
                webhook_deliveries::status.eq(DeliveryStatus::Dead.as_str()),
                webhook_deliveries::last_status_code.eq(*status_code),
                webhook_deliveries::last_error.eq(Some(error)),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Gives claims back unattempted (a stopping instance): due now, for any instance.
pub fn release(conn: &mut DbConnection, ids: &[String], owner: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::lease_owner.eq(owner))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::lease_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::next_attempt_at.eq(at.naive_utc()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Whether any delivery may be due now: a cheap read before a claim's write transaction.
pub fn any_due(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<bool, StoreError> {
    let now = now.naive_utc();
    let found = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::lease_until.is_null().or(webhook_deliveries::lease_until.le(now)))
        .filter(webhook_subscriptions::deleted_at.is_null())
        .filter(webhook_subscriptions::paused_at.is_null())
        .select(webhook_deliveries::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The queue's state: pending deliveries, the creation time of the oldest, dead letters.
pub fn queue(conn: &mut DbConnection) -> Result<(i64, Option<DateTime<Utc>>, i64), StoreError> {
    let (pending, oldest): (i64, Option<NaiveDateTime>) = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select((count_star(), min(webhook_deliveries::created_at)))
        .first(conn)?;
    let dead: i64 = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Dead.as_str()))
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select(count_star())
        .first(conn)?;
    Ok((pending, oldest.map(to_utc), dead))
}

// --- the operator's view

/// Locks a live subscription's row until the transaction ends (PostgreSQL; SQLite has one
/// writer): the events written for it as their subject draw their sequence numbers under it.
pub fn lock_subscription(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    let found: Option<String> = match conn {
        DbConnection::Pg(c) => webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::deleted_at.is_null())
            .select(webhook_subscriptions::id)
            .for_update()
            .first(c)
            .optional()?,
        DbConnection::Sqlite(c) => webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::deleted_at.is_null())
            .select(webhook_subscriptions::id)
            .first(c)
            .optional()?,
    };
    Ok(found.is_some())
}

/// Pauses (`Some`) or resumes (`None`) a live subscription; whether it changed (`false`:
/// no such live subscription, or it already was). Its pending deliveries are moved
/// separately, a batch at a time ([`move_backlog`]): claims skip a paused subscription's
/// deliveries from this commit on, parked or not.
pub fn set_paused(conn: &mut DbConnection, id: &str, at: Option<DateTime<Utc>>) -> Result<bool, StoreError> {
    // Conditional on the state it changes: a pause (or resume) that committed since the
    // caller's read leaves nothing to do, and the caller audits nothing.
    let live = webhook_subscriptions::table.find(id).filter(webhook_subscriptions::deleted_at.is_null());
    let set = webhook_subscriptions::paused_at.eq(at.map(|a| a.naive_utc()));
    let n = match at {
        Some(_) => diesel::update(live.filter(webhook_subscriptions::paused_at.is_null())).set(set).execute(conn)?,
        None => diesel::update(live.filter(webhook_subscriptions::paused_at.is_not_null())).set(set).execute(conn)?,
    };
    Ok(n == 1)
}

/// The most deliveries one transaction parks or unparks: a pause or resume moves a larger
/// backlog in several, so none holds the writer (or outlasts a statement limit) for long.
pub const MOVE_BATCH: i64 = 5_000;

/// Moves up to `limit` of a subscription's pending deliveries with ids above `after`, in id
/// order, to where its state wants them: a paused one's wait at [`paused_until`] (not one
/// under a lease: an attempt in flight finishes first), an active one's are due `now`.
/// The state is read under a share lock on PostgreSQL, so a pause or resume committing
/// meanwhile waits for this batch, and the next batch moves toward it. Returns the last id
/// looked at (`None`: nothing left, or the subscription is gone): the next batch starts
/// after it.
pub fn move_backlog(
    conn: &mut DbConnection,
    subscription_id: &str,
    now: DateTime<Utc>,
    after: Option<&str>,
    limit: i64,
) -> Result<Option<String>, StoreError> {
    let Some(sub) = share_subscriptions(conn, &[subscription_id.to_owned()])?.pop() else { return Ok(None) };
    let parked = paused_until();
    let pending = || {
        let mut q = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(subscription_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .into_boxed();
        if let Some(after) = after {
            q = q.filter(webhook_deliveries::id.gt(after.to_owned()));
        }
        q
    };
    let ids: Vec<String> = if sub.paused_at.is_some() {
        let due = || {
            pending()
                .filter(webhook_deliveries::lease_until.is_null())
                .filter(webhook_deliveries::next_attempt_at.lt(parked))
        };
        let ids = due().order(webhook_deliveries::id).limit(limit).select(webhook_deliveries::id).load(conn)?;
        diesel::update(webhook_deliveries::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::lease_until.is_null())
            .set(webhook_deliveries::next_attempt_at.eq(parked))
            .execute(conn)?;
        ids
    } else {
        let waiting = || pending().filter(webhook_deliveries::next_attempt_at.ge(parked));
        let ids = waiting().order(webhook_deliveries::id).limit(limit).select(webhook_deliveries::id).load(conn)?;
        diesel::update(webhook_deliveries::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.ge(parked))
            .set(webhook_deliveries::next_attempt_at.eq(now.naive_utc()))
            .execute(conn)?;
        ids
    };
    Ok(if (ids.len() as i64) < limit { None } else { ids.last().cloned() })
}

/// The live subscriptions whose pending deliveries are not where their state wants them:
/// an active one with parked deliveries, a paused one with unleased due ones (what a
/// pause or resume cut short leaves behind). One read, for a gateway's start.
pub fn misplaced_backlogs(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let parked = paused_until();
    let live = || {
        webhook_deliveries::table
            .inner_join(webhook_subscriptions::table)
            .filter(webhook_subscriptions::deleted_at.is_null())
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
    };
    let mut ids: Vec<String> = live()
        .filter(webhook_subscriptions::paused_at.is_null())
        .filter(webhook_deliveries::next_attempt_at.ge(parked))
        .select(webhook_deliveries::subscription_id)
        .distinct()
        .load(conn)?;
    ids.extend(
        live()
            .filter(webhook_subscriptions::paused_at.is_not_null())
            .filter(webhook_deliveries::next_attempt_at.lt(parked))
            .filter(webhook_deliveries::lease_until.is_null())
            .select(webhook_deliveries::subscription_id)
            .distinct()
            .load::<String>(conn)?,
    );
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Makes every dead delivery of a subscription pending again (at most `limit`); how many.
pub fn revive_dead(
    conn: &mut DbConnection,
    subscription_id: &str,
    at: DateTime<Utc>,
    limit: i64,
) -> Result<usize, StoreError> {
    let ids: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Dead.as_str()))
        .order(webhook_deliveries::id)
        .limit(limit)
        .select(webhook_deliveries::id)
        .load(conn)?;
    // Each revive is conditional: a dead letter another transaction revived (or pruned)
    // since the read is not counted.
    let mut revived = 0;
    for id in &ids {
        revived += usize::from(revive(conn, id, at)?);
    }
    Ok(revived)
}

/// A delivery's attempts, oldest first.
pub fn attempts_of(conn: &mut DbConnection, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
    let rows: Vec<(i64, NaiveDateTime, Option<i64>, Option<String>)> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .order(webhook_attempts::id)
        .select((
            webhook_attempts::attempt,
            webhook_attempts::at,
            webhook_attempts::status_code,
            webhook_attempts::error,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(attempt, at, status_code, error)| Attempt { attempt, at: to_utc(at), status_code, error })
        .collect())
}

/// The most deliveries of one kind a health read counts (more reads as "more than").
pub const HEALTH_CAP: i64 = 10_000;

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many of a subscription's deliveries satisfy `condition` (SQL over
/// `webhook_deliveries`, `$2` bound to `since` when given), counted inside the database up
/// to [`HEALTH_CAP`] + 1 (a `LIMIT` under the count: the walk stops there).
fn count_capped(
    conn: &mut DbConnection,
    subscription_id: &str,
    condition: &str,
    since: Option<NaiveDateTime>,
) -> Result<i64, StoreError> {
    let sql = format!(
        "SELECT count(*) AS n FROM (SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1 AND {condition} \
         LIMIT {}) capped",
        HEALTH_CAP + 1
    );
    let row: CountRow = match conn {
        DbConnection::Pg(c) => {
            let q = diesel::sql_query(sql).bind::<Text, _>(subscription_id);
            match since {
                Some(t) => q.bind::<Timestamp, _>(t).get_result(c)?,
                None => q.get_result(c)?,
            }
        }
        DbConnection::Sqlite(c) => {
            let q = diesel::sql_query(sql.replace("$1", "?").replace("$2", "?")).bind::<Text, _>(subscription_id);
            match since {
                Some(t) => q.bind::<Timestamp, _>(t).get_result(c)?,
                None => q.get_result(c)?,
            }
        }
    };
    Ok(row.n)
}

/// A subscription's downstream health: index range counts and single-row reads only.
pub fn health(
    conn: &mut DbConnection,
    subscription_id: &str,
    now: DateTime<Utc>,
) -> Result<SubscriptionHealth, StoreError> {
    let day_ago = (now - chrono::Duration::hours(24)).naive_utc();
    // Each count walks only what it counts, on an index of its own, up to HEALTH_CAP + 1.
    let delivered_24h =
        count_capped(conn, subscription_id, "status = 'delivered' AND delivered_at >= $2", Some(day_ago))?;
    let pending = count_capped(conn, subscription_id, "status = 'pending'", None)?;
    let dead = count_capped(conn, subscription_id, "status = 'dead'", None)?;
    let failing = count_capped(conn, subscription_id, "status = 'pending' AND last_error IS NOT NULL", None)?;
    // Ids are time-ordered: the first pending id is the oldest pending delivery.
    let oldest_pending: Option<NaiveDateTime> = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .order(webhook_deliveries::id)
        .select(webhook_deliveries::created_at)
        .first(conn)
        .optional()?;
    let mut last_error: Option<(String, String)> = None;
    for status in [DeliveryStatus::Pending, DeliveryStatus::Dead] {
        let found: Option<(String, Option<String>)> = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(subscription_id))
            .filter(webhook_deliveries::status.eq(status.as_str()))
            .filter(webhook_deliveries::last_error.is_not_null())
            .order(webhook_deliveries::id.desc())
            .select((webhook_deliveries::id, webhook_deliveries::last_error))
            .first(conn)
            .optional()?;
        if let Some((id, Some(e))) = found
            && last_error.as_ref().is_none_or(|(other, _)| *other < id)
        {
            last_error = Some((id, e));
        }
    }
    Ok(SubscriptionHealth {
        delivered_24h,
        pending,
        failing,
        dead,
        oldest_pending_age: oldest_pending.map(|o| (now - to_utc(o)).max(chrono::Duration::zero())),
        last_error: last_error.map(|(_, e)| e),
    })
}
