//! The operator's commands on a whole database: `backup` (SQLite, while the gateway
//! serves), `restore` (SQLite, gateway stopped), `verify` (both backends: the invariants
//! the directory must hold) and the pending migrations behind `migrate --check`.

use std::path::{Path, PathBuf};

use crate::store::{Db, Target, maintenance};

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupReport {
    pub users: i64,
    pub bytes: u64,
}

fn sqlite_path(url: &str, what: &str) -> Result<String, anyhow::Error> {
    match Target::parse(url).map_err(anyhow::Error::msg)? {
        Target::Sqlite(path) => Ok(path),
        Target::Postgres(_) => Err(anyhow::anyhow!(
            "{what} is for the embedded SQLite database; for PostgreSQL use pg_dump and pg_restore \
             (see the README's Operations section)"
        )),
    }
}

fn partial(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The restored file gets the owner and permissions of the one it replaces (a restore
/// run as root must not lock the service's user out); best effort.
fn keep_owner_and_mode(old: &std::fs::Metadata, new: &Path) {
    let _ = std::fs::set_permissions(new, old.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::chown(new, Some(old.uid()), Some(old.gid()));
    }
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// A consistent copy of the SQLite database at `db_url` in `to` (refused when `to` exists,
/// unless `force`), taken while the gateway serves: written beside `to` and renamed into
/// place once its integrity is checked, so `to` is never a half-written file.
pub async fn backup(db_url: &str, to: &Path, force: bool) -> Result<BackupReport, anyhow::Error> {
    let db_path = sqlite_path(db_url, "backup")?;
    if !Path::new(&db_path).exists() {
        return Err(anyhow::anyhow!("{db_path}: no database to back up"));
    }
    if to.exists() && !force {
        return Err(anyhow::anyhow!("{} exists: give --force to replace it", to.display()));
    }
    let to = to.to_owned();
    tokio::task::spawn_blocking(move || {
        let tmp = partial(&to, ".partial");
        let _ = std::fs::remove_file(&tmp);
        let copied = checked_copy(&db_path, &tmp).and_then(|facts| {
            std::fs::rename(&tmp, &to)?;
            sync_dir(&to);
            Ok(BackupReport { users: facts.users, bytes: std::fs::metadata(&to)?.len() })
        });
        if copied.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        copied
    })
    .await?
}

/// Copies the SQLite database `from` (its write-ahead log included) to the new file `to`
/// with `VACUUM INTO`, checks the copy's integrity and flushes it to disk.
fn checked_copy(from: &str, to: &Path) -> Result<maintenance::FileFacts, anyhow::Error> {
    maintenance::sqlite_backup(from, to)?;
    let facts = maintenance::sqlite_facts(to)?;
    if facts.integrity != ["ok"] {
        return Err(anyhow::anyhow!("the copy failed its integrity check: {}", facts.integrity.join("; ")));
    }
    std::fs::File::open(to)?.sync_all()?;
    Ok(facts)
}

/// What a restore put in place.
#[derive(Debug)]
pub struct RestoreReport {
    pub users: i64,
    /// Migrations of this binary the backup predates (`scimgate migrate` or `serve`
    /// applies them).
    pub pending: usize,
}

/// Puts the backup `from` in place of the SQLite database at `db_url`: the backup must be
/// a sound scimgate database no newer than this binary; an existing database is replaced
/// only with `force`, and never while a gateway serves it.
pub fn restore(db_url: &str, from: &Path, force: bool) -> Result<RestoreReport, anyhow::Error> {
    let db_path = sqlite_path(db_url, "restore")?;
    let facts = maintenance::sqlite_facts(from)?;
    if facts.integrity != ["ok"] {
        return Err(anyhow::anyhow!(
            "{} fails SQLite's integrity check: {}",
            from.display(),
            facts.integrity.join("; ")
        ));
    }
    let known = maintenance::sqlite_migration_versions()?;
    let unknown: Vec<&String> = facts.migrations.iter().filter(|v| !known.contains(v)).collect();
    if !unknown.is_empty() {
        return Err(anyhow::anyhow!(
            "{} comes from a newer scimgate (migrations {unknown:?} are unknown to this one): restore it with that version",
            from.display()
        ));
    }
    let target = Path::new(&db_path);
    if target.exists() && !force {
        return Err(anyhow::anyhow!("{db_path} exists: give --force to replace it with the backup"));
    }
    let _lock = maintenance::lock_for_restore(&db_path)?;
    // Copied through SQLite, so that what the backup holds in a write-ahead log of its own
    // comes along, and checked before anything of the database in place is touched.
    let tmp = partial(target, ".restoring");
    let _ = std::fs::remove_file(&tmp);
    let from_str = from.to_str().ok_or_else(|| anyhow::anyhow!("{}: not a UTF-8 path", from.display()))?;
    if let Err(e) = checked_copy(from_str, &tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The database in place, its write-ahead log and journal are moved aside (kept as
    // `<database>.pre-restore*`, never deleted), then the copy takes its name: a crash at
    // any point leaves either the old database whole or the new one with no stale log.
    if let Ok(meta) = std::fs::metadata(target) {
        keep_owner_and_mode(&meta, &tmp);
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let side = partial(target, suffix);
        if side.exists() {
            let aside = partial(target, &format!(".pre-restore{suffix}"));
            std::fs::rename(&side, &aside).map_err(|e| anyhow::anyhow!("moving {} aside: {e}", side.display()))?;
        }
    }
    sync_dir(target);
    std::fs::rename(&tmp, target)?;
    sync_dir(target);
    let pending = known.iter().filter(|v| !facts.migrations.contains(v)).count();
    Ok(RestoreReport { users: facts.users, pending })
}

/// What `verify` found.
#[derive(Debug)]
pub struct VerifyReport {
    pub users: i64,
    pub groups: i64,
    pub pending_migrations: Vec<String>,
    /// Broken invariants: what, and how many rows break it.
    pub broken: Vec<(&'static str, i64)>,
}

impl VerifyReport {
    pub fn holds(&self) -> bool {
        self.pending_migrations.is_empty() && self.broken.is_empty()
    }
}

/// Checks what the database must hold: every migration applied; each pool's `used`
/// equal to the users holding its license and within its capacity; every community user
/// contact-backed; users, contacts and accounts consistent; no membership of a missing user,
/// group or site; on SQLite, its integrity and foreign keys. One read snapshot.
pub async fn verify(db: &Db) -> Result<VerifyReport, anyhow::Error> {
    db.read(|conn| {
        maintenance::snapshot(conn)?;
        let pending_migrations = maintenance::pending_migrations(conn)?;
        // The tables the checks read exist only once the migrations ran.
        let (broken, (users, groups)) = if pending_migrations.is_empty() {
            (maintenance::broken_invariants(conn)?, maintenance::sizes(conn)?)
        } else {
            (vec![], (0, 0))
        };
        Ok::<_, anyhow::Error>(VerifyReport { users, groups, pending_migrations, broken })
    })
    .await
}

/// A SQLite database URL must name an existing file for the commands that only read:
/// opening a mistyped path would create an empty database.
pub fn require_existing(db_url: &str) -> Result<(), anyhow::Error> {
    match Target::parse(db_url).map_err(anyhow::Error::msg)? {
        Target::Sqlite(path) if !Path::new(&path).exists() => Err(anyhow::anyhow!("{path}: no database there")),
        _ => Ok(()),
    }
}

/// The migrations not yet applied (for `migrate --check`).
pub async fn pending_migrations(db: &Db) -> Result<Vec<String>, anyhow::Error> {
    db.read(maintenance::pending_migrations).await
}
