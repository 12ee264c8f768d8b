//! Users and site memberships.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::DbConnection;
use super::conn::native;
use super::schema::{group_members, site_members, user_emails, users};
use super::{StoreError, to_utc};
use crate::domain::{Backing, SiteId, User, UserEmail, UserId, fold};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_null = true)]
pub struct UserRow {
    pub id: String,
    pub user_name: String,
    pub user_name_folded: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub license: String,
    pub contact_id: Option<String>,
    pub account_id: Option<String>,
    pub origin: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i64,
    pub scim_attributes: Option<String>,
    pub password_hash: Option<String>,
    pub display_name_folded: Option<String>,
    pub first_name_folded: Option<String>,
    pub last_name_folded: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_emails)]
struct EmailRow {
    user_id: String,
    position: i32,
    value: String,
    value_folded: String,
    kind: Option<String>,
    is_primary: Option<bool>,
    display: Option<String>,
}

/// What is loaded beside a user row: site memberships and emails.
#[derive(Default)]
struct Details {
    sites: Vec<String>,
    emails: Vec<UserEmail>,
}

impl UserRow {
    pub fn from_user(u: &User) -> UserRow {
        UserRow {
            id: u.id.to_string(),
            user_name: u.user_name.clone(),
            user_name_folded: fold(&u.user_name),
            external_id: u.external_id.clone(),
            email: u.primary_email().map(str::to_owned),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            display_name: u.display_name.clone(),
            active: u.active,
            license: u.license.as_str().to_owned(),
            contact_id: u.contact_id().map(str::to_owned),
            account_id: u.account_id().map(str::to_owned),
            origin: u.origin.as_str().to_owned(),
            created_at: u.created_at.naive_utc(),
            updated_at: u.updated_at.naive_utc(),
            version: u.version,
            scim_attributes: u.scim_attributes.clone(),
            password_hash: u.password_hash.clone(),
            display_name_folded: u.display_name.as_deref().map(fold),
            // '' for a missing name (never NULL): the console's sort by name walks one index
            // in both directions on both backends.
            first_name_folded: Some(u.first_name.as_deref().map(fold).unwrap_or_default()),
            last_name_folded: Some(u.last_name.as_deref().map(fold).unwrap_or_default()),
        }
    }

    fn into_user(self, details: Details) -> Result<User, StoreError> {
        let backing = Backing::from_parts(self.contact_id, self.account_id)
            .ok_or_else(|| StoreError::Corrupt(format!("user {}: contact and account out of step", self.id)))?;
        Ok(User {
            license: self.license.parse().map_err(|_| StoreError::Corrupt(self.license.clone()))?,
            origin: self.origin.parse().map_err(StoreError::Corrupt)?,
            id: UserId::new(self.id),
            user_name: self.user_name,
            external_id: self.external_id,
            emails: details.emails,
            first_name: self.first_name,
            last_name: self.last_name,
            display_name: self.display_name,
            active: self.active,
            backing,
            site_ids: details.sites.into_iter().map(SiteId::new).collect(),
            created_at: to_utc(self.created_at),
            updated_at: to_utc(self.updated_at),
            version: self.version,
            scim_attributes: self.scim_attributes,
            password_hash: self.password_hash,
        })
    }
}

/// `UPDATE users SET <every column but id> WHERE id = ? AND version = ?`, the statement of
/// every user write. diesel prepares an `update(…).set(…)` again on every run (a changeset may
/// skip fields, so it never caches one); this one always has the same text, so each
/// connection prepares it once. `tests::update_row_sets_every_column` holds it to the schema.
struct UpdateRow<'a> {
    row: &'a UserRow,
    expected_version: i64,
}

/// ` SET column = ` or `, column = `.
fn set_column<DB: diesel::backend::Backend>(
    out: &mut diesel::query_builder::AstPass<'_, '_, DB>,
    first: bool,
    column: &str,
) -> QueryResult<()> {
    out.push_sql(if first { " SET " } else { ", " });
    out.push_identifier(column)?;
    out.push_sql(" = ");
    Ok(())
}

