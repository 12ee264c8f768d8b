//! Pruning of what grows with use: delivered and dead webhook deliveries, delivered
//! events, audit records, ended sessions. One batch per call, in the caller's
//! transaction: the caller keeps each transaction short.

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use super::StoreError;
use super::conn::DbConnection;
use super::console_sessions::console_sessions;
use super::schema::{audit_events, login_sessions, outbox_events, webhook_deliveries};

/// What a batch prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prunable {
    /// Delivered webhook deliveries.
    Delivered,
    /// Dead-lettered webhook deliveries.
    DeadLetters,
    /// Events no delivery refers to any more, except each subject's latest (the sequence
    /// numbers of a subject's events continue from it).
    Events,
    Audit,
    LoginSessions,
    ConsoleSessions,
    /// Hourly activity counts (a few rows per hour: no batching needed).
    Activity,
}

impl Prunable {
    pub const ALL: [Prunable; 7] = [
        Prunable::Delivered,
        Prunable::DeadLetters,
        Prunable::Events,
        Prunable::Audit,
        Prunable::LoginSessions,
        Prunable::ConsoleSessions,
        Prunable::Activity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Prunable::Delivered => "deliveries",
            Prunable::DeadLetters => "dead_letters",
            Prunable::Events => "events",
            Prunable::Audit => "audit",
            Prunable::LoginSessions => "login_sessions",
            Prunable::ConsoleSessions => "console_sessions",
            Prunable::Activity => "activity",
        }
    }
}

/// Deletes at most `limit` rows of `what` older than `before`; how many.
pub fn prune(conn: &mut DbConnection, what: Prunable, before: DateTime<Utc>, limit: i64) -> Result<usize, StoreError> {
    let before = before.naive_utc();
    // One batch: the ids of at most `limit` rows matching `$filter`, then the delete of
    // those that still match it (on PostgreSQL another transaction may have changed one
    // since: a dead letter revived by an admin is pending again and stays).
    macro_rules! batch {
        ($table:ident, $filter:expr) => {{
            let ids: Vec<String> = $table::table.filter($filter).select($table::id).limit(limit).load(conn)?;
            diesel::delete($table::table.filter($table::id.eq_any(&ids)).filter($filter)).execute(conn)?
        }};
    }
    let n = match what {
        Prunable::Delivered => batch!(
            webhook_deliveries,
            webhook_deliveries::status
                .eq("delivered")
                .and(webhook_deliveries::delivered_at.lt(before).assume_not_null())
        ),
        Prunable::DeadLetters => batch!(
            webhook_deliveries,
            webhook_deliveries::status.eq("dead").and(webhook_deliveries::created_at.lt(before))
        ),
        Prunable::Events => {
            let newer = diesel::alias!(outbox_events as newer);
            batch!(
                outbox_events,
                outbox_events::occurred_at
                    .lt(before)
                    .and(not(exists(
                        webhook_deliveries::table.filter(webhook_deliveries::event_id.eq(outbox_events::id)),
                    )))
                    .and(exists(
                        newer
                            .filter(newer.field(outbox_events::subject).eq(outbox_events::subject))
                            .filter(newer.field(outbox_events::subject_seq).gt(outbox_events::subject_seq)),
                    ))
            )
        }
        Prunable::Audit => batch!(audit_events, audit_events::at.lt(before)),
        Prunable::LoginSessions => batch!(login_sessions, login_sessions::expires_at.lt(before)),
        Prunable::ConsoleSessions => batch!(console_sessions, console_sessions::expires_at.lt(before)),
        Prunable::Activity => super::activity::prune(conn, before)?,
    };
    Ok(n)
}
