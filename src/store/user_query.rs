//! User predicates compiled to SQL, for SCIM filters on indexed attributes (userName,
//! externalId, id, emails.value, displayName, group membership, meta times): such a
//! query never scans the users table.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::StoreError;
use super::conn::native;
use super::conn::{DbConnection, MultiBackend};
use super::schema::{group_members, users};
use super::users::{UserRow, attach_details};
use crate::domain::{Position, User, fold};

/// A text column of `users` a predicate can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Id,
    /// Compared case-folded (userName is caseExact=false).
    UserName,
    ExternalId,
    /// Compared case-folded.
    DisplayName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Eq,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeField {
    Created,
    Modified,
}

/// A boolean expression over users. `Not` has two-valued semantics: absent values are
/// "not equal", as SCIM wants (`not (externalId eq "x")` holds for a user without one).
#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    All,
    Text(TextField, StrOp, String),
    Present(TextField),
    Active(bool),
    Time(TimeField, StrOp, DateTime<Utc>),
    /// Some email of the user matches every given part.
    Email {
        value: Option<(StrOp, String)>,
        kind: Option<String>,
        primary: Option<bool>,
    },
    /// Member (directly) of this group.
    InGroup(String),
    /// Backed by a contact under one of these accounts (a confined caller's scope).
    AccountIn(Vec<String>),
    /// After (`forward`) or before `pos` in the order of `key`, `descending` (keyset
    /// paging); `inclusive`: `pos` itself too.
    Beyond {
        key: SortKey,
        descending: bool,
        pos: Position,
        forward: bool,
        inclusive: bool,
    },
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
    Not(Box<Pred>),
}

impl Pred {
    /// How many of its terms read every row: substring and suffix matches (no index serves
    /// them) and negations. The planner calls them exact — the database answers them right
    /// — but each costs a scan of the table.
    pub fn scan_terms(&self) -> usize {
        match self {
            Pred::Text(_, StrOp::Co | StrOp::Ew, _) => 1,
            Pred::Email { value: Some((StrOp::Co | StrOp::Ew, _)), .. } => 1,
            Pred::Not(inner) => 1 + inner.scan_terms(),
            Pred::And(a, b) | Pred::Or(a, b) => a.scan_terms() + b.scan_terms(),
            _ => 0,
        }
    }
}

type Boxed = Box<dyn BoxableExpression<users::table, MultiBackend, SqlType = Bool>>;

fn like_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

fn pattern(op: StrOp, v: &str) -> String {
    let v = like_escape(v);
    match op {
        StrOp::Co => format!("%{v}%"),
        StrOp::Sw => format!("{v}%"),
        StrOp::Ew => format!("%{v}"),
        _ => v,
    }
}

/// A column against a value by the ordering operators; `co`/`sw`/`ew` match nothing (a
/// column with no substrings, such as a timestamp).
macro_rules! ordered {
    ($col:expr, $op:expr, $v:expr) => {{
        let v = $v;
        let b: Boxed = match $op {
            StrOp::Eq => Box::new($col.eq(v)),
            StrOp::Gt => Box::new($col.gt(v)),
            StrOp::Ge => Box::new($col.ge(v)),
            StrOp::Lt => Box::new($col.lt(v)),
            StrOp::Le => Box::new($col.le(v)),
            StrOp::Co | StrOp::Sw | StrOp::Ew => Box::new(sql::<Bool>("1 = 0")),
        };
        b
    }};
}

/// A text column against a value: the ordering operators, and `co`/`sw`/`ew` as `LIKE`.
macro_rules! compare {
    ($col:expr, $op:expr, $v:expr) => {{
        let v = $v;
        match $op {
            op @ (StrOp::Co | StrOp::Sw | StrOp::Ew) => {
                let b: Boxed = Box::new($col.like(pattern(op, &v)).escape('\\'));
                b
            }
            op => ordered!($col, op, v),
        }
    }};
}

