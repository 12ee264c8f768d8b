//! License pools: the counters that keep invariant 8 (never oversubscribed).

use diesel::prelude::*;

use super::StoreError;
use super::conn::DbConnection;
use super::conn::native;
use super::schema::license_pools;
use crate::domain::{License, LicensePool};

type PoolRow = (String, Option<i64>, i64);

fn to_pool((license, capacity, used): PoolRow) -> Result<LicensePool, StoreError> {
    let license = license.parse().map_err(|_| StoreError::Corrupt(license))?;
    Ok(LicensePool { license, capacity, used })
}

pub fn all(conn: &mut DbConnection) -> Result<Vec<LicensePool>, StoreError> {
    let rows: Vec<PoolRow> = license_pools::table
        .select((license_pools::license, license_pools::capacity, license_pools::used))
        .load(conn)?;
    let mut pools = rows.into_iter().map(to_pool).collect::<Result<Vec<_>, _>>()?;
    pools.sort_by_key(|p| License::ALL.iter().position(|l| *l == p.license));
    Ok(pools)
}

/// Reads the pools of `licenses` and, on PostgreSQL, locks their rows until commit, in
/// license order so that two transactions never wait on each other's pools.
pub fn lock(conn: &mut DbConnection, licenses: &[License]) -> Result<Vec<LicensePool>, StoreError> {
    let mut names: Vec<&str> = licenses.iter().map(|l| l.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let query = license_pools::table
        .filter(license_pools::license.eq_any(names))
        .order(license_pools::license)
        .select((license_pools::license, license_pools::capacity, license_pools::used));
    let rows: Vec<PoolRow> = match conn {
        DbConnection::Pg(c) => query.for_update().load(c)?,
        DbConnection::Sqlite(c) => query.load(c)?,
    };
    rows.into_iter().map(to_pool).collect()
}

/// Like [`lock`] for one license (one `=` statement, prepared once per connection).
pub fn lock_one(conn: &mut DbConnection, license: License) -> Result<LicensePool, StoreError> {
    let query = license_pools::table.find(license.as_str()).select((
        license_pools::license,
        license_pools::capacity,
        license_pools::used,
    ));
    let row: Option<PoolRow> = match conn {
        DbConnection::Pg(c) => query.for_update().first(c).optional()?,
        DbConnection::Sqlite(c) => query.first(c).optional()?,
    };
    to_pool(row.ok_or(StoreError::NotFound)?)
}

/// Reads one pool without locking it: what a create decides its policy on. The guard of
/// [`grant`], the create's last write, is what keeps the pool from oversubscription.
pub fn read_one(conn: &mut DbConnection, license: License) -> Result<LicensePool, StoreError> {
    let row: Option<PoolRow> = license_pools::table
        .find(license.as_str())
        .select((license_pools::license, license_pools::capacity, license_pools::used))
        .first(conn)
        .optional()?;
    to_pool(row.ok_or(StoreError::NotFound)?)
}

/// Takes one license from the pool. The guard in the WHERE clause re-checks room at the
/// moment of the write; `Ok(false)` means the pool was full.
pub fn grant(conn: &mut DbConnection, license: License) -> Result<bool, StoreError> {
    let room = license_pools::table
        .filter(license_pools::license.eq(license.as_str()))
        .filter(license_pools::capacity.is_null().or(license_pools::capacity.gt(license_pools::used.nullable())));
    let n = native!(conn, |c| diesel::update(room).set(license_pools::used.eq(license_pools::used + 1)).execute(c))?;
    Ok(n == 1)
}

/// Returns one license to the pool.
pub fn release(conn: &mut DbConnection, license: License) -> Result<(), StoreError> {
    let held =
        license_pools::table.filter(license_pools::license.eq(license.as_str())).filter(license_pools::used.gt(0));
    native!(conn, |c| diesel::update(held).set(license_pools::used.eq(license_pools::used - 1)).execute(c))?;
    Ok(())
}

pub fn set_capacity(conn: &mut DbConnection, license: License, capacity: Option<i64>) -> Result<(), StoreError> {
    diesel::update(license_pools::table.find(license.as_str()))
        .set(license_pools::capacity.eq(capacity))
        .execute(conn)?;
    Ok(())
}
