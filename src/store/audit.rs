//! The audit log: append-only, written in the transaction of the change it records.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::conn::DbConnection;
use super::conn::native;
use super::schema::audit_events;
use super::{StoreError, to_utc};
use crate::domain::{AuditEvent, id_floor};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
struct AuditRow {
    id: String,
    at: NaiveDateTime,
    actor: String,
    action: String,
    target_type: String,
    target_id: String,
    details: String,
}

pub fn insert(conn: &mut DbConnection, e: &AuditEvent) -> Result<(), StoreError> {
    let row = AuditRow {
        id: e.id.clone(),
        at: e.at.naive_utc(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        details: e.details.clone(),
    };
    native!(conn, |c| diesel::insert_into(audit_events::table).values(&row).execute(c))?;
    Ok(())
}

/// The filters of an audit listing (each optional). Ids are time-ordered UUIDv7, so the
/// time range is an id range: every filter walks an index in id order.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target_id: Option<String>,
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first: ids lower than `before`, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut q = audit_events::table.select(AuditRow::as_select()).into_boxed();
    if let Some(t) = &filter.target_id {
        q = q.filter(audit_events::target_id.eq(t.clone()));
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(a) = &filter.actor {
        q = q.filter(audit_events::actor.eq(a.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::id.ge(id_floor(from)));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_events::id.lt(id_floor(to)));
    }
    if let Some(b) = before {
        q = q.filter(audit_events::id.lt(b.to_owned()));
    }
    Ok(q.order(audit_events::id.desc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(|r| AuditEvent {
            id: r.id,
            at: to_utc(r.at),
            actor: r.actor,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            details: r.details,
        })
        .collect())
}
