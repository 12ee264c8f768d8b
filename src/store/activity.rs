//! Provisioning activity for the operator's view: counts per hour, source and kind, the
//! last errors each token's callers were told, and when each token was last used.
//!
//! Counting must cost the request path nothing and never make writes queue on a shared
//! row, so each gateway counts in memory ([`Tallies`]) and adds its counts to the
//! `activity_hourly` rows every few seconds ([`flush`], one short write transaction;
//! `n = n + counted`, so many gateways add up). A change is counted only once its
//! transaction has committed: the service notes it inside the transaction
//! ([`note_change`]) and [`super::Db::write`] hands the notes over after the commit (a
//! rolled-back write leaves no count). What a gateway counted in its last few seconds is
//! lost if it is killed (a clean stop flushes).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use super::conn::DbConnection;
use super::schema::{activity_hourly, token_errors, tokens};
use super::{StoreError, to_utc};

/// The most recent errors kept per token (in memory between flushes, and in the table).
pub const ERRORS_KEPT: usize = 20;

/// One error a token's caller was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub id: String,
    pub token_id: String,
    pub at: DateTime<Utc>,
    pub status: u16,
    pub method: String,
    pub path: String,
    pub scim_type: Option<String>,
    pub detail: String,
}

/// What a gateway counted since its last flush.
#[derive(Debug, Default)]
pub struct Pending {
    counts: HashMap<(NaiveDateTime, String, String), i64>,
    errors: HashMap<String, Vec<TokenError>>,
    last_used: HashMap<String, DateTime<Utc>>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.errors.is_empty() && self.last_used.is_empty()
    }

    fn count(&mut self, at: DateTime<Utc>, source: &str, kind: &str, n: i64) {
        let key = (hour_of(at), source.to_owned(), kind.to_owned());
        *self.counts.entry(key).or_default() += n;
    }

    /// Adds `other` (a flush that failed goes back, after what was counted since).
    fn absorb(&mut self, other: Pending) {
        for ((hour, source, kind), n) in other.counts {
            *self.counts.entry((hour, source, kind)).or_default() += n;
        }
        for (token, mut errors) in other.errors {
            let mine = self.errors.entry(token).or_default();
            errors.append(mine);
            *mine = errors;
            keep_newest(mine);
        }
        for (token, at) in other.last_used {
            let mine = self.last_used.entry(token).or_insert(at);
            *mine = (*mine).max(at);
        }
    }
}

fn keep_newest(errors: &mut Vec<TokenError>) {
    if errors.len() > ERRORS_KEPT {
        errors.drain(..errors.len() - ERRORS_KEPT);
    }
}

/// The start of the hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> NaiveDateTime {
    let t = at.naive_utc();
    t.date().and_hms_opt(t.hour(), 0, 0).unwrap_or(t)
}

/// A gateway's counts since its last flush.
#[derive(Debug, Default)]
pub struct Tallies {
    pending: Mutex<Pending>,
}

