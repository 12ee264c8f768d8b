//! Connections: one binary, the backend chosen at run time from the URL's scheme.
//! Kept in its own module: the MultiConnection derive emits bare names that would clash.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Arbitrary constant key of the advisory lock that serializes migrations of gateways
/// starting together on one fresh PostgreSQL database.
const MIGRATION_LOCK_KEY: i64 = 0x5C16_A7E0;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs one diesel statement on the concrete connection inside the MultiConnection, for
/// the statements on hot paths. Through the MultiConnection every run rebuilds the
/// statement for its backend and boxes each bound value (a profile of SCIM creates spent
/// a third of the writer's time there); on the concrete connection a statement with a
/// static shape is prepared once per connection and binds directly.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConnection::Pg($c) => $body,
            $crate::store::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use native;

/// Which backend a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Postgres(String),
    /// A file path (never `:memory:`: every pooled connection would be its own database).
    Sqlite(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "database.url must be a SQLite path, sqlite://PATH or postgres://…; got {:?}",
                redact_url(url)
            ));
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err("an in-memory SQLite database cannot back a connection pool".to_owned());
        }
        Ok(Target::Sqlite(path.to_owned()))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Target::Sqlite(_))
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// An r2d2 manager that connects to the backend the URL names and reports the real error
/// (diesel's stock manager for a MultiConnection tries PostgreSQL, then falls back to
/// creating a SQLite file named like the URL).
#[derive(Debug, Clone)]
pub struct Manager {
    target: Target,
}

impl Manager {
    pub fn new(target: Target) -> Self {
        Manager { target }
    }
}

/// A pooled connection and when it last went back to the pool.
pub struct Pooled {
    conn: DbConnection,
    returned: Instant,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A PostgreSQL connection that went back to the pool less than this long ago is given out
/// without a `SELECT 1` first. A round trip per checkout was half the round trips of a
/// one-statement read; a connection in steady use has just proven itself, and one whose
/// server went away fails its query, is marked in error by diesel (libpq's transaction
/// status turns unknown) and dropped when it comes back (`has_broken`). An idle connection
/// is still checked, so a database restarted while the gateway was quiet costs no request.
const ALIVE_BYPASS: Duration = Duration::from_millis(500);

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let conn = match &self.target {
            Target::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
            Target::Sqlite(path) => SqliteConnection::establish(path).map(DbConnection::Sqlite),
        }
        .map_err(r2d2::Error::ConnectionError)?;
        Ok(Pooled { conn, returned: Instant::now() })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        if conn.returned.elapsed() < ALIVE_BYPASS {
            return Ok(());
        }
        conn.conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    /// A connection left inside a transaction (a write that panicked half-way), or in error
    /// (its server went away), is not given out again.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.returned = Instant::now();
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(&mut conn.conn)
    }
}

/// What a pooled connection is for; SQLite connections are tuned to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// SQLite's one writer (PostgreSQL's one pool).
    Writer,
    Reader,
}

/// Per-connection settings. SQLite: WAL so readers never block the writer, a busy timeout,
/// foreign keys on (off by default in SQLite), savepoint journals in memory. The writer
/// gets a page cache that holds a whole group commit's dirty pages (SQLite's 2 MB default
/// spills them to the WAL mid-transaction). Checkpoints stay automatic, in the writer's
/// commits: a checkpoint running beside a busy writer never catches up with it, and the
/// WAL is only rewound after a checkpoint that did (an earlier version checkpointed on its
/// own thread and grew the WAL to 3.5 GB while seeding 100 000 users).
///
/// Every connection also bounds its statements' time: PostgreSQL with
/// `statement_timeout`; SQLite with `sg_in_time()`, a function the scanning list
/// statements call per row, which turns false once the read's deadline has passed (see
/// [`deadline`]). 0 turns the bound off.
#[derive(Debug, Clone, Copy)]
pub struct Pragmas {
    pub role: Role,
    pub statement_timeout_ms: u64,
}

/// The writer's page cache, in KiB (a negative `cache_size` is KiB).
pub const WRITER_CACHE_KIB: i64 = 32 * 1024;