impl<DB> diesel::query_builder::QueryFragment<DB> for UpdateRow<'_>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Bool>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Timestamp>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    String: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    Option<String>: diesel::serialize::ToSql<diesel::sql_types::Nullable<diesel::sql_types::Text>, DB>,
    bool: diesel::serialize::ToSql<diesel::sql_types::Bool, DB>,
    NaiveDateTime: diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
        let r = self.row;
        out.push_sql("UPDATE users");
        set_column(&mut out, true, "user_name")?;
        out.push_bind_param::<Text, _>(&r.user_name)?;
        set_column(&mut out, false, "user_name_folded")?;
        out.push_bind_param::<Text, _>(&r.user_name_folded)?;
        set_column(&mut out, false, "external_id")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.external_id)?;
        set_column(&mut out, false, "email")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.email)?;
        set_column(&mut out, false, "first_name")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.first_name)?;
        set_column(&mut out, false, "last_name")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.last_name)?;
        set_column(&mut out, false, "display_name")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.display_name)?;
        set_column(&mut out, false, "active")?;
        out.push_bind_param::<Bool, _>(&r.active)?;
        set_column(&mut out, false, "license")?;
        out.push_bind_param::<Text, _>(&r.license)?;
        set_column(&mut out, false, "contact_id")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.contact_id)?;
        set_column(&mut out, false, "account_id")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.account_id)?;
        set_column(&mut out, false, "origin")?;
        out.push_bind_param::<Text, _>(&r.origin)?;
        set_column(&mut out, false, "created_at")?;
        out.push_bind_param::<Timestamp, _>(&r.created_at)?;
        set_column(&mut out, false, "updated_at")?;
        out.push_bind_param::<Timestamp, _>(&r.updated_at)?;
        set_column(&mut out, false, "version")?;
        out.push_bind_param::<BigInt, _>(&r.version)?;
        set_column(&mut out, false, "scim_attributes")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.scim_attributes)?;
        set_column(&mut out, false, "password_hash")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.password_hash)?;
        set_column(&mut out, false, "display_name_folded")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.display_name_folded)?;
        set_column(&mut out, false, "first_name_folded")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.first_name_folded)?;
        set_column(&mut out, false, "last_name_folded")?;
        out.push_bind_param::<Nullable<Text>, _>(&r.last_name_folded)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<Text, _>(&r.id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, _>(&self.expected_version)?;
        Ok(())
    }
}

impl diesel::query_builder::QueryId for UpdateRow<'_> {
    type QueryId = UpdateRow<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Conn> RunQueryDsl<Conn> for UpdateRow<'_> {}

pub fn insert(conn: &mut DbConnection, user: &User) -> Result<(), StoreError> {
    let row = UserRow::from_user(user);
    native!(conn, |c| diesel::insert_into(users::table).values(&row).execute(c))?;
    write_emails(conn, user.id.as_str(), &user.emails)
}

fn write_emails(conn: &mut DbConnection, user_id: &str, emails: &[UserEmail]) -> Result<(), StoreError> {
    native!(conn, |c| diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user_id))).execute(c))?;
    let rows: Vec<EmailRow> = emails
        .iter()
        .enumerate()
        .map(|(i, e)| EmailRow {
            user_id: user_id.to_owned(),
            position: i as i32,
            value: e.value.clone(),
            value_folded: fold(&e.value),
            kind: e.kind.clone(),
            is_primary: e.primary,
            display: e.display.clone(),
        })
        .collect();
    // One statement per row: MultiConnection has no batch insert (users have few emails).
    for row in rows {
        native!(conn, |c| diesel::insert_into(user_emails::table).values(&row).execute(c))?;
    }
    Ok(())
}

