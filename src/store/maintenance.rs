//! Whole-database operations for the command line: an online SQLite backup, checking a
//! backup file, the invariants `scimgate verify` checks, and pending migrations.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel_migrations::MigrationHarness;

use super::StoreError;
use super::conn::{DbConnection, native};

/// Copies the SQLite database at `db_path` to `to` (which must not exist) with `VACUUM
/// INTO`: one read transaction, a consistent snapshot, while the gateway goes on serving
/// (in WAL mode writers never wait for a reader).
pub fn sqlite_backup(db_path: &str, to: &Path) -> Result<(), anyhow::Error> {
    let mut conn = SqliteConnection::establish(db_path)?;
    conn.batch_execute("PRAGMA busy_timeout = 10000")?;
    let target = to.to_str().ok_or_else(|| anyhow::anyhow!("{}: not a UTF-8 path", to.display()))?;
    conn.batch_execute(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    text: String,
}

/// What a SQLite file holds, read without changing it: its integrity, the migrations
/// applied to it (versions) and its users.
pub struct FileFacts {
    pub integrity: Vec<String>,
    pub migrations: Vec<String>,
    pub users: i64,
}

/// Opens a SQLite file read-only and reads its [`FileFacts`]; not a scimgate database
/// (no migrations table) is an error.
pub fn sqlite_facts(file: &Path) -> Result<FileFacts, anyhow::Error> {
    let path = file.to_str().ok_or_else(|| anyhow::anyhow!("{}: not a UTF-8 path", file.display()))?;
    let mut conn = SqliteConnection::establish(&format!("file:{path}?mode=ro"))?;
    let integrity: Vec<String> = diesel::sql_query("SELECT integrity_check AS text FROM pragma_integrity_check")
        .load::<Line>(&mut conn)?
        .into_iter()
        .map(|l| l.text)
        .collect();
    let migrations: Vec<String> = diesel::sql_query("SELECT version AS text FROM __diesel_schema_migrations")
        .load::<Line>(&mut conn)
        .map_err(|e| anyhow::anyhow!("{}: not a scimgate database ({e})", file.display()))?
        .into_iter()
        .map(|l| l.text)
        .collect();
    let users = diesel::sql_query("SELECT COUNT(*) AS n FROM users").get_result::<Count>(&mut conn)?.n;
    Ok(FileFacts { integrity, migrations, users })
}

/// The versions of this binary's SQLite migrations.
pub fn sqlite_migration_versions() -> Result<Vec<String>, anyhow::Error> {
    let migrations = MigrationSource::<Sqlite>::migrations(&super::conn::SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("the embedded migrations: {e}"))?;
    Ok(migrations.iter().map(|m| m.name().version().to_string()).collect())
}

/// The names of the migrations not yet applied to the database.
pub fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>, anyhow::Error> {
    let names = match conn {
        DbConnection::Sqlite(c) => c
            .pending_migrations(super::conn::SQLITE_MIGRATIONS)
            .map(|p| p.iter().map(|m| m.name().to_string()).collect()),
        DbConnection::Pg(c) => c
            .pending_migrations(super::conn::POSTGRES_MIGRATIONS)
            .map(|p| p.iter().map(|m| m.name().to_string()).collect()),
    };
    names.map_err(|e| anyhow::anyhow!("reading the migrations: {e}"))
}

/// One invariant the directory must hold, and how many rows break it.
const CHECKS: &[(&str, &str)] = &[
    (
        "a license pool's `used` differs from the number of users holding its license",
        "SELECT COUNT(*) AS n FROM license_pools p \
         WHERE p.used <> (SELECT COUNT(*) FROM users u WHERE u.license = p.license)",
    ),
    (
        "a license pool holds more users than its capacity",
        "SELECT COUNT(*) AS n FROM license_pools WHERE capacity IS NOT NULL AND used > capacity",
    ),
    (
        "a user holds a license that has no pool",
        "SELECT COUNT(*) AS n FROM users u \
         WHERE NOT EXISTS (SELECT 1 FROM license_pools p WHERE p.license = u.license)",
    ),
    (
        "a user with a community license has no contact",
        "SELECT COUNT(*) AS n FROM users WHERE license <> 'external_identity' AND contact_id IS NULL",
    ),
    (
        "a user's contact and account are not both set or both unset",
        "SELECT COUNT(*) AS n FROM users WHERE (contact_id IS NULL) <> (account_id IS NULL)",
    ),
    (
        "a user's contact does not exist",
        "SELECT COUNT(*) AS n FROM users u WHERE u.contact_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = u.contact_id)",
    ),
    (
        "a user's account is not its contact's account",
        "SELECT COUNT(*) AS n FROM users u JOIN contacts c ON c.id = u.contact_id WHERE u.account_id <> c.account_id",
    ),
    (
        "two users share a contact",
        "SELECT COUNT(*) AS n FROM (SELECT contact_id FROM users WHERE contact_id IS NOT NULL \
         GROUP BY contact_id HAVING COUNT(*) > 1) shared",
    ),
    (
        "a group membership points at a user that does not exist",
        "SELECT COUNT(*) AS n FROM group_members m WHERE m.member_type = 'User' \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.member_id)",
    ),
    (
        "a group membership points at a group that does not exist",
        "SELECT COUNT(*) AS n FROM group_members m WHERE (m.member_type = 'Group' \
         AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = m.member_id)) \
         OR NOT EXISTS (SELECT 1 FROM groups g WHERE g.id = m.group_id)",
    ),
    (
        "a site membership points at a user or site that does not exist",
        "SELECT COUNT(*) AS n FROM site_members m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id) \
         OR NOT EXISTS (SELECT 1 FROM sites s WHERE s.id = m.site_id)",
    ),
];

/// The invariants the directory breaks: `(what, how many rows)`, empty when all hold.
pub fn broken_invariants(conn: &mut DbConnection) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut broken = vec![];
    for (what, sql) in CHECKS {
        let n = native!(conn, |c| diesel::sql_query(*sql).get_result::<Count>(c))?.n;
        if n > 0 {
            broken.push((*what, n));
        }
    }
    if let DbConnection::Sqlite(c) = conn {
        let lines: Vec<Line> =
            diesel::sql_query("SELECT integrity_check AS text FROM pragma_integrity_check").load(c)?;
        if lines.iter().any(|l| l.text != "ok") {
            broken.push(("SQLite's integrity check fails", lines.len() as i64));
        }
        let dangling =
            diesel::sql_query("SELECT COUNT(*) AS n FROM pragma_foreign_key_check").get_result::<Count>(c)?;
        if dangling.n > 0 {
            broken.push(("a row's foreign key points at nothing", dangling.n));
        }
    }
    Ok(broken)
}

