//! SQLite's one writer, with group commit.
//!
//! SQLite lets one connection write at a time, and a commit costs the same whether it
//! carries one change or fifty: the pages every write touches (the license pool's row, the
//! tails of the audit log, of the outbox and of each index) are written to the WAL once
//! per commit. So writes queue for one thread that owns the writer connection; it takes
//! every write waiting (up to a bound), runs each in its own savepoint inside one
//! `BEGIN IMMEDIATE` transaction, commits once, and only then answers each caller.
//!
//! Each write still makes its decisions in the transaction that carries its change, after
//! every write before it in the batch: a batch is the same serial order the single
//! connection gave, committed together. A write that fails rolls back to its savepoint and
//! leaves the others alone; if the commit itself fails, every write of the batch fails
//! (none of them is on disk), and a write never answers before its commit.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use diesel::Connection;
use diesel::connection::TransactionManager;
use diesel::r2d2::R2D2Connection;
use diesel::result::Error as DieselError;
use tokio::sync::oneshot;

use std::sync::Arc;

use super::activity::{Tallies, clear_notes, take_notes};
use super::conn::Pool;
use super::{DbConnection, StoreError, TxManager, begin_write, commit};

/// What a write tells its caller once its batch has committed (or failed to).
pub type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

/// One write: runs on the writer connection inside the batch's transaction (or is told why
/// it cannot run) and returns what to tell its caller after the commit.
pub type Job = Box<dyn FnOnce(Result<&mut DbConnection, String>) -> Completion + Send>;

/// The most writes one commit carries; bounds how long any write waits behind others.
pub const MAX_BATCH: usize = 64;

/// The job of a write `f` whose result goes to `answer` once its batch is committed.
pub fn job<T, E, F>(f: F, answer: oneshot::Sender<Result<T, E>>, activity: Arc<Tallies>) -> Job
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + From<DieselError> + Send + 'static,
{
    Box::new(move |conn| {
        clear_notes();
        let result = match conn {
            // A savepoint: diesel nests `transaction` inside the batch's transaction.
            Ok(conn) => conn.transaction(f),
            Err(why) => Err(StoreError::Task(why).into()),
        };
        let notes = take_notes();
        Box::new(move |committed| {
            let _ = answer.send(match (result, committed) {
                (Ok(value), Ok(())) => {
                    activity.committed(notes);
                    Ok(value)
                }
                (Ok(_), Err(why)) => Err(StoreError::Task(why).into()),
                (Err(e), _) => Err(e),
            });
        })
    })
}

/// Starts the writer thread; it ends when every sender is dropped.
pub fn start(pool: Pool) -> Result<mpsc::Sender<Job>, std::io::Error> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            commit_batch(&pool, batch);
        }
    })?;
    Ok(tx)
}

fn commit_batch(pool: &Pool, batch: Vec<Job>) {
    let mut pooled = match pool.get() {
        Ok(c) => c,
        Err(e) => return refuse(batch, &format!("no writer connection: {e}")),
    };
    let conn: &mut DbConnection = &mut pooled;
    if let Err(e) = begin_write(conn) {
        return refuse(batch, &format!("cannot begin a write transaction: {e}"));
    }
    let mut completions = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    // Why the batch is abandoned, if it is.
    let mut abandoned: Option<&str> = None;
    for job in jobs.by_ref() {
        // SQLite itself rolls the whole transaction back on some errors (an I/O error, a
        // full disk). A write run after that would open a transaction of its own and
        // commit alone, while its caller is told the batch failed: stop instead.
        if !R2D2Connection::is_broken(conn) {
            let why = "the batch's transaction was rolled back by the database";
            refuse(vec![job], why);
            abandoned = Some(why);
            break;
        }
        match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut *conn)))) {
            Ok(done) => completions.push(done),
            // The job's answer channel died with it: its caller sees a failed task.
            Err(_) => {
                abandoned = Some("another write of its batch failed; the batch was rolled back");
                break;
            }
        }
    }
    let outcome = match abandoned {
        Some(why) => {
            // Nothing to roll back when the database already did.
            let _ = TxManager::rollback_transaction(conn);
            Err(why.to_owned())
        }
        None => commit(conn).map_err(|e| format!("commit failed: {e}")),
    };
    for done in completions {
        done(outcome.clone());
    }
    // Writes after the point of abandon never ran.
    refuse(jobs.collect(), abandoned.unwrap_or_default());
}

