//! Groups (SCIM `/Groups`): members are users or groups that exist.

use serde_json::json;

use super::query::{self, Edges, ListQuery, Page, Plan};
use super::scim::confined_scim;
use super::{ServiceError, audit, write_as};
use crate::domain::{
    AccountId, Actor, AuditAction, Group, GroupId, GroupMember, MemberKind, ValidationError, new_id, now, text,
};
use crate::policy::access::ScimCap;
use crate::policy::delegation::sees;
use crate::scim::schema::GroupSchema;
use crate::store::groups::{self, GroupPred, GroupSortKey};
use crate::store::{Db, DbConnection, StoreError};

/// A group as a client writes it.
#[derive(Debug, Clone)]
pub struct GroupDraft {
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_ids: Vec<String>,
}

/// Checks every member exists — for a confined token, among its accounts' users and
/// groups — and learns whether it is a user or a group.
fn members(
    conn: &mut DbConnection,
    actor: &Actor,
    self_id: &str,
    ids: &[String],
) -> Result<Vec<GroupMember>, ServiceError> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.dedup();
    let (found_users, found_groups) = groups::classify(conn, &ids)?;
    let seen = |found: &groups::Accounts, id: &str| found.get(id).is_some_and(|a| sees(actor, a.as_deref()));
    if ids.iter().any(|id| id == self_id) {
        return Err(ValidationError::new("members", "a group cannot be a member of itself").into());
    }
    let (mut out, mut unknown) = (Vec::with_capacity(ids.len()), vec![]);
    for id in ids {
        if seen(&found_users, &id) {
            out.push(GroupMember { id, kind: MemberKind::User });
        } else if seen(&found_groups, &id) {
            out.push(GroupMember { id, kind: MemberKind::Group });
        } else {
            unknown.push(id);
        }
    }
    if unknown.is_empty() {
        return Ok(out);
    }
    // Every unknown id is named (a client fixes them all at once), up to a bound that keeps
    // the answer small whatever the request held.
    const NAMED: usize = 50;
    let mut list = unknown.iter().take(NAMED).map(String::as_str).collect::<Vec<_>>().join(", ");
    if unknown.len() > NAMED {
        list.push_str(&format!(" and {} more", unknown.len() - NAMED));
    }
    let what = if unknown.len() == 1 { "no user or group has the id" } else { "no user or group has the ids" };
    Err(ValidationError::new("members", format!("{what} {list}: memberships are stored only for what exists")).into())
}

/// The members of `groups` a confined token does not see are left out of what it is
/// shown (they exist for it no more than their users do); nothing changes for others.
fn hide_members(conn: &mut DbConnection, actor: &Actor, groups: &mut [Group]) -> Result<(), StoreError> {
    if confined_scim(actor).is_none() {
        return Ok(());
    }
    let ids: Vec<&str> = groups.iter().flat_map(|g| g.members.iter().map(|m| m.id.as_str())).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let accounts = groups::accounts_of(conn, &ids)?;
    for g in groups.iter_mut() {
        g.members.retain(|m| accounts.get(&m.id).is_some_and(|a| sees(actor, a.as_deref())));
    }
    Ok(())
}

/// The members of `group` the actor does not see: a write by a confined token keeps them.
fn hidden_members(conn: &mut DbConnection, actor: &Actor, group: &Group) -> Result<Vec<GroupMember>, StoreError> {
    let mut shown = [group.clone()];
    hide_members(conn, actor, &mut shown)?;
    Ok(group.members.iter().filter(|m| !shown[0].members.contains(m)).cloned().collect())
}

fn member_change(before: &[GroupMember], after: &[GroupMember]) -> serde_json::Value {
    let added: Vec<&str> = after.iter().filter(|m| !before.contains(m)).map(|m| m.id.as_str()).collect();
    let removed: Vec<&str> = before.iter().filter(|m| !after.contains(m)).map(|m| m.id.as_str()).collect();
    json!({ "membersAdded": added, "membersRemoved": removed })
}

