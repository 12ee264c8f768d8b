//! The outbox: each directory change that downstream systems hear of becomes one CloudEvents
//! 1.0 event, written — with one delivery per matching webhook subscription — in the
//! transaction of the change. Hooked into [`super::audit::record`], which every mutation
//! calls inside its transaction (native API, SCIM, self-registration alike), so no change
//! commits without its event and no event without its change.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::ServiceError;
use crate::domain::{Actor, AuditAction, EventSubject, EventType, Group, MemberKind, User, new_id};
use crate::store::events::{self as outbox, NewDelivery, OutboxEvent};
use crate::store::{DbConnection, groups, users};

/// The CloudEvents `source` of every event: this directory.
pub const SOURCE: &str = "urn:scimgate:directory";
/// The CloudEvents spec version the events follow.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of a delivery's body (CloudEvents JSON format, structured mode).
pub const CONTENT_TYPE: &str = "application/cloudevents+json";

/// Writes the event of an audited change, if downstream systems hear of it, and fans it
/// out to the matching subscriptions. Call inside the change's transaction, after the
/// change (the event carries the resulting state: `written`, the user this transaction
/// just wrote, when the caller has it; else it is read, locking its row).
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    action: AuditAction,
    target_id: &str,
    details: &Value,
    at: DateTime<Utc>,
    written: Option<&User>,
) -> Result<(), ServiceError> {
    let active_change = details.get("changes").and_then(|c| c.get("active")).and_then(|a| {
        let (before, after) = (a.get("before")?.as_bool()?, a.get("after")?.as_bool()?);
        Some((before, after))
    });
    let Some(kind) = EventType::for_audit(action, active_change) else {
        return Ok(());
    };
    // Counted for the operator's view once this transaction commits.
    crate::store::activity::note_change(actor.source(), kind.activity_kind());
    let mut data = match kind.subject() {
        EventSubject::User => user_data(conn, kind, target_id, details, written)?,
        EventSubject::Group => group_data(conn, kind, target_id, details)?,
    };
    data.insert("actor".into(), json!(actor.label));
    let event = outbox_event(conn, kind.as_str(), target_id, at, Value::Object(data))?;
    outbox::insert_event(conn, &event)?;
    for sub in fan_out_to(conn, kind)? {
        let due = if sub.paused_at.is_some() { outbox::paused_until() } else { at.naive_utc() };
        let d = NewDelivery { id: new_id(), subscription_id: &sub.id, event: &event, at: at.naive_utc(), due };
        outbox::insert_delivery(conn, &d)?;
    }
    Ok(())
}

/// The subscriptions an event of `kind` goes to. A paused one of them is re-read under a
/// share lock: a resume committing between the first read and this transaction's commit
/// would miss the delivery written here as paused (due at `paused_until`) and leave it
/// waiting for ever; with the lock the resume waits, then moves it with the others — or,
/// committed first, is what the re-read sees. Only those are locked: other writes never
/// wait for a resume of a subscription they do not feed, and an unpaused one is not locked
/// (that would cost every write; a pause racing an event at worst lets that one out).
fn fan_out_to(conn: &mut DbConnection, kind: EventType) -> Result<Vec<crate::domain::Subscription>, ServiceError> {
    let mut subs = outbox::list_subscriptions(conn)?;
    subs.retain(|s| s.events.matches(kind));
    let paused: Vec<String> = subs.iter().filter(|s| s.paused_at.is_some()).map(|s| s.id.clone()).collect();
    if paused.is_empty() {
        return Ok(subs);
    }
    let now_paused = outbox::share_subscriptions(conn, &paused)?;
    subs.retain_mut(|s| match (s.paused_at.is_some(), now_paused.iter().find(|p| p.id == s.id)) {
        (false, _) => true,
        (true, Some(current)) => {
            s.paused_at = current.paused_at;
            true
        }
        // Deleted meanwhile.
        (true, None) => false,
    });
    Ok(subs)
}

/// The next event of `subject`, as a CloudEvent (JSON format, structured mode).
fn outbox_event(
    conn: &mut DbConnection,
    event_type: &str,
    subject: &str,
    at: DateTime<Utc>,
    data: Value,
) -> Result<OutboxEvent, ServiceError> {
    let seq = outbox::next_subject_seq(conn, subject)?;
    let id = new_id();
    let body = json!({
        "specversion": SPEC_VERSION,
        "id": id,
        "source": SOURCE,
        "type": event_type,
        "subject": subject,
        "time": at,
        "datacontenttype": "application/json",
        // The CloudEvents sequence extension: the event's place among its subject's events,
        // zero-padded so that it orders as a string too.
        "sequence": format!("{seq:020}"),
        "data": data,
    });
    Ok(OutboxEvent {
        id,
        event_type: event_type.to_owned(),
        subject: subject.to_owned(),
        subject_seq: seq,
        occurred_at: at.naive_utc(),
        body: body.to_string(),
    })
}

/// The type of the test event the console and `POST /api/v1/webhooks/{id}/test` send.
pub const TEST_EVENT_TYPE: &str = "scimgate.webhook.test";

