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
}

impl Prunable {
    pub const ALL: [Prunable; 6] = [
        Prunable::Delivered,
        Prunable::DeadLetters,
        Prunable::Events,
        Prunable::Audit,
        Prunable::LoginSessions,
        Prunable::ConsoleSessions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Prunable::Delivered => "deliveries",
            Prunable::DeadLetters => "dead_letters",
            Prunable::Events => "events",
            Prunable::Audit => "audit",
            Prunable::LoginSessions => "login_sessions",
            Prunable::ConsoleSessions => "console_sessions",
        }
    }
}

/// Deletes at most `limit` rows of `what` older than `before`; how many.
pub fn prune(conn: &mut DbConnection, what: Prunable, before: DateTime<Utc>, limit: i64) -> Result<usize, StoreError> {
    let before = before.naive_utc();
    let n = match what {
        Prunable::Delivered => {
            let ids: Vec<String> = webhook_deliveries::table
                .filter(webhook_deliveries::status.eq("delivered"))
                .filter(webhook_deliveries::delivered_at.lt(before))
                .select(webhook_deliveries::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids))).execute(conn)?
        }
        Prunable::DeadLetters => {
            let ids: Vec<String> = webhook_deliveries::table
                .filter(webhook_deliveries::status.eq("dead"))
                .filter(webhook_deliveries::created_at.lt(before))
                .select(webhook_deliveries::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids))).execute(conn)?
        }
        Prunable::Events => {
            let newer = diesel::alias!(outbox_events as newer);
            let ids: Vec<String> = outbox_events::table
                .filter(outbox_events::occurred_at.lt(before))
                .filter(not(exists(
                    webhook_deliveries::table.filter(webhook_deliveries::event_id.eq(outbox_events::id)),
                )))
                .filter(exists(
                    newer
                        .filter(newer.field(outbox_events::subject).eq(outbox_events::subject))
                        .filter(newer.field(outbox_events::subject_seq).gt(outbox_events::subject_seq)),
                ))
                .select(outbox_events::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(outbox_events::table.filter(outbox_events::id.eq_any(&ids))).execute(conn)?
        }
        Prunable::Audit => {
            let ids: Vec<String> = audit_events::table
                .filter(audit_events::at.lt(before))
                .select(audit_events::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&ids))).execute(conn)?
        }
        Prunable::LoginSessions => {
            let ids: Vec<String> = login_sessions::table
                .filter(login_sessions::expires_at.lt(before))
                .select(login_sessions::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(login_sessions::table.filter(login_sessions::id.eq_any(&ids))).execute(conn)?
        }
        Prunable::ConsoleSessions => {
            let ids: Vec<String> = console_sessions::table
                .filter(console_sessions::expires_at.lt(before))
                .select(console_sessions::id)
                .limit(limit)
                .load(conn)?;
            diesel::delete(console_sessions::table.filter(console_sessions::id.eq_any(&ids))).execute(conn)?
        }
    };
    Ok(n)
}
