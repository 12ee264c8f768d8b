//! scimgate: an identity provisioning gateway for external (customer and partner) users.
//!
//! Layers, dependencies pointing one way: `api → service → {policy, scim, store} → domain`
//! (docs/architecture.md; `tests/layering.rs` fails when an import points back up).
//! - [`domain`]: the directory's types (users and their `Backing`, contacts, accounts,
//!   licenses, sites, actors).
//! - [`policy`]: the contract's rules as pure functions, and the capabilities only it makes.
//! - [`scim`]: the SCIM 2.0 protocol as a library: filters, PATCH, schemas, projection, sort.
//! - [`store`]: diesel on SQLite or PostgreSQL, chosen at run time.
//! - [`service`]: use cases, each one short transaction (load → policy → write → audit),
//!   and the SCIM list planner.
//! - [`api`]: the HTTP surfaces: native REST API, SCIM, Setup console, operations, docs.

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
pub mod tls;