/// Writes `user` over the row whose version is still `expected_version`; `NotFound` when
/// the row is gone or another writer moved its version (optimistic concurrency). Its email
/// rows are rewritten only when `emails_changed` (most updates leave them alone, and the
/// rewrite is a delete and an insert per address on the single writer).
pub fn update(
    conn: &mut DbConnection,
    user: &User,
    expected_version: i64,
    emails_changed: bool,
) -> Result<(), StoreError> {
    let row = UserRow::from_user(user);
    let n = native!(conn, |c| UpdateRow { row: &row, expected_version }.execute(c))?;
    if n != 1 {
        return Err(StoreError::NotFound);
    }
    if emails_changed { write_emails(conn, user.id.as_str(), &user.emails) } else { Ok(()) }
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), StoreError> {
    diesel::delete(site_members::table.filter(site_members::user_id.eq(id))).execute(conn)?;
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(id))).execute(conn)?;
    diesel::delete(group_members::table.filter(group_members::member_id.eq(id))).execute(conn)?;
    let n = diesel::delete(users::table.find(id)).execute(conn)?;
    if n == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<User>, StoreError> {
    let row = native!(conn, |c| users::table.find(id).select(UserRow::as_select()).first(c).optional())?;
    row.map(|r| with_sites(conn, r)).transpose()
}

/// Reads the user and, on PostgreSQL, locks its row until commit (SQLite has one writer).
/// Lock order everywhere: user rows (by id), then license pools (by license).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<User>, StoreError> {
    let row = match conn {
        DbConnection::Pg(c) => users::table.find(id).select(UserRow::as_select()).for_update().first(c).optional()?,
        DbConnection::Sqlite(c) => users::table.find(id).select(UserRow::as_select()).first(c).optional()?,
    };
    row.map(|r| with_sites(conn, r)).transpose()
}

/// Locks many users' rows, in id order (see [`find_for_update`]).
pub fn lock_many(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<User>, StoreError> {
    let rows: Vec<UserRow> = match conn {
        DbConnection::Pg(c) => users::table
            .filter(users::id.eq_any(ids))
            .order(users::id)
            .select(UserRow::as_select())
            .for_update()
            .load(c)?,
        DbConnection::Sqlite(c) => {
            users::table.filter(users::id.eq_any(ids)).order(users::id).select(UserRow::as_select()).load(c)?
        }
    };
    attach_details(conn, rows)
}

pub fn find_by_user_name_folded(conn: &mut DbConnection, folded: &str) -> Result<Option<User>, StoreError> {
    let row = native!(conn, |c| users::table
        .filter(users::user_name_folded.eq(folded))
        .select(UserRow::as_select())
        .first(c)
        .optional())?;
    row.map(|r| with_sites(conn, r)).transpose()
}

/// The user linked to this contact, if any.
pub fn linked_to_contact(conn: &mut DbConnection, contact_id: &str) -> Result<Option<String>, StoreError> {
    Ok(users::table.filter(users::contact_id.eq(contact_id)).select(users::id).first(conn).optional()?)
}

/// Filters of a user listing; every one is optional. `scope_accounts` restricts to
/// contact-backed users of those accounts (delegated admins).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub contactless: Option<bool>,
    pub license: Option<String>,
    pub account_id: Option<String>,
    pub scope_accounts: Option<Vec<String>>,
    pub site_id: Option<String>,
    pub active: Option<bool>,
    pub user_name_folded: Option<String>,
    pub licenses_in: Option<Vec<String>>,
    pub ids_in: Option<Vec<String>>,
    /// Folded: a prefix of userName, first, last or display name, or any email.
    pub prefix: Option<String>,
}

impl UserFilter {
    /// Whether it lets every user through.
    pub fn is_empty(&self) -> bool {
        let UserFilter {
            contactless,
            license,
            account_id,
            scope_accounts,
            site_id,
            active,
            user_name_folded,
            licenses_in,
            ids_in,
            prefix,
        } = self;
        contactless.is_none()
            && license.is_none()
            && account_id.is_none()
            && scope_accounts.is_none()
            && site_id.is_none()
            && active.is_none()
            && user_name_folded.is_none()
            && licenses_in.is_none()
            && ids_in.is_none()
            && prefix.is_none()
    }
}

type Backend = <DbConnection as diesel::Connection>::Backend;
type Filtered<'a> = users::BoxedQuery<'a, Backend>;