/// How many users and groups the directory holds.
pub fn sizes(conn: &mut DbConnection) -> Result<(i64, i64), StoreError> {
    let users = native!(conn, |c| diesel::sql_query("SELECT COUNT(*) AS n FROM users").get_result::<Count>(c))?.n;
    let groups = native!(conn, |c| diesel::sql_query("SELECT COUNT(*) AS n FROM groups").get_result::<Count>(c))?.n;
    Ok((users, groups))
}

/// The lock file beside a SQLite database (`<path>.lock`): a serving gateway holds it
/// shared, a restore exclusively, so a restore never replaces the file under a gateway.
fn lock_file(db_path: &str) -> Result<std::fs::File, anyhow::Error> {
    let path = format!("{db_path}.lock");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

/// Taken by `serve` for as long as it serves a SQLite database.
pub fn lock_for_serving(db_path: &str) -> Result<std::fs::File, anyhow::Error> {
    let file = lock_file(db_path)?;
    file.lock_shared().map_err(|e| anyhow::anyhow!("{db_path}.lock: {e}"))?;
    Ok(file)
}

/// Taken by `restore`: fails at once when a gateway serves the database.
pub fn lock_for_restore(db_path: &str) -> Result<std::fs::File, anyhow::Error> {
    let file = lock_file(db_path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(anyhow::anyhow!("a gateway is serving {db_path}: stop it before restoring over its database"))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!("{db_path}.lock: {e}")),
    }
}
