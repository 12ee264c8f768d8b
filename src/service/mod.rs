//! Use cases: load the facts, ask the policy, write — inside one short transaction; and
//! the query planner (`query`). Depends on `policy`, `scim`, `store` and `domain`; never
//! on actix or `api`.

pub mod accounts;
pub mod activity;
pub mod audit;
pub mod auth;
pub mod dispatcher;
pub mod events;
pub mod groups;
pub mod health;
pub mod licenses;
pub mod maintenance;
pub mod passwords;
pub mod query;
pub mod retention;
pub mod scim;
pub mod sealing;
pub mod sessions;
pub mod sites;
pub mod users;
pub mod webhooks;

use crate::domain::Actor;
/// The database handle every use case takes (the HTTP layer holds one, and never opens
/// the store itself).
pub use crate::store::Db;
use crate::store::schema::constraints;
use crate::store::{DbConnection, StoreError};

pub use crate::error::{Conflict, ServiceError};

/// Runs `f` in a write transaction as `actor` (a copy moves into the transaction): the
/// frame of every use case that writes on behalf of a capability's actor.
pub(crate) async fn write_as<T: Send + 'static>(
    db: &Db,
    actor: &Actor,
    f: impl FnOnce(&mut DbConnection, &Actor) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    let actor = actor.clone();
    db.write(move |conn| f(conn, &actor)).await
}

/// A page of results and the cursor of the next page (`None`: last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says more exist.
    pub fn from_probe(mut items: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = items.len() as i64 > limit;
        items.truncate(limit.max(0) as usize);
        let next_cursor = if more { items.last().map(cursor_of) } else { None };
        Page { items, next_cursor }
    }
}

// The store boundary: unique violations become the conflicts clients can resolve; every
// other store error is internal.
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("resource"),
            StoreError::Conflict { constraint } => match constraint.as_str() {
                constraints::USER_NAME_UNIQUE => Conflict::UserNameTaken.into(),
                constraints::USER_CONTACT_UNIQUE => Conflict::ContactInUse.into(),
                constraints::SITE_PREFIX_UNIQUE => Conflict::SitePrefixTaken.into(),
                _ => ServiceError::Internal(anyhow::Error::new(StoreError::Conflict { constraint })),
            },
            StoreError::Timeout => ServiceError::QueryTimeout,
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}