/// `users.id IN (SELECT user_id FROM user_emails WHERE …)`, one fixed shape whose unused
/// parts are switched off by a bound flag (MultiConnection cannot box a subquery).
fn email(value: Option<&(StrOp, String)>, kind: Option<&str>, primary: Option<bool>) -> Boxed {
    let (op_sql, v) = match value {
        None => ("=", String::new()),
        Some((op, v)) => {
            let v = fold(v);
            match op {
                StrOp::Eq => ("=", v),
                StrOp::Gt => (">", v),
                StrOp::Ge => (">=", v),
                StrOp::Lt => ("<", v),
                StrOp::Le => ("<=", v),
                StrOp::Co | StrOp::Sw | StrOp::Ew => ("LIKE", pattern(*op, &v)),
            }
        }
    };
    let escape = if op_sql == "LIKE" { " ESCAPE '\\'" } else { "" };
    // One SQL text per shape, so the planner sees exactly the conditions asked for and
    // uses the index on value_folded (a switched-off `(? OR …)` term would hide it).
    let head = "users.id IN (SELECT user_id FROM user_emails WHERE 1 = 1";
    let with_value = value.is_some();
    let v_sql = format!(" AND value_folded {op_sql} ");
    let k = kind.unwrap_or_default().to_owned();
    let p = primary.unwrap_or(false);
    macro_rules! q {
        () => {
            sql::<Bool>(head)
        };
    }
    match (with_value, kind.is_some(), primary.is_some()) {
        (true, false, false) => Box::new(q!().sql(&v_sql).bind::<Text, _>(v).sql(&format!("{escape})"))),
        (true, true, false) => Box::new(
            q!().sql(&v_sql).bind::<Text, _>(v).sql(&format!("{escape} AND kind = ")).bind::<Text, _>(k).sql(")"),
        ),
        (true, false, true) => Box::new(
            q!().sql(&v_sql).bind::<Text, _>(v).sql(&format!("{escape} AND is_primary = ")).bind::<Bool, _>(p).sql(")"),
        ),
        (true, true, true) => Box::new(
            q!().sql(&v_sql)
                .bind::<Text, _>(v)
                .sql(&format!("{escape} AND kind = "))
                .bind::<Text, _>(k)
                .sql(" AND is_primary = ")
                .bind::<Bool, _>(p)
                .sql(")"),
        ),
        (false, false, false) => Box::new(q!().sql(")")),
        (false, true, false) => Box::new(q!().sql(" AND kind = ").bind::<Text, _>(k).sql(")")),
        (false, false, true) => Box::new(q!().sql(" AND is_primary = ").bind::<Bool, _>(p).sql(")")),
        (false, true, true) => {
            Box::new(q!().sql(" AND kind = ").bind::<Text, _>(k).sql(" AND is_primary = ").bind::<Bool, _>(p).sql(")"))
        }
    }
}

fn text(field: TextField, op: StrOp, value: &str) -> Boxed {
    match field {
        TextField::Id => compare!(users::id, op, value.to_owned()),
        TextField::UserName => compare!(users::user_name_folded, op, fold(value)),
        TextField::ExternalId => Box::new(users::external_id.is_not_null().and(compare!(
            users::external_id.assume_not_null(),
            op,
            value.to_owned()
        ))),
        TextField::DisplayName => Box::new(users::display_name_folded.is_not_null().and(compare!(
            users::display_name_folded.assume_not_null(),
            op,
            fold(value)
        ))),
    }
}

