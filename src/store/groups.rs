//! Groups and their members (users or groups).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::conn::DbConnection;
use super::schema::{group_members, groups, users};
use super::{StoreError, to_utc};
use crate::domain::{AccountId, Group, GroupId, GroupMember, MemberKind, Position, fold};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = groups)]
#[diesel(treat_none_as_null = true)]
struct GroupRow {
    id: String,
    display_name: String,
    display_name_folded: String,
    external_id: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i64,
    account_id: Option<String>,
}

impl GroupRow {
    fn from_group(g: &Group) -> Self {
        GroupRow {
            id: g.id.to_string(),
            display_name: g.display_name.clone(),
            display_name_folded: fold(&g.display_name),
            external_id: g.external_id.clone(),
            created_at: g.created_at.naive_utc(),
            updated_at: g.updated_at.naive_utc(),
            version: g.version,
            account_id: g.account_id.as_ref().map(|a| a.to_string()),
        }
    }

    fn into_group(self, members: Vec<GroupMember>) -> Group {
        Group {
            id: GroupId::new(self.id),
            display_name: self.display_name,
            external_id: self.external_id,
            members,
            created_at: to_utc(self.created_at),
            updated_at: to_utc(self.updated_at),
            version: self.version,
            account_id: self.account_id.map(AccountId::new),
        }
    }
}

