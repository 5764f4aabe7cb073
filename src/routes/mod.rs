//! The HTTP side: one file per resource, each handler reading the request, calling a model
//! function through [`Db::run`], and shaping the answer. This module holds what they share:
//! the [`Db`] and [`PathId`] extractors, paging parameters, and the PATCH helper.

pub mod categories;
pub mod customers;
pub mod dashboard;
pub mod debug;
pub mod orders;
pub mod products;
pub mod reports;
pub mod service;

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::{self, DbConnection, DbPool};
use crate::error::ApiError;
use crate::models::Page;
use crate::querylog::QueryLog;

/// A handler's access to the database: the shared pool plus this request's [`QueryLog`].
pub struct Db {
    pool: DbPool,
    log: QueryLog,
}

impl Db {
    /// Runs `f` on a pooled connection on the blocking thread pool; see [`db::run`].
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        db::run(&self.pool, &self.log, f).await
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

/// The `{id}` of a path. Anything but a positive 64-bit integer is a 404: no such row can
/// exist, so "not found" is the honest answer (and the contract's).
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<PathId, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get("id").unwrap_or("");
        ready(match raw.parse::<i64>() {
            Ok(id) if id > 0 => Ok(PathId(id)),
            _ => Err(ApiError::NotFound(format!(
                "{raw:?} is not an id: ids are positive integers"
            ))),
        })
    }
}

/// The default and the largest `?limit=` of the lists.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Checks `?limit=` and `?after=`; out of range is a 400 like any other unreadable parameter.
pub fn page(limit: Option<i64>, after: Option<i64>, max: i64) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {max}"
        )));
    }
    let after = after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::BadRequest(
            "after must not be negative".to_string(),
        ));
    }
    Ok(Page { limit, after })
}

/// For PATCH bodies: a field that is absent stays `None` (serde's `default`), a field that is
/// present becomes `Some(value)`. With `T = Option<i64>`, `"parent_id": null` is thus
/// `Some(None)` ("set to NULL"), distinct from leaving `parent_id` out. With `T = String`,
/// `"name": null` is refused as a wrong type (400), not silently ignored.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The `{"items": [...]}` shape of the lists that are not paged.
#[derive(Serialize)]
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