/// The users matching `filter`, as a boxed query to select from.
fn filtered(filter: &UserFilter) -> Filtered<'static> {
    let mut q = users::table.into_boxed();
    if let Some(c) = filter.contactless {
        q = if c { q.filter(users::contact_id.is_null()) } else { q.filter(users::contact_id.is_not_null()) };
    }
    if let Some(l) = &filter.license {
        q = q.filter(users::license.eq(l.clone()));
    }
    if let Some(ls) = &filter.licenses_in {
        q = q.filter(users::license.eq_any(ls.clone()));
    }
    if let Some(a) = &filter.account_id {
        q = q.filter(users::account_id.eq(a.clone()));
    }
    if let Some(scope) = &filter.scope_accounts {
        q = q.filter(users::account_id.eq_any(scope.clone()));
    }
    if let Some(s) = &filter.site_id {
        q = q.filter(
            users::id
                .eq_any(site_members::table.filter(site_members::site_id.eq(s.clone())).select(site_members::user_id)),
        );
    }
    if let Some(a) = filter.active {
        q = q.filter(users::active.eq(a));
    }
    if let Some(n) = &filter.user_name_folded {
        q = q.filter(users::user_name_folded.eq(n.clone()));
    }
    if let Some(ids) = &filter.ids_in {
        q = q.filter(users::id.eq_any(ids.clone()));
    }
    if let Some(p) = &filter.prefix {
        q = q.filter(prefix_match(p));
    }
    q
}

/// The upper bound of the strings that start with `p` (byte order: SQLite's BINARY, the
/// "C" collation of the folded columns on PostgreSQL).
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

type PrefixMatch = Box<dyn BoxableExpression<users::table, Backend, SqlType = diesel::sql_types::Bool>>;

/// Users whose userName, first name, last name, display name or any email starts with the
/// folded `p`; two words: a first and a last name (either way round) starting with them.
/// One set of ids per index range, united: each range walks its own index on both backends
/// (an OR with the email subquery made PostgreSQL walk every user).
fn prefix_match(p: &str) -> PrefixMatch {
    let (lo, hi) = (p.to_owned(), prefix_end(p));
    let u = diesel::alias!(users as u);
    let by_user_name = u
        .filter(u.field(users::user_name_folded).ge(lo.clone()).and(u.field(users::user_name_folded).lt(hi.clone())))
        .select(u.field(users::id));
    let by_first = u
        .filter(u.field(users::first_name_folded).ge(lo.clone()).and(u.field(users::first_name_folded).lt(hi.clone())))
        .select(u.field(users::id));
    let by_last = u
        .filter(u.field(users::last_name_folded).ge(lo.clone()).and(u.field(users::last_name_folded).lt(hi.clone())))
        .select(u.field(users::id));
    let by_display = u
        .filter(
            u.field(users::display_name_folded).ge(lo.clone()).and(u.field(users::display_name_folded).lt(hi.clone())),
        )
        .select(u.field(users::id));
    let by_email = user_emails::table
        .filter(user_emails::value_folded.ge(lo).and(user_emails::value_folded.lt(hi)))
        .select(user_emails::user_id);
    let ids = by_user_name.union(by_first).union(by_last).union(by_display).union(by_email);
    let words: Vec<&str> = p.split_whitespace().collect();
    if let [a, b] = words.as_slice() {
        let pair = |first: &str, last: &str| {
            let (flo, fhi, llo, lhi) = (first.to_owned(), prefix_end(first), last.to_owned(), prefix_end(last));
            u.filter(
                u.field(users::first_name_folded)
                    .ge(flo)
                    .and(u.field(users::first_name_folded).lt(fhi))
                    .and(u.field(users::last_name_folded).ge(llo))
                    .and(u.field(users::last_name_folded).lt(lhi)),
            )
            .select(u.field(users::id))
        };
        return Box::new(users::id.eq_any(ids.union(pair(a, b)).union(pair(b, a))));
    }
    Box::new(users::id.eq_any(ids))
}

/// Keyset page in id (creation) order: ids greater than `after`, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    let mut q = filtered(filter).select(UserRow::as_select());
    if let Some(after) = after {
        q = q.filter(users::id.gt(after.to_owned()));
    }
    let rows = q.order(users::id.asc()).limit(limit).load(conn)?;
    attach_details(conn, rows)
}