fn write_members(conn: &mut DbConnection, group_id: &str, members: &[GroupMember]) -> Result<(), StoreError> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(group_id))).execute(conn)?;
    for m in members {
        diesel::insert_into(group_members::table)
            .values((
                group_members::group_id.eq(group_id),
                group_members::member_id.eq(&m.id),
                group_members::member_type.eq(m.kind.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, g: &Group) -> Result<(), StoreError> {
    diesel::insert_into(groups::table).values(GroupRow::from_group(g)).execute(conn)?;
    write_members(conn, g.id.as_str(), &g.members)
}

/// Writes `g` over the row still at `expected_version` (`NotFound` otherwise).
pub fn update(conn: &mut DbConnection, g: &Group, expected_version: i64) -> Result<(), StoreError> {
    let n =
        diesel::update(groups::table.filter(groups::id.eq(g.id.as_str())).filter(groups::version.eq(expected_version)))
            .set(GroupRow::from_group(g))
            .execute(conn)?;
    if n != 1 {
        return Err(StoreError::NotFound);
    }
    write_members(conn, g.id.as_str(), &g.members)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    diesel::delete(group_members::table.filter(group_members::group_id.eq(id))).execute(conn)?;
    diesel::delete(group_members::table.filter(group_members::member_id.eq(id))).execute(conn)?;
    Ok(diesel::delete(groups::table.find(id)).execute(conn)? == 1)
}

/// Reads a group; on PostgreSQL `lock` holds its row until commit.
pub fn find(conn: &mut DbConnection, id: &str, lock: bool, with_members: bool) -> Result<Option<Group>, StoreError> {
    let row = match conn {
        DbConnection::Pg(c) if lock => {
            groups::table.find(id).select(GroupRow::as_select()).for_update().first(c).optional()?
        }
        _ => groups::table.find(id).select(GroupRow::as_select()).first(conn).optional()?,
    };
    match row {
        None => Ok(None),
        Some(r) => Ok(attach(conn, vec![r], with_members)?.pop()),
    }
}

/// An exact group predicate (the SCIM filters IdPs send for groups).
#[derive(Debug, Clone, PartialEq)]
pub enum GroupPred {
    All,
    DisplayName(String),
    ExternalId(String),
    Id(String),
    /// The inner predicate, among groups of these accounts (a confined token's scope).
    Scoped(Vec<String>, Box<GroupPred>),
    /// The inner predicate, after (`forward`) or before `pos` in the order of `key`,
    /// `descending` (keyset paging).
    Beyond {
        inner: Box<GroupPred>,
        key: GroupSortKey,
        descending: bool,
        pos: Position,
        forward: bool,
        inclusive: bool,
    },
}

type Boxed = Box<dyn BoxableExpression<groups::table, super::conn::MultiBackend, SqlType = Bool>>;

/// The groups after (`forward`) or before `pos` in the order `page` reads (both keys are
/// NOT NULL; ties by id ascending); `inclusive`: and the group at `pos`.
fn beyond(key: GroupSortKey, descending: bool, pos: &Position, forward: bool, inclusive: bool) -> Boxed {
    let greater = forward != descending;
    let id = pos.id.clone();
    let id_past = |up: bool| -> Boxed {
        match (up, inclusive) {
            (true, false) => Box::new(groups::id.gt(id.clone())),
            (true, true) => Box::new(groups::id.ge(id.clone())),
            (false, false) => Box::new(groups::id.lt(id.clone())),
            (false, true) => Box::new(groups::id.le(id.clone())),
        }
    };
    match key {
        GroupSortKey::Id => id_past(greater),
        GroupSortKey::DisplayName => {
            let v = pos.value.clone().unwrap_or_default();
            let col = groups::display_name_folded;
            let past: Boxed = if greater { Box::new(col.gt(v.clone())) } else { Box::new(col.lt(v.clone())) };
            Box::new(past.or(col.eq(v).and(id_past(forward))))
        }
    }
}

/// Where `group` stands in the order of `key`.
pub fn position(key: GroupSortKey, group: &Group) -> Position {
    let value = match key {
        GroupSortKey::Id => None,
        GroupSortKey::DisplayName => Some(fold(&group.display_name)),
    };
    Position { value, id: group.id.to_string() }
}

pub fn count(conn: &mut DbConnection, pred: &GroupPred) -> Result<i64, StoreError> {
    let q = groups::table.select(count_star()).into_boxed();
    Ok(filtered(q, pred).first(conn)?)
}

fn filtered<'a, ST>(
    q: groups::BoxedQuery<'a, super::conn::MultiBackend, ST>,
    pred: &GroupPred,
) -> groups::BoxedQuery<'a, super::conn::MultiBackend, ST> {
    match pred {
        GroupPred::All => q,
        GroupPred::DisplayName(v) => q.filter(groups::display_name_folded.eq(fold(v))),
        GroupPred::ExternalId(v) => q.filter(groups::external_id.eq(v.clone())),
        GroupPred::Id(v) => q.filter(groups::id.eq(v.clone())),
        GroupPred::Scoped(accounts, inner) => {
            filtered(q, inner).filter(groups::account_id.eq_any(accounts.clone()).assume_not_null())
        }
        GroupPred::Beyond { inner, key, descending, pos, forward, inclusive } => {
            filtered(q, inner).filter(beyond(*key, *descending, pos, *forward, *inclusive))
        }
    }
}

/// Whether any group satisfies the predicate (a one-row read).
pub fn any(conn: &mut DbConnection, pred: &GroupPred) -> Result<bool, StoreError> {
    let found: Vec<String> = filtered(groups::table.select(groups::id).into_boxed(), pred).limit(1).load(conn)?;
    Ok(!found.is_empty())
}

/// The order of a group page: ties by id ascending in both directions (both keys are
/// NOT NULL; `displayName` is caseExact=false, so its folded column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSortKey {
    Id,
    DisplayName,
}

/// One page: `offset` rows skipped in the given order, at most `limit`; `reversed`, in
/// the exact reverse of that order (a previous page, nearest the cursor first).
pub fn page(
    conn: &mut DbConnection,
    pred: &GroupPred,
    (key, descending, reversed): (GroupSortKey, bool, bool),
    offset: i64,
    limit: i64,
    with_members: bool,
) -> Result<Vec<Group>, StoreError> {
    let (descending, ties_descending) = (descending != reversed, reversed);
    let q = filtered(groups::table.select(GroupRow::as_select()).into_boxed(), pred);
    let q = match (key, descending) {
        (GroupSortKey::Id, false) => q.order(groups::id.asc()),
        (GroupSortKey::Id, true) => q.order(groups::id.desc()),
        (GroupSortKey::DisplayName, false) => q.order(groups::display_name_folded.asc()),
        (GroupSortKey::DisplayName, true) => q.order(groups::display_name_folded.desc()),
    };
    let q = if ties_descending { q.then_order_by(groups::id.desc()) } else { q.then_order_by(groups::id.asc()) };
    let rows = q.offset(offset).limit(limit).load(conn)?;
    attach(conn, rows, with_members)
}

