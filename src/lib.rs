//! Mercado: the textbook's shop as a REST API on Diesel, where each group of endpoints runs one
//! ORM lesson.
//!
//! Read it in this order:
//! - [`schema`]: the tables, as `diesel print-schema` writes them;
//! - [`db`]: one connection type for SQLite and PostgreSQL, the pool, transactions, [`db::run`];
//! - [`models`]: row structs and the queries on them (CRUD, `belonging_to` + `grouped_by`);
//! - [`querylog`]: counting and logging every statement, the `echo=True` of this service;
//! - [`dashboard`]: the N+1 lesson, one dashboard computed four ways;
//! - [`reports`]: raw SQL where the ORM would hide the query (window functions, recursive CTEs);
//! - [`routes`] and [`app`]: HTTP in (parsed by [`routes::input`]), model call, HTTP out;
//! - [`error`]: every failure as problem+json, and the one mapping from database errors;
//! - [`seed`]: generating a shop and loading it in bulk (multi-row INSERT, COPY);
//! - [`config`], [`commands`]: the environment and the command line; [`logging`]: where log
//!   lines go.

pub mod app;
pub mod commands;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod error;
pub mod explain;
pub mod logging;
pub mod metrics;
pub mod models;
pub mod openapi;
pub mod querylog;
pub mod reports;
pub mod routes;
pub mod schema;
pub mod seed;