/// The orders of the console's user search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    UserName,
    /// Last name, then first name (a missing name sorts as the empty one).
    Name,
    Created,
    Updated,
}

/// A page of the console's user search: `offset` rows skipped (the caller bounds it), ties
/// broken by id; every order is the walk of one index, forwards or backwards (a missing
/// name sorts as the empty name: first ascending, last descending).
pub fn search(
    conn: &mut DbConnection,
    filter: &UserFilter,
    sort: SearchSort,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    let q = filtered(filter).select(UserRow::as_select());
    let q = match (sort, descending) {
        (SearchSort::UserName, false) => q.order(users::user_name_folded.asc()),
        (SearchSort::UserName, true) => q.order(users::user_name_folded.desc()),
        (SearchSort::Name, false) => q.order((users::last_name_folded.asc(), users::first_name_folded.asc())),
        (SearchSort::Name, true) => q.order((users::last_name_folded.desc(), users::first_name_folded.desc())),
        (SearchSort::Created, false) => q.order(users::created_at.asc()),
        (SearchSort::Created, true) => q.order(users::created_at.desc()),
        (SearchSort::Updated, false) => q.order(users::updated_at.asc()),
        (SearchSort::Updated, true) => q.order(users::updated_at.desc()),
    };
    let q = if descending { q.then_order_by(users::id.desc()) } else { q.then_order_by(users::id.asc()) };
    let rows = q.offset(offset).limit(limit).load(conn)?;
    attach_details(conn, rows)
}

/// How many users match `filter`, counting at most `cap` (`cap` or more: at least that).
pub fn count_capped(conn: &mut DbConnection, filter: &UserFilter, cap: i64) -> Result<i64, StoreError> {
    let ids: Vec<String> = filtered(filter).select(users::id).limit(cap).load(conn)?;
    Ok(ids.len() as i64)
}

fn with_sites(conn: &mut DbConnection, row: UserRow) -> Result<User, StoreError> {
    attach_details(conn, vec![row])?.pop().ok_or(StoreError::NotFound)
}

/// One query for the memberships of a whole page.
pub(crate) fn attach_details(conn: &mut DbConnection, rows: Vec<UserRow>) -> Result<Vec<User>, StoreError> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    // One id: `=` instead of `IN (…)`, a statement diesel prepares once per connection and
    // caches (an `IN` list of varying length is parsed again every time).
    let pairs: Vec<(String, String)> = match ids.as_slice() {
        [one] => native!(conn, |c| site_members::table
            .filter(site_members::user_id.eq(*one))
            .order(site_members::site_id)
            .select((site_members::user_id, site_members::site_id))
            .load(c))?,
        _ => site_members::table
            .filter(site_members::user_id.eq_any(&ids))
            .order((site_members::user_id, site_members::site_id))
            .select((site_members::user_id, site_members::site_id))
            .load(conn)?,
    };
    let mut by_user: HashMap<String, Details> = HashMap::new();
    for (user, site) in pairs {
        by_user.entry(user).or_default().sites.push(site);
    }
    let emails: Vec<EmailRow> = match ids.as_slice() {
        [one] => native!(conn, |c| user_emails::table
            .filter(user_emails::user_id.eq(*one))
            .order(user_emails::position)
            .select(EmailRow::as_select())
            .load(c))?,
        _ => user_emails::table
            .filter(user_emails::user_id.eq_any(&ids))
            .order((user_emails::user_id, user_emails::position))
            .select(EmailRow::as_select())
            .load(conn)?,
    };
    for e in emails {
        by_user.entry(e.user_id).or_default().emails.push(UserEmail {
            value: e.value,
            kind: e.kind,
            primary: e.is_primary,
            display: e.display,
        });
    }
    rows.into_iter()
        .map(|r| {
            let details = by_user.remove(&r.id).unwrap_or_default();
            r.into_user(details)
        })
        .collect()
}

