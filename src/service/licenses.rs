//! License pools: capacities and usage.

use serde_json::json;

use super::{Conflict, ServiceError, audit};
use crate::domain::{AuditAction, License, LicensePool, ValidationError};
use crate::policy::access::AdminCap;
use crate::store::{Db, licenses};

pub async fn list(db: &Db, _admin: &AdminCap) -> Result<Vec<LicensePool>, ServiceError> {
    db.read(|conn| Ok(licenses::all(conn)?)).await
}

/// Sets a pool's capacity (`None`: unlimited). Never below the licenses in use: that
/// would oversubscribe the pool (invariant 8).
pub async fn set_capacity(
    db: &Db,
    admin: &AdminCap,
    license: License,
    capacity: Option<i64>,
) -> Result<LicensePool, ServiceError> {
    let actor = admin.actor().clone();
    if capacity.is_some_and(|c| c < 0) {
        return Err(ValidationError::new("capacity", "must be a non-negative integer or null").into());
    }
    db.write(move |conn| {
        let pool = licenses::lock_one(conn, license)?;
        if let Some(c) = capacity
            && c < pool.used
        {
            return Err(Conflict::CapacityBelowUsed { capacity: c, used: pool.used }.into());
        }
        licenses::set_capacity(conn, license, capacity)?;
        audit::record(
            conn,
            &actor,
            AuditAction::LicenseCapacitySet,
            license.as_str(),
            json!({ "changes": { "capacity": { "before": pool.capacity, "after": capacity } } }),
        )?;
        Ok(LicensePool { capacity, ..pool })
    })
    .await
}

/// The directory's make-up: users by license (each pool's `used`, kept in the transaction
/// of every change), contactless and inactive users (counted on partial indexes).
#[derive(Debug, Clone)]
pub struct Composition {
    pub pools: Vec<LicensePool>,
    pub total: i64,
    pub contactless: i64,
    pub inactive: i64,
}

impl Composition {
    pub fn contact_backed(&self) -> i64 {
        self.total - self.contactless
    }

    pub fn active(&self) -> i64 {
        self.total - self.inactive
    }
}

pub async fn composition(db: &Db, _admin: &AdminCap) -> Result<Composition, ServiceError> {
    db.read(|conn| {
        let pools = licenses::all(conn)?;
        let (contactless, inactive) = crate::store::users::composition(conn)?;
        let total = pools.iter().map(|p| p.used).sum();
        Ok(Composition { pools, total, contactless, inactive })
    })
    .await
}