/// The rows after (`forward`) or before `pos` in the order `page` reads (ties by id
/// ascending; a missing value is the largest).
fn beyond(key: SortKey, descending: bool, pos: &Position, forward: bool, inclusive: bool) -> Boxed {
    // Forward in an ascending order (or back in a descending one) means larger values.
    let greater = forward != descending;
    let id = pos.id.clone();
    // Ids past `pos.id` upwards (or downwards), `pos.id` itself when inclusive.
    let id_past = |up: bool| -> Boxed {
        match (up, inclusive) {
            (true, false) => Box::new(users::id.gt(id.clone())),
            (true, true) => Box::new(users::id.ge(id.clone())),
            (false, false) => Box::new(users::id.lt(id.clone())),
            (false, true) => Box::new(users::id.le(id.clone())),
        }
    };
    // Ties go by id ascending in both directions.
    let tie = || id_past(forward);
    macro_rules! not_null {
        ($col:expr, $v:expr) => {{
            let v = $v;
            let past: Boxed = if greater { Box::new($col.gt(v.clone())) } else { Box::new($col.lt(v.clone())) };
            let b: Boxed = Box::new(past.or($col.eq(v).and(tie())));
            b
        }};
    }
    macro_rules! nullable {
        ($col:expr, $v:expr) => {{
            let b: Boxed = match $v {
                Some(v) => {
                    let past: Boxed = if greater {
                        Box::new($col.is_null().or($col.assume_not_null().gt(v.clone())))
                    } else {
                        Box::new($col.is_not_null().and($col.assume_not_null().lt(v.clone())))
                    };
                    Box::new(past.or($col.is_not_null().and($col.assume_not_null().eq(v)).and(tie())))
                }
                // At the missing values, the largest: beyond them lie only their ties,
                // before them every value.
                None => {
                    let ties: Boxed = Box::new($col.is_null().and(tie()));
                    if greater { ties } else { Box::new($col.is_not_null().or(ties)) }
                }
            };
            b
        }};
    }
    let time = |v: &Option<String>| {
        v.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).map(|t| t.naive_utc())
    };
    match key {
        // The key is the id, in the list's direction.
        SortKey::Id => id_past(greater),
        SortKey::UserName => not_null!(users::user_name_folded, pos.value.clone().unwrap_or_default()),
        SortKey::ExternalId => nullable!(users::external_id, pos.value.clone()),
        SortKey::DisplayName => nullable!(users::display_name_folded, pos.value.clone()),
        SortKey::Created => match time(&pos.value) {
            Some(at) => not_null!(users::created_at, at),
            None => Box::new(sql::<Bool>("1 = 0")),
        },
        SortKey::Modified => match time(&pos.value) {
            Some(at) => not_null!(users::updated_at, at),
            None => Box::new(sql::<Bool>("1 = 0")),
        },
    }
}

/// Where `user` stands in the order of `key` (the values `page` orders by).
pub fn position(key: SortKey, user: &User) -> Position {
    let at = |t: chrono::DateTime<Utc>| Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    let value = match key {
        SortKey::Id => None,
        SortKey::UserName => Some(fold(&user.user_name)),
        SortKey::ExternalId => user.external_id.clone(),
        SortKey::DisplayName => user.display_name.as_deref().map(fold),
        SortKey::Created => at(user.created_at),
        SortKey::Modified => at(user.updated_at),
    };
    Position { value, id: user.id.to_string() }
}

fn compile(p: &Pred) -> Boxed {
    match p {
        Pred::All => Box::new(sql::<Bool>("1 = 1")),
        Pred::Text(f, op, v) => text(*f, *op, v),
        Pred::Present(TextField::Id | TextField::UserName) => Box::new(sql::<Bool>("1 = 1")),
        Pred::Present(TextField::ExternalId) => Box::new(users::external_id.is_not_null()),
        Pred::Present(TextField::DisplayName) => Box::new(users::display_name_folded.is_not_null()),
        Pred::Active(a) => Box::new(users::active.eq(*a)),
        Pred::AccountIn(ids) => Box::new(users::account_id.eq_any(ids.clone()).assume_not_null()),
        Pred::Time(field, op, at) => {
            let at = at.naive_utc();
            match field {
                TimeField::Created => ordered!(users::created_at, op, at),
                TimeField::Modified => ordered!(users::updated_at, op, at),
            }
        }
        Pred::Email { value, kind, primary } => email(value.as_ref(), kind.as_deref(), *primary),
        Pred::InGroup(g) => Box::new(
            sql::<Bool>("users.id IN (SELECT member_id FROM group_members WHERE group_id = ")
                .bind::<Text, _>(g.clone())
                .sql(")"),
        ),
        Pred::Beyond { key, descending, pos, forward, inclusive } => {
            beyond(*key, *descending, pos, *forward, *inclusive)
        }
        Pred::And(a, b) => Box::new(compile(a).and(compile(b))),
        Pred::Or(a, b) => Box::new(compile(a).or(compile(b))),
        Pred::Not(a) => Box::new(diesel::dsl::not(compile(a))),
    }
}

