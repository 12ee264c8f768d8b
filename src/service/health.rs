//! The gateway's own health, for `/readyz` and `/metrics`: whether the database answers,
//! how its connections are used, how list pages were read.

use super::{Db, ServiceError};

/// Ready when the database answers on a reader connection and every migration is applied.
pub async fn ready(db: &Db) -> Result<(), ServiceError> {
    Ok(db.ready().await?)
}

/// One connection pool's use at this moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `writer` or `reader` (the same pool on PostgreSQL).
    pub pool: &'static str,
    pub idle: u32,
    pub in_use: u32,
}

/// The writer's and the readers' connections.
pub fn pools(db: &Db) -> [PoolUse; 2] {
    let (writer, reader) = db.pool_state();
    let use_of = |pool, s: diesel::r2d2::State| PoolUse {
        pool,
        idle: s.idle_connections,
        in_use: s.connections - s.idle_connections,
    };
    [use_of("writer", writer), use_of("reader", reader)]
}

/// List pages past the first row since start: (read by a seek, read by an offset walk).
pub fn list_pages(db: &Db) -> (u64, u64) {
    db.seeks().totals()
}
