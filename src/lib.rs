//! scimgate: an identity provisioning gateway for external (customer and partner) users.
//!
//! Layers, dependencies pointing one way: `api → service → {policy, store} → domain`.
//! - [`domain`]: the directory's types (users, contacts, accounts, licenses, sites, actors).
//! - [`policy`]: the contactless-user rules as pure functions.
//! - [`store`]: diesel on SQLite or PostgreSQL, chosen at run time.
//! - [`service`]: use cases, each one transaction: load → policy → write → audit.
//! - [`api`]: the native REST API and operations endpoints.

pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod policy;
pub mod scim;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
