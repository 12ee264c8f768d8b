//! The error types shared by layers: what a use case can fail with. Each API surface maps
//! these in one exhaustive match of its own. (The store's errors become these in
//! `service`: nothing here knows the store.)

use std::fmt;

use crate::domain::ValidationError;
use crate::policy::PolicyViolation;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error("the resource has changed: its current version is {current}")]
    VersionMismatch { current: i64 },
    /// A list filter that no index answers would examine more than `cap` resources.
    #[error("the filter would examine more than {cap} {resource}: narrow it with an indexed attribute ({indexed})")]
    FilterTooBroad { resource: &'static str, cap: i64, indexed: &'static str },
    /// A query ran past its statement time limit (`database.statement_timeout_ms`).
    #[error(
        "the query ran past the statement time limit (database.statement_timeout_ms) and was stopped: narrow the filter"
    )]
    QueryTimeout,
    /// A request asks for more items at once than a configured limit allows.
    #[error("{0}")]
    TooMany(String),
    #[error("missing, unknown, expired or revoked bearer token")]
    Unauthenticated,
    /// More than one `Authorization` header: which one counts would be a guess.
    #[error("send exactly one Authorization header")]
    AmbiguousCredentials,
    /// Too many requests (or failed authentications) from this client; retry after the delay.
    #[error("too many requests: retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// A uniqueness or state conflict that the client can resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("userName is already taken (compared case-insensitively)")]
    UserNameTaken,
    #[error("the contact is already linked to another user")]
    ContactInUse,
    #[error("another site already uses this urlPathPrefix")]
    SitePrefixTaken,
    #[error("capacity {capacity} is below the {used} licenses in use")]
    CapacityBelowUsed { capacity: i64, used: i64 },
    #[error("the delivery was delivered already: retry re-queues pending or dead deliveries only")]
    AlreadyDelivered,
}

impl Conflict {
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::UserNameTaken => "username_taken",
            Conflict::ContactInUse => "contact_in_use",
            Conflict::SitePrefixTaken => "site_prefix_taken",
            Conflict::CapacityBelowUsed { .. } => "capacity_below_used",
            Conflict::AlreadyDelivered => "already_delivered",
        }
    }
}

/// Formats an error with its whole cause chain, for logs of 5xx responses.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}
