//! Setup console sessions (stored only as SHA-256 hashes of the cookie's secret).
//! The table is declared here rather than in `schema.rs`: nothing joins it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::conn::DbConnection;
use super::{StoreError, to_utc};

diesel::table! {
    console_sessions (id) {
        id -> Text,
        session_hash -> Text,
        token_id -> Nullable<Text>,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        bootstrap_generation -> Nullable<Text>,
    }
}

/// A console session as stored: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRow {
    pub id: String,
    /// The token that signed in; `None` for the bootstrap secret.
    pub token_id: Option<String>,
    /// Which bootstrap secret opened it (see `auth::Bootstrap::generation`); `None` for tokens.
    pub bootstrap_generation: Option<String>,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

type Row = (String, Option<String>, Option<String>, String, NaiveDateTime, NaiveDateTime);

pub fn insert(conn: &mut DbConnection, s: &ConsoleSessionRow, session_hash: &str) -> Result<(), StoreError> {
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::id.eq(&s.id),
            console_sessions::session_hash.eq(session_hash),
            console_sessions::token_id.eq(&s.token_id),
            console_sessions::bootstrap_generation.eq(&s.bootstrap_generation),
            console_sessions::csrf_token.eq(&s.csrf_token),
            console_sessions::created_at.eq(s.created_at.naive_utc()),
            console_sessions::expires_at.eq(s.expires_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this hash that has not expired at `now`.
pub fn find_live(
    conn: &mut DbConnection,
    session_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<ConsoleSessionRow>, StoreError> {
    let row: Option<Row> = console_sessions::table
        .filter(console_sessions::session_hash.eq(session_hash))
        .filter(console_sessions::expires_at.gt(now.naive_utc()))
        .select((
            console_sessions::id,
            console_sessions::token_id,
            console_sessions::bootstrap_generation,
            console_sessions::csrf_token,
            console_sessions::created_at,
            console_sessions::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, token_id, bootstrap_generation, csrf_token, created_at, expires_at)| ConsoleSessionRow {
        id,
        token_id,
        bootstrap_generation,
        csrf_token,
        created_at: to_utc(created_at),
        expires_at: to_utc(expires_at),
    }))
}

/// Ends one session; `false` when it was already gone.
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(console_sessions::table.find(id)).execute(conn)? == 1)
}

/// Forgets sessions that expired before `now`.
pub fn delete_expired(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(console_sessions::table.filter(console_sessions::expires_at.le(now.naive_utc())))
        .execute(conn)?)
}
