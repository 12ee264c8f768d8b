//! Audit events: recorded in the transaction of the change, queried newest first.

use serde_json::{Map, Value, json};

use super::{Page, ServiceError};
use crate::domain::{Actor, AuditAction, AuditEvent, AuditTarget, User, new_id, now};
use crate::policy::access::AdminCap;
use crate::store::{Db, DbConnection, audit};

/// Appends one event; call inside the transaction of the change it records. A directory
/// change also gets its downstream event here (see [`super::events`]).
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    target_id: &str,
    details: Value,
) -> Result<(), ServiceError> {
    let at = insert(conn, actor, action, target_id, &details)?;
    super::events::record(conn, actor, action, target_id, &details, at, None)
}

/// [`record`] for a change of `user` that was just written in this transaction (created
/// or updated, its row already locked by the write): the downstream event carries `user`
/// as it is, without reading it back.
pub fn record_user(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    user: &User,
    details: Value,
) -> Result<(), ServiceError> {
    debug_assert_eq!(action.target(), AuditTarget::User, "{action:?}");
    let at = insert(conn, actor, action, user.id.as_str(), &details)?;
    super::events::record(conn, actor, action, user.id.as_str(), &details, at, Some(user))
}

fn insert(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    target_id: &str,
    details: &Value,
) -> Result<chrono::DateTime<chrono::Utc>, ServiceError> {
    let event = AuditEvent {
        id: new_id(),
        at: now(),
        actor: actor.label.clone(),
        action: action.as_str().to_owned(),
        target_type: action.target().as_str().to_owned(),
        target_id: target_id.to_owned(),
        details: details.to_string(),
    };
    audit::insert(conn, &event)?;
    Ok(event.at)
}

/// The audited fields of a user, by their API names.
pub fn user_fields(u: &User) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("userName".into(), json!(u.user_name));
    m.insert("email".into(), json!(u.primary_email()));
    m.insert("firstName".into(), json!(u.first_name));
    m.insert("lastName".into(), json!(u.last_name));
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("externalId".into(), json!(u.external_id));
    m.insert("active".into(), json!(u.active));
    m.insert("license".into(), json!(u.license.as_str()));
    m.insert("contactId".into(), json!(u.contact_id()));
    m.insert("accountId".into(), json!(u.account_id()));
    m
}

/// `{"changes": {field: {"before": …, "after": …}}}` for the fields that differ.
pub fn user_changes(before: &User, after: &User) -> Value {
    let (b, a) = (user_fields(before), user_fields(after));
    let mut changes = Map::new();
    for (k, after_v) in a {
        let before_v = b.get(&k).cloned().unwrap_or(Value::Null);
        if before_v != after_v {
            changes.insert(k, json!({ "before": before_v, "after": after_v }));
        }
    }
    json!({ "changes": changes })
}

pub use crate::store::audit::AuditFilter;

pub async fn list(
    db: &Db,
    _admin: &AdminCap,
    filter: AuditFilter,
    cursor: Option<String>,
    limit: i64,
) -> Result<Page<AuditEvent>, ServiceError> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from >= to
    {
        return Err(crate::domain::ValidationError::new("to", "must be later than from").into());
    }
    db.read(move |conn| {
        let rows = audit::list(conn, &filter, cursor.as_deref(), limit + 1)?;
        Ok(Page::from_probe(rows, limit, |e| e.id.clone()))
    })
    .await
}

/// What the console shows instead of ids: token names by actor label (`token:<id>`), and
/// the userName of each user the events are about (one indexed read per page).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub actors: std::collections::HashMap<String, String>,
    pub targets: std::collections::HashMap<String, String>,
}

pub async fn names(db: &Db, _admin: &AdminCap, events: &[AuditEvent]) -> Result<Names, ServiceError> {
    let mut users: Vec<String> =
        events.iter().filter(|e| e.target_type == "user").map(|e| e.target_id.clone()).collect();
    users.sort();
    users.dedup();
    db.read(move |conn| {
        let mut names = Names::default();
        for t in crate::store::tokens::list(conn)? {
            let name = if t.revoked_at.is_some() { format!("{} (revoked)", t.name) } else { t.name.clone() };
            names.actors.insert(format!("token:{}", t.id), name);
            names.targets.insert(t.id.into(), t.name);
        }
        for (id, user_name) in crate::store::users::user_names(conn, &users)? {
            names.targets.insert(id, user_name);
        }
        Ok(names)
    })
    .await
}