impl Tallies {
    fn with<R>(&self, f: impl FnOnce(&mut Pending) -> R) -> R {
        let mut guard = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Counts `n` of `kind` from `source` now.
    pub fn count(&self, source: &str, kind: &str, n: i64) {
        let at = Utc::now();
        self.with(|p| p.count(at, source, kind, n));
    }

    /// A request authenticated with token `token_id` (its "last used").
    pub fn used(&self, token_id: &str, at: DateTime<Utc>) {
        self.with(|p| {
            let last = p.last_used.entry(token_id.to_owned()).or_insert(at);
            *last = (*last).max(at);
        });
    }

    pub fn error(&self, e: TokenError) {
        self.with(|p| {
            let errors = p.errors.entry(e.token_id.clone()).or_default();
            errors.push(e);
            keep_newest(errors);
        });
    }

    /// Everything counted so far, leaving nothing.
    pub fn take(&self) -> Pending {
        self.with(std::mem::take)
    }

    /// Puts back what could not be flushed.
    pub fn restore(&self, failed: Pending) {
        self.with(|p| p.absorb(failed));
    }

    /// Hands over the changes a committed transaction noted.
    pub(super) fn committed(&self, notes: Vec<(String, &'static str)>) {
        if notes.is_empty() {
            return;
        }
        let at = Utc::now();
        self.with(|p| {
            for (source, kind) in notes {
                p.count(at, &source, kind, 1);
            }
        });
    }
}

thread_local! {
    /// The changes noted by the write transaction running on this thread.
    static NOTES: RefCell<Vec<(String, &'static str)>> = const { RefCell::new(Vec::new()) };
}

/// Notes a change (`kind`) by `source` in the write transaction running on this thread;
/// it is counted if that transaction commits.
pub fn note_change(source: String, kind: &'static str) {
    NOTES.with(|n| n.borrow_mut().push((source, kind)));
}

/// Forgets what an earlier transaction on this thread left noted (call before one starts).
pub(super) fn clear_notes() {
    NOTES.with(|n| n.borrow_mut().clear());
}

/// The changes noted since [`clear_notes`].
pub(super) fn take_notes() -> Vec<(String, &'static str)> {
    NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// Adds `pending` to the tables. Call in a write transaction.
pub fn flush(conn: &mut DbConnection, pending: &Pending) -> Result<(), StoreError> {
    // Keys in a stable order: two gateways flushing at once lock rows in the same order.
    let mut counts: Vec<_> = pending.counts.iter().collect();
    counts.sort();
    for ((hour, source, kind), n) in counts {
        diesel::sql_query(
            "INSERT INTO activity_hourly (hour, source, kind, n) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (hour, source, kind) DO UPDATE SET n = activity_hourly.n + excluded.n",
        )
        .bind::<Timestamp, _>(hour)
        .bind::<Text, _>(source)
        .bind::<Text, _>(kind)
        .bind::<BigInt, _>(n)
        .execute(conn)?;
    }
    let mut used: Vec<_> = pending.last_used.iter().collect();
    used.sort();
    for (token, at) in used {
        let at = at.naive_utc();
        diesel::update(
            tokens::table.find(token).filter(tokens::last_used_at.is_null().or(tokens::last_used_at.lt(at))),
        )
        .set(tokens::last_used_at.eq(Some(at)))
        .execute(conn)?;
    }
    let mut errors: Vec<_> = pending.errors.iter().collect();
    errors.sort_by(|a, b| a.0.cmp(b.0));
    for (token, errors) in errors {
        for e in errors {
            diesel::insert_into(token_errors::table)
                .values((
                    token_errors::id.eq(&e.id),
                    token_errors::token_id.eq(&e.token_id),
                    token_errors::at.eq(e.at.naive_utc()),
                    token_errors::status.eq(i32::from(e.status)),
                    token_errors::method.eq(&e.method),
                    token_errors::path.eq(&e.path),
                    token_errors::scim_type.eq(&e.scim_type),
                    token_errors::detail.eq(&e.detail),
                ))
                .execute(conn)?;
        }
        // Keep the newest few of this token's errors.
        let keep: Vec<String> = token_errors::table
            .filter(token_errors::token_id.eq(token))
            .order((token_errors::at.desc(), token_errors::id.desc()))
            .limit(ERRORS_KEPT as i64)
            .select(token_errors::id)
            .load(conn)?;
        diesel::delete(
            token_errors::table.filter(token_errors::token_id.eq(token)).filter(token_errors::id.ne_all(keep)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Counts per hour, source and kind from `since` (an hour start) on.
pub fn hourly_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> Result<Vec<(NaiveDateTime, String, String, i64)>, StoreError> {
    Ok(activity_hourly::table
        .filter(activity_hourly::hour.ge(since))
        .select((activity_hourly::hour, activity_hourly::source, activity_hourly::kind, activity_hourly::n))
        .load(conn)?)
}

type ErrorRow = (String, String, NaiveDateTime, i32, String, String, Option<String>, String);

/// The newest errors of token `token_id`, newest first.
pub fn errors_of(conn: &mut DbConnection, token_id: &str, limit: i64) -> Result<Vec<TokenError>, StoreError> {
    let rows: Vec<ErrorRow> = token_errors::table
        .filter(token_errors::token_id.eq(token_id))
        .order((token_errors::at.desc(), token_errors::id.desc()))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, token_id, at, status, method, path, scim_type, detail)| TokenError {
            id,
            token_id,
            at: to_utc(at),
            status: u16::try_from(status).unwrap_or(0),
            method,
            path,
            scim_type,
            detail,
        })
        .collect())
}

/// Drops the counts of hours before `before`. Call in a write transaction.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, StoreError> {
    Ok(diesel::delete(activity_hourly::table.filter(activity_hourly::hour.lt(before))).execute(conn)?)
}
