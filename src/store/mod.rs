//! Persistence: sync diesel over r2d2, run on tokio's blocking pool. Plain functions over
//! `&mut DbConnection` that compose inside one transaction. Depends on `domain` only.
//!
//! SQLite gets one writer connection and a pool of readers (WAL): a transaction that reads
//! then writes would otherwise meet SQLITE_BUSY whatever the busy timeout. PostgreSQL gets
//! one pool for both; row locks (`FOR UPDATE`) make decisions true at commit there.

pub mod accounts;
pub mod activity;
pub mod audit;
pub mod conn;
pub mod console_sessions;
pub mod events;
pub mod groups;
pub mod licenses;
pub mod maintenance;
pub mod retention;
pub mod schema;
pub mod seeks;
pub mod tokens;
pub mod user_query;
pub mod users;
mod writer;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use conn::Role;
pub use conn::{DbConnection, Target};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique or check constraint refused the write; named as PostgreSQL names it
    /// (`users_user_name_folded_key`), also on SQLite.
    #[error("constraint {constraint} refused the write")]
    Conflict { constraint: String },
    #[error("database error")]
    Database(#[source] DieselError),
    #[error("no database connection available")]
    Pool(#[source] diesel::r2d2::PoolError),
    #[error("database task failed: {0}")]
    Task(String),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// A statement ran past `database.statement_timeout_ms` and was stopped.
    #[error("the statement ran past its time limit")]
    Timeout,
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(
                kind @ (DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::CheckViolation),
                ref info,
            ) => StoreError::Conflict { constraint: constraint_name(&kind, info.as_ref()) },
            // PostgreSQL's `statement_timeout` (SQLSTATE 57014).
            DieselError::DatabaseError(_, ref info) if info.message().contains("statement timeout") => {
                StoreError::Timeout
            }
            other => StoreError::Database(other),
        }
    }
}

/// PostgreSQL reports the constraint's name; SQLite only a message such as
/// `UNIQUE constraint failed: users.user_name_folded`, which maps to the same name.
fn constraint_name(kind: &DatabaseErrorKind, info: &dyn diesel::result::DatabaseErrorInformation) -> String {
    if let Some(name) = info.constraint_name() {
        return name.to_owned();
    }
    let message = info.message();
    let tail = message.rsplit_once(": ").map_or(message, |(_, t)| t);
    match kind {
        DatabaseErrorKind::UniqueViolation => {
            format!("{}_key", tail.replace(", ", "_").replace('.', "_"))
        }
        _ => tail.to_owned(),
    }
}