fn attach(conn: &mut DbConnection, rows: Vec<GroupRow>, with_members: bool) -> Result<Vec<Group>, StoreError> {
    let mut by_group: HashMap<String, Vec<GroupMember>> = HashMap::new();
    if with_members && !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let pairs: Vec<(String, String, String)> = group_members::table
            .filter(group_members::group_id.eq_any(&ids))
            .order((group_members::group_id, group_members::member_id))
            .select((group_members::group_id, group_members::member_id, group_members::member_type))
            .load(conn)?;
        for (g, m, kind) in pairs {
            let kind = if kind == "Group" { MemberKind::Group } else { MemberKind::User };
            by_group.entry(g).or_default().push(GroupMember { id: m, kind });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let members = by_group.remove(&r.id).unwrap_or_default();
            r.into_group(members)
        })
        .collect())
}

/// Which of `ids` are users and which are groups (unknown ids are in neither). On
/// PostgreSQL the rows found are locked `FOR KEY SHARE` until the transaction ends: a
/// member cannot be deleted between this check and the membership's insert (a delete
/// already under way makes this wait, then finds the member gone). The foreign keys of
/// `group_members` (migration 000009) hold the same rule in the database.
/// Each found id comes with its account (a user's contact's, a group's own).
pub fn classify(conn: &mut DbConnection, ids: &[String]) -> Result<(Accounts, Accounts), StoreError> {
    let user = (users::id, users::account_id);
    let group = (groups::id, groups::account_id);
    let (u, g): (Vec<IdAccount>, Vec<IdAccount>) = match conn {
        DbConnection::Pg(c) => (
            users::table.filter(users::id.eq_any(ids)).select(user).for_key_share().load(c)?,
            groups::table.filter(groups::id.eq_any(ids)).select(group).for_key_share().load(c)?,
        ),
        DbConnection::Sqlite(c) => (
            users::table.filter(users::id.eq_any(ids)).select(user).load(c)?,
            groups::table.filter(groups::id.eq_any(ids)).select(group).load(c)?,
        ),
    };
    Ok((u.into_iter().collect(), g.into_iter().collect()))
}

type IdAccount = (String, Option<String>);

/// Ids with their account (`None`: contactless user, or group of no account).
pub type Accounts = HashMap<String, Option<String>>;

/// The account of each user and group among `ids` (members of groups being shown).
pub fn accounts_of(conn: &mut DbConnection, ids: &[&str]) -> Result<Accounts, StoreError> {
    let mut out: Accounts = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::account_id))
        .load(conn)?
        .into_iter()
        .collect();
    let g: Vec<IdAccount> =
        groups::table.filter(groups::id.eq_any(ids)).select((groups::id, groups::account_id)).load(conn)?;
    out.extend(g);
    Ok(out)
}

/// Display names of the given users and groups, for `members.display`.
pub fn display_names(conn: &mut DbConnection, ids: &[&str]) -> Result<HashMap<String, String>, StoreError> {
    let mut names: HashMap<String, String> = HashMap::new();
    let u: Vec<(String, Option<String>, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name, users::user_name))
        .load(conn)?;
    for (id, display, user_name) in u {
        names.insert(id, display.unwrap_or(user_name));
    }
    let g: Vec<(String, String)> =
        groups::table.filter(groups::id.eq_any(ids)).select((groups::id, groups::display_name)).load(conn)?;
    names.extend(g);
    Ok(names)
}