/// The order of a query. Ties are broken by id ascending in both directions, and a
/// missing value sorts last ascending and first descending (RFC 7644 §3.4.2.3; the same
/// rule as `scim::sort`). Text keys are the case-folded columns where the attribute is
/// `caseExact=false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    Created,
    Modified,
}

pub fn count(conn: &mut DbConnection, pred: &Pred) -> Result<i64, StoreError> {
    if *pred == Pred::All {
        // Every user holds exactly one license and the pools count them in the same
        // transaction as every write: their sum is the number of users, without a scan.
        use super::schema::license_pools;
        let used: Vec<i64> = license_pools::table.select(license_pools::used).load(conn)?;
        return Ok(used.into_iter().sum());
    }
    Ok(users::table.filter(timed(conn, pred)).select(count_star()).first(conn)?)
}

/// On SQLite a scanning list statement calls `sg_in_time()` per row it visits, so that it
/// stops once its read's deadline has passed (`conn::deadline`); PostgreSQL has
/// `statement_timeout` for every statement. Index lookups and page walks are left alone:
/// the call per row would cost them a third of their speed.
fn timed(conn: &DbConnection, pred: &Pred) -> Boxed {
    match conn {
        DbConnection::Sqlite(_) if pred.scan_terms() > 0 => Box::new(sql::<Bool>("sg_in_time()").and(compile(pred))),
        _ => compile(pred),
    }
}

/// Whether any user satisfies the predicate (a one-row read).
pub fn any(conn: &mut DbConnection, pred: &Pred) -> Result<bool, StoreError> {
    let found: Vec<String> = users::table.filter(timed(conn, pred)).select(users::id).limit(1).load(conn)?;
    Ok(!found.is_empty())
}

/// SQLite: the count of changes to what a list reads, in the read's snapshot (see
/// `store::seeks`); `None` on PostgreSQL.
pub fn directory_changes(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    use super::schema::directory_changes as dc;
    match conn {
        DbConnection::Sqlite(c) => Ok(dc::table.find(1).select(dc::n).first(c).optional()?),
        DbConnection::Pg(_) => Ok(None),
    }
}

/// One page: `offset` rows skipped in the given order, at most `limit`.
pub fn page(
    conn: &mut DbConnection,
    pred: &Pred,
    sort: SortKey,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    page_in(conn, pred, sort, descending, false, offset, limit)
}

/// [`page`] (`reversed`: in the exact reverse of its order) with each user's groups. `lookup`: the page is expected
/// to hold a handful of users (an indexed lookup), and on PostgreSQL it is read in one
/// statement (details and groups as JSON beside each row: one round trip, but a subquery
/// per row and table); otherwise, and on SQLite, a statement per table for the whole page.
#[allow(clippy::too_many_arguments)]
pub fn page_whole(
    conn: &mut DbConnection,
    pred: &Pred,
    sort: SortKey,
    descending: bool,
    reversed: bool,
    offset: i64,
    limit: i64,
    lookup: bool,
) -> Result<Vec<(User, Vec<GroupOf>)>, StoreError> {
    let (descending, ties_descending) = if reversed { (!descending, true) } else { (descending, false) };
    if lookup && offset == 0 && matches!(conn, DbConnection::Pg(_)) {
        // A Limit over an index walk stops pulling; above a Sort, PostgreSQL evaluates the
        // subqueries after it: the details are computed for the rows returned only.
        let q = ordered(conn, pred, sort, descending, ties_descending);
        let rows: Vec<super::users::WholeRow> = q.select(super::users::whole_columns()).limit(limit).load(conn)?;
        return rows.into_iter().map(super::users::assemble).collect();
    }
    let users = page_in(conn, pred, sort, descending, ties_descending, offset, limit)?;
    let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let mut by_user: std::collections::HashMap<String, Vec<GroupOf>> = std::collections::HashMap::new();
    for g in groups_of(conn, &ids)? {
        by_user.entry(g.0.clone()).or_default().push(g);
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let mine = by_user.remove(u.id.as_str()).unwrap_or_default();
            (u, mine)
        })
        .collect())
}