pub async fn create(db: &Db, cap: &ScimCap, d: GroupDraft) -> Result<Group, ServiceError> {
    let actor = cap.actor().clone();
    let display_name = text("displayName", &d.display_name, 256)?;
    db.write(move |conn| {
        let id = new_id();
        let at = now();
        let group = Group {
            members: members(conn, &actor, &id, &d.member_ids)?,
            // A confined token's groups belong to its first account.
            account_id: confined_scim(&actor).and_then(|a| a.first().cloned()).map(AccountId::new),
            id: GroupId::new(id),
            display_name,
            external_id: d.external_id,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        groups::insert(conn, &group)?;
        let mut details = member_change(&[], &group.members);
        details["displayName"] = json!(group.display_name);
        audit::record(conn, &actor, AuditAction::GroupCreated, group.id.as_str(), details)?;
        Ok(group)
    })
    .await
}

fn write(conn: &mut DbConnection, actor: &Actor, before: Group, d: GroupDraft) -> Result<Group, ServiceError> {
    let display_name = text("displayName", &d.display_name, 256)?;
    let mut new_members = members(conn, actor, before.id.as_str(), &d.member_ids)?;
    new_members.extend(hidden_members(conn, actor, &before)?);
    new_members.sort_by(|a, b| a.id.cmp(&b.id));
    new_members.dedup();
    let after = Group {
        members: new_members,
        display_name,
        external_id: d.external_id,
        updated_at: now(),
        version: before.version + 1,
        ..before.clone()
    };
    if (&after.display_name, &after.external_id, &after.members)
        == (&before.display_name, &before.external_id, &before.members)
    {
        return Ok(before);
    }
    groups::update(conn, &after, before.version)?;
    let mut details = member_change(&before.members, &after.members);
    if before.display_name != after.display_name {
        details["displayName"] = json!({ "before": before.display_name, "after": after.display_name });
    }
    audit::record(conn, actor, AuditAction::GroupUpdated, after.id.as_str(), details)?;
    Ok(after)
}

/// A group the actor sees (a confined token: one of its accounts'), locked for the write.
fn load(conn: &mut DbConnection, actor: &Actor, id: &str, if_match: Option<i64>) -> Result<Group, ServiceError> {
    let g = groups::find(conn, id, true, true)?
        .filter(|g| sees(actor, g.account_id.as_ref().map(|a| a.as_str())))
        .ok_or(ServiceError::NotFound("group"))?;
    match if_match {
        Some(v) if v != g.version => Err(ServiceError::VersionMismatch { current: g.version }),
        _ => Ok(g),
    }
}

pub async fn replace(
    db: &Db,
    cap: &ScimCap,
    id: GroupId,
    d: GroupDraft,
    if_match: Option<i64>,
) -> Result<Group, ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let before = load(conn, actor, id.as_str(), if_match)?;
        write(conn, actor, before, d)
    })
    .await
}

/// PATCH (RFC 7644 §3.5.2): `draft` is what the client's operations made of the group as
/// read (`read`: its version and members), outside any transaction; the write re-checks
/// that version (`VersionMismatch` when another write came first: the caller re-reads and
/// re-applies). A member deleted meanwhile leaves the group without changing its version;
/// the draft still names it (from the read), so it is dropped here rather than refused.
pub async fn patch(
    db: &Db,
    cap: &ScimCap,
    id: GroupId,
    read: &Group,
    mut draft: GroupDraft,
) -> Result<Group, ServiceError> {
    let actor = cap.actor().clone();
    let (base_version, read_members) = (read.version, read.members.clone());
    db.write(move |conn| {
        let before = load(conn, &actor, id.as_str(), Some(base_version))?;
        draft.member_ids.retain(|m| {
            let vanished = read_members.iter().any(|r| r.id == *m) && !before.members.iter().any(|b| b.id == *m);
            !vanished
        });
        write(conn, &actor, before, draft)
    })
    .await
}

pub async fn delete(db: &Db, cap: &ScimCap, id: GroupId, if_match: Option<i64>) -> Result<(), ServiceError> {
    write_as(db, cap.actor(), move |conn, actor| {
        let g = load(conn, actor, id.as_str(), if_match)?;
        groups::delete(conn, id.as_str())?;
        audit::record(conn, actor, AuditAction::GroupDeleted, id.as_str(), json!({ "displayName": g.display_name }))?;
        Ok(())
    })
    .await
}

pub async fn get(db: &Db, cap: &ScimCap, id: GroupId, with_members: bool) -> Result<Group, ServiceError> {
    let actor = cap.actor().clone();
    db.read(move |conn| {
        let mut g = groups::find(conn, id.as_str(), false, with_members)?
            .filter(|g| sees(&actor, g.account_id.as_ref().map(|a| a.as_str())))
            .ok_or(ServiceError::NotFound("group"))?;
        hide_members(conn, &actor, std::slice::from_mut(&mut g))?;
        Ok(g)
    })
    .await
}

/// Display names of the users and groups `groups` name as members.
pub type MemberNames = std::collections::HashMap<String, String>;

