//! Accounts, contacts and sites.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::conn::DbConnection;
use super::conn::native;
use super::schema::{accounts, contacts, site_members, sites};
use super::{StoreError, to_utc};
use crate::domain::{Account, AccountId, Contact, ContactId, Site, SiteId};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: String,
    name: String,
    created_at: NaiveDateTime,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        Account { id: AccountId::new(r.id), name: r.name, created_at: to_utc(r.created_at) }
    }
}

pub fn insert_account(conn: &mut DbConnection, a: &Account) -> Result<(), StoreError> {
    diesel::insert_into(accounts::table)
        .values(AccountRow { id: a.id.to_string(), name: a.name.clone(), created_at: a.created_at.naive_utc() })
        .execute(conn)?;
    Ok(())
}

pub fn find_account(conn: &mut DbConnection, id: &str) -> Result<Option<Account>, StoreError> {
    let row = native!(conn, |c| accounts::table.find(id).select(AccountRow::as_select()).first(c).optional())?;
    Ok(row.map(Account::from))
}

/// Up to `limit` rows of `$table` in id order, after the id `after` (a cursor page), as
/// `$out` (from `$row`).
macro_rules! page_by_id {
    ($conn:expr, $table:ident, $row:ty => $out:ty, $after:expr, $limit:expr) => {{
        let mut q = $table::table.select(<$row>::as_select()).into_boxed();
        if let Some(after) = $after {
            q = q.filter($table::id.gt(after.to_owned()));
        }
        Ok(q.order($table::id).limit($limit).load($conn)?.into_iter().map(<$out>::from).collect())
    }};
}

pub fn list_accounts(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> Result<Vec<Account>, StoreError> {
    page_by_id!(conn, accounts, AccountRow => Account, after, limit)
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts)]
#[diesel(treat_none_as_null = true)]
struct ContactRow {
    id: String,
    account_id: String,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<ContactRow> for Contact {
    fn from(r: ContactRow) -> Self {
        Contact {
            id: ContactId::new(r.id),
            account_id: AccountId::new(r.account_id),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            created_at: to_utc(r.created_at),
            updated_at: to_utc(r.updated_at),
        }
    }
}

impl From<&Contact> for ContactRow {
    fn from(c: &Contact) -> Self {
        ContactRow {
            id: c.id.to_string(),
            account_id: c.account_id.to_string(),
            first_name: c.first_name.clone(),
            last_name: c.last_name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            created_at: c.created_at.naive_utc(),
            updated_at: c.updated_at.naive_utc(),
        }
    }
}

pub fn insert_contact(conn: &mut DbConnection, c: &Contact) -> Result<(), StoreError> {
    let row = ContactRow::from(c);
    native!(conn, |c| diesel::insert_into(contacts::table).values(&row).execute(c))?;
    Ok(())
}

pub fn update_contact(conn: &mut DbConnection, c: &Contact) -> Result<(), StoreError> {
    let row = ContactRow::from(c);
    let n = native!(conn, |c| diesel::update(contacts::table.find(&row.id)).set(&row).execute(c))?;
    if n == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}

pub fn find_contact(conn: &mut DbConnection, id: &str) -> Result<Option<Contact>, StoreError> {
    let row = native!(conn, |c| contacts::table.find(id).select(ContactRow::as_select()).first(c).optional())?;
    Ok(row.map(Contact::from))
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = sites)]
struct SiteRow {
    id: String,
    name: String,
    url_path_prefix: String,
    self_registration: bool,
    created_at: NaiveDateTime,
}

impl From<SiteRow> for Site {
    fn from(r: SiteRow) -> Self {
        Site {
            id: SiteId::new(r.id),
            name: r.name,
            url_path_prefix: r.url_path_prefix,
            self_registration: r.self_registration,
            created_at: to_utc(r.created_at),
        }
    }
}

pub fn insert_site(conn: &mut DbConnection, s: &Site) -> Result<(), StoreError> {
    diesel::insert_into(sites::table)
        .values(SiteRow {
            id: s.id.to_string(),
            name: s.name.clone(),
            url_path_prefix: s.url_path_prefix.clone(),
            self_registration: s.self_registration,
            created_at: s.created_at.naive_utc(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn find_site(conn: &mut DbConnection, id: &str) -> Result<Option<Site>, StoreError> {
    Ok(sites::table.find(id).select(SiteRow::as_select()).first(conn).optional()?.map(Site::from))
}

/// The site, read for a decision the caller's write depends on: on PostgreSQL its row is
/// locked `FOR SHARE` until the transaction ends, so a change of the site (its
/// self-registration switch) committing meanwhile is waited for and seen, and one that
/// comes later waits for this transaction. (SQLite's one writer already orders them.)
pub fn share_site(conn: &mut DbConnection, id: &str) -> Result<Option<Site>, StoreError> {
    let row = match conn {
        DbConnection::Sqlite(c) => sites::table.find(id).select(SiteRow::as_select()).first(c).optional()?,
        DbConnection::Pg(c) => sites::table.find(id).select(SiteRow::as_select()).for_share().first(c).optional()?,
    };
    Ok(row.map(Site::from))
}

pub fn list_sites(conn: &mut DbConnection, after: Option<&str>, limit: i64) -> Result<Vec<Site>, StoreError> {
    page_by_id!(conn, sites, SiteRow => Site, after, limit)
}

pub fn member_count(conn: &mut DbConnection, site_id: &str) -> Result<i64, StoreError> {
    Ok(site_members::table.filter(site_members::site_id.eq(site_id)).count().get_result(conn)?)
}

/// Creates the account with this id unless it exists (concurrent gateways may race to
/// create the configured default account; the second insert is a no-op).
pub fn ensure_account(conn: &mut DbConnection, a: &Account) -> Result<(), StoreError> {
    let row = AccountRow { id: a.id.to_string(), name: a.name.clone(), created_at: a.created_at.naive_utc() };
    match conn {
        DbConnection::Pg(c) => {
            diesel::insert_into(accounts::table).values(row).on_conflict_do_nothing().execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::insert_or_ignore_into(accounts::table).values(row).execute(c)?;
        }
    }
    Ok(())
}

/// Turns a site's self-registration switch on or off.
/// Turns a site's self-registration on or off; `false` when it already was (a change that
/// committed since the caller's read included).
pub fn set_self_registration(conn: &mut DbConnection, id: &str, enabled: bool) -> Result<bool, StoreError> {
    let n = diesel::update(sites::table.find(id).filter(sites::self_registration.ne(enabled)))
        .set(sites::self_registration.eq(enabled))
        .execute(conn)?;
    Ok(n == 1)
}

/// The contacts of an account in id order after `after`, at most `limit` (the contact
/// picker reads them in chunks on the (account_id, id) index).
pub fn contacts_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contact>, StoreError> {
    let mut q = contacts::table
        .filter(contacts::account_id.eq(account_id.to_owned()))
        .select(ContactRow::as_select())
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(contacts::id.gt(a.to_owned()));
    }
    Ok(q.order(contacts::id).limit(limit).load(conn)?.into_iter().map(Contact::from).collect())
}

/// Which of these contacts a user is linked to (one indexed read).
pub fn linked(
    conn: &mut DbConnection,
    contact_ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    use super::schema::users;
    if contact_ids.is_empty() {
        return Ok(Default::default());
    }
    let found: Vec<Option<String>> =
        users::table.filter(users::contact_id.eq_any(contact_ids)).select(users::contact_id).load(conn)?;
    Ok(found.into_iter().flatten().collect())
}