pub fn add_member(
    conn: &mut DbConnection,
    site: &SiteId,
    user: &UserId,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    let (site_id, user_id) = (site.as_str(), user.as_str());
    let exists = site_members::table
        .find((site_id, user_id))
        .select(site_members::user_id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    diesel::insert_into(site_members::table)
        .values((
            site_members::site_id.eq(site_id),
            site_members::user_id.eq(user_id),
            site_members::created_at.eq(at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn remove_member(conn: &mut DbConnection, site: &SiteId, user: &UserId) -> Result<bool, StoreError> {
    let n = diesel::delete(site_members::table.find((site.as_str(), user.as_str()))).execute(conn)?;
    Ok(n == 1)
}

/// Fills `first_name_folded`/`last_name_folded` of up to `limit` rows written before those
/// columns existed; how many it filled. The rows are found on a partial index that holds
/// only them (empty once done). Call in a write transaction.
pub fn backfill_folded_names(conn: &mut DbConnection, limit: i64) -> Result<usize, StoreError> {
    let rows: Vec<(String, Option<String>, Option<String>)> = users::table
        .filter(users::first_name_folded.is_null().or(users::last_name_folded.is_null()))
        .select((users::id, users::first_name, users::last_name))
        .limit(limit)
        .load(conn)?;
    for (id, first, last) in &rows {
        // Only while still unset: a write since the read above has set them already.
        diesel::update(
            users::table.find(id).filter(users::first_name_folded.is_null().or(users::last_name_folded.is_null())),
        )
        .set((
            users::first_name_folded.eq(first.as_deref().map(fold).unwrap_or_default()),
            users::last_name_folded.eq(last.as_deref().map(fold).unwrap_or_default()),
        ))
        .execute(conn)?;
    }
    Ok(rows.len())
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many users are contactless and how many inactive, each counted on its partial index
/// (only the rows counted are visited).
pub fn composition(conn: &mut DbConnection) -> Result<(i64, i64), StoreError> {
    let inactive_sql = match conn {
        DbConnection::Sqlite(_) => "SELECT count(*) AS n FROM users WHERE active = 0",
        DbConnection::Pg(_) => "SELECT count(*) AS n FROM users WHERE NOT active",
    };
    let contactless: CountRow =
        diesel::sql_query("SELECT count(*) AS n FROM users WHERE contact_id IS NULL").get_result(conn)?;
    let inactive: CountRow = diesel::sql_query(inactive_sql).get_result(conn)?;
    Ok((contactless.n, inactive.n))
}

/// The userNames of these users (those that exist).
pub fn user_names(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(users::table.filter(users::id.eq_any(ids)).select((users::id, users::user_name)).load(conn)?)
}

/// A user's site ids, emails and groups as JSON arrays computed beside its row
/// (PostgreSQL): one statement, one round trip, instead of one per table.
const SITES_JSON: &str = "COALESCE((SELECT json_agg(s.site_id ORDER BY s.site_id) FROM site_members s \
                          WHERE s.user_id = users.id), '[]')::text";
const EMAILS_JSON: &str = "COALESCE((SELECT json_agg(json_build_array(e.value, e.kind, e.is_primary, e.display) \
                           ORDER BY e.position) FROM user_emails e WHERE e.user_id = users.id), '[]')::text";
const GROUPS_JSON: &str = "COALESCE((SELECT json_agg(json_build_array(g.id, g.display_name, g.account_id) \
                           ORDER BY g.id) FROM group_members m JOIN groups g ON g.id = m.group_id \
                           WHERE m.member_id = users.id), '[]')::text";

type EmailJson = (String, Option<String>, Option<bool>, Option<String>);
type GroupJson = (String, String, Option<String>);

fn from_json<T: serde::de::DeserializeOwned>(what: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A user with its groups (member id, group id, displayName, account), as
/// [`find`] and `user_query::groups_of` read them. On PostgreSQL in one statement — safe
/// outside a transaction, a statement sees one snapshot; on SQLite one statement per table
/// (in-process, each costs microseconds).
pub fn find_with_groups(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<(User, Vec<super::user_query::GroupOf>)>, StoreError> {
    let c = match conn {
        DbConnection::Pg(c) => c,
        DbConnection::Sqlite(_) => {
            let Some(user) = find(conn, id)? else { return Ok(None) };
            let groups = super::user_query::groups_of(conn, &[id])?;
            return Ok(Some((user, groups)));
        }
    };
    let row: Option<(UserRow, String, String, String)> =
        users::table.find(id).select((UserRow::as_select(), SitesJson, EmailsJson, GroupsJson)).first(c).optional()?;
    row.map(assemble).transpose()
}

/// A fixed SQL expression of type `Text` that, unlike `diesel::dsl::sql`, leaves the
/// statement cacheable: the JSON columns below are prepared once per connection instead of
/// parsed and planned on every read.
macro_rules! json_column {
    ($name:ident, $sql:expr) => {
        #[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
        pub(crate) struct $name;
        impl diesel::expression::Expression for $name {
            type SqlType = diesel::sql_types::Text;
        }
        impl<QS> diesel::expression::SelectableExpression<QS> for $name {}
        impl<QS> diesel::expression::AppearsOnTable<QS> for $name {}
        impl diesel::expression::ValidGrouping<()> for $name {
            type IsAggregate = diesel::expression::is_aggregate::Never;
        }
        impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, DB>) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}
json_column!(SitesJson, SITES_JSON);
json_column!(EmailsJson, EMAILS_JSON);
json_column!(GroupsJson, GROUPS_JSON);

/// The select of a user row with its details and groups as JSON (PostgreSQL; see
/// [`find_with_groups`]).
pub(crate) fn whole_columns() -> (UserRowSelect, SitesJson, EmailsJson, GroupsJson) {
    (UserRow::as_select(), SitesJson, EmailsJson, GroupsJson)
}

type UserRowSelect = diesel::dsl::AsSelect<UserRow, super::conn::MultiBackend>;

/// A row of [`whole_columns`].
pub(crate) type WholeRow = (UserRow, String, String, String);

/// A user and its groups from a [`WholeRow`].
pub(crate) fn assemble(
    (row, sites, emails, groups): WholeRow,
) -> Result<(User, Vec<super::user_query::GroupOf>), StoreError> {
    let emails: Vec<EmailJson> = from_json("user_emails", &emails)?;
    let details = Details {
        sites: from_json("site_members", &sites)?,
        emails: emails
            .into_iter()
            .map(|(value, kind, primary, display)| UserEmail { value, kind, primary, display })
            .collect(),
    };
    let groups: Vec<GroupJson> = from_json("group_members", &groups)?;
    let groups = groups.into_iter().map(|(gid, name, account)| (row.id.clone(), gid, name, account)).collect();
    Ok((row.into_user(details)?, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identifiers after each "`users`." (a select) or each set column (the update).
    fn names(sql: &str, after: &str) -> Vec<String> {
        sql.split(after).skip(1).map(|s| s.split('`').next().unwrap_or_default().to_owned()).collect()
    }

    #[test]
    fn update_row_sets_every_column() {
        let columns =
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&users::table.select(users::all_columns)).to_string();
        let mut columns = names(&columns, "`users`.`");
        columns.retain(|c| c != "id");
        let now = chrono::Utc::now().naive_utc();
        let row = UserRow {
            id: "u1".into(),
            user_name: "a".into(),
            user_name_folded: "a".into(),
            external_id: None,
            email: None,
            first_name: None,
            last_name: None,
            display_name: None,
            active: true,
            license: "external_identity".into(),
            contact_id: None,
            account_id: None,
            origin: "native".into(),
            created_at: now,
            updated_at: now,
            version: 2,
            scim_attributes: None,
            password_hash: None,
            display_name_folded: None,
            first_name_folded: None,
            last_name_folded: None,
        };
        let update =
            diesel::debug_query::<diesel::sqlite::Sqlite, _>(&UpdateRow { row: &row, expected_version: 1 }).to_string();
        let (set, filter) = update.split_once(" WHERE ").unwrap();
        let set: Vec<String> = set.split(" = ?").filter_map(|s| s.rsplit('`').nth(1).map(str::to_owned)).collect();
        assert_eq!(set, columns, "{update}");
        assert!(filter.starts_with("id = ? AND version = ?"), "{update}");
        assert_eq!(set.len(), 20);
    }
}