/// Writes a test event for one subscription, and its one delivery (whatever events the
/// subscription asked for). Call inside a write transaction; the event's subject is the
/// subscription.
pub fn record_test(conn: &mut DbConnection, actor: &Actor, subscription_id: &str) -> Result<String, ServiceError> {
    let at = crate::domain::now();
    let data = json!({ "subscriptionId": subscription_id, "actor": actor.label, "test": true });
    let event = outbox_event(conn, TEST_EVENT_TYPE, subscription_id, at, data)?;
    outbox::insert_event(conn, &event)?;
    let delivery = new_id();
    let paused = outbox::find_subscription(conn, subscription_id)?.is_some_and(|s| s.paused_at.is_some());
    let due = if paused { outbox::paused_until() } else { at.naive_utc() };
    let d = NewDelivery { id: delivery.clone(), subscription_id, event: &event, at: at.naive_utc(), due };
    outbox::insert_delivery(conn, &d)?;
    Ok(delivery)
}

/// A user as the native API shows it (`GET /api/v1/users/{id}`).
pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.id.as_str(),
        "userName": u.user_name,
        "externalId": u.external_id,
        "email": u.primary_email(),
        "firstName": u.first_name,
        "lastName": u.last_name,
        "displayName": u.display_name,
        "active": u.active,
        "license": u.license.as_str(),
        "contactId": u.contact_id(),
        "accountId": u.account_id(),
        "contactless": u.is_contactless(),
        "origin": u.origin.as_str(),
        "siteIds": u.site_ids.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "createdAt": u.created_at,
        "updatedAt": u.updated_at,
        "version": u.version,
    })
}

fn group_json(g: &Group) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let kind = match m.kind {
                MemberKind::User => "User",
                MemberKind::Group => "Group",
            };
            json!({ "value": m.id, "type": kind })
        })
        .collect();
    json!({
        "id": g.id.as_str(),
        "displayName": g.display_name,
        "externalId": g.external_id,
        "members": members,
        "createdAt": g.created_at,
        "updatedAt": g.updated_at,
        "version": g.version,
    })
}

/// `{field: {before, after}}` from a created (`after`) or deleted (`before`) snapshot.
fn snapshot_changes(snapshot: Option<&Value>, created: bool) -> Value {
    let mut changes = Map::new();
    if let Some(Value::Object(fields)) = snapshot {
        for (k, v) in fields {
            if v.is_null() {
                continue;
            }
            let change =
                if created { json!({ "before": null, "after": v }) } else { json!({ "before": v, "after": null }) };
            changes.insert(k.clone(), change);
        }
    }
    Value::Object(changes)
}

/// The `data` of an event, built inside the transaction of its change.
type EventData = Result<Map<String, Value>, ServiceError>;

/// `{user, changes, …}`: the user after the change (locking its row, so that the subject's
/// events are numbered one at a time), the changed fields, and the audit details beyond
/// them (`siteId` of a membership, `contactKept` of a downgrade).
fn user_data(conn: &mut DbConnection, kind: EventType, id: &str, details: &Value, written: Option<&User>) -> EventData {
    let mut data = Map::new();
    let read;
    let user = match written {
        Some(u) => Some(u),
        None => {
            read = users::find_for_update(conn, id)?;
            read.as_ref()
        }
    };
    let resource = match user {
        Some(u) => user_json(u),
        // Deleted: the last state, as audited.
        None => {
            let mut last = details.get("before").cloned().unwrap_or_else(|| json!({}));
            last["id"] = json!(id);
            last
        }
    };
    let changes = match kind {
        EventType::UserCreated => snapshot_changes(details.get("after"), true),
        EventType::UserDeleted => snapshot_changes(details.get("before"), false),
        _ => details.get("changes").cloned().unwrap_or_else(|| json!({})),
    };
    data.insert("user".into(), resource);
    data.insert("changes".into(), changes);
    if let Value::Object(extra) = details {
        for (k, v) in extra {
            if !matches!(k.as_str(), "changes" | "before" | "after") {
                data.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(data)
}

/// `{group, changes}`: the group after the change (its last name when deleted), and the
/// audited change (members added and removed, displayName).
fn group_data(conn: &mut DbConnection, kind: EventType, id: &str, details: &Value) -> EventData {
    let mut data = Map::new();
    let resource = match groups::find(conn, id, false, true)? {
        Some(g) => group_json(&g),
        None => json!({ "id": id, "displayName": details.get("displayName") }),
    };
    let changes = match kind {
        EventType::GroupDeleted => json!({}),
        _ => details.clone(),
    };
    data.insert("group".into(), resource);
    data.insert("changes".into(), changes);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_and_deleted_snapshots_become_changes() {
        let after = json!({ "userName": "a", "firstName": null, "active": true });
        assert_eq!(
            snapshot_changes(Some(&after), true),
            json!({ "userName": { "before": null, "after": "a" }, "active": { "before": null, "after": true } })
        );
        assert_eq!(snapshot_changes(Some(&after), false)["userName"], json!({ "before": "a", "after": null }));
        assert_eq!(snapshot_changes(None, true), json!({}));
    }
}