fn refuse(jobs: Vec<Job>, why: &str) {
    for job in jobs {
        job(Err(why.to_owned()))(Err(why.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::store::conn::{Role, Target, build_pool};

    type Answer = oneshot::Receiver<Result<(), StoreError>>;

    fn scratch() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db").display().to_string();
        let pool = build_pool(&Target::Sqlite(path), 1, Role::Writer, 0).unwrap();
        pool.get().unwrap().batch_execute("CREATE TABLE t (x TEXT PRIMARY KEY)").unwrap();
        (dir, pool)
    }

    fn insert(x: &'static str, then_fail: bool) -> (Job, Answer) {
        let (tx, rx) = oneshot::channel();
        let f = move |c: &mut DbConnection| {
            c.batch_execute(&format!("INSERT INTO t VALUES ('{x}')"))?;
            if then_fail { Err(StoreError::Corrupt("refused".into())) } else { Ok(()) }
        };
        (job(f, tx, Default::default()), rx)
    }

    fn rows(pool: &Pool) -> Vec<String> {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            x: String,
        }
        let mut c = pool.get().unwrap();
        diesel::sql_query("SELECT x FROM t ORDER BY x")
            .load::<Row>(&mut **c)
            .unwrap()
            .into_iter()
            .map(|r| r.x)
            .collect()
    }

    #[test]
    fn a_failing_write_rolls_back_alone_and_the_batch_commits_once() {
        let (_dir, pool) = scratch();
        let (a, ra) = insert("a", false);
        let (b, rb) = insert("b", true);
        let (c, rc) = insert("c", false);
        // "a" again: the unique key refuses it inside the same transaction as the first "a".
        let (d, rd) = insert("a", false);
        commit_batch(&pool, vec![a, b, c, d]);
        assert!(matches!(ra.blocking_recv().unwrap(), Ok(())));
        assert!(matches!(rb.blocking_recv().unwrap(), Err(StoreError::Corrupt(_))));
        assert!(matches!(rc.blocking_recv().unwrap(), Ok(())));
        assert!(matches!(rd.blocking_recv().unwrap(), Err(StoreError::Conflict { .. })));
        assert_eq!(rows(&pool), ["a", "c"]);
    }

    #[test]
    fn a_panicking_write_fails_its_whole_batch_and_the_writer_goes_on() {
        let (_dir, pool) = scratch();
        let (a, ra) = insert("a", false);
        let (tx, rp) = oneshot::channel::<Result<(), StoreError>>();
        let boom = job(
            |c: &mut DbConnection| -> Result<(), StoreError> {
                c.batch_execute("INSERT INTO t VALUES ('p')")?;
                panic!("a bug in a write");
            },
            tx,
            Default::default(),
        );
        let (c, rc) = insert("c", false);
        commit_batch(&pool, vec![a, boom, c]);
        assert!(matches!(ra.blocking_recv().unwrap(), Err(StoreError::Task(_))));
        assert!(rp.blocking_recv().is_err(), "the panicking write's answer is dropped");
        assert!(matches!(rc.blocking_recv().unwrap(), Err(StoreError::Task(_))));
        assert!(rows(&pool).is_empty());
        let (d, rd) = insert("d", false);
        commit_batch(&pool, vec![d]);
        assert!(matches!(rd.blocking_recv().unwrap(), Ok(())));
        assert_eq!(rows(&pool), ["d"]);
    }

    #[test]
    fn the_writer_thread_runs_and_answers_every_queued_write() {
        let (_dir, pool) = scratch();
        let writes = start(pool.clone()).unwrap();
        let answers: Vec<Answer> = ["a", "b", "c"]
            .into_iter()
            .map(|x| {
                let (j, r) = insert(x, false);
                writes.send(j).unwrap();
                r
            })
            .collect();
        for r in answers {
            assert!(matches!(r.blocking_recv().unwrap(), Ok(())));
        }
        assert_eq!(rows(&pool), ["a", "b", "c"]);
    }

    #[test]
    fn writes_after_the_database_dropped_the_transaction_do_not_commit_alone() {
        let (_dir, pool) = scratch();
        let (a, ra) = insert("a", false);
        // Ends the batch's transaction the way SQLite does on an I/O error or a full disk.
        let (tx, rl) = oneshot::channel::<Result<(), StoreError>>();
        let lose = job(
            |c: &mut DbConnection| -> Result<(), StoreError> {
                c.batch_execute("INSERT INTO t VALUES ('l'); ROLLBACK")?;
                Err(StoreError::Corrupt("lost".into()))
            },
            tx,
            Default::default(),
        );
        let (c, rc) = insert("c", false);
        commit_batch(&pool, vec![a, lose, c]);
        assert!(ra.blocking_recv().unwrap().is_err());
        assert!(rl.blocking_recv().unwrap().is_err());
        assert!(rc.blocking_recv().unwrap().is_err());
        assert!(rows(&pool).is_empty(), "nothing of the batch is on disk");
        let (d, rd) = insert("d", false);
        commit_batch(&pool, vec![d]);
        assert!(matches!(rd.blocking_recv().unwrap(), Ok(())));
        assert_eq!(rows(&pool), ["d"]);
    }

    #[test]
    fn the_wal_stays_bounded_under_a_stream_of_writes() {
        let (dir, pool) = scratch();
        pool.get().unwrap().batch_execute("CREATE TABLE b (x BLOB NOT NULL)").unwrap();
        let writes = start(pool.clone()).unwrap();
        // 4 000 writes of a page each: 16 MB through the WAL, sent in bursts so that the
        // writer commits them in groups.
        for _ in 0..40 {
            let answers: Vec<Answer> = (0..100)
                .map(|_| {
                    let (tx, rx) = oneshot::channel();
                    let f = |c: &mut DbConnection| -> Result<(), StoreError> {
                        c.batch_execute("INSERT INTO b VALUES (zeroblob(4000))")?;
                        Ok(())
                    };
                    writes.send(job(f, tx, Default::default())).unwrap();
                    rx
                })
                .collect();
            for r in answers {
                assert!(matches!(r.blocking_recv().unwrap(), Ok(())));
            }
        }
        let wal = std::fs::metadata(dir.path().join("w.db-wal")).unwrap().len();
        // Checkpoints rewind the WAL after about 1 000 pages (4 MB); without them it would
        // hold every page written.
        assert!(wal < 8 << 20, "the WAL grew to {wal} bytes");
    }
}
