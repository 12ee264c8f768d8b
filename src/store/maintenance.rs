//! Whole-database operations for the command line: an online SQLite backup, checking a
//! backup file, the invariants `scimgate verify` checks, and pending migrations.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::{Sqlite, SqliteConnection};

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

/// `file:` URI opening `file` read-only: the path absolute and percent-encoded, so that a
/// `#`, `?` or `%` in it stays part of the path.
fn read_only_uri(file: &Path) -> Result<String, anyhow::Error> {
    let absolute = std::path::absolute(file)?;
    let url = url::Url::from_file_path(&absolute)
        .map_err(|_| anyhow::anyhow!("{}: not a path SQLite can open", file.display()))?;
    Ok(format!("{url}?mode=ro"))
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
    let mut conn = SqliteConnection::establish(&read_only_uri(file)?)?;
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
    Ok(embedded::<Sqlite>(&super::conn::SQLITE_MIGRATIONS)?.into_iter().map(|(version, _)| version).collect())
}

/// This binary's migrations for one backend: (version, name).
fn embedded<B: diesel::backend::Backend>(
    source: &impl MigrationSource<B>,
) -> Result<Vec<(String, String)>, anyhow::Error> {
    let migrations = source.migrations().map_err(|e| anyhow::anyhow!("the embedded migrations: {e}"))?;
    Ok(migrations.iter().map(|m| (m.name().version().to_string(), m.name().to_string())).collect())
}

/// The names of the migrations not yet applied to the database, read without writing
/// (diesel's own check creates its table when missing, which a read-only transaction or
/// role refuses).
pub fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>, anyhow::Error> {
    let (all, table_sql) = match conn {
        DbConnection::Sqlite(_) => (
            embedded::<Sqlite>(&super::conn::SQLITE_MIGRATIONS)?,
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'",
        ),
        DbConnection::Pg(_) => (
            embedded::<diesel::pg::Pg>(&super::conn::POSTGRES_MIGRATIONS)?,
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'",
        ),
    };
    let has_table = native!(conn, |c| diesel::sql_query(table_sql).get_result::<Count>(c))?.n > 0;
    let applied: Vec<String> = if has_table {
        native!(conn, |c| diesel::sql_query("SELECT version AS text FROM __diesel_schema_migrations").load::<Line>(c))?
            .into_iter()
            .map(|l| l.text)
            .collect()
    } else {
        vec![]
    };
    Ok(all.into_iter().filter(|(version, _)| !applied.contains(version)).map(|(_, name)| name).collect())
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

/// Makes the current read transaction one snapshot on PostgreSQL (repeatable read, read
/// only; it must come first in the transaction). A SQLite read transaction is one already.
pub fn snapshot(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        c.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
    }
    Ok(())
}

/// How many users and groups the directory holds.
pub fn sizes(conn: &mut DbConnection) -> Result<(i64, i64), StoreError> {
    let users = native!(conn, |c| diesel::sql_query("SELECT COUNT(*) AS n FROM users").get_result::<Count>(c))?.n;
    let groups = native!(conn, |c| diesel::sql_query("SELECT COUNT(*) AS n FROM groups").get_result::<Count>(c))?.n;
    Ok((users, groups))
}

/// The lock file beside a SQLite database (`<path>.lock`): a gateway (and `migrate`)
/// holds it shared while it uses the database, a restore exclusively, so a restore never
/// replaces the file under a gateway and a gateway never opens a file being replaced.
/// Opened read-only when it exists (a lock needs no write access, so a lock file left by
/// another user does not keep the service out).
fn lock_file(db_path: &str) -> Result<std::fs::File, anyhow::Error> {
    let path = format!("{db_path}.lock");
    std::fs::File::open(&path)
        .or_else(|_| std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path))
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

/// For a SQLite database URL, the shared lock of a process that uses it (`None` for
/// PostgreSQL); refused at once while a restore replaces the file.
pub fn lock_sqlite_for_use(url: &str) -> Result<Option<std::fs::File>, anyhow::Error> {
    let super::Target::Sqlite(db_path) = super::Target::parse(url).map_err(anyhow::Error::msg)? else {
        return Ok(None);
    };
    let file = lock_file(&db_path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(anyhow::anyhow!("a restore is replacing {db_path}: start again once it has finished"))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!("{db_path}.lock: {e}")),
    }
}

/// Taken by `restore`: fails at once when a gateway (or `migrate`) uses the database.
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
