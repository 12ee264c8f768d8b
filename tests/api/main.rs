//! Integration tests through real HTTP on a bound port, one database per test.
//! SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.

mod auth;
mod cli;
mod concurrency;
mod console;
mod directory;
mod events;
mod hardening;
mod helpers;
mod input;
mod interop;
mod openapi;
mod operator;
mod ops;
mod scim;
mod scim_fixtures;
mod seed;
mod sorting;
mod tls;