pub fn to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, taking the write lock
/// up front (waiting up to the busy timeout): a deferred transaction that reads and then
/// writes fails at once with SQLITE_BUSY when another connection — even another
/// process on the same file — wrote in between, whatever the timeout.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DieselError>,
{
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => commit(conn).map(|()| value).map_err(E::from),
        Err(e) => {
            TxManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

type TxManager = <DbConnection as Connection>::TransactionManager;

/// Opens a write transaction: `BEGIN IMMEDIATE` on SQLite (see [`write_transaction`]).
fn begin_write(conn: &mut DbConnection) -> Result<(), DieselError> {
    match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE"),
        DbConnection::Pg(_) => TxManager::begin_transaction(conn),
    }
}

/// Commits the open transaction; when COMMIT fails, diesel leaves it open: close it.
fn commit(conn: &mut DbConnection) -> Result<(), DieselError> {
    TxManager::commit_transaction(conn).inspect_err(|_| {
        let _ = TxManager::rollback_transaction(conn);
    })
}

/// The statement time limit of [`Db::open`].
pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 5000;

/// The database: a writer pool and a reader pool (the same pool on PostgreSQL). On SQLite,
/// writes queue for the writer thread, which commits them in groups (see `writer`).
#[derive(Clone)]
pub struct Db {
    writer: conn::Pool,
    reader: conn::Pool,
    target: Target,
    writes: Option<std::sync::mpsc::Sender<writer::Job>>,
    /// `database.statement_timeout_ms` (0: unbounded).
    statement_timeout_ms: u64,
    /// What this gateway counted for the operator's view since its last flush.
    activity: std::sync::Arc<activity::Tallies>,
    /// Where recent index-paged list pages ended (SQLite; see `seeks`).
    seeks: std::sync::Arc<seeks::Seeks>,
}

impl Db {
    /// Opens the pools. `pool_size` bounds the readers (SQLite) or all connections (PostgreSQL).
    pub fn open(url: &str, pool_size: u32) -> Result<Db, anyhow::Error> {
        Db::open_with(url, pool_size, DEFAULT_STATEMENT_TIMEOUT_MS)
    }

    /// [`Db::open`] with a statement time limit (`database.statement_timeout_ms`; 0: none).
    pub fn open_with(url: &str, pool_size: u32, statement_timeout_ms: u64) -> Result<Db, anyhow::Error> {
        let target = Target::parse(url).map_err(anyhow::Error::msg)?;
        let t = statement_timeout_ms;
        let (writer, reader) = if target.is_sqlite() {
            let writer = conn::build_pool(&target, 1, Role::Writer, t)?;
            let reader = conn::build_pool(&target, pool_size.max(1), Role::Reader, t)?;
            (writer, reader)
        } else {
            let pool = conn::build_pool(&target, pool_size.max(2), Role::Writer, t)?;
            (pool.clone(), pool)
        };
        let activity = std::sync::Arc::new(activity::Tallies::default());
        let writes = if target.is_sqlite() { Some(writer::start(writer.clone())?) } else { None };
        let seeks = std::sync::Arc::default();
        Ok(Db { writer, reader, target, writes, statement_timeout_ms, activity, seeks })
    }

    /// The read deadline of SQLite's scanning statements.
    fn read_deadline(&self) -> Option<std::time::Duration> {
        (self.statement_timeout_ms > 0).then(|| std::time::Duration::from_millis(self.statement_timeout_ms))
    }

    /// A read's result, or `Timeout` when its deadline passed (SQLite) or PostgreSQL
    /// stopped a statement.
    fn timed<T, E: From<StoreError>>(&self, (out, tripped): (Result<T, E>, bool)) -> Result<T, E> {
        if tripped {
            return Err(StoreError::Timeout.into());
        }
        out
    }

    /// This gateway's activity counts since their last flush.
    pub fn activity(&self) -> &activity::Tallies {
        &self.activity
    }

    /// Where recent index-paged list pages ended (SQLite; see `seeks`).
    pub fn seeks(&self) -> &std::sync::Arc<seeks::Seeks> {
        &self.seeks
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Applies pending migrations (blocking; call at start-up).
    pub fn migrate(&self) -> Result<usize, anyhow::Error> {
        let mut conn = self.writer.get()?;
        let applied = conn::run_migrations(&mut conn);
        // Migrations run without a statement limit; the connection goes back to the pool
        // with the requests' limit.
        if let DbConnection::Pg(c) = &mut **conn {
            diesel::connection::SimpleConnection::batch_execute(
                c,
                &format!("SET statement_timeout = {}", self.statement_timeout_ms),
            )?;
        }
        applied
    }

    /// Runs `f` in a write transaction and answers once it is committed: on SQLite as one
    /// savepoint of the writer thread's next group commit, on PostgreSQL in its own
    /// transaction on the blocking pool. A closure always runs to completion, even when the
    /// request that asked for it is gone.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<DieselError> + Send + 'static,
    {
        let Some(writes) = &self.writes else {
            let activity = self.activity.clone();
            return Self::run(self.writer.clone(), move |conn| {
                activity::clear_notes();
                let written = write_transaction(conn, f);
                let notes = activity::take_notes();
                if written.is_ok() {
                    activity.committed(notes);
                }
                written
            })
            .await;
        };
        let (answer, answered) = tokio::sync::oneshot::channel::<Result<T, E>>();
        writes
            .send(writer::job(f, answer, self.activity.clone()))
            .map_err(|_| StoreError::Task("the writer thread has stopped".into()))?;
        answered.await.map_err(|_| StoreError::Task("the write failed in the writer thread".into()))?
    }

    /// Runs `f` in one read transaction (one snapshot) on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<DieselError> + Send + 'static,
    {
        let deadline = self.read_deadline();
        let ran = Self::run(self.reader.clone(), move |conn| {
            let (out, tripped) = conn::deadline::run(deadline, || conn.transaction(f));
            Ok::<_, E>((out, tripped))
        })
        .await?;
        self.timed(ran)
    }

    /// A short read: one transaction that visits a bounded handful of index entries (a
    /// user by id, an indexed lookup, a first page). On SQLite such a read takes
    /// microseconds from the page cache, less than handing it to another thread costs, so it
    /// runs right here on the calling worker when a reader connection is idle (WAL readers
    /// never wait for the writer). Anything else — PostgreSQL, where a read waits on the
    /// network, or every SQLite reader busy — goes through [`Db::read`].
    pub async fn read_short<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<DieselError> + Send + 'static,
    {
        if self.target.is_sqlite()
            && let Some(mut pooled) = self.reader.try_get()
        {
            let conn: &mut DbConnection = &mut pooled;
            let ran = conn::deadline::run(self.read_deadline(), || conn.transaction(f));
            return self.timed(ran);
        }
        self.read(f).await
    }

    /// A read of one statement (`f` runs exactly one): like [`Db::read_short`] on SQLite; on
    /// PostgreSQL without `BEGIN`/`COMMIT` around it — a single statement sees one snapshot
    /// anyway, and the two round trips would cost more than the read itself.
    pub async fn read_one_statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<DieselError> + Send + 'static,
    {
        if self.target.is_sqlite() {
            return self.read_short(f).await;
        }
        let deadline = self.read_deadline();
        let ran = Self::run(self.reader.clone(), move |conn| {
            let (out, tripped) = conn::deadline::run(deadline, || f(conn));
            Ok::<_, E>((out, tripped))
        })
        .await?;
        self.timed(ran)
    }

    async fn run<T, E, F>(pool: conn::Pool, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<DieselError> + Send + 'static,
    {
        tokio::task::spawn_blocking(move || {
            let mut pooled = pool.get().map_err(StoreError::Pool)?;
            let conn: &mut DbConnection = &mut pooled;
            f(conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Readiness: a connection answers and no migration is pending.
    pub async fn ready(&self) -> Result<(), StoreError> {
        let pool = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = pool.get().map_err(StoreError::Pool)?;
            match conn::is_migrated(&mut pooled) {
                Ok(true) => Ok(()),
                Ok(false) => Err(StoreError::Corrupt("migrations are pending".into())),
                Err(e) => Err(StoreError::Corrupt(e.to_string())),
            }
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Connections in use and idle, per pool: (writer, reader).
    pub fn pool_state(&self) -> (diesel::r2d2::State, diesel::r2d2::State) {
        (self.writer.state(), self.reader.state())
    }
}