/// The users matching `pred` in the given order, ties by id (`ties_descending`: id
/// descending), as a query to select from.
fn ordered(
    conn: &DbConnection,
    pred: &Pred,
    sort: SortKey,
    descending: bool,
    ties_descending: bool,
) -> users::BoxedQuery<'static, MultiBackend> {
    let q = users::table.filter(timed(conn, pred)).into_boxed();
    // Nullable keys order by `IS NULL` first: NULL is smallest on SQLite and largest on
    // PostgreSQL, and neither is what the RFC asks in both directions.
    let q = match (sort, descending) {
        (SortKey::Id, false) => q.order(users::id.asc()),
        (SortKey::Id, true) => q.order(users::id.desc()),
        (SortKey::UserName, false) => q.order(users::user_name_folded.asc()),
        (SortKey::UserName, true) => q.order(users::user_name_folded.desc()),
        (SortKey::ExternalId, false) => q.order((users::external_id.is_null().asc(), users::external_id.asc())),
        (SortKey::ExternalId, true) => q.order((users::external_id.is_null().desc(), users::external_id.desc())),
        (SortKey::DisplayName, false) => {
            q.order((users::display_name_folded.is_null().asc(), users::display_name_folded.asc()))
        }
        (SortKey::DisplayName, true) => {
            q.order((users::display_name_folded.is_null().desc(), users::display_name_folded.desc()))
        }
        (SortKey::Created, false) => q.order(users::created_at.asc()),
        (SortKey::Created, true) => q.order(users::created_at.desc()),
        (SortKey::Modified, false) => q.order(users::updated_at.asc()),
        (SortKey::Modified, true) => q.order(users::updated_at.desc()),
    };
    if ties_descending { q.then_order_by(users::id.desc()) } else { q.then_order_by(users::id.asc()) }
}

/// `page`'s order reversed is the other direction with ties by id descending.
fn page_in(
    conn: &mut DbConnection,
    pred: &Pred,
    sort: SortKey,
    descending: bool,
    ties_descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    if offset > DEFERRED_OFFSET && matches!(conn, DbConnection::Pg(_)) {
        // An OFFSET over PostgreSQL's index scan reads the heap tuple of every row it skips.
        // The ids alone walk the index (an index-only scan once vacuumed), then the page's
        // rows are read by id. The caller's transaction is one snapshot
        // (`maintenance::snapshot`), so the two reads agree.
        let ids: Vec<String> = ordered(conn, pred, sort, descending, ties_descending)
            .select(users::id)
            .offset(offset)
            .limit(limit)
            .load(conn)?;
        let mut by_id: std::collections::HashMap<String, UserRow> = users::table
            .filter(users::id.eq_any(&ids))
            .select(UserRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let rows = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        return attach_details(conn, rows);
    }
    let q = ordered(conn, pred, sort, descending, ties_descending).select(UserRow::as_select());
    let rows = q.offset(offset).limit(limit).load(conn)?;
    attach_details(conn, rows)
}

/// Past this OFFSET, PostgreSQL pages walk the ids first (see `page_in`).
const DEFERRED_OFFSET: i64 = 200;

/// The ids of the groups each user is a direct member of, with the groups' names and
/// accounts: (user id, group id, displayName, account id).
pub type GroupOf = (String, String, String, Option<String>);

pub fn groups_of(conn: &mut DbConnection, user_ids: &[&str]) -> Result<Vec<GroupOf>, StoreError> {
    use super::schema::groups;
    let q = group_members::table.inner_join(groups::table);
    let select = (group_members::member_id, groups::id, groups::display_name, groups::account_id);
    // One id: `=`, a cached statement (see `users::attach_details`).
    Ok(match user_ids {
        [one] => {
            native!(conn, |c| q.filter(group_members::member_id.eq(*one)).order(groups::id).select(select).load(c))?
        }
        _ => q
            .filter(group_members::member_id.eq_any(user_ids))
            .order((group_members::member_id, groups::id))
            .select(select)
            .load(conn)?,
    })
}
