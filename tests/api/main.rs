//! The one integration test binary: every API behaviour, proven on SQLite and on PostgreSQL.
//! (One binary, because each extra one re-links the whole crate.)

#[macro_use]
mod helpers;

mod browser;
mod bulk;
mod categories;
mod cli;
mod concurrency;
mod customers;
mod dashboard;
mod errors;
mod explain;
mod metrics;
mod migrations;
mod n_plus_one;
mod openapi;
mod orders;
mod products;
mod reports;
mod scale;
mod schema;
mod seed;
mod service;