impl CustomizeConnection<Pooled, r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut Pooled) -> Result<(), r2d2::Error> {
        match &mut conn.conn {
            DbConnection::Sqlite(c) => {
                c.register_noarg_sql_function::<diesel::sql_types::Bool, bool, _>(
                    "sg_in_time",
                    false,
                    deadline::in_time,
                )
                .map_err(r2d2::Error::QueryError)?;
                let role = match self.role {
                    Role::Writer => format!("PRAGMA cache_size = -{WRITER_CACHE_KIB};"),
                    Role::Reader => String::new(),
                };
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; {role}"
                ))
                .map_err(r2d2::Error::QueryError)
            }
            DbConnection::Pg(c) => c
                .batch_execute(&format!("SET TIME ZONE 'UTC'; SET statement_timeout = {}", self.statement_timeout_ms))
                .map_err(r2d2::Error::QueryError),
        }
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

pub fn build_pool(target: &Target, size: u32, role: Role, statement_timeout_ms: u64) -> Result<Pool, anyhow::Error> {
    r2d2::Pool::builder()
        .max_size(size)
        // A SQLite connection is a file handle: it cannot go stale, and a `SELECT 1` per
        // checkout cost 6 % of a read. A PostgreSQL connection can die with its server:
        // checked when it has been idle (`ALIVE_BYPASS`).
        .test_on_check_out(!target.is_sqlite())
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(30))
        .connection_customizer(Box::new(Pragmas { role, statement_timeout_ms }))
        .build(Manager::new(target.clone()))
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))
}

/// Applies the pending migrations of this connection's backend.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, anyhow::Error> {
    let applied = match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(|e| anyhow::anyhow!("migration failed: {e}"))?.len()
        }
        DbConnection::Pg(c) => {
            // A migration may take longer than a request's statement.
            c.batch_execute("SET statement_timeout = 0")?;
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result.map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
        }
    };
    Ok(applied)
}

/// True when no migration of this backend is pending.
pub fn is_migrated(conn: &mut DbConnection) -> Result<bool, anyhow::Error> {
    let none_pending = match conn {
        DbConnection::Sqlite(c) => c.pending_migrations(SQLITE_MIGRATIONS).map(|p| p.is_empty()),
        DbConnection::Pg(c) => c.pending_migrations(POSTGRES_MIGRATIONS).map(|p| p.is_empty()),
    };
    none_pending.map_err(|e| anyhow::anyhow!("cannot read migrations: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_by_scheme() {
        assert_eq!(Target::parse("scimgate.db"), Ok(Target::Sqlite("scimgate.db".into())));
        assert_eq!(Target::parse("sqlite:///tmp/x.db"), Ok(Target::Sqlite("/tmp/x.db".into())));
        assert!(matches!(Target::parse("postgres://u@h/db"), Ok(Target::Postgres(_))));
        assert!(matches!(Target::parse("postgresql://u@h/db"), Ok(Target::Postgres(_))));
        assert!(Target::parse("postgress://u@h/db").is_err());
        assert!(Target::parse(":memory:").is_err());
        assert!(Target::parse("").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("scimgate.db"), "scimgate.db");
    }
}

/// The deadline of a SQLite read's scanning statements: set around a read on its thread,
/// checked by `sg_in_time()` as the statement visits rows. Once it has passed the function
/// answers false, so the statement finishes at once (with rows missing): the read then
/// reports [`deadline::run`]'s `tripped` and its result is thrown away.
pub mod deadline {
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    thread_local! {
        static UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
        static TRIPPED: Cell<bool> = const { Cell::new(false) };
        static CALLS: Cell<u32> = const { Cell::new(0) };
    }

    /// `sg_in_time()`: true while the current read is within its deadline (the clock is
    /// read every 64th row).
    pub fn in_time() -> bool {
        if TRIPPED.get() {
            return false;
        }
        let calls = CALLS.get().wrapping_add(1);
        CALLS.set(calls);
        if !calls.is_multiple_of(64) {
            return true;
        }
        match UNTIL.get() {
            Some(until) if Instant::now() > until => {
                TRIPPED.set(true);
                false
            }
            _ => true,
        }
    }

    /// Runs `f` (a read) under a deadline `limit` from now (`None`: unbounded); the bool
    /// says whether the deadline passed while a scanning statement ran.
    pub fn run<T>(limit: Option<Duration>, f: impl FnOnce() -> T) -> (T, bool) {
        UNTIL.set(limit.map(|l| Instant::now() + l));
        TRIPPED.set(false);
        CALLS.set(0);
        let out = f();
        let tripped = TRIPPED.replace(false);
        UNTIL.set(None);
        (out, tripped)
    }
}
