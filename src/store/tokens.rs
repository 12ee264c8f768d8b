//! Bearer tokens (stored only as SHA-256 hashes) and login-as sessions.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::conn::DbConnection;
use super::schema::{login_sessions, tokens};
use super::{StoreError, to_utc};
use crate::domain::{LoginSession, SessionId, TokenId, TokenInfo, UserId};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = tokens)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    account_ids: String,
    site_id: Option<String>,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    site_ids: String,
    requests_per_minute: Option<i32>,
    last_used_at: Option<NaiveDateTime>,
}

impl TryFrom<TokenRow> for TokenInfo {
    type Error = StoreError;
    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(TokenInfo {
            role: r.role.parse().map_err(StoreError::Corrupt)?,
            account_ids: split_ids(&r.account_ids),
            id: TokenId::new(r.id),
            name: r.name,
            site_id: r.site_id,
            site_ids: split_ids(&r.site_ids),
            requests_per_minute: r.requests_per_minute.map(|n| n.max(0) as u32),
            created_at: to_utc(r.created_at),
            revoked_at: r.revoked_at.map(to_utc),
            last_used_at: r.last_used_at.map(to_utc),
        })
    }
}

/// Account and site ids are uuids: a space-separated list needs no escaping.
fn split_ids(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

pub fn insert(conn: &mut DbConnection, t: &TokenInfo, token_hash: &str) -> Result<(), StoreError> {
    diesel::insert_into(tokens::table)
        .values((
            tokens::id.eq(t.id.as_str()),
            tokens::name.eq(&t.name),
            tokens::role.eq(t.role.as_str()),
            tokens::token_hash.eq(token_hash),
            tokens::account_ids.eq(t.account_ids.join(" ")),
            tokens::site_id.eq(&t.site_id),
            tokens::site_ids.eq(t.site_ids.join(" ")),
            tokens::requests_per_minute.eq(t.requests_per_minute.map(|n| n.min(i32::MAX as u32) as i32)),
            tokens::created_at.eq(t.created_at.naive_utc()),
            tokens::revoked_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

/// The live (not revoked) token with this hash.
pub fn find_live_by_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<TokenInfo>, StoreError> {
    tokens::table
        .filter(tokens::token_hash.eq(hash))
        .filter(tokens::revoked_at.is_null())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?
        .map(TokenInfo::try_from)
        .transpose()
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<TokenInfo>, StoreError> {
    tokens::table.find(id).select(TokenRow::as_select()).first(conn).optional()?.map(TokenInfo::try_from).transpose()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<TokenInfo>, StoreError> {
    tokens::table
        .order(tokens::id)
        .select(TokenRow::as_select())
        .load(conn)?
        .into_iter()
        .map(TokenInfo::try_from)
        .collect()
}

/// Revokes a live token; whether it was live (an UPDATE that waits for a concurrent
/// revoke or rotation, then finds nothing to do).
pub fn revoke(conn: &mut DbConnection, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = diesel::update(tokens::table.find(id).filter(tokens::revoked_at.is_null()))
        .set(tokens::revoked_at.eq(Some(at.naive_utc())))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_session(conn: &mut DbConnection, s: &LoginSession, token_hash: &str) -> Result<(), StoreError> {
    diesel::insert_into(login_sessions::table)
        .values((
            login_sessions::id.eq(s.id.as_str()),
            login_sessions::token_hash.eq(token_hash),
            login_sessions::user_id.eq(s.user_id.as_str()),
            login_sessions::actor.eq(&s.actor),
            login_sessions::created_at.eq(s.created_at.naive_utc()),
            login_sessions::expires_at.eq(s.expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Revokes a login-as session; `false` when there is no such live session.
pub fn revoke_session(conn: &mut DbConnection, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = diesel::update(login_sessions::table.find(id).filter(login_sessions::revoked_at.is_null()))
        .set(login_sessions::revoked_at.eq(at.naive_utc()))
        .execute(conn)?;
    Ok(n == 1)
}

/// Revokes the live login-as sessions started by `actor` (a token's audit label) or of
/// `user_id`; how many.
pub fn revoke_sessions_of(
    conn: &mut DbConnection,
    actor: Option<&str>,
    user_id: Option<&str>,
    at: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut q = diesel::update(login_sessions::table).filter(login_sessions::revoked_at.is_null()).into_boxed();
    if let Some(a) = actor {
        q = q.filter(login_sessions::actor.eq(a.to_owned()));
    }
    if let Some(u) = user_id {
        q = q.filter(login_sessions::user_id.eq(u.to_owned()));
    }
    Ok(q.set(login_sessions::revoked_at.eq(at.naive_utc())).execute(conn)?)
}

/// The session with this hash that has not expired at `now` nor been revoked.
pub fn find_live_session(
    conn: &mut DbConnection,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoginSession>, StoreError> {
    let row: Option<(String, String, String, NaiveDateTime, NaiveDateTime)> = login_sessions::table
        .filter(login_sessions::token_hash.eq(hash))
        .filter(login_sessions::expires_at.gt(now.naive_utc()))
        .filter(login_sessions::revoked_at.is_null())
        .select((
            login_sessions::id,
            login_sessions::user_id,
            login_sessions::actor,
            login_sessions::created_at,
            login_sessions::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, user_id, actor, created_at, expires_at)| LoginSession {
        id: SessionId::new(id),
        user_id: UserId::new(user_id),
        actor,
        created_at: to_utc(created_at),
        expires_at: to_utc(expires_at),
    }))
}