/// A page of groups, planned by `service::query` (see `scim::list` for users).
/// `with_members`: whether members are loaded at all (Entra lists groups with
/// `excludedAttributes=members`); `render` gets each group with its members' names.
pub async fn list(
    db: &Db,
    scim: &ScimCap,
    q: ListQuery,
    cap: i64,
    budget: usize,
    with_members: bool,
    render: impl Fn(&Group, &MemberNames, bool) -> serde_json::Value,
) -> Result<Page, ServiceError> {
    let actor = scim.actor();
    let mut plan = query::plan_groups(q.filter.as_ref(), q.sort.as_ref());
    if let Some(scope) = confined_scim(actor) {
        let scoped = |p: GroupPred| GroupPred::Scoped(scope.to_vec(), Box::new(p));
        plan = match plan {
            Plan::Store { pred, key, descending } => Plan::Store { pred: scoped(pred), key, descending },
            Plan::Finish { candidates } => Plan::Finish { candidates: scoped(candidates) },
        };
    }
    let shown_to = actor.clone();
    let finder = actor.clone();
    match plan {
        Plan::Store { pred, key, descending } => {
            let limit = q.count;
            let cursor = q.cursor.clone();
            let plan_pred = pred.clone();
            let (total, page, names, backward) = db
                .read(move |conn| {
                    let total = groups::count(conn, &pred)?;
                    // Cursor paging reads the groups past the cursor's position: forward, or
                    // for a previous page backward (nearest first, put in order below).
                    let (read_pred, offset, backward) = match &cursor {
                        None => (pred.clone(), q.offset, false),
                        Some(c) => {
                            let read = query::CursorRead::new(&pred, key, descending, c);
                            (read.pred, 0, read.backward)
                        }
                    };
                    let order = (key, descending, backward);
                    let mut page = if limit > 0 {
                        groups::page(conn, &read_pred, order, offset, limit, with_members)?
                    } else {
                        vec![]
                    };
                    hide_members(conn, &shown_to, &mut page)?;
                    let names = member_names(conn, &page)?;
                    Ok::<_, ServiceError>((total, page, names, backward))
                })
                .await?;
            let mut out = query::PageBuilder::new(budget);
            out.extend(page.iter().map(|g| query::Resource::Doc(render(g, &names, with_members))));
            let mut positions: Vec<_> =
                page.iter().take(out.resources.len()).map(|g| groups::position(key, g)).collect();
            if backward {
                positions.reverse();
                out.resources.reverse();
            }
            let edges = match &q.cursor {
                None => None,
                Some(_) if limit == 0 => Some(Edges::default()),
                Some(cursor) => Some(group_edges(db, &plan_pred, key, descending, &positions, cursor).await?),
            };
            Ok(Page { total, bytes: out.used, resources: out.resources, edges })
        }
        Plan::Finish { candidates } => {
            // The filter or sort may read members: load them.
            let (all, names) = db
                .read(move |conn| {
                    if groups::count(conn, &candidates)? > cap {
                        return Ok(None);
                    }
                    let mut all = groups::page(conn, &candidates, (GroupSortKey::Id, false, false), 0, cap, true)?;
                    hide_members(conn, &finder, &mut all)?;
                    let names = member_names(conn, &all)?;
                    Ok::<_, ServiceError>(Some((all, names)))
                })
                .await?
                .ok_or(ServiceError::FilterTooBroad {
                    resource: "groups",
                    cap,
                    indexed: "displayName, externalId, id",
                })?;
            // The filter and the sort may read members whatever the response shows: render
            // them (projection drops them afterwards).
            let mut finisher = query::Finisher::new(&q, &GroupSchema, budget);
            finisher.offer(all.iter().map(|g| render(g, &names, true)))?;
            Ok(finisher.finish())
        }
    }
}

/// The ends of a cursor-paged group page (whether groups lie before and after it).
async fn group_edges(
    db: &Db,
    pred: &GroupPred,
    key: GroupSortKey,
    descending: bool,
    positions: &[crate::domain::Position],
    cursor: &query::Cursor,
) -> Result<Edges, ServiceError> {
    let ends = positions.first().zip(positions.last());
    let Some((before, after)) = query::edge_probes(pred, key, descending, ends, cursor) else {
        return Ok(Edges::default());
    };
    let (before, after) = db
        .read_short(move |conn| Ok::<_, ServiceError>((groups::any(conn, &before)?, groups::any(conn, &after)?)))
        .await?;
    Ok(Edges::around(ends, cursor, before, after))
}

fn member_names(conn: &mut DbConnection, page: &[Group]) -> Result<MemberNames, StoreError> {
    let ids: Vec<&str> = page.iter().flat_map(|g| g.members.iter().map(|m| m.id.as_str())).collect();
    if ids.is_empty() { Ok(MemberNames::new()) } else { groups::display_names(conn, &ids) }
}

/// Display names of members, for `members.display`.
pub async fn display_names(
    db: &Db,
    _scim: &ScimCap,
    ids: Vec<String>,
) -> Result<std::collections::HashMap<String, String>, ServiceError> {
    db.read(move |conn| {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        Ok(groups::display_names(conn, &refs)?)
    })
    .await
}
