//! Use cases: load the facts, ask the policy, write — inside one short transaction; and
//! the query planner (`query`). Depends on `policy`, `scim`, `store` and `domain`; never
//! on actix or `api`.

pub mod audit;
pub mod auth;
pub mod console;
pub mod directory;
pub mod dispatcher;
pub mod events;
pub mod groups;
pub mod licenses;
pub mod query;
pub mod scim;
pub mod sites;
pub mod users;
pub mod webhooks;

/// The database handle every use case takes (the HTTP layer holds one, and never opens
/// the store itself).
pub use crate::store::Db;

pub use crate::error::{Conflict, ServiceError};

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
