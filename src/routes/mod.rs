//! The HTTP side: one file per resource, each handler receiving its input already parsed
//! ([`input`]), calling a model function through [`Db::run`], and shaping the answer. This is
//! the only place where a model's error becomes an HTTP status.
//!
//! This module holds what the handlers share: the [`Db`] extractor and the response helpers.

pub mod categories;
pub mod customers;
pub mod dashboard;
pub mod debug;
pub mod input;
pub mod lab;
pub mod orders;
pub mod products;
pub mod reports;
pub mod service;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::db::{self, DbConnection, DbPool};
use crate::error::ApiError;
use crate::querylog::QueryLog;

/// A handler's access to the database: the shared pool plus this request's [`QueryLog`].
pub struct Db {
    pool: DbPool,
    log: QueryLog,
}

impl Db {
    /// Runs `f` on a pooled connection on the blocking thread pool (see [`db::run`]) and turns
    /// any failure into an [`ApiError`]: the pool's and the task's through `From<DbError>`,
    /// `f`'s own through its `Into<ApiError>`, which for a `diesel::result::Error` is the
    /// mapping in `error.rs` and for a model's error enum is the `From` impl in its route file.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        db::run(&self.pool, &self.log, f).await?.map_err(Into::into)
    }
}

impl FromRequest for Db {
    type Error = ApiError;
    type Future = Ready<Result<Db, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(pool) = req.app_data::<web::Data<DbPool>>() else {
            return ready(Err(ApiError::internal("the app has no database pool")));
        };
        // The middleware in app.rs put a log here; a request that bypassed it still works.
        let log = req
            .extensions()
            .get::<QueryLog>()
            .cloned()
            .unwrap_or_default();
        ready(Ok(Db {
            pool: pool.get_ref().clone(),
            log,
        }))
    }
}

/// The `{"items": [...]}` shape of the lists that are not paged.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// 201 Created with a `Location` header.
pub fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// The answer to a DELETE, or any success without a body.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
