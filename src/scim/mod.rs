//! The SCIM 2.0 protocol as a library (RFC 7643, RFC 7644): filter grammar, syntax tree and
//! evaluator; PATCH paths and their application; the attribute/schema table behind
//! `/Schemas`, filters, PATCH and projection; the RFC 7644 §3.4.2.3 sort order.
//! It knows nothing of HTTP or SQL: no actix, diesel or store imports (checked by
//! `tests/layering.rs`). The HTTP side is `api::scim`; the query planner that turns a
//! filter into a store predicate is `service::query`.

pub mod attrs;
pub mod canonical;
pub mod filter;
pub mod json;
pub mod limits;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod sort;
